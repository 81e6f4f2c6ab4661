"""The mock's Responses and Messages endpoints: validation, expected answers and plans
(pure), the handler's routing, keys, faults and refusals, and the official ``openai``
and ``anthropic`` SDKs streaming from it over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sseio.server._server import EventStream, Request, Response
from sseio.testing._mock import MockAPI, MockConfig, mock_in_thread
from sseio.testing._mock_answer import apply_fault
from sseio.testing._mock_request import InvalidChatRequest, parse_fault
from sseio.testing._mock_shape_plans import (
    messages_error_steps,
    plan_messages,
    plan_responses,
    responses_error_steps,
)
from sseio.testing._mock_shape_request import (
    expected_turn,
    parse_messages_request,
    parse_responses_request,
)

CONFIG = MockConfig(keepalive=None)
PROMPT = "Tell me about the sea"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def responses_body(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "input": PROMPT, "stream": True, **fields}


def messages_body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        **fields,
    }


# --------------------------------------------------------------------------- requests


def test_the_answer_is_the_chat_mocks_text_with_reasoning_apart() -> None:
    turn = expected_turn(parse_responses_request(responses_body(), CONFIG), CONFIG)
    assert "sea" in turn.text
    assert turn.reasoning
    assert "<think>" not in turn.text + turn.reasoning
    assert "".join(turn.text_tokens) == turn.text
    assert "".join(turn.reasoning_tokens) == turn.reasoning
    assert turn.output_tokens == len(turn.text_tokens) + len(turn.reasoning_tokens)
    assert turn.stop == "stop"
    again = expected_turn(parse_responses_request(responses_body(), CONFIG), CONFIG)
    assert again == turn


def test_hide_think_and_disabled_thinking_leave_reasoning_out() -> None:
    for request in (
        parse_responses_request(responses_body(hideThink=True), CONFIG),
        parse_messages_request(messages_body(thinking={"type": "disabled"}), CONFIG),
        parse_messages_request(messages_body(), MockConfig(think=False)),
    ):
        turn = expected_turn(request, CONFIG)
        assert turn.reasoning == ""
        assert turn.text


def test_the_token_limit_cuts_the_answer() -> None:
    turn = expected_turn(parse_messages_request(messages_body(max_tokens=5), CONFIG), CONFIG)
    assert turn.stop == "length"
    assert turn.output_tokens == 5
    assert len(turn.reasoning_tokens) == 5
    assert turn.text == ""


def test_tools_are_called_with_their_required_arguments() -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
    turn = expected_turn(parse_responses_request(responses_body(tools=tools), CONFIG), CONFIG)
    assert turn.tool_call is not None
    assert turn.tool_call.name == "get_weather"
    assert json.loads(turn.tool_call.arguments) == {"city": PROMPT}
    assert turn.stop == "tool"
    anthropic_tools = [{"name": "a", "input_schema": {}}, {"name": "b", "input_schema": WEATHER}]
    chosen = messages_body(tools=anthropic_tools, tool_choice={"type": "tool", "name": "b"})
    turn = expected_turn(parse_messages_request(chosen, CONFIG), CONFIG)
    assert turn.tool_call is not None
    assert turn.tool_call.name == "b"
    none = messages_body(tools=anthropic_tools, tool_choice={"type": "none"})
    assert expected_turn(parse_messages_request(none, CONFIG), CONFIG).tool_call is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        (responses_body(model=None), "model"),
        (responses_body(model=""), "model"),
        (responses_body(input=None), "input"),
        (responses_body(input=""), "input"),
        (responses_body(input=[{"role": "robot", "content": "x"}]), "input[0]"),
        (responses_body(stream="yes"), "stream"),
        (responses_body(max_output_tokens=0), "max_output_tokens"),
        (responses_body(tools=[{"type": "function"}]), "tools[0]"),
        (responses_body(tools=[{"name": "f"}], tool_choice={"type": "function"}), "tool_choice"),
    ],
)
def test_invalid_responses_requests(body: Any, param: str | None) -> None:
    with pytest.raises(InvalidChatRequest) as caught:
        parse_responses_request(body, CONFIG)
    assert (caught.value.status, caught.value.param) == (400, param)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (messages_body(max_tokens=None), "max_tokens"),
        (messages_body(messages=[]), "messages"),
        (messages_body(messages=["hi"]), "messages[0]"),
        (messages_body(system=5), "system"),
        (messages_body(thinking="on"), "thinking"),
    ],
)
def test_invalid_messages_requests(body: Any, param: str) -> None:
    with pytest.raises(InvalidChatRequest) as caught:
        parse_messages_request(body, CONFIG)
    error = caught.value
    assert (error.status, error.param) == (400, param)
    assert error.anthropic_payload() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": str(error)},
    }


def test_known_models_only_refuses_the_others() -> None:
    strict = MockConfig(known_models_only=True)
    with pytest.raises(InvalidChatRequest) as caught:
        parse_messages_request(messages_body(), strict)
    assert caught.value.status == 404
    assert caught.value.anthropic_payload()["error"]["type"] == "not_found_error"
    assert parse_responses_request(responses_body(model="sseio-mock-1"), strict).model


# --------------------------------------------------------------------------- plans


def _types(steps: list[Any]) -> list[str]:
    return [step.payload["type"] for step in steps if step.payload is not None]


@pytest.mark.parametrize("summary", [False, True])
def test_the_responses_plan(summary: bool) -> None:
    fields = {"reasoning": {"summary": "auto"}} if summary else {}
    request = parse_responses_request(responses_body(**fields), CONFIG)
    turn = expected_turn(request, CONFIG)
    steps = plan_responses(request, turn, CONFIG, "resp_1", 7)
    kinds = _types(steps)
    reasoning = "response.reasoning_summary_text" if summary else "response.reasoning_text"
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds.count(f"{reasoning}.delta") == len(turn.reasoning_tokens)
    assert kinds.count("response.output_text.delta") == len(turn.text_tokens)
    assert kinds.count("response.output_item.done") == 2
    assert kinds[-1] == "response.completed"
    assert all(step.event == step.payload["type"] for step in steps)
    assert [step.payload["sequence_number"] for step in steps] == list(range(len(steps)))
    final = steps[-1].payload["response"]
    assert final["usage"]["output_tokens"] == turn.output_tokens
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] == len(turn.reasoning_tokens)
    assert final["output"][1]["content"][0]["text"] == turn.text


def test_the_responses_plan_cut_at_the_limit_is_incomplete() -> None:
    request = parse_responses_request(responses_body(max_output_tokens=3), CONFIG)
    steps = plan_responses(request, expected_turn(request, CONFIG), CONFIG, "resp_1", 7)
    last = steps[-1].payload
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_the_messages_plan() -> None:
    request = parse_messages_request(messages_body(), CONFIG)
    turn = expected_turn(request, CONFIG)
    steps = plan_messages(request, turn, CONFIG, "msg_1")
    kinds = _types(steps)
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    deltas = [s.payload["delta"] for s in steps if s.payload["type"] == "content_block_delta"]
    assert "".join(d.get("thinking", "") for d in deltas) == turn.reasoning
    assert "".join(d.get("text", "") for d in deltas) == turn.text
    assert [d["type"] for d in deltas].count("signature_delta") == 1
    assert steps[-2].payload["usage"] == {"output_tokens": turn.output_tokens}
    assert steps[-2].payload["delta"]["stop_reason"] == "end_turn"


def test_faults_cut_the_plans_after_tokens() -> None:
    request = parse_messages_request(messages_body(), CONFIG)
    steps = plan_messages(request, expected_turn(request, CONFIG), CONFIG, "msg_1")
    fault = parse_fault("error-event; after=2")
    cut = apply_fault(steps, fault, messages_error_steps(fault))
    assert [s.kind for s in cut].count("token") == 2
    assert cut[-1].event == "error"
    assert cut[-1].payload == {
        "type": "error",
        "error": {"type": "api_error", "message": "the mock server failed mid-stream (fault "
                  "'error-event')"},
    }  # fmt: skip
    assert messages_error_steps(parse_fault("error"))[0].event == "message"
    truncated = apply_fault(steps, parse_fault("truncate; after=0"))
    assert _types(truncated) == ["message_start", "ping", "content_block_start"]
    request_r = parse_responses_request(responses_body(), CONFIG)
    turn = expected_turn(request_r, CONFIG)
    failed = responses_error_steps(parse_fault("error"), request_r, turn, "resp_1", 7)
    assert failed[0].payload["type"] == "response.failed"
    assert failed[0].payload["response"]["error"]["code"] == "server_error"
    overload = responses_error_steps(parse_fault("overload"), request_r, turn, "resp_1", 7)
    assert (overload[0].event, overload[0].payload["code"]) == ("error", "overloaded")


# --------------------------------------------------------------------------- the handler


def request(path: str, body: Any, *headers: tuple[str, str]) -> Request:
    raw = json.dumps(body).encode()
    return Request("POST", path, path, "", headers, raw, ("127.0.0.1", 1))


VERSION = ("anthropic-version", "2023-06-01")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the handler only sleeps; the socket tests run on trio elsewhere


async def _events(answer: Response | EventStream) -> list[Any]:
    assert isinstance(answer, EventStream)
    return [item async for item in answer.events]


@pytest.mark.anyio
async def test_the_handler_streams_both_shapes() -> None:
    api = MockAPI(CONFIG)
    events = await _events(await api(request("/v1/responses", responses_body())))
    assert events[0].event == "response.created"
    assert events[-1].event == "response.completed"
    events = await _events(await api(request("/v1/messages", messages_body(), VERSION)))
    assert [events[0].event, events[-1].event] == ["message_start", "message_stop"]
    assert [call.path for call in api.requests] == ["/v1/responses", "/v1/messages"]


@pytest.mark.anyio
async def test_messages_need_the_version_header_and_refuse_in_anthropics_words() -> None:
    api = MockAPI(CONFIG)
    answer = await api(request("/v1/messages", messages_body()))
    assert isinstance(answer, Response)
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["type"] == "invalid_request_error"
    answer = await api(request("/v1/messages", messages_body(max_tokens=None), VERSION))
    assert isinstance(answer, Response)
    assert json.loads(answer.body)["error"]["message"] == "max_tokens: field required"


@pytest.mark.anyio
async def test_either_key_header_is_accepted() -> None:
    api = MockAPI(MockConfig(keepalive=None, api_key="sekrit"))
    body = messages_body(stream=False)
    refused = await api(request("/v1/messages", body, VERSION, ("x-api-key", "wrong")))
    assert isinstance(refused, Response)
    assert refused.status == 401
    assert json.loads(refused.body)["error"]["type"] == "authentication_error"
    for header in (("x-api-key", "sekrit"), ("authorization", "Bearer sekrit")):
        answer = await api(request("/v1/messages", body, VERSION, header))
        assert isinstance(answer, Response)
        assert answer.status == 200


@pytest.mark.anyio
async def test_status_faults_and_whole_answers() -> None:
    api = MockAPI(CONFIG)
    fault = ("x-mock-fault", "429; retry_after=2")
    answer = await api(request("/v1/messages", messages_body(), VERSION, fault))
    assert isinstance(answer, Response)
    assert answer.status == 429
    assert ("retry-after", "2") in answer.headers
    assert json.loads(answer.body)["error"]["type"] == "rate_limit_error"
    answer = await api(request("/v1/responses", responses_body(), fault))
    assert isinstance(answer, Response)
    assert json.loads(answer.body)["error"]["code"] == "rate_limit_exceeded"
    whole = await api(request("/v1/responses", responses_body(stream=False)))
    assert isinstance(whole, Response)
    body = json.loads(whole.body)
    expected = api.expected_turn("/v1/responses", responses_body(stream=False))
    assert body["output"][-1]["content"][0]["text"] == expected.text
    failing = ("x-mock-fault", "error")
    answer = await api(request("/v1/messages", messages_body(stream=False), VERSION, failing))
    assert isinstance(answer, Response)
    assert answer.status == 500
    assert json.loads(answer.body)["error"]["type"] == "api_error"


# --------------------------------------------------------------------------- the official SDKs


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, MockAPI]]:
    with mock_in_thread(CONFIG, shutdown_grace=1.0) as (server, api):
        yield server.url, api


def test_openai_responses_stream(served: tuple[str, MockAPI]) -> None:
    import openai

    url, api = served
    with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
        with client.responses.stream(
            model="gpt-4o-mini", input="Hello from the SDK", reasoning={"summary": "auto"}
        ) as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
        expected = api.expected_turn("/v1/responses", api.requests[-1].body)
        assert "".join(deltas) == final.output_text == expected.text
        assert final.status == "completed"
        assert final.usage is not None
        assert final.usage.output_tokens == expected.output_tokens
        assert final.usage.input_tokens == expected.input_tokens
        assert final.usage.output_tokens_details.reasoning_tokens == len(expected.reasoning_tokens)
        summary = final.output[0]
        assert summary.type == "reasoning"
        assert summary.summary[0].text == expected.reasoning

        events = client.responses.create(model="gpt-4o-mini", input="Once more", stream=True)
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == api.expected_turn("/v1/responses", api.requests[-1].body).text

        tools: Any = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
        with client.responses.stream(model="m", input="Paris", tools=tools) as stream:
            (call,) = stream.get_final_response().output
        assert (call.type, call.name, json.loads(call.arguments)) == (
            "function_call",
            "get_weather",
            {"city": "Paris"},
        )
        assert [model.id for model in client.models.list()] == list(CONFIG.models)


def test_anthropic_messages_stream(served: tuple[str, MockAPI]) -> None:
    import anthropic

    url, api = served
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=10) as client:
        messages: Any = [{"role": "user", "content": "Hello Claude"}]
        with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=1000, messages=messages
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        expected = api.expected_turn("/v1/messages", api.requests[-1].body)
        assert text == expected.text
        assert [block.type for block in final.content] == ["thinking", "text"]
        assert final.content[0].thinking == expected.reasoning  # type: ignore[union-attr]
        assert final.stop_reason == "end_turn"
        assert final.usage.output_tokens == expected.output_tokens
        assert final.usage.input_tokens == expected.input_tokens

        events = client.messages.create(
            model="claude-x", max_tokens=1000, messages=messages, stream=True
        )
        pieces = [
            e.delta.text
            for e in events
            if e.type == "content_block_delta" and e.delta.type == "text_delta"
        ]
        again = api.expected_turn("/v1/messages", api.requests[-1].body)
        assert "".join(pieces) == again.text

        tools: Any = [{"name": "get_weather", "input_schema": WEATHER}]
        with client.messages.stream(
            model="claude-x", max_tokens=1000, messages=messages, tools=tools
        ) as stream:
            final = stream.get_final_message()
        (tool,) = final.content
        assert tool.type == "tool_use"
        assert tool.input == {"city": "Hello Claude"}  # type: ignore[union-attr]
        assert final.stop_reason == "tool_use"

        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(
                model="m", max_tokens=10, messages=messages, extra_headers={"X-Mock-Fault": "429"}
            )
        failing = client.messages.stream(
            model="m",
            max_tokens=1000,
            messages=messages,
            extra_headers={"X-Mock-Fault": "error-event"},
        )
        with pytest.raises(anthropic.APIStatusError, match="failed mid-stream"), failing as stream:
            stream.get_final_message()
        assert [model.id for model in client.models.list()] == list(CONFIG.models)
