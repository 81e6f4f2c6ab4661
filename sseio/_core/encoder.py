"""Encoder: events to wire bytes, for servers, tests and round trips.

It validates instead of writing a stream that would decode differently: an
``event`` or ``id`` with a line break, an ``id`` with NUL, a ``retry`` that is
not a non-negative integer, or text that is not valid Unicode raises
``EncodeError``.  Data may hold any mix of CR, LF and CRLF: each line becomes
its own ``data:`` line and the decoder joins them back with LF (so CR and CRLF
come back as LF; text without CR round-trips exactly).
"""

from __future__ import annotations

import re

from .errors import EncodeError

__all__ = ["encode_comment", "encode_event"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _utf8(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise EncodeError(f"{what} must be a str, got {type(text).__name__}")
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        raise EncodeError(f"{what} is not valid unicode: {exc.reason} at {exc.start}") from exc


def _single_line(text: str, what: str) -> bytes:
    raw = _utf8(text, what)
    if b"\n" in raw or b"\r" in raw:
        raise EncodeError(f"{what} must not contain CR or LF: {text!r}")
    return raw


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Bytes for one event block, ending with the blank line that dispatches it.

    ``data=None`` writes no data line (a block that only sets ``id`` or ``retry``);
    ``data=""`` writes an event with empty data.  ``id=""`` writes an empty ``id``
    field, which resets the client's last event ID; ``id=None`` writes none.
    ``event`` of ``None`` or ``""`` leaves the type at the default ``message``.
    ``comment`` is written first, as comment lines.
    """
    parts: list[bytes] = []
    if comment is not None:
        parts.append(encode_comment(comment))
    if event:
        parts.append(b"event: " + _single_line(event, "event") + b"\n")
    if id is not None:
        raw_id = _single_line(id, "id")
        if b"\0" in raw_id:
            raise EncodeError(f"id must not contain NUL: {id!r}")
        parts.append(b"id: " + raw_id + b"\n" if raw_id else b"id\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise EncodeError(f"retry must be a non-negative int (milliseconds), got {retry!r}")
        parts.append(b"retry: %d\n" % retry)
    if data is not None:
        if not isinstance(data, str):
            raise EncodeError(f"data must be a str, got {type(data).__name__}")
        for line in _LINE_BREAK.split(data) if ("\n" in data or "\r" in data) else (data,):
            parts.append(b"data: " + _utf8(line, "data") + b"\n" if line else b"data\n")
    parts.append(b"\n")
    return b"".join(parts)


def encode_comment(text: str = "") -> bytes:
    """Bytes for comment lines (``: text``), one per line of ``text``; keepalives use these."""
    if not isinstance(text, str):
        raise EncodeError(f"comment must be a str, got {type(text).__name__}")
    return b"".join(
        b": " + _utf8(line, "comment") + b"\n" if line else b":\n"
        for line in _LINE_BREAK.split(text)
    )
