"""``EventStreamResponse``: an ASGI response streaming sseio items, for a framework's route.

It is a plain ASGI callable (``await response(scope, receive, send)``) that
Starlette endpoints may return as it is; ``starlette_response`` wraps it as a
Starlette ``Response`` for FastAPI.  Arguments are checked when it is built
(``UsageError``); sending goes through ``sseio.server._asgi_stream``, so the
client going away, a stuck client and cancellation all close the iterator.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TypeAlias

from .._core.errors import UsageError
from ._asgi_stream import (
    STREAM_HEADERS,
    Receive,
    Scope,
    Send,
    StreamOptions,
    retry_block,
    send_stream,
)
from ._messages import FRAMING_HEADERS, EventStream, StreamItem, check_interval, merge_headers

__all__ = ["EventStreamResponse", "HeadersLike", "check_http", "check_timeout"]

HeadersLike: TypeAlias = Iterable[tuple[str, str]] | Mapping[str, str]


def check_timeout(value: object, name: str) -> None:
    if value is None:
        raise UsageError(f"{name} must be a positive number of seconds, got None")
    check_interval(value, name)


def _check_retry(retry: object) -> None:
    if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int) or retry < 0):
        raise UsageError(f"retry must be a non-negative int (milliseconds) or None, got {retry!r}")


def check_http(scope: Scope, what: str) -> None:
    if scope.get("type") != "http":
        raise UsageError(f"{what} serves HTTP requests, got an ASGI {scope.get('type')!r} scope")


class EventStreamResponse:
    """An ASGI response streaming ``events``: ``await response(scope, receive, send)``.

    ``events`` is an async iterable of what ``EventStream`` takes
    (``ServerSentEvent``, ``Comment``, ``Done()``, ``bytes``), written one body
    message per item.  ``headers`` replace the defaults of the same name
    (``Content-Type: text/event-stream; charset=utf-8``, ``Cache-Control:
    no-store``, ``X-Accel-Buffering: no``); ``retry`` (milliseconds) is sent
    first as a ``retry:`` block; ``keepalive`` is the quiet time in seconds
    before a keepalive comment (``None``: never); a send that takes longer than
    ``send_timeout`` drops the client.  When the client goes away or is dropped,
    the iterator is closed with ``aclose()``, so a generator's ``finally`` runs.
    A handler wanting the client's last event ID reads its request's
    ``Last-Event-ID`` header.  A response is sent once (its iterator is used up).
    """

    def __init__(
        self,
        events: AsyncIterable[StreamItem],
        *,
        status: int = 200,
        headers: HeadersLike = (),
        keepalive: float | None = 15.0,
        send_timeout: float = 30.0,
        retry: int | None = None,
    ) -> None:
        check_interval(keepalive, "keepalive")
        check_timeout(send_timeout, "send_timeout")
        _check_retry(retry)
        self.stream = EventStream(events, status, tuple(_pairs(headers)), keepalive)
        self.send_timeout = send_timeout
        self.retry = retry

    @property
    def status_code(self) -> int:
        """The status sent (Starlette's name for it)."""
        return self.stream.status

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header sent: the defaults merged with the given ones, framing headers
        (``Content-Length``, ``Transfer-Encoding``) left to the server."""
        given = [(n, v) for n, v in self.stream.headers if n.lower() not in FRAMING_HEADERS]
        return merge_headers(STREAM_HEADERS, given)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(scope, receive, send, tuple(self.headers))

    async def serve(
        self, scope: Scope, receive: Receive, send: Send, headers: tuple[tuple[str, str], ...]
    ) -> None:
        """Send the stream with these (complete) headers; ``__call__`` gives ``self.headers``."""
        check_http(scope, "EventStreamResponse")
        keepalive = self.stream.keepalive
        assert keepalive is not ...
        options = StreamOptions(
            self.stream.status, headers, keepalive, self.send_timeout, retry_block(self.retry)
        )
        await send_stream(
            receive,
            send,
            self.stream.events,
            options,
            head_only=scope.get("method") == "HEAD",
            what=f"event stream for {scope.get('method')} {scope.get('path')}",
        )


def _pairs(headers: HeadersLike) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    try:
        return [(name, value) for name, value in items]
    except (TypeError, ValueError) as exc:
        raise UsageError(f"event stream headers must be (name, value) pairs: {exc}") from exc
