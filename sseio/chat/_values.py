"""The chat layer's values: chunks of a stream, and whole completions.

``ChatChunk`` (with ``ChunkChoice``, ``Delta``, ``ToolCallDelta``,
``FunctionDelta``, ``Usage``) is one ``chat.completion.chunk``;
``ChatCompletion`` (with ``ChatChoice``, ``ChatMessage``, ``ToolCall``,
``FunctionCall``) a whole answer, accumulated from a stream or sent whole.
Field names are the OpenAI ones (``chunk.choices[0].delta.content``);
``reasoning`` holds reasoning text however it came (``reasoning_content``,
``reasoning``, inline ``<think>`` blocks).  What they guarantee:

- immutable, slotted, frozen dataclasses; ``==`` compares the modelled
  fields and the unmodelled ones (``extra``), not how the server spelled
  them (``raw``), so a chunk equals itself re-parsed from its ``to_dict()``;
  equal values hash alike (one holding a dict, such as ``logprobs``, is
  unhashable, as a dict is);
- ``raw`` is the JSON object a value was parsed from, unchanged, and
  ``extra`` the fields of it sseio does not model: nothing sent is lost;
- ``to_dict()`` is the value as the API's JSON: the server's fields in its
  order, with sseio's values written over them (reasoning split out of a
  ``<think>`` block appears as ``reasoning_content``); parsing
  ``json.loads(json.dumps(value.to_dict()))`` gives an equal value.  The dicts
  are new; values sseio does not model are shared with ``raw``, not copied;
- ``json.dumps(value)`` raises ``TypeError``: a value is never written as an
  array, as the named tuples these replaced were.  Use ``to_dict()``.

Cost: the parsers build values through the ``build_*`` functions below, which
skip ``__init__`` and the frozen ``__setattr__`` (a twin class with the same
slots takes the fields, then the object becomes the public class), about as
cheap as building a named tuple.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

__all__ = [
    "EMPTY",
    "TWINS",
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
]

EMPTY: Mapping[str, Any] = MappingProxyType({})
V = TypeVar("V", bound="_Value")


class _Value:
    """Equality, hashing and copies with changes, shared by the chat values."""

    __slots__ = ()
    _known: ClassVar[frozenset[str]] = frozenset()
    _compared: ClassVar[tuple[str, ...]] = ()  # the fields ``==`` compares, ``raw`` aside
    _fields: ClassVar[tuple[str, ...]] = ()  # every field, in order (set below)

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._compared)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key() and self.extra == other.extra

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def extra(self) -> dict[str, Any]:
        """The fields of ``raw`` sseio does not model."""
        raw: Mapping[str, Any] = getattr(self, "raw", EMPTY)
        known = self._known
        return {key: value for key, value in raw.items() if key not in known}

    def _replace(self: V, **changes: Any) -> V:
        """A copy with some fields changed (as ``dataclasses.replace``, faster)."""
        twin = TWINS[type(self)]
        new: Any = object.__new__(twin)
        for name in self._fields:
            setattr(new, name, changes.pop(name) if name in changes else getattr(self, name))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        new.__class__ = type(self)
        result: V = new
        return result


def _refuse_setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to {type(self).__name__}.{name}")


def _refuse_delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete {type(self).__name__}.{name}")


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Write ``value`` unless it is ``None`` and the server did not send the key."""
    if value is not None or key in target:
        target[key] = value


def _reasoning_key(raw: Mapping[str, Any]) -> str:
    """Where reasoning goes in JSON: the field it came in, else ``reasoning_content``."""
    if raw.get("reasoning_content") is None and "reasoning" in raw:
        return "reasoning"
    return "reasoning_content"


@dataclass(frozen=True, slots=True, eq=False)
class FunctionDelta(_Value):
    """A piece of a function call: the name (first piece), then argument fragments."""

    name: str | None = None
    arguments: str | None = None

    _compared: ClassVar[tuple[str, ...]] = ("name", "arguments")

    def to_dict(self, base: Mapping[str, Any] = EMPTY) -> dict[str, Any]:
        out = dict(base)
        _put(out, "name", self.name)
        _put(out, "arguments", self.arguments)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ToolCallDelta(_Value):
    """A fragment of one tool call, keyed by ``index`` (``None`` when the server left it out)."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(("index", "id", "type", "function"))
    _compared: ClassVar[tuple[str, ...]] = ("index", "id", "type", "function")

    def to_dict(self) -> dict[str, Any]:
        raw = self.raw
        out = dict(raw)
        _put(out, "index", self.index)
        _put(out, "id", self.id)
        _put(out, "type", self.type)
        base = raw.get("function")
        function = self.function
        _put(
            out,
            "function",
            None if function is None else function.to_dict(base if type(base) is dict else EMPTY),
        )
        return out


@dataclass(frozen=True, slots=True, eq=False)
class Delta(_Value):
    """What one chunk adds to a choice's message."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] | None = None
    refusal: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(
        ("role", "content", "reasoning", "reasoning_content", "tool_calls", "refusal")
    )
    _compared: ClassVar[tuple[str, ...]] = ("role", "content", "reasoning", "tool_calls", "refusal")

    def to_dict(self) -> dict[str, Any]:
        raw = self.raw
        out = dict(raw)
        _put(out, "role", self.role)
        _put(out, "content", self.content)
        _put(out, _reasoning_key(raw), self.reasoning)
        calls = self.tool_calls
        _put(out, "tool_calls", None if calls is None else [call.to_dict() for call in calls])
        _put(out, "refusal", self.refusal)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ChunkChoice(_Value):
    """One choice in a chunk: its ``index``, the ``delta``, and ``finish_reason`` once it ends."""

    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: Any = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(("index", "delta", "finish_reason", "logprobs"))
    _compared: ClassVar[tuple[str, ...]] = ("index", "delta", "finish_reason", "logprobs")

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        out["index"] = self.index
        out["delta"] = self.delta.to_dict()
        _put(out, "logprobs", self.logprobs)
        out["finish_reason"] = self.finish_reason
        return out


@dataclass(frozen=True, slots=True, eq=False)
class Usage(_Value):
    """Token counts; the server's detail fields stay in ``raw`` (and ``extra``)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(
        ("prompt_tokens", "completion_tokens", "total_tokens")
    )
    _compared: ClassVar[tuple[str, ...]] = ("prompt_tokens", "completion_tokens", "total_tokens")

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        _put(out, "prompt_tokens", self.prompt_tokens)
        _put(out, "completion_tokens", self.completion_tokens)
        _put(out, "total_tokens", self.total_tokens)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ChatChunk(_Value):
    """One ``chat.completion.chunk``."""

    id: str | None
    model: str | None
    created: int | None
    choices: tuple[ChunkChoice, ...]
    usage: Usage | None = None
    object: str | None = "chat.completion.chunk"
    system_fingerprint: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(
        ("id", "object", "created", "model", "choices", "usage", "system_fingerprint")
    )
    _compared: ClassVar[tuple[str, ...]] = (
        "id",
        "model",
        "created",
        "choices",
        "usage",
        "object",
        "system_fingerprint",
    )

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        _put(out, "id", self.id)
        _put(out, "object", self.object)
        _put(out, "created", self.created)
        _put(out, "model", self.model)
        _put(out, "system_fingerprint", self.system_fingerprint)
        out["choices"] = [choice.to_dict() for choice in self.choices]
        _put(out, "usage", None if self.usage is None else self.usage.to_dict())
        return out


@dataclass(frozen=True, slots=True, eq=False)
class FunctionCall(_Value):
    """A whole function call: its name and its arguments (a JSON text)."""

    name: str
    arguments: str

    _compared: ClassVar[tuple[str, ...]] = ("name", "arguments")

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (``ValueError`` if they are not JSON)."""
        return json.loads(self.arguments)

    def to_dict(self, base: Mapping[str, Any] = EMPTY) -> dict[str, Any]:
        out = dict(base)
        out["name"] = self.name
        out["arguments"] = self.arguments
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ToolCall(_Value):
    """A whole tool call, assembled from its fragments (or sent whole)."""

    id: str
    type: str
    function: FunctionCall
    index: int = 0
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(("index", "id", "type", "function"))
    _compared: ClassVar[tuple[str, ...]] = ("id", "type", "function", "index")

    def to_dict(self) -> dict[str, Any]:
        """The call as a message's ``tool_calls`` item (``index`` only if the server sent one)."""
        raw = self.raw
        out = dict(raw)
        out["id"] = self.id
        out["type"] = self.type
        base = raw.get("function")
        out["function"] = self.function.to_dict(base if type(base) is dict else EMPTY)
        if "index" in raw:
            out["index"] = self.index
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ChatMessage(_Value):
    """A choice's whole message: the answer, the reasoning split out of it, tool calls."""

    role: str | None
    content: str | None
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(
        ("role", "content", "reasoning", "reasoning_content", "tool_calls", "refusal")
    )
    _compared: ClassVar[tuple[str, ...]] = ("role", "content", "reasoning", "tool_calls", "refusal")

    def to_dict(self) -> dict[str, Any]:
        raw = self.raw
        out = dict(raw)
        _put(out, "role", self.role)
        out["content"] = self.content
        _put(out, _reasoning_key(raw), self.reasoning)
        if self.tool_calls or "tool_calls" in out:
            calls = []
            for position, call in enumerate(self.tool_calls):
                item = call.to_dict()
                if call.index != position:
                    item["index"] = call.index  # the parsers take the position otherwise
                calls.append(item)
            out["tool_calls"] = calls
        _put(out, "refusal", self.refusal)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ChatChoice(_Value):
    """One choice of a whole answer: its ``index``, ``message`` and ``finish_reason``."""

    index: int
    message: ChatMessage
    finish_reason: str | None
    logprobs: Any = None
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(("index", "message", "finish_reason", "logprobs"))
    _compared: ClassVar[tuple[str, ...]] = ("index", "message", "finish_reason", "logprobs")

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        out["index"] = self.index
        out["message"] = self.message.to_dict()
        _put(out, "logprobs", self.logprobs)
        out["finish_reason"] = self.finish_reason
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ChatCompletion(_Value):
    """A whole answer: a stream's accumulated result (``stream.final()``), or
    ``create()``'s.  ``chunks`` counts the chunks that went into it (0 when it
    came whole); it is compared by ``==`` but is not part of ``to_dict()``."""

    id: str | None
    model: str | None
    created: int | None
    choices: tuple[ChatChoice, ...]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    chunks: int = 0
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False)

    _known: ClassVar[frozenset[str]] = frozenset(
        ("id", "object", "created", "model", "choices", "usage", "system_fingerprint")
    )
    _compared: ClassVar[tuple[str, ...]] = (
        "id",
        "model",
        "created",
        "choices",
        "usage",
        "system_fingerprint",
        "chunks",
    )

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

    def to_dict(self) -> dict[str, Any]:
        """The answer as a ``chat.completion`` object, as a non-streaming request gets it."""
        out = dict(self.raw)
        _put(out, "id", self.id)
        out.setdefault("object", "chat.completion")
        _put(out, "created", self.created)
        _put(out, "model", self.model)
        _put(out, "system_fingerprint", self.system_fingerprint)
        out["choices"] = [choice.to_dict() for choice in self.choices]
        _put(out, "usage", None if self.usage is None else self.usage.to_dict())
        return out


_PUBLIC: tuple[type[_Value], ...] = (
    FunctionDelta,
    ToolCallDelta,
    Delta,
    ChunkChoice,
    Usage,
    ChatChunk,
    FunctionCall,
    ToolCall,
    ChatMessage,
    ChatChoice,
    ChatCompletion,
)
TWINS: dict[type[_Value], type[Any]] = {}
for _cls in _PUBLIC:
    _cls._fields = tuple(f.name for f in dataclasses.fields(_cls))  # type: ignore[arg-type]
    # The frozen dataclass's own raises TypeError for a name that is not a field (3.11).
    _cls.__setattr__ = _refuse_setattr  # type: ignore[method-assign]
    _cls.__delattr__ = _refuse_delattr  # type: ignore[method-assign]
    # The same slots on the same base, and attributes set the ordinary (fast) way: the
    # builders fill one, then retype it as the public class.
    TWINS[_cls] = type(_cls.__name__, (_Value,), {"__slots__": _cls.__slots__})
del _cls

# --------------------------------------------------------------------------- builders
# The parsers' constructors: positional, unchecked, no __init__ (see the module docstring).

_new = object.__new__
_FunctionDeltaTwin = TWINS[FunctionDelta]
_ToolCallDeltaTwin = TWINS[ToolCallDelta]
_DeltaTwin = TWINS[Delta]
_ChunkChoiceTwin = TWINS[ChunkChoice]
_UsageTwin = TWINS[Usage]
_ChatChunkTwin = TWINS[ChatChunk]


def build_function_delta(name: str | None, arguments: str | None) -> FunctionDelta:
    new = _new(_FunctionDeltaTwin)
    new.name = name
    new.arguments = arguments
    new.__class__ = FunctionDelta
    return new  # type: ignore[no-any-return]


def build_tool_call_delta(
    index: int | None,
    call_id: str | None,
    kind: str | None,
    function: FunctionDelta | None,
    raw: Mapping[str, Any],
) -> ToolCallDelta:
    new = _new(_ToolCallDeltaTwin)
    new.index = index
    new.id = call_id
    new.type = kind
    new.function = function
    new.raw = raw
    new.__class__ = ToolCallDelta
    return new  # type: ignore[no-any-return]


def build_delta(
    role: str | None,
    content: str | None,
    reasoning: str | None,
    tool_calls: tuple[ToolCallDelta, ...] | None,
    refusal: str | None,
    raw: Mapping[str, Any],
) -> Delta:
    new = _new(_DeltaTwin)
    new.role = role
    new.content = content
    new.reasoning = reasoning
    new.tool_calls = tool_calls
    new.refusal = refusal
    new.raw = raw
    new.__class__ = Delta
    return new  # type: ignore[no-any-return]


def build_choice(
    index: int, delta: Delta, finish_reason: str | None, logprobs: Any, raw: Mapping[str, Any]
) -> ChunkChoice:
    new = _new(_ChunkChoiceTwin)
    new.index = index
    new.delta = delta
    new.finish_reason = finish_reason
    new.logprobs = logprobs
    new.raw = raw
    new.__class__ = ChunkChoice
    return new  # type: ignore[no-any-return]


def build_usage(
    prompt: int | None, completion: int | None, total: int | None, raw: Mapping[str, Any]
) -> Usage:
    new = _new(_UsageTwin)
    new.prompt_tokens = prompt
    new.completion_tokens = completion
    new.total_tokens = total
    new.raw = raw
    new.__class__ = Usage
    return new  # type: ignore[no-any-return]


def build_chunk(
    chunk_id: str | None,
    model: str | None,
    created: int | None,
    choices: tuple[ChunkChoice, ...],
    usage: Usage | None,
    kind: str | None,
    fingerprint: str | None,
    raw: Mapping[str, Any],
) -> ChatChunk:
    new = _new(_ChatChunkTwin)
    new.id = chunk_id
    new.model = model
    new.created = created
    new.choices = choices
    new.usage = usage
    new.object = kind
    new.system_fingerprint = fingerprint
    new.raw = raw
    new.__class__ = ChatChunk
    return new  # type: ignore[no-any-return]
