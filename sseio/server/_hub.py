"""Broadcast hubs: publishers send events, any number of subscribers stream them.

``Hub`` is what every backend offers: ``await hub.publish(data, event=...)``
gives the event the next id and returns it; ``hub.subscribe(last_event_id)``
is an async iterator of ``ServerSentEvent`` that resumes exactly after that id
(or says it cannot, with a gap event: see ``_hub_core``), which an
``EventStream`` serves as it is; ``hub.event_stream(request)`` does that for
an ``SSEServer`` handler, with the request's ``Last-Event-ID`` header.
``await hub.aclose()`` ends every subscription (their iterators stop).

``MemoryHub`` keeps the window in this process, for one event loop (asyncio
or trio).  Subscribers hold a position in the shared window, not a queue: a
publish costs one append and one wake-up whatever the number of subscribers,
and a slow subscriber holds no memory; the ``on_lag`` policy decides what
happens when it falls more than ``max_lag`` events behind or out of the
window.  ``RedisHub`` (``_hub_redis``) shares one window between processes.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from types import EllipsisType

import anyio

from .._core.errors import SSEError, TransportError, UsageError
from .._core.events import ServerSentEvent
from ._hub_core import (
    DEFAULT_BATCH,
    DEFAULT_GAP_EVENT,
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_EVENTS,
    LagPolicy,
    ReplayWindow,
    ResumeKind,
    check_hub_options,
    gap_event,
    make_event,
)
from ._hub_core import GapReason as GapReason
from ._messages import AbortConnection, EventStream, Request

__all__ = [
    "GapReason",
    "Hub",
    "HubClosed",
    "HubUnavailable",
    "MemoryHub",
    "SlowSubscriber",
    "Subscription",
]


class SlowSubscriber(AbortConnection, SSEError):
    """Ends the stream of a subscriber that lagged, under ``on_lag="disconnect"``.

    ``SSEServer`` drops the connection without a clean end, so the client
    reconnects with its ``Last-Event-ID`` and the hub replays what it missed
    (or sends a gap event if that left the window).
    """


class HubUnavailable(TransportError):
    """The hub's backend (Redis) cannot be reached or failed; ``__cause__`` says why."""


class HubClosed(UsageError):
    """Publishing to, or subscribing to, a hub after ``aclose()``."""


class Subscription(AsyncIterator[ServerSentEvent]):
    """What ``subscribe()`` gives: an async iterator of events, ended by ``aclose()``.

    ``async with subscription:`` (or ``contextlib.aclosing``) closes it at the end of
    the block; ``SSEServer`` closes it when the stream ends or the client leaves.
    """

    __slots__ = ()

    @abstractmethod
    async def aclose(self) -> None:
        """End this subscription (its iteration stops); idempotent."""

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Hub(ABC):
    """What every hub offers; see the module doc.  Not instantiated itself."""

    gap_event_type: str = DEFAULT_GAP_EVENT

    @abstractmethod
    async def publish(
        self,
        data: str | ServerSentEvent,
        *,
        event: str | None = None,
        retry: int | None = None,
    ) -> str:
        """Send one event to every subscriber; returns the id it was given."""

    @abstractmethod
    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """The events after ``last_event_id`` (``None`` or ``""``: from now on), then live."""

    @abstractmethod
    async def aclose(self) -> None:
        """Stop the hub: subscriptions end, publishing is refused."""

    def event_stream(
        self,
        request: Request,
        *,
        headers: Mapping[str, str] | tuple[tuple[str, str], ...] = (),
        keepalive: float | EllipsisType | None = ...,
    ) -> EventStream:
        """An ``EventStream`` of this hub resuming after the request's ``Last-Event-ID``."""
        return EventStream(
            self.subscribe(request.header("last-event-id")),
            headers=tuple(headers.items()) if isinstance(headers, Mapping) else headers,
            keepalive=keepalive,
        )

    async def __aenter__(self) -> Hub:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class MemoryHub(Hub):
    """A hub in this process's memory (see the module doc).

    ``max_events`` and ``max_age`` (seconds, ``None``: no limit) bound the
    replay window; ``max_lag`` (default: ``max_events``) is how far behind a
    subscriber may fall before ``on_lag`` applies: ``"skip"`` (a gap event with
    reason ``lagged``, then on from the live edge) or ``"disconnect"`` (its
    iterator raises ``SlowSubscriber``).  ``gap_event`` is the type of the gap
    event.  ``clock`` gives the time in seconds (monotonic) for the age limit.

    Ids are ``"<epoch>-1"``, ``"<epoch>-2"``, ...; ``epoch`` (ASCII letters and
    digits) defaults to a random token made with the hub, so a ``Last-Event-ID``
    from another hub or an earlier run of the process is *unknown* (a gap
    event), never mistaken for a position of this one.  ``epoch=""`` gives bare
    numbers (``"1"``, ``"2"``, ...), for a single hub that outlives its clients.
    """

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age: float | None = DEFAULT_MAX_AGE,
        max_lag: int | None = None,
        on_lag: LagPolicy = "skip",
        gap_event: str = DEFAULT_GAP_EVENT,
        clock: Callable[[], float] = time.monotonic,
        epoch: str | None = None,
    ) -> None:
        check_hub_options(max_events, max_age, max_lag, on_lag, gap_event)
        if epoch is None:
            epoch = secrets.token_hex(4)
        self._window = ReplayWindow(max_events, max_age, epoch)
        self.max_lag = max_events if max_lag is None else min(max_lag, max_events)
        self.on_lag: LagPolicy = on_lag
        self.gap_event_type = gap_event
        self._clock = clock
        self._changed: anyio.Event | None = None
        self._closed = False
        self.subscribers = 0
        """Subscriptions neither ended nor closed."""

    @property
    def last_id(self) -> str:
        """The id of the newest event (``"<epoch>-0"`` before any)."""
        return self._window.id_of(self._window.head)

    def __len__(self) -> int:
        """Events in the replay window now."""
        self._window.expire(self._clock())
        return len(self._window)

    async def publish(
        self,
        data: str | ServerSentEvent,
        *,
        event: str | None = None,
        retry: int | None = None,
    ) -> str:
        return self.publish_nowait(data, event=event, retry=retry)

    def publish_nowait(
        self,
        data: str | ServerSentEvent,
        *,
        event: str | None = None,
        retry: int | None = None,
    ) -> str:
        """``publish`` without awaiting (it never waits): usable from sync code in the loop."""
        if self._closed:
            raise HubClosed("cannot publish to a closed hub")
        event_type, text, retry = make_event(data, event, retry)
        sse = self._window.append(event_type, text, retry, self._clock())
        self._wake()
        return sse.id

    def _wake(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """Where the subscriber starts is decided now, not when iteration starts."""
        if self._closed:
            raise HubClosed("cannot subscribe to a closed hub")
        if last_event_id is not None and not isinstance(last_event_id, str):
            raise UsageError(f"last_event_id must be a str or None, got {last_event_id!r}")
        window = self._window
        window.expire(self._clock())
        plan = window.plan(last_event_id)
        assert isinstance(plan.after, int)
        first = None
        if plan.kind is ResumeKind.GAP:
            assert plan.reason is not None
            resume_id = self._window.id_of(plan.after)
            first = gap_event(self.gap_event_type, plan.reason, last_event_id, resume_id)
        return _MemorySubscription(self, plan.after, first)

    async def aclose(self) -> None:
        """End every subscription (each stops after what it already took); idempotent."""
        self._closed = True
        self._wake()


class _MemorySubscription(Subscription):
    """One subscriber of a ``MemoryHub``: a position in its window, and the gap event to send.

    A plain async iterator rather than an async generator, so one dropped without
    ``aclose()`` is simply collected.
    """

    __slots__ = ("_cursor", "_done", "_hub", "_pending")

    def __init__(self, hub: MemoryHub, cursor: int, first: ServerSentEvent | None) -> None:
        self._hub = hub
        self._cursor = cursor
        self._pending: deque[ServerSentEvent] = deque(() if first is None else (first,))
        self._done = False
        hub.subscribers += 1

    async def __anext__(self) -> ServerSentEvent:
        hub = self._hub
        window = hub._window
        while not self._pending:
            if self._done or hub._closed:
                self._finish()
                raise StopAsyncIteration
            window.expire(hub._clock())
            if window.lagged(self._cursor, hub.max_lag):
                if hub.on_lag == "disconnect":
                    self._finish()
                    raise SlowSubscriber(
                        f"subscriber at id {self._cursor} lagged behind id {window.head} "
                        f"(max_lag={hub.max_lag}, window of {len(window)} events)"
                    )
                self._pending.append(
                    gap_event(
                        hub.gap_event_type,
                        GapReason.LAGGED,
                        window.id_of(self._cursor),
                        hub.last_id,
                    )
                )
                self._cursor = window.head
                break
            batch = window.read_after(self._cursor, DEFAULT_BATCH)
            if batch:
                self._pending.extend(batch)
                self._cursor += len(batch)
            else:
                await hub._wait()
        return self._pending.popleft()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._pending.clear()
            self._hub.subscribers -= 1

    async def aclose(self) -> None:
        """End this subscription (its iteration stops); idempotent."""
        self._finish()
