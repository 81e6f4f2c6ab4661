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

import os
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from logging import DEBUG, INFO, WARNING, getLogger
from typing import Any, Generic, Literal, TypeVar, cast, overload

from .._core.errors import (
    ConnectError,
    EventTimeout,
    LimitExceeded,
    ReadTimeout,
    SSEError,
    UsageError,
)
from .._core.events import Comment, Done, ServerSentEvent
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._core.lines import DEFAULT_MAX_LINE_SIZE, check_limit
from .._http.arguments import (
    ClientCert,
    QueryParams,
    check_headers,
    check_instance,
    check_params,
    client_environment,
    coerce_timeout,
)
from .._http.client_state import (
    DRAIN_TIMEOUT,
    IdlePool,
    Settings,
    SourceState,
    read_budget,
)
from .._http.exchange import (
    ERROR_BODY_LIMIT,
    Exchange,
    Response,
    check_response,
    error_from_response,
)
from .._http.observe import (
    Hooks,
    RequestSent,
    ResponseReceived,
    redacted_headers,
    redacted_url,
)
from .._http.proxy import (
    Proxy,
    ProxyRoute,
    Tunnel,
    forwarded,
    proxy_refused,
)
from .._http.reconnect import DEFAULT_TIMEOUT, NO_RECONNECT, Reconnect, Timeout
from .._http.redirects import DEFAULT_MAX_REDIRECTS, redirect
from .._http.request import Request
from . import anyio_backend as backend
from .tls import build_client_context, client_context

__all__ = ["AsyncClient", "AsyncEventSource", "aconnect_sse"]

_log = getLogger("sseio.client")

DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
"""64 MiB: the most ``request()`` reads of one answer unless told otherwise."""


E = TypeVar("E", bound="ServerSentEvent | Comment", covariant=True)
"""What a source yields: ``ServerSentEvent``, or with ``comments=True`` also ``Comment``."""


class AsyncEventSource(Generic[E]):
    """An event stream: ``async with`` connects, ``async for event in source`` reads
    (see ``aconnect_sse``); ``E`` is ``ServerSentEvent``, or ``ServerSentEvent |
    Comment`` for a source opened with ``comments=True``."""

    __slots__ = (
        "_closed",
        "_ended",
        "_exchange",
        "_iterator",
        "_last_event_at",
        "_pending",
        "_pool",
        "_pool_key",
        "_restart",
        "_settings",
        "_state",
        "_stream",
        "_timeout",
        "_whole",
    )

    def __init__(
        self,
        state: SourceState,
        settings: Settings,
        timeout: Timeout,
        pool: IdlePool[backend.Stream] | None = None,
        whole: bool = False,
    ) -> None:
        self._whole = whole  # a whole answer is wanted (request()), not an event stream
        self._state = state
        self._settings = settings
        self._timeout = timeout
        self._pool = pool
        self._stream: backend.Stream | None = None
        self._exchange: Exchange | None = None
        self._pool_key: object = None  # where the open connection goes back in the pool
        self._pending: list[ServerSentEvent | Comment | Done] = []
        self._last_event_at = 0.0
        self._closed = False
        self._restart = False  # restart() asked for a new connection
        self._ended = whole  # the stream_ended hook has run (a whole answer has none)
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

    @property
    def reconnects(self) -> int:
        """How many times the source connected again (after a failure, an end, a restart)."""
        return self._state.reconnects

    async def restart(self) -> None:
        """Drop the connection and connect again now, keeping ``last_event_id`` and
        ``retry``; the iterating code sees no error, only the events that follow.

        Safe to call from another task or thread while one iterates (the pending
        read is interrupted); called during a reconnect wait, the new connection
        follows the wait.  A restart counts as a reconnect, not as a failure.
        """
        self._restart = True
        iterator, stream = self._iterator, self._stream
        if iterator is not None and backend.running(iterator) and stream is not None:
            await backend.interrupt(stream)

    async def __aenter__(self) -> AsyncEventSource[E]:
        """Connect, unless this source connected already; a failure closes it."""
        if self._state.started_at is None and not self._closed:
            try:
                await self.open()
            except BaseException:
                await self.aclose()
                raise
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
        await self._finish(None)

    def __aiter__(self) -> AsyncIterator[E]:
        # Kept so that aclose() can finish it: a loop left with ``break`` leaves it open.
        self._iterator = self._iterate()
        return cast("AsyncIterator[E]", self._iterator)

    async def _iterate(self) -> AsyncGenerator[ServerSentEvent | Comment, None]:
        state = self._state
        while not self._closed:
            if self._stream is None:
                await self.open()
                if self._closed:
                    await self._finish(None)
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
                        await self._finish(None)
                        return
                    exchange = self._exchange
                    if exchange is None or exchange.ended or self._restart:
                        break
                    self._pending = state.feed(exchange.receive(await self._read()))
                    if state.events_arrived:
                        state.events_arrived = False
                        self._last_event_at = backend.now()
            except SSEError as exc:
                error = exc
            await self._drop()
            if self._closed:
                # Closed from another task or thread while reading: not a failure.
                await self._finish(None)
                return
            if self._restart:
                self._restart = False
                state.restarted()
                await self._reconnecting(None, 0.0, "restart")
                continue
            delay = state.decide(error, now=backend.now(), wall_clock=backend.wall_clock())
            if delay is None or self._closed:
                await self._finish(error)
                if error is not None:
                    raise error
                return
            await self._reconnecting(error, delay)
            await backend.sleep(delay)

    def _take_pending(self) -> list[ServerSentEvent | Comment | Done]:
        pending, self._pending = self._pending, []
        return pending

    async def open(self) -> None:
        """Connect (following redirects), retrying as the policy allows; raises on failure."""
        state = self._state
        if state.started_at is None:
            state.started_at = backend.now()
        while True:
            try:
                await self._connect()
                return
            except SSEError as exc:
                if state.stopped_by_server(exc):
                    self._closed = True
                    return
                delay = state.decide(exc, now=backend.now(), wall_clock=backend.wall_clock())
                if delay is None:
                    await self._finish(exc)
                    raise
                await self._reconnecting(exc, delay)
                await backend.sleep(delay)

    async def _reconnecting(
        self, error: SSEError | None, delay: float, reason: str | None = None
    ) -> None:
        """Tell the log and the hook that a reconnect is scheduled."""
        hook = self._settings.hooks.reconnect_scheduled if self._settings.hooks else None
        if hook is None and not _log.isEnabledFor(INFO):
            return
        scheduled = self._state.reconnect_scheduled(error, delay, reason)
        _log.info(
            "reconnecting to %s in %.2fs (attempt %d, %s)",
            scheduled.url,
            delay,
            scheduled.attempt,
            scheduled.reason,
        )
        if hook is not None:
            await backend.call_hook(hook, scheduled)

    async def _finish(self, error: SSEError | None) -> None:
        """The source is finished: log a give-up, call the ``stream_ended`` hook once."""
        if self._ended:
            return
        self._ended = True
        state = self._state
        if error is not None:
            # A source told never to reconnect (a chat request, which retries
            # itself) only ends; one that ran out of attempts gives up.
            _log.log(
                WARNING if state.policy.policy.max_attempts != 0 else DEBUG,
                "giving up on %s after %d reconnects: %s",
                redacted_url(state.request.url),
                state.reconnects,
                error,
            )
        hook = self._settings.hooks.stream_ended if self._settings.hooks else None
        if hook is not None:
            await backend.call_hook(hook, state.ended(backend.now(), error))

    async def _connect(self) -> None:
        request = self._state.next_request()
        hops = 0
        while True:
            route = self._settings.route(request)
            stream, exchange, body = await self._request(request, route)
            response = exchange.response
            assert response is not None
            try:
                follow = redirect(request, response, hops, self._settings.max_redirects)
                wanted = response.status_code < 400 if self._whole else check_response(response)
                if follow is None and not wanted:
                    body = await self._error_body(stream, exchange, body)
                    refused = route and proxy_refused(
                        route, response.status_code, response.reason, response.headers, body
                    )
                    raise refused or error_from_response(response, body)
            except BaseException:
                await backend.close(stream)
                raise
            if follow is None:
                break
            await backend.close(stream)
            request, hops = follow, hops + 1
        self._stream, self._exchange = stream, exchange
        self._restart = False  # a new connection is what a restart asks for
        self._state.opened(response, backend.now())
        self._last_event_at = backend.now()
        if self._whole:
            self._pending = [body]  # type: ignore[list-item]  # raw bytes, for read_whole()
            return
        self._pending = self._state.feed(body) if body else []
        self._state.events_arrived = False

    async def read_whole(self, limit: int) -> bytes:
        """The whole body of a ``request()``'s answer, at most ``limit`` bytes
        (``LimitExceeded`` over it); the connection then goes back to the pool."""
        stream, exchange = self._stream, self._exchange
        if stream is None or exchange is None:
            return b""
        pending: list[Any] = self._pending  # the head's read: raw bytes in this mode
        pieces: list[bytes] = [piece for piece in pending if isinstance(piece, bytes)]
        self._pending = []
        size = sum(map(len, pieces))
        while not exchange.ended:
            piece = exchange.receive(await backend.receive(stream, self._timeout.read))
            size += len(piece)
            if size > limit:
                raise LimitExceeded("max_body_size", limit, size)
            pieces.append(piece)
        if size > limit:
            raise LimitExceeded("max_body_size", limit, size)
        await self._drop()
        return b"".join(pieces)

    async def _request(
        self, request: Request, route: ProxyRoute | None
    ) -> tuple[backend.Stream, Exchange, bytes]:
        """Send ``request`` (through ``route``'s proxy, if any) and read its response
        head, on an idle pooled connection if there is one (one that turns out stale
        is closed and the next one tried)."""
        key = (request.origin, route.key if route is not None else None)
        wire = request if route is None or request.scheme == "https" else forwarded(request, route)
        while True:
            pooled = self._pool.take(key) if self._pool is not None else None
            stream = pooled or await self._dial(request, route)
            self._pool_key = key
            try:
                exchange = Exchange(wire)
                await backend.send(stream, exchange.request_bytes(), self._timeout.write)
                await self._sent(request)
                body = b""
                while exchange.response is None:
                    body += exchange.receive(await backend.receive(stream, self._timeout.read))
                await self._received(request, exchange.response)
                return stream, exchange, body
            except SSEError:
                await backend.close(stream)
                if pooled is None:
                    raise
            except BaseException:
                await backend.close(stream)
                raise

    async def _sent(self, request: Request) -> None:
        hook = self._settings.hooks.request_sent if self._settings.hooks else None
        if hook is None and not _log.isEnabledFor(DEBUG):
            return
        sent = RequestSent(
            request.method,
            redacted_url(request.url),
            redacted_headers(request.headers),
            self._state.reconnects,
        )
        if _log.isEnabledFor(DEBUG):
            shown = "; ".join(f"{name}: {value}" for name, value in sent.headers)
            _log.debug("sent %s %s (%s)", sent.method, sent.url, shown)
        if hook is not None:
            await backend.call_hook(hook, sent)

    async def _received(self, request: Request, response: Response) -> None:
        hook = self._settings.hooks.response_received if self._settings.hooks else None
        if hook is None and not _log.isEnabledFor(DEBUG):
            return
        received = ResponseReceived(
            redacted_url(request.url),
            response.status_code,
            response.reason,
            redacted_headers(response.headers),
        )
        _log.debug("%s answered %d %s", received.url, received.status_code, received.reason)
        if hook is not None:
            await backend.call_hook(hook, received)

    async def _dial(self, request: Request, route: ProxyRoute | None) -> backend.Stream:
        settings, timeout = self._settings, self._timeout
        tls = None
        if request.scheme == "https":
            tls = client_context(settings) or await backend.run_blocking(
                build_client_context, settings
            )
        if route is None:
            _log.debug("connecting to %s:%d", request.host, request.port)
            return await backend.dial(request.host, request.port, tls, timeout.connect)
        _log.debug("connecting to %s:%d through %s", request.host, request.port, route.shown)
        proxy_tls = None
        if route.scheme == "https":
            proxy_tls = client_context(settings) or await backend.run_blocking(
                build_client_context, settings
            )
        try:
            stream = await backend.dial(route.host, route.port, proxy_tls, timeout.connect)
        except ConnectError as exc:  # ConnectTimeout included: the same type, the proxy named
            raise type(exc)(f"proxy {route.shown}: {exc}") from exc
        if tls is None:
            return stream  # an http:// target: requests go to the proxy in absolute form
        try:
            tunnel = Tunnel(route, request.host, request.port)
            await backend.send(stream, tunnel.request_bytes(), timeout.write)
            while not tunnel.open:
                tunnel.receive(await backend.receive(stream, timeout.connect))
            return await backend.start_tls(stream, tls, request.host, timeout.connect)
        except BaseException:
            await backend.close(stream)
            raise

    async def _read(self) -> bytes:
        assert self._stream is not None
        wait, for_event = read_budget(self._timeout, backend.now(), self._last_event_at)
        try:
            return await backend.receive(self._stream, wait, self._state.read_size)
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
            stream = self._pool.put(self._pool_key, stream)
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
        params: QueryParams | None = None,
        timeout: Timeout | float = DEFAULT_TIMEOUT,
        reconnect: Reconnect | None = None,
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        max_idle_per_origin: int = 8,
        hooks: Hooks | None = None,
        proxy: str | Proxy | None = None,
        trust_env: bool = True,
        cert: ClientCert | None = None,
        trust: Literal["certifi", "system"] = "certifi",
    ) -> None:
        check_instance("ssl_context", ssl_context, ssl.SSLContext, "an ssl.SSLContext")
        if isinstance(max_idle_per_origin, bool) or not isinstance(max_idle_per_origin, int):
            raise UsageError(f"max_idle_per_origin must be an int, got {max_idle_per_origin!r}")
        self.settings = Settings(
            base_url,
            tuple(check_headers("headers", headers)),
            coerce_timeout(timeout),
            reconnect,
            ssl_context,
            verify,
            max_redirects,
            hooks,
            proxy,
            trust_env,
            client_environment(os.environ) if trust_env is True else {},
            tuple(check_params("params", params)),
            cert,
            trust,
        )
        self._pool: IdlePool[backend.Stream] | None = (
            IdlePool(max_idle_per_origin) if max_idle_per_origin > 0 else None
        )

    @overload
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = ...,
        params: QueryParams | None = ...,
        json: Any = ...,
        content: bytes | str | None = ...,
        timeout: Timeout | float | None = ...,
        reconnect: Reconnect | None = ...,
        last_event_id: str = ...,
        retry: int | None = ...,
        comments: Literal[False] = ...,
        done_sentinel: str | None = ...,
        max_line_size: int = ...,
        max_event_size: int = ...,
    ) -> AsyncEventSource[ServerSentEvent]: ...
    @overload
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = ...,
        params: QueryParams | None = ...,
        json: Any = ...,
        content: bytes | str | None = ...,
        timeout: Timeout | float | None = ...,
        reconnect: Reconnect | None = ...,
        last_event_id: str = ...,
        retry: int | None = ...,
        comments: bool,
        done_sentinel: str | None = ...,
        max_line_size: int = ...,
        max_event_size: int = ...,
    ) -> AsyncEventSource[ServerSentEvent | Comment]: ...
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        params: QueryParams | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        timeout: Timeout | float | None = None,
        reconnect: Reconnect | None = None,
        last_event_id: str = "",
        retry: int | None = None,
        comments: bool = False,
        done_sentinel: str | None = "[DONE]",
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> AsyncEventSource[Any]:
        """A stream, to open with ``async with``: entering connects and returns the
        source once the server answered 200 with an event stream; leaving closes it.

        ``last_event_id`` and ``retry`` (milliseconds) start the stream where an
        earlier source left off, as if the server had sent them."""
        state = self.settings.state_for(
            method,
            url,
            headers=headers,
            json=json,
            content=content,
            reconnect=reconnect,
            last_event_id=last_event_id,
            retry=retry,
            comments=comments,
            done_sentinel=done_sentinel,
            max_line_size=max_line_size,
            max_event_size=max_event_size,
            params=params,
        )
        timeout = self.settings.timeout_for(timeout)
        return AsyncEventSource(state, self.settings, timeout, self._pool)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        params: QueryParams | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        timeout: Timeout | float | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> tuple[Response, bytes]:
        """One whole answer, not a stream: its response head and its body (read
        whole, at most ``max_body_size`` bytes).

        Routed, proxied, redirected and pooled as ``stream()`` is; an answer with
        status 400 or more raises the ``ResponseError`` a stream would.  Sent once:
        no reconnect policy applies.  ``Accept: text/event-stream`` is sent unless
        ``headers`` give another ``Accept``.
        """
        check_limit("max_body_size", max_body_size)
        state = self.settings.state_for(
            method,
            url,
            headers=headers,
            json=json,
            content=content,
            reconnect=NO_RECONNECT,
            last_event_id="",
            comments=False,
            done_sentinel=None,
            max_line_size=DEFAULT_MAX_LINE_SIZE,
            max_event_size=DEFAULT_MAX_EVENT_SIZE,
            params=params,
        )
        timeout = self.settings.timeout_for(timeout)
        source: AsyncEventSource[Any] = AsyncEventSource(
            state, self.settings, timeout, self._pool, whole=True
        )
        async with source:
            body = await source.read_whole(max_body_size)
            response = source.response
        assert response is not None  # opened: a failure raised instead
        return response, body

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


@overload
def aconnect_sse(
    url: str,
    *,
    method: str = ...,
    headers: Mapping[str, str] | list[tuple[str, str]] | None = ...,
    params: QueryParams | None = ...,
    json: Any = ...,
    content: bytes | str | None = ...,
    timeout: Timeout | float = ...,
    reconnect: Reconnect | None = ...,
    ssl_context: ssl.SSLContext | None = ...,
    verify: bool = ...,
    last_event_id: str = ...,
    retry: int | None = ...,
    comments: Literal[False] = ...,
    done_sentinel: str | None = ...,
    max_redirects: int = ...,
    max_line_size: int = ...,
    max_event_size: int = ...,
    hooks: Hooks | None = ...,
    proxy: str | Proxy | None = ...,
    trust_env: bool = ...,
    cert: ClientCert | None = ...,
    trust: Literal["certifi", "system"] = ...,
) -> AsyncEventSource[ServerSentEvent]: ...
@overload
def aconnect_sse(
    url: str,
    *,
    method: str = ...,
    headers: Mapping[str, str] | list[tuple[str, str]] | None = ...,
    params: QueryParams | None = ...,
    json: Any = ...,
    content: bytes | str | None = ...,
    timeout: Timeout | float = ...,
    reconnect: Reconnect | None = ...,
    ssl_context: ssl.SSLContext | None = ...,
    verify: bool = ...,
    last_event_id: str = ...,
    retry: int | None = ...,
    comments: bool,
    done_sentinel: str | None = ...,
    max_redirects: int = ...,
    max_line_size: int = ...,
    max_event_size: int = ...,
    hooks: Hooks | None = ...,
    proxy: str | Proxy | None = ...,
    trust_env: bool = ...,
    cert: ClientCert | None = ...,
    trust: Literal["certifi", "system"] = ...,
) -> AsyncEventSource[ServerSentEvent | Comment]: ...
def aconnect_sse(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
    params: QueryParams | None = None,
    json: Any = None,
    content: bytes | str | None = None,
    timeout: Timeout | float = DEFAULT_TIMEOUT,
    reconnect: Reconnect | None = None,
    ssl_context: ssl.SSLContext | None = None,
    verify: bool = True,
    last_event_id: str = "",
    retry: int | None = None,
    comments: bool = False,
    done_sentinel: str | None = "[DONE]",
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    hooks: Hooks | None = None,
    proxy: str | Proxy | None = None,
    trust_env: bool = True,
    cert: ClientCert | None = None,
    trust: Literal["certifi", "system"] = "certifi",
) -> AsyncEventSource[Any]:
    """An event stream, to open with ``async with``: entering connects and gives the
    ``AsyncEventSource`` once the server answered 200 with ``text/event-stream``.

    A non-stream answer raises ``ResponseError`` (status, headers, body); a
    connection failure a ``TransportError``.  ``reconnect`` (a ``Reconnect``
    policy; default: reconnect like an EventSource, up to 10 attempts in a row)
    also covers the first connection.  ``max_line_size`` and ``max_event_size``
    limit the decoder; ``retry`` is the reconnection time (ms) to start with, as
    a server's ``retry:`` would set it; ``hooks`` (a ``Hooks``) are called on
    each request, response, reconnect and at the end.  ``proxy`` (a URL, or a
    ``Proxy``) sends every request through a forward proxy; without it, with
    ``trust_env``, ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` and ``NO_PROXY``
    decide, per request.  One connection, closed
    at the end: use ``AsyncClient`` to keep connections alive between streams.
    """
    client = AsyncClient(
        timeout=timeout,
        reconnect=reconnect,
        ssl_context=ssl_context,
        verify=verify,
        max_redirects=max_redirects,
        max_idle_per_origin=0,
        hooks=hooks,
        proxy=proxy,
        trust_env=trust_env,
        cert=cert,
        trust=trust,
    )
    return client.stream(
        method,
        url,
        headers=headers,
        params=params,
        json=json,
        content=content,
        last_event_id=last_event_id,
        retry=retry,
        comments=comments,
        done_sentinel=done_sentinel,
        max_line_size=max_line_size,
        max_event_size=max_event_size,
    )
