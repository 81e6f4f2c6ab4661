"""The Responses and Messages clients over real sockets: blocking, asyncio and trio.

Every scenario runs for both APIs and three ways through one driver: the blocking
client against the mock served from a background thread, and the async client with
the mock in the same event loop on asyncio and on trio.  The driver returns what the
caller saw (typed events, text pieces, the final value or the error) and what the
server saw, so each test states the whole outcome.  Streams of the wrong shape come
from the scripted ``sse_server``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

import sseio
import sseio.chat
from sseio.chat._shaped import StreamPiece, UnexpectedStream
from sseio.chat._streams_async import AsyncMessagesClient, AsyncResponsesClient
from sseio.chat._streams_sync import MessagesClient, ResponsesClient
from sseio.testing._mock import MockAPI, MockConfig, mock_in_thread, run_mock
from sseio.testing._pytest_plugin import ScriptedServer

PROMPT = "Tell me about streams"
FAST_RETRY = sseio.chat.ChatRetry(max_retries=2, delay=0.01, max_delay=0.05, jitter=0)
LIMIT = 20  # seconds any one scenario may take
WEATHER = {"type": "object", "properties": {"city": {}}, "required": ["city"]}


@dataclass
class Outcome:
    api_name: str
    events: list[Any] = field(default_factory=list)
    pieces: list[StreamPiece] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    final: Any = None
    error: BaseException | None = None
    api: MockAPI | None = None
    done: bool = False
    retries: int = 0
    idle_connections: int = 0

    @property
    def path(self) -> str:
        return "/v1/responses" if self.api_name == "responses" else "/v1/messages"

    @property
    def requests(self) -> list[Any]:
        assert self.api is not None
        return [r for r in self.api.requests if r.path == self.path]

    def expected(self) -> Any:
        assert self.api is not None
        return self.api.expected_turn(self.path, self.requests[-1].body)


def _call_options(api_name: str, options: dict[str, Any]) -> dict[str, Any]:
    if api_name == "responses":
        return {"model": "gpt-4o-mini", "input": PROMPT, **options}
    return {"model": "claude-x", "messages": [{"role": "user", "content": PROMPT}], **options}


def _client_options(options: dict[str, Any]) -> dict[str, Any]:
    names = ("api_key", "retry", "headers", "hooks", "base_url")
    return {name: options.pop(name) for name in names if name in options}


def run_sync(api_name: str, config: MockConfig, mode: str, options: dict[str, Any]) -> Outcome:
    outcome = Outcome(api_name)
    client_options = {"api_key": "k", "retry": FAST_RETRY, **_client_options(options)}
    kind = ResponsesClient if api_name == "responses" else MessagesClient
    with mock_in_thread(config) as (server, api):
        outcome.api = api
        base = server.url + "/v1" if api_name == "responses" else server.url
        client_options.setdefault("base_url", base)
        with kind(**client_options) as client:
            try:
                with client.stream(**_call_options(api_name, options)) as stream:
                    if mode == "text":
                        outcome.texts = list(stream.text())
                    elif mode == "pieces":
                        outcome.pieces = list(stream.pieces())
                    else:
                        outcome.events = list(stream)
                    outcome.final = stream.final()
                    outcome.done = stream.done
                    outcome.retries = stream.retries
            except sseio.SSEError as exc:
                outcome.error = exc
            outcome.idle_connections = client._http.idle_connections
    return outcome


def run_async(
    backend: str, api_name: str, config: MockConfig, mode: str, options: dict[str, Any]
) -> Outcome:
    outcome = Outcome(api_name)
    client_options = {"api_key": "k", "retry": FAST_RETRY, **_client_options(options)}
    kind = AsyncResponsesClient if api_name == "responses" else AsyncMessagesClient

    async def main() -> None:
        with anyio.fail_after(LIMIT):
            async with run_mock(config) as (server, api):
                outcome.api = api
                base = server.url + "/v1" if api_name == "responses" else server.url
                client_options.setdefault("base_url", base)
                async with kind(**client_options) as client:
                    try:
                        async with client.stream(**_call_options(api_name, options)) as stream:
                            if mode == "text":
                                outcome.texts = [text async for text in stream.text()]
                            elif mode == "pieces":
                                outcome.pieces = [piece async for piece in stream.pieces()]
                            else:
                                outcome.events = [event async for event in stream]
                            outcome.final = await stream.final()
                            outcome.done = stream.done
                            outcome.retries = stream.retries
                    except sseio.SSEError as exc:
                        outcome.error = exc
                    outcome.idle_connections = client._http.idle_connections

    anyio.run(main, backend=backend)
    return outcome


class Driver:
    def __init__(self, kind: str, api_name: str) -> None:
        self.kind = kind
        self.api_name = api_name

    def __call__(
        self, config: MockConfig | None = None, *, mode: str = "events", **options: Any
    ) -> Outcome:
        config = config or MockConfig(keepalive=None)
        if self.kind == "sync":
            return run_sync(self.api_name, config, mode, options)
        return run_async(self.kind, self.api_name, config, mode, options)


@pytest.fixture(
    params=[
        (kind, api) for api in ("responses", "messages") for kind in ("sync", "asyncio", "trio")
    ],
    ids=lambda param: f"{param[1]}-{param[0]}",
)
def stream(request: pytest.FixtureRequest) -> Driver:
    kind, api_name = request.param
    return Driver(kind, api_name)


def fault(text: str) -> dict[str, Any]:
    return {"extra_headers": {"X-Mock-Fault": text}}


# --------------------------------------------------------------------------- answers


def test_stream_gives_typed_events_and_the_whole_answer(stream: Driver) -> None:
    outcome = stream()
    assert outcome.error is None
    expected = outcome.expected()
    assert expected.reasoning
    final = outcome.final
    assert (final.text, final.reasoning) == (expected.text, expected.reasoning)
    assert final.usage.input_tokens == expected.input_tokens
    assert final.usage.output_tokens == expected.output_tokens
    assert final.usage.total_tokens == expected.total_tokens
    assert final.events == len(outcome.events)
    if stream.api_name == "responses":
        assert final.status == "completed"
        assert outcome.events[0].type == "response.created"
        assert outcome.events[-1].type == "response.completed"
        assert final.id.startswith("resp_")
    else:
        assert final.stop_reason == "end_turn"
        assert [block.type for block in final.content] == ["thinking", "text"]
        assert final.content[0].signature.startswith("sig_")
        assert final.id.startswith("msg_")
    assert outcome.done
    assert len(outcome.requests) == 1
    assert outcome.idle_connections == 1  # the connection went back to the pool


def test_request_carries_what_was_asked(stream: Driver) -> None:
    outcome = stream(temperature=0.5, extra_headers={"X-Trace": "t1"}, extra_body={"user": "u"})
    assert outcome.error is None
    (request,) = outcome.requests
    assert request.header("x-trace") == "t1"
    assert request.header("accept") == "text/event-stream"
    body = request.body
    assert (body["stream"], body["temperature"], body["user"]) == (True, 0.5, "u")
    if stream.api_name == "responses":
        assert request.header("authorization") == "Bearer k"
        assert body["input"] == PROMPT
    else:
        assert request.header("x-api-key") == "k"
        assert request.header("authorization") is None
        assert request.header("anthropic-version") == "2023-06-01"
        assert body["max_tokens"] == 4096
        assert body["messages"] == [{"role": "user", "content": PROMPT}]


def test_text_and_pieces(stream: Driver) -> None:
    outcome = stream(mode="text")
    assert "".join(outcome.texts) == outcome.expected().text
    assert all(outcome.texts)
    outcome = stream(mode="pieces")
    expected = outcome.expected()
    kinds = [piece.kind for piece in outcome.pieces]
    assert kinds == sorted(kinds, key=lambda kind: kind == "text")  # reasoning first
    assert "".join(p.text for p in outcome.pieces if p.kind == "reasoning") == expected.reasoning
    assert "".join(p.text for p in outcome.pieces if p.kind == "text") == expected.text


def test_tool_calls_are_assembled(stream: Driver) -> None:
    if stream.api_name == "responses":
        tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
    else:
        tools = [{"name": "get_weather", "input_schema": WEATHER}]
    outcome = stream(tools=tools)
    assert outcome.error is None
    final = outcome.final
    if stream.api_name == "responses":
        (call,) = final.function_calls
        assert call.name == "get_weather"
        assert call.call_id.startswith("call_")
        assert call.parsed_arguments() == {"city": PROMPT}
    else:
        (tool,) = final.tool_uses
        assert (tool.name, tool.input) == ("get_weather", {"city": PROMPT})
        assert final.stop_reason == "tool_use"


# --------------------------------------------------------------------------- failures


def test_truncation_raises_with_the_partial_answer(stream: Driver) -> None:
    outcome = stream(**fault("truncate; after=20"))
    error = outcome.error
    assert isinstance(error, sseio.chat.StreamTruncated)
    assert "without" in str(error)
    expected = outcome.expected()
    assert error.partial.reasoning == expected.reasoning[: len(error.partial.reasoning)]
    assert error.partial.reasoning
    assert len(outcome.requests) == 1  # text was shown: not sent again


def test_an_error_after_text_is_raised_with_the_partial(stream: Driver) -> None:
    outcome = stream(**fault("error-event; after=3"))
    error = outcome.error
    assert isinstance(error, sseio.chat.APIError)
    assert "failed mid-stream" in str(error)
    assert error.partial.reasoning == "".join(outcome.expected().reasoning_tokens[:3])
    assert len(outcome.requests) == 1


def test_failures_before_any_text_are_retried(stream: Driver) -> None:
    for text in ("overload; after=0; times=1", "503; times=1; retry_after=0", "drop; after=0; "
                 "times=1"):  # fmt: skip
        outcome = stream(**fault(text))
        assert outcome.error is None, text
        assert outcome.retries == 1
        assert len(outcome.requests) == 2
        assert outcome.final.text == outcome.expected().text


def test_status_errors_are_typed(stream: Driver) -> None:
    outcome = stream(retry=sseio.chat.NO_RETRY, **fault("429; retry_after=0"))
    assert isinstance(outcome.error, sseio.chat.RateLimitError)
    assert outcome.error.status_code == 429
    outcome = stream(MockConfig(keepalive=None, api_key="right"))
    assert isinstance(outcome.error, sseio.chat.AuthenticationError)
    assert "k" not in str(outcome.error).split()


# --------------------------------------------------------------------------- other shapes


def _chat_chunk() -> sseio.ServerSentEvent:
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": [{"delta": {}}]}
    return sseio.ServerSentEvent(data=json.dumps(chunk))


def _responses_event() -> sseio.ServerSentEvent:
    data = json.dumps({"type": "response.created", "response": {"id": "r"}})
    return sseio.ServerSentEvent("response.created", data)


@pytest.mark.parametrize("kind", ["sync", "asyncio"])
@pytest.mark.parametrize(
    ("api_name", "item", "seen"),
    [
        ("responses", _chat_chunk(), "a 'chat.completion.chunk' object"),
        ("responses", sseio.ServerSentEvent(data="hello"), "not JSON: 'hello'"),
        ("messages", _responses_event(), "type 'response.created'"),
        ("messages", _chat_chunk(), "a 'chat.completion.chunk' object"),
    ],
)
def test_a_stream_of_another_shape_is_named(
    sse_server: ScriptedServer, kind: str, api_name: str, item: Any, seen: str
) -> None:
    path = "/v1/responses" if api_name == "responses" else "/v1/messages"
    sse_server.stream(path, item, _chat_chunk())
    base = sse_server.url("/v1") if api_name == "responses" else sse_server.url("/")
    options = {"base_url": base, "retry": FAST_RETRY}
    call = _call_options(api_name, {})
    error: BaseException | None = None
    if kind == "sync":
        sync_kind: Callable[..., Any] = (
            ResponsesClient if api_name == "responses" else MessagesClient
        )
        with sync_kind(**options) as client:
            try:
                client.stream(**call).final()
            except sseio.SSEError as exc:
                error = exc
    else:
        async_kind: Callable[..., Any] = (
            AsyncResponsesClient if api_name == "responses" else AsyncMessagesClient
        )

        async def main() -> None:
            nonlocal error
            with anyio.fail_after(LIMIT):
                async with async_kind(**options) as client:
                    try:
                        await client.stream(**call).final()
                    except sseio.SSEError as exc:
                        error = exc

        anyio.run(main)
    assert isinstance(error, UnexpectedStream)
    assert seen in str(error)
    assert len(sse_server.requests_to(path)) == 1  # the same request would get the same


# --------------------------------------------------------------------------- hooks and closing


@pytest.mark.parametrize("api_name", ["responses", "messages"])
def test_each_retry_is_told_to_the_hook(api_name: str) -> None:
    scheduled: list[Any] = []
    hooks = sseio.Hooks(retry_scheduled=scheduled.append)
    outcome = Driver("sync", api_name)(hooks=hooks, **fault("500; times=2"))
    assert outcome.error is None
    assert [(s.attempt, s.reason) for s in scheduled] == [(1, "status 500"), (2, "status 500")]
    assert all(s.url.endswith(outcome.path) for s in scheduled)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("api_name", ["responses", "messages"])
def test_closing_from_another_task_ends_the_reading_quietly(backend: str, api_name: str) -> None:
    kind = AsyncResponsesClient if api_name == "responses" else AsyncMessagesClient
    seen: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(LIMIT):
            async with run_mock(MockConfig(keepalive=None, token_rate=50)) as (server, _):
                base = server.url + "/v1" if api_name == "responses" else server.url
                async with kind(base_url=base, api_key="k") as client:
                    stream = client.stream(**_call_options(api_name, {}))

                    async def read() -> None:
                        async for event in stream:
                            seen.append(event)

                    async with anyio.create_task_group() as group:
                        group.start_soon(read)
                        await anyio.sleep(0.2)
                        await stream.aclose()

    anyio.run(main, backend=backend)
    assert 3 < len(seen) < 100  # some events, then the reading ended without an error
