"""What went wrong in a chat call, and whether to try again: pure decisions.

``status_error`` turns an error status into its typed ``APIStatusError``
(``RateLimitError`` for 429 and so on) carrying the server's message, type,
code and ``Retry-After``; ``stream_error`` recognises an error sent inside a
200 stream in the shapes providers use (``data: {"error": ...}``, ``event:
error``, ``{"type": "error", ...}``) and says whether a retry can help.
``ChatRetry`` is the retry policy and ``retryable`` the classification it
applies; the wait itself is computed by ``ChatCall.decide``, which also knows
whether text was already shown.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .._core.errors import RemoteProtocolError, ResponseError, SSEError, TransportError, UsageError
from .._core.events import ServerSentEvent
from .._http.reconnect import retry_after_seconds
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
    StreamTruncated,
    UnprocessableEntityError,
)

__all__ = ["NO_RETRY", "ChatRetry", "retryable", "status_error", "stream_error"]

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
    "api_error",  # Anthropic's in-stream internal error
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
        for name in ("delay", "backoff", "max_delay", "jitter", "max_retry_after", "max_elapsed"):
            value = getattr(self, name)
            if value is None and name == "max_elapsed":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                allowed = " or None" if name == "max_elapsed" else ""
                raise UsageError(f"{name} must be a number >= 0{allowed}, got {value!r}")
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


def retry_delay(
    policy: ChatRetry,
    error: SSEError,
    *,
    attempt: int,
    since: float,
    now: float,
    rng: random.Random,
) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1 for the first) after a
    retryable ``error``, or ``None`` when the policy gives up: too many attempts,
    more than ``max_elapsed`` since the first failure (at ``since``), or a
    ``Retry-After`` longer than ``max_retry_after``.  Backoff grows per attempt,
    jitter only shortens it, and a ``Retry-After`` is waited for at least."""
    if attempt > policy.max_retries:
        return None
    if policy.max_elapsed is not None and now - since > policy.max_elapsed:
        return None
    delay = min(policy.delay * policy.backoff ** min(attempt - 1, 64), policy.max_delay)
    delay *= 1 - policy.jitter * rng.random()
    asked = error.retry_after if isinstance(error, APIStatusError) else None
    if asked is not None:
        if asked > policy.max_retry_after:
            return None
        delay = max(delay, asked)
    return delay
