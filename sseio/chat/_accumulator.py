"""Chat chunks in, the whole message per choice out: ``ChatAccumulator``.

It keeps, per choice, the content, reasoning and refusal pieces, the role,
the finish reason and the tool calls, which are assembled from index-keyed
fragments arriving in any order (a fragment without an index goes to the call
with its id, else to the latest call); ``result()`` joins the pieces into a
``ChatCompletion``.  Cost is linear in the number of chunks: pieces are kept
in lists and joined once per ``result()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._core.errors import UsageError
from ._types import (
    ChatChoice,
    ChatChunk,
    ChatCompletion,
    ChatMessage,
    FunctionCall,
    ToolCall,
    Usage,
)

__all__ = ["ChatAccumulator"]


class _ToolCallParts:
    __slots__ = ("arguments", "id", "index", "name", "type")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id = ""
        self.type = ""
        self.name = ""
        self.arguments: list[str] = []


class _ChoiceParts:
    __slots__ = ("content", "finish_reason", "last_tool", "reasoning", "refusal", "role", "tools")

    def __init__(self) -> None:
        self.role: str | None = None
        self.content: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.refusal: list[str] | None = None
        self.tools: dict[int, _ToolCallParts] = {}
        self.last_tool: _ToolCallParts | None = None
        self.finish_reason: str | None = None

    def add_tool_calls(self, deltas: Iterable[Any]) -> None:
        for delta in deltas:
            part = self._tool_for(delta.index, delta.id)
            if delta.id and not part.id:
                part.id = delta.id
            if delta.type and not part.type:
                part.type = delta.type
            function = delta.function
            if function is not None:
                if function.name and function.name != part.name:
                    part.name += function.name  # sent whole once, or in pieces
                if function.arguments:
                    part.arguments.append(function.arguments)
            self.last_tool = part

    def _tool_for(self, index: int | None, call_id: str | None) -> _ToolCallParts:
        """The call a fragment belongs to: by index; without one, by id, else the latest call."""
        tools = self.tools
        if index is None:
            if call_id:
                found = next((part for part in tools.values() if part.id == call_id), None)
                if found is not None:
                    return found
            elif self.last_tool is not None:
                return self.last_tool
            index = max(tools, default=-1) + 1
        part = tools.get(index)
        if part is None:
            part = tools[index] = _ToolCallParts(index)
        return part

    def message(self) -> ChatMessage:
        calls = tuple(
            ToolCall(
                part.id,
                part.type or "function",
                FunctionCall(part.name, "".join(part.arguments)),
                part.index,
            )
            for _, part in sorted(self.tools.items())
        )
        return ChatMessage(
            self.role,
            None if self.content is None else "".join(self.content),
            None if self.reasoning is None else "".join(self.reasoning),
            calls,
            None if self.refusal is None else "".join(self.refusal),
        )


class ChatAccumulator:
    """Chunks in, the whole message per choice out (``result()``), in linear time."""

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceParts] = {}
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.system_fingerprint: str | None = None
        self.usage: Usage | None = None
        self.chunks = 0

    def add(self, chunk: ChatChunk) -> None:
        """Take one chunk (anything else is a ``UsageError``: ``parse_chunk`` makes chunks)."""
        if type(chunk) is not ChatChunk and not isinstance(chunk, ChatChunk):
            raise UsageError(f"add() takes a ChatChunk, got {type(chunk).__name__}")
        self.chunks += 1
        if self.id is None:
            self.id, self.model, self.created = chunk.id, chunk.model, chunk.created
        if chunk.system_fingerprint is not None:
            self.system_fingerprint = chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            index = choice.index
            parts = self._choices.get(index)
            if parts is None:
                parts = self._choices[index] = _ChoiceParts()
            delta = choice.delta
            content = delta.content
            if content is not None:
                if parts.content is None:
                    parts.content = [content]
                else:
                    parts.content.append(content)
            role = delta.role
            if role is not None:
                parts.role = role
            reasoning = delta.reasoning
            if reasoning is not None:
                if parts.reasoning is None:
                    parts.reasoning = [reasoning]
                else:
                    parts.reasoning.append(reasoning)
            tool_calls = delta.tool_calls
            if tool_calls:
                parts.add_tool_calls(tool_calls)
            refusal = delta.refusal
            if refusal is not None:
                if parts.refusal is None:
                    parts.refusal = [refusal]
                else:
                    parts.refusal.append(refusal)
            finish = choice.finish_reason
            if finish is not None:
                parts.finish_reason = finish

    @property
    def finished(self) -> bool:
        """Every choice seen so far has a finish reason (and at least one was seen)."""
        return bool(self._choices) and all(
            parts.finish_reason is not None for parts in self._choices.values()
        )

    def result(self) -> ChatCompletion:
        choices = tuple(
            ChatChoice(index, parts.message(), parts.finish_reason)
            for index, parts in sorted(self._choices.items())
        )
        return ChatCompletion(
            self.id,
            self.model,
            self.created,
            choices,
            self.usage,
            self.system_fingerprint,
            self.chunks,
        )
