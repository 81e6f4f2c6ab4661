"""Server adapter: serve event streams (and plain answers) over HTTP/1.1, on anyio + h11.

``SSEServer`` calls an async *handler* once per request with a ``Request``
(method, target, headers, body) and sends what it returns: a plain
``Response``, or an ``EventStream`` whose async iterable of events, comments,
``DONE`` and pre-encoded bytes is written as it is produced, one HTTP chunk per
item, with keepalive comments while the handler is quiet.  It runs on asyncio
and trio alike, in the caller's event loop (``async with SSEServer(...)``,
``await server.serve()``) or in a background thread (``serve_in_thread``).

What it guarantees:

- HTTP/1.1 with persistent connections (several requests one after another on
  a connection), ``Content-Length`` and chunked request bodies,
  ``Expect: 100-continue``, ``HEAD`` (headers without the body) and
  ``Connection: close``.  A body over ``max_request_size`` gets 413, a
  malformed request 400 (431 for an oversized head), a request not complete
  within ``request_timeout`` 408; each then closes the connection.  Error
  answers are JSON: ``{"error": {"message": ..., "type": ...}}``.
- The handler's mistakes stay on its connection: an exception before the
  answer starts gives a 500 (and is logged on the ``sseio.server`` logger); an
  exception, a bad event (``EncodeError``) or ``AbortConnection`` while
  streaming closes the connection without the last chunk, so the client sees
  a broken body instead of a clean end.  Other connections carry on.
- A stream stops promptly when its client goes away (the socket is watched
  while streaming) or stops reading (each send is bounded by
  ``send_timeout``): the handler's iterator is closed with ``aclose()``, so its
  ``finally`` blocks run, and the socket is closed.
- Shutdown (``shutdown()``, leaving ``async with``, cancelling ``serve()``)
  stops accepting, closes idle keep-alive connections, gives running requests
  ``shutdown_grace`` seconds to finish and then cancels them.  It is not cut
  short by cancellation, so it always ends with every socket closed and the
  port free.
- No anyio, h11 or ``OSError`` exception reaches the caller: failing to
  listen raises ``TransportError``, bad arguments ``UsageError``; everything
  that happens on a connection is handled on that connection.

Strategy: an idle stream is what a server holds most of, so a connection is
kept small (about 8 KiB at 10,000 idle streams on asyncio:
``benchmarks/bench_server.py``).  It is a plain non-blocking socket waited on
through anyio, in a slotted ``_Connection``.  On asyncio it runs in one plain
task, and while it streams the client is watched by an ``add_reader`` callback
and keepalives are timed by ``call_at``; elsewhere (trio) a second task, spawned
into the server's connection group, does both.  A client found gone cancels the
connection's scope, so a stream needs no scope or task group of its own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import sys
from collections.abc import (
    AsyncIterator,
    Iterable,
    Iterator,
)
from contextlib import contextmanager
from enum import Enum
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import h11
from anyio.streams.stapled import MultiListener

from .._core.encoder import encode_comment
from .._core.errors import TransportError, UsageError
from .._io.anyio_socket import SocketStream
from ._messages import (
    FRAMING_HEADERS,
    NO_BODY_STATUSES,
    SERVER_ERROR,
    AbortConnection,
    BadRequest,
    EventStream,
    Handler,
    Request,
    Response,
    StreamItem,
    check_interval,
    encode_headers,
    encode_item,
    error_response,
    merge_headers,
    reason_phrase,
    split_target,
)

__all__ = [
    "AbortConnection",
    "BadRequest",
    "EventStream",
    "Handler",
    "Request",
    "Response",
    "SSEServer",
    "serve_in_thread",
]

logger = logging.getLogger("sseio.server")

_READ_SIZE = 64 * 1024
_MAX_HEAD_SIZE = 64 * 1024
"""The largest request line plus headers accepted (431 beyond)."""
_PIPELINE_LIMIT = 64 * 1024
"""Bytes of a next request kept while a stream runs; past it the socket is no longer read."""
_CLOSE_TIMEOUT = 5.0
"""How long a handler's iterator may take to close (its ``finally`` blocks)."""
_LINGER = 1.0
"""After an error answer, how long unread request bytes are drained before closing, so the
client reads the answer instead of a reset."""
_ACCEPT_BACKOFF = 0.1
"""Pause after a failed accept (out of file descriptors and the like)."""

_KEEPALIVE = encode_comment("keepalive") + b"\n"
_STREAM_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
)
_GONE = (OSError, anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError)
"""What a socket raises when the peer went away or the socket was closed."""

# --- connections ----------------------------------------------------------------------------


class _ConnectionLost(Exception):
    """Sending failed or timed out: the connection is finished."""


class _Outcome(Enum):
    COMPLETE = "the events ended"
    LOST = "the client went away or stopped reading"
    ABORTED = "the handler aborted the connection"
    FAILED = "the handler failed"


class _WriteTurn:
    """Mutual exclusion for the writes of one stream (its items and its keepalives).

    Unlike ``anyio.Lock`` it does not yield to the event loop when free: taking
    it costs nothing on the path of every event, and the send that follows is
    the checkpoint.
    """

    __slots__ = ("_released", "_taken")

    def __init__(self) -> None:
        self._taken = False
        self._released: anyio.Event | None = None

    async def __aenter__(self) -> None:
        while self._taken:
            if self._released is None:
                self._released = anyio.Event()
            await self._released.wait()
        self._taken = True

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    @property
    def taken(self) -> bool:
        return self._taken

    def take_nowait(self) -> None:
        """Take the turn from a callback (it must be free)."""
        assert not self._taken
        self._taken = True

    def release(self) -> None:
        self._taken = False
        released, self._released = self._released, None
        if released is not None:
            released.set()


class _Connection:
    """One accepted socket, its HTTP state, and what the server knows about it.

    Slotted, and kept small: ten thousand idle streams hold ten thousand of these.
    The socket is a plain non-blocking one waited on through anyio (no transport,
    protocol, queue or events of its own), and while a stream runs its cancel
    scope and its watcher's are the only per-stream objects beside the handler's.
    """

    __slots__ = (
        "client",
        "fd",
        "http",
        "idle",
        "keepalive",
        "last_write",
        "lost",
        "method",
        "read",
        "scope",
        "stream",
        "streaming",
        "timer",
        "watch_scope",
        "watcher_done",
        "watching",
        "write_turn",
    )

    def __init__(self, sock: socket.socket, client: tuple[str, int]) -> None:
        self.stream = SocketStream(sock)
        self.fd = sock.fileno()
        self.http = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD_SIZE)
        self.scope = anyio.CancelScope()
        self.client = client
        self.idle = True  # waiting for a request that has not started: shutdown closes it
        self.method = b""  # of the request being answered
        self.lost = False  # the client went away, or a send failed, while streaming
        self.write_turn = _WriteTurn()
        self.last_write = 0.0
        self.streaming = False  # an event stream is being written
        self.watch_scope: anyio.CancelScope | None = None  # the watcher's
        self.watching = False  # the watcher task runs
        self.watcher_done: anyio.Event | None = None  # set when it ends, if someone waits
        # The asyncio watcher (callbacks, no task): the keepalive interval, the bytes of
        # the next request read so far (-1: not reading), the pending keepalive timer.
        self.keepalive: float | None = None
        self.read = -1
        self.timer: asyncio.TimerHandle | None = None


def _accepted(sock: socket.socket) -> tuple[str, int] | None:
    """Prepare an accepted socket; its peer's ``(host, port)``, or ``None`` if it is gone."""
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        address = sock.getpeername()
    except OSError:
        sock.close()
        return None
    return str(address[0]), int(address[1])


# --- the server -----------------------------------------------------------------------------


class SSEServer:
    """An HTTP/1.1 server that answers each request with ``await handler(request)``.

    ``async with SSEServer(handler) as server:`` listens on ``host:port`` (port 0:
    one the system picks; ``server.port`` and ``server.url`` tell it) and serves in
    the background until the block ends; ``await server.serve()`` serves until
    cancelled.  Options, in seconds and bytes: ``keepalive`` is the quiet time
    before a stream gets a keepalive comment (``None``: never), ``send_timeout``
    bounds each write to a client, ``request_timeout`` the wait for a complete
    request (and for the next one on an idle connection), ``max_request_size`` a
    request body, ``shutdown_grace`` the time running requests get at shutdown.
    See the module doc for what it guarantees.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive: float | None = 15.0,
        send_timeout: float = 30.0,
        request_timeout: float = 30.0,
        max_request_size: int = 8 * 1024 * 1024,
        shutdown_grace: float = 5.0,
    ) -> None:
        if not callable(handler):
            raise UsageError(f"handler must be an async callable, got {handler!r}")
        if not isinstance(host, str):
            raise UsageError(f"host must be a str, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise UsageError(f"port must be an int from 0 to 65535, got {port!r}")
        check_interval(keepalive, "keepalive")
        for name, value in (("send_timeout", send_timeout), ("request_timeout", request_timeout)):
            if value is None:
                raise UsageError(f"{name} must be a positive number of seconds, got None")
            check_interval(value, name)
        if (
            isinstance(max_request_size, bool)
            or not isinstance(max_request_size, int)
            or max_request_size < 0
        ):
            raise UsageError(f"max_request_size must be an int >= 0, got {max_request_size!r}")
        if (
            isinstance(shutdown_grace, bool)
            or not isinstance(shutdown_grace, (int, float))
            or not 0 <= shutdown_grace < math.inf
        ):
            raise UsageError(
                f"shutdown_grace must be a number of seconds >= 0, got {shutdown_grace!r}"
            )
        self.handler = handler
        self.host = host
        self.port = port
        self.keepalive = keepalive
        self.send_timeout = send_timeout
        self.request_timeout = request_timeout
        self.max_request_size = max_request_size
        self.shutdown_grace = shutdown_grace
        self.active_streams = 0
        """Event streams being written right now."""
        self._started = False
        self._closing = False
        self._host_group: anyio.abc.TaskGroup | None = None
        self._connection_group: anyio.abc.TaskGroup | None = None
        self._accepting: anyio.CancelScope | None = None
        self._connections: set[_Connection] = set()
        self._native_tasks: set[asyncio.Task[None]] = set()
        """Connection tasks on asyncio (see ``_accept_on``)."""
        self._accept_done: anyio.Event | None = None
        self._connection_closed: anyio.Event | None = None
        self._stopped: anyio.Event | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` for clients (a wildcard host becomes the loopback address)."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # lifecycle

    async def __aenter__(self) -> SSEServer:
        """Listen, and serve in the background; returns at once."""
        if self._started:
            raise UsageError("an SSEServer can only be started once")
        self._started = True
        try:
            listener = await anyio.create_tcp_listener(
                local_host=self.host or None, local_port=self.port
            )
        except OSError as exc:
            raise TransportError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        first = listener.listeners[0]
        self.port = first.extra(anyio.abc.SocketAttribute.local_port)
        self._accepting = anyio.CancelScope()
        self._accept_done = anyio.Event()
        self._connection_closed = anyio.Event()
        self._stopped = anyio.Event()
        host_group = anyio.create_task_group()
        await host_group.__aenter__()
        self._host_group = host_group
        host_group.start_soon(self._run, listener)
        logger.debug("serving on %s", self.url)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Shut down gracefully (see ``shutdown``)."""
        host_group = self._host_group
        try:
            await self.shutdown()
        finally:
            assert host_group is not None
            await host_group.__aexit__(None, None, None)

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[SSEServer] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen, report the server through ``task_status.started(server)`` once the
        port is known, and serve until cancelled; then shut down gracefully."""
        async with self:
            task_status.started(self)
            await anyio.sleep_forever()

    async def _run(self, listener: MultiListener[anyio.abc.SocketStream]) -> None:
        """Accept and serve connections until ``shutdown()`` has finished.

        The connections live in a task group shielded from the caller's
        cancellation: cancelling the code that runs the server starts a graceful
        shutdown (in ``__aexit__``), and only ``shutdown()`` ends a connection early.
        """
        assert self._stopped is not None
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as connections:
                self._connection_group = connections
                connections.start_soon(self._accept_all, listener)
                await self._stopped.wait()
                connections.cancel_scope.cancel()  # nothing is left, unless a close hung
                for task in list(self._native_tasks):
                    task.cancel()

    async def shutdown(self) -> None:
        """Stop accepting, close idle connections, give running requests up to
        ``shutdown_grace`` seconds, then cancel them and close every socket.

        Idempotent (a second call waits for the first); not interrupted by
        cancellation, so it takes at most ``shutdown_grace`` plus the time
        iterators need to close (bounded).  A server never started has nothing to
        shut down, and cannot be started afterwards.
        """
        if self._stopped is None:
            self._started = True
            return
        if self._closing:
            with anyio.CancelScope(shield=True):
                await self._stopped.wait()
            return
        self._closing = True
        with anyio.CancelScope(shield=True):
            assert self._accepting is not None
            assert self._accept_done is not None
            self._accepting.cancel()
            await self._accept_done.wait()  # the listeners are closed: the port is free
            for connection in list(self._connections):
                if connection.idle:
                    connection.scope.cancel()
            with anyio.move_on_after(self.shutdown_grace):
                await self._wait_for_connections()
            for connection in list(self._connections):
                connection.scope.cancel()
            with anyio.move_on_after(_CLOSE_TIMEOUT + 1):
                await self._wait_for_connections()
        self._stopped.set()
        logger.debug("shut down %s", self.url)

    async def _wait_for_connections(self) -> None:
        while self._connections:
            self._connection_closed = anyio.Event()
            await self._connection_closed.wait()

    async def _accept_all(self, listener: MultiListener[anyio.abc.SocketStream]) -> None:
        assert self._accepting is not None
        try:
            with self._accepting:
                async with anyio.create_task_group() as task_group:
                    for one in listener.listeners:
                        assert isinstance(one, anyio.abc.SocketListener)
                        task_group.start_soon(self._accept, one)
        finally:
            try:
                await anyio.aclose_forcefully(listener)
            finally:
                assert self._accept_done is not None
                self._accept_done.set()

    async def _accept(self, listener: anyio.abc.SocketListener) -> None:
        """Accept on the listener's socket itself, so each connection is a plain socket."""
        raw = listener.extra(anyio.abc.SocketAttribute.raw_socket)
        raw.setblocking(False)
        await self._accept_on(raw)

    async def _accept_on(self, raw: socket.socket) -> None:
        loop = _selector_loop()
        while True:
            try:
                sock, _ = raw.accept()
            except (BlockingIOError, InterruptedError):
                try:
                    await anyio.wait_readable(raw)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    return
                continue
            except OSError as exc:
                if raw.fileno() < 0:
                    return
                logger.warning("accepting a connection failed: %s", exc)
                await anyio.sleep(_ACCEPT_BACKOFF)
                continue
            client = _accepted(sock)
            if client is None:
                continue
            connection = _Connection(sock, client)
            self._connections.add(connection)
            if loop is not None:
                # A plain asyncio task (anyio's cancel scopes work in it): about 2 KiB
                # less per connection than one spawned through the task group, whose
                # part in shutdown (cancelling what is left) ``_run`` does for these.
                task = loop.create_task(self._handle_connection(connection))
                self._native_tasks.add(task)
                task.add_done_callback(self._native_tasks.discard)
            else:
                assert self._connection_group is not None
                self._connection_group.start_soon(self._handle_connection, connection)

    async def _handle_connection(self, connection: _Connection) -> None:
        try:
            with connection.scope:  # the requests, one after another (no frame of their own)
                while not self._closing:
                    request = await self._receive_request(connection)
                    if request is None or not await self._answer(connection, request):
                        break
                    del request  # not kept while the connection waits for the next one
                    connection.http.start_next_cycle()
            if connection.lost:  # found by the watcher, which cancelled the scope
                logger.debug("connection from %s lost: %s", connection.client, _Outcome.LOST.value)
        except _ConnectionLost as exc:
            logger.debug("connection from %s lost: %s", connection.client, exc)
        except Exception:  # a bug: keep the server alive, and say so
            logger.exception("unexpected error on the connection from %s", connection.client)
        finally:
            try:
                await anyio.aclose_forcefully(connection.stream)
            finally:
                self._connections.discard(connection)
                assert self._connection_closed is not None
                self._connection_closed.set()

    # reading a request

    async def _receive_request(self, connection: _Connection) -> Request | None:
        """The next request, or ``None`` when the connection is to be closed (the
        client left, the request was refused, or it did not arrive in time)."""
        http = connection.http
        head: h11.Request | None = None
        body: list[bytes] = []
        size = 0
        connection.idle = not http.trailing_data[0]  # no byte of the next request yet
        connection.method = b""
        with anyio.move_on_after(self.request_timeout):
            while True:
                try:
                    event = http.next_event()
                except h11.RemoteProtocolError as exc:
                    status = exc.error_status_hint
                    await self._refuse(connection, status, f"malformed request: {exc}")
                    return None
                if event is h11.NEED_DATA:
                    if http.they_are_waiting_for_100_continue:
                        await self._send(
                            connection,
                            http.send(
                                h11.InformationalResponse(
                                    status_code=100, headers=[], reason=b"Continue"
                                )
                            ),
                        )
                    try:
                        data = await connection.stream.receive(_READ_SIZE)
                    except _GONE:
                        return None
                    connection.idle = False
                    http.receive_data(data)
                elif isinstance(event, h11.Request):
                    connection.idle = False
                    connection.method = event.method
                    head = event
                    if event.method == b"CONNECT":
                        await self._refuse(connection, 405, "CONNECT is not supported")
                        return None
                    length = _declared_length(event)
                    if length is not None and length > self.max_request_size:
                        await self._refuse_too_large(connection)
                        return None
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self.max_request_size:
                        await self._refuse_too_large(connection)
                        return None
                    body.append(event.data)
                else:
                    # Not ConnectionClosed (h11 is never told about the end of input,
                    # that is seen here) nor PAUSED (each cycle starts with nothing sent).
                    assert isinstance(event, h11.EndOfMessage), event
                    assert head is not None
                    return self._request(connection, head, b"".join(body))
        if not connection.idle:
            await self._refuse(connection, 408, "request not received in time", linger=False)
        return None

    def _request(self, connection: _Connection, head: h11.Request, body: bytes) -> Request:
        target = head.target.decode("latin-1")
        path, query = split_target(target)
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in head.headers
        )
        return Request(
            head.method.decode("ascii"), target, path, query, headers, body, connection.client
        )

    async def _refuse_too_large(self, connection: _Connection) -> None:
        await self._refuse(
            connection, 413, f"request body over max_request_size={self.max_request_size} bytes"
        )

    async def _refuse(
        self, connection: _Connection, status: int, message: str, *, linger: bool = True
    ) -> None:
        """Answer a request that will not be handled with an error, then close."""
        logger.debug("refusing a request from %s: %d %s", connection.client, status, message)
        error = error_response(status, message, "invalid_request_error")
        await self._send(connection, self._plain_bytes(connection, error, close=True))
        if linger:
            await self._linger(connection)

    async def _linger(self, connection: _Connection) -> None:
        """Close our side and read what the client still sends, briefly: closing with
        unread bytes would reset the connection and could destroy the answer."""
        with anyio.move_on_after(_LINGER):
            try:
                await connection.stream.send_eof()
                while True:
                    await connection.stream.receive(_READ_SIZE)
            except _GONE:
                pass

    # answering

    async def _answer(self, connection: _Connection, request: Request) -> bool:
        """Call the handler and send its answer; returns whether the connection can
        carry another request."""
        try:
            answer = await self.handler(request)
        except BadRequest as exc:
            answer = error_response(exc.status, exc.message, "invalid_request_error")
        except AbortConnection:
            logger.debug("handler aborted the connection for %s %s", request.method, request.target)
            return False
        except Exception:
            logger.exception("handler failed for %s %s", request.method, request.target)
            answer = SERVER_ERROR
        if isinstance(answer, EventStream):
            return await self._stream(connection, request, answer)
        if not isinstance(answer, Response):
            logger.error(
                "handler returned a %s for %s %s, not a Response or EventStream",
                type(answer).__name__,
                request.method,
                request.target,
            )
            answer = SERVER_ERROR
        await self._send(connection, self._plain_bytes(connection, answer, close=self._closing))
        return self._reusable(connection)

    def _plain_bytes(self, connection: _Connection, response: Response, *, close: bool) -> bytes:
        """The whole answer, framed by h11 (no body for HEAD, 204 and 304)."""
        http = connection.http
        send_body = connection.method != b"HEAD" and response.status not in NO_BODY_STATUSES
        defaults = (
            []
            if response.status in NO_BODY_STATUSES
            else [("content-length", str(len(response.body)))]
        )
        headers = merge_headers(defaults, self._extra_headers(response.headers, close))
        parts = [http.send(self._head(response.status, headers))]
        if send_body and response.body:
            parts.append(http.send(h11.Data(data=response.body)))
        parts.append(http.send(h11.EndOfMessage()))
        return b"".join(parts)

    @staticmethod
    def _extra_headers(headers: Iterable[tuple[str, str]], close: bool) -> list[tuple[str, str]]:
        extra = [(name, value) for name, value in headers if name.lower() not in FRAMING_HEADERS]
        if close:
            extra.append(("connection", "close"))
        return extra

    @staticmethod
    def _head(status: int, headers: Iterable[tuple[str, str]]) -> h11.Response:
        return h11.Response(
            status_code=status, headers=encode_headers(headers), reason=reason_phrase(status)
        )

    @staticmethod
    def _reusable(connection: _Connection) -> bool:
        return connection.http.our_state is h11.DONE and connection.http.their_state is h11.DONE

    async def _send(self, connection: _Connection, data: bytes) -> None:
        """Send ``data``; only a send the kernel does not take at once arms the timeout."""
        stream = connection.stream
        await anyio.lowlevel.checkpoint()  # a send is a checkpoint, even when it need not wait
        try:
            rest = stream.send_nowait(memoryview(data))
            if rest:
                with anyio.fail_after(self.send_timeout):
                    await stream.send_later(rest)
        except TimeoutError as exc:
            raise _ConnectionLost(f"the client read nothing for {self.send_timeout}s") from exc
        except _GONE as exc:
            raise _ConnectionLost(f"sending failed: {exc!r}") from exc
        connection.last_write = anyio.current_time()

    # streaming

    async def _stream(self, connection: _Connection, request: Request, answer: EventStream) -> bool:
        http = connection.http
        if request.method == "HEAD":
            await _close_iterator(answer.events)
            head = http.send(self._stream_head(answer))
            await self._send(connection, head + http.send(h11.EndOfMessage()))
            return self._reusable(connection)
        try:
            iterator = aiter(answer.events)
        except Exception:
            logger.exception(
                "handler's event stream for %s %s cannot be iterated",
                request.method,
                request.target,
            )
            await self._send(
                connection, self._plain_bytes(connection, SERVER_ERROR, close=self._closing)
            )
            return self._reusable(connection)
        keepalive = self.keepalive if answer.keepalive is ... else answer.keepalive
        self.active_streams += 1
        try:
            # The head is built here and dropped once sent: nothing of it stays while idle.
            await self._send(connection, http.send(self._stream_head(answer)))
            outcome = await self._write_events(connection, request, iterator, keepalive)
        finally:
            await _close_iterator(iterator)
            self.active_streams -= 1
        if outcome is not _Outcome.COMPLETE:
            logger.debug(
                "stream for %s %s ended: %s", request.method, request.target, outcome.value
            )
            return False
        if answer.abort:
            return False
        await self._send(connection, http.send(h11.EndOfMessage()))
        return self._reusable(connection)

    def _stream_head(self, answer: EventStream) -> h11.Response:
        headers = merge_headers(_STREAM_HEADERS, self._extra_headers(answer.headers, self._closing))
        return self._head(answer.status, headers)

    async def _write_events(
        self,
        connection: _Connection,
        request: Request,
        iterator: AsyncIterator[StreamItem],
        keepalive: float | None,
    ) -> _Outcome:
        """Send each item as one chunk while the client is watched and keepalives sent.

        On asyncio the watching is done by callbacks of the loop; elsewhere by one
        task spawned straight into the server's connection group (no task group of
        the stream's own).  A client found gone cancels the connection's own scope:
        the connection ends anyway, so the stream needs no scope of its own.
        """
        outcome = _Outcome.COMPLETE
        http = connection.http
        connection.streaming = True
        loop = _selector_loop()
        if loop is not None:
            self._watch_with_callbacks(connection, keepalive, loop)
        else:
            connection.watch_scope = anyio.CancelScope()
            connection.watching = True
            assert self._connection_group is not None
            self._connection_group.start_soon(self._watch_client, connection, keepalive)
        try:
            async for item in iterator:
                data = encode_item(item)
                if data:
                    async with connection.write_turn:
                        await self._send(connection, http.send(h11.Data(data=data)))
        except _ConnectionLost:
            outcome = _Outcome.LOST
        except AbortConnection:
            outcome = _Outcome.ABORTED
        except Exception:
            logger.exception("event stream for %s %s failed", request.method, request.target)
            outcome = _Outcome.FAILED
        finally:
            connection.streaming = False
            try:
                async with connection.write_turn:  # a keepalive being written ends first
                    self._stop_watching(connection, loop)
            finally:
                self._stop_watching(connection, loop)
                await self._wait_for_watcher(connection)
        return _Outcome.LOST if connection.lost else outcome

    # watching a stream on asyncio: callbacks of the event loop, no task

    def _watch_with_callbacks(
        self, connection: _Connection, keepalive: float | None, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Watch the socket with ``add_reader`` and time keepalives with ``call_at``.

        What ``_watch_client`` does in a task, done by callbacks of the loop: an idle
        stream then costs a reader entry and a timer handle instead of a task, its
        cancel scopes and a pending wait.  A keepalive is written at once when the
        kernel takes it whole (it always does for a client that reads); only the
        rest of one that it does not take is left to a short-lived task, bounded by
        ``send_timeout``.
        """
        connection.keepalive = keepalive
        connection.read = 0
        loop.add_reader(connection.fd, self._on_readable, connection, loop)
        if keepalive is not None:
            self._arm_keepalive(connection, loop, connection.last_write + keepalive)

    def _arm_keepalive(
        self, connection: _Connection, loop: asyncio.AbstractEventLoop, when: float
    ) -> None:
        connection.timer = loop.call_at(when, self._on_keepalive, connection, loop)

    def _stop_watching(
        self, connection: _Connection, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        if loop is None:
            assert connection.watch_scope is not None
            connection.watch_scope.cancel()
            return
        if connection.read >= 0:
            connection.read = -1
            loop.remove_reader(connection.fd)
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None
        connection.keepalive = None

    def _lose(self, connection: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        """The client went away or stopped reading: end the stream."""
        connection.lost = True
        self._stop_watching(connection, loop)
        if connection.streaming:
            connection.scope.cancel()

    def _on_readable(self, connection: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._read_pipelined(connection, loop)
        except Exception:  # a bug: the stream cannot be watched, so end it
            logger.exception("watching the connection from %s failed", connection.client)
            self._lose(connection, loop)

    def _read_pipelined(self, connection: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        try:
            data = connection.stream.receive_nowait(_READ_SIZE)
        except OSError:
            data = b""
        if data is None:  # woken for nothing
            return
        if not data:
            self._lose(connection, loop)
            return
        connection.http.receive_data(data)
        connection.read += len(data)
        if connection.read > _PIPELINE_LIMIT:
            connection.read = -1
            loop.remove_reader(connection.fd)

    def _on_keepalive(self, connection: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._keepalive_now(connection, loop)
        except Exception:  # a bug: the stream cannot be kept alive, so end it
            logger.exception("a keepalive to %s failed", connection.client)
            self._lose(connection, loop)

    def _keepalive_now(self, connection: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        connection.timer = None
        interval = connection.keepalive
        if interval is None:  # the stream ended
            return
        now = loop.time()
        due = connection.last_write + interval
        if due > now:
            self._arm_keepalive(connection, loop, due)
            return
        if connection.write_turn.taken:  # an item is being written: that counts
            self._arm_keepalive(connection, loop, now + interval)
            return
        data = connection.http.send(h11.Data(data=_KEEPALIVE))
        assert data is not None
        try:
            rest = connection.stream.send_nowait(memoryview(data))
        except OSError:
            self._lose(connection, loop)
            return
        if rest:
            connection.write_turn.take_nowait()
            assert self._connection_group is not None
            self._connection_group.start_soon(self._finish_keepalive, connection, loop, rest)
            return
        connection.last_write = now
        self._arm_keepalive(connection, loop, now + interval)

    async def _finish_keepalive(
        self, connection: _Connection, loop: asyncio.AbstractEventLoop, rest: memoryview
    ) -> None:
        """Send the rest of a keepalive the kernel did not take (the write turn is ours)."""
        try:
            with anyio.fail_after(self.send_timeout):
                await connection.stream.send_later(rest)
        except (TimeoutError, *_GONE):
            self._lose(connection, loop)
        else:
            connection.last_write = now = loop.time()
            if connection.keepalive is not None:
                self._arm_keepalive(connection, loop, now + connection.keepalive)
        finally:
            connection.write_turn.release()

    # watching a stream elsewhere (trio): one task

    @staticmethod
    async def _wait_for_watcher(connection: _Connection) -> None:
        """Wait (shielded: it ends promptly once cancelled) until the watcher has ended."""
        with anyio.CancelScope(shield=True):
            if connection.watching:
                connection.watcher_done = anyio.Event()
                await connection.watcher_done.wait()
            connection.watch_scope = None
            connection.watcher_done = None

    async def _watch_client(self, connection: _Connection, keepalive: float | None) -> None:
        """Read while a stream is written, and send its keepalives.

        The end of input means the client left.  Bytes that arrive are the
        client's next request (pipelining), kept for later; past
        ``_PIPELINE_LIMIT`` of them the socket is no longer read.  A keepalive
        goes out once the stream was quiet for ``keepalive`` seconds: the wait
        for input is bounded by that deadline, so one task does both.
        """
        assert connection.watch_scope is not None
        try:
            with connection.watch_scope:
                await self._watch(connection, keepalive)
        except (_ConnectionLost, *_GONE):
            connection.lost = True
            if connection.streaming:
                connection.scope.cancel()
        except Exception:  # a bug: the stream cannot be watched, so end it
            logger.exception("watching the connection from %s failed", connection.client)
            connection.lost = True
            if connection.streaming:
                connection.scope.cancel()
        finally:
            connection.watching = False
            if connection.watcher_done is not None:
                connection.watcher_done.set()

    async def _watch(self, connection: _Connection, keepalive: float | None) -> None:
        stream = connection.stream
        buffered = 0
        while True:
            reading = buffered <= _PIPELINE_LIMIT
            if keepalive is None:
                if not reading:
                    await anyio.sleep_forever()
                data = await stream.receive(_READ_SIZE)
            else:
                delay = connection.last_write + keepalive - anyio.current_time()
                if delay <= 0:
                    async with connection.write_turn:
                        await self._send(
                            connection, connection.http.send(h11.Data(data=_KEEPALIVE))
                        )
                    continue
                data = b""
                with anyio.move_on_after(delay):
                    if reading:
                        data = await stream.receive(_READ_SIZE)
                    else:
                        await anyio.sleep_forever()
                if not data:
                    continue
            connection.http.receive_data(data)
            buffered += len(data)


def _selector_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop if it can watch sockets with callbacks (``add_reader``)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio
        return None
    trio = sys.modules.get("trio")
    if trio is not None:  # trio as a guest of this asyncio loop: anyio runs on trio
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return None
    proactor = getattr(asyncio, "ProactorEventLoop", None)
    return None if proactor is not None and isinstance(loop, proactor) else loop


def _declared_length(request: h11.Request) -> int | None:
    """The body size a request announces (``None``: chunked or no body)."""
    length = None
    for name, value in request.headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value)  # digits only: h11 checked
    return length


async def _close_iterator(iterator: object) -> None:
    """``aclose()`` a handler's iterator, if it has one, so its ``finally`` blocks run;
    shielded from cancellation but bounded by ``_CLOSE_TIMEOUT``."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
        try:
            await aclose()
        except Exception:
            logger.exception("closing the handler's event iterator failed")


@contextmanager
def serve_in_thread(
    handler: Handler, *, backend: str = "asyncio", **server_options: Any
) -> Iterator[SSEServer]:
    """Run an ``SSEServer`` in a background thread with its own event loop.

    Yields the server once it listens (``server.url`` is usable from the calling
    thread); at the end of the block it shuts down gracefully and the thread is
    joined.  ``backend`` is ``"asyncio"`` or ``"trio"``; ``server_options`` are
    ``SSEServer`` keyword arguments.  The handler runs in the server's thread.
    """
    if backend not in ("asyncio", "trio"):
        raise UsageError(f"backend must be 'asyncio' or 'trio', got {backend!r}")
    server = SSEServer(handler, **server_options)
    with (
        anyio.from_thread.start_blocking_portal(backend) as portal,
        portal.wrap_async_context_manager(server),
    ):
        yield server
