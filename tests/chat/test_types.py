"""Chunk parsing (``sseio.chat._types``): OpenAI shapes in, typed immutable values out."""

from __future__ import annotations

import json
from typing import Any

import pytest

import sseio
import sseio.chat
from sseio.chat._types import loads, parse_chunk, parse_completion


def chunk_payload(**fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
    }
    payload.update(fields)
    return payload


def test_common_token_chunk() -> None:
    chunk = parse_chunk(chunk_payload())
    assert chunk.id == "chatcmpl-1"
    assert chunk.object == "chat.completion.chunk"
    assert chunk.created == 1700000000
    assert chunk.model == "m"
    assert chunk.usage is None
    (choice,) = chunk.choices
    assert choice.index == 0
    assert choice.finish_reason is None
    assert choice.delta == sseio.chat.Delta(content="Hi", raw={"content": "Hi"})
    assert choice.delta.role is None
    assert choice.delta.tool_calls is None


def test_values_are_immutable() -> None:
    chunk = parse_chunk(chunk_payload())
    with pytest.raises(AttributeError):
        chunk.id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        chunk.choices[0].delta.content = "x"  # type: ignore[misc]


def test_role_reasoning_refusal_and_tool_calls() -> None:
    delta = {
        "role": "assistant",
        "content": None,
        "reasoning_content": "thinking",
        "refusal": None,
        "tool_calls": [
            {
                "index": 1,
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q'},
            }
        ],
    }
    chunk = parse_chunk(chunk_payload(choices=[{"index": 0, "delta": delta}]))
    got = chunk.choices[0].delta
    assert got.role == "assistant"
    assert got.content is None
    assert got.reasoning == "thinking"
    assert got.tool_calls is not None
    (call,) = got.tool_calls
    assert (call.index, call.id, call.type) == (1, "call_1", "function")
    assert call.function == sseio.chat.FunctionDelta("lookup", '{"q')


def test_reasoning_field_alias() -> None:
    chunk = parse_chunk(chunk_payload(choices=[{"index": 0, "delta": {"reasoning": "r"}}]))
    assert chunk.choices[0].delta.reasoning == "r"


def test_unknown_fields_are_kept() -> None:
    payload = chunk_payload(
        service_tier="default",
        choices=[
            {
                "index": 0,
                "delta": {"content": "a", "audio": {"id": "x"}},
                "finish_reason": None,
                "stop_reason": 7,
            }
        ],
        usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "details": {}},
    )
    chunk = parse_chunk(payload)
    assert chunk.extra == {"service_tier": "default"}
    assert chunk.choices[0].extra == {"stop_reason": 7}
    assert chunk.choices[0].delta.extra == {"audio": {"id": "x"}}
    assert chunk.usage == sseio.chat.Usage(1, 2, 3, payload["usage"])
    assert chunk.usage.extra == {"details": {}}
    assert chunk.raw is payload


def test_usage_only_chunk() -> None:
    chunk = parse_chunk(
        chunk_payload(choices=[], usage={"prompt_tokens": 5, "completion_tokens": 7})
    )
    assert chunk.choices == ()
    assert chunk.usage is not None
    assert (chunk.usage.prompt_tokens, chunk.usage.completion_tokens) == (5, 7)
    assert chunk.usage.total_tokens is None


def test_missing_choice_index_is_the_position() -> None:
    chunk = parse_chunk(chunk_payload(choices=[{"delta": {}}, {"delta": {"content": "b"}}]))
    assert [c.index for c in chunk.choices] == [0, 1]


def test_missing_delta_and_choices() -> None:
    assert parse_chunk({"id": "x"}).choices == ()
    chunk = parse_chunk(chunk_payload(choices=[{"index": 0, "finish_reason": "stop"}]))
    assert chunk.choices[0].delta == sseio.chat.Delta()
    assert chunk.choices[0].finish_reason == "stop"


def test_float_created_is_accepted() -> None:
    assert parse_chunk(chunk_payload(created=1700000000.5)).created == 1700000000


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "must be a JSON object"),
        (chunk_payload(choices={"0": {}}), "choices must be a list"),
        (chunk_payload(choices=["x"]), "choice must be an object"),
        (chunk_payload(choices=[{"index": "0"}]), "choice index must be an integer"),
        (chunk_payload(choices=[{"index": 0, "delta": "x"}]), "delta must be an object"),
        (chunk_payload(choices=[{"index": 0, "delta": {"content": 5}}]), "delta.content"),
        (chunk_payload(choices=[{"index": 0, "delta": {"role": ["a"]}}]), "delta.role"),
        (chunk_payload(choices=[{"index": 0, "finish_reason": 1}]), "finish_reason"),
        (chunk_payload(choices=[{"index": 0, "delta": {"tool_calls": {}}}]), "tool_calls"),
        (chunk_payload(choices=[{"index": 0, "delta": {"tool_calls": [1]}}]), "tool call must"),
        (
            chunk_payload(choices=[{"index": 0, "delta": {"tool_calls": [{"function": 1}]}}]),
            "function must be an object",
        ),
        (
            chunk_payload(choices=[{"index": 0, "delta": {"tool_calls": [{"index": "a"}]}}]),
            "tool call index",
        ),
        (chunk_payload(usage=[1]), "usage must be an object"),
        (chunk_payload(usage={"prompt_tokens": "1"}), "usage.prompt_tokens"),
        (chunk_payload(created="yesterday"), "created must be a number"),
        (chunk_payload(created=float("nan")), "created must be a number"),
        (chunk_payload(id=5), "id must be a string"),
    ],
)
def test_wrong_shapes_raise_invalid_chunk(payload: Any, message: str) -> None:
    with pytest.raises(sseio.chat.InvalidChunk, match="chat chunk") as caught:
        parse_chunk(payload)
    assert message in str(caught.value)
    assert caught.value.payload is payload
    assert isinstance(caught.value, sseio.ProtocolError)


def test_long_bad_values_are_shortened_in_the_message() -> None:
    with pytest.raises(sseio.chat.InvalidChunk) as caught:
        parse_chunk(chunk_payload(id=["x" * 500]))
    assert len(str(caught.value)) < 150


def test_completion_helpers() -> None:
    message = sseio.chat.ChatMessage("assistant", "answer", "thought")
    done = sseio.chat.ChatCompletion("id", "m", 1, (sseio.chat.ChatChoice(0, message, "stop"),))
    assert (done.content, done.reasoning, done.finish_reason) == ("answer", "thought", "stop")
    empty = sseio.chat.ChatCompletion("id", "m", 1, ())
    assert (empty.content, empty.reasoning, empty.finish_reason) == ("", "", None)
    call = sseio.chat.FunctionCall("f", '{"a": 1}')
    assert call.parsed_arguments() == {"a": 1}


LOADS_CASES = [
    '{"a": 1}',
    "[1.5, 1e400, -0.0]",
    '"\\ud800"',
    str(2**70),
    '{"a": NaN}',
    ' {"a": 1} ',
    '{"a": 1}\n',
    "\ufeff{}",
    '{"a": 1} {"b": 2}',
    '{"a": ',
    "",
    "nul",
    '{"a": "\\x"}',
    '{"k": "v", "k": "w"}',
    str(2**64),  # orjson reads these as floats: the standard library must decide
    str(2**64 - 1),
    str(-(2**63) - 1),
    str(-(2**63)),
    f'{{"id": {10**30}, "usage": {{"total_tokens": {2**80}}}}}',
    f"[{'1' * 19}.5, -{'9' * 40}]",
    f'{{"a": "{"9" * 25}"}}',
    '{"a": "é🙂", "b": [1, 2.5e-3]}',
]


def outcome_of(parse: Any, text: str) -> str:
    try:
        return "value " + repr(parse(text))
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("text", LOADS_CASES)
def test_loads_matches_the_standard_library(text: str) -> None:
    assert outcome_of(loads, text) == outcome_of(json.loads, text)


def test_a_faster_json_library_is_used_where_it_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from sseio.chat import _json as _chat_types

    calls: list[str] = []

    class Refused(ValueError):
        pass

    def fast_loads(text: str) -> Any:
        calls.append(text)
        if "NaN" in text:
            raise Refused("refused")
        return json.loads(text)

    fake = types.ModuleType("orjson")
    fake.loads = fast_loads  # type: ignore[attr-defined]
    fake.JSONDecodeError = Refused  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "orjson", fake)
    chosen = _chat_types._load_with_fallback()
    assert chosen('{"a": 1}') == {"a": 1}
    assert repr(chosen('{"a": NaN}')) == repr({"a": float("nan")})  # the standard library decided
    assert calls == ['{"a": 1}', '{"a": NaN}']


def test_a_faster_json_library_that_reads_big_integers_as_floats_is_not_asked() -> None:
    import sys
    import types

    from sseio.chat import _json

    asked: list[str] = []

    def lossy(text: str) -> Any:  # what orjson does with integers beyond 64 bits
        asked.append(text)
        return json.loads(
            text, parse_int=lambda digits: int(digits) if len(digits) < 19 else float(digits)
        )

    fake = types.ModuleType("orjson")
    fake.loads = lossy  # type: ignore[attr-defined]
    fake.JSONDecodeError = ValueError  # type: ignore[attr-defined]
    saved = sys.modules.get("orjson")
    sys.modules["orjson"] = fake
    try:
        chosen = _json._load_with_fallback()
    finally:
        if saved is None:
            del sys.modules["orjson"]
        else:
            sys.modules["orjson"] = saved
    big = f'{{"n": {2**70}, "m": -{2**63 + 1}}}'
    assert chosen(big) == {"n": 2**70, "m": -(2**63 + 1)}
    assert type(chosen(big)["n"]) is int
    assert chosen('{"n": 1722000000}') == {"n": 1722000000}
    assert asked == ['{"n": 1722000000}']  # the big one never reached the fast parser


def test_deep_nesting_is_a_value_error_not_a_recursion_error() -> None:
    for text in ["[" * 100_000, " " + "[" * 100_000 + "]" * 100_000]:
        with pytest.raises(ValueError, match=r"nested too deeply|Expecting"):
            loads(text)


# --------------------------------------------------------------------------- whole answers


def completion_payload(**fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    payload.update(fields)
    return payload


def test_a_whole_completion() -> None:
    raw = completion_payload(service_tier="default")
    done = parse_completion(raw)
    assert (done.id, done.model, done.created, done.chunks) == ("chatcmpl-1", "m", 1700000000, 0)
    assert (done.content, done.reasoning, done.finish_reason) == ("Hi", "", "stop")
    assert done.choices[0].message == sseio.chat.ChatMessage("assistant", "Hi")
    assert done.usage == sseio.chat.Usage(1, 2, 3)
    assert done.extra == {"service_tier": "default"}
    assert done.raw is raw
    assert done.to_dict() == raw
    assert parse_completion(json.loads(json.dumps(done.to_dict()))) == done


def test_a_whole_completion_with_reasoning_and_tools() -> None:
    message = {
        "role": "assistant",
        "content": "<think>plan</think>Answer",
        "reasoning_content": "first ",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "c2", "function": {"name": "g"}},
        ],
    }
    raw = completion_payload(choices=[{"message": message, "finish_reason": "tool_calls"}])
    plain = parse_completion(raw)
    assert plain.content == "<think>plan</think>Answer"
    split = parse_completion(raw, think_tags=sseio.chat.DEFAULT_TAGS)
    assert (split.content, split.reasoning) == ("Answer", "first plan")
    calls = split.choices[0].message.tool_calls
    assert [(c.id, c.type, c.function.name, c.function.arguments, c.index) for c in calls] == [
        ("c1", "function", "f", "{}", 0),
        ("c2", "function", "g", "", 1),
    ]
    assert calls[0].function.parsed_arguments() == {}
    out = split.to_dict()["choices"][0]["message"]
    assert (out["content"], out["reasoning_content"]) == ("Answer", "first plan")
    assert parse_completion(json.loads(json.dumps(split.to_dict()))) == split


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1], "must be a JSON object"),
        (completion_payload(choices={}), "choices must be a list"),
        (completion_payload(choices=[1]), "choice must be an object"),
        (completion_payload(choices=[{"message": "hi"}]), "message must be an object"),
        (completion_payload(choices=[{"message": {"content": 5}}]), "message.content"),
        (completion_payload(choices=[{"finish_reason": 5}]), "finish_reason"),
        (completion_payload(choices=[{"message": {"tool_calls": {}}}]), "tool_calls"),
        (completion_payload(usage=[1]), "usage must be an object"),
        (completion_payload(id=5), "id must be a string"),
    ],
)
def test_a_completion_of_the_wrong_shape(payload: Any, message: str) -> None:
    with pytest.raises(sseio.chat.InvalidChunk, match=r"^chat completion ") as caught:
        parse_completion(payload)
    assert message in str(caught.value)
    assert caught.value.payload is payload
