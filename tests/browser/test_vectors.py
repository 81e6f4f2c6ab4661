"""sseio's conformance vectors judged by a real browser: Chromium's EventSource vs sseio's decoder.

Every shipped vector's raw bytes are served (by ``SSEServer``, and by uvicorn through
``sseio.server.asgi_app``) to an ``EventSource``
in headless Chromium, whole in one HTTP chunk and, for inputs up to 2 KiB, one byte
per chunk; the body then ends, so the browser reconnects after its reconnection
time, and that second request is answered 204 (the source closes).  For each
vector the test compares, with what ``sseio.SSEDecoder`` gives for the same bytes:

- the events the page received (type, data, ``lastEventId``), for every type that
  sseio, the vector or the input's ``event`` lines name;
- the stream's last event ID, as the browser's ``Last-Event-ID`` header on the
  reconnection (absent means empty);
- the reconnection time, as the delay between the body's end and the reconnection
  (sseio's ``retry``, else Chromium's default of 3 s; vectors whose time exceeds
  6 s are closed by the page at the end of the body instead).

Where the two agree the test asserts agreement; the differences are listed in
``KNOWN_DIFFERENCES`` with the reason for each, and the test fails if one appears
that is not listed or a listed one disappears.  The browser is the reference.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from browser.glue import SERVER_KINDS, Site, serve
from playwright.sync_api import Page

from sseio import ServerSentEvent, SSEDecoder
from sseio.conformance import Vector, load_vectors
from sseio.server import EventStream, Request, Response

DEFAULT_RETRY_MS = 3000
"""Chromium's reconnection time when the stream sets none."""
LONGEST_WAIT_MS = 6000
"""Vectors with a longer reconnection time are closed by the page, not waited for."""
BYTES_MODE_MAX = 2048
EARLY_S = 0.15
LATE_S = 0.8
"""How much earlier or later than the reconnection time a reconnection may come."""
WAIT_MS = 60_000
WAVE = 4
"""Sources opened at a time (Chromium queues requests beyond six connections to a server)."""

KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("id-keeps-colons-and-spaces", "last_event_id"): (
        "not a parsing difference: Chromium's events carry lastEventId ' a:b ' exactly as "
        "sseio's do, but the Last-Event-ID header it sends on reconnection is 'a:b' (seen on "
        "a raw socket): Fetch normalizes header values, stripping leading and trailing "
        "HTTP whitespace, so an ID with edge spaces cannot travel intact in the header "
        "(h11 would strip it on receipt too)"
    ),
}
"""(vector name, aspect) -> why Chromium and sseio differ there (the browser is the
reference; aspects: events, last_event_id, retry)."""

VECTORS = load_vectors()
REQUIRED_TAGS = {"line-endings", "bom", "comments", "id", "retry", "eof", "utf-8", "fields"}


@dataclass(frozen=True)
class Case:
    key: str
    vector: Vector
    mode: str  # "whole" or "bytes"

    @property
    def path(self) -> str:
        return f"/vector/{self.vector.name}/{self.mode}"


@dataclass(frozen=True)
class Decoded:
    events: list[tuple[str, str, str]]
    last_event_id: str
    retry: int | None


def decode(data: bytes) -> Decoded:
    decoder = SSEDecoder(done_sentinel=None)
    items = [*decoder.feed(data), *decoder.close()]
    events = [(e.event, e.data, e.id) for e in items if isinstance(e, ServerSentEvent)]
    return Decoded(events, decoder.last_event_id, decoder.retry)


def candidate_types(vector: Vector, decoded: Decoded) -> list[str]:
    """Every event type anyone could dispatch for this input (the page must listen for it)."""
    types = {"message", *(t for t, _, _ in decoded.events), *(e.type for e in vector.events)}
    for line in re.split(rb"\r\n|\r|\n", vector.input):
        line = line.removeprefix(b"\xef\xbb\xbf")
        if line.startswith(b"event"):
            _, _, value = line.partition(b":")
            types.add(value.removeprefix(b" ").decode("utf-8", "replace"))
            types.add(value.decode("utf-8", "replace"))
    return sorted(types - {""})


def cases() -> list[Case]:
    out = []
    for i, vector in enumerate(VECTORS):
        out.append(Case(f"v{i}-whole", vector, "whole"))
        if len(vector.input) <= BYTES_MODE_MAX:
            out.append(Case(f"v{i}-bytes", vector, "bytes"))
    return out


def vector_stream(site: Site, case: Case) -> Any:
    def answer(request: Request, n: int) -> Response | EventStream:
        if n > 0:
            return Response(204)
        data = case.vector.input

        async def items() -> AsyncIterator[bytes]:
            if case.mode == "whole":
                if data:
                    yield data
            else:
                for k in range(len(data)):
                    yield data[k : k + 1]

        return EventStream(site.timed(case.path, items()), keepalive=None)

    return answer


@pytest.fixture(params=SERVER_KINDS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Site, str]]:
    site = Site()
    for case in cases():
        site.add(case.path, vector_stream(site, case))
    with serve(site, request.param) as url:
        yield site, url


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 300 else f"{text[:150]}...({len(text)} chars)...{text[-100:]}"


def header_text(value: str | None) -> str:
    """A ``Last-Event-ID`` header as the browser meant it (UTF-8 bytes, read as latin-1)."""
    return "" if value is None else value.encode("latin-1").decode("utf-8", "replace")


def test_the_selection_covers_the_rules() -> None:
    tags = {tag for vector in VECTORS for tag in vector.tags}
    assert tags >= REQUIRED_TAGS
    names = {vector.name for vector in VECTORS}
    assert {
        "cr-line-ends",
        "crlf-line-ends",
        "bom-stripped",
        "comment-ignored",
        "id-with-nul-ignored",
        "retry-trailing-junk-ignored",
        "no-space-after-colon",
        "data-multiple-lines-joined",
        "no-data-no-event",
        "eof-unterminated-event-discarded",
        "utf-8-invalid-byte",
    } <= names
    assert len(cases()) >= 20


def compare(case: Case, record: dict[str, Any], site: Site) -> list[tuple[str, str, Any, Any]]:
    """The differences for one case: (aspect, detail, sseio's value, the browser's value)."""
    decoded = decode(case.vector.input)
    out: list[tuple[str, str, Any, Any]] = []
    got = [
        (e["type"], e["data"], e["lastEventId"]) for e in record["events"] if e["kind"] == "message"
    ]
    if got != decoded.events:
        out.append(("events", "", decoded.events, got))
    hits = site.hits_to(case.path)
    ends = site.ends_of(case.path)
    expected_ms = DEFAULT_RETRY_MS if decoded.retry is None else decoded.retry
    if expected_ms > LONGEST_WAIT_MS:
        if len(hits) != 1:
            out.append(("retry", "reconnected before the body's end", expected_ms, len(hits)))
        return out
    if len(hits) < 2 or not ends:
        out.append(("retry", "no reconnection", expected_ms, None))
        return out
    if len(hits) > 2:
        out.append(("retry", "requests after the 204", 2, len(hits)))
    if header_text(hits[1].last_event_id) != decoded.last_event_id:
        out.append(("last_event_id", "", decoded.last_event_id, header_text(hits[1].last_event_id)))
    waited = hits[1].at - ends[0]
    if not expected_ms / 1000 - EARLY_S <= waited <= expected_ms / 1000 + LATE_S:
        out.append(("retry", "reconnection delay (ms)", expected_ms, round(waited * 1000)))
    return out


def test_chromium_agrees_with_the_decoder(page: Page, served: tuple[Site, str]) -> None:
    site, url = served
    page.goto(url + "/page.html")
    all_cases = cases()
    specs = []
    for case in all_cases:
        decoded = decode(case.vector.input)
        wait_ms = DEFAULT_RETRY_MS if decoded.retry is None else decoded.retry
        close_on_end = wait_ms > LONGEST_WAIT_MS
        specs.append(
            [case.key, url + case.path, candidate_types(case.vector, decoded), close_on_end]
        )
    keys = [case.key for case in all_cases]
    page.evaluate("([specs, size]) => { sseio.openInWaves(specs, size); }", [specs, WAVE])
    page.wait_for_function("(keys) => sseio.allClosed(keys)", arg=keys, timeout=WAIT_MS)
    time.sleep(0.5)  # a (wrong) request after a 204 would show by now
    records = page.evaluate("(keys) => sseio.report(keys)", keys)

    differences: dict[tuple[str, str], list[str]] = {}
    for case in all_cases:
        for aspect, detail, ours, theirs in compare(case, records[case.key], site):
            differences.setdefault((case.vector.name, aspect), []).append(
                f"{case.mode}: {detail} sseio={short(ours)} chromium={short(theirs)}"
            )
    unexpected = {k: v for k, v in differences.items() if k not in KNOWN_DIFFERENCES}
    gone = sorted(k for k in KNOWN_DIFFERENCES if k not in differences)
    report = "\n".join(
        f"{name} [{aspect}]: {'; '.join(lines)}"
        for (name, aspect), lines in sorted(unexpected.items())
    )
    if unexpected:
        pytest.fail(f"Chromium and sseio differ:\n{report}", pytrace=False)
    if gone:
        pytest.fail(f"listed differences no longer seen (remove them): {gone}", pytrace=False)
