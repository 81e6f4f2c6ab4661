"""Request options shared by the commands that connect (``sseio events``, ``check``, ``chat``).

``-X METHOD``, ``-H 'Name: value'`` (repeatable) and ``-d BODY`` (``@FILE`` reads
a file, ``@-`` standard input) mean the same thing in every command: a body
makes the default method POST, and a body that is JSON gets ``Content-Type:
application/json`` unless a header says otherwise.  ``sseio chat`` takes
``-H`` alone (``add_header_argument``).

A header is checked as the command line is parsed: the name must be an HTTP
token and the value must hold no line break or NUL, else the command's usage
and a usage error (exit status 2).  The message never echoes a header's value,
nor the text of a header without a colon (``-H 'Authorization Bearer sk-…'``
would otherwise print the key).  A body that cannot be read raises
``UsageError`` (exit status 2).  ``explain`` words a reconnect's or retry's
reason for the lines ``sseio events`` and ``sseio chat`` print.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .._core.errors import UsageError

__all__ = [
    "add_header_argument",
    "add_request_arguments",
    "explain",
    "parse_header",
    "request_options",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\0]")


def add_header_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``-H 'Name: value'`` (repeatable) to a command."""
    parser.add_argument(
        "-H",
        "--header",
        action="append",
        type=parse_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="add a request header (repeatable)",
    )


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-X``, ``-H`` and ``-d`` to a command."""
    parser.add_argument(
        "-X",
        "--request",
        dest="method",
        default=None,
        help="HTTP method (default: POST with -d, else GET)",
    )
    add_header_argument(parser)
    parser.add_argument(
        "-d", "--data", default=None, help="request body (@FILE reads a file, @- stdin)"
    )


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` as ``(name, value)``, spaces around both removed; an
    ``argparse.ArgumentTypeError`` that shows no value for anything else."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon:
        raise argparse.ArgumentTypeError(
            "a header is 'Name: value'; this one has no colon (its text is not shown)"
        )
    if not _TOKEN.fullmatch(name):
        shown = f" {name!r}" if name and len(name) <= 64 and " " not in name else ""
        raise argparse.ArgumentTypeError(
            f"a header is 'Name: value'; the name{shown} is not a valid header name "
            "(letters, digits and !#$%&'*+-.^_`|~)"
        )
    if _BAD_VALUE.search(value):
        raise argparse.ArgumentTypeError(
            f"the value of header {name!r} holds a line break or NUL (the value is not shown)"
        )
    return name, value


def request_options(args: argparse.Namespace) -> tuple[str, list[tuple[str, str]], bytes | None]:
    """The method, headers and body the ``-X``, ``-H`` and ``-d`` options ask for."""
    body = _request_body(args.data)
    headers = list(args.header)
    given = {name.lower() for name, _ in headers}
    if body is not None and "content-type" not in given and _is_json(body):
        headers.append(("Content-Type", "application/json"))
    return args.method or ("POST" if body is not None else "GET"), headers, body


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


def explain(reason: str, error: BaseException | None) -> str:
    """A reconnect's or retry's short ``reason`` with its error's message, said once
    (``connect failed: cannot connect to …``; ``status 503 (server_error): …``)."""
    detail = str(error) if error is not None else ""
    if not detail or detail == reason:
        return reason
    if detail.startswith(reason):
        return detail
    return f"{reason}: {detail}"
