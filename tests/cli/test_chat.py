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


STATS = re.compile(r"\[first token \d+\.\d\ds · (\d+) tokens? · [\d.na/]+ tok/s · finish (\w+)\]")


def test_demo_streams_an_answer_with_stats() -> None:
    result = sseio_command("demo", "--token-rate", "0")
    assert result.returncode == 0, result.stderr
    assert "mock API on http://127.0.0.1:" in result.stderr
    match = STATS.search(result.stderr)
    assert match is not None, result.stderr
    assert match.group(2) == "stop"
    assert int(match.group(1)) > 20
    # stdout is a pipe: it holds the answer alone; reasoning is shown on stderr.
    assert "[thinking]" not in result.stdout
    assert "[thinking] " in result.stderr
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
    assert result.stdout == ""
    # A failed call has no stats line: the error is the whole of stderr.
    [line] = result.stderr.splitlines()
    assert line.startswith(f"sseio: error: cannot connect to 127.0.0.1:{port}: ")


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
    out, err = capsys.readouterr()
    expected = api.expected_answer(api.requests[-1].body)
    # Not a terminal: the answer alone on stdout, the reasoning marked off on stderr.
    assert out == expected.answer + "\n"
    thinking, stats = err.rsplit("\n", 2)[:2]
    assert thinking.count("[thinking] ") == thinking.count(" [/thinking]") >= 1
    assert STATS.fullmatch(stats)
    shown = thinking.replace("[thinking] ", "").replace(" [/thinking]", "").replace("\n", "")
    assert shown == expected.reasoning.replace("\n", "")


def test_chat_json_stats_count_the_tokens(
    mock: tuple[SSEServer, MockAPI], capsys: pytest.CaptureFixture[str]
) -> None:
    from sseio.cli.main import main

    server, _api = mock
    argv = ["chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1", "--json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "no tokens" not in err
    match = STATS.fullmatch(err.rstrip("\n"))
    assert match is not None, err
    assert match.group(2) == "stop"
    assert all(json.loads(line) for line in out.splitlines())
    # The same count as the text display gives for the same answer.
    assert main(argv[:-1]) == 0
    shown = STATS.search(capsys.readouterr().err)
    assert shown is not None
    assert int(match.group(1)) == int(shown.group(1)) > 20


def test_one_token_is_singular() -> None:
    from sseio.chat._types import ChatChunk, ChunkChoice, Delta
    from sseio.cli.chat import _Stats

    stats = _Stats()
    assert stats.line() == "[no tokens · finish none]"
    stats.record(ChatChunk("id", "m", 1, (ChunkChoice(0, Delta(content="hi"), "stop"),)))
    line = stats.line()
    assert " · 1 token · n/a tok/s · finish stop]" in line
    stats.record(ChatChunk("id", "m", 1, (ChunkChoice(0, Delta(reasoning="more")),)))
    assert " · 2 tokens · " in stats.line()


def test_an_error_after_tokens_prints_no_stats(mock: tuple[SSEServer, MockAPI]) -> None:
    server, api = mock
    result = sseio_command(
        "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1",
        "--hide-think", "-H", "X-Mock-Fault: error; after=3",
    )  # fmt: skip
    assert result.returncode == 1
    assert api.requests[-1].header("x-mock-fault") == "error; after=3"
    expected = api.expected_answer(api.requests[-1].body)
    # The partial answer's line is ended; stderr is the error and nothing else.
    assert result.stdout.endswith("\n")
    partial = result.stdout.rstrip("\n")
    assert partial
    assert expected.answer.startswith(partial)
    [line] = result.stderr.splitlines()
    assert line.startswith("sseio: error: ")


def test_an_error_before_tokens_prints_only_the_error() -> None:
    with mock_in_thread(MockConfig(keepalive=None, api_key="right")) as (server, _api):
        result = sseio_command(
            "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1",
            "--api-key", "wrong",
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("sseio: error: ")
    assert "status 401" in line
    assert "wrong" not in result.stderr


def test_each_retry_is_one_line_before_the_answer() -> None:
    with mock_in_thread(MockConfig(keepalive=None)) as (server, api):
        result = sseio_command(
            "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1",
            "--hide-think", "-H", "X-Mock-Fault: 503; times=1; retry_after=0",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    retry, stats = result.stderr.splitlines()
    assert re.fullmatch(r"sseio chat: status 503 .*; retrying in \d+\.\d\ds \(retry 1\)", retry)
    assert STATS.fullmatch(stats)
    assert len(api.requests) == 2


def test_prompt_from_standard_input(mock: tuple[SSEServer, MockAPI]) -> None:
    server, api = mock
    result = subprocess.run(
        [sys.executable, "-m", "sseio", "chat", "-", "--base-url", base_url(server),
         "--model", "sseio-mock-1", "--hide-think"],
        input="a question\nin two lines\n",
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert api.requests[-1].body["messages"] == [
        {"role": "user", "content": "a question\nin two lines"}
    ]
    assert result.stdout == api.expected_answer(api.requests[-1].body).content + "\n"


def test_an_empty_prompt_on_standard_input_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sseio", "chat", "-", "--base-url", "http://127.0.0.1:9/v1"],
        input="\n",
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    assert result.returncode == 2
    assert result.stderr == "sseio: error: the prompt read from standard input is empty\n"


def test_headers_are_sent_and_authorization_never_shown() -> None:
    with mock_in_thread(MockConfig(keepalive=None, api_key="sk-from-header")) as (server, api):
        result = sseio_command(
            "-vv", "chat", "q", "--base-url", base_url(server), "--model", "sseio-mock-1",
            "--api-key", "sk-overridden", "-H", "Authorization: Bearer sk-from-header",
            "-H", "X-Trace: t-1", "-H", "X-Trace: t-2",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    request = api.requests[-1]
    assert request.header("authorization") == "Bearer sk-from-header"
    assert [value for name, value in request.headers if name == "x-trace"] == ["t-1", "t-2"]
    assert "sent POST" in result.stderr  # -vv shows the request head
    assert "sk-from-header" not in result.stderr + result.stdout
    assert "sk-overridden" not in result.stderr + result.stdout


def test_a_bad_chat_header_is_a_usage_error() -> None:
    result = sseio_command("chat", "q", "-H", "Authorization Bearer sk-typo")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: sseio chat ")
    assert "no colon" in result.stderr
    assert "sk-typo" not in result.stderr


def run_on_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, str]:
    """Run ``sseio`` with stdout on a pseudo-terminal; returns the status, what the
    terminal showed and stderr."""
    import pty
    import select

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sseio", *argv],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
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
        _out, err = process.communicate(timeout=LIMIT)
    finally:
        process.kill()
        process.wait()
        os.close(leader)
    return process.returncode, shown, err.decode()


def test_on_a_terminal_reasoning_is_dimmed_inline() -> None:
    status, shown, err = run_on_terminal(["demo", "--token-rate", "0"], {"NO_COLOR": ""})
    assert status == 0, err
    text = shown.decode().replace("\r\n", "\n")
    assert text.startswith("\x1b[2m")  # reasoning first, dimmed, on the terminal itself
    assert "\x1b[0m" in text
    assert "[thinking]" not in text + err
    assert STATS.search(err)


def test_on_a_terminal_without_colour_reasoning_is_marked() -> None:
    status, shown, err = run_on_terminal(["demo", "--token-rate", "0"], {"NO_COLOR": "1"})
    assert status == 0, err
    text = shown.decode().replace("\r\n", "\n")
    assert text.startswith("[thinking] ")
    assert " [/thinking]\n" in text
    assert "\x1b[" not in text


def test_printer_streams_and_markers() -> None:
    import io

    from sseio.chat._types import ChatChunk, ChunkChoice, Delta
    from sseio.cli.chat import _Printer, _Text

    def feed(printer: _Printer) -> None:
        for delta in [Delta(reasoning="plan"), Delta(content="answer"), Delta(reasoning="more")]:
            printer.chunk(ChatChunk("id", "m", 1, (ChunkChoice(0, delta),)))
        printer.chunk(ChatChunk("id", "m", 1, (ChunkChoice(1, Delta(content="other")),)))
        printer.end()

    terminal = io.StringIO()
    inline = _Text(terminal, color=True)
    feed(printer := _Printer(inline, inline))
    assert terminal.getvalue() == "\x1b[2mplan\x1b[0manswer\x1b[2mmore\x1b[0m\n"
    assert "3 tokens" in printer.stats.line()

    answer, reasoning = io.StringIO(), io.StringIO()
    feed(_Printer(_Text(answer, color=False), _Text(reasoning, color=False)))
    assert answer.getvalue() == "answer\n"
    assert reasoning.getvalue() == "[thinking] plan [/thinking]\n[thinking] more [/thinking]\n"

    hidden = io.StringIO()
    feed(_Printer(_Text(hidden, color=False), None))
    assert hidden.getvalue() == "answer\n"


@pytest.mark.parametrize(("api", "finish"), [("responses", "completed"), ("messages", "end_turn")])
def test_chat_api_streams_responses_and_messages(
    api: str, finish: str, mock: tuple[SSEServer, MockAPI], capsys: pytest.CaptureFixture[str]
) -> None:
    from sseio.cli.main import main

    server, mock_api = mock
    url = server.url if api == "messages" else base_url(server)
    argv = ["chat", "q", "--api", api, "--base-url", url, "--system", "be brief"]
    assert main([*argv, "--max-tokens", "500"]) == 0
    out, err = capsys.readouterr()
    sent = mock_api.requests[-1]
    expected = mock_api.expected_turn(sent.path, sent.body)
    assert sent.path == ("/v1/messages" if api == "messages" else "/v1/responses")
    if api == "messages":
        assert sent.body["system"] == "be brief"
        assert sent.body["max_tokens"] == 500
    else:
        assert sent.body["input"][0] == {"role": "system", "content": "be brief"}
        assert sent.body["max_output_tokens"] == 500
    assert out == expected.text + "\n"  # not a terminal: the answer alone on stdout
    thinking = err.rsplit("\n", 2)[0]
    shown = thinking.replace("[thinking] ", "").replace(" [/thinking]", "").replace("\n", "")
    assert shown == expected.reasoning.replace("\n", "")
    match = STATS.search(err)
    assert match is not None, err
    assert (int(match.group(1)), match.group(2)) == (expected.output_tokens, finish)
    assert main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    kinds = [json.loads(line)["type"] for line in out.splitlines()]
    assert kinds[0] == ("message_start" if api == "messages" else "response.created")
    assert kinds[-1] == ("message_stop" if api == "messages" else "response.completed")
    assert STATS.search(err) is not None


@pytest.mark.parametrize("api", ["chat", "responses", "messages"])
def test_demo_runs_each_api(api: str) -> None:
    result = sseio_command("demo", "--token-rate", "0", "--api", api, "--hide-think")
    assert result.returncode == 0, result.stderr
    assert f"{api} API" in result.stderr
    assert "mock" in result.stdout
    assert "[thinking]" not in result.stdout + result.stderr


def test_an_unknown_api_is_a_usage_error() -> None:
    result = sseio_command("chat", "q", "--api", "completions")
    assert result.returncode == 2
    assert "invalid choice: 'completions'" in result.stderr
    assert "usage: sseio chat" in result.stderr
