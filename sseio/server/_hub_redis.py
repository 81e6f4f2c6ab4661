"""A broadcast hub over one Redis stream, shared by any number of server processes.

``RedisHub`` keeps its events in a Redis stream (``XADD``), so the order, the
ids and the replay window are Redis's and every process that uses the same
``key`` sees the same events with the same ids.  What it guarantees:

- The SSE id of an event is its stream id (``"<ms>-<seq>"``, given by Redis);
  ``"0-0"`` is the position before the first event.  A subscriber given a
  ``Last-Event-ID`` gets exactly the entries after it (``XREAD`` from that id),
  in stream order, whichever process served the earlier connection.
- The window: ``XADD ... MAXLEN = max_events + 1`` keeps at most
  ``max_events`` entries in the window, and ``XTRIM ... MINID`` drops those
  older than ``max_age`` seconds (by Redis's clock: the new entry's id on
  publish, ``TIME`` on subscribe).  Once trimmed, the stream keeps one entry
  more, its oldest, which marks what left the window and is not replayed
  (``_hub_core.stream_lost_through``), so a ``Last-Event-ID`` exactly at the
  window's edge still resumes without a gap.  Needs Redis 7 (``XINFO STREAM``
  reports ``entries-added``).
- The rules of ``_hub_core`` decide the rest: an unknown or expired id gives a
  gap event, then the live stream; a subscriber whose next entry was trimmed
  while it streamed has lagged (``on_lag``: a gap event and on from the live
  edge, or ``SlowSubscriber``).  A subscriber reads ``batch`` entries per round
  trip (``MULTI`` with ``XINFO STREAM``, so the check and the read agree) and
  waits with ``XREAD BLOCK``: it holds at most ``batch`` events, and one Redis
  connection while it waits.
- Redis not answering, refusing or failing raises ``HubUnavailable`` (a
  ``TransportError``) from ``publish`` and from a subscription's iterator,
  chained to the ``redis`` exception; served by ``SSEServer``, the connection
  drops and the client reconnects with its ``Last-Event-ID``.

``redis`` (its ``redis.asyncio`` API) is imported when a ``RedisHub`` is
made, not by ``import sseio.server``.  It runs on asyncio only.
"""

from __future__ import annotations

import importlib
from collections import deque
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import anyio

from .._core.errors import UsageError
from .._core.events import ServerSentEvent
from ._hub import Hub, HubClosed, HubUnavailable, SlowSubscriber, Subscription
from ._hub_core import (
    DEFAULT_BATCH,
    DEFAULT_GAP_EVENT,
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_EVENTS,
    GapReason,
    LagPolicy,
    ResumeKind,
    StreamId,
    check_hub_options,
    check_lag,
    decode_fields,
    encode_fields,
    format_stream_id,
    gap_event,
    make_event,
    min_id_for_age,
    parse_stream_id,
    plan_resume,
    stream_lost_through,
)

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["RedisHub"]

_BEFORE_FIRST: StreamId = (0, 0)
_READ_MARGIN = 10.0
"""Seconds an answer may take beyond the ``XREAD BLOCK`` time before Redis counts as gone."""


def _redis_errors() -> tuple[type[BaseException], ...]:
    exceptions = importlib.import_module("redis.exceptions")
    return (exceptions.RedisError, OSError)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _stream_id(value: object) -> StreamId:
    parsed = parse_stream_id(_text(value))
    if parsed is None:
        raise HubUnavailable(f"redis answered an invalid stream id {value!r}")
    return parsed


class _Facts:
    """What ``XINFO STREAM`` says about the window: the newest id and the newest lost."""

    __slots__ = ("head", "lost_through")

    def __init__(self, info: object) -> None:
        if not isinstance(info, Mapping):  # no such key (an error in the transaction): empty
            self.head, self.lost_through = _BEFORE_FIRST, None
            return
        self.head = _stream_id(info.get("last-generated-id", "0-0"))
        added = info.get("entries-added")
        if added is None:
            raise HubUnavailable("XINFO STREAM reports no entries-added: needs Redis >= 7")
        first_entry = info.get("first-entry")
        first = _stream_id(first_entry[0]) if first_entry else None
        self.lost_through = stream_lost_through(
            int(info.get("length", 0)), int(added), first, self.head
        )


def _entries(response: Any) -> list[ServerSentEvent]:
    """The events of an ``XREAD`` answer for one stream (RESP2 list or RESP3 map)."""
    if not response:
        return []
    streams = response.values() if isinstance(response, Mapping) else [s[1] for s in response]
    events = []
    for entries in streams:
        for entry_id, fields in entries:
            text_fields = {_text(k): _text(v) for k, v in (fields or {}).items()}
            events.append(decode_fields(_text(entry_id), text_fields))
    return events


async def _run(call: object) -> Any:
    return await cast(Awaitable[Any], call)


class RedisHub(Hub):
    """A hub over the Redis stream ``key`` (see the module doc).

    ``redis`` is a URL (``redis://host:port/db``; the hub then owns the client
    and closes it in ``aclose()``) or a ``redis.asyncio.Redis`` client (left
    open).  ``max_events``, ``max_age`` (seconds, ``None``: no age limit),
    ``on_lag`` and ``gap_event`` are as for ``MemoryHub``; ``batch`` is the
    number of entries read per round trip, ``block`` the seconds one wait
    lasts before it is renewed (a client passed in needs a ``socket_timeout``
    above it, or none); ``connect_timeout`` bounds connecting to Redis (URL
    only), and an answer that takes ``block`` + 10 seconds means Redis is gone.
    """

    def __init__(
        self,
        redis: str | redis.asyncio.Redis = "redis://127.0.0.1:6379/0",
        *,
        key: str = "sseio:hub",
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age: float | None = DEFAULT_MAX_AGE,
        on_lag: LagPolicy = "skip",
        gap_event: str = DEFAULT_GAP_EVENT,
        batch: int = DEFAULT_BATCH,
        block: float = 5.0,
        connect_timeout: float = 5.0,
    ) -> None:
        check_hub_options(max_events, max_age, None, on_lag, gap_event)
        if not isinstance(key, str) or not key:
            raise UsageError(f"key must be a non-empty str, got {key!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise UsageError(f"batch must be an int >= 1, got {batch!r}")
        if isinstance(block, bool) or not isinstance(block, (int, float)) or not block > 0:
            raise UsageError(f"block must be a positive number of seconds, got {block!r}")
        redis_asyncio = importlib.import_module("redis.asyncio")
        if isinstance(redis, str):
            self._client = redis_asyncio.Redis.from_url(
                redis,
                decode_responses=True,
                socket_connect_timeout=connect_timeout,
                socket_timeout=block + _READ_MARGIN,
            )
            self._owns_client = True
        elif isinstance(redis, redis_asyncio.Redis):
            self._client = redis
            self._owns_client = False
        else:
            raise UsageError(f"redis must be a URL or a redis.asyncio.Redis, got {redis!r}")
        self.key = key
        self.max_events = max_events
        self.max_age = max_age
        self.on_lag: LagPolicy = on_lag
        self.gap_event_type = gap_event
        self.batch = batch
        self._block_ms = max(1, round(block * 1000))
        self._closed = False
        self._waits: set[anyio.CancelScope] = set()

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        try:
            yield
        except _redis_errors() as exc:
            raise HubUnavailable(f"redis failed while {doing} on {self.key!r}: {exc}") from exc

    async def publish(
        self,
        data: str | ServerSentEvent,
        *,
        event: str | None = None,
        retry: int | None = None,
    ) -> str:
        if self._closed:
            raise HubClosed("cannot publish to a closed hub")
        event_type, text, retry = make_event(data, event, retry)
        fields = encode_fields(event_type, text, retry)
        with self._translated("publishing"):
            entry_id = _text(
                await _run(
                    self._client.xadd(
                        self.key, fields, maxlen=self.max_events + 1, approximate=False
                    )
                )
            )
            if self.max_age is not None:
                await self._trim_by_age(_stream_id(entry_id)[0])
        return entry_id

    async def _trim_by_age(self, now_ms: int | None = None) -> None:
        """Drop the entries older than ``max_age`` but the newest of them (the marker)."""
        if self.max_age is None:
            return
        if now_ms is None:
            seconds, micros = await _run(self._client.time())
            now_ms = int(seconds) * 1000 + int(micros) // 1000
        young = min_id_for_age(now_ms, self.max_age)
        if young == "0-0":
            return
        too_old = await _run(self._client.xrevrange(self.key, max=f"({young}", min="-", count=1))
        if too_old:
            marker = _text(too_old[0][0])
            await _run(self._client.xtrim(self.key, minid=marker, approximate=False))

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """Where the subscriber starts is decided when its iteration starts."""
        if self._closed:
            raise HubClosed("cannot subscribe to a closed hub")
        if last_event_id is not None and not isinstance(last_event_id, str):
            raise UsageError(f"last_event_id must be a str or None, got {last_event_id!r}")
        return _RedisSubscription(self, last_event_id or None)

    async def _start(self, last_event_id: str | None) -> tuple[StreamId, ServerSentEvent | None]:
        requested = None if last_event_id is None else parse_stream_id(last_event_id)
        with self._translated("subscribing"):
            await self._trim_by_age()
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xinfo_stream(self.key)
                if requested is not None:
                    wanted = format_stream_id(requested)
                    pipe.xrange(self.key, min=wanted, max=wanted, count=1)
                results = await pipe.execute(raise_on_error=False)
        facts = _Facts(results[0])
        if last_event_id is None:
            plan = plan_resume(None, head=facts.head, lost_through=None, issued=True)
        elif requested is None:
            plan = plan_resume(_BEFORE_FIRST, head=facts.head, lost_through=None, issued=False)
        else:
            lost = facts.lost_through
            issued = (
                requested == _BEFORE_FIRST
                or (lost is not None and requested <= lost)
                or bool(results[1])
            )
            plan = plan_resume(requested, head=facts.head, lost_through=lost, issued=issued)
        assert isinstance(plan.after, tuple)
        if plan.kind is ResumeKind.GAP:
            assert plan.reason is not None
            resume_id = format_stream_id(plan.after)
            return plan.after, gap_event(self.gap_event_type, plan.reason, last_event_id, resume_id)
        return plan.after, None

    async def _read(self, cursor: StreamId) -> tuple[_Facts, list[ServerSentEvent]]:
        """The window's facts and up to ``batch`` entries after ``cursor``, atomically."""
        with self._translated("reading"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xinfo_stream(self.key)
                pipe.xread({self.key: format_stream_id(cursor)}, count=self.batch)
                info, response = await pipe.execute(raise_on_error=False)
        if isinstance(response, Exception):
            raise HubUnavailable(f"redis failed while reading {self.key!r}: {response}")
        return _Facts(info), _entries(response)

    async def _wait(self, cursor: StreamId) -> None:
        """Until an entry after ``cursor`` exists (or ``block`` passes, or the hub closes)."""
        scope = anyio.CancelScope()
        self._waits.add(scope)
        try:
            with scope, self._translated("waiting"):
                await _run(
                    self._client.xread(
                        {self.key: format_stream_id(cursor)}, count=1, block=self._block_ms
                    )
                )
        finally:
            self._waits.discard(scope)

    async def aclose(self) -> None:
        """End every subscription; close the Redis client if the hub made it."""
        if self._closed:
            return
        self._closed = True
        for scope in list(self._waits):
            scope.cancel()
        if self._owns_client:
            with self._translated("closing"):
                await self._client.aclose()


class _RedisSubscription(Subscription):
    """One subscriber of a ``RedisHub``: its position in the stream and up to ``batch``
    events read ahead.  Where it starts is decided at its first ``__anext__``."""

    __slots__ = ("_cursor", "_done", "_hub", "_last_event_id", "_pending")

    def __init__(self, hub: RedisHub, last_event_id: str | None) -> None:
        self._hub = hub
        self._last_event_id = last_event_id
        self._cursor: StreamId | None = None
        self._pending: deque[ServerSentEvent] = deque()
        self._done = False

    async def __anext__(self) -> ServerSentEvent:
        hub = self._hub
        if self._cursor is None and not self._done:
            self._cursor, gap = await hub._start(self._last_event_id)
            if gap is not None:
                return gap
        while not self._pending:
            if self._done or hub._closed:
                await self.aclose()
                raise StopAsyncIteration
            assert self._cursor is not None
            facts, events = await hub._read(self._cursor)
            lost = facts.lost_through
            if check_lag(
                self._cursor, head=facts.head, lost_through=lost, behind=None, max_lag=None
            ):
                if hub.on_lag == "disconnect":
                    await self.aclose()
                    raise SlowSubscriber(
                        f"subscriber at id {format_stream_id(self._cursor)} lagged: entries "
                        f"after it were trimmed from {hub.key!r}"
                    )
                gap = gap_event(
                    hub.gap_event_type,
                    GapReason.LAGGED,
                    format_stream_id(self._cursor),
                    format_stream_id(facts.head),
                )
                self._cursor = facts.head
                return gap
            if events:
                self._pending.extend(events)
                self._cursor = _stream_id(events[-1].id)
            else:
                await hub._wait(self._cursor)
        return self._pending.popleft()

    async def aclose(self) -> None:
        self._done = True
        self._pending.clear()
