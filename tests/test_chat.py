"""The pure chat layer (``sseio._chat``): accumulation, a call's chunks, errors and retries."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
from sseio._chat import (
    ChatAccumulator,
    ChatCall,
    ChatRetry,
    ChatSettings,
    chat_request,
    resolve_api_key,
    resolve_base_url,
    retryable,
    status_error,
)
from sseio._chat_types import parse_chunk
from sseio._events import make_event


def payload(
    content: str | None = None,
    *,
    index: int = 0,
    finish: str | None = None,
    **delta: Any,
) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def event(obj: Any, kind: str = "message") -> sseio.ServerSentEvent:
    data = obj if isinstance(obj, str) else json.dumps(obj)
    return make_event(kind, data, "", None)


def run(call: ChatCall, *objects: Any) -> list[sseio.ChatChunk]:
    chunks = []
    for obj in objects:
        chunk = call.on_event(event(obj))
        if chunk is not None:
            chunks.append(chunk)
    return chunks


def new_call(**options: Any) -> ChatCall:
    return ChatCall(ChatRetry(jitter=0), rng=random.Random(1), **options)


# --------------------------------------------------------------------------- accumulation


def test_accumulates_content_role_finish_and_usage() -> None:
    acc = ChatAccumulator()
    acc.add(parse_chunk(payload("", role="assistant")))
    for piece in ["Hel", "lo", ""]:
        acc.add(parse_chunk(payload(piece)))
    acc.add(parse_chunk(payload(finish="stop")))
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    acc.add(parse_chunk({"id": "chatcmpl-1", "choices": [], "usage": usage}))
    result = acc.result()
    assert result.content == "Hello"
    assert result.finish_reason == "stop"
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.reasoning is None
    assert result.usage is not None
    assert result.usage.total_tokens == 5
    assert (result.id, result.model, result.created, result.chunks) == ("chatcmpl-1", "m", 1, 6)
    assert acc.finished


def test_several_choices_are_kept_apart_and_sorted() -> None:
    acc = ChatAccumulator()
    for index, text in [(1, "b1"), (0, "a1"), (1, "b2"), (0, "a2")]:
        acc.add(parse_chunk(payload(text, index=index)))
    acc.add(parse_chunk(payload(index=0, finish="stop")))
    assert not acc.finished  # choice 1 has not finished
    result = acc.result()
    assert [c.index for c in result.choices] == [0, 1]
    assert [c.message.content for c in result.choices] == ["a1a2", "b1b2"]
    assert [c.finish_reason for c in result.choices] == ["stop", None]


def test_no_content_stays_none_and_refusal_accumulates() -> None:
    acc = ChatAccumulator()
    acc.add(parse_chunk(payload(role="assistant", refusal="I can")))
    acc.add(parse_chunk(payload(refusal="not.")))
    message = acc.result().choices[0].message
    assert message.content is None
    assert message.refusal == "I cannot."


def tool_delta(index: int | None, **fields: Any) -> dict[str, Any]:
    call: dict[str, Any] = dict(fields)
    if index is not None:
        call["index"] = index
    return payload(tool_calls=[call])


def test_tool_calls_assembled_by_index_in_any_order() -> None:
    acc = ChatAccumulator()
    steps = [
        tool_delta(1, id="call_b", type="function", function={"name": "b", "arguments": ""}),
        tool_delta(0, id="call_a", type="function", function={"name": "a", "arguments": '{"x"'}),
        tool_delta(1, function={"arguments": '{"y": 2}'}),
        tool_delta(0, function={"arguments": ": 1}"}),
    ]
    for step in steps:
        acc.add(parse_chunk(step))
    calls = acc.result().choices[0].message.tool_calls
    assert calls == (
        sseio.ToolCall("call_a", "function", sseio.FunctionCall("a", '{"x": 1}'), 0),
        sseio.ToolCall("call_b", "function", sseio.FunctionCall("b", '{"y": 2}'), 1),
    )


def test_tool_calls_without_index() -> None:
    acc = ChatAccumulator()
    for step in [
        tool_delta(None, id="c1", function={"name": "f", "arguments": "{"}),
        tool_delta(None, function={"arguments": "}"}),  # no index, no id: the latest call
        tool_delta(None, id="c2", function={"name": "g", "arguments": "[]"}),
        tool_delta(None, id="c1", function={"name": "f"}),  # a repeated name is not doubled
    ]:
        acc.add(parse_chunk(step))
    calls = acc.result().choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments, c.index) for c in calls] == [
        ("c1", "f", "{}", 0),
        ("c2", "g", "[]", 1),
    ]
    assert calls[0].type == "function"  # defaulted when the server sent none


def test_tool_call_name_in_pieces() -> None:
    acc = ChatAccumulator()
    acc.add(parse_chunk(tool_delta(0, id="c", function={"name": "get_"})))
    acc.add(parse_chunk(tool_delta(0, function={"name": "weather"})))
    assert acc.result().choices[0].message.tool_calls[0].function.name == "get_weather"


@st.composite
def split_text(draw: st.DrawFn) -> tuple[str, list[str]]:
    atoms = ["<think>", "</think>", "<ser>", "</ser>", "<", ">", "a", " ", "\n", "é", "🙂", "x<y"]
    text = "".join(draw(st.lists(st.sampled_from(atoms), max_size=30)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return text, pieces


def final_of(pieces: list[str], split_think: bool = True) -> sseio.ChatCompletion:
    call = new_call(split_think=split_think)
    run(call, payload("", role="assistant"), *[payload(p) for p in pieces])
    run(call, payload(finish="stop"))
    return call.final()


@given(split_text())
@settings(max_examples=150, deadline=None)
def test_any_chunking_gives_the_same_final_message(case: tuple[str, list[str]]) -> None:
    text, pieces = case
    whole = final_of([text])
    assert final_of(pieces) == whole._replace(chunks=len(pieces) + 2)
    content, reasoning = sseio.split_think(text)
    assert whole.content == content
    assert whole.reasoning == reasoning
    assert final_of(pieces, split_think=False).content == text


@given(st.permutations(range(6)), st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_tool_call_fragments_in_any_interleaving(order: list[int], rng: random.Random) -> None:
    # Three calls, two fragments each; fragments of one call keep their order.
    fragments = {i: [f'{{"k{i}": ', f"{i}}}"] for i in range(3)}
    sequence = [i % 3 for i in order]
    acc = ChatAccumulator()
    seen: set[int] = set()
    for i in sequence:
        first = i not in seen
        seen.add(i)
        fields: dict[str, Any] = {"function": {"arguments": fragments[i].pop(0)}}
        if first:
            fields.update(id=f"call_{i}", type="function")
            fields["function"]["name"] = f"f{i}"
        acc.add(parse_chunk(tool_delta(i, **fields)))
    calls = acc.result().choices[0].message.tool_calls
    assert [c.index for c in calls] == [0, 1, 2]
    assert [json.loads(c.function.arguments) for c in calls] == [{"k0": 0}, {"k1": 1}, {"k2": 2}]
    assert [c.id for c in calls] == ["call_0", "call_1", "call_2"]


# --------------------------------------------------------------------------- one call


def test_inline_think_blocks_move_to_reasoning() -> None:
    call = new_call()
    chunks = run(
        call,
        payload("<thi"),
        payload("nk>plan"),
        payload("</think>Answer <"),
        payload("3"),
        payload(finish="stop"),
    )
    contents = [c.choices[0].delta.content for c in chunks]
    reasonings = [c.choices[0].delta.reasoning for c in chunks]
    assert "".join(x or "" for x in contents) == "Answer <3"
    assert "".join(x or "" for x in reasonings) == "plan"
    assert call.final().content == "Answer <3"
    assert call.final().reasoning == "plan"


def test_text_held_at_finish_is_released_in_the_finish_chunk() -> None:
    call = new_call()
    chunks = run(call, payload("a <"), payload(finish="stop"))
    assert chunks[-1].choices[0].delta.content == "<"
    assert call.final().content == "a <"


def test_reasoning_fields_and_inline_blocks_meet() -> None:
    call = new_call()
    run(call, payload(reasoning_content="r1"), payload("<think>r2</think>ok"))
    assert call.final().reasoning == "r1r2"
    assert call.final().content == "ok"


def test_split_think_off_keeps_tags() -> None:
    call = new_call(split_think=False)
    run(call, payload("<think>x</think>y"))
    assert call.final().content == "<think>x</think>y"
    assert call.final().choices[0].message.reasoning is None


def test_done_releases_held_text_as_a_last_chunk() -> None:
    call = new_call()
    run(call, payload("<think>unfinished <"))
    last = call.on_done()
    assert last is not None
    assert last.choices[0].delta.reasoning == "<"
    assert call.final().reasoning == "unfinished <"
    call.on_end()  # [DONE] came: not truncated
    assert call.done


def test_done_with_nothing_held() -> None:
    call = new_call()
    run(call, payload("plain"))
    assert call.on_done() is None


def test_empty_and_unknown_events_carry_no_chunk() -> None:
    call = new_call()
    assert call.on_event(make_event("message", "", "", None)) is None
    assert call.on_event(make_event("ping", '{"t": 1}', "", None)) is None
    assert call.on_event(sseio.Comment("keepalive")) is None


def test_shown_only_after_text() -> None:
    call = new_call()
    run(call, payload("", role="assistant"))
    assert not call.shown
    run(call, payload("x"))
    assert call.shown


@pytest.mark.parametrize(
    ("kind", "obj", "message", "retry"),
    [
        (
            "message",
            {"error": {"message": "boom", "type": "server_error", "code": "internal_error"}},
            "boom",
            True,
        ),
        ("message", {"error": {"message": "bad", "type": "invalid_request_error"}}, "bad", False),
        ("error", {"message": "over", "type": "overloaded_error"}, "over", True),
        (
            "message",
            {"type": "error", "error": {"type": "overloaded_error", "message": "o"}},
            "o",
            True,
        ),
        ("message", {"error": "plain text error"}, "plain text error", False),
        ("message", {"error": {"code": 503}}, "the server reported an error", True),
        ("error", "not json at all", "not json at all", False),
        ("error", [1, 2], "[1, 2]", False),
    ],
)
def test_errors_inside_the_stream(kind: str, obj: Any, message: str, retry: bool) -> None:
    call = new_call()
    run(call, payload("partial"))
    with pytest.raises(sseio.APIError) as caught:
        call.on_event(event(obj, kind))
    error = caught.value
    assert error.message == message
    assert error.retryable is retry
    assert error.status_code is None
    assert error.partial is not None
    assert error.partial.content == "partial"
    assert error.payload == obj


def test_error_fields_are_kept() -> None:
    call = new_call()
    obj = {"error": {"message": "m", "type": "t", "code": "c", "param": "p"}}
    with pytest.raises(sseio.APIError) as caught:
        call.on_event(event(obj))
    assert (caught.value.type, caught.value.code, caught.value.param) == ("t", "c", "p")
    assert str(caught.value) == "error in stream (t): m"


def test_payload_that_is_not_json_or_not_a_chunk() -> None:
    call = new_call()
    run(call, payload("kept"))
    with pytest.raises(sseio.InvalidChunk) as caught:
        call.on_event(make_event("message", "{oops", "", None))
    assert caught.value.payload == "{oops"
    assert caught.value.partial.content == "kept"
    with pytest.raises(sseio.InvalidChunk):
        call.on_event(event({"choices": "no"}))


def test_truncation_is_detected() -> None:
    call = new_call()
    run(call, payload("half an ans"))
    with pytest.raises(sseio.StreamTruncated) as caught:
        call.on_end()
    assert "after 1 chunk without [DONE]" in str(caught.value)
    assert caught.value.partial.content == "half an ans"


def test_finish_reason_without_done_is_complete() -> None:
    call = new_call()
    run(call, payload("x"), payload(finish="length"))
    call.on_end()
    assert call.final().finish_reason == "length"


# --------------------------------------------------------------------------- errors and retries


def response_error(status: int, body: Any = None, **headers: str) -> sseio.ResponseError:
    raw = json.dumps(body).encode() if body is not None else b""
    return sseio.ResponseError(
        f"status {status}",
        status_code=status,
        headers=[(k.replace("_", "-"), v) for k, v in headers.items()],
        content_type="application/json",
        body=raw,
        json=body,
    )


@pytest.mark.parametrize(
    ("status", "cls", "retry"),
    [
        (400, sseio.BadRequestError, False),
        (401, sseio.AuthenticationError, False),
        (403, sseio.PermissionDeniedError, False),
        (404, sseio.NotFoundError, False),
        (409, sseio.ConflictError, False),
        (422, sseio.UnprocessableEntityError, False),
        (429, sseio.RateLimitError, True),
        (408, sseio.APIStatusError, True),
        (418, sseio.APIStatusError, False),
        (500, sseio.InternalServerError, True),
        (503, sseio.InternalServerError, True),
    ],
)
def test_status_errors_are_typed(status: int, cls: type[sseio.APIStatusError], retry: bool) -> None:
    body = {"error": {"message": "the reason", "type": "some_type", "code": "c"}}
    error = status_error(response_error(status, body, retry_after="3"), wall_clock=0.0)
    assert type(error) is cls
    assert isinstance(error, sseio.ResponseError)
    assert isinstance(error, sseio.APIError)
    assert error.status_code == status
    assert error.message == "the reason"
    assert (error.type, error.code) == ("some_type", "c")
    assert error.retryable is retry
    assert error.retry_after == 3.0
    assert error.header("retry-after") == "3"
    assert str(error) == f"status {status} (some_type): the reason"


def test_status_error_without_json_body() -> None:
    error = status_error(response_error(502), wall_clock=0.0)
    assert isinstance(error, sseio.InternalServerError)
    assert error.message == "the server answered 502"


def test_a_200_that_is_not_a_stream_stays_a_response_error() -> None:
    original = response_error(200)
    assert status_error(original, wall_clock=0.0) is original
    assert not retryable(original)


def test_classify_chains_the_original() -> None:
    call = new_call()
    original = response_error(429, {"error": {"message": "slow"}})
    typed = call.classify(original, wall_clock=0.0)
    assert isinstance(typed, sseio.RateLimitError)
    assert typed.__cause__ is original
    assert call.classify(typed, wall_clock=0.0) is typed


def test_retry_waits_grow_and_stop() -> None:
    call = ChatCall(ChatRetry(max_retries=3, delay=1, backoff=2, max_delay=3, jitter=0))
    failure = sseio.ConnectError("refused")
    waits = [call.decide(failure, now=0.0, wall_clock=0.0) for _ in range(4)]
    assert waits == [1.0, 2.0, 3.0, None]
    assert call.attempts == 4
    assert call.retries == 3


def test_jitter_only_shortens() -> None:
    call = ChatCall(ChatRetry(max_retries=50, delay=1, backoff=1, jitter=0.5))
    waits = [call.decide(sseio.ReadError("x"), now=0.0, wall_clock=0.0) for _ in range(50)]
    assert all(w is not None and 0.5 <= w <= 1.0 for w in waits)
    assert len(set(waits)) > 1


def test_retry_after_is_honoured_within_bounds() -> None:
    call = ChatCall(ChatRetry(delay=0.1, jitter=0, max_retry_after=10))
    limited = call.classify(response_error(429, retry_after="5"), wall_clock=0.0)
    assert call.decide(limited, now=0.0, wall_clock=0.0) == 5.0
    too_long = call.classify(response_error(503, retry_after="600"), wall_clock=0.0)
    assert call.decide(too_long, now=0.0, wall_clock=0.0) is None


def test_no_retry_once_text_was_shown() -> None:
    call = new_call()
    run(call, payload("visible"))
    assert call.decide(sseio.ReadError("cut"), now=0.0, wall_clock=0.0) is None
    raised = call.give_up(sseio.ReadError("cut"))
    assert isinstance(raised, sseio.StreamTruncated)
    assert isinstance(raised.__cause__, sseio.ReadError)
    assert raised.partial.content == "visible"


def test_retry_starts_a_fresh_accumulation() -> None:
    call = new_call()
    run(call, payload("", role="assistant"))
    assert call.decide(sseio.ReadError("cut"), now=0.0, wall_clock=0.0) is not None
    assert call.final().chunks == 0


def test_give_up_before_text_keeps_the_error() -> None:
    call = new_call()
    failure = sseio.ConnectError("refused")
    assert call.give_up(failure) is failure


def test_max_elapsed_stops_retries() -> None:
    call = ChatCall(ChatRetry(max_retries=10, max_elapsed=5, jitter=0))
    assert call.decide(sseio.ReadError("x"), now=100.0, wall_clock=0.0) is not None
    assert call.decide(sseio.ReadError("x"), now=106.0, wall_clock=0.0) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sseio.ConnectError("x"), True),
        (sseio.ReadTimeout("x"), True),
        (sseio.EventTimeout("x"), True),
        (sseio.RemoteProtocolError("x"), True),
        (sseio.StreamTruncated("x"), True),
        (sseio.APIError("x", retryable=True), True),
        (sseio.APIError("x"), False),
        (sseio.InvalidChunk("x"), False),
        (sseio.LimitExceeded("max_line_size", 1, 2), False),
        (sseio.UsageError("x"), False),
    ],
)
def test_what_is_retryable(error: sseio.SSEError, expected: bool) -> None:
    assert retryable(error) is expected


def test_retry_policy_validation() -> None:
    for bad in [
        {"max_retries": -1},
        {"max_retries": True},
        {"delay": 5, "max_delay": 1},
        {"backoff": 0.5},
        {"jitter": 2},
    ]:
        with pytest.raises(sseio.UsageError):
            ChatRetry(**bad)


# --------------------------------------------------------------------------- requests and settings


def test_request_body_and_url() -> None:
    url, body = chat_request(
        "http://h/v1/",
        model="m",
        messages=({"role": "user", "content": "q"},),
        hide_think=True,
        extra_query={"api-version": "1", "tags": ["a", "b"]},
        extra_body={"temperature": 0.1, "custom": 1},
        params={"temperature": 0.9, "max_tokens": None, "top_p": 0.5},
    )
    assert url == "http://h/v1/chat/completions?api-version=1&tags=a&tags=b"
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "q"}],
        "temperature": 0.1,
        "top_p": 0.5,
        "hideThink": True,
        "stream": True,
        "custom": 1,
    }


def test_request_refuses_bad_model_and_messages() -> None:
    with pytest.raises(sseio.UsageError, match="model"):
        chat_request("http://h", model="", messages=[{}], params={})
    with pytest.raises(sseio.UsageError, match="messages"):
        chat_request("http://h", model="m", messages=[], params={})


def test_api_key_and_base_url_fallbacks() -> None:
    env = {"OPENAI_API_KEY": "o", "SSEIO_API_KEY": "s", "OPENAI_BASE_URL": "http://o"}
    assert resolve_api_key("given", env) == "given"
    assert resolve_api_key(None, env) == "s"
    assert resolve_api_key(None, {"OPENAI_API_KEY": "o"}) == "o"
    assert resolve_api_key(None, {"SSEIO_API_KEY": ""}) is None
    assert resolve_base_url(None, env) == "http://o"
    assert resolve_base_url(None, {"SSEIO_BASE_URL": "http://s", **env}) == "http://s"
    assert resolve_base_url(None, {}) == "https://api.openai.com/v1"
    assert resolve_base_url("http://x", env) == "http://x"


def test_settings_headers_and_bad_tags() -> None:
    settings_ = ChatSettings.create(
        base_url="http://h",
        api_key=None,
        headers={"X-A": "1"},
        timeout=sseio.Timeout(),
        retry=None,
        split_think=True,
        think_tags=[("<t>", "</t>")],
        environ={"OPENAI_API_KEY": "k"},
    )
    assert settings_.headers == (("Authorization", "Bearer k"), ("X-A", "1"))
    _url, body, headers, call = settings_.prepare(
        model="m",
        messages=[{"role": "user", "content": "q"}],
        hide_think=None,
        extra_headers={"authorization": "Bearer other"},
        extra_query=None,
        extra_body=None,
        split_think=None,
        retry=None,
        params={},
    )
    assert headers == [("X-A", "1"), ("authorization", "Bearer other")]
    assert "hideThink" not in body
    run(call, payload("<t>r</t>c"))
    assert call.final().reasoning == "r"
    with pytest.raises(sseio.UsageError):
        ChatSettings.create(
            base_url=None,
            api_key=None,
            headers=None,
            timeout=sseio.Timeout(),
            retry=None,
            split_think=True,
            think_tags=[("", "</t>")],
            environ={},
        )
