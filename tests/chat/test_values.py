"""The chat values (``sseio.chat._values``): JSON out with ``to_dict()``, equality, immutability."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from typing import Any

import pytest
from chat_helpers import new_call, payload, run
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
import sseio.chat
from sseio.chat._types import parse_chunk, parse_completion

CHUNKS: list[dict[str, Any]] = [
    payload("Hi"),
    payload("", role="assistant", refusal=None),
    payload(finish="stop"),
    {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []},
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "system_fingerprint": "fp",
        "service_tier": "default",
        "choices": [
            {
                "index": 1,
                "delta": {
                    "reasoning": "r",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a"', "x": 1},
                            "extra": [1],
                        }
                    ],
                    "audio": {"id": "a"},
                },
                "logprobs": {"content": [{"token": "a", "logprob": -0.1}]},
                "finish_reason": None,
                "stop_reason": 7,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "details": {}},
    },
    {"id": None, "model": None, "created": None, "choices": [{"delta": {"content": "x"}}]},
]


def reparsed(chunk: sseio.chat.ChatChunk) -> sseio.chat.ChatChunk:
    return parse_chunk(json.loads(json.dumps(chunk.to_dict())))


@pytest.mark.parametrize("raw", CHUNKS, ids=range(len(CHUNKS)))
def test_a_parsed_chunk_is_what_the_server_sent(raw: dict[str, Any]) -> None:
    chunk = parse_chunk(raw)
    out = chunk.to_dict()
    assert json.loads(json.dumps(out)) == {**raw, "choices": out["choices"]}
    assert reparsed(chunk) == chunk
    assert out is not raw
    assert out["choices"] is not raw["choices"]


def test_to_dict_keeps_the_servers_order_and_spelling() -> None:
    raw = CHUNKS[4]
    out = parse_chunk(raw).to_dict()
    assert out == raw
    assert list(out) == list(raw)
    assert list(out["choices"][0]["delta"]) == list(raw["choices"][0]["delta"])
    assert "reasoning_content" not in out["choices"][0]["delta"]  # it came as "reasoning"


def test_a_float_timestamp_comes_out_as_the_integer_sseio_holds() -> None:
    chunk = parse_chunk(payload("a") | {"created": 1700000000.5})
    assert chunk.to_dict()["created"] == 1700000000
    assert reparsed(chunk) == chunk


def test_values_made_by_hand_have_the_openai_shape() -> None:
    chunk = sseio.chat.ChatChunk(
        "id", "m", 1, (sseio.chat.ChunkChoice(0, sseio.chat.Delta(content="a")),)
    )
    assert chunk.to_dict() == {
        "id": "id",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}],
    }
    assert reparsed(chunk) == chunk


def test_split_reasoning_comes_out_as_reasoning_content() -> None:
    call = new_call()
    chunks = run(call, payload("<think>plan"), payload("</think>Answer"), payload(finish="stop"))
    first = chunks[0].to_dict()["choices"][0]["delta"]
    assert first == {"content": "", "reasoning_content": "plan"}
    assert chunks[0].raw["choices"][0]["delta"] == {"content": "<think>plan"}  # raw is as sent
    for chunk in chunks:
        assert reparsed(chunk) == chunk


@st.composite
def split_stream(draw: st.DrawFn) -> list[str]:
    atoms = ["<think>", "</think>", "<", "a", " ", "é", "x<y", "</"]
    piece = st.lists(st.sampled_from(atoms), max_size=4).map("".join)
    return draw(st.lists(piece, min_size=1, max_size=8))


@given(split_stream())
@settings(max_examples=100, deadline=None)
def test_every_split_chunk_and_the_final_answer_round_trip(pieces: list[str]) -> None:
    call = new_call()
    chunks = run(call, payload("", role="assistant"), *[payload(p) for p in pieces])
    chunks += run(call, payload(finish="stop"))
    for chunk in chunks:
        assert reparsed(chunk) == chunk
    final = call.final()
    again = parse_completion(json.loads(json.dumps(final.to_dict())))
    assert again == dataclasses.replace(final, chunks=0)


def test_an_accumulated_answer_is_a_chat_completion_object() -> None:
    call = new_call()
    run(
        call,
        payload("", role="assistant"),
        payload(
            tool_calls=[{"index": 2, "id": "c2", "function": {"name": "f", "arguments": "{}"}}]
        ),
        payload("done", finish="tool_calls"),
    )
    out = call.final().to_dict()
    assert out == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "done",
                    "tool_calls": [
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                            "index": 2,  # not its position: kept so that it round-trips
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }


def test_json_dumps_refuses_a_value_instead_of_writing_an_array() -> None:
    chunk = parse_chunk(payload("Hi"))
    with pytest.raises(TypeError, match="ChatChunk is not JSON serializable"):
        json.dumps(chunk)
    with pytest.raises(TypeError):
        json.dumps(new_call().final())
    assert json.loads(json.dumps(chunk.to_dict())) == payload("Hi")


def test_values_are_frozen_and_not_tuples() -> None:
    chunk = parse_chunk(payload("Hi"))
    assert not isinstance(chunk, tuple)
    assert type(chunk) is sseio.chat.ChatChunk
    assert type(chunk.choices[0].delta) is sseio.chat.Delta
    with pytest.raises(dataclasses.FrozenInstanceError):
        chunk.choices[0].delta.content = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        chunk.other = 1  # type: ignore[attr-defined]
    changed = chunk.choices[0].delta._replace(content="x")
    assert (changed.content, chunk.choices[0].delta.content) == ("x", "Hi")
    assert type(changed) is sseio.chat.Delta
    with pytest.raises(TypeError, match="no field 'nope'"):
        chunk._replace(nope=1)


def test_equality_is_by_type_and_value_not_by_spelling() -> None:
    a = parse_chunk(payload("Hi"))
    b = parse_chunk(payload("Hi"))
    assert a == b
    assert hash(a) == hash(b)
    assert a != parse_chunk(payload("Ho"))
    assert a != parse_chunk(payload("Hi") | {"service_tier": "x"})  # unmodelled fields count
    assert sseio.chat.Delta(content="Hi") == a.choices[0].delta  # raw spelling does not
    spelled = parse_chunk(payload(reasoning="r")).choices[0].delta
    assert spelled == parse_chunk(payload(reasoning_content="r")).choices[0].delta
    assert sseio.chat.Usage(1, 2, 3) != (1, 2, 3, {})
    assert sseio.chat.FunctionDelta("f") != sseio.chat.FunctionCall("f", "")
    assert len({sseio.chat.ToolCall("i", "function", sseio.chat.FunctionCall("f", "{}"))}) == 1


def test_values_pickle_and_copy() -> None:
    chunk = parse_chunk(CHUNKS[4])
    assert pickle.loads(pickle.dumps(chunk)) == chunk
    assert copy.deepcopy(chunk) == chunk
    assert copy.copy(chunk) == chunk


def test_public_field_names_are_the_ones_of_before() -> None:
    def names(cls: Any) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    chat = sseio.chat
    assert names(chat.ChatChunk) == (
        "id",
        "model",
        "created",
        "choices",
        "usage",
        "object",
        "system_fingerprint",
        "raw",
    )
    assert names(chat.ChunkChoice) == ("index", "delta", "finish_reason", "logprobs", "raw")
    assert names(chat.Delta) == ("role", "content", "reasoning", "tool_calls", "refusal", "raw")
    assert names(chat.ToolCallDelta) == ("index", "id", "type", "function", "raw")
    assert names(chat.FunctionDelta) == ("name", "arguments")
    assert names(chat.Usage) == ("prompt_tokens", "completion_tokens", "total_tokens", "raw")
    assert names(chat.ChatCompletion)[:7] == (
        "id",
        "model",
        "created",
        "choices",
        "usage",
        "system_fingerprint",
        "chunks",
    )
    assert names(chat.ChatChoice)[:3] == ("index", "message", "finish_reason")
    assert names(chat.ChatMessage)[:5] == ("role", "content", "reasoning", "tool_calls", "refusal")
    assert names(chat.ToolCall)[:4] == ("id", "type", "function", "index")


JSON_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
EXTRA = st.dictionaries(st.sampled_from(["x", "audio", "annotations"]), JSON_LEAF, max_size=2)
TEXT = st.none() | st.text(max_size=6)


@st.composite
def chunk_objects(draw: st.DrawFn) -> dict[str, Any]:
    def maybe(target: dict[str, Any], key: str, value: st.SearchStrategy[Any]) -> None:
        if draw(st.booleans()):
            target[key] = draw(value)

    choices = []
    for _ in range(draw(st.integers(0, 2))):
        delta: dict[str, Any] = dict(draw(EXTRA))
        for key in ("role", "content", "reasoning_content", "reasoning", "refusal"):
            maybe(delta, key, TEXT)
        if draw(st.booleans()):
            call: dict[str, Any] = dict(draw(EXTRA))
            maybe(call, "index", st.none() | st.integers(0, 3))
            maybe(call, "id", TEXT)
            maybe(
                call,
                "function",
                st.none() | st.fixed_dictionaries({}, optional={"name": TEXT, "arguments": TEXT}),
            )
            delta["tool_calls"] = [call]
        choice: dict[str, Any] = dict(draw(EXTRA))
        maybe(choice, "index", st.integers(0, 3))
        maybe(choice, "delta", st.just(delta))
        maybe(choice, "finish_reason", st.none() | st.sampled_from(["stop", "length"]))
        maybe(choice, "logprobs", st.none() | st.just({"content": []}))
        choices.append(choice)
    raw: dict[str, Any] = dict(draw(EXTRA))
    for key in ("id", "model", "object", "system_fingerprint"):
        maybe(raw, key, TEXT)
    maybe(raw, "created", st.none() | st.integers(0, 2**40))
    maybe(
        raw,
        "usage",
        st.none() | st.fixed_dictionaries({}, optional={"total_tokens": st.integers(0, 9)}),
    )
    raw["choices"] = choices
    return raw


@given(chunk_objects())
@settings(max_examples=300, deadline=None)
def test_any_chunk_round_trips_through_json(raw: dict[str, Any]) -> None:
    chunk = parse_chunk(raw)
    again = reparsed(chunk)
    assert again == chunk
    assert again.to_dict() == chunk.to_dict()
    assert json.loads(json.dumps(chunk.to_dict())) == chunk.to_dict()
