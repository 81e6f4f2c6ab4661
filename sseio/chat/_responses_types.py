"""Typed, immutable values for the OpenAI Responses stream, and the event parser.

``parse_response_event`` turns one decoded ``response.*`` payload into a typed
event: ``ResponseUpdate`` (``response.created``, ``in_progress``, ``queued``,
and the terminal ``completed`` / ``incomplete``), ``OutputItemEvent``
(``output_item.added`` / ``done``), ``ContentPartEvent``, ``OutputTextDelta`` /
``OutputTextDone``, ``ReasoningDelta`` / ``ReasoningDone`` (reasoning summaries
and raw reasoning text alike, told apart by ``summary``),
``FunctionCallArgumentsDelta`` / ``Done``; any other ``response.*`` event is an
``OtherResponseEvent``, passed on rather than dropped.  ``ModelResponse`` is a
whole stream's accumulated result.

Guarantees: values are frozen; every event keeps its type string in ``type``,
its ``sequence_number`` and the JSON object it came from in ``raw``; a field of
the wrong type raises ``InvalidChunk`` with the payload attached, never an
``AttributeError`` or ``KeyError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidChunk
from ._shaped import TokenUsage, field_int, field_text, no_fields, short

__all__ = [
    "ContentPartEvent",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "ModelResponse",
    "OtherResponseEvent",
    "OutputItem",
    "OutputItemEvent",
    "OutputTextDelta",
    "OutputTextDone",
    "ReasoningDelta",
    "ReasoningDone",
    "ResponseFunctionCall",
    "ResponseStreamEvent",
    "ResponseUpdate",
    "parse_output_item",
    "parse_response_event",
    "parse_response_usage",
]

TERMINAL_TYPES = frozenset(("response.completed", "response.incomplete"))
_UPDATE_TYPES = frozenset(("response.created", "response.in_progress", "response.queued"))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Event:
    type: str
    sequence_number: int | None = None
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputItem:
    """One item of a response's output: a ``message``, ``reasoning``, ``function_call``...

    ``text`` is the message's output text or the reasoning's text (as far as it
    is known); ``name``, ``call_id`` and ``arguments`` are a function call's.
    """

    id: str | None
    type: str
    status: str | None = None
    role: str | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    text: str | None = None
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseUpdate(_Event):
    """The response's own state: ``response.created``, ``in_progress``, ``queued``, or the
    terminal ``response.completed`` / ``response.incomplete`` (``terminal`` is true)."""

    id: str | None
    model: str | None
    status: str | None
    usage: TokenUsage | None = None
    incomplete_reason: str | None = None
    response: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputItemEvent(_Event):
    """``response.output_item.added`` or ``response.output_item.done``."""

    output_index: int
    item: OutputItem


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentPartEvent(_Event):
    """``response.content_part.added`` / ``done`` (and the reasoning summary parts)."""

    item_id: str | None
    output_index: int
    content_index: int
    part_type: str | None
    text: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputTextDelta(_Event):
    """A piece of the answer text (``response.output_text.delta``)."""

    item_id: str | None
    output_index: int
    content_index: int
    delta: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputTextDone(_Event):
    """A text part is whole (``response.output_text.done``): ``text`` is all of it."""

    item_id: str | None
    output_index: int
    content_index: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningDelta(_Event):
    """A piece of reasoning: a summary's (``response.reasoning_summary_text.delta``,
    ``summary`` true, ``index`` the summary index) or the raw reasoning text's
    (``response.reasoning_text.delta``, ``index`` the content index)."""

    item_id: str | None
    output_index: int
    index: int
    delta: str
    summary: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningDone(_Event):
    """A reasoning summary or text is whole: ``text`` is all of it."""

    item_id: str | None
    output_index: int
    index: int
    text: str
    summary: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionCallArgumentsDelta(_Event):
    """A fragment of a function call's JSON arguments."""

    item_id: str | None
    output_index: int
    delta: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionCallArgumentsDone(_Event):
    """A function call's arguments are whole."""

    item_id: str | None
    output_index: int
    arguments: str
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherResponseEvent(_Event):
    """A ``response.*`` event sseio does not model (refusals, web search, annotations...):
    its type and ``raw`` payload."""


ResponseStreamEvent = (
    ResponseUpdate
    | OutputItemEvent
    | ContentPartEvent
    | OutputTextDelta
    | OutputTextDone
    | ReasoningDelta
    | ReasoningDone
    | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone
    | OtherResponseEvent
)


@dataclass(frozen=True, slots=True)
class ResponseFunctionCall:
    """A whole function call: ``call_id`` is what a ``function_call_output`` answers."""

    id: str | None
    call_id: str | None
    name: str
    arguments: str
    output_index: int = 0

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (``ValueError`` if they are not JSON)."""
        return json.loads(self.arguments)


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """A Responses stream's accumulated result (``stream.final()``).

    ``text`` is the output text of every message item, in order; ``reasoning``
    the reasoning summaries and texts; ``status`` is ``"completed"``,
    ``"incomplete"`` (``incomplete_reason`` says why) or, in a partial result,
    what the last update said; ``events`` counts the typed events received.
    """

    id: str | None
    model: str | None
    status: str | None
    text: str
    reasoning: str
    function_calls: tuple[ResponseFunctionCall, ...] = ()
    output: tuple[OutputItem, ...] = ()
    usage: TokenUsage | None = None
    incomplete_reason: str | None = None
    created_at: int | None = None
    events: int = 0
    response: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


# --------------------------------------------------------------------------- parsing


def _index(value: Any, what: str, payload: Any) -> int:
    if type(value) is int:
        return value
    if value is None:
        return 0
    raise InvalidChunk(
        f"responses event {what} must be an integer, got {short(value)}", payload=payload
    )


def _text(value: Any, what: str, payload: Any) -> str | None:
    return field_text(value, f"responses event {what}", payload)


def _required_text(value: Any, what: str, payload: Any) -> str:
    return _text(value, what, payload) or ""


def _count(raw: Mapping[str, Any], name: str, payload: Any) -> int | None:
    return field_int(raw.get(name), f"responses usage {name}", payload)


def parse_response_usage(raw: Any, payload: Any) -> TokenUsage | None:
    """``TokenUsage`` from a Responses ``usage`` object (``None`` for null)."""
    if raw is None:
        return None
    if type(raw) is not dict:
        raise InvalidChunk(f"responses usage must be an object, got {short(raw)}", payload=payload)
    inputs = raw.get("input_tokens_details")
    outputs = raw.get("output_tokens_details")
    input_tokens = _count(raw, "input_tokens", payload)
    output_tokens = _count(raw, "output_tokens", payload)
    total = _count(raw, "total_tokens", payload)
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    return TokenUsage(
        input_tokens,
        output_tokens,
        total,
        _count(outputs, "reasoning_tokens", payload) if type(outputs) is dict else None,
        _count(inputs, "cached_tokens", payload) if type(inputs) is dict else None,
        raw,
    )


def _item_text(raw: Mapping[str, Any]) -> str | None:
    """The text a whole item holds: a message's output text, a reasoning's summaries
    and content; ``None`` when it holds none."""
    texts: list[str] = []
    for key in ("summary", "content"):
        parts = raw.get(key)
        if type(parts) is list:
            for part in parts:
                if type(part) is dict and part.get("type") != "refusal":
                    text = part.get("text")
                    if type(text) is str:
                        texts.append(text)
    return "".join(texts) if texts else None


def parse_output_item(raw: Any, payload: Any) -> OutputItem:
    """An ``OutputItem`` from an item object (``InvalidChunk`` if the shape is wrong)."""
    if type(raw) is not dict:
        raise InvalidChunk(
            f"responses output item must be an object, got {short(raw)}", payload=payload
        )
    kind = _text(raw.get("type"), "item type", payload)
    if kind is None:
        raise InvalidChunk("responses output item has no type", payload=payload)
    return OutputItem(
        id=_text(raw.get("id"), "item id", payload),
        type=kind,
        status=_text(raw.get("status"), "item status", payload),
        role=_text(raw.get("role"), "item role", payload),
        name=_text(raw.get("name"), "item name", payload),
        call_id=_text(raw.get("call_id"), "item call_id", payload),
        arguments=_text(raw.get("arguments"), "item arguments", payload),
        text=_item_text(raw),
        raw=raw,
    )


def _update(kind: str, payload: dict[str, Any], sequence: int | None) -> ResponseUpdate:
    response = payload.get("response")
    if type(response) is not dict:
        raise InvalidChunk(
            f"{kind} must carry a response object, got {short(response)}", payload=payload
        )
    details = response.get("incomplete_details")
    reason = details.get("reason") if type(details) is dict else None
    return ResponseUpdate(
        type=kind,
        sequence_number=sequence,
        raw=payload,
        id=_text(response.get("id"), "response id", payload),
        model=_text(response.get("model"), "response model", payload),
        status=_text(response.get("status"), "response status", payload),
        usage=parse_response_usage(response.get("usage"), payload),
        incomplete_reason=_text(reason, "incomplete reason", payload),
        response=response,
    )


def parse_response_event(kind: str, payload: dict[str, Any]) -> ResponseStreamEvent:
    """The typed event for one ``response.*`` payload of type ``kind``."""
    get = payload.get
    sequence = field_int(get("sequence_number"), "responses event sequence_number", payload)
    if kind == "response.output_text.delta":
        return OutputTextDelta(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            item_id=_text(get("item_id"), "item_id", payload),
            output_index=_index(get("output_index"), "output_index", payload),
            content_index=_index(get("content_index"), "content_index", payload),
            delta=_required_text(get("delta"), "delta", payload),
        )
    summary = kind.startswith("response.reasoning_summary_text.")
    if kind in (
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_text.done",
    ):
        index_name = "summary_index" if summary else "content_index"
        item_id = _text(get("item_id"), "item_id", payload)
        output_index = _index(get("output_index"), "output_index", payload)
        index = _index(get(index_name), index_name, payload)
        if kind.endswith(".delta"):
            return ReasoningDelta(
                type=kind,
                sequence_number=sequence,
                raw=payload,
                item_id=item_id,
                output_index=output_index,
                index=index,
                delta=_required_text(get("delta"), "delta", payload),
                summary=summary,
            )
        return ReasoningDone(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            item_id=item_id,
            output_index=output_index,
            index=index,
            text=_required_text(get("text"), "text", payload),
            summary=summary,
        )
    if kind == "response.function_call_arguments.delta":
        return FunctionCallArgumentsDelta(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            item_id=_text(get("item_id"), "item_id", payload),
            output_index=_index(get("output_index"), "output_index", payload),
            delta=_required_text(get("delta"), "delta", payload),
        )
    if kind in _UPDATE_TYPES or kind in TERMINAL_TYPES:
        return _update(kind, payload, sequence)
    if kind in ("response.output_item.added", "response.output_item.done"):
        return OutputItemEvent(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            output_index=_index(get("output_index"), "output_index", payload),
            item=parse_output_item(get("item"), payload),
        )
    if kind in (
        "response.content_part.added",
        "response.content_part.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
    ):
        part = get("part")
        part = part if type(part) is dict else {}
        index_name = "summary_index" if "summary_part" in kind else "content_index"
        return ContentPartEvent(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            item_id=_text(get("item_id"), "item_id", payload),
            output_index=_index(get("output_index"), "output_index", payload),
            content_index=_index(get(index_name), index_name, payload),
            part_type=_text(part.get("type"), "part type", payload),
            text=_text(part.get("text"), "part text", payload),
        )
    if kind == "response.output_text.done":
        return OutputTextDone(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            item_id=_text(get("item_id"), "item_id", payload),
            output_index=_index(get("output_index"), "output_index", payload),
            content_index=_index(get("content_index"), "content_index", payload),
            text=_required_text(get("text"), "text", payload),
        )
    if kind == "response.function_call_arguments.done":
        return FunctionCallArgumentsDone(
            type=kind,
            sequence_number=sequence,
            raw=payload,
            item_id=_text(get("item_id"), "item_id", payload),
            output_index=_index(get("output_index"), "output_index", payload),
            arguments=_required_text(get("arguments"), "arguments", payload),
            name=_text(get("name"), "name", payload),
        )
    return OtherResponseEvent(type=kind, sequence_number=sequence, raw=payload)
