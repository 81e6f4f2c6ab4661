"""The shared chunking helper: one input, every way of cutting it, one answer.

Every decoder test goes through here.  The same bytes are fed to a fresh
decoder in many chunkings — whole, one byte at a time, one byte at a time with
empty chunks in between, split at every single split point, and (for inputs up
to ``PAIR_LIMIT`` bytes) split at every pair of split points — collecting every
``feed()`` result and then ``close()``.  All chunkings must give identical
items and identical final state (``last_event_id`` and ``retry`` for
``SSEDecoder``), or, when the input breaks a limit, the same error with the
same items delivered before it.

``check_chunking`` is for ``SSEDecoder`` (and returns its items),
``check_line_chunking`` for ``LineDecoder`` (and returns its lines), and
``check_chunking_outcome`` / ``check_line_chunking_outcome`` return the whole
``Outcome`` for inputs that are expected to raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import sseio

__all__ = [
    "PAIR_LIMIT",
    "Outcome",
    "check_chunking",
    "check_chunking_outcome",
    "check_line_chunking",
    "check_line_chunking_outcome",
    "chunkings",
    "run_decoder",
    "run_line_decoder",
    "split_at",
]

PAIR_LIMIT = 40
"""Inputs up to this many bytes are also split at every pair of split points."""


@dataclass(frozen=True)
class Outcome:
    """Everything one run of a decoder produced.

    ``items`` holds all the values returned by ``feed()``/``close()`` plus, when
    a feed raised ``LimitExceeded``, the items carried by the exception.
    ``error`` is ``(type, limit_name, limit)`` for a ``LimitExceeded`` (the size
    seen may differ between chunkings: it is "at least limit + 1"), else
    ``None``.  ``last_event_id`` and ``retry`` are ``None`` for ``LineDecoder``.
    """

    items: tuple[Any, ...]
    last_event_id: str | None
    retry: int | None
    error: tuple[type[BaseException], str, int] | None


def split_at(data: bytes, points: Sequence[int]) -> list[bytes]:
    """Cut ``data`` at the given offsets (sorted, each in ``0..len(data)``)."""
    chunks: list[bytes] = []
    start = 0
    for point in points:
        chunks.append(data[start:point])
        start = point
    chunks.append(data[start:])
    return chunks


def chunkings(data: bytes, *, pairs: bool | None = None) -> Iterator[list[bytes]]:
    """Every chunking the helper tries for ``data``.

    ``pairs`` forces the pair-of-split-points family on or off; by default it
    is used when ``len(data) <= PAIR_LIMIT``.
    """
    size = len(data)
    yield [data]
    yield [data[i : i + 1] for i in range(size)]
    interleaved: list[bytes] = [b""]
    for i in range(size):
        interleaved += [data[i : i + 1], b""]
    yield interleaved
    for point in range(size + 1):
        yield split_at(data, [point])
    if pairs if pairs is not None else size <= PAIR_LIMIT:
        for first, second in combinations(range(1, size), 2):
            yield split_at(data, [first, second])


def run_decoder(chunks: Sequence[bytes | bytearray | memoryview], **options: Any) -> Outcome:
    """Feed ``chunks`` to a fresh ``SSEDecoder(**options)``, then close it."""
    decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder(**options)
    items: list[Any] = []
    error: tuple[type[BaseException], str, int] | None = None
    size = 0
    try:
        for chunk in chunks:
            items += decoder.feed(chunk)
        items += decoder.close()
    except sseio.LimitExceeded as exc:
        items += exc.events
        error = (type(exc), exc.limit_name, exc.limit)
        size = exc.size
    if error is not None:
        assert size > error[2], (size, error)
    return Outcome(tuple(items), decoder.last_event_id, decoder.retry, error)


def run_line_decoder(chunks: Sequence[bytes | bytearray | memoryview], **options: Any) -> Outcome:
    """Feed ``chunks`` to a fresh ``LineDecoder(**options)``, then close it."""
    decoder = sseio.LineDecoder(**options)
    lines: list[str] = []
    error: tuple[type[BaseException], str, int] | None = None
    size = 0
    try:
        for chunk in chunks:
            lines += decoder.feed(chunk)
        lines += decoder.close()
    except sseio.LimitExceeded as exc:
        lines += exc.events
        error = (type(exc), exc.limit_name, exc.limit)
        size = exc.size
    if error is not None:
        assert size > error[2], (size, error)
    return Outcome(tuple(lines), None, None, error)


def _check(
    run: Callable[..., Outcome], data: bytes, pairs: bool | None, options: dict[str, Any]
) -> Outcome:
    data = bytes(data)
    reference: Outcome | None = None
    reference_chunks: list[bytes] = []
    for chunks in chunkings(data, pairs=pairs):
        assert b"".join(chunks) == data
        outcome = run(chunks, **options)
        if reference is None:
            reference, reference_chunks = outcome, chunks
            continue
        assert outcome == reference, (
            f"chunking changed the result for {data!r} with {options!r}\n"
            f"  {reference_chunks!r}\n  -> {reference!r}\n"
            f"  {chunks!r}\n  -> {outcome!r}"
        )
    assert reference is not None
    return reference


def check_chunking_outcome(data: bytes, *, pairs: bool | None = None, **options: Any) -> Outcome:
    """Run ``SSEDecoder(**options)`` on every chunking of ``data``; all must agree."""
    return _check(run_decoder, data, pairs, options)


def check_chunking(data: bytes, *, pairs: bool | None = None, **options: Any) -> list[Any]:
    """Like ``check_chunking_outcome`` but the input must not raise; returns the items."""
    outcome = check_chunking_outcome(data, pairs=pairs, **options)
    assert outcome.error is None, f"{data!r} raised {outcome.error!r}"
    return list(outcome.items)


def check_line_chunking_outcome(
    data: bytes, *, pairs: bool | None = None, **options: Any
) -> Outcome:
    """Run ``LineDecoder(**options)`` on every chunking of ``data``; all must agree."""
    return _check(run_line_decoder, data, pairs, options)


def check_line_chunking(data: bytes, *, pairs: bool | None = None, **options: Any) -> list[str]:
    """Like ``check_line_chunking_outcome`` but the input must not raise; returns the lines."""
    outcome = check_line_chunking_outcome(data, pairs=pairs, **options)
    assert outcome.error is None, f"{data!r} raised {outcome.error!r}"
    return list(outcome.items)
