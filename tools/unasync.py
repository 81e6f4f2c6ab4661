"""Generate sseio's blocking clients from their async twins, or check they are current.

The event-stream client and the chat client are each written once, as async
code over ``sseio._io.anyio_backend``.  Their blocking twins are this script's
output: the same code with ``async``/``await`` removed, async names swapped
for blocking ones (``AsyncClient`` -> ``Client``, ``aclose`` -> ``close``,
``anyio_backend`` -> ``socket_backend``, ...) and a module docstring that
points back to the source.  Nothing else differs, so the two cannot drift.

    python tools/unasync.py           # rewrite the generated files
    python tools/unasync.py --check   # exit 1, with a diff, if one is out of date

The substitutions are whole words (or the fixed prefixes ``async def``,
``async with``, ``async for`` and ``await``); docstrings and comments in the
async sources are written so that they read right in both files.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# async source -> (generated file, first line of the generated module docstring)
TWINS = {
    "sseio/_io/async_client.py": (
        "sseio/_io/sync_client.py",
        "The blocking event-stream client: ``connect_sse``, ``EventSource`` and ``Client``.",
    ),
    "sseio/chat/_async.py": (
        "sseio/chat/_sync.py",
        "The blocking chat client: ``ChatClient`` and ``ChatStream``.",
    ),
    "sseio/httpx/_async.py": (
        "sseio/httpx/_sync.py",
        "Event streams over an ``httpx.Client``: ``connect_sse``, ``EventSource``, ``Client``.",
    ),
    "sseio/chat/_transport_async.py": (
        "sseio/chat/_transport_sync.py",
        "What a blocking chat client streams over: sseio's own ``Client``, or the caller's.",
    ),
    "sseio/chat/_streams_async.py": (
        "sseio/chat/_streams_sync.py",
        "The blocking Responses and Messages clients: ``ResponsesClient``, ``MessagesClient``.",
    ),
}

NAMES = {
    "AsyncChatClient": "ChatClient",
    "AsyncChatStream": "ChatStream",
    "AsyncClient": "Client",
    "AsyncEventSource": "EventSource",
    "AsyncGenerator": "Generator",
    "AsyncIterator": "Iterator",
    "AsyncMessagesClient": "MessagesClient",
    "AsyncMessagesStream": "MessagesStream",
    "AsyncResponsesClient": "ResponsesClient",
    "AsyncResponsesStream": "ResponsesStream",
    "_AsyncShapedClient": "_ShapedClient",
    "_AsyncShapedStream": "_ShapedStream",
    "StopAsyncIteration": "StopIteration",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
    "aconnect_sse": "connect_sse",
    "aiter_bytes": "iter_bytes",
    "anyio_backend": "socket_backend",
    "async_client": "sync_client",
    "_transport_async": "_transport_sync",
    "asynccontextmanager": "contextmanager",
}
_NAME = re.compile(r"\b(" + "|".join(map(re.escape, NAMES)) + r")\b")
# AsyncGenerator[Y, None] takes one parameter fewer than Generator[Y, None, None].
_ASYNC_GENERATOR = re.compile(r"\bAsyncGenerator\[(.+?), None\]")
_KEYWORDS = re.compile(r"\basync (?=def |with |for )|\bawait ")


def generate(source: str, origin: str, title: str) -> str:
    """The blocking twin of ``source`` (the text of the async module at ``origin``)."""
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    if docstring is None:
        raise SystemExit(f"{origin} needs a module docstring")
    header = (
        f'"""{title}\n\n'
        f"Generated from ``{origin}`` by ``tools/unasync.py``: do not edit it; edit the\n"
        "async module and run ``python tools/unasync.py``.  The async module's docstring\n"
        "says what this code does and guarantees; here it runs on blocking sockets.\n"
        '"""\n'
    )
    body = source.split('"""', 2)[2].lstrip("\n")
    body = _ASYNC_GENERATOR.sub(r"Generator[\1, None, None]", body)
    body = _KEYWORDS.sub("", body)
    body = _NAME.sub(lambda match: NAMES[match.group(1)], body)
    return header + "\n" + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    args = parser.parse_args(argv)
    stale = 0
    for origin, (target, title) in TWINS.items():
        wanted = generate((ROOT / origin).read_text(encoding="utf-8"), origin, title)
        path = ROOT / target
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == wanted:
            continue
        if args.check:
            stale += 1
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                wanted.splitlines(keepends=True),
                fromfile=f"{target} (on disk)",
                tofile=f"{target} (generated from {origin})",
            )
            sys.stdout.writelines(diff)
            print(f"{target} is out of date: run python tools/unasync.py", file=sys.stderr)
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {target}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
