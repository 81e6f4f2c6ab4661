"""The event-stream client, written once for asyncio and trio (through anyio).

``aconnect_sse`` opens a stream and yields an ``AsyncEventSource``; iterating
it gives events until ``[DONE]`` (``source.done``), and reconnects as its
``Reconnect`` policy says when the stream ends or breaks.  ``AsyncClient``
keeps shared settings and a keep-alive pool per origin.  This module only
sequences the I/O: what to send, how to read a response, when to reconnect
and how to decode all come from the pure modules in ``sseio._http`` and
``sseio._core``, and every byte moved, every wait and every clock read goes
through the backend (``sseio._io.anyio_backend``), which maps its runtime's
exceptions to sseio's.

The blocking client (``sseio._io.sync_client``) is generated from this file
by ``tools/unasync.py``: edit this one, then run ``python tools/unasync.py``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from .._core.errors import EventTimeout, ReadTimeout, SSEError
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
    ERROR_BODY_LIMIT,
    Exchange,
    Response,
    check_response,
    error_from_response,
)
from .._http.reconnect import DEFAULT_TIMEOUT, Reconnect, Timeout
from .._http.redirects import DEFAULT_MAX_REDIRECTS, redirect
from .._http.request import Request
from . import anyio_backend as backend
from .tls import ssl_context as make_ssl_context

__all__ = ["AsyncClient", "AsyncEventSource", "aconnect_sse"]


class AsyncEventSource:
    """An open event stream: ``async for event in source`` (see ``aconnect_sse``)."""

    def __init__(
        self,
        state: SourceState,
        settings: Settings,
        timeout: Timeout,
        pool: IdlePool[backend.Stream] | None = None,
    ) -> None:
        self._state = state
        self._settings = settings
        self._timeout = timeout
        self._pool = pool
        self._stream: backend.Stream | None = None
        self._exchange: Exchange | None = None
        self._pending: list[ServerSentEvent | Comment | Done] = []
        self._last_event_at = 0.0
        self._closed = False
        self._iterator: AsyncGenerator[ServerSentEvent | Comment, None] | None = None

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

    async def __aenter__(self) -> AsyncEventSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection; iteration ends and no reconnect follows.

        Safe to call from another task or thread while one iterates: the pending
        read is interrupted, and the iterating code then ends quietly.
        """
        self._closed = True
        iterator = self._iterator
        if iterator is not None and backend.running(iterator):
            stream = self._stream
            if stream is not None:
                await backend.interrupt(stream)
            return
        self._iterator = None
        if iterator is not None:
            await iterator.aclose()
        await self._drop()

    def __aiter__(self) -> AsyncIterator[ServerSentEvent | Comment]:
        # Kept so that aclose() can finish it: a loop left with ``break`` leaves it open.
        self._iterator = self._iterate()
        return self._iterator

    async def _iterate(self) -> AsyncGenerator[ServerSentEvent | Comment, None]:
        state = self._state
        while not self._closed:
            if self._stream is None:
                await self.open()
                if self._closed:
                    return
            error: SSEError | None = None
            try:
                while True:
                    # No local keeps the batch or the read alive across the next read.
                    for item in state.hand_out(self._take_pending()):
                        yield item
                    if state.done or self._closed:
                        await self._drain()
                        await self._drop()
                        return
                    exchange = self._exchange
                    if exchange is None or exchange.ended:
                        break
                    self._pending = state.feed(exchange.receive(await self._read()))
                    if state.events_arrived:
                        state.events_arrived = False
                        self._last_event_at = backend.now()
            except SSEError as exc:
                error = exc
            await self._drop()
            if self._closed:
                return  # closed from another task or thread while reading: not a failure
            delay = state.decide(error, now=backend.now(), wall_clock=backend.wall_clock())
            if delay is None or self._closed:
                if error is not None:
                    raise error
                return
            await backend.sleep(delay)

    def _take_pending(self) -> list[ServerSentEvent | Comment | Done]:
        pending, self._pending = self._pending, []
        return pending

    async def open(self) -> None:
        """Connect (following redirects), retrying as the policy allows; raises on failure."""
        while True:
            try:
                await self._connect()
                return
            except SSEError as exc:
                if self._state.stopped_by_server(exc):
                    self._closed = True
                    return
                delay = self._state.decide(exc, now=backend.now(), wall_clock=backend.wall_clock())
                if delay is None:
                    raise
                await backend.sleep(delay)

    async def _connect(self) -> None:
        request = self._state.next_request()
        hops = 0
        while True:
            stream, exchange, body = await self._request(request)
            response = exchange.response
            assert response is not None
            try:
                follow = redirect(request, response, hops, self._settings.max_redirects)
                if follow is None and not check_response(response):
                    body = await self._error_body(stream, exchange, body)
                    raise error_from_response(response, body)
            except BaseException:
                await backend.close(stream)
                raise
            if follow is None:
                break
            await backend.close(stream)
            request, hops = follow, hops + 1
        self._stream, self._exchange = stream, exchange
        self._state.opened(response, backend.now())
        self._last_event_at = backend.now()
        self._pending = self._state.feed(body) if body else []
        self._state.events_arrived = False

    async def _request(self, request: Request) -> tuple[backend.Stream, Exchange, bytes]:
        """Send ``request`` and read its response head, on an idle pooled connection if
        there is one (one that turns out stale is closed and the next one tried)."""
        while True:
            pooled = self._pool.take(request.origin) if self._pool is not None else None
            stream = pooled or await self._dial(request)
            try:
                exchange = Exchange(request)
                await backend.send(stream, exchange.request_bytes(), self._timeout.write)
                body = b""
                while exchange.response is None:
                    body += exchange.receive(await backend.receive(stream, self._timeout.read))
                return stream, exchange, body
            except SSEError:
                await backend.close(stream)
                if pooled is None:
                    raise
            except BaseException:
                await backend.close(stream)
                raise

    async def _dial(self, request: Request) -> backend.Stream:
        tls = None
        if request.scheme == "https":
            tls = make_ssl_context(self._settings.ssl_context, self._settings.verify)
        return await backend.dial(request.host, request.port, tls, self._timeout.connect)

    async def _read(self) -> bytes:
        assert self._stream is not None
        wait, for_event = read_budget(self._timeout, backend.now(), self._last_event_at)
        try:
            return await backend.receive(self._stream, wait)
        except ReadTimeout as exc:
            if for_event:
                raise EventTimeout(f"no event for {self._timeout.event}s") from exc.__cause__
            raise

    async def _error_body(self, stream: backend.Stream, exchange: Exchange, body: bytes) -> bytes:
        """Read what an error response says, up to a bound; a failure keeps what arrived."""
        try:
            while not exchange.ended and len(body) < ERROR_BODY_LIMIT:
                body += exchange.receive(await backend.receive(stream, self._timeout.read))
        except SSEError:
            pass
        return body[:ERROR_BODY_LIMIT]

    async def _drain(self) -> None:
        """After ``[DONE]``: read the rest of the body briefly, so the connection can be reused."""
        stream, exchange = self._stream, self._exchange
        if self._pool is None or stream is None or exchange is None:
            return
        deadline = backend.now() + DRAIN_TIMEOUT
        try:
            while not exchange.ended and (left := deadline - backend.now()) > 0:
                exchange.receive(await backend.receive(stream, left))
        except SSEError:
            pass

    async def _drop(self) -> None:
        """Let go of the connection: back to the pool when its body ended cleanly."""
        stream, exchange = self._stream, self._exchange
        self._stream = self._exchange = None
        if stream is None:
            return
        if self._pool is not None and exchange is not None and exchange.reusable:
            stream = self._pool.put(exchange.request.origin, stream)
        if stream is not None:
            await backend.close(stream)


class AsyncClient:
    """Streams with shared settings and a keep-alive connection pool per origin.

    ``client.stream(method, url, ...)`` opens an ``AsyncEventSource`` (as
    ``aconnect_sse`` does) with the client's ``base_url``, default headers,
    timeouts, reconnect policy and TLS settings.  A connection whose body was
    read to its end (after ``[DONE]`` the rest of the body is read within a
    short, bounded drain) goes back to the pool; anything else is closed.
    ``aclose()`` closes every pooled connection.
    """

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
        self._pool: IdlePool[backend.Stream] | None = (
            IdlePool(max_idle_per_origin) if max_idle_per_origin > 0 else None
        )

    @asynccontextmanager
    async def stream(
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
    ) -> AsyncIterator[AsyncEventSource]:
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
        source = AsyncEventSource(
            state, self.settings, timeout or self.settings.timeout, self._pool
        )
        try:
            await source.open()
            yield source
        finally:
            await source.aclose()

    @property
    def idle_connections(self) -> int:
        """How many keep-alive connections wait in the pool."""
        return len(self._pool) if self._pool is not None else 0

    async def aclose(self) -> None:
        """Close every pooled connection."""
        if self._pool is not None:
            for stream in self._pool.clear():
                await backend.close(stream)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@asynccontextmanager
async def aconnect_sse(
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
) -> AsyncIterator[AsyncEventSource]:
    """Open an event stream; yields the ``AsyncEventSource`` once the server answered
    200 with ``text/event-stream``.

    A non-stream answer raises ``ResponseError`` (status, headers, body); a
    connection failure a ``TransportError``.  ``reconnect`` (a ``Reconnect``
    policy; default: reconnect like an EventSource, up to 10 attempts in a row)
    also covers the first connection.  ``max_line_size`` and ``max_event_size``
    limit the decoder.  One connection, closed at the end: use ``AsyncClient``
    to keep connections alive between streams.
    """
    client = AsyncClient(
        timeout=timeout,
        reconnect=reconnect,
        ssl_context=ssl_context,
        verify=verify,
        max_redirects=max_redirects,
        max_idle_per_origin=0,
    )
    async with client.stream(
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
