"""Serving sseio streams from ASGI: an app made from an sseio handler, and a response for routes.

``asgi_app(handler)`` turns the handler ``SSEServer`` takes (``Request`` in,
``EventStream`` or ``Response`` out) into an ASGI application, so one way of
writing a stream has two ways of being served: by ``SSEServer``, or by uvicorn,
hypercorn or any ASGI server.  The request is built from the scope and the
whole body (``max_request_size`` bounded: 413 beyond); the handler's answer is
sent as ``SSEServer`` sends it (same headers, same bytes per item, same
keepalive comments, ``BadRequest`` as a 4xx JSON error, a crash as a 500).
The lifespan protocol is answered; its shutdown (or ``await app.shutdown()``)
ends running streams cleanly and closes their generators.

``EventStreamResponse(events)`` is a plain ASGI callable for a framework's
route (Starlette's endpoints may return it; ``starlette_response`` gives the
same as a Starlette ``Response`` for FastAPI).  Both, through
``sseio.server._asgi_stream``, watch for the client going away, bound every
send, and close the generator whatever happens.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio

from .._core.errors import UsageError
from ._asgi_response import EventStreamResponse, HeadersLike, check_http, check_timeout
from ._asgi_stream import (
    STREAM_HEADERS,
    Receive,
    Scope,
    Send,
    StreamOptions,
    asgi_headers,
    send_stream,
)
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
    error_response,
    merge_headers,
)

if TYPE_CHECKING:
    import starlette.responses

__all__ = ["ASGIApp", "EventStreamResponse", "asgi_app", "starlette_response"]

logger = logging.getLogger("sseio.server")


def starlette_response(
    events: AsyncIterable[StreamItem],
    *,
    status: int = 200,
    headers: HeadersLike = (),
    keepalive: float | None = 15.0,
    send_timeout: float = 30.0,
    retry: int | None = None,
) -> starlette.responses.Response:
    """``EventStreamResponse(...)`` as a ``starlette.responses.Response``, which FastAPI
    routes return as it is (the arguments are ``EventStreamResponse``'s).

    Starlette (a FastAPI dependency) is imported only when this is called; a
    background task set on the response runs after the stream ends.
    """
    from ._asgi_starlette import StarletteEventStream

    response = EventStreamResponse(
        events,
        status=status,
        headers=headers,
        keepalive=keepalive,
        send_timeout=send_timeout,
        retry=retry,
    )
    return StarletteEventStream(response)


class ASGIApp:
    """An ASGI application answering each HTTP request with ``await handler(request)``.

    Made by ``asgi_app``; see there for the options.  ``active_streams`` counts
    the streams being written; ``await shutdown()`` ends them (as a lifespan
    shutdown does).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        keepalive: float | None = 15.0,
        send_timeout: float = 30.0,
        max_request_size: int = 8 * 1024 * 1024,
        shutdown_grace: float = 5.0,
    ) -> None:
        if not callable(handler):
            raise UsageError(f"handler must be an async callable, got {handler!r}")
        check_interval(keepalive, "keepalive")
        check_timeout(send_timeout, "send_timeout")
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
        self.keepalive = keepalive
        self.send_timeout = send_timeout
        self.max_request_size = max_request_size
        self.shutdown_grace = shutdown_grace
        self.active_streams = 0
        self._stopping: anyio.Event | None = None  # made in the server's event loop
        self._idle: anyio.Event | None = None  # set when the last running stream ends

    def _stopping_event(self) -> anyio.Event:
        if self._stopping is None:
            self._stopping = anyio.Event()
        return self._stopping

    async def shutdown(self) -> None:
        """End every running stream cleanly between two items (their iterators are
        closed) and wait up to ``shutdown_grace`` seconds for them; streams started
        afterwards end at once."""
        self._stopping_event().set()
        idle = self._idle
        if self.active_streams and idle is not None:
            with anyio.move_on_after(self.shutdown_grace, shield=True):
                await idle.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "lifespan":
            await self._lifespan(receive, send)
            return
        check_http(scope, "asgi_app")
        body = await self._read_body(receive, send)
        if body is None:
            return
        request = request_from_scope(scope, body)
        try:
            answer = await self.handler(request)
        except BadRequest as exc:
            answer = error_response(exc.status, exc.message, "invalid_request_error")
        except AbortConnection:
            logger.debug("handler aborted the request %s %s", request.method, request.target)
            return
        except Exception:
            logger.exception("handler failed for %s %s", request.method, request.target)
            answer = SERVER_ERROR
        if isinstance(answer, EventStream):
            await self._stream(request, answer, receive, send)
            return
        if not isinstance(answer, Response):
            logger.error(
                "handler returned a %s for %s %s, not a Response or EventStream",
                type(answer).__name__,
                request.method,
                request.target,
            )
            answer = SERVER_ERROR
        await send_plain(send, answer, head_only=request.method == "HEAD")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message.get("type") == "lifespan.startup":
                self._stopping_event()
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole request body, or ``None`` (the client left, or got a 413)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return None
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_request_size:
                error = error_response(
                    413,
                    f"request body over max_request_size={self.max_request_size} bytes",
                    "invalid_request_error",
                )
                await send_plain(send, error, head_only=False)
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _stream(
        self, request: Request, answer: EventStream, receive: Receive, send: Send
    ) -> None:
        keepalive = self.keepalive if answer.keepalive is ... else answer.keepalive
        headers = merge_headers(
            STREAM_HEADERS, [(n, v) for n, v in answer.headers if n.lower() not in FRAMING_HEADERS]
        )
        options = StreamOptions(
            answer.status, tuple(headers), keepalive, self.send_timeout, abort=answer.abort
        )
        stopping = self._stopping_event()
        if not self.active_streams:
            self._idle = anyio.Event()
        idle = self._idle
        self.active_streams += 1
        try:
            await send_stream(
                receive,
                send,
                answer.events,
                options,
                head_only=request.method == "HEAD",
                stopping=stopping,
                what=f"event stream for {request.method} {request.target}",
            )
        finally:
            self.active_streams -= 1
            if not self.active_streams and idle is not None:
                idle.set()


def asgi_app(
    handler: Handler,
    *,
    keepalive: float | None = 15.0,
    send_timeout: float = 30.0,
    max_request_size: int = 8 * 1024 * 1024,
    shutdown_grace: float = 5.0,
) -> ASGIApp:
    """An ASGI application serving an ``SSEServer`` handler: ``Request`` in, ``EventStream``
    or ``Response`` out, the same bytes as ``SSEServer`` sends.

    ``keepalive`` (seconds of quiet before a keepalive comment, ``None``: never;
    an ``EventStream``'s own setting wins), ``send_timeout`` (a send taking
    longer drops the client), ``max_request_size`` (bytes of body; 413 beyond)
    and ``shutdown_grace`` (how long a shutdown waits for streams to end) are
    ``SSEServer``'s options.  A handler's ``AbortConnection`` leaves the request
    unanswered: under ASGI the server decides what the client sees.
    """
    return ASGIApp(
        handler,
        keepalive=keepalive,
        send_timeout=send_timeout,
        max_request_size=max_request_size,
        shutdown_grace=shutdown_grace,
    )


def request_from_scope(scope: Scope, body: bytes) -> Request:
    """The ``Request`` ``SSEServer`` would give for the request an ASGI scope describes."""
    raw_path = scope.get("raw_path")
    if raw_path:
        path = bytes(raw_path).decode("latin-1")
    else:
        path = quote(str(scope.get("path", "/")), safe="/:@!$&'()*+,;=-._~%")
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    target = f"{path}?{query}" if query else path
    headers = tuple(
        (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
        for name, value in scope.get("headers", ())
    )
    client: Any = scope.get("client")
    peer = (str(client[0]), int(client[1])) if client else None
    return Request(str(scope.get("method", "GET")), target, path, query, headers, body, peer)


async def send_plain(send: Send, response: Response, *, head_only: bool) -> None:
    """A whole answer: ``Content-Length`` set here, no body for HEAD, 204 and 304."""
    no_body = response.status in NO_BODY_STATUSES
    defaults = [] if no_body else [("content-length", str(len(response.body)))]
    extra = [(n, v) for n, v in response.headers if n.lower() not in FRAMING_HEADERS]
    headers = merge_headers(defaults, extra)
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": asgi_headers(headers),
        }
    )
    body = b"" if head_only or no_body else response.body
    await send({"type": "http.response.body", "body": body, "more_body": False})
