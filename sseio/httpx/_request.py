"""What a stream over httpx sends, and how httpx's answer reads to sseio, pure.

``plan()`` turns a ``stream()`` call into a ``RequestSpec`` (the httpx request
arguments, kept to build the request again for each connection), the
``SourceState`` of sseio's own client (decoder options, reconnect policy,
``last_event_id`` and ``retry``, all validated the same way) and the time
budget sseio keeps for itself.  The first request is built at once, and the call's
headers are checked by sseio's own rules (no CR, LF or NUL, names that are
tokens), so a bad URL or argument fails at the call, before any connection.
``RequestSpec.build()`` gives the request for one connection: the caller's
arguments through the caller's client (its ``base_url``, default headers,
params and cookies), ``Accept: text/event-stream`` (unless the call's own
headers give an ``Accept``: httpx's default ``*/*`` does not count),
``Cache-Control: no-cache`` (unless given) and the ``Last-Event-ID`` that
sseio's state decides on.

A ``sseio.Timeout`` is split (``split_timeout``): connect, read and write go
to httpx (connect also bounds waiting for a pooled connection), and
``event``, which httpx has no notion of, stays with sseio; httpx's read limit
is then at most ``event``, so the blocking client, which cannot end a
blocking read early, still notices a silent server in time.  Any other value
(an ``httpx.Timeout``, a number, ``None``, httpx's "client default") goes to
httpx as it is.  ``event_timeout`` decides whether a read timeout means the
time between events ran out.

Nothing here does I/O: building an httpx request only reads the caller's
arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from .._core.errors import EventTimeout, UsageError
from .._http.client_state import Settings, SourceState
from .._http.exchange import Response
from .._http.reconnect import Reconnect, Timeout
from ._errors import transport_error

__all__ = [
    "USE_CLIENT_DEFAULT",
    "RequestSpec",
    "event_timeout",
    "last_event_id_header",
    "plan",
    "response_value",
    "sent_headers",
    "split_timeout",
]

USE_CLIENT_DEFAULT: Any = httpx.USE_CLIENT_DEFAULT
C = TypeVar("C", httpx.AsyncClient, httpx.Client)
_NO_BUDGET = Timeout(connect=None, read=None, write=None, event=None)


@dataclass(frozen=True)
class RequestSpec(Generic[C]):
    """One stream's request, as httpx arguments, for the caller's client."""

    client: C
    method: str
    url: httpx.URL | str
    arguments: dict[str, Any]  # content, data, files, json, params, headers, cookies, ...
    accept_given: bool  # the call's own headers name an Accept
    auth: Any = USE_CLIENT_DEFAULT
    follow_redirects: Any = USE_CLIENT_DEFAULT

    def build(self, last_event_id: str | None) -> httpx.Request:
        """The request for one connection (``last_event_id``: the header value, if any)."""
        try:
            request = self.client.build_request(self.method, self.url, **self.arguments)
        except httpx.InvalidURL as exc:
            raise UsageError(f"invalid url: {exc}") from exc
        except UnicodeEncodeError as exc:
            raise UsageError(f"httpx sends only ASCII in a request head: {exc}") from exc
        except httpx.RequestError as exc:
            raise transport_error(exc) from exc
        headers = request.headers
        if not self.accept_given:
            headers["Accept"] = "text/event-stream"
        if "cache-control" not in headers:
            headers["Cache-Control"] = "no-cache"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        elif "last-event-id" in headers:
            del headers["Last-Event-ID"]
        return request


def split_timeout(timeout: Any) -> tuple[Any, Timeout]:
    """What httpx gets for ``timeout``, and the budget sseio keeps (``event`` only)."""
    if not isinstance(timeout, Timeout):
        return timeout, _NO_BUDGET
    read = timeout.read
    if timeout.event is not None:
        read = timeout.event if read is None else min(read, timeout.event)
    limits = httpx.Timeout(
        None, connect=timeout.connect, read=read, write=timeout.write, pool=timeout.connect
    )
    budget = _NO_BUDGET if timeout.event is None else Timeout(None, None, None, timeout.event)
    return limits, budget


def event_timeout(budget: Timeout, now: float, last_event_at: float) -> EventTimeout | None:
    """The ``EventTimeout`` a read timeout at ``now`` stands for, if the time between
    events ran out (else the read timeout stands)."""
    # A millisecond of slack: a timer set for the end of the budget may fire a
    # rounding error before it, by this clock.
    if budget.event is not None and now - last_event_at >= budget.event - 0.001:
        return EventTimeout(f"no event for {budget.event}s")
    return None


def response_value(response: httpx.Response) -> Response:
    """sseio's ``Response`` for an httpx response head (header names lowercase)."""
    return Response(
        response.status_code,
        response.reason_phrase,
        response.headers.multi_items(),
        response.http_version.removeprefix("HTTP/"),
    )


def plan(
    client: C,
    method: str,
    url: httpx.URL | str,
    *,
    arguments: dict[str, Any],
    timeout: Any,
    auth: Any,
    follow_redirects: Any,
    reconnect: Reconnect | None,
    last_event_id: str,
    retry: int | None,
    comments: bool,
    done_sentinel: str | None,
    max_line_size: int,
    max_event_size: int,
) -> tuple[RequestSpec[C], SourceState, Timeout]:
    """The request, the source state and sseio's time budget for one ``stream()`` call."""
    if not isinstance(client, (httpx.AsyncClient, httpx.Client)):
        raise UsageError(f"need an httpx.Client or httpx.AsyncClient, got {type(client).__name__}")
    limits, budget = split_timeout(timeout)
    try:
        given = httpx.Headers(arguments.get("headers"))
    except UnicodeEncodeError as exc:
        raise UsageError(f"httpx sends only ASCII in a request head: {exc}") from exc
    spec = RequestSpec(
        client,
        method,
        url,
        {**arguments, "timeout": limits},
        "accept" in given,
        auth,
        follow_redirects,
    )
    first = spec.build(None)
    try:
        body = first.content
    except httpx.RequestNotRead:
        raise UsageError(
            "a streamed request body cannot be sent again on a reconnect: give content= bytes"
        ) from None
    state = Settings().state_for(
        first.method,
        str(first.url),
        headers=given.multi_items(),  # checked by sseio's rules: refused before any I/O
        json=None,
        content=body,
        reconnect=reconnect or Reconnect(),
        last_event_id=last_event_id,
        retry=retry,
        comments=comments,
        done_sentinel=done_sentinel,
        max_line_size=max_line_size,
        max_event_size=max_event_size,
    )
    return spec, state, budget


def sent_headers(request: httpx.Request) -> list[tuple[str, str]]:
    """The header pairs of a request as httpx sends them (names in their own case)."""
    return [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
    ]


def last_event_id_header(state: SourceState) -> str | None:
    """The ``Last-Event-ID`` the next connection sends, as sseio's state decides it."""
    for name, value in state.next_request().headers:
        if name.lower() == "last-event-id":
            return value
    return None
