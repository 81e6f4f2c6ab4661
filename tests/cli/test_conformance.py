"""``sseio conformance parser|serve`` and ``sseio check`` through the ``sseio`` command itself."""

from __future__ import annotations

import json

import pytest

from sseio.cli.main import main
from sseio.testing._mock import MockConfig, mock_in_thread

BODY = json.dumps(
    {"model": "sseio-mock-1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
)


def test_conformance_parser_scores_sseio(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "parser", "sseio", "--tags", "bom", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parser"] == "sseio"
    assert report["passed"] == report["total"] == 9
    assert report["tags"]["bom"] == {"passed": 9, "total": 9}
    assert all(vector["passed"] for vector in report["vectors"])


def test_conformance_parser_fails_a_broken_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "parser", "conformance_helpers:bom_keeping_adapter"]) == 1
    assert "bom" in capsys.readouterr().out


def test_conformance_serve_scores_sseio_client(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["conformance", "serve", "--client", "sseio", "--no-vectors", "--only", "retry"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "retry-honoured" in out


@pytest.mark.parametrize(
    ("fault", "status", "code"), [("", 0, None), ("drop; after=3", 1, "E-dropped")]
)
def test_check_against_the_mock(
    capsys: pytest.CaptureFixture[str], fault: str, status: int, code: str | None
) -> None:
    with mock_in_thread(MockConfig(keepalive=None)) as (server, _api):
        url = server.url + "/v1/chat/completions"
        headers = ["-H", f"X-Mock-Fault: {fault}"] if fault else []
        assert main(["check", url, "-d", BODY, "--json", *headers]) == status
    report = json.loads(capsys.readouterr().out)
    codes = {finding["code"] for finding in report["findings"] if finding["severity"] == "error"}
    assert codes == ({code} if code else set())
