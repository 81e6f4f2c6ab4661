"""A forgotten ``await`` on the async chat calls (``sseio.chat._awaiting``): a ``UsageError``
saying so at once, and a mypy error before the code runs."""

from __future__ import annotations

import gc
import subprocess
import sys
import warnings
from pathlib import Path

import anyio
import pytest

import sseio
import sseio.chat
from sseio.chat._awaiting import Awaiting, must_await
from sseio.testing._mock import MockConfig, run_mock

MESSAGES = [{"role": "user", "content": "hi"}]


class Box:
    @must_await
    async def final(self) -> int:
        return 42

    @must_await
    def blocking(self) -> int:
        return 7


def test_awaiting_gives_the_result() -> None:
    async def main() -> int:
        return await Box().final()

    assert anyio.run(main) == 42
    assert Box().blocking() == 7  # a plain method is left as it is
    assert Box.blocking.__name__ == "blocking"
    assert Box.final.__name__ == "final"


def test_using_the_result_without_await_says_what_to_write() -> None:
    pending = Box().final()
    assert isinstance(pending, Awaiting)
    with pytest.raises(sseio.UsageError, match=r"box\.final\(\) must be awaited") as caught:
        pending.content  # noqa: B018
    assert r"(await box.final()).content" in str(caught.value)
    assert isinstance(caught.value, AttributeError)  # hasattr and getattr(default) still work
    assert not hasattr(pending, "choices")
    assert getattr(pending, "choices", None) is None
    with pytest.raises(sseio.UsageError, match="must be awaited"):
        bool(pending)
    with pytest.raises(AttributeError):
        pending.__length_hint__  # noqa: B018  (protocol look-ups stay plain)
    assert "to await" in repr(pending)
    anyio.run(lambda: pending)  # type: ignore[arg-type,return-value]


def test_awaiting_twice_is_refused() -> None:
    async def main() -> None:
        pending = Box().final()
        assert await pending == 42
        with pytest.raises(sseio.UsageError, match="awaited already"):
            await pending

    anyio.run(main)


def test_one_never_awaited_warns_as_a_coroutine_does() -> None:
    def forget() -> None:
        Box().final()

    with pytest.warns(RuntimeWarning, match=r"box\.final\(\) was never awaited"):
        forget()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_chat_clients_final_and_create_refuse_a_missing_await(
    anyio_backend: str,
) -> None:
    with anyio.fail_after(20):
        async with (
            run_mock(MockConfig(keepalive=None)) as (server, _api),
            sseio.chat.AsyncChatClient(base_url=server.url + "/v1") as client,
        ):
            pending_answer = client.create(model="sseio-mock-1", messages=MESSAGES)
            with pytest.raises(sseio.UsageError, match=r"\(await client\.create\(\)\)\.content"):
                pending_answer.content  # noqa: B018
            assert (await pending_answer).content
            async with client.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
                pending_final = stream.final()
                with pytest.raises(sseio.UsageError, match=r"stream\.final\(\) must be awaited"):
                    pending_final.choices  # noqa: B018
                assert (await pending_final).finish_reason == "stop"


MISTAKES = """
from sseio.chat import AsyncChatClient, ChatClient


async def answer(client: AsyncChatClient) -> str:
    async with client.stream(model="m", messages=[]) as stream:
        stream.final().choices  # MISTAKE
    return client.create(model="m", messages=[]).content  # MISTAKE


async def fine(client: AsyncChatClient, blocking: ChatClient) -> str:
    async with client.stream(model="m", messages=[]) as stream:
        first = (await stream.final()).content
    second = (await client.create(model="m", messages=[])).content
    with blocking.stream(model="m", messages=[]) as sync_stream:
        third = sync_stream.final().content
    return first + second + third + blocking.create(model="m", messages=[]).content
"""


def test_mypy_flags_a_missing_await_and_nothing_else(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(MISTAKES.lstrip())
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(snippet)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    flagged = sorted(
        {int(line.split(":")[1]) for line in done.stdout.splitlines() if ": error:" in line}
    )
    wanted = [n for n, text in enumerate(MISTAKES.lstrip().splitlines(), 1) if "MISTAKE" in text]
    assert flagged == wanted, done.stdout
    assert '"Awaiting[ChatCompletion]" has no attribute "choices"' in done.stdout
    assert 'Maybe you forgot to use "await"?' in done.stdout


def test_no_warning_when_awaited_or_when_the_misuse_raised() -> None:
    async def main() -> None:
        await Box().final()

    def misuse() -> None:
        with pytest.raises(sseio.UsageError):
            Box().final().content  # noqa: B018

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anyio.run(main)
        misuse()
        gc.collect()


def test_event_loops_take_it_as_the_coroutine_it_replaces() -> None:
    import asyncio

    import trio

    async def on_asyncio() -> list[int]:
        task = asyncio.create_task(Box().final())
        gathered = await asyncio.gather(Box().final(), Box().final())
        return [await task, *gathered]

    assert asyncio.run(on_asyncio()) == [42, 42, 42]

    async def on_trio() -> int:
        results: list[int] = []

        async def keep() -> None:
            results.append(await Box().final())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(Box().final)
            nursery.start_soon(keep)
        return results[0]

    assert trio.run(on_trio) == 42

    async def on_anyio() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(Box().final)

    anyio.run(on_anyio)
    anyio.run(on_anyio, backend="trio")


def test_a_closed_one_that_never_started_does_not_warn() -> None:
    pending = Box().final()
    pending.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del pending
        gc.collect()
