"""Request options shared by the commands that connect (``sseio events``, ``sseio check``).

``-X METHOD``, ``-H 'Name: value'`` (repeatable) and ``-d BODY`` (``@FILE`` reads
a file, ``@-`` standard input) mean the same thing in every command: a body
makes the default method POST, and a body that is JSON gets ``Content-Type:
application/json`` unless a header says otherwise.  Bad values raise
``UsageError`` (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .._core.errors import UsageError

__all__ = ["add_request_arguments", "request_options"]


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-X``, ``-H`` and ``-d`` to a command."""
    parser.add_argument("-X", "--request", dest="method", default=None, help="HTTP method")
    parser.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="add a header"
    )
    parser.add_argument(
        "-d", "--data", default=None, help="request body (@FILE reads a file, @- stdin)"
    )


def request_options(args: argparse.Namespace) -> tuple[str, list[tuple[str, str]], bytes | None]:
    """The method, headers and body the ``-X``, ``-H`` and ``-d`` options ask for."""
    body = _request_body(args.data)
    headers = [_parse_header(text) for text in args.header]
    given = {name.lower() for name, _ in headers}
    if body is not None and "content-type" not in given and _is_json(body):
        headers.append(("Content-Type", "application/json"))
    return args.method or ("POST" if body is not None else "GET"), headers, body


def _parse_header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise UsageError(f"a header is 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _request_body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        try:
            return Path(data[1:]).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {data[1:]}: {exc.strerror}") from exc
    return data.encode()


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
