"""Field layer: complete lines in, events out, by the WHATWG event-stream rules.

``FieldRules`` holds the per-stream state (data and event-type buffers, the
last-event-ID buffer, the reconnection time) and applies one line at a time:

- an empty line dispatches: the last event ID becomes the ID buffer (even when
  nothing is delivered), a block without ``data`` delivers nothing, otherwise
  one trailing LF is dropped and the event goes out;
- ``:`` starts a comment; otherwise the field name runs to the first colon and
  one space after the colon is removed from the value (a line with no colon is
  a field with an empty value); names are case-sensitive;
- ``data`` appends value + LF, ``event`` sets the type, ``id`` sets the ID buffer
  unless the value holds a NUL, ``retry`` counts only if made of ASCII digits;
  any other field is ignored;
- data whose text equals the sentinel (``[DONE]`` by default) comes out as
  ``Done``, not as an event.

Lines are bytes; text is decoded from UTF-8 (U+FFFD for bad bytes) once per
event, not per line.  The data buffer never holds more than ``max_event_size``
bytes: going over raises ``LimitExceeded``.

``EventAssembler`` is the public face for callers who already have lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from .errors import LimitExceeded, UsageError
from .events import DONE, Comment, Item, make_event
from .lines import check_limit

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "MAX_RETRY", "EventAssembler", "FieldRules"]

DEFAULT_MAX_EVENT_SIZE = 64 * 1024 * 1024
"""64 MiB of data per event: far above any real LLM event, small enough to stop a runaway."""

MAX_RETRY_DIGITS = 4300
"""The longest ``retry`` value, in significant digits, kept exactly (Python's own
bound on turning decimal text into an int, so a hostile stream cannot make one
line cost more than about a tenth of a millisecond)."""

MAX_RETRY: int = 10**MAX_RETRY_DIGITS - 1
"""``retry`` values are exact Python ints up to this many milliseconds (4,300
nines: far beyond any wait) and saturate above it.  The stream state keeps the
value as sent; only the wait before a reconnect is capped (``MAX_RECONNECT_WAIT``
in ``sseio.Reconnect``'s rules)."""

_KNOWN_FIELDS = frozenset((b"data", b"event", b"id", b"retry"))


def parse_retry(digits: bytes) -> int:
    """The value of a ``retry`` field already known to be ASCII digits (exact up to
    ``MAX_RETRY``, saturated above it)."""
    digits = digits.lstrip(b"0")
    if len(digits) > MAX_RETRY_DIGITS:
        return MAX_RETRY
    return int(digits or b"0")


class FieldRules:
    """Per-stream field state and the line rules (see module doc)."""

    def __init__(
        self,
        *,
        done_sentinel: str | None,
        max_event_size: int,
        comments: bool,
        last_event_id: str,
        retry: int | None,
    ) -> None:
        if done_sentinel is not None and not isinstance(done_sentinel, str):
            raise UsageError(f"done_sentinel must be a str or None, got {done_sentinel!r}")
        if not isinstance(last_event_id, str) or any(c in last_event_id for c in "\0\r\n"):
            raise UsageError(
                f"last_event_id must be a str without NUL, CR or LF, got {last_event_id!r}"
            )
        if retry is not None and (
            isinstance(retry, bool) or not isinstance(retry, int) or retry < 0
        ):
            raise UsageError(f"retry must be a non-negative int (ms) or None, got {retry!r}")
        self._done = done_sentinel
        self._max_event_size = check_limit("max_event_size", max_event_size)
        if not isinstance(comments, bool):
            raise UsageError(f"comments must be True or False, got {comments!r}")
        self._comments = comments
        self._data: bytes | bytearray | None = None  # None: no data line in this block
        self._event_type = b""
        self._id_buffer = last_event_id
        self._last_event_id = last_event_id
        self._block_retry: int | None = None  # valid retry read in this block
        self._retry = retry
        self._idle = True  # no field seen since the last dispatch
        self._failed: str | None = None  # why feeding is no longer allowed

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: set at each dispatch, what a reconnect sends."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in force (ms): the last valid ``retry`` field seen, if any."""
        return self._retry

    def ignorable(self, line: bytes) -> bool:
        """Whether this complete line has no effect (an unknown field, an unwanted comment).

        Also exact for the start of a line, once that start holds the colon or
        is longer than any known field name.
        """
        if line[:1] == b":":
            return not self._comments
        colon = line.find(b":")
        return (line if colon < 0 else line[:colon]) not in _KNOWN_FIELDS

    def _line(self, line: bytes, out: list[Item]) -> None:
        """Apply one complete line (no line end) to the state, appending any output."""
        if not line:
            self._dispatch(out)
            return
        colon = line.find(b":")
        if colon == 0:
            if self._comments:
                text = line[2:] if line[1:2] == b" " else line[1:]
                out.append(Comment(text.decode("utf-8", "replace")))
            return
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
        if name == b"data":
            self._append_data(value)
            return
        elif name == b"event":
            self._event_type = value
        elif name == b"id":
            if b"\0" in value:
                return
            self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry":
            if not value.isdigit():
                return
            self._retry = self._block_retry = parse_retry(value)
        else:
            return
        self._idle = False

    def _append_data(self, value: bytes) -> None:
        """The ``data`` field step: add a line to the data buffer, within ``max_event_size``."""
        data = self._data
        if data is None:
            size = len(value)
            data = value
        else:
            size = len(data) + 1 + len(value)
            if type(data) is bytes:
                data = bytearray(data)
            data += b"\n"
            data += value
        if size > self._max_event_size:
            self._data = None
            raise LimitExceeded("max_event_size", self._max_event_size, size)
        self._data = data
        self._idle = False

    def _check_open(self) -> None:
        if self._failed:
            raise UsageError(f"{type(self).__name__} cannot be fed: {self._failed}")

    def _fail(self, exc: LimitExceeded, received: list[Any]) -> NoReturn:
        """Stop for good, attach what was completed before the error, and raise it."""
        self._failed = f"it failed earlier ({exc})"
        self._quiet = False  # keeps a decoder's hot path off from now on
        exc.events = received
        raise exc

    def _end(self) -> None:
        """End of input: forget the undispatched block, refuse further input."""
        self._failed = self._failed or "it was closed"
        self._quiet = False
        self._data = None
        self._event_type = b""
        self._block_retry = None

    def _dispatch(self, out: list[Item]) -> None:
        """The empty-line step: update the last event ID and deliver the block's event."""
        if self._data is None:
            self._last_event_id = self._id_buffer
            self._event_type = b""
            self._block_retry = None
            self._idle = True
        else:
            self._dispatch_text(self._data.decode("utf-8", "replace"), out)

    def _dispatch_text(self, text: str, out: list[Item]) -> None:
        """The empty-line step for a block whose data, already decoded, is ``text``."""
        self._last_event_id = self._id_buffer
        if text == self._done:
            out.append(DONE)
        else:
            kind = self._event_type.decode("utf-8", "replace") if self._event_type else ""
            out.append(make_event(kind or "message", text, self._id_buffer, self._block_retry))
        self._data = None
        self._event_type = b""
        self._block_retry = None
        self._idle = True


class EventAssembler(FieldRules):
    """Lines in, events out: the field rules for callers who split lines themselves.

    Feed it each line without its line end (``str`` or UTF-8 ``bytes``), an empty
    line to dispatch.  It returns the items each line completed: ``ServerSentEvent``,
    ``Done`` for the sentinel, and ``Comment`` when ``comments=True``.
    """

    def __init__(
        self,
        *,
        done_sentinel: str | None = "[DONE]",
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

    def feed_line(self, line: str | bytes) -> list[Item]:
        """Apply one line; return what it completed (at most one item)."""
        return self.feed((line,))

    def feed(self, lines: Iterable[str | bytes]) -> list[Item]:
        """Apply lines in order; return everything they completed."""
        self._check_open()
        out: list[Item] = []
        for line in lines:
            raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else bytes(line)
            if b"\n" in raw or b"\r" in raw:
                raise UsageError(f"a line must not contain CR or LF: {line!r}")
            try:
                self._line(raw, out)
            except LimitExceeded as exc:
                self._fail(exc, out)
        return out

    def close(self) -> list[Item]:
        """End of input: a block not ended by an empty line is discarded; returns ``[]``."""
        self._end()
        return []
