"""Interoperability: sseio's streaming clients against uvicorn + sse-starlette.

A Starlette app served by uvicorn on 127.0.0.1 (a real socket, an ephemeral
port, one server for the module, run in a background thread) answers with
sse-starlette's ``EventSourceResponse``.  Both clients talk to it: the async
``aconnect_sse`` on asyncio and on trio, and the blocking ``connect_sse``.

What is checked, for each client: every event arrives exactly as the server
sent it (type, data, id, retry) with CRLF, LF and CR line ends; ``[DONE]``
ends the stream and sets ``done``; multi-line data; ``retry``; comments only
with ``comments=True`` (sse-starlette's explicit comments and its ``ping=``
keepalives); a POST with a JSON body; resuming with ``Last-Event-ID``, by
hand and by the reconnect policy (which must honour the server's
``retry``); ``ResponseError`` for JSON 404/500 answers and a 200 HTML page;
events delivered as they are sent, not when the body ends, plain and under
Starlette's ``GZipMiddleware``; large and many events; read and event
timeouts; and that leaving a stream early closes the connection, which the
server notices.

``GZipMiddleware`` leaves ``text/event-stream`` alone by default (it is in
``DEFAULT_EXCLUDED_CONTENT_TYPES``): one case checks that, and the gzip case
forces compression with ``exclude_content_types=()``, which flushes each
chunk with ``Z_SYNC_FLUSH``.

Server-side coordination crosses threads through ``threading.Event`` gates
that the server polls with a bound, so a client that buffers too much fails
with a timeout instead of hanging.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import uvicorn
from sse_starlette import EventSourceResponse
from sse_starlette import ServerSentEvent as WireEvent
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

import sseio
from sseio import Comment, ServerSentEvent

TIMEOUT = sseio.Timeout(connect=2.0, read=3.0, write=2.0)
"""Small limits for every connection: a stuck test fails in seconds."""

TEST_LIMIT = 5.0
"""Seconds any async test may take (``anyio.fail_after``)."""

GATE_LIMIT = 3.0
"""Seconds the server waits for a gate before giving up on the client."""

SEPARATORS = {"crlf": "\r\n", "lf": "\n", "cr": "\r"}

# (event type or None, data, id or None): what /stream sends, in order.
STREAM: list[tuple[str | None, str, str | None]] = [
    (None, '{"choices":[{"delta":{"content":"Hel"}}]}', "1"),
    ("delta", "héllo wörld ✓ 🚀 — 東京", "2"),
    ("delta", "  two leading spaces: the writer adds one, the reader eats one", "3"),
    ("delta", "key: value; data: not a field", "4"),
    ("usage", "", "5"),
    ("note", "no id here: the last one stays in force", None),
    ("message", "id: 7 is inside the data", "7"),
]

MULTILINE = [
    "line one\nline two",
    "crlf\r\nand\rcr inside",
    "trailing newline\n",
    "\n\ntwo blank lines first",
    "x\n\n\ny",
    "",
]

RESUME_TOTAL = 6
BIG_SIZE = 3 * 1024 * 1024
MANY = 2000


def expected_stream() -> list[ServerSentEvent]:
    """The events /stream sends, as sseio should decode them."""
    events = []
    last_id = ""
    for kind, data, event_id in STREAM:
        last_id = last_id if event_id is None else event_id
        events.append(ServerSentEvent(kind or "message", data, last_id))
    return events


def normalize_lines(data: str) -> str:
    return re.sub(r"\r\n|\r", "\n", data)


@functools.cache
def big_data() -> str:
    """A 3 MiB base64 payload, like an image in a tool result."""
    raw = bytes(range(256)) * (BIG_SIZE * 3 // 4 // 256 + 1)
    return base64.b64encode(raw).decode()[:BIG_SIZE]


# -- the server --------------------------------------------------------------


@dataclass
class ServerLog:
    """What the server saw, by test key, shared with the test thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last_event_ids: dict[str, list[str | None]] = field(default_factory=lambda: defaultdict(list))
    gates: dict[str, threading.Event] = field(default_factory=dict)
    closed: dict[str, threading.Event] = field(default_factory=dict)

    def saw(self, key: str, last_event_id: str | None) -> None:
        with self.lock:
            self.last_event_ids[key].append(last_event_id)

    def seen(self, key: str) -> list[str | None]:
        with self.lock:
            return list(self.last_event_ids[key])

    def gate(self, key: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(key, threading.Event())

    def closed_flag(self, key: str) -> threading.Event:
        with self.lock:
            return self.closed.setdefault(key, threading.Event())


async def wait_thread_event(flag: threading.Event, limit: float) -> bool:
    """Poll a ``threading.Event`` from async code without blocking the loop."""
    with anyio.move_on_after(limit):
        while not flag.is_set():
            await anyio.sleep(0.005)
    return flag.is_set()


def build_app(log: ServerLog) -> Starlette:
    def sep_of(request: Request) -> str:
        return SEPARATORS[request.query_params.get("sep", "crlf")]

    def done(sep: str = "\r\n") -> WireEvent:
        return WireEvent(data="[DONE]", sep=sep)

    async def stream(request: Request) -> EventSourceResponse:
        sep = sep_of(request)

        async def events() -> AsyncIterator[WireEvent]:
            for kind, data, event_id in STREAM:
                yield WireEvent(data=data, event=kind, id=event_id, sep=sep)
            yield done(sep)

        return EventSourceResponse(events(), sep=sep, ping=0)

    async def multiline(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            for number, data in enumerate(MULTILINE, 1):
                yield WireEvent(data=data, id=f"m{number}")
            yield done()

        return EventSourceResponse(events(), ping=0)

    async def retry(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(data="slow down", id="r1", retry=1500)
            yield WireEvent(retry=2500)  # a block with no data: not dispatched, still counts
            yield WireEvent(data="after")
            yield done()

        return EventSourceResponse(events(), ping=0)

    async def pings(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(comment="hello from the server")
            for number in range(1, 4):
                await anyio.sleep(0.15)
                yield WireEvent(data=f"tick {number}", event="tick", id=str(number))
            yield done()

        return EventSourceResponse(events(), ping=0.04)

    async def resume(request: Request) -> EventSourceResponse:
        """Events 1..6; each connection starts after ``Last-Event-ID`` and sends at
        most ``per_connection`` of them; ``[DONE]`` after the last one.  With
        ``batch=1`` they go out in a single write, so they reach the client in
        one read."""
        key = request.query_params.get("key", "")
        per_connection = int(request.query_params.get("per_connection", RESUME_TOTAL))
        retry_ms = request.query_params.get("retry")
        header = request.headers.get("last-event-id")
        log.saw(key, header)
        start = int(header) + 1 if header else 1
        stop = min(start + per_connection, RESUME_TOTAL + 1)

        batch = request.query_params.get("batch") == "1"
        wire: list[WireEvent] = []
        if retry_ms is not None and header is None:
            wire.append(WireEvent(retry=int(retry_ms)))
        wire += [WireEvent(data=f"event {n}", id=str(n)) for n in range(start, stop)]
        if stop > RESUME_TOTAL:
            wire.append(done())

        async def events() -> AsyncIterator[WireEvent | bytes]:
            if batch:  # all of this connection's events in one write
                yield b"".join(event.encode() for event in wire)
            else:
                for event in wire:
                    yield event

        return EventSourceResponse(events(), ping=0)

    async def echo(request: Request) -> EventSourceResponse:
        body = await request.json()
        seen = {
            "method": request.method,
            "content_type": request.headers.get("content-type"),
            "accept": request.headers.get("accept"),
        }

        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(data=json.dumps(seen), event="request")
            for number, item in enumerate(body["items"]):
                yield WireEvent(
                    data=json.dumps(item, ensure_ascii=False), event="echo", id=str(number)
                )
            yield done()

        return EventSourceResponse(events(), ping=0)

    async def gated(request: Request) -> EventSourceResponse:
        """One event, then the rest only once the client says it got the first."""
        gate = log.gate(request.query_params["key"])

        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(data="first", id="1")
            if not await wait_thread_event(gate, GATE_LIMIT):
                return  # the client never saw "first": end without [DONE]
            yield WireEvent(data="second " + "z" * 2000, id="2")
            yield WireEvent(data="third", id="3")
            yield done()

        return EventSourceResponse(events(), ping=0)

    async def endless(request: Request) -> EventSourceResponse:
        closed = log.closed_flag(request.query_params["key"])

        async def events() -> AsyncIterator[WireEvent]:
            try:
                number = 0
                while True:
                    number += 1
                    yield WireEvent(data=f"tick {number}", id=str(number))
                    await anyio.sleep(0.02)
            finally:
                closed.set()

        return EventSourceResponse(events(), ping=0)

    async def keepalive_only(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(data="the only event")
            await anyio.sleep(30)  # cancelled when the client goes away

        return EventSourceResponse(events(), ping=0.04)

    async def silent(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(data="the only event")
            await anyio.sleep(30)  # cancelled when the client goes away

        return EventSourceResponse(events(), ping=0)

    async def big(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            yield WireEvent(data="before", id="a")
            yield WireEvent(data=big_data(), event="image", id="b")
            yield WireEvent(data="after", id="c")
            yield done()

        return EventSourceResponse(events(), ping=0)

    async def many(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[WireEvent]:
            for number in range(MANY):
                yield WireEvent(data=f'{{"i":{number}}}', id=str(number))
            yield done()

        return EventSourceResponse(events(), ping=0)

    async def not_found(request: Request) -> JSONResponse:
        return JSONResponse(NOT_FOUND_BODY, status_code=404)

    async def server_error(request: Request) -> JSONResponse:
        return JSONResponse(SERVER_ERROR_BODY, status_code=500)

    async def html(request: Request) -> HTMLResponse:
        return HTMLResponse(HTML_PAGE)

    default_gzip = [Middleware(GZipMiddleware, minimum_size=0)]
    forced_gzip = [Middleware(GZipMiddleware, minimum_size=0, exclude_content_types=())]
    routes = [
        Route("/stream", stream),
        Route("/multiline", multiline),
        Route("/retry", retry),
        Route("/pings", pings),
        Route("/resume", resume),
        Route("/echo", echo, methods=["POST"]),
        Route("/gated", gated),
        Route("/gzip/default", gated, middleware=default_gzip),
        Route("/gzip/forced", gated, middleware=forced_gzip),
        Route("/endless", endless),
        Route("/keepalive-only", keepalive_only),
        Route("/silent", silent),
        Route("/big", big),
        Route("/many", many),
        Route("/json-404", not_found),
        Route("/json-500", server_error),
        Route("/html", html),
    ]
    return Starlette(routes=routes)


NOT_FOUND_BODY = {
    "error": {
        "message": "the model 'gpt-x' does not exist",
        "type": "invalid_request_error",
        "code": "model_not_found",
    }
}
SERVER_ERROR_BODY = {"detail": "upstream failed: try later"}
HTML_PAGE = "<!doctype html><title>Sign in</title><h1>Please sign in</h1>"


@dataclass(frozen=True)
class Live:
    """The running server: where it listens and what it saw."""

    base_url: str
    log: ServerLog

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    log = ServerLog()
    config = uvicorn.Config(
        build_app(log),
        host="127.0.0.1",
        port=0,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="interop-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=5)
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    assert host == "127.0.0.1"
    try:
        yield Live(f"http://127.0.0.1:{port}", log)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not shut down"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def new_key() -> str:
    return uuid.uuid4().hex


# -- helpers -----------------------------------------------------------------


@dataclass
class Outcome:
    """Everything one stream gave: items, and the source's state at the end."""

    items: list[ServerSentEvent | Comment]
    done: bool
    last_event_id: str
    retry: int | None
    response: sseio.Response | None

    @property
    def events(self) -> list[ServerSentEvent]:
        return [item for item in self.items if type(item) is ServerSentEvent]

    @property
    def comments(self) -> list[str]:
        return [item.text for item in self.items if type(item) is Comment]


async def acollect(url: str, **options: Any) -> Outcome:
    options.setdefault("timeout", TIMEOUT)
    options.setdefault("reconnect", sseio.NO_RECONNECT)
    async with sseio.aconnect_sse(url, **options) as source:
        response = source.response
        items = [item async for item in source]
        return Outcome(items, source.done, source.last_event_id, source.retry, response)


async def adrain(got: list[ServerSentEvent | Comment], url: str, **options: Any) -> None:
    """Append every item to ``got`` until the stream ends or fails."""
    options.setdefault("reconnect", sseio.NO_RECONNECT)
    async with sseio.aconnect_sse(url, **options) as source:
        async for item in source:
            got.append(item)


def collect(url: str, **options: Any) -> Outcome:
    options.setdefault("timeout", TIMEOUT)
    options.setdefault("reconnect", sseio.NO_RECONNECT)
    with sseio.connect_sse(url, **options) as source:
        response = source.response
        items = list(source)
        return Outcome(items, source.done, source.last_event_id, source.retry, response)


def check_stream(outcome: Outcome) -> None:
    assert outcome.items == expected_stream()
    assert outcome.done
    assert outcome.last_event_id == "7"
    response = outcome.response
    assert response is not None
    assert response.status_code == 200
    assert response.media_type == "text/event-stream"
    assert response.header("x-accel-buffering") == "no"


def check_multiline(outcome: Outcome) -> None:
    expected = [
        ServerSentEvent("message", normalize_lines(data), f"m{number}")
        for number, data in enumerate(MULTILINE, 1)
    ]
    assert outcome.items == expected
    assert outcome.done


def check_retry(outcome: Outcome) -> None:
    assert outcome.items == [
        ServerSentEvent("message", "slow down", "r1", 1500),
        ServerSentEvent("message", "after", "r1", None),
    ]
    assert outcome.retry == 2500
    assert outcome.done


def check_pings(outcome: Outcome, comments: bool) -> None:
    assert outcome.events == [
        ServerSentEvent("tick", f"tick {number}", str(number)) for number in range(1, 4)
    ]
    assert outcome.done
    if comments:
        first, *pings = outcome.comments
        assert first == "hello from the server"
        assert pings, "no ping comment arrived in 0.45 s at a 0.04 s interval"
        assert all(text.startswith("ping - ") for text in pings), pings
    else:
        assert outcome.comments == []


ECHO_ITEMS: list[Any] = [
    {"role": "user", "content": "héllo ✓ — multi\nline"},
    [1, 2.5, None, True],
    "plain string",
    None,
]


def check_echo(outcome: Outcome) -> None:
    request, *echoed = outcome.events
    assert request.event == "request"
    assert request.json() == {
        "method": "POST",
        "content_type": "application/json",
        "accept": "text/event-stream",
    }
    assert [event.event for event in echoed] == ["echo"] * len(ECHO_ITEMS)
    assert [event.id for event in echoed] == [str(n) for n in range(len(ECHO_ITEMS))]
    assert [event.json() for event in echoed] == ECHO_ITEMS
    assert outcome.done


def resume_events(first: int, last: int) -> list[ServerSentEvent]:
    return [
        ServerSentEvent("message", f"event {number}", str(number))
        for number in range(first, last + 1)
    ]


# (path, status, content type, parsed json, text the message must contain)
ERROR_CASES = [
    pytest.param(
        "/json-404",
        404,
        "application/json",
        NOT_FOUND_BODY,
        "the model 'gpt-x' does not exist",
        id="json-404",
    ),
    pytest.param(
        "/json-500", 500, "application/json", SERVER_ERROR_BODY, "upstream failed", id="json-500"
    ),
    pytest.param("/html", 200, "text/html; charset=utf-8", None, "text/html", id="html-200"),
    pytest.param(
        "/no-such-route", 404, "text/plain; charset=utf-8", None, "Not Found", id="starlette-404"
    ),
]

# (path, the Content-Encoding the stream must come with)
GATED_CASES = [
    pytest.param("/gated", None, id="plain"),
    pytest.param("/gzip/default", None, id="gzip-middleware-excludes-event-stream"),
    pytest.param("/gzip/forced", "gzip", id="gzip-forced"),
]


def check_error(
    exc: sseio.ResponseError, status: int, content_type: str, body_json: Any, text: str
) -> None:
    assert exc.status_code == status
    assert exc.content_type == content_type
    assert exc.header("content-type") == content_type
    assert exc.json == body_json
    if body_json is not None:
        assert json.loads(exc.body) == body_json
    assert text in str(exc)
    assert str(status) in str(exc)


def check_gated_rest(items: list[ServerSentEvent | Comment]) -> None:
    assert items == [
        ServerSentEvent("message", "second " + "z" * 2000, "2"),
        ServerSentEvent("message", "third", "3"),
    ]


def check_big(outcome: Outcome) -> None:
    assert outcome.items == [
        ServerSentEvent("message", "before", "a"),
        ServerSentEvent("image", big_data(), "b"),
        ServerSentEvent("message", "after", "c"),
    ]
    assert outcome.done


def check_many(outcome: Outcome) -> None:
    assert outcome.items == [
        ServerSentEvent("message", f'{{"i":{number}}}', str(number)) for number in range(MANY)
    ]
    assert outcome.done


def wait_for(flag: threading.Event, limit: float = GATE_LIMIT) -> bool:
    return flag.wait(limit)


# -- async client, asyncio and trio -----------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("sep", list(SEPARATORS))
async def test_async_events_arrive_exactly(live: Live, sep: str) -> None:
    with anyio.fail_after(TEST_LIMIT):
        check_stream(await acollect(live.url(f"/stream?sep={sep}")))


@pytest.mark.anyio
async def test_async_multiline_data(live: Live) -> None:
    with anyio.fail_after(TEST_LIMIT):
        check_multiline(await acollect(live.url("/multiline")))


@pytest.mark.anyio
async def test_async_retry(live: Live) -> None:
    with anyio.fail_after(TEST_LIMIT):
        check_retry(await acollect(live.url("/retry")))


@pytest.mark.anyio
@pytest.mark.parametrize("comments", [True, False], ids=["comments", "no-comments"])
async def test_async_comments(live: Live, comments: bool) -> None:
    with anyio.fail_after(TEST_LIMIT):
        check_pings(await acollect(live.url("/pings"), comments=comments), comments)


@pytest.mark.anyio
async def test_async_post_json(live: Live) -> None:
    with anyio.fail_after(TEST_LIMIT):
        outcome = await acollect(live.url("/echo"), method="POST", json={"items": ECHO_ITEMS})
    check_echo(outcome)


@pytest.mark.anyio
async def test_async_resume_by_hand(live: Live) -> None:
    """Stop after event 3 of 6, close, reopen with ``last_event_id=``: the server
    sends 4..6.  All six arrive in one read, so ``last_event_id`` must follow the
    events handed out, not the bytes decoded."""
    key = new_key()
    url = live.url(f"/resume?key={key}&batch=1")
    with anyio.fail_after(TEST_LIMIT):
        got: list[ServerSentEvent | Comment] = []
        async with sseio.aconnect_sse(url, timeout=TIMEOUT, reconnect=sseio.NO_RECONNECT) as source:
            async for item in source:
                got.append(item)
                if len(got) == 3:
                    break
            await source.aclose()
            resume_from = source.last_event_id
        assert got == resume_events(1, 3)
        assert resume_from == "3"
        rest = await acollect(url, last_event_id=resume_from)
    assert rest.items == resume_events(4, RESUME_TOTAL)
    assert rest.done
    assert live.log.seen(key) == [None, "3"]


@pytest.mark.anyio
async def test_async_reconnects_with_last_event_id_and_server_retry(live: Live) -> None:
    """The server ends the body every two events; the policy's own delay (30 s)
    would blow the time limit, so the server's ``retry: 20`` must be used."""
    key = new_key()
    policy = sseio.Reconnect(delay=30.0, jitter=0.0, max_attempts=5)
    with anyio.fail_after(TEST_LIMIT):
        outcome = await acollect(
            live.url(f"/resume?key={key}&per_connection=2&retry=20"), reconnect=policy
        )
    assert outcome.items == resume_events(1, RESUME_TOTAL)
    assert outcome.done
    assert outcome.retry == 20
    assert live.log.seen(key) == [None, "2", "4"]


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "status", "content_type", "body_json", "text"), ERROR_CASES)
async def test_async_non_stream_answers(
    live: Live, path: str, status: int, content_type: str, body_json: Any, text: str
) -> None:
    with anyio.fail_after(TEST_LIMIT), pytest.raises(sseio.ResponseError) as info:
        await acollect(live.url(path))
    check_error(info.value, status, content_type, body_json, text)


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "encoding"), GATED_CASES)
async def test_async_events_arrive_as_sent(live: Live, path: str, encoding: str | None) -> None:
    """The first event must arrive while the server still holds the rest back."""
    key = new_key()
    gate = live.log.gate(key)
    with anyio.fail_after(TEST_LIMIT):
        async with sseio.aconnect_sse(
            live.url(f"{path}?key={key}"), timeout=TIMEOUT, reconnect=sseio.NO_RECONNECT
        ) as source:
            assert source.response is not None
            assert source.response.header("content-encoding") == encoding
            items = source.__aiter__()
            assert await items.__anext__() == ServerSentEvent("message", "first", "1")
            gate.set()
            check_gated_rest([item async for item in items])
            assert source.done


@pytest.mark.anyio
async def test_async_big_event(live: Live) -> None:
    with anyio.fail_after(TEST_LIMIT):
        check_big(await acollect(live.url("/big")))


@pytest.mark.anyio
async def test_async_many_events(live: Live) -> None:
    with anyio.fail_after(TEST_LIMIT):
        check_many(await acollect(live.url("/many")))


@pytest.mark.anyio
async def test_async_event_timeout_despite_keepalives(live: Live) -> None:
    got: list[ServerSentEvent | Comment] = []
    timeout = sseio.Timeout(connect=2.0, read=2.0, event=0.3)
    url = live.url("/keepalive-only")
    with anyio.fail_after(TEST_LIMIT), pytest.raises(sseio.EventTimeout):
        await adrain(got, url, timeout=timeout, comments=True)
    assert got[0] == ServerSentEvent("message", "the only event")
    assert len(got) > 1, "keepalive comments should have arrived before the timeout"
    assert all(type(item) is Comment for item in got[1:])


@pytest.mark.anyio
async def test_async_read_timeout(live: Live) -> None:
    got: list[ServerSentEvent | Comment] = []
    timeout = sseio.Timeout(connect=2.0, read=0.3)
    with anyio.fail_after(TEST_LIMIT), pytest.raises(sseio.ReadTimeout):
        await adrain(got, live.url("/silent"), timeout=timeout)
    assert got == [ServerSentEvent("message", "the only event")]


@pytest.mark.anyio
async def test_async_leaving_early_closes_the_connection(live: Live) -> None:
    key = new_key()
    closed = live.log.closed_flag(key)
    with anyio.fail_after(TEST_LIMIT):
        async with sseio.aconnect_sse(
            live.url(f"/endless?key={key}"), timeout=TIMEOUT, reconnect=sseio.NO_RECONNECT
        ) as source:
            got = []
            async for item in source:
                got.append(item)
                if len(got) == 3:
                    break
        assert [item.data for item in got if type(item) is ServerSentEvent] == [
            "tick 1",
            "tick 2",
            "tick 3",
        ]
        assert await wait_thread_event(closed, GATE_LIMIT), "the server never saw the client go"


# -- blocking client ---------------------------------------------------------


@pytest.mark.parametrize("sep", list(SEPARATORS))
def test_sync_events_arrive_exactly(live: Live, sep: str) -> None:
    check_stream(collect(live.url(f"/stream?sep={sep}")))


def test_sync_multiline_data(live: Live) -> None:
    check_multiline(collect(live.url("/multiline")))


def test_sync_retry(live: Live) -> None:
    check_retry(collect(live.url("/retry")))


@pytest.mark.parametrize("comments", [True, False], ids=["comments", "no-comments"])
def test_sync_comments(live: Live, comments: bool) -> None:
    check_pings(collect(live.url("/pings"), comments=comments), comments)


def test_sync_post_json(live: Live) -> None:
    check_echo(collect(live.url("/echo"), method="POST", json={"items": ECHO_ITEMS}))


def test_sync_resume_by_hand(live: Live) -> None:
    """As the async twin: ``last_event_id`` is that of the last event handed out."""
    key = new_key()
    url = live.url(f"/resume?key={key}&batch=1")
    got: list[ServerSentEvent | Comment] = []
    with sseio.connect_sse(url, timeout=TIMEOUT, reconnect=sseio.NO_RECONNECT) as source:
        for item in source:
            got.append(item)
            if len(got) == 3:
                break
        source.close()
        resume_from = source.last_event_id
    assert got == resume_events(1, 3)
    assert resume_from == "3"
    rest = collect(url, last_event_id=resume_from)
    assert rest.items == resume_events(4, RESUME_TOTAL)
    assert rest.done
    assert live.log.seen(key) == [None, "3"]


def test_sync_reconnects_with_last_event_id_and_server_retry(live: Live) -> None:
    key = new_key()
    policy = sseio.Reconnect(delay=30.0, jitter=0.0, max_attempts=5)
    started = time.monotonic()
    outcome = collect(live.url(f"/resume?key={key}&per_connection=2&retry=20"), reconnect=policy)
    # A bound, not a timing measurement: the policy's own 30 s delay would show here.
    assert time.monotonic() - started < TEST_LIMIT
    assert outcome.items == resume_events(1, RESUME_TOTAL)
    assert outcome.done
    assert outcome.retry == 20
    assert live.log.seen(key) == [None, "2", "4"]


@pytest.mark.parametrize(("path", "status", "content_type", "body_json", "text"), ERROR_CASES)
def test_sync_non_stream_answers(
    live: Live, path: str, status: int, content_type: str, body_json: Any, text: str
) -> None:
    with pytest.raises(sseio.ResponseError) as info:
        collect(live.url(path))
    check_error(info.value, status, content_type, body_json, text)


@pytest.mark.parametrize(("path", "encoding"), GATED_CASES)
def test_sync_events_arrive_as_sent(live: Live, path: str, encoding: str | None) -> None:
    key = new_key()
    gate = live.log.gate(key)
    with sseio.connect_sse(
        live.url(f"{path}?key={key}"), timeout=TIMEOUT, reconnect=sseio.NO_RECONNECT
    ) as source:
        assert source.response is not None
        assert source.response.header("content-encoding") == encoding
        items = iter(source)
        assert next(items) == ServerSentEvent("message", "first", "1")
        gate.set()
        check_gated_rest(list(items))
        assert source.done


def test_sync_big_event(live: Live) -> None:
    check_big(collect(live.url("/big")))


def test_sync_many_events(live: Live) -> None:
    check_many(collect(live.url("/many")))


def test_sync_event_timeout_despite_keepalives(live: Live) -> None:
    got: list[ServerSentEvent | Comment] = []
    timeout = sseio.Timeout(connect=2.0, read=2.0, event=0.3)
    with (
        pytest.raises(sseio.EventTimeout),
        sseio.connect_sse(
            live.url("/keepalive-only"),
            timeout=timeout,
            reconnect=sseio.NO_RECONNECT,
            comments=True,
        ) as source,
    ):
        got.extend(source)
    assert got[0] == ServerSentEvent("message", "the only event")
    assert len(got) > 1, "keepalive comments should have arrived before the timeout"
    assert all(type(item) is Comment for item in got[1:])


def test_sync_read_timeout(live: Live) -> None:
    got: list[ServerSentEvent | Comment] = []
    timeout = sseio.Timeout(connect=2.0, read=0.3)
    with (
        pytest.raises(sseio.ReadTimeout),
        sseio.connect_sse(
            live.url("/silent"), timeout=timeout, reconnect=sseio.NO_RECONNECT
        ) as source,
    ):
        got.extend(source)
    assert got == [ServerSentEvent("message", "the only event")]


def test_sync_leaving_early_closes_the_connection(live: Live) -> None:
    key = new_key()
    closed = live.log.closed_flag(key)
    got: list[ServerSentEvent | Comment] = []
    with sseio.connect_sse(
        live.url(f"/endless?key={key}"), timeout=TIMEOUT, reconnect=sseio.NO_RECONNECT
    ) as source:
        for item in source:
            got.append(item)
            if len(got) == 3:
                break
    assert [item.data for item in got if type(item) is ServerSentEvent] == [
        "tick 1",
        "tick 2",
        "tick 3",
    ]
    assert wait_for(closed), "the server never saw the client go"
