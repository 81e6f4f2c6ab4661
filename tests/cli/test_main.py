"""sseio.cli.main: the ``sseio decode`` command, in process and as a real subprocess."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import sseio
from sseio.cli.main import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "chat-stream.sse"


def run(argv: list[str], capsysbinary: pytest.CaptureFixture[bytes]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsysbinary.readouterr()
    return status, out.decode(), err.decode()


def test_decode_file_to_json_lines(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    status, out, err = run(["decode", str(EXAMPLE)], capsysbinary)
    assert status == 0
    assert err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1] == {"done": True}
    events = records[:-1]
    assert all(set(r) == {"event", "data", "id", "retry"} for r in events)
    chunks = [json.loads(r["data"]) for r in events]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] == 38


def test_decode_raw_prints_data_only(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    source = tmp_path / "s.sse"
    source.write_bytes(b"data: one\n\n: ping\n\ndata: two\ndata: lines\n\ndata: [DONE]\n\n")
    status, out, _ = run(["decode", "--raw", str(source)], capsysbinary)
    assert status == 0
    assert out == "one\ntwo\nlines\n"


def test_decode_comments_and_no_done(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    source = tmp_path / "s.sse"
    source.write_bytes(b": ping\nid: 3\nretry: 50\ndata: [DONE]\n\n")
    status, out, _ = run(["decode", "--comments", "--no-done", str(source)], capsysbinary)
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"comment": "ping"},
        {"event": "message", "data": "[DONE]", "id": "3", "retry": 50},
    ]


def test_custom_sentinel(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    source = tmp_path / "s.sse"
    source.write_bytes(b"data: [DONE]\n\ndata: END\n\n")
    status, out, _ = run(["decode", "--done-sentinel", "END", str(source)], capsysbinary)
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"event": "message", "data": "[DONE]", "id": "", "retry": None},
        {"done": True},
    ]


def test_limit_error_keeps_earlier_events(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    source = tmp_path / "s.sse"
    source.write_bytes(b"data: ok\n\ndata: " + b"x" * 100 + b"\n\n")
    status, out, err = run(["decode", "--max-line-size", "50", str(source)], capsysbinary)
    assert status == 1
    assert [json.loads(line)["data"] for line in out.splitlines()] == ["ok"]
    assert err.startswith("sseio: error: line size of at least")
    assert "max_line_size=50" in err


def test_missing_file(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    status, out, err = run(["decode", "/nonexistent/stream.sse"], capsysbinary)
    assert status == 2
    assert out == ""
    assert "cannot open /nonexistent/stream.sse" in err


def test_bad_limit_is_a_usage_error(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    status, _, err = run(["decode", "--max-line-size", "0", str(EXAMPLE)], capsysbinary)
    assert status == 2
    assert "max_line_size must be a positive integer" in err


def test_no_command_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage: sseio" in capsys.readouterr().err


def _sseio(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sseio", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_stdin_items_appear_as_soon_as_complete() -> None:
    """The first event is printed while stdin is still open, before more input arrives."""
    proc = _sseio("decode", "-")
    assert proc.stdin is not None
    assert proc.stdout is not None
    timer = threading.Timer(20, proc.kill)  # never hang the suite
    timer.start()
    try:
        proc.stdin.write(b"data: first\n\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())
        assert first["data"] == "first"
        proc.stdin.write(b"data: second\r\rdata: [DONE]\n\n")
        proc.stdin.close()
        rest = [json.loads(line) for line in proc.stdout.read().splitlines()]
        assert rest == [
            {"event": "message", "data": "second", "id": "", "retry": None},
            {"done": True},
        ]
        assert proc.wait() == 0
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_broken_pipe_is_quiet() -> None:
    """``sseio decode | head -1``: the reader leaving early is not a traceback."""
    proc = _sseio("decode", "--raw", "-")
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    try:
        proc.stdin.write(b"data: x\n\n" * 20000)
        proc.stdin.flush()
    except BrokenPipeError:
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
    assert proc.wait(timeout=20) in (0, 1)
    assert b"Traceback" not in proc.stderr.read()
    proc.stderr.close()


def test_python_dash_m_runs_the_same_main() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sseio", "decode", "--raw", str(EXAMPLE)],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == run_main_in_process_raw()


def run_main_in_process_raw() -> bytes:
    from io import BytesIO

    out = BytesIO()
    decoder = sseio.SSEDecoder()
    items = decoder.feed(EXAMPLE.read_bytes())
    for item in items:
        if isinstance(item, sseio.ServerSentEvent):
            out.write(item.data.encode() + b"\n")
    return out.getvalue()


@pytest.mark.parametrize(("error", "status"), [(KeyboardInterrupt, 130), (BrokenPipeError, 1)])
def test_interrupt_and_closed_output_exit_quietly(
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    error: type[BaseException],
    status: int,
) -> None:
    def fail(_: object) -> int:
        raise error

    monkeypatch.setattr("sseio.cli.main._decode", fail)
    if error is BrokenPipeError:
        # main() points stdout at /dev/null; give it a descriptor of its own to do that to.
        read_end, write_end = os.pipe()
        monkeypatch.setattr(sys, "stdout", os.fdopen(write_end, "w"))
        try:
            assert main(["decode", str(EXAMPLE)]) == status
        finally:
            sys.stdout.close()
            os.close(read_end)
    else:
        assert main(["decode", str(EXAMPLE)]) == status
    assert b"Traceback" not in capsysbinary.readouterr().err


def test_dash_reads_standard_input_unbuffered(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    with EXAMPLE.open("rb") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        status, out, _ = run(["decode", "--raw", "-"], capsysbinary)
    assert status == 0
    assert out == "".join(
        f"{item.data}\n"
        for item in sseio.iter_sse([EXAMPLE.read_bytes()])
        if isinstance(item, sseio.ServerSentEvent)
    )
    assert len(out.splitlines()) == 27


class _OneShotServer:
    """A tiny blocking HTTP server on 127.0.0.1: the first request gets ``response``,
    the next ones the ``later`` responses in turn (the last one repeated)."""

    def __init__(self, response: bytes, *later: bytes) -> None:
        import socket

        self.responses = [response, *later]  # the last one answers every later request
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)  # accept() wakes up to see close()
        self._stopped = False
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        break
                    request += data
                head, _, rest = request.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(rest) < length:
                    rest += conn.recv(4096)
                self.requests.append(head + b"\r\n\r\n" + rest)
                conn.sendall(self.responses[min(len(self.requests), len(self.responses)) - 1])

    def close(self) -> None:
        self._stopped = True
        self._thread.join(timeout=5)
        self._sock.close()


STREAM_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    b": hello\n\nid: 1\nevent: note\ndata: first\n\ndata: two\ndata: lines\n\ndata: [DONE]\n\n"
)


@pytest.fixture
def stream_server() -> Iterator[_OneShotServer]:
    server = _OneShotServer(STREAM_RESPONSE)
    yield server
    server.close()


def test_events_prints_the_stream_live(
    stream_server: _OneShotServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    url = f"http://127.0.0.1:{stream_server.port}/feed?x=1"
    status, out, err = run(["events", url, "-H", "X-Token: abc"], capsysbinary)
    assert (status, err) == (0, "")
    assert out == "event: note\nid: 1\ndata: first\n\nid: 1\ndata: two\ndata: lines\n\n"
    request = stream_server.requests[0]
    assert request.startswith(b"GET /feed?x=1 HTTP/1.1\r\n")
    assert b"\r\nX-Token: abc\r\n" in request
    assert b"accept: text/event-stream" in request.lower()


def test_events_json_post_and_comments(
    stream_server: _OneShotServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    url = f"http://127.0.0.1:{stream_server.port}/chat"
    argv = ["events", url, "--json", "--comments", "-d", '{"q": 1}', "--last-event-id", "7"]
    status, out, _ = run(argv, capsysbinary)
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"comment": "hello"},
        {"event": "note", "data": "first", "id": "1", "retry": None},
        {"event": "message", "data": "two\nlines", "id": "1", "retry": None},
        {"done": True},
    ]
    request = stream_server.requests[0]
    assert request.startswith(b"POST /chat HTTP/1.1\r\n")
    assert request.endswith(b'\r\n\r\n{"q": 1}')
    assert b"\r\nLast-Event-ID: 7\r\n" in request
    assert b"\r\nContent-Type: application/json\r\n" in request


def test_events_reports_a_non_stream_answer(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    server = _OneShotServer(
        b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 38\r\n"
        b'\r\n{"error": {"message": "bad api key"}}\n'
    )
    try:
        status, out, err = run(["events", f"http://127.0.0.1:{server.port}/"], capsysbinary)
    finally:
        server.close()
    assert (status, out) == (1, "")
    assert "401" in err
    assert "bad api key" in err
    assert len(server.requests) == 1


def test_events_bad_header_is_a_usage_error(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["events", "http://127.0.0.1:9/", "-H", "Authorization Bearer sk-x"])
    assert exit_info.value.code == 2
    err = capsysbinary.readouterr().err.decode()
    assert err.startswith("usage: sseio events ")
    assert "'Name: value'" in err
    assert "sk-x" not in err


def test_verbose_logs_each_head_without_credentials(
    stream_server: _OneShotServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    url = f"http://127.0.0.1:{stream_server.port}/feed"
    argv = ["-vv", "events", url, "-H", "Authorization: Bearer s3cret"]
    status, out, err = run(argv, capsysbinary)
    assert status == 0
    assert out.startswith("event: note\n")
    lines = err.splitlines()
    assert lines[0] == f"sseio: connecting to 127.0.0.1:{stream_server.port}"
    assert lines[1].startswith(f"sseio: sent GET {url} (Host: 127.0.0.1:")
    assert "Authorization: [redacted]" in lines[1]
    assert "s3cret" not in err
    assert lines[2] == f"sseio: {url} answered 200 OK"
    # The command's handler is gone after it: nothing leaks into the next one (the
    # package's own NullHandler stays).
    handlers = logging.getLogger("sseio").handlers
    assert [type(handler) for handler in handlers] == [logging.NullHandler]


def test_verbose_shows_a_stream_given_up(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        url = f"http://127.0.0.1:{port}/"
        quiet = run(["-v", "events", url, "--no-reconnect"], capsysbinary)
        loud = run(["-vv", "events", url, "--no-reconnect"], capsysbinary)
    # Told never to reconnect, the source only ends: no warning; the error is the message.
    assert quiet[0] == 1
    [line] = quiet[2].splitlines()
    assert line.startswith(f"sseio: error: cannot connect to 127.0.0.1:{port}: ")
    assert loud[0] == 1
    assert f"sseio: giving up on {url} after 0 reconnects: cannot connect" in loud[2]


def refused_url() -> tuple[socket.socket, str]:
    """A port that is bound but not listening: every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/feed"


def test_events_reports_each_reconnect_then_gives_up(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    sock, url = refused_url()
    port = sock.getsockname()[1]
    with sock:
        argv = ["events", url, "--reconnect-delay", "0.01", "--max-attempts", "3"]
        status, out, err = run(argv, capsysbinary)
    assert (status, out) == (1, "")
    lines = err.splitlines()
    assert len(lines) == 4, err
    for attempt, line in enumerate(lines[:3], 1):
        assert line.startswith(
            f"sseio events: connect failed: cannot connect to 127.0.0.1:{port}: "
        ), line
        assert re.search(rf"; reconnecting in 0\.0[1-9]s \(attempt {attempt}\)$", line), line
    assert lines[3].startswith(
        f"sseio: error: gave up after 3 reconnects: cannot connect to 127.0.0.1:{port}: "
    )
    assert "giving up" not in err  # no stray log line without -v


def test_events_verbose_logs_reconnects_once(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    sock, url = refused_url()
    with sock:
        argv = ["-v", "events", url, "--reconnect-delay", "0.01", "--max-attempts", "1"]
        status, _, err = run(argv, capsysbinary)
    assert status == 1
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert lines[0].startswith(f"sseio: reconnecting to {url} in 0.0")
    assert lines[0].endswith("s (attempt 1, connect failed)")
    assert lines[1].startswith(f"sseio: giving up on {url} after 1 reconnects: cannot connect")
    assert lines[2].startswith("sseio: error: gave up after 1 reconnect: cannot connect")


def test_events_gives_up_on_a_stream_that_keeps_ending(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    server = _OneShotServer(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        b": nothing to say\n\n"
    )
    try:
        url = f"http://127.0.0.1:{server.port}/"
        argv = ["events", url, "--reconnect-delay", "0.01", "--max-attempts", "2"]
        status, out, err = run(argv, capsysbinary)
    finally:
        server.close()
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        AnyMatch(r"sseio events: stream ended; reconnecting in 0\.0\ds \(attempt 1\)"),
        AnyMatch(r"sseio events: stream ended; reconnecting in 0\.0\ds \(attempt 2\)"),
        "sseio: error: gave up after 2 reconnects: stream ended",
    ]
    assert len(server.requests) == 3


def test_events_stops_quietly_on_a_204_to_a_reconnect(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    stream = STREAM_RESPONSE.replace(b"data: [DONE]\n\n", b"")
    server = _OneShotServer(stream, b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
    try:
        url = f"http://127.0.0.1:{server.port}/"
        status, out, err = run(["events", url, "--reconnect-delay", "0.01"], capsysbinary)
    finally:
        server.close()
    assert status == 0
    assert out == "event: note\nid: 1\ndata: first\n\nid: 1\ndata: two\ndata: lines\n\n"
    assert err.splitlines() == [
        AnyMatch(r"sseio events: stream ended; reconnecting in 0\.0\ds \(attempt 1\)")
    ]
    assert b"\r\nLast-Event-ID: 1\r\n" in server.requests[1]


class AnyMatch(str):
    """Equal to any string the pattern matches in full (for whole-list asserts)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(str(self), other) is not None

    __hash__ = str.__hash__


def test_a_real_process_reports_a_refused_port_and_exits_1() -> None:
    sock, url = refused_url()
    with sock:
        result = subprocess.run(
            [sys.executable, "-m", "sseio", "events", url, "--reconnect-delay", "0.05",
             "--max-attempts", "2"],
            capture_output=True,
            text=True,
            timeout=30,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.partition(":")[0] for line in lines] == ["sseio events"] * 2 + ["sseio"]
    assert "(attempt 2)" in lines[1]
    assert lines[2].startswith("sseio: error: gave up after 2 reconnects: cannot connect")
