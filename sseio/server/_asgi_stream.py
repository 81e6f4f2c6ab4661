"""Writing one event stream over ASGI: ``http.response.*`` messages from stream items.

``send_stream`` sends the head, an optional ``retry:`` block, then one
``http.response.body`` message per item (encoded with the core encoder, as
``SSEServer`` encodes them), with keepalive comments when the items are quiet.
While it writes it watches ``receive()`` for ``http.disconnect``, bounds every
send by ``send_timeout`` and, when ``stopping`` is set (server shutdown), ends
the body cleanly between two items.  Whatever happens, the item iterator is
closed with ``aclose()`` before it returns, so a generator's ``finally`` runs;
being cancelled (a server's own shutdown timeout) closes it too.  A send that
raises ``OSError`` (what ASGI 2.4 servers raise once the client left) counts as
the client going away.  A stream
that failed, was aborted or lost its client is left without its last body
message: the server then closes the connection, so the client sees a broken
body, not a clean end.
"""

from __future__ import annotations

import logging
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    MutableMapping,
)
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias

import anyio

from .._core.encoder import encode_comment, encode_event
from ._messages import AbortConnection, StreamItem, encode_item

__all__ = [
    "KEEPALIVE",
    "STREAM_HEADERS",
    "Message",
    "Outcome",
    "Receive",
    "Scope",
    "Send",
    "StreamOptions",
    "asgi_headers",
    "close_iterator",
    "retry_block",
    "send_stream",
]

logger = logging.getLogger("sseio.server")

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]

KEEPALIVE = encode_comment("keepalive") + b"\n"
"""A keepalive comment, as ``SSEServer`` sends it."""
STREAM_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
)
_CLOSE_TIMEOUT = 5.0
"""How long an item iterator may take to close (its ``finally`` blocks)."""


class Outcome(Enum):
    COMPLETE = "the events ended"
    SHUTDOWN = "the server is shutting down"
    LOST = "the client went away or stopped reading"
    ABORTED = "the handler aborted the connection"
    FAILED = "the handler failed"


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """How one stream is written: its head, keepalive interval and send bound (seconds)."""

    status: int
    headers: tuple[tuple[str, str], ...]  # complete, the stream defaults merged in
    keepalive: float | None
    send_timeout: float
    prelude: bytes = b""  # sent right after the head (a retry: block)
    abort: bool = False  # leave the body without its end, as if the network failed


def asgi_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI sends them: latin-1 bytes, names lower-cased."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def retry_block(retry: int | None) -> bytes:
    """The ``retry:`` block a stream starts with (``b""`` for none)."""
    return b"" if retry is None else encode_event(None, retry=retry)


class _Lost(Exception):
    """A send did not finish within ``send_timeout``, or failed: the client is gone."""


class _Writer:
    """The sends of one stream: bounded, one at a time, remembering the last one."""

    def __init__(self, send: Send, send_timeout: float) -> None:
        self._send = send
        self._send_timeout = send_timeout
        self.turn = anyio.Lock(fast_acquire=True)
        self.last_write = anyio.current_time()
        self.lost = False
        self.stopped = False

    async def write(self, message: Message) -> None:
        try:
            with anyio.fail_after(self._send_timeout):
                await self._send(message)
        except TimeoutError as exc:
            self.lost = True
            raise _Lost(f"the client read nothing for {self._send_timeout}s") from exc
        except OSError as exc:  # ASGI 2.4: a send after the client left may raise it
            self.lost = True
            raise _Lost(f"sending failed: {exc!r}") from exc
        self.last_write = anyio.current_time()

    async def body(self, data: bytes) -> None:
        async with self.turn:
            await self.write({"type": "http.response.body", "body": data, "more_body": True})


async def send_stream(
    receive: Receive,
    send: Send,
    events: AsyncIterable[StreamItem],
    options: StreamOptions,
    *,
    head_only: bool = False,
    stopping: anyio.Event | None = None,
    what: str = "event stream",
) -> Outcome:
    """Write ``events`` as the answer to one request; see the module doc."""
    writer = _Writer(send, options.send_timeout)
    start = {
        "type": "http.response.start",
        "status": options.status,
        "headers": asgi_headers(options.headers),
    }
    if head_only:
        await close_iterator(events)
        await writer.write(start)
        await writer.write({"type": "http.response.body", "body": b"", "more_body": False})
        return Outcome.COMPLETE
    iterator = aiter(events)
    try:
        try:
            await writer.write(start)
            if options.prelude:
                await writer.body(options.prelude)
            outcome = await _write_items(receive, writer, iterator, options, stopping, what)
        except _Lost:
            outcome = Outcome.LOST
    finally:
        await close_iterator(iterator)
    if outcome is Outcome.COMPLETE and options.abort:
        outcome = Outcome.ABORTED
    elif outcome in (Outcome.COMPLETE, Outcome.SHUTDOWN):
        try:
            await writer.write({"type": "http.response.body", "body": b"", "more_body": False})
        except _Lost:
            outcome = Outcome.LOST
    if outcome is not Outcome.COMPLETE:
        logger.debug("%s ended: %s", what, outcome.value)
    return outcome


async def _write_items(
    receive: Receive,
    writer: _Writer,
    iterator: AsyncIterator[StreamItem],
    options: StreamOptions,
    stopping: anyio.Event | None,
    what: str,
) -> Outcome:
    outcome = Outcome.COMPLETE
    async with anyio.create_task_group() as task_group:
        scope = task_group.cancel_scope
        task_group.start_soon(_watch_client, receive, writer, scope)
        if options.keepalive is not None:
            task_group.start_soon(_send_keepalives, writer, options.keepalive, scope)
        if stopping is not None:
            task_group.start_soon(_watch_shutdown, stopping, writer, scope)
        try:
            async for item in iterator:
                data = encode_item(item)
                if data:
                    await writer.body(data)
        except _Lost:
            outcome = Outcome.LOST
        except AbortConnection:
            outcome = Outcome.ABORTED
        except Exception:
            logger.exception("%s failed", what)
            outcome = Outcome.FAILED
        async with writer.turn:  # a keepalive being written ends first
            scope.cancel()
    if writer.lost:
        return Outcome.LOST
    return Outcome.SHUTDOWN if writer.stopped else outcome


async def _watch_client(receive: Receive, writer: _Writer, scope: anyio.CancelScope) -> None:
    """Wait for ``http.disconnect`` (request body messages still to come are skipped)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            writer.lost = True
            scope.cancel()
            return


async def _send_keepalives(writer: _Writer, interval: float, scope: anyio.CancelScope) -> None:
    try:
        while True:
            delay = writer.last_write + interval - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
                continue
            await writer.body(KEEPALIVE)
    except _Lost:
        scope.cancel()


async def _watch_shutdown(stopping: anyio.Event, writer: _Writer, scope: anyio.CancelScope) -> None:
    await stopping.wait()
    async with writer.turn:  # between two sends, never inside one
        writer.stopped = True
        scope.cancel()


async def close_iterator(iterator: object) -> None:
    """``aclose()`` an item iterator, if it has one, so its ``finally`` blocks run;
    shielded from cancellation but bounded by ``_CLOSE_TIMEOUT``."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
        try:
            await aclose()
        except Exception:
            logger.exception("closing the event iterator failed")
