"""sseio's chat clients streaming over ``sseio.httpx`` transports, against the mock chat API.

Until the chat clients take ``http_client=``, the test puts the transport where
the chat client keeps its own (``_http``): the chat layer duck-types the
transport, so the whole answer, the ``[DONE]`` ending and a refused request
must come out exactly as they do over sseio's own client.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

import sseio
import sseio.chat
import sseio.httpx
from sseio.testing import MockConfig, mock_in_thread, run_mock

MESSAGES = [{"role": "user", "content": "Tell me a story about a brave knight"}]
REQUEST = {"model": "sseio-mock-1", "stream": True, "messages": MESSAGES}


def _swap(chat_client: Any, transport: Any) -> None:
    if not hasattr(chat_client, "_http"):
        pytest.skip("the chat client keeps its transport elsewhere now")
    chat_client._http = transport


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_chat_client_over_httpx(backend: str) -> None:
    seen: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        seen.append(request.headers["authorization"])

    async def main() -> None:
        with anyio.fail_after(20):
            async with (
                run_mock(MockConfig(keepalive=None, api_key="k")) as (server, api),
                httpx.AsyncClient(event_hooks={"request": [on_request]}) as http,
                sseio.chat.AsyncChatClient(base_url=server.url + "/v1", api_key="k") as chat,
            ):
                _swap(chat, sseio.httpx.AsyncClient(http))
                async with chat.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
                    final = await stream.final()
                    assert stream.done
                expected = api.expected_answer(REQUEST)
                assert final.content == expected.answer
                assert final.reasoning == expected.reasoning
                assert final.finish_reason == "stop"

                with pytest.raises(sseio.SSEError) as caught:
                    async with chat.stream(
                        model="sseio-mock-1",
                        messages=MESSAGES,
                        extra_headers={"Authorization": "Bearer wrong"},
                    ) as stream:
                        await stream.final()
                assert "incorrect api key provided" in str(caught.value)

    anyio.run(main, backend=backend)
    assert seen[0] == "Bearer k"  # the request went through the caller's httpx client


def test_blocking_chat_client_over_httpx() -> None:
    with (
        mock_in_thread(MockConfig(keepalive=None)) as (server, api),
        httpx.Client() as http,
        sseio.chat.ChatClient(base_url=server.url + "/v1", api_key="k") as chat,
    ):
        _swap(chat, sseio.httpx.Client(http))
        with chat.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
            texts = list(stream.text())
            assert stream.done
        assert "".join(texts) == api.expected_answer(REQUEST).answer
