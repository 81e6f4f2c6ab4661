"""The values a decoder produces: events, the end-of-stream sentinel, comments.

All three are immutable, slotted values compared with ``==`` field by field,
so tests can assert whole lists of them.  ``ServerSentEvent`` is a
``NamedTuple`` rather than a dataclass because it is built once per event on
the hot path, and a tuple is built in one C call, twice as fast as a frozen
dataclass; its ``==`` still requires the same type, so an event never equals a
plain tuple.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

__all__ = ["Comment", "Done", "Item", "ServerSentEvent"]


class ServerSentEvent(NamedTuple):
    """One dispatched event.

    ``event`` is the event type (``"message"`` when the stream named none), ``data``
    the data buffer with its final LF removed, ``id`` the last event ID in force
    when the event was dispatched (``""`` if none), and ``retry`` the reconnection
    time in milliseconds from a valid ``retry`` field in this event's own block,
    else ``None``.  Immutable; ``event._replace(data=...)`` makes a changed copy.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return tuple.__hash__(self)

    def json(self, **loads_kwargs: Any) -> Any:
        """Parse ``data`` as JSON (raises ``json.JSONDecodeError`` when it is not)."""
        return json.loads(self.data, **loads_kwargs)

    def encode(self) -> bytes:
        """Wire bytes that decode back to this event (``id`` is written when non-empty)."""
        from .encoder import encode_event

        return encode_event(
            self.data,
            event=None if self.event == "message" else self.event,
            id=self.id or None,
            retry=self.retry,
        )


@dataclass(frozen=True, slots=True)
class Done:
    """The end-of-stream sentinel: an event whose data was exactly ``[DONE]``.

    The decoder emits this instead of a ``ServerSentEvent`` so that consumers
    never try to parse the sentinel as JSON.
    """


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line (``: text``), with one leading space after the colon removed.

    Decoders emit these only when asked to (``comments=True``); servers send them
    as keepalives.
    """

    text: str = ""


Item: TypeAlias = "ServerSentEvent | Done | Comment"
"""Anything a decoder can emit."""

DONE = Done()

_new_tuple = tuple.__new__


def make_event(event: str, data: str, id: str, retry: int | None) -> ServerSentEvent:
    """Build an event in one C call (the hot path inlines ``_new_tuple`` itself)."""
    return _new_tuple(ServerSentEvent, (event, data, id, retry))
