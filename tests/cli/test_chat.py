"""``sseio chat``, ``serve`` and ``demo`` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import sseio
import sseio.chat
from sseio.server._server import SSEServer
from sseio.testing._mock import MockAPI, MockConfig, mock_in_thread

LIMIT = 30


def sseio_command(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sseio", *args],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env={**os.environ, "NO_COLOR": "", **(env or {})},
    )


@pytest.fixture
def mock() -> Iterator[tuple[SSEServer, MockAPI]]:
    with mock_in_thread(MockConfig(keepalive=None, seed=3)) as served:
        yield served


def base_url(server: SSEServer) -> str:
    return server.url + "/v1"


STATS = re.compile(r"\[first token \d+\.\d\ds · (\d+) tokens · [\d.]+ tok/s · finish (\w+)\]")


def test_demo_streams_an_answer_with_stats() -> None:
    result = sseio_command("demo", "--token-rate", "0")
    assert result.returncode == 0, result.stderr
    assert "mock API on http://127.0.0.1:" in result.stderr
    match = STATS.search(result.stderr)
    assert match is not None, result.stderr
    assert match.group(2) == "stop"
    assert int(match.group(1)) > 20
    assert "[thinking]" in result.stdout  # reasoning is shown, marked off from the answer
    assert "mock" in result.stdout
    assert "<think>" not in result.stdout


def test_chat_prints_the_answer(mock: tuple[SSEServer, MockAPI]) -> None:
    server, api = mock
    result = sseio_command(
        "chat", "hello there", "--base-url", base_url(server), "--model", "sseio-mock-1",
        "--hide-think", "--system", "be brief", "--temperature", "0.2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = api.requests[-1].body
    assert body["hideThink"] is True
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello there"},
    ]
    assert body["temperature"] == 0.2
    assert result.stdout == api.expected_answer(body).content + "\n"
    assert STATS.search(result.stderr)


def test_chat_json_prints_each_chunk(mock: tuple[SSEServer, MockAPI]) -> None:
    server, api = mock
    result = sseio_command(
        "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1", "--json"
    )
    assert result.returncode == 0, result.stderr
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == api.expected_answer(api.requests[-1].body).content  # as sent, tags and all
    assert "finish stop" in result.stderr


def test_chat_max_tokens_and_key_from_environment() -> None:
    with mock_in_thread(MockConfig(keepalive=None, api_key="sk-env")) as (server, api):
        result = sseio_command(
            "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1",
            "--max-tokens", "4",
            env={"SSEIO_API_KEY": "sk-env"},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "finish length" in result.stderr
    assert api.requests[-1].header("authorization") == "Bearer sk-env"


def test_chat_error_exits_1_with_the_server_message() -> None:
    with mock_in_thread(MockConfig(keepalive=None, api_key="right")) as (server, _api):
        result = sseio_command(
            "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1",
            "--api-key", "wrong",
        )  # fmt: skip
    assert result.returncode == 1
    assert "status 401" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_refused_connection_exits_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = sseio_command(
        "chat", "q", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m", "--no-retry"
    )
    assert result.returncode == 1
    assert "sseio: error:" in result.stderr
    assert "no tokens" in result.stderr


def test_chat_ctrl_c_stops_cleanly() -> None:
    with mock_in_thread(MockConfig(keepalive=None, token_rate=20)) as (server, _api):
        process = subprocess.Popen(
            [sys.executable, "-m", "sseio", "chat", "q", "--base-url", base_url(server),
             "--model", "sseio-mock-1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            assert process.stdout.read(1)  # the answer has started
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=LIMIT)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_runs_until_interrupted() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sseio", "serve", "--port", str(port), "--token-rate", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + LIMIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with (
            sseio.chat.ChatClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="x") as client,
            client.stream(
                model="sseio-mock-1", messages=[{"role": "user", "content": "hi"}]
            ) as stream,
        ):
            result = stream.final()
        assert result.finish_reason == "stop"
        assert result.content
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=LIMIT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert f"http://127.0.0.1:{port}/v1" in err
    assert "Traceback" not in err


def test_bad_mock_options_are_usage_errors() -> None:
    result = sseio_command("serve", "--token-rate", "-1")
    assert result.returncode == 2
    assert "--token-rate" in result.stderr


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from sseio.cli.main import main

    assert main(["demo", "--token-rate", "0", "--hide-think", "a question"]) == 0
    out, err = capsys.readouterr()
    assert "> a question" in err
    assert "[thinking]" not in out
    assert "a question" in out  # the mock quotes the prompt
    match = STATS.search(err)
    assert match is not None
    assert match.group(2) == "stop"


def test_chat_in_process_json_and_reasoning(
    mock: tuple[SSEServer, MockAPI], capsys: pytest.CaptureFixture[str]
) -> None:
    from sseio.cli.main import main

    server, api = mock
    url = base_url(server)
    assert main(["chat", "q", "--base-url", url, "--model", "sseio-mock-1", "--json"]) == 0
    out, _err = capsys.readouterr()
    assert (
        len(out.splitlines())
        == len(api.expected_answer(api.requests[-1].body).choices[0].tokens) + 2
    )
    assert main(["chat", "q", "--base-url", url, "--model", "sseio-mock-1", "--show-think"]) == 0
    out, _err = capsys.readouterr()
    expected = api.expected_answer(api.requests[-1].body)
    assert out.count("[thinking] ") == out.count(" [/thinking]\n") >= 1
    shown = out.replace("[thinking] ", "").replace(" [/thinking]\n", "")
    assert shown.rstrip("\n") == expected.content.replace("<think>", "").replace(
        "</think>", ""
    ).replace("<ser>", "").replace("</ser>", "").rstrip("\n")


def test_chat_colours_reasoning_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from sseio.chat._types import ChatChunk, ChunkChoice, Delta
    from sseio.cli.chat import _Printer

    out = io.StringIO()
    printer = _Printer(out, show_think=True, color=True)
    for delta in [Delta(reasoning="plan"), Delta(content="answer"), Delta(reasoning="more")]:
        printer.chunk(ChatChunk("id", "m", 1, (ChunkChoice(0, delta),)))
    printer.chunk(ChatChunk("id", "m", 1, (ChunkChoice(1, Delta(content="other")),)))
    printer.end()
    assert out.getvalue() == "\x1b[2mplan\x1b[0manswer\x1b[2mmore\x1b[0m\n"
    assert "3 tokens" in printer.stats()
