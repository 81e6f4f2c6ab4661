"""Streams that are not chat completions: what was seen, and which API it looks like.

A chat-completions stream carries ``chat.completion.chunk`` objects (they have
``choices``, or ``object: "chat.completion.chunk"``).  Other streaming APIs
are often reached by mistake through the same client: the OpenAI Responses
API (``event: response.output_text.delta``, ``{"type": "response.created"}``),
Anthropic's Messages API (``event: message_start``, ``content_block_delta``),
Google's Gemini API (``{"candidates": [...]}``).  ``is_chat_chunk`` says
whether a decoded payload is a chunk; ``describe`` names what arrived instead
(the SSE event name and the payload's ``type`` or ``object`` field); ``hint``,
when the shape is recognisable, the API it belongs to and what to use instead;
``recognised`` whether it is so clearly another API that reading on is
pointless.  Pure functions: no I/O, and they never raise.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CHAT_SHAPE", "describe", "hint", "is_chat_chunk", "kind_of", "recognised"]

_ANTHROPIC_EVENTS = frozenset(
    (
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    )
)

CHAT_SHAPE = "an OpenAI chat completions stream (chat.completion.chunk objects)"

RESPONSES_HINT = (
    "it looks like an OpenAI Responses stream: use sseio.chat.ResponsesClient "
    "(AsyncResponsesClient), or POST /chat/completions"
)
ANTHROPIC_HINT = (
    "it looks like an Anthropic Messages stream: use sseio.chat.MessagesClient "
    "(AsyncMessagesClient), or the provider's chat completions endpoint"
)
GEMINI_HINT = (
    "it looks like a Gemini streamGenerateContent stream: use its OpenAI-compatible "
    "endpoint (.../v1beta/openai/)"
)


def is_chat_chunk(payload: Any) -> bool:
    """Whether a decoded payload is a ``chat.completion.chunk`` (has ``choices`` or says so)."""
    return type(payload) is dict and (
        "choices" in payload or payload.get("object") == "chat.completion.chunk"
    )


def _field(payload: Any, name: str) -> str | None:
    if type(payload) is not dict:
        return None
    value = payload.get(name)
    return value if type(value) is str else None


def kind_of(payload: Any) -> str | None:
    """The payload's ``type`` field, else its ``object`` field, when it is a string."""
    return _field(payload, "type") or _field(payload, "object")


def hint(event: str, payload: Any) -> str | None:
    """What to use instead, when the item is recognisably another API's."""
    kind = _field(payload, "type") or ""
    name = event if event != "message" else kind
    if name.startswith("response.") or kind.startswith("response."):
        return RESPONSES_HINT
    if name in _ANTHROPIC_EVENTS or kind in _ANTHROPIC_EVENTS:
        return ANTHROPIC_HINT
    if type(payload) is dict and "candidates" in payload:
        return GEMINI_HINT
    return None


def recognised(event: str, payload: Any) -> bool:
    """Whether an event is so clearly another API's that the stream cannot be chat."""
    return hint(event, payload) is not None


_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def describe(event: str, payload: Any) -> str:
    """A few words naming an item that is not a chat chunk: its event name, its ``type``
    or ``object`` field, else what it is.  ``payload`` is the decoded JSON, or the
    data text of a named event that is not JSON."""
    parts = [] if event == "message" else [f"event {_shown(event)}"]
    for name in ("type", "object"):
        value = _field(payload, name)
        if value is not None:
            parts.append(f"{name} {_shown(value)}")
            break
    else:
        if type(payload) is dict:
            keys = ", ".join(_shown(str(key)) for key in list(payload)[:4])
            parts.append(f"a JSON object with keys {keys}" if keys else "an empty JSON object")
        elif event == "message":  # the data of a named event may be plain text: its name says it
            parts.append(f"a JSON {_JSON_TYPES.get(type(payload), 'value')}")
    return ", ".join(parts)
