"""``sseio check URL``: check a live server's event stream from the command line.

It takes the request options every connecting command shares (``-X``, ``-H``,
``-d``), runs ``sseio.conformance.check`` and prints the report as text or, with
``--json``, as one JSON object.  While it runs, and only when standard error is
a terminal, one status line there shows the progress (stage, events, bytes,
elapsed seconds), rewritten in place and erased before the report; when
standard error is not a terminal nothing extra is written.  Exit status 0
without errors, 1 with errors (a failed connection included), 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TextIO

from .._core.errors import UsageError
from ..conformance._check import (
    DEFAULT_DURATION,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    Progress,
    check,
    format_report,
)
from .args import add_request_arguments, request_options

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``sseio check``."""
    parser.add_argument("url", help="the stream's URL (http:// or https://)")
    add_request_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="connect and read timeout in seconds",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION,
        metavar="S",
        help="stop reading after S seconds, an info, not an error",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help="stop after N body bytes (default: 64 MiB)",
    )
    openai = parser.add_mutually_exclusive_group()
    openai.add_argument(
        "--openai",
        dest="openai",
        action="store_const",
        const=True,
        default=None,
        help="apply the OpenAI-style rules ([DONE], finish_reason, JSON data); default: "
        "when the data holds chat.completion.chunk objects",
    )
    openai.add_argument(
        "--no-openai", dest="openai", action="store_const", const=False, help="never apply them"
    )
    parser.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify TLS certificates"
    )


class ProgressLine:
    """The status line of a running check, on a terminal: rewritten in place."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self.shown = False

    def update(self, progress: Progress) -> None:
        events = f"{progress.events} event{'' if progress.events == 1 else 's'}"
        line = (
            f"sseio check: {progress.stage} · {events} · {_size(progress.bytes)}"
            f" · {progress.elapsed:.1f}s"
        )
        self.terminal.write(f"\r\x1b[K{line}")
        self.terminal.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.terminal.write("\r\x1b[K")
            self.terminal.flush()
            self.shown = False


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``sseio check`` with parsed ``args``; returns 0 (no errors), 1 (errors) or 2
    (bad arguments: the message goes to standard error)."""
    out = out or sys.stdout
    err = err or sys.stderr
    line = ProgressLine(err) if err.isatty() else None
    progress: Callable[[Progress], None] | None = line.update if line is not None else None
    try:
        method, headers, body = request_options(args)
        report = check(
            args.url,
            method=method,
            headers=headers,
            body=body,
            timeout=args.timeout,
            duration=args.duration,
            max_bytes=args.max_bytes,
            verify=not args.insecure,
            openai=args.openai,
            progress=progress,
        )
    except UsageError as exc:
        print(f"sseio check: error: {exc}", file=err)
        return 2
    finally:
        if line is not None:
            line.clear()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        print(format_report(report), file=out)
    return report.exit_code
