"""The mock chat API's handler (``sseio/testing/_mock.py``) and its wire behaviour with
sseio's own clients and with the real ``openai`` SDK.

The handler tests call ``MockAPI`` directly with ``Request`` values.  The
socket tests run the mock on 127.0.0.1 (in the test's event loop on asyncio
and trio, or in a background thread for blocking code) and read it with
``aconnect_sse`` / ``connect_sse``; the ``openai`` tests prove that the
official SDK streams from it as from the real service.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import anyio
import pytest
from mock_helpers import CONFIG, MODEL, TOOLS, chat

import sseio
from sseio import Comment, ServerSentEvent
from sseio._core.events import DONE
from sseio.server._server import AbortConnection, EventStream, Request, Response
from sseio.testing._mock import MockAPI, MockConfig, mock_in_thread, run_mock

pytestmark = pytest.mark.anyio

QUICK = sseio.Timeout(connect=3.0, read=3.0, write=3.0)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


# -- the handler, called directly -----------------------------------------------------


def request(
    method: str, path: str, body: Any = None, headers: tuple[tuple[str, str], ...] = ()
) -> Request:
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    return Request(method, path, path, "", headers, raw, ("127.0.0.1", 1))


def error_of(answer: Response | EventStream) -> dict[str, Any]:
    assert isinstance(answer, Response)
    assert ("content-type", "application/json") in answer.headers
    error: dict[str, Any] = json.loads(answer.body)["error"]
    return error


async def events_of(answer: Response | EventStream) -> list[Any]:
    assert isinstance(answer, EventStream)
    return [item async for item in answer.events]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v1/nowhere", None, 404, "unknown_url"),
        ("GET", "/v1/chat/completions", None, 405, "method_not_allowed"),
        ("POST", "/v1/models", None, 405, "method_not_allowed"),
        ("GET", "/v1/models/gpt-nope", None, 404, "model_not_found"),
        ("POST", "/v1/chat/completions", b"{not json", 400, "invalid_json"),
        ("POST", "/v1/chat/completions", None, 400, "invalid_json"),
        ("POST", "/v1/chat/completions", b"[" * 100_000, 400, "invalid_json"),
        ("POST", "/v1/chat/completions", {"messages": []}, 400, "missing_required_parameter"),
        ("POST", "/v1/chat/completions", chat(mock_fault=5), 400, "invalid_fault"),
        ("POST", "/v1/chat/completions", chat(mock_fault="boom"), 400, "invalid_fault"),
    ],
)
async def test_handler_errors(method: str, path: str, body: Any, status: int, code: str) -> None:
    api = MockAPI(CONFIG)
    answer = await api(request(method, path, body))
    assert isinstance(answer, Response)
    assert answer.status == status
    assert error_of(answer)["code"] == code
    if status == 405:
        assert ("allow", "POST" if path.endswith("completions") else "GET") in answer.headers


async def test_handler_models() -> None:
    api = MockAPI(CONFIG)
    listing = await api(request("GET", "/v1/models"))
    assert isinstance(listing, Response)
    assert json.loads(listing.body) == {
        "object": "list",
        "data": [
            {
                "id": model,
                "object": "model",
                "created": 1_700_000_000,
                "owned_by": "sseio-mock",
                "type": "model",
                "display_name": model,
                "created_at": "2023-11-14T22:13:20Z",
            }
            for model in CONFIG.models
        ],
        "has_more": False,
        "first_id": CONFIG.models[0],
        "last_id": CONFIG.models[-1],
    }
    one = await api(request("GET", f"/v1/models/{MODEL}"))
    assert isinstance(one, Response)
    assert json.loads(one.body)["id"] == MODEL


async def test_handler_records_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    api = MockAPI(CONFIG)
    await api(request("POST", "/v1/chat/completions", chat(), (("x-trace", "1"),)))
    await api(request("POST", "/v1/chat/completions", b"\xff not json"))
    first, second = api.requests
    assert (first.method, first.path, first.body) == ("POST", "/v1/chat/completions", chat())
    assert first.header("X-Trace") == "1"
    assert first.header("x-missing") is None
    assert second.body is None
    monkeypatch.setattr("sseio.testing._mock.MAX_RECORDED", 3)
    for number in range(5):
        await api(request("GET", f"/v1/models/{number}"))
    assert [call.path for call in api.requests] == ["/v1/models/2", "/v1/models/3", "/v1/models/4"]


async def test_handler_streams_the_plan() -> None:
    api = MockAPI(replace(CONFIG, keepalive=0.5))
    answer = await api(request("POST", "/v1/chat/completions", chat(stream=True)))
    assert isinstance(answer, EventStream)
    assert answer.keepalive == 0.5
    items = await events_of(answer)
    assert items[-1] == DONE
    chunks = [json.loads(item.data) for item in items[:-1]]
    assert all(isinstance(item, ServerSentEvent) and item.event == "message" for item in items[:-1])
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert abs(chunks[0]["created"] - time.time()) < 60
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == api.expected_answer(chat(stream=True)).content
    assert (await api(request("POST", "/v1/chat/completions", chat(stream=True)))) is not answer


async def test_handler_drop_raises_abort() -> None:
    api = MockAPI(CONFIG)
    answer = await api(
        request(
            "POST", "/v1/chat/completions", chat(stream=True), (("x-mock-fault", "drop; after=0"),)
        )
    )
    assert isinstance(answer, EventStream)
    iterator = aiter(answer.events)
    first = await anext(iterator)
    assert isinstance(first, ServerSentEvent)
    assert json.loads(first.data)["choices"][0]["delta"]["role"] == "assistant"
    with pytest.raises(AbortConnection):
        await anext(iterator)


async def test_handler_header_fault_wins_over_body() -> None:
    api = MockAPI(CONFIG)
    body = chat(stream=True, mock_fault="500")
    answer = await api(request("POST", "/v1/chat/completions", body, (("x-mock-fault", "502"),)))
    assert isinstance(answer, Response)
    assert answer.status == 502
    answer = await api(request("POST", "/v1/chat/completions", body))
    assert isinstance(answer, Response)
    assert answer.status == 500


async def test_fault_times_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    api = MockAPI(CONFIG)

    async def status(fault: str) -> int:
        headers = (("x-mock-fault", fault),)
        answer = await api(request("POST", "/v1/chat/completions", chat(), headers))
        assert isinstance(answer, Response)
        return answer.status

    assert [await status("503; times=2") for _ in range(3)] == [503, 503, 200]
    assert await status("503; times=2; key=other") == 503  # its own count
    assert await status("500; times=1") == 500
    assert await status("500; times=1") == 200
    assert await status("500") == 500  # no times: every request
    monkeypatch.setattr("sseio.testing._mock.MAX_FAULT_KEYS", 2)
    assert await status("502; times=1; key=new") == 502  # forgets the oldest key (503)
    assert await status("503; times=2") == 503


async def test_handler_non_streaming_faults() -> None:
    api = MockAPI(replace(CONFIG, first_token_delay=0.01))

    async def answer(fault: str) -> Response | EventStream:
        headers = (("x-mock-fault", fault),)
        return await api(request("POST", "/v1/chat/completions", chat(), headers))

    for fault in ("truncate", "drop"):
        with pytest.raises(AbortConnection):
            await answer(fault)
    for fault, status in (("error", 500), ("error-event", 500), ("overload", 503)):
        response = await answer(fault)
        assert isinstance(response, Response)
        assert response.status == status
    overload = await answer("overload")
    assert error_of(overload)["type"] == "overloaded_error"
    start = time.monotonic()
    for fault in ("slow; delay=0.05", "stall; delay=0.05"):
        response = await answer(fault)
        assert isinstance(response, Response)
        assert json.loads(response.body)["object"] == "chat.completion"
    assert time.monotonic() - start >= 0.1


async def test_handler_api_key() -> None:
    api = MockAPI(replace(CONFIG, api_key="sekrit"))
    for headers in ((), (("authorization", "Bearer wrong"),), (("authorization", "sekrit"),)):
        answer = await api(request("GET", "/v1/models", headers=headers))
        assert isinstance(answer, Response)
        assert answer.status == 401
        assert error_of(answer) == {
            "message": "incorrect api key provided",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    answer = await api(request("GET", "/v1/models", headers=(("authorization", "Bearer sekrit"),)))
    assert isinstance(answer, Response)
    assert answer.status == 200


# -- over sockets, with sseio's clients --------------------------------------------------


@asynccontextmanager
async def serving(config: MockConfig = CONFIG) -> AsyncIterator[tuple[str, MockAPI]]:
    async with run_mock(config, shutdown_grace=1.0) as (server, api):
        yield server.url + "/v1", api


async def read_stream(
    url: str,
    body: Any,
    *,
    fault: str | None = None,
    timeout: sseio.Timeout = QUICK,
    comments: bool = False,
    items: list[Any] | None = None,
) -> tuple[list[Any], bool]:
    """The items of a chat stream (in ``items`` too, kept when it fails) and whether
    ``[DONE]`` ended it."""
    items = [] if items is None else items
    headers = {"X-Mock-Fault": fault} if fault else None
    with anyio.fail_after(10):
        async with sseio.aconnect_sse(
            url + "/chat/completions",
            method="POST",
            json=body,
            headers=headers,
            timeout=timeout,
            reconnect=sseio.NO_RECONNECT,
            comments=comments,
        ) as source:
            async for item in source:
                items.append(item)
            return items, source.done


def chunks_of(items: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(item.data) for item in items if isinstance(item, ServerSentEvent)]


async def test_stream_over_sockets() -> None:
    body = chat(stream=True, stream_options={"include_usage": True})
    async with serving() as (url, api):
        items, done = await read_stream(url, body)
    assert done
    expected = api.expected_answer(body)
    chunks = chunks_of(items)
    assert all(isinstance(item, ServerSentEvent) and item.id == "" for item in items)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == expected.content
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == expected.usage.as_dict()
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert len(chunks) == len(expected.choices[0].tokens) + 3
    (call,) = api.requests
    assert call.body == body
    assert call.header("content-type") == "application/json"


async def test_keepalive_comments_while_slow() -> None:
    config = replace(CONFIG, keepalive=0.05)
    async with serving(config) as (url, _):
        start = time.monotonic()
        items, done = await read_stream(
            url, chat(stream=True), fault="slow; delay=0.3", comments=True
        )
    assert time.monotonic() - start >= 0.3
    assert done
    first_event = next(i for i, item in enumerate(items) if isinstance(item, ServerSentEvent))
    assert first_event >= 2
    assert set(items[:first_event]) == {Comment("keepalive")}


async def test_truncate_ends_the_body_without_done() -> None:
    async with serving() as (url, _):
        items, done = await read_stream(url, chat(stream=True), fault="truncate; after=2")
    assert not done
    chunks = chunks_of(items)
    assert len(chunks) == 3
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks)


async def test_drop_breaks_the_connection() -> None:
    items: list[Any] = []
    async with serving() as (url, _):
        with pytest.raises((sseio.ReadError, sseio.RemoteProtocolError)):
            await read_stream(url, chat(stream=True), fault="drop", items=items)
    assert len(chunks_of(items)) == 4


@pytest.mark.parametrize(
    ("fault", "event", "error_type", "code"),
    [
        ("error", "message", "server_error", "internal_error"),
        ("error-event", "error", "server_error", "internal_error"),
        ("overload", "message", "overloaded_error", "overloaded"),
    ],
)
async def test_errors_inside_the_stream(fault: str, event: str, error_type: str, code: str) -> None:
    async with serving() as (url, _):
        items, done = await read_stream(url, chat(stream=True), fault=f"{fault}; after=1")
    assert not done
    assert len(items) == 3
    last = items[-1]
    assert last.event == event
    error = json.loads(last.data)["error"]
    assert (error["type"], error["code"]) == (error_type, code)
    assert error["message"]


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [
        ("429; retry_after=2", 429, "rate_limit_exceeded", "2"),
        ("500", 500, "internal_error", None),
        ("502", 502, "bad_gateway", None),
        ("503", 503, "service_unavailable", "1"),
    ],
)
async def test_status_faults(fault: str, status: int, code: str, retry_after: str | None) -> None:
    async with serving() as (url, _):
        with pytest.raises(sseio.ResponseError) as caught:
            await read_stream(url, chat(stream=True), fault=fault)
    error = caught.value
    assert error.status_code == status
    assert error.header("retry-after") == retry_after
    assert error.json["error"]["code"] == code
    if status == 429:
        assert error.json["error"]["type"] == "rate_limit_error"
        assert error.message == "rate limit exceeded"


async def test_html_is_not_a_stream() -> None:
    async with serving() as (url, _):
        with pytest.raises(sseio.ResponseError) as caught:
            await read_stream(url, chat(stream=True), fault="html")
    assert caught.value.status_code == 200
    assert caught.value.content_type.startswith("text/html")
    assert b"<html>" in caught.value.body


async def test_stall_is_caught_by_an_event_timeout() -> None:
    items: list[Any] = []
    config = replace(CONFIG, keepalive=0.1)
    timeout = replace(QUICK, event=0.5)
    async with serving(config) as (url, _):
        start = time.monotonic()
        with pytest.raises(sseio.EventTimeout):
            await read_stream(
                url,
                chat(stream=True),
                fault="stall; after=1",
                timeout=timeout,
                comments=True,
                items=items,
            )
    assert 0.5 <= time.monotonic() - start < 3
    assert len(chunks_of(items)) == 2
    assert Comment("keepalive") in items  # keepalives arrived, and did not count as events


async def test_fault_once_then_success() -> None:
    async with serving() as (url, api):
        with pytest.raises(sseio.ResponseError) as caught:
            await read_stream(url, chat(stream=True), fault="500; times=1")
        assert caught.value.status_code == 500
        _items, done = await read_stream(url, chat(stream=True), fault="500; times=1")
    assert done
    assert len(api.requests) == 2
    assert all(call.header("x-mock-fault") == "500; times=1" for call in api.requests)


async def test_api_key_over_sockets() -> None:
    async with serving(replace(CONFIG, api_key="sekrit")) as (url, _):
        with pytest.raises(sseio.ResponseError) as caught:
            await read_stream(url, chat(stream=True))
        assert caught.value.status_code == 401
        assert caught.value.json["error"]["code"] == "invalid_api_key"
        with anyio.fail_after(10):
            async with sseio.aconnect_sse(
                url + "/chat/completions",
                method="POST",
                json=chat(stream=True),
                headers={"Authorization": "Bearer sekrit"},
                timeout=QUICK,
                reconnect=sseio.NO_RECONNECT,
            ) as source:
                assert len([item async for item in source]) > 10
                assert source.done


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/chat/completions", {"model": MODEL}, 400, "missing_required_parameter"),
        ("POST", "/nowhere", chat(), 404, "unknown_url"),
        ("GET", "/chat/completions", None, 405, "method_not_allowed"),
    ],
)
async def test_http_errors_over_sockets(
    method: str, path: str, body: Any, status: int, code: str
) -> None:
    async with serving() as (url, _):
        with anyio.fail_after(10), pytest.raises(sseio.ResponseError) as caught:
            async with sseio.aconnect_sse(
                url + path, method=method, json=body, timeout=QUICK, reconnect=sseio.NO_RECONNECT
            ):
                pass
    assert caught.value.status_code == status
    assert caught.value.json["error"]["code"] == code
    assert caught.value.json["error"]["type"] == "invalid_request_error"


async def test_client_going_away_ends_the_stream() -> None:
    config = replace(CONFIG, token_rate=100.0)
    async with serving(config) as (url, api):
        with anyio.fail_after(10):
            async with sseio.aconnect_sse(
                url + "/chat/completions",
                method="POST",
                json=chat(stream=True),
                timeout=QUICK,
                reconnect=sseio.NO_RECONNECT,
            ) as source:
                async for _ in source:
                    break
        start = time.monotonic()
    assert time.monotonic() - start < 1.0  # the server did not wait out its grace period
    assert len(api.requests) == 1


# -- blocking code, with a mock in a thread ---------------------------------------------


@pytest.fixture
def threaded() -> Iterator[tuple[str, MockAPI]]:
    with mock_in_thread(CONFIG, shutdown_grace=1.0) as (server, api):
        yield server.url + "/v1", api


def test_blocking_client_reads_the_mock(threaded: tuple[str, MockAPI]) -> None:
    url, api = threaded
    body = chat(stream=True, n=2)
    with sseio.connect_sse(
        url + "/chat/completions",
        method="POST",
        json=body,
        timeout=QUICK,
        reconnect=sseio.NO_RECONNECT,
    ) as source:
        items = list(source)
        assert source.done
    assert all(isinstance(item, ServerSentEvent) for item in items)
    chunks = chunks_of(items)
    for choice in api.expected_answer(body).choices:
        text = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in chunks
            if c["choices"][0]["index"] == choice.index
        )
        assert text == choice.content


# -- the openai SDK -------------------------------------------------------------------------


@pytest.fixture
def openai_client(threaded: tuple[str, MockAPI]) -> Iterator[tuple[Any, MockAPI]]:
    import openai

    url, api = threaded
    with openai.OpenAI(base_url=url, api_key="test", max_retries=0, timeout=10) as client:
        yield client, api


def test_openai_streams_from_the_mock(openai_client: tuple[Any, MockAPI]) -> None:
    client, api = openai_client
    body = chat("Hello from the openai SDK")
    stream = client.chat.completions.create(
        **body, stream=True, stream_options={"include_usage": True}
    )
    content, finish_reasons, usage = "", [], None
    with stream:
        for chunk in stream:
            if chunk.choices:
                content += chunk.choices[0].delta.content or ""
                finish_reasons.append(chunk.choices[0].finish_reason)
            else:
                usage = chunk.usage
    expected = api.expected_answer(body)
    assert content == expected.content
    assert "<think>" in content
    assert "Hello from the openai SDK" in content
    assert finish_reasons[-1] == "stop"
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        expected.usage.prompt_tokens,
        expected.usage.completion_tokens,
        expected.usage.total_tokens,
    )


def test_openai_hide_think_and_several_choices(openai_client: tuple[Any, MockAPI]) -> None:
    client, api = openai_client
    body = chat(n=2, hideThink=True)
    texts = {0: "", 1: ""}
    with client.chat.completions.create(
        model=MODEL, messages=body["messages"], n=2, stream=True, extra_body={"hideThink": True}
    ) as stream:
        for chunk in stream:
            for choice in chunk.choices:
                texts[choice.index] += choice.delta.content or ""
    expected = api.expected_answer(body)
    assert [texts[0], texts[1]] == [choice.content for choice in expected.choices]
    assert "<think>" not in texts[0]
    assert api.requests[-1].body["hideThink"] is True


def test_openai_assembles_tool_calls(openai_client: tuple[Any, MockAPI]) -> None:
    client, api = openai_client
    body = chat("weather in Oslo", tools=TOOLS)
    with client.chat.completions.stream(**body) as stream:
        for _ in stream:
            pass
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {
        "city": "weather in Oslo",
        "unit": "weather in Oslo",
    }
    assert call.function.arguments == api.expected_answer(body).tool_calls[0].arguments


def test_openai_non_streaming_and_models(openai_client: tuple[Any, MockAPI]) -> None:
    client, api = openai_client
    body = chat(max_tokens=12)
    completion = client.chat.completions.create(**body)
    expected = api.expected_answer(body)
    assert completion.choices[0].message.content == expected.content
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 12
    assert [model.id for model in client.models.list()] == list(CONFIG.models)
    assert client.models.retrieve(MODEL).owned_by == "sseio-mock"


def test_openai_errors(openai_client: tuple[Any, MockAPI]) -> None:
    client, _ = openai_client
    import openai

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(**chat(), stream=True, extra_headers={"X-Mock-Fault": "429"})
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nope")
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(**chat(), n=99)
    with pytest.raises(openai.APIError, match="failed mid-stream"):  # noqa: PT012
        stream = client.chat.completions.create(
            **chat(), stream=True, extra_body={"mock_fault": "error"}
        )
        with stream:
            for _ in stream:
                pass
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(**chat(), extra_headers={"X-Mock-Fault": "drop"})


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_openai_streams_from_the_mock() -> None:
    import openai

    body = chat("async hello")
    async with (
        serving() as (url, api),
        openai.AsyncOpenAI(base_url=url, api_key="test", max_retries=0, timeout=10) as client,
    ):
        stream = await client.chat.completions.create(**body, stream=True)
        content, finish_reason = "", None
        async with stream:
            async for chunk in stream:
                content += chunk.choices[0].delta.content or ""
                finish_reason = chunk.choices[0].finish_reason or finish_reason
        assert content == api.expected_answer(body).content
        assert finish_reason == "stop"
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(**body, extra_headers={"X-Mock-Fault": "429"})
