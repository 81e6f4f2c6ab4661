"""Line layer: raw bytes in, complete LF-terminated lines out.

``LineSplitter`` holds the part of the stream that does not yet make a whole
line and hands back, for each chunk, the block of lines that chunk completed,
normalised so that every line ends in a single LF.  It guarantees:

- CR, LF and CRLF end lines in any mix.  A CR that is the last byte of a chunk
  ends its line at once; an LF that then starts the next chunk is swallowed
  (it was the second half of a CRLF), never turned into an extra blank line.
- Exactly one leading UTF-8 BOM is removed, even when it arrives split over
  several chunks; a second BOM is left in place as data.
- Each byte is searched a constant number of times: the partial line is kept as
  a list of pieces and joined once, when its end arrives.  Work is linear in
  the input however it is chunked.
- A line longer than ``max_line_size`` never sits in memory (beyond its first
  five bytes, under a limit smaller than that, while they may still name a
  known field): the ``ignorable`` hook may declare it meaningless (an unknown
  field, an unwanted comment), and it is then dropped as it streams past;
  otherwise the splitter stores a ``LimitExceeded`` in ``error`` (the caller
  raises it after handing out what the chunk completed, so nothing received
  before the bad line is lost).

``LineDecoder`` is the public face: the same splitting, with each line decoded
from UTF-8 (invalid sequences become U+FFFD).  Lines are bytes in CR/LF-free
form, so decoding line by line gives exactly the text that decoding the whole
stream would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from .errors import LimitExceeded, UsageError

__all__ = ["DEFAULT_MAX_LINE_SIZE", "LineDecoder", "LineSplitter"]

DEFAULT_MAX_LINE_SIZE = 16 * 1024 * 1024
"""16 MiB: room for base64 images and long tool-call arguments in one data line."""

READ_SIZE = 64 * 1024
"""What a transport asks for per read: ``read_size`` says when to ask for more."""

LONG_LINE_READ_SIZE = 1024 * 1024
"""The read size once a pending line is this long: a multi-megabyte line then
costs a sixteenth of the reads and of the copies each read makes below."""

_BOM = b"\xef\xbb\xbf"


def check_limit(name: str, value: int) -> int:
    """Validate a size limit argument (a positive int) and return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return value


class LineSplitter:
    """Splits a byte stream into LF-normalised blocks of complete lines (see module doc).

    A base class, so that ``SSEDecoder`` can test ``_quiet`` and append to
    ``_tail`` inline on its hot path: while ``_quiet`` is true (BOM settled, no
    CR pending, not skipping, no error), a chunk with neither CR nor LF only
    extends ``_tail`` and ``_tail_size``, which must then be checked against
    ``max_line_size`` (``_overflow`` handles going over).  The pending line is
    a list of pieces, joined once when it ends: growing one buffer instead
    costs a copy per resize, ruinous for multi-megabyte lines.
    """

    def __init__(
        self,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        ignorable: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.max_line_size = check_limit("max_line_size", max_line_size)
        self._ignorable = ignorable
        self._tail: list[bytes] = []  # pieces of the line still waiting for its end
        self._tail_size = 0
        self._cr_pending = False  # the last byte seen was a CR that ended a line
        self._at_start = True  # the leading BOM question is still open
        self._start = b""  # bytes held back while they could still be a split BOM
        self._skipping = False  # dropping the rest of an oversized, ignorable line
        self._quiet = False  # none of the four states above: the hot path may run
        self.error: LimitExceeded | None = None  # set once a held line overflowed

    def _split(self, chunk: bytes) -> bytes:
        """Return the lines ``chunk`` completed, each ending in LF (``b""`` if none)."""
        if self._at_start:
            chunk = self._strip_bom(chunk)
        if self._cr_pending and chunk:
            self._cr_pending = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if 13 in chunk:
            self._cr_pending = chunk[-1] == 13
            if chunk.count(13) == chunk.count(b"\r\n"):
                chunk = chunk.replace(b"\r", b"")  # CRLF only: dropping the CRs is faster
            else:
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(10) + 1
        if self._skipping and end:
            start = chunk.find(10) + 1
            self._skipping = False
            chunk = chunk[start:]
            end -= start
        if not end:
            block = b""
        elif self._tail:
            self._tail.append(chunk[:end])
            block = b"".join(self._tail)
            self._tail = []
            self._tail_size = 0
        else:
            block = chunk if end == len(chunk) else chunk[:end]
        if end < len(chunk) and not self._skipping:
            self._tail.append(chunk[end:] if end else chunk)
            self._tail_size += len(chunk) - end
            if self._tail_size > self.max_line_size:
                self._overflow()
        self._quiet = not (self._at_start or self._cr_pending or self._skipping or self.error)
        return block

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete line."""
        return self._tail_size + len(self._start)

    @property
    def read_size(self) -> int:
        """How many bytes the next read may usefully ask for: more inside a long line."""
        return LONG_LINE_READ_SIZE if self._tail_size >= LONG_LINE_READ_SIZE else READ_SIZE

    def _overflow(self) -> None:
        """The held line went over the limit: drop it, and skip it or record the error.

        Whether it may be skipped is decided on its first bytes, once they hold
        the colon or are longer than any known field name (5); until then (only
        possible under a limit below 5) the few bytes stay held.
        """
        size = self._tail_size
        head = self._tail[0] if len(self._tail[0]) >= 8 else b"".join(self._tail)
        head = head[:8]
        if self._ignorable is not None and len(head) <= 5 and b":" not in head:
            return
        self._tail = []
        self._tail_size = 0
        if self._ignorable is None or not self._ignorable(head):
            self.error = LimitExceeded("max_line_size", self.max_line_size, size)
        self._skipping = True
        self._quiet = False

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._start + chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._start = head
            return b""
        self._at_start = False
        self._start = b""
        return head[3:] if head.startswith(_BOM) else head


class LineDecoder:
    """Bytes in, text lines out, by the event-stream line rules.

    ``feed(chunk)`` returns the lines the chunk completed, without their line
    ends, decoded from UTF-8 with U+FFFD for invalid bytes.  ``close()`` ends the
    input: a last line with no line end is discarded, as the event-stream rules
    require, so it always returns an empty list.
    """

    def __init__(self, *, max_line_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        self._splitter = LineSplitter(max_line_size)
        self._failed: str | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[str]:
        """Return every line this chunk completed.

        A line over ``max_line_size`` raises ``LimitExceeded``; the lines the same
        chunk completed before it are in the exception's ``events``.
        """
        if self._failed:
            raise UsageError(f"line decoder cannot be fed: {self._failed}")
        splitter = self._splitter
        block = splitter._split(bytes(data))
        out: list[str] = []
        if block:
            lines = block.split(b"\n")
            lines.pop()
            limit = splitter.max_line_size
            for line in lines:
                if len(line) > limit:
                    self._fail(LimitExceeded("max_line_size", limit, len(line)), out)
                out.append(line.decode("utf-8", "replace"))
        if splitter.error is not None:
            self._fail(splitter.error, out)
        return out

    def close(self) -> list[str]:
        """End of input: discard any unterminated line; always returns ``[]``."""
        self._failed = self._failed or "it was closed"
        return []

    def _fail(self, exc: LimitExceeded, received: list[str]) -> NoReturn:
        self._failed = f"it failed earlier ({exc})"
        exc.events = received
        raise exc

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete line (discarded at close)."""
        return self._splitter.pending
