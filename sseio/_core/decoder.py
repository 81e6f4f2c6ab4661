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

from codecs import getincrementaldecoder
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, Generic, Literal, TypeVar, overload

from .errors import LimitExceeded, UsageError
from .events import DONE, Comment, Done, ServerSentEvent
from .fields import DEFAULT_MAX_EVENT_SIZE, FieldRules
from .lines import DEFAULT_MAX_LINE_SIZE, LineSplitter

__all__ = ["SSEDecoder", "aiter_sse", "iter_sse"]

_new_tuple = tuple.__new__
_DATA_AFTER_BLANK = b"\n\ndata: "
_LF_DATA = b"\ndata: "
_BIG_LINE = 32 * 1024  # a pending line this long takes the copy-saving path

T = TypeVar("T", ServerSentEvent | Done, ServerSentEvent | Done | Comment)


class SSEDecoder(LineSplitter, FieldRules, Generic[T]):
    """Incremental, spec-exact event-stream decoder.

    ``feed(chunk)`` returns every item the chunk completed: ``ServerSentEvent``
    values, ``Done`` where the data equals ``done_sentinel`` (``None`` turns that
    off), and ``Comment`` values when ``comments=True``.  ``close()`` marks the
    end of input; an event without its terminating blank line is discarded
    there, as the rules require.  ``last_event_id`` and ``retry`` give the
    stream state at any time; pass them in to continue a stream after a
    reconnect.
    """

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
        FieldRules.__init__(
            self,
            done_sentinel=done_sentinel,
            max_event_size=max_event_size,
            comments=comments,
            last_event_id=last_event_id,
            retry=retry,
        )
        LineSplitter.__init__(self, max_line_size, self.ignorable)
        # A block no longer than this needs no per-line limit check.
        self._fast_limit = min(max_line_size, max_event_size)
        self._line_scan = self._fast_limit + 1  # an LF found before this ends a line in limits

    def feed(self, data: bytes | bytearray | memoryview) -> list[T]:
        """Return every item this chunk completed, in stream order."""
        if type(data) is not bytes:
            data = _as_bytes(data)
        if not self._quiet or 13 in data:
            if self._failed:
                self._check_open()
            block = self._split(data)
            if not self._quiet:
                return self._feed(block)
        elif 10 not in data:
            # A small read inside a line: it only extends the pending line.
            self._tail.append(data)
            self._tail_size += len(data)
            if self._tail_size > self.max_line_size:
                self._overflow()
                return self._feed(b"")
            return []
        elif self._tail or data[-1] != 10:
            if self._tail_size > _BIG_LINE and self._data is None:
                return self._finish_big_line(data)
            block = self._split(data)
            if not self._quiet:
                return self._feed(block)
        else:
            block = data
        # The first LF, searched for only as far as the limits allow, ends the block.
        if (
            self._idle
            and block.find(10, 0, self._line_scan) == len(block) - 2
            and block[:6] == b"data: "
        ):
            # The block is one one-line event: the shape of most LLM reads.
            value = block[6:-2]
            try:
                text = value.decode()
            except UnicodeDecodeError:
                text = value.decode("utf-8", "replace")
            if text == self._done:
                return [DONE]
            return [_new_tuple(ServerSentEvent, ("message", text, self._last_event_id, None))]
        return self._feed(block)

    def _feed(self, block: bytes) -> list[Any]:
        """Turn a block of complete LF-ended lines into items (the general path).

        The block is split on ``LF LF "data: "``: a blank line followed by a data
        line.  Every piece after the first then starts right after ``data: `` at an
        idle moment (a blank line just dispatched), so a piece with no LF of its own
        is a whole one-line event; any other piece goes line by line through the
        field rules.  When the block itself starts with ``data: `` at an idle
        moment, a blank line is put in front of it (a no-op dispatch) so that its
        first event takes the same path.
        """
        out: list[Any] = []
        if block:
            try:
                self._blocks(block, out)
            except LimitExceeded as exc:
                self._fail(exc, out)
        if self.error is not None:
            self._fail(self.error, out)
        return out

    def _blocks(self, block: bytes, out: list[Any]) -> None:
        if self._idle and block[:6] == b"data: ":
            pieces = (b"\n\n" + block).split(_DATA_AFTER_BLANK)
            del pieces[0]  # the empty text before the inserted blank line
        else:
            pieces = block.split(_DATA_AFTER_BLANK)
            first = pieces[0]
            del pieces[0]
            if not pieces:
                self._apply(first[:-1], out)
                return
            self._apply(first, out)
            self._dispatch(out)
        last = None
        if block[-2:] == b"\n\n":  # the last piece is a whole event too
            pieces[-1] = pieces[-1][:-2]
        else:
            last = pieces.pop()
        if len(block) > self._fast_limit:
            self._pieces_checked(pieces, out)
        else:
            done = self._done
            event_id = self._last_event_id
            for value in pieces:
                if 10 in value:
                    if value.count(10) == value.count(_LF_DATA):
                        # Only data lines: their values joined by LF, in one C call.
                        value = value.replace(_LF_DATA, b"\n")
                    else:
                        self._apply(b"data: " + value, out)
                        self._dispatch(out)
                        event_id = self._last_event_id
                        continue
                try:
                    text = value.decode()
                except UnicodeDecodeError:
                    text = value.decode("utf-8", "replace")
                if text == done:
                    out.append(DONE)
                else:
                    out.append(_new_tuple(ServerSentEvent, ("message", text, event_id, None)))
        if last is not None:
            self._apply(b"data: " + last[:-1], out)

    def _finish_big_line(self, data: bytes) -> list[Any]:
        """A read ends a long pending ``data:`` line that ends its event: decode it at once.

        The pieces are decoded one by one and the text joined once, so the
        line's only allocation of its full size is the text itself: the
        copies the general path makes (a joined line, then its text) dominate
        for multi-megabyte lines, and each one is fresh memory the allocator
        may have to fault in.
        """
        end = data.find(10)
        if (
            self._tail[0][:6] != b"data: "
            or data[end + 1 : end + 2] != b"\n"
            or self._tail_size + end > self._fast_limit
        ):
            return self._feed(self._split(data))
        pieces = self._tail
        pieces.append(data[:end])
        self._tail = []
        self._tail_size = 0
        utf8 = getincrementaldecoder("utf-8")("replace")
        texts = [utf8.decode(memoryview(pieces[0])[6:])]  # the value, after "data: "
        for index in range(1, len(pieces)):
            texts.append(utf8.decode(pieces[index]))
            pieces[index] = b""  # each piece goes as soon as it is text
        texts.append(utf8.decode(b"", True))
        text = "".join(texts)
        del texts
        items: list[Any] = []
        self._dispatch_text(text, items)
        try:
            items += self._feed(self._split(data[end + 2 :]))
        except LimitExceeded as exc:
            exc.events[:0] = items
            raise
        return items

    def _pieces_checked(self, pieces: list[bytes], out: list[Any]) -> None:
        """The middle pieces of a block too big to skip the limit checks: each one in full."""
        for value in pieces:
            self._apply(b"data: " + value, out)
            self._dispatch(out)

    def close(self) -> list[T]:
        """End of input.  A partial line or an undispatched event is discarded; returns ``[]``."""
        self._end()
        return []

    def _apply(self, text: bytes, out: list[Any]) -> None:
        """Apply LF-separated lines (``text`` has no final line end), blank lines included.

        Each stretch between blank lines goes to ``_apply_event``; a text longer
        than the line limit is checked line by line instead.
        """
        limit = self.max_line_size
        if len(text) > limit:
            for line in text.split(b"\n"):
                if len(line) <= limit:
                    self._line(line, out)
                elif not self.ignorable(line):
                    raise LimitExceeded("max_line_size", limit, len(line))
            return
        stretches = text.split(b"\n\n")
        self._apply_event(stretches[0], out)
        for stretch in stretches[1:]:
            self._dispatch(out)
            self._apply_event(stretch, out)

    def _apply_event(self, text: bytes, out: list[Any]) -> None:
        """Apply lines with no blank line among them (no line over the line limit).

        When the lines end in a run of ``data: `` lines, the run's values join
        the data buffer with one ``replace``; the lines before it (``event``,
        ``id``, comments...) and any other text go one by one.
        """
        if text[-1:] == b"\n":  # ends with an empty line
            self._apply_event(text[:-1], out)
            self._dispatch(out)
            return
        if text[:6] == b"data: ":
            start = 0
        else:
            start = text.find(_LF_DATA) + 1
            for line in (text[: start - 1] if start else text).split(b"\n"):
                self._line(line, out)
            if not start:
                return
        run = text[start:] if start else text
        value = run[6:].replace(_LF_DATA, b"\n")
        # Each replacement removed 6 bytes; if there was one per LF, all were data lines.
        if len(run) - 6 - len(value) == 6 * value.count(10):
            self._append_data(value)
        else:
            for line in run.split(b"\n"):
                self._line(line, out)


_GATHER_LIMIT = 64 * 1024
"""``iter_sse`` holds reads without line ends up to this many bytes before feeding them.

A read with no CR and no LF completes no line, so feeding it later, joined to
the next read, gives the same items at the same moments (the decoder is blind
to chunking) and saves a decoder call per small read.  At most this many bytes
(or ``max_line_size``, if smaller) plus one read are held back from the
decoder, so a line over the limit is still reported at once, give or take a read.
"""


def _as_bytes(data: object) -> bytes:
    """A chunk that is not ``bytes`` as bytes, or ``UsageError`` for text and the rest."""
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise UsageError("feed() takes bytes, got a str: pass the raw body (encode it first)")
    raise UsageError(f"feed() takes bytes, got {type(data).__name__}")


def _check_chunks(chunks: object, last: object) -> None:
    """After a ``TypeError`` in ``iter_sse``: a ``UsageError`` if the input was wrong."""
    if not isinstance(chunks, (Iterable, AsyncIterable)):
        raise UsageError(f"iter_sse() takes an iterable of bytes, got {type(chunks).__name__}")
    if not isinstance(last, (bytes, bytearray, memoryview)):
        hint = (
            ": pass the raw body (iter_bytes(), not iter_text())" if isinstance(last, str) else ""
        )
        raise UsageError(f"iter_sse() takes chunks of bytes, got {type(last).__name__}{hint}")


@overload
def iter_sse(
    chunks: Iterable[bytes | bytearray | memoryview],
    *,
    comments: Literal[False] = ...,
    done_sentinel: str | None = ...,
    max_line_size: int = ...,
    max_event_size: int = ...,
    last_event_id: str = ...,
    retry: int | None = ...,
) -> Iterator[ServerSentEvent | Done]: ...
@overload
def iter_sse(
    chunks: Iterable[bytes | bytearray | memoryview],
    *,
    comments: bool,
    done_sentinel: str | None = ...,
    max_line_size: int = ...,
    max_event_size: int = ...,
    last_event_id: str = ...,
    retry: int | None = ...,
) -> Iterator[ServerSentEvent | Done | Comment]: ...
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
    feed = decoder.feed
    gather_limit = min(_GATHER_LIMIT, decoder.max_line_size)
    held: list[bytes | bytearray | memoryview] = []
    held_size = 0
    chunk: object = None
    try:
        for chunk in chunks:
            if 10 in chunk or 13 in chunk:
                if held:
                    held.append(chunk)
                    chunk = b"".join(held)
                    held = []
                    held_size = 0
                yield from feed(chunk)
            else:
                held.append(chunk)
                held_size += len(chunk)
                if held_size > gather_limit:
                    feed(b"".join(held))  # completes nothing; checks the line limit
                    held = []
                    held_size = 0
        if held:
            feed(b"".join(held))  # completes nothing; a line over the limit still raises
    except LimitExceeded as exc:
        received, exc.events = exc.events, []
        yield from received
        raise
    except TypeError:
        _check_chunks(chunks, chunk)
        raise
    decoder.close()


@overload
def aiter_sse(
    chunks: AsyncIterable[bytes | bytearray | memoryview],
    *,
    comments: Literal[False] = ...,
    done_sentinel: str | None = ...,
    max_line_size: int = ...,
    max_event_size: int = ...,
    last_event_id: str = ...,
    retry: int | None = ...,
) -> AsyncIterator[ServerSentEvent | Done]: ...
@overload
def aiter_sse(
    chunks: AsyncIterable[bytes | bytearray | memoryview],
    *,
    comments: bool,
    done_sentinel: str | None = ...,
    max_line_size: int = ...,
    max_event_size: int = ...,
    last_event_id: str = ...,
    retry: int | None = ...,
) -> AsyncIterator[ServerSentEvent | Done | Comment]: ...
async def aiter_sse(
    chunks: AsyncIterable[bytes | bytearray | memoryview], **decoder_options: Any
) -> AsyncIterator[ServerSentEvent | Done | Comment]:
    """Async twin of ``iter_sse`` (``httpx`` ``aiter_bytes()``, aiohttp ``iter_any()``...)."""
    decoder: SSEDecoder[Any] = SSEDecoder(**decoder_options)
    feed = decoder.feed
    gather_limit = min(_GATHER_LIMIT, decoder.max_line_size)
    held: list[bytes | bytearray | memoryview] = []
    held_size = 0
    chunk: object = None
    try:
        async for chunk in chunks:
            if 10 in chunk or 13 in chunk:
                if held:
                    held.append(chunk)
                    chunk = b"".join(held)
                    held = []
                    held_size = 0
                for item in feed(chunk):
                    yield item
            else:
                held.append(chunk)
                held_size += len(chunk)
                if held_size > gather_limit:
                    feed(b"".join(held))  # completes nothing; checks the line limit
                    held = []
                    held_size = 0
        if held:
            feed(b"".join(held))  # completes nothing; a line over the limit still raises
    except LimitExceeded as exc:
        received, exc.events = exc.events, []
        for item in received:
            yield item
        raise
    except TypeError:
        _check_chunks(chunks, chunk)
        raise
    decoder.close()
