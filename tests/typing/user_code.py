"""Code as a user writes it from the README, type-checked by tests/test_user_typing.py.

Never run: every name it uses must type-check under ``mypy --strict`` with the
types sseio declares, so a loop over a source reads ``event.event`` without a
cast, and ``await stream.final()`` is a ``ChatCompletion``.
"""

from __future__ import annotations

import sseio
from sseio.chat import AsyncChatClient, ChatClient, ChatCompletion

URL = "http://127.0.0.1:8000/v1/stream"


def decode_chunks(chunks: list[bytes]) -> list[str]:
    names = []
    for item in sseio.iter_sse(chunks):
        if isinstance(item, sseio.Done):
            break
        names.append(item.event)  # no Comment without comments=True
    return names


def read_blocking() -> str:
    with sseio.connect_sse(URL, timeout=30, params={"topic": "news"}) as source:
        for event in source:
            return event.event + event.data + event.id
    return source.last_event_id


async def read_async() -> list[str]:
    seen = []
    async with sseio.aconnect_sse(URL, timeout=sseio.Timeout(read=60, event=120)) as source:
        async for event in source:
            seen.append(event.data)
    async with sseio.AsyncClient(base_url="http://127.0.0.1:8000", timeout=5.0) as client:  # noqa: SIM117
        async with client.stream("POST", "/v1/stream", json={"n": 1}) as other:
            async for event in other:
                seen.append(event.event)
    return seen


def with_comments() -> list[str]:
    texts = []
    with sseio.connect_sse(URL, comments=True) as source:
        for item in source:
            texts.append(item.text if isinstance(item, sseio.Comment) else item.data)
    return texts


def chat_blocking() -> ChatCompletion:
    with ChatClient(base_url="http://127.0.0.1:8000/v1") as client:  # noqa: SIM117
        with client.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
            for chunk in stream:
                print(chunk.choices[0].delta.content or "", end="")
            return stream.final()


async def chat_async() -> str:
    async with AsyncChatClient(base_url="http://127.0.0.1:8000/v1") as client:  # noqa: SIM117
        async with client.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
            async for text in stream.text():
                print(text, end="")
            result = await stream.final()
    return result.content
