"""The chat layer's decisions, without I/O: requests, chunks, accumulation, errors, retries.

``ChatAccumulator`` folds chunks into the whole message per choice (content,
reasoning, role, tool calls assembled from index-keyed fragments in any
order, finish reason, usage) in time linear in the number of chunks: pieces
are kept in lists and joined once per ``result()``.

``ChatCall`` is one ``stream()`` call seen from the inside: it turns each
event of the body into a ``ChatChunk`` (reasoning split out of inline
``<think>`` blocks, errors sent inside the stream raised as ``APIError``),
knows whether any text has been shown, decides after a failure whether to try
again (only while nothing has been shown, so no text is ever shown twice) and
how long to wait, and at the end of the body whether the stream was cut short
(``StreamTruncated``).  The async and blocking clients only move bytes, sleep
and read clocks around it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ._chat_types import (
    ChatChoice,
    ChatChunk,
    ChatCompletion,
    ChatMessage,
    ChunkChoice,
    Delta,
    FunctionCall,
    ToolCall,
    Usage,
    loads,
    parse_chunk,
)
from ._client import merge_headers
from ._errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidChunk,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RemoteProtocolError,
    ResponseError,
    SSEError,
    StreamTruncated,
    TransportError,
    UnprocessableEntityError,
    UsageError,
)
from ._events import Comment, ServerSentEvent
from ._reconnect import Timeout, retry_after_seconds
from ._think import DEFAULT_TAGS, ThinkSplitter

__all__ = [
    "CHAT_TIMEOUT",
    "DEFAULT_BASE_URL",
    "NO_RETRY",
    "ChatAccumulator",
    "ChatCall",
    "ChatRetry",
    "ChatSettings",
    "chat_request",
    "resolve_api_key",
    "resolve_base_url",
    "status_error",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
API_KEY_VARIABLES = ("SSEIO_API_KEY", "OPENAI_API_KEY")
BASE_URL_VARIABLES = ("SSEIO_BASE_URL", "OPENAI_BASE_URL")


def resolve_api_key(api_key: str | None, environ: Mapping[str, str]) -> str | None:
    """The key given, else ``SSEIO_API_KEY``, else ``OPENAI_API_KEY``, else ``None`` (no header)."""
    if api_key is not None:
        return api_key
    return next((environ[name] for name in API_KEY_VARIABLES if environ.get(name)), None)


def resolve_base_url(base_url: str | None, environ: Mapping[str, str]) -> str:
    """The URL given, else ``SSEIO_BASE_URL``, else ``OPENAI_BASE_URL``, else OpenAI's."""
    if base_url:
        return base_url
    return next(
        (environ[name] for name in BASE_URL_VARIABLES if environ.get(name)), DEFAULT_BASE_URL
    )


def chat_request(
    base_url: str,
    *,
    model: str,
    messages: Iterable[Mapping[str, Any]],
    stream: bool = True,
    hide_think: bool | None = None,
    extra_query: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any],
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of a chat completion request.

    ``params`` are the other OpenAI parameters (``temperature``, ``tools``...):
    ``None`` values are left out; ``hide_think`` is sent as ``hideThink``;
    ``extra_body`` is merged last and wins.
    """
    if not isinstance(model, str) or not model:
        raise UsageError(f"model must be a non-empty string, got {model!r}")
    message_list = list(messages)
    if not message_list:
        raise UsageError("messages must not be empty")
    body: dict[str, Any] = {"model": model, "messages": message_list}
    for name, value in params.items():
        if value is not None:
            body[name] = value
    if hide_think is not None:
        body["hideThink"] = hide_think
    body["stream"] = stream
    if extra_body:
        body.update(extra_body)
    url = base_url.rstrip("/") + "/chat/completions"
    if extra_query:
        url += ("&" if "?" in url else "?") + urlencode(extra_query, doseq=True)
    return url, body


# --------------------------------------------------------------------------- errors

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_RETRYABLE_WORDS = (
    "overload",
    "rate_limit",
    "server_error",
    "internal",
    "unavailable",
    "timeout",
    "capacity",
    "busy",
)


def _error_fields(payload: Any) -> tuple[str | None, str | None, Any, str | None]:
    """(message, type, code, param) from an error payload in any of the common shapes."""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, str):
        return error, None, None, None
    if not isinstance(error, dict):
        return None, None, None, None
    message = error.get("message") or error.get("detail") or error.get("msg")
    kind = error.get("type")
    if kind == "error":  # {"type": "error", "error": {...}} with the inner object missing
        kind = None
    code = error.get("code")
    param = error.get("param")
    return (
        None if message is None else str(message),
        kind if isinstance(kind, str) else None,
        code if isinstance(code, (str, int)) and not isinstance(code, bool) else None,
        param if isinstance(param, str) else None,
    )


def _retryable(kind: str | None, code: Any) -> bool:
    if isinstance(code, int) and (code == 429 or code >= 500):
        return True
    words = f"{kind or ''} {code or ''}".lower()
    return any(word in words for word in _RETRYABLE_WORDS)


def status_error(error: ResponseError, wall_clock: float) -> SSEError:
    """The typed API error for an error status; other answers (a 200 HTML page) stay as they are."""
    status = error.status_code
    if status < 400:
        return error
    message, kind, code, param = _error_fields(error.json)
    cls = _STATUS_ERRORS.get(status, InternalServerError if status >= 500 else APIStatusError)
    text = message or error.message or f"the server answered {status}"
    return cls(
        text,
        response=error,
        type=kind,
        code=code,
        param=param,
        payload=error.json,
        retryable=status in (408, 429) or status >= 500,
        retry_after=retry_after_seconds(error.header("retry-after"), wall_clock),
    )


def stream_error(event: ServerSentEvent, payload: Any) -> APIError | None:
    """The error an event reports, if it is one: ``event: error``, ``{"error": ...}``,
    or ``{"type": "error", ...}``; ``None`` for an ordinary chunk."""
    if event.event != "error":
        if not isinstance(payload, dict) or "choices" in payload:
            return None
        if "error" not in payload and payload.get("type") != "error":
            return None
    message, kind, code, _param = _error_fields(payload)
    if message is None:
        message = event.data if not isinstance(payload, dict) else "the server reported an error"
    return APIError(
        message,
        type=kind,
        code=code,
        param=_param,
        payload=payload,
        retryable=_retryable(kind, code),
    )


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class ChatRetry:
    """When a chat stream is tried again: transient failures only, and only while
    no text has been shown.

    Retried: connection failures and timeouts, a broken or empty body, 408,
    429 and 5xx answers, and errors inside the stream that say so (overload,
    rate limit, server error).  The wait grows from ``delay`` by ``backoff``
    per attempt up to ``max_delay``, less up to ``jitter`` of it at random, and
    is at least the server's ``Retry-After``; a ``Retry-After`` longer than
    ``max_retry_after`` is not waited for.  ``max_retries`` attempts after the
    first, within ``max_elapsed`` seconds.
    """

    max_retries: int = 2
    delay: float = 0.5
    backoff: float = 2.0
    max_delay: float = 8.0
    jitter: float = 0.25
    max_elapsed: float | None = 120.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise UsageError(f"max_retries must be an int, got {self.max_retries!r}")
        if self.max_retries < 0:
            raise UsageError(f"max_retries must be >= 0, got {self.max_retries}")
        if not 0 <= self.delay <= self.max_delay:
            raise UsageError(f"need 0 <= delay <= max_delay, got {self.delay}, {self.max_delay}")
        if not self.backoff >= 1:
            raise UsageError(f"backoff must be >= 1, got {self.backoff}")
        if not 0 <= self.jitter <= 1:
            raise UsageError(f"jitter must be within 0..1, got {self.jitter}")


NO_RETRY = ChatRetry(max_retries=0)


def retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed."""
    if isinstance(error, APIError):
        return error.retryable
    if isinstance(error, (InvalidChunk, ResponseError)):
        return False  # a 200 that is not a stream, or a payload that is not a chunk
    if isinstance(error, StreamTruncated):
        return True
    return isinstance(error, (TransportError, RemoteProtocolError))


# --------------------------------------------------------------------------- accumulation


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
        self.chunks += 1
        if self.id is None:
            self.id, self.model, self.created = chunk.id, chunk.model, chunk.created
        if chunk.system_fingerprint is not None:
            self.system_fingerprint = chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        for index, delta, finish, _, _ in chunk.choices:
            parts = self._choices.get(index)
            if parts is None:
                parts = self._choices[index] = _ChoiceParts()
            role, content, reasoning, tool_calls, refusal, _ = delta
            if content is not None:
                if parts.content is None:
                    parts.content = [content]
                else:
                    parts.content.append(content)
            if role is not None:
                parts.role = role
            if reasoning is not None:
                if parts.reasoning is None:
                    parts.reasoning = [reasoning]
                else:
                    parts.reasoning.append(reasoning)
            if tool_calls:
                parts.add_tool_calls(tool_calls)
            if refusal is not None:
                if parts.refusal is None:
                    parts.refusal = [refusal]
                else:
                    parts.refusal.append(refusal)
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


# --------------------------------------------------------------------------- one call


class ChatCall:
    """One streaming chat call: events in, typed chunks out, and every decision.

    ``split_think`` (on by default) moves ``<think>``/``<ser>`` blocks found in
    ``delta.content`` into ``delta.reasoning``; ``think_tags`` sets the tags.
    """

    def __init__(
        self,
        retry: ChatRetry,
        *,
        split_think: bool = True,
        think_tags: Iterable[tuple[str, str]] = DEFAULT_TAGS,
        rng: random.Random | None = None,
    ) -> None:
        self.retry = retry
        self._tags = tuple(think_tags) if split_think else ()
        ThinkSplitter(self._tags) if self._tags else None  # validates the tags now
        self._rng = rng or random.Random()
        self.attempts = 0  # failures counted against the policy
        self.retries = 0  # attempts made again after a failure
        self._first_failure: float | None = None
        self.shown = False
        self.done = False
        self._new_attempt()

    def _new_attempt(self) -> None:
        self.accumulator = ChatAccumulator()
        self._splitters: dict[int, ThinkSplitter] = {}
        self._last: ChatChunk | None = None

    # ---- chunks

    def on_event(self, event: ServerSentEvent | Comment) -> ChatChunk | None:
        """The chunk an event carries; ``None`` for an event that carries none."""
        if type(event) is not ServerSentEvent:
            return None
        kind, data, _, _ = event
        if not data:
            return None
        try:
            payload = loads(data)
        except ValueError:
            if kind == "error":
                raise self._with_partial(APIError(data, payload=data, retryable=False)) from None
            raise self._with_partial(
                InvalidChunk(f"chat chunk is not JSON: {data[:60]!r}", payload=data)
            ) from None
        if kind != "message" or type(payload) is not dict or "choices" not in payload:
            error = stream_error(event, payload)
            if error is not None:
                raise self._with_partial(error)
            if kind != "message":
                return None  # an event type this layer does not know: not a chunk
        try:
            chunk = parse_chunk(payload)
        except InvalidChunk as exc:
            raise self._with_partial(exc) from None
        if self._tags and chunk.choices:
            chunk = self._split(chunk)
        self.accumulator.add(chunk)
        self._last = chunk
        if not self.shown:
            self.shown = _shows_text(chunk)
        return chunk

    def _split(self, chunk: ChatChunk) -> ChatChunk:
        """Move inline reasoning blocks of each choice's content into its reasoning."""
        choices = chunk.choices
        if len(choices) == 1:  # the usual shape: skip the copies when nothing changes
            choice = choices[0]
            split = self._split_choice(choice)
            return chunk if split is choice else chunk._replace(choices=(split,))
        split_choices = tuple(self._split_choice(choice) for choice in choices)
        if all(new is old for new, old in zip(split_choices, choices, strict=True)):
            return chunk
        return chunk._replace(choices=split_choices)

    def _split_choice(self, choice: ChunkChoice) -> ChunkChoice:
        index, delta, finish, _, _ = choice
        content = delta.content
        splitter = self._splitters.get(index)
        if splitter is None:
            if (content is None or "<" not in content) and finish is None:
                return choice
            splitter = self._splitters[index] = ThinkSplitter(self._tags)
        text, thought = splitter.feed(content) if content else ("", "")
        if finish is not None:
            more_text, more_thought = splitter.close()
            text += more_text
            thought += more_thought
        if not thought and text == (content or ""):
            return choice
        reasoning = thought if delta.reasoning is None else delta.reasoning + thought
        new_delta = delta._replace(
            content=text if content is not None or text else content,
            reasoning=reasoning if reasoning or delta.reasoning is not None else None,
        )
        return choice._replace(delta=new_delta)

    def on_done(self) -> ChatChunk | None:
        """``[DONE]`` arrived: release text a splitter still holds, as one last chunk."""
        self.done = True
        held: list[ChunkChoice] = []
        for index, splitter in sorted(self._splitters.items()):
            text, thought = splitter.close()
            if text or thought:
                held.append(
                    ChunkChoice(index, Delta(content=text or None, reasoning=thought or None))
                )
        if not held:
            return None
        last = self._last
        chunk = ChatChunk(
            last.id if last else None,
            last.model if last else None,
            last.created if last else None,
            tuple(held),
        )
        self.accumulator.add(chunk)
        self.shown = True
        return chunk

    def on_end(self) -> None:
        """The body ended: ``StreamTruncated`` unless ``[DONE]`` or every finish reason came."""
        if self.done or self.accumulator.finished:
            return
        chunks = self.accumulator.chunks
        raise self._with_partial(
            StreamTruncated(
                f"the stream ended after {chunks} chunk{'s' if chunks != 1 else ''} "
                "without [DONE] or a finish_reason"
            )
        )

    def final(self) -> ChatCompletion:
        return self.accumulator.result()

    def _with_partial(self, error: SSEError) -> SSEError:
        if isinstance(error, (APIError, StreamTruncated, InvalidChunk)):
            error.partial = self.accumulator.result()
        return error

    # ---- failures

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
        policy = self.retry
        if self.shown or not retryable(error):
            return None
        if self._first_failure is None:
            self._first_failure = now
        self.attempts += 1
        if self.attempts > policy.max_retries:
            return None
        if policy.max_elapsed is not None and now - self._first_failure > policy.max_elapsed:
            return None
        delay = min(policy.delay * policy.backoff ** min(self.attempts - 1, 64), policy.max_delay)
        delay *= 1 - policy.jitter * self._rng.random()
        asked = error.retry_after if isinstance(error, APIStatusError) else None
        if asked is not None:
            if asked > policy.max_retry_after:
                return None
            delay = max(delay, asked)
        self._new_attempt()
        self.retries += 1
        return delay

    def give_up(self, error: SSEError) -> SSEError:
        """The error to raise: after text was shown, a failure of the connection is a
        truncation carrying the partial result; API errors carry it too."""
        if self.shown and not isinstance(error, (APIError, StreamTruncated, InvalidChunk)):
            truncated = StreamTruncated(
                f"the stream broke after part of the answer was shown: {error}",
                partial=self.accumulator.result(),
            )
            truncated.__cause__ = error
            return truncated
        return self._with_partial(error)


def _shows_text(chunk: ChatChunk) -> bool:
    for choice in chunk.choices:
        delta = choice.delta
        if delta.content or delta.reasoning or delta.tool_calls or delta.refusal:
            return True
    return False


# --------------------------------------------------------------------------- settings

CHAT_TIMEOUT = Timeout(connect=10.0, read=120.0, write=30.0, event=None)
"""Chat defaults: reasoning models can think for a long time before the first token."""


@dataclass(frozen=True)
class ChatSettings:
    """A chat client's settings; ``prepare`` turns one ``stream()`` call into a request."""

    base_url: str
    headers: tuple[tuple[str, str], ...]
    timeout: Timeout
    retry: ChatRetry
    split_think: bool
    think_tags: tuple[tuple[str, str], ...]

    @classmethod
    def create(
        cls,
        *,
        base_url: str | None,
        api_key: str | None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None,
        timeout: Timeout,
        retry: ChatRetry | None,
        split_think: bool,
        think_tags: Iterable[tuple[str, str]],
        environ: Mapping[str, str],
    ) -> ChatSettings:
        key = resolve_api_key(api_key, environ)
        auth = [("Authorization", f"Bearer {key}")] if key else []
        tags = tuple((str(open_tag), str(close_tag)) for open_tag, close_tag in think_tags)
        if split_think:
            ThinkSplitter(tags)  # refuses bad tags now rather than at the first chunk
        return cls(
            resolve_base_url(base_url, environ),
            tuple(merge_headers(auth, headers)),
            timeout,
            retry if retry is not None else ChatRetry(),
            split_think,
            tags,
        )

    def prepare(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        hide_think: bool | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
        split_think: bool | None,
        retry: ChatRetry | None,
        params: Mapping[str, Any],
    ) -> tuple[str, dict[str, Any], list[tuple[str, str]], ChatCall]:
        url, body = chat_request(
            self.base_url,
            model=model,
            messages=messages,
            hide_think=hide_think,
            extra_query=extra_query,
            extra_body=extra_body,
            params=params,
        )
        call = ChatCall(
            retry if retry is not None else self.retry,
            split_think=self.split_think if split_think is None else split_think,
            think_tags=self.think_tags,
        )
        return url, body, merge_headers(self.headers, extra_headers), call
