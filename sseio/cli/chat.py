"""The chat side of the command line: ``sseio chat``, ``sseio serve`` and ``sseio demo``.

``chat`` streams an answer from an OpenAI-compatible API and prints it as the
tokens arrive: reasoning dimmed on a terminal (marked ``[thinking] … [/thinking]``
elsewhere, or hidden with ``--hide-think``), and a stats line on
standard error (time to first token, tokens per second, finish reason).
``serve`` runs the embedded mock API until interrupted; ``demo`` starts it on
a free loopback port in this process and chats with it over a real socket.
Ctrl-C stops a chat cleanly: the connection is closed, the stats line still
printed, and the exit status is 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from .._core.errors import UsageError
from .._http.reconnect import Timeout
from ..chat._retry import NO_RETRY, ChatRetry
from ..chat._sync import ChatClient
from ..chat._types import ChatChunk

__all__ = ["add_chat_commands"]

DEMO_PROMPT = "Why do streaming chat APIs use Server-Sent Events?"
DEMO_MODEL = "Dhanishtha-2.0-preview"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"
_PLAIN_START = "[thinking] "  # marks reasoning where there is no terminal to dim it
_PLAIN_END = " [/thinking]\n"


def add_chat_commands(commands: Any) -> None:
    """Register ``chat``, ``serve`` and ``demo`` on the ``sseio`` sub-command parser."""
    chat = commands.add_parser(
        "chat",
        help="stream a chat answer from an OpenAI-compatible API",
        description="Send PROMPT to an OpenAI-compatible chat API and print the answer live. "
        "The base URL and key default to SSEIO_BASE_URL / OPENAI_BASE_URL and "
        "SSEIO_API_KEY / OPENAI_API_KEY.",
    )
    chat.add_argument("prompt")
    chat.add_argument("--base-url", default=None, metavar="URL")
    chat.add_argument("--model", default=os.environ.get("SSEIO_MODEL", "gpt-4o-mini"))
    _chat_options(chat)
    chat.add_argument("--api-key", default=None, metavar="KEY")
    chat.set_defaults(run=_chat)

    serve = commands.add_parser(
        "serve",
        help="run the mock OpenAI-compatible API server",
        description="Serve the embedded mock chat API (POST /v1/chat/completions, "
        "GET /v1/models) until interrupted.  Fault modes are chosen per request with "
        "the X-Mock-Fault header.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _mock_options(serve)
    serve.add_argument("--api-key", default=None, metavar="KEY", help="require this bearer key")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo",
        help="chat with the embedded mock API over a real socket",
        description="Start the mock API on a free loopback port in this process and stream "
        "a chat answer from it with sseio's own client.",
    )
    demo.add_argument("prompt", nargs="?", default=DEMO_PROMPT)
    demo.add_argument("--model", default=DEMO_MODEL)
    _chat_options(demo)
    _mock_options(demo, token_rate=60.0)
    demo.set_defaults(run=_demo)


def _chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--system", default=None, metavar="TEXT", help="system message")
    parser.add_argument("--temperature", type=float, default=None, metavar="T")
    parser.add_argument("--max-tokens", type=int, default=None, metavar="N")
    think = parser.add_mutually_exclusive_group()
    think.add_argument(
        "--hide-think",
        dest="think",
        action="store_const",
        const=False,
        help="ask the server to leave reasoning out, and hide any that comes",
    )
    think.add_argument(
        "--show-think", dest="think", action="store_const", const=True, help="print reasoning"
    )
    parser.add_argument("--json", action="store_true", help="print each chunk as a JSON line")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="S", help="read timeout")
    parser.add_argument(
        "--event-timeout", type=float, default=None, metavar="S", help="max seconds between events"
    )
    parser.add_argument("--no-retry", action="store_true", help="do not retry failed requests")


def _mock_options(parser: argparse.ArgumentParser, token_rate: float = 0.0) -> None:
    parser.add_argument(
        "--token-rate",
        type=float,
        default=token_rate,
        metavar="N",
        help=f"tokens per second per stream, 0 for as fast as possible (default {token_rate:g})",
    )
    parser.add_argument("--first-token-delay", type=float, default=0.0, metavar="S")
    parser.add_argument("--keepalive", type=float, default=15.0, metavar="S")
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
class _Printer:
    """Writes answer and reasoning text as it arrives, and keeps the numbers for the stats."""

    out: TextIO
    show_think: bool
    color: bool
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    pieces: int = 0
    in_reasoning: bool = False
    finish_reason: str | None = None
    completion_tokens: int | None = None

    def chunk(self, chunk: ChatChunk) -> None:
        if chunk.usage is not None and chunk.usage.completion_tokens is not None:
            self.completion_tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.reasoning:
                self._text(delta.reasoning, reasoning=True)
            if delta.content:
                self._text(delta.content, reasoning=False)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason

    def _text(self, text: str, *, reasoning: bool) -> None:
        if self.first_token is None:
            self.first_token = time.monotonic()
        self.pieces += 1
        if reasoning and not self.show_think:
            return
        if reasoning != self.in_reasoning:
            if self.color:
                self.out.write(_DIM if reasoning else _RESET)
            else:
                self.out.write(_PLAIN_START if reasoning else _PLAIN_END)
        self.in_reasoning = reasoning
        self.out.write(text)
        self.out.flush()

    def end(self) -> None:
        if self.in_reasoning:
            self.out.write(_RESET if self.color else _PLAIN_END)
        self.out.write("\n")
        self.out.flush()

    def stats(self, note: str | None = None) -> str:
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
                f"{tokens} tokens",
                rate,
            ]
        parts.append(f"finish {self.finish_reason or 'none'}")
        if note:
            parts.append(note)
        return "[" + " · ".join(parts) + "]"


def _run_chat(args: argparse.Namespace, client: ChatClient) -> int:
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    show_think = args.think if args.think is not None else True
    out = sys.stdout
    color = out.isatty() and not os.environ.get("NO_COLOR")
    printer = _Printer(out, show_think, color)
    note = None
    try:
        with client.stream(
            model=args.model,
            messages=messages,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            hide_think=True if args.think is False else None,
            timeout=Timeout(read=args.timeout, event=args.event_timeout),
            retry=NO_RETRY if args.no_retry else ChatRetry(),
        ) as stream:
            for chunk in stream:
                if args.json:
                    out.write(json.dumps(chunk.raw, ensure_ascii=False) + "\n")
                    out.flush()
                    printer.finish_reason = _finish(chunk) or printer.finish_reason
                else:
                    printer.chunk(chunk)
    except KeyboardInterrupt:
        note = "interrupted"
        raise
    finally:
        if not args.json:
            printer.end()
        print(printer.stats(note), file=sys.stderr, flush=True)
    return 0


def _finish(chunk: ChatChunk) -> str | None:
    return next((c.finish_reason for c in chunk.choices if c.finish_reason is not None), None)


def _chat(args: argparse.Namespace) -> int:
    with ChatClient(base_url=args.base_url, api_key=args.api_key) as client:
        return _run_chat(args, client)


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

    anyio.run(serve)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ..testing._mock import mock_in_thread

    if args.think is None:
        args.think = True
    with mock_in_thread(_mock_config(args)) as (server, _api):
        base_url = server.url + "/v1"
        print(
            f"sseio demo: mock API on {base_url}, model {args.model}\n> {args.prompt}",
            file=sys.stderr,
            flush=True,
        )
        with ChatClient(base_url=base_url, api_key="demo") as client:
            return _run_chat(args, client)
