"""The broadcast hub's decisions, sans-IO: ids, the replay window, resuming, lagging.

Nothing here touches a clock, a socket or an event loop: times are passed in
(``now``, in seconds of any monotonic clock), so every rule is tested with an
injected clock.  The hubs (``_hub.py`` in memory, ``_hub_redis.py`` over Redis
Streams) are thin adapters that gather facts and act on what these functions
decide.

What is decided here, and guaranteed:

- **Ids.**  The in-memory window numbers events 1, 2, 3, ... and its SSE ids
  are ``"<epoch>-<number>"`` (``"<epoch>-0"``: the position before the first
  event); the epoch names one run of one hub, so an id from another hub, or
  from before a restart, is unknown rather than taken for a number of this
  one.  With an empty epoch the ids are the bare numbers.  Redis hubs use
  the stream id (``"<ms>-<seq>"``) as the SSE id; ``"0-0"`` is the position
  before the first.  Ids only grow.  A Redis stream
  keeps one entry beyond its window, as the marker of what left it
  (``stream_lost_through``).
- **The window.**  At most ``max_events`` events (default 1000) no older than
  ``max_age`` seconds (default 300; ``None``: no age limit) are kept for replay;
  the oldest go first.  ``lost_through`` is the newest position that left the
  window.
- **Resuming** (``plan_resume``): no id means the live edge (nothing replayed);
  an id whose successors are all still in the window means a replay of exactly
  those successors; an id from the future, one that cannot be parsed, or one
  never issued is *unknown*; an id some of whose successors left the window is
  *expired*.  Both of the last two give a gap event, then the live stream:
  never a silent skip.
- **Lagging** (``check_lag``): a subscriber more than ``max_lag`` events behind
  the newest, or whose next event already left the window, has lagged; the hub's
  policy (``"skip"``: a gap event and on from the live edge; ``"disconnect"``:
  end its stream with ``SlowSubscriber`` so the client reconnects and replays
  from its ``Last-Event-ID``) applies.  A subscriber only holds a position,
  never a copy of the events, so a slow one costs no memory.
- **The gap event** (``gap_event``): type ``gap`` (configurable), data
  ``{"reason": ..., "last_event_id": ..., "resume_id": ...}`` as JSON, and the
  SSE id ``resume_id`` (the live edge), so a client that reconnects after it
  resumes from there instead of meeting the same gap again.  Reasons:
  ``"unknown"``, ``"expired"``, ``"lagged"``.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal, TypeAlias, TypeVar

from .._core.errors import UsageError
from .._core.events import ServerSentEvent

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_GAP_EVENT",
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_EVENTS",
    "GapReason",
    "LagPolicy",
    "ReplayWindow",
    "Resume",
    "ResumeKind",
    "StreamId",
    "check_hub_options",
    "check_lag",
    "decode_fields",
    "encode_fields",
    "format_stream_id",
    "gap_event",
    "make_event",
    "min_id_for_age",
    "parse_sequence",
    "parse_stream_id",
    "plan_resume",
    "stream_lost_through",
]

DEFAULT_MAX_EVENTS = 1000
"""Events kept for replay by default."""
DEFAULT_MAX_AGE: float | None = 300.0
"""Seconds an event is kept for replay by default."""
DEFAULT_GAP_EVENT = "gap"
"""The event type that tells a subscriber events were lost."""
DEFAULT_BATCH = 100
"""Events a Redis subscriber reads per round trip (its memory bound)."""

LagPolicy: TypeAlias = Literal["skip", "disconnect"]
StreamId: TypeAlias = tuple[int, int]
"""A Redis stream id, ``(milliseconds, sequence)``."""

_MAX_ID_DIGITS = 20  # 2**64 has 20 digits: anything longer is not one of ours
K = TypeVar("K", int, StreamId)


class GapReason(str, Enum):
    """Why a subscriber did not get every event after its ``Last-Event-ID``."""

    UNKNOWN = "unknown"
    """The id was never issued by this hub (another hub's, from the future, malformed)."""
    EXPIRED = "expired"
    """Events after the id left the replay window before the subscriber came back."""
    LAGGED = "lagged"
    """The subscriber fell too far behind while streaming and was moved to the live edge."""


class ResumeKind(Enum):
    LIVE = "from the live edge, nothing replayed"
    REPLAY = "every event after the id, then live"
    GAP = "a gap event, then from the live edge"


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a subscriber starts: after position ``after``; ``reason`` for a gap."""

    kind: ResumeKind
    after: int | StreamId
    reason: GapReason | None = None


def check_hub_options(
    max_events: object, max_age: object, max_lag: object, on_lag: object, gap_event: object
) -> None:
    """``UsageError`` for an option no hub accepts."""
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
        raise UsageError(f"max_events must be an int >= 1, got {max_events!r}")
    if max_age is not None and (
        isinstance(max_age, bool)
        or not isinstance(max_age, (int, float))
        or not 0 < max_age < math.inf
    ):
        raise UsageError(f"max_age must be a positive number of seconds or None, got {max_age!r}")
    if max_lag is not None and (
        isinstance(max_lag, bool) or not isinstance(max_lag, int) or max_lag < 1
    ):
        raise UsageError(f"max_lag must be an int >= 1 or None, got {max_lag!r}")
    if on_lag not in ("skip", "disconnect"):
        raise UsageError(f"on_lag must be 'skip' or 'disconnect', got {on_lag!r}")
    if not isinstance(gap_event, str) or not gap_event or not gap_event.isprintable():
        raise UsageError(f"gap_event must be a non-empty printable str, got {gap_event!r}")


def make_event(
    data: str | ServerSentEvent, event: str | None, retry: int | None
) -> tuple[str, str, int | None]:
    """``(type, data, retry)`` of what a publisher passed; ``UsageError`` for the rest.

    An event given whole keeps its type and retry (``event``/``retry`` override
    them); it must not carry an id, since the hub assigns ids.
    """
    if isinstance(data, ServerSentEvent):
        if data.id:
            raise UsageError(
                f"a published event must have no id (the hub assigns ids), got id={data.id!r}"
            )
        event = data.event if event is None else event
        retry = data.retry if retry is None else retry
        data = data.data
    if not isinstance(data, str):
        raise UsageError(f"published data must be a str or a ServerSentEvent, got {data!r}")
    event = "message" if event is None else event
    if not isinstance(event, str) or not event:
        raise UsageError(f"event type must be a non-empty str, got {event!r}")
    if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int) or retry < 0):
        raise UsageError(f"retry must be an int >= 0 (milliseconds) or None, got {retry!r}")
    return event, data, retry


# --- ids ---------------------------------------------------------------------------------------


def parse_sequence(text: str) -> int | None:
    """The number of an in-memory id (ASCII digits only), or ``None``."""
    if not text or len(text) > _MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def parse_stream_id(text: str) -> StreamId | None:
    """``(ms, seq)`` of a full Redis stream id ``"<ms>-<seq>"``, or ``None``."""
    ms, dash, seq = text.partition("-")
    first, second = parse_sequence(ms), parse_sequence(seq)
    if not dash or first is None or second is None or max(first, second) >= 2**64:
        return None
    return first, second


def format_stream_id(stream_id: StreamId) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


def min_id_for_age(newest_ms: int, max_age: float) -> str:
    """The first id young enough to keep: ``max_age`` seconds before ``newest_ms``."""
    return f"{max(0, newest_ms - math.ceil(max_age * 1000))}-0"


def stream_lost_through(
    length: int, entries_added: int, first: StreamId | None, head: StreamId
) -> StreamId | None:
    """The newest position that left a Redis stream's window (``None``: none did).

    A trimmed stream keeps one entry more than its window, its oldest, as the
    marker of what left: the window is the entries after it (``XADD`` trims
    to ``MAXLEN = max_events + 1``; the age trim keeps the newest entry that
    is too old).  Redis counts every entry ever added, so the stream was
    trimmed when that count is above its length.
    """
    if entries_added <= length:
        return None
    return head if first is None else first


# --- the decisions -----------------------------------------------------------------------------


def plan_resume(requested: K | None, *, head: K, lost_through: K | None, issued: bool) -> Resume:
    """Where a subscriber whose ``Last-Event-ID`` parsed to ``requested`` starts.

    ``head`` is the newest position, ``lost_through`` the newest that left the
    window (``None``: nothing did), ``issued`` whether ``requested`` names an
    event this hub really issued (or the position before the first).  A
    ``requested`` of ``None`` is no id at all; an unparseable id is passed as
    ``issued=False``.
    """
    if requested is None:
        return Resume(ResumeKind.LIVE, head)
    if requested > head or not issued:
        return Resume(ResumeKind.GAP, head, GapReason.UNKNOWN)
    if lost_through is not None and requested < lost_through:
        return Resume(ResumeKind.GAP, head, GapReason.EXPIRED)
    return Resume(ResumeKind.REPLAY, requested)


def check_lag(
    cursor: K, *, head: K, lost_through: K | None, behind: int | None, max_lag: int | None
) -> bool:
    """Whether a subscriber at ``cursor`` has lagged: its next event left the window,
    or it is ``behind`` more than ``max_lag`` events (``None``: not counted)."""
    if lost_through is not None and cursor < lost_through:
        return True
    return behind is not None and max_lag is not None and behind > max_lag


def gap_event(
    event_type: str, reason: GapReason, last_event_id: str | None, resume_id: str
) -> ServerSentEvent:
    """The documented gap event: its id is ``resume_id``, where the stream goes on."""
    payload = {"reason": reason.value, "last_event_id": last_event_id, "resume_id": resume_id}
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return ServerSentEvent(event_type, data, resume_id, None)


# --- the in-memory window ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    time: float
    event: ServerSentEvent


class ReplayWindow:
    """The in-memory hub's events: numbered in order, kept by count and by age.

    ``append`` numbers an event and returns it with its id; ``expire(now)``
    drops what is older than ``max_age``; ``plan`` decides where a subscriber
    starts; ``read_after`` gives the events after a position.  ``head`` is the
    newest number (0 before any), ``lost_through`` the newest number that left
    the window (``None``: none did).
    """

    __slots__ = ("_entries", "_prefix", "head", "lost_through", "max_age", "max_events")

    def __init__(
        self,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age: float | None = DEFAULT_MAX_AGE,
        epoch: str = "",
    ) -> None:
        check_hub_options(max_events, max_age, None, "skip", DEFAULT_GAP_EVENT)
        if not isinstance(epoch, str) or not all(c.isascii() and c.isalnum() for c in epoch):
            raise UsageError(f"epoch must be a str of ASCII letters and digits, got {epoch!r}")
        self._prefix = f"{epoch}-" if epoch else ""
        self.max_events = max_events
        self.max_age = max_age
        self.head = 0
        self.lost_through: int | None = None
        self._entries: deque[_Entry] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, event: str, data: str, retry: int | None, now: float) -> ServerSentEvent:
        self.head += 1
        sse = ServerSentEvent(event, data, self.id_of(self.head), retry)
        self._entries.append(_Entry(self.head, now, sse))
        if len(self._entries) > self.max_events:
            self.lost_through = self._entries.popleft().seq
        self.expire(now)
        return sse

    def expire(self, now: float) -> None:
        if self.max_age is None:
            return
        oldest_kept = now - self.max_age
        entries = self._entries
        while entries and entries[0].time < oldest_kept:
            self.lost_through = entries.popleft().seq

    def id_of(self, position: int) -> str:
        """The SSE id of a position."""
        return f"{self._prefix}{position}"

    def plan(self, last_event_id: str | None) -> Resume:
        if last_event_id is None or last_event_id == "":
            return plan_resume(None, head=self.head, lost_through=None, issued=True)
        prefix, number = self._prefix, None
        if last_event_id.startswith(prefix):
            number = last_event_id[len(prefix) :]
        requested = None if number is None else parse_sequence(number)
        return plan_resume(
            -1 if requested is None else requested,
            head=self.head,
            lost_through=self.lost_through,
            issued=requested is not None,
        )

    def lagged(self, cursor: int, max_lag: int | None) -> bool:
        return check_lag(
            cursor,
            head=self.head,
            lost_through=self.lost_through,
            behind=self.head - cursor,
            max_lag=max_lag,
        )

    def read_after(self, cursor: int, limit: int) -> list[ServerSentEvent]:
        """Up to ``limit`` events after position ``cursor`` (which must be in the window)."""
        entries = self._entries
        if not entries or cursor >= self.head:
            return []
        start = cursor + 1 - entries[0].seq  # numbers are consecutive within the window
        if start < 0:
            raise UsageError(f"position {cursor} is no longer in the window")
        stop = min(len(entries), start + limit)
        return [entries[i].event for i in range(start, stop)]


# --- Redis entries -----------------------------------------------------------------------------


def encode_fields(event: str, data: str, retry: int | None) -> dict[str, str]:
    """The fields of a stream entry for one event (``e`` type, ``d`` data, ``r`` retry)."""
    fields = {"d": data}
    if event != "message":
        fields["e"] = event
    if retry is not None:
        fields["r"] = str(retry)
    return fields


def decode_fields(entry_id: str, fields: Mapping[str, str]) -> ServerSentEvent:
    """The event of a stream entry; fields it does not know are ignored, a bad retry too."""
    retry_text = fields.get("r")
    retry = parse_sequence(retry_text) if retry_text is not None else None
    return ServerSentEvent(fields.get("e") or "message", fields.get("d", ""), entry_id, retry)
