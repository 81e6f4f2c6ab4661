"""What a client conformance test is, what the server records for it, and how it is judged.

Pure data and judging, no I/O.  Each *client test* (``ClientTest``) is a
script of replies, one per request (the first request gets the first reply, a
reconnection the next; once the script is spent every further request gets
``STOP``, a 204, which tells an EventSource to stop), and a judge that looks
at what the server recorded (``ServerLog``: each request's method, headers and
arrival time, each reply's status and end) and, when it has one, at what the
client reported (``ClientResult``: its events and the exception that ended
it), giving a ``Verdict``: pass, fail or n/a, with the reason.  Replies are
raw bytes, one HTTP chunk per piece with optional pauses between them, so the
tests control the exact wire bytes and their fragmentation; a reply can end
cleanly or by dropping the connection.

``compare_events`` and ``events_judge`` judge a client by the events it handed
out; ``settled_after_first_reply`` / ``settled_after_requests`` say when a
test has seen all it needs, so a client still waiting to reconnect can be
stopped (after ``SETTLE_GRACE`` seconds).  A client's ``Outcome`` on every
test make up its ``Scorecard``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._client_adapters import ClientEvent, ClientResult

__all__ = [
    "SETTLE_GRACE",
    "STOP",
    "ClientTest",
    "Judge",
    "Outcome",
    "RecordedRequest",
    "Reply",
    "Scorecard",
    "ServerLog",
    "Verdict",
    "compare_events",
    "error_text",
    "events_judge",
    "settled_after_first_reply",
    "settled_after_requests",
]

SETTLE_GRACE = 0.5
"""Seconds a client gets, after the server finished a reply, to hand out its last events."""

# --- what the server records ----------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request a test received: method, lower-cased headers and arrival time
    (``time.monotonic()`` seconds)."""

    method: str
    headers: tuple[tuple[str, str], ...]
    at: float

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)


@dataclass
class ServerLog:
    """What the server saw for one test: its requests, the status each got, and when
    each reply ended."""

    requests: list[RecordedRequest] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        """Whether the last request was answered 204 (an error raised then is the stop)."""
        return bool(self.statuses) and self.statuses[-1] == 204

    def copy(self) -> ServerLog:
        return ServerLog(list(self.requests), list(self.statuses), list(self.ends))


# --- tests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    Status 200 with an event-stream content type is streamed: ``chunks`` one HTTP
    chunk each, ``pause`` seconds before every chunk after the first, then
    ``hold`` seconds of quiet, then a clean end or, with ``drop``, a dropped
    connection.  Any other status or content type is a plain response whose body
    is the chunks joined.
    """

    chunks: tuple[bytes, ...] = ()
    status: int = 200
    content_type: str = "text/event-stream; charset=utf-8"
    pause: float = 0.0
    hold: float = 0.0
    drop: bool = False

    @property
    def streamed(self) -> bool:
        return self.status == 200 and self.content_type.startswith("text/event-stream")


STOP = Reply(status=204)
"""What every request gets once a test's script is spent."""


@dataclass(frozen=True)
class Verdict:
    """``pass``, ``fail``, or ``n/a`` (nothing to judge: e.g. no client report in serve
    mode, or the client never asked for the test), with the reason."""

    status: Literal["pass", "fail", "n/a"]
    reason: str = ""


Judge = Callable[[ServerLog, "ClientResult | None"], Verdict]


@dataclass(frozen=True)
class ClientTest:
    """A named test: the replies it serves, how it judges, and its time bounds.

    ``settled(log)`` says when the test has seen all it needs even if the client
    is still running (a reconnecting client waiting to come back); the runner
    then stops the client.  ``timeout`` bounds the client on this test.
    """

    name: str
    rule: str
    replies: tuple[Reply, ...]
    judge: Judge
    kind: Literal["vector", "behaviour"] = "behaviour"
    timeout: float = 4.0
    settled: Callable[[ServerLog], bool] | None = None

    def reply(self, attempt: int) -> Reply:
        return self.replies[attempt] if attempt < len(self.replies) else STOP


# --- judging helpers ------------------------------------------------------------------------


def _short(value: object, limit: int = 70) -> str:
    text = repr(value)
    return (
        text if len(text) <= limit else f"{text[: limit - 20]}...{text[-12:]} ({len(text)} chars)"
    )


def _show(event: ClientEvent) -> str:
    kind, data, last_id = event
    shown = f"type={kind!r} data={_short(data, 50)}"
    return shown if last_id is None else f"{shown} id={last_id!r}"


def error_text(error: BaseException) -> str:
    """``ExcType: first line of the message``, cut to 100 characters."""
    lines = str(error).splitlines()
    message = lines[0] if lines else ""
    if len(message) > 100:
        message = message[:97] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def compare_events(expected: Sequence[ClientEvent], got: Sequence[ClientEvent]) -> str | None:
    """``None`` when ``got`` matches ``expected`` (an ID of ``None`` in ``got``, from a client
    that does not report IDs, is not compared), else the first difference in words."""
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want[:2] != have[:2] or (have[2] is not None and have[2] != want[2]):
            return f"event {index}: expected {_show(want)}, got {_show(have)}"
    if len(got) < len(expected):
        missing = len(expected) - len(got)
        return (
            f"got {len(got)} of {len(expected)} events; "
            f"missing from event {len(got)}: {_show(expected[len(got)])}"
            + (f" (+{missing - 1} more)" if missing > 1 else "")
        )
    if len(got) > len(expected):
        return f"got {len(got) - len(expected)} extra event(s), first: {_show(got[len(expected)])}"
    return None


def events_judge(expected: Sequence[ClientEvent]) -> Judge:
    """Judge a client by its events alone: exactly ``expected``, and no exception."""

    def judge(log: ServerLog, result: ClientResult | None) -> Verdict:
        if result is None:
            return Verdict("n/a", "needs the client's events (run with --client)")
        if result.error is not None and not result.events and not log.stopped:
            return Verdict("fail", f"raised {error_text(result.error)}")
        difference = compare_events(expected, result.events)
        if difference is not None:
            suffix = f"; then raised {error_text(result.error)}" if result.error else ""
            return Verdict("fail", difference + suffix)
        if result.error is not None and not log.stopped:
            return Verdict("fail", f"all events arrived, then raised {error_text(result.error)}")
        return Verdict("pass")

    return judge


def settled_after_first_reply(log: ServerLog) -> bool:
    """Whether the first reply ended at least ``SETTLE_GRACE`` seconds ago."""
    return bool(log.ends) and time.monotonic() - log.ends[0] >= SETTLE_GRACE


def settled_after_requests(count: int) -> Callable[[ServerLog], bool]:
    """A ``settled`` check: ``count`` requests answered, the last ``SETTLE_GRACE`` s ago."""

    def settled(log: ServerLog) -> bool:
        return (
            len(log.requests) >= count
            and len(log.ends) >= count
            and time.monotonic() - log.ends[count - 1] >= SETTLE_GRACE
        )

    return settled


# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    test: ClientTest
    verdict: Verdict
    result: ClientResult | None
    requests: int


@dataclass(frozen=True)
class Scorecard:
    """One client's outcomes on every test, in test order."""

    client: str
    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.verdict.status == "fail")

    @property
    def passed(self) -> int:
        return sum(o.verdict.status == "pass" for o in self.outcomes)

    def as_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "passed": self.passed,
            "failed": len(self.failed),
            "tests": [
                {
                    "name": o.test.name,
                    "kind": o.test.kind,
                    "status": o.verdict.status,
                    "reason": o.verdict.reason,
                    "requests": o.requests,
                    "events": None if o.result is None else len(o.result.events),
                    "timed_out": None if o.result is None else o.result.timed_out,
                }
                for o in self.outcomes
            ],
        }
