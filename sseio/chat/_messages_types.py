"""Typed, immutable values for the Anthropic Messages stream, and the event parser.

``parse_message_event`` turns one decoded payload into a typed event:
``MessageStart``, ``ContentBlockStart``, the deltas ``TextDelta``,
``ThinkingDelta``, ``SignatureDelta`` and ``InputJsonDelta``,
``ContentBlockStop``, ``MessageDelta`` (stop reason, cumulative usage) and
``MessageStop``; ``ping``, other delta types (citations...) and event types
sseio does not model are an ``OtherMessageEvent``, passed on rather than
dropped.  ``Message`` is a whole stream's accumulated result, its content a
tuple of ``TextBlock``, ``ThinkingBlock``, ``ToolUseBlock`` and ``OtherBlock``.

Guarantees: values are frozen; every event keeps the JSON object it came from
in ``raw``; a field of the wrong type raises ``InvalidChunk`` with the payload
attached, never an ``AttributeError`` or ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidChunk
from ._shaped import TokenUsage, field_int, field_text, no_fields, short

__all__ = [
    "ContentBlock",
    "ContentBlockStart",
    "ContentBlockStop",
    "InputJsonDelta",
    "Message",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "MessageStreamEvent",
    "OtherBlock",
    "OtherMessageEvent",
    "SignatureDelta",
    "TextBlock",
    "TextDelta",
    "ThinkingBlock",
    "ThinkingDelta",
    "ToolUseBlock",
    "parse_message_event",
    "parse_message_usage",
]

TOOL_USE_TYPES = frozenset(("tool_use", "server_tool_use", "mcp_tool_use"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStart:
    """``message_start``: the message's id, model, role and the usage known so far."""

    id: str | None
    model: str | None
    role: str | None
    usage: TokenUsage | None = None
    type: str = "message_start"
    message: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockStart:
    """``content_block_start``: block ``index`` opens, of ``block_type`` (``text``,
    ``thinking``, ``tool_use``...); ``id`` and ``name`` are a tool use's."""

    index: int
    block_type: str
    id: str | None = None
    name: str | None = None
    type: str = "content_block_start"
    block: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextDelta:
    """A piece of the answer text of block ``index``."""

    index: int
    text: str
    type: str = "content_block_delta"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingDelta:
    """A piece of the reasoning of thinking block ``index``."""

    index: int
    thinking: str
    type: str = "content_block_delta"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureDelta:
    """The signature of thinking block ``index`` (sent back with the block in a later turn)."""

    index: int
    signature: str
    type: str = "content_block_delta"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputJsonDelta:
    """A fragment of the JSON input of tool-use block ``index``."""

    index: int
    partial_json: str
    type: str = "content_block_delta"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockStop:
    """``content_block_stop``: block ``index`` is whole."""

    index: int
    type: str = "content_block_stop"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDelta:
    """``message_delta``: why the message stopped, and the cumulative usage."""

    stop_reason: str | None
    stop_sequence: str | None = None
    usage: TokenUsage | None = None
    type: str = "message_delta"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStop:
    """``message_stop``: the stream's last event."""

    type: str = "message_stop"
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherMessageEvent:
    """An event sseio does not model (``ping``, a ``citations_delta``, a new type): its
    ``type`` (for a delta, ``content_block_delta``; ``delta_type`` says which) and ``raw``."""

    type: str
    delta_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


MessageStreamEvent = (
    MessageStart
    | ContentBlockStart
    | TextDelta
    | ThinkingDelta
    | SignatureDelta
    | InputJsonDelta
    | ContentBlockStop
    | MessageDelta
    | MessageStop
    | OtherMessageEvent
)


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str
    type: str = "text"


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    thinking: str
    signature: str = ""
    type: str = "thinking"


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """A tool use: ``input`` is the JSON input decoded (``None`` while it is incomplete, or
    if it is not JSON); ``partial_json`` the text it was decoded from."""

    id: str | None
    name: str
    input: Any
    partial_json: str = ""
    type: str = "tool_use"


@dataclass(frozen=True, slots=True)
class OtherBlock:
    """A block of a type sseio does not model (``redacted_thinking``...), as it started."""

    type: str
    raw: Mapping[str, Any] = field(default_factory=no_fields, compare=False)


ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock | OtherBlock


@dataclass(frozen=True, slots=True)
class Message:
    """A Messages stream's accumulated result (``stream.final()``).

    ``text`` joins the text blocks, ``reasoning`` the thinking blocks,
    ``tool_uses`` lists the tool-use blocks; ``events`` counts the typed events
    received.
    """

    id: str | None
    model: str | None
    role: str | None
    content: tuple[ContentBlock, ...]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: TokenUsage | None = None
    events: int = 0

    @property
    def text(self) -> str:
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    @property
    def reasoning(self) -> str:
        return "".join(block.thinking for block in self.content if isinstance(block, ThinkingBlock))

    @property
    def tool_uses(self) -> tuple[ToolUseBlock, ...]:
        return tuple(block for block in self.content if isinstance(block, ToolUseBlock))


# --------------------------------------------------------------------------- parsing


def _text(value: Any, what: str, payload: Any) -> str | None:
    return field_text(value, f"messages event {what}", payload)


def _index(value: Any, payload: Any) -> int:
    if type(value) is int:
        return value
    raise InvalidChunk(
        f"messages event index must be an integer, got {short(value)}", payload=payload
    )


def _object(value: Any, what: str, payload: Any) -> dict[str, Any]:
    if type(value) is dict:
        return value
    raise InvalidChunk(
        f"messages event {what} must be an object, got {short(value)}", payload=payload
    )


def parse_message_usage(raw: Any, payload: Any) -> TokenUsage | None:
    """``TokenUsage`` from a Messages ``usage`` object (``None`` for null)."""
    if raw is None:
        return None
    usage = _object(raw, "usage", payload)
    counts = {
        name: field_int(usage.get(name), f"messages usage {name}", payload)
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens")
    }
    inputs, outputs = counts["input_tokens"], counts["output_tokens"]
    total = inputs + outputs if inputs is not None and outputs is not None else None
    return TokenUsage(inputs, outputs, total, None, counts["cache_read_input_tokens"], usage)


def _delta(payload: dict[str, Any]) -> MessageStreamEvent:
    index = _index(payload.get("index"), payload)
    delta = _object(payload.get("delta"), "delta", payload)
    kind = delta.get("type")
    if kind == "text_delta":
        return TextDelta(
            index=index, text=_text(delta.get("text"), "text", payload) or "", raw=payload
        )
    if kind == "thinking_delta":
        thinking = _text(delta.get("thinking"), "thinking", payload) or ""
        return ThinkingDelta(index=index, thinking=thinking, raw=payload)
    if kind == "signature_delta":
        signature = _text(delta.get("signature"), "signature", payload) or ""
        return SignatureDelta(index=index, signature=signature, raw=payload)
    if kind == "input_json_delta":
        partial = _text(delta.get("partial_json"), "partial_json", payload) or ""
        return InputJsonDelta(index=index, partial_json=partial, raw=payload)
    return OtherMessageEvent(
        type="content_block_delta",
        delta_type=kind if isinstance(kind, str) else None,
        raw=payload,
    )


def parse_message_event(kind: str, payload: dict[str, Any]) -> MessageStreamEvent:
    """The typed event for one Messages payload of type ``kind``."""
    if kind == "content_block_delta":
        return _delta(payload)
    if kind == "content_block_start":
        block = _object(payload.get("content_block"), "content_block", payload)
        block_type = _text(block.get("type"), "content_block type", payload)
        if block_type is None:
            raise InvalidChunk("messages content block has no type", payload=payload)
        return ContentBlockStart(
            index=_index(payload.get("index"), payload),
            block_type=block_type,
            id=_text(block.get("id"), "content_block id", payload),
            name=_text(block.get("name"), "content_block name", payload),
            block=block,
            raw=payload,
        )
    if kind == "content_block_stop":
        return ContentBlockStop(index=_index(payload.get("index"), payload), raw=payload)
    if kind == "message_start":
        message = _object(payload.get("message"), "message", payload)
        return MessageStart(
            id=_text(message.get("id"), "message id", payload),
            model=_text(message.get("model"), "message model", payload),
            role=_text(message.get("role"), "message role", payload),
            usage=parse_message_usage(message.get("usage"), payload),
            message=message,
            raw=payload,
        )
    if kind == "message_delta":
        delta = payload.get("delta")
        delta = delta if type(delta) is dict else {}
        return MessageDelta(
            stop_reason=_text(delta.get("stop_reason"), "stop_reason", payload),
            stop_sequence=_text(delta.get("stop_sequence"), "stop_sequence", payload),
            usage=parse_message_usage(payload.get("usage"), payload),
            raw=payload,
        )
    if kind == "message_stop":
        return MessageStop(raw=payload)
    return OtherMessageEvent(type=kind, raw=payload)
