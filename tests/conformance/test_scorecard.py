"""The parser scorer's runs and scorecard: sseio scores 100%, seeded bugs show up as
readable diffs, time bounds, event shapes, chunkings and the comparison table."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from conformance_helpers import VECTORS, bom_keeping_adapter, pick

import sseio
from sseio.conformance._parser_adapters import sseio_adapter
from sseio.conformance._parser_run import ParseResult, chunkings, normalise_event, split_points
from sseio.conformance._scorecard import Scorecard, compare, score_parser
from sseio.conformance._vectors import ExpectedEvent

# --------------------------------------------------------------------------- scoring


def test_sseio_scores_everything() -> None:
    card = score_parser(sseio_adapter, name="sseio")
    assert card.ok
    assert card.passed == card.total == len(VECTORS)
    assert all(passed == total for passed, total in card.tag_counts().values())
    # Whole, one byte at a time, and one run per split point for a short vector.
    result = next(r for r in card.results if r.vector.name == "lf-line-ends")
    assert result.runs == 2 + len(result.vector.input) - 1
    total = len(VECTORS)
    assert re.search(rf"^  total +{total}/{total}", card.render(), re.MULTILINE)


def test_seeded_bug_gives_failures_with_diffs() -> None:
    card = score_parser(
        bom_keeping_adapter, name="buggy", vectors=pick("bom-stripped", "lf-line-ends")
    )
    assert (card.passed, card.total) == (1, 2)
    assert card.tag_counts() == {"line-endings": (1, 1), "bom": (0, 1)}
    [failure] = card.failures()
    assert failure.vector.name == "bom-stripped"
    assert failure.failed == failure.runs  # every chunking fails
    text = card.render()
    assert "FAIL bom-stripped [bom]" in text
    assert "first: whole input" in text
    assert "input: b'\\xef\\xbb\\xbfdata: a\\n\\ndata: b\\n\\n'" in text
    assert "events: expected 2, got 1; first difference at event 0" in text
    assert ">> #0 expected type='message' data='a' id=''" in text
    assert "got      type='message' data='b' id=''" in text
    assert "got      (none)" in text
    assert "<-- failures" in text
    assert "FAIL bom-stripped (whole input): event 0 differs" in card.render(details=False)


def test_chunk_boundary_bug_fails_only_some_runs() -> None:
    def cr_at_chunk_end(chunks: Iterable[bytes]) -> list[sseio.ServerSentEvent]:
        # A CR ending a chunk is taken as a whole line end: the LF after it is a blank line.
        return list(sseio_adapter(c[:-1] + b"\n" if c.endswith(b"\r") else c for c in chunks))

    card = score_parser(cr_at_chunk_end, vectors=pick("crlf-is-not-a-blank-line"))
    [result] = card.results
    assert 0 < result.failed < result.runs
    assert result.first_failure is not None
    assert result.first_failure.chunking.startswith(("one byte", "split at byte"))


def test_exceptions_are_failures_with_the_error_shown() -> None:
    def strict(chunks: Iterable[bytes]) -> Iterator[tuple[str, str, str]]:
        for line in b"".join(chunks).decode("utf-8").splitlines():
            yield ("message", line, "")

    card = score_parser(strict, vectors=pick("utf-8-invalid-byte"))
    [result] = card.failures()
    assert result.first_failure is not None
    assert result.first_failure.error is not None
    assert result.first_failure.error.startswith("UnicodeDecodeError: 'utf-8' codec")
    assert "error: UnicodeDecodeError" in card.render()
    # The expected data shows U+FFFD escaped, so it stands out.
    assert "data='a\\ufffdb'" in card.render()


def test_state_mismatch_is_reported() -> None:
    def wrong_state(chunks: Iterable[bytes]) -> ParseResult:
        result = sseio_adapter(chunks)
        last_event_id = "nope" if result.last_event_id else ""
        return ParseResult(result.events, last_event_id, retry=1)

    card = score_parser(wrong_state, vectors=pick("id-sets-event-id", "retry-zero"))
    assert card.passed == 0
    text = card.render()
    assert "last event ID: expected '1', got 'nope'" in text
    assert "retry: expected 0, got 1" in text
    summary = card.render(details=False)
    assert "FAIL id-sets-event-id (whole input): last event ID 'nope', expected '1'" in summary
    assert "FAIL retry-zero (whole input): retry 1, expected 0" in summary


def test_unreported_state_is_not_scored() -> None:
    def events_only(chunks: Iterable[bytes]) -> list[Any]:
        return list(sseio_adapter(chunks))

    card = score_parser(events_only, vectors=pick("id-only-block-at-end", "retry-zero"))
    assert card.ok
    assert all(r.first_failure is None for r in card.results)


def test_hanging_parser_times_out() -> None:
    release = threading.Event()

    def hangs(chunks: Iterable[bytes]) -> list[Any]:
        chunks = list(chunks)
        if len(chunks) > 1:
            release.wait(10)  # only the chunked runs hang
        return list(sseio_adapter(chunks))

    try:
        card = score_parser(hangs, vectors=pick("lf-line-ends", "cr-line-ends"), timeout=0.2)
    finally:
        release.set()
    assert [r.timed_out for r in card.results] == [True, True]
    assert card.passed == 0
    first = card.results[0].first_failure
    assert first is not None
    assert first.chunking == "one byte at a time"
    assert first.error == "timeout: one run took over 0.2 s"


def test_runaway_parser_is_stopped() -> None:
    def endless(chunks: Iterable[bytes]) -> Iterator[tuple[str, str, str]]:
        while True:
            yield ("message", "x", "")

    card = score_parser(endless, vectors=pick("eof-empty-stream"), max_splits=0)
    [result] = card.results
    assert result.first_failure is not None
    assert result.first_failure.error == "stopped: far more events than expected"
    assert len(result.first_failure.events) == 1001


def test_long_values_are_clipped_in_diffs() -> None:
    def truncates(chunks: Iterable[bytes]) -> list[tuple[str, str, str]]:
        return [(e.event, e.data[:10], e.id) for e in sseio_adapter(chunks)]

    card = score_parser(truncates, vectors=pick("big-line-1-mib"), max_splits=4)
    text = card.render()
    assert "(1048578 chars)" in text
    assert "(1048602 chars)" in text  # the input, clipped too
    assert max(len(line) for line in text.splitlines()) < 250
    payload = card.to_dict()["vectors"][0]["first_failure"]
    assert len(payload["expected"]["events"][0]["data"]) < 1100


def test_many_events_diff_shows_a_window() -> None:
    def drops_one(chunks: Iterable[bytes]) -> list[Any]:
        events = list(sseio_adapter(chunks))
        events[500] = events[500]._replace(data="changed")
        return events

    card = score_parser(drops_one, vectors=pick("many-small-events"), max_splits=0)
    text = card.render()
    assert "... 499 matching event(s)" in text
    assert "#500 same" not in text
    assert "more" in text


# --------------------------------------------------------------------------- shapes


class Obj:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


@pytest.mark.parametrize(
    ("item", "want"),
    [
        (sseio.ServerSentEvent("t", "d", "i"), ("t", "d", "i")),
        ({"event": "t", "data": "d", "id": "i"}, ("t", "d", "i")),
        ({"type": None, "data": b"d\xff", "last_event_id": None}, ("message", "d\ufffd", "")),
        ({"type": "t", "data": "d", "id": "i", "last_event_id": "L"}, ("t", "d", "L")),
        (Obj(event=None, type="t", data="d", id=None, last_event_id="L"), ("t", "d", "L")),
        (Obj(event="", data="d", id=7), ("message", "d", "7")),
        (Obj(data=None), ("message", "", "")),
        (("", "d", None), ("message", "d", "")),
        (["t", "d", "i"], ("t", "d", "i")),
    ],
)
def test_event_shapes(item: object, want: tuple[str, str, str]) -> None:
    assert normalise_event(item) == ExpectedEvent(*want)


def test_unreadable_shapes() -> None:
    assert normalise_event(None) is None
    with pytest.raises(TypeError, match="cannot read an event from int"):
        normalise_event(42)

    def odd(chunks: Iterable[bytes]) -> list[Any]:
        return [None, ("a", "b")]

    card = score_parser(odd, vectors=pick("lf-line-ends"))
    first = card.results[0].first_failure
    assert first is not None
    assert first.error is not None
    assert first.error.startswith("TypeError: cannot read an event from tuple")


# --------------------------------------------------------------------------- chunkings


def test_chunkings_cover_every_point_for_small_inputs() -> None:
    data = b"data: a\r\n\r\n"
    runs = list(chunkings(data))
    assert runs[0] == ("whole input", [data])
    assert runs[1] == ("one byte at a time", [bytes([b]) for b in data])
    assert [label for label, _ in runs[2:]] == [f"split at byte {i}" for i in range(1, len(data))]
    for _, chunks in runs:
        assert b"".join(chunks) == data
        assert all(chunks)
    assert list(chunkings(b"")) == [("whole input", [])]
    assert list(chunkings(b"x")) == [("whole input", [b"x"])]


def test_chunkings_are_capped_for_big_inputs() -> None:
    points = split_points(10_000, 100)
    assert len(points) == 100
    assert points[:32] == list(range(1, 33))
    assert points[-32:] == list(range(9968, 10_000))
    assert points == sorted(set(points))
    assert split_points(10, 0) == []
    big = b"x" * 100_000
    runs = list(chunkings(big, max_splits=256))
    assert runs[1][0] == "reads of 4096 bytes"
    assert len(runs) == 2 + 64  # a quarter of the split points above 64 KiB


def test_compare_table_lists_only_scored_tags() -> None:
    cards = [
        score_parser(sseio_adapter, name="a", vectors=pick("bom-stripped")),
        Scorecard("b", ()),
    ]
    table = compare(cards)
    assert table.splitlines()[2].split() == ["bom", "1/1", "-"]
    assert table.splitlines()[-1].split() == ["total", "1/1", "0/0"]
