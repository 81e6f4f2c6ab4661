"""The chat clients against the mock API over real sockets: blocking, asyncio and trio.

Every scenario runs three ways through one driver: ``ChatClient`` against the
mock served from a background thread, and ``AsyncChatClient`` with the mock in
the same event loop on asyncio and on trio.  The driver returns what the caller
saw (chunks, text, the final result or the error) and what the server saw (its
recorded requests), so each test states the whole outcome.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from proxy_helpers import Proxies

import sseio
import sseio.chat
from sseio.testing._mock import MockAPI, MockConfig, mock_in_thread, run_mock

MESSAGES = [{"role": "user", "content": "Tell me about streams"}]
FAST_RETRY = sseio.chat.ChatRetry(max_retries=2, delay=0.01, max_delay=0.05, jitter=0)
LIMIT = 20  # seconds any one scenario may take


@dataclass
class Outcome:
    chunks: list[sseio.chat.ChatChunk] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    final: sseio.chat.ChatCompletion | None = None
    error: BaseException | None = None
    api: MockAPI | None = None
    done: bool = False
    idle_connections: int = 0

    @property
    def requests(self) -> list[Any]:
        assert self.api is not None
        return [r for r in self.api.requests if r.path.endswith("/chat/completions")]

    def expected(self) -> Any:
        assert self.api is not None
        return self.api.expected_answer(self.requests[-1].body)

    def content(self) -> str:
        return "".join(
            c.delta.content or "" for chunk in self.chunks for c in chunk.choices if c.index == 0
        )

    def reasoning(self) -> str:
        return "".join(
            c.delta.reasoning or "" for chunk in self.chunks for c in chunk.choices if c.index == 0
        )


def _client_options(options: dict[str, Any]) -> dict[str, Any]:
    return {
        name: options.pop(name)
        for name in ("api_key", "retry", "timeout", "split_think", "headers", "hooks", "proxy")
        if name in options
    }


def run_sync(config: MockConfig, mode: str, options: dict[str, Any]) -> Outcome:
    outcome = Outcome()
    client_options = {"api_key": "k", "retry": FAST_RETRY, **_client_options(options)}
    with mock_in_thread(config) as (server, api):
        outcome.api = api
        with sseio.chat.ChatClient(base_url=server.url + "/v1", **client_options) as client:
            try:
                if mode == "create":
                    outcome.final = client.create(
                        model="sseio-mock-1", messages=MESSAGES, **options
                    )
                    outcome.idle_connections = client._http.idle_connections
                    return outcome
                with client.stream(model="sseio-mock-1", messages=MESSAGES, **options) as stream:
                    if mode == "text":
                        outcome.texts = list(stream.text())
                        outcome.final = stream.partial()
                    elif mode == "final":
                        outcome.final = stream.final()
                    else:
                        outcome.chunks = list(stream)
                        outcome.final = stream.final()
                    outcome.done = stream.done
            except sseio.SSEError as exc:
                outcome.error = exc
            outcome.idle_connections = client._http.idle_connections
    return outcome


def run_async(backend: str, config: MockConfig, mode: str, options: dict[str, Any]) -> Outcome:
    outcome = Outcome()
    client_options = {"api_key": "k", "retry": FAST_RETRY, **_client_options(options)}

    async def main() -> None:
        with anyio.fail_after(LIMIT):
            async with run_mock(config) as (server, api):
                outcome.api = api
                async with sseio.chat.AsyncChatClient(
                    base_url=server.url + "/v1", **client_options
                ) as client:
                    try:
                        if mode == "create":
                            outcome.final = await client.create(
                                model="sseio-mock-1", messages=MESSAGES, **options
                            )
                            return
                        async with client.stream(
                            model="sseio-mock-1", messages=MESSAGES, **options
                        ) as stream:
                            if mode == "text":
                                outcome.texts = [text async for text in stream.text()]
                                outcome.final = stream.partial()
                            elif mode == "final":
                                outcome.final = await stream.final()
                            else:
                                outcome.chunks = [chunk async for chunk in stream]
                                outcome.final = await stream.final()
                            outcome.done = stream.done
                    except sseio.SSEError as exc:
                        outcome.error = exc
                    outcome.idle_connections = client._http.idle_connections

    anyio.run(main, backend=backend)
    return outcome


class Driver:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(
        self, config: MockConfig | None = None, *, mode: str = "chunks", **options: Any
    ) -> Outcome:
        config = config or MockConfig(keepalive=None)
        if self.kind == "sync":
            return run_sync(config, mode, options)
        return run_async(self.kind, config, mode, options)


@pytest.fixture(params=["sync", "asyncio", "trio"])
def chat(request: pytest.FixtureRequest) -> Driver:
    return Driver(request.param)


def fault(text: str) -> dict[str, Any]:
    return {"extra_headers": {"X-Mock-Fault": text}}


# --------------------------------------------------------------------------- answers


def test_stream_gives_typed_chunks_and_the_whole_answer(chat: Driver) -> None:
    outcome = chat()
    assert outcome.error is None
    expected = outcome.expected()
    assert expected.reasoning  # the mock reasons inline by default
    assert outcome.content() == expected.answer
    assert outcome.reasoning() == expected.reasoning
    assert all(isinstance(chunk, sseio.chat.ChatChunk) for chunk in outcome.chunks)
    assert outcome.chunks[0].choices[0].delta.role == "assistant"
    final = outcome.final
    assert final is not None
    assert final.content == expected.answer
    assert final.reasoning == expected.reasoning
    assert final.finish_reason == "stop"
    assert final.choices[0].message.role == "assistant"
    assert final.chunks == len(outcome.chunks)
    assert outcome.done
    assert len(outcome.requests) == 1
    assert outcome.idle_connections == 1  # the connection went back to the pool


def test_request_carries_what_was_asked(chat: Driver) -> None:
    outcome = chat(
        temperature=0.5,
        max_tokens=500,
        extra_headers={"X-Trace": "t1"},
        extra_query={"tag": "q"},
        extra_body={"user": "u1"},
        top_p=0.9,
    )
    assert outcome.error is None
    (request,) = outcome.requests
    assert request.header("authorization") == "Bearer k"
    assert request.header("x-trace") == "t1"
    assert request.header("accept") == "text/event-stream"
    body = request.body
    assert body["stream"] is True
    assert body["messages"] == MESSAGES
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.5, 500, 0.9)
    assert body["user"] == "u1"
    assert "hideThink" not in body


def test_text_yields_answer_text_only(chat: Driver) -> None:
    outcome = chat(mode="text")
    assert outcome.error is None
    assert "".join(outcome.texts) == outcome.expected().answer
    assert all(outcome.texts)
    assert "<think>" not in "".join(outcome.texts)


def test_final_reads_the_whole_stream(chat: Driver) -> None:
    outcome = chat(mode="final")
    assert outcome.error is None
    assert outcome.final is not None
    assert outcome.final.content == outcome.expected().answer
    assert outcome.done


def test_hide_think_is_sent_and_nothing_is_reasoning(chat: Driver) -> None:
    outcome = chat(hide_think=True)
    assert outcome.requests[0].body["hideThink"] is True
    assert outcome.final is not None
    assert outcome.final.content == outcome.expected().content
    assert outcome.final.choices[0].message.reasoning is None


def test_split_think_off_keeps_the_tags(chat: Driver) -> None:
    outcome = chat(split_think=False)
    assert outcome.final is not None
    expected = outcome.expected()
    assert "<think>" in expected.content
    assert outcome.final.content == expected.content
    assert outcome.final.choices[0].message.reasoning is None


def test_tool_calls_are_assembled(chat: Driver) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "search",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
    outcome = chat(tools=[tool])
    assert outcome.error is None
    assert outcome.final is not None
    (call,) = outcome.final.choices[0].message.tool_calls
    (want,) = outcome.expected().tool_calls
    assert call.function.name == "search"
    assert call.function.arguments == want.arguments
    assert set(json.loads(call.function.arguments)) == {"query"}
    assert call.id
    assert outcome.final.finish_reason == "tool_calls"


def test_several_choices_and_usage(chat: Driver) -> None:
    outcome = chat(n=2, stream_options={"include_usage": True})
    assert outcome.error is None
    final = outcome.final
    assert final is not None
    expected = outcome.expected()
    assert [c.message.content for c in final.choices] == [c.answer for c in expected.choices]
    assert [c.finish_reason for c in final.choices] == ["stop", "stop"]
    assert final.usage is not None
    assert final.usage.completion_tokens == expected.usage.completion_tokens
    assert final.usage.total_tokens == expected.usage.total_tokens


def test_max_tokens_gives_length(chat: Driver) -> None:
    outcome = chat(max_tokens=5)
    assert outcome.error is None
    assert outcome.final is not None
    assert outcome.final.finish_reason == "length"


# ----------------------------------------------------------------- errors before the stream


def test_wrong_key_is_an_authentication_error(chat: Driver) -> None:
    outcome = chat(MockConfig(api_key="right", keepalive=None), api_key="wrong")
    error = outcome.error
    assert isinstance(error, sseio.chat.AuthenticationError)
    assert error.status_code == 401
    assert error.code == "invalid_api_key"
    assert error.message
    assert len(outcome.requests) == 1  # not retried


def test_unknown_model_is_not_found(chat: Driver) -> None:
    config = MockConfig(keepalive=None, known_models_only=True)
    outcome = chat(config, extra_body={"model": "no-such-model"})
    assert isinstance(outcome.error, sseio.chat.NotFoundError)
    assert "no-such-model" in str(outcome.error)
    assert len(outcome.requests) == 1


def test_bad_request(chat: Driver) -> None:
    outcome = chat(extra_body={"n": 99})
    assert isinstance(outcome.error, sseio.chat.BadRequestError)
    assert outcome.error.type == "invalid_request_error"


@pytest.mark.parametrize("status", ["429", "500", "502", "503"])
def test_transient_status_is_retried_then_succeeds(chat: Driver, status: str) -> None:
    outcome = chat(**fault(f"{status}; times=1; retry_after=0"))
    assert outcome.error is None
    assert len(outcome.requests) == 2
    assert outcome.final is not None
    assert outcome.final.content == outcome.expected().answer
    assert outcome.content() == outcome.expected().answer  # nothing shown twice


def test_retries_are_reported_to_hooks_and_the_log(
    chat: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[str, Any]] = []

    def keep(name: str) -> Any:
        return lambda value: calls.append((name, value))

    hooks = sseio.Hooks(
        request_sent=keep("request_sent"),
        retry_scheduled=keep("retry_scheduled"),
        stream_ended=keep("stream_ended"),
    )
    with caplog.at_level(logging.INFO, logger="sseio"):
        outcome = chat(hooks=hooks, **fault("503; times=1; retry_after=0"))
    assert outcome.error is None
    assert [name for name, _ in calls] == [
        "request_sent",
        "stream_ended",  # the first request's source, ended by its 503
        "retry_scheduled",
        "request_sent",
        "stream_ended",
    ]
    retry = calls[2][1]
    assert (retry.reason, retry.attempt) == ("status 503", 1)
    assert isinstance(retry.error, sseio.chat.APIStatusError)
    assert ("Authorization", "[redacted]") in calls[0][1].headers
    chat_lines = [r.getMessage() for r in caplog.records if r.name == "sseio.chat"]
    assert len(chat_lines) == 1
    assert re.fullmatch(
        r"retrying http://127\.0\.0\.1:\d+/v1/chat/completions in \d\.\d\ds"
        r" \(attempt 1, status 503\)",
        chat_lines[0],
    )
    # Each attempt's own source never reconnects: its end is no warning.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "k" not in {r.getMessage() for r in caplog.records}  # the API key is never shown


def test_streams_through_a_forward_proxy(chat: Driver, proxies: Proxies) -> None:
    outcome = chat(proxy=proxies.with_credentials())
    assert outcome.error is None
    assert outcome.content() == outcome.expected().answer
    [request] = outcome.requests
    assert "tinyproxy" in (request.header("via") or "")
    assert request.header("proxy-authorization") is None
    assert request.header("authorization") == "Bearer k"


def test_rate_limit_that_persists_is_raised_with_its_details(chat: Driver) -> None:
    outcome = chat(**fault("429; retry_after=0"))
    error = outcome.error
    assert isinstance(error, sseio.chat.RateLimitError)
    assert error.retryable
    assert error.retry_after == 0.0
    assert error.message == "rate limit exceeded"
    assert len(outcome.requests) == 3  # the first try and two retries


def test_retry_after_longer_than_allowed_is_not_waited_for(chat: Driver) -> None:
    outcome = chat(
        **fault("429; retry_after=3600"),
        retry=sseio.chat.ChatRetry(max_retry_after=5, jitter=0),
    )
    assert isinstance(outcome.error, sseio.chat.RateLimitError)
    assert outcome.error.retry_after == 3600
    assert len(outcome.requests) == 1


def test_html_page_is_not_an_empty_stream(chat: Driver) -> None:
    outcome = chat(**fault("html"))
    error = outcome.error
    assert isinstance(error, sseio.ResponseError)
    assert not isinstance(error, sseio.chat.APIError)
    assert error.status_code == 200
    assert error.content_type.startswith("text/html")
    assert len(outcome.requests) == 1


# ----------------------------------------------------------------- ending and faults in the stream


def test_truncated_stream_raises_with_the_partial_answer(chat: Driver) -> None:
    outcome = chat(**fault("truncate; after=4"))
    error = outcome.error
    assert isinstance(error, sseio.chat.StreamTruncated)
    partial = error.partial
    assert partial is not None
    assert partial.content + partial.reasoning  # what was shown is kept
    assert partial.finish_reason is None
    assert outcome.content() == ""  # chunks were consumed inside the failed call
    assert len(outcome.requests) == 1  # text was shown: never retried


def test_truncation_before_any_text_is_retried(chat: Driver) -> None:
    outcome = chat(**fault("truncate; after=0; times=1"))
    assert outcome.error is None
    assert len(outcome.requests) == 2
    assert outcome.content() == outcome.expected().answer


def test_dropped_connection_after_text_is_a_truncation(chat: Driver) -> None:
    outcome = chat(**fault("drop; after=3"))
    error = outcome.error
    assert isinstance(error, sseio.chat.StreamTruncated)
    assert isinstance(error.__cause__, (sseio.ReadError, sseio.RemoteProtocolError))
    assert error.partial is not None
    assert len(outcome.requests) == 1


def test_dropped_connection_before_text_is_retried(chat: Driver) -> None:
    outcome = chat(**fault("drop; after=0; times=1"))
    assert outcome.error is None
    assert len(outcome.requests) == 2
    assert outcome.content() == outcome.expected().answer


@pytest.mark.parametrize("mode", ["error", "error-event"])
def test_error_inside_the_stream(chat: Driver, mode: str) -> None:
    outcome = chat(**fault(f"{mode}; after=3"))
    error = outcome.error
    assert isinstance(error, sseio.chat.APIError)
    assert error.status_code is None
    assert error.message
    assert error.type == "server_error"
    assert error.payload is not None
    assert error.partial is not None
    assert error.partial.content + error.partial.reasoning
    assert len(outcome.requests) == 1


def test_overload_before_text_is_retried(chat: Driver) -> None:
    outcome = chat(**fault("overload; after=0; times=1"))
    assert outcome.error is None
    assert len(outcome.requests) == 2
    assert outcome.content() == outcome.expected().answer


def test_overload_after_text_is_raised_as_retryable(chat: Driver) -> None:
    outcome = chat(**fault("overload; after=3"))
    error = outcome.error
    assert isinstance(error, sseio.chat.APIError)
    assert error.retryable
    assert error.type == "overloaded_error"
    assert len(outcome.requests) == 1


def test_stall_after_text_trips_the_event_timeout(chat: Driver) -> None:
    outcome = chat(
        MockConfig(keepalive=0.05),
        **fault("stall; after=3; delay=30"),
        timeout=sseio.Timeout(read=5, event=0.4),
    )
    error = outcome.error
    assert isinstance(error, sseio.chat.StreamTruncated)
    assert isinstance(error.__cause__, sseio.EventTimeout)
    assert len(outcome.requests) == 1


def test_stall_before_text_is_retried(chat: Driver) -> None:
    outcome = chat(
        MockConfig(keepalive=0.05),
        **fault("stall; after=0; delay=30; times=1"),
        timeout=sseio.Timeout(read=5, event=0.4),
    )
    assert outcome.error is None
    assert len(outcome.requests) == 2
    assert outcome.content() == outcome.expected().answer


def test_slow_first_token_with_keepalives_succeeds(chat: Driver) -> None:
    outcome = chat(MockConfig(keepalive=0.05), **fault("slow; delay=0.3"))
    assert outcome.error is None
    assert outcome.content() == outcome.expected().answer


def test_no_retry_policy(chat: Driver) -> None:
    outcome = chat(**fault("500; times=1"), retry=sseio.chat.NO_RETRY)
    assert isinstance(outcome.error, sseio.chat.InternalServerError)
    assert len(outcome.requests) == 1


# --------------------------------------------------------------------------- client behaviour


def test_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSEIO_API_KEY", "from-env")
    monkeypatch.setenv("OPENAI_API_KEY", "other")
    with (
        mock_in_thread(MockConfig(api_key="from-env", keepalive=None)) as (server, api),
        sseio.chat.ChatClient(base_url=server.url + "/v1") as client,
        client.stream(model="sseio-mock-1", messages=MESSAGES) as stream,
    ):
        assert stream.final().finish_reason == "stop"
    assert api.requests[-1].header("authorization") == "Bearer from-env"


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_in_thread(MockConfig(keepalive=None)) as (server, _api):
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        monkeypatch.delenv("SSEIO_BASE_URL", raising=False)
        with (
            sseio.chat.ChatClient() as client,
            client.stream(model="sseio-mock-1", messages=MESSAGES) as stream,
        ):
            assert stream.final().content


def test_stream_false_is_refused() -> None:
    with (
        sseio.chat.ChatClient(base_url="http://127.0.0.1:9/v1") as client,
        pytest.raises(sseio.UsageError, match="stream"),
    ):
        client.stream(model="m", messages=MESSAGES, stream=False)


def test_leaving_early_closes_the_stream() -> None:
    with (
        mock_in_thread(MockConfig(keepalive=None, token_rate=200)) as (server, _api),
        sseio.chat.ChatClient(base_url=server.url + "/v1") as client,
    ):
        with client.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
            first = next(iter(stream))
        assert first.choices
        assert client._http.idle_connections == 0  # a half-read body is not reused
        with client.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
            assert stream.final().finish_reason == "stop"


def test_connection_is_reused_between_streams() -> None:
    with (
        mock_in_thread(MockConfig(keepalive=None)) as (server, api),
        sseio.chat.ChatClient(base_url=server.url + "/v1") as client,
    ):
        for _ in range(3):
            with client.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
                stream.final()
        assert client._http.idle_connections == 1
    assert len(api.requests) == 3


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_iteration_can_be_cancelled(anyio_backend: str) -> None:
    async with (
        run_mock(MockConfig(keepalive=None, token_rate=50)) as (server, _api),
        sseio.chat.AsyncChatClient(base_url=server.url + "/v1") as client,
    ):
        received = []
        with anyio.move_on_after(0.3) as scope:
            async with client.stream(model="sseio-mock-1", messages=MESSAGES) as stream:
                async for chunk in stream:
                    received.append(chunk)
        assert scope.cancelled_caught
        assert received
        assert client._http.idle_connections == 0


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connect_errors_are_retried_then_raised() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with sseio.chat.ChatClient(base_url=url, retry=FAST_RETRY) as client:
        stream = client.stream(model="m", messages=MESSAGES)
        with pytest.raises(sseio.ConnectError):
            stream.final()
        assert stream.retries == 2  # then the third failure is raised


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_connect_errors_are_retried_then_raised(anyio_backend: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    async with sseio.chat.AsyncChatClient(base_url=url, retry=FAST_RETRY) as client:
        stream = client.stream(model="m", messages=MESSAGES)
        with anyio.fail_after(LIMIT), pytest.raises(sseio.ConnectError):
            await stream.final()
        assert stream.retries == 2


def test_chat_stream_closed_from_another_thread_ends_quietly() -> None:
    import threading
    import time

    outcome: list[object] = []
    first = threading.Event()
    with (
        mock_in_thread(MockConfig(keepalive=None, token_rate=20)) as (server, _api),
        sseio.chat.ChatClient(base_url=server.url + "/v1") as client,
    ):
        stream = client.stream(model="sseio-mock-1", messages=MESSAGES)

        def read() -> None:
            try:
                for _chunk in stream:
                    first.set()
                outcome.append("ended")
            except BaseException as exc:
                outcome.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        assert first.wait(10)
        started = time.monotonic()
        stream.close()
        reader.join(10)
        assert not reader.is_alive()
        assert time.monotonic() - started < 2  # at once, not at the end of the ~10 s answer
    assert outcome == ["ended"]
    assert not stream.done
    assert stream.partial().chunks >= 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_chat_stream_closed_from_another_task_ends_quietly(anyio_backend: str) -> None:
    outcome: list[str] = []
    with anyio.fail_after(LIMIT):
        async with (
            run_mock(MockConfig(keepalive=None, token_rate=20)) as (server, _api),
            sseio.chat.AsyncChatClient(base_url=server.url + "/v1") as client,
        ):
            stream = client.stream(model="sseio-mock-1", messages=MESSAGES)
            first = anyio.Event()

            async def read() -> None:
                async for _chunk in stream:
                    first.set()
                outcome.append("ended")

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(read)
                await first.wait()
                started = anyio.current_time()
                await stream.aclose()
            assert anyio.current_time() - started < 2
    assert outcome == ["ended"]
    assert not stream.done


# --------------------------------------------------------------------------- create()

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}


def test_create_returns_the_whole_answer(chat: Driver) -> None:
    outcome = chat(mode="create", temperature=0.5)
    assert outcome.error is None
    final = outcome.final
    assert isinstance(final, sseio.chat.ChatCompletion)
    expected = outcome.expected()
    assert expected.reasoning  # split out of the inline <think> block, as in a stream
    assert (final.content, final.reasoning) == (expected.answer, expected.reasoning)
    assert final.finish_reason == "stop"
    assert final.choices[0].message.role == "assistant"
    assert final.chunks == 0
    assert final.usage is not None
    assert final.usage.total_tokens == expected.usage.total_tokens
    assert final.id
    assert final.id.startswith("chatcmpl-")
    (request,) = outcome.requests
    assert request.body["stream"] is False
    assert request.body["temperature"] == 0.5
    assert request.header("accept") == "application/json"
    assert request.header("authorization") == "Bearer k"


def test_create_and_stream_give_the_same_answer(chat: Driver) -> None:
    whole, streamed = chat(mode="create", n=2), chat(mode="final", n=2)
    assert whole.final is not None
    assert streamed.final is not None
    assert [c.message for c in whole.final.choices] == [c.message for c in streamed.final.choices]


def test_create_with_tools(chat: Driver) -> None:
    outcome = chat(mode="create", tools=[SEARCH_TOOL])
    assert outcome.final is not None
    (call,) = outcome.final.choices[0].message.tool_calls
    (want,) = outcome.expected().tool_calls
    assert (call.function.name, call.function.arguments) == ("search", want.arguments)
    assert call.id
    assert call.type == "function"
    assert outcome.final.finish_reason == "tool_calls"


def test_create_errors_are_the_streams_typed_errors(chat: Driver) -> None:
    wrong_key = chat(MockConfig(api_key="right", keepalive=None), mode="create", api_key="wrong")
    assert isinstance(wrong_key.error, sseio.chat.AuthenticationError)
    assert wrong_key.error.code == "invalid_api_key"
    config = MockConfig(keepalive=None, known_models_only=True)
    missing = chat(config, mode="create", extra_body={"model": "no-such-model"})
    assert isinstance(missing.error, sseio.chat.NotFoundError)
    assert missing.error.status_code == 404
    assert isinstance(missing.error.json, dict)
    bad = chat(mode="create", extra_body={"n": 99})
    assert isinstance(bad.error, sseio.chat.BadRequestError)
    assert [len(o.requests) for o in (wrong_key, missing, bad)] == [1, 1, 1]  # none retried


@pytest.mark.parametrize("text", ["503; times=1; retry_after=0", "drop; times=1", "500; times=2"])
def test_create_retries_transient_failures(chat: Driver, text: str) -> None:
    outcome = chat(mode="create", **fault(text))
    assert outcome.error is None
    assert outcome.final is not None
    assert outcome.final.content == outcome.expected().answer
    assert len(outcome.requests) == int(text.split("times=")[1][0]) + 1


def test_create_gives_up_as_the_policy_says(chat: Driver) -> None:
    outcome = chat(mode="create", **fault("overload"))
    assert isinstance(outcome.error, sseio.chat.InternalServerError)
    assert outcome.error.status_code == 503
    assert len(outcome.requests) == 3


def test_create_refuses_an_html_page(chat: Driver) -> None:
    outcome = chat(mode="create", **fault("html"))
    assert isinstance(outcome.error, sseio.ResponseError)
    assert not isinstance(outcome.error, sseio.chat.APIError)


def test_create_refuses_stream_true() -> None:
    with (
        sseio.chat.ChatClient(base_url="http://127.0.0.1:9/v1") as client,
        pytest.raises(sseio.UsageError, match="use stream"),
    ):
        client.create(model="m", messages=MESSAGES, stream=True)


def test_the_openai_sdk_reads_what_to_dict_gives() -> None:
    types = pytest.importorskip("openai.types.chat")
    with (
        mock_in_thread(MockConfig(keepalive=None)) as (server, api),
        sseio.chat.ChatClient(base_url=server.url + "/v1", api_key="k") as client,
    ):
        whole = client.create(model="sseio-mock-1", messages=MESSAGES, tools=[SEARCH_TOOL])
        with client.stream(model="sseio-mock-1", messages=MESSAGES, split_think=False) as stream:
            chunks = list(stream)
            streamed = stream.final()
    for answer in (whole, streamed):
        sdk = types.ChatCompletion.model_validate(json.loads(json.dumps(answer.to_dict())))
        assert sdk.id == answer.id
        assert sdk.choices[0].message.content == answer.choices[0].message.content
        assert sdk.choices[0].finish_reason == answer.finish_reason
    sdk_call = types.ChatCompletion.model_validate(whole.to_dict()).choices[0].message.tool_calls
    assert sdk_call is not None
    assert (
        sdk_call[0].function.arguments == whole.choices[0].message.tool_calls[0].function.arguments
    )
    for chunk in chunks:
        sdk_chunk = types.ChatCompletionChunk.model_validate(chunk.to_dict())
        assert sdk_chunk.choices[0].delta.content == chunk.choices[0].delta.content
    assert api.requests[0].body["stream"] is False


# --------------------------------------------------------------------------- another API's stream


def serve_responses_events(request: Any) -> Any:
    from sseio.server import EventStream

    async def events() -> Any:
        for kind in ("response.created", "response.output_text.delta"):
            yield sseio.ServerSentEvent(kind, json.dumps({"type": kind}), "", None)

    return EventStream(events())


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_responses_stream_is_named_not_truncated(backend: str) -> None:
    from sseio.server import SSEServer

    async def handler(request: Any) -> Any:
        return serve_responses_events(request)

    async def main() -> BaseException:
        with anyio.fail_after(LIMIT):
            async with (
                SSEServer(handler, host="127.0.0.1", port=0) as server,
                sseio.chat.AsyncChatClient(base_url=server.url + "/v1", retry=FAST_RETRY) as client,
            ):
                stream = client.stream(model="m", messages=MESSAGES)
                with pytest.raises(sseio.chat.UnexpectedStream) as caught:
                    await stream.final()
                assert stream.retries == 0
                return caught.value

    error = anyio.run(main, backend=backend)
    assert "event 'response.created'" in str(error)
    assert "ResponsesClient" in str(error)
    assert "0 chunks" not in str(error)


# --------------------------------------------------------------------------- create() odd answers


def answer_with(answer: Any, **options: Any) -> Any:
    """A blocking ChatClient.create() against a server whose every answer is ``answer``."""
    from sseio.server import serve_in_thread

    async def handler(request: Any) -> Any:
        return answer

    with (
        serve_in_thread(handler) as server,
        sseio.chat.ChatClient(base_url=server.url + "/v1", retry=FAST_RETRY, **options) as client,
    ):
        return client.create(model="m", messages=MESSAGES)


def test_create_of_an_error_object_with_status_200_is_an_api_error() -> None:
    from sseio.server import Response

    body = {"error": {"message": "model overloaded", "type": "overloaded_error"}}
    with pytest.raises(sseio.chat.APIError, match="model overloaded") as caught:
        answer_with(Response.json(body))
    assert caught.value.type == "overloaded_error"


def test_create_of_another_apis_object_is_unexpected() -> None:
    from sseio.server import Response

    with pytest.raises(sseio.chat.UnexpectedStream, match="object 'response'") as caught:
        answer_with(Response.json({"object": "response", "output": []}))
    assert caught.value.expected == "a chat.completion object"


def test_create_reads_a_long_answer_whole_up_to_max_event_size() -> None:
    from sseio.server import Response

    big = {"object": "chat.completion", "choices": [{"message": {"content": "x" * 300_000}}]}
    assert answer_with(Response.json(big)).content == "x" * 300_000
    with pytest.raises(sseio.LimitExceeded, match="max_body_size") as caught:
        answer_with(Response.json(big), max_event_size=100_000)
    assert caught.value.limit == 100_000


def test_create_reads_a_stream_sent_anyway() -> None:
    from sseio.server import EventStream

    async def events() -> Any:
        for text in ("Hel", "lo"):
            yield sseio.ServerSentEvent("message", json.dumps(payload_of(text)), "", None)
        yield sseio.ServerSentEvent("message", json.dumps(payload_of(None, "stop")), "", None)
        yield b"data: [DONE]\n\n"

    answer = answer_with(EventStream(events()))
    assert (answer.content, answer.finish_reason, answer.chunks) == ("Hello", "stop", 3)


def payload_of(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_create_keeps_the_connection_and_reports_no_stream_end() -> None:
    ended: list[Any] = []
    hooks = sseio.Hooks(stream_ended=ended.append)
    with (
        mock_in_thread(MockConfig(keepalive=None)) as (server, _api),
        sseio.chat.ChatClient(base_url=server.url + "/v1", hooks=hooks) as client,
    ):
        first = client.create(model="m", messages=MESSAGES)
        second = client.create(model="m", messages=MESSAGES)
        assert first.content == second.content != ""
        assert client._http.idle_connections == 1  # one connection served both
    assert ended == []
