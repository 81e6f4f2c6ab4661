"""The chat side of the command line: ``sseio chat``, ``sseio serve`` and ``sseio demo``.

``chat`` streams an answer from an OpenAI-compatible API and prints it on
standard output as the tokens arrive (``PROMPT`` ``-`` reads the prompt from
standard input; ``-H 'Name: value'`` adds request headers), then a stats line
on standard error: time to first token, tokens, tokens per second, finish
reason.  ``--json`` prints each chunk as a JSON line instead, with the same
stats.  Reasoning text goes where it cannot spoil the answer: on a terminal it
is shown inline, dimmed (marked ``[thinking] … [/thinking]`` under
``NO_COLOR``); when standard output is not a terminal (a pipe, a file) it goes
to standard error, so standard output holds the answer alone; ``--hide-think``
leaves it out everywhere.  A failed call prints no stats line: a partial
answer's line is ended, and the error is the last thing on standard error
(each retry before it is one line there too).  Ctrl-C stops a chat cleanly:
the connection is closed, the stats line still printed (marked
``interrupted``), and the exit status is 130.

``serve`` runs the embedded mock API until interrupted; ``demo`` starts it on
a free loopback port in this process and chats with it over a real socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from .._core.errors import UsageError
from .._http.observe import Hooks, RetryScheduled
from .._http.reconnect import Timeout
from ..chat._call import DEFAULT_BASE_URL
from ..chat._retry import NO_RETRY, ChatRetry
from ..chat._sync import ChatClient
from ..chat._types import ChatChunk
from .args import add_header_argument, explain

__all__ = ["add_chat_commands"]

DEMO_PROMPT = "Why do streaming chat APIs use Server-Sent Events?"
DEMO_MODEL = "Dhanishtha-2.0-preview"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"
_PLAIN_START = "[thinking] "  # marks reasoning where there is no colour to dim it
_PLAIN_END = " [/thinking]\n"


def add_chat_commands(commands: Any) -> None:
    """Register ``chat``, ``serve`` and ``demo`` on the ``sseio`` sub-command parser."""
    chat = commands.add_parser(
        "chat",
        help="stream a chat answer from an OpenAI-compatible API",
        description="Send PROMPT to an OpenAI-compatible chat API and print the answer live, "
        "then a stats line on stderr.  When stdout is not a terminal, reasoning goes to "
        "stderr and stdout holds the answer alone.",
    )
    chat.add_argument("prompt", help="the user message; - reads it from stdin")
    chat.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="API base URL (default: $SSEIO_BASE_URL, else $OPENAI_BASE_URL, "
        f"else {DEFAULT_BASE_URL})",
    )
    chat.add_argument(
        "--model",
        default=os.environ.get("SSEIO_MODEL", "gpt-4o-mini"),
        help="model name (default: $SSEIO_MODEL, else gpt-4o-mini)",
    )
    _chat_options(chat)
    chat.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="bearer key (default: $SSEIO_API_KEY, else $OPENAI_API_KEY, else none)",
    )
    chat.set_defaults(run=_chat)

    serve = commands.add_parser(
        "serve",
        help="run the mock OpenAI-compatible API server",
        description="Serve the embedded mock API (POST /v1/chat/completions, "
        "/v1/responses and /v1/messages, GET /v1/models) until interrupted.  "
        "Fault modes are chosen per request with the X-Mock-Fault header.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (0: any)")
    _mock_options(serve)
    serve.add_argument(
        "--api-key", default=None, metavar="KEY", help="require this bearer key (default: none)"
    )
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo",
        help="chat with the embedded mock API over a real socket",
        description="Start the mock API on a free loopback port in this process and stream "
        "a chat answer from it with sseio's own client.",
    )
    demo.add_argument(
        "prompt", nargs="?", default=DEMO_PROMPT, help="the user message; - reads it from stdin"
    )
    demo.add_argument("--model", default=DEMO_MODEL, help="model name")
    _chat_options(demo)
    _mock_options(demo, token_rate=60.0)
    demo.set_defaults(run=_demo)


APIS = ("chat", "responses", "messages")
"""The stream shapes ``--api`` picks: chat completions, OpenAI Responses, Anthropic Messages."""


def _chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        choices=APIS,
        default="chat",
        help="chat: POST {base}/chat/completions; responses: POST {base}/responses "
        "(OpenAI Responses); messages: POST {base}/v1/messages (Anthropic Messages)",
    )
    parser.add_argument("--system", default=None, metavar="TEXT", help="system message")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        metavar="T",
        help="sampling temperature (default: the server's)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        metavar="N",
        help="longest answer in tokens (default: the server's)",
    )
    think = parser.add_mutually_exclusive_group()
    think.add_argument(
        "--hide-think",
        dest="think",
        action="store_const",
        const=False,
        help="ask the server to leave reasoning out, and hide any that comes",
    )
    think.add_argument(
        "--show-think",
        dest="think",
        action="store_const",
        const=True,
        help="print reasoning (the default)",
    )
    parser.add_argument("--json", action="store_true", help="print each chunk as a JSON line")
    add_header_argument(parser)
    parser.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="read timeout in seconds"
    )
    parser.add_argument(
        "--event-timeout",
        type=float,
        default=None,
        metavar="S",
        help="max seconds between events (default: no limit)",
    )
    parser.add_argument("--no-retry", action="store_true", help="do not retry failed requests")


def _mock_options(parser: argparse.ArgumentParser, token_rate: float = 0.0) -> None:
    parser.add_argument(
        "--token-rate",
        type=float,
        default=token_rate,
        metavar="N",
        help="tokens per second per stream, 0 for as fast as possible",
    )
    parser.add_argument(
        "--first-token-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds before the first chunk",
    )
    parser.add_argument(
        "--keepalive", type=float, default=15.0, metavar="S", help="seconds between keepalives"
    )
    parser.add_argument("--no-think", action="store_true", help="answers without reasoning")


def _mock_config(args: argparse.Namespace) -> Any:
    from ..testing._mock import MockConfig

    if args.token_rate < 0 or args.first_token_delay < 0 or not args.keepalive > 0:
        raise UsageError("--token-rate and --first-token-delay must be >= 0, --keepalive > 0")
    return MockConfig(
        token_rate=args.token_rate,
        first_token_delay=args.first_token_delay,
        keepalive=args.keepalive,
        think=not args.no_think,
        api_key=getattr(args, "api_key", None),
    )


@dataclass
class _Stats:
    """The numbers behind the stats line, from every chunk (printed or not)."""

    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    pieces: int = 0
    finish_reason: str | None = None
    completion_tokens: int | None = None

    def piece(self) -> None:
        """A piece of answer or reasoning text arrived."""
        if self.first_token is None:
            self.first_token = time.monotonic()
        self.pieces += 1

    def finished(self, reason: str | None, output_tokens: int | None) -> None:
        """What a Responses or Messages stream's final value says."""
        self.finish_reason = reason
        if output_tokens is not None:
            self.completion_tokens = output_tokens

    def record(self, chunk: ChatChunk) -> None:
        if chunk.usage is not None and chunk.usage.completion_tokens is not None:
            self.completion_tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            if choice.delta.reasoning or choice.delta.content:
                if self.first_token is None:
                    self.first_token = time.monotonic()
                self.pieces += 1
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason

    def line(self, note: str | None = None) -> str:
        now = time.monotonic()
        parts = []
        if self.first_token is None:
            parts.append("no tokens")
        else:
            tokens = self.completion_tokens or self.pieces
            span = now - self.first_token
            rate = f"{tokens / span:.1f} tok/s" if span > 0 and tokens > 1 else "n/a tok/s"
            parts += [
                f"first token {self.first_token - self.started:.2f}s",
                f"{tokens} token{'' if tokens == 1 else 's'}",
                rate,
            ]
        parts.append(f"finish {self.finish_reason or 'none'}")
        if note:
            parts.append(note)
        return "[" + " · ".join(parts) + "]"


@dataclass
class _Text:
    """One output stream, and whether its current line holds text."""

    out: TextIO
    color: bool
    open_line: bool = False

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        if text:
            self.open_line = not text.endswith("\n")

    def end_line(self) -> None:
        if self.open_line:
            self.write("\n")


@dataclass
class _Printer:
    """Writes answer and reasoning text as it arrives (see the module doc for where)."""

    answer: _Text
    reasoning: _Text | None  # None: reasoning is not shown
    stats: _Stats = field(default_factory=_Stats)
    in_reasoning: bool = False

    @classmethod
    def create(cls, show_think: bool) -> _Printer:
        no_color = bool(os.environ.get("NO_COLOR"))
        answer = _Text(sys.stdout, color=sys.stdout.isatty() and not no_color)
        if not show_think:
            return cls(answer, None)
        if sys.stdout.isatty():
            return cls(answer, answer)
        return cls(answer, _Text(sys.stderr, color=sys.stderr.isatty() and not no_color))

    def chunk(self, chunk: ChatChunk) -> None:
        self.stats.record(chunk)
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            if choice.delta.reasoning:
                self._reasoning(choice.delta.reasoning)
            if choice.delta.content:
                self._close_reasoning()
                self.answer.write(choice.delta.content)

    def piece(self, kind: str, text: str) -> None:
        """A piece of a Responses or Messages stream: ``kind`` ``"text"`` or ``"reasoning"``."""
        self.stats.piece()
        if kind == "reasoning":
            self._reasoning(text)
        else:
            self._close_reasoning()
            self.answer.write(text)

    def _reasoning(self, text: str) -> None:
        target = self.reasoning
        if target is None:
            return
        if not self.in_reasoning:
            if target is not self.answer:
                target.end_line()  # a line of its own after a retry's or an earlier block
            target.write(_DIM if target.color else _PLAIN_START)
            self.in_reasoning = True
        target.write(text)

    def _close_reasoning(self) -> None:
        if self.in_reasoning and self.reasoning is not None:
            self.reasoning.write(_RESET if self.reasoning.color else _PLAIN_END)
            if self.reasoning is not self.answer:
                self.reasoning.end_line()
        self.in_reasoning = False

    def end(self) -> None:
        """Close a reasoning block and end the answer's line (if it holds text)."""
        self._close_reasoning()
        self.answer.end_line()


def _prompt(args: argparse.Namespace) -> str:
    """The prompt given, or standard input's text for ``-`` (a final newline removed)."""
    if args.prompt != "-":
        return str(args.prompt)
    text = sys.stdin.read()
    text = text.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        raise UsageError("the prompt read from standard input is empty")
    return text


def _messages(args: argparse.Namespace, prompt: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if args.system and args.api != "messages":  # Messages takes it as a field of its own
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    return messages


@contextmanager
def _stream(args: argparse.Namespace, client: Any, prompt: str) -> Iterator[Any]:
    """The stream the command asked for: the one place that builds each API's request."""
    timeout = Timeout(read=args.timeout, event=args.event_timeout)
    retry = NO_RETRY if args.no_retry else ChatRetry()
    messages = _messages(args, prompt)
    if args.api == "responses":
        stream = client.stream(
            model=args.model,
            input=messages,
            max_output_tokens=args.max_tokens,
            temperature=args.temperature,
            timeout=timeout,
            retry=retry,
        )
    elif args.api == "messages":
        options = {} if args.max_tokens is None else {"max_tokens": args.max_tokens}
        stream = client.stream(
            model=args.model,
            messages=messages,
            system=args.system,
            temperature=args.temperature,
            timeout=timeout,
            retry=retry,
            **options,
        )
    else:
        stream = client.stream(
            model=args.model,
            messages=messages,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            hide_think=True if args.think is False else None,
            timeout=timeout,
            retry=retry,
        )
    with stream:
        yield stream


def _print_chat(args: argparse.Namespace, printer: _Printer, stream: Iterable[ChatChunk]) -> None:
    for chunk in stream:
        if args.json:
            printer.stats.record(chunk)
            printer.answer.write(json.dumps(chunk.raw, ensure_ascii=False) + "\n")
        else:
            printer.chunk(chunk)


def _print_shaped(args: argparse.Namespace, printer: _Printer, stream: Any) -> None:
    """A Responses or Messages stream: its pieces of text, or (``--json``) its events."""
    show_think = args.think is not False
    for event in stream:
        piece = stream.piece(event)
        if args.json:
            printer.answer.write(json.dumps(dict(event.raw), ensure_ascii=False) + "\n")
            if piece is not None:
                printer.stats.piece()
        elif piece is not None and (show_think or piece.kind == "text"):
            printer.piece(piece.kind, piece.text)
    result = stream.final()
    reason = getattr(result, "stop_reason", None) or getattr(result, "status", None)
    usage = result.usage
    printer.stats.finished(reason, None if usage is None else usage.output_tokens)


def _run_chat(args: argparse.Namespace, client: Any, prompt: str) -> int:
    show_think = args.think if args.think is not None else True
    printer = _Printer.create(show_think)
    note: str | None = None  # for the stats line; None: the call failed, no stats
    try:
        with _stream(args, client, prompt) as stream:
            if args.api == "chat":
                _print_chat(args, printer, stream)
            else:
                _print_shaped(args, printer, stream)
        note = ""
    except KeyboardInterrupt:
        note = "interrupted"
        raise
    finally:
        printer.end()
        if note is not None:
            print(printer.stats.line(note), file=sys.stderr, flush=True)
    return 0


def _client(args: argparse.Namespace, base_url: str | None, api_key: str | None) -> Any:
    """The client for ``--api``: each reads its own environment for what is not given."""
    options: dict[str, Any] = {
        "base_url": base_url,
        "api_key": api_key,
        "headers": args.header,
        "hooks": _retry_hooks(args),
    }
    if args.api == "responses":
        from ..chat._streams_sync import ResponsesClient

        return ResponsesClient(**options)
    if args.api == "messages":
        from ..chat._streams_sync import MessagesClient

        return MessagesClient(**options)
    return ChatClient(**options)


def _retry_hooks(args: argparse.Namespace) -> Hooks | None:
    """One stderr line per retry (with ``-v`` the log says it instead)."""
    if getattr(args, "verbose", 0):
        return None

    def scheduled(retry: RetryScheduled) -> None:
        why = explain(retry.reason, retry.error)
        print(
            f"sseio chat: {why}; retrying in {retry.delay:.2f}s (retry {retry.attempt})",
            file=sys.stderr,
            flush=True,
        )

    return Hooks(retry_scheduled=scheduled)


def _chat(args: argparse.Namespace) -> int:
    prompt = _prompt(args)
    with _client(args, args.base_url, args.api_key) as client:
        return _run_chat(args, client, prompt)


def _serve(args: argparse.Namespace) -> int:
    import anyio

    from ..testing._mock import run_mock

    config = _mock_config(args)

    async def serve() -> None:
        async with run_mock(config, host=args.host, port=args.port) as (server, _api):
            print(
                f"sseio mock API on {server.url}/v1 (Ctrl-C to stop)", file=sys.stderr, flush=True
            )
            await anyio.sleep_forever()

    try:
        anyio.run(serve)
    except asyncio.CancelledError:
        # Before Python 3.11 the asyncio runner reports Ctrl-C as a cancellation.
        if sys.version_info < (3, 11):
            raise KeyboardInterrupt from None
        raise
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ..testing._mock import mock_in_thread

    if args.think is None:
        args.think = True
    prompt = _prompt(args)
    with mock_in_thread(_mock_config(args)) as (server, _api):
        base_url = server.url if args.api == "messages" else server.url + "/v1"
        print(
            f"sseio demo: mock API on {base_url}, model {args.model}, {args.api} API\n> {prompt}",
            file=sys.stderr,
            flush=True,
        )
        with _client(args, base_url, "demo") as client:
            return _run_chat(args, client, prompt)
