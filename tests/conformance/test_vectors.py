"""The conformance vectors: well-formed, passed by sseio in every chunking, and strong.

Strength is shown by mutation: ``mutant_parse`` below is a small, plainly
written incremental parser of the WHATWG rules with "bug switches", each one
a mistake real parsers make.  Without switches it passes every vector; with
any one switch on, at least one vector must fail (run through the parser
scorer, so chunk-boundary bugs are exercised too).  ``CAUGHT_BY`` records, for
each seeded bug, vectors known to catch it, so the report is reviewable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

import pytest
from reference_model import reference_decode

import sseio
from sseio._core.events import Done
from sseio.conformance._parser_run import ParseResult, chunkings
from sseio.conformance._scorecard import score_parser
from sseio.conformance._vectors import (
    TAGS,
    ExpectedEvent,
    Vector,
    expected_items,
    load_vectors,
    parse_vectors,
)

VECTORS = load_vectors()
SMALL = [v for v in VECTORS if len(v.input) <= 4096]
BIG = [v for v in VECTORS if len(v.input) > 4096]


# --------------------------------------------------------------------------- the corpus


def test_corpus_shape() -> None:
    assert len(VECTORS) >= 80
    names = [v.name for v in VECTORS]
    assert len(set(names)) == len(names)
    for vector in VECTORS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", vector.name), vector.name
        assert vector.rule.endswith("."), vector.name
        assert vector.tags, vector.name
        assert set(vector.tags) <= set(TAGS), vector.name
    # Every tag is exercised, most of them many times.
    for tag in TAGS:
        assert len(load_vectors(tags=[tag])) >= 5, tag


def test_load_vectors_filters_and_caches() -> None:
    assert load_vectors() is load_vectors()
    bom = load_vectors(tags=["bom"])
    assert bom
    assert all("bom" in v.tags for v in bom)
    both = load_vectors(tags=("bom", "retry"))
    assert {v.name for v in both} == {v.name for v in VECTORS if {"bom", "retry"} & set(v.tags)}
    with pytest.raises(ValueError, match="unknown tag nope"):
        load_vectors(tags=["nope"])


def test_data_file_encodings() -> None:
    vectors = {v.name: v for v in VECTORS}
    assert vectors["utf-8-overlong-two-byte"].input == b"data: a\xc0\xafb\n\n"
    assert vectors["bom-stripped"].input.startswith(b"\xef\xbb\xbfdata")
    big = vectors["big-line-1-mib"]
    assert big.input == b"data: " + b"x" * 2**20 + b"\n\ndata: end\n\n"
    assert big.events == (
        ExpectedEvent("message", "x" * 2**20, ""),
        ExpectedEvent("message", "end", ""),
    )
    assert vectors["many-small-events"].events == (ExpectedEvent("message", "e", ""),) * 2000
    # The shipped file stays small: big inputs are recipes.
    size = len(resources.files("sseio.conformance").joinpath("vectors.json").read_bytes())
    assert size < 100_000


def test_malformed_documents_rejected() -> None:
    good = {
        "name": "x",
        "rule": "r.",
        "tags": ["bom"],
        "input": "",
        "events": [],
        "last_event_id": "",
        "retry": None,
    }
    assert parse_vectors({"vectors": [good]})[0].name == "x"
    with pytest.raises(ValueError, match="duplicate"):
        parse_vectors({"vectors": [good, good]})
    with pytest.raises(ValueError, match="bad tags"):
        parse_vectors({"vectors": [{**good, "tags": ["nope"]}]})
    with pytest.raises(ValueError, match="bad retry"):
        parse_vectors({"vectors": [{**good, "retry": -1}]})
    document = json.loads(
        resources.files("sseio.conformance").joinpath("vectors.json").read_text("utf-8")
    )
    assert "hex" in document["format"]


def test_expected_items_turns_sentinel_into_done() -> None:
    vector = next(v for v in VECTORS if v.name == "llm-openai-chat-stream")
    items = expected_items(vector)
    assert isinstance(items[-1], Done)
    assert items[:-1] == vector.events[:-1]
    assert expected_items(vector, done_sentinel=None) == vector.events


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_reference_model_agrees(vector: Vector) -> None:
    """The hand-written expectations match the test suite's independent text model."""
    result = reference_decode(vector.input, done_sentinel=None)
    got = tuple(
        ExpectedEvent(e.event, e.data, e.id)
        for e in result.items
        if isinstance(e, sseio.ServerSentEvent)
    )
    assert len(got) == len(result.items)
    assert (got, result.last_event_id, result.retry) == (
        vector.events,
        vector.last_event_id,
        vector.retry,
    )


# --------------------------------------------------------------------------- sseio passes


def _sseio_outcome(chunks: Iterable[bytes]) -> tuple[tuple[ExpectedEvent, ...], str, int | None]:
    decoder = sseio.SSEDecoder(done_sentinel=None)
    items: list[Any] = []
    for chunk in chunks:
        items += decoder.feed(chunk)
    items += decoder.close()
    events = tuple(ExpectedEvent(e.event, e.data, e.id) for e in items)
    return events, decoder.last_event_id, decoder.retry


@pytest.mark.parametrize("vector", SMALL, ids=lambda v: v.name)
def test_sseio_passes_every_chunking(vector: Vector) -> None:
    want = (vector.events, vector.last_event_id, vector.retry)
    for label, chunks in chunkings(vector.input, max_splits=4096):
        assert _sseio_outcome(chunks) == want, label


@pytest.mark.parametrize("vector", BIG, ids=lambda v: v.name)
def test_sseio_passes_big_vectors_sampled(vector: Vector) -> None:
    want = (vector.events, vector.last_event_id, vector.retry)
    for label, chunks in chunkings(vector.input, max_splits=64):
        assert _sseio_outcome(chunks) == want, label
    data = vector.input
    assert _sseio_outcome(data[i : i + 1000] for i in range(0, len(data), 1000)) == want


# --------------------------------------------------------------------------- mutation check

BUGS = (
    "keep-bom",  # the leading BOM is not stripped
    "strip-every-bom",  # all leading BOMs are stripped, not just one
    "no-cr",  # a lone CR does not end a line
    "crlf-two-line-ends",  # CRLF ends a line and then an empty one
    "cr-at-chunk-end",  # a CR ending a chunk ends the line, so a following LF is a blank line
    "unicode-line-breaks",  # str.splitlines(): U+2028, NEL, VT, FF... end lines too
    "keep-space",  # the space after the colon is kept
    "strip-all-spaces",  # every leading space of the value is removed
    "case-insensitive-names",  # Data, ID... are recognised
    "bare-name-ignored",  # a line without a colon is skipped instead of being a field
    "nul-id-accepted",  # an id containing NUL is taken
    "empty-id-ignored",  # an empty id does not clear the last event ID
    "id-reset-after-dispatch",  # the last event ID is cleared after each event
    "id-only-with-data",  # an id takes effect only if its block dispatches an event
    "id-at-line-time",  # the stream's last event ID changes as soon as the id line is read
    "retry-int",  # retry parsed with int(): signs, spaces, underscores, Unicode digits
    "retry-at-dispatch",  # retry takes effect only at a blank line
    "keep-trailing-lf",  # the final LF of the data buffer is not removed
    "strip-all-trailing-lf",  # every trailing LF is removed
    "event-type-sticky",  # the event type is not reset after dispatch
    "dispatch-without-data",  # a block with an id, event or retry but no data dispatches
    "dispatch-at-eof",  # an unterminated event is dispatched at end of input
    "strict-utf-8",  # invalid UTF-8 raises instead of becoming U+FFFD
    "name-before-last-colon",  # the field name ends at the last colon, not the first
)

CAUGHT_BY = {
    "keep-bom": "bom-stripped",
    "strip-every-bom": "bom-second-is-data",
    "no-cr": "cr-line-ends",
    "crlf-two-line-ends": "crlf-is-not-a-blank-line",
    "cr-at-chunk-end": "crlf-is-not-a-blank-line",
    "unicode-line-breaks": "other-breaks-are-not-line-ends",
    "keep-space": "lf-line-ends",
    "strip-all-spaces": "space-after-colon-removed-once",
    "case-insensitive-names": "field-names-case-sensitive",
    "bare-name-ignored": "data-without-colon",
    "nul-id-accepted": "id-with-nul-ignored",
    "empty-id-ignored": "id-empty-resets",
    "id-reset-after-dispatch": "id-persists-across-events",
    "id-only-with-data": "id-only-block-updates-id",
    "id-at-line-time": "id-unterminated-block-not-committed",
    "retry-int": "retry-plus-sign-ignored",
    "retry-at-dispatch": "retry-applies-without-blank-line",
    "keep-trailing-lf": "lf-line-ends",
    "strip-all-trailing-lf": "data-only-one-trailing-lf-removed",
    "event-type-sticky": "event-type-reset-after-dispatch",
    "dispatch-without-data": "llm-keepalive-after-id",
    "dispatch-at-eof": "eof-unterminated-event-discarded",
    "strict-utf-8": "utf-8-invalid-byte",
    "name-before-last-colon": "colon-in-value",
}
"""For each seeded bug, one vector that must catch it (others may too)."""

_LINE_END = {
    "ok": re.compile(rb"\r\n|\r|\n"),
    "no-cr": re.compile(rb"\n"),
    "crlf-two-line-ends": re.compile(rb"\r|\n"),
}
_BOM = b"\xef\xbb\xbf"


def _mutant_lines(chunks: Iterable[bytes], bugs: frozenset[str]) -> Iterator[str]:
    """The complete lines of the stream, decoded, in order."""
    line_end = next((_LINE_END[b] for b in bugs if b in _LINE_END), _LINE_END["ok"])
    errors = "strict" if "strict-utf-8" in bugs else "replace"
    pending = b""
    first = True

    def text(raw: bytes) -> Iterator[str]:
        nonlocal first
        if first:
            first = False
            if "strip-every-bom" in bugs:
                while raw.startswith(_BOM):
                    raw = raw[3:]
            elif "keep-bom" not in bugs and raw.startswith(_BOM):
                raw = raw[3:]
        line = raw.decode("utf-8", errors)
        if "unicode-line-breaks" in bugs:
            yield from line.splitlines() or [""]
        else:
            yield line

    for chunk in chunks:
        buffer = pending + chunk
        start = 0
        for match in line_end.finditer(buffer):
            waits_for_lf = not bugs & {"cr-at-chunk-end", "crlf-two-line-ends"}
            if match.group() == b"\r" and match.end() == len(buffer) and waits_for_lf:
                break  # it may be the first half of CRLF: wait for the next byte
            yield from text(buffer[start : match.start()])
            start = match.end()
        pending = buffer[start:]
    if pending.endswith(b"\r"):
        yield from text(pending[:-1])  # a final CR ends the last line
        pending = b""
    if "dispatch-at-eof" in bugs:
        if pending:
            yield from text(pending)
        yield ""


def _mutant_retry(value: str, bugs: frozenset[str]) -> int | None:
    if "retry-int" in bugs:
        try:
            return int(value)
        except ValueError:
            return None
    return int(value) if value and all(c in "0123456789" for c in value) else None


def mutant_parse(chunks: Iterable[bytes], bugs: frozenset[str] = frozenset()) -> ParseResult:
    """The WHATWG rules, line by line, with the chosen bugs seeded in."""
    events: list[ExpectedEvent] = []
    data: list[str] = []
    event_type = ""
    id_buffer = ""
    block_id: str | None = None
    last_event_id = ""
    retry: int | None = None
    block_retry: int | None = None
    for line in _mutant_lines(chunks, bugs):
        if line == "":
            if "id-only-with-data" in bugs and data and block_id is not None:
                id_buffer = block_id
            last_event_id = id_buffer
            if block_retry is not None:
                retry = block_retry
            dataless_dispatch = "dispatch-without-data" in bugs and (event_type or last_event_id)
            if data or dataless_dispatch:
                text = "".join(value + "\n" for value in data)
                if "strip-all-trailing-lf" in bugs:
                    text = text.rstrip("\n")
                elif "keep-trailing-lf" not in bugs and text:
                    text = text[:-1]
                events.append(ExpectedEvent(event_type or "message", text, last_event_id))
                if "id-reset-after-dispatch" in bugs:
                    id_buffer = ""
                if "event-type-sticky" not in bugs:
                    event_type = ""
            else:
                event_type = ""
            data, block_id, block_retry = [], None, None
            continue
        if line.startswith(":"):
            continue
        if "name-before-last-colon" in bugs:
            name, colon, value = line.rpartition(":")
            name, value = (name, value) if colon else (value, "")
        else:
            name, colon, value = line.partition(":")
        if not colon and "bare-name-ignored" in bugs:
            continue
        if "strip-all-spaces" in bugs:
            value = value.lstrip(" ")
        elif value.startswith(" ") and "keep-space" not in bugs:
            value = value[1:]
        if "case-insensitive-names" in bugs:
            name = name.lower()
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\0" in value and "nul-id-accepted" not in bugs:
                continue
            if value == "" and "empty-id-ignored" in bugs:
                continue
            if "id-only-with-data" in bugs:
                block_id = value
            else:
                id_buffer = value
            if "id-at-line-time" in bugs:
                last_event_id = value
        elif name == "retry":
            parsed = _mutant_retry(value, bugs)
            if parsed is not None:
                if "retry-at-dispatch" in bugs:
                    block_retry = parsed
                else:
                    retry = parsed
    return ParseResult(events, last_event_id, retry)


def test_bug_list_is_complete() -> None:
    assert len(BUGS) >= 10
    assert set(CAUGHT_BY) == set(BUGS)


def test_mutant_without_bugs_passes_everything() -> None:
    card = score_parser(mutant_parse, name="mutant", max_splits=64, timeout=30)
    assert card.ok, [r.vector.name for r in card.failures()]


@pytest.mark.parametrize("bug", BUGS)
def test_every_seeded_bug_is_caught(bug: str) -> None:
    bugs = frozenset({bug})

    def adapter(chunks: Iterable[bytes]) -> ParseResult:
        return mutant_parse(chunks, bugs)

    # The small vectors suffice to catch every bug, and keep this test quick.
    card = score_parser(adapter, name=bug, vectors=SMALL, max_splits=8, timeout=30)
    caught = {r.vector.name for r in card.failures()}
    assert caught, f"no vector catches {bug}"
    assert CAUGHT_BY[bug] in caught, (bug, sorted(caught))
