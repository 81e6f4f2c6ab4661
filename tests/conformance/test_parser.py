"""The parser scorer's command: exit codes, text, JSON and Markdown reports, target loading,
and every installed peer adapter with its known defects."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
from conformance_helpers import pick

from sseio.cli.conformance_parser import add_arguments, run
from sseio.conformance import _parser_adapters as adapters
from sseio.conformance._parser_adapters import (
    ADAPTERS,
    AdapterSpec,
    AdapterUnavailable,
    installed_adapters,
    load_adapter,
    sseio_adapter,
)
from sseio.conformance._parser_run import NOT_REPORTED, ParseResult
from sseio.conformance._scorecard import score_parser
from sseio.conformance._vectors import load_vectors


def cli(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    status = run(parser.parse_args(list(argv)), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- command line


def test_cli_sseio_passes(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = cli("sseio", "--tags", "bom,retry")
    assert status == 0
    assert out.startswith("parser: sseio  (SSEDecoder(done_sentinel=None).feed/close)")
    assert "  bom" in out
    assert "FAIL" not in out
    assert err.startswith("sseio: ")


def test_cli_module_function_failures_exit_1(tmp_path: Path) -> None:
    module = tmp_path / "my_parser.py"
    module.write_text(
        "import sseio\n"
        "def parse(chunks):\n"
        "    return [e for e in sseio.iter_sse(chunks) if e.data != 'a']\n",
        encoding="utf-8",
    )
    status, out, _ = cli(f"{module}:parse", "--vector", "lf-line-ends", "--vector", "bom-stripped")
    assert status == 1
    assert "FAIL lf-line-ends" in out
    assert "FAIL bom-stripped" in out


def test_cli_json_report() -> None:
    status, out, _ = cli("conformance_helpers:bom_keeping_adapter", "--json", "--tags", "bom")
    assert status == 1
    report = json.loads(out)
    assert report["parser"] == "conformance_helpers:bom_keeping_adapter"
    assert report["total"] == len(load_vectors(tags=["bom"]))
    assert report["passed"] < report["total"]
    assert report["tags"]["bom"]["total"] == report["total"]
    failed = {v["name"]: v for v in report["vectors"] if not v["passed"]}
    bom = failed["bom-stripped"]["first_failure"]
    assert bom["chunking"] == "whole input"
    assert bom["first_difference"] == 0
    assert bom["expected"]["event_count"] == 2
    assert bom["got"]["event_count"] == 1
    assert bom["got"]["last_event_id_reported"] is False
    assert bom["expected"]["events"][0] == {"type": "message", "data": "a", "id": ""}
    assert "FAIL bom-stripped" in bom["diff"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "name a parser"),
        (("no-such-adapter",), "unknown parser 'no-such-adapter'"),
        (("no_such_module_xyz:f",), "cannot import no_such_module_xyz"),
        (("json:no_such_function",), "json has no attribute 'no_such_function'"),
        (("json:__doc__",), "json:__doc__ is not callable"),
        (("missing/file.py:f",), "no such file: missing/file.py"),
        (("sseio", "--tags", "nope"), "unknown tag nope"),
        (("sseio", "--vector", "nope"), "unknown vector nope"),
        (("sseio", "--timeout", "0"), "--timeout must be > 0"),
        (("sseio", "--tags", "bom", "--vector", "lf-line-ends"), "no vector matches"),
    ],
)
def test_cli_usage_errors_exit_2(argv: tuple[str, ...], message: str) -> None:
    status, out, err = cli(*argv)
    assert status == 2
    assert out == ""
    assert message in err


def test_cli_broken_module_file_exit_2(tmp_path: Path) -> None:
    module = tmp_path / "broken.py"
    module.write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    status, _, err = cli(f"{module}:parse")
    assert status == 2
    assert "importing" in err
    assert "RuntimeError: boom" in err


def test_cli_list() -> None:
    status, out, _ = cli("--list", "--tags", "bom")
    assert status == 0
    assert "bom-stripped" in out
    assert "lf-line-ends" not in out
    assert "adapter sseio" in out
    assert "installed" in out


def test_cli_compares_several_parsers() -> None:
    status, out, _ = cli("sseio", "conformance_helpers:bom_keeping_adapter", "--tags", "bom")
    assert status == 1
    header, rule, *rows = out.splitlines()[:8]
    assert header.split() == ["tag", "sseio", "conformance_helpers:bom_keeping_adapter"]
    assert set(rule) <= {"-", " "}
    assert ["bom", "9/9"] in [row.split()[:2] for row in rows]
    assert "  FAIL bom-stripped (whole input)" in out
    status, out, _ = cli(
        "sseio",
        "conformance_helpers:bom_keeping_adapter",
        "--vector",
        "bom-stripped",
        "--markdown",
        "--details",
    )
    assert status == 1
    assert "| bom | 1/1 | 0/1 |" in out
    assert "| **total** | **1/1** | **0/1** |" in out
    assert ">> #0 expected" in out


# --------------------------------------------------------------------------- peer adapters


def test_sseio_adapter_reports_state() -> None:
    result = sseio_adapter([b"id: 1\nretry: 5\n\n"])
    assert (list(result), result.last_event_id, result.retry) == ([], "1", 5)
    assert ParseResult([]).retry is NOT_REPORTED


def test_missing_library_is_skipped_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise ImportError("no module")

    fake = AdapterSpec("ghost", "ghost-sse", "nothing", missing)
    monkeypatch.setitem(adapters.ADAPTERS, "ghost", fake)
    with pytest.raises(AdapterUnavailable, match="pip install ghost-sse"):
        load_adapter("ghost")
    assert "ghost" not in [spec.name for spec, _ in installed_adapters()]
    status, _, err = cli("ghost")
    assert status == 2
    assert "needs ghost-sse" in err
    status, out, _ = cli("--list", "--vector", "bom-stripped")
    assert "adapter ghost" in out
    assert "not installed" in out


# The known defects of each peer (user-needs.md, section 1), as vectors that must fail.
PEER_DEFECTS = {
    "httpx-sse": {
        "bom-stripped": "",
        "llm-keepalive-after-id": "",  # phantom empty events after an id
        "retry-sign-in-event-block": "",  # retry: +5 accepted
    },
    "openai": {
        "bom-stripped": "",
        "utf-8-invalid-byte": "UnicodeDecodeError",
        "llm-keepalive-after-id": "",
    },
    "sseclient-py": {
        "bom-stripped": "",
        "utf-8-invalid-byte": "UnicodeDecodeError",
        "lf-cr-is-two-line-ends": "",  # mixed line endings merge events
        "eof-unterminated-event-discarded": "",  # truncated events delivered
    },
    "launchdarkly": {
        "bom-stripped": "",
        "utf-8-invalid-byte": "UnicodeDecodeError",
        "retry-plus-sign-ignored": "",
    },
    "aiohttp-sse-client2": {
        "bom-stripped": "",
        "utf-8-invalid-byte": "UnicodeDecodeError",
        "cr-line-ends": "",
    },
}

PASSING_EVERYWHERE = ("lf-line-ends", "llm-openai-chat-stream", "comment-ignored")


@pytest.mark.parametrize("name", [n for n in ADAPTERS if n != "sseio"])
def test_peer_adapter_runs_and_shows_known_defects(name: str) -> None:
    try:
        adapter = load_adapter(name)
    except AdapterUnavailable:
        pytest.skip(f"{name} is not installed")
    defects = PEER_DEFECTS[name]
    card = score_parser(
        adapter, name=name, vectors=pick(*defects, *PASSING_EVERYWHERE), max_splits=8
    )
    failed = {r.vector.name: r for r in card.failures()}
    assert set(failed) == set(defects)
    for vector_name, error in defects.items():
        first = failed[vector_name].first_failure
        assert first is not None
        if error:
            assert first.error is not None
            assert error in first.error
    assert card.passed == len(PASSING_EVERYWHERE)


def test_peer_retry_reporting() -> None:
    """Peers that report a retry show the `retry: +5` they accepted."""
    for name in ("launchdarkly", "httpx-sse"):
        try:
            adapter = load_adapter(name)
        except AdapterUnavailable:  # pragma: no cover - the test extras install them
            continue
        result = adapter([b"retry: +5\ndata: a\n\n"])
        assert getattr(result, "retry", None) == 5
