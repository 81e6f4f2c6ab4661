"""The state of an event source between I/O calls, shared by both adapters.

``SourceState`` holds what survives reconnects (the request, the last event
ID, the reconnection time, the reconnect count) and what belongs to the
current connection (the decoder, the response).  The async and blocking
adapters call it in the same order: ``next_request()`` before connecting,
``opened()`` once a response opens a stream, ``feed()`` with each piece of
body, ``decide()`` when the stream ended or failed.  A partial event left at
a disconnect is discarded with its decoder; the last event ID carries over,
so a server that honours ``Last-Event-ID`` delivers each event once.

``read_budget`` turns the time limits into the wait for the next read; it is
where ``Timeout.event`` (time since the last dispatched event) meets
``Timeout.read`` (time since the last byte).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode, urljoin

from .._core.decoder import SSEDecoder
from .._core.errors import EventTimeout, LimitExceeded, ResponseError, UsageError
from .._core.events import Comment, Done, ServerSentEvent
from .._core.lines import READ_SIZE, check_limit
from .arguments import (
    TRUST_SOURCES,
    check_bool,
    check_cert,
    check_headers,
    check_optional_str,
    check_params,
    check_reconnect,
    check_str,
    coerce_timeout,
)
from .exchange import Response
from .observe import (
    Hooks,
    ReconnectScheduled,
    StreamEnded,
    reconnect_reason,
    redacted_url,
)
from .proxy import Proxy, ProxyRoute, proxy_route, resolve_proxy
from .reconnect import DEFAULT_TIMEOUT, Reconnect, ReconnectState, Timeout
from .redirects import DEFAULT_MAX_REDIRECTS
from .request import Request, header_safe, prepare_request

__all__ = [
    "IdlePool",
    "Settings",
    "SourceState",
    "join_url",
    "merge_headers",
    "read_budget",
    "with_query",
]

C = TypeVar("C")

DRAIN_TIMEOUT = 0.1
"""After ``[DONE]``, how long a pooled source waits for the end of the body (seconds)."""


@dataclass(frozen=True)
class Settings:
    """What a client applies to every stream it opens (both adapters' clients)."""

    base_url: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold credentials
    timeout: Timeout = DEFAULT_TIMEOUT
    reconnect: Reconnect | None = None
    ssl_context: Any = None
    verify: bool = True
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    hooks: Hooks | None = None
    proxy: str | Proxy | None = None
    trust_env: bool = True
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    params: tuple[tuple[str, str], ...] = ()
    cert: Any = field(default=None, repr=False)  # may hold a key's password
    trust: str = "certifi"
    # The client's TLS context once built (sseio._io.tls), shared by its streams.
    tls_cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_str("base_url", self.base_url)
        object.__setattr__(self, "timeout", coerce_timeout(self.timeout))
        check_reconnect(self.reconnect)
        check_bool("verify", self.verify)
        check_bool("trust_env", self.trust_env)
        if isinstance(self.max_redirects, bool) or not isinstance(self.max_redirects, int):
            raise UsageError(f"max_redirects must be an int, got {self.max_redirects!r}")
        if self.max_redirects < 0:
            raise UsageError(f"max_redirects must be 0 or more, got {self.max_redirects!r}")
        if self.hooks is not None and not isinstance(self.hooks, Hooks):
            raise UsageError(f"hooks must be a sseio.Hooks, got {self.hooks!r}")
        check_cert(self.cert)
        if self.trust not in TRUST_SOURCES:
            raise UsageError(f'trust must be "certifi" or "system", got {self.trust!r}')
        if self.ssl_context is not None and (self.cert is not None or self.trust != "certifi"):
            raise UsageError("give ssl_context= or cert=/trust=, not both")
        if self.proxy is not None:
            proxy_route(self.proxy)  # a bad proxy is the caller's error, raised at once

    def route(self, request: Request) -> ProxyRoute | None:
        """The proxy ``request`` goes through (``None``: direct), decided afresh for
        every request, so a redirect or reconnect to a ``no_proxy`` host goes direct."""
        return resolve_proxy(
            self.proxy,
            trust_env=self.trust_env,
            environ=self.environ,
            scheme=request.scheme,
            host=request.host,
            port=request.port,
        )

    def timeout_for(self, timeout: object) -> Timeout:
        """A call's ``timeout`` (a ``Timeout`` or seconds), else the client's."""
        return self.timeout if timeout is None else coerce_timeout(timeout)

    def state_for(
        self,
        method: str,
        url: str,
        *,
        headers: Any,
        json: Any,
        content: bytes | str | None,
        reconnect: Reconnect | None,
        last_event_id: str,
        comments: bool,
        done_sentinel: str | None,
        max_line_size: int,
        max_event_size: int,
        retry: int | None = None,
        params: Any = None,
    ) -> SourceState:
        """The state for one stream: the call's arguments (validated) over the defaults."""
        check_str("url", url)
        check_reconnect(reconnect)
        query = [*self.params, *check_params("params", params)]
        request = prepare_request(
            method,
            with_query(join_url(self.base_url, url), query),
            headers=merge_headers(self.headers, check_headers("headers", headers)),
            json=json,
            content=content,
            last_event_id=last_event_id,
        )
        return SourceState(
            request,
            reconnect=reconnect or self.reconnect or Reconnect(),
            last_event_id=last_event_id,
            retry=retry,
            decoder_options=_decoder_options(
                comments, done_sentinel, max_line_size, max_event_size
            ),
        )


def _decoder_options(
    comments: bool, done_sentinel: str | None, max_line_size: int, max_event_size: int
) -> Mapping[str, Any]:
    """The decoder's options for a stream, checked now (not when the stream opens):
    one shared, read-only mapping per combination in use (a gateway's thousands
    of streams hold one)."""
    check_bool("comments", comments)
    check_optional_str("done_sentinel", done_sentinel)
    check_limit("max_line_size", max_line_size)
    check_limit("max_event_size", max_event_size)
    return _shared_options(comments, done_sentinel, max_line_size, max_event_size)


def _options(
    comments: bool, done_sentinel: str | None, max_line_size: int, max_event_size: int
) -> Mapping[str, Any]:
    return MappingProxyType(
        {
            "comments": comments,
            "done_sentinel": done_sentinel,
            "max_line_size": max_line_size,
            "max_event_size": max_event_size,
        }
    )


_shared_options = lru_cache(maxsize=64)(_options)


class SourceState:
    """One event source's state across connections (see module doc)."""

    __slots__ = (
        "_decoder",
        "_decoder_options",
        "_failure",
        "done",
        "events",
        "events_arrived",
        "last_event_id",
        "policy",
        "progressed",
        "received",
        "reconnects",
        "request",
        "response",
        "retry",
        "started_at",
        "streamed",
    )

    def __init__(
        self,
        request: Request,
        *,
        reconnect: Reconnect,
        last_event_id: str,
        decoder_options: Mapping[str, Any],
        retry: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if retry is not None and (type(retry) is not int or retry < 0):
            raise UsageError(f"retry must be a non-negative int of milliseconds, got {retry!r}")
        self.request = request
        self.last_event_id = last_event_id
        self.retry: int | None = retry
        self.events = 0  # events handed to the consumer, over every connection
        self.received = 0  # body bytes fed, over every connection
        self.reconnects = 0  # connections made after the first
        self.started_at: float | None = None  # when the first connection was tried
        self.done = False
        self.events_arrived = False  # set by feed(); the adapter resets it to time events
        self.progressed = False  # an event was handed out on this connection
        self._failure: LimitExceeded | None = None  # raised once the items before it are out
        self.response: Response | None = None
        self.streamed = False  # a stream was open at least once
        self.policy = ReconnectState(reconnect, rng)
        self._decoder_options = decoder_options
        self._decoder: SSEDecoder[Any] | None = None

    def next_request(self) -> Request:
        """The request for the next connection, with ``Last-Event-ID`` as it stands."""
        return self.request.with_header("Last-Event-ID", header_safe(self.last_event_id) or None)

    def opened(self, response: Response, now: float) -> None:
        """A response opened the stream: start a fresh decoder that carries the state on."""
        self.response = response
        self.streamed = True
        self._decoder = SSEDecoder(
            **self._decoder_options, last_event_id=self.last_event_id, retry=self.retry
        )
        self.policy.connected(now)

    @property
    def read_size(self) -> int:
        """What the next read should ask for: more while a long line is pending."""
        return READ_SIZE if self._decoder is None else self._decoder.read_size

    def feed(self, body: bytes) -> list[ServerSentEvent | Comment | Done]:
        """Items a piece of body completed, ``Done`` included (the adapter stops there).

        The stream state moves on only as ``hand_out`` gives the items to the
        consumer.
        """
        if self._decoder is None:
            return []
        self.received += len(body)
        try:
            items = self._decoder.feed(body)
        except LimitExceeded as exc:
            # Hand out what came before the bad line, then raise (see hand_out).
            items, exc.events, self._failure = exc.events, [], exc
        self.retry = self._decoder.retry  # the reconnection time applies at once
        for item in items:
            if type(item) is not Comment:
                self.events_arrived = True
                break
        return items

    def hand_out(
        self, items: list[ServerSentEvent | Comment | Done]
    ) -> Iterator[ServerSentEvent | Comment]:
        """Yield a batch to the consumer, moving the state on item by item.

        ``last_event_id`` follows each event handed out, ``Done`` sets ``done``
        and ends the batch; only a batch handed out whole catches up with the
        decoder (``caught_up``), so a consumer that stops early resumes from the
        last event it got.
        """
        for item in items:
            if isinstance(item, ServerSentEvent):
                self.last_event_id = item.id
                self.progressed = True
                self.events += 1
            elif isinstance(item, Done):
                self.done = True
                return
            yield item
        self.caught_up()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def caught_up(self) -> None:
        """Every item fed so far was handed out: take on the decoder's last event ID
        (it also counts ``id`` fields of blocks that dispatched nothing)."""
        if self._decoder is not None:
            self.last_event_id = self._decoder.last_event_id

    def stopped_by_server(self, error: BaseException) -> bool:
        """A 204 answer to a reconnect: the server ending the stream for good, not a failure.

        Iteration then ends quietly; a 204 to the first request is still a
        ``ResponseError`` (there was never a stream).
        """
        return self.streamed and isinstance(error, ResponseError) and error.status_code == 204

    def dropped(self) -> bool:
        """The connection is gone: forget it.  Returns whether it had opened a stream."""
        started = self.response is not None
        self._decoder = None
        self.response = None
        return started

    def decide(self, error: BaseException | None, *, now: float, wall_clock: float) -> float | None:
        """After the stream ended (``error`` None) or failed: seconds to wait, or ``None``.
        A wait counts as one more reconnect."""
        started = self.dropped()
        progressed, self.progressed = self.progressed, False
        if self.done:
            return None
        delay = self.policy.decide(
            error,
            now=now,
            wall_clock=wall_clock,
            retry_ms=self.retry,
            has_body=bool(self.request.body),
            response_started=started,
            progressed=progressed,
        )
        if delay is not None:
            self.reconnects += 1
        return delay

    def restarted(self) -> None:
        """The caller asked for a new connection now (``restart()``): one more
        reconnect, no failure counted, ``last_event_id`` and ``retry`` kept."""
        self.dropped()
        self.progressed = False
        self.reconnects += 1

    def reconnect_scheduled(
        self, error: BaseException | None, delay: float, reason: str | None = None
    ) -> ReconnectScheduled:
        """The hook value for the reconnect just scheduled (``reason`` overrides the
        one read from ``error``)."""
        return ReconnectScheduled(
            redacted_url(self.request.url),
            reason or reconnect_reason(error),
            self.reconnects,
            delay,
            error,
        )

    def ended(self, now: float, error: BaseException | None) -> StreamEnded:
        """The hook value for the end of the source."""
        started = self.started_at if self.started_at is not None else now
        return StreamEnded(
            redacted_url(self.request.url),
            self.events,
            self.received,
            self.reconnects,
            now - started,
            self.done,
            error,
        )


def read_budget(timeout: Timeout, now: float, last_event_at: float) -> tuple[float | None, bool]:
    """How long the next read may wait, and whether running out means an event timeout.

    Raises ``EventTimeout`` when the time between events is already used up
    (bytes may still be arriving: keepalives do not count).
    """
    if timeout.event is None:
        return timeout.read, False
    left = last_event_at + timeout.event - now
    if left <= 0:
        raise EventTimeout(f"no event for {timeout.event}s")
    if timeout.read is None or left < timeout.read:
        return left, True
    return timeout.read, False


class IdlePool(Generic[C]):
    """Idle keep-alive connections by origin, newest first out (bookkeeping only).

    ``put`` returns a connection the caller must close when an origin already
    holds ``max_per_origin``; ``clear`` returns them all, to close.
    """

    def __init__(self, max_per_origin: int = 8) -> None:
        self.max_per_origin = max_per_origin
        self._idle: dict[Hashable, list[C]] = {}

    def take(self, origin: Hashable) -> C | None:
        idle = self._idle.get(origin)
        return idle.pop() if idle else None

    def put(self, origin: Hashable, connection: C) -> C | None:
        idle = self._idle.setdefault(origin, [])
        idle.append(connection)
        return idle.pop(0) if len(idle) > self.max_per_origin else None

    def clear(self) -> list[C]:
        connections = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        return connections

    def __len__(self) -> int:
        return sum(len(idle) for idle in self._idle.values())


def join_url(base_url: str, url: str) -> str:
    """``url`` resolved against a client's ``base_url`` (``/v1`` + ``chat`` → ``/v1/chat``)."""
    if not base_url or "://" in url:
        return url
    return urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with ``params`` added after any query it has (before a fragment)."""
    if not params:
        return url
    head, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in head and not head.endswith(("?", "&")) else ("" if "?" in head else "?")
    return head + joiner + urlencode(params) + hash_mark + fragment


def merge_headers(base: Any, extra: Any) -> list[tuple[str, str]]:
    """A client's default headers overridden, name by name, by a call's own."""
    base_items = list(base.items() if isinstance(base, dict) else base or ())
    extra_items = list(extra.items() if isinstance(extra, dict) else extra or ())
    names = {name.lower() for name, _ in extra_items}
    return [(k, v) for k, v in base_items if k.lower() not in names] + extra_items
