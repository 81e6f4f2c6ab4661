"""What an event source reports about itself: hook events, reasons, redacted heads.

The clients call a user's hooks (``Hooks``) and write log lines at fixed
points: a request sent, a response head received, a reconnect scheduled, the
stream ended.  This module holds the values those hooks receive (frozen,
comparable, safe to keep), the short reason a reconnect is given
(``reconnect_reason``), and the redaction that keeps credentials out of
hooks and logs (``redacted_headers``, ``redacted_url``): the values of
``Authorization``, ``Proxy-Authorization``, ``Cookie`` and similar headers
and any password in a URL become ``[redacted]``.  Nothing here calls a hook
or writes a log line; the adapters do, and only after checking that someone
listens, so a client nobody observes pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._core.errors import (
    ConnectError,
    EventTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseError,
    TransportError,
    UsageError,
    WriteError,
)

__all__ = [
    "REDACTED",
    "Hooks",
    "ReconnectScheduled",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "StreamEnded",
    "reconnect_reason",
    "redacted_headers",
    "redacted_url",
]

REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset(
    ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key")
)


def redacted_headers(headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``headers`` with the values of credential headers replaced by ``[redacted]``."""
    return tuple(
        (name, REDACTED if name.lower() in _SECRET_HEADERS else value) for name, value in headers
    )


def redacted_url(url: str) -> str:
    """``url`` without the password (and user name) of its userinfo, if it has one."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL: show it only if it cannot hold credentials
        return url if "@" not in url else REDACTED
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


@dataclass(frozen=True, slots=True)
class RequestSent:
    """A request head went out (``attempt`` 0 is the first connection)."""

    method: str
    url: str  # credentials redacted
    headers: tuple[tuple[str, str], ...]  # credentials redacted
    attempt: int


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response head arrived (any status; a redirect too)."""

    url: str
    status_code: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # as sent, Set-Cookie redacted


@dataclass(frozen=True, slots=True)
class ReconnectScheduled:
    """The source will connect again in ``delay`` seconds (``attempt`` counts from 1)."""

    url: str
    reason: str  # short and lowercase: "read timeout", "status 503", "stream ended", ...
    attempt: int
    delay: float
    error: BaseException | None  # None when the body ended normally


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """A chat client will send its request again in ``delay`` seconds (no text was shown
    yet, so nothing will be repeated); ``attempt`` counts the retries from 1."""

    url: str
    reason: str
    attempt: int
    delay: float
    error: BaseException


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The source is finished: closed, ended by ``[DONE]`` or a 204, or given up."""

    url: str
    events: int  # events handed to the caller
    bytes: int  # body bytes received (de-chunked, decompressed), over every connection
    reconnects: int
    duration: float  # seconds from the first connect to the end
    done: bool  # ended with ``[DONE]``
    error: BaseException | None  # what ended it, when it was given up


Hook = Callable[[Any], Any]
_HOOK_NAMES = (
    "request_sent",
    "response_received",
    "reconnect_scheduled",
    "retry_scheduled",
    "stream_ended",
)


@dataclass(frozen=True)
class Hooks:
    """Callables the client calls with the values above, for metrics and tracing.

    Each is optional.  ``retry_scheduled`` is the chat clients' (each retry is a
    new request, and each of its requests reports ``request_sent`` to
    ``stream_ended`` as an event source of its own).  The blocking clients call
    them as plain functions; the async clients accept plain functions and
    coroutine functions (awaited).
    A hook runs in the iterating code, so a slow hook slows the stream, and
    an exception a hook raises ends the stream: the connection is closed, the
    source keeps ``last_event_id`` and ``retry`` (a new source can resume from
    them), and the exception reaches the caller as it was raised.  A
    ``reconnect_scheduled`` hook that raises is how a caller turns the first
    failure into an error while keeping the reconnect policy for later streams.
    """

    request_sent: Hook | None = None
    response_received: Hook | None = None
    reconnect_scheduled: Hook | None = None
    retry_scheduled: Hook | None = None
    stream_ended: Hook | None = None

    def __post_init__(self) -> None:
        for name in _HOOK_NAMES:
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise UsageError(f"Hooks.{name} must be callable or None, got {value!r}")


def reconnect_reason(error: BaseException | None) -> str:
    """Why a source reconnects, in a few lowercase words (for logs and hooks)."""
    if error is None:
        return "stream ended"
    if isinstance(error, ResponseError):
        return f"status {error.status_code}"
    if isinstance(error, EventTimeout):
        return "event timeout"
    if isinstance(error, ReadTimeout):
        return "read timeout"
    if isinstance(error, ReadError):
        return "connection dropped"
    if isinstance(error, RemoteProtocolError):
        return "protocol error"
    if isinstance(error, ConnectError):
        return "connect failed"
    if isinstance(error, WriteError):
        return "write failed"
    if isinstance(error, TransportError):
        return "transport error"
    return type(error).__name__
