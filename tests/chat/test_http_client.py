"""``http_client=``: the chat clients stream over the caller's own httpx client.

As with the openai SDK, a user's ``httpx.Client``/``httpx.AsyncClient`` carries
every request (its event hooks prove it here), against the mock over real
sockets, for streams and for ``create()``, on the chat, Responses and Messages
clients; the caller's client stays open after the chat client closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import sseio
import sseio.chat
import sseio.httpx
from sseio.server._server import SSEServer
from sseio.testing._mock import MockAPI, MockConfig, mock_in_thread, run_mock

MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def mock() -> Iterator[tuple[SSEServer, MockAPI]]:
    with mock_in_thread(MockConfig(keepalive=None, seed=5)) as served:
        yield served


def test_chat_client_over_a_users_httpx_client(mock: tuple[SSEServer, MockAPI]) -> None:
    server, api = mock
    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}) as users:
        with sseio.chat.ChatClient(base_url=server.url + "/v1", http_client=users) as client:
            with client.stream(model="m", messages=MESSAGES) as stream:
                text = "".join(stream.text())
            answer = client.create(model="m", messages=MESSAGES)
        assert not users.is_closed  # the caller's client is the caller's to close
    expected = api.expected_answer(api.requests[0].body)
    assert text == expected.answer
    assert answer.content == api.expected_answer(api.requests[1].body).answer
    assert seen == ["/v1/chat/completions", "/v1/chat/completions"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_clients_over_a_users_httpx_client(anyio_backend: str) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with (
        run_mock(MockConfig(keepalive=None)) as (server, _api),
        httpx.AsyncClient(event_hooks={"request": [record]}) as users,
    ):
        async with sseio.chat.AsyncChatClient(
            base_url=server.url + "/v1", http_client=users
        ) as client:
            async with client.stream(model="m", messages=MESSAGES) as stream:
                result = await stream.final()
            whole = await client.create(model="m", messages=MESSAGES)
        async with (
            sseio.chat.AsyncResponsesClient(
                base_url=server.url + "/v1", http_client=users
            ) as responses,
            responses.stream(model="m", input="hi") as answer,
        ):
            response = await answer.final()
        async with (
            sseio.chat.AsyncMessagesClient(base_url=server.url, http_client=users) as claude,
            claude.stream(model="m", messages=MESSAGES) as message_stream,
        ):
            message = await message_stream.final()
    assert result.content == whole.content != ""
    assert response.status == "completed"
    assert message.stop_reason == "end_turn"
    assert seen == ["/v1/chat/completions"] * 2 + ["/v1/responses", "/v1/messages"]


def test_a_transport_made_for_it_is_taken_as_it_is(mock: tuple[SSEServer, MockAPI]) -> None:
    server, _api = mock
    with (
        httpx.Client() as users,
        sseio.httpx.Client(users) as transport,
        sseio.Client() as own,
    ):
        for given in (transport, own):
            with sseio.chat.ChatClient(base_url=server.url + "/v1", http_client=given) as client:
                assert client._http is given
                assert client.create(model="m", messages=MESSAGES).content


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"http_client": object()}, "http_client must be an httpx.AsyncClient"),
        ({"http_client": "http://proxy"}, "http_client must be"),
        ({"verify": False}, "give http_client= or verify"),
        ({"proxy": "http://p:1"}, "or proxy, not both"),
    ],
)
def test_http_client_is_checked(options: dict[str, Any], message: str) -> None:
    options.setdefault("http_client", httpx.AsyncClient())  # never sends: no socket to close
    with pytest.raises(sseio.UsageError, match=message):
        sseio.chat.AsyncChatClient(**options)


def test_the_blocking_client_refuses_an_async_httpx_client() -> None:
    users = httpx.AsyncClient()
    with pytest.raises(sseio.UsageError, match=r"need an httpx\.Client, got AsyncClient"):
        sseio.chat.ChatClient(http_client=users)
