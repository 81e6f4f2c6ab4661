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
