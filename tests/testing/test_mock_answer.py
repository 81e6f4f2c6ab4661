"""The mock chat API's answers (``sseio/testing/_mock_answer.py``): what the mock decides to
send, as plain values.

The tests check determinism, tokens, reasoning blocks, ``hideThink``,
``max_tokens``, tools, ``n``, usage, pacing, the stream faults applied to a
plan, and the non-streaming completion.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from mock_helpers import CONFIG, MODEL, TOOLS, chat

from sseio.testing._mock_answer import (
    ExpectedAnswer,
    Step,
    apply_fault,
    complete_chat,
    expected_answer,
    plan_chat,
    split_reasoning,
)
from sseio.testing._mock_request import InvalidChatRequest, MockConfig, parse_fault

TAG = re.compile(r"</?(?:think|ser)>")


def plan(body: dict[str, Any], config: MockConfig = CONFIG) -> list[Step]:
    return plan_chat(body, config, completion_id="chatcmpl-test", created=1_700_000_000)


def payloads(steps: list[Step], kind: str) -> list[dict[str, Any]]:
    return [step.payload for step in steps if step.kind == kind and step.payload is not None]


def split_tags(tokens: tuple[str, ...]) -> list[str]:
    """The tags of the joined tokens that do not arrive within one token."""
    content = "".join(tokens)
    boundaries = set(itertools.accumulate(len(token) for token in tokens))
    return [
        match.group()
        for match in TAG.finditer(content)
        if any(match.start() < boundary < match.end() for boundary in boundaries)
    ]


# -- answers ---------------------------------------------------------------------------


def test_answers_are_deterministic() -> None:
    assert plan(chat()) == plan(chat())
    assert expected_answer(chat(), CONFIG) == expected_answer(chat(), CONFIG)
    other_seed = expected_answer(chat(), replace(CONFIG, seed=1))
    other_prompt = expected_answer(chat("What is the capital of France?"), CONFIG)
    assert other_seed.choices[0].tokens != expected_answer(chat(), CONFIG).choices[0].tokens
    assert "What is the capital of France?" in other_prompt.answer
    # Fields that do not change the answer leave it alone.
    streamed = expected_answer(chat(stream=True, temperature=0.2, unknown_field=[1]), CONFIG)
    assert streamed.content == expected_answer(chat(), CONFIG).content


@pytest.mark.parametrize(
    "prompt",
    [
        "Tell me a story about a brave knight",
        "",
        "naïve café — 你好 🙂 tab\there, newline\nthere",
        "x" * 5000,
        "a_b 123 snake_case_identifier, supercalifragilistic!",
        "lone surrogate \ud800 here",
    ],
)
def test_tokens_join_to_the_content(prompt: str) -> None:
    answer = expected_answer(chat(prompt), CONFIG)
    tokens = answer.choices[0].tokens
    assert "".join(tokens) == answer.content
    assert all(tokens)
    assert answer.content.encode()  # always valid UTF-8, whatever the prompt held
    steps = plan(chat(prompt))
    streamed = "".join(p["choices"][0]["delta"]["content"] for p in payloads(steps, "token"))
    assert streamed == answer.content


def test_tokens_look_like_a_tokenizer() -> None:
    answer = expected_answer(chat(), CONFIG)
    tokens = answer.choices[0].tokens
    assert all(" " not in token[1:] for token in tokens)  # a leading space at most
    assert {".", ","} <= set(tokens)  # punctuation on its own
    assert any(token.startswith(" ") and token[1:].isalpha() for token in tokens)
    assert any(len(token.encode()) > len(token) for token in tokens)  # multi-byte UTF-8
    assert max(len(token) for token in tokens) <= 10
    assert "brave knight" in answer.answer  # the reply mentions the prompt


def test_default_answer_reasons_like_dhanishtha() -> None:
    answer = expected_answer(chat(), CONFIG)
    assert answer.content.startswith("<think>")
    assert [tag for tag, _ in answer.choices[0].blocks] == ["think", "ser", "think"]
    assert "Emotion ==>" in answer.choices[0].blocks[1][1]
    assert answer.reasoning == "".join(inner for _, inner in answer.choices[0].blocks)
    assert "<" not in answer.answer
    # Text sits between the blocks: the second <think> is "intermediate thinking".
    first_close = answer.content.index("</think>") + len("</think>")
    assert answer.content[first_close:].split("<ser>")[0].strip()
    assert answer.finish_reason == "stop"


def test_tags_are_split_across_tokens() -> None:
    assert split_tags(expected_answer(chat(), CONFIG).choices[0].tokens)
    whole = split = 0
    for number in range(20):
        tokens = expected_answer(chat(f"question {number}"), CONFIG).choices[0].tokens
        split_now = len(split_tags(tokens))
        assert split_now >= 1  # the first closing tag always is
        split += split_now
        whole += sum(1 for token in tokens if TAG.fullmatch(token.strip("\n")))
    assert split > 20
    assert whole > 0  # and sometimes a tag is one token


def test_hide_think_removes_the_blocks() -> None:
    shown = expected_answer(chat(), CONFIG)
    hidden = expected_answer(chat(hideThink=True), CONFIG)
    assert hidden.content == shown.answer
    assert hidden.answer == hidden.content
    assert hidden.reasoning == ""
    assert not TAG.search(hidden.content)
    assert hidden.usage.completion_tokens < shown.usage.completion_tokens
    not_thinking = expected_answer(chat(), replace(CONFIG, think=False))
    assert not_thinking.content == hidden.content
    assert expected_answer(chat(hideThink=False), CONFIG) == shown


def test_fixed_answer() -> None:
    fixed = replace(CONFIG, answer="Hello, world — fixed!", think=False)
    assert expected_answer(chat(), fixed).content == "Hello, world — fixed!"
    thinking = expected_answer(chat(), replace(fixed, think=True))
    assert thinking.answer == "Hello, world — fixed!"
    assert [tag for tag, _ in thinking.choices[0].blocks] == ["think"]
    empty = expected_answer(chat(), replace(fixed, answer=""))
    assert empty.choices[0].tokens == ()
    assert [step.kind for step in plan(chat(stream=True), replace(fixed, answer=""))] == [
        "start",
        "finish",
        "done",
    ]


def test_split_reasoning_edges() -> None:
    assert split_reasoning("a<think>b</think>c") == ("ac", (("think", "b"),))
    assert split_reasoning("a</think>b") == ("a</think>b", ())  # a stray closing tag is text
    assert split_reasoning("<think>b<ser>c</ser>d") == ("d", (("think", "b<ser>c"),))
    assert split_reasoning("x<ser>still open") == ("x", (("ser", "still open"),))
    assert split_reasoning("<th") == ("<th", ())


def test_topic_is_short_single_line_and_tag_free() -> None:
    long_prompt = " ".join(f"word{i}" for i in range(50))
    answer = expected_answer(chat(long_prompt), CONFIG).answer
    assert "word11…" in answer
    assert "word12" not in answer
    tagged = expected_answer(chat("please <think>hack</think> me"), CONFIG)
    assert [tag for tag, _ in tagged.choices[0].blocks] == ["think", "ser", "think"]
    assert "please think hack /think me" in tagged.answer
    parts = chat("")
    parts["messages"] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "from parts"}, {"type": "image"}]},
        {"role": "assistant", "content": None},
    ]
    assert "from parts" in expected_answer(parts, CONFIG).answer
    no_user = chat("")
    no_user["messages"] = [{"role": "system", "content": "only a system prompt"}]
    assert "your message" in expected_answer(no_user, CONFIG).answer


def test_max_tokens_cuts_with_length() -> None:
    full = expected_answer(chat(), CONFIG)
    cut = expected_answer(chat(max_tokens=5), CONFIG)
    assert cut.choices[0].tokens == full.choices[0].tokens[:5]
    assert cut.finish_reason == "length"
    assert cut.usage.completion_tokens == 5
    assert cut.content == "".join(full.choices[0].tokens[:5])
    assert cut.choices[0].blocks  # cut inside the first block: it runs to the end
    preferred = expected_answer(chat(max_tokens=50, max_completion_tokens=7), CONFIG)
    assert len(preferred.choices[0].tokens) == 7
    roomy = expected_answer(chat(max_tokens=100_000), CONFIG)
    assert roomy == full
    steps = plan(chat(stream=True, max_tokens=5))
    assert payloads(steps, "finish")[0]["choices"][0]["finish_reason"] == "length"


def test_tool_calls() -> None:
    answer = expected_answer(chat("weather in Paris", tools=TOOLS), CONFIG)
    (call,) = answer.tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "weather in Paris", "unit": "weather in Paris"}
    assert answer.finish_reason == "tool_calls"
    assert answer.content == ""
    steps = plan(chat("weather in Paris", tools=TOOLS, stream=True))
    start = payloads(steps, "start")[0]["choices"][0]["delta"]
    assert start["role"] == "assistant"
    assert start["content"] is None
    (header,) = start["tool_calls"]
    assert header["id"].startswith("call_")
    assert header["type"] == "function"
    assert header["function"] == {"name": "get_weather", "arguments": ""}
    fragments = [p["choices"][0]["delta"]["tool_calls"][0] for p in payloads(steps, "token")]
    assert len(fragments) > 3
    assert all(set(f) == {"index", "function"} and f["index"] == 0 for f in fragments)
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    assert arguments == call.arguments
    assert payloads(steps, "finish")[0]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("tool_choice", "name", "arguments"),
    [
        ("auto", "get_weather", {"city": "x", "unit": "x"}),
        ("required", "get_weather", {"city": "x", "unit": "x"}),
        ({"type": "function", "function": {"name": "no_arguments"}}, "no_arguments", {}),
    ],
)
def test_tool_choice(tool_choice: Any, name: str, arguments: dict[str, str]) -> None:
    answer = expected_answer(chat("x", tools=TOOLS, tool_choice=tool_choice), CONFIG)
    assert answer.tool_calls[0].name == name
    assert json.loads(answer.tool_calls[0].arguments) == arguments


def test_tool_choice_none_answers_with_text() -> None:
    answer = expected_answer(chat(tools=TOOLS, tool_choice="none"), CONFIG)
    assert answer.tool_calls == ()
    assert answer.content == expected_answer(chat(), CONFIG).content
    assert expected_answer(chat(tools=[], tool_choice="none"), CONFIG).tool_calls == ()


def test_odd_tool_schemas_still_give_valid_json() -> None:
    def tool(parameters: Any) -> dict[str, Any]:
        return {"type": "function", "function": {"name": "f", "parameters": parameters}}

    answer = expected_answer(chat("q", tools=[tool({"required": [1, "ok"]})]), CONFIG)
    assert json.loads(answer.tool_calls[0].arguments) == {"ok": "q"}
    for parameters in ({"required": "not a list"}, "not an object"):
        answer = expected_answer(chat("q", tools=[tool(parameters)]), CONFIG)
        assert answer.tool_calls[0].arguments == "{}"
    cut = expected_answer(chat("q", tools=TOOLS, max_tokens=2), CONFIG)
    assert cut.finish_reason == "length"
    assert len(cut.choices[0].tokens) == 2


def test_several_choices_interleave() -> None:
    answer = expected_answer(chat(n=2), CONFIG)
    first, second = answer.choices
    assert (first.index, second.index) == (0, 1)
    assert first.content != second.content
    steps = plan(chat(n=2, stream=True))
    starts = [p["choices"][0]["index"] for p in payloads(steps, "start")]
    assert starts == [0, 1]
    order = [p["choices"][0]["index"] for p in payloads(steps, "token")]
    assert order[:4] == [0, 1, 0, 1]
    for choice in answer.choices:
        streamed = "".join(
            p["choices"][0]["delta"]["content"]
            for p in payloads(steps, "token")
            if p["choices"][0]["index"] == choice.index
        )
        assert streamed == choice.content
    finishes = [
        (p["choices"][0]["index"], p["choices"][0]["finish_reason"])
        for p in payloads(steps, "finish")
    ]
    assert finishes == [(0, "stop"), (1, "stop")]
    assert answer.usage.completion_tokens == len(first.tokens) + len(second.tokens)


def test_chunks_are_shaped_like_openai() -> None:
    steps = plan(chat(stream=True))
    assert [step.kind for step in steps[:2]] == ["start", "token"]
    assert [step.kind for step in steps[-2:]] == ["finish", "done"]
    assert steps[-1].payload is None
    for payload in payloads(steps, "start") + payloads(steps, "token") + payloads(steps, "finish"):
        assert list(payload) == [
            "id",
            "object",
            "created",
            "model",
            "system_fingerprint",
            "choices",
        ]
        assert payload["id"] == "chatcmpl-test"
        assert payload["object"] == "chat.completion.chunk"
        assert payload["created"] == 1_700_000_000
        assert payload["model"] == MODEL
        (choice,) = payload["choices"]
        assert list(choice) == ["index", "delta", "logprobs", "finish_reason"]
        assert choice["logprobs"] is None
    start = payloads(steps, "start")[0]["choices"][0]
    assert start["delta"] == {"role": "assistant", "content": "", "refusal": None}
    finish = payloads(steps, "finish")[0]["choices"][0]
    assert finish["delta"] == {}
    assert finish["finish_reason"] == "stop"
    assert all(p["choices"][0]["finish_reason"] is None for p in payloads(steps, "token"))


def test_usage_chunk() -> None:
    body = chat(stream=True, stream_options={"include_usage": True}, n=2)
    steps = plan(body)
    assert [step.kind for step in steps[-4:]] == ["finish", "finish", "usage", "done"]
    usage_chunk = payloads(steps, "usage")[0]
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    expected = expected_answer(body, CONFIG).usage
    assert usage == expected.as_dict()
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == len(payloads(steps, "token"))
    assert usage["prompt_tokens"] > 0
    others = [step.payload for step in steps if step.kind not in ("usage", "done")]
    assert all(p is not None and "usage" in p and p["usage"] is None for p in others)
    no_usage = plan(chat(stream=True, stream_options={"include_usage": False}))
    assert "usage" not in [step.kind for step in no_usage]
    assert all("usage" not in p for p in payloads(no_usage, "token"))
    longer = expected_answer(chat("many more words in this prompt " * 10), CONFIG)
    assert longer.usage.prompt_tokens > expected.prompt_tokens


def test_pacing() -> None:
    config = replace(CONFIG, token_rate=10.0, first_token_delay=0.5)
    steps = plan(chat(stream=True, n=2), config)
    assert steps[0].delay == 0.5
    tokens = [step for step in steps if step.kind == "token"]
    assert [step.delay for step in tokens[:6]] == [0.0, 0.0, 0.1, 0.0, 0.1, 0.0]
    assert all(step.delay == 0 for step in steps[1:] if step.kind != "token")
    assert all(step.delay == 0 for step in plan(chat(stream=True)))


def test_complete_chat() -> None:
    completion = complete_chat(chat(n=2), CONFIG, completion_id="chatcmpl-x", created=5)
    expected = expected_answer(chat(n=2), CONFIG)
    assert completion["object"] == "chat.completion"
    assert completion["id"] == "chatcmpl-x"
    assert completion["created"] == 5
    assert completion["usage"] == expected.usage.as_dict()
    contents = [choice["message"]["content"] for choice in completion["choices"]]
    assert contents == [choice.content for choice in expected.choices]
    assert completion["choices"][0]["finish_reason"] == "stop"
    tools = complete_chat(chat(tools=TOOLS), CONFIG, completion_id="chatcmpl-x", created=5)
    message = tools["choices"][0]["message"]
    assert message["content"] is None
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert (
        json.loads(call["function"]["arguments"])["city"] == "Tell me a story about a brave knight"
    )
    assert tools["choices"][0]["finish_reason"] == "tool_calls"


def test_huge_tool_arguments_are_refused() -> None:
    names = [f"parameter_{i:05d}_" + "x" * 100 for i in range(1000)]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"required": names}}}
    with pytest.raises(InvalidChatRequest, match="tool arguments"):
        expected_answer(chat(tools=[tool]), CONFIG)


def test_expected_answer_shortcuts() -> None:
    answer = expected_answer(chat(n=2), CONFIG)
    assert isinstance(answer, ExpectedAnswer)
    first = answer.choices[0]
    assert (
        answer.content,
        answer.answer,
        answer.reasoning,
        answer.tool_calls,
        answer.finish_reason,
    ) == (
        first.content,
        first.answer,
        first.reasoning,
        first.tool_calls,
        first.finish_reason,
    )
    assert answer.model == MODEL


# -- faults applied to plans -----------------------------------------------------------


def kinds(steps: list[Step]) -> list[str]:
    return [step.kind for step in steps]


def test_stream_faults_change_the_plan() -> None:
    steps = plan(chat(stream=True))
    start_and_three = ["start", "token", "token", "token"]
    assert kinds(apply_fault(steps, parse_fault("truncate"))) == start_and_three
    assert kinds(apply_fault(steps, parse_fault("drop"))) == [*start_and_three, "abort"]
    error = apply_fault(steps, parse_fault("error; after=1"))
    assert kinds(error) == ["start", "token", "error"]
    assert error[-1].event == "message"
    assert error[-1].payload == {
        "error": {
            "message": "the mock server failed mid-stream (fault 'error')",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    error_event = apply_fault(steps, parse_fault("error-event; after=0"))
    assert kinds(error_event) == ["start", "error"]
    assert error_event[-1].event == "error"
    overload = apply_fault(steps, parse_fault("overload"))[-1].payload
    assert overload is not None
    assert (overload["error"]["type"], overload["error"]["code"]) == (
        "overloaded_error",
        "overloaded",
    )
    stall = apply_fault(steps, parse_fault("stall; after=2; delay=9"))
    assert kinds(stall) == kinds(steps)
    assert [step.delay for step in stall] == [9.0 if i == 3 else 0.0 for i in range(len(steps))]
    slow = apply_fault(steps, parse_fault("slow"))
    assert slow[0].delay == 2.0
    assert slow[1:] == steps[1:]
    for mode in ("429", "500", "502", "503", "html"):
        assert apply_fault(steps, parse_fault(mode)) == steps


def test_fault_after_the_last_token_lands_before_the_end() -> None:
    steps = plan(chat(stream=True, max_tokens=2, stream_options={"include_usage": True}))
    assert kinds(apply_fault(steps, parse_fault("truncate; after=50"))) == [
        "start",
        "token",
        "token",
    ]
    stalled = apply_fault(steps, parse_fault("stall; after=50; delay=1"))
    truncated = apply_fault(steps, parse_fault("truncate; after=1"))
    assert (
        apply_fault(truncated, parse_fault("stall; after=5")) == truncated
    )  # nothing to hold back
    assert apply_fault([], parse_fault("slow")) == []
    assert [(s.kind, s.delay) for s in stalled[-4:]] == [
        ("token", 0.0),
        ("finish", 1.0),
        ("usage", 0.0),
        ("done", 0.0),
    ]
