"""What the Responses and Messages streams share, decided without I/O.

``ShapedCall`` is the shape-independent half of one ``stream()`` call: whether
any text was shown, whether to send the request again after a failure (the
chat layer's ``ChatRetry`` policy, applied as the chat client applies it: only
while nothing was shown, so no text is ever shown twice), which typed error a
status becomes, and what to raise when giving up (``APIError``,
``StreamTruncated`` and ``InvalidChunk`` carry the partial result in
``partial``).  The Responses and Messages calls subclass it with their event
parsing and accumulation.

``UnexpectedStream`` (an ``InvalidChunk``) is what a client raises when the
server streams another shape than the one it asked for, chat chunks to a
Responses client, say; ``describe_item`` names what arrived (the ``object`` or
``type`` field, the event name, or the start of a payload that is not JSON)
and ``which_api`` which API's stream it plainly is, so the message can say
which client reads it.
``StreamPiece`` and ``TokenUsage`` give both shapes the same text pieces and
token counts, so a caller can drive either stream the same way.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

from .._core.errors import ResponseError, SSEError
from .._core.events import ServerSentEvent
from ._errors import APIError, APIStatusError, InvalidChunk, StreamTruncated
from ._retry import ChatRetry, retry_delay, retryable, status_error

__all__ = [
    "EMPTY",
    "ShapedCall",
    "StreamPiece",
    "TokenUsage",
    "UnexpectedStream",
    "describe_item",
    "field_int",
    "field_text",
    "no_fields",
    "short",
    "which_api",
]

EMPTY: Mapping[str, Any] = MappingProxyType({})
EventT = TypeVar("EventT")
ResultT = TypeVar("ResultT")


class UnexpectedStream(InvalidChunk):
    """The server streamed another shape than the one the client asked for.

    ``expected`` names the shape wanted (``"an OpenAI Responses stream ..."``),
    ``seen`` the first item that does not belong to it (``"a
    'chat.completion.chunk' object"``); ``event`` is that item's SSE event
    name, ``kind`` its ``type`` or ``object`` field (``None`` without one) and
    ``payload`` the item as it arrived.  Not retried: the same request gets the
    same shape again.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str = "",
        seen: str = "",
        event: str = "message",
        kind: str | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(message, payload=payload)
        self.expected = expected
        self.seen = seen
        self.event = event
        self.kind = kind


def no_fields() -> Mapping[str, Any]:
    """The shared empty mapping: the default ``raw`` of a value built by hand."""
    return EMPTY


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_item(event: ServerSentEvent, payload: Any, *, is_json: bool = True) -> str:
    """A few words naming an event: its ``object`` or ``type`` field, else its name, else
    the start of its data."""
    named = f" (event {event.event!r})" if event.event != "message" else ""
    if not is_json:
        return f"a data payload that is not JSON{named}: {short(event.data, 40)}"
    if isinstance(payload, dict):
        kind = payload.get("object")
        if isinstance(kind, str):
            return f"a {kind!r} object{named}"
        if "choices" in payload:
            return f"a chat completion chunk{named}"
        kind = payload.get("type")
        if isinstance(kind, str):
            return f"an event of type {kind!r}{named}"
        if named:
            return f"an event named {event.event!r} without a type field"
        return f"a JSON object without a type field: {short(payload, 40)}"
    return f"a JSON {type(payload).__name__}{named}: {short(payload, 40)}"


def field_text(value: Any, what: str, payload: Any) -> str | None:
    """``value`` when it is a string or null, else ``InvalidChunk`` naming the field."""
    if value is None or type(value) is str:
        return value
    raise InvalidChunk(f"{what} must be a string or null, got {short(value)}", payload=payload)


def field_int(value: Any, what: str, payload: Any) -> int | None:
    """``value`` when it is an integer (not a bool) or null, else ``InvalidChunk``."""
    if value is None or type(value) is int:
        return value
    raise InvalidChunk(f"{what} must be an integer or null, got {short(value)}", payload=payload)


_MESSAGES_EVENTS = frozenset(
    (
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    )
)


def which_api(event: ServerSentEvent, payload: Any) -> str | None:
    """``"chat"``, ``"responses"`` or ``"messages"`` when an item plainly belongs to that
    API's stream, else ``None``."""
    if isinstance(payload, dict):
        if "choices" in payload or payload.get("object") == "chat.completion.chunk":
            return "chat"
        kind = payload.get("type")
        kind = kind if isinstance(kind, str) else event.event
    else:
        kind = event.event
    if kind.startswith("response."):
        return "responses"
    if kind in _MESSAGES_EVENTS:
        return "messages"
    return None


_USE = {
    "chat": "a chat completions stream: read it with ChatClient",
    "responses": "an OpenAI Responses stream: read it with ResponsesClient",
    "messages": "an Anthropic Messages stream: read it with MessagesClient",
}


@dataclass(frozen=True, slots=True)
class StreamPiece:
    """A piece of text as it streams: ``kind`` is ``"text"`` (the answer) or
    ``"reasoning"``; ``index`` is the output item or content block it belongs to."""

    kind: Literal["text", "reasoning"]
    text: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of a Responses or Messages answer, named alike for both.

    ``cached_tokens`` is OpenAI's ``input_tokens_details.cached_tokens`` or
    Anthropic's ``cache_read_input_tokens``; ``reasoning_tokens`` is OpenAI's
    ``output_tokens_details.reasoning_tokens``; ``total_tokens`` is the
    server's, or the sum of input and output when it sent none.  ``raw`` is the
    usage object as sent.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None
    raw: Mapping[str, Any] = field(default_factory=no_fields, repr=False, compare=False)


class ShapedCall(ABC, Generic[EventT, ResultT]):
    """One streaming call of a non-chat shape: retry state and the shared decisions.

    Subclasses set ``self.done`` when the terminal event arrives, ``self.shown``
    when text, reasoning or tool arguments arrive, and implement ``on_event``,
    ``piece``, ``result`` and ``_new_attempt`` (which starts a fresh
    accumulation for the next attempt).
    """

    shape = "stream"  # how error messages name the shape, e.g. "an OpenAI Responses stream"
    api = ""  # "responses" or "messages": which_api's name for this shape
    terminal = "its terminal event"  # how truncation messages name the end

    def __init__(self, retry: ChatRetry, *, rng: random.Random | None = None) -> None:
        self.retry = retry
        self._rng = rng or random.Random()
        self.attempts = 0  # failures counted against the policy
        self.retries = 0  # attempts made again after a failure
        self._first_failure: float | None = None
        self.shown = False
        self.done = False
        self.saw_done_sentinel = False
        self._new_attempt()

    # ---- to implement

    @abstractmethod
    def _new_attempt(self) -> None:
        """Start the accumulation of an attempt afresh."""

    @abstractmethod
    def on_event(self, event: Any) -> EventT | None:
        """The typed event an SSE event carries (``None`` for one that carries none)."""

    @abstractmethod
    def piece(self, event: EventT) -> StreamPiece | None:
        """The answer or reasoning text an event adds, if any."""

    @abstractmethod
    def result(self) -> ResultT:
        """What has been accumulated so far, as the final value."""

    @property
    @abstractmethod
    def events(self) -> int:
        """How many typed events the current attempt produced."""

    # ---- shared

    def unexpected(self, event: ServerSentEvent, payload: Any, *, is_json: bool = True) -> SSEError:
        """The ``UnexpectedStream`` for an item of another shape (its partial result attached)."""
        seen = describe_item(event, payload, is_json=is_json)
        kind = None
        if is_json and isinstance(payload, dict):
            found = payload.get("object", payload.get("type"))
            kind = found if isinstance(found, str) else None
        other = which_api(event, payload) if is_json else None
        advice = f"; this looks like {_USE[other]}" if other and other != self.api else ""
        error = UnexpectedStream(
            f"expected {self.shape}, got {seen}{advice}",
            expected=self.shape,
            seen=seen,
            event=event.event,
            kind=kind,
            payload=payload if is_json else event.data,
        )
        return self.with_partial(error)

    def on_done(self) -> None:
        """``[DONE]`` arrived (some compatible servers send it); the terminal event still counts."""
        self.saw_done_sentinel = True

    def on_end(self) -> None:
        """The body ended: ``StreamTruncated`` unless the terminal event came."""
        if self.done:
            return
        count = self.events
        plural = "s" if count != 1 else ""
        sentinel = " (it sent [DONE])" if self.saw_done_sentinel else ""
        raise self.with_partial(
            StreamTruncated(
                f"the stream ended after {count} event{plural} without {self.terminal}{sentinel}"
            )
        )

    def with_partial(self, error: SSEError) -> SSEError:
        if isinstance(error, (APIError, StreamTruncated, InvalidChunk)):
            error.partial = self.result()
        return error

    def classify(self, error: SSEError, wall_clock: float) -> SSEError:
        """An error status becomes its typed ``APIStatusError`` (chained to the original)."""
        if isinstance(error, ResponseError) and not isinstance(error, APIStatusError):
            typed = status_error(error, wall_clock)
            if typed is not error:
                typed.__cause__ = error
            return typed
        return error

    def decide(self, error: SSEError, *, now: float, wall_clock: float) -> float | None:
        """Seconds to wait before trying again after ``error``, or ``None`` to give up."""
        if self.shown or not retryable(error):
            return None
        if self._first_failure is None:
            self._first_failure = now
        self.attempts += 1
        delay = retry_delay(
            self.retry,
            error,
            attempt=self.attempts,
            since=self._first_failure,
            now=now,
            rng=self._rng,
        )
        if delay is None:
            return None
        self.done = False
        self.saw_done_sentinel = False
        self._new_attempt()
        self.retries += 1
        return delay

    def give_up(self, error: SSEError) -> SSEError:
        """The error to raise: after text was shown, a failure of the connection is a
        truncation carrying the partial result; API errors carry it too."""
        if self.shown and not isinstance(error, (APIError, StreamTruncated, InvalidChunk)):
            truncated = StreamTruncated(
                f"the stream broke after part of the answer was shown: {error}",
                partial=self.result(),
            )
            truncated.__cause__ = error
            return truncated
        return self.with_partial(error)
