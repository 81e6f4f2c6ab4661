"""``sseio check`` as a user runs it: a live progress line on a terminal's stderr, and
nothing extra when stderr is a pipe (real processes against the mock API)."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from sseio.cli.check import ProgressLine
from sseio.conformance._check import Progress
from sseio.testing._mock import MockConfig, mock_in_thread

LIMIT = 30
BODY = json.dumps(
    {"model": "sseio-mock-1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
)
PROGRESS = re.compile(
    r"\r\x1b\[Ksseio check: (connecting|waiting|reading|done) · (\d+) events? · "
    r"(\d+ B|\d+\.\d KiB|\d+\.\d MiB) · (\d+\.\d)s"
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    # About 40 tokens at 50 a second: the stream lasts long enough for several updates.
    with mock_in_thread(MockConfig(keepalive=None, token_rate=50)) as (server, _api):
        yield server.url + "/v1/chat/completions"


def run_with_terminal_stderr(argv: list[str]) -> tuple[int, str, bytes]:
    """Run ``sseio`` with stderr on a pseudo-terminal: the status, stdout, and what the
    terminal received."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sseio", *argv],
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + LIMIT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not data:
                break
            shown += data
        out, _ = process.communicate(timeout=LIMIT)
    finally:
        process.kill()
        process.wait()
        os.close(leader)
    return process.returncode, out.decode(), shown


def test_progress_is_shown_live_on_a_terminal(url: str) -> None:
    status, out, shown = run_with_terminal_stderr(["check", url, "-d", BODY])
    assert status == 0, (out, shown)
    assert out.rstrip().endswith("0 error(s), 0 warning(s)")
    text = shown.decode()
    updates = PROGRESS.findall(text)
    assert len(updates) >= 3, text
    stages = [stage for stage, *_ in updates]
    assert stages[0] == "connecting"
    assert "reading" in stages
    events = [int(count) for _, count, _, _ in updates]
    assert events == sorted(events)
    assert events[-1] > 3
    assert float(updates[-1][3]) >= 0.3
    assert text.endswith("\r\x1b[K")  # the line is erased before the report
    assert "\n" not in text


def test_nothing_extra_when_stderr_is_not_a_terminal(url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sseio", "check", url, "-d", BODY, "--json"],
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["stats"]["events"] > 3


def test_in_process_without_a_terminal_writes_nothing_to_stderr(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sseio.cli.main import main

    assert main(["check", url, "-d", BODY]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"POST {url}\n")


def test_progress_line_rewrites_in_place_and_clears() -> None:
    terminal = io.StringIO()
    line = ProgressLine(terminal)
    line.clear()
    assert terminal.getvalue() == ""  # nothing shown, nothing to erase
    line.update(Progress("reading", 1.25, 2048, 1))
    line.update(Progress("done", 2.0, 5 * 1024 * 1024, 12))
    line.clear()
    assert terminal.getvalue() == (
        "\r\x1b[Ksseio check: reading · 1 event · 2.0 KiB · 1.2s"
        "\r\x1b[Ksseio check: done · 12 events · 5.0 MiB · 2.0s"
        "\r\x1b[K"
    )
