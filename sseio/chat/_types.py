"""Chat payloads to typed values: ``parse_chunk`` and ``parse_completion``.

``parse_chunk`` turns one decoded ``chat.completion.chunk`` object into a
``ChatChunk`` (choices, deltas, tool-call fragments, usage);
``parse_completion`` one whole ``chat.completion`` object (the answer to a
non-streaming request) into a ``ChatCompletion``, the type a stream's
``final()`` returns, with reasoning split out of inline ``<think>`` blocks when
given the tags.  The values themselves, and what they guarantee, are in
``sseio.chat._values``; this module re-exports them, and ``loads``.

Guarantees: nothing the server sent is dropped (every value keeps its JSON
object in ``raw``); a payload of the wrong shape (choices not a list, content
not a string...) raises ``InvalidChunk`` with the payload attached, never an
``AttributeError`` or ``KeyError``.  ``parse_chunk`` is the hot path of every
stream: the common token chunk takes one dictionary look-up per field and
three value builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import InvalidChunk
from ._json import loads
from ._think import split_think
from ._values import (
    EMPTY,
    TWINS,
    ChatChoice,
    ChatChunk,
    ChatCompletion,
    ChatMessage,
    ChunkChoice,
    Delta,
    FunctionCall,
    FunctionDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    build_delta,
    build_function_delta,
    build_tool_call_delta,
    build_usage,
)

__all__ = [
    "EMPTY",
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
    "parse_completion",
]


# The hot path builds values inline, as the builders of sseio.chat._values do.
_new = object.__new__
_DeltaTwin = TWINS[Delta]
_ChunkChoiceTwin = TWINS[ChunkChoice]
_ChatChunkTwin = TWINS[ChatChunk]


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
    return build_usage(
        _count(raw.get("prompt_tokens"), "usage.prompt_tokens", payload),
        _count(raw.get("completion_tokens"), "usage.completion_tokens", payload),
        _count(raw.get("total_tokens"), "usage.total_tokens", payload),
        raw,
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
            function = build_function_delta(
                _text(function.get("name"), "function name", payload),
                _text(function.get("arguments"), "function arguments", payload),
            )
        calls.append(
            build_tool_call_delta(
                _count(item.get("index"), "tool call index", payload),
                _text(item.get("id"), "tool call id", payload),
                _text(item.get("type"), "tool call type", payload),
                function,
                item,
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
    return build_delta(
        _text(raw.get("role"), "delta.role", payload),
        _text(content, "delta.content", payload),
        _text(reasoning, "delta.reasoning", payload),
        None if tool_calls is None else _tool_calls(tool_calls, payload),
        _text(raw.get("refusal"), "delta.refusal", payload),
        raw,
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
    parsed: Any
    if type(delta) is dict and len(delta) == 1 and type(content := delta.get("content")) is str:
        parsed = _new(_DeltaTwin)  # the common token chunk, built inline (build_delta)
        parsed.role = None
        parsed.content = content
        parsed.reasoning = None
        parsed.tool_calls = None
        parsed.refusal = None
        parsed.raw = delta
        parsed.__class__ = Delta
    else:
        parsed = parse_delta(delta, payload)
    new: Any = _new(_ChunkChoiceTwin)  # inline build_choice
    new.index = index
    new.delta = parsed
    new.finish_reason = finish
    new.logprobs = choice.get("logprobs")
    new.raw = choice
    new.__class__ = ChunkChoice
    return new  # type: ignore[no-any-return]


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
    new: Any = _new(_ChatChunkTwin)  # inline build_chunk
    new.id = chunk_id
    new.model = model
    new.created = created
    new.choices = choices
    new.usage = usage
    new.object = get("object")
    new.system_fingerprint = get("system_fingerprint")
    new.raw = payload
    new.__class__ = ChatChunk
    return new  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- whole answers


def _whole_tool_calls(raw: Any, payload: Any) -> tuple[ToolCall, ...]:
    calls = []
    for position, delta in enumerate(_tool_calls(raw, payload)):
        function = delta.function or FunctionDelta()
        index = delta.index if delta.index is not None else position
        calls.append(
            ToolCall(
                delta.id or "",
                delta.type or "function",
                FunctionCall(function.name or "", function.arguments or ""),
                index,
                delta.raw,
            )
        )
    return tuple(calls)


def _message(raw: Any, tags: tuple[tuple[str, str], ...], payload: Any) -> ChatMessage:
    if raw is None:
        return ChatMessage(None, None)
    if type(raw) is not dict:
        raise _bad("message must be an object", raw, payload)
    content = _text(raw.get("content"), "message.content", payload)
    reasoning = raw.get("reasoning_content")
    if reasoning is None:
        reasoning = raw.get("reasoning")
    reasoning = _text(reasoning, "message.reasoning", payload)
    if tags and content:
        content, thought = split_think(content, tags)
        if thought:
            reasoning = (reasoning or "") + thought
    tool_calls = raw.get("tool_calls")
    return ChatMessage(
        _text(raw.get("role"), "message.role", payload),
        content,
        reasoning,
        () if tool_calls is None else _whole_tool_calls(tool_calls, payload),
        _text(raw.get("refusal"), "message.refusal", payload),
        raw,
    )


def _whole_choice(
    choice: Any, position: int, tags: tuple[tuple[str, str], ...], payload: Any
) -> ChatChoice:
    if type(choice) is not dict:
        raise _bad("choice must be an object", choice, payload)
    index = choice.get("index", position)
    if type(index) is not int:
        raise _bad("choice index must be an integer", index, payload)
    finish = _text(choice.get("finish_reason"), "finish_reason", payload)
    message = _message(choice.get("message"), tags, payload)
    return ChatChoice(index, message, finish, choice.get("logprobs"), choice)


def parse_completion(payload: Any, *, think_tags: Iterable[tuple[str, str]] = ()) -> ChatCompletion:
    """A ``ChatCompletion`` from one decoded ``chat.completion`` object.

    With ``think_tags`` (``DEFAULT_TAGS``, say), inline reasoning blocks in each
    message's content move to its ``reasoning``, after any ``reasoning_content``,
    as they do in a stream.  A payload of the wrong shape raises ``InvalidChunk``.
    """
    try:
        return _completion(payload, tuple(think_tags))
    except InvalidChunk as exc:
        message = str(exc).replace("chat chunk", "chat completion", 1)
        raise InvalidChunk(message, payload=payload) from None


def _completion(payload: Any, tags: tuple[tuple[str, str], ...]) -> ChatCompletion:
    if type(payload) is not dict:
        raise _bad("must be a JSON object", payload, payload)
    raw_choices = payload.get("choices")
    if raw_choices is None:
        raw_choices = []
    if type(raw_choices) is not list:
        raise _bad("choices must be a list", raw_choices, payload)
    choices = tuple(
        _whole_choice(choice, position, tags, payload)
        for position, choice in enumerate(raw_choices)
    )
    return ChatCompletion(
        _text(payload.get("id"), "id", payload),
        _text(payload.get("model"), "model", payload),
        _created(payload.get("created"), payload),
        choices,
        parse_usage(payload.get("usage"), payload),
        payload.get("system_fingerprint"),
        0,
        payload,
    )
