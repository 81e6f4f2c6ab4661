"""Scoring a parser on every vector, and the scorecard: text, JSON, diffs and comparison tables.

``score_parser(adapter)`` runs every conformance vector (or the ones given)
through the adapter in every chunking, each vector bounded in time
(``sseio.conformance._parser_run``), and returns a ``Scorecard``: counts per
tag and in total, the text report with ``render()`` (a readable diff of each
failing vector's first failing run: input, rule, a window of events around
the first difference, and the final state where reported) and a JSON-ready
report with ``to_dict()``.  Long values are clipped so a report stays readable
and bounded, and U+FFFD is shown escaped so a replacement character stands out.
``compare`` and ``compare_markdown`` lay several scorecards side by side: the
vectors passed per tag and parser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._parser_run import (
    DEFAULT_MAX_SPLITS,
    DEFAULT_TIMEOUT,
    NOT_REPORTED,
    Adapter,
    NotReported,
    VectorResult,
    clip,
    score_vector,
)
from ._vectors import TAGS, ExpectedEvent, Vector, load_vectors

__all__ = [
    "Scorecard",
    "compare",
    "compare_markdown",
    "failure_line",
    "first_difference",
    "render_failure",
    "score_parser",
]


@dataclass(frozen=True)
class Scorecard:
    """A parser's results on a set of vectors."""

    parser: str
    results: tuple[VectorResult, ...]
    description: str = ""

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        return self.passed == self.total

    def tag_counts(self) -> dict[str, tuple[int, int]]:
        """``{tag: (passed, total)}`` for every tag the scored vectors carry."""
        counts: dict[str, tuple[int, int]] = {}
        for tag in TAGS:
            tagged = [r for r in self.results if tag in r.vector.tags]
            if tagged:
                counts[tag] = (sum(r.passed for r in tagged), len(tagged))
        return counts

    def failures(self) -> list[VectorResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready report."""
        return {
            "parser": self.parser,
            "description": self.description,
            "passed": self.passed,
            "total": self.total,
            "tags": {t: {"passed": p, "total": n} for t, (p, n) in self.tag_counts().items()},
            "vectors": [_result_dict(r) for r in self.results],
        }

    def render(self, *, details: bool = True) -> str:
        """The text scorecard: counts per tag, the total, and each failure (diff if ``details``)."""
        title = f"parser: {self.parser}" + (f"  ({self.description})" if self.description else "")
        lines = [title, ""]
        width = max(len("total"), *(len(t) for t in self.tag_counts()), 0)
        for tag, (passed, total) in self.tag_counts().items():
            lines.append(f"  {tag:<{width}}  {passed:>3}/{total:<3}{_mark(passed, total)}")
        lines.append(f"  {'total':<{width}}  {self.passed:>3}/{self.total:<3}")
        for result in self.failures():
            lines.append("")
            lines.append(render_failure(result) if details else failure_line(result))
        return "\n".join(lines)


def score_parser(
    adapter: Adapter,
    *,
    name: str = "parser",
    description: str = "",
    vectors: Iterable[Vector] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_splits: int = DEFAULT_MAX_SPLITS,
    progress: Callable[[VectorResult], None] | None = None,
) -> Scorecard:
    """Run every vector through ``adapter`` in every chunking and score the results."""
    chosen = load_vectors() if vectors is None else tuple(vectors)
    results: list[VectorResult] = []
    for vector in chosen:
        result = score_vector(adapter, vector, timeout, max_splits)
        results.append(result)
        if progress is not None:
            progress(result)
    return Scorecard(name, tuple(results), description)


# --------------------------------------------------------------------------- reporting

_SHOWN_EVENTS = 6


def _mark(passed: int, total: int) -> str:
    return "" if passed == total else "  <-- failures"


def _show(value: object, width: int = 70) -> str:
    # repr() escapes invisible characters such as U+FEFF; U+FFFD is printable, but
    # in a diff it must stand out from the text around it.
    return clip(repr(value).replace("\ufffd", "\\ufffd"), width)


def _show_event(event: ExpectedEvent) -> str:
    return f"type={_show(event.type, 30)} data={_show(event.data)} id={_show(event.id, 30)}"


def first_difference(expected: Sequence[ExpectedEvent], got: Sequence[ExpectedEvent]) -> int | None:
    """Index of the first event where ``got`` departs from ``expected`` (``None`` if equal)."""
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            return index
    if len(expected) != len(got):
        return min(len(expected), len(got))
    return None


def render_failure(result: VectorResult) -> str:
    """A readable account of a vector's first failing run: input, rule and a diff."""
    vector = result.vector
    run = result.first_failure
    assert run is not None
    lines = [
        f"FAIL {vector.name} [{', '.join(vector.tags)}]: "
        f"{result.failed} of {result.runs} runs failed; first: {run.chunking}"
        + (" (then a run timed out)" if result.timed_out and run.error is None else ""),
        f"  rule:  {vector.rule}",
        f"  input: {_show(vector.input, 160)}",
    ]
    if vector.notes:
        lines.append(f"  notes: {vector.notes}")
    if run.error is not None:
        lines.append(f"  error: {run.error}")
    at = first_difference(vector.events, run.events)
    if at is not None:
        lines.append(
            f"  events: expected {len(vector.events)}, got {len(run.events)}; "
            f"first difference at event {at}"
        )
        start = max(0, at - 1)
        end = min(max(len(vector.events), len(run.events)), at + _SHOWN_EVENTS)
        if start:
            lines.append(f"       ... {start} matching event(s)")
        for index in range(start, end):
            want = vector.events[index] if index < len(vector.events) else None
            have = run.events[index] if index < len(run.events) else None
            if want == have and want is not None:
                lines.append(f"       #{index} same     {_show_event(want)}")
                continue
            pointer = ">>" if index == at else "  "
            label = f"#{index}"
            lines.append(
                f"    {pointer} {label} expected {_show_event(want) if want else '(none)'}"
            )
            lines.append(
                f"       {' ' * len(label)} got      {_show_event(have) if have else '(none)'}"
            )
        rest = max(len(vector.events), len(run.events)) - end
        if rest > 0:
            lines.append(f"       ... {rest} more")
    if run.last_event_id is not NOT_REPORTED and run.last_event_id != vector.last_event_id:
        wanted, seen = _show(vector.last_event_id), _show(run.last_event_id)
        lines.append(f"  last event ID: expected {wanted}, got {seen}")
    if run.retry is not NOT_REPORTED and run.retry != vector.retry:
        lines.append(f"  retry: expected {vector.retry!r}, got {run.retry!r}")
    return "\n".join(lines)


def failure_line(result: VectorResult) -> str:
    """One line on a failing vector: its name, the chunking and why the run failed."""
    run = result.first_failure
    assert run is not None
    vector = result.vector
    at = first_difference(vector.events, run.events)
    if run.error is not None:
        why = run.error
    elif at is not None:
        why = f"event {at} differs ({len(run.events)} events, expected {len(vector.events)})"
    elif run.last_event_id != vector.last_event_id:
        want, have = _show(vector.last_event_id, 30), _show(run.last_event_id, 30)
        why = f"last event ID {have}, expected {want}"
    else:
        why = f"retry {run.retry!r}, expected {vector.retry!r}"
    return f"  FAIL {result.vector.name} ({run.chunking}): {clip(why, 120)}"


def _result_dict(result: VectorResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": result.vector.name,
        "tags": list(result.vector.tags),
        "passed": result.passed,
        "runs": result.runs,
        "failed_runs": result.failed,
        "timed_out": result.timed_out,
    }
    run = result.first_failure
    if run is not None:
        out["first_failure"] = {
            "chunking": run.chunking,
            "error": run.error,
            "first_difference": first_difference(result.vector.events, run.events),
            "expected": _state_dict(
                result.vector.events, result.vector.last_event_id, result.vector.retry
            ),
            "got": _state_dict(run.events, run.last_event_id, run.retry),
            "diff": render_failure(result),
        }
    return out


def _state_dict(
    events: Sequence[ExpectedEvent],
    last_event_id: str | NotReported,
    retry: int | NotReported | None,
) -> dict[str, Any]:
    return {
        "events": [
            {"type": e.type, "data": clip(e.data, 1000), "id": clip(e.id, 200)} for e in events[:50]
        ],
        "event_count": len(events),
        "last_event_id": None if last_event_id is NOT_REPORTED else last_event_id,
        "last_event_id_reported": last_event_id is not NOT_REPORTED,
        "retry": None if retry is NOT_REPORTED else retry,
        "retry_reported": retry is not NOT_REPORTED,
    }


def compare(cards: Sequence[Scorecard]) -> str:
    """A table of vectors passed per tag (rows) and parser (columns)."""
    header = ["tag", *(c.parser for c in cards)]
    rows: list[list[str]] = []
    for tag in TAGS:
        cells = []
        for card in cards:
            passed, total = card.tag_counts().get(tag, (0, 0))
            cells.append(f"{passed}/{total}" if total else "-")
        if any(cell != "-" for cell in cells):
            rows.append([tag, *cells])
    rows.append(["total", *(f"{c.passed}/{c.total}" for c in cards)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for index, row in enumerate([header, *rows]):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def compare_markdown(cards: Sequence[Scorecard]) -> str:
    """The ``compare`` table as Markdown."""
    lines = ["| tag | " + " | ".join(c.parser for c in cards) + " |"]
    lines.append("|---|" + "--:|" * len(cards))
    for tag in TAGS:
        cells = []
        for card in cards:
            passed, total = card.tag_counts().get(tag, (0, 0))
            cells.append(f"{passed}/{total}" if total else "-")
        lines.append(f"| {tag} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{c.passed}/{c.total}**" for c in cards) + " |")
    return "\n".join(lines)
