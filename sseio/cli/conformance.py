"""The conformance side of the command line: ``sseio conformance parser|serve`` and ``sseio check``.

``conformance parser MODULE:FUNCTION`` scores any parser against the shipped
test vectors; ``conformance serve`` runs the adversarial test server other
clients connect to; ``check URL`` checks a live server's stream.  Each
command's options and work live in its own module (``conformance_parser``,
``conformance_serve``, ``check``); this one only wires them in, importing
each when its command is parsed or run, so ``sseio --help`` stays quick.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_conformance_commands"]


def add_conformance_commands(commands: Any) -> None:
    """Register ``conformance`` (with ``parser`` and ``serve``) and ``check``."""
    conformance = commands.add_parser(
        "conformance",
        help="test other SSE parsers and clients against the shipped vectors",
        description="Score SSE parsers and clients against sseio's conformance vectors.",
    )
    tools = conformance.add_subparsers(dest="tool", required=True, metavar="TOOL")
    parser = tools.add_parser(
        "parser",
        help="score a parser: sseio conformance parser MODULE:FUNCTION",
        description="Feed every vector to a parser (whole, split at every point, one byte at "
        "a time) and print a scorecard with a diff per failure.",
    )
    from .conformance_parser import add_arguments as parser_arguments

    parser_arguments(parser)
    parser.set_defaults(run=_run_parser)

    serve = tools.add_parser(
        "serve",
        help="run the adversarial test server for other clients",
        description="Serve every vector and client behaviour test over HTTP, record what "
        "each client did and print a scorecard.",
    )
    from .conformance_serve import add_arguments as serve_arguments

    serve_arguments(serve)
    serve.set_defaults(run=_run_serve)

    check = commands.add_parser(
        "check",
        help="check a live server's event stream",
        description="Connect to URL and report what in its stream breaks or risks breaking "
        "clients and proxies, as errors and warnings (exit status 1 on errors).",
    )
    from .check import add_arguments as check_arguments

    check_arguments(check)
    check.set_defaults(run=_run_check)


def _run_parser(args: argparse.Namespace) -> int:
    from .conformance_parser import run

    return run(args)


def _run_serve(args: argparse.Namespace) -> int:
    from .conformance_serve import run

    return run(args)


def _run_check(args: argparse.Namespace) -> int:
    from .check import run

    return run(args)
