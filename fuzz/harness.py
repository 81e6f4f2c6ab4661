"""Drivers shared by the hypothesis properties and the atheris target.

Each driver runs one decoder over one chunking and returns an ``Outcome``: every
item delivered (feed results, ``close()``, and the items a ``LimitExceeded``
carries), the error if one was raised, and the final ``last_event_id`` and
``retry``.  Two runs of the same input must give equal outcomes however the
input was cut; ``LimitExceeded.size`` is left out because it only promises
"at least ``limit + 1``".

The reference model lives in ``tests/reference_model.py``; ``reference()``
puts ``tests/`` on ``sys.path`` to load it, so both suites share one model.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sseio

__all__ = [
    "REPO",
    "SHORT_HEAD",
    "Outcome",
    "Snapshot",
    "check_item",
    "reference",
    "reference_outcome",
    "run_decoder",
    "run_iter_sse",
    "run_lines_then_assembler",
    "without_state",
    "wrap",
]

REPO = Path(__file__).resolve().parent.parent
"""The repository root (``fuzz/..``)."""

SHORT_HEAD = 5
"""Under a ``max_line_size`` below this, the decoder may hold up to this many bytes.

Whether an over-long line may be skipped (an unknown field, an unwanted
comment) depends on its name, so the line splitter keeps up to 5 bytes without
a colon (the longest known field name) before deciding, as documented in
``LineSplitter._overflow``.  The memory check allows for that, and for a
partial BOM (at most 2 bytes) under the same tiny limits.
"""

_CHUNK_TYPES: dict[str, Callable[[bytes], bytes | bytearray | memoryview]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
}


def wrap(chunk: bytes, kind: str) -> bytes | bytearray | memoryview:
    """``chunk`` as ``bytes``, ``bytearray`` or ``memoryview`` (feed must accept all three)."""
    return _CHUNK_TYPES[kind](chunk)


@dataclass(frozen=True)
class Snapshot:
    """The state after one ``feed()``: bytes consumed so far, items so far, stream state."""

    offset: int
    items: int
    last_event_id: str
    retry: int | None


@dataclass(frozen=True)
class Outcome:
    """Everything a run produced; equality ignores the per-feed snapshots."""

    items: tuple[Any, ...]
    last_event_id: str | None
    retry: int | None
    error: tuple[str, str] | None = None
    snapshots: tuple[Snapshot, ...] = field(default=(), compare=False, repr=False)


def _limit_error(exc: sseio.LimitExceeded, options: dict[str, Any]) -> tuple[str, str]:
    """Check a ``LimitExceeded`` against the options it came from; return its comparable part."""
    assert exc.limit_name in ("max_line_size", "max_event_size"), exc.limit_name
    configured = options.get(
        exc.limit_name,
        sseio.DEFAULT_MAX_LINE_SIZE
        if exc.limit_name == "max_line_size"
        else sseio.DEFAULT_MAX_EVENT_SIZE,
    )
    assert exc.limit == configured, (exc.limit, configured)
    assert exc.size > exc.limit, (exc.size, exc.limit)
    return (type(exc).__name__, exc.limit_name)


def run_decoder(
    chunks: Sequence[bytes],
    options: dict[str, Any],
    *,
    kind: str = "bytes",
    check_pending: bool = False,
) -> Outcome:
    """Feed ``chunks`` to a fresh ``SSEDecoder(**options)`` and close it.

    Only ``LimitExceeded`` is caught (its items are kept, feeding stops); any
    other exception propagates.  ``check_pending`` asserts after every feed that
    the decoder holds no more than ``max(max_line_size, SHORT_HEAD)`` bytes of
    partial line.
    """
    decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder(**options)
    limit = max(options.get("max_line_size", sseio.DEFAULT_MAX_LINE_SIZE), SHORT_HEAD)
    items: list[Any] = []
    snapshots: list[Snapshot] = []
    error: tuple[str, str] | None = None
    offset = 0
    for chunk in chunks:
        try:
            got = decoder.feed(wrap(chunk, kind))
        except sseio.LimitExceeded as exc:
            items += exc.events
            error = _limit_error(exc, options)
            break
        finally:
            if check_pending:
                assert decoder.pending <= limit, (
                    f"decoder holds {decoder.pending} bytes, options={options!r}"
                )
        assert isinstance(got, list), type(got)
        items += got
        offset += len(chunk)
        snapshots.append(Snapshot(offset, len(items), decoder.last_event_id, decoder.retry))
    else:
        closed = decoder.close()
        assert closed == [], closed
    return Outcome(tuple(items), decoder.last_event_id, decoder.retry, error, tuple(snapshots))


def run_lines_then_assembler(
    chunks: Sequence[bytes],
    options: dict[str, Any],
    *,
    as_bytes: bool = False,
) -> Outcome:
    """Split with ``LineDecoder``, then apply the lines with an ``EventAssembler``.

    ``options`` are ``SSEDecoder`` options; ``max_line_size`` goes to the line
    decoder, the rest to the assembler.  ``as_bytes`` feeds the assembler UTF-8
    bytes instead of ``str`` lines.
    """
    line_options = {k: v for k, v in options.items() if k == "max_line_size"}
    assembler_options = {k: v for k, v in options.items() if k != "max_line_size"}
    lines = sseio.LineDecoder(**line_options)
    assembler = sseio.EventAssembler(**assembler_options)
    items: list[Any] = []
    error: tuple[str, str] | None = None
    for chunk in chunks:
        try:
            got: list[str] = lines.feed(chunk)
        except sseio.LimitExceeded as exc:
            got = exc.events
            error = _limit_error(exc, options)
        feed: Iterable[str | bytes] = [line.encode() for line in got] if as_bytes else got
        try:
            items += assembler.feed(feed)
        except sseio.LimitExceeded as exc:
            items += exc.events
            error = _limit_error(exc, options)
        if error is not None:
            break
    else:
        assert lines.close() == []
        assert assembler.close() == []
    return Outcome(tuple(items), assembler.last_event_id, assembler.retry, error)


def run_iter_sse(
    chunks: Sequence[bytes],
    options: dict[str, Any],
    *,
    asynchronous: bool = False,
    kind: str = "bytes",
) -> Outcome:
    """Collect what ``iter_sse`` (or ``aiter_sse``) yields for ``chunks``.

    The iterators hide the decoder, so ``last_event_id`` and ``retry`` are
    ``None``; compare with ``without_state()`` of a ``run_decoder`` outcome.
    """
    items: list[Any] = []
    error: tuple[str, str] | None = None
    wrapped = [wrap(chunk, kind) for chunk in chunks]
    try:
        if asynchronous:
            asyncio.run(_collect_async(wrapped, options, items))
        else:
            for item in sseio.iter_sse(wrapped, **options):
                items.append(item)
    except sseio.LimitExceeded as exc:
        error = _limit_error(exc, options)
    return Outcome(tuple(items), None, None, error)


async def _collect_async(
    chunks: list[bytes | bytearray | memoryview], options: dict[str, Any], items: list[Any]
) -> None:
    async def source() -> AsyncIterator[bytes | bytearray | memoryview]:
        for chunk in chunks:
            yield chunk

    async for item in sseio.aiter_sse(source(), **options):
        items.append(item)


def without_state(outcome: Outcome) -> Outcome:
    """``outcome`` with ``last_event_id`` and ``retry`` blanked (to compare with iterators)."""
    return Outcome(outcome.items, None, None, outcome.error)


def check_item(item: Any, options: dict[str, Any]) -> None:
    """Assert that ``item`` is a well-formed value the decoder may emit under ``options``."""
    if isinstance(item, sseio.ServerSentEvent):
        assert isinstance(item.event, str), item
        assert isinstance(item.data, str), item
        assert isinstance(item.id, str), item
        assert item.event, f"empty event type: {item!r}"
        assert not any(c in item.event for c in "\r\n"), item
        assert "\r" not in item.data, item
        assert not any(c in item.id for c in "\r\n\0"), item
        sentinel = options.get("done_sentinel", "[DONE]")
        assert item.data != sentinel, f"sentinel {sentinel!r} delivered as data: {item!r}"
        if item.retry is not None:
            assert type(item.retry) is int, item
            assert 0 <= item.retry <= sseio.MAX_RETRY, item
    elif isinstance(item, sseio.Done):
        assert options.get("done_sentinel", "[DONE]") is not None, "Done with the sentinel off"
    elif isinstance(item, sseio.Comment):
        assert options.get("comments", False), f"comment delivered without comments=True: {item!r}"
        assert isinstance(item.text, str), item
        assert not any(c in item.text for c in "\r\n"), item
    else:
        raise AssertionError(f"unexpected item {item!r}")


_reference_decode: Callable[..., Any] | None = None


def reference() -> Callable[..., Any]:
    """``reference_decode`` from ``tests/reference_model.py``."""
    global _reference_decode
    if _reference_decode is None:
        tests = str(REPO / "tests")
        if tests not in sys.path:
            sys.path.insert(0, tests)
        _reference_decode = importlib.import_module("reference_model").reference_decode
    return _reference_decode


def reference_outcome(data: bytes, options: dict[str, Any]) -> Outcome:
    """What the reference model says a whole stream decodes to, as an ``Outcome``."""
    kwargs = {k: options[k] for k in ("done_sentinel", "comments") if k in options}
    result = reference()(data, **kwargs)
    return Outcome(tuple(result.items), result.last_event_id, result.retry)
