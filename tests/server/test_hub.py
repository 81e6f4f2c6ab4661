"""sseio.server._hub: the in-memory hub, in process and over real SSEServer sockets.

In process: live subscribers, replay after a ``Last-Event-ID``, gap events
for unknown, expired and lagging subscribers (both ``on_lag`` policies), the
age limit with an injected clock, closing, a thousand subscribers.  Over
sockets (asyncio and trio): sseio's client, whose connections a relay cuts at
many points, reconnects with ``Last-Event-ID`` and gets every event exactly
once, in order.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest
from hub_helpers import CuttingRelay

import sseio
from sseio import ServerSentEvent
from sseio.server import (
    EventStream,
    Hub,
    HubClosed,
    MemoryHub,
    Request,
    Response,
    SlowSubscriber,
    SSEServer,
)

pytestmark = pytest.mark.anyio

WAIT = 10.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


async def take(events: AsyncIterator[ServerSentEvent], n: int) -> list[ServerSentEvent]:
    with anyio.fail_after(WAIT):
        return [await anext(events) for _ in range(n)]


async def publish_all(hub: Hub, *datas: str) -> list[str]:
    return [await hub.publish(d) for d in datas]


def gap(event: ServerSentEvent) -> dict[str, str]:
    assert event.event == "gap", event
    payload: dict[str, str] = json.loads(event.data)
    assert event.id == payload["resume_id"]
    return payload


async def test_a_new_subscriber_gets_what_is_published_after_it() -> None:
    hub = MemoryHub(epoch="")
    await publish_all(hub, "before")
    events = hub.subscribe()
    ids = await publish_all(hub, "a", "b")
    assert ids == ["2", "3"]
    assert await take(events, 2) == [
        ServerSentEvent("message", "a", "2", None),
        ServerSentEvent("message", "b", "3", None),
    ]


async def test_ids_carry_the_hubs_epoch_so_other_hubs_ids_are_unknown() -> None:
    hub, other = MemoryHub(), MemoryHub()
    first = await hub.publish("a")
    epoch = first.rpartition("-")[0]
    assert first == f"{epoch}-1"
    assert epoch
    assert epoch != other.last_id.rpartition("-")[0]
    assert await hub.publish("b") == f"{epoch}-2"
    for foreign in ("1", other.last_id, f"{epoch}x-1"):
        (gap_first,) = await take(hub.subscribe(foreign), 1)
        assert gap(gap_first) == {
            "reason": "unknown",
            "last_event_id": foreign,
            "resume_id": f"{epoch}-2",
        }
    assert [e.data for e in await take(hub.subscribe(f"{epoch}-0"), 2)] == ["a", "b"]
    named = MemoryHub(epoch="run7")
    assert await named.publish("x") == "run7-1"


async def test_publish_keeps_type_and_retry() -> None:
    hub = MemoryHub(epoch="")
    events = hub.subscribe()
    await hub.publish("x", event="tick", retry=500)
    await hub.publish(ServerSentEvent("chunk", "y"))
    assert await take(events, 2) == [
        ServerSentEvent("tick", "x", "1", 500),
        ServerSentEvent("chunk", "y", "2", None),
    ]


async def test_a_subscriber_waiting_is_woken_by_publish() -> None:
    hub = MemoryHub(epoch="")
    got: list[ServerSentEvent] = []

    async def read() -> None:
        got.extend(await take(hub.subscribe(), 1))

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        await hub.publish("late")
    assert [e.data for e in got] == ["late"]


@pytest.mark.parametrize("last_event_id", ["0", "2", "5"])
async def test_a_last_event_id_replays_exactly_what_follows(last_event_id: str) -> None:
    hub = MemoryHub(epoch="")
    await publish_all(hub, *"abcde")
    events = hub.subscribe(last_event_id)
    await hub.publish("f")
    expected = "abcdef"[int(last_event_id) :]
    assert [e.data for e in await take(events, len(expected))] == list(expected)


@pytest.mark.parametrize("last_event_id", ["9", "x", "1-0"])
async def test_an_unknown_id_gets_a_gap_event_then_the_live_stream(last_event_id: str) -> None:
    hub = MemoryHub(epoch="")
    await publish_all(hub, "a", "b")
    events = hub.subscribe(last_event_id)
    await hub.publish("c")
    first, second = await take(events, 2)
    assert gap(first) == {"reason": "unknown", "last_event_id": last_event_id, "resume_id": "2"}
    assert second == ServerSentEvent("message", "c", "3", None)


async def test_an_expired_id_gets_a_gap_event() -> None:
    hub = MemoryHub(epoch="", max_events=3)
    await publish_all(hub, *"abcdef")  # 4, 5, 6 kept
    replayed = await take(hub.subscribe("3"), 3)
    assert [e.data for e in replayed] == ["d", "e", "f"]  # "3" is the newest that left
    (first,) = await take(hub.subscribe("2"), 1)
    assert gap(first)["reason"] == "expired"
    assert first.id == "6"


async def test_the_age_limit_uses_the_hub_clock() -> None:
    now = [0.0]
    hub = MemoryHub(epoch="", max_age=10.0, clock=lambda: now[0])
    await publish_all(hub, "a")
    now[0] = 5.0
    await publish_all(hub, "b")
    now[0] = 12.0
    assert len(hub) == 1
    (first,) = await take(hub.subscribe("0"), 1)
    assert gap(first)["reason"] == "expired"
    assert [e.data for e in await take(hub.subscribe("1"), 1)] == ["b"]


async def test_a_slow_subscriber_skips_to_the_live_edge_with_a_gap_event() -> None:
    hub = MemoryHub(epoch="", max_events=5)
    events = hub.subscribe()
    await publish_all(hub, *(str(i) for i in range(20)))  # it read none of them
    (first,) = await take(events, 1)
    assert gap(first) == {"reason": "lagged", "last_event_id": "0", "resume_id": "20"}
    await hub.publish("live")
    assert [e.data for e in await take(events, 1)] == ["live"]


async def test_max_lag_below_the_window() -> None:
    hub = MemoryHub(epoch="", max_events=100, max_lag=3)
    events = hub.subscribe()
    await publish_all(hub, "a", "b", "c")
    assert [e.data for e in await take(events, 3)] == ["a", "b", "c"]
    await publish_all(hub, *"defg")  # 4 behind
    (first,) = await take(events, 1)
    assert gap(first)["reason"] == "lagged"
    assert first.id == "7"


async def test_a_slow_subscriber_is_disconnected_under_that_policy() -> None:
    hub = MemoryHub(epoch="", max_events=5, on_lag="disconnect")
    events = hub.subscribe()
    await publish_all(hub, *(str(i) for i in range(6)))
    with pytest.raises(SlowSubscriber, match="lagged"):
        await take(events, 1)
    assert hub.subscribers == 0


async def test_closing_ends_every_subscription() -> None:
    hub = MemoryHub(epoch="")
    finished: list[int] = []

    async def read(n: int) -> None:
        async for _ in hub.subscribe():
            pass
        finished.append(n)

    async with anyio.create_task_group() as group:
        for n in range(3):
            group.start_soon(read, n)
        await anyio.wait_all_tasks_blocked()
        assert hub.subscribers == 3
        await hub.aclose()
    assert sorted(finished) == [0, 1, 2]
    with pytest.raises(HubClosed):
        await hub.publish("x")
    with pytest.raises(HubClosed):
        hub.subscribe()


async def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(sseio.UsageError, match="epoch"):
        MemoryHub(epoch="a-b")
    with pytest.raises(sseio.UsageError, match="on_lag"):
        MemoryHub(epoch="", on_lag="drop")  # type: ignore[arg-type]
    with pytest.raises(sseio.UsageError, match="last_event_id"):
        MemoryHub(epoch="").subscribe(3)  # type: ignore[arg-type]
    with pytest.raises(sseio.UsageError, match="no id"):
        await MemoryHub(epoch="").publish(ServerSentEvent("m", "x", "7"))


async def test_a_thousand_subscribers_each_get_every_event() -> None:
    hub = MemoryHub(epoch="")
    counts = [0] * 1000

    async def read(n: int) -> None:
        async with hub.subscribe() as events:
            async for event in events:
                counts[n] += 1
                if event.data == "last":
                    return

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as group:
            for n in range(1000):
                group.start_soon(read, n)
            await anyio.wait_all_tasks_blocked()
            for i in range(10):
                await hub.publish(str(i))
            await hub.publish("last")
    assert counts == [11] * 1000
    assert hub.subscribers == 0


# --- over sockets ------------------------------------------------------------------------------


def hub_handler(hub: Hub) -> Callable[[Request], Awaitable[EventStream | Response]]:
    async def handler(request: Request) -> EventStream | Response:
        if request.path != "/events":
            return Response.text("not found", status=404)
        return hub.event_stream(request)

    return handler


RECONNECT = sseio.Reconnect(delay=0.01, max_delay=0.05, jitter=0.0, max_attempts=200)
QUICK = sseio.Timeout(connect=3.0, read=5.0, write=3.0)


async def test_the_event_stream_resumes_after_the_last_event_id_header() -> None:
    hub = MemoryHub(epoch="")
    await publish_all(hub, *"abc")
    async with SSEServer(hub_handler(hub), keepalive=None, shutdown_grace=0.5) as server:
        source = sseio.aconnect_sse(
            server.url + "/events", last_event_id="1", reconnect=sseio.NO_RECONNECT, timeout=QUICK
        )
        async with source as events:
            got = await take(aiter(events), 2)
        assert [(e.data, e.id) for e in got] == [("b", "2"), ("c", "3")]
        async with sseio.aconnect_sse(
            server.url + "/events", last_event_id="7", reconnect=sseio.NO_RECONNECT, timeout=QUICK
        ) as events:
            (first,) = await take(aiter(events), 1)
        assert gap(first)["reason"] == "unknown"
        await hub.aclose()


# Cut points in body bytes: inside the first chunk-size line, just after it, inside
# an event, at an event's end, several events in, repeatedly.
CUTS = [0, 1, 3, 5, 9, 17, 20, 33, 40, 41, 60, 75, 90, 120, 7, 2, 150, 44, 13, 250]


async def test_a_client_cut_anywhere_gets_every_event_exactly_once() -> None:
    hub = MemoryHub()  # ids with a random epoch, as by default
    before_first = hub.last_id
    epoch = before_first.rpartition("-")[0]
    total = 60
    await publish_all(hub, *(f"e{i}" for i in range(20)))
    async with SSEServer(hub_handler(hub), keepalive=None, shutdown_grace=0.5) as server:
        async with CuttingRelay([("127.0.0.1", server.port)], CUTS) as relay:

            async def publish_more() -> None:
                for i in range(20, total):
                    await hub.publish(f"e{i}")
                    await anyio.sleep(0.005)

            got: list[tuple[str, str]] = []
            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    source = sseio.aconnect_sse(
                        relay.url + "/events",
                        last_event_id=before_first,
                        reconnect=RECONNECT,
                        timeout=QUICK,
                    )
                    async with source as events:
                        group.start_soon(publish_more)
                        async for event in events:
                            got.append((event.data, event.id))
                            if event.data == f"e{total - 1}":
                                break
        await hub.aclose()
    assert got == [(f"e{i}", f"{epoch}-{i + 1}") for i in range(total)]
    assert len(relay.connections) > len(CUTS)  # every cut was met and reconnected past
