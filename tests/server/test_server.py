"""sseio.server._server: the SSE server over real sockets on 127.0.0.1, on asyncio and trio.

Wire details (exact chunks, headers, framing, what happens on errors) are
read with the raw client of ``server_helpers``; behaviour a consumer sees is
read with sseio's own clients.  Every test bounds its waits, and servers use
short timeouts and graces, so the module stays fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from server_helpers import RawClient, RawResponse, request

import sseio
from sseio import Comment, ServerSentEvent
from sseio._core.events import DONE
from sseio.server._server import (
    AbortConnection,
    BadRequest,
    EventStream,
    Request,
    Response,
    SSEServer,
    StreamItem,
    _WriteTurn,
    serve_in_thread,
)

pytestmark = pytest.mark.anyio

QUICK = sseio.Timeout(connect=3.0, read=3.0, write=3.0)
NO_RETRY = sseio.NO_RECONNECT
Handler = Callable[[Request], Awaitable[Response | EventStream]]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@asynccontextmanager
async def serving(handler: Handler, **options: Any) -> AsyncIterator[SSEServer]:
    """A server in the test's event loop; no keepalives and a short grace unless asked."""
    options.setdefault("keepalive", None)
    options.setdefault("shutdown_grace", 1.0)
    with anyio.fail_after(15):
        async with SSEServer(handler, **options) as server:
            yield server


async def stream_events(*items: StreamItem) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


def stream_of(*items: StreamItem, **options: Any) -> Handler:
    """A handler that streams ``items`` to every request."""

    async def handler(request: Request) -> EventStream:
        return EventStream(stream_events(*items), **options)

    return handler


def sse(data: str, **fields: Any) -> ServerSentEvent:
    return ServerSentEvent(data=data, **fields)


def error_of(response: RawResponse) -> dict[str, Any]:
    assert response.header("content-type") == "application/json"
    payload = json.loads(response.body)
    assert set(payload) == {"error"}
    error: dict[str, Any] = payload["error"]
    return error


def server_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sseio.server" and r.levelno >= level]


async def assert_refused(port: int) -> None:
    """Nothing listens on ``port`` any more."""
    with pytest.raises(OSError, match="connection attempts failed") as caught:
        await anyio.connect_tcp("127.0.0.1", port)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def read_stream(
    url: str, items: list[Any], on_item: Callable[[Any], object] = lambda item: None
) -> None:
    """Read a stream with sseio's client (no reconnect) into ``items``."""
    async with sseio.aconnect_sse(url, timeout=QUICK, reconnect=NO_RETRY) as source:
        async for item in source:
            items.append(item)
            on_item(item)


async def wait_until(condition: Callable[[], bool], limit: float = 3.0) -> None:
    """Poll a server counter briefly (nothing signals it); bounded by ``limit``."""
    with anyio.fail_after(limit):
        while not condition():
            await anyio.sleep(0.01)


# --- event streams on the wire ----------------------------------------------------------------


async def test_each_item_is_one_chunk_with_exact_bytes() -> None:
    items: list[StreamItem] = [
        sse("a"),
        sse("x\ny", event="update", id="7", retry=1500),
        sse("é", event="message"),
        sse(""),
        Comment("hello"),
        Comment("two\nlines"),
        b"data: raw\n\n",
        b"",
        bytearray(b": also raw\n"),  # type: ignore[list-item]
        DONE,
    ]
    async with serving(stream_of(*items)) as server, RawClient.connect(server.port) as raw:
        await raw.send(request())
        response = await raw.response()
    assert (response.status, response.reason) == (200, "OK")
    assert response.chunks == [
        b"data: a\n\n",
        b"event: update\nid: 7\nretry: 1500\ndata: x\ndata: y\n\n",
        "data: é\n\n".encode(),
        b"data\n\n",
        b": hello\n",
        b": two\n: lines\n",
        b"data: raw\n\n",
        b": also raw\n",
        b"data: [DONE]\n\n",
    ]
    assert response.complete


async def test_stream_headers_and_handler_overrides() -> None:
    async def handler(request: Request) -> EventStream:
        extra = [
            ("Cache-Control", "no-cache"),
            ("X-Request-Id", "r1"),
            ("Content-Length", "99"),  # framing is the server's: ignored
            ("Transfer-Encoding", "identity"),
        ]
        return EventStream(
            stream_events(DONE), headers=tuple(extra) if request.path == "/own" else ()
        )

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request("GET", "/"))
        default = await raw.response()
        await raw.send(request("GET", "/own"))
        own = await raw.response()
    for response in (default, own):
        assert response.header("content-type") == "text/event-stream; charset=utf-8"
        assert response.header("x-accel-buffering") == "no"
        assert response.header("transfer-encoding") == "chunked"
        assert response.header("content-length") is None
        assert response.chunks == [b"data: [DONE]\n\n"]
    assert default.header("cache-control") == "no-store"
    assert own.header("cache-control") == "no-cache"
    assert own.header("x-request-id") == "r1"


async def test_sseio_client_reads_the_stream() -> None:
    handler = stream_of(sse("a", id="1"), Comment("note"), sse("b", event="tick"), DONE)
    async with serving(handler) as server:
        async with sseio.aconnect_sse(
            server.url + "/events", timeout=QUICK, reconnect=NO_RETRY, comments=True
        ) as source:
            items = [item async for item in source]
            assert source.response is not None
            assert source.response.media_type == "text/event-stream"
        assert source.done
    assert items == [sse("a", id="1"), Comment("note"), sse("b", event="tick", id="1")]


async def test_status_of_an_event_stream() -> None:
    async with (
        serving(stream_of(sse("x"), status=201)) as server,
        RawClient.connect(server.port) as raw,
    ):
        await raw.send(request())
        response = await raw.response()
    assert (response.status, response.reason, response.chunks) == (201, "Created", [b"data: x\n\n"])


async def test_http_1_0_client_gets_a_close_delimited_stream() -> None:
    async with serving(stream_of(sse("a"), DONE)) as server, RawClient.connect(server.port) as raw:
        await raw.send(b"GET / HTTP/1.0\r\n\r\n")
        response = await raw.response()
    assert response.header("transfer-encoding") is None
    assert response.body == b"data: a\n\ndata: [DONE]\n\n"


# --- keep-alive -------------------------------------------------------------------------------


async def test_sseio_client_reuses_the_connection() -> None:
    peers: list[tuple[str, int] | None] = []

    async def handler(request: Request) -> EventStream:
        peers.append(request.client)
        return EventStream(stream_events(sse("a"), DONE))

    async with (
        serving(handler) as server,
        sseio.AsyncClient(base_url=server.url, timeout=QUICK, reconnect=NO_RETRY) as client,
    ):
        for _ in range(3):
            async with client.stream("GET", "/") as source:
                assert [item async for item in source] == [sse("a")]
            assert client.idle_connections == 1
    assert len(peers) == 3
    assert peers[0] == peers[1] == peers[2]


async def test_requests_one_after_another_and_pipelined_during_a_stream() -> None:
    streaming = anyio.Event()
    proceed = anyio.Event()

    async def handler(request: Request) -> Response | EventStream:
        if request.path == "/plain":
            return Response.text(f"plain {request.query}")

        async def events() -> AsyncIterator[StreamItem]:
            yield sse("first")
            streaming.set()
            await proceed.wait()
            yield sse("last")

        return EventStream(events())

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request("GET", "/plain?1") + request("GET", "/plain?2"))  # pipelined
        first, second = await raw.response(), await raw.response()
        await raw.send(request("GET", "/stream"))
        with anyio.fail_after(3):
            await streaming.wait()
        await raw.send(request("GET", "/plain?3"))  # arrives while the stream runs
        await anyio.sleep(0.05)
        proceed.set()
        streamed, third = await raw.response(), await raw.response()
    assert [first.body, second.body, third.body] == [b"plain 1", b"plain 2", b"plain 3"]
    assert streamed.chunks == [b"data: first\n\n", b"data: last\n\n"]
    assert streamed.complete


async def test_connection_close_request_is_honoured() -> None:
    async def handler(request: Request) -> Response:
        return Response(body=b"bye")

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request(headers=[("Connection", "close")]))
        response = await raw.response()
        assert await raw.closed() == b""
    assert response.body == b"bye"
    assert response.header("connection") == "close"


# --- plain responses --------------------------------------------------------------------------


async def test_plain_responses() -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/text":
            return Response.text("héllo", status=201, headers=[("X-A", "1")])
        if request.path == "/json":
            return Response.json({"a": [1, "é"]}, headers={"X-B": "2"})
        if request.path == "/csv":
            return Response.text("a,b", content_type="text/csv", headers=[("Content-Type", "x/y")])
        if request.path == "/empty":
            return Response(204, headers=(("X-C", "3"),))
        if request.path == "/odd":
            return Response(299, b"odd")
        return Response(body=bytearray(b"\x00\x01"), headers={"Content-Length": "999"})  # type: ignore[arg-type]

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        responses = {}
        for path in ("/text", "/json", "/csv", "/empty", "/odd", "/raw"):
            await raw.send(request("GET", path))
            responses[path] = await raw.response()
    text = responses["/text"]
    assert (text.status, text.reason, text.body) == (201, "Created", "héllo".encode())
    assert text.header("content-type") == "text/plain; charset=utf-8"
    assert text.header("content-length") == str(len("héllo".encode()))
    assert text.header("x-a") == "1"
    as_json = responses["/json"]
    assert as_json.body == '{"a":[1,"é"]}'.encode()
    assert as_json.header("content-type") == "application/json"
    assert as_json.header("x-b") == "2"
    assert responses["/csv"].header("content-type") == "x/y"
    empty = responses["/empty"]
    assert (empty.status, empty.header("content-length"), empty.header("x-c")) == (204, None, "3")
    odd = responses["/odd"]
    assert (odd.status, odd.reason, odd.body) == (299, "", b"odd")
    raw_body = responses["/raw"]
    assert (raw_body.body, raw_body.header("content-length")) == (b"\x00\x01", "2")


async def test_sseio_client_sees_a_handler_404() -> None:
    async def handler(request: Request) -> Response:
        error = {"error": {"message": f"no route {request.path}", "type": "not_found"}}
        return Response.json(error, status=404)

    async with serving(handler) as server:
        with pytest.raises(sseio.ResponseError) as caught:
            async with sseio.aconnect_sse(server.url + "/nope", timeout=QUICK, reconnect=NO_RETRY):
                pass
    assert caught.value.status_code == 404
    assert caught.value.message == "no route /nope"


async def test_head_requests_get_headers_without_a_body() -> None:
    generators: list[Any] = []
    iterated = []

    async def handler(request: Request) -> Response | EventStream:
        if request.path == "/text":
            return Response.text("hello")

        async def events() -> AsyncIterator[StreamItem]:
            iterated.append(True)
            yield sse("never sent")

        generators.append(events())
        return EventStream(generators[-1])

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request("HEAD", "/text"))
        head = await raw.response(head_only=True)
        await raw.send(request("HEAD", "/stream"))
        stream_head = await raw.response(head_only=True)
        await raw.send(request("GET", "/text"))  # no stray body bytes came before it
        after = await raw.response()
    assert (head.status, head.header("content-length")) == (200, "5")
    assert stream_head.header("content-type") == "text/event-stream; charset=utf-8"
    assert after.body == b"hello"
    assert not iterated
    assert generators[0].ag_frame is None  # closed


# --- what the handler sees --------------------------------------------------------------------


async def test_request_fields() -> None:
    seen: list[Request] = []

    async def handler(request: Request) -> Response:
        seen.append(request)
        return Response()

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        headers = [("X-Test", "a"), ("x-test", "b"), ("Content-Type", "application/json")]
        body = b'{"k": [1, "\xc3\xa9"]}'
        await raw.send(
            request("POST", "/v1/chat/completions?stream=1&x=%20", headers=headers, body=body)
        )
        await raw.response()
        chunked = [("Transfer-Encoding", "chunked")]
        await raw.send(
            request("PUT", "/up", headers=chunked, body=b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        )
        await raw.response()
        await raw.send(request("GET", "http://example.com/p%20q?z=1"))
        await raw.response()
        await raw.send(request("GET", "http://example.com"))
        await raw.response()
        await raw.send(b"GET /latin HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n")
        await raw.response()
        client = ("127.0.0.1", raw.local_port)
    post, put, absolute, bare, latin = seen
    assert (post.method, post.target) == ("POST", "/v1/chat/completions?stream=1&x=%20")
    assert (post.path, post.query) == ("/v1/chat/completions", "stream=1&x=%20")
    assert post.headers[:4] == (
        ("host", "127.0.0.1"),
        ("x-test", "a"),
        ("x-test", "b"),
        ("content-type", "application/json"),
    )
    assert post.header("X-TEST") == "a"
    assert post.header("missing") is None
    assert post.body == body
    assert post.json() == {"k": [1, "é"]}
    assert post.client == client
    assert (put.method, put.body, put.query) == ("PUT", b"abcde", "")
    assert (absolute.path, absolute.query) == ("/p%20q", "z=1")
    assert (bare.path, bare.query) == ("/", "")
    assert latin.header("x-name") == "café"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "request body is empty; expected JSON"),
        (b"{nope", "request body is not valid JSON: "),
        (b'{"a": "\xff"}', "request body is not UTF-8: invalid start byte at byte 7"),
        (b"[" * 100_000, "request body cannot be parsed as JSON: "),
        (b"1" * 5000, "request body cannot be parsed as JSON: "),
    ],
)
async def test_bad_json_is_a_400(body: bytes, message: str) -> None:
    async def handler(request: Request) -> Response:
        return Response.json(request.json())

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(
            request("POST", "/", body=body, headers=[("Content-Length", str(len(body)))])
        )
        response = await raw.response()
        await raw.send(request("POST", "/", body=b'{"ok": true}'))  # the connection goes on
        ok = await raw.response()
    assert response.status == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(message)
    assert ok.body == b'{"ok":true}'


async def test_handler_raises_bad_request_with_its_own_status() -> None:
    async def handler(request: Request) -> Response:
        raise BadRequest("'model' is required", status=422)

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request("POST", "/", body=b"{}"))
        response = await raw.response()
    assert response.status == 422
    assert error_of(response) == {"message": "'model' is required", "type": "invalid_request_error"}


# --- refused requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(request("POST", headers=[("Content-Length", "11")]), id="content-length"),
        pytest.param(
            request("POST", headers=[("Transfer-Encoding", "chunked")])
            + b"6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(
            request("POST", headers=[("Content-Length", "11"), ("Expect", "100-continue")]),
            id="expect-100",
        ),
    ],
)
async def test_body_over_the_limit_is_a_413(wire: bytes) -> None:
    calls = []

    async def handler(request: Request) -> Response:
        calls.append(request)
        return Response()

    async with (
        serving(handler, max_request_size=10) as server,
        RawClient.connect(server.port) as raw,
    ):
        await raw.send(wire)
        response = await raw.response()
        assert await raw.closed() == b""
    assert response.status == 413
    assert error_of(response)["message"] == "request body over max_request_size=10 bytes"
    assert response.header("connection") == "close"
    assert not calls


async def test_body_at_the_limit_and_100_continue() -> None:
    async def handler(request: Request) -> Response:
        return Response(body=request.body[::-1])

    async with (
        serving(handler, max_request_size=10) as server,
        RawClient.connect(server.port) as raw,
    ):
        await raw.send(
            request("POST", headers=[("Content-Length", "10"), ("Expect", "100-continue")])
        )
        interim = await raw.response()
        await raw.send(b"0123456789")
        final = await raw.response()
        both = [("Content-Length", "99"), ("Transfer-Encoding", "chunked")]  # chunked wins
        await raw.send(request("POST", headers=both) + b"2\r\nab\r\n0\r\n\r\n")
        chunked = await raw.response()
    assert (interim.status, interim.reason) == (100, "Continue")
    assert (final.status, final.body) == (200, b"9876543210")
    assert chunked.body == b"ba"


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        pytest.param(b"GARBAGE\r\n\r\n", 400, id="request-line"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, id="header"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
            431,
            id="huge-head",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, id="coding"
        ),
        pytest.param(
            request("POST", headers=[("Transfer-Encoding", "chunked")]) + b"zz\r\n", 400, id="chunk"
        ),
        pytest.param(
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 405, id="connect"
        ),
    ],
)
async def test_malformed_requests_are_refused_quietly(
    wire: bytes, status: int, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    calls = []

    async def handler(request: Request) -> Response:
        calls.append(request)
        return Response()

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(wire)
        response = await raw.response()
        assert await raw.closed() == b""
    assert response.status == status
    assert error_of(response)["type"] == "invalid_request_error"
    assert not calls
    assert not server_records(caplog, logging.WARNING)
    assert capfd.readouterr().err == ""


async def test_request_timeout() -> None:
    async def handler(request: Request) -> Response:
        return Response(body=b"ok")

    async with serving(handler, request_timeout=0.3) as server:
        async with RawClient.connect(server.port) as partial:
            await partial.send(b"GET / HTTP/1.1\r\nHost")
            start = anyio.current_time()
            response = await partial.response()
            assert await partial.closed() == b""
            assert anyio.current_time() - start < 2
        assert response.status == 408
        async with RawClient.connect(server.port) as silent:
            assert await silent.closed() == b""  # closed without an answer
        async with RawClient.connect(server.port) as idle:
            await idle.send(request())
            assert (await idle.response()).body == b"ok"
            assert await idle.closed() == b""  # the keep-alive wait is bounded too


# --- handler failures -------------------------------------------------------------------------


async def test_handler_exception_is_a_500_and_the_server_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("boom")
        if request.path == "/what":
            return "not a response"  # type: ignore[return-value]
        return Response(body=b"fine")

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request("GET", "/boom"))
        boom = await raw.response()
        await raw.send(request("GET", "/what"))
        what = await raw.response()
        await raw.send(request("GET", "/ok"))  # same connection
        ok = await raw.response()
    expected = {"message": "internal server error", "type": "server_error"}
    assert (boom.status, error_of(boom)) == (500, expected)
    assert (what.status, error_of(what)) == (500, expected)
    assert ok.body == b"fine"
    [failed, wrong] = server_records(caplog, logging.ERROR)
    assert failed.exc_info is not None
    assert isinstance(failed.exc_info[1], RuntimeError)
    assert "GET /boom" in failed.getMessage()
    assert "returned a str" in wrong.getMessage()


async def test_event_stream_that_cannot_be_iterated_is_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def __aiter__(self) -> AsyncIterator[StreamItem]:
            raise TypeError("no")

    async def handler(request: Request) -> EventStream:
        return EventStream(Broken())

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request())
        response = await raw.response()
    assert response.status == 500
    assert "cannot be iterated" in server_records(caplog, logging.ERROR)[0].getMessage()


async def failing_after_one(kind: str) -> AsyncIterator[StreamItem]:
    yield sse("a")
    if kind == "exception":
        raise RuntimeError("handler broke")
    if kind == "abort-exception":
        raise AbortConnection
    if kind == "bad-event":
        yield sse("x", event="two\nlines")
    if kind == "unsupported":
        yield "text"  # type: ignore[misc]
    yield sse("b")


@pytest.mark.parametrize(
    ("kind", "logged"),
    [
        ("exception", "handler broke"),
        ("abort-exception", None),
        ("bad-event", "event must not contain CR or LF"),
        ("unsupported", "cannot send a str in an event stream"),
        ("abort-flag", None),
    ],
)
async def test_failure_mid_stream_breaks_the_body(
    kind: str, logged: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: Request) -> EventStream:
        return EventStream(failing_after_one(kind), abort=kind == "abort-flag")

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request())
        response = await raw.response()
        assert await raw.closed() == b""
    expected = [b"data: a\n\n", b"data: b\n\n"] if kind == "abort-flag" else [b"data: a\n\n"]
    assert response.chunks == expected
    assert not response.complete
    errors = server_records(caplog, logging.ERROR)
    if logged is None:
        assert not errors
    else:
        [record] = errors
        assert record.exc_info is not None
        assert logged in str(record.exc_info[1])


async def test_sseio_client_sees_a_broken_stream() -> None:
    async def handler(request: Request) -> EventStream:
        return EventStream(failing_after_one("abort-exception"))

    items: list[Any] = []
    async with serving(handler) as server:
        with pytest.raises(sseio.RemoteProtocolError):
            await read_stream(server.url, items)
    assert items == [sse("a")]


async def test_abort_before_the_answer_drops_the_connection() -> None:
    async def handler(request: Request) -> Response:
        raise AbortConnection

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request())
        assert await raw.closed() == b""


async def test_iterators_without_aclose_and_with_a_failing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Plain:
        def __init__(self) -> None:
            self.left = [sse("p")]

        def __aiter__(self) -> Plain:
            return self

        async def __anext__(self) -> StreamItem:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop()

    class BadClose(Plain):
        async def aclose(self) -> None:
            raise RuntimeError("cannot close")

    async def handler(request: Request) -> EventStream:
        return EventStream(Plain() if request.path == "/plain" else BadClose())

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request("GET", "/plain") + request("GET", "/bad"))
        plain, bad = await raw.response(), await raw.response()
    assert plain.chunks == bad.chunks == [b"data: p\n\n"]
    assert bad.complete
    [record] = server_records(caplog, logging.ERROR)
    assert "closing the handler's event iterator failed" in record.getMessage()


async def test_unexpected_errors_stay_on_their_connection(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_answer(self: SSEServer, connection: object, request: Request) -> bool:
        raise RuntimeError("a bug")

    async with serving(stream_of(DONE)) as server:
        monkeypatch.setattr(SSEServer, "_answer", broken_answer)
        async with RawClient.connect(server.port) as raw:
            await raw.send(request())
            assert await raw.closed() == b""
        monkeypatch.undo()
        async with RawClient.connect(server.port) as raw:
            await raw.send(request())
            assert (await raw.response()).chunks == [b"data: [DONE]\n\n"]
    [record] = server_records(caplog, logging.ERROR)
    assert "unexpected error on the connection" in record.getMessage()


async def test_accept_failures_are_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    class FlakySocket:  # the listening socket: out of descriptors once, then closed
        calls = 0

        def accept(self) -> None:
            self.calls += 1
            raise OSError(24, "Too many open files")

        def fileno(self) -> int:
            return 3 if self.calls < 2 else -1

    listener = FlakySocket()
    with anyio.fail_after(3):
        await SSEServer(stream_of(DONE))._accept_on(listener)  # type: ignore[arg-type]
    assert listener.calls == 2
    [record] = server_records(caplog, logging.WARNING)
    assert "Too many open files" in record.getMessage()


# --- keepalives ------------------------------------------------------------------------------


async def test_write_turns_do_not_interleave() -> None:
    turn = _WriteTurn()
    log: list[str] = []

    async def writer(name: str) -> None:
        async with turn:
            log.append(f"{name}+")
            await anyio.sleep(0.01)
            log.append(f"{name}-")

    with anyio.fail_after(3):
        async with anyio.create_task_group() as tg:
            for name in "abc":
                tg.start_soon(writer, name)
    assert len(log) == 6
    for start in range(0, 6, 2):
        assert log[start][0] == log[start + 1][0]
        assert (log[start][1], log[start + 1][1]) == ("+", "-")


def slow_stream(pause: float, **options: Any) -> Handler:
    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            yield sse("a")
            await anyio.sleep(pause)
            yield sse("b")
            yield DONE

        return EventStream(events(), **options)

    return handler


async def test_keepalive_comments_while_the_handler_is_quiet() -> None:
    async with (
        serving(slow_stream(0.3), keepalive=0.05) as server,
        sseio.aconnect_sse(server.url, timeout=QUICK, reconnect=NO_RETRY, comments=True) as source,
    ):
        items = [item async for item in source]
    assert items[0] == sse("a")
    assert items[-1] == sse("b")
    keepalives = items[1:-1]
    assert set(keepalives) == {Comment("keepalive")}
    assert 2 <= len(keepalives) <= 7  # about one per 0.05 s of the 0.3 s pause


async def test_keepalive_per_stream_override_and_wire_bytes() -> None:
    async with (
        serving(slow_stream(0.2, keepalive=0.05), keepalive=None) as server,
        RawClient.connect(server.port) as raw,
    ):
        await raw.send(request())
        response = await raw.response()
    assert response.chunks is not None
    assert response.chunks[0] == b"data: a\n\n"
    assert response.chunks[-2:] == [b"data: b\n\n", b"data: [DONE]\n\n"]
    assert set(response.chunks[1:-2]) == {b": keepalive\n\n"}
    async with (
        serving(slow_stream(0.2, keepalive=None), keepalive=0.05) as server,
        sseio.aconnect_sse(server.url, timeout=QUICK, reconnect=NO_RETRY, comments=True) as source,
    ):
        items = [item async for item in source]
    assert items == [sse("a"), sse("b")]


# --- clients that go away or stop reading ---------------------------------------------------


async def test_client_leaving_runs_the_handlers_finally_promptly() -> None:
    finished = anyio.Event()
    closed_at: list[float] = []

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            try:
                yield sse("a")
                await anyio.sleep_forever()
            finally:
                closed_at.append(anyio.current_time())
                finished.set()

        return EventStream(events())

    async with serving(handler) as server:
        async with sseio.aconnect_sse(server.url, timeout=QUICK, reconnect=NO_RETRY) as source:
            async for item in source:
                assert item == sse("a")
                assert server.active_streams == 1
                break
        left = anyio.current_time()
        with anyio.fail_after(2):
            await finished.wait()
        await wait_until(lambda: server.active_streams == 0)
    assert closed_at[0] - left < 1.0


async def test_client_leaving_closes_an_iterator_object() -> None:
    closed = anyio.Event()

    class Forever:
        def __aiter__(self) -> Forever:
            return self

        async def __anext__(self) -> StreamItem:
            await anyio.sleep_forever()
            raise AssertionError

        async def aclose(self) -> None:
            closed.set()

    async def handler(request: Request) -> EventStream:
        return EventStream(Forever())

    async with serving(handler) as server, RawClient.connect(server.port) as raw:
        await raw.send(request())
        await raw.wait_for(b"\r\n\r\n")
        await raw.stream.aclose()
        with anyio.fail_after(2):
            await closed.wait()


async def test_send_timeout_ends_a_stream_nobody_reads() -> None:
    finished = anyio.Event()
    produced = 0

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            nonlocal produced
            try:
                while True:
                    yield b"data: " + b"x" * 65536 + b"\n\n"
                    produced += 1
            finally:
                finished.set()

        return EventStream(events())

    async with serving(handler, send_timeout=0.3) as server:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(3)
            await anyio.to_thread.run_sync(sock.connect, ("127.0.0.1", server.port))
            sock.sendall(request())
            with anyio.fail_after(5):
                await finished.wait()
            await wait_until(lambda: server.active_streams == 0)
    assert produced < 1000  # the server waited for the client, it did not buffer


async def test_send_timeout_on_a_plain_response(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sseio.server")

    async def handler(request: Request) -> Response:
        return Response(body=b"x" * (16 * 1024 * 1024))

    async with serving(handler, send_timeout=0.3) as server:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(3)
            await anyio.to_thread.run_sync(sock.connect, ("127.0.0.1", server.port))
            sock.sendall(request())
            await wait_until(
                lambda: any("read nothing for 0.3s" in r.getMessage() for r in caplog.records)
            )


async def test_a_quiet_stream_notices_a_reset_through_keepalives() -> None:
    """Past the pipelining limit the server stops reading; a failed keepalive ends it."""
    streaming = anyio.Event()
    finished = anyio.Event()

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            try:
                yield sse("a")
                streaming.set()
                await anyio.sleep_forever()
            finally:
                finished.set()

        return EventStream(events(), keepalive=0.05)

    async with serving(handler) as server:
        with socket.socket() as sock:
            sock.settimeout(3)
            await anyio.to_thread.run_sync(sock.connect, ("127.0.0.1", server.port))
            sock.sendall(request())
            with anyio.fail_after(3):
                await streaming.wait()
            await anyio.to_thread.run_sync(sock.sendall, b"x" * 100_000)
            await anyio.sleep(0.2)  # the server reads past its limit, then stops reading
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with anyio.fail_after(3):
            await finished.wait()


# --- shutdown ---------------------------------------------------------------------------------


async def test_shutdown_lets_a_running_stream_finish() -> None:
    first = anyio.Event()
    release = anyio.Event()

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            yield sse("a")
            await release.wait()
            yield sse("b")
            yield DONE

        return EventStream(events())

    items: list[Any] = []
    async with serving(handler, shutdown_grace=3) as server, anyio.create_task_group() as tg:
        tg.start_soon(read_stream, server.url, items, lambda item: first.set())
        with anyio.fail_after(3):
            await first.wait()
        tg.start_soon(server.shutdown)
        await anyio.wait_all_tasks_blocked()
        await assert_refused(server.port)  # no longer accepting...
        assert server.active_streams == 1  # ...but the stream runs on
        release.set()
        await server.shutdown()  # a second call waits for the first to finish
        assert server.active_streams == 0
    assert items == [sse("a"), sse("b")]


async def test_shutdown_cancels_streams_after_the_grace() -> None:
    finished = anyio.Event()

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            try:
                yield sse("a")
                await anyio.sleep_forever()
            finally:
                finished.set()

        return EventStream(events())

    timings: list[float] = []

    async def stop(server: SSEServer) -> None:
        start = anyio.current_time()
        async with anyio.create_task_group() as tg:  # two calls at once: both wait for the end
            tg.start_soon(server.shutdown)
            tg.start_soon(server.shutdown)
        timings.append(anyio.current_time() - start)

    items: list[Any] = []
    async with serving(handler, shutdown_grace=0.3) as server, anyio.create_task_group() as tg:
        with pytest.raises(sseio.RemoteProtocolError):
            await read_stream(server.url, items, lambda item: tg.start_soon(stop, server))
    assert items == [sse("a")]
    assert finished.is_set()
    assert 0.25 < timings[0] < 2.0
    assert server.active_streams == 0


async def test_shutdown_closes_idle_connections_at_once_and_busy_ones_after_their_answer() -> None:
    entered = anyio.Event()
    release = anyio.Event()

    async def handler(request: Request) -> Response:
        if request.path == "/slow":
            entered.set()
            await release.wait()
        return Response(body=b"done")

    async with (
        serving(handler, shutdown_grace=5) as server,
        RawClient.connect(server.port) as idle,
        RawClient.connect(server.port) as busy,
    ):
        await idle.send(request())
        assert (await idle.response()).body == b"done"
        await busy.send(request("GET", "/slow"))
        with anyio.fail_after(3):
            await entered.wait()
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.shutdown)
            assert await idle.closed() == b""  # at once, not after the grace
            release.set()
            answer = await busy.response()
            assert await busy.closed() == b""
    assert (answer.body, answer.header("connection")) == (b"done", "close")


async def test_an_error_in_the_serving_block_propagates_as_it_is() -> None:
    ports: list[int] = []

    async def fail_while_serving() -> None:
        async with SSEServer(stream_of(DONE)) as server:
            ports.append(server.port)
            raise ValueError("from the block")

    with pytest.raises(ValueError, match="from the block"):  # not wrapped in a group
        await fail_while_serving()
    await assert_refused(ports[0])


async def test_the_port_is_free_after_shutdown() -> None:
    async with serving(stream_of(DONE)) as server:
        port = server.port
    await assert_refused(port)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
    await listener.aclose()


async def test_serve_reports_through_task_status_and_shuts_down_gracefully_when_cancelled() -> None:
    server = SSEServer(slow_stream(0.2), keepalive=None, shutdown_grace=3)
    serve_scope = anyio.CancelScope()

    async def run(*, task_status: anyio.abc.TaskStatus[SSEServer]) -> None:
        with serve_scope:
            await server.serve(task_status=task_status)

    items: list[Any] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            started = await tg.start(run)
            assert started is server
            assert server.url == f"http://127.0.0.1:{server.port}"
            # Cancelled after the first event, the server lets the running stream finish.
            await read_stream(server.url, items, lambda item: serve_scope.cancel())
    assert items == [sse("a"), sse("b")]
    await assert_refused(server.port)


async def test_starting_twice_and_a_taken_port_are_errors() -> None:
    async with serving(stream_of(DONE)) as server:
        with pytest.raises(sseio.UsageError, match="only be started once"):
            await server.__aenter__()
        with pytest.raises(sseio.TransportError, match=r"cannot listen on 127\.0\.0\.1:"):
            async with SSEServer(stream_of(DONE), port=server.port):
                pass
    never_started = SSEServer(stream_of(DONE))
    await never_started.shutdown()
    with pytest.raises(sseio.UsageError):
        await never_started.__aenter__()


# --- many streams, IPv6, threads -----------------------------------------------------------


async def test_two_hundred_concurrent_streams() -> None:
    count = 200
    started = 0
    all_started = anyio.Event()
    active_at_peak: list[int] = []
    server: SSEServer

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            nonlocal started
            yield sse(request.query)
            started += 1
            if started == count:
                active_at_peak.append(server.active_streams)
                all_started.set()
            await all_started.wait()
            yield DONE

        return EventStream(events())

    results: dict[int, list[Any]] = {}

    async def one(number: int) -> None:
        url = f"{server.url}/?{number}"
        async with sseio.aconnect_sse(url, timeout=QUICK, reconnect=NO_RETRY) as source:
            results[number] = [item async for item in source]

    async with serving(handler, shutdown_grace=2) as server:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for number in range(count):
                    tg.start_soon(one, number)
        await wait_until(lambda: server.active_streams == 0)
    assert active_at_peak == [count]
    assert results == {n: [sse(str(n))] for n in range(count)}


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
async def test_ipv6() -> None:
    seen: list[Request] = []

    async def handler(request: Request) -> EventStream:
        seen.append(request)
        return EventStream(stream_events(sse("six"), DONE))

    async with serving(handler, host="::1") as server:
        assert server.url == f"http://[::1]:{server.port}"
        async with sseio.aconnect_sse(server.url, timeout=QUICK, reconnect=NO_RETRY) as source:
            assert [item async for item in source] == [sse("six")]
    assert seen[0].client is not None
    assert seen[0].client[0] == "::1"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serve_in_thread_from_blocking_code(backend: str) -> None:
    with serve_in_thread(
        stream_of(sse("a"), sse("b"), DONE), backend=backend, keepalive=None
    ) as server:
        with sseio.connect_sse(server.url + "/", timeout=QUICK, reconnect=NO_RETRY) as source:
            items = list(source)
        port = server.port
    assert items == [sse("a"), sse("b")]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# --- values and arguments ---------------------------------------------------------------------


def test_url_of_wildcard_and_named_hosts() -> None:
    handler = stream_of(DONE)
    assert SSEServer(handler, host="0.0.0.0", port=8080).url == "http://127.0.0.1:8080"
    assert SSEServer(handler, host="", port=8080).url == "http://127.0.0.1:8080"
    assert SSEServer(handler, host="::", port=8080).url == "http://[::1]:8080"
    assert SSEServer(handler, host="localhost", port=1).url == "http://localhost:1"


async def _no_events() -> AsyncIterator[StreamItem]:
    return
    yield


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SSEServer("nope"), "handler must be an async callable"),  # type: ignore[arg-type]
        (lambda: SSEServer(stream_of(), port=70000), "port must be an int"),
        (lambda: SSEServer(stream_of(), host=5), "host must be a str"),
        (lambda: SSEServer(stream_of(), keepalive=0), "keepalive must be a positive"),
        (lambda: SSEServer(stream_of(), keepalive=True), "keepalive must be a positive"),
        (lambda: SSEServer(stream_of(), send_timeout=None), "send_timeout must be a positive"),  # type: ignore[arg-type]
        (lambda: SSEServer(stream_of(), request_timeout=-1), "request_timeout must be a positive"),
        (lambda: SSEServer(stream_of(), max_request_size=-1), "max_request_size must be an int"),
        (lambda: SSEServer(stream_of(), shutdown_grace=float("inf")), "shutdown_grace must be"),
        (lambda: Response(99), "response status must be an int from 200 to 599"),
        (lambda: Response(True), "response status must be"),
        (lambda: Response(body="text"), "response body must be bytes, got str"),  # type: ignore[arg-type]
        (lambda: Response(headers=(("x-a", "1\r\nx-b: 2"),)), "invalid response header"),
        (lambda: Response(headers=(("bad name", "1"),)), "invalid response header"),
        (lambda: Response(headers=(("x-a", "€"),)), "response header is not latin-1 text"),
        (lambda: Response(headers=(("x-a", 1),)), "must be str"),  # type: ignore[arg-type]
        (lambda: Response(headers=("abc",)), "must be (name, value) pairs"),  # type: ignore[arg-type]
        (lambda: EventStream([sse("a")]), "must be an async iterable, got list"),  # type: ignore[arg-type]
        (lambda: EventStream(_no_events(), status=204), "cannot have status 204"),
        (lambda: EventStream(_no_events(), keepalive=-1), "EventStream.keepalive must be"),
        (lambda: EventStream(_no_events(), headers=(("x", "\n"),)), "invalid event stream header"),
        (lambda: BadRequest("x", status=500), "BadRequest status must be a 4xx int"),
        (lambda: serve_in_thread(stream_of(), backend="curio").__enter__(), "backend must be"),
    ],
)
def test_bad_arguments_are_usage_errors(build: Callable[[], object], message: str) -> None:
    with pytest.raises(sseio.UsageError) as caught:
        build()
    assert message in str(caught.value)


def test_values() -> None:
    response = Response(headers={"X-A": "1"})  # type: ignore[arg-type]
    assert response.headers == (("X-A", "1"),)
    assert Response(body=memoryview(b"ab")).body == b"ab"  # type: ignore[arg-type]
    assert Response.json([1], status=202) == Response(
        202, b"[1]", (("content-type", "application/json"),)
    )
    stream = EventStream(_no_events(), headers=[("X-B", "2")])  # type: ignore[arg-type]
    assert (stream.headers, stream.keepalive, stream.abort) == ((("X-B", "2"),), ..., False)
    bad = BadRequest("nope")
    assert (bad.message, bad.status, str(bad)) == ("nope", 400, "nope")
    assert isinstance(bad, sseio.SSEError)
    request = Request("GET", "/", "/", "", (("a", "1"), ("a", "2")), b"[]", None)
    assert (request.header("A"), request.json()) == ("1", [])


# --- what an idle stream holds ---------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the callback watcher is asyncio's
async def test_on_asyncio_an_idle_stream_is_one_task_and_its_keepalives_still_go_out(
    anyio_backend: str,
) -> None:
    """On asyncio the client is watched, and keepalives timed, by loop callbacks: a
    stream adds no task beside its connection's, and a client that leaves still ends it."""
    import asyncio

    streams = 5
    started = 0
    finished = anyio.Event()
    closed = 0

    async def handler(request: Request) -> EventStream:
        async def events() -> AsyncIterator[StreamItem]:
            nonlocal started, closed
            try:
                yield sse("a")
                started += 1
                await anyio.sleep_forever()
            finally:
                closed += 1
                if closed == streams:
                    finished.set()

        return EventStream(events(), keepalive=0.05)

    async with serving(handler) as server, contextlib.AsyncExitStack() as stack:

        def server_tasks() -> list[str]:
            names = [task.get_coro().__qualname__ for task in asyncio.all_tasks()]  # type: ignore[union-attr]
            return sorted(name for name in names if name.startswith("SSEServer."))

        before = server_tasks()
        clients = [
            await stack.enter_async_context(RawClient.connect(server.port)) for _ in range(streams)
        ]
        for raw in clients:
            await raw.send(request())
        await wait_until(lambda: started == streams)
        added = server_tasks()
        for name in before:
            added.remove(name)
        assert added == ["SSEServer._handle_connection"] * streams  # one per connection
        for raw in clients:
            await raw.wait_for(b": keepalive\n\n")
        for raw in clients:
            await raw.stream.aclose()
        with anyio.fail_after(3):
            await finished.wait()
        await wait_until(lambda: server.active_streams == 0)
