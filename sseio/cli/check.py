"""``sseio check URL``: check a live server's event stream from the command line.

It takes the request options every connecting command shares (``-X``, ``-H``,
``-d``), runs ``sseio.conformance.check`` and prints the report as text or, with
``--json``, as one JSON object.  Exit status 0 without errors, 1 with errors
(a failed connection included), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from .._core.errors import UsageError
from ..conformance._check import (
    DEFAULT_DURATION,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
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
        help=f"connect and read timeout in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION,
        metavar="S",
        help=f"stop reading after S seconds, an info, not an error (default {DEFAULT_DURATION:g})",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help="stop after N body bytes (default 64 MiB)",
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


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``sseio check`` with parsed ``args``; returns 0 (no errors), 1 (errors) or 2
    (bad arguments: the message goes to standard error)."""
    out = out or sys.stdout
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
        )
    except UsageError as exc:
        print(f"sseio check: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        print(format_report(report), file=out)
    return report.exit_code
