"""Time limits and the reconnection policy, as values and pure decisions.

``Timeout`` says how long an adapter may wait for each step.  ``Reconnect``
says whether and when an event source tries again after its stream ended or
failed, by the EventSource model: the server's ``retry:`` time (else
``delay``) grows by ``backoff`` after each failed attempt in a row, up to
``max_delay``, with random jitter that only ever lengthens it; a stream that
delivered an event, or stayed up for ``reset_after`` seconds, starts the count
again (a stream that keeps making progress is never given up on).
``ReconnectState.decide`` applies it to one outcome and returns the seconds
to wait, or ``None`` to stop.  Nothing here
reads a clock or sleeps: adapters pass the time in and do the waiting.

Never retried: status 204 (the server's way to say stop), other non-200
answers except 429 and 503 (which wait for ``Retry-After``), a wrong content
type, a limit exceeded, a caller mistake, and a request with a body once its
response had started, unless ``retry_body=True``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .._core.errors import (
    LimitExceeded,
    ProtocolError,
    ProxyError,
    ResponseError,
    TooManyRedirects,
    TransportError,
    UsageError,
)
from .dates import parse_http_date

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RECONNECT_WAIT",
    "NO_RECONNECT",
    "Reconnect",
    "ReconnectState",
    "Timeout",
    "retry_after_seconds",
]


def _not_number(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float))


@dataclass(frozen=True)
class Timeout:
    """Time limits in seconds (``None``: no limit).

    ``connect`` bounds connecting plus the TLS handshake; ``write`` sending the
    request; ``read`` each wait for bytes (any bytes, keepalive comments
    included); ``event`` the time between two dispatched events, so a server
    that only sends keepalives is caught (``EventTimeout``).
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    write: float | None = 10.0
    event: float | None = None

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "event"):
            value = getattr(self, name)
            if value is not None and (_not_number(value) or not value > 0):
                raise UsageError(f"Timeout.{name} must be a positive number or None, got {value!r}")


DEFAULT_TIMEOUT = Timeout()


@dataclass(frozen=True)
class Reconnect:
    """When an event source reconnects (see the module doc for the rules).

    ``delay`` is the reconnection time until the server sends ``retry:``;
    ``max_attempts`` counts attempts in a row that failed or ended quickly,
    ``max_elapsed`` the seconds since the first of them (``None``: no limit);
    ``on_end`` reconnects after a body that ended normally, as EventSource
    does; ``retry_body`` allows repeating a request with a body (POST) after
    its response started.
    """

    delay: float = 3.0
    max_delay: float = 60.0
    backoff: float = 2.0
    jitter: float = 0.2
    max_attempts: int | None = 10
    max_elapsed: float | None = None
    reset_after: float = 30.0
    on_end: bool = True
    retry_body: bool = False

    def __post_init__(self) -> None:
        for name in ("delay", "max_delay", "backoff", "jitter", "reset_after"):
            if _not_number(getattr(self, name)):
                raise UsageError(f"Reconnect.{name} must be a number, got {getattr(self, name)!r}")
        if not self.delay >= 0 or not self.max_delay >= self.delay:
            raise UsageError(f"need 0 <= delay <= max_delay, got {self.delay}, {self.max_delay}")
        if not self.backoff >= 1:
            raise UsageError(f"backoff must be >= 1, got {self.backoff}")
        if not 0 <= self.jitter <= 1:
            raise UsageError(f"jitter must be within 0..1, got {self.jitter}")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise UsageError(f"max_attempts must be >= 0 or None, got {self.max_attempts}")


NO_RECONNECT = Reconnect(max_attempts=0, on_end=False)
"""The policy of a source that never reconnects."""


MAX_RECONNECT_WAIT = 86_400.0
"""The longest wait before a reconnect (seconds): a server's ``retry:`` or
``Retry-After`` asking for more is honoured only up to one day."""
_MAX_WAIT_MS = int(MAX_RECONNECT_WAIT * 1000)


def retry_after_seconds(value: str | None, wall_clock: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta or HTTP date), if valid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    when = parse_http_date(value, wall_clock)
    if when is None:
        return None
    return max(0.0, when - wall_clock)


def _transient(error: BaseException) -> bool:
    """A connection or framing failure that another attempt may not meet again."""
    if isinstance(error, (LimitExceeded, TooManyRedirects)):
        return False
    if isinstance(error, ProxyError) and error.status_code == 407:
        return False  # credentials: another attempt meets the same answer
    return isinstance(error, (TransportError, ProtocolError))


_SHARED_RANDOM = random.Random()  # jitter needs no state of its own per stream


class ReconnectState:
    """A source's running count of attempts, and the decision after each outcome."""

    __slots__ = ("_connected_at", "_first_failure", "_rng", "attempts", "policy")

    def __init__(self, policy: Reconnect, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.attempts = 0  # reconnects in a row since the last stable stream
        self._first_failure: float | None = None
        self._connected_at: float | None = None
        self._rng = rng or _SHARED_RANDOM

    def connected(self, now: float) -> None:
        """A stream opened (status 200, event-stream) at ``now``."""
        self._connected_at = now

    def decide(
        self,
        error: BaseException | None,
        *,
        now: float,
        wall_clock: float,
        retry_ms: int | None,
        has_body: bool,
        response_started: bool,
        progressed: bool = False,
    ) -> float | None:
        """Seconds to wait before reconnecting after ``error`` (``None``: the body
        ended normally), or ``None`` to stop (the caller then raises ``error``).
        ``progressed``: the connection delivered at least one event."""
        policy = self.policy
        stayed_up = (
            self._connected_at is not None and now - self._connected_at >= policy.reset_after
        )
        if stayed_up or progressed:
            self.attempts = 0
            self._first_failure = None
        self._connected_at = None
        wait_at_least = 0.0
        if error is None:
            if not policy.on_end:
                return None
        elif isinstance(error, ResponseError):
            if error.status_code not in (429, 503):
                return None
            wait_at_least = retry_after_seconds(error.header("retry-after"), wall_clock) or 0.0
        elif not _transient(error):
            return None
        if has_body and response_started and not policy.retry_body:
            return None
        if self._first_failure is None:
            self._first_failure = now
        self.attempts += 1
        if policy.max_attempts is not None and self.attempts > policy.max_attempts:
            return None
        if policy.max_elapsed is not None and now - self._first_failure > policy.max_elapsed:
            return None
        # The server's retry: is kept exactly; the wait it asks for is capped here,
        # before any float conversion, so no huge value reaches a sleep.
        base = policy.delay if retry_ms is None else min(retry_ms, _MAX_WAIT_MS) / 1000
        growth = float(policy.backoff) ** min(self.attempts - 1, 64)
        delay = min(base * growth, max(policy.max_delay, base))
        if policy.jitter:
            # Only ever longer: the reconnection time is a minimum (WHATWG).
            delay *= 1 + policy.jitter * self._rng.random()
        return min(max(delay, wait_at_least), max(MAX_RECONNECT_WAIT, policy.max_delay))
