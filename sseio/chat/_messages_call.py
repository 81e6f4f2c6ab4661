"""The Messages stream's decisions, without I/O: the request, accumulation, one call.

``messages_request`` builds ``POST {base_url}/v1/messages`` with ``stream: true``;
``MessagesSettings`` holds a client's settings: the key from ``api_key=`` or
``ANTHROPIC_API_KEY`` (sent as ``x-api-key``, with ``anthropic-version:
2023-06-01``), the base URL from ``base_url=`` or ``ANTHROPIC_BASE_URL``, else
Anthropic's.  ``MessagesAccumulator`` joins the blocks' pieces (a tool use's
input decoded from its concatenated JSON when the block stops, ``None`` if that
is not JSON, as when ``max_tokens`` cut it; usage from
``message_delta`` overrides ``message_start``'s field by field, as the counts
are cumulative).  ``MessagesCall`` turns each SSE event into a typed event
(``error`` events raised as ``APIError``; a stream that does not open with
``message_start``, or sends chat chunks or ``response.*`` events, raised as
``UnexpectedStream``) and at the end of the body says whether ``message_stop``
came.  Retry and give-up decisions are ``ShapedCall``'s.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .._core.errors import UsageError
from .._core.events import ServerSentEvent
from .._http.arguments import check_headers, check_instance, check_optional_str, coerce_timeout
from .._http.client_state import merge_headers
from .._http.reconnect import Timeout
from ._errors import InvalidChunk
from ._messages_types import (
    TOOL_USE_TYPES,
    ContentBlock,
    ContentBlockStart,
    ContentBlockStop,
    InputJsonDelta,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    MessageStreamEvent,
    OtherBlock,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    parse_message_event,
)
from ._retry import ChatRetry, stream_error
from ._shaped import EMPTY, ShapedCall, StreamPiece, TokenUsage
from ._types import loads

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_MESSAGES_URL",
    "MessagesAccumulator",
    "MessagesCall",
    "MessagesSettings",
    "messages_request",
    "resolve_messages_base_url",
    "resolve_messages_key",
]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MESSAGES_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096
Messages = Iterable[Mapping[str, Any]]


def resolve_messages_key(api_key: str | None, environ: Mapping[str, str]) -> str | None:
    """The key given, else ``ANTHROPIC_API_KEY``, else ``None`` (no ``x-api-key`` header)."""
    if api_key is not None:
        return api_key
    return environ.get("ANTHROPIC_API_KEY") or None


def resolve_messages_base_url(base_url: str | None, environ: Mapping[str, str]) -> str:
    """The URL given, else ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``."""
    return base_url or environ.get("ANTHROPIC_BASE_URL") or DEFAULT_MESSAGES_URL


def messages_request(
    base_url: str,
    *,
    model: str,
    messages: Messages,
    max_tokens: int,
    system: Any = None,
    extra_query: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any],
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of a streaming Messages request (``None`` params left out;
    ``extra_body`` merged last and wins)."""
    if not isinstance(model, str) or not model:
        raise UsageError(f"model must be a non-empty string, got {model!r}")
    message_list = list(messages)
    if not message_list:
        raise UsageError("messages must not be empty")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise UsageError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    if params.get("stream") is False:
        raise UsageError("a messages stream always streams: stream=False is not allowed here")
    body: dict[str, Any] = {"model": model, "messages": message_list, "max_tokens": max_tokens}
    if system is not None:
        body["system"] = system
    for name, value in params.items():
        if value is not None and name != "stream":
            body[name] = value
    body["stream"] = True
    if extra_body:
        body.update(extra_body)
    url = base_url.rstrip("/") + "/v1/messages"
    if extra_query:
        url += ("&" if "?" in url else "?") + urlencode(extra_query, doseq=True)
    return url, body


# --------------------------------------------------------------------------- accumulation


class _Block:
    __slots__ = ("id", "input", "name", "pieces", "raw", "signature", "type")

    def __init__(self, start: ContentBlockStart | None, kind: str) -> None:
        self.type = start.block_type if start else kind
        self.id = start.id if start else None
        self.name = start.name if start else None
        self.raw: Mapping[str, Any] = start.block if start else EMPTY
        self.pieces: list[str] = []  # text, thinking or input JSON
        self.signature: list[str] = []
        self.input: Any = None
        if start is not None:
            first = start.block.get("text" if self.type == "text" else "thinking")
            if isinstance(first, str) and first and self.type in ("text", "thinking"):
                self.pieces.append(first)
            signature = start.block.get("signature")
            if isinstance(signature, str) and signature:
                self.signature.append(signature)

    def stop(self) -> None:
        if self.type not in TOOL_USE_TYPES:
            return
        text = "".join(self.pieces)
        if not text:
            self.input = self.raw.get("input", {})
            return
        try:
            self.input = json.loads(text)
        except ValueError:
            self.input = None  # cut short (max_tokens): ``partial_json`` keeps what came

    def block(self) -> ContentBlock:
        if self.type == "text":
            return TextBlock("".join(self.pieces))
        if self.type == "thinking":
            return ThinkingBlock("".join(self.pieces), "".join(self.signature))
        if self.type in TOOL_USE_TYPES:
            return ToolUseBlock(
                self.id, self.name or "", self.input, "".join(self.pieces), self.type
            )
        return OtherBlock(self.type, self.raw)


def _merge_usage(old: TokenUsage | None, new: TokenUsage | None) -> TokenUsage | None:
    """Cumulative counts: each field the new usage has replaces the old one's."""
    if old is None or new is None:
        return new or old
    inputs = new.input_tokens if new.input_tokens is not None else old.input_tokens
    outputs = new.output_tokens if new.output_tokens is not None else old.output_tokens
    cached = new.cached_tokens if new.cached_tokens is not None else old.cached_tokens
    raw = {**old.raw, **{key: value for key, value in new.raw.items() if value is not None}}
    total = inputs + outputs if inputs is not None and outputs is not None else None
    return TokenUsage(inputs, outputs, total, None, cached, raw)


class MessagesAccumulator:
    """Messages events in, ``Message`` out (``result()``), in linear time."""

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self.id: str | None = None
        self.model: str | None = None
        self.role: str | None = None
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.usage: TokenUsage | None = None
        self.started = False
        self.events = 0

    def _block(self, index: int, kind: str) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = _Block(None, kind)
        return block

    def add(self, event: MessageStreamEvent) -> None:
        """Take one event."""
        self.events += 1
        kind = type(event)
        if kind is TextDelta:
            assert isinstance(event, TextDelta)
            self._block(event.index, "text").pieces.append(event.text)
        elif kind is ThinkingDelta:
            assert isinstance(event, ThinkingDelta)
            self._block(event.index, "thinking").pieces.append(event.thinking)
        elif kind is InputJsonDelta:
            assert isinstance(event, InputJsonDelta)
            self._block(event.index, "tool_use").pieces.append(event.partial_json)
        elif kind is SignatureDelta:
            assert isinstance(event, SignatureDelta)
            self._block(event.index, "thinking").signature.append(event.signature)
        elif kind is ContentBlockStart:
            assert isinstance(event, ContentBlockStart)
            self._blocks[event.index] = _Block(event, event.block_type)
        elif kind is ContentBlockStop:
            assert isinstance(event, ContentBlockStop)
            block = self._blocks.get(event.index)
            if block is not None:
                block.stop()
        elif kind is MessageDelta:
            assert isinstance(event, MessageDelta)
            if event.stop_reason is not None:
                self.stop_reason = event.stop_reason
            if event.stop_sequence is not None:
                self.stop_sequence = event.stop_sequence
            self.usage = _merge_usage(self.usage, event.usage)
        elif kind is MessageStart:
            assert isinstance(event, MessageStart)
            self.started = True
            self.id, self.model, self.role = event.id, event.model, event.role
            self.usage = _merge_usage(self.usage, event.usage)

    def result(self) -> Message:
        return Message(
            self.id,
            self.model,
            self.role,
            tuple(block.block() for _, block in sorted(self._blocks.items())),
            self.stop_reason,
            self.stop_sequence,
            self.usage,
            self.events,
        )


# --------------------------------------------------------------------------- one call


class MessagesCall(ShapedCall[MessageStreamEvent, Message]):
    """One streaming Messages call: SSE events in, typed events out, and every decision."""

    shape = "an Anthropic Messages stream (message_start first)"
    api = "messages"
    terminal = "message_stop"

    def _new_attempt(self) -> None:
        self.accumulator = MessagesAccumulator()

    @property
    def events(self) -> int:
        return self.accumulator.events

    def on_event(self, event: Any) -> MessageStreamEvent | None:
        if type(event) is not ServerSentEvent:
            return None  # a comment
        name, data = event.event, event.data
        if not data:
            return None
        try:
            payload = loads(data)
        except ValueError:
            error = stream_error(event, data) if name == "error" else None
            if error is not None:
                raise self.with_partial(error) from None
            raise self.unexpected(event, data, is_json=False) from None
        if type(payload) is not dict or "choices" in payload or "object" in payload:
            raise self.unexpected(event, payload)
        error = stream_error(event, payload)
        if error is not None:
            raise self.with_partial(error)
        kind = payload.get("type")
        if type(kind) is not str or kind.startswith("response."):
            raise self.unexpected(event, payload)
        if not self.accumulator.started and kind not in ("message_start", "ping"):
            raise self.unexpected(event, payload)
        try:
            parsed = parse_message_event(kind, payload)
            self.accumulator.add(parsed)
        except InvalidChunk as exc:
            raise self.with_partial(exc) from None
        if type(parsed) is MessageStop:
            self.done = True
        elif not self.shown and type(parsed) in (TextDelta, ThinkingDelta, InputJsonDelta):
            self.shown = True
        return parsed

    def piece(self, event: MessageStreamEvent) -> StreamPiece | None:
        kind = type(event)
        if kind is TextDelta:
            assert isinstance(event, TextDelta)
            return StreamPiece("text", event.text, event.index) if event.text else None
        if kind is ThinkingDelta:
            assert isinstance(event, ThinkingDelta)
            return StreamPiece("reasoning", event.thinking, event.index) if event.thinking else None
        return None

    def result(self) -> Message:
        return self.accumulator.result()


@dataclass(frozen=True)
class MessagesSettings:
    """A Messages client's settings; ``prepare`` turns one ``stream()`` call into a request."""

    base_url: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)  # the key is in there
    timeout: Timeout
    retry: ChatRetry

    @classmethod
    def create(
        cls,
        *,
        base_url: str | None,
        api_key: str | None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None,
        timeout: Timeout | float,
        retry: ChatRetry | None,
        environ: Mapping[str, str],
    ) -> MessagesSettings:
        """The settings of a new client; every keyword is checked (``UsageError`` naming it)."""
        check_optional_str("base_url", base_url)
        check_optional_str("api_key", api_key)
        check_instance("retry", retry, ChatRetry, "a sseio.chat.ChatRetry")
        key = resolve_messages_key(api_key, environ)
        auth = [("x-api-key", key)] if key else []
        auth.append(("anthropic-version", ANTHROPIC_VERSION))
        return cls(
            resolve_messages_base_url(base_url, environ),
            tuple(merge_headers(auth, check_headers("headers", headers))),
            coerce_timeout(timeout),
            retry if retry is not None else ChatRetry(),
        )

    def prepare(
        self,
        *,
        model: str,
        messages: Messages,
        max_tokens: int,
        system: Any,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
        retry: ChatRetry | None,
        params: Mapping[str, Any],
        timeout: Timeout | float | None = None,
        rng: random.Random | None = None,
    ) -> tuple[str, dict[str, Any], list[tuple[str, str]], Timeout, MessagesCall]:
        url, body = messages_request(
            self.base_url,
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            system=system,
            extra_query=extra_query,
            extra_body=extra_body,
            params=params,
        )
        check_instance("retry", retry, ChatRetry, "a sseio.chat.ChatRetry")
        call = MessagesCall(retry if retry is not None else self.retry, rng=rng)
        extra = check_headers("extra_headers", extra_headers)
        wait = self.timeout if timeout is None else coerce_timeout(timeout)
        return url, body, merge_headers(self.headers, extra), wait, call
