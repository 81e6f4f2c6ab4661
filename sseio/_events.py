"""The values a decoder produces: events, the end-of-stream sentinel, comments.

All three are frozen, slotted dataclasses: immutable, hashable and compared
with ``==`` field by field, so tests can assert whole lists of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Comment", "Done", "Item", "ServerSentEvent"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    ``event`` is the event type (``"message"`` when the stream named none), ``data``
    the data buffer with its final LF removed, ``id`` the last event ID in force
    when the event was dispatched (``""`` if none), and ``retry`` the reconnection
    time in milliseconds from a valid ``retry`` field in this event's own block,
    else ``None``.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def json(self, **loads_kwargs: Any) -> Any:
        """Parse ``data`` as JSON (raises ``json.JSONDecodeError`` when it is not)."""
        return json.loads(self.data, **loads_kwargs)

    def encode(self) -> bytes:
        """Wire bytes that decode back to this event (``id`` is written when non-empty)."""
        from ._encoder import encode_event

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


Item = Union[ServerSentEvent, Done, Comment]
"""Anything a decoder can emit."""

DONE = Done()

_new = object.__new__
_set_event = ServerSentEvent.event.__set__  # type: ignore[attr-defined]
_set_data = ServerSentEvent.data.__set__  # type: ignore[attr-defined]
_set_id = ServerSentEvent.id.__set__  # type: ignore[attr-defined]
_set_retry = ServerSentEvent.retry.__set__  # type: ignore[attr-defined]


def make_event(event: str, data: str, id: str, retry: int | None) -> ServerSentEvent:
    """Build an event without the frozen-dataclass ``__init__`` (twice as fast, same value)."""
    new = _new(ServerSentEvent)
    _set_event(new, event)
    _set_data(new, data)
    _set_id(new, id)
    _set_retry(new, retry)
    return new
