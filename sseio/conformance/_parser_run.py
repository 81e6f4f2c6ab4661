"""Running and judging one parser on the conformance vectors, each run bounded in time.

A parser under test is reached through an *adapter*: a callable
``adapter(chunks: Iterable[bytes]) -> Iterable[event]`` that parses the
chunks as one complete stream (end of input included) and returns the events.
Accepted event shapes, read in this order (``normalise_event``):

- ``None`` items are skipped;
- a mapping: type from ``"event"`` or ``"type"``, ``"data"``, id from
  ``"last_event_id"`` or ``"id"``;
- an object with a ``data`` attribute: type from ``event`` or ``type``, id from
  ``last_event_id`` or ``id`` (the first one present and not ``None``);
- a 3-tuple or list ``(type, data, id)``.

A type of ``None`` or ``""`` counts as ``"message"``, an id of ``None`` as
``""``; bytes values are decoded as UTF-8.  ``[DONE]`` is plain data, so turn
off any end-of-stream sentinel.  If the returned iterable has a
``last_event_id`` or ``retry`` attribute once exhausted (``ParseResult`` has
both), those are scored too; otherwise they are "not reported" and only the
events count.

Each vector is run whole, one byte at a time, and split in two at every point
(``chunkings``).  Large inputs are capped: at most ``max_splits`` split points
(the first and last 32 points plus an even sample of the rest; a quarter of
that above 64 KiB), and above 64 KiB one byte at a time becomes 4 KiB reads.
A vector passes only if every run gives the expected events (and state, where
reported).  A run that raises fails with the exception shown.

Time bound (``score_vector``): the runs of one vector happen in a daemon worker
thread, and the scorer waits at most ``timeout`` seconds for each run to
finish.  A run still busy then is reported as "timeout" and abandoned: a
thread cannot be killed, so a parser that never returns keeps running in the
background until the process exits, but the scorer moves on to the next
vector.  A run that yields far more events than expected is stopped, so
memory stays bounded.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._core.events import ServerSentEvent
from ._vectors import ExpectedEvent, Vector

__all__ = [
    "BIG_READ",
    "BYTEWISE_LIMIT",
    "DEFAULT_MAX_SPLITS",
    "DEFAULT_TIMEOUT",
    "NOT_REPORTED",
    "Adapter",
    "NotReported",
    "ParseResult",
    "Run",
    "VectorResult",
    "chunkings",
    "clip",
    "describe",
    "normalise_event",
    "score_vector",
    "split_points",
]

Adapter = Callable[[Iterable[bytes]], Iterable[Any]]
"""A parser under test: chunks of one whole stream in, events out."""

DEFAULT_TIMEOUT = 5.0
"""Seconds one run (one chunking of one vector) may take."""
DEFAULT_MAX_SPLITS = 256
"""Split points tried per vector at most."""
BYTEWISE_LIMIT = 64 * 1024
"""Above this many bytes, one-byte reads become ``BIG_READ``-byte reads."""
BIG_READ = 4096
_EDGE_SPLITS = 32
_EXTRA_EVENTS = 1000
"""A run is stopped once it has produced this many events more than expected."""


class NotReported(enum.Enum):
    """The type of ``NOT_REPORTED``: a state the adapter did not report."""

    NOT_REPORTED = "not reported"

    def __repr__(self) -> str:
        return "<not reported>"


NOT_REPORTED = NotReported.NOT_REPORTED
"""The value of ``last_event_id`` / ``retry`` when an adapter does not report them."""


@dataclass(frozen=True)
class ParseResult:
    """What an adapter may return: the events, plus the final stream state if known."""

    events: Sequence[Any]
    last_event_id: str | NotReported | None = NOT_REPORTED
    retry: int | NotReported | None = NOT_REPORTED

    def __iter__(self) -> Iterator[Any]:
        return iter(self.events)


@dataclass(frozen=True)
class Run:
    """One run of the parser on one chunking of a vector's input."""

    chunking: str
    """How the input was cut: ``whole input``, ``one byte at a time``, ``split at byte 7``..."""
    chunks: int
    events: tuple[ExpectedEvent, ...] = ()
    last_event_id: str | NotReported = NOT_REPORTED
    retry: int | NotReported | None = NOT_REPORTED
    error: str | None = None
    """``ExcType: message`` if the run raised, or why it was stopped."""


@dataclass(frozen=True)
class VectorResult:
    """How a parser did on one vector."""

    vector: Vector
    runs: int
    failed: int
    first_failure: Run | None = None
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        return self.failed == 0 and not self.timed_out


# --------------------------------------------------------------------------- running


def chunkings(
    data: bytes, *, max_splits: int = DEFAULT_MAX_SPLITS
) -> Iterator[tuple[str, list[bytes]]]:
    """Every chunking tried for ``data``, as ``(label, chunks)``; no chunk is empty."""
    yield "whole input", [data] if data else []
    if len(data) > 1:
        size = 1 if len(data) <= BYTEWISE_LIMIT else BIG_READ
        label = "one byte at a time" if size == 1 else f"reads of {size} bytes"
        yield label, [data[i : i + size] for i in range(0, len(data), size)]
    if len(data) > BYTEWISE_LIMIT:
        max_splits //= 4
    for point in split_points(len(data), max_splits):
        yield f"split at byte {point}", [data[:point], data[point:]]


def split_points(size: int, max_splits: int) -> list[int]:
    """Points 1..size-1, or at most ``max_splits`` of them: both edges plus an even sample."""
    points = range(1, size)
    if len(points) <= max_splits:
        return list(points)
    edge = min(_EDGE_SPLITS, max_splits // 2)
    chosen = set(points[:edge]) | set(points[len(points) - edge :])
    middle = max_splits - len(chosen)
    if middle > 0:
        step = len(points) / (middle + 1)
        chosen.update(points[int(step * (k + 1))] for k in range(middle))
    return sorted(chosen)


class _VectorJob:
    """All runs of one vector, done in a worker thread the caller can walk away from."""

    def __init__(self, adapter: Adapter, vector: Vector, max_splits: int) -> None:
        self.adapter = adapter
        self.vector = vector
        self.max_splits = max_splits
        self.runs = 0
        self.failed = 0
        self.first_failure: Run | None = None
        self.current = "starting"
        self.finished = False
        self.changed = threading.Condition()
        self.stop = threading.Event()

    def __call__(self) -> None:
        try:
            for label, chunks in chunkings(self.vector.input, max_splits=self.max_splits):
                if self.stop.is_set():
                    return
                self.current = label
                outcome = _run_once(self.adapter, label, chunks, len(self.vector.events))
                with self.changed:
                    if not _matches(outcome, self.vector):
                        self.failed += 1
                        if self.first_failure is None:
                            self.first_failure = outcome
                    self.runs += 1
                    self.changed.notify_all()
        finally:
            with self.changed:
                self.finished = True
                self.changed.notify_all()


def score_vector(adapter: Adapter, vector: Vector, timeout: float, max_splits: int) -> VectorResult:
    """All runs of ``vector`` through ``adapter``; gives up after ``timeout`` s with no progress."""
    job = _VectorJob(adapter, vector, max_splits)
    worker = threading.Thread(target=job, name=f"sseio-conformance-{vector.name}", daemon=True)
    worker.start()
    with job.changed:
        while not job.finished:
            if not job.changed.wait_for(_progress_after(job, job.runs), timeout):
                # No run finished for `timeout` seconds: give up on this vector.
                job.stop.set()
                stuck = Run(job.current, 0, error=f"timeout: one run took over {timeout:g} s")
                failure = job.first_failure or stuck
                return VectorResult(vector, job.runs + 1, job.failed + 1, failure, True)
    worker.join()
    return VectorResult(vector, job.runs, job.failed, job.first_failure)


def _progress_after(job: _VectorJob, runs: int) -> Callable[[], bool]:
    """A predicate: has ``job`` finished, or finished a run since it had done ``runs``?"""
    return lambda: job.finished or job.runs != runs


def _run_once(adapter: Adapter, label: str, chunks: list[bytes], expected: int) -> Run:
    events: list[ExpectedEvent] = []
    try:
        produced = adapter(iter(chunks))
        for item in produced:
            event = normalise_event(item)
            if event is None:
                continue
            events.append(event)
            if len(events) > expected + _EXTRA_EVENTS:
                return Run(
                    label,
                    len(chunks),
                    tuple(events),
                    error="stopped: far more events than expected",
                )
        last_event_id = _reported_id(getattr(produced, "last_event_id", NOT_REPORTED))
        retry = getattr(produced, "retry", NOT_REPORTED)
    except Exception as exc:
        return Run(label, len(chunks), tuple(events), error=describe(exc))
    return Run(label, len(chunks), tuple(events), last_event_id, retry)


def _matches(run: Run, vector: Vector) -> bool:
    if run.error is not None or run.events != vector.events:
        return False
    if run.last_event_id is not NOT_REPORTED and run.last_event_id != vector.last_event_id:
        return False
    return run.retry is NOT_REPORTED or run.retry == vector.retry


def _reported_id(value: object) -> str | NotReported:
    if value is NOT_REPORTED:
        return NOT_REPORTED
    return _text(value, "")


def describe(exc: BaseException) -> str:
    """``ExcType: message`` on one line, the message clipped to 200 characters."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {clip(message, 200)}" if message else type(exc).__name__


def normalise_event(item: object) -> ExpectedEvent | None:
    """Read (type, data, id) from one adapter item; ``None`` for a ``None`` item.

    Raises ``TypeError`` for a shape it cannot read.
    """
    if item is None:
        return None
    if type(item) is ServerSentEvent:  # sseio's own events: the common case, kept fast
        return ExpectedEvent(item.event or "message", item.data, item.id)
    if isinstance(item, Mapping):
        values = (
            _first_key(item, ("event", "type")),
            item.get("data"),
            _first_key(item, ("last_event_id", "id")),
        )
    elif hasattr(item, "data"):
        values = (
            _first_attr(item, ("event", "type")),
            item.data,
            _first_attr(item, ("last_event_id", "id")),
        )
    elif isinstance(item, (tuple, list)) and len(item) == 3:
        values = (item[0], item[1], item[2])
    else:
        raise TypeError(
            f"cannot read an event from {type(item).__name__} {clip(repr(item), 60)}: "
            "expected a mapping, an object with .data, or a (type, data, id) tuple"
        )
    event_type = _text(values[0], "")
    return ExpectedEvent(event_type or "message", _text(values[1], ""), _text(values[2], ""))


def _first_key(item: Mapping[Any, Any], keys: tuple[str, ...]) -> object:
    return next((item[k] for k in keys if item.get(k) is not None), None)


def _first_attr(item: object, names: tuple[str, ...]) -> object:
    return next(
        (getattr(item, n) for n in names if getattr(item, n, None) is not None),
        None,
    )


def _text(value: object, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def clip(text: str, width: int) -> str:
    """``text`` cut to about ``width`` characters, saying how long it was."""
    if len(text) <= width:
        return text
    return f"{text[: width - 25]}... ({len(text)} chars)"
