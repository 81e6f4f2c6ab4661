"""sseio.server._asgi under real ASGI servers (uvicorn, hypercorn) on 127.0.0.1.

The same handler is served by ``SSEServer`` and by ``asgi_app`` under both
servers (hypercorn on asyncio and on trio), and routes of Starlette and
FastAPI return ``EventStreamResponse`` / ``starlette_response``.  What is
read, and by whom: sseio's blocking and async clients, httpx-sse, the openai
SDK (the mock chat API, an ``SSEServer`` handler, under uvicorn; a FastAPI chat
route written with sseio's chat chunks), and ``sseio.conformance.check``.  The
generator's ``finally`` is watched through thread events (the servers run in
threads of their own); every server is stopped at the end of its test, every
wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import httpx
import httpx_sse
import hypercorn.asyncio
import hypercorn.config
import hypercorn.trio
import openai
import pytest
import trio
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.routing import Route

import sseio
import sseio.chat
import sseio.conformance
from sseio import Comment, Done, ServerSentEvent
from sseio.conformance._check import format_report
from sseio.server import (
    EventStream,
    EventStreamResponse,
    Request,
    Response,
    asgi_app,
    serve_in_thread,
    starlette_response,
)
from sseio.testing import MockAPI, MockConfig

WAIT = 5.0
"""The longest a test waits for anything."""
QUICK = sseio.Timeout(connect=3.0, read=3.0, write=3.0)
SERVERS = ("uvicorn", "hypercorn", "hypercorn-trio")
by_server = pytest.mark.parametrize("server", SERVERS)

# --- running an ASGI app in a thread -----------------------------------------------------------


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextmanager
def _uvicorn(app: Any, grace: float) -> Iterator[str]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="auto",
        ws="none",
        http="h11",
        timeout_graceful_shutdown=grace,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_until(lambda: server.started or not thread.is_alive(), "uvicorn to start")
        assert server.started
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT + grace)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def _hypercorn(app: Any, grace: float, backend: str = "asyncio") -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    config = hypercorn.config.Config()
    config.bind = [f"fd://{listener.detach()}"]  # hypercorn owns and closes it
    config.graceful_timeout = grace
    config.loglevel = "WARNING"
    config.accesslog = None
    stop = threading.Event()

    async def stopped() -> None:
        while not stop.is_set():
            await anyio.sleep(0.02)

    def run() -> None:
        if backend == "trio":
            trio.run(partial(hypercorn.trio.serve, app, config, shutdown_trigger=stopped))
        else:
            asyncio.run(hypercorn.asyncio.serve(app, config, shutdown_trigger=stopped))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(WAIT + grace)
        assert not thread.is_alive(), "hypercorn did not stop"


@contextmanager
def serving(app: Any, server: str, *, grace: float = 1.0) -> Iterator[str]:
    """``app`` under ``server`` in a thread; yields its base URL, stops it at the end.

    ``server`` is one of ``SERVERS``: uvicorn (asyncio) or hypercorn on asyncio or trio.
    """
    if server == "uvicorn":
        runner = _uvicorn(app, grace)
    else:
        runner = _hypercorn(app, grace, "trio" if server.endswith("trio") else "asyncio")
    with runner as url:
        yield url


# --- one handler for both servers --------------------------------------------------------------


@dataclass
class Record:
    """What the handler saw, readable from the test's thread."""

    closed: dict[str, threading.Event] = field(default_factory=dict)
    last_event_ids: list[str | None] = field(default_factory=list)

    def closing(self, name: str) -> threading.Event:
        return self.closed.setdefault(name, threading.Event())


def make_handler(record: Record) -> Callable[[Request], Any]:
    async def ticks() -> AsyncIterator[Any]:
        yield Comment("hello")
        for n in range(3):
            yield ServerSentEvent("tick", f"n={n}\nsecond line", str(n), None)
        yield b"data: pre-encoded\n\n"
        yield Done()

    async def forever(name: str) -> AsyncIterator[Any]:
        try:
            record.closing(name + " started").set()
            yield ServerSentEvent("message", "first", "1", None)
            while True:
                await anyio.sleep(0.05)
        finally:
            record.closing(name).set()

    async def flood() -> AsyncIterator[Any]:
        try:
            while True:
                yield ServerSentEvent("message", "x" * 65536, "", None)
        finally:
            record.closing("flood").set()

    async def quiet() -> AsyncIterator[Any]:
        yield ServerSentEvent("message", "before", "", None)
        await anyio.sleep(0.7)
        yield ServerSentEvent("message", "after", "", None)
        yield Done()

    async def resume(last: str | None) -> AsyncIterator[Any]:
        start = int(last) if last else 0
        yield b"retry: 50\n\n"
        for n in range(start + 1, min(start + 3, 5)):
            yield ServerSentEvent("message", f"event {n}", str(n), None)
        if start + 3 > 4:
            yield Done()

    async def handler(request: Request) -> EventStream | Response:
        if request.path == "/ticks":
            return EventStream(ticks())
        if request.path == "/echo":
            body = request.json()
            return Response.json({"method": request.method, "query": request.query, "body": body})
        if request.path == "/forever":
            return EventStream(forever(request.query or "forever"))
        if request.path == "/flood":
            return EventStream(flood())
        if request.path == "/quiet":
            return EventStream(quiet(), keepalive=0.2)
        if request.path == "/resume":
            last = request.header("last-event-id")
            record.last_event_ids.append(last)
            return EventStream(resume(last))
        return Response.json({"error": {"message": "not found"}}, status=404)

    return handler


TICKS = [
    ServerSentEvent("tick", "n=0\nsecond line", "0", None),
    ServerSentEvent("tick", "n=1\nsecond line", "1", None),
    ServerSentEvent("tick", "n=2\nsecond line", "2", None),
    ServerSentEvent("message", "pre-encoded", "2", None),
]


def _raw(url: str) -> tuple[httpx.Headers, bytes]:
    with httpx.Client(timeout=WAIT) as client, client.stream("GET", url) as response:
        assert response.status_code == 200
        return response.headers, response.read()


# --- the tests ---------------------------------------------------------------------------------


@by_server
def test_the_same_handler_gives_the_same_bytes_on_sseserver_and_under_asgi(server: str) -> None:
    handler = make_handler(Record())
    with serve_in_thread(handler) as native:
        native_headers, native_body = _raw(native.url + "/ticks")
    with serving(asgi_app(handler), server) as url:
        headers, body = _raw(url + "/ticks")
        echoed = httpx.post(url + "/echo?a=1", json={"x": [1, 2]}, timeout=WAIT)
        missing = httpx.get(url + "/nowhere", timeout=WAIT)
    assert body == native_body
    assert body.startswith(b": hello\n")
    assert body.endswith(b"data: pre-encoded\n\ndata: [DONE]\n\n")
    for name in ("content-type", "cache-control", "x-accel-buffering"):
        assert headers[name] == native_headers[name]
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["x-accel-buffering"] == "no"
    assert echoed.json() == {"method": "POST", "query": "a=1", "body": {"x": [1, 2]}}
    assert echoed.headers["content-length"] == str(len(echoed.content))
    assert missing.status_code == 404


@by_server
def test_sseio_clients_and_httpx_sse_read_an_asgi_app(server: str) -> None:
    with serving(asgi_app(make_handler(Record())), server) as url:
        with sseio.connect_sse(url + "/ticks", timeout=QUICK) as source:
            blocking = list(source)

        async def read_async() -> list[Any]:
            async with sseio.aconnect_sse(url + "/ticks", timeout=QUICK) as source:
                return [item async for item in source]

        asynchronous = anyio.run(read_async)
        with (
            httpx.Client(timeout=WAIT) as client,
            httpx_sse.connect_sse(client, "GET", url + "/ticks") as event_source,
        ):
            foreign = [(sse.event, sse.data, sse.id) for sse in event_source.iter_sse()]
    assert blocking == TICKS  # sseio's sources end at [DONE]
    assert asynchronous == blocking
    assert foreign == [(e.event, e.data, e.id) for e in TICKS] + [("message", "[DONE]", "2")]


@by_server
def test_a_client_going_away_closes_the_generator(server: str) -> None:
    record = Record()
    with serving(asgi_app(make_handler(record), keepalive=None), server) as url:
        with sseio.connect_sse(url + "/forever?gone", timeout=QUICK) as source:
            assert next(iter(source)).data == "first"
        assert record.closing("gone").wait(WAIT), "the generator's finally did not run"


@by_server
def test_keepalive_comments_arrive_while_the_handler_is_quiet(server: str) -> None:
    with (
        serving(asgi_app(make_handler(Record())), server) as url,
        sseio.connect_sse(url + "/quiet", timeout=QUICK, comments=True) as source,
    ):
        items = list(source)
    keepalives = [item for item in items if isinstance(item, Comment)]
    events = [item.data for item in items if isinstance(item, ServerSentEvent)]
    assert events == ["before", "after"]
    assert 2 <= len(keepalives) <= 4, items
    assert all(comment.text == "keepalive" for comment in keepalives)


# Not hypercorn on trio: it shields its socket writes from cancellation, so no app can
# bound a send there (a stuck client holds the stream until hypercorn's own timeouts).
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_client_that_stops_reading_is_dropped_after_send_timeout(server: str) -> None:
    record = Record()
    closed_in_time: list[bool] = []
    inner = asgi_app(make_handler(record), send_timeout=0.5, keepalive=None)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        if scope["type"] == "http":  # closed by the app, not later by the garbage collector
            closed_in_time.append(record.closing("flood").is_set())

    with serving(app, server) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as stuck:
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.connect(("127.0.0.1", port))
            stuck.sendall(b"GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
            assert record.closing("flood").wait(WAIT), "the stuck client was never dropped"
            _wait_until(lambda: bool(closed_in_time), "the app to return")
    assert closed_in_time == [True]


@by_server
def test_last_event_id_reaches_the_handler_and_an_sseio_client_resumes(server: str) -> None:
    record = Record()
    reconnect = sseio.Reconnect(delay=0.05, max_attempts=3)
    with (
        serving(asgi_app(make_handler(record)), server) as url,
        sseio.connect_sse(url + "/resume", timeout=QUICK, reconnect=reconnect) as source,
    ):
        items = list(source)
    assert [item.data for item in items] == [f"event {n}" for n in range(1, 5)]
    assert record.last_event_ids == [None, "2"]


@by_server
def test_the_live_checker_finds_no_error_in_an_asgi_stream(server: str) -> None:
    with serving(asgi_app(make_handler(Record())), server) as url:
        report = sseio.conformance.check(url + "/ticks", timeout=WAIT, duration=WAIT)
    text = format_report(report)
    assert report.response is not None, text
    assert report.response.status_code == 200, text
    assert report.errors == (), text


# --- framework routes --------------------------------------------------------------------------


def _starlette_app(record: Record) -> Starlette:
    async def feed(request: StarletteRequest) -> EventStreamResponse:
        last = request.headers.get("last-event-id")
        record.last_event_ids.append(last)
        start = int(last) if last else 0

        async def events() -> AsyncIterator[Any]:
            try:
                for n in range(start + 1, min(start + 3, 5)):
                    yield ServerSentEvent("message", f"event {n}", str(n), None)
                if start + 3 > 4:
                    yield Done()
            finally:
                record.closing(f"feed {start}").set()

        return EventStreamResponse(events(), retry=50, headers={"x-feed": "yes"})

    return Starlette(routes=[Route("/feed", feed)])


@by_server
def test_a_starlette_route_returns_an_event_stream_response(server: str) -> None:
    record = Record()
    reconnect = sseio.Reconnect(delay=2.0, max_attempts=3)  # the stream's retry: 50 wins
    with serving(_starlette_app(record), server) as url:
        headers, body = _raw(url + "/feed")
        started = time.monotonic()
        with sseio.connect_sse(url + "/feed", timeout=QUICK, reconnect=reconnect) as source:
            items = list(source)
        elapsed = time.monotonic() - started
    assert body == b"retry: 50\n\nid: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\n"
    assert headers["x-feed"] == "yes"
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert [item.data for item in items] == ["event 1", "event 2", "event 3", "event 4"]
    assert record.last_event_ids == [None, None, "2"]
    assert elapsed < 1.5, "the client did not take the stream's retry: 50"
    assert record.closing("feed 2").is_set()


def _chat_chunk(content: str | None, finish: str | None) -> dict[str, Any]:
    delta: dict[str, Any] = {} if content is None else {"content": content}
    if finish is None and content is not None and content.startswith("Hel"):
        delta["role"] = "assistant"
    payload = {
        "id": "chatcmpl-asgi",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "asgi-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return sseio.chat.parse_chunk(payload).to_dict()


def _fastapi_app(record: Record) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: StarletteRequest) -> Any:
        body = await request.json()
        record.last_event_ids.append(body["model"])

        async def chunks() -> AsyncIterator[Any]:
            try:
                for piece in ("Hel", "lo ", "from ", "FastAPI"):
                    yield ServerSentEvent("message", json.dumps(_chat_chunk(piece, None)), "", None)
                yield ServerSentEvent("message", json.dumps(_chat_chunk(None, "stop")), "", None)
                yield Done()
            finally:
                record.closing("chat").set()

        return starlette_response(chunks())

    return app


@by_server
def test_the_openai_sdk_streams_from_a_fastapi_route(server: str) -> None:
    record = Record()
    with serving(_fastapi_app(record), server) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0, timeout=WAIT)
        with client:
            stream = client.chat.completions.create(
                model="asgi-model", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from FastAPI"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert record.last_event_ids == ["asgi-model"]
    assert record.closing("chat").wait(WAIT)


@pytest.mark.parametrize("server", ["uvicorn"])
def test_the_openai_sdk_streams_from_the_mock_api_under_asgi(server: str) -> None:
    api = MockAPI(MockConfig())
    with serving(asgi_app(api), server) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0, timeout=WAIT)
        body = {"model": "sseio-mock-1", "messages": [{"role": "user", "content": "hi"}]}
        with client:
            stream = client.chat.completions.create(stream=True, **body)  # type: ignore[call-overload]
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == api.expected_answer({**body, "stream": True}).choices[0].content
    assert text


# --- shutdown ----------------------------------------------------------------------------------


@by_server
def test_server_shutdown_closes_running_generators(server: str) -> None:
    record = Record()
    app = asgi_app(make_handler(record), keepalive=None)
    received: list[Any] = []
    failures: list[BaseException] = []

    with serving(app, server, grace=0.5) as url:

        def read() -> None:
            try:
                with sseio.connect_sse(
                    url + "/forever?shutdown", timeout=QUICK, reconnect=sseio.NO_RECONNECT
                ) as source:
                    received.extend(source)
            except sseio.SSEError as exc:
                failures.append(exc)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert record.closing("shutdown started").wait(WAIT)
        time.sleep(0.1)
    assert record.closing("shutdown").wait(WAIT), "shutdown did not close the generator"
    reader.join(WAIT)
    assert not reader.is_alive()
    assert [item.data for item in received][:1] == ["first"]


@by_server
def test_app_shutdown_ends_running_streams_cleanly_under_a_real_server(server: str) -> None:
    record = Record()
    inner = make_handler(record)
    apps: list[Any] = []

    async def handler(request: Request) -> EventStream | Response:
        if request.path == "/stop":  # what a deployment's own shutdown signal would call
            await apps[0].shutdown()
            return Response.text("stopped")
        answer: EventStream | Response = await inner(request)
        return answer

    app = asgi_app(handler, keepalive=None, shutdown_grace=2)
    apps.append(app)
    received: list[Any] = []
    with serving(app, server) as url:

        def read() -> None:
            with sseio.connect_sse(
                url + "/forever?cleanly", timeout=QUICK, reconnect=sseio.NO_RECONNECT
            ) as source:
                received.extend(source)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert record.closing("cleanly started").wait(WAIT)
        stopped = httpx.get(url + "/stop", timeout=WAIT)
        reader.join(WAIT)
        assert not reader.is_alive(), "the stream did not end"
    assert stopped.text == "stopped"
    assert record.closing("cleanly").is_set()
    assert [item.data for item in received] == ["first"]  # and no error: a clean end
    assert app.active_streams == 0
