"""Accumulation (``sseio.chat._accumulator``): chunks in, whole messages out, in any order."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from chat_helpers import payload, tool_delta
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
import sseio.chat
from sseio.chat._accumulator import ChatAccumulator
from sseio.chat._types import parse_chunk


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
        sseio.chat.ToolCall("call_a", "function", sseio.chat.FunctionCall("a", '{"x": 1}'), 0),
        sseio.chat.ToolCall("call_b", "function", sseio.chat.FunctionCall("b", '{"y": 2}'), 1),
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


@pytest.mark.parametrize("item", [5, None, {"choices": []}])
def test_add_takes_chunks_only(item: object) -> None:
    with pytest.raises(sseio.UsageError, match=r"add\(\) takes a ChatChunk"):
        sseio.chat.ChatAccumulator().add(item)  # type: ignore[arg-type]
