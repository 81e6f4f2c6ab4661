"""Typed, immutable values for OpenAI-compatible chat streams, and the chunk parser.

``parse_chunk`` turns one decoded ``chat.completion.chunk`` object into a
``ChatChunk`` (choices, deltas, tool-call fragments, usage); ``ChatCompletion``
and its parts are the accumulated result of a whole stream.  The shapes and
field names follow the OpenAI ones, so ``chunk.choices[0].delta.content``
reads as it does with the ``openai`` SDK; ``delta.reasoning`` holds reasoning
text, whether it came in ``reasoning_content``, in ``reasoning`` or inline in
``<think>`` blocks.

Guarantees: values are immutable (named tuples, built in one C call each, which
keeps the typed pipeline cheap; a field named ``index`` hides the tuple method
of that name, as OpenAI's field names require); nothing the server sent is dropped: every
value keeps the JSON object it came from in ``raw``, and ``extra`` lists the
fields sseio does not model.  A payload of the wrong shape (choices not a
list, content not a string...) raises ``InvalidChunk`` with the payload
attached, never an ``AttributeError`` or ``KeyError``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from json.scanner import make_scanner
from types import MappingProxyType
from typing import Any, NamedTuple

from ._errors import InvalidChunk

__all__ = [
    "ChatChoice",
    "ChatChunk",
    "ChatCompletion",
    "ChatMessage",
    "ChunkChoice",
    "Delta",
    "FunctionCall",
    "FunctionDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "loads",
    "parse_chunk",
]

EMPTY: Mapping[str, Any] = MappingProxyType({})
_new = tuple.__new__


def _extra(raw: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key not in known}


def _standard_loads() -> Callable[[str], Any]:
    """``json.loads`` without its Python-level wrapping for the usual payload.

    The standard library's own scanner (the C one when available) reads a text
    that is exactly one JSON value, as chunk payloads are; anything else
    (whitespace around it, trailing data, invalid JSON) goes to ``json.loads``
    itself, so the results and the errors are those of ``json.loads``.
    """
    scanner_for: Any = make_scanner  # typeshed types it as a class of its own
    scan: Callable[[str, int], tuple[Any, int]] = scanner_for(json.JSONDecoder())
    slow = json.loads

    def loads(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration:
            return slow(text)
        if end != len(text):
            return slow(text)
        return value

    return loads


def _load_with_fallback() -> Callable[[str], Any]:
    """The standard library's parser, or a faster library's when installed, with identical results.

    A faster parser is used only where it agrees with the standard library; on
    anything it refuses (integers over 64 bits, lone surrogates, NaN...) the
    standard library decides, so the result and the errors are the same.
    """
    standard = _standard_loads()
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return standard
    fast = orjson.loads
    refused = orjson.JSONDecodeError

    def loads(text: str) -> Any:
        try:
            return fast(text)
        except refused:
            return standard(text)

    return loads


loads = _load_with_fallback()


class FunctionDelta(NamedTuple):
    """A piece of a function call: the name (first piece), then argument fragments."""

    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(NamedTuple):
    """A fragment of one tool call, keyed by ``index`` (``None`` when the server left it out)."""

    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index, on purpose
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None
    raw: Mapping[str, Any] = EMPTY

    @property
    def extra(self) -> dict[str, Any]:
        return _extra(self.raw, _TOOL_CALL_FIELDS)


class Delta(NamedTuple):
    """What one chunk adds to a choice's message."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] | None = None
    refusal: str | None = None
    raw: Mapping[str, Any] = EMPTY

    @property
    def extra(self) -> dict[str, Any]:
        return _extra(self.raw, _DELTA_FIELDS)


class ChunkChoice(NamedTuple):
    """One choice in a chunk: its ``index``, the ``delta``, and ``finish_reason`` once it ends."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, on purpose
    delta: Delta
    finish_reason: str | None = None
    logprobs: Any = None
    raw: Mapping[str, Any] = EMPTY

    @property
    def extra(self) -> dict[str, Any]:
        return _extra(self.raw, _CHOICE_FIELDS)


class Usage(NamedTuple):
    """Token counts; the server's detail fields stay in ``raw``."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    raw: Mapping[str, Any] = EMPTY

    @property
    def extra(self) -> dict[str, Any]:
        return _extra(self.raw, _USAGE_FIELDS)


class ChatChunk(NamedTuple):
    """One ``chat.completion.chunk``."""

    id: str | None
    model: str | None
    created: int | None
    choices: tuple[ChunkChoice, ...]
    usage: Usage | None = None
    object: str | None = "chat.completion.chunk"
    system_fingerprint: str | None = None
    raw: Mapping[str, Any] = EMPTY

    @property
    def extra(self) -> dict[str, Any]:
        return _extra(self.raw, _CHUNK_FIELDS)


class FunctionCall(NamedTuple):
    name: str
    arguments: str

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (``ValueError`` if they are not JSON)."""
        return json.loads(self.arguments)


class ToolCall(NamedTuple):
    """A whole tool call, assembled from its fragments."""

    id: str
    type: str
    function: FunctionCall
    index: int = 0  # type: ignore[assignment]  # shadows tuple.index, on purpose


class ChatMessage(NamedTuple):
    """A choice's whole message: the answer, the reasoning split out of it, tool calls."""

    role: str | None
    content: str | None
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None


class ChatChoice(NamedTuple):
    index: int  # type: ignore[assignment]  # shadows tuple.index, on purpose
    message: ChatMessage
    finish_reason: str | None


class ChatCompletion(NamedTuple):
    """A stream's accumulated result (``stream.final()``)."""

    id: str | None
    model: str | None
    created: int | None
    choices: tuple[ChatChoice, ...]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    chunks: int = 0  # how many chunks went into it

    @property
    def content(self) -> str:
        """The first choice's answer text (``""`` if none)."""
        return (self.choices[0].message.content or "") if self.choices else ""

    @property
    def reasoning(self) -> str:
        """The first choice's reasoning text (``""`` if none)."""
        return (self.choices[0].message.reasoning or "") if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None


_TOOL_CALL_FIELDS = frozenset(("index", "id", "type", "function"))
_DELTA_FIELDS = frozenset(
    ("role", "content", "reasoning", "reasoning_content", "tool_calls", "refusal")
)
_CHOICE_FIELDS = frozenset(("index", "delta", "finish_reason", "logprobs"))
_USAGE_FIELDS = frozenset(("prompt_tokens", "completion_tokens", "total_tokens"))
_CHUNK_FIELDS = frozenset(
    ("id", "object", "created", "model", "choices", "usage", "system_fingerprint")
)


def _bad(what: str, value: Any, payload: Any) -> InvalidChunk:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return InvalidChunk(f"chat chunk {what}, got {text}", payload=payload)


def _text(value: Any, what: str, payload: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise _bad(f"{what} must be a string or null", value, payload)


def _count(value: Any, what: str, payload: Any) -> int | None:
    if value is None or (type(value) is int):
        return value
    raise _bad(f"{what} must be an integer or null", value, payload)


def _created(value: Any, payload: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    if type(value) is float and value == value and abs(value) < 2**53:
        return int(value)  # some servers send a float timestamp
    raise _bad("created must be a number or null", value, payload)


def parse_usage(raw: Any, payload: Any) -> Usage | None:
    if raw is None:
        return None
    if type(raw) is not dict:
        raise _bad("usage must be an object", raw, payload)
    return _new(
        Usage,
        (
            _count(raw.get("prompt_tokens"), "usage.prompt_tokens", payload),
            _count(raw.get("completion_tokens"), "usage.completion_tokens", payload),
            _count(raw.get("total_tokens"), "usage.total_tokens", payload),
            raw,
        ),
    )


def _tool_calls(raw: Any, payload: Any) -> tuple[ToolCallDelta, ...]:
    if type(raw) is not list:
        raise _bad("tool_calls must be a list", raw, payload)
    calls = []
    for item in raw:
        if type(item) is not dict:
            raise _bad("tool call must be an object", item, payload)
        function = item.get("function")
        if function is not None:
            if type(function) is not dict:
                raise _bad("tool call function must be an object", function, payload)
            function = _new(
                FunctionDelta,
                (
                    _text(function.get("name"), "function name", payload),
                    _text(function.get("arguments"), "function arguments", payload),
                ),
            )
        calls.append(
            _new(
                ToolCallDelta,
                (
                    _count(item.get("index"), "tool call index", payload),
                    _text(item.get("id"), "tool call id", payload),
                    _text(item.get("type"), "tool call type", payload),
                    function,
                    item,
                ),
            )
        )
    return tuple(calls)


def parse_delta(raw: Any, payload: Any) -> Delta:
    if type(raw) is not dict:
        if raw is None:
            return _EMPTY_DELTA
        raise _bad("delta must be an object", raw, payload)
    content = raw.get("content")
    reasoning = raw.get("reasoning_content")
    if reasoning is None:
        reasoning = raw.get("reasoning")
    tool_calls = raw.get("tool_calls")
    return _new(
        Delta,
        (
            _text(raw.get("role"), "delta.role", payload),
            _text(content, "delta.content", payload),
            _text(reasoning, "delta.reasoning", payload),
            None if tool_calls is None else _tool_calls(tool_calls, payload),
            _text(raw.get("refusal"), "delta.refusal", payload),
            raw,
        ),
    )


_EMPTY_DELTA = Delta()


def _choice(choice: Any, position: int, payload: Any) -> ChunkChoice:
    if type(choice) is not dict:
        raise _bad("choice must be an object", choice, payload)
    index = choice.get("index", position)
    if type(index) is not int:
        raise _bad("choice index must be an integer", index, payload)
    finish = choice.get("finish_reason")
    if finish is not None and type(finish) is not str:
        raise _bad("finish_reason must be a string or null", finish, payload)
    delta = choice.get("delta")
    if type(delta) is dict and len(delta) == 1 and type(content := delta.get("content")) is str:
        parsed = _new(Delta, (None, content, None, None, None, delta))  # the common token chunk
    else:
        parsed = parse_delta(delta, payload)
    return _new(ChunkChoice, (index, parsed, finish, choice.get("logprobs"), choice))


def parse_chunk(payload: Any) -> ChatChunk:
    """A ``ChatChunk`` from one decoded JSON payload (``InvalidChunk`` if the shape is wrong)."""
    if type(payload) is not dict:
        raise _bad("must be a JSON object", payload, payload)
    get = payload.get
    raw_choices = get("choices")
    choices: tuple[ChunkChoice, ...]
    if type(raw_choices) is list:
        if len(raw_choices) == 1:
            choices = (_choice(raw_choices[0], 0, payload),)
        else:
            choices = tuple(
                _choice(choice, position, payload) for position, choice in enumerate(raw_choices)
            )
    elif raw_choices is None:
        choices = ()
    else:
        raise _bad("choices must be a list", raw_choices, payload)
    chunk_id = get("id")
    model = get("model")
    created = get("created")
    usage = get("usage")
    if not (
        (type(chunk_id) is str or chunk_id is None)
        and (type(model) is str or model is None)
        and (type(created) is int or created is None)
        and usage is None
    ):
        chunk_id = _text(chunk_id, "id", payload)
        model = _text(model, "model", payload)
        created = _created(created, payload)
        usage = parse_usage(usage, payload)
    return _new(
        ChatChunk,
        (
            chunk_id,
            model,
            created,
            choices,
            usage,
            get("object"),
            get("system_fingerprint"),
            payload,
        ),
    )
