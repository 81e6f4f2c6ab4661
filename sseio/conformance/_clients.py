"""The client tester: an adversarial SSE server that scores the clients connecting to it.

``ConformanceServer`` serves each client test at its own path
(``/tests/<name>``) from a background thread, plays its script of replies and
records what the test saw.  ``GET /`` is the index a person opens: an HTML
page with the summary (how many tests of each kind, the vector deliveries,
what the tester can judge) and a link to every test; ``/index.json`` (or
``/?format=json``) is the same as JSON (``ConformanceServer.index``), and
``/index.txt`` (or ``/?format=text``) the test URLs one per line, for scripts.  The tests
themselves are pure data, re-exported here: what a test is and how it is
judged in ``sseio.conformance._client_judging``, the vector and behaviour
tests in ``sseio.conformance._client_tests``.

``run_client(adapter)`` starts a server on 127.0.0.1 (ephemeral port), runs
an adapter (``sseio.conformance._client_adapters``) on every test, a few at a
time and each bounded in time, and returns a scorecard; ``serve`` mode lets an
external client connect and judges the request-level checks only.  Everything
is bounded: short retry times, short deadlines, 204 once a script is spent.
``format_scorecard`` / ``format_comparison`` are the text reports; the
``sseio conformance serve`` command is ``sseio.cli.conformance_serve``.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any
from urllib.parse import parse_qs

from .._core.errors import UsageError
from ..server._messages import EventStream, Request, Response
from ..server._server import serve_in_thread
from ._client_adapters import Adapter, ClientResult
from ._client_judging import (
    ClientTest,
    Outcome,
    RecordedRequest,
    Reply,
    Scorecard,
    ServerLog,
    Verdict,
    compare_events,
)
from ._client_tests import (
    FRAGMENTATIONS,
    awkward_split_points,
    behaviour_tests,
    client_tests,
    fragment,
    vector_tests,
)

__all__ = [
    "FRAGMENTATIONS",
    "SERVE_CAPABILITIES",
    "ClientResult",
    "ClientTest",
    "ConformanceServer",
    "Outcome",
    "RecordedRequest",
    "Reply",
    "Scorecard",
    "ServerLog",
    "Verdict",
    "awkward_split_points",
    "behaviour_tests",
    "client_tests",
    "compare_events",
    "format_comparison",
    "format_scorecard",
    "fragment",
    "run_client",
    "vector_tests",
]

# --- the server -----------------------------------------------------------------------------

SERVE_CAPABILITIES = (
    "each test at its own URL, its replies scripted per request, then 204 (stop)",
    "judged from the requests a client sends: reconnecting, Last-Event-ID, "
    "the retry: time, stopping on 204 and on answers that are not event streams",
    "not visible to the server: the events a client parsed (those tests are n/a "
    "here; use --client for an in-process adapter, or sseio conformance parser)",
)
"""What the tester does and can judge for an external client (index and summary)."""


class ConformanceServer:
    """Serves ``tests`` at ``/tests/<name>`` from a background thread and records what
    each test saw; ``with ConformanceServer(tests) as server:``.

    ``GET /`` is the index page (``/index.json``, ``/index.txt``: see the module
    doc).  Unknown paths get 404.
    """

    def __init__(self, tests: Iterable[ClientTest], *, host: str = "127.0.0.1", port: int = 0):
        self.tests = {test.name: test for test in tests}
        self.host = host
        self.port = port
        self.base_url = ""
        self._logs = {name: ServerLog() for name in self.tests}
        self._lock = threading.Lock()
        self._exit = ExitStack()

    def __enter__(self) -> ConformanceServer:
        server = self._exit.enter_context(
            serve_in_thread(
                self._handle,
                host=self.host,
                port=self.port,
                keepalive=None,
                request_timeout=10.0,
                send_timeout=10.0,
                shutdown_grace=0.5,
            )
        )
        self.port = server.port
        self.base_url = server.url
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def url(self, test: ClientTest | str) -> str:
        name = test if isinstance(test, str) else test.name
        return f"{self.base_url}/tests/{name}"

    def log(self, test: ClientTest | str) -> ServerLog:
        """A snapshot of what the server recorded for a test."""
        name = test if isinstance(test, str) else test.name
        with self._lock:
            return self._logs[name].copy()

    def judge(self, test: ClientTest, result: ClientResult | None = None) -> Verdict:
        return test.judge(self.log(test), result)

    def summary(self) -> dict[str, Any]:
        """How many tests of each kind, and the vector deliveries served."""
        vectors = [test for test in self.tests.values() if test.kind == "vector"]
        served = {test.name.rpartition("/")[2] for test in vectors}
        return {
            "tests": len(self.tests),
            "behaviour": len(self.tests) - len(vectors),
            "vector": len(vectors),
            "vectors": len({test.name.rpartition("/")[0] for test in vectors}),
            "fragmentations": [how for how in FRAGMENTATIONS if how in served],
        }

    def index(self) -> dict[str, Any]:
        """The index as JSON (``/index.json``): the summary, what the tester can judge,
        and every test's name, kind, rule and URL."""
        return {
            "tester": "sseio conformance serve",
            "index": f"{self.base_url}/",
            "summary": self.summary(),
            "capabilities": list(SERVE_CAPABILITIES),
            "tests": [
                {
                    "name": test.name,
                    "kind": test.kind,
                    "rule": test.rule,
                    "path": f"/tests/{test.name}",
                    "url": self.url(test),
                }
                for test in self.tests.values()
            ],
        }

    def _index_html(self) -> str:
        summary = self.summary()
        rows = "".join(
            f'<tr><td>{test.kind}</td><td><a href="/tests/{html.escape(test.name)}">'
            f"{html.escape(test.name)}</a></td><td>{html.escape(test.rule)}</td></tr>\n"
            for test in self.tests.values()
        )
        capabilities = "".join(f"<li>{html.escape(text)}</li>" for text in SERVE_CAPABILITIES)
        deliveries = ", ".join(summary["fragmentations"]) or "none"
        return (
            '<!doctype html>\n<html><head><meta charset="utf-8">'
            "<title>sseio conformance serve</title></head><body>\n"
            "<h1>sseio conformance serve</h1>\n"
            f"<p>{summary['tests']} client tests: {summary['behaviour']} behaviour tests, "
            f"{summary['vector']} vector tests ({summary['vectors']} vectors; deliveries: "
            f"{html.escape(deliveries)}).  "
            '<a href="/index.json">JSON</a> · <a href="/index.txt">URLs as text</a></p>\n'
            f"<ul>{capabilities}</ul>\n"
            "<table><tr><th>kind</th><th>test</th><th>rule</th></tr>\n"
            f"{rows}</table>\n</body></html>\n"
        )

    async def _handle(self, request: Request) -> Response | EventStream:
        if request.path in ("/", "/tests", "/tests/", "/index.json", "/index.txt"):
            return self._listing(request)
        name = request.path.removeprefix("/tests/")
        test = self.tests.get(name) if request.path.startswith("/tests/") else None
        if test is None:
            return Response.json({"error": {"message": f"no test at {request.path}"}}, 404)
        with self._lock:
            log = self._logs[name]
            attempt = len(log.requests)
            log.requests.append(RecordedRequest(request.method, request.headers, time.monotonic()))
            reply = test.reply(attempt)
            log.statuses.append(reply.status)
        if not reply.streamed:
            self._ended(log)
            headers = () if reply.status == 204 else (("content-type", reply.content_type),)
            body = b"" if reply.status == 204 else b"".join(reply.chunks)
            return Response(reply.status, body, headers)
        return EventStream(
            self._stream(reply, log),
            headers=(("content-type", reply.content_type),),
            keepalive=None,
            abort=reply.drop,
        )

    def _listing(self, request: Request) -> Response:
        wanted = parse_qs(request.query).get("format", [""])[-1]
        if request.path == "/index.json" or wanted == "json":
            return Response.json(self.index())
        if request.path == "/index.txt" or wanted == "text":
            return Response.text("".join(f"{self.url(name)}\n" for name in self.tests))
        return Response.text(self._index_html(), content_type="text/html; charset=utf-8")

    def _ended(self, log: ServerLog) -> None:
        with self._lock:
            log.ends.append(time.monotonic())

    async def _stream(self, reply: Reply, log: ServerLog) -> AsyncIterator[bytes]:
        import anyio

        try:
            for index, chunk in enumerate(reply.chunks):
                if index and reply.pause:
                    await anyio.sleep(reply.pause)
                yield chunk
            if reply.hold:
                await anyio.sleep(reply.hold)
        finally:
            self._ended(log)


# --- running clients ------------------------------------------------------------------------


def run_client(
    adapter: Adapter,
    tests: Sequence[ClientTest] | None = None,
    *,
    name: str = "client",
    concurrency: int = 8,
) -> Scorecard:
    """Run ``adapter`` on every test against a fresh server on 127.0.0.1, ``concurrency``
    tests at a time, each bounded by its test's ``timeout``, and judge each one."""
    if tests is None:
        tests = client_tests()
    if concurrency < 1:
        raise UsageError(f"concurrency must be >= 1, got {concurrency}")
    with ConformanceServer(tests) as server:

        def run_one(test: ClientTest) -> ClientResult:
            settled = test.settled
            until = None if settled is None else (lambda: settled(server.log(test)))
            return adapter(server.url(test), timeout=test.timeout, until=until)

        with ThreadPoolExecutor(concurrency, thread_name_prefix="sseio-conformance") as pool:
            results = list(pool.map(run_one, tests))
        outcomes = []
        for test, result in zip(tests, results, strict=True):
            log = server.log(test)
            outcomes.append(Outcome(test, test.judge(log, result), result, len(log.requests)))
    return Scorecard(name, tuple(outcomes))


# --- reports --------------------------------------------------------------------------------

_MARK = {"pass": "pass", "fail": "FAIL", "n/a": "n/a"}


def format_scorecard(scorecard: Scorecard, *, verbose: bool = False) -> str:
    """Behaviour tests one per line; vector tests summed up, with each failure listed
    (every vector test too with ``verbose``; those not judged, as for an external
    client whose events the server cannot see, are counted in the sum)."""
    lines = [f"client: {scorecard.client}"]
    vectors = [o for o in scorecard.outcomes if o.test.kind == "vector"]
    for outcome in scorecard.outcomes:
        if outcome.test.kind == "vector" and outcome.verdict.status != "fail" and not verbose:
            continue
        reason = f"  {outcome.verdict.reason}" if outcome.verdict.reason else ""
        lines.append(f"  {_MARK[outcome.verdict.status]:4}  {outcome.test.name}{reason}")
    if vectors:
        passed = sum(o.verdict.status == "pass" for o in vectors)
        unjudged = sum(o.verdict.status == "n/a" for o in vectors)
        lines.append(
            f"  vectors: {passed}/{len(vectors)} pass"
            + (f", {unjudged} n/a (not judged)" if unjudged else "")
        )
    failed = len(scorecard.failed)
    total = len(scorecard.outcomes)
    lines.append(f"  {scorecard.passed}/{total} pass, {failed} fail")
    return "\n".join(lines)


def _behaviour_rows(scorecards: Sequence[Scorecard]) -> list[list[str]]:
    order: dict[str, None] = {}
    for card in scorecards:
        order.update((o.test.name, None) for o in card.outcomes if o.test.kind == "behaviour")
    by_client = [{o.test.name: o for o in card.outcomes} for card in scorecards]
    rows = []
    for name in order:
        found = [outcomes.get(name) for outcomes in by_client]
        rows.append([name, *("-" if o is None else _MARK[o.verdict.status] for o in found)])
    return rows


def _vector_rows(scorecards: Sequence[Scorecard]) -> list[list[str]]:
    """One row per vector that some client fails; a cell names the failed deliveries."""
    failures: dict[str, list[list[str]]] = {}
    for column, card in enumerate(scorecards):
        for outcome in card.failed:
            if outcome.test.kind == "vector":
                vector_name, _, how = outcome.test.name.removeprefix("vector/").rpartition("/")
                columns = failures.setdefault(vector_name, [[] for _ in scorecards])
                columns[column].append(how)
    rows = []
    for vector_name in sorted(failures):
        cells = [
            "pass"
            if not hows
            else "FAIL"
            if len(hows) == len(FRAGMENTATIONS)
            else "FAIL " + ",".join(hows)
            for hows in failures[vector_name]
        ]
        rows.append([f"vector {vector_name}", *cells])
    return rows


def format_comparison(scorecards: Sequence[Scorecard]) -> str:
    """A Markdown table: one row per behaviour test, one per vector some client fails
    (the cell lists the fragmentations that failed), and the vector totals."""
    header = ["test", *(card.client for card in scorecards)]
    rows = _behaviour_rows(scorecards) + _vector_rows(scorecards)
    totals = []
    for card in scorecards:
        vectors = [o for o in card.outcomes if o.test.kind == "vector"]
        totals.append(f"{sum(o.verdict.status == 'pass' for o in vectors)}/{len(vectors)}")
    rows.append(["vector tests passed", *totals])
    rows.append(["all tests passed", *(f"{c.passed}/{len(c.outcomes)}" for c in scorecards)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    table = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    table += [line(row) for row in rows]
    return "\n".join(table)
