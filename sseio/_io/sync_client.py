"""Blocking adapter: event streams over plain sockets, the twin of ``sseio._io.async_client``.

``connect_sse`` opens a stream and yields an ``EventSource``; iterating it
gives events until ``[DONE]`` (``source.done``), and reconnects as its
``Reconnect`` policy says when the stream ends or breaks.  This module only
moves bytes, waits and maps exceptions; everything else comes from the pure
modules it shares with ``sseio._io.async_client``, which it mirrors method for method.
Every ssl and OSError exception becomes an sseio error chained to its cause.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager, suppress
from inspect import GEN_RUNNING, getgeneratorstate
from typing import Any

from .._core.errors import (
    ConnectError,
    ConnectTimeout,
    EventTimeout,
    ReadError,
    ReadTimeout,
    SSEError,
    WriteError,
    WriteTimeout,
)
from .._core.events import Comment, Done, ServerSentEvent
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._core.lines import DEFAULT_MAX_LINE_SIZE
from .._http.client_state import (
    DRAIN_TIMEOUT,
    IdlePool,
    Settings,
    SourceState,
    merge_headers,
    read_budget,
)
from .._http.exchange import (
    DEFAULT_MAX_REDIRECTS,
    ERROR_BODY_LIMIT,
    Exchange,
    Request,
    Response,
    check_response,
    error_from_response,
    redirect,
)
from .._http.reconnect import DEFAULT_TIMEOUT, Reconnect, Timeout
from .tls import ssl_context as make_ssl_context

__all__ = ["Client", "EventSource", "connect_sse"]

_READ_SIZE = 64 * 1024


class EventSource:
    """An open event stream: ``for event in source`` (see ``connect_sse``)."""

    def __init__(
        self,
        state: SourceState,
        settings: Settings,
        timeout: Timeout,
        pool: IdlePool[socket.socket] | None = None,
    ) -> None:
        self._state = state
        self._settings = settings
        self._timeout = timeout
        self._pool = pool
        self._sock: socket.socket | None = None
        self._exchange: Exchange | None = None
        self._pending: list[ServerSentEvent | Comment | Done] = []
        self._last_event_at = 0.0
        self._closed = False
        self._iterator: Generator[ServerSentEvent | Comment, None, None] | None = None

    @property
    def response(self) -> Response | None:
        """The response head of the current connection."""
        return self._state.response

    @property
    def last_event_id(self) -> str:
        return self._state.last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) the server asked for, if it did."""
        return self._state.retry

    @property
    def done(self) -> bool:
        """Whether the stream ended with the ``[DONE]`` sentinel."""
        return self._state.done

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; iteration ends and no reconnect follows.

        Safe to call from another thread while one iterates: the blocked read is
        woken by shutting the socket down, and the iterating thread then ends
        quietly and closes the connection itself.
        """
        self._closed = True
        iterator = self._iterator
        if iterator is not None and getgeneratorstate(iterator) == GEN_RUNNING:
            sock = self._sock
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return
        self._iterator = None
        if iterator is not None:
            iterator.close()
        self._drop()

    def __iter__(self) -> Iterator[ServerSentEvent | Comment]:
        # Kept so that close() can finish it: a loop left with ``break`` leaves it open.
        self._iterator = self._iterate()
        return self._iterator

    def _iterate(self) -> Generator[ServerSentEvent | Comment, None, None]:
        state = self._state
        while not self._closed:
            if self._sock is None:
                self.open()
                if self._closed:
                    return
            error: SSEError | None = None
            try:
                while True:
                    # No local keeps the batch or the read alive across the next read.
                    yield from state.hand_out(self._take_pending())
                    if state.done or self._closed:
                        self._drain()
                        self._drop()
                        return
                    exchange = self._exchange
                    if exchange is None or exchange.ended:
                        break
                    self._pending = state.feed(exchange.receive(self._read()))
                    if state.events_arrived:
                        state.events_arrived = False
                        self._last_event_at = time.monotonic()
            except SSEError as exc:
                error = exc
            self._drop()
            if self._closed:
                return  # closed from another thread while reading: not a failure
            delay = self._state.decide(error, now=time.monotonic(), wall_clock=time.time())
            if delay is None or self._closed:
                if error is not None:
                    raise error
                return
            time.sleep(delay)

    def _take_pending(self) -> list[ServerSentEvent | Comment | Done]:
        pending, self._pending = self._pending, []
        return pending

    def open(self) -> None:
        """Connect (following redirects), retrying as the policy allows; raises on failure."""
        while True:
            try:
                self._connect()
                return
            except SSEError as exc:
                if self._state.stopped_by_server(exc):
                    self._closed = True
                    return
                delay = self._state.decide(exc, now=time.monotonic(), wall_clock=time.time())
                if delay is None:
                    raise
                time.sleep(delay)

    def _connect(self) -> None:
        request = self._state.next_request()
        hops = 0
        while True:
            sock, exchange, body = self._request(request)
            response = exchange.response
            assert response is not None
            try:
                follow = redirect(request, response, hops, self._settings.max_redirects)
                if follow is None and not check_response(response):
                    body = self._error_body(sock, exchange, body)
                    raise error_from_response(response, body)
            except BaseException:
                sock.close()
                raise
            if follow is None:
                break
            sock.close()
            request, hops = follow, hops + 1
        self._sock, self._exchange = sock, exchange
        self._state.opened(response, time.monotonic())
        self._last_event_at = time.monotonic()
        self._pending = self._state.feed(body) if body else []
        self._state.events_arrived = False

    def _request(self, request: Request) -> tuple[socket.socket, Exchange, bytes]:
        """Send ``request`` and read its response head, on an idle pooled connection if
        there is one (one that turns out stale is closed and the next one tried)."""
        while True:
            pooled = self._pool.take(request.origin) if self._pool is not None else None
            sock = pooled or self._dial(request)
            try:
                exchange = Exchange(request)
                self._send(sock, exchange.request_bytes())
                body = b""
                while exchange.response is None:
                    body += exchange.receive(self._receive(sock, self._timeout.read))
                return sock, exchange, body
            except SSEError:
                sock.close()
                if pooled is None:
                    raise
            except BaseException:
                sock.close()
                raise

    def _dial(self, request: Request) -> socket.socket:
        address = (request.host, request.port)
        try:
            sock = socket.create_connection(address, timeout=self._timeout.connect)
            if request.scheme == "https":
                context = make_ssl_context(self._settings.ssl_context, self._settings.verify)
                try:
                    sock = context.wrap_socket(sock, server_hostname=request.host)
                except BaseException:
                    sock.close()
                    raise
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except TimeoutError as exc:
            raise ConnectTimeout(
                f"connecting to {request.host}:{request.port} took over {self._timeout.connect}s"
            ) from exc
        except OSError as exc:
            raise ConnectError(f"cannot connect to {request.host}:{request.port}: {exc}") from exc

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.settimeout(self._timeout.write)
            sock.sendall(data)
        except TimeoutError as exc:
            raise WriteTimeout(f"sending the request took over {self._timeout.write}s") from exc
        except OSError as exc:
            raise WriteError(f"connection broke while sending the request: {exc}") from exc

    def _receive(self, sock: socket.socket, wait: float | None) -> bytes:
        try:
            sock.settimeout(wait)
            return sock.recv(_READ_SIZE)
        except TimeoutError as exc:
            raise ReadTimeout(f"no data from the server for {wait}s") from exc
        except OSError as exc:
            raise ReadError(f"connection broke while reading: {exc}") from exc

    def _read(self) -> bytes:
        assert self._sock is not None
        wait, for_event = read_budget(self._timeout, time.monotonic(), self._last_event_at)
        try:
            return self._receive(self._sock, wait)
        except ReadTimeout as exc:
            if for_event:
                raise EventTimeout(f"no event for {self._timeout.event}s") from exc.__cause__
            raise

    def _error_body(self, sock: socket.socket, exchange: Exchange, body: bytes) -> bytes:
        """Read what an error response says, up to a bound; a failure keeps what arrived."""
        try:
            while not exchange.ended and len(body) < ERROR_BODY_LIMIT:
                body += exchange.receive(self._receive(sock, self._timeout.read))
        except SSEError:
            pass
        return body[:ERROR_BODY_LIMIT]

    def _drain(self) -> None:
        """After ``[DONE]``: read the rest of the body briefly, so the connection can be reused."""
        sock, exchange = self._sock, self._exchange
        if self._pool is None or sock is None or exchange is None:
            return
        deadline = time.monotonic() + DRAIN_TIMEOUT
        try:
            while not exchange.ended and (left := deadline - time.monotonic()) > 0:
                exchange.receive(self._receive(sock, left))
        except SSEError:
            pass

    def _drop(self) -> None:
        """Let go of the connection: back to the pool when its body ended cleanly."""
        sock, exchange = self._sock, self._exchange
        self._sock = self._exchange = None
        if sock is None:
            return
        if self._pool is not None and exchange is not None and exchange.reusable:
            sock = self._pool.put(exchange.request.origin, sock)
        if sock is not None:
            sock.close()


class Client:
    """Blocking twin of ``AsyncClient``: shared settings and a keep-alive pool per origin."""

    def __init__(
        self,
        *,
        base_url: str = "",
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        reconnect: Reconnect | None = None,
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        max_idle_per_origin: int = 8,
    ) -> None:
        self.settings = Settings(
            base_url,
            tuple(merge_headers(headers, None)),
            timeout,
            reconnect,
            ssl_context,
            verify,
            max_redirects,
        )
        self._pool: IdlePool[socket.socket] | None = (
            IdlePool(max_idle_per_origin) if max_idle_per_origin > 0 else None
        )

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        timeout: Timeout | None = None,
        reconnect: Reconnect | None = None,
        last_event_id: str = "",
        comments: bool = False,
        done_sentinel: str | None = "[DONE]",
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> Iterator[EventSource]:
        """Open a stream; yields the source once the server answered 200 with an event stream."""
        state = self.settings.state_for(
            method,
            url,
            headers=headers,
            json=json,
            content=content,
            reconnect=reconnect,
            last_event_id=last_event_id,
            comments=comments,
            done_sentinel=done_sentinel,
            max_line_size=max_line_size,
            max_event_size=max_event_size,
        )
        source = EventSource(state, self.settings, timeout or self.settings.timeout, self._pool)
        try:
            source.open()
            yield source
        finally:
            source.close()

    @property
    def idle_connections(self) -> int:
        """How many keep-alive connections wait in the pool."""
        return len(self._pool) if self._pool is not None else 0

    def close(self) -> None:
        """Close every pooled connection."""
        if self._pool is not None:
            for sock in self._pool.clear():
                sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextmanager
def connect_sse(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
    json: Any = None,
    content: bytes | str | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    reconnect: Reconnect | None = None,
    ssl_context: ssl.SSLContext | None = None,
    verify: bool = True,
    last_event_id: str = "",
    comments: bool = False,
    done_sentinel: str | None = "[DONE]",
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> Iterator[EventSource]:
    """Blocking twin of ``aconnect_sse``: yields an ``EventSource`` once the stream is open."""
    client = Client(
        timeout=timeout,
        reconnect=reconnect,
        ssl_context=ssl_context,
        verify=verify,
        max_redirects=max_redirects,
        max_idle_per_origin=0,
    )
    with client.stream(
        method,
        url,
        headers=headers,
        json=json,
        content=content,
        last_event_id=last_event_id,
        comments=comments,
        done_sentinel=done_sentinel,
        max_line_size=max_line_size,
        max_event_size=max_event_size,
    ) as source:
        yield source
