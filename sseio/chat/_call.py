"""The chat layer's decisions, without I/O: the request, and one call from the inside.

``ChatCall`` is one ``stream()`` or ``create()`` call seen from the inside: it
turns each event of the body into a ``ChatChunk`` (reasoning split out of inline
``<think>`` blocks, errors sent inside the stream raised as ``APIError``, a
stream of another API's shape raised as ``UnexpectedStream`` naming it), takes
a whole ``chat.completion`` answer for ``create()`` (``on_answer``), knows
whether any text has been shown, decides after a failure whether to try again
(only while nothing has been shown, so no text is ever shown twice) and how long
to wait, and at the end of the body whether the stream was cut short
(``StreamTruncated``).  ``ChatSettings`` checks a client's keywords once and
each call's when it is made (``sseio.chat._arguments``), and prepares the
request (``PreparedCall``, the body encoded once).  The async and blocking
clients only move bytes, sleep and read clocks around them.  Accumulation is
``ChatAccumulator``'s (``sseio.chat._accumulator``); error classification and
the retry policy are in ``sseio.chat._retry``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .._core.decoder import SSEDecoder
from .._core.errors import ResponseError, SSEError, UsageError
from .._core.events import Comment, Done, ServerSentEvent, make_event
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._http.client_state import merge_headers
from .._http.observe import reconnect_reason
from .._http.reconnect import Timeout
from ._accumulator import ChatAccumulator
from ._arguments import check_call_options, check_client_options, check_messages, encode_body
from ._errors import APIError, APIStatusError, InvalidChunk, StreamTruncated
from ._foreign import CHAT_SHAPE, describe, hint, is_chat_chunk, kind_of, recognised
from ._retry import ChatRetry, retry_delay, retryable, status_error, stream_error
from ._shaped import UnexpectedStream
from ._think import DEFAULT_TAGS, ThinkSplitter
from ._types import (
    ChatChunk,
    ChatCompletion,
    ChunkChoice,
    Delta,
    loads,
    parse_chunk,
    parse_completion,
)
from ._values import build_choice, build_chunk, build_delta

__all__ = [
    "CHAT_TIMEOUT",
    "DEFAULT_BASE_URL",
    "ChatCall",
    "ChatSettings",
    "PreparedCall",
    "chat_request",
    "resolve_api_key",
    "resolve_base_url",
    "retry_reason",
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
    message_list = check_messages(messages)
    asked = params.get("stream")
    if asked is not None and asked is not stream:
        raise UsageError(
            "a chat stream always streams: stream=False is not allowed here (use create())"
            if stream
            else "create() returns the whole answer: stream=True is not allowed (use stream())"
        )
    body: dict[str, Any] = {"model": model, "messages": message_list}
    for name, value in params.items():
        if value is not None and name != "stream":
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
        streaming: bool = True,
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
        self.streaming = streaming
        self.completion: ChatCompletion | None = None
        self._new_attempt()

    def _new_attempt(self) -> None:
        self.accumulator = ChatAccumulator()
        self._splitters: dict[int, ThinkSplitter] = {}
        self._last: ChatChunk | None = None
        self._foreign: tuple[str, Any] | None = None  # the first item that was not a chunk

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
            if kind != "message":
                self._unexpected(kind, data)  # an event type this layer does not know
                return None
            raise self._with_partial(
                InvalidChunk(f"chat chunk is not JSON: {data[:60]!r}", payload=data)
            ) from None
        if kind != "message" or type(payload) is not dict or "choices" not in payload:
            error = stream_error(event, payload)
            if error is not None:
                raise self._with_partial(error)
            if kind != "message" or (not self.accumulator.chunks and not is_chat_chunk(payload)):
                self._unexpected(kind, payload)  # not a chunk
                return None
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

    def _unexpected(self, kind: str, payload: Any) -> None:
        """Something other than a chunk arrived: skipped, but before the first chunk it
        is remembered for ``on_end``, and one plainly of another API raises at once."""
        if self.accumulator.chunks:
            return
        if self._foreign is None:
            self._foreign = (kind, payload)
        if recognised(kind, payload):
            raise self._not_chat(kind, payload)

    def _not_chat(self, kind: str, payload: Any, *, ended: bool = False) -> UnexpectedStream:
        seen = describe(kind, payload)
        advice = hint(kind, payload)
        head = "the stream ended without a chat chunk: " if ended else ""
        error = UnexpectedStream(
            f"{head}expected {CHAT_SHAPE}, got {seen}" + (f"; {advice}" if advice else ""),
            expected=CHAT_SHAPE,
            seen=seen,
            event=kind,
            kind=kind_of(payload),
            payload=payload,
        )
        error.partial = self.accumulator.result()
        return error

    def _split(self, chunk: ChatChunk) -> ChatChunk:
        """Move inline reasoning blocks of each choice's content into its reasoning."""
        choices = chunk.choices
        if len(choices) == 1:  # the usual shape: skip the copies when nothing changes
            choice = choices[0]
            split = self._split_choice(choice)
            return chunk if split is choice else _with_choices(chunk, (split,))
        split_choices = tuple(self._split_choice(choice) for choice in choices)
        if all(new is old for new, old in zip(split_choices, choices, strict=True)):
            return chunk
        return _with_choices(chunk, split_choices)

    def _split_choice(self, choice: ChunkChoice) -> ChunkChoice:
        index, delta, finish = choice.index, choice.delta, choice.finish_reason
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
        new_delta = build_delta(
            delta.role,
            text if content is not None or text else content,
            reasoning if reasoning or delta.reasoning is not None else None,
            delta.tool_calls,
            delta.refusal,
            delta.raw,
        )
        return build_choice(index, new_delta, finish, choice.logprobs, choice.raw)

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
        if not chunks and self._foreign is not None:
            raise self._not_chat(*self._foreign, ended=True)
        raise self._with_partial(
            StreamTruncated(
                f"the stream ended after {chunks} chunk{'s' if chunks != 1 else ''} "
                "without [DONE] or a finish_reason"
            )
        )

    def final(self) -> ChatCompletion:
        """The whole answer: the one sent whole (``on_answer``), else what was accumulated."""
        if self.completion is not None:
            return self.completion
        return self.accumulator.result()

    # ---- a whole answer (create())

    def on_whole(self, media_type: str, body: bytes) -> bool:
        """Take the whole answer to a non-streaming request (``create()``): a JSON
        ``chat.completion``, kept for ``final()``, or an event stream sent anyway,
        read as a stream would be.  ``False``: the body is neither (then the
        caller raises).  A 200 JSON error object raises its ``APIError``, another
        JSON object ``UnexpectedStream``."""
        if media_type == "text/event-stream":
            decoder = SSEDecoder(max_event_size=max(len(body), 1))
            items = [*decoder.feed(body), *decoder.close()]
            for item in items:
                if isinstance(item, Done):
                    self.on_done()
                    return True
                self.on_event(item)
            self.on_end()
            return True
        if not _is_json(media_type):
            return False
        try:
            payload = loads(body.decode("utf-8", "replace"))
        except ValueError:
            return False  # not JSON after all: the caller raises
        if type(payload) is dict and "choices" not in payload:
            if "error" in payload or payload.get("type") == "error":
                api_error = stream_error(make_event("message", "", "", None), payload)
                if api_error is not None:
                    raise api_error
            if payload.get("object") != "chat.completion":
                seen = describe("message", payload)
                raise UnexpectedStream(
                    f"expected {COMPLETION_SHAPE}, got {seen}",
                    expected=COMPLETION_SHAPE,
                    seen=seen,
                    kind=kind_of(payload),
                    payload=payload,
                )
        self.completion = parse_completion(payload, think_tags=self._tags)
        return True

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


COMPLETION_SHAPE = "a chat.completion object"


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _with_choices(chunk: ChatChunk, choices: tuple[ChunkChoice, ...]) -> ChatChunk:
    return build_chunk(
        chunk.id,
        chunk.model,
        chunk.created,
        choices,
        chunk.usage,
        chunk.object,
        chunk.system_fingerprint,
        chunk.raw,
    )


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
    """A chat client's settings, checked; ``prepare`` turns one call into a request."""

    base_url: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)  # holds the API key
    timeout: Timeout
    retry: ChatRetry
    split_think: bool
    think_tags: tuple[tuple[str, str], ...]
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE

    @classmethod
    def create(
        cls,
        *,
        base_url: str | None,
        api_key: str | None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None,
        timeout: Timeout | float,
        retry: ChatRetry | None,
        split_think: bool,
        think_tags: Iterable[tuple[str, str]],
        environ: Mapping[str, str],
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> ChatSettings:
        pairs, checked_timeout, tags = check_client_options(
            base_url=base_url,
            api_key=api_key,
            headers=headers,
            timeout=timeout,
            retry=retry,
            split_think=split_think,
            think_tags=think_tags,
            max_event_size=max_event_size,
        )
        key = resolve_api_key(api_key, environ)
        auth = [("Authorization", f"Bearer {key}")] if key else []
        if split_think:
            ThinkSplitter(tags)  # refuses bad tags now rather than at the first chunk
        return cls(
            resolve_base_url(base_url, environ),
            tuple(merge_headers(auth, pairs)),
            checked_timeout,
            retry if retry is not None else ChatRetry(),
            split_think,
            tags,
            max_event_size,
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
        timeout: Timeout | float | None = None,
        params: Mapping[str, Any],
        stream: bool = True,
    ) -> PreparedCall:
        """One call's request, checked: a wrong argument raises ``UsageError`` here."""
        call_timeout = check_call_options(
            temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"),
            hide_think=hide_think,
            tools=params.get("tools"),
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            split_think=split_think,
            retry=retry,
            timeout=timeout,
        )
        url, body = chat_request(
            self.base_url,
            model=model,
            messages=messages,
            stream=stream,
            hide_think=hide_think,
            extra_query=extra_query,
            extra_body=extra_body,
            params=params,
        )
        call = ChatCall(
            retry if retry is not None else self.retry,
            split_think=self.split_think if split_think is None else split_think,
            think_tags=self.think_tags,
            streaming=stream,
        )
        headers = merge_headers(self.headers, extra_headers)
        names = {name.lower() for name, _ in headers}
        if "content-type" not in names:
            headers.append(("Content-Type", "application/json"))
        if not stream and "accept" not in names:
            headers.append(("Accept", "application/json"))
        return PreparedCall(
            url, body, encode_body(body), headers, call_timeout or self.timeout, call
        )


@dataclass(frozen=True)
class PreparedCall:
    """One call, ready to send: where, the body (as given and as bytes), headers, timeout,
    and the ``ChatCall`` that decides everything about it."""

    url: str
    body: dict[str, Any]
    content: bytes
    headers: list[tuple[str, str]]
    timeout: Timeout
    call: ChatCall


def retry_reason(error: SSEError) -> str:
    """Why a chat request is sent again, in a few lowercase words (for logs and hooks)."""
    if isinstance(error, APIStatusError):
        return f"status {error.status_code}"
    if isinstance(error, APIError):
        return f"api error {error.code or error.type or ''}".rstrip()
    if isinstance(error, StreamTruncated):
        return "stream ended early"
    return reconnect_reason(error)
