"""Event streams over an ``httpx.Client``: ``connect_sse``, ``EventSource``, ``Client``.

Generated from ``sseio/httpx/_async.py`` by ``tools/unasync.py``: do not edit it; edit the
async module and run ``python tools/unasync.py``.  The async module's docstring
says what this code does and guarantees; here it runs on blocking sockets.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from logging import DEBUG, INFO, WARNING, getLogger
from typing import Any

import httpx

from .._core.errors import LimitExceeded, ReadTimeout, SSEError, UsageError
from .._core.events import Comment, Done, ServerSentEvent
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._core.lines import DEFAULT_MAX_LINE_SIZE, check_limit
from .._http.client_state import DRAIN_TIMEOUT, SourceState, read_budget
from .._http.exchange import ERROR_BODY_LIMIT, Response, check_response, error_from_response
from .._http.observe import (
    Hooks,
    RequestSent,
    ResponseReceived,
    redacted_headers,
    redacted_url,
)
from .._http.reconnect import Reconnect, Timeout
from .._io import socket_backend as backend
from ._backends import socket_backend as wire
from ._errors import transport_error
from ._request import (
    USE_CLIENT_DEFAULT,
    RequestSpec,
    event_timeout,
    last_event_id_header,
    plan,
    response_value,
    sent_headers,
    split_timeout,
)

__all__ = ["Client", "EventSource", "connect_sse"]

_log = getLogger("sseio.client")

DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
"""64 MiB: the most ``request()`` reads of one answer unless told otherwise."""


class EventSource:
    """An event stream over an httpx client: ``with source`` connects,
    ``for event in source`` reads (see ``connect_sse``)."""

    __slots__ = (
        "_body",
        "_budget",
        "_closed",
        "_ended",
        "_hooks",
        "_iterator",
        "_last_event_at",
        "_pending",
        "_restart",
        "_spec",
        "_state",
    )

    def __init__(
        self,
        spec: RequestSpec[httpx.Client],
        state: SourceState,
        budget: Timeout,
        hooks: Hooks | None,
    ) -> None:
        if hooks is not None and not isinstance(hooks, Hooks):
            raise UsageError(f"hooks must be a sseio.Hooks, got {hooks!r}")
        self._spec = spec
        self._state = state
        self._budget = budget
        self._hooks = hooks
        self._body: wire.Body | None = None
        self._pending: list[ServerSentEvent | Comment | Done] = []
        self._last_event_at = 0.0
        self._closed = False
        self._restart = False
        self._ended = False
        self._iterator: Generator[ServerSentEvent | Comment, None, None] | None = None

    @property
    def response(self) -> Response | None:
        """The response head of the current connection, as sseio's ``Response``."""
        return self._state.response

    @property
    def httpx_response(self) -> httpx.Response | None:
        """httpx's own response for the current connection (its body is sseio's to read)."""
        return self._body.response if self._body is not None else None

    @property
    def last_event_id(self) -> str:
        return self._state.last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) the server asked for, if it did."""
        return self._state.retry

    @property
    def done(self) -> bool:
        """Whether the stream ended with the ``[DONE]`` sentinel."""
        return self._state.done

    @property
    def reconnects(self) -> int:
        """How many times the source connected again (after a failure, an end, a restart)."""
        return self._state.reconnects

    def restart(self) -> None:
        """Drop the connection and connect again now, keeping ``last_event_id`` and
        ``retry``; the iterating code sees no error, only the events that follow.
        A restart counts as a reconnect, not as a failure."""
        self._restart = True
        body = self._body
        if body is not None:
            body.interrupt()

    def __enter__(self) -> EventSource:
        """Connect, unless this source connected already; a failure closes it."""
        if self._state.started_at is None and not self._closed:
            try:
                self.open()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the response; iteration ends and no reconnect follows.  From another
        task or thread while one iterates, the pending read ends and the iterating
        code then ends quietly."""
        self._closed = True
        iterator = self._iterator
        if iterator is not None and backend.running(iterator):
            body = self._body
            if body is not None:
                body.interrupt()
            return
        self._iterator = None
        if iterator is not None:
            iterator.close()
        self._drop()
        self._finish(None)

    def __iter__(self) -> Iterator[ServerSentEvent | Comment]:
        self._iterator = self._iterate()
        return self._iterator

    def _iterate(self) -> Generator[ServerSentEvent | Comment, None, None]:
        state = self._state
        while not self._closed:
            if self._body is None:
                self.open()
                if self._closed:
                    self._finish(None)
                    return
            error: SSEError | None = None
            try:
                while True:
                    for item in state.hand_out(self._take_pending()):
                        yield item
                    if state.done or self._closed:
                        self._drain()
                        self._drop()
                        self._finish(None)
                        return
                    if self._restart:
                        break
                    piece = self._read()
                    if not piece:
                        break  # the body ended (or the read was interrupted)
                    self._pending = state.feed(piece)
                    if state.events_arrived:
                        state.events_arrived = False
                        self._last_event_at = backend.now()
            except SSEError as exc:
                error = exc
            self._drop()
            if self._closed:
                self._finish(None)
                return
            if self._restart:
                self._restart = False
                state.restarted()
                self._reconnecting(None, 0.0, "restart")
                continue
            delay = state.decide(error, now=backend.now(), wall_clock=backend.wall_clock())
            if delay is None or self._closed:
                self._finish(error)
                if error is not None:
                    raise error
                return
            self._reconnecting(error, delay)
            backend.sleep(delay)

    def _take_pending(self) -> list[ServerSentEvent | Comment | Done]:
        pending, self._pending = self._pending, []
        return pending

    def open(self) -> None:
        """Connect, retrying as the policy allows; raises on failure."""
        state = self._state
        if state.started_at is None:
            state.started_at = backend.now()
        while True:
            try:
                self._connect()
                return
            except SSEError as exc:
                if state.stopped_by_server(exc):
                    self._closed = True
                    return
                delay = state.decide(exc, now=backend.now(), wall_clock=backend.wall_clock())
                if delay is None:
                    self._finish(exc)
                    raise
                self._reconnecting(exc, delay)
                backend.sleep(delay)

    def _connect(self) -> None:
        spec = self._spec
        request = spec.build(last_event_id_header(self._state))
        response = wire.send(
            spec.client, request, auth=spec.auth, follow_redirects=spec.follow_redirects
        )
        body = wire.Body(response)
        try:
            self._observe(response)
            head = response_value(response)
            if not check_response(head):
                raise error_from_response(head, self._error_body(body))
        except BaseException:
            body.close()
            raise
        self._body = body
        self._restart = False  # a new connection is what a restart asks for
        self._state.opened(head, backend.now())
        self._last_event_at = backend.now()
        self._state.events_arrived = False

    def _observe(self, response: httpx.Response) -> None:
        """Log and report each request httpx sent and each answer (redirects included)."""
        hooks = self._hooks
        if (hooks is None or not (hooks.request_sent or hooks.response_received)) and (
            not _log.isEnabledFor(DEBUG)
        ):
            return
        for answer in (*response.history, response):
            url = redacted_url(str(answer.request.url))
            sent = RequestSent(
                answer.request.method,
                url,
                redacted_headers(sent_headers(answer.request)),
                self._state.reconnects,
            )
            received = ResponseReceived(
                url,
                answer.status_code,
                answer.reason_phrase,
                redacted_headers(answer.headers.multi_items()),
            )
            if _log.isEnabledFor(DEBUG):
                shown = "; ".join(f"{name}: {value}" for name, value in sent.headers)
                _log.debug("sent %s %s (%s)", sent.method, url, shown)
                _log.debug("%s answered %d %s", url, received.status_code, received.reason)
            if hooks is not None and hooks.request_sent is not None:
                backend.call_hook(hooks.request_sent, sent)
            if hooks is not None and hooks.response_received is not None:
                backend.call_hook(hooks.response_received, received)

    def _error_body(self, body: wire.Body) -> bytes:
        """What an error response says, up to a bound; a failure keeps what arrived."""
        data = b""
        try:
            while len(data) < ERROR_BODY_LIMIT:
                piece = body.receive(None)
                if not piece:
                    break
                data += piece
        except SSEError:
            pass
        return data[:ERROR_BODY_LIMIT]

    def _read(self) -> bytes:
        body = self._body
        assert body is not None
        wait, _ = read_budget(self._budget, backend.now(), self._last_event_at)
        try:
            return body.receive(wait)
        except ReadTimeout as exc:
            late = event_timeout(self._budget, backend.now(), self._last_event_at)
            if late is not None:
                raise late from exc.__cause__
            raise

    def _drain(self) -> None:
        """After ``[DONE]``: read the rest of the body briefly, so httpx can keep the
        connection for the next request."""
        if self._body is not None:
            self._body.drain(DRAIN_TIMEOUT)

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def _reconnecting(
        self, error: SSEError | None, delay: float, reason: str | None = None
    ) -> None:
        """Tell the log and the hook that a reconnect is scheduled."""
        hook = self._hooks.reconnect_scheduled if self._hooks else None
        if hook is None and not _log.isEnabledFor(INFO):
            return
        scheduled = self._state.reconnect_scheduled(error, delay, reason)
        _log.info(
            "reconnecting to %s in %.2fs (attempt %d, %s)",
            scheduled.url,
            delay,
            scheduled.attempt,
            scheduled.reason,
        )
        if hook is not None:
            backend.call_hook(hook, scheduled)

    def _finish(self, error: SSEError | None) -> None:
        """The source is finished: log a give-up, call the ``stream_ended`` hook once."""
        if self._ended:
            return
        self._ended = True
        state = self._state
        if error is not None:
            _log.log(
                WARNING if state.policy.policy.max_attempts != 0 else DEBUG,
                "giving up on %s after %d reconnects: %s",
                redacted_url(state.request.url),
                state.reconnects,
                error,
            )
        hook = self._hooks.stream_ended if self._hooks else None
        if hook is not None:
            backend.call_hook(hook, state.ended(backend.now(), error))


class Client:
    """sseio's event streams over an ``httpx.Client``: the object sseio's chat
    clients stream over, and the home of ``connect_sse``.

    The contract (what a chat client relies on): ``stream(method, url, *,
    headers=None, json=None, content=None, timeout=..., reconnect=None,
    max_event_size=..., ...)`` returns an ``EventSource`` without doing
    I/O; ``with source`` sends the request through ``client`` and returns
    the source once the answer is 200 with ``text/event-stream`` (else raises
    ``ResponseError``, or a ``TransportError`` for a failed connection, never
    an httpx exception); the source has ``.response`` (sseio's ``Response``),
    ``async for`` iteration that ends at ``[DONE]`` (``.done`` then true), and
    ``close()``, safe from another task while one iterates.  ``timeout`` is a
    ``sseio.Timeout`` (connect, read and write go to httpx; ``event`` is kept
    by sseio), anything httpx takes as a timeout, or left out for this
    client's ``timeout`` (by default the httpx client's own).  A relative
    ``url`` joins the httpx client's ``base_url``; ``headers`` override the
    client's default headers, name by name.

    Without ``client``, one is made here (``httpx.Client()``) and
    ``close()`` closes it; a client passed in is the caller's to close.
    ``hooks`` and ``reconnect`` are the defaults of every stream.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        timeout: Any = USE_CLIENT_DEFAULT,
        reconnect: Reconnect | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        if client is not None and not isinstance(client, httpx.Client):
            raise UsageError(f"need an httpx.Client, got {type(client).__name__}")
        self._owned = client is None
        self.client = httpx.Client() if client is None else client
        self.timeout = timeout
        self.reconnect = reconnect
        self.hooks = hooks

    def stream(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        extensions: Any = None,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        reconnect: Reconnect | None = None,
        last_event_id: str = "",
        retry: int | None = None,
        comments: bool = False,
        done_sentinel: str | None = "[DONE]",
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> EventSource:
        """A stream (``with client.stream(...) as source``; the arguments are
        ``connect_sse``'s)."""
        spec, state, budget = plan(
            self.client,
            method,
            url,
            arguments={
                "params": params,
                "headers": headers,
                "cookies": cookies,
                "content": content,
                "data": data,
                "files": files,
                "json": json,
                "extensions": extensions,
            },
            timeout=self.timeout if timeout is USE_CLIENT_DEFAULT else timeout,
            auth=auth,
            follow_redirects=follow_redirects,
            reconnect=reconnect or self.reconnect,
            last_event_id=last_event_id,
            retry=retry,
            comments=comments,
            done_sentinel=done_sentinel,
            max_line_size=max_line_size,
            max_event_size=max_event_size,
        )
        return EventSource(spec, state, budget, self.hooks)

    def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        headers: Any = None,
        params: Any = None,
        json: Any = None,
        content: Any = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> tuple[Response, bytes]:
        """One whole answer through the httpx client, not a stream: its head and
        its body, at most ``max_body_size`` bytes (``LimitExceeded`` over it).  A
        status of 400 or more raises the ``ResponseError`` a stream would; httpx's
        errors become sseio's.  The chat clients' ``create()`` relies on it."""
        check_limit("max_body_size", max_body_size)
        limits, _budget = split_timeout(self.timeout if timeout is USE_CLIENT_DEFAULT else timeout)
        pieces: list[bytes] = []
        size = 0
        try:
            with self.client.stream(
                method, url, headers=headers, params=params, json=json, content=content,
                timeout=limits,
            ) as answer:  # fmt: skip
                for piece in answer.iter_bytes():
                    size += len(piece)
                    if size > max_body_size and answer.status_code < 400:
                        raise LimitExceeded("max_body_size", max_body_size, size)
                    if size <= max_body_size:
                        pieces.append(piece)
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            raise transport_error(exc) from exc
        response, body = response_value(answer), b"".join(pieces)
        if answer.status_code >= 400:
            raise error_from_response(response, body[:ERROR_BODY_LIMIT])
        return response, body

    def close(self) -> None:
        """Close the httpx client if it was made here (one passed in stays open)."""
        if self._owned:
            self.client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect_sse(
    client: httpx.Client,
    method: str,
    url: httpx.URL | str,
    *,
    params: Any = None,
    headers: Any = None,
    cookies: Any = None,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
    timeout: Any = USE_CLIENT_DEFAULT,
    extensions: Any = None,
    auth: Any = USE_CLIENT_DEFAULT,
    follow_redirects: Any = USE_CLIENT_DEFAULT,
    reconnect: Reconnect | None = None,
    last_event_id: str = "",
    retry: int | None = None,
    comments: bool = False,
    done_sentinel: str | None = "[DONE]",
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    hooks: Hooks | None = None,
) -> EventSource:
    """An event stream through ``client``, to open as
    ``with connect_sse(...) as source``: entering sends the request and gives
    the ``EventSource`` once the server answered 200 with ``text/event-stream``.

    ``params``, ``headers``, ``cookies``, ``content``, ``data``, ``files``,
    ``json``, ``extensions``, ``auth`` and ``follow_redirects`` go to httpx as
    they are; ``timeout`` too, except that a ``sseio.Timeout`` is split (its
    ``event`` limit is sseio's).  A non-stream answer raises ``ResponseError``
    (status, headers, body); a failed connection a ``TransportError``.
    ``reconnect`` (a ``Reconnect``; default: reconnect like an EventSource, up
    to 10 attempts in a row) also covers the first connection; ``last_event_id``
    and ``retry`` (ms) start where an earlier source left off; ``comments``,
    ``done_sentinel``, ``max_line_size`` and ``max_event_size`` are the
    decoder's; ``hooks`` (a ``Hooks``) are called on each request, response
    (redirects included), reconnect and at the end.
    """
    return Client(client, hooks=hooks).stream(
        method,
        url,
        params=params,
        headers=headers,
        cookies=cookies,
        content=content,
        data=data,
        files=files,
        json=json,
        timeout=timeout,
        extensions=extensions,
        auth=auth,
        follow_redirects=follow_redirects,
        reconnect=reconnect,
        last_event_id=last_event_id,
        retry=retry,
        comments=comments,
        done_sentinel=done_sentinel,
        max_line_size=max_line_size,
        max_event_size=max_event_size,
    )
