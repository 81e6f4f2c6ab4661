"""What a request to the mock chat API (``sseio.testing._mock``) asks for, decided without IO.

``parse_chat_request`` validates a chat completion body as the real API does
(400 ``invalid_request_error``; 404 ``model_not_found`` for a model not in
``MockConfig.models`` only with ``known_models_only``; each refusal an
``InvalidChatRequest`` that carries its status and OpenAI ``error`` object) and
keeps what the mock acts on as a ``ChatRequest``: the model, ``stream`` and
``stream_options.include_usage``, ``n``, ``max_tokens`` /
``max_completion_tokens``, ``hideThink``, the function tool to call (the first
one, or the one ``tool_choice`` names), a short quote of the last user message
and the key that seeds the answer; other fields are ignored.  ``MockConfig``
says how the mock answers.

Faults are chosen per request by the ``X-Mock-Fault`` header or the body field
``"mock_fault"`` (the header wins), written
``<mode>[; after=N][; times=K][; key=S][; retry_after=SECONDS][; delay=SECONDS]``:

- ``truncate``, ``drop``, ``error``, ``error-event``, ``overload``, ``stall``
  act after ``after`` token chunks (default 3; the opening role chunks always go
  first): the body ends without ``[DONE]``; the connection is dropped; an error
  object is sent as ``data:`` or as ``event: error`` (``overload``: a retryable
  ``overloaded_error``) and the body ends; the stream goes silent but for
  keepalive comments for ``delay`` seconds (default 3600), then resumes;
- ``slow`` holds the whole stream back for ``delay`` seconds (default 2);
- ``429``, ``500``, ``502``, ``503`` answer with that status and an OpenAI error
  body (``429`` and ``503`` with ``Retry-After: retry_after``, default 1);
  ``html`` answers 200 with a captive-portal HTML page;
- ``times=K`` limits the fault to the first K valid requests carrying the same
  ``key`` (default: the mode), so a test can fail once and then succeed.

``parse_fault`` reads that syntax and names what is wrong in it;
``fault_response`` is the whole answer of a status fault.  The stream faults
are applied to the plan by ``sseio.testing._mock_answer.apply_fault``, and the handler
keeps the ``times`` counts.

Everything is bounded: at most 8 choices, ``max_tokens`` up to 100 000, 128
tools, a quote of the prompt of at most 12 words, fault texts of 200
characters, fault delays of one day.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from .._core.errors import UsageError
from ..server._server import Response

__all__ = [
    "FAULT_MODES",
    "STREAM_FAULTS",
    "ChatRequest",
    "Fault",
    "InvalidChatRequest",
    "MockConfig",
    "anthropic_error_payload",
    "check_model",
    "error_payload",
    "fault_error",
    "fault_response",
    "parse_chat_request",
    "parse_fault",
    "safe_text",
    "shown",
]

MAX_CHOICES = 8
MAX_TOKENS = 100_000
MAX_TOOLS = 128
MAX_FAULT_TEXT = 200
MAX_FAULT_DELAY = 86_400

_STATUS_FAULTS = ("429", "500", "502", "503", "html")
STREAM_FAULTS = ("truncate", "drop", "error", "error-event", "overload", "slow", "stall")
"""The modes that change the stream rather than replace the answer."""
FAULT_MODES = frozenset(_STATUS_FAULTS + STREAM_FAULTS)
"""Every mode ``X-Mock-Fault`` / ``mock_fault`` accepts."""

_DEFAULT_DELAY = {"slow": 2.0, "stall": 3600.0}
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOPIC_WORDS = 12
_TOPIC_WORD_CHARS = 30


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class MockConfig:
    """How the mock answers (times in seconds).

    ``token_rate``: tokens per second in each choice (0: as fast as possible);
    ``first_token_delay``: wait before the first chunk; ``think``: answer with
    inline ``<think>`` / ``<ser>`` blocks unless the request says ``hideThink``;
    ``keepalive``: interval of keepalive comments (``None``: none); ``api_key``:
    when set, requests need ``Authorization: Bearer <api_key>`` or ``x-api-key:
    <api_key>``; ``answer``: a fixed answer text (with ``think``, after one
    ``<think>`` block) instead of the generated one; ``seed``: changes every
    generated answer.  Any model name is served; ``known_models_only`` refuses
    the ones not in ``models`` (404 ``model_not_found``), as a real API does.
    """

    models: tuple[str, ...] = ("sseio-mock-1", "Dhanishtha-2.0-preview")
    token_rate: float = 0.0
    first_token_delay: float = 0.0
    think: bool = True
    keepalive: float | None = 15.0
    api_key: str | None = None
    answer: str | None = None
    seed: int = 0
    known_models_only: bool = False

    def __post_init__(self) -> None:
        if (
            not isinstance(self.models, tuple)
            or not self.models
            or not all(isinstance(model, str) and model for model in self.models)
        ):
            raise UsageError(f"models must be a non-empty tuple of names, got {self.models!r}")
        for name in ("token_rate", "first_token_delay"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < math.inf:
                raise UsageError(f"{name} must be a finite number >= 0, got {value!r}")
        keepalive = self.keepalive
        if keepalive is not None and (not _is_number(keepalive) or not 0 < keepalive < math.inf):
            raise UsageError(f"keepalive must be a positive number or None, got {keepalive!r}")


class InvalidChatRequest(UsageError):
    """A request the mock refuses, as the real API would: ``status`` and the
    ``error`` object fields ``type``, ``param`` and ``code``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.error_type = error_type

    def payload(self) -> dict[str, Any]:
        """The JSON error body: ``{"error": {"message", "type", "param", "code"}}``."""
        return error_payload(self.message, self.error_type, self.code, self.param)

    def anthropic_payload(self) -> dict[str, Any]:
        """The same refusal as Anthropic's API words it: ``{"type": "error", "error": ...}``."""
        kind = _ANTHROPIC_ERRORS.get(self.status, "api_error" if self.status >= 500 else None)
        return anthropic_error_payload(self.message, kind or "invalid_request_error")


_ANTHROPIC_ERRORS = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


def anthropic_error_payload(message: str, error_type: str) -> dict[str, Any]:
    """An Anthropic error body: ``{"type": "error", "error": {"type", "message"}}``."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def error_payload(
    message: str, error_type: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    """An OpenAI error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def shown(value: object) -> str:
    """A request value quoted in an error message, kept short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def safe_text(text: str) -> str:
    """Text that encodes to UTF-8 (lone surrogates from JSON ``\\ud800`` become "?")."""
    return text.encode("utf-8", "replace").decode("utf-8")


# -- faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One parsed fault (see the module doc); ``delay`` already holds the mode's default."""

    mode: str
    after: int = 3
    times: int | None = None
    key: str = ""
    retry_after: int = 1
    delay: float = 0.0


def fault_error(message: str) -> InvalidChatRequest:
    """The refusal of a request whose ``mock_fault`` is wrong (400 ``invalid_fault``)."""
    return InvalidChatRequest(message, param="mock_fault", code="invalid_fault")


def _fault_int(name: str, value: str, minimum: int) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < minimum:
        raise fault_error(
            f"mock fault parameter {name} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def _fault_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_FAULT_DELAY:
        raise fault_error(
            f"mock fault parameter delay must be seconds from 0 to {MAX_FAULT_DELAY}, got {value!r}"
        )
    return seconds


def parse_fault(text: str) -> Fault:
    """Parse ``<mode>[; name=value]...``; ``InvalidChatRequest`` (400) names what is wrong."""
    if len(text) > MAX_FAULT_TEXT:
        raise fault_error(f"mock fault is longer than {MAX_FAULT_TEXT} characters")
    mode, *params = (part.strip() for part in text.split(";"))
    mode = mode.lower()
    if mode not in FAULT_MODES:
        known = ", ".join(sorted(FAULT_MODES))
        raise fault_error(f"unknown mock fault mode {shown(mode)} (known: {known})")
    fault = Fault(mode, key=mode, delay=_DEFAULT_DELAY.get(mode, 0.0))
    for param in params:
        if not param:
            continue
        name, equals, value = (part.strip() for part in param.partition("="))
        if not equals:
            raise fault_error(f"mock fault parameter {shown(param)} is not name=value")
        if name == "after":
            fault = replace(fault, after=_fault_int(name, value, 0))
        elif name == "times":
            fault = replace(fault, times=_fault_int(name, value, 1))
        elif name == "retry_after":
            fault = replace(fault, retry_after=_fault_int(name, value, 0))
        elif name == "delay":
            fault = replace(fault, delay=_fault_seconds(value))
        elif name == "key":
            if not value:
                raise fault_error("mock fault parameter key must not be empty")
            fault = replace(fault, key=value)
        else:
            raise fault_error(f"unknown mock fault parameter {shown(param)}")
    return fault


_CAPTIVE_PORTAL = """<!DOCTYPE html>
<html><head><title>Sign in to the network</title></head>
<body><h1>Welcome!</h1><p>Please accept the terms of use to continue browsing.</p>
<form method="post"><button>Accept and connect</button></form></body></html>
"""


def fault_response(fault: Fault) -> Response | None:
    """The whole answer for a status fault (``429``, ``5xx``, ``html``), else ``None``."""
    retry_after = (("retry-after", str(fault.retry_after)),)
    if fault.mode == "429":
        payload = error_payload("rate limit exceeded", "rate_limit_error", "rate_limit_exceeded")
        return Response.json(payload, status=429, headers=retry_after)
    if fault.mode == "500":
        payload = error_payload("the mock server had an error", "server_error", "internal_error")
        return Response.json(payload, status=500)
    if fault.mode == "502":
        payload = error_payload("bad gateway", "server_error", "bad_gateway")
        return Response.json(payload, status=502)
    if fault.mode == "503":
        payload = error_payload("the service is unavailable", "server_error", "service_unavailable")
        return Response.json(payload, status=503, headers=retry_after)
    if fault.mode == "html":
        return Response.text(_CAPTIVE_PORTAL, content_type="text/html; charset=utf-8")
    return None


# -- requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat completion request: the fields the mock acts on."""

    model: str
    stream: bool
    include_usage: bool
    n: int
    max_tokens: int | None
    hide_think: bool
    tool: dict[str, Any] | None
    """The function tool the model calls (its ``function`` object), if any."""
    topic: str
    """A short, single-line quote of the last user message."""
    prompt_tokens: int
    seed_key: str


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    """``body[name]`` when it is absent, null or of type ``kind`` (a bool is no int)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidChatRequest(
            f"invalid type for {name!r}: expected {kind.__name__}, got {shown(value)}",
            param=name,
            code="invalid_type",
        )
    return value


def _bounded_int(body: dict[str, Any], name: str, maximum: int) -> int | None:
    value: int | None = _optional(body, name, int)
    if value is not None and not 1 <= value <= maximum:
        raise InvalidChatRequest(
            f"invalid {name!r}: {value} is not between 1 and {maximum}",
            param=name,
            code="invalid_value",
        )
    return value


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = (part.get("text") for part in content if isinstance(part, dict))
        return " ".join(text for text in texts if isinstance(text, str))
    return ""


def _check_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if messages is None:
        raise InvalidChatRequest(
            "missing required parameter: 'messages'",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(messages, list) or not messages:
        raise InvalidChatRequest(
            f"invalid 'messages': expected a non-empty array, got {shown(messages)}",
            param="messages",
            code="invalid_value",
        )
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _ROLES:
            raise InvalidChatRequest(
                f"invalid 'messages[{index}]': expected an object with a role in "
                f"{sorted(_ROLES)}, got {shown(message)}",
                param=f"messages[{index}]",
                code="invalid_value",
            )
    return messages


def _topic(messages: list[dict[str, Any]]) -> str:
    """The last user message, shortened to one line of a few words, without angle brackets
    (so a quoted prompt can never open a reasoning block)."""
    text = next((_message_text(m) for m in reversed(messages) if m["role"] == "user"), "")
    words = [
        match.group()[:_TOPIC_WORD_CHARS]
        for match in itertools.islice(re.finditer(r"[^\s<>]+", text), _TOPIC_WORDS + 1)
    ]
    if not words:
        return "your message"
    topic = " ".join(words[:_TOPIC_WORDS]) + ("…" if len(words) > _TOPIC_WORDS else "")
    return safe_text(topic)


def _check_tools(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function the model will call, or ``None``."""
    tools: list[Any] | None = _optional(body, "tools", list)
    tool_choice = body.get("tool_choice")
    if not tools:
        if tool_choice is not None and tool_choice != "none":
            raise InvalidChatRequest(
                "'tool_choice' is only allowed when 'tools' are specified",
                param="tool_choice",
                code="invalid_value",
            )
        return None
    if len(tools) > MAX_TOOLS:
        raise InvalidChatRequest(
            f"too many tools: {len(tools)} (at most {MAX_TOOLS})",
            param="tools",
            code="invalid_value",
        )
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        is_function = isinstance(tool, dict) and tool.get("type") == "function"
        function = tool.get("function") if is_function else None
        if (
            not isinstance(function, dict)
            or not isinstance(name := function.get("name"), str)
            or not _TOOL_NAME.fullmatch(name)
        ):
            raise InvalidChatRequest(
                f"invalid 'tools[{index}]': expected a function tool with a name of up to 64 "
                f"letters, digits, '_' or '-', got {shown(tool)}",
                param=f"tools[{index}]",
                code="invalid_value",
            )
        functions.append(function)
    if tool_choice is None or tool_choice in ("auto", "required"):
        return functions[0]
    if tool_choice == "none":
        return None
    chosen = tool_choice.get("function") if isinstance(tool_choice, dict) else None
    chosen_name = chosen.get("name") if isinstance(chosen, dict) else None
    for function in functions:
        if function["name"] == chosen_name:
            return function
    raise InvalidChatRequest(
        f"invalid 'tool_choice': {shown(tool_choice)} names no function in 'tools'",
        param="tool_choice",
        code="invalid_value",
    )


def check_model(model: str, config: MockConfig) -> None:
    """Refuse an empty model name (400), or one not configured when the mock knows only its own
    (404 ``model_not_found``)."""
    if not model:
        raise InvalidChatRequest(
            "invalid 'model': it must not be empty", param="model", code="invalid_value"
        )
    if config.known_models_only and model not in config.models:
        raise InvalidChatRequest(
            f"the model {shown(model)} does not exist or you do not have access to it",
            status=404,
            param="model",
            code="model_not_found",
        )


def parse_chat_request(body: Any, config: MockConfig) -> ChatRequest:
    """Validate a chat completion body as the real API does; raises ``InvalidChatRequest``."""
    if not isinstance(body, dict):
        raise InvalidChatRequest(f"the request body must be a JSON object, got {shown(body)}")
    model = body.get("model")
    if model is None:
        raise InvalidChatRequest(
            "missing required parameter: 'model'", param="model", code="missing_required_parameter"
        )
    model = _optional(body, "model", str)
    check_model(model, config)
    messages = _check_messages(body)
    stream = bool(_optional(body, "stream", bool))
    stream_options: dict[str, Any] | None = _optional(body, "stream_options", dict)
    if stream_options is not None and not stream:
        raise InvalidChatRequest(
            "'stream_options' is only allowed when 'stream' is true",
            param="stream_options",
            code="invalid_value",
        )
    include_usage = bool(_optional(stream_options or {}, "include_usage", bool))
    n = _bounded_int(body, "n", MAX_CHOICES) or 1
    max_tokens = _bounded_int(body, "max_tokens", MAX_TOKENS)
    max_completion_tokens = _bounded_int(body, "max_completion_tokens", MAX_TOKENS)
    hide_think = bool(_optional(body, "hideThink", bool))
    tool = _check_tools(body)
    prompt_tokens = 3 + sum(4 + math.ceil(len(_message_text(m)) / 4) for m in messages)
    seed_material = json.dumps([config.seed, model, messages], sort_keys=True, default=str)
    seed_key = hashlib.sha256(seed_material.encode("utf-8", "replace")).hexdigest()
    return ChatRequest(
        model=model,
        stream=stream,
        include_usage=include_usage,
        n=n,
        max_tokens=max_completion_tokens or max_tokens,
        hide_think=hide_think,
        tool=tool,
        topic=_topic(messages),
        prompt_tokens=prompt_tokens,
        seed_key=seed_key,
    )
