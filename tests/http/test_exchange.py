"""Tests for ``sseio._http.exchange`` (and ``sseio._io.tls``): HTTP/1.1 for event streams, sans-IO.

Covers ``prepare_request`` (default headers and the caller's overrides, Host
with and without a port, IPv6 literals, query strings, ``json=`` and
``content=`` bodies, ``Last-Event-ID`` only when non-empty and sent as UTF-8,
and every invalid argument refused with ``UsageError`` before a byte is
sent); ``Exchange`` fed hand-written response bytes in every chunking (whole,
byte by byte, split at every point): status, headers, version, chunked,
content-length and close-delimited bodies, gzip and deflate (zlib-wrapped and
raw) undone incrementally, unsupported encodings, malformed and truncated
responses, informational responses and connection reuse; the exact request
bytes; ``check_response``; ``error_from_response``; ``redirect`` by the Fetch
rules browsers follow; and the TLS context from ``ssl_context``.
"""

from __future__ import annotations

import gzip
import itertools
import json as jsonlib
import ssl
import zlib
from collections.abc import Iterator

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
from sseio._http.exchange import (
    MAX_HEADER_SIZE,
    Exchange,
    Response,
    check_response,
    error_from_response,
)
from sseio._http.redirects import DEFAULT_MAX_REDIRECTS, redirect
from sseio._http.request import USER_AGENT, Request, prepare_request
from sseio._io.tls import ssl_context

no_timing = settings(deadline=None)

# --------------------------------------------------------------------------- helpers


def header_values(request: Request, name: str) -> list[str]:
    """Every value of header ``name`` (any case) in ``request``."""
    return [value for key, value in request.headers if key.lower() == name.lower()]


def header(request: Request, name: str) -> str | None:
    """The single value of header ``name``, or ``None``; fails on duplicates."""
    values = header_values(request, name)
    assert len(values) <= 1, f"{name} sent {len(values)} times: {values!r}"
    return values[0] if values else None


def response(status: int = 200, *headers: tuple[str, str], reason: str = "") -> Response:
    """A response head as ``Exchange`` builds it (header names lowercase)."""
    return Response(status, reason, [(k.lower(), v) for k, v in headers], "1.1")


def chunkings_of(data: bytes) -> Iterator[list[bytes]]:
    """Whole, one byte at a time, and split in two at every point (no empty reads:
    an empty read means the peer closed the connection)."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for point in range(1, len(data)):
        yield [data[:point], data[point:]]


def run_exchange(
    data: list[bytes], *, eof: bool = False, request: Request | None = None
) -> tuple[Exchange, bytes]:
    """Send the request, feed ``data`` read by read (then the close when ``eof``)."""
    exchange = Exchange(request or prepare_request("GET", "http://example.com/events"))
    exchange.request_bytes()
    body = b""
    for piece in data:
        body += exchange.receive(piece)
    if eof:
        body += exchange.receive(b"")
    return exchange, body


def every_chunking(data: bytes, *, eof: bool = False) -> tuple[Exchange, bytes]:
    """Run ``data`` in every chunking; all must give the same head, body and end."""
    first: tuple[Response | None, bytes, bool, bool] | None = None
    exchange: Exchange | None = None
    for chunks in chunkings_of(data):
        exchange, body = run_exchange(chunks, eof=eof)
        outcome = (exchange.response, body, exchange.ended, exchange.reusable)
        if first is None:
            first = outcome
        assert outcome == first, f"chunking {[len(c) for c in chunks]} changed the result"
    assert exchange is not None
    assert first is not None
    return exchange, first[1]


def every_chunking_raises(data: bytes, *, eof: bool = False) -> sseio.RemoteProtocolError:
    """``data`` must raise ``RemoteProtocolError`` in every chunking; return the last one."""
    error: sseio.RemoteProtocolError | None = None
    for chunks in chunkings_of(data):
        with pytest.raises(sseio.RemoteProtocolError) as info:
            run_exchange(chunks, eof=eof)
        error = info.value
    assert error is not None
    return error


def chunked(*pieces: bytes) -> bytes:
    """``pieces`` as a chunked body, with the terminating zero chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
PAYLOAD = b'data: {"choices":[{"delta":{"content":"h\xc3\xa9llo"}}]}\n\ndata: [DONE]\n\n'


# --------------------------------------------------------------------------- prepare_request


def test_defaults_for_a_get() -> None:
    request = prepare_request("GET", "http://example.com/events")
    assert request.method == "GET"
    assert request.url == "http://example.com/events"
    assert (request.scheme, request.host, request.port) == ("http", "example.com", 80)
    assert request.target == "/events"
    assert request.body == b""
    assert request.origin == ("http", "example.com", 80)
    assert header(request, "Host") == "example.com"
    assert header(request, "Accept") == "text/event-stream"
    assert header(request, "Cache-Control") == "no-cache"
    assert header(request, "User-Agent") == USER_AGENT
    assert f"sseio/{sseio.__version__}" == USER_AGENT
    encodings = {e.strip() for e in (header(request, "Accept-Encoding") or "").split(",")}
    assert encodings == {"gzip", "deflate"}
    # A GET without a body announces none and carries no event ID.
    assert header(request, "Content-Length") is None
    assert header(request, "Content-Type") is None
    assert header(request, "Last-Event-ID") is None


def test_method_is_upper_cased() -> None:
    assert prepare_request("get", "http://example.com/").method == "GET"


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "host_header", "target"),
    [
        ("http://example.com", "http", "example.com", 80, "example.com", "/"),
        ("https://example.com/", "https", "example.com", 443, "example.com", "/"),
        ("http://example.com:80/a", "http", "example.com", 80, "example.com", "/a"),
        ("https://example.com:443/a", "https", "example.com", 443, "example.com", "/a"),
        ("http://example.com:8080/a", "http", "example.com", 8080, "example.com:8080", "/a"),
        ("https://example.com:80/a", "https", "example.com", 80, "example.com:80", "/a"),
        ("http://127.0.0.1:9/", "http", "127.0.0.1", 9, "127.0.0.1:9", "/"),
        ("http://[::1]/sse", "http", "::1", 80, "[::1]", "/sse"),
        ("http://[::1]:8080/sse", "http", "::1", 8080, "[::1]:8080", "/sse"),
        ("https://[2001:db8::1]:8443/", "https", "2001:db8::1", 8443, "[2001:db8::1]:8443", "/"),
        ("HTTP://EXAMPLE.com/Path", "http", "example.com", 80, "example.com", "/Path"),
        ("http://example.com/a/b?x=1&y=%20z", "http", "example.com", 80, "example.com", None),
        ("http://example.com?stream=true", "http", "example.com", 80, "example.com", None),
        ("http://example.com/p#fragment", "http", "example.com", 80, "example.com", "/p"),
        ("http://user:pw@example.com/p", "http", "example.com", 80, "example.com", "/p"),
    ],
)
def test_url_host_port_and_target(
    url: str, scheme: str, host: str, port: int, host_header: str, target: str | None
) -> None:
    request = prepare_request("GET", url)
    assert (request.scheme, request.host, request.port) == (scheme, host, port)
    assert header(request, "Host") == host_header
    if target is not None:
        assert request.target == target


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://example.com/a/b?x=1&y=%20z", "/a/b?x=1&y=%20z"),
        ("http://example.com?stream=true", "/?stream=true"),
        ("http://example.com/p?q=1#frag", "/p?q=1"),
        ("http://example.com/p?", "/p"),
    ],
)
def test_query_string_goes_into_the_target(url: str, target: str) -> None:
    request = prepare_request("GET", url)
    assert request.target == target
    assert Exchange(request).request_bytes().startswith(f"GET {target} HTTP/1.1\r\n".encode())


def test_json_body() -> None:
    request = prepare_request("POST", "http://example.com/v1", json={"text": "héllo", "n": [1]})
    assert request.body == '{"text":"héllo","n":[1]}'.encode()
    assert jsonlib.loads(request.body) == {"text": "héllo", "n": [1]}
    assert header(request, "Content-Type") == "application/json"
    # Content-Length counts bytes, not characters.
    assert header(request, "Content-Length") == str(len(request.body))
    assert len(request.body) == len('{"text":"héllo","n":[1]}') + 1


@pytest.mark.parametrize(("value", "body"), [(0, b"0"), (False, b"false"), ([], b"[]")])
def test_falsy_json_is_still_a_body(value: object, body: bytes) -> None:
    request = prepare_request("POST", "http://example.com/", json=value)
    assert request.body == body
    assert header(request, "Content-Length") == str(len(body))
    assert header(request, "Content-Type") == "application/json"


def test_str_content_is_utf8_text() -> None:
    request = prepare_request("POST", "http://example.com/", content="ünï")
    assert request.body == "ünï".encode()
    assert header(request, "Content-Type") == "text/plain; charset=utf-8"
    assert header(request, "Content-Length") == str(len("ünï".encode()))


@pytest.mark.parametrize("content", [b"\x00\x01raw", bytearray(b"\x00\x01raw")])
def test_bytes_content_has_no_guessed_type(content: bytes) -> None:
    request = prepare_request("PUT", "http://example.com/", content=content)
    assert request.body == b"\x00\x01raw"
    assert header(request, "Content-Length") == "5"
    assert header(request, "Content-Type") is None


def test_body_on_a_get_is_announced() -> None:
    request = prepare_request("GET", "http://example.com/", content=b"abc")
    assert header(request, "Content-Length") == "3"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_bodiless_post_sends_content_length_zero(method: str) -> None:
    request = prepare_request(method, "http://example.com/")
    assert request.body == b""
    assert header(request, "Content-Length") == "0"
    assert header(request, "Content-Type") is None


def test_json_and_content_together_are_refused() -> None:
    with pytest.raises(sseio.UsageError):
        prepare_request("POST", "http://example.com/", json={}, content=b"x")


@pytest.mark.parametrize(
    "headers",
    [
        {"accept": "application/x-ndjson", "user-agent": "me/1", "CONTENT-TYPE": "text/x"},
        [("Accept", "application/x-ndjson"), ("User-Agent", "me/1"), ("Content-Type", "text/x")],
    ],
)
def test_caller_headers_replace_the_defaults(headers: object) -> None:
    request = prepare_request("POST", "http://example.com/", headers=headers, json={"a": 1})
    assert header(request, "Accept") == "application/x-ndjson"
    assert header(request, "User-Agent") == "me/1"
    assert header(request, "Content-Type") == "text/x"
    # Defaults the caller did not touch are still there.
    assert header(request, "Cache-Control") == "no-cache"
    assert header(request, "Content-Length") == "7"


def test_caller_headers_are_kept_in_order_with_duplicates() -> None:
    given = [("X-A", "1"), ("X-B", "2"), ("X-A", "3")]
    request = prepare_request("GET", "http://example.com/", headers=given)
    assert [(k, v) for k, v in request.headers if k.startswith("X-")] == given


def test_last_event_id_only_when_non_empty() -> None:
    assert header(prepare_request("GET", "http://h/", last_event_id=""), "Last-Event-ID") is None
    request = prepare_request("GET", "http://h/", last_event_id="42")
    assert header(request, "Last-Event-ID") == "42"
    assert b"\r\nLast-Event-ID: 42\r\n" in Exchange(request).request_bytes()


def test_last_event_id_argument_replaces_a_caller_header() -> None:
    request = prepare_request(
        "GET", "http://h/", headers={"last-event-id": "old"}, last_event_id="new"
    )
    assert header(request, "Last-Event-ID") == "new"


def test_last_event_id_is_sent_as_utf8() -> None:
    # WHATWG: the last event ID string, encoded as UTF-8, is the header value.
    # Event IDs are arbitrary text decoded from the stream.
    request = prepare_request("GET", "http://h/", last_event_id="évé-日本-1")
    assert b"\r\nLast-Event-ID: " + "évé-日本-1".encode() + b"\r\n" in (
        Exchange(request).request_bytes()
    )


@pytest.mark.parametrize("method", ["", "G ET", "GET\r\n", "GE:T", None, 1, b"GET"])
def test_invalid_method(method: object) -> None:
    with pytest.raises(sseio.UsageError):
        prepare_request(method, "http://example.com/")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/events",
        "ftp://example.com/",
        "ws://example.com/",
        "http://",
        "http:///path",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://[::1/",
        None,
        b"http://example.com/",
    ],
)
def test_invalid_url(url: object) -> None:
    with pytest.raises(sseio.UsageError):
        prepare_request("GET", url)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nInjected: 1"},
        {"X-Bad": "a\nb"},
        {"X-Bad": "a\rb"},
        {"X-Bad": "a\0b"},
        {"X-Bad\r\nInjected": "1"},
        {"": "1"},
        {"X Bad": "1"},
        {"X:Bad": "1"},
        {"X\tBad": "1"},
        {"X-Bad": 1},
        {b"X-Bad": "1"},
        [("X-Bad", b"1")],
    ],
)
def test_invalid_headers_refused_before_sending(headers: object) -> None:
    with pytest.raises(sseio.UsageError):
        prepare_request("GET", "http://example.com/", headers=headers)


@pytest.mark.parametrize("last_event_id", ["1\n2", "1\r", "\r\n", "1\x002"])
def test_last_event_id_with_cr_lf_nul_refused(last_event_id: str) -> None:
    with pytest.raises(sseio.UsageError):
        prepare_request("GET", "http://example.com/", last_event_id=last_event_id)


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GÉT", "http://example.com/", None),
        ("GET", "http://example.com/a b", None),
        ("GET", "http://example.com/\x7f", None),
        ("GET", "http://bücher.example/", None),
        ("GET", "http://example.com/", {"X(": "1"}),
        ("GET", "http://example.com/", {"X-Title": "café €"}),
        ("GET", "http://example.com/", {"X-Ctl": "a\x01b"}),
    ],
)
def test_no_foreign_exception_between_arguments_and_bytes(
    method: str, url: str, headers: dict[str, str] | None
) -> None:
    # Arguments are validated up front: either prepare_request refuses them with
    # UsageError, or the request it builds can be written.  h11's and the codecs'
    # exceptions never reach the caller.
    try:
        request = prepare_request(method, url, headers=headers)
    except sseio.UsageError:
        return
    try:
        data = Exchange(request).request_bytes()
    except sseio.SSEError:
        return
    assert data.startswith(request.method.encode())


def test_with_header_sets_replaces_and_removes() -> None:
    request = prepare_request("GET", "http://example.com/")
    changed = request.with_header("x-trace", "1").with_header("X-Trace", "2")
    assert header_values(changed, "X-Trace") == ["2"]
    assert header(request, "X-Trace") is None  # the original is unchanged (frozen)
    assert header(changed.with_header("X-TRACE", None), "X-Trace") is None
    with pytest.raises(sseio.UsageError):
        request.with_header("X-Trace", "a\nb")


# --------------------------------------------------------------------------- request bytes


def test_request_bytes_for_a_get() -> None:
    request = prepare_request("GET", "http://example.com:8080/v1/events?topic=a", last_event_id="7")
    assert Exchange(request).request_bytes() == (
        b"GET /v1/events?topic=a HTTP/1.1\r\n"
        b"Host: example.com:8080\r\n"
        b"Accept: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\n"
        b"Accept-Encoding: gzip, deflate\r\n"
        b"User-Agent: " + USER_AGENT.encode() + b"\r\n"
        b"Last-Event-ID: 7\r\n"
        b"\r\n"
    )


def test_request_bytes_for_a_post() -> None:
    request = prepare_request(
        "POST",
        "https://api.example.com/v1/chat/completions",
        headers={"Authorization": "Bearer sk-test"},
        json={"stream": True, "messages": [{"role": "user", "content": "hé"}]},
    )
    body = '{"stream":true,"messages":[{"role":"user","content":"hé"}]}'.encode()
    assert Exchange(request).request_bytes() == (
        b"POST /v1/chat/completions HTTP/1.1\r\n"
        b"Host: api.example.com\r\n"
        b"Accept: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\n"
        b"Accept-Encoding: gzip, deflate\r\n"
        b"User-Agent: " + USER_AGENT.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Authorization: Bearer sk-test\r\n"
        b"\r\n" + body
    )


# --------------------------------------------------------------------------- Exchange: framing


def test_content_length_body_in_every_chunking() -> None:
    data = STREAM_HEAD + b"Content-Length: %d\r\nX-Extra: a b\r\n\r\n" % len(PAYLOAD) + PAYLOAD
    exchange, body = every_chunking(data)
    assert body == PAYLOAD
    assert exchange.response == Response(
        200,
        "OK",
        [
            ("content-type", "text/event-stream"),
            ("content-length", str(len(PAYLOAD))),
            ("x-extra", "a b"),
        ],
        "1.1",
    )
    assert exchange.ended
    assert exchange.reusable


def test_chunked_body_in_every_chunking() -> None:
    data = (
        STREAM_HEAD
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunked(PAYLOAD[:5], PAYLOAD[5:6], PAYLOAD[6:])
    )
    exchange, body = every_chunking(data)
    assert body == PAYLOAD
    assert exchange.response is not None
    assert exchange.response.status_code == 200
    assert exchange.response.http_version == "1.1"
    assert exchange.response.header("Transfer-Encoding") == "chunked"
    assert exchange.ended
    assert exchange.reusable


def test_close_delimited_body_in_every_chunking() -> None:
    data = STREAM_HEAD + b"\r\n" + PAYLOAD
    exchange, body = every_chunking(data, eof=True)
    assert body == PAYLOAD
    assert exchange.ended
    assert not exchange.reusable  # the end of the body was the end of the connection


def test_close_delimited_body_is_not_ended_before_the_close() -> None:
    exchange, body = run_exchange([STREAM_HEAD + b"\r\n" + PAYLOAD])
    assert body == PAYLOAD
    assert exchange.response is not None
    assert not exchange.ended
    assert not exchange.reusable
    assert exchange.receive(b"") == b""
    assert exchange.ended


def test_head_only_read_gives_response_and_no_body() -> None:
    exchange, body = run_exchange([STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"])
    assert body == b""
    assert exchange.response is not None
    assert not exchange.ended
    assert exchange.receive(b"6\r\ndata: \r\n") == b"data: "
    assert exchange.receive(b"0\r\n\r\n") == b""
    assert exchange.ended


def test_http_10_response() -> None:
    data = b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + PAYLOAD
    exchange, body = every_chunking(data, eof=True)
    assert body == PAYLOAD
    assert exchange.response is not None
    assert exchange.response.http_version == "1.0"
    assert not exchange.reusable


def test_connection_close_header_makes_it_not_reusable() -> None:
    data = STREAM_HEAD + b"Connection: close\r\nContent-Length: 2\r\n\r\nok"
    exchange, body = every_chunking(data)
    assert body == b"ok"
    assert exchange.ended
    assert not exchange.reusable


def test_caller_connection_close_makes_it_not_reusable() -> None:
    request = prepare_request("GET", "http://h/", headers={"Connection": "close"})
    exchange, _ = run_exchange([STREAM_HEAD + b"Content-Length: 0\r\n\r\n"], request=request)
    assert exchange.ended
    assert not exchange.reusable


def test_bodiless_status() -> None:
    exchange, body = every_chunking(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert body == b""
    assert exchange.response is not None
    assert exchange.response.status_code == 204
    assert exchange.response.reason == "No Content"
    assert exchange.ended
    assert exchange.reusable


def test_empty_reason_and_status_only() -> None:
    exchange, _ = every_chunking(b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n")
    assert exchange.response is not None
    assert (exchange.response.status_code, exchange.response.reason) == (404, "")


@pytest.mark.parametrize("informational", [b"100 Continue", b"102 Processing", b"103 Early Hints"])
def test_informational_responses_are_skipped(informational: bytes) -> None:
    data = (
        b"HTTP/1.1 " + informational + b"\r\nLink: </style.css>\r\n\r\n"
        b"HTTP/1.1 "
        + informational
        + b"\r\n\r\n"
        + STREAM_HEAD
        + b"Content-Length: 10\r\n\r\ndata: x\n\n\n"
    )
    exchange, body = every_chunking(data)
    assert exchange.response is not None
    assert exchange.response.status_code == 200
    assert exchange.response.header("link") is None
    assert body == b"data: x\n\n\n"
    assert exchange.reusable


def test_header_values_and_names_in_the_response() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nCONTENT-TYPE: Text/Event-Stream; Charset=UTF-8\r\n"
        b"X-Latin: caf\xe9\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"
    )
    exchange, _ = every_chunking(data)
    head = exchange.response
    assert head is not None
    assert all(name == name.lower() for name, _ in head.headers)
    assert head.header("content-type") == "Text/Event-Stream; Charset=UTF-8"
    assert head.header("Content-Type") == head.content_type
    assert head.media_type == "text/event-stream"
    assert head.header("x-latin") == "café"  # obs-text, decoded as Latin-1
    assert head.header("set-cookie") == "a=1"  # the first one
    assert [v for k, v in head.headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert head.header("x-missing") is None


def test_response_without_content_type() -> None:
    head = response(200)
    assert head.content_type == ""
    assert head.media_type == ""


# --------------------------------------------------------------------------- Exchange: encodings


def _deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


ENCODED = {
    "gzip": gzip.compress(PAYLOAD),
    "x-gzip": gzip.compress(PAYLOAD),
    "deflate": _deflate(PAYLOAD, zlib.MAX_WBITS),  # zlib-wrapped, as RFC 9110 says
    "raw deflate": _deflate(PAYLOAD, -zlib.MAX_WBITS),  # what some servers send instead
}


@pytest.mark.parametrize("name", list(ENCODED))
@pytest.mark.parametrize("framing", ["content-length", "chunked", "close"])
def test_content_encoding_decoded_in_every_chunking(name: str, framing: str) -> None:
    encoded = ENCODED[name]
    token = name.removeprefix("raw ").encode()
    head = STREAM_HEAD + b"Content-Encoding: " + token + b"\r\n"
    if framing == "content-length":
        data = head + b"Content-Length: %d\r\n\r\n" % len(encoded) + encoded
    elif framing == "chunked":
        # One HTTP chunk per byte: the decoder sees the body split everywhere.
        data = (
            head
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + chunked(*(encoded[i : i + 1] for i in range(len(encoded))))
        )
    else:
        data = head + b"\r\n" + encoded
    exchange, body = every_chunking(data, eof=framing == "close")
    assert body == PAYLOAD
    assert exchange.ended


@no_timing
@given(
    encoding=st.sampled_from(["gzip", "deflate"]),
    payload=st.binary(max_size=300),
    level=st.integers(0, 9),
    cuts=st.lists(st.integers(0, 400), max_size=12),
    reads=st.lists(st.integers(0, 500), max_size=12),
)
def test_content_encoding_split_anywhere(
    encoding: str, payload: bytes, level: int, cuts: list[int], reads: list[int]
) -> None:
    wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
    compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
    encoded = compressor.compress(payload) + compressor.flush()
    points = sorted({min(c, len(encoded)) for c in cuts} | {0, len(encoded)})
    pieces = [encoded[a:b] for a, b in itertools.pairwise(points) if b > a]
    data = (
        STREAM_HEAD
        + b"Content-Encoding: "
        + encoding.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(*pieces)
    )
    offsets = sorted({min(r, len(data)) for r in reads} | {0, len(data)})
    exchange, body = run_exchange([data[a:b] for a, b in itertools.pairwise(offsets) if b > a])
    assert body == payload
    assert exchange.ended


@pytest.mark.parametrize("encoding", [b"identity", b"IDENTITY", b" identity "])
def test_identity_encoding_is_passed_through(encoding: bytes) -> None:
    data = STREAM_HEAD + b"Content-Encoding: " + encoding + b"\r\nContent-Length: 4\r\n\r\nabcd"
    assert every_chunking(data)[1] == b"abcd"


def test_encoding_names_are_case_insensitive() -> None:
    encoded = gzip.compress(PAYLOAD)
    data = STREAM_HEAD + b"Content-Encoding: GZip\r\n\r\n" + encoded
    assert every_chunking(data, eof=True)[1] == PAYLOAD


@pytest.mark.parametrize("encoding", [b"br", b"zstd", b"compress", b"gzip, br"])
def test_unsupported_content_encoding(encoding: bytes) -> None:
    data = STREAM_HEAD + b"Content-Encoding: " + encoding + b"\r\nContent-Length: 4\r\n\r\nabcd"
    error = every_chunking_raises(data)
    assert encoding.decode() in str(error)


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
def test_corrupt_compressed_body(encoding: bytes) -> None:
    garbage = b"this is not compressed at all"
    data = STREAM_HEAD + b"Content-Encoding: " + encoding + b"\r\n\r\n" + garbage
    error = every_chunking_raises(data, eof=True)
    assert encoding.decode() in str(error)
    assert isinstance(error.__cause__, zlib.error)


# --------------------------------------------------------------------------- Exchange: failures


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_response(data: bytes) -> None:
    error = every_chunking_raises(data)
    assert isinstance(error, sseio.ProtocolError)
    if b"chunked" in data:  # de-chunked by sseio itself: nothing foreign to chain
        assert "invalid chunk size line" in str(error)
    else:
        assert isinstance(error.__cause__, h11.RemoteProtocolError)


def test_oversized_response_head() -> None:
    data = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (MAX_HEADER_SIZE + 10)
    with pytest.raises(sseio.RemoteProtocolError) as info:
        run_exchange([data])
    assert isinstance(info.value.__cause__, h11.RemoteProtocolError)


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_one_read_longer_than_the_head_limit(framing: str) -> None:
    # A read bigger than the head limit holds the head and much of the body; the
    # part after the limit must reach the body framing the head chose.
    body = b"data: " + b"x" * (2 * MAX_HEADER_SIZE) + b"\n\n"
    if framing == "chunked":
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        wire = head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    else:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n"
            % len(body)
        )
        wire = head + body
    for reads in (
        [wire],
        [wire[:10], wire[10:]],
        [wire[: MAX_HEADER_SIZE + 5], wire[MAX_HEADER_SIZE + 5 :]],
    ):
        exchange, received = run_exchange(reads)
        assert received == body
        assert exchange.ended
        assert exchange.reusable


def test_closed_before_the_response() -> None:
    # The commonest failure of all (a stale keep-alive connection): the message
    # says what happened in sseio's words, not in h11's internals.
    with pytest.raises(sseio.RemoteProtocolError) as info:
        run_exchange([], eof=True)
    assert "closed" in str(info.value)
    assert "ConnectionClosed" not in str(info.value)
    assert "role=" not in str(info.value)


def test_closed_before_the_request_was_written() -> None:
    exchange = Exchange(prepare_request("GET", "http://h/"))
    with pytest.raises(sseio.RemoteProtocolError) as info:
        exchange.receive(b"")
    assert "without a response" in str(info.value)
    assert exchange.response is None


def test_closed_inside_the_response_head() -> None:
    error = every_chunking_raises(b"HTTP/1.1 200 OK\r\nContent-Ty", eof=True)
    assert isinstance(error.__cause__, h11.RemoteProtocolError)


def test_closed_mid_body_with_content_length() -> None:
    data = STREAM_HEAD + b"Content-Length: 100\r\n\r\n" + PAYLOAD[:20]
    error = every_chunking_raises(data, eof=True)
    assert isinstance(error.__cause__, h11.RemoteProtocolError)


@pytest.mark.parametrize(
    "cut",
    [
        b"5\r\ndata:",  # inside a chunk
        b"5\r\ndata:\r\n",  # between chunks
        b"5\r\ndata:\r\n0\r\n",  # before the trailer's end
        b"5",  # inside a chunk size
    ],
)
def test_closed_mid_body_chunked(cut: bytes) -> None:
    data = STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + cut
    error = every_chunking_raises(data, eof=True)
    assert str(error) == "server closed the connection inside a chunked body"


def test_body_read_before_the_cut_is_delivered() -> None:
    exchange = Exchange(prepare_request("GET", "http://h/"))
    exchange.request_bytes()
    got = exchange.receive(STREAM_HEAD + b"Content-Length: 100\r\n\r\ndata: a\n\n")
    assert got == b"data: a\n\n"
    with pytest.raises(sseio.RemoteProtocolError):
        exchange.receive(b"")
    assert not exchange.reusable


def test_close_after_a_complete_body_is_harmless() -> None:
    exchange, body = run_exchange([STREAM_HEAD + b"Content-Length: 2\r\n\r\nok"], eof=True)
    assert body == b"ok"
    assert exchange.ended
    assert not exchange.reusable  # the peer closed it


# --------------------------------------------------------------------------- check_response


@pytest.mark.parametrize(
    "content_type",
    [
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "text/event-stream;charset=UTF-8",
        "TEXT/EVENT-STREAM",
        "Text/Event-Stream ; foo=bar",
        " text/event-stream ",
    ],
)
def test_check_response_opens_a_stream(content_type: str) -> None:
    assert check_response(response(200, ("Content-Type", content_type))) is True


@pytest.mark.parametrize(
    ("status", "content_type"),
    [
        (200, "text/html"),
        (200, "text/plain"),
        (200, "application/json"),
        (200, "text/event-streamx"),
        (200, "text/event"),
        (200, None),
        (201, "text/event-stream"),
        (204, "text/event-stream"),
        (205, "text/event-stream"),
        (206, "text/event-stream"),
        (299, "text/event-stream"),
        (301, "text/event-stream"),
        (404, "text/event-stream"),
        (503, "text/event-stream"),
    ],
)
def test_check_response_refuses(status: int, content_type: str | None) -> None:
    headers = () if content_type is None else (("Content-Type", content_type),)
    assert check_response(response(status, *headers)) is False


# --------------------------------------------------------------------------- error_from_response


def _error(
    status: int, content_type: str | None, body: bytes, reason: str = ""
) -> sseio.ResponseError:
    headers = [("X-Request-Id", "req-1")]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    error = error_from_response(response(status, *headers, reason=reason), body)
    assert isinstance(error, sseio.ResponseError)
    assert isinstance(error, sseio.SSEError)
    assert error.status_code == status
    assert error.body == body
    assert error.content_type == (content_type or "")
    assert error.header("x-request-id") == "req-1"
    assert error.header("X-Request-ID") == "req-1"
    assert error.header("retry-after") is None
    assert str(status) in str(error)
    return error


@pytest.mark.parametrize(
    ("status", "payload", "message"),
    [
        (
            400,
            {"error": {"message": "model 'x' not found", "type": "invalid_request_error"}},
            "model 'x' not found",
        ),
        (401, {"detail": "Not authenticated"}, "Not authenticated"),
        (422, {"error": {"detail": "bad field"}}, "bad field"),
        (429, {"error": "rate limited"}, "rate limited"),
        (500, {"message": "upstream failed"}, "upstream failed"),
        (502, {"error": {"code": 7}, "message": "top level"}, "top level"),
        (503, {"error": {"error": "overloaded"}}, "overloaded"),
    ],
)
def test_json_error_body(status: int, payload: object, message: str) -> None:
    body = jsonlib.dumps(payload).encode()
    error = _error(status, "application/json", body)
    assert error.json == payload
    assert message in str(error)


def test_json_error_message_attribute() -> None:
    # ResponseError documents ``message``: the message found in a JSON body.
    body = b'{"error": {"message": "quota exceeded", "type": "insufficient_quota"}}'
    error = _error(429, "application/json", body)
    assert error.message == "quota exceeded"  # type: ignore[attr-defined]


def test_json_without_a_message() -> None:
    for payload in ([1, 2], {"error": {"code": 7}}, {"error": 5}, 3, "text"):
        error = _error(500, "application/json", jsonlib.dumps(payload).encode())
        assert error.json == payload
        assert str(error).startswith("server answered 500")


def test_json_is_parsed_whatever_the_content_type() -> None:
    error = _error(400, "text/plain", b'{"error": {"message": "bad"}}')
    assert error.json == {"error": {"message": "bad"}}
    assert "bad" in str(error)
    assert "{" not in str(error)


def test_plain_text_body() -> None:
    error = _error(500, "text/plain; charset=utf-8", b"  upstream timed out\n", "Server Error")
    assert error.json is None
    assert "upstream timed out" in str(error)
    assert "Server Error" in str(error)


def test_html_body() -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    error = _error(502, "text/html", body, "Bad Gateway")
    assert error.json is None
    assert "Bad Gateway" in str(error)


def test_long_text_body_is_shortened_in_the_message() -> None:
    body = b"x" * 10_000
    error = _error(500, "text/plain", body)
    assert error.body == body  # the whole body is kept on the error
    assert len(str(error)) < 1000


def test_invalid_utf8_text_body() -> None:
    error = _error(500, "text/plain", b"bad \xff byte")
    assert "bad \ufffd byte" in str(error)


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_empty_body(content_type: str | None) -> None:
    error = _error(404, content_type, b"", "Not Found")
    assert error.json is None
    assert str(error) == "server answered 404 Not Found"


def test_whitespace_text_body_adds_nothing() -> None:
    assert str(_error(404, "text/plain", b" \n ")) == "server answered 404"


def test_binary_body_is_not_shown() -> None:
    error = _error(500, "application/octet-stream", b"\x00\x01\x02")
    assert str(error) == "server answered 500"


def test_status_200_with_the_wrong_content_type() -> None:
    error = _error(200, "text/html; charset=utf-8", b"<p>login page</p>", "OK")
    assert "text/html" in str(error)
    assert "text/event-stream" in str(error)
    assert "login page" in str(error)
    bare = _error(200, None, b"")
    assert "no content type" in str(bare)


# --------------------------------------------------------------------------- redirect

POST_URL = "https://api.example.com/v1/stream"


def _post() -> Request:
    return prepare_request(
        "POST",
        POST_URL,
        headers={"Authorization": "Bearer k", "Cookie": "s=1", "X-Trace": "t"},
        json={"q": 1},
        last_event_id="41",
    )


def _to(status: int, location: str) -> Response:
    return response(status, ("Location", location))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_get_stays_a_get(status: int) -> None:
    request = prepare_request("GET", "http://example.com/a", last_event_id="9")
    follow = redirect(request, _to(status, "http://example.com/b"), 0, DEFAULT_MAX_REDIRECTS)
    assert follow is not None
    assert follow.method == "GET"
    assert follow.body == b""
    assert follow.url == "http://example.com/b"
    assert follow.target == "/b"
    assert header(follow, "Last-Event-ID") == "9"
    assert header(follow, "Accept") == "text/event-stream"
    assert header(follow, "Content-Length") is None


@pytest.mark.parametrize("status", [301, 302, 303])
def test_redirect_post_becomes_a_bodiless_get(status: int) -> None:
    follow = redirect(_post(), _to(status, "/v2/stream"), 0, DEFAULT_MAX_REDIRECTS)
    assert follow is not None
    assert follow.method == "GET"
    assert follow.body == b""
    assert header(follow, "Content-Length") is None
    assert header(follow, "Content-Type") is None
    assert header(follow, "Last-Event-ID") == "41"
    assert header(follow, "Authorization") == "Bearer k"  # same origin
    # The request it builds is valid HTTP.
    assert Exchange(follow).request_bytes().startswith(b"GET /v2/stream HTTP/1.1\r\n")


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_307_308_repeat_the_request(status: int) -> None:
    original = _post()
    follow = redirect(original, _to(status, "/v2/stream"), 0, DEFAULT_MAX_REDIRECTS)
    assert follow is not None
    assert follow.method == "POST"
    assert follow.body == original.body == b'{"q":1}'
    assert header(follow, "Content-Length") == "7"
    assert header(follow, "Content-Type") == "application/json"
    assert header(follow, "Last-Event-ID") == "41"
    assert Exchange(follow).request_bytes().endswith(b'\r\n\r\n{"q":1}')


def test_redirect_get_with_a_body_drops_it() -> None:
    request = prepare_request("GET", "http://h/a", content="x")
    follow = redirect(request, _to(302, "/b"), 0, 5)
    assert follow is not None
    assert (follow.method, follow.body) == ("GET", b"")
    assert header(follow, "Content-Length") is None
    assert header(follow, "Content-Type") is None


@pytest.mark.parametrize(("status", "method"), [(301, "PUT"), (302, "DELETE"), (302, "PATCH")])
def test_redirect_301_302_keep_methods_other_than_post(status: int, method: str) -> None:
    # Fetch: 301 and 302 turn only a POST into a GET; other methods are repeated.
    request = prepare_request(method, "http://h/a", json={"x": 1})
    follow = redirect(request, _to(status, "/b"), 0, 5)
    assert follow is not None
    assert (follow.method, follow.body) == (method, b'{"x":1}')


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_redirect_303_turns_other_methods_into_get(method: str) -> None:
    follow = redirect(prepare_request(method, "http://h/a", json=1), _to(303, "/b"), 0, 5)
    assert follow is not None
    assert (follow.method, follow.body) == ("GET", b"")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_head_stays_head(status: int) -> None:
    follow = redirect(prepare_request("HEAD", "http://h/a"), _to(status, "/b"), 0, 5)
    assert follow is not None
    assert follow.method == "HEAD"


@pytest.mark.parametrize(
    ("base", "location", "url", "target"),
    [
        ("http://h/a/b?x=1", "/c", "http://h/c", "/c"),
        ("http://h/a/b?x=1", "c", "http://h/a/c", "/a/c"),
        ("http://h/a/b?x=1", "../c?y=2", "http://h/c?y=2", "/c?y=2"),
        ("http://h/a/b?x=1", "?y=2", "http://h/a/b?y=2", "/a/b?y=2"),
        ("http://h/a", "  /padded  ", "http://h/padded", "/padded"),
        ("https://h/a", "//other.example:8443/x", "https://other.example:8443/x", "/x"),
        ("http://h/a", "http://[::1]:9000/x", "http://[::1]:9000/x", "/x"),
    ],
)
def test_redirect_location_resolved_against_the_request(
    base: str, location: str, url: str, target: str
) -> None:
    follow = redirect(prepare_request("GET", base), _to(302, location), 0, 5)
    assert follow is not None
    assert follow.url == url
    assert follow.target == target
    assert Exchange(follow).request_bytes().startswith(f"GET {target} HTTP/1.1\r\n".encode())


def test_redirect_updates_host() -> None:
    follow = redirect(_post(), _to(307, "http://[::1]:9000/x"), 0, 5)
    assert follow is not None
    assert (follow.scheme, follow.host, follow.port) == ("http", "::1", 9000)
    assert header(follow, "Host") == "[::1]:9000"
    follow = redirect(_post(), _to(307, "https://other.example/x"), 0, 5)
    assert follow is not None
    assert header(follow, "Host") == "other.example"


@pytest.mark.parametrize(
    "location",
    [
        "https://other.example/v1/stream",  # other host
        "https://api.example.com:8443/v1/stream",  # other port
        "http://api.example.com/v1/stream",  # other scheme
        "https://evil.example@other.example/",  # userinfo trick
    ],
)
@pytest.mark.parametrize("status", [301, 307])
def test_redirect_to_another_origin_drops_credentials(status: int, location: str) -> None:
    request = _post().with_header("Proxy-Authorization", "Basic x")
    follow = redirect(request, _to(status, location), 0, 5)
    assert follow is not None
    for name in ("Authorization", "Cookie", "Proxy-Authorization"):
        assert header(follow, name) is None
    assert header(follow, "X-Trace") == "t"
    assert header(follow, "Last-Event-ID") == "41"
    assert header(follow, "Accept") == "text/event-stream"


@pytest.mark.parametrize(
    "location",
    [
        "/other/path",
        "https://api.example.com/other",
        "https://API.Example.COM:443/other",
    ],
)
def test_redirect_on_the_same_origin_keeps_credentials(location: str) -> None:
    follow = redirect(_post(), _to(308, location), 0, 5)
    assert follow is not None
    assert header(follow, "Authorization") == "Bearer k"
    assert header(follow, "Cookie") == "s=1"
    assert header(follow, "Last-Event-ID") == "41"


def test_redirect_chain_counts_to_the_limit() -> None:
    request = prepare_request("GET", "http://h/0")
    for hop in range(3):
        follow = redirect(request, _to(302, f"/{hop + 1}"), hop, 3)
        assert follow is not None
        request = follow
    with pytest.raises(sseio.TooManyRedirects) as info:
        redirect(request, _to(302, "/4"), 3, 3)
    assert isinstance(info.value, sseio.ProtocolError)
    assert "3" in str(info.value)


def test_redirect_limit_zero_follows_none() -> None:
    with pytest.raises(sseio.TooManyRedirects):
        redirect(prepare_request("GET", "http://h/"), _to(301, "/b"), 0, 0)


@pytest.mark.parametrize("status", [200, 204, 300, 304, 305, 306, 400, 404, 503])
def test_not_a_redirect(status: int) -> None:
    request = prepare_request("GET", "http://h/")
    assert redirect(request, _to(status, "/b"), 0, 5) is None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_without_location(status: int) -> None:
    assert redirect(prepare_request("GET", "http://h/"), response(status), 0, 5) is None


@pytest.mark.parametrize(
    "location", ["ftp://example.com/x", "javascript:alert(1)", "http://h:99999/", "http://"]
)
def test_redirect_to_an_unusable_location_is_not_a_usage_error(location: str) -> None:
    # The Location header is the server's: a value the client cannot follow is
    # either not followed (None) or the server's fault (ProtocolError), never
    # blamed on the caller.
    try:
        follow = redirect(prepare_request("GET", "http://h/"), _to(302, location), 0, 5)
    except sseio.ProtocolError:
        return
    assert follow is None


# --------------------------------------------------------------------------- TLS context


def test_default_tls_context_verifies_with_certifi() -> None:
    context = ssl_context(None, True)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0


def test_tls_context_without_verification() -> None:
    context = ssl_context(None, False)
    assert context.verify_mode is ssl.CERT_NONE
    assert context.check_hostname is False


@pytest.mark.parametrize("verify", [True, False])
def test_callers_tls_context_is_used_as_is(verify: bool) -> None:
    mine = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert ssl_context(mine, verify) is mine
    assert mine.verify_mode is ssl.CERT_REQUIRED
    assert mine.check_hostname is True


@pytest.mark.parametrize(
    "url", ["ftp://user:s3cret@example.com/", "http://user:s3cret@example.com:port/"]
)
def test_a_bad_url_is_shown_without_its_credentials(url: str) -> None:
    with pytest.raises(sseio.UsageError) as caught:
        prepare_request("GET", url)
    assert "s3cret" not in str(caught.value)
    assert "[redacted]@example.com" in str(caught.value)
