"""SSEDecoder: bytes in, events out, in one pass; plus iter_sse / aiter_sse.

The decoder composes the line layer (``LineSplitter``: line ends, BOM, partial
lines, the line limit) with the field rules (``FieldRules``).  Its speed comes
from working on whole blocks: the lines a chunk completed are split once on
the blank-line separator, and a block that is a single ``data:`` line while
no field is pending (the shape of nearly every LLM chunk) becomes an event
with one slice and one UTF-8 decode.  Every other block goes line by line
through the field rules, so both paths give the same events by construction.

Guarantees: any chunking of the same bytes gives the same items; total work is
linear in the input; memory is bounded by ``max_line_size`` plus
``max_event_size``; bad bytes become U+FFFD, never an exception; a limit
violation raises ``LimitExceeded`` carrying the items completed before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, Generic, Literal, TypeVar, overload

from ._assembler import DEFAULT_MAX_EVENT_SIZE, FieldRules
from ._errors import LimitExceeded
from ._events import DONE, Comment, Done, Item, ServerSentEvent, make_event
from ._lines import DEFAULT_MAX_LINE_SIZE, LineSplitter

__all__ = ["SSEDecoder", "aiter_sse", "iter_sse"]

T = TypeVar("T", ServerSentEvent | Done, ServerSentEvent | Done | Comment)


class SSEDecoder(FieldRules, Generic[T]):
    """Incremental, spec-exact event-stream decoder.

    ``feed(chunk)`` returns every item the chunk completed: ``ServerSentEvent``
    values, ``Done`` where the data equals ``done_sentinel`` (``None`` turns that
    off), and ``Comment`` values when ``comments=True``.  ``close()`` marks the
    end of input; an event without its terminating blank line is discarded
    there, as the rules require.  ``last_event_id`` and ``retry`` give the
    stream state at any time; pass them in to continue a stream after a
    reconnect.
    """

    __slots__ = ("_fast_limit", "_lines", "_sentinel_value")

    @overload
    def __init__(
        self: SSEDecoder[ServerSentEvent | Done],
        *,
        done_sentinel: str | None = ...,
        max_line_size: int = ...,
        max_event_size: int = ...,
        comments: Literal[False] = ...,
        last_event_id: str = ...,
        retry: int | None = ...,
    ) -> None: ...
    @overload
    def __init__(
        self: SSEDecoder[ServerSentEvent | Done | Comment],
        *,
        done_sentinel: str | None = ...,
        max_line_size: int = ...,
        max_event_size: int = ...,
        comments: Literal[True],
        last_event_id: str = ...,
        retry: int | None = ...,
    ) -> None: ...
    def __init__(
        self,
        *,
        done_sentinel: str | None = "[DONE]",
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        comments: bool = False,
        last_event_id: str = "",
        retry: int | None = None,
    ) -> None:
        super().__init__(
            done_sentinel=done_sentinel,
            max_event_size=max_event_size,
            comments=comments,
            last_event_id=last_event_id,
            retry=retry,
        )
        self._lines = LineSplitter(max_line_size, self.ignorable)
        # A block no longer than this needs no per-line limit check.
        self._fast_limit = min(max_line_size, max_event_size)
        self._sentinel_value = None if done_sentinel is None else done_sentinel.encode()

    def feed(self, data: bytes | bytearray | memoryview) -> list[T]:
        """Return every item this chunk completed, in stream order."""
        if self._failed:
            self._check_open()
        block = self._lines.split(data if type(data) is bytes else bytes(data))
        out: list[Any] = []
        if block:
            blocks = block.split(b"\n\n")
            rest = blocks.pop()
            try:
                for text in blocks:
                    if (
                        self._idle
                        and text[:5] == b"data:"
                        and len(text) <= self._fast_limit
                        and text.find(b"\n") < 0
                    ):
                        value = text[6:] if text[5:6] == b" " else text[5:]
                        if value == self._sentinel_value:
                            out.append(DONE)
                        else:
                            data_text = value.decode("utf-8", "replace")
                            out.append(make_event("message", data_text, self._last_event_id, None))
                    else:
                        self._lines_of(text, out)
                        self._dispatch(out)
                if rest:
                    self._lines_of(rest[:-1], out)
            except LimitExceeded as exc:
                self._fail(exc, out)
        if self._lines.error is not None:
            self._fail(self._lines.error, out)
        return out

    def close(self) -> list[T]:
        """End of input.  A partial line or an undispatched event is discarded; returns ``[]``."""
        self._end()
        return []

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete line."""
        return self._lines.pending

    def _lines_of(self, text: bytes, out: list[Any]) -> None:
        """Apply each LF-separated line of ``text``, enforcing the line limit."""
        limit = self._lines.max_line_size
        if len(text) <= limit:
            for line in text.split(b"\n"):
                self._line(line, out)
            return
        for line in text.split(b"\n"):
            if len(line) <= limit:
                self._line(line, out)
            elif not self.ignorable(line[:8]):
                raise LimitExceeded("max_line_size", limit, len(line))


def iter_sse(
    chunks: Iterable[bytes | bytearray | memoryview], **decoder_options: Any
) -> Iterator[ServerSentEvent | Done | Comment]:
    """Yield items from any iterable of byte chunks as they complete.

    Works with ``httpx`` ``response.iter_bytes()``, ``requests``
    ``response.iter_content(None)``, a socket loop, a file read in blocks...
    Keyword arguments go to ``SSEDecoder``.  A limit violation is raised after
    the items completed before it have been yielded.
    """
    decoder: SSEDecoder[Any] = SSEDecoder(**decoder_options)
    for chunk in chunks:
        try:
            items = decoder.feed(chunk)
        except LimitExceeded as exc:
            yield from exc.events
            exc.events = []
            raise
        yield from items
    decoder.close()


async def aiter_sse(
    chunks: AsyncIterable[bytes | bytearray | memoryview], **decoder_options: Any
) -> AsyncIterator[ServerSentEvent | Done | Comment]:
    """Async twin of ``iter_sse`` (``httpx`` ``aiter_bytes()``, aiohttp ``iter_any()``...)."""
    decoder: SSEDecoder[Any] = SSEDecoder(**decoder_options)
    async for chunk in chunks:
        try:
            items = decoder.feed(chunk)
        except LimitExceeded as exc:
            for item in exc.events:
                yield item
            exc.events = []
            raise
        for item in items:
            yield item
    decoder.close()
