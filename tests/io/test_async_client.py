"""The async client (``aconnect_sse``) over real sockets, on asyncio and on trio.

Every shared scenario of ``sse_server`` runs here with the servers in the
test's own event loop, which also proves the client never blocks the loop.
The tests after it cover what only an async caller can do: cancel, close
from inside the loop, and run many streams at once.
"""

from __future__ import annotations

import json
import time

import anyio
import pytest

pytest.register_assert_rewrite("sse_server")  # detailed assertion messages in the scenarios

from sse_server import (  # noqa: E402
    DONE,
    QUICK,
    SCENARIOS,
    Env,
    assert_client_closed,
    async_env,
    drive_async,
    event,
    sse,
    stream,
)

import sseio  # noqa: E402

__all__ = ["async_env"]

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.mark.parametrize("name", SCENARIOS)
async def test_behaviour(name: str, async_env: Env) -> None:
    await drive_async(name, async_env)


async def test_cancelling_closes_the_connection(async_env: Env) -> None:
    server = async_env.server
    server.script(stream(event("a"), keepalive=0.05))
    items = []
    with anyio.fail_after(5):
        with anyio.move_on_after(0.3) as scope:
            async with sseio.aconnect_sse(server.url(), timeout=QUICK) as source:
                async for item in source:
                    items.append(item)
        assert scope.cancelled_caught
        assert items == [sse("a")]
        await async_env.settle()
    assert_client_closed(server)


async def test_aclose_inside_the_loop_ends_iteration(async_env: Env) -> None:
    server = async_env.server
    server.script(stream(event("a"), event("b"), 0.2, event("c"), DONE), then=stream(DONE))
    items = []
    with anyio.fail_after(5):
        async with sseio.aconnect_sse(
            server.url(), timeout=QUICK, reconnect=sseio.Reconnect(delay=0.01, jitter=0)
        ) as source:
            async for item in source:
                items.append(item)
                await source.aclose()
        await async_env.settle()
    assert items == [sse("a")]
    assert len(server.connections) == 1
    assert_client_closed(server)


async def test_many_streams_at_once(async_env: Env) -> None:
    server = async_env.server
    count = 20
    server.script(then=stream(event("a"), 0.3, event("b"), DONE))
    results: list[list[object]] = []

    async def one() -> None:
        async with sseio.aconnect_sse(server.url(), timeout=QUICK) as source:
            results.append([item async for item in source])

    start = time.monotonic()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
    assert time.monotonic() - start < 0.3 * count / 2  # the pauses overlapped
    assert results == [[sse("a"), sse("b")]] * count
    assert len(server.connections) == count


async def test_aclose_from_another_task_ends_iteration_quietly() -> None:
    from sseio.testing._mock import MockConfig, run_mock

    body = {"model": "sseio-mock-1", "stream": True, "messages": [{"role": "user", "content": "q"}]}
    received: list[sseio.ServerSentEvent] = []
    outcome: list[str] = []
    with anyio.fail_after(10):
        async with run_mock(MockConfig(keepalive=None, token_rate=20)) as (server, _api):
            url = server.url + "/v1/chat/completions"
            async with sseio.aconnect_sse(url, method="POST", json=body) as source:
                first = anyio.Event()

                async def iterate() -> None:
                    async for event in source:
                        received.append(event)
                        first.set()
                    outcome.append("ended")

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(iterate)
                    await first.wait()
                    started = anyio.current_time()
                    await source.aclose()
                # The reader stopped at once, not at the end of the ~10 s answer.
                assert anyio.current_time() - started < 1.0
    assert outcome == ["ended"]
    assert received
    assert not source.done


SLOW_RECONNECT = sseio.Reconnect(delay=5.0, jitter=0)  # a restart that waited would show


async def test_restart_from_another_task_reconnects_now_with_last_event_id(
    async_env: Env,
) -> None:
    server = async_env.server
    server.script(stream(event("a", id="1"), hold=True), stream(event("b", id="2"), DONE))
    items = []
    started = time.monotonic()
    async with (
        sseio.aconnect_sse(server.url(), timeout=QUICK, reconnect=SLOW_RECONNECT) as source,
        anyio.create_task_group() as tasks,
    ):

        async def restart_soon() -> None:
            await anyio.sleep(0.1)
            await source.restart()

        async for item in source:
            items.append(item)
            if item.data == "a":
                tasks.start_soon(restart_soon)
    assert items == [sse("a", id="1"), sse("b", id="2")]
    assert (source.reconnects, source.done) == (1, True)
    assert time.monotonic() - started < 3.0
    assert server.requests[1].header("last-event-id") == "1"


async def test_restart_inside_the_loop_keeps_retry_and_counts_as_a_reconnect(
    async_env: Env,
) -> None:
    server = async_env.server
    server.script(
        stream(b"retry: 4000\n" + event("a", id="1") + event("x", id="9"), hold=True),
        stream(event("b", id="2"), DONE),
    )
    items = []
    seen: list[sseio.ReconnectScheduled] = []

    async def keep(scheduled: sseio.ReconnectScheduled) -> None:  # an async hook is awaited
        seen.append(scheduled)

    async with sseio.aconnect_sse(
        server.url(),
        timeout=QUICK,
        reconnect=SLOW_RECONNECT,
        hooks=sseio.Hooks(reconnect_scheduled=keep),
    ) as source:
        async for item in source:
            items.append(item)
            if item.data == "a":
                await source.restart()
    # What had arrived with the event before the restart is still handed out.
    assert [item.data for item in items] == ["a", "x", "b"]
    assert (source.retry, source.last_event_id, source.reconnects) == (4000, "2", 1)
    assert [(s.reason, s.delay, s.attempt) for s in seen] == [("restart", 0.0, 1)]
    assert server.requests[1].header("last-event-id") == "9"


async def test_params_and_a_timeout_in_seconds(async_env: Env) -> None:
    server = async_env.server
    server.script(stream(event("a"), DONE), stream(event("b"), DONE))
    async with sseio.AsyncClient(params={"key": "k 1"}, timeout=5) as client:
        assert client.settings.timeout == sseio.Timeout(connect=5, read=5, write=5)
        for extra in ({"topic": ["x", "y"]}, None):
            async with client.stream(
                "GET", server.url("/e?v=1"), params=extra, timeout=2.5
            ) as source:
                assert [item async for item in source] in ([sse("a")], [sse("b")])
    targets = [request.target for request in server.requests]
    assert targets == ["/e?v=1&key=k+1&topic=x&topic=y", "/e?v=1&key=k+1"]


async def test_request_reads_a_whole_answer_and_pools_the_connection(async_env: Env) -> None:
    from sse_server import json_reply, redirect

    server = async_env.server
    big = {"text": "x" * 300_000}
    server.script(
        redirect(307, "/answer?moved=1"),
        json_reply(200, big, framing="chunked"),
        json_reply(200, {"n": 2}),
        json_reply(404, {"error": {"message": "nope"}}),
        json_reply(200, big),
    )
    async with sseio.AsyncClient(timeout=5) as client:
        response, body = await client.request(
            "POST", server.url("/start"), json={"q": 1}, headers={"Accept": "application/json"}
        )
        assert (response.status_code, response.media_type) == (200, "application/json")
        assert json.loads(body) == big
        assert client.idle_connections == 1
        response, body = await client.request("GET", server.url("/again"), params={"p": "1"})
        assert json.loads(body) == {"n": 2}
        with pytest.raises(sseio.ResponseError) as refused:
            await client.request("GET", server.url("/missing"))
        assert refused.value.status_code == 404
        with pytest.raises(sseio.LimitExceeded, match="max_body_size"):
            await client.request("GET", server.url("/big"), max_body_size=100_000)
    targets = [request.target for request in server.requests]
    assert targets == ["/start", "/answer?moved=1", "/again?p=1", "/missing", "/big"]
    assert server.requests[1].header("accept") == "application/json"
    assert len(server.connections) <= 3  # the first connection served three requests
