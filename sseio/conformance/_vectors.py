"""The conformance vectors: raw event-stream bytes and what the WHATWG rules say they mean.

The corpus lives next to this module as ``vectors.json`` (shipped inside the
package).  Each vector holds the input bytes, every event a conforming parser
dispatches (type, data, last event ID), the stream's last event ID at end of
input and the reconnection time the stream set.  The expectations were written
by hand from the rules in the HTML standard, not produced by running a parser.
``[DONE]`` is plain data here: the sentinel is a convention above the rules.

How the JSON spells bytes (reversible, and readable for the ASCII majority):

- ``input`` is one part or a list of parts, concatenated: a JSON string is its
  UTF-8 encoding; ``{"hex": "ef bb"}`` is raw bytes (for invalid UTF-8);
  ``{"repeat": "x", "times": 1048576}`` is the UTF-8 text repeated (so the
  megabyte vectors cost a few bytes of JSON).
- an event's ``data`` is a string or a list of string / ``repeat`` parts; its
  ``type`` defaults to ``"message"`` and its ``id`` to ``""``.
- an ``events`` entry ``{"repeat": {event}, "times": N}`` is N copies.

``load_vectors()`` parses and checks the file once and caches the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from .._core.events import DONE, Done

__all__ = ["TAGS", "ExpectedEvent", "Vector", "expected_items", "load_vectors"]

TAGS = (
    "line-endings",
    "bom",
    "utf-8",
    "id",
    "retry",
    "dispatch",
    "eof",
    "comments",
    "fields",
    "whitespace",
    "limits",
    "llm",
)
"""Every tag a vector may carry, in the order scorecards list them."""

_DATA_FILE = "vectors.json"


class ExpectedEvent(NamedTuple):
    """One event a conforming parser dispatches: type, data and last event ID."""

    type: str
    data: str
    id: str


@dataclass(frozen=True)
class Vector:
    """One test vector: input bytes and the outcome the rules require."""

    name: str
    """Short, unique, kebab-case."""
    rule: str
    """The rule the vector exercises, in one sentence."""
    tags: tuple[str, ...]
    input: bytes
    events: tuple[ExpectedEvent, ...]
    """Every dispatched event, in order."""
    last_event_id: str
    """The stream's last event ID at end of input (updated at blank lines only)."""
    retry: int | None
    """The reconnection time the stream set, in milliseconds; ``None`` if never set."""
    notes: str = ""


def load_vectors(*, tags: Iterable[str] | None = None) -> tuple[Vector, ...]:
    """The shipped vectors, in file order; with ``tags``, those carrying any of them.

    Raises ``ValueError`` for a tag that no vector can carry.
    """
    vectors = _all_vectors()
    if tags is None:
        return vectors
    wanted = set(tags)
    unknown = sorted(wanted - set(TAGS))
    if unknown:
        raise ValueError(f"unknown tag {', '.join(unknown)}; choose from {', '.join(TAGS)}")
    return tuple(v for v in vectors if wanted.intersection(v.tags))


def expected_items(
    vector: Vector, *, done_sentinel: str | None = "[DONE]"
) -> tuple[ExpectedEvent | Done, ...]:
    """The vector's events as a client with a ``[DONE]`` sentinel reports them.

    An event whose data equals ``done_sentinel`` becomes ``sseio.Done()``; with
    ``done_sentinel=None`` this is just ``vector.events``.
    """
    if done_sentinel is None:
        return vector.events
    return tuple(DONE if e.data == done_sentinel else e for e in vector.events)


@lru_cache(maxsize=1)
def _all_vectors() -> tuple[Vector, ...]:
    text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return parse_vectors(json.loads(text))


def parse_vectors(document: Any) -> tuple[Vector, ...]:
    """Build vectors from the JSON document; raises ``ValueError`` if it is malformed."""
    vectors: list[Vector] = []
    names: set[str] = set()
    for entry in document["vectors"]:
        vector = _vector(entry)
        if vector.name in names:
            raise ValueError(f"duplicate vector name {vector.name!r}")
        names.add(vector.name)
        vectors.append(vector)
    return tuple(vectors)


def _vector(entry: dict[str, Any]) -> Vector:
    name = entry["name"]
    tags = tuple(entry["tags"])
    bad = [t for t in tags if t not in TAGS]
    if bad or not tags:
        raise ValueError(f"vector {name!r}: bad tags {tags!r}")
    retry = entry["retry"]
    if retry is not None and (type(retry) is not int or retry < 0):
        raise ValueError(f"vector {name!r}: bad retry {retry!r}")
    events: list[ExpectedEvent] = []
    for item in entry["events"]:
        if "repeat" in item:
            events += [_event(item["repeat"])] * item["times"]
        else:
            events.append(_event(item))
    return Vector(
        name=name,
        rule=entry["rule"],
        tags=tags,
        input=_input_bytes(entry["input"]),
        events=tuple(events),
        last_event_id=entry["last_event_id"],
        retry=retry,
        notes=entry.get("notes", ""),
    )


def _event(item: dict[str, Any]) -> ExpectedEvent:
    data = item["data"]
    if not isinstance(data, str):
        data = "".join(_text_part(part) for part in data)
    return ExpectedEvent(item.get("type", "message"), data, item.get("id", ""))


def _text_part(part: str | dict[str, Any]) -> str:
    if isinstance(part, str):
        return part
    return str(part["repeat"]) * int(part["times"])


def _input_bytes(spec: str | dict[str, Any] | list[str | dict[str, Any]]) -> bytes:
    parts = spec if isinstance(spec, list) else [spec]
    out = bytearray()
    for part in parts:
        if isinstance(part, dict) and "hex" in part:
            out += bytes.fromhex(part["hex"])
        else:
            out += _text_part(part).encode("utf-8")
    return bytes(out)
