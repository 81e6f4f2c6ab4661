"""A scriptable HTTP/1.1 event-stream server for transport tests, and the shared scenarios.

The server (``SSEServer``) runs on anyio, listens on 127.0.0.1 (or ::1) on a
port the system picks, and answers each connection with the next scripted
``Reply``: any status, headers, a list of byte pieces with pauses between
them, chunked / content-length / close-delimited framing, gzip or deflate,
a cut after a chosen number of body bytes (closed or reset), keepalive
comments, silence, or raw bytes that are not HTTP at all.  A connection whose
response was complete stays open for the next request, as HTTP/1.1 allows.
It records every connection and request, so tests assert what the client
sent, how many connections it opened, and that it closed its sockets.
``Resumable`` is a reply script for a numbered event stream that resumes
after the ``Last-Event-ID`` the client sends.

Async tests use ``async_env`` (servers in the test's own event loop, asyncio
or trio); blocking tests use ``blocking_env`` (servers in a background thread
with its own loop, reached through an anyio blocking portal).  Every wait on
the server side is bounded (``HOLD``, ``LINGER``), so no test can hang.

The second half of the module states each client behaviour once, as a
*scenario*: a generator that scripts the servers, yields a ``Call`` (a URL and
``connect_sse`` / ``aconnect_sse`` arguments) or a ``Session`` (calls through
one ``AsyncClient`` / ``Client``), receives the ``Outcome`` (items, error,
source state, timings) and asserts on it and on what the servers saw.
``drive_async`` and ``drive_sync`` run a scenario with the async client (on
asyncio and trio) or the blocking one, so each behaviour is checked on three
runtimes.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import socket
import ssl
import struct
import time
import traceback
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import anyio
import anyio.abc
import anyio.from_thread
import pytest
import trustme
from anyio.streams.tls import TLSStream

import sseio
from sseio import Comment, ServerSentEvent
from sseio._http.exchange import ERROR_BODY_LIMIT

HOLD = 5.0
"""The longest the server keeps a connection open waiting on the client (silence, keepalives)."""
LINGER = 3.0
"""After a complete response, how long the server waits for another request on the
connection (keep-alive) or for the client to close it."""
SETTLE = 4.0
"""How long a driver waits for the servers to finish their connections after a call."""
MAX_REQUEST = 1024 * 1024

Framing = Literal["chunked", "length", "close", "none"]
Encoding = Literal["gzip", "x-gzip", "deflate", "deflate-raw"]
Piece = bytes | float
"""A piece of body: bytes to send, or a pause in seconds."""


# --- wire helpers -------------------------------------------------------------------------


def event(
    data: str,
    *,
    id: str | None = None,
    event: str | None = None,
    retry: int | None = None,
    eol: str = "\n",
) -> bytes:
    """One event block in wire form (written by hand, independent of sseio's encoder)."""
    lines = []
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}" if id else "id")
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines += [f"data: {line}" for line in data.split("\n")]
    return (eol.join(lines) + eol + eol).encode()


DONE = event("[DONE]")
_STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"


def sse(
    data: str, *, id: str = "", event: str = "message", retry: int | None = None
) -> ServerSentEvent:
    """The event a client should deliver (keyword form of ``ServerSentEvent``)."""
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


def _encode_pieces(pieces: Sequence[Piece], encoding: Encoding | None) -> list[Piece]:
    """Compress each piece with a sync flush, so each can be decoded as it arrives."""
    if encoding is None:
        return list(pieces)
    wbits = {"gzip": 31, "x-gzip": 31, "deflate": 15, "deflate-raw": -15}[encoding]
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, bytes):
            out.append(compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH))
        else:
            out.append(piece)
    out.append(compressor.flush())
    return out


# --- what the server saw ------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the server parsed it; header names are lowercased, values latin-1."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    at: float  # time.monotonic() when the request was complete
    connection: int

    def header(self, name: str) -> str | None:
        """The only value of header ``name`` (asserts it was not sent twice), or ``None``."""
        values = self.header_values(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]


@dataclass
class Connection:
    """One accepted connection: its requests (several when kept alive) and how it ended."""

    index: int
    opened_at: float
    requests: list[RecordedRequest] = field(default_factory=list)
    client_closed: bool = False  # the server saw the client close (EOF or reset) first
    server_closed: bool = False  # the server ended it on purpose (cut, close framing, raw)
    tls_error: BaseException | None = None
    closed_at: float | None = None
    extra: bytes = b""  # bytes the client sent while the server was not reading a request


# --- what the server sends ----------------------------------------------------------------


@dataclass
class Reply:
    """One scripted response.

    ``body`` is a list of pieces (bytes, or a float pause in seconds), each sent
    as it comes (one chunk per piece with chunked framing).  ``framing`` picks
    chunked, content-length, close-delimited, or ``"none"`` (no body headers,
    for 204 and 304).  ``encoding`` compresses the pieces.  ``cut_after``
    closes the connection (``reset=True``: with a TCP reset) once that many
    transferred body bytes were sent; with chunked framing the chunk header
    still promises the whole piece, so the cut falls inside a chunk.
    ``keepalive`` sends ``keepalive_text`` every so many seconds after the body
    (``0``: as fast as the client reads) for ``keepalive_for`` seconds, and
    ``hold`` keeps the connection open without a word after the pieces; both
    end as soon as the client leaves.  ``raw`` replaces the whole response with
    the given pieces, sent as they are.  After a complete chunked or
    content-length response the connection stays open for another request,
    unless ``keep_alive=False`` (the server then closes it, without saying so).
    """

    status: int = 200
    headers: Sequence[tuple[str, str]] = (("Content-Type", "text/event-stream"),)
    body: Sequence[Piece] = ()
    framing: Framing = "chunked"
    encoding: Encoding | None = None
    cut_after: int | None = None
    reset: bool = False
    keepalive: float | None = None
    keepalive_text: bytes = b": keepalive\n\n"
    keepalive_for: float = HOLD
    hold: bool = False
    raw: Sequence[Piece] | None = None
    keep_alive: bool = True
    reason: str | None = None
    version: str = "1.1"

    def head(self, length: int) -> bytes:
        reason = self.reason
        if reason is None:
            try:
                reason = HTTPStatus(self.status).phrase
            except ValueError:
                reason = "Whatever"
        headers = list(self.headers)
        names = {name.lower() for name, _ in headers}
        if self.encoding is not None and "content-encoding" not in names:
            name = "deflate" if self.encoding == "deflate-raw" else self.encoding
            headers.append(("Content-Encoding", name))
        if self.framing == "chunked" and "transfer-encoding" not in names:
            headers.append(("Transfer-Encoding", "chunked"))
        elif self.framing == "length" and "content-length" not in names:
            headers.append(("Content-Length", str(length)))
        lines = [f"HTTP/{self.version} {self.status} {reason}".rstrip()]
        lines += [f"{name}: {value}" for name, value in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def stream(*pieces: Piece, **options: Any) -> Reply:
    """A 200 ``text/event-stream`` reply with these body pieces."""
    return Reply(body=pieces, **options)


def json_reply(status: int, payload: Any, **options: Any) -> Reply:
    """A reply with a JSON body (content-length framing unless told)."""
    options.setdefault("framing", "length")
    headers = [("Content-Type", "application/json"), *options.pop("headers", ())]
    return Reply(status=status, headers=headers, body=[json.dumps(payload).encode()], **options)


def text_reply(status: int, text: str, content_type: str, **options: Any) -> Reply:
    """A reply with a text body of the given content type."""
    options.setdefault("framing", "length")
    headers = [("Content-Type", content_type), *options.pop("headers", ())]
    return Reply(status=status, headers=headers, body=[text.encode()], **options)


def redirect(status: int, location: str | None) -> Reply:
    """A redirect with an empty body (no ``Location`` when ``location`` is None)."""
    headers = [] if location is None else [("Location", location)]
    return Reply(status=status, headers=headers, framing="length")


def raw(*pieces: Piece, hold: bool = False) -> Reply:
    """Exactly these bytes instead of a response; then close (or wait for the client)."""
    return Reply(raw=pieces, hold=hold)


def silent() -> Reply:
    """Read the request, answer nothing, and wait (bounded) for the client to give up."""
    return Reply(raw=(), hold=True)


def closed() -> Reply:
    """Read the request, then close the connection without a word."""
    return Reply(raw=())


# --- the resumable event stream -----------------------------------------------------------

RESUMABLE_EOL = "\r\n"


def resumable_data(number: int) -> str:
    """The data of event ``number``: multi-byte UTF-8 of every length."""
    return f"event {number}: caf\u00e9 \u20ac \U0001f600"


def resumable_body(count: int, after: int) -> bytes:
    """Events ``after + 1`` to ``count`` with ids, CRLF line ends, then ``[DONE]``."""
    parts = [
        event(resumable_data(n), id=str(n), eol=RESUMABLE_EOL) for n in range(after + 1, count + 1)
    ]
    parts.append(event("[DONE]", eol=RESUMABLE_EOL))
    return b"".join(parts)


def resumable_events(count: int) -> list[ServerSentEvent]:
    """What a client delivers from a complete resumable stream of ``count`` events."""
    return [sse(resumable_data(n), id=str(n)) for n in range(1, count + 1)]


Cut = int | Callable[[bytes], int]


def inside(needle: str | bytes, *, nth: int = 0, offset: int = 1) -> Callable[[bytes], int]:
    """A cut ``offset`` bytes into the ``nth`` occurrence of ``needle`` in a body."""
    raw_needle = needle.encode() if isinstance(needle, str) else needle

    def cut(body: bytes) -> int:
        at = -1
        for _ in range(nth + 1):
            at = body.index(raw_needle, at + 1)
        return at + offset

    cut.__name__ = f"inside({needle!r}, nth={nth}, offset={offset})"
    return cut


class Resumable:
    """A reply script: ``count`` numbered events that resume after ``Last-Event-ID``.

    The n-th connection's body is cut at ``cuts[n]`` (bytes into that
    connection's body, or a function of the body); connections after the last
    cut get the rest of the stream whole.  ``framings`` are used in turn, one
    per connection.  ``log`` records, per connection, the event it resumed
    after and the cut applied (``None``: none).
    """

    def __init__(
        self,
        count: int,
        *,
        cuts: Sequence[Cut] = (),
        framings: Sequence[Framing] = ("chunked",),
        encoding: Encoding | None = None,
        piece_size: int = 97,
        reset: bool = False,
    ) -> None:
        self.count = count
        self.cuts = list(cuts)
        self.framings = list(framings)
        self.encoding = encoding
        self.piece_size = piece_size
        self.reset = reset
        self.log: list[tuple[int, int | None]] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        after = int(request.header("last-event-id") or 0)
        body = resumable_body(self.count, after)
        index = len(self.log)
        cut: int | None = None
        if index < len(self.cuts):
            spec = self.cuts[index]
            cut = spec(body) if callable(spec) else spec
            if cut >= len(body):
                cut = None
        self.log.append((after, cut))
        pieces = [body[i : i + self.piece_size] for i in range(0, len(body), self.piece_size)]
        framing = self.framings[index % len(self.framings)]
        if self.encoding is not None and cut is not None:
            # Cut the compressed stream at the same fraction of its length.
            encoded = _encode_pieces(pieces, self.encoding)
            compressed = sum(len(p) for p in encoded if isinstance(p, bytes))
            cut = cut * compressed // len(body)
        return Reply(
            body=pieces, framing=framing, encoding=self.encoding, cut_after=cut, reset=self.reset
        )


# --- the server ---------------------------------------------------------------------------

Step = Reply | Callable[[RecordedRequest], Reply]
_GONE = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,
    ssl.SSLError,
)


class SSEServer:
    """A scripted HTTP/1.1 server on one port (see the module doc).

    ``script(*steps, then=step)`` sets the replies: one step per request in
    order, then ``then`` for every further request.  A step is a ``Reply`` or
    a function of the request that returns one.  ``connections`` and
    ``requests`` record what happened; ``errors`` collects the server's own
    failures (a test fixture asserts there are none).
    """

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        self.port = 0
        self.connections: list[Connection] = []
        self.errors: list[BaseException] = []
        self._steps: deque[Step] = deque()
        self._then: Step | None = None
        self._active = 0
        self._idle: anyio.Event | None = None
        self._listener: anyio.abc.SocketListener | None = None

    # scripting and records

    def script(self, *steps: Step, then: Step | None = None) -> None:
        self._steps = deque(steps)
        self._then = then

    @property
    def requests(self) -> list[RecordedRequest]:
        return [request for c in self.connections for request in c.requests]

    @property
    def netloc(self) -> str:
        """``host:port`` as in a URL or a ``Host`` header."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{shown}:{self.port}"

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.netloc}{path}"

    # lifecycle

    async def start(self, task_group: anyio.abc.TaskGroup) -> None:
        """Listen and serve in ``task_group`` until it is cancelled."""
        multi = await anyio.create_tcp_listener(local_host=self.host, local_port=0)
        [listener] = multi.listeners
        assert isinstance(listener, anyio.abc.SocketListener)
        self._listener = listener
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_group.start_soon(self._serve, listener, task_group)

    async def aclose(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()

    async def settle(self, limit: float = SETTLE) -> None:
        """Wait (bounded) until no connection is being handled."""
        with anyio.move_on_after(limit):
            while self._active:
                self._idle = anyio.Event()
                await self._idle.wait()

    async def _serve(self, listener: anyio.abc.SocketListener, tg: anyio.abc.TaskGroup) -> None:
        while True:
            try:
                client = await listener.accept()
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            connection = Connection(len(self.connections), time.monotonic())
            self.connections.append(connection)
            self._active += 1
            tg.start_soon(self._handle, client, connection)

    async def _handle(self, client: anyio.abc.SocketStream, conn: Connection) -> None:
        byte_stream: anyio.abc.ByteStream = client
        try:
            if self.tls is not None:
                try:
                    with anyio.fail_after(HOLD):
                        byte_stream = await TLSStream.wrap(
                            client,
                            server_side=True,
                            ssl_context=self.tls,
                            standard_compatible=False,
                        )
                except (*_GONE, TimeoutError) as exc:
                    conn.tls_error = exc
                    return
            keep_alive = True
            while keep_alive:
                request = await self._read_request(byte_stream, conn)
                if request is None:
                    return
                conn.requests.append(request)
                reply = self._next_reply(request)
                keep_alive = await self._respond(byte_stream, client, reply, conn)
        except _GONE:
            conn.client_closed = True
        except Exception as exc:
            self.errors.append(exc)
        finally:
            conn.closed_at = time.monotonic()
            await anyio.aclose_forcefully(byte_stream)
            self._active -= 1
            if self._idle is not None and not self._active:
                self._idle.set()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        step = self._steps.popleft() if self._steps else self._then
        if step is None:
            self.errors.append(AssertionError(f"unscripted request: {request}"))
            return text_reply(500, "unscripted", "text/plain")
        return step if isinstance(step, Reply) else step(request)

    async def _read_request(
        self, stream: anyio.abc.ByteStream, conn: Connection
    ) -> RecordedRequest | None:
        """The next request; ``None`` when the client closed an idle connection, or left
        it idle for ``LINGER`` seconds after a response (the server then closes it)."""
        buffer = b""
        with anyio.move_on_after(LINGER if conn.requests else HOLD):
            while b"\r\n\r\n" not in buffer:
                try:
                    buffer += await stream.receive()
                except _GONE:
                    conn.client_closed = True
                    conn.extra += buffer  # what came before it left (not HTTP, maybe TLS)
                    return None
                if len(buffer) > MAX_REQUEST:
                    raise AssertionError(f"request head over {MAX_REQUEST} bytes")
            head, _, body = buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            headers = []
            for line in lines[1:]:
                name, colon, value = line.partition(":")
                assert colon, f"request header without a colon: {line!r}"
                assert name == name.strip(), f"space around a request header name: {line!r}"
                headers.append((name.lower(), value.strip(" \t")))
            lengths = [value for key, value in headers if key == "content-length"]
            assert "transfer-encoding" not in dict(headers), "unexpected chunked request"
            length = int(lengths[0]) if lengths else 0
            while len(body) < length:
                body += await stream.receive()
            assert len(body) == length, f"request body longer than content-length {length}"
            assert version.startswith("HTTP/"), f"bad request line {lines[0]!r}"
            return RecordedRequest(
                method, target, version[5:], headers, body, time.monotonic(), conn.index
            )
        conn.server_closed = True
        conn.extra += buffer
        if not conn.requests and not buffer:
            raise AssertionError("the client connected but sent nothing")
        return None

    async def _respond(
        self,
        stream: anyio.abc.ByteStream,
        client: anyio.abc.SocketStream,
        reply: Reply,
        conn: Connection,
    ) -> bool:
        """Send ``reply``; return whether the connection can carry another request."""
        if reply.raw is not None:
            for piece in reply.raw:
                await (anyio.sleep(piece) if isinstance(piece, float) else stream.send(piece))
            if reply.hold:
                await self._wait_for_client(stream, conn, HOLD)
            conn.server_closed = not conn.client_closed
            return False
        pieces = _encode_pieces(reply.body, reply.encoding)
        length = sum(len(p) for p in pieces if isinstance(p, bytes))
        await stream.send(reply.head(length))
        chunked = reply.framing == "chunked"
        sent = 0
        for piece in pieces:
            if isinstance(piece, float):
                await anyio.sleep(piece)
                continue
            if not piece:
                continue
            if reply.cut_after is not None and sent + len(piece) > reply.cut_after:
                part = piece[: reply.cut_after - sent]
                if part:
                    await stream.send(b"%x\r\n" % len(piece) + part if chunked else part)
                await self._cut(stream, client, reply.reset, conn)
                return False
            await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if reply.cut_after is not None and sent >= reply.cut_after:
            await self._cut(stream, client, reply.reset, conn)
            return False
        if reply.keepalive is not None:
            text = reply.keepalive_text
            frame = b"%x\r\n%s\r\n" % (len(text), text) if chunked else text
            with anyio.move_on_after(reply.keepalive_for):
                while True:
                    await stream.send(frame)
                    await anyio.sleep(reply.keepalive)
        if reply.hold:
            await self._wait_for_client(stream, conn, HOLD)
            conn.server_closed = not conn.client_closed
            return False
        if chunked:
            await stream.send(b"0\r\n\r\n")
        if reply.framing == "close" or not reply.keep_alive:
            conn.server_closed = True
            return False
        return True

    async def _wait_for_client(
        self, stream: anyio.abc.ByteStream, conn: Connection, limit: float
    ) -> None:
        """Read until the client closes its end (or ``limit`` seconds pass)."""
        with anyio.move_on_after(limit):
            while True:
                try:
                    conn.extra += await stream.receive()
                except _GONE:
                    conn.client_closed = True
                    return

    async def _cut(
        self,
        stream: anyio.abc.ByteStream,
        client: anyio.abc.SocketStream,
        reset: bool,
        conn: Connection,
    ) -> None:
        if reset:
            raw_socket = client.extra(anyio.abc.SocketAttribute.raw_socket)
            raw_socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.server_closed = True
        await anyio.aclose_forcefully(stream)


# --- TLS material -------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """trustme certificates: a CA the client may trust, and server contexts."""

    ca: trustme.CA
    good: ssl.SSLContext  # for 127.0.0.1, ::1 and localhost, from ``ca``
    wrong_host: ssl.SSLContext  # for another name, from ``ca``

    def client_context(self) -> ssl.SSLContext:
        """A default client context that trusts ``ca`` (hostnames checked)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@functools.cache
def certificates() -> Certificates:
    ca = trustme.CA()

    def server_context(*names: str) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(context)
        return context

    return Certificates(
        ca,
        good=server_context("127.0.0.1", "::1", "localhost"),
        wrong_host=server_context("sseio.invalid"),
    )


# --- environments and fixtures ------------------------------------------------------------


@dataclass
class Env:
    """The servers a scenario can script: ``server`` and ``other`` (two origins),
    ``tls`` (HTTPS with a trustme certificate), ``v6`` (on ::1, if the machine
    has IPv6 loopback, else ``None``)."""

    server: SSEServer
    other: SSEServer
    tls: SSEServer
    v6: SSEServer | None
    portal: anyio.from_thread.BlockingPortal | None = None

    @property
    def all(self) -> list[SSEServer]:
        return [s for s in (self.server, self.other, self.tls, self.v6) if s is not None]

    async def settle(self) -> None:
        for server in self.all:
            await server.settle()

    def check(self) -> None:
        for server in self.all:
            assert not server.errors, f"server errors: {server.errors!r}"


@asynccontextmanager
async def open_env() -> AsyncIterator[Env]:
    """Start the servers of an ``Env`` in the current event loop; stop them all at exit."""
    async with anyio.create_task_group() as tg:
        env = Env(SSEServer(), SSEServer(), SSEServer(tls=certificates().good), None)
        for server in (env.server, env.other, env.tls):
            await server.start(tg)
        v6 = SSEServer("::1")
        try:
            await v6.start(tg)
        except OSError:
            pass  # no IPv6 loopback: the IPv6 scenario skips
        else:
            env.v6 = v6
        try:
            yield env
        finally:
            with anyio.CancelScope(shield=True):
                for server in env.all:
                    await server.aclose()
            tg.cancel_scope.cancel()


@pytest.fixture
async def async_env() -> AsyncIterator[Env]:
    """Servers in the test's own event loop (asyncio or trio)."""
    async with open_env() as env:
        yield env
        await env.settle()
        env.check()


@pytest.fixture
def blocking_env() -> Iterator[Env]:
    """Servers in a background thread with its own event loop, for blocking clients."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(open_env()) as env,
    ):
        env.portal = portal
        yield env
        portal.call(env.settle)
        env.check()


@contextmanager
def stuck_listener() -> Iterator[int]:
    """A port whose connections the kernel completes but nobody ever reads: a stuck peer.

    (Not an anyio server: an asyncio transport would read ahead into memory.)
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- running a client against the servers ------------------------------------------------

QUICK = sseio.Timeout(connect=3.0, read=3.0, write=3.0)
"""The default time limits of a ``Call``: generous for loopback, short enough to stay bounded."""
FAST = sseio.Reconnect(delay=0.01, jitter=0, max_attempts=3)
"""A policy that would reconnect at once: proves a non-retry is a decision, not a slow timer."""

E = TypeVar("E", bound=BaseException)


class Call:
    """One ``connect_sse`` / ``aconnect_sse`` call: the URL and keyword arguments.

    ``timeout`` defaults to ``QUICK`` and ``reconnect`` to ``NO_RECONNECT``;
    ``take`` stops iterating (and closes) after that many items; ``deadline``
    bounds the whole async call (a blocking call is bounded by its time limits,
    its reconnect policy and the servers' own limits).
    """

    def __init__(
        self, url: str, *, take: int | None = None, deadline: float = 10.0, **kwargs: Any
    ) -> None:
        kwargs.setdefault("timeout", QUICK)
        kwargs.setdefault("reconnect", sseio.NO_RECONNECT)
        self.url = url
        self.take = take
        self.deadline = deadline
        self.kwargs = kwargs


class Session:
    """Several calls, one after the other, through one ``AsyncClient`` / ``Client``
    (``client_kwargs``), so they share its keep-alive pool.  The client is closed
    after the last call."""

    def __init__(self, *calls: Call, **client_kwargs: Any) -> None:
        client_kwargs.setdefault("timeout", QUICK)
        client_kwargs.setdefault("reconnect", sseio.NO_RECONNECT)
        self.calls = calls
        self.client_kwargs = client_kwargs


@dataclass
class SessionOutcome:
    """The outcome of each call of a session, and the client's idle connections after each."""

    outcomes: list[Outcome]
    idle: list[int]


@dataclass
class Outcome:
    """What a call gave: the items in order (with arrival times, seconds since the
    call started), the error it raised, and the source's state at the end."""

    items: list[ServerSentEvent | Comment] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    error: BaseException | None = None
    opened: bool = False
    response: sseio.Response | None = None  # as the stream opened
    done: bool = False
    last_event_id: str = ""
    retry: int | None = None
    reconnects: int = 0
    elapsed: float = 0.0

    def ok(self) -> None:
        assert self.error is None, f"unexpected error: {_describe(self.error)}"

    def raised(self, kind: type[E]) -> E:
        assert isinstance(self.error, kind), (
            f"expected {kind.__name__}, got {_describe(self.error)} after items {self.items!r}"
        )
        return self.error


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "no error"
    return "".join(traceback.format_exception(error))


def causes(error: BaseException) -> Iterator[BaseException]:
    """The exceptions ``error`` was raised from or during, nearest first."""
    seen: set[int] = set()
    pending = [error.__cause__, error.__context__]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]
        pending += list(getattr(current, "exceptions", ()))  # an exception group's members


def _record(out: Outcome, source: sseio.AsyncEventSource | sseio.EventSource) -> None:
    out.done = source.done
    out.last_event_id = source.last_event_id
    out.retry = source.retry
    out.reconnects = source.reconnects


def _stream_args(call: Call) -> tuple[str, dict[str, Any]]:
    """The method and keyword arguments of ``client.stream`` for a call in a session."""
    kwargs = dict(call.kwargs)
    method: str = kwargs.pop("method", "GET")
    if kwargs["reconnect"] is sseio.NO_RECONNECT:
        del kwargs["reconnect"]  # the client's policy applies
    return method, kwargs


async def run_async(call: Call, client: sseio.AsyncClient | None = None) -> Outcome:
    """Run ``call`` with ``aconnect_sse`` (or ``client.stream``) in the current event loop."""
    out = Outcome()
    start = time.monotonic()
    try:
        with anyio.fail_after(call.deadline):
            if client is None:
                opener = sseio.aconnect_sse(call.url, **call.kwargs)
            else:
                method, kwargs = _stream_args(call)
                opener = client.stream(method, call.url, **kwargs)
            async with opener as source:
                out.opened = True
                out.response = source.response
                try:
                    async for item in source:
                        out.items.append(item)
                        out.times.append(time.monotonic() - start)
                        if call.take is not None and len(out.items) >= call.take:
                            break
                finally:
                    _record(out, source)
    except Exception as exc:
        out.error = exc
    out.elapsed = time.monotonic() - start
    return out


def run_sync(call: Call, client: sseio.Client | None = None) -> Outcome:
    """Run ``call`` with the blocking ``connect_sse`` (or ``client.stream``)."""
    out = Outcome()
    start = time.monotonic()
    try:
        if client is None:
            opener = sseio.connect_sse(call.url, **call.kwargs)
        else:
            method, kwargs = _stream_args(call)
            opener = client.stream(method, call.url, **kwargs)
        with opener as source:
            out.opened = True
            out.response = source.response
            try:
                for item in source:
                    out.items.append(item)
                    out.times.append(time.monotonic() - start)
                    if call.take is not None and len(out.items) >= call.take:
                        break
            finally:
                _record(out, source)
    except Exception as exc:
        out.error = exc
    out.elapsed = time.monotonic() - start
    return out


async def run_session_async(session: Session) -> SessionOutcome:
    result = SessionOutcome([], [])
    async with sseio.AsyncClient(**session.client_kwargs) as client:
        for call in session.calls:
            result.outcomes.append(await run_async(call, client))
            result.idle.append(client.idle_connections)
    return result


def run_session_sync(session: Session) -> SessionOutcome:
    result = SessionOutcome([], [])
    with sseio.Client(**session.client_kwargs) as client:
        for call in session.calls:
            result.outcomes.append(run_sync(call, client))
            result.idle.append(client.idle_connections)
    return result


Steps = Generator[Call | Session, Any, None]
Scenario = Callable[[Env], Steps]
SCENARIOS: dict[str, Scenario] = {}
"""Every client behaviour, by name; each runs on asyncio, trio and the blocking client."""


def scenario(cases: dict[str, Any] | None = None) -> Callable[[Callable[..., Steps]], Any]:
    """Register a scenario; with ``cases``, once per case (passed as ``case``)."""

    def register(func: Callable[..., Steps]) -> Any:
        if cases is None:
            SCENARIOS[func.__name__] = func
        else:
            for name, case in cases.items():
                SCENARIOS[f"{func.__name__}.{name}"] = functools.partial(func, case=case)
        return func

    return register


def _steps(scenario: str | Scenario, env: Env) -> Steps:
    return SCENARIOS[scenario](env) if isinstance(scenario, str) else scenario(env)


async def drive_async(name: str | Scenario, env: Env) -> None:
    """Run scenario ``name`` (or a scenario function) with the async client; the
    servers settle after each call."""
    steps = _steps(name, env)
    try:
        call = next(steps)
        while True:
            if isinstance(call, Session):
                outcome: Outcome | SessionOutcome = await run_session_async(call)
            else:
                outcome = await run_async(call)
            await env.settle()
            call = steps.send(outcome)
    except StopIteration:
        pass


def drive_sync(name: str | Scenario, env: Env) -> None:
    """Run scenario ``name`` (or a scenario function) with the blocking client
    (servers in their own thread)."""
    assert env.portal is not None
    steps = _steps(name, env)
    try:
        call = next(steps)
        while True:
            outcome = run_session_sync(call) if isinstance(call, Session) else run_sync(call)
            env.portal.call(env.settle)
            call = steps.send(outcome)
    except StopIteration:
        pass


def gaps(times: Sequence[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def assert_client_closed(server: SSEServer) -> None:
    """Every connection was closed by the client (the server was still waiting)."""
    for conn in server.connections:
        assert conn.client_closed, f"connection {conn.index} was not closed by the client"


# === scenarios ============================================================================
#
# Each scenario scripts the servers, yields one or more calls and asserts on the outcome
# and on what the servers saw.  They run on asyncio, trio and the blocking client.

Timeout = sseio.Timeout
Reconnect = sseio.Reconnect


# --- happy path ---------------------------------------------------------------------------


@scenario()
def events_in_order(env: Env) -> Steps:
    env.server.script(
        stream(
            b": hello\n\n",
            event("first", id="1"),
            event("second", event="update"),
            b"retry: 1500\n" + event("third", id="3"),
            DONE,
            event("after the sentinel"),
            headers=[("Content-Type", "text/event-stream; charset=utf-8"), ("X-Test", "yes")],
        )
    )
    out = yield Call(env.server.url("/stream"))
    out.ok()
    assert out.items == [
        sse("first", id="1"),
        sse("second", id="1", event="update"),
        sse("third", id="3", retry=1500),
    ]
    assert out.done
    assert (out.last_event_id, out.retry) == ("3", 1500)
    response = out.response
    assert response is not None
    assert (response.status_code, response.reason, response.http_version) == (200, "OK", "1.1")
    assert ("x-test", "yes") in response.headers
    assert response.header("X-Test") == "yes"
    assert response.content_type == "text/event-stream; charset=utf-8"
    assert response.media_type == "text/event-stream"
    assert len(env.server.connections) == 1
    assert_client_closed(env.server)


FRAMED_BODY: tuple[Piece, ...] = (event("a", id="1"), 0.02, event("b"), b": note\n", event("c"))
FRAMED_EVENTS = [sse("a", id="1"), sse("b", id="1"), sse("c", id="1")]


@scenario(cases={"chunked": "chunked", "length": "length", "close": "close"})
def body_framings(env: Env, case: Framing) -> Steps:
    env.server.script(stream(*FRAMED_BODY, DONE, framing=case))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == FRAMED_EVENTS
    assert out.done
    # Without the sentinel the body's end ends the iteration quietly, and ``done`` says so.
    env.server.script(stream(*FRAMED_BODY, framing=case))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == FRAMED_EVENTS
    assert not out.done


@scenario(
    cases={
        "gzip-chunked": ("gzip", "chunked"),
        "x-gzip-length": ("x-gzip", "length"),
        "deflate-close": ("deflate", "close"),
        "raw-deflate-chunked": ("deflate-raw", "chunked"),
    }
)
def compressed_bodies(env: Env, case: tuple[Encoding, Framing]) -> Steps:
    encoding, framing = case
    env.server.script(
        stream(
            event("one", id="1"),
            0.25,
            event("two \u20ac", id="2"),
            DONE,
            encoding=encoding,
            framing=framing,
        )
    )
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("one", id="1"), sse("two \u20ac", id="2")]
    assert out.done
    # Decoded as it arrives: the first event did not wait for the rest of the body.
    assert out.times[1] - out.times[0] > 0.2
    accepted = env.server.requests[0].header("accept-encoding") or ""
    assert {"gzip", "deflate"} <= {value.strip() for value in accepted.split(",")}


@scenario()
def comments_when_asked(env: Env) -> Steps:
    body = (b": keepalive\n\n", b":no space\n", event("x"), ": \u00e9t\u00e9\n".encode(), DONE)
    env.server.script(stream(*body), stream(*body))
    out = yield Call(env.server.url(), comments=True)
    out.ok()
    assert out.items == [
        Comment("keepalive"),
        Comment("no space"),
        sse("x"),
        Comment("\u00e9t\u00e9"),
    ]
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("x")]


@scenario()
def sentinel_can_be_switched_off(env: Env) -> Steps:
    env.server.script(stream(event("a"), DONE, event("b"), framing="close"))
    out = yield Call(env.server.url(), done_sentinel=None)
    out.ok()
    assert out.items == [sse("a"), sse("[DONE]"), sse("b")]
    assert not out.done
    env.server.script(stream(event("a"), DONE, event("END"), event("b")))
    out = yield Call(env.server.url(), done_sentinel="END")
    out.ok()
    assert out.items == [sse("a"), sse("[DONE]")]
    assert out.done


@scenario()
def one_byte_per_chunk(env: Env) -> Steps:
    body = (
        "\ufeffid: 1\r\ndata: caf\u00e9\r\n\r\n"
        "event: e\rdata: \U0001f600\r\r"
        "data: x\ndata: y\n\n"
        "data: [DONE]\r\n\r\n"
    ).encode()
    env.server.script(stream(*(body[i : i + 1] for i in range(len(body)))))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [
        sse("caf\u00e9", id="1"),
        sse("\U0001f600", id="1", event="e"),
        sse("x\ny", id="1"),
    ]
    assert out.done


@scenario()
def events_arrive_as_sent(env: Env) -> Steps:
    env.server.script(stream(event("early"), 0.3, event("late"), DONE))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("early"), sse("late")]
    assert out.times[1] - out.times[0] > 0.25


@scenario()
def breaking_out_closes_the_connection(env: Env) -> Steps:
    env.server.script(stream(event("first"), keepalive=0.05))
    out = yield Call(env.server.url(), take=1)
    out.ok()
    assert out.items == [sse("first")]
    assert_client_closed(env.server)


@scenario()
def large_event(env: Env) -> Steps:
    data = "x" * 300_000 + "\u00e9"
    payload = event(data, id="big") + DONE
    env.server.script(
        stream(*(payload[i : i + 16384] for i in range(0, len(payload), 16384)), framing="length")
    )
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse(data, id="big")]


@scenario()
def http_10_response(env: Env) -> Steps:
    env.server.script(
        raw(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", event("a", id="1"), DONE)
    )
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("a", id="1")]
    assert out.response is not None
    assert out.response.http_version == "1.0"


@scenario()
def informational_responses_are_skipped(env: Env) -> Steps:
    env.server.script(
        raw(
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n",
            0.05,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
            event("a"),
            DONE,
        )
    )
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("a")]
    assert out.response is not None
    assert out.response.status_code == 200


@scenario()
def response_head_in_one_byte_pieces(env: Env) -> Steps:
    wire = _STREAM_HEAD + b"X-Slow: yes\r\n\r\n" + event("a") + DONE
    env.server.script(raw(*(wire[i : i + 1] for i in range(len(wire)))))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("a")]
    assert out.response is not None
    assert out.response.header("x-slow") == "yes"


@scenario()
def chunked_trailers(env: Env) -> Steps:
    body = event("a") + event("b")
    wire = (
        _STREAM_HEAD
        + b"Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\nX-Checksum: 1234\r\n\r\n" % (len(body), body)
    )
    env.server.script(raw(wire, hold=True))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("a"), sse("b")]
    assert not out.done
    assert_client_closed(env.server)


@scenario(
    cases={
        "charset": "text/event-stream;charset=UTF-8",
        "upper-case": "Text/Event-Stream",
        "spaced": "text/event-stream ; charset=utf-8",
    }
)
def event_stream_media_type_parameters_ignored(env: Env, case: str) -> Steps:
    env.server.script(stream(event("a"), DONE, headers=[("Content-Type", case)]))
    out = yield Call(env.server.url())
    out.ok()
    assert out.items == [sse("a")]


# --- the request --------------------------------------------------------------------------


@scenario()
def request_line_and_default_headers(env: Env) -> Steps:
    env.server.script(stream(DONE))
    out = yield Call(env.server.url("/v1/chat/stream?model=m&q=a%20b#fragment"))
    out.ok()
    assert out.items == []
    assert out.done
    [request] = env.server.requests
    assert (request.method, request.target, request.version) == (
        "GET",
        "/v1/chat/stream?model=m&q=a%20b",
        "1.1",
    )
    assert request.header("host") == env.server.netloc
    assert request.header("accept") == "text/event-stream"
    # As a browser's EventSource sends it: a cache must revalidate, not answer from store.
    assert request.header("cache-control") == "no-cache"
    assert request.header("user-agent") == f"sseio/{sseio.__version__}"
    for absent in ("last-event-id", "content-length", "content-type", "transfer-encoding"):
        assert request.header(absent) is None, absent
    assert request.body == b""


@scenario(cases={"given": "42", "empty": ""})
def last_event_id_argument(env: Env, case: str) -> Steps:
    env.server.script(stream(DONE))
    out = yield Call(env.server.url(), last_event_id=case)
    out.ok()
    assert env.server.requests[0].header("last-event-id") == (case or None)


@scenario()
def json_body(env: Env) -> Steps:
    payload = {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": "h\u00e9llo \u20ac \U0001f600"}],
    }
    env.server.script(stream(event("a"), DONE))
    out = yield Call(env.server.url("/v1/chat/completions"), method="post", json=payload)
    out.ok()
    assert out.items == [sse("a")]
    [request] = env.server.requests
    assert request.method == "POST"
    assert request.header("content-type") == "application/json"
    assert request.header("content-length") == str(len(request.body))
    assert request.header("transfer-encoding") is None
    assert json.loads(request.body) == payload


@scenario(
    cases={
        "bytes": (b"\x00\x01raw", None, None),
        "str": ("h\u00e9 \u20ac", None, "text/plain; charset=utf-8"),
        "typed": (b'{"a":1}\n', "application/x-ndjson", "application/x-ndjson"),
    }
)
def content_body(env: Env, case: tuple[bytes | str, str | None, str | None]) -> Steps:
    content, given_type, expected_type = case
    headers = {"Content-Type": given_type} if given_type else {}
    env.server.script(stream(DONE))
    out = yield Call(env.server.url(), method="POST", content=content, headers=headers)
    out.ok()
    [request] = env.server.requests
    expected = content.encode() if isinstance(content, str) else content
    assert request.method == "POST"
    assert request.body == expected
    assert request.header("content-length") == str(len(expected))
    assert request.header("content-type") == expected_type


@scenario()
def caller_headers(env: Env) -> Steps:
    env.server.script(stream(DONE), stream(DONE))
    out = yield Call(
        env.server.url(),
        headers={"User-Agent": "agent/2.0", "Accept": "text/event-stream, */*", "X-Api-Key": "k"},
    )
    out.ok()
    request = env.server.requests[0]
    assert request.header("user-agent") == "agent/2.0"
    assert request.header("accept") == "text/event-stream, */*"
    assert request.header("x-api-key") == "k"
    out = yield Call(env.server.url(), headers=[("X-Multi", "a"), ("X-Multi", "b")])
    out.ok()
    assert env.server.requests[1].header_values("x-multi") == ["a", "b"]


@scenario(
    cases={
        "crlf-in-value": {"headers": {"X-Bad": "a\r\nX-Injected: 1"}},
        "lf-in-value": {"headers": {"X-Bad": "a\nb"}},
        "cr-in-value": {"headers": {"X-Bad": "a\rb"}},
        "nul-in-value": {"headers": {"X-Bad": "a\x00b"}},
        "lf-in-name": {"headers": {"X-Bad\n": "v"}},
        "pairs": {"headers": [("X-Ok", "fine"), ("X-Bad", "\r\n")]},
        "last-event-id": {"last_event_id": "1\n2"},
    }
)
def unsafe_header_refused_before_connecting(env: Env, case: dict[str, Any]) -> Steps:
    env.server.script(then=stream(DONE))
    out = yield Call(env.server.url(), **case)
    out.raised(sseio.UsageError)
    assert env.server.connections == []


@scenario(cases={"header-value": ("/", "caf\u00e9 \u20ac"), "path": ("/caf\u00e9", None)})
def non_ascii_request_parts(env: Env, case: tuple[str, str | None]) -> Steps:
    # Either sent (UTF-8, percent-encoded in the path) or refused before connecting:
    # never a foreign exception once the connection is open.
    path, value = case
    env.server.script(then=stream(DONE))
    out = yield Call(env.server.url(path), headers={"X-Name": value} if value else None)
    if out.error is not None:
        out.raised(sseio.UsageError)
        assert env.server.connections == []
        return
    [request] = env.server.requests
    if value:
        assert request.header("x-name") == value.encode().decode("latin-1")
    else:
        assert request.target == "/caf%C3%A9"


# --- responses that do not open a stream --------------------------------------------------


@scenario()
def captive_portal_page(env: Env) -> Steps:
    html = "<html><title>Sign in to Hotel WiFi</title><body>Accept the terms</body></html>"
    env.server.script(text_reply(200, html, "text/html; charset=utf-8"), then=stream(DONE))
    out = yield Call(env.server.url(), reconnect=FAST)
    error = out.raised(sseio.ResponseError)
    assert not out.opened
    assert error.status_code == 200
    assert error.content_type == "text/html; charset=utf-8"
    assert error.header("Content-Type") == "text/html; charset=utf-8"
    assert error.body == html.encode()
    assert error.json is None
    assert "text/html" in str(error)
    assert "Sign in to Hotel WiFi" in str(error)
    assert len(env.server.connections) == 1
    assert_client_closed(env.server)


OPENAI_ERROR = {
    "error": {
        "message": "Incorrect API key provided: sk-***1234",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}


@scenario(
    cases={
        "400-length": (400, "length", None),
        "401-chunked": (401, "chunked", None),
        "404-close": (404, "close", None),
        "500-chunked": (500, "chunked", None),
        "502-gzip": (502, "length", "gzip"),
    }
)
def json_error_response(env: Env, case: tuple[int, Framing, Encoding | None]) -> Steps:
    status, framing, encoding = case
    env.server.script(
        json_reply(
            status,
            OPENAI_ERROR,
            framing=framing,
            encoding=encoding,
            headers=[("X-Request-Id", "req-1")],
        ),
        then=stream(DONE),
    )
    out = yield Call(env.server.url(), reconnect=FAST)
    error = out.raised(sseio.ResponseError)
    assert error.status_code == status
    assert ("x-request-id", "req-1") in error.headers
    assert error.header("x-request-id") == "req-1"
    assert error.content_type == "application/json"
    assert error.body == json.dumps(OPENAI_ERROR).encode()
    assert error.json == OPENAI_ERROR
    assert str(status) in str(error)
    assert "Incorrect API key provided: sk-***1234" in str(error)
    assert len(env.server.connections) == 1  # not retried
    if framing != "close":
        assert_client_closed(env.server)


@scenario(cases={"403": 403, "502": 502})
def html_error_response(env: Env, case: int) -> Steps:
    html = f"<html><body><h1>{case} Forbidden or Bad Gateway</h1></body></html>"
    env.server.script(text_reply(case, html, "text/html"), then=stream(DONE))
    out = yield Call(env.server.url(), reconnect=FAST)
    error = out.raised(sseio.ResponseError)
    assert error.status_code == case
    assert error.content_type == "text/html"
    assert error.body == html.encode()
    assert error.json is None
    assert str(case) in str(error)
    assert len(env.server.connections) == 1
    assert_client_closed(env.server)


@scenario(
    cases={
        "json-200": (200, "application/json"),
        "text-200": (200, "text/plain"),
        "no-type-200": (200, None),
        "stream-201": (201, "text/event-stream"),
    }
)
def not_an_event_stream(env: Env, case: tuple[int, str | None]) -> Steps:
    status, content_type = case
    body = b'{"choices": []}'
    headers = [("Content-Type", content_type)] if content_type else []
    env.server.script(Reply(status, headers, [body], framing="length"), then=stream(DONE))
    out = yield Call(env.server.url(), reconnect=FAST)
    error = out.raised(sseio.ResponseError)
    assert error.status_code == status
    assert error.content_type == (content_type or "")
    assert error.body == body
    assert error.json == {"choices": []}
    assert str(status) in str(error)
    assert len(env.server.connections) == 1


@scenario()
def no_content_is_never_reconnected(env: Env) -> Steps:
    env.server.script(Reply(204, [], framing="none"), then=stream(DONE))
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    error = out.raised(sseio.ResponseError)
    assert error.status_code == 204
    assert len(env.server.requests) == 1
    # Nor after a stream that was up: there a 204 is the server ending the
    # stream for good, and iteration ends quietly after the events it sent.
    env.server.script(
        stream(event("a", id="1"), framing="close"),
        Reply(204, [], framing="none"),
        then=stream(DONE),
    )
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    assert out.items == [sse("a", id="1")]
    assert out.error is None
    assert len(env.server.requests) == 3


@scenario()
def error_body_is_bounded(env: Env) -> Steps:
    block = b"0123456789abcdef" * 4096
    env.server.script(
        Reply(500, [("Content-Type", "text/plain")], [block] * 16, framing="length"),
        then=stream(DONE),
    )
    out = yield Call(env.server.url())
    error = out.raised(sseio.ResponseError)
    assert 0 < len(error.body) <= ERROR_BODY_LIMIT
    assert error.body == (block * 16)[: len(error.body)]
    assert out.elapsed < 3


@scenario()
def error_body_that_stalls(env: Env) -> Steps:
    headers = [("Content-Type", "text/plain"), ("Content-Length", "1000")]
    env.server.script(
        Reply(500, headers, [b"upstream timed out"], framing="none", hold=True),
        then=stream(DONE),
    )
    out = yield Call(env.server.url(), timeout=Timeout(read=0.2))
    error = out.raised(sseio.ResponseError)
    assert error.status_code == 500
    assert error.body == b"upstream timed out"
    assert "upstream timed out" in str(error)
    assert out.elapsed < 2
    assert_client_closed(env.server)


# --- redirects ----------------------------------------------------------------------------


@scenario(cases={str(code): code for code in (301, 302, 303, 307, 308)})
def redirect_method_and_body(env: Env, case: int) -> Steps:
    payload = {"prompt": "hi"}
    env.server.script(redirect(case, "/moved?x=1"), stream(event("a"), DONE))
    out = yield Call(
        env.server.url("/start"),
        method="POST",
        json=payload,
        headers={"Authorization": "Bearer t"},
        last_event_id="9",
    )
    out.ok()
    assert out.items == [sse("a", id="9")]
    first, second = env.server.requests
    assert (first.method, first.target) == ("POST", "/start")
    assert second.target == "/moved?x=1"
    assert second.header("host") == env.server.netloc
    assert second.header("authorization") == "Bearer t"  # same origin
    assert second.header("last-event-id") == "9"
    if case in (307, 308):
        assert second.method == "POST"
        assert second.body == first.body
        assert second.header("content-type") == "application/json"
        assert second.header("content-length") == str(len(first.body))
    else:
        assert second.method == "GET"
        assert second.body == b""
        assert second.header("content-type") is None
        assert second.header("content-length") is None


@scenario()
def redirect_to_another_origin_drops_credentials(env: Env) -> Steps:
    env.server.script(redirect(307, env.other.url("/there")))
    env.other.script(stream(event("x"), DONE))
    headers = {"Authorization": "Bearer sk-secret", "Cookie": "session=abc", "X-Trace": "t-1"}
    out = yield Call(env.server.url("/here"), headers=headers)
    out.ok()
    assert out.items == [sse("x")]
    [here] = env.server.requests
    assert here.header("authorization") == "Bearer sk-secret"
    assert here.header("cookie") == "session=abc"
    [there] = env.other.requests
    assert there.target == "/there"
    assert there.header("host") == env.other.netloc
    assert there.header("authorization") is None
    assert there.header("cookie") is None
    assert there.header("x-trace") == "t-1"


@scenario()
def redirect_to_https(env: Env) -> Steps:
    env.server.script(redirect(302, env.tls.url("/secure")))
    env.tls.script(stream(event("s"), DONE))
    out = yield Call(env.server.url(), ssl_context=certificates().client_context())
    out.ok()
    assert out.items == [sse("s")]
    assert env.tls.requests[0].header("host") == env.tls.netloc


@scenario()
def too_many_redirects(env: Env) -> Steps:
    env.server.script(then=redirect(302, "/again"))
    out = yield Call(env.server.url(), max_redirects=3, reconnect=FAST)
    out.raised(sseio.TooManyRedirects)
    assert len(env.server.requests) == 4  # the request and three redirects, never retried
    out = yield Call(env.server.url())
    out.raised(sseio.TooManyRedirects)
    assert len(env.server.requests) == 4 + 11


@scenario()
def redirect_without_location(env: Env) -> Steps:
    env.server.script(redirect(302, None), then=stream(DONE))
    out = yield Call(env.server.url())
    error = out.raised(sseio.ResponseError)
    assert error.status_code == 302


@scenario(
    cases={
        "ftp": "ftp://127.0.0.1/file",
        "no-host": "http:///nowhere",
        "bad-port": "http://127.0.0.1:99999/",
        "bad-ipv6": "http://[::1/x",
    }
)
def redirect_to_unusable_location(env: Env, case: str) -> Steps:
    # The server sent a location the client cannot follow: the server's fault, not a
    # misuse of the API by the caller.
    env.server.script(redirect(302, case), then=stream(DONE))
    out = yield Call(env.server.url())
    error = out.raised(sseio.SSEError)
    assert not isinstance(error, sseio.UsageError), _describe(error)
    assert isinstance(error, (sseio.ProtocolError, sseio.ResponseError))


# --- time limits --------------------------------------------------------------------------


@scenario()
def silent_server_trips_read_timeout(env: Env) -> Steps:
    env.server.script(silent())
    out = yield Call(env.server.url(), timeout=Timeout(connect=2, read=0.2))
    error = out.raised(sseio.ReadTimeout)
    assert isinstance(error, sseio.TransportTimeout)
    assert isinstance(error.__cause__, TimeoutError)
    assert not out.opened
    assert 0.15 < out.elapsed < 2
    assert_client_closed(env.server)


@scenario()
def silence_mid_stream_trips_read_timeout(env: Env) -> Steps:
    env.server.script(stream(event("a"), hold=True))
    out = yield Call(env.server.url(), timeout=Timeout(read=0.2))
    error = out.raised(sseio.ReadTimeout)
    assert isinstance(error.__cause__, TimeoutError)
    assert out.items == [sse("a")]
    assert_client_closed(env.server)


@scenario(cases={"every-50ms": 0.05, "flood": 0.0})
def keepalives_only_trip_event_timeout(env: Env, case: float) -> Steps:
    text = b": keepalive\n\n" if case else b": " + b"k" * 4000 + b"\n\n"
    env.server.script(
        stream(event("a", id="1"), keepalive=case, keepalive_text=text, keepalive_for=1.2)
    )
    out = yield Call(env.server.url(), timeout=Timeout(read=1.0, event=0.25), comments=bool(case))
    error = out.raised(sseio.EventTimeout)
    assert not isinstance(error, sseio.ReadTimeout)
    assert out.items[0] == sse("a", id="1")
    if case:
        assert len(out.items) > 3
        assert set(out.items[1:]) == {Comment("keepalive")}
    assert 0.2 < out.elapsed < 1.0
    assert_client_closed(env.server)


@scenario()
def events_keep_event_timeout_away(env: Env) -> Steps:
    pieces: list[Piece] = []
    for number in range(4):
        pieces += [event(str(number)), 0.1]
    env.server.script(stream(*pieces, DONE))
    out = yield Call(env.server.url(), timeout=Timeout(read=1.0, event=0.25))
    out.ok()
    assert out.items == [sse(str(n)) for n in range(4)]
    assert out.elapsed > 0.4


@scenario()
def closed_port_gives_connect_error(env: Env) -> Steps:
    port = closed_port()
    out = yield Call(f"http://127.0.0.1:{port}/", timeout=Timeout(connect=2))
    error = out.raised(sseio.ConnectError)
    assert not isinstance(error, sseio.TransportTimeout)
    assert isinstance(error.__cause__, OSError)
    assert str(port) in str(error)
    assert out.elapsed < 2


@scenario()
def tls_handshake_counts_toward_connect_timeout(env: Env) -> Steps:
    # An https URL on a plain server that never answers the TLS hello.
    out = yield Call(
        env.server.url().replace("http://", "https://"), timeout=Timeout(connect=0.2, read=2)
    )
    error = out.raised(sseio.ConnectTimeout)
    assert isinstance(error, sseio.ConnectError)
    assert isinstance(error.__cause__, TimeoutError)
    assert 0.15 < out.elapsed < 2
    assert env.server.requests == []
    assert_client_closed(env.server)


@scenario()
def event_timeout_reconnects_when_allowed(env: Env) -> Steps:
    env.server.script(
        stream(event("a", id="1"), keepalive=0.05, keepalive_for=2.0),
        stream(event("b", id="2"), DONE),
    )
    out = yield Call(
        env.server.url(),
        timeout=Timeout(read=1.0, event=0.2),
        reconnect=Reconnect(delay=0.01, jitter=0, max_attempts=1),
    )
    out.ok()
    assert out.items == [sse("a", id="1"), sse("b", id="2")]
    assert [r.header("last-event-id") for r in env.server.requests] == [None, "1"]


@scenario()
def request_body_stuck_trips_write_timeout(env: Env) -> Steps:
    body = b"x" * (64 * 1024 * 1024)
    with stuck_listener() as port:
        out = yield Call(
            f"http://127.0.0.1:{port}/",
            method="POST",
            content=body,
            timeout=Timeout(write=0.2, read=2),
        )
    error = out.raised(sseio.WriteTimeout)
    assert isinstance(error, sseio.WriteError)
    assert isinstance(error.__cause__, TimeoutError)
    assert 0.15 < out.elapsed < 2


# --- broken HTTP --------------------------------------------------------------------------


@scenario(
    cases={
        "garbage": b"HELLO WORLD\r\n\r\n",
        "bad-status-code": b"HTTP/1.1 2x0 OK\r\n\r\n",
        "header-without-colon": _STREAM_HEAD + b"not a header\r\n\r\n",
        "bad-chunk-size": _STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        "two-lengths": _STREAM_HEAD + b"Content-Length: 5\r\nContent-Length: 7\r\n\r\n",
    }
)
def malformed_http(env: Env, case: bytes) -> Steps:
    env.server.script(raw(case, hold=True))
    out = yield Call(env.server.url())
    error = out.raised(sseio.RemoteProtocolError)
    if b"chunked" in case:
        # sseio de-chunks bodies itself: no foreign exception underneath to chain.
        assert "invalid chunk size line" in str(error)
    else:
        assert error.__cause__ is not None
        assert not isinstance(error.__cause__, sseio.SSEError)
    assert out.items == []
    assert_client_closed(env.server)


@scenario(cases={"chunked": "chunked", "length": "length"})
def body_cut_short(env: Env, case: Framing) -> Steps:
    first = event("a", id="1")
    env.server.script(stream(first + event("b", id="2"), framing=case, cut_after=len(first) + 5))
    out = yield Call(env.server.url())
    error = out.raised(sseio.RemoteProtocolError)
    if case == "chunked":  # sseio's own de-chunker: nothing foreign to chain
        assert "closed the connection inside a chunked body" in str(error)
    else:
        assert error.__cause__ is not None
    assert out.items == [sse("a", id="1")]
    assert out.last_event_id == "1"


@scenario()
def closed_without_response(env: Env) -> Steps:
    env.server.script(closed())
    out = yield Call(env.server.url())
    out.raised(sseio.RemoteProtocolError)
    assert not out.opened


@scenario(
    cases={
        "one-long-header": _STREAM_HEAD + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n" + DONE,
        "many-headers": _STREAM_HEAD + b"X-Many: 0123456789\r\n" * 5000 + b"\r\n" + DONE,
    }
)
def oversized_response_head(env: Env, case: bytes) -> Steps:
    env.server.script(raw(case, hold=True))
    out = yield Call(env.server.url())
    error = out.raised(sseio.RemoteProtocolError)
    assert error.__cause__ is not None
    assert not out.opened
    assert_client_closed(env.server)


@scenario()
def reset_mid_stream(env: Env) -> Steps:
    first = event("a", id="1")
    env.server.script(stream(first, 0.2, b"data: partial", cut_after=len(first) + 5, reset=True))
    out = yield Call(env.server.url())
    error = out.raised(sseio.ReadError)
    assert not isinstance(error, sseio.TransportTimeout)
    assert error.__cause__ is not None
    assert out.items == [sse("a", id="1")]


@scenario()
def invalid_compressed_body(env: Env) -> Steps:
    headers = [("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip")]
    env.server.script(Reply(headers=headers, body=[b"this is not gzip at all"], framing="length"))
    out = yield Call(env.server.url())
    error = out.raised(sseio.RemoteProtocolError)
    assert isinstance(error.__cause__, zlib.error)
    headers = [("Content-Type", "text/event-stream"), ("Content-Encoding", "br")]
    env.server.script(Reply(headers=headers, body=[event("a")], framing="length"))
    out = yield Call(env.server.url())
    error = out.raised(sseio.RemoteProtocolError)
    assert "br" in str(error)


@scenario()
def limit_exceeded_keeps_earlier_events(env: Env) -> Steps:
    env.server.script(stream(event("a") + b"data: " + b"x" * 4096 + b"\n\n"), then=stream(DONE))
    out = yield Call(env.server.url(), max_line_size=1024, reconnect=FAST)
    error = out.raised(sseio.LimitExceeded)
    assert (error.limit_name, error.limit) == ("max_line_size", 1024)
    assert out.items == [sse("a")]  # nothing already received is lost
    assert len(env.server.requests) == 1  # a limit is not retried
    assert_client_closed(env.server)


# --- reconnection -------------------------------------------------------------------------

RESUME = Reconnect(delay=0.005, jitter=0, backoff=1, max_attempts=None, max_elapsed=8.0)
RESUMABLE_CUTS: list[Cut] = [
    0,
    1,
    5,
    inside("\r\n", offset=1),
    inside("\r\n\r\n", offset=1),
    inside("\r\n\r\n", offset=2),
    inside("\r\n\r\n", offset=3),
    inside("\r\n\r\n", offset=4),
    inside("\u00e9", offset=1),
    inside("\u20ac", offset=1),
    inside("\u20ac", offset=2),
    inside("\U0001f600", offset=1),
    inside("\U0001f600", offset=2),
    inside("\U0001f600", offset=3),
    inside("\r\n", nth=7, offset=1),
    inside("\U0001f600", nth=2, offset=2),
    inside("\r\n\r\n", nth=3, offset=3),
    100,
    161,
    250,
    333,
    401,
    512,
    777,
    inside("\u20ac", nth=9, offset=2),
]


EVERY_OFFSET: list[Cut] = list(range(90))
"""Cuts at every byte of the first event, then at every byte of the next ones in turn."""


@scenario(
    cases={
        "framings": (RESUMABLE_CUTS, ("chunked", "length", "close"), None, False),
        "gzip": (RESUMABLE_CUTS, ("chunked", "close"), "gzip", False),
        "resets": (RESUMABLE_CUTS, ("chunked",), None, True),
        "every-offset": (EVERY_OFFSET, ("chunked", "close"), None, False),
    }
)
def resumable_stream_survives_cuts(
    env: Env, case: tuple[list[Cut], Sequence[Framing], Encoding | None, bool]
) -> Steps:
    cuts, framings, encoding, reset = case
    script = Resumable(100, cuts=cuts, framings=framings, encoding=encoding, reset=reset)
    env.server.script(then=script)
    out = yield Call(env.server.url("/events"), reconnect=RESUME, deadline=20)
    out.ok()
    assert out.items == resumable_events(100)  # every event once, in order
    assert out.done
    assert out.last_event_id == "100"
    assert [cut is not None for _, cut in script.log] == [True] * len(cuts) + [False]
    resumed = [after for after, _ in script.log]
    assert resumed == sorted(resumed)
    sent = [request.header("last-event-id") for request in env.server.requests]
    assert sent == [str(after) if after else None for after in resumed]


@scenario()
def retry_field_sets_reconnection_time(env: Env) -> Steps:
    env.server.script(
        stream(b"retry: 250\n" + event("a", id="1"), framing="close"),
        stream(event("b", id="2"), DONE),
    )
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    out.ok()
    assert out.items == [sse("a", id="1", retry=250), sse("b", id="2")]
    assert out.retry == 250
    first, second = env.server.connections
    assert first.closed_at is not None
    assert second.opened_at - first.closed_at > 0.24
    # Without ``retry:`` the policy's own delay applies.
    env.server.script(stream(event("a", id="1"), framing="close"), stream(event("b"), DONE))
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    out.ok()
    assert out.retry is None
    third, fourth = env.server.connections[2:]
    assert third.closed_at is not None
    assert fourth.opened_at - third.closed_at < 0.24


@scenario()
def last_event_id_sent_only_when_not_empty(env: Env) -> Steps:
    env.server.script(
        stream(event("a", id="5"), framing="close"),
        stream(event("b", id=""), framing="close"),  # a bare ``id`` line clears it
        stream(event("c"), DONE),
    )
    out = yield Call(env.server.url(), reconnect=FAST)
    out.ok()
    assert out.items == [sse("a", id="5"), sse("b"), sse("c")]
    assert [r.header("last-event-id") for r in env.server.requests] == [None, "5", None]
    # An ID given by the caller goes out on every attempt until the server sends another.
    env.server.script(stream(event("d"), framing="close"), stream(DONE))
    out = yield Call(env.server.url(), reconnect=FAST, last_event_id="41")
    out.ok()
    assert out.items == [sse("d", id="41")]
    assert [r.header("last-event-id") for r in env.server.requests[3:]] == ["41", "41"]


@scenario()
def gives_up_after_max_attempts_with_the_last_error(env: Env) -> Steps:
    first = event("a", id="1")
    env.server.script(
        stream(first + event("b", id="2"), cut_after=len(first) + 3),
        closed(),
        silent(),
        then=stream(DONE),
    )
    out = yield Call(
        env.server.url(),
        reconnect=Reconnect(delay=0.01, jitter=0, max_attempts=2),
        timeout=Timeout(read=0.2),
    )
    out.raised(sseio.ReadTimeout)  # the last error, not the first
    assert out.items == [sse("a", id="1")]
    assert len(env.server.connections) == 3
    assert [r.header("last-event-id") for r in env.server.requests] == [None, "1", "1"]


@scenario()
def gives_up_after_max_elapsed(env: Env) -> Steps:
    env.server.script(then=closed())
    policy = Reconnect(delay=0.04, jitter=0, backoff=1, max_attempts=None, max_elapsed=0.2)
    out = yield Call(env.server.url(), reconnect=policy)
    out.raised(sseio.RemoteProtocolError)
    assert 0.2 < out.elapsed < 2
    assert 3 <= len(env.server.connections) <= 7


@scenario()
def backoff_grows_between_failures(env: Env) -> Steps:
    env.server.script(closed(), closed(), closed(), stream(event("ok"), DONE))
    out = yield Call(
        env.server.url(), reconnect=Reconnect(delay=0.03, backoff=2, jitter=0, max_attempts=5)
    )
    out.ok()
    assert out.items == [sse("ok")]
    waits = gaps([c.opened_at for c in env.server.connections])
    assert waits[0] > 0.028
    assert waits[1] > 0.058
    assert waits[2] > 0.118


@scenario()
def too_many_requests_and_unavailable_wait_and_retry(env: Env) -> Steps:
    busy = {"error": {"message": "slow down"}}
    env.server.script(
        json_reply(429, busy, headers=[("Retry-After", "1")]), stream(event("a"), DONE)
    )
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    out.ok()
    assert out.items == [sse("a")]
    waits = gaps([c.opened_at for c in env.server.connections])
    assert waits[0] > 0.95  # Retry-After: 1
    env.server.script(text_reply(503, "busy", "text/plain"), stream(event("b"), DONE))
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    out.ok()
    assert out.items == [sse("b")]
    assert len(env.server.connections) == 4
    # Without a reconnect policy the 429 is raised with what the server said.
    env.server.script(json_reply(429, busy, headers=[("Retry-After", "7")]))
    out = yield Call(env.server.url())
    error = out.raised(sseio.ResponseError)
    assert (error.status_code, error.header("retry-after")) == (429, "7")
    assert "slow down" in str(error)


@scenario(cases={"default": False, "retry_body": True})
def request_body_retried_after_response_only_on_request(env: Env, case: bool) -> Steps:
    script = Resumable(5, cuts=[inside("\r\n\r\n", nth=1, offset=4)])
    env.server.script(then=script)
    out = yield Call(
        env.server.url(),
        method="POST",
        json={"q": 1},
        reconnect=Reconnect(delay=0.01, jitter=0, retry_body=case),
    )
    requests = env.server.requests
    if case:
        out.ok()
        assert out.items == resumable_events(5)
        assert [(r.method, r.body) for r in requests] == [("POST", b'{"q":1}')] * 2
        assert requests[1].header("last-event-id") == "2"
    else:
        out.raised(sseio.RemoteProtocolError)
        assert out.items == resumable_events(2)
        assert len(requests) == 1


@scenario()
def request_body_retried_before_response(env: Env) -> Steps:
    env.server.script(closed(), stream(event("a"), DONE))
    out = yield Call(env.server.url(), method="POST", json={"q": 1}, reconnect=FAST)
    out.ok()
    assert out.items == [sse("a")]
    assert [(r.method, r.body) for r in env.server.requests] == [("POST", b'{"q":1}')] * 2


@scenario()
def clean_end_reconnects_unless_told(env: Env) -> Steps:
    env.server.script(stream(event("a", id="1")), stream(event("b", id="2"), DONE))
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0))
    out.ok()
    assert out.items == [sse("a", id="1"), sse("b", id="2")]
    assert [r.header("last-event-id") for r in env.server.requests] == [None, "1"]
    env.server.script(stream(event("c")), then=stream(DONE))
    out = yield Call(env.server.url(), reconnect=Reconnect(delay=0.01, jitter=0, on_end=False))
    out.ok()
    assert out.items == [sse("c")]
    assert not out.done
    assert len(env.server.requests) == 3


# --- TLS and IPv6 -------------------------------------------------------------------------


@scenario()
def tls_with_trusted_ca(env: Env) -> Steps:
    env.tls.script(stream(event("secure", id="1"), DONE))
    out = yield Call(env.tls.url("/tls"), ssl_context=certificates().client_context())
    out.ok()
    assert out.items == [sse("secure", id="1")]
    [request] = env.tls.requests
    assert request.header("host") == env.tls.netloc


@scenario()
def tls_without_verification(env: Env) -> Steps:
    env.tls.script(stream(event("anyway"), DONE))
    out = yield Call(env.tls.url(), verify=False)
    out.ok()
    assert out.items == [sse("anyway")]


@scenario(cases={"wrong-host": True, "unknown-ca": False})
def tls_certificate_refused(env: Env, case: bool) -> Steps:
    if case:
        env.tls.tls = certificates().wrong_host
        call = Call(env.tls.url(), ssl_context=certificates().client_context())
    else:
        call = Call(env.tls.url())  # default trust: certifi, which knows no trustme CA
    env.tls.script(then=stream(DONE))
    out = yield call
    error = out.raised(sseio.ConnectError)
    assert not isinstance(error, sseio.TransportTimeout)
    assert error.__cause__ is not None
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in causes(error))
    assert env.tls.requests == []


@scenario()
def ipv6_literal(env: Env) -> Steps:
    if env.v6 is None:
        pytest.skip("this machine has no IPv6 loopback")
    env.v6.script(stream(event("six"), DONE))
    out = yield Call(env.v6.url("/v6"))
    out.ok()
    assert out.items == [sse("six")]
    [request] = env.v6.requests
    assert request.header("host") == f"[::1]:{env.v6.port}"
    assert request.target == "/v6"


# --- clients and their keep-alive pool ----------------------------------------------------


@scenario()
def pool_reuses_a_connection_read_to_its_end(env: Env) -> Steps:
    env.server.script(then=stream(event("a", id="1"), DONE, event("never")))
    url = env.server.url("/pooled")
    result = yield Session(Call(url), Call(url), Call(url))
    for out in result.outcomes:
        out.ok()
        assert out.items == [sse("a", id="1")]
        assert out.done
    assert result.idle == [1, 1, 1]
    assert len(env.server.connections) == 1
    assert len(env.server.requests) == 3
    assert_client_closed(env.server)  # closing the client closed the pooled socket


@scenario()
def pool_keeps_only_clean_connections(env: Env) -> Steps:
    env.server.script(
        stream(event("a"), DONE, 0.3),  # the body does not end within the drain
        stream(event("b"), keepalive=0.05),  # the caller stops early
        stream(event("c"), DONE, framing="close"),  # the server ends the connection
        stream(event("d"), DONE, cut_after=len(event("d")) + 2),  # broken body
        then=stream(event("e"), DONE),
    )
    url = env.server.url()
    result = yield Session(Call(url), Call(url, take=1), Call(url), Call(url), Call(url))
    [first, second, third, fourth, fifth] = result.outcomes
    for out in (first, second, third, fifth):
        out.ok()
    fourth.raised(sseio.RemoteProtocolError)
    assert [out.items for out in result.outcomes] == [
        [sse("a")],
        [sse("b")],
        [sse("c")],
        [sse("d")],
        [sse("e")],
    ]
    assert result.idle == [0, 0, 0, 0, 1]
    assert len(env.server.connections) == 5
    assert all(len(conn.requests) == 1 for conn in env.server.connections)


@scenario()
def pool_is_per_origin(env: Env) -> Steps:
    env.server.script(then=stream(event("here"), DONE))
    env.other.script(then=stream(event("there"), DONE))
    here, there = env.server.url(), env.other.url()
    result = yield Session(Call(here), Call(there), Call(here), Call(there))
    assert [out.items for out in result.outcomes] == [[sse("here")], [sse("there")]] * 2
    assert result.idle == [1, 2, 2, 2]
    assert (len(env.server.connections), len(env.other.connections)) == (1, 1)


@scenario()
def pool_replaces_a_connection_the_server_closed(env: Env) -> Steps:
    env.server.script(stream(event("a"), DONE, keep_alive=False), then=stream(event("b"), DONE))
    url = env.server.url()
    result = yield Session(Call(url), Call(url, deadline=5))
    first, second = result.outcomes
    first.ok()
    second.ok()
    assert second.items == [sse("b")]
    assert len(env.server.connections) == 2
    assert len(env.server.requests) == 2


@scenario()
def client_base_url_and_default_headers(env: Env) -> Steps:
    env.server.script(then=stream(DONE))
    result = yield Session(
        Call("chat?x=1", headers={"X-Default": "call"}),
        Call("/other"),  # relative to the base path, as in httpx
        base_url=env.server.url("/v1/"),
        headers={"Authorization": "Bearer k", "X-Default": "client"},
    )
    for out in result.outcomes:
        out.ok()
    first, second = env.server.requests
    assert (first.target, second.target) == ("/v1/chat?x=1", "/v1/other")
    assert first.header("x-default") == "call"
    assert second.header("x-default") == "client"
    assert first.header("authorization") == second.header("authorization") == "Bearer k"


# --- what a source reports: hooks, logs, counts ---------------------------------------------


class Recorder:
    """Hooks that keep every value they are called with, in order, by hook name."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def hooks(self) -> sseio.Hooks:
        def keep(name: str) -> Callable[[Any], None]:
            return lambda value: self.calls.append((name, value))

        names = ("request_sent", "response_received", "reconnect_scheduled", "stream_ended")
        return sseio.Hooks(**{name: keep(name) for name in names})

    def of(self, name: str) -> list[Any]:
        return [value for kind, value in self.calls if kind == name]


@scenario()
def hooks_see_every_request_response_and_reconnect(env: Env) -> Steps:
    env.server.script(
        stream(event("a", id="1"), framing="close"),
        json_reply(503, {"error": "busy"}, headers=[("Retry-After", "0")]),
        stream(event("b", id="2"), DONE),
    )
    seen = Recorder()
    out = yield Call(
        env.server.url("/feed"),
        headers={"Authorization": "Bearer s3cret"},
        reconnect=Reconnect(delay=0.01, jitter=0),
        hooks=seen.hooks(),
    )
    out.ok()
    assert out.items == [sse("a", id="1"), sse("b", id="2")]
    assert out.reconnects == 2
    sent = seen.of("request_sent")
    assert [request.attempt for request in sent] == [0, 1, 2]
    assert all(request.url == env.server.url("/feed") for request in sent)
    assert ("Authorization", "[redacted]") in sent[0].headers
    assert "s3cret" not in repr(seen.calls)
    assert ("Last-Event-ID", "1") in sent[1].headers
    assert [response.status_code for response in seen.of("response_received")] == [200, 503, 200]
    reconnects = seen.of("reconnect_scheduled")
    assert [(r.reason, r.attempt) for r in reconnects] == [("stream ended", 1), ("status 503", 2)]
    assert reconnects[0].error is None
    assert isinstance(reconnects[1].error, sseio.ResponseError)
    [ended] = seen.of("stream_ended")
    assert (ended.events, ended.reconnects, ended.done, ended.error) == (2, 2, True, None)
    assert ended.bytes == len(event("a", id="1") + event("b", id="2") + DONE)
    assert ended.duration > 0
    assert seen.calls[-1][0] == "stream_ended"  # the last word, once


@scenario()
def giving_up_is_reported_with_its_error(env: Env) -> Steps:
    env.server.script(silent(), silent())
    seen = Recorder()
    out = yield Call(
        env.server.url(),
        timeout=sseio.Timeout(connect=3.0, read=0.2, write=3.0),
        reconnect=Reconnect(delay=0.01, jitter=0, max_attempts=1),
        hooks=seen.hooks(),
    )
    error = out.raised(sseio.ReadTimeout)
    [reconnect] = seen.of("reconnect_scheduled")
    assert (reconnect.reason, reconnect.attempt) == ("read timeout", 1)
    [ended] = seen.of("stream_ended")
    assert ended.error is error
    assert (ended.events, ended.reconnects, ended.done) == (0, 1, False)


class StopAtFirstFailure(Exception):
    pass


@scenario()
def a_hook_that_raises_ends_the_stream_and_keeps_its_state(env: Env) -> Steps:
    env.server.script(stream(b"retry: 40\n" + event("a", id="7"), framing="close"))

    def refuse(scheduled: sseio.ReconnectScheduled) -> None:
        raise StopAtFirstFailure(scheduled.reason)

    out = yield Call(
        env.server.url(),
        reconnect=Reconnect(delay=0.01, jitter=0),
        hooks=sseio.Hooks(reconnect_scheduled=refuse),
    )
    assert isinstance(out.error, StopAtFirstFailure)
    assert str(out.error) == "stream ended"
    assert out.items == [sse("a", id="7", retry=40)]
    assert (out.last_event_id, out.retry) == ("7", 40)
    assert len(env.server.connections) == 1


@scenario()
def retry_argument_is_the_first_reconnection_time(env: Env) -> Steps:
    env.server.script(stream(event("a", id="1"), framing="close"), stream(event("b"), DONE))
    out = yield Call(env.server.url(), retry=300, reconnect=Reconnect(delay=0.01, jitter=0))
    out.ok()
    assert out.items == [sse("a", id="1"), sse("b", id="1")]
    assert out.retry == 300
    first, second = env.server.connections
    assert first.closed_at is not None
    assert second.opened_at - first.closed_at > 0.29
    for wrong in (-1, True, 2.5, "300"):
        out = yield Call(env.server.url(), retry=wrong)
        assert "retry must be a non-negative int" in str(out.raised(sseio.UsageError))


@scenario()
def reconnects_are_logged_and_credentials_are_not(env: Env) -> Steps:
    env.server.script(stream(event("a"), framing="close"), stream(event("b"), DONE))
    lines: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lines.append  # type: ignore[method-assign]
    logger = logging.getLogger("sseio")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        out = yield Call(
            env.server.url("/x"),
            headers={"Authorization": "Bearer s3cret", "Cookie": "id=s3cret"},
            reconnect=Reconnect(delay=0.01, jitter=0),
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    out.ok()
    text = [(record.name, record.levelname, record.getMessage()) for record in lines]
    assert all(name == "sseio.client" for name, _, _ in text)
    assert not any("s3cret" in message for _, _, message in text)
    infos = [message for _, level, message in text if level == "INFO"]
    assert infos == [f"reconnecting to {env.server.url('/x')} in 0.01s (attempt 1, stream ended)"]
    debug = [message for _, level, message in text if level == "DEBUG"]
    assert sum(message.startswith("connecting to 127.0.0.1") for message in debug) == 2
    assert sum(message.startswith("sent GET") for message in debug) == 2
    assert sum("answered 200 OK" in message for message in debug) == 2
