"""A small, obviously-correct reference model of the WHATWG event-stream parser.

It works on text, straight from the rules in the HTML standard, and shares no
code with sseio's decoder: the whole byte string is decoded as UTF-8 (U+FFFD
for malformed sequences), one leading U+FEFF is dropped, the text is cut into
lines at CRLF, lone CR and lone LF (a final piece with no line end is not a
line), and each line is applied in order with the field and dispatch rules.

Conventions shared with sseio (they are decided, the model follows them):

- ``ServerSentEvent.id`` is the source's last event ID at dispatch time;
- ``ServerSentEvent.retry`` is a valid ``retry`` value read in that event's own
  block (since the previous blank line), else ``None``;
- data equal to ``done_sentinel`` gives ``Done()`` instead of an event;
- with ``comments=True`` each comment line gives ``Comment(text)``, with one
  leading space after the colon removed;
- ``last_event_id`` is updated at every blank line, dispatched or not;
- ``retry`` is the reconnection time in force, updated as soon as a valid
  ``retry`` line is complete; values are exact, saturating only above
  ``sseio.MAX_RETRY`` (4,300 digits).

Other test modules import ``reference_decode`` and ``ReferenceResult``; keep
their interface stable.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import sseio

__all__ = ["ReferenceResult", "reference_decode", "split_lines"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_ASCII_DIGITS = frozenset("0123456789")


class ReferenceResult(NamedTuple):
    """What a whole stream decodes to, by the spec."""

    items: list[sseio.ServerSentEvent | sseio.Done | sseio.Comment]
    last_event_id: str
    retry: int | None


def split_lines(text: str) -> list[str]:
    """The complete lines of ``text``, without their line ends.

    CRLF, a lone CR and a lone LF each end a line.  Whatever follows the last
    line end has no line end yet, so it is not a line.
    """
    pieces = _LINE_END.split(text)
    return pieces[:-1]


def _retry_value(value: str) -> int | None:
    """Milliseconds for a ``retry`` value made only of ASCII digits, else ``None``."""
    if not value or not set(value) <= _ASCII_DIGITS:
        return None
    significant = value.lstrip("0")
    if len(significant) > len(str(sseio.MAX_RETRY)):
        return sseio.MAX_RETRY
    return min(int(significant or "0"), sseio.MAX_RETRY)


def reference_decode(
    data: bytes,
    *,
    done_sentinel: str | None = "[DONE]",
    comments: bool = False,
) -> ReferenceResult:
    """Decode a complete byte stream (end of input included) by the spec's rules."""
    text = bytes(data).decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]

    items: list[sseio.ServerSentEvent | sseio.Done | sseio.Comment] = []
    data_buffer = ""
    event_type = ""
    id_buffer = ""
    last_event_id = ""
    retry: int | None = None
    block_retry: int | None = None

    for line in split_lines(text):
        if line == "":
            # Dispatch.
            last_event_id = id_buffer
            if data_buffer == "":
                data_buffer = ""
                event_type = ""
                block_retry = None
                continue
            if data_buffer.endswith("\n"):
                data_buffer = data_buffer[:-1]
            if done_sentinel is not None and data_buffer == done_sentinel:
                items.append(sseio.Done())
            else:
                items.append(
                    sseio.ServerSentEvent(
                        event=event_type or "message",
                        data=data_buffer,
                        id=last_event_id,
                        retry=block_retry,
                    )
                )
            data_buffer = ""
            event_type = ""
            block_retry = None
            continue

        if line.startswith(":"):
            if comments:
                body = line[1:]
                if body.startswith(" "):
                    body = body[1:]
                items.append(sseio.Comment(body))
            continue

        if ":" in line:
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""

        if name == "data":
            data_buffer += value + "\n"
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry":
            parsed = _retry_value(value)
            if parsed is not None:
                retry = parsed
                block_retry = parsed
        # Any other field name is ignored.

    # End of input: an undispatched block is discarded.
    return ReferenceResult(items, last_event_id, retry)
