"""sseio.server._hub_redis: the Redis hub against a real redis-server (asyncio only).

The fixture starts redis-server on a free port of 127.0.0.1 (skipped only when
the binary is absent).  Ids are stream ids; replay, gaps (unknown, expired by
count and by age, lagged) and both lag policies as for the in-memory hub;
Redis going away raises ``HubUnavailable``.  The end-to-end test runs two
server processes on one stream, behind a relay that sends each reconnect to
the other process and cuts connections at many points: the subscriber gets
every event exactly once, in order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
import redis_helpers
from hub_helpers import CuttingRelay
from redis_helpers import RedisProcess, free_port

import sseio
from sseio import ServerSentEvent
from sseio.server import HubClosed, HubUnavailable, RedisHub, SlowSubscriber

pytestmark = pytest.mark.anyio
redis_process = redis_helpers.redis_process
redis_url = redis_helpers.redis_url

WAIT = 10.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis.asyncio runs on asyncio only


async def take(events: AsyncIterator[ServerSentEvent], n: int) -> list[ServerSentEvent]:
    with anyio.fail_after(WAIT):
        return [await anext(events) for _ in range(n)]


def gap(event: ServerSentEvent) -> dict[str, str]:
    assert event.event == "gap", event
    payload: dict[str, str] = json.loads(event.data)
    assert event.id == payload["resume_id"]
    return payload


def stream_id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


async def test_events_get_stream_ids_in_order_and_keep_type_and_retry(redis_url: str) -> None:
    # "0-0": the position before the first event
    async with RedisHub(redis_url, key="t") as hub, hub.subscribe("0-0") as events:
        ids = [await hub.publish("a"), await hub.publish("b", event="tick", retry=250)]
        await hub.publish(ServerSentEvent("chunk", "c"))
        got = await take(events, 3)
    assert [e.id for e in got[:2]] == ids
    assert stream_id(ids[0]) < stream_id(ids[1])
    assert [(e.event, e.data, e.retry) for e in got] == [
        ("message", "a", None),
        ("tick", "b", 250),
        ("chunk", "c", None),
    ]


async def test_a_new_subscriber_starts_at_the_live_edge(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t") as hub:
        await hub.publish("old")
        async with hub.subscribe() as events:
            reader = anext(events)
            async with anyio.create_task_group() as group:

                async def publish_soon() -> None:
                    await anyio.sleep(0.2)
                    await hub.publish("new")

                group.start_soon(publish_soon)
                with anyio.fail_after(WAIT):
                    event = await reader
    assert event.data == "new"


async def test_a_last_event_id_replays_exactly_what_follows(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t") as hub:
        ids = [await hub.publish(d) for d in "abcde"]
        for start, after in (("0-0", 0), (ids[1], 2), (ids[3], 4)):
            async with hub.subscribe(start) as events:
                got = await take(events, 5 - after)
            expected = list(zip("abcde"[after:], ids[after:], strict=True))
            assert [(e.data, e.id) for e in got] == expected
        async with hub.subscribe(ids[4]) as events:
            live = await hub.publish("live")
            assert [(e.data, e.id) for e in await take(events, 1)] == [("live", live)]


async def test_unknown_ids_get_a_gap_event_then_the_live_stream(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t") as hub:
        first_id = await hub.publish("a")
        head = await hub.publish("b")
        ms, seq = stream_id(first_id)
        never_issued = f"{ms}-{seq + 1}" if first_id != head and ms == stream_id(head)[0] else ""
        never_issued = never_issued if never_issued != head else ""
        future = f"{stream_id(head)[0] + 10**6}-0"
        for last_event_id in ("junk", "12", future, *([never_issued] if never_issued else [])):
            async with hub.subscribe(last_event_id) as events:
                (first,) = await take(events, 1)
                assert gap(first) == {
                    "reason": "unknown",
                    "last_event_id": last_event_id,
                    "resume_id": head,
                }
                live = await hub.publish("live")
                assert [(e.data, e.id) for e in await take(events, 1)] == [("live", live)]
                head = live


async def test_the_count_window_and_expired_ids(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t", max_events=3, max_age=None) as hub:
        ids = [await hub.publish(d) for d in "abcdef"]  # d, e, f kept; c is the newest trimmed
        async with hub.subscribe(ids[2]) as events:
            assert [e.data for e in await take(events, 3)] == ["d", "e", "f"]
        async with hub.subscribe(ids[1]) as events:
            (first,) = await take(events, 1)
        assert gap(first) == {"reason": "expired", "last_event_id": ids[1], "resume_id": ids[5]}


async def test_the_age_window_uses_redis_time(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t", max_age=0.3) as hub:
        old = [await hub.publish("a1"), await hub.publish("a2")]
        await anyio.sleep(0.5)
        new = await hub.publish("b")  # trims a1 and a2 (older than 0.3 s by the new id)
        async with hub.subscribe(old[0]) as events:
            (first,) = await take(events, 1)
        assert gap(first)["reason"] == "expired"
        async with hub.subscribe(old[1]) as events:
            assert [e.id for e in await take(events, 1)] == [new]
        await anyio.sleep(0.5)
        async with hub.subscribe(old[1]) as events:  # subscribing trims by age too
            (first,) = await take(events, 1)
        assert gap(first) == {"reason": "expired", "last_event_id": old[1], "resume_id": new}


async def test_a_lagging_subscriber_skips_to_the_live_edge(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t", max_events=5, max_age=None) as hub:
        start = await hub.publish("start")
        async with hub.subscribe("0-0") as events:
            assert [e.id for e in await take(events, 1)] == [start]
            ids = [await hub.publish(str(i)) for i in range(20)]
            (first,) = await take(events, 1)
            assert gap(first) == {"reason": "lagged", "last_event_id": start, "resume_id": ids[-1]}
            await hub.publish("live")
            assert [e.data for e in await take(events, 1)] == ["live"]


async def test_a_lagging_subscriber_is_disconnected_under_that_policy(redis_url: str) -> None:
    async with RedisHub(redis_url, key="t", max_events=5, on_lag="disconnect") as hub:
        await hub.publish("start")
        async with hub.subscribe("0-0") as events:
            await take(events, 1)
            for i in range(10):
                await hub.publish(str(i))
            with pytest.raises(SlowSubscriber, match="trimmed"):
                await take(events, 1)


async def test_hubs_on_one_key_share_the_stream(redis_url: str) -> None:
    async with RedisHub(redis_url, key="shared") as one, RedisHub(redis_url, key="shared") as two:
        ids = [await one.publish("x"), await two.publish("y")]
        async with one.subscribe("0-0") as a, two.subscribe("0-0") as b:
            got = await take(a, 2)
            assert await take(b, 2) == got
            assert [e.id for e in await take(a, 0)] == []
    assert [(e.data, e.id) for e in got] == [("x", ids[0]), ("y", ids[1])]
    async with RedisHub(redis_url, key="other") as three, three.subscribe(ids[0]) as c:
        (first,) = await take(c, 1)  # another stream: the id is from the future there
    assert gap(first) == {"reason": "unknown", "last_event_id": ids[0], "resume_id": "0-0"}


async def test_closing_the_hub_ends_a_waiting_subscriber(redis_url: str) -> None:
    hub = RedisHub(redis_url, key="t", block=30.0)
    ended = anyio.Event()

    async def read() -> None:
        async for _ in hub.subscribe():
            pass
        ended.set()

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await anyio.sleep(0.3)  # blocked in XREAD BLOCK
            await hub.aclose()
            await ended.wait()
    with pytest.raises(HubClosed):
        await hub.publish("x")


async def test_redis_going_away_raises_hub_unavailable(tmp_path: Path) -> None:
    server = RedisProcess.start(tmp_path / "gone")
    try:
        hub = RedisHub(server.url, key="t", block=0.5, connect_timeout=1.0)
        await hub.publish("a")
        events = hub.subscribe("0-0")
        assert [e.data for e in await take(events, 1)] == ["a"]
    finally:
        server.stop()
    with anyio.fail_after(WAIT):
        with pytest.raises(HubUnavailable, match="publishing") as raised:
            await hub.publish("b")
        assert raised.value.__cause__ is not None
        assert isinstance(raised.value, sseio.TransportError)
        with pytest.raises(HubUnavailable):
            await anext(events)
        await events.aclose()
        await hub.aclose()


async def test_no_redis_at_all_raises_hub_unavailable() -> None:
    async with RedisHub(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1.0) as hub:
        with anyio.fail_after(WAIT), pytest.raises(HubUnavailable, match="redis failed"):
            await hub.publish("x")


def test_bad_arguments_are_usage_errors() -> None:
    for kwargs, match in (
        ({"key": ""}, "key"),
        ({"batch": 0}, "batch"),
        ({"block": 0}, "block"),
        ({"max_events": 0}, "max_events"),
    ):
        with pytest.raises(sseio.UsageError, match=match):
            RedisHub("redis://127.0.0.1:1/0", **kwargs)
    with pytest.raises(sseio.UsageError, match="redis must be"):
        RedisHub(42)  # type: ignore[arg-type]


def test_import_sseio_server_does_not_load_redis() -> None:
    code = "import sys, sseio.server; print('redis' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# --- two server processes on one stream --------------------------------------------------------


@pytest.fixture
def two_workers(redis_url: str) -> Iterator[list[int]]:
    """Two server processes (SSEServer + RedisHub, key "e2e"); yields their ports."""
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "hub_worker.py"), redis_url, "e2e"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    try:
        ports = []
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()  # bounded: the worker prints, or ends in LIFETIME
            assert line.strip().isdigit(), f"worker did not start: {line!r}"
            ports.append(int(line))
        yield ports
    finally:
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.close()
        for worker in workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
            assert worker.stdout is not None
            worker.stdout.close()


RECONNECT = sseio.Reconnect(delay=0.01, max_delay=0.05, jitter=0.0, max_attempts=500)
QUICK = sseio.Timeout(connect=3.0, read=5.0, write=3.0)


def cut_points(chunk: int) -> list[int]:
    """Body offsets of the cuts, for a stream of ``chunk``-byte chunks (one event each):
    in the head's first body bytes, after exactly k events, a byte short of that,
    inside the next chunk-size line, in the middle of an event; twice over."""
    cuts = [0, 1, 2]
    for _ in range(2):
        for k in (1, 2, 3):
            cuts += [k * chunk, k * chunk - 1, k * chunk + 3, (k - 1) * chunk + chunk // 2]
    return cuts


async def test_two_processes_one_stream_every_event_exactly_once(
    redis_url: str, two_workers: list[int]
) -> None:
    total = 80
    datas = [f"event-{i:03d}" for i in range(total)]
    async with RedisHub(redis_url, key="e2e") as hub:
        ids = [await hub.publish(d) for d in datas[:40]]
        # A stream chunk is "<hex size>\r\nid: <id>\ndata: <data>\n\n\r\n".
        encoded = len(ServerSentEvent("message", datas[0], ids[0]).encode())
        chunk = len(f"{encoded:x}\r\n") + encoded + 2
        cuts = cut_points(chunk)
        backends = [("127.0.0.1", port) for port in two_workers]
        got: list[tuple[str, str]] = []
        async with CuttingRelay(backends, cuts) as relay:

            async def publish_more() -> None:
                for data in datas[40:]:
                    ids.append(await hub.publish(data))
                    await anyio.sleep(0.01)

            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    source = sseio.aconnect_sse(
                        relay.url + "/events",
                        last_event_id="0-0",
                        reconnect=RECONNECT,
                        timeout=QUICK,
                    )
                    async with source as events:
                        group.start_soon(publish_more)
                        async for event in events:
                            got.append((event.data, event.id))
                            if event.data == datas[-1]:
                                break
    assert got == list(zip(datas, ids, strict=True))
    assert len(relay.connections) > len(cuts)
    assert set(relay.connections) == {0, 1}
