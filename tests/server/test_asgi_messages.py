"""sseio.server's ASGI adapter driven in process, message by message, on asyncio and trio.

A small harness plays the server's side of ASGI (``receive`` gives the
request messages, then waits for a disconnect the test triggers; ``send``
records), so each test asserts the exact messages sent: request building,
plain answers and errors, HEAD, ``retry:``, keepalives, a send that never
finishes, ``abort``, a failing generator, the lifespan protocol and
``shutdown()``, Starlette's response, and argument checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from starlette.background import BackgroundTask
from starlette.responses import Response as StarletteResponse

import sseio
from sseio import Comment, Done, ServerSentEvent
from sseio.server import (
    BadRequest,
    EventStream,
    EventStreamResponse,
    Request,
    Response,
    asgi_app,
    starlette_response,
)
from sseio.server._asgi import request_from_scope

pytestmark = pytest.mark.anyio
WAIT = 5.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


def http_scope(method: str = "GET", path: str = "/", **extra: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"Host", b"x")],
        "client": ("127.0.0.1", 5000),
    }
    return {**scope, **extra}


class Harness:
    """The server's side: request messages in, sent messages recorded."""

    def __init__(self, *bodies: bytes, stuck: bool = False) -> None:
        self.inbox: list[dict[str, Any]] = [
            {"type": "http.request", "body": body, "more_body": n < len(bodies) - 1}
            for n, body in enumerate(bodies or (b"",))
        ]
        self.sent: list[dict[str, Any]] = []
        self.gone = anyio.Event()
        self.stuck = stuck  # body sends never finish

    async def receive(self) -> dict[str, Any]:
        if self.inbox:
            return self.inbox.pop(0)
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Any) -> None:
        if self.stuck and message["type"] == "http.response.body":
            await anyio.sleep_forever()
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.sent[1:]]

    @property
    def complete(self) -> bool:
        return bool(self.sent) and self.sent[-1].get("more_body") is False


async def serve(app: Any, scope: dict[str, Any], harness: Harness) -> None:
    with anyio.fail_after(WAIT):
        await app(scope, harness.receive, harness.send)


# --- requests and plain answers ----------------------------------------------------------------


def test_the_request_is_built_as_sseserver_builds_it() -> None:
    scope = http_scope(
        "POST",
        "/a b",
        raw_path=b"/a%20b",
        query_string=b"x=1&y=%2F",
        headers=[(b"Last-Event-ID", b"41"), (b"X-Two", b"caf\xe9")],
    )
    request = request_from_scope(scope, b"{}")
    assert request == Request(
        "POST",
        "/a%20b?x=1&y=%2F",
        "/a%20b",
        "x=1&y=%2F",
        (("last-event-id", "41"), ("x-two", "café")),
        b"{}",
        ("127.0.0.1", 5000),
    )
    assert request.header("Last-Event-ID") == "41"
    bare = request_from_scope({"type": "http", "method": "GET", "path": "/a b"}, b"")
    assert (bare.target, bare.path, bare.client, bare.headers) == ("/a%20b", "/a%20b", None, ())


async def test_the_body_is_read_whole_and_a_plain_answer_is_sent() -> None:
    async def handler(request: Request) -> Response:
        return Response.json({"got": request.json()}, headers={"Content-Length": "999"})

    harness = Harness(b'{"a"', b": 1}")
    await serve(asgi_app(handler), http_scope("POST"), harness)
    body = json.dumps({"got": {"a": 1}}, separators=(",", ":")).encode()
    assert harness.status == 200
    assert harness.headers == {"content-length": str(len(body)), "content-type": "application/json"}
    assert harness.bodies == [body]


async def test_a_body_over_max_request_size_gets_413_and_the_handler_is_not_called() -> None:
    calls: list[Request] = []

    async def handler(request: Request) -> Response:
        calls.append(request)
        return Response()

    harness = Harness(b"12345", b"6")
    await serve(asgi_app(handler, max_request_size=5), http_scope("POST"), harness)
    assert harness.status == 413
    assert "max_request_size=5" in json.loads(harness.bodies[0])["error"]["message"]
    assert calls == []


async def test_errors_become_json_answers(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: Request) -> Any:
        if request.path == "/bad":
            raise BadRequest("no such model", status=404)
        if request.path == "/crash":
            raise RuntimeError("boom")
        return "not a response"

    statuses = {}
    for path in ("/bad", "/crash", "/wrong"):
        harness = Harness()
        await serve(asgi_app(handler), http_scope(path=path), harness)
        statuses[path] = (harness.status, json.loads(harness.bodies[0])["error"]["message"])
    assert statuses == {
        "/bad": (404, "no such model"),
        "/crash": (500, "internal server error"),
        "/wrong": (500, "internal server error"),
    }
    assert "handler failed for GET /crash" in caplog.text


async def test_head_and_204_get_no_body() -> None:
    async def handler(request: Request) -> Response:
        return Response.text("hello", status=204 if request.path == "/none" else 200)

    head = Harness()
    await serve(asgi_app(handler), http_scope("HEAD"), head)
    none = Harness()
    await serve(asgi_app(handler), http_scope(path="/none"), none)
    assert (head.headers["content-length"], head.bodies) == ("5", [b""])
    assert "content-length" not in none.headers
    assert none.bodies == [b""]


# --- streams -----------------------------------------------------------------------------------


class Closing:
    """An event iterator that records whether it was closed."""

    def __init__(self, *items: Any, then_wait: bool = False, fail: bool = False) -> None:
        self.finally_ran = False
        self.items = items
        self.then_wait = then_wait
        self.fail = fail
        self.generator: Any = self._run()

    @property
    def closed(self) -> bool:
        """Its ``finally`` ran, or it was closed before it started."""
        return self.finally_ran or self.generator.ag_frame is None

    def run(self) -> AsyncIterator[Any]:
        return self.generator

    async def _run(self) -> AsyncIterator[Any]:
        try:
            for item in self.items:
                yield item
            if self.fail:
                raise RuntimeError("generator broke")
            if self.then_wait:
                await anyio.sleep_forever()
        finally:
            self.finally_ran = True


async def test_head_of_a_stream_sends_its_headers_and_closes_the_generator() -> None:
    events = Closing(ServerSentEvent("message", "x", "", None))
    harness = Harness()
    app = asgi_app(lambda request: _returning(EventStream(events.run())))
    await serve(app, http_scope("HEAD"), harness)
    assert harness.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert harness.bodies == [b""]
    assert events.closed


async def _returning(answer: Any) -> Any:
    return answer


async def test_a_client_that_goes_away_closes_the_generator() -> None:
    events = Closing(ServerSentEvent("message", "x", "", None), then_wait=True)
    harness = Harness()
    app = asgi_app(lambda request: _returning(EventStream(events.run())))
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(serve, app, http_scope(), harness)
        with anyio.fail_after(WAIT):
            while len(harness.sent) < 2:
                await anyio.sleep(0.01)
        assert not events.closed
        harness.gone.set()
    assert events.closed
    assert harness.bodies == [b"data: x\n\n"]
    assert not harness.complete


async def test_a_client_that_goes_away_during_a_blocked_send_closes_the_generator() -> None:
    events = Closing(ServerSentEvent("message", "x", "", None), then_wait=True)
    harness = Harness(stuck=True)  # the generator waits at its yield, the send never ends
    app = asgi_app(lambda request: _returning(EventStream(events.run())), send_timeout=60)
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(serve, app, http_scope(), harness)
        await anyio.sleep(0.1)
        assert not events.closed
        harness.gone.set()
    assert events.finally_ran  # by aclose(), not by the garbage collector: it is still referenced


async def test_a_send_that_never_finishes_drops_the_client_after_send_timeout() -> None:
    events = Closing(ServerSentEvent("message", "x", "", None), then_wait=True)
    harness = Harness(stuck=True)
    app = asgi_app(lambda request: _returning(EventStream(events.run())), send_timeout=0.2)
    started = anyio.current_time()
    await serve(app, http_scope(), harness)
    assert 0.2 <= anyio.current_time() - started < 2
    assert events.finally_ran
    assert [m["type"] for m in harness.sent] == ["http.response.start"]


async def test_a_send_raising_oserror_is_a_client_gone_not_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = Closing(ServerSentEvent("message", "x", "", None), then_wait=True)
    harness = Harness()

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            raise OSError("client disconnected")
        harness.sent.append(message)

    app = asgi_app(lambda request: _returning(EventStream(events.run())))
    with anyio.fail_after(WAIT):
        await app(http_scope(), harness.receive, send)
    assert events.finally_ran
    assert [m["type"] for m in harness.sent] == ["http.response.start"]
    assert "failed" not in caplog.text


async def test_keepalives_retry_and_headers_of_an_event_stream_response() -> None:
    async def events() -> AsyncIterator[Any]:
        yield Comment("start")
        await anyio.sleep(0.35)
        yield Done()

    response = EventStreamResponse(
        events(),
        retry=1500,
        keepalive=0.1,
        headers={"Cache-Control": "private", "X-A": "b", "Content-Length": "9"},
    )
    harness = Harness()
    await serve(response, http_scope(), harness)
    assert harness.headers == {
        "content-type": "text/event-stream; charset=utf-8",
        "x-accel-buffering": "no",
        "cache-control": "private",
        "x-a": "b",
    }
    bodies = harness.bodies
    assert bodies[:2] == [b"retry: 1500\n\n", b": start\n"]
    assert bodies[-2:] == [b"data: [DONE]\n\n", b""]
    assert 2 <= bodies.count(b": keepalive\n\n") <= 4
    assert harness.complete


async def test_abort_and_a_failing_generator_leave_the_body_unfinished(
    caplog: pytest.LogCaptureFixture,
) -> None:
    aborted = Closing(ServerSentEvent("message", "x", "", None))
    broken = Closing(ServerSentEvent("message", "y", "", None), fail=True)
    answers = {
        "/abort": EventStream(aborted.run(), abort=True),
        "/broken": EventStream(broken.run()),
    }
    app = asgi_app(lambda request: _returning(answers[request.path]))
    for path in answers:
        harness = Harness()
        await serve(app, http_scope(path=path), harness)
        assert harness.bodies[0].startswith(b"data: ")
        assert not harness.complete, path
    assert aborted.closed
    assert broken.closed
    assert "event stream for GET /broken failed" in caplog.text


async def test_lifespan_shutdown_ends_running_streams_cleanly() -> None:
    events = Closing(ServerSentEvent("message", "x", "", None), then_wait=True)
    app = asgi_app(lambda request: _returning(EventStream(events.run())), shutdown_grace=2)
    lifespan_in: list[dict[str, Any]] = [{"type": "lifespan.startup"}]
    lifespan_out: list[dict[str, Any]] = []
    shutting = anyio.Event()

    async def lifespan_receive() -> dict[str, Any]:
        if lifespan_in:
            return lifespan_in.pop(0)
        await shutting.wait()
        return {"type": "lifespan.shutdown"}

    async def lifespan_send(message: Any) -> None:
        lifespan_out.append(message)

    harness = Harness()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(app, {"type": "lifespan"}, lifespan_receive, lifespan_send)
        task_group.start_soon(serve, app, http_scope(), harness)
        with anyio.fail_after(WAIT):
            while len(harness.sent) < 2:
                await anyio.sleep(0.01)
        assert app.active_streams == 1
        shutting.set()
    assert [m["type"] for m in lifespan_out] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert events.closed
    assert harness.complete
    assert app.active_streams == 0
    late = Harness()
    await serve(app, http_scope(), late)  # after shutdown, a stream ends at once
    assert late.complete


async def test_starlette_response_is_a_starlette_response_that_streams() -> None:
    ran: list[str] = []

    async def events() -> AsyncIterator[Any]:
        yield ServerSentEvent("message", "x", "7", None)

    response = starlette_response(events(), headers={"x-a": "b"})
    assert isinstance(response, StarletteResponse)
    assert response.status_code == 200
    response.headers["x-added"] = "by the framework"
    response.background = BackgroundTask(lambda: ran.append("background"))
    harness = Harness()
    await serve(response, http_scope(), harness)
    assert harness.headers["x-added"] == "by the framework"
    assert harness.headers["x-a"] == "b"
    assert harness.bodies == [b"id: 7\ndata: x\n\n", b""]
    assert ran == ["background"]


# --- argument checks ---------------------------------------------------------------------------


async def _nothing() -> AsyncIterator[Any]:
    yield Done()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keepalive": 0}, "keepalive must be a positive number"),
        ({"send_timeout": None}, "send_timeout must be a positive number"),
        ({"retry": -1}, "retry must be a non-negative int"),
        ({"retry": True}, "retry must be a non-negative int"),
        ({"status": 204}, "cannot have status 204"),
        ({"headers": {"bad name": "x"}}, "invalid event stream header"),
        ({"headers": [("a",)]}, "must be (name, value) pairs"),
    ],
)
def test_event_stream_response_checks_its_arguments(options: dict[str, Any], message: str) -> None:
    events = _nothing()
    with pytest.raises(sseio.UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EventStreamResponse(events, **options)
    with pytest.raises(sseio.UsageError, match="must be an async iterable"):
        EventStreamResponse([Done()])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keepalive": -1}, "keepalive"),
        ({"send_timeout": 0}, "send_timeout"),
        ({"max_request_size": -1}, "max_request_size"),
        ({"shutdown_grace": -1}, "shutdown_grace"),
        ({"shutdown_grace": None}, "shutdown_grace"),
    ],
)
def test_asgi_app_checks_its_arguments(options: dict[str, Any], message: str) -> None:
    async def handler(request: Request) -> Response:
        return Response()

    with pytest.raises(sseio.UsageError, match=message):
        asgi_app(handler, **options)
    with pytest.raises(sseio.UsageError, match="handler must be an async callable"):
        asgi_app(42)  # type: ignore[arg-type]


async def test_a_websocket_scope_is_refused() -> None:
    async def handler(request: Request) -> Response:
        return Response()

    with pytest.raises(sseio.UsageError, match="got an ASGI 'websocket' scope"):
        await asgi_app(handler)({"type": "websocket"}, Harness().receive, Harness().send)


def test_importing_sseio_server_does_not_load_starlette() -> None:
    code = "import sys, sseio.server; print('starlette' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
