"""Every public keyword of the chat clients, ``stream()`` and ``create()``: a wrong type is a
``UsageError`` naming the argument, raised at the call (``sseio.chat._arguments``)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import sseio
import sseio.chat

URL = "http://127.0.0.1:9/v1"  # nothing is sent: every case fails before connecting
MESSAGES = [{"role": "user", "content": "q"}]

CLIENT_CASES: list[tuple[str, Any]] = [
    ("base_url", 5),
    ("api_key", b"sk-secret"),
    ("headers", 5),
    ("headers", "X-A: 1"),
    ("headers", [("X-A", 1)]),
    ("timeout", "slow"),
    ("timeout", -1),
    ("timeout", True),
    ("retry", 3),
    ("split_think", "yes"),
    ("think_tags", "<think>"),
    ("think_tags", [("<t>", 5)]),
    ("think_tags", 5),
    ("ssl_context", "ctx"),
    ("verify", "no"),
    ("max_event_size", "big"),
    ("max_event_size", 0),
    ("max_event_size", True),
    ("hooks", "log"),
    ("proxy", 8080),
    ("trust_env", "yes"),
    ("cert", 5),
    ("trust", "everyone"),
]

CALL_CASES: list[tuple[str, Any]] = [
    ("model", None),
    ("model", 5),
    ("messages", None),
    ("messages", "hello"),
    ("messages", {"role": "user"}),
    ("messages", ["hello"]),
    ("messages", 5),
    ("temperature", "hot"),
    ("temperature", True),
    ("max_tokens", 1.5),
    ("max_tokens", "10"),
    ("hide_think", "yes"),
    ("tools", {"type": "function"}),
    ("extra_headers", 5),
    ("extra_headers", {"X-A": 1}),
    ("extra_query", 5),
    ("extra_body", [1]),
    ("split_think", 1),
    ("retry", 3),
    ("timeout", "slow"),
    ("metadata", {1, 2}),  # any other parameter must be JSON
    ("n", object()),
]


def named(name: str) -> str:
    return rf"\b{name}\b"


@pytest.mark.parametrize("client", [sseio.chat.ChatClient, sseio.chat.AsyncChatClient])
@pytest.mark.parametrize(("name", "value"), CLIENT_CASES)
def test_client_keywords_are_checked(client: type[Any], name: str, value: Any) -> None:
    with pytest.raises(sseio.UsageError, match=named(name)) as caught:
        client(**{"base_url": URL, name: value})
    assert "sk-secret" not in str(caught.value)


def call_options(name: str, value: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"model": "m", "messages": MESSAGES}
    options[name] = value
    return options


@pytest.mark.parametrize("method", ["stream", "create"])
@pytest.mark.parametrize(("name", "value"), CALL_CASES)
def test_call_keywords_are_checked_blocking(method: str, name: str, value: Any) -> None:
    with (
        sseio.chat.ChatClient(base_url=URL) as client,
        pytest.raises(sseio.UsageError, match=named(name)),
    ):
        getattr(client, method)(**call_options(name, value))


@pytest.mark.parametrize("method", ["stream", "create"])
@pytest.mark.parametrize(("name", "value"), CALL_CASES)
def test_call_keywords_are_checked_async(method: str, name: str, value: Any) -> None:
    async def main() -> None:
        async with sseio.chat.AsyncChatClient(base_url=URL) as client:
            if method == "stream":
                with pytest.raises(sseio.UsageError, match=named(name)):
                    client.stream(**call_options(name, value))  # raises at the call
            else:
                with pytest.raises(sseio.UsageError, match=named(name)):
                    await client.create(**call_options(name, value))

    anyio.run(main)


def test_a_bad_api_key_type_never_shows_the_key() -> None:
    with pytest.raises(sseio.UsageError) as caught:
        sseio.chat.ChatClient(base_url=URL, api_key=b"sk-very-secret")  # type: ignore[arg-type]
    assert "secret" not in str(caught.value)
    assert "bytes" in str(caught.value)


def test_a_header_value_is_never_shown() -> None:
    with pytest.raises(sseio.UsageError) as caught:
        sseio.chat.ChatClient(base_url=URL, headers=[("Authorization", b"Bearer sk-x")])  # type: ignore[list-item]
    assert "sk-x" not in str(caught.value)


def test_good_values_pass() -> None:
    with sseio.chat.ChatClient(
        base_url=URL,
        api_key="k",
        headers=[("X-A", "1")],
        timeout=5,
        retry=sseio.chat.NO_RETRY,
        split_think=False,
        think_tags=[["<t>", "</t>"]],  # type: ignore[list-item]
        max_event_size=1024,
    ) as client:
        assert client.settings.timeout == sseio.Timeout(connect=5, read=5, write=5)
        assert client.settings.think_tags == (("<t>", "</t>"),)
        stream = client.stream(
            model="m",
            messages=(m for m in MESSAGES),
            temperature=0,
            max_tokens=5,
            tools=(),
            extra_headers=[("X-B", "2")],  # type: ignore[arg-type]
            timeout=2.5,
            metadata={"a": [1, None]},
        )
        assert stream.body["messages"] == MESSAGES
        assert stream.body["metadata"] == {"a": [1, None]}
        stream.close()
