"""The async client (``aconnect_sse``) over real sockets, on asyncio and on trio.

Every shared scenario of ``sse_server`` runs here with the servers in the
test's own event loop, which also proves the client never blocks the loop.
The tests after it cover what only an async caller can do: cancel, close
from inside the loop, and run many streams at once.
"""

from __future__ import annotations

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
