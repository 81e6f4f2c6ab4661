"""The Responses stream's decisions, without I/O: the request, and one call from the inside.

``responses_request`` builds ``POST {base_url}/responses`` with ``stream: true``;
``ResponsesSettings`` holds a client's settings (the key from ``api_key=``,
``SSEIO_API_KEY`` or ``OPENAI_API_KEY``, the base URL from ``base_url=``,
``SSEIO_BASE_URL`` or ``OPENAI_BASE_URL``, as the chat client resolves them).
``ResponsesCall`` turns each SSE event into a typed event (``error`` events and
``response.failed`` raised as ``APIError``; anything that is not a
``response.*`` event, such as a chat chunk, raised as ``UnexpectedStream``),
accumulates them, and at the end of the body says whether the stream was cut
short: only ``response.completed`` and ``response.incomplete`` end it.  Retry
and give-up decisions are ``ShapedCall``'s.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .._core.errors import UsageError
from .._core.events import ServerSentEvent
from .._http.arguments import check_headers, check_instance, check_optional_str, coerce_timeout
from .._http.client_state import merge_headers
from .._http.reconnect import Timeout
from ._call import resolve_api_key, resolve_base_url
from ._errors import APIError, InvalidChunk
from ._responses_accumulator import ResponsesAccumulator
from ._responses_types import (
    TERMINAL_TYPES,
    FunctionCallArgumentsDelta,
    ModelResponse,
    OutputTextDelta,
    ReasoningDelta,
    ResponseStreamEvent,
    parse_response_event,
)
from ._retry import ChatRetry, stream_error
from ._shaped import ShapedCall, StreamPiece
from ._types import loads

__all__ = ["ResponsesCall", "ResponsesSettings", "responses_request"]


def _extend(url: str, extra_query: Mapping[str, Any] | None) -> str:
    if extra_query:
        url += ("&" if "?" in url else "?") + urlencode(extra_query, doseq=True)
    return url


def responses_request(
    base_url: str,
    *,
    model: str,
    input: Any,
    extra_query: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any],
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of a streaming Responses request.

    ``input`` is a string or a list of input items; ``params`` are the other
    parameters (``instructions``, ``tools``, ``reasoning``...), ``None`` values
    left out; ``extra_body`` is merged last and wins.
    """
    if not isinstance(model, str) or not model:
        raise UsageError(f"model must be a non-empty string, got {model!r}")
    if isinstance(input, (list, tuple)):
        input = list(input)
    if not isinstance(input, (str, list)) or not input:
        raise UsageError(f"input must be a non-empty string or list of items, got {input!r}")
    if params.get("stream") is False:
        raise UsageError("a responses stream always streams: stream=False is not allowed here")
    body: dict[str, Any] = {"model": model, "input": input}
    for name, value in params.items():
        if value is not None and name != "stream":
            body[name] = value
    body["stream"] = True
    if extra_body:
        body.update(extra_body)
    return _extend(base_url.rstrip("/") + "/responses", extra_query), body


class ResponsesCall(ShapedCall[ResponseStreamEvent, ModelResponse]):
    """One streaming Responses call: SSE events in, typed events out, and every decision."""

    shape = "an OpenAI Responses stream (response.* events)"
    api = "responses"
    terminal = "response.completed, response.incomplete or response.failed"

    def _new_attempt(self) -> None:
        self.accumulator = ResponsesAccumulator()

    @property
    def events(self) -> int:
        return self.accumulator.events

    def on_event(self, event: Any) -> ResponseStreamEvent | None:
        if type(event) is not ServerSentEvent:
            return None  # a comment
        name, data = event.event, event.data
        if not data:
            return None
        try:
            payload = loads(data)
        except ValueError:
            if name == "error":
                raise self.with_partial(APIError(data, payload=data)) from None
            raise self.unexpected(event, data, is_json=False) from None
        if type(payload) is not dict or "choices" in payload or "object" in payload:
            raise self.unexpected(event, payload)
        error = stream_error(event, payload)
        if error is not None:
            raise self.with_partial(error)
        kind = payload.get("type")
        if kind is None and name.startswith("response."):
            kind = name
        if type(kind) is not str or not kind.startswith("response."):
            raise self.unexpected(event, payload)
        if kind == "response.failed":
            raise self.with_partial(_failed(event, payload))
        try:
            parsed = parse_response_event(kind, payload)
        except InvalidChunk as exc:
            raise self.with_partial(exc) from None
        self.accumulator.add(parsed)
        if kind in TERMINAL_TYPES:
            self.done = True
        if not self.shown:
            self.shown = self.piece(parsed) is not None or (
                type(parsed) is FunctionCallArgumentsDelta and bool(parsed.delta)
            )
        return parsed

    def piece(self, event: ResponseStreamEvent) -> StreamPiece | None:
        kind = type(event)
        if kind is OutputTextDelta:
            assert isinstance(event, OutputTextDelta)
            return StreamPiece("text", event.delta, event.output_index) if event.delta else None
        if kind is ReasoningDelta:
            assert isinstance(event, ReasoningDelta)
            return (
                StreamPiece("reasoning", event.delta, event.output_index) if event.delta else None
            )
        return None

    def result(self) -> ModelResponse:
        return self.accumulator.result()


def _failed(event: ServerSentEvent, payload: dict[str, Any]) -> APIError:
    """The ``APIError`` of a ``response.failed`` event: its ``response.error``."""
    response = payload.get("response")
    error = response.get("error") if type(response) is dict else None
    if type(error) is not dict:
        error = {"message": "the response failed"}
    elif not error.get("message"):
        error = {**error, "message": "the response failed"}
    typed = stream_error(event._replace(event="error"), error)
    assert typed is not None  # an event named "error" always is one
    typed.payload = payload
    return typed


@dataclass(frozen=True)
class ResponsesSettings:
    """A Responses client's settings; ``prepare`` turns one ``stream()`` call into a request."""

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
    ) -> ResponsesSettings:
        """The settings of a new client; every keyword is checked (``UsageError`` naming it)."""
        check_optional_str("base_url", base_url)
        check_optional_str("api_key", api_key)
        check_instance("retry", retry, ChatRetry, "a sseio.chat.ChatRetry")
        key = resolve_api_key(api_key, environ)
        auth = [("Authorization", f"Bearer {key}")] if key else []
        return cls(
            resolve_base_url(base_url, environ),
            tuple(merge_headers(auth, check_headers("headers", headers))),
            coerce_timeout(timeout),
            retry if retry is not None else ChatRetry(),
        )

    def prepare(
        self,
        *,
        model: str,
        input: Any,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
        retry: ChatRetry | None,
        params: Mapping[str, Any],
        timeout: Timeout | float | None = None,
        rng: random.Random | None = None,
    ) -> tuple[str, dict[str, Any], list[tuple[str, str]], Timeout, ResponsesCall]:
        url, body = responses_request(
            self.base_url,
            model=model,
            input=input,
            extra_query=extra_query,
            extra_body=extra_body,
            params=params,
        )
        check_instance("retry", retry, ChatRetry, "a sseio.chat.ChatRetry")
        call = ResponsesCall(retry if retry is not None else self.retry, rng=rng)
        extra = check_headers("extra_headers", extra_headers)
        wait = self.timeout if timeout is None else coerce_timeout(timeout)
        return url, body, merge_headers(self.headers, extra), wait, call
