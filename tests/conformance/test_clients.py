"""The client tester, live: the server's recording and scripts, the runner against sseio's
own client (which must pass everything) and against the installed peers (whose known
defects it must find), the reports, and the ``conformance serve`` command."""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time

import pytest
from conformance_helpers import OWN_VECTORS, behaviour_test

from sseio._core.errors import UsageError
from sseio.cli.conformance_serve import add_arguments, run
from sseio.conformance._client_adapters import (
    ClientResult,
    Collector,
    installed_adapters,
    run_bounded,
    sseio_adapter,
)
from sseio.conformance._clients import (
    ClientTest,
    ConformanceServer,
    Outcome,
    Reply,
    Scorecard,
    Verdict,
    behaviour_tests,
    client_tests,
    format_comparison,
    format_scorecard,
    run_client,
    vector_tests,
)
from sseio.conformance._vectors import load_vectors

# --- the server -----------------------------------------------------------------------------


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/" + path, headers=headers or {})
        response = connection.getresponse()
        try:
            body = response.read()
        except http.client.IncompleteRead as exc:  # a dropped connection
            body = exc.partial
        return response.status, response.getheader("content-type") or "", body
    finally:
        connection.close()


def test_server_serves_the_script_then_204_and_records() -> None:
    test = ClientTest(
        "scripted",
        "rule",
        (
            Reply((b"data: a\n\n", b"data: b\n\n"), pause=0.01, drop=True),
            Reply((b'{"x":1}',), status=500, content_type="application/json"),
        ),
        lambda log, result: Verdict("pass"),
    )
    with ConformanceServer([test]) as server:
        assert server.url(test) == f"{server.base_url}/tests/scripted"
        first = _get(server.url(test), {"Last-Event-ID": "9"})
        assert first[0] == 200
        assert first[1].startswith("text/event-stream")
        assert first[2] == b"data: a\n\ndata: b\n\n"
        assert _get(server.url(test))[:3] == (500, "application/json", b'{"x":1}')
        assert _get(server.url(test))[0] == 204
        status, _, listing = _get(server.base_url + "/index.txt")
        assert status == 200
        assert listing.decode() == server.url(test) + "\n"
        assert _get(server.base_url + "/tests/nothing")[0] == 404
        assert _get(server.base_url + "/elsewhere")[0] == 404
        log = server.log("scripted")
        assert server.judge(test) == Verdict("pass")
    assert [r.header("last-event-id") for r in log.requests] == ["9", None, None]
    assert log.statuses == [200, 500, 204]
    assert len(log.ends) == 3
    assert log.requests[0].at <= log.ends[0] <= log.requests[1].at
    assert log.stopped


def test_index_lists_every_test_as_html_json_and_text() -> None:
    tests = client_tests(fragmentations=("whole", "bytes"))
    with ConformanceServer(tests) as server:
        status, kind, page = _get(server.base_url + "/")
        json_pages = [_get(server.base_url + path) for path in ("/index.json", "/?format=json")]
        text_pages = [_get(server.base_url + path) for path in ("/index.txt", "/?format=text")]
        assert _get(server.base_url + "/tests")[2] == page
    assert (status, kind) == (200, "text/html; charset=utf-8")
    html = page.decode()
    assert html.startswith("<!doctype html>")
    behaviours = len(behaviour_tests())
    vectors = len(tests) - behaviours
    assert (
        f"{len(tests)} client tests: {behaviours} behaviour tests, {vectors} vector tests" in html
    )
    assert "deliveries: whole, bytes" in html
    assert html.count('<a href="/tests/') == len(tests)
    assert '<a href="/tests/stop-on-204">stop-on-204</a>' in html
    assert json_pages[0] == json_pages[1]
    assert json_pages[0][1] == "application/json"
    index = json.loads(json_pages[0][2])
    assert index["summary"] == {
        "tests": len(tests),
        "behaviour": behaviours,
        "vector": vectors,
        "vectors": len(load_vectors()),  # each one whole, the small ones bytewise too
        "fragmentations": ["whole", "bytes"],
    }
    assert index["index"] == f"{server.base_url}/"
    assert len(index["capabilities"]) == 3
    assert [entry["name"] for entry in index["tests"]] == [test.name for test in tests]
    stop = next(entry for entry in index["tests"] if entry["name"] == "stop-on-204")
    assert stop == {
        "name": "stop-on-204",
        "kind": "behaviour",
        "rule": stop["rule"],
        "path": "/tests/stop-on-204",
        "url": f"{server.base_url}/tests/stop-on-204",
    }
    assert text_pages[0] == text_pages[1]
    assert text_pages[0][2].decode().splitlines() == [server.url(test) for test in tests]


def test_index_escapes_what_it_shows() -> None:
    test = ClientTest(
        "a<b>", "rule & <more>", (Reply((b"data: x\n\n",)),), lambda *_: Verdict("pass")
    )
    with ConformanceServer([test]) as server:
        html = _get(server.base_url + "/")[2].decode()
    assert "a&lt;b&gt;" in html
    assert "rule &amp; &lt;more&gt;" in html
    assert "<b>" not in html


# --- running clients ------------------------------------------------------------------------


def test_run_bounded_reports_events_errors_timeouts_and_early_stops() -> None:
    def fails(collector: Collector) -> None:
        collector.events.append(("message", "a", ""))
        raise ValueError("broken")

    result = run_bounded(fails, 2.0)
    assert result.events == [("message", "a", "")]
    assert isinstance(result.error, ValueError)
    assert not result.timed_out

    released = threading.Event()

    def blocks(collector: Collector) -> None:
        collector.on_stop(released.set)
        collector.events.append(("message", "b", ""))
        released.wait(5)

    started = time.monotonic()
    result = run_bounded(blocks, 0.2)
    assert result == ClientResult([("message", "b", "")], None, timed_out=True)
    assert released.is_set()
    assert time.monotonic() - started < 2

    released.clear()
    result = run_bounded(blocks, 5.0, until=lambda: True)
    assert result == ClientResult([("message", "b", "")], None, timed_out=False)
    assert released.is_set()

    late: list[str] = []
    collector = Collector()
    collector.stop()
    collector.on_stop(lambda: late.append("closed at once"))
    assert late == ["closed at once"]


def test_sseio_scores_perfectly_on_behaviours_and_vectors() -> None:
    tests = (*behaviour_tests(), *vector_tests(OWN_VECTORS))
    card = run_client(sseio_adapter, tests, name="sseio", concurrency=len(tests))
    assert [(o.test.name, o.verdict) for o in card.failed] == []
    assert card.passed == len(tests)
    retry = next(o for o in card.outcomes if o.test.name == "retry-honoured")
    assert retry.requests == 2
    reconnect = next(o for o in card.outcomes if o.test.name == "reconnect-last-event-id")
    assert reconnect.requests == 3  # dropped, resumed, then told to stop with 204


def _verdicts(client: str, names: list[str]) -> dict[str, Verdict]:
    adapters = installed_adapters()
    if client not in adapters:
        pytest.skip(f"{client} is not installed")
    tests = [test for test in behaviour_tests() if test.name in names]
    tests += list(vector_tests(OWN_VECTORS, ["whole"]))
    card = run_client(adapters[client], tests, name=client, concurrency=len(tests))
    return {o.test.name: o.verdict for o in card.outcomes}


def test_finds_httpx_sse_defects() -> None:
    found = _verdicts("httpx-sse", ["bom-first-event", "keepalive-after-id", "wrong-content-type"])
    assert found["bom-first-event"].reason.startswith(
        "event 0: expected type='message' data='first'"
    )
    assert "got type='message' data='' id='1'" in found["keepalive-after-id"].reason  # phantom
    assert found["wrong-content-type"].status == "pass"
    assert found["vector/crlf-and-utf-8/whole"].status == "pass"


def test_finds_sseclient_defects() -> None:
    found = _verdicts("sseclient-py", ["invalid-utf8", "status-500-json", "wrong-content-type"])
    assert found["invalid-utf8"].reason.startswith("raised UnicodeDecodeError")
    assert found["status-500-json"].reason.startswith("ended quietly with no events")
    assert found["wrong-content-type"].reason.startswith("handed out 1 event(s)")
    assert "got 2 of 1 events" not in found["vector/eof-discards/whole"].reason
    assert found["vector/eof-discards/whole"].reason.startswith("got 1 extra event(s)")


def test_finds_launchdarkly_defects() -> None:
    found = _verdicts("launchdarkly", ["reconnect-last-event-id", "keepalive-after-id"])
    assert found["reconnect-last-event-id"].reason.startswith(
        "no reconnection after the connection dropped (1 request); raised ProtocolError"
    )
    assert "expected type='message' data='c' id='2'" in found["keepalive-after-id"].reason
    assert found["vector/bom-and-cr/whole"].status == "fail"


def test_finds_launchdarkly_ignores_retry() -> None:
    found = _verdicts("launchdarkly-retry", ["retry-honoured"])
    assert found["retry-honoured"].status == "fail"
    assert "before retry: 1500 ms" in found["retry-honoured"].reason


def test_finds_aiohttp_sse_client_defects() -> None:
    found = _verdicts("aiohttp-sse-client2", ["mixed-line-endings", "stop-on-204"])
    assert found["mixed-line-endings"].reason.startswith("event 1: expected type='message'")
    assert found["stop-on-204"].status == "pass"
    assert found["vector/bom-and-cr/whole"].status == "fail"


def test_sseio_async_passes_a_reconnect_test() -> None:
    found = _verdicts("sseio-async", ["reconnect-last-event-id"])
    assert all(verdict.status == "pass" for verdict in found.values()), found


# --- reports and the command ----------------------------------------------------------------


def _card(client: str, statuses: dict[str, str]) -> Scorecard:
    tests = {test.name: test for test in (*behaviour_tests(), *vector_tests(OWN_VECTORS))}
    outcomes = tuple(
        Outcome(tests[name], Verdict(status, "why"), ClientResult([]), 1)  # type: ignore[arg-type]
        for name, status in statuses.items()
    )
    return Scorecard(client, outcomes)


def test_format_scorecard_and_comparison() -> None:
    good = _card("good", {"stop-on-204": "pass", "vector/bom-and-cr/whole": "pass"})
    bad = _card("bad", {"stop-on-204": "fail", "vector/bom-and-cr/whole": "fail"})
    text = format_scorecard(bad)
    assert "FAIL  stop-on-204  why" in text
    assert "FAIL  vector/bom-and-cr/whole  why" in text
    assert "vectors: 0/1 pass" in text
    assert "vector/bom-and-cr/whole" not in format_scorecard(good)
    assert "vector/bom-and-cr/whole" in format_scorecard(good, verbose=True)
    unjudged = _card("external", {"stop-on-204": "n/a", "vector/bom-and-cr/whole": "n/a"})
    text = format_scorecard(unjudged)
    assert "n/a   stop-on-204  why" in text
    assert "vector/bom-and-cr/whole" not in text
    assert "vectors: 0/1 pass, 1 n/a (not judged)" in text
    assert "n/a   vector/bom-and-cr/whole  why" in format_scorecard(unjudged, verbose=True)
    table = format_comparison([good, bad]).splitlines()
    assert [cell.strip() for cell in table[0].split("|")] == ["", "test", "good", "bad", ""]
    assert any("stop-on-204" in row and "pass" in row and "FAIL" in row for row in table)
    assert any("vector bom-and-cr" in row and "FAIL whole" in row for row in table)
    assert [cell.strip() for cell in table[-2].split("|")] == [
        "",
        "vector tests passed",
        "1/1",
        "0/1",
        "",
    ]
    assert [cell.strip() for cell in table[-1].split("|")] == [
        "",
        "all tests passed",
        "2/2",
        "0/2",
        "",
    ]
    assert good.as_json()["tests"][0] == {
        "name": "stop-on-204",
        "kind": "behaviour",
        "status": "pass",
        "reason": "why",
        "requests": 1,
        "events": 0,
        "timed_out": False,
    }


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_command_runs_a_client(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args("--client", "sseio", "--no-vectors", "--only", "reconnect-after")) == 0
    out = capsys.readouterr().out
    assert "pass  reconnect-after-eof" in out
    assert "1/1 pass, 0 fail" in out


def test_command_fails_when_a_peer_fails(capsys: pytest.CaptureFixture[str]) -> None:
    if "httpx-sse" not in installed_adapters():
        pytest.skip("httpx-sse is not installed")
    argv = ["--client", "sseio,httpx-sse", "--no-vectors", "--only", "bom", "--json"]
    assert run(_args(*argv)) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(card["client"], card["failed"]) for card in report] == [("sseio", 0), ("httpx-sse", 1)]
    argv = ["--client", "sseio", "--client", "httpx-sse", "--no-vectors", "--only", "bom"]
    assert run(_args(*argv)) == 1
    rows = [row.split("|") for row in capsys.readouterr().out.splitlines() if "|" in row]
    assert [cell.strip() for cell in rows[0]] == ["", "test", "sseio", "httpx-sse", ""]
    assert [cell.strip() for cell in rows[2]] == ["", "bom-first-event", "pass", "FAIL", ""]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client", "nope"], "unknown client 'nope'"),
        (["--client", ","], "no client chosen"),
        (["--client", "sseio", "--only", "zzz"], "no test name contains 'zzz'"),
        (["--client", "sseio", "--concurrency", "0"], "--concurrency must be >= 1"),
        (["--duration", "0", "--no-vectors"], "--duration must be a positive number"),
    ],
)
def test_command_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_args(*argv)) == 2
    assert message in capsys.readouterr().err


def test_command_refuses_clients_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sseio.cli.conformance_serve.installed_adapters", dict)
    assert run(_args("--client", "httpx-sse")) == 2
    assert "client 'httpx-sse' is not installed here" in capsys.readouterr().err


def test_serve_mode_prints_a_summary_and_one_index_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(_args("--port", "0", "--duration", "0.2")) == 0
    out = capsys.readouterr().out
    total = len(client_tests())
    behaviours = len(behaviour_tests())
    summary, index, *rest = out.splitlines()
    assert summary == (
        f"sseio conformance serve: {total} client tests ({behaviours} behaviour tests, "
        f"{total - behaviours} vector tests: {len(load_vectors())} vectors delivered "
        "whole, bytes, awkward)"
    )
    assert re.fullmatch(
        r"index of every test URL: (http://127\.0\.0\.1:\d+/)  \(JSON: \1index\.json, "
        r"text: \1index\.txt\)",
        index,
    )
    assert "/tests/" not in out.partition("client: external client")[0]  # no URL list
    assert rest[3] == "point your client at each test URL; the scorecard follows in 0.2s"
    assert "client: external client" in out
    assert run(_args("--port", "0", "--duration", "0.1", "--only", "giant", "--json")) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report[0]["client"] == "external client"
    assert report[0]["tests"][0]["status"] == "n/a"
    assert captured.err.startswith("sseio conformance serve: 1 client tests (1 behaviour tests)")


def test_serve_mode_as_a_real_process_serves_its_index() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sseio", "conformance", "serve", "--port", "0",
         "--duration", "3", "--no-vectors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        summary = process.stdout.readline()
        index_line = process.stdout.readline()
        assert summary.startswith("sseio conformance serve: 13 client tests (13 behaviour tests)")
        match = re.search(r"(http://127\.0\.0\.1:\d+)/ ", index_line)
        assert match is not None, index_line
        base = match.group(1)
        status, kind, page = _get(base + "/index.json")
        assert (status, kind) == (200, "application/json")
        index = json.loads(page)
        assert index["summary"]["tests"] == len(index["tests"]) == 13
        assert _get(base + "/tests/stop-on-204")[0] == 204
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert "pass  stop-on-204  request checks only" in out


def test_serve_mode_reports_a_port_it_cannot_use(capsys: pytest.CaptureFixture[str]) -> None:
    with ConformanceServer(behaviour_tests()) as busy:
        assert run(_args("--port", str(busy.port), "--duration", "0.1", "--no-vectors")) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_an_external_client_is_judged_on_its_requests() -> None:
    tests = [
        behaviour_test("stop-on-204"),
        behaviour_test("wrong-content-type"),
        behaviour_test("giant-event"),
    ]
    with ConformanceServer(tests) as server:
        assert _get(server.url("stop-on-204"))[0] == 204
        assert _get(server.url("wrong-content-type"))[0] == 200
        assert _get(server.url("wrong-content-type"))[0] == 204  # a client that retried
        verdicts = {test.name: server.judge(test) for test in tests}
    assert verdicts["stop-on-204"] == Verdict("pass", "request checks only")
    assert verdicts["wrong-content-type"].reason == (
        "sent 1 more request(s) after a text/html response"
    )
    assert verdicts["giant-event"].status == "n/a"


def test_run_client_rejects_bad_concurrency() -> None:
    with pytest.raises(UsageError, match="concurrency"):
        run_client(sseio_adapter, (), concurrency=0)
