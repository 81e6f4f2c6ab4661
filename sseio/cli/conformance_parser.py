"""``sseio conformance parser``: score any SSE parser against the shipped vectors.

``load_target`` finds the parsers it scores: a shipped adapter name
(``sseio.conformance._parser_adapters``), ``MODULE:FUNCTION`` or
``path/to/file.py:FUNCTION``.  A bad command line (an unknown parser, tag or
vector, an import that fails) is a ``UsageProblem``: one message and exit
status 2; otherwise the status is 0 when every parser passed every vector and
1 when one failed.  One parser gives its scorecard (text or ``--json``);
several give a comparison table (text or ``--markdown``) and their failures.
The scoring itself is ``sseio.conformance.score_parser``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..conformance._parser_run import DEFAULT_MAX_SPLITS, DEFAULT_TIMEOUT, Adapter, describe
from ..conformance._scorecard import (
    Scorecard,
    compare,
    compare_markdown,
    failure_line,
    render_failure,
    score_parser,
)
from ..conformance._vectors import TAGS, Vector, load_vectors

__all__ = ["UsageProblem", "add_arguments", "load_target", "run"]


class UsageProblem(Exception):
    """A bad command line: an unknown parser, tag or vector (exit status 2)."""


def load_target(target: str) -> tuple[str, str, Adapter]:
    """Resolve a shipped adapter name, ``MODULE:FUNCTION`` or ``path/to/file.py:FUNCTION``.

    Returns ``(name, description, adapter)``; raises ``UsageProblem``.
    """
    from ..conformance._parser_adapters import ADAPTERS, AdapterUnavailable, load_adapter

    if target in ADAPTERS:
        try:
            adapter = load_adapter(target)
        except AdapterUnavailable as exc:
            raise UsageProblem(str(exc)) from exc
        return target, ADAPTERS[target].path, adapter
    module_name, colon, function_name = target.rpartition(":")
    if not colon or not module_name or not function_name:
        raise UsageProblem(
            f"unknown parser {target!r}: give MODULE:FUNCTION, path/to/file.py:FUNCTION "
            f"or one of {', '.join(ADAPTERS)}"
        )
    module = _import(module_name)
    found: Any = module
    for part in function_name.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise UsageProblem(f"{module_name} has no attribute {function_name!r}") from None
    if not callable(found):
        raise UsageProblem(f"{target} is not callable")
    return target, "", found


def _import(module_name: str) -> Any:
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise UsageProblem(f"no such file: {module_name}")
        spec = importlib.util.spec_from_file_location(f"_sseio_adapter_{path.stem}", path)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
            raise UsageProblem(f"cannot import {module_name}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise UsageProblem(f"importing {module_name} failed: {describe(exc)}") from exc
        return module
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise UsageProblem(f"cannot import {module_name}: {describe(exc)}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``sseio conformance parser``."""
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="PARSER",
        help="a shipped adapter name (sseio, httpx-sse, openai, sseclient-py, launchdarkly, "
        "aiohttp-sse-client2), MODULE:FUNCTION or path/to/file.py:FUNCTION, where FUNCTION "
        "takes an iterable of bytes chunks and returns the events",
    )
    parser.add_argument(
        "--all",
        "--peers",
        dest="all",
        action="store_true",
        help="score every shipped adapter whose library is installed and compare them",
    )
    parser.add_argument(
        "--tags",
        action="append",
        default=[],
        metavar="TAG[,TAG]",
        help=f"only vectors with one of these tags ({', '.join(TAGS)})",
    )
    parser.add_argument(
        "--vector",
        action="append",
        default=[],
        metavar="NAME",
        help="only this vector (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    parser.add_argument(
        "--markdown", action="store_true", help="print the comparison table as Markdown"
    )
    parser.add_argument(
        "--details", action="store_true", help="show full diffs when comparing several parsers"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time allowed for one run of one vector (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-splits",
        type=int,
        default=DEFAULT_MAX_SPLITS,
        metavar="N",
        help=f"split points tried per vector at most (default {DEFAULT_MAX_SPLITS})",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the vectors and the shipped adapters, then exit"
    )


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``sseio conformance parser``: 0 all passed, 1 failures, 2 usage error."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        vectors = _selected_vectors(args)
        if args.list:
            _print_list(vectors, out)
            return 0
        targets = _targets(args)
    except UsageProblem as exc:
        print(f"sseio conformance parser: {exc}", file=err)
        return 2
    if args.timeout <= 0 or args.max_splits < 0:
        print("sseio conformance parser: --timeout must be > 0 and --max-splits >= 0", file=err)
        return 2
    cards = []
    for name, description, adapter in targets:
        started = time.perf_counter()
        card = score_parser(
            adapter,
            name=name,
            description=description,
            vectors=vectors,
            timeout=args.timeout,
            max_splits=args.max_splits,
        )
        cards.append(card)
        print(
            f"{name}: {card.passed}/{card.total} in {time.perf_counter() - started:.1f} s",
            file=err,
        )
    _report(cards, args, out)
    return 0 if all(card.ok for card in cards) else 1


def _selected_vectors(args: argparse.Namespace) -> tuple[Vector, ...]:
    tags = [t.strip() for group in args.tags for t in group.split(",") if t.strip()]
    try:
        vectors = load_vectors(tags=tags or None)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc
    if args.vector:
        known = {v.name for v in load_vectors()}
        unknown = [n for n in args.vector if n not in known]
        if unknown:
            raise UsageProblem(f"unknown vector {', '.join(unknown)} (see --list)")
        vectors = tuple(v for v in vectors if v.name in args.vector)
    if not vectors:
        raise UsageProblem("no vector matches the filters")
    return vectors


def _targets(args: argparse.Namespace) -> list[tuple[str, str, Adapter]]:
    from ..conformance._parser_adapters import installed_adapters

    targets = [load_target(t) for t in args.targets]
    if args.all:
        named = {name for name, _, _ in targets}
        targets += [
            (spec.name, spec.path, adapter)
            for spec, adapter in installed_adapters()
            if spec.name not in named
        ]
    if not targets:
        raise UsageProblem("name a parser (MODULE:FUNCTION or an adapter name) or use --all")
    return targets


def _print_list(vectors: Sequence[Vector], out: TextIO) -> None:
    from ..conformance._parser_adapters import ADAPTERS, AdapterUnavailable, load_adapter

    for vector in vectors:
        print(f"{vector.name:<40} {','.join(vector.tags):<28} {vector.rule}", file=out)
    print("", file=out)
    for name, spec in ADAPTERS.items():
        try:
            load_adapter(name)
            state = "installed"
        except AdapterUnavailable:
            state = "not installed"
        print(f"adapter {name:<22} {state:<14} {spec.path}", file=out)


def _report(cards: Sequence[Scorecard], args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        document: dict[str, Any] = (
            cards[0].to_dict() if len(cards) == 1 else {"parsers": [c.to_dict() for c in cards]}
        )
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    if len(cards) == 1 and not args.markdown:
        print(cards[0].render(), file=out)
        return
    print(compare_markdown(cards) if args.markdown else compare(cards), file=out)
    for card in cards:
        if card.ok:
            continue
        print("", file=out)
        print(f"{card.parser}: {card.total - card.passed} vector(s) failed", file=out)
        for result in card.failures():
            print(render_failure(result) if args.details else failure_line(result), file=out)
