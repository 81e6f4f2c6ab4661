"""The single pass over a captured body behind ``sseio check``, without IO.

``scan_body`` reads the body line by line by the WHATWG rules (CR, LF and CRLF
line ends, one leading BOM, fields split at the first colon, one space
removed, dispatch on a blank line) and collects what the checks need: how
lines end, where ids hold NUL, where ``retry`` is not ASCII digits, field
names in the wrong case or unknown, the largest event, comment times, and
whether the body ends inside an event.  Each dispatched event goes to an
``OpenAIFacts``, which records what an OpenAI-style stream said (chunks,
error payloads, finish reasons, ``[DONE]``).  ``invalid_utf8`` finds every
invalid UTF-8 sequence in one linear pass.  Only counts, first places and at
most 20 names are kept, never one record per event, so memory beyond the
body stays bounded; searches never rescan bytes, so the pass is linear.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BOM",
    "BodyFacts",
    "Clock",
    "First",
    "OpenAIFacts",
    "invalid_utf8",
    "sample",
    "scan_body",
]

BOM = b"\xef\xbb\xbf"
_FIELDS = (b"data", b"event", b"id", b"retry")
_MAX_NAMES = 20  # distinct unknown field names and choices remembered
_SAMPLE = 80  # characters of an offending value shown in a message


def sample(value: bytes | str) -> str:
    """``value`` quoted for a message, cut to a readable length."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return repr(text if len(text) <= _SAMPLE else text[:_SAMPLE] + "…")


@dataclass
class First:
    """How many times something was seen, and where first."""

    count: int = 0
    offset: int = 0
    event: int = 0
    value: str = ""

    def add(self, offset: int, event: int, value: str = "") -> None:
        if not self.count:
            self.offset, self.event, self.value = offset, event, value
        self.count += 1


@dataclass
class BodyFacts:
    endings: dict[str, First] = field(
        default_factory=lambda: {"LF": First(), "CRLF": First(), "CR": First()}
    )
    events: int = 0
    comments: int = 0
    first_comment_at: float = 0.0
    last_comment_at: float = 0.0
    first_event_at: float | None = None
    largest_event: int = 0
    largest_event_offset: int = 0
    largest_event_index: int = 0
    nul_id: First = field(default_factory=First)
    bad_retry: First = field(default_factory=First)
    wrong_case: First = field(default_factory=First)
    unknown: First = field(default_factory=First)
    unknown_names: list[str] = field(default_factory=list)
    pending_offset: int | None = None  # where an event left unterminated begins


class Clock:
    """When the byte at an offset arrived; offsets must be asked in order."""

    def __init__(self, arrivals: tuple[tuple[int, float], ...], end: float) -> None:
        self._arrivals = arrivals
        self._index = 0
        self._end = end

    def at(self, offset: int) -> float:
        arrivals = self._arrivals
        if not arrivals:
            return self._end
        while self._index + 1 < len(arrivals) and arrivals[self._index + 1][0] <= offset:
            self._index += 1
        return arrivals[self._index][1]


class OpenAIFacts:
    """What an OpenAI-style stream said: chunks, errors, finish reasons, ``[DONE]``."""

    def __init__(self) -> None:
        self.chunks = 0
        self.not_json = First()
        self.errors = First()
        self.done_event: int | None = None
        self.after_done = First()
        self.finish: dict[int, str | None] = {}
        self.first_token_at: float | None = None

    def event(self, index: int, offset: int, event_type: str, data: str, at: float) -> None:
        if self.done_event is not None:
            self.after_done.add(offset, index)
        if data == "[DONE]":
            if self.done_event is None:
                self.done_event = index
            return
        try:
            payload: Any = json.loads(data)
        except ValueError:
            if event_type == "error":
                self.errors.add(offset, index, sample(data))
            else:
                self.not_json.add(offset, index, sample(data))
            return
        if (isinstance(payload, dict) and "error" in payload) or event_type == "error":
            self.errors.add(offset, index, _error_message(payload))
            return
        if isinstance(payload, dict) and payload.get("object") == "chat.completion.chunk":
            self.chunks += 1
            self._choices(payload.get("choices"), at)

    def _choices(self, choices: Any, at: float) -> None:
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict) or not isinstance(choice.get("index"), int):
                continue
            index = choice["index"]
            if index not in self.finish and len(self.finish) >= _MAX_NAMES:
                continue
            reason = choice.get("finish_reason")
            if isinstance(reason, str) or index not in self.finish:
                self.finish[index] = reason if isinstance(reason, str) else None
            delta = choice.get("delta")
            if (
                self.first_token_at is None
                and isinstance(delta, dict)
                and (delta.get("content") or delta.get("tool_calls"))
            ):
                self.first_token_at = at


def _error_message(payload: Any) -> str:
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, str):
        return sample(error)
    if isinstance(error, dict):
        for key in ("message", "type", "code"):
            if isinstance(error.get(key), str):
                return sample(error[key])
    return sample(json.dumps(error, ensure_ascii=False))


def scan_body(body: bytes, clock: Clock, complete: bool, openai: OpenAIFacts) -> BodyFacts:
    """One pass over the body by the WHATWG rules, collecting what the rules need."""
    facts = BodyFacts()
    size = len(body)
    pos = len(BOM) if body.startswith(BOM) else 0
    next_cr = body.find(b"\r", pos)
    next_lf = body.find(b"\n", pos)
    block_start: int | None = None  # offset of the first line of the current block
    data: list[bytes] = []
    event_type = ""
    while True:
        if 0 <= next_cr < pos:
            next_cr = body.find(b"\r", pos)
        if 0 <= next_lf < pos:
            next_lf = body.find(b"\n", pos)
        if next_lf >= 0 and (next_cr < 0 or next_lf < next_cr):
            end, after, kind = next_lf, next_lf + 1, "LF"
        elif next_cr >= 0:
            end = next_cr
            if end + 1 < size and body[end + 1] == 0x0A:
                after, kind = end + 2, "CRLF"
            elif end + 1 == size and not complete:
                break  # an LF may have been on its way
            else:
                after, kind = end + 1, "CR"
        else:
            break
        facts.endings[kind].add(end, facts.events + 1)
        line = body[pos:end]
        event_index = facts.events + 1
        if not line:
            if data:
                at = clock.at(end)
                facts.events += 1
                if facts.first_event_at is None:
                    facts.first_event_at = at
                start = pos if block_start is None else block_start
                if after - start > facts.largest_event:
                    facts.largest_event = after - start
                    facts.largest_event_offset = start
                    facts.largest_event_index = event_index
                text = b"\n".join(data).decode("utf-8", "replace")
                openai.event(event_index, start, event_type or "message", text, at)
            block_start, data, event_type = None, [], ""
        elif line[0] == 0x3A:  # ":" a comment
            at = clock.at(pos)
            if not facts.comments:
                facts.first_comment_at = at
            facts.last_comment_at = at
            facts.comments += 1
        else:
            if block_start is None:
                block_start = pos
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event_type = value.decode("utf-8", "replace")
            elif name == b"id":
                if b"\0" in value:
                    facts.nul_id.add(pos, event_index, sample(value))
            elif name == b"retry":
                if not value or not value.isdigit():
                    facts.bad_retry.add(pos, event_index, sample(value))
            elif name.lower() in _FIELDS:
                facts.wrong_case.add(pos, event_index, sample(name))
            else:
                shown = name.decode("utf-8", "replace")
                facts.unknown.add(pos, event_index)
                if shown not in facts.unknown_names and len(facts.unknown_names) < _MAX_NAMES:
                    facts.unknown_names.append(shown)
        pos = after
    if pos < size or data:
        facts.pending_offset = pos if block_start is None else block_start
    return facts


def invalid_utf8(body: bytes, complete: bool) -> First:
    """Every invalid UTF-8 sequence, in one linear pass (a sequence cut by the end
    of a capture that did not complete is not counted)."""
    found = First()
    view = memoryview(body)
    pos = 0
    while pos < len(body):
        try:
            codecs.utf_8_decode(view[pos:], "strict", True)
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + exc.end
            if end >= len(body) and not complete and exc.reason == "unexpected end of data":
                break
            found.add(start, 0, body[start:end].hex(" "))
            pos = end
    return found
