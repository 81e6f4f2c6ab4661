"""What a Responses or Messages request to the mock asks for, and what it will get: no IO.

``parse_responses_request`` (``POST /v1/responses``) and
``parse_messages_request`` (``POST /v1/messages``) validate a body as the real
APIs do, each refusal an ``InvalidChatRequest`` with its status, and keep what
the mock acts on as a ``TurnRequest``: the model (any name, unless
``MockConfig.known_models_only``), ``stream``, the token limit
(``max_output_tokens`` / ``max_tokens``, the latter required as Anthropic
requires it), the function tool to call (the first one, or the one
``tool_choice`` names), whether to reason (``MockConfig.think``, unless
``hideThink`` or, for Messages, ``thinking: {"type": "disabled"}``) and, for
Responses, whether reasoning comes as a summary (``reasoning.summary`` set) or
as raw reasoning text.

``expected_turn`` is what such a request will stream, faults aside: the same
deterministic answer and reasoning text as the chat mock gives the same
conversation (``sseio.testing._mock_answer``), split into tokens, cut at the
token limit (the stop reason then says so), or the tool call's arguments; and
the usage.  Bounded as the chat mock is: 128 tools, limits up to 100 000 tokens.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from ._mock_answer import (
    ExpectedToolCall,
    _split_arguments,
    _split_text,
    _tool_arguments,
    expected_for,
)
from ._mock_request import (
    MAX_TOKENS,
    MAX_TOOLS,
    ChatRequest,
    InvalidChatRequest,
    MockConfig,
    _message_text,
    _topic,
    check_model,
    shown,
)

__all__ = [
    "ExpectedTurn",
    "TurnRequest",
    "expected_turn",
    "parse_messages_request",
    "parse_responses_request",
]

Api = Literal["responses", "messages"]
_ROLES = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True)
class TurnRequest:
    """A validated Responses or Messages request: the fields the mock acts on."""

    api: Api
    model: str
    stream: bool
    max_tokens: int | None
    think: bool
    summary: bool  # Responses: reasoning as a summary rather than raw reasoning text
    tool: dict[str, Any] | None  # {"name": ..., "parameters": ...}
    topic: str
    prompt_tokens: int
    seed_key: str


@dataclass(frozen=True)
class ExpectedTurn:
    """What a Responses or Messages request streams: ``reasoning_tokens`` then
    ``text_tokens`` (or the tool call's ``tool_tokens``), each piece one delta;
    ``stop`` is ``"stop"``, ``"length"`` (cut at the token limit) or ``"tool"``."""

    model: str
    text: str
    text_tokens: tuple[str, ...]
    reasoning: str
    reasoning_tokens: tuple[str, ...]
    tool_call: ExpectedToolCall | None
    tool_tokens: tuple[str, ...]
    stop: Literal["stop", "length", "tool"]
    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def _invalid(message: str, param: str, code: str = "invalid_value") -> InvalidChatRequest:
    return InvalidChatRequest(message, param=param, code=code)


def _typed(body: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise _invalid(f"invalid type for {name!r}: got {shown(value)}", name, "invalid_type")
    return value


def _limit(body: dict[str, Any], name: str) -> int | None:
    value: int | None = _typed(body, name, int)
    if value is not None and not 1 <= value <= MAX_TOKENS:
        raise _invalid(f"invalid {name!r}: {value} is not between 1 and {MAX_TOKENS}", name)
    return value


def _conversation(items: list[Any], param: str) -> list[dict[str, Any]]:
    """The items that are messages (a role and content), checked."""
    messages = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _invalid(f"invalid '{param}[{index}]': expected an object", f"{param}[{index}]")
        role = item.get("role")
        if role is None and param == "input":
            continue  # a function call output, a reasoning item...
        if role not in _ROLES:
            raise _invalid(
                f"invalid '{param}[{index}]': role must be one of {sorted(_ROLES)}, "
                f"got {shown(role)}",
                f"{param}[{index}]",
            )
        messages.append(item)
    return messages


def _chosen(functions: list[dict[str, Any]], choice: Any, kinds: dict[str, str]) -> Any:
    """The function ``choice`` picks; ``kinds`` maps the choice types to "auto", "none", "name"."""
    if not functions:
        return None
    if choice is None or isinstance(choice, str):
        mode = kinds.get(choice or "auto")
    elif isinstance(choice, dict):
        mode = kinds.get(choice.get("type", ""))
    else:
        mode = None
    if mode == "none":
        return None
    if mode == "auto":
        return functions[0]
    if mode == "name" and isinstance(choice, dict):
        for function in functions:
            if function["name"] == choice.get("name"):
                return function
    raise _invalid(f"invalid 'tool_choice': {shown(choice)}", "tool_choice")


def _functions(body: dict[str, Any], schema_key: str, function_type: str | None) -> list[Any]:
    tools: list[Any] | None = _typed(body, "tools", list)
    if not tools:
        return []
    if len(tools) > MAX_TOOLS:
        raise _invalid(f"too many tools: {len(tools)} (at most {MAX_TOOLS})", "tools")
    functions = []
    for index, tool in enumerate(tools):
        name = tool.get("name") if isinstance(tool, dict) else None
        if not isinstance(name, str) or not name or len(name) > 64:
            raise _invalid(f"invalid 'tools[{index}]': {shown(tool)}", f"tools[{index}]")
        if function_type is not None and tool.get("type", function_type) != function_type:
            continue  # a built-in tool (web search...): the mock never calls it
        functions.append({"name": name, "parameters": tool.get(schema_key)})
    return functions


def _seed(config: MockConfig, api: str, model: str, conversation: Any) -> str:
    material = json.dumps([config.seed, api, model, conversation], sort_keys=True, default=str)
    return hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()


def _prompt_tokens(messages: list[dict[str, Any]], extra: str = "") -> int:
    texts = [_message_text(message) for message in messages] + ([extra] if extra else [])
    return 3 + sum(4 + math.ceil(len(text) / 4) for text in texts)


def _common(body: Any, config: MockConfig) -> tuple[dict[str, Any], str, bool]:
    if not isinstance(body, dict):
        raise InvalidChatRequest(f"the request body must be a JSON object, got {shown(body)}")
    model = body.get("model")
    if model is None:
        raise _invalid("missing required parameter: 'model'", "model", "missing_required_parameter")
    model = _typed(body, "model", str)
    check_model(model, config)
    return body, model, bool(_typed(body, "stream", bool))


def parse_responses_request(body: Any, config: MockConfig) -> TurnRequest:
    """Validate a Responses body as the real API does; raises ``InvalidChatRequest``."""
    body, model, stream = _common(body, config)
    raw_input = body.get("input")
    if isinstance(raw_input, str) and raw_input:
        messages = [{"role": "user", "content": raw_input}]
    elif isinstance(raw_input, list) and raw_input:
        messages = _conversation(raw_input, "input")
    else:
        raise _invalid(
            f"invalid 'input': expected a non-empty string or array, got {shown(raw_input)}",
            "input",
            "missing_required_parameter" if raw_input is None else "invalid_value",
        )
    instructions = _typed(body, "instructions", str) or ""
    reasoning = _typed(body, "reasoning", dict) or {}
    functions = _functions(body, "parameters", "function")
    kinds = {"auto": "auto", "required": "auto", "none": "none", "function": "name"}
    return TurnRequest(
        api="responses",
        model=model,
        stream=stream,
        max_tokens=_limit(body, "max_output_tokens"),
        think=config.think and not _typed(body, "hideThink", bool),
        summary=reasoning.get("summary") is not None,
        tool=_chosen(functions, body.get("tool_choice"), kinds),
        topic=_topic(messages),
        prompt_tokens=_prompt_tokens(messages, instructions),
        seed_key=_seed(config, "responses", model, [instructions, raw_input]),
    )


def parse_messages_request(body: Any, config: MockConfig) -> TurnRequest:
    """Validate a Messages body as Anthropic's API does; raises ``InvalidChatRequest``."""
    body, model, stream = _common(body, config)
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise _invalid(
            f"messages: expected a non-empty array, got {shown(raw_messages)}", "messages"
        )
    messages = _conversation(raw_messages, "messages")
    if body.get("max_tokens") is None:
        raise _invalid("max_tokens: field required", "max_tokens", "missing_required_parameter")
    system = body.get("system")
    if isinstance(system, list):
        system = _message_text({"content": system})
    elif system is not None and not isinstance(system, str):
        raise _invalid(f"system: expected a string or array, got {shown(system)}", "system")
    thinking = _typed(body, "thinking", dict) or {}
    functions = _functions(body, "input_schema", None)
    kinds = {"auto": "auto", "any": "auto", "none": "none", "tool": "name"}
    return TurnRequest(
        api="messages",
        model=model,
        stream=stream,
        max_tokens=_limit(body, "max_tokens"),
        think=(
            config.think
            and not _typed(body, "hideThink", bool)
            and thinking.get("type") != "disabled"
        ),
        summary=False,
        tool=_chosen(functions, body.get("tool_choice"), kinds),
        topic=_topic(messages),
        prompt_tokens=_prompt_tokens(messages, system or ""),
        seed_key=_seed(config, "messages", model, [system, raw_messages]),
    )


def expected_turn(request: TurnRequest, config: MockConfig) -> ExpectedTurn:
    """What ``request`` will stream, faults aside (see the module doc)."""
    chat = ChatRequest(
        model=request.model,
        stream=True,
        include_usage=False,
        n=1,
        max_tokens=None,
        hide_think=not request.think,
        tool=None,
        topic=request.topic,
        prompt_tokens=request.prompt_tokens,
        seed_key=request.seed_key,
    )
    rng = random.Random(f"{request.seed_key}:turn")
    tool_call = None
    tool_tokens: list[str] = []
    text_tokens: list[str] = []
    reasoning_tokens: list[str] = []
    if request.tool is not None:
        arguments = _tool_arguments(request.tool, request.topic)
        tool_tokens = _split_arguments(arguments, rng)
    else:
        answer = expected_for(chat, config)
        reasoning_tokens = list(_split_text(answer.reasoning, rng))
        text_tokens = list(_split_text(answer.answer, rng))
    stop: Literal["stop", "length", "tool"] = "tool" if request.tool is not None else "stop"
    limit = request.max_tokens
    if limit is not None and len(reasoning_tokens) + len(text_tokens) + len(tool_tokens) > limit:
        stop = "length"
        tool_tokens = tool_tokens[:limit]
        reasoning_tokens = reasoning_tokens[:limit]
        text_tokens = text_tokens[: max(0, limit - len(reasoning_tokens))]
    if request.tool is not None:
        tool_call = ExpectedToolCall(request.tool["name"], "".join(tool_tokens))
    return ExpectedTurn(
        model=request.model,
        text="".join(text_tokens),
        text_tokens=tuple(text_tokens),
        reasoning="".join(reasoning_tokens),
        reasoning_tokens=tuple(reasoning_tokens),
        tool_call=tool_call,
        tool_tokens=tuple(tool_tokens),
        stop=stop,
        input_tokens=request.prompt_tokens,
        output_tokens=len(reasoning_tokens) + len(text_tokens) + len(tool_tokens),
    )
