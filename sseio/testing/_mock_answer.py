"""What the mock chat API (``sseio.testing._mock``) answers, as plain values: no IO, no clock.

Answers are deterministic: the same ``MockConfig.seed``, model and messages give
the same text and the same tokens, so tests compare what they received with
``MockAPI.expected_answer(body)``.  The text is a few sentences that quote the
last user message, split like a real tokenizer (word pieces with their leading
space, punctuation alone, multi-byte UTF-8 such as "—", curly quotes and an
emoji).  When ``MockConfig.think`` is true, every model reasons the way
Dhanishtha does, inline in ``delta.content``: ``<think>…</think>``, part of the
answer, ``<ser>…</ser>``, a second ``<think>…</think>`` ("intermediate
thinking"), then the rest of the answer.  Tags are sometimes split across
tokens (the first closing tag always is), as real tokenizers split them.
``"hideThink": true`` removes the blocks on the server side; what remains is
exactly the content with the blocks cut out.

``expected_answer`` is what a request will get, faults aside: every choice's
tokens, text, reasoning blocks, tool calls and finish reason, and the usage.
``n``, ``max_tokens`` / ``max_completion_tokens`` (``finish_reason:
"length"``), tools (the arguments name every required parameter and quote the
prompt) and ``stream_options.include_usage`` behave as OpenAI documents them.
``plan_chat`` is the streamed answer as ``Step`` values with the pacing before
each: ``chat.completion.chunk`` payloads shaped as OpenAI's (the opening role
chunk of each choice, one token per choice a round, the finish chunks, the
usage chunk when asked for), then ``[DONE]``.  ``apply_fault`` changes a plan
as a stream fault says (see ``sseio.testing._mock_request``); ``complete_chat`` is the
``chat.completion`` object for ``"stream": false``.  The handler only plays
what these decide.  Tool arguments are bounded: at most 64 KiB.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ._mock_request import (
    STREAM_FAULTS,
    ChatRequest,
    Fault,
    InvalidChatRequest,
    MockConfig,
    error_payload,
    parse_chat_request,
    safe_text,
)

__all__ = [
    "ExpectedAnswer",
    "ExpectedChoice",
    "ExpectedToolCall",
    "Step",
    "StepKind",
    "Usage",
    "apply_fault",
    "complete_chat",
    "completion_object",
    "expected_answer",
    "expected_for",
    "plan_chat",
    "plan_steps",
    "split_reasoning",
    "stream_error",
]

MAX_TOOL_ARGUMENTS = 64 * 1024
SYSTEM_FINGERPRINT = "fp_sseio_mock"

_OPENINGS = (
    "You asked about “{topic}”, and here is what the sseio mock has to say.",
    "Thanks for your message about “{topic}” — this reply comes from a local mock server.",
    "About “{topic}”: this is a simulated answer, streamed token by token.",
)
_MIDDLES = (
    "Every piece of this text travels as its own server-sent event, as a real model's does.",
    "Nothing here leaves your machine: the mock listens on the loopback interface only.",
    "The same request always produces the same tokens, which keeps tests repeatable.",
    "Characters such as “quotes”, café and the dash — check that clients decode UTF-8.",
    "Reasoning tags may be split between chunks, so clients have to put them together again.",
)
_CLOSINGS = (
    "Happy streaming 🚀",
    "That is all for now 🙂",
    "Ask the same thing again and you will get exactly this answer 👋",
)
_FIRST_THOUGHTS = (
    "\nThe user wrote about “{topic}”. I will say this is a mock reply and keep it short.\n",
    "\nThey want an answer about “{topic}”. A friendly, brief reply should do.\n",
)
_FEELINGS = (
    "\nEmotion ==> curious, a little playful\nCause ==> a question about “{topic}”\n"
    "Mind ==> they want a quick answer\nGrowth ==> show how streaming works step by step\n",
    "\nEmotion ==> calm interest\nCause ==> a new message: “{topic}”\n"
    "Mind ==> wondering what the server sends back\nGrowth ==> a clear, honest reply\n",
)
_SECOND_THOUGHTS = (
    "\nI should also say that the output is deterministic before I finish.\n",
    "\nOne more useful detail, then a short closing line.\n",
)

_TEXT_PIECE = re.compile(r" ?\w+| ?[^\w\s]|\s")
_TAG = re.compile(r"<(/?)(think|ser)>")


@dataclass(frozen=True)
class ExpectedToolCall:
    """A tool call as a client assembles it (its id depends on the completion id)."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Token counts, as in the ``usage`` object."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class ExpectedChoice:
    """What one choice streams.

    ``tokens`` are the pieces sent one per chunk (content, or tool-call argument
    fragments); ``content`` is their concatenation for a text answer (tags
    included unless ``hideThink``); ``answer`` is ``content`` with every
    reasoning block cut out; ``blocks`` lists the blocks as ``(tag, inner
    text)`` and ``reasoning`` joins their inner texts.
    """

    index: int
    tokens: tuple[str, ...]
    content: str
    answer: str
    reasoning: str
    blocks: tuple[tuple[str, str], ...]
    tool_calls: tuple[ExpectedToolCall, ...]
    finish_reason: str


@dataclass(frozen=True)
class ExpectedAnswer:
    """What a request will stream: every choice, and the usage; the shortcuts
    ``content``, ``answer``, ``reasoning``, ``tool_calls`` and ``finish_reason``
    are those of choice 0."""

    model: str
    choices: tuple[ExpectedChoice, ...]
    usage: Usage

    @property
    def content(self) -> str:
        return self.choices[0].content

    @property
    def answer(self) -> str:
        return self.choices[0].answer

    @property
    def reasoning(self) -> str:
        return self.choices[0].reasoning

    @property
    def tool_calls(self) -> tuple[ExpectedToolCall, ...]:
        return self.choices[0].tool_calls

    @property
    def finish_reason(self) -> str:
        return self.choices[0].finish_reason


def _segments(
    request: ChatRequest, config: MockConfig, rng: random.Random
) -> list[tuple[bool, str]]:
    """The answer as ``(is_tag, text)`` segments.  The text choices are made before the
    layout so that ``hideThink`` removes the blocks and changes nothing else."""
    topic = request.topic
    first_thought = rng.choice(_FIRST_THOUGHTS).format(topic=topic)
    feeling = rng.choice(_FEELINGS).format(topic=topic)
    second_thought = rng.choice(_SECOND_THOUGHTS)
    opening = rng.choice(_OPENINGS).format(topic=topic)
    first_middle, second_middle = rng.sample(_MIDDLES, 2)
    closing = rng.choice(_CLOSINGS)
    if config.answer is not None:
        parts = [config.answer]
    else:
        parts = [f"{opening} {first_middle}", f"\n\n{second_middle} {closing}"]
    if not config.think or request.hide_think:
        return [(False, "".join(parts))]
    segments = [(True, "<think>"), (False, first_thought), (True, "</think>"), (False, parts[0])]
    if len(parts) > 1:
        segments += [(True, "<ser>"), (False, feeling), (True, "</ser>")]
        segments += [(True, "<think>"), (False, second_thought), (True, "</think>")]
        segments.append((False, parts[1]))
    return segments


def _split_text(text: str, rng: random.Random) -> Iterator[str]:
    """Word pieces with their leading space, punctuation and whitespace alone; long
    words in pieces of 3 to 6 characters."""
    for match in _TEXT_PIECE.finditer(text):
        piece = match.group()
        while len(piece) > 7:
            size = rng.randint(3, 6)
            yield piece[:size]
            piece = piece[size:]
        yield piece


def _split_tag(tag: str, cuts: int, rng: random.Random) -> list[str]:
    points = [0, *sorted(rng.sample(range(1, len(tag)), cuts)), len(tag)]
    return [tag[start:end] for start, end in itertools.pairwise(points)]


def _tokenize(segments: list[tuple[bool, str]], rng: random.Random) -> list[str]:
    tokens: list[str] = []
    closing_split = False
    for is_tag, text in segments:
        if not is_tag:
            tokens.extend(_split_text(text, rng))
            continue
        cuts = rng.randint(0, 2)
        if text.startswith("</") and not closing_split:
            cuts, closing_split = max(cuts, 1), True
        tokens.extend(_split_tag(text, cuts, rng))
    # Tokenizers often glue a newline to the tag before it ("<think>\n"); joining two
    # neighbours never changes the concatenation.
    merged: list[str] = []
    for token in tokens:
        if merged and merged[-1].endswith(">") and token == "\n" and rng.random() < 0.5:
            merged[-1] += token
        else:
            merged.append(token)
    return merged


def split_reasoning(content: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``content`` without its ``<think>`` / ``<ser>`` blocks, and the blocks as
    ``(tag, inner text)``; a block left open at the end runs to the end, and a
    closing tag outside any block is plain text."""
    answer: list[str] = []
    blocks: list[tuple[str, str]] = []
    open_tag: str | None = None
    inner: list[str] = []
    position = 0
    for match in _TAG.finditer(content):
        text, position = content[position : match.start()], match.end()
        closing, name = match.group(1) == "/", match.group(2)
        if open_tag is not None:
            inner.append(text)
            if closing:
                blocks.append((open_tag, "".join(inner)))
                open_tag, inner = None, []
            else:
                inner.append(match.group())
        else:
            answer.append(text)
            if closing:
                answer.append(match.group())
            else:
                open_tag = name
    if open_tag is not None:
        blocks.append((open_tag, "".join(inner) + content[position:]))
    else:
        answer.append(content[position:])
    return "".join(answer), tuple(blocks)


def _tool_arguments(function: dict[str, Any], topic: str) -> str:
    parameters = function.get("parameters")
    required = parameters.get("required") if isinstance(parameters, dict) else None
    names = (
        [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    )
    arguments = json.dumps({safe_text(name): topic for name in names}, ensure_ascii=False)
    if len(arguments) > MAX_TOOL_ARGUMENTS:
        raise InvalidChatRequest(
            f"the mock's tool arguments would be {len(arguments)} characters "
            f"(at most {MAX_TOOL_ARGUMENTS}): too many or too long required parameters",
            param="tools",
            code="invalid_value",
        )
    return arguments


def _split_arguments(arguments: str, rng: random.Random) -> list[str]:
    pieces = []
    while arguments:
        size = rng.randint(1, 6)
        pieces.append(arguments[:size])
        arguments = arguments[size:]
    return pieces


def expected_for(request: ChatRequest, config: MockConfig) -> ExpectedAnswer:
    """``expected_answer`` for a request already validated."""
    choices = []
    for index in range(request.n):
        text_rng = random.Random(f"{request.seed_key}:{index}:text")
        token_rng = random.Random(f"{request.seed_key}:{index}:tokens")
        calls: tuple[ExpectedToolCall, ...] = ()
        if request.tool is not None:
            arguments = _tool_arguments(request.tool, request.topic)
            tokens = _split_arguments(arguments, token_rng)
        else:
            tokens = _tokenize(_segments(request, config, text_rng), token_rng)
        finish_reason = "tool_calls" if request.tool is not None else "stop"
        if request.max_tokens is not None and len(tokens) > request.max_tokens:
            tokens, finish_reason = tokens[: request.max_tokens], "length"
        if request.tool is not None:
            calls = (ExpectedToolCall(request.tool["name"], "".join(tokens)),)
            content = ""
        else:
            content = "".join(tokens)
        answer, blocks = split_reasoning(content)
        choices.append(
            ExpectedChoice(
                index=index,
                tokens=tuple(tokens),
                content=content,
                answer=answer,
                reasoning="".join(inner for _, inner in blocks),
                blocks=blocks,
                tool_calls=calls,
                finish_reason=finish_reason,
            )
        )
    completion_tokens = sum(len(choice.tokens) for choice in choices)
    usage = Usage(
        request.prompt_tokens, completion_tokens, request.prompt_tokens + completion_tokens
    )
    return ExpectedAnswer(request.model, tuple(choices), usage)


def expected_answer(body: Any, config: MockConfig) -> ExpectedAnswer:
    """What the mock will answer to ``body`` (faults aside); raises ``InvalidChatRequest``."""
    return expected_for(parse_chat_request(body, config), config)


# -- plans -------------------------------------------------------------------------------

StepKind = Literal["start", "frame", "token", "finish", "usage", "error", "done", "abort"]


@dataclass(frozen=True, slots=True)
class Step:
    """Wait ``delay`` seconds, then: send ``payload`` as one JSON ``data:`` event of type
    ``event`` (kinds ``start``: the opening role chunk or events, ``frame``: an
    event between tokens that carries none, ``token``, ``finish``, ``usage``,
    ``error``), send ``data: [DONE]`` (``done``), or drop the connection
    (``abort``)."""

    kind: StepKind
    payload: dict[str, Any] | None = None
    delay: float = 0.0
    event: str = "message"


def _tool_call_id(completion_id: str, index: int) -> str:
    return "call_" + hashlib.sha256(f"{completion_id}:{index}".encode()).hexdigest()[:24]


def plan_steps(
    request: ChatRequest,
    expected: ExpectedAnswer,
    config: MockConfig,
    completion_id: str,
    created: int,
) -> list[Step]:
    """``plan_chat`` for a request already validated and its expected answer."""

    def chunk(
        index: int, delta: dict[str, Any], finish_reason: str | None = None
    ) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return envelope([choice])

    def envelope(choices: list[dict[str, Any]]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if request.include_usage:
            payload["usage"] = None
        return payload

    steps: list[Step] = []
    for choice in expected.choices:
        delta: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        if choice.tool_calls:
            call = {
                "index": 0,
                "id": _tool_call_id(completion_id, choice.index),
                "type": "function",
                "function": {"name": choice.tool_calls[0].name, "arguments": ""},
            }
            delta = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
        steps.append(Step("start", chunk(choice.index, delta)))
    interval = 1 / config.token_rate if config.token_rate else 0.0
    rounds = max(len(choice.tokens) for choice in expected.choices)
    for position in range(rounds):
        delay = interval if position else 0.0
        for choice in expected.choices:
            if position < len(choice.tokens):
                token = choice.tokens[position]
                if choice.tool_calls:
                    delta = {"tool_calls": [{"index": 0, "function": {"arguments": token}}]}
                else:
                    delta = {"content": token}
                steps.append(Step("token", chunk(choice.index, delta), delay=delay))
                delay = 0.0
    for choice in expected.choices:
        steps.append(Step("finish", chunk(choice.index, {}, choice.finish_reason)))
    if request.include_usage:
        usage_chunk = envelope([])
        usage_chunk["usage"] = expected.usage.as_dict()
        steps.append(Step("usage", usage_chunk))
    steps.append(Step("done"))
    steps[0] = replace(steps[0], delay=config.first_token_delay)
    return steps


def plan_chat(body: Any, config: MockConfig, *, completion_id: str, created: int) -> list[Step]:
    """The whole streamed answer to ``body`` as steps, faults aside (see ``apply_fault``).

    Pure: the chunks, their pacing (``first_token_delay`` before the first step,
    ``1 / token_rate`` before each round of tokens, one token per choice a
    round) and the end.  Raises ``InvalidChatRequest`` for a body the API refuses.
    """
    request = parse_chat_request(body, config)
    return plan_steps(request, expected_for(request, config), config, completion_id, created)


def stream_error(fault: Fault) -> dict[str, Any]:
    """The error body a fault sends instead of the rest of the answer (``error``,
    ``error-event``, ``overload``)."""
    if fault.mode == "overload":
        return error_payload("the mock server is overloaded", "overloaded_error", "overloaded")
    return error_payload(
        f"the mock server failed mid-stream (fault {fault.mode!r})",
        "server_error",
        "internal_error",
    )


def _fault_position(steps: Sequence[Step], after: int) -> int:
    """Where a fault lands: before token ``after + 1``, or before whatever follows the
    tokens (the finish chunks) when there are fewer; the opening chunks always go first,
    and the frames between tokens go with the tokens before them."""
    tokens_seen = 0
    for position, step in enumerate(steps):
        if step.kind == "start" or step.kind == "frame":
            continue
        if step.kind != "token" or tokens_seen == after:
            return position
        tokens_seen += 1
    return len(steps)


def apply_fault(
    steps: Sequence[Step], fault: Fault, error_steps: Sequence[Step] | None = None
) -> list[Step]:
    """``steps`` changed by a stream fault (see ``sseio.testing._mock_request``); status faults
    change nothing.  ``error_steps`` is what an error fault sends (default: the chat error
    object, as ``data:`` or as ``event: error``)."""
    steps = list(steps)
    if fault.mode not in STREAM_FAULTS or not steps:
        return steps
    if fault.mode == "slow":
        return [replace(steps[0], delay=steps[0].delay + fault.delay), *steps[1:]]
    cut = _fault_position(steps, fault.after)
    head, rest = steps[:cut], steps[cut:]
    if fault.mode == "stall":
        stalled = [replace(step, delay=step.delay + fault.delay) for step in rest[:1]]
        return [*head, *stalled, *rest[1:]]
    if fault.mode == "drop":
        return [*head, Step("abort")]
    if fault.mode == "truncate":
        return head
    if error_steps is not None:
        return [*head, *error_steps]
    event = "error" if fault.mode == "error-event" else "message"
    return [*head, Step("error", stream_error(fault), event=event)]


def completion_object(
    request: ChatRequest, expected: ExpectedAnswer, completion_id: str, created: int
) -> dict[str, Any]:
    """``complete_chat`` for a request already validated and its expected answer."""
    choices = []
    for choice in expected.choices:
        message: dict[str, Any] = {"role": "assistant", "content": choice.content, "refusal": None}
        if choice.tool_calls:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": _tool_call_id(completion_id, choice.index),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in choice.tool_calls
            ]
        choices.append(
            {
                "index": choice.index,
                "message": message,
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
        )
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
        "usage": expected.usage.as_dict(),
    }


def complete_chat(
    body: Any, config: MockConfig, *, completion_id: str, created: int
) -> dict[str, Any]:
    """The ``chat.completion`` object answering ``body`` whole (``"stream": false``)."""
    request = parse_chat_request(body, config)
    return completion_object(request, expected_for(request, config), completion_id, created)
