"""The blocking chat client: ``ChatClient`` and ``ChatStream``.

Generated from ``sseio/chat/_async.py`` by ``tools/unasync.py``: do not edit it; edit the
async module and run ``python tools/unasync.py``.  The async module's docstring
says what this code does and guarantees; here it runs on blocking sockets.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Iterable, Mapping
from logging import INFO, getLogger
from typing import Any, Literal

from .._core.errors import SSEError
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._http.arguments import ClientCert
from .._http.exchange import Response, error_from_response
from .._http.observe import Hooks, RetryScheduled, redacted_url
from .._http.proxy import Proxy
from .._http.reconnect import NO_RECONNECT, Timeout
from .._io import socket_backend as backend
from .._io.sync_client import Client, EventSource
from .._io.tls import SSLContext
from ._awaiting import must_await
from ._call import CHAT_TIMEOUT, ChatSettings, PreparedCall, retry_reason
from ._retry import ChatRetry
from ._think import DEFAULT_TAGS
from ._transport_sync import chat_transport, own_options
from ._types import ChatChunk, ChatCompletion

__all__ = ["ChatClient", "ChatStream"]

_log = getLogger("sseio.chat")


class ChatStream:
    """One streaming chat completion: ``async for`` it for ``ChatChunk`` values.

    ``text()`` yields only the first choice's answer text; ``final()`` reads
    the rest of the stream and returns the whole ``ChatCompletion``;
    ``partial()`` what has arrived so far.  Failures before any text is shown
    are retried as the ``ChatRetry`` policy says; after that they are raised
    with the partial result attached (``exc.partial``).
    """

    def __init__(
        self,
        http: Client,
        prepared: PreparedCall,
        max_event_size: int,
        hooks: Hooks | None = None,
    ) -> None:
        self._http = http
        self._hooks = hooks
        self._shown_url = redacted_url(prepared.url)
        self._url = prepared.url
        self.body = prepared.body
        self._content = prepared.content
        self._headers = prepared.headers
        self._timeout = prepared.timeout
        self._call = prepared.call
        self._max_event_size = max_event_size
        self._chunks = self._iterate()
        self._source: EventSource[Any] | None = None  # the event source open now, if any
        self._closed = False
        self.response: Response | None = None

    @property
    def done(self) -> bool:
        """Whether the stream ended with ``[DONE]``."""
        return self._call.done

    @property
    def retries(self) -> int:
        """How many times the request was sent again after a failure."""
        return self._call.retries

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the connection; from another task or thread too,
        where the iterating code then ends quietly."""
        self._closed = True
        source = self._source
        if source is not None and backend.running(self._chunks):
            source.close()
            return
        self._chunks.close()

    def __iter__(self) -> Iterator[ChatChunk]:
        return self._chunks

    def text(self) -> Iterator[str]:
        """The first choice's answer text, piece by piece (reasoning left out)."""
        for chunk in self._chunks:
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta.content:
                    yield choice.delta.content

    @must_await
    def final(self) -> ChatCompletion:
        """Read whatever is left, then return the whole result."""
        for _ in self._chunks:
            pass
        return self._call.final()

    def partial(self) -> ChatCompletion:
        """The result so far."""
        return self._call.final()

    def _iterate(self) -> Generator[ChatChunk, None, None]:
        call = self._call
        while True:
            try:
                if not call.streaming:
                    self._whole()
                    return
                with self._http.stream(
                    "POST",
                    self._url,
                    headers=self._headers,
                    content=self._content,
                    timeout=self._timeout,
                    reconnect=NO_RECONNECT,
                    max_event_size=self._max_event_size,
                ) as source:
                    self._source = source
                    self.response = source.response
                    for event in source:
                        chunk = call.on_event(event)
                        if chunk is not None:
                            yield chunk
                    if self._closed:
                        return  # closed by the caller, from another thread or task
                    if source.done:
                        last = call.on_done()
                        if last is not None:
                            yield last
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

    def _whole(self) -> None:
        """A non-streaming request (``create()``): the whole answer, read and kept."""
        response, body = self._http.request(
            "POST",
            self._url,
            headers=self._headers,
            content=self._content,
            timeout=self._timeout,
            max_body_size=self._max_event_size,
        )
        self.response = response
        if not self._call.on_whole(response.media_type, body):
            raise error_from_response(response, body)

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


class ChatClient:
    """A client for OpenAI-compatible chat APIs, with a keep-alive connection pool.

    ``base_url`` defaults to ``SSEIO_BASE_URL``, then ``OPENAI_BASE_URL``, then
    OpenAI's; ``api_key`` to ``SSEIO_API_KEY``, then ``OPENAI_API_KEY`` (no
    ``Authorization`` header without one).  ``timeout`` is a ``Timeout`` or a
    number of seconds; ``retry`` the ``ChatRetry`` policy; ``split_think``
    moves inline ``<think>``/``<ser>`` blocks into the reasoning.  Every
    keyword is checked here (``UsageError`` naming it); ``stream()`` and
    ``create()`` check theirs when called.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        timeout: Timeout | float = CHAT_TIMEOUT,
        retry: ChatRetry | None = None,
        split_think: bool = True,
        think_tags: Iterable[tuple[str, str]] = DEFAULT_TAGS,
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
        self.settings = ChatSettings.create(
            base_url=base_url,
            api_key=api_key,
            headers=headers,
            timeout=timeout,
            retry=retry,
            split_think=split_think,
            think_tags=think_tags,
            environ=os.environ,
            max_event_size=max_event_size,
        )
        self._hooks = hooks
        self._http = chat_transport(
            http_client,
            timeout=self.settings.timeout,
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

    def stream(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        temperature: float | None = None,
        max_tokens: int | None = None,
        hide_think: bool | None = None,
        tools: list[Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        split_think: bool | None = None,
        retry: ChatRetry | None = None,
        timeout: Timeout | float | None = None,
        **params: Any,
    ) -> ChatStream:
        """Start a streaming chat completion; other OpenAI parameters go in ``params``."""
        prepared = self.settings.prepare(
            model=model,
            messages=messages,
            hide_think=hide_think,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            split_think=split_think,
            retry=retry,
            timeout=timeout,
            params={"temperature": temperature, "max_tokens": max_tokens, "tools": tools, **params},
        )
        return ChatStream(self._http, prepared, self.settings.max_event_size, self._hooks)

    @must_await
    def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        temperature: float | None = None,
        max_tokens: int | None = None,
        hide_think: bool | None = None,
        tools: list[Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        split_think: bool | None = None,
        retry: ChatRetry | None = None,
        timeout: Timeout | float | None = None,
        **params: Any,
    ) -> ChatCompletion:
        """A whole chat completion, not streamed (``"stream": false``): the same
        ``ChatCompletion`` a stream's ``final()`` returns, the same errors, and the
        same retries (nothing is shown before the answer, so every transient
        failure may be retried).  An answer that is streamed anyway is read whole."""
        prepared = self.settings.prepare(
            model=model,
            messages=messages,
            hide_think=hide_think,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            split_think=split_think,
            retry=retry,
            timeout=timeout,
            params={"temperature": temperature, "max_tokens": max_tokens, "tools": tools, **params},
            stream=False,
        )
        stream = ChatStream(self._http, prepared, self.settings.max_event_size, self._hooks)
        with stream:
            return stream.final()

    def close(self) -> None:
        """Close every pooled connection."""
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
