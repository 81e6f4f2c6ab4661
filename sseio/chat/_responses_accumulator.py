"""Responses events in, the whole response out: ``ResponsesAccumulator``.

Output items are kept by ``output_index`` (an item a delta names before its
``output_item.added`` is made on the spot, its type inferred from the delta);
text, reasoning and argument pieces are kept in lists and joined once per
``result()``, so the cost is linear in the number of events.  A ``.done``
event's whole text replaces the pieces it completes, and the items of a
terminal ``response`` object fill in whatever the events left out, so a server
that sends only whole items gives the same result as one that streams them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._responses_types import (
    ContentPartEvent,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    ModelResponse,
    OutputItem,
    OutputItemEvent,
    OutputTextDelta,
    OutputTextDone,
    ReasoningDelta,
    ReasoningDone,
    ResponseFunctionCall,
    ResponseStreamEvent,
    ResponseUpdate,
    parse_output_item,
)
from ._shaped import EMPTY, TokenUsage

__all__ = ["ResponsesAccumulator"]


class _Pieces:
    """The pieces of one text, or the whole of it once a ``.done`` event gave it."""

    __slots__ = ("pieces", "whole")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.whole: str | None = None

    def text(self) -> str:
        return self.whole if self.whole is not None else "".join(self.pieces)


class _ItemParts:
    __slots__ = ("arguments", "item", "item_id", "reasoning", "summaries", "texts", "type")

    def __init__(self, kind: str, item_id: str | None) -> None:
        self.type = kind
        self.item_id = item_id  # from the events, until the item itself arrives
        self.item: OutputItem | None = None
        self.texts: dict[int, _Pieces] = {}  # content index -> output text
        self.summaries: dict[int, _Pieces] = {}  # summary index -> reasoning summary
        self.reasoning: dict[int, _Pieces] = {}  # content index -> reasoning text
        self.arguments = _Pieces()

    def fill(self, item: OutputItem) -> None:
        """Take what a whole item says that no event said."""
        self.item = item
        self.type = item.type
        if item.text is not None and not (self.texts or self.summaries or self.reasoning):
            whole = _Pieces()
            whole.whole = item.text
            if item.type == "message":
                self.texts[0] = whole
            else:
                self.reasoning[0] = whole
        if item.arguments is not None and not self.arguments.pieces:
            self.arguments.whole = item.arguments

    def text(self) -> str:
        return "".join(self.texts[index].text() for index in sorted(self.texts))

    def reasoning_text(self) -> str:
        summaries = "".join(self.summaries[index].text() for index in sorted(self.summaries))
        return summaries + "".join(self.reasoning[index].text() for index in sorted(self.reasoning))

    def output(self) -> OutputItem:
        item = self.item or OutputItem(id=self.item_id, type=self.type)
        text = self.text() if self.type == "message" else self.reasoning_text() or None
        arguments = self.arguments.text() if self.type == "function_call" else item.arguments
        return OutputItem(
            id=item.id,
            type=self.type,
            status=item.status,
            role=item.role,
            name=item.name,
            call_id=item.call_id,
            arguments=arguments,
            text=text if text or item.text is not None else None,
            raw=item.raw,
        )


def _pieces(table: dict[int, _Pieces], index: int) -> _Pieces:
    found = table.get(index)
    if found is None:
        found = table[index] = _Pieces()
    return found


class ResponsesAccumulator:
    """Responses events in, ``ModelResponse`` out (``result()``), in linear time."""

    def __init__(self) -> None:
        self._items: dict[int, _ItemParts] = {}
        self.id: str | None = None
        self.model: str | None = None
        self.status: str | None = None
        self.created_at: int | None = None
        self.usage: TokenUsage | None = None
        self.incomplete_reason: str | None = None
        self.response: Mapping[str, Any] = EMPTY
        self.events = 0

    def _item(self, index: int, kind: str, item_id: str | None = None) -> _ItemParts:
        parts = self._items.get(index)
        if parts is None:
            parts = self._items[index] = _ItemParts(kind, item_id)
        return parts

    def add(self, event: ResponseStreamEvent) -> None:
        self.events += 1
        if isinstance(event, OutputTextDelta):
            parts = self._item(event.output_index, "message", event.item_id)
            _pieces(parts.texts, event.content_index).pieces.append(event.delta)
        elif isinstance(event, ReasoningDelta):
            parts = self._item(event.output_index, "reasoning", event.item_id)
            table = parts.summaries if event.summary else parts.reasoning
            _pieces(table, event.index).pieces.append(event.delta)
        elif isinstance(event, FunctionCallArgumentsDelta):
            parts = self._item(event.output_index, "function_call", event.item_id)
            parts.arguments.pieces.append(event.delta)
        elif isinstance(event, OutputTextDone):
            parts = self._item(event.output_index, "message")
            _pieces(parts.texts, event.content_index).whole = event.text
        elif isinstance(event, ReasoningDone):
            parts = self._item(event.output_index, "reasoning")
            table = parts.summaries if event.summary else parts.reasoning
            _pieces(table, event.index).whole = event.text
        elif isinstance(event, FunctionCallArgumentsDone):
            parts = self._item(event.output_index, "function_call", event.item_id)
            parts.arguments.whole = event.arguments
            if parts.item is None and event.name is not None:
                parts.item = OutputItem(id=event.item_id, type="function_call", name=event.name)
        elif isinstance(event, OutputItemEvent):
            parts = self._item(event.output_index, event.item.type)
            if event.type.endswith(".done"):
                parts.fill(event.item)
            elif parts.item is None:
                parts.item = event.item
                parts.type = event.item.type
        elif isinstance(event, ContentPartEvent):
            if event.type == "response.content_part.done" and event.text is not None:
                parts = self._item(event.output_index, "message")
                if event.part_type in (None, "output_text"):
                    _pieces(parts.texts, event.content_index).whole = event.text
        elif isinstance(event, ResponseUpdate):
            self._update(event)

    def _update(self, event: ResponseUpdate) -> None:
        if event.id is not None:
            self.id = event.id
        if event.model is not None:
            self.model = event.model
        if event.status is not None:
            self.status = event.status
        if event.usage is not None:
            self.usage = event.usage
        if event.incomplete_reason is not None:
            self.incomplete_reason = event.incomplete_reason
        created = event.response.get("created_at")
        if type(created) is int:
            self.created_at = created
        self.response = event.response
        if event.terminal:
            output = event.response.get("output")
            for index, raw in enumerate(output if type(output) is list else ()):
                if index not in self._items or self._items[index].item is None:
                    item = parse_output_item(raw, event.raw)
                    self._item(index, item.type).fill(item)

    def result(self) -> ModelResponse:
        items = [(index, parts) for index, parts in sorted(self._items.items())]
        output = tuple(parts.output() for _, parts in items)
        calls = tuple(
            ResponseFunctionCall(
                item.id, item.call_id, item.name or "", item.arguments or "", index
            )
            for (index, _), item in zip(items, output, strict=True)
            if item.type == "function_call"
        )
        return ModelResponse(
            id=self.id,
            model=self.model,
            status=self.status,
            text="".join(parts.text() for _, parts in items if parts.type == "message"),
            reasoning="".join(parts.reasoning_text() for _, parts in items),
            function_calls=calls,
            output=output,
            usage=self.usage,
            incomplete_reason=self.incomplete_reason,
            created_at=self.created_at,
            events=self.events,
            response=self.response,
        )
