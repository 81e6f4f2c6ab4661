"""``sseio conformance serve``: the client tester from the command line.

With ``--client NAME`` (or ``all``) it runs in-process client adapters
against an ephemeral server on 127.0.0.1 and prints their scorecards; without
it, it serves the tests for an external client until Ctrl-C or
``--duration`` and judges what that client sent.  Serving, it prints a short
summary (how many tests of each kind, what can be judged from the server)
and one index URL: that page (HTML; ``/index.json`` as JSON, ``/index.txt``
one URL a line) lists every test URL.  With ``--json`` the summary goes to
standard error, so standard output holds the scorecard JSON alone.  Exit status 0 when every
test passed, 1 when one failed, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from .._core.errors import UsageError
from ..conformance._client_adapters import ADAPTER_LIBRARIES, Adapter, installed_adapters
from ..conformance._client_judging import ClientTest, Outcome, Scorecard
from ..conformance._client_tests import FRAGMENTATIONS, VectorLike, client_tests
from ..conformance._clients import (
    SERVE_CAPABILITIES,
    ConformanceServer,
    format_comparison,
    format_scorecard,
    run_client,
)

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``sseio conformance serve``."""
    parser.add_argument(
        "--client",
        action="append",
        metavar="NAME",
        help="run an in-process client against an ephemeral server and score it: "
        f"{', '.join(ADAPTER_LIBRARIES)} or 'all' (installed ones); repeatable "
        "(default: serve for an external client)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (serve mode)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to listen on (serve mode; 0: any free one)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="serve mode: stop after S seconds and print the scorecard (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--only", metavar="TEXT", help="run only the tests whose name contains TEXT (default: all)"
    )
    parser.add_argument("--no-vectors", action="store_true", help="behaviour tests only")
    parser.add_argument(
        "--fragmentation",
        action="append",
        choices=FRAGMENTATIONS,
        help="deliver vectors this way (repeatable; default: all three)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="tests run at once per client")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list passing vector tests too"
    )


def _selected_tests(args: argparse.Namespace) -> tuple[ClientTest, ...]:
    vectors: tuple[VectorLike, ...] | None = () if args.no_vectors else None
    tests = client_tests(vectors, fragmentations=args.fragmentation or FRAGMENTATIONS)
    if args.only:
        tests = tuple(test for test in tests if args.only in test.name)
    return tests


def _chosen_clients(requested: list[str]) -> dict[str, Adapter]:
    installed = installed_adapters()
    chosen: dict[str, Adapter] = {}
    for entry in requested:
        for name in (part.strip() for part in entry.split(",") if part.strip()):
            if name == "all":
                chosen.update(installed)
            elif name not in ADAPTER_LIBRARIES:
                raise UsageError(
                    f"unknown client {name!r}; expected one of {', '.join(ADAPTER_LIBRARIES)}, all"
                )
            elif name not in installed:
                raise UsageError(f"client {name!r} is not installed here")
            else:
                chosen[name] = installed[name]
    if not chosen:
        raise UsageError("no client chosen")
    return chosen


def run(args: argparse.Namespace) -> int:
    """Run ``sseio conformance serve``: 0 all pass, 1 a test failed, 2 usage error."""
    try:
        if args.concurrency < 1:
            raise UsageError(f"--concurrency must be >= 1, got {args.concurrency}")
        tests = _selected_tests(args)
        if not tests:
            raise UsageError(f"no test name contains {args.only!r}")
        if args.client:
            return _run_clients(args, _chosen_clients(args.client), tests)
        return _serve(args, tests)
    except UsageError as exc:
        print(f"sseio conformance serve: error: {exc}", file=sys.stderr)
        return 2


def _run_clients(
    args: argparse.Namespace, clients: dict[str, Adapter], tests: Sequence[ClientTest]
) -> int:
    cards = []
    for name, adapter in clients.items():
        if not args.json:
            print(f"running {len(tests)} tests on {name} ...", file=sys.stderr, flush=True)
        cards.append(run_client(adapter, tests, name=name, concurrency=args.concurrency))
    if args.json:
        print(json.dumps([card.as_json() for card in cards], indent=2))
    else:
        for card in cards:
            print(format_scorecard(card, verbose=args.verbose))
            print()
        if len(cards) > 1:
            print(format_comparison(cards))
    return 1 if any(card.failed for card in cards) else 0


def _serve(args: argparse.Namespace, tests: Sequence[ClientTest]) -> int:
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, got {args.duration}")
    try:
        server = ConformanceServer(tests, host=args.host, port=args.port)
        server.__enter__()
    except Exception as exc:  # cannot listen: an sseio TransportError
        print(f"sseio conformance serve: error: {exc}", file=sys.stderr)
        return 2
    try:
        _announce(server, args, sys.stderr if args.json else sys.stdout)
        _wait(args.duration)
    finally:
        server.__exit__(None, None, None)
    outcomes = []
    for test in tests:
        log = server.log(test)
        outcomes.append(Outcome(test, test.judge(log, None), None, len(log.requests)))
    card = Scorecard("external client", tuple(outcomes))
    if args.json:
        print(json.dumps([card.as_json()], indent=2))
    else:
        print(format_scorecard(card, verbose=args.verbose))
    return 1 if card.failed else 0


def _announce(server: ConformanceServer, args: argparse.Namespace, out: TextIO) -> None:
    """The summary and the index URL, printed once the server listens."""
    summary = server.summary()
    deliveries = ", ".join(summary["fragmentations"])
    vectors = (
        f", {summary['vector']} vector tests: {summary['vectors']} vectors delivered {deliveries}"
        if summary["vector"]
        else ""
    )
    index = f"{server.base_url}/"
    lines = [
        f"sseio conformance serve: {summary['tests']} client tests "
        f"({summary['behaviour']} behaviour tests{vectors})",
        f"index of every test URL: {index}  (JSON: {index}index.json, text: {index}index.txt)",
        *(f"  - {text}" for text in SERVE_CAPABILITIES),
        "point your client at each test URL, then press Ctrl-C for the scorecard"
        if args.duration is None
        else f"point your client at each test URL; the scorecard follows in {args.duration:g}s",
    ]
    print("\n".join(lines), file=out, flush=True)


def _wait(duration: float | None) -> None:
    try:
        if duration is None:
            while True:
                time.sleep(3600)
        time.sleep(duration)
    except KeyboardInterrupt:
        pass
