"""The blocking Responses and Messages clients: ``ResponsesClient``, ``MessagesClient``.

Generated from ``sseio/chat/_streams_async.py`` by ``tools/unasync.py``: do not edit it; edit the
async module and run ``python tools/unasync.py``.  The async module's docstring
says what this code does and guarantees; here it runs on blocking sockets.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from logging import INFO, getLogger
from typing import Any, Generic, Literal, TypeVar

from .._core.errors import SSEError, UsageError
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._http.arguments import ClientCert
from .._http.exchange import Response
from .._http.observe import Hooks, RetryScheduled, redacted_url
from .._http.proxy import Proxy
from .._http.reconnect import NO_RECONNECT, Timeout
from .._io import socket_backend as backend
from .._io.sync_client import Client, EventSource
from .._io.tls import SSLContext
from ._call import CHAT_TIMEOUT, retry_reason
from ._messages_call import DEFAULT_MAX_TOKENS, Messages, MessagesSettings
from ._messages_types import Message, MessageStreamEvent
from ._responses_call import ResponsesSettings
from ._responses_types import ModelResponse, ResponseStreamEvent
from ._retry import ChatRetry
from ._shaped import ShapedCall, StreamPiece
from ._transport_sync import chat_transport, own_options

__all__ = [
    "MessagesClient",
    "MessagesStream",
    "ResponsesClient",
    "ResponsesStream",
]

_log = getLogger("sseio.chat")

EventT = TypeVar("EventT")
ResultT = TypeVar("ResultT")
StreamT = TypeVar("StreamT", bound="_ShapedStream[Any, Any]")


class _ShapedStream(Generic[EventT, ResultT]):
    """One streaming call: iterate it for typed events.

    ``text()`` yields the answer text only; ``pieces()`` yields ``StreamPiece``
    values, answer and reasoning text told apart by ``kind``; ``final()``
    reads the rest of the stream and returns the whole result; ``partial()``
    what has arrived so far.  Failures before any text is shown are retried as
    the ``ChatRetry`` policy says; after that they are raised with the partial
    result attached (``exc.partial``).
    """

    def __init__(
        self,
        http: Client,
        url: str,
        body: dict[str, Any],
        headers: list[tuple[str, str]],
        timeout: Timeout,
        call: ShapedCall[EventT, ResultT],
        max_event_size: int,
        hooks: Hooks | None = None,
    ) -> None:
        self._http = http
        self._hooks = hooks
        self._shown_url = redacted_url(url)
        self._url = url
        self.body = body
        self._headers = headers
        self._timeout = timeout
        self._call = call
        self._max_event_size = max_event_size
        self._events = self._iterate()
        self._source: EventSource[Any] | None = None  # the event source open now, if any
        self._closed = False
        self.response: Response | None = None

    @property
    def done(self) -> bool:
        """Whether the stream's terminal event arrived."""
        return self._call.done

    @property
    def retries(self) -> int:
        """How many times the request was sent again after a failure."""
        return self._call.retries

    def __enter__(self: StreamT) -> StreamT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the connection; from another task or thread too,
        where the iterating code then ends quietly."""
        self._closed = True
        source = self._source
        if source is not None and backend.running(self._events):
            source.close()
            return
        self._events.close()

    def __iter__(self) -> Iterator[EventT]:
        return self._events

    def piece(self, event: EventT) -> StreamPiece | None:
        """The answer or reasoning text one of this stream's events carries, if any."""
        return self._call.piece(event)

    def pieces(self) -> Iterator[StreamPiece]:
        """Answer and reasoning text as it arrives, told apart by ``kind``."""
        piece = self._call.piece
        for event in self._events:
            found = piece(event)
            if found is not None:
                yield found

    def text(self) -> Iterator[str]:
        """The answer text, piece by piece (reasoning left out)."""
        for found in self.pieces():
            if found.kind == "text":
                yield found.text

    def final(self) -> ResultT:
        """Read whatever is left, then return the whole result."""
        for _ in self._events:
            pass
        return self._call.result()

    def partial(self) -> ResultT:
        """The result so far."""
        return self._call.result()

    def _iterate(self) -> Generator[EventT, None, None]:
        call = self._call
        while True:
            try:
                with self._http.stream(
                    "POST",
                    self._url,
                    headers=self._headers,
                    json=self.body,
                    timeout=self._timeout,
                    reconnect=NO_RECONNECT,
                    max_event_size=self._max_event_size,
                ) as source:
                    self._source = source
                    self.response = source.response
                    for event in source:
                        typed = call.on_event(event)
                        if typed is not None:
                            yield typed
                    if self._closed:
                        return  # closed by the caller, from another thread or task
                    if source.done:
                        call.on_done()
                    call.on_end()
                return
            except SSEError as exc:
                error = call.classify(exc, backend.wall_clock())
                delay = call.decide(error, now=backend.now(), wall_clock=backend.wall_clock())
                if delay is None:
                    given_up = call.give_up(error)
                    _log.warning(
                        "giving up on %s after %d retries: %s",
                        self._shown_url,
                        call.retries,
                        given_up,
                    )
                    raise given_up  # noqa: B904 (the original is its cause or context)
                self._retrying(error, delay)
                backend.sleep(delay)

    def _retrying(self, error: SSEError, delay: float) -> None:
        """Tell the log and the hook that the request will be sent again."""
        hook = self._hooks.retry_scheduled if self._hooks else None
        if hook is None and not _log.isEnabledFor(INFO):
            return
        scheduled = RetryScheduled(
            self._shown_url, retry_reason(error), self._call.retries, delay, error
        )
        _log.info(
            "retrying %s in %.2fs (attempt %d, %s)",
            scheduled.url,
            delay,
            scheduled.attempt,
            scheduled.reason,
        )
        if hook is not None:
            backend.call_hook(hook, scheduled)


class ResponsesStream(_ShapedStream[ResponseStreamEvent, ModelResponse]):
    """One streaming response (OpenAI Responses API): typed ``response.*`` events,
    accumulated into a ``ModelResponse``."""


class MessagesStream(_ShapedStream[MessageStreamEvent, Message]):
    """One streaming message (Anthropic Messages API): typed events, accumulated into
    a ``Message``."""


class _ShapedClient:
    """What both clients share: the connection pool and its options."""

    def __init__(
        self,
        *,
        ssl_context: SSLContext | None,
        verify: bool,
        max_event_size: int,
        hooks: Hooks | None,
        proxy: str | Proxy | None,
        trust_env: bool,
        timeout: Timeout,
        cert: ClientCert | None,
        trust: Literal["certifi", "system"],
        http_client: Any = None,
    ) -> None:
        if isinstance(max_event_size, bool) or not isinstance(max_event_size, int):
            raise UsageError(f"max_event_size must be an int, got {max_event_size!r}")
        self._max_event_size = max_event_size
        self._hooks = hooks
        self._http = chat_transport(
            http_client,
            timeout=timeout,
            hooks=hooks,
            own_options=own_options(
                ssl_context=ssl_context,
                verify=verify,
                proxy=proxy,
                trust_env=trust_env,
                cert=cert,
                trust=trust,
            ),
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._http.close()


class ResponsesClient(_ShapedClient):
    """A client for the OpenAI Responses API (``POST {base_url}/responses``), with a
    keep-alive connection pool.

    ``base_url`` defaults to ``SSEIO_BASE_URL``, then ``OPENAI_BASE_URL``, then
    OpenAI's; ``api_key`` to ``SSEIO_API_KEY``, then ``OPENAI_API_KEY`` (no
    ``Authorization`` header without one).  ``retry`` is the ``ChatRetry`` policy.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        timeout: Timeout | float = CHAT_TIMEOUT,
        retry: ChatRetry | None = None,
        ssl_context: SSLContext | None = None,
        verify: bool = True,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        hooks: Hooks | None = None,
        proxy: str | Proxy | None = None,
        trust_env: bool = True,
        cert: ClientCert | None = None,
        trust: Literal["certifi", "system"] = "certifi",
        http_client: Any = None,
    ) -> None:
        self.settings = ResponsesSettings.create(
            base_url=base_url,
            api_key=api_key,
            headers=headers,
            timeout=timeout,
            retry=retry,
            environ=os.environ,
        )
        super().__init__(
            ssl_context=ssl_context,
            verify=verify,
            max_event_size=max_event_size,
            hooks=hooks,
            proxy=proxy,
            trust_env=trust_env,
            timeout=self.settings.timeout,
            cert=cert,
            trust=trust,
            http_client=http_client,
        )

    def stream(
        self,
        *,
        model: str,
        input: Any,
        instructions: str | None = None,
        max_output_tokens: int | None = None,
        tools: list[Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        retry: ChatRetry | None = None,
        timeout: Timeout | float | None = None,
        **params: Any,
    ) -> ResponsesStream:
        """Start a streaming response; ``input`` is a string or a list of input items, and
        other Responses parameters (``reasoning``, ``temperature``...) go in ``params``."""
        url, body, headers, wait, call = self.settings.prepare(
            model=model,
            input=input,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            retry=retry,
            timeout=timeout,
            params={
                "instructions": instructions,
                "max_output_tokens": max_output_tokens,
                "tools": tools,
                **params,
            },
        )
        return ResponsesStream(
            self._http,
            url,
            body,
            headers,
            wait,
            call,
            self._max_event_size,
            self._hooks,
        )

    def __enter__(self) -> ResponsesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MessagesClient(_ShapedClient):
    """A client for the Anthropic Messages API (``POST {base_url}/v1/messages``), with a
    keep-alive connection pool.

    ``base_url`` defaults to ``ANTHROPIC_BASE_URL``, then
    ``https://api.anthropic.com``; ``api_key`` to ``ANTHROPIC_API_KEY``, sent as
    ``x-api-key`` with ``anthropic-version: 2023-06-01``.  ``retry`` is the
    ``ChatRetry`` policy.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        timeout: Timeout | float = CHAT_TIMEOUT,
        retry: ChatRetry | None = None,
        ssl_context: SSLContext | None = None,
        verify: bool = True,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        hooks: Hooks | None = None,
        proxy: str | Proxy | None = None,
        trust_env: bool = True,
        cert: ClientCert | None = None,
        trust: Literal["certifi", "system"] = "certifi",
        http_client: Any = None,
    ) -> None:
        self.settings = MessagesSettings.create(
            base_url=base_url,
            api_key=api_key,
            headers=headers,
            timeout=timeout,
            retry=retry,
            environ=os.environ,
        )
        super().__init__(
            ssl_context=ssl_context,
            verify=verify,
            max_event_size=max_event_size,
            hooks=hooks,
            proxy=proxy,
            trust_env=trust_env,
            timeout=self.settings.timeout,
            cert=cert,
            trust=trust,
            http_client=http_client,
        )

    def stream(
        self,
        *,
        model: str,
        messages: Messages,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        system: Any = None,
        tools: list[Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        retry: ChatRetry | None = None,
        timeout: Timeout | float | None = None,
        **params: Any,
    ) -> MessagesStream:
        """Start a streaming message; ``max_tokens`` (which the API requires) is 4096
        unless given, and other Messages parameters (``thinking``, ``temperature``...)
        go in ``params``."""
        url, body, headers, wait, call = self.settings.prepare(
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            system=system,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            retry=retry,
            timeout=timeout,
            params={"tools": tools, **params},
        )
        return MessagesStream(
            self._http,
            url,
            body,
            headers,
            wait,
            call,
            self._max_event_size,
            self._hooks,
        )

    def __enter__(self) -> MessagesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
