"""The ``sseio`` command line.

``sseio decode [FILE|-]`` reads an event stream from a file or standard input
and prints each item as soon as it is complete: one JSON object per line, or
with ``--raw`` the data of each event alone.  Input is read with unbuffered
reads, so items from a pipe appear as they arrive.

``sseio events URL`` connects to a server and prints its events live, in
event-stream form (JSON lines with ``--json``), reconnecting like an
EventSource.  Each reconnect is one line on standard error (its reason,
number and delay); when the policy gives up (``--max-attempts`` failures in
a row), the last error is printed with the number of reconnects made, and
the exit status is 1; a 204 answer to a reconnect ends it quietly (status 0).
With ``-v`` the log lines say the same, so the command's own lines are left
out; without it, no log line reaches standard error at all.

``sseio chat``, ``sseio serve`` and ``sseio demo`` (in ``sseio.cli.chat``) talk to
OpenAI-compatible chat APIs and run the embedded mock API; ``sseio conformance
parser|serve`` and ``sseio check`` (in ``sseio.cli.conformance``) test other
parsers, clients and live servers.

Errors go to standard error; the exit status is 0 on success, 1 for a stream
or connection error, 2 for a usage error and 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from .._core.decoder import SSEDecoder
from .._core.encoder import encode_comment
from .._core.errors import LimitExceeded, SSEError, UsageError
from .._core.events import Comment, Done, Item
from .._core.fields import DEFAULT_MAX_EVENT_SIZE
from .._core.lines import DEFAULT_MAX_LINE_SIZE
from .._http.observe import Hooks, ReconnectScheduled, ResponseReceived
from .._http.reconnect import Reconnect
from .._version import __version__
from .argparsing import CommandParser
from .args import add_request_arguments, explain, request_options
from .chat import add_chat_commands
from .conformance import add_conformance_commands

__all__ = ["main"]

_READ_SIZE = 64 * 1024
_RECONNECT = Reconnect()  # the defaults sseio events starts from


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="sseio", description="Server-Sent Events tools: decode, inspect and test streams."
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log connects, reconnects and retries to stderr (-vv: also each request and "
        "response head, credentials redacted)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    decode = commands.add_parser(
        "decode",
        help="decode an event stream from a file or stdin into JSON lines",
        description="Decode an event stream and print one JSON object per item as it completes: "
        '{"event", "data", "id", "retry"} for events, {"done": true} for the sentinel, '
        '{"comment": text} for comments (with --comments).',
    )
    decode.add_argument("file", nargs="?", default="-", help="input file, or - for stdin")
    decode.add_argument("--raw", action="store_true", help="print only the data of each event")
    decode.add_argument("--comments", action="store_true", help="also print comment lines")
    decode.add_argument(
        "--done-sentinel",
        default="[DONE]",
        metavar="TEXT",
        help="data that marks the end of stream",
    )
    decode.add_argument(
        "--no-done", action="store_true", help="treat [DONE] as ordinary data, not a sentinel"
    )
    decode.add_argument(
        "--max-line-size",
        type=int,
        default=DEFAULT_MAX_LINE_SIZE,
        metavar="N",
        help=f"longest line, in bytes (default: {_in_mib(DEFAULT_MAX_LINE_SIZE)})",
    )
    decode.add_argument(
        "--max-event-size",
        type=int,
        default=DEFAULT_MAX_EVENT_SIZE,
        metavar="N",
        help=f"largest event, in bytes (default: {_in_mib(DEFAULT_MAX_EVENT_SIZE)})",
    )
    decode.set_defaults(run=_decode)

    events = commands.add_parser(
        "events",
        help="connect to a server and print its events live",
        description="Connect to URL and print each event as it arrives, reconnecting like an "
        "EventSource (with Last-Event-ID) when the stream ends or breaks.  Each reconnect "
        "is reported on stderr with its reason, number and delay; after --max-attempts "
        "failures in a row the command gives up (exit status 1).  A 204 ends it quietly.",
    )
    events.add_argument("url", help="the stream's URL (http:// or https://)")
    add_request_arguments(events)
    events.add_argument("--json", action="store_true", help="print JSON lines")
    events.add_argument("--comments", action="store_true", help="also print comments")
    events.add_argument(
        "--last-event-id",
        default="",
        metavar="ID",
        help="Last-Event-ID to send on the first request (default: none)",
    )
    events.add_argument("--no-reconnect", action="store_true", help="stop when the stream ends")
    events.add_argument(
        "--reconnect-delay",
        type=float,
        default=_RECONNECT.delay,
        metavar="S",
        help="first wait before a reconnect, until the server sends retry: (doubles after "
        f"each failure, up to {_RECONNECT.max_delay:g} s)",
    )
    events.add_argument(
        "--max-attempts",
        type=int,
        default=_RECONNECT.max_attempts,
        metavar="N",
        help="give up after N failed reconnects in a row",
    )
    events.add_argument("--no-done", action="store_true", help="[DONE] is data, not the end")
    events.add_argument("--timeout", type=float, default=60.0, metavar="S", help="read timeout")
    events.add_argument(
        "--event-timeout",
        type=float,
        default=None,
        metavar="S",
        help="max seconds between events (default: no limit)",
    )
    events.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify TLS certificates"
    )
    events.set_defaults(run=_events)
    add_chat_commands(commands)
    add_conformance_commands(commands)
    return parser


def _in_mib(size: int) -> str:
    return f"{size}, {size / 2**20:g} MiB"


def _version() -> str:
    return f"sseio {__version__}"


def _record(item: Item) -> dict[str, Any]:
    if isinstance(item, Done):
        return {"done": True}
    if isinstance(item, Comment):
        return {"comment": item.text}
    return {"event": item.event, "data": item.data, "id": item.id, "retry": item.retry}


def _write_items(items: Sequence[Item], raw: bool, out: BinaryIO) -> None:
    if raw:
        lines = [item.data for item in items if not isinstance(item, (Done, Comment))]
    else:
        lines = [json.dumps(_record(item), ensure_ascii=False) for item in items]
    if lines:
        out.write(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
        out.flush()


def _open_input(name: str) -> BinaryIO:
    """Unbuffered binary input, so each read returns what has arrived."""
    if name == "-":
        return open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    return open(name, "rb", buffering=0)


def _decode(args: argparse.Namespace) -> int:
    decoder: SSEDecoder[Any] = SSEDecoder(
        done_sentinel=None if args.no_done else args.done_sentinel,
        max_line_size=args.max_line_size,
        max_event_size=args.max_event_size,
        comments=args.comments,
    )
    out = sys.stdout.buffer
    try:
        source = _open_input(args.file)
    except OSError as exc:
        print(f"sseio: cannot open {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    with source:
        while chunk := source.read(_READ_SIZE):
            try:
                items = decoder.feed(chunk)
            except LimitExceeded as exc:
                _write_items(exc.events, args.raw, out)
                raise
            _write_items(items, args.raw, out)
    decoder.close()
    return 0


def _events(args: argparse.Namespace) -> int:
    from .._http.reconnect import NO_RECONNECT, Timeout
    from .._io.sync_client import connect_sse

    method, headers, body = request_options(args)
    if args.max_attempts < 0 or not args.reconnect_delay >= 0:
        raise UsageError("--max-attempts and --reconnect-delay must be >= 0")
    policy = (
        NO_RECONNECT
        if args.no_reconnect
        else Reconnect(
            delay=args.reconnect_delay,
            max_delay=max(_RECONNECT.max_delay, args.reconnect_delay),
            max_attempts=args.max_attempts,
        )
    )
    report = _ReconnectReport(shown=not args.verbose)  # -v: the log says it already
    out = sys.stdout.buffer
    try:
        with connect_sse(
            args.url,
            method=method,
            headers=headers,
            content=body,
            timeout=Timeout(read=args.timeout, event=args.event_timeout),
            reconnect=policy,
            verify=not args.insecure,
            last_event_id=args.last_event_id,
            comments=args.comments,
            done_sentinel=None if args.no_done else "[DONE]",
            hooks=Hooks(reconnect_scheduled=report.scheduled, response_received=report.received),
        ) as source:
            for item in source:
                if args.json:
                    out.write(json.dumps(_record(item), ensure_ascii=False).encode() + b"\n")
                elif isinstance(item, Comment):
                    out.write(encode_comment(item.text))
                else:
                    out.write(item.encode())
                out.flush()
            if source.done and args.json:
                out.write(b'{"done": true}\n')
                out.flush()
            gave_up = not source.done and report.reconnects and report.last_status != 204
    except SSEError as exc:
        if not report.reconnects or isinstance(exc, UsageError):
            raise
        report.give_up(str(exc))
        return 1
    if gave_up:  # the body kept ending without an event: no error, but no stream either
        report.give_up(report.last_reason)
        return 1
    return 0


@dataclass
class _ReconnectReport:
    """The ``reconnect_scheduled`` hook of ``sseio events``: one stderr line per reconnect."""

    shown: bool
    reconnects: int = 0
    last_reason: str = ""
    last_status: int | None = None

    def received(self, response: ResponseReceived) -> None:
        self.last_status = response.status_code

    def scheduled(self, scheduled: ReconnectScheduled) -> None:
        self.reconnects = scheduled.attempt
        self.last_reason = scheduled.reason
        if not self.shown:
            return
        why = explain(scheduled.reason, scheduled.error)
        print(
            f"sseio events: {why}; reconnecting in {scheduled.delay:.2f}s "
            f"(attempt {scheduled.attempt})",
            file=sys.stderr,
            flush=True,
        )

    def give_up(self, why: str) -> None:
        count = f"{self.reconnects} reconnect{'' if self.reconnects == 1 else 's'}"
        print(f"sseio: error: gave up after {count}: {why}", file=sys.stderr, flush=True)


@contextmanager
def _log_to_stderr(verbosity: int) -> Iterator[None]:
    """While a command runs, show sseio's log lines (loggers under ``sseio``) on
    standard error: reconnects and retries with ``-v``, every head with ``-vv``."""
    if not verbosity:
        # Without -v the commands report for themselves; the package's NullHandler
        # keeps log lines away from logging's last-resort handler on stderr.
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sseio: %(message)s"))
    logger = logging.getLogger("sseio")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with _log_to_stderr(args.verbose):
            status: int = args.run(args)
    except UsageError as exc:
        print(f"sseio: error: {exc}", file=sys.stderr)
        return 2
    except SSEError as exc:
        print(f"sseio: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``sseio decode | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status
