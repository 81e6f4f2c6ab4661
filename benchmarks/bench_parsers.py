"""Parser benchmarks: sseio against other Python SSE parsers, same bytes, one process.

Run ``python benchmarks/bench_parsers.py [--quick] [--json FILE] [--markdown]``.

Every parser is fed the same in-memory byte chunks (no sockets, no threads).
Before anything is timed, each parser's output on each workload is compared
with the expected sequence of (event type, data, last event ID) built together
with the bytes; a parser that differs is reported as WRONG with the first
difference, one that raises is reported as CRASH, and neither is timed.  The
``[DONE]`` sentinel counts as one item whichever way a parser reports it
(sseio's ``Done``, or an ordinary event whose data is ``[DONE]``).

Workloads (deterministic: fixed seeds, fixed timestamps):

``chat-16k``
    An OpenAI chat-completion chunk stream, about 4 MB: a role delta first,
    then ``chat.completion.chunk`` objects each carrying a few words of
    content (150-250 bytes per event, some non-ASCII text so multi-byte UTF-8
    characters straddle reads), a ``finish_reason`` chunk, then
    ``data: [DONE]``.  LF line ends, delivered in 16 KiB reads.
``chat-per-event``
    The same bytes, one read per event (each read ends with its blank line),
    which is what a server flushing per token looks like.
``big-lines``
    Six events of ``event: image`` / ``id: img-N`` / one 1 MiB ``data:`` line
    of base64 text, delivered in 64 KiB reads: the cost of long lines that
    span many reads.
``multiline-crlf``
    About 4 MB of ``event: metrics`` / ``id: N`` events whose data is a JSON
    document pretty-printed over 50 short ``data:`` lines (two-space indented,
    so the value keeps its leading spaces after the one the rules remove), CRLF
    line ends, 16 KiB reads (some reads end between a CR and its LF).
``chat-7b``
    The ``chat-16k`` bytes in 7-byte reads (about 570k reads): per-read
    overhead and partial-line handling dominate.

Parsers and the path each is driven through:

``sseio feed``        ``SSEDecoder().feed(chunk)`` per chunk (the reference row).
``sseio iter_sse``    ``sseio.iter_sse(chunks)``: the same decoder behind a generator.
``httpx-sse``         ``httpx_sse.connect_sse`` on an ``httpx.Client`` whose transport
                      answers with an ``httpx.Response`` streaming the chunks, so it
                      goes through httpx's ``iter_bytes``/``iter_text`` as in real use;
                      one request per timed run.
``openai``            ``openai._streaming.SSEDecoder().iter_bytes(iter(chunks))``.
``sseclient-py``      ``sseclient.SSEClient(iter(chunks)).events()``.
``launchdarkly``      ``ld_eventsource.reader._SSEReader(_BufferedLineReader
                      .lines_from(chunks)).events_and_comments()``, Event objects only.
``aiohttp-sse-client2``  ``aiohttp_sse_client2.client.EventSource`` iterated with
                      ``async for``; its response is a stand-in whose ``content`` is a
                      real ``aiohttp.StreamReader`` (with the buffer limit a default
                      ``ClientSession`` gives a response) fed every chunk, then EOF.
                      At end of body the client calls its ``on_error`` hook before
                      sleeping to reconnect; the hook raises to end the run there.

Two context rows run sseio over the same transport layers as two peers:
``sseio ← httpx`` is ``sseio.iter_sse(response.iter_bytes())`` through the same
fake transport as httpx-sse, and ``sseio ← aiohttp`` is ``sseio.aiter_sse``
over the same ``StreamReader`` set-up as aiohttp-sse-client2, taking the body
one fed chunk at a time through ``iter_chunks()`` (what ``iter_any()`` yields
off a live socket; on a pre-filled reader ``iter_any()`` returns it all at once).

Timing: for each workload, every parser gets one warm-up run, then timed runs
are interleaved round-robin across parsers, the order rotating each round (so
load changes on a shared machine hit all of them alike), with the garbage
collector paused during each run, as ``timeit`` does.  Each row reports the
median; MB/s is 10**6 bytes per second; events/s counts every expected item,
the sentinel included.  The ratio column is
the peer's median time divided by sseio feed's median time from the same run:
above 1 means sseio is that many times faster.

Memory: the peak traced by ``tracemalloc`` during one run of each parser on
``big-lines`` (the workload's own bytes are allocated before tracing starts).

The report's header names the Python and package versions and the sseio source
that ran: the git commit, a note when ``sseio/`` has uncommitted changes, and a
SHA-1 over every ``.py`` file of the package, subpackages included
(``sseio/**/*.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import inspect
import json
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import httpx_sse
import openai._streaming
import sseclient
from aiohttp.streams import StreamReader
from aiohttp_sse_client2 import client as aiohttp_sse  # type: ignore[import-untyped]
from ld_eventsource.actions import Event as LDEvent  # type: ignore[import-untyped]
from ld_eventsource.reader import (  # type: ignore[import-untyped]
    _BufferedLineReader,
    _SSEReader,
)

import sseio

# --------------------------------------------------------------------------- workloads

DONE_ITEM = "<[DONE] sentinel>"
"""How the end-of-stream sentinel appears in a normalised sequence."""

Item = tuple[str, str, str] | str
"""A normalised output item: (event type, data, last event ID), or ``DONE_ITEM``."""


@dataclass
class Workload:
    """One benchmark input: the chunks to feed and the items they must produce."""

    name: str
    summary: str
    chunks: list[bytes]
    expected: list[Item]
    nbytes: int = 0

    def __post_init__(self) -> None:
        self.nbytes = sum(len(chunk) for chunk in self.chunks)


def split_every(data: bytes, size: int) -> list[bytes]:
    """Cut ``data`` into reads of ``size`` bytes (the last one may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


_WORDS = (
    "the", "model", "streams", "tokens", "as", "they", "are", "produced", ",", "and",
    "each", "chunk", "carries", "a", "few", "of", "them", ";", "clients", "join", "the",
    "deltas", "into", "the", "final", "answer", ".", "résumé", "naïve", "café", "Straße",
    "déjà-vu", "東京", "日本語", "数据", "🙂", "—", "“quoted”", "data:", "JSON",
    "{", "}", "[", "]", "\\", "/", '"', "tab\tend", "line\nbreak",
)  # fmt: skip
"""Content words: mostly ASCII, some multi-byte UTF-8, and characters JSON must escape."""


def build_chat(target_bytes: int, seed: int) -> tuple[list[bytes], list[Item]]:
    """An OpenAI-style chat-completion stream of about ``target_bytes``, one entry per event."""
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    head = {
        "id": "chatcmpl-" + "".join(rng.choice(alphabet) for _ in range(29)),
        "object": "chat.completion.chunk",
        "created": 1718000000,
        "model": "gpt-4o-mini-2024-07-18",
    }

    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        body = dict(head)
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    payloads = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    size = 0
    while size < target_bytes:
        words = rng.choices(_WORDS, k=rng.randint(1, 4))
        payloads.append(chunk({"content": " " + " ".join(words)}, None))
        size += len(payloads[-1]) + 8
    payloads.append(chunk({}, "stop"))
    events = [b"data: " + p.encode() + b"\n\n" for p in payloads]
    events.append(b"data: [DONE]\n\n")
    expected: list[Item] = [("message", p, "") for p in payloads]
    expected.append(DONE_ITEM)
    return events, expected


def build_big_lines(count: int, seed: int) -> tuple[bytes, list[Item]]:
    """``count`` events, each one 1 MiB line of base64 data with a type and an ID."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    expected: list[Item] = []
    for n in range(count):
        data = base64.b64encode(rng.randbytes(3 * 2**18)).decode()  # exactly 1 MiB of text
        parts.append(f"event: image\nid: img-{n}\ndata: {data}\n\n".encode())
        expected.append(("image", data, f"img-{n}"))
    return b"".join(parts), expected


def build_multiline_crlf(target_bytes: int, seed: int) -> tuple[bytes, list[Item]]:
    """Events whose data is a 50-line pretty-printed JSON document, CRLF line ends."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    expected: list[Item] = []
    size = 0
    n = 0
    while size < target_bytes:
        doc = {
            f"host{rng.randrange(100):02d}.cpu{k:02d}": round(rng.random() * 100, 2)
            for k in range(48)
        }
        text = json.dumps(doc, indent=2)  # "{", 48 entries, "}": 50 lines
        lines = text.split("\n")
        assert len(lines) == 50, len(lines)
        block = f"event: metrics\r\nid: {n}\r\n"
        block += "".join(f"data: {line}\r\n" for line in lines) + "\r\n"
        parts.append(block.encode())
        expected.append(("metrics", text, str(n)))
        size += len(parts[-1])
        n += 1
    return b"".join(parts), expected


def build_workloads(scale: float) -> list[Workload]:
    """All five workloads; ``scale`` shrinks them for ``--quick``."""
    mb = 10**6
    chat_events, chat_expected = build_chat(int(4 * mb * scale), seed=1)
    chat = b"".join(chat_events)
    big, big_expected = build_big_lines(max(2, round(6 * scale)), seed=3)
    multi, multi_expected = build_multiline_crlf(int(4 * mb * scale), seed=4)
    return [
        Workload(
            "chat-16k",
            "chat-completion chunks, 16 KiB reads",
            split_every(chat, 16384),
            chat_expected,
        ),
        Workload(
            "chat-per-event",
            "chat-completion chunks, one read per event",
            chat_events,
            chat_expected,
        ),
        Workload(
            "big-lines", "1 MiB data lines, 64 KiB reads", split_every(big, 65536), big_expected
        ),
        Workload(
            "multiline-crlf",
            "50 data lines per event, CRLF, 16 KiB reads",
            split_every(multi, 16384),
            multi_expected,
        ),
        Workload(
            "chat-7b", "chat-completion chunks, 7-byte reads", split_every(chat, 7), chat_expected
        ),
    ]


# --------------------------------------------------------------------------- parsers


class Parser:
    """One way of turning chunks into events.

    ``count`` is what gets timed: it consumes every item and returns how many
    there were.  ``items`` returns the normalised output for the correctness
    check.  ``prepare`` builds per-workload state outside the timed region.
    """

    name = ""
    path = ""

    def prepare(self, workload: Workload) -> None:
        """Set up anything that must exist before a run (not timed)."""

    def finish(self) -> None:
        """Release whatever ``prepare`` built."""

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        """The parser's own output objects, in order."""
        raise NotImplementedError

    def normalise(self, obj: Any) -> Item | None:
        """Map one output object to an ``Item`` (``None`` to skip it)."""
        raise NotImplementedError

    def count(self, chunks: list[bytes]) -> int:
        """Consume every output object; return how many there were."""
        n = 0
        for _ in self.raw(chunks):
            n += 1
        return n

    def items(self, chunks: list[bytes]) -> list[Item]:
        """Normalised output for the correctness check."""
        out = []
        for obj in self.raw(chunks):
            item = self.normalise(obj)
            if item is not None:
                out.append(item)
        return out


def _sentinel_or(event: str | None, data: str, last_id: str | None) -> Item:
    """Normalise a peer's plain event, folding data ``[DONE]`` into the sentinel."""
    if data == "[DONE]":
        return DONE_ITEM
    return (event or "message", data, last_id or "")


def _normalise_sseio(obj: Any) -> Item | None:
    if isinstance(obj, sseio.Done):
        return DONE_ITEM
    if isinstance(obj, sseio.ServerSentEvent):
        return (obj.event, obj.data, obj.id)
    return None


class SseioFeed(Parser):
    name = "sseio feed"
    path = "SSEDecoder().feed(chunk) per chunk"

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        decoder = sseio.SSEDecoder()
        out: list[Any] = []
        for chunk in chunks:
            out += decoder.feed(chunk)
        decoder.close()
        return out

    normalise = staticmethod(_normalise_sseio)

    def count(self, chunks: list[bytes]) -> int:
        decoder = sseio.SSEDecoder()
        feed = decoder.feed
        n = 0
        for chunk in chunks:
            for _ in feed(chunk):
                n += 1
        decoder.close()
        return n


class SseioIter(Parser):
    name = "sseio iter_sse"
    path = "sseio.iter_sse(chunks)"

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        return sseio.iter_sse(chunks)

    normalise = staticmethod(_normalise_sseio)


class _ChunkStream(httpx.SyncByteStream):
    """A response body that yields pre-made chunks, as a network stream would."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


class _ReplayTransport(httpx.BaseTransport):
    """Answers every request with a 200 ``text/event-stream`` response streaming ``chunks``."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=_ChunkStream(self.chunks),
            request=request,
        )


class _HttpxBase(Parser):
    """Shared client set-up: one ``httpx.Client`` per workload, one request per run."""

    url = "http://sse.test/stream"

    def __init__(self) -> None:
        self._transport = _ReplayTransport()
        self._client: httpx.Client | None = None

    def prepare(self, workload: Workload) -> None:
        if self._client is None:
            self._client = httpx.Client(transport=self._transport, trust_env=False)

    def finish(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> httpx.Client:
        assert self._client is not None, "prepare() first"
        return self._client


class HttpxSse(_HttpxBase):
    name = "httpx-sse"
    path = "connect_sse(httpx.Client(transport=...)).iter_sse()"

    def raw(self, chunks: list[bytes]) -> Iterator[Any]:
        self._transport.chunks = chunks
        with httpx_sse.connect_sse(self.client, "GET", self.url) as source:
            yield from source.iter_sse()

    def normalise(self, obj: Any) -> Item | None:
        return _sentinel_or(obj.event, obj.data, obj.id)


class SseioOverHttpx(_HttpxBase):
    name = "sseio ← httpx"
    path = "iter_sse(response.iter_bytes()) on the same transport"

    def raw(self, chunks: list[bytes]) -> Iterator[Any]:
        self._transport.chunks = chunks
        with self.client.stream("GET", self.url) as response:
            yield from sseio.iter_sse(response.iter_bytes())

    normalise = staticmethod(_normalise_sseio)


class OpenAI(Parser):
    name = "openai"
    path = "openai._streaming.SSEDecoder().iter_bytes(iter(chunks))"

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        return openai._streaming.SSEDecoder().iter_bytes(iter(chunks))

    def normalise(self, obj: Any) -> Item | None:
        return _sentinel_or(obj.event, obj.data, obj.id)


class SSEClientPy(Parser):
    name = "sseclient-py"
    path = "sseclient.SSEClient(iter(chunks)).events()"

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        return sseclient.SSEClient(iter(chunks)).events()

    def normalise(self, obj: Any) -> Item | None:
        return _sentinel_or(obj.event, obj.data, obj.id)


class LaunchDarkly(Parser):
    name = "launchdarkly"
    path = "_SSEReader(_BufferedLineReader.lines_from(chunks)).events_and_comments()"

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        lines = _BufferedLineReader.lines_from(chunks)
        events: Iterable[Any] = _SSEReader(lines).events_and_comments()
        return events

    def normalise(self, obj: Any) -> Item | None:
        if not isinstance(obj, LDEvent):
            return None  # a comment
        return _sentinel_or(obj.event, obj.data, obj.last_event_id)

    def count(self, chunks: list[bytes]) -> int:
        n = 0
        for obj in self.raw(chunks):
            if type(obj) is LDEvent:
                n += 1
        return n


class _FlowControl:
    """The protocol side a ``StreamReader`` talks to: always connected, never pauses."""

    connected = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


class _BodyOnlyResponse:
    """What ``EventSource.__anext__`` reads from its response: ``status`` and ``content``."""

    status = 200

    def __init__(self, content: StreamReader) -> None:
        self.content = content


class _EndOfBody(Exception):
    """Raised from the client's ``on_error`` hook when the body is drained.

    At end of body the client calls ``on_error`` and then sleeps and reconnects;
    raising here ends the iteration at that point instead.
    """


def _end_of_body() -> None:
    raise _EndOfBody


_AIOHTTP_LIMIT: int = inspect.signature(aiohttp.ClientSession).parameters["read_bufsize"].default


class _AiohttpBase(Parser):
    """Shared event loop and ``StreamReader`` set-up for the asyncio rows."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def reader(self, chunks: list[bytes]) -> StreamReader:
        """A response body reader holding every chunk, then EOF (as the HTTP parser leaves it)."""
        content = StreamReader(_FlowControl(), _AIOHTTP_LIMIT, loop=self.loop)  # type: ignore[arg-type]
        for chunk in chunks:
            content.feed_data(chunk)
        content.feed_eof()
        return content

    def finish(self) -> None:
        if self._loop is not None:
            if self._session is not None:
                self._loop.run_until_complete(self._session.close())
                self._session = None
            self._loop.close()
            self._loop = None

    async def _collect(self, chunks: list[bytes]) -> list[Any]:
        out: list[Any] = []
        try:
            async for obj in self._aiter(chunks):
                out.append(obj)
        except _EndOfBody:
            pass
        return out

    async def _count(self, chunks: list[bytes]) -> int:
        n = 0
        try:
            async for _ in self._aiter(chunks):
                n += 1
        except _EndOfBody:
            pass
        return n

    def _aiter(self, chunks: list[bytes]) -> Any:
        raise NotImplementedError

    def raw(self, chunks: list[bytes]) -> Iterable[Any]:
        return self.loop.run_until_complete(self._collect(chunks))

    def count(self, chunks: list[bytes]) -> int:
        return self.loop.run_until_complete(self._count(chunks))


class AiohttpSseClient2(_AiohttpBase):
    name = "aiohttp-sse-client2"
    path = "async for over EventSource, response.content = StreamReader"
    origin = "http://sse.test"

    def prepare(self, workload: Workload) -> None:
        if self._session is None:

            async def make() -> aiohttp.ClientSession:
                return aiohttp.ClientSession()

            self._session = self.loop.run_until_complete(make())

    def _aiter(self, chunks: list[bytes]) -> Any:
        source = aiohttp_sse.EventSource(
            self.origin + "/stream", session=self._session, on_error=_end_of_body
        )
        source._response = _BodyOnlyResponse(self.reader(chunks))
        source._origin = self.origin
        return source

    def normalise(self, obj: Any) -> Item | None:
        return _sentinel_or(obj.type, obj.data, obj.last_event_id)


async def _reads(content: StreamReader) -> AsyncIterator[bytes]:
    """The body one fed chunk at a time, as ``iter_any()`` gives it off a live socket.

    (``iter_any()`` itself would hand over the whole pre-fed buffer in one piece.)
    """
    async for data, _ in content.iter_chunks():
        yield data


class SseioOverAiohttp(_AiohttpBase):
    name = "sseio ← aiohttp"
    path = "aiter_sse(<StreamReader.iter_chunks() data>) on the same reader set-up"

    def _aiter(self, chunks: list[bytes]) -> Any:
        return sseio.aiter_sse(_reads(self.reader(chunks)))

    normalise = staticmethod(_normalise_sseio)


def all_parsers() -> list[Parser]:
    """The rows, reference first, context rows last."""
    return [
        SseioFeed(),
        SseioIter(),
        HttpxSse(),
        OpenAI(),
        SSEClientPy(),
        LaunchDarkly(),
        AiohttpSseClient2(),
        SseioOverHttpx(),
        SseioOverAiohttp(),
    ]


CONTEXT_PAIRS = {"sseio ← httpx": "httpx-sse", "sseio ← aiohttp": "aiohttp-sse-client2"}
"""Context rows and the peer that shares their transport layer."""

TARGETS = {"launchdarkly": 1.5, "httpx-sse": 3.0}
"""Minimum sseio-feed speed-up the project asks for, per peer, on every workload."""

# --------------------------------------------------------------------------- checking


def _short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def first_difference(expected: list[Item], got: list[Item]) -> str | None:
    """A one-line description of where ``got`` departs from ``expected`` (None if equal)."""
    if got == expected:
        return None
    for i, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want == have:
            continue
        if isinstance(want, tuple) and isinstance(have, tuple):
            for label, a, b in zip(("type", "data", "id"), want, have, strict=True):
                if a != b:
                    at = next(
                        (k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                        min(len(a), len(b)),
                    )
                    return (
                        f"item {i}: {label} differs at char {at}: "
                        f"want {_short(a[at : at + 12], 20)}, got {_short(b[at : at + 12], 20)}"
                    )
        return f"item {i}: want {_short(want)}, got {_short(have)}"
    return f"{len(got)} items, want {len(expected)}"


@dataclass
class Row:
    """One workload x parser result."""

    workload: str
    parser: str
    status: str = "ok"  # ok | WRONG | CRASH
    reason: str = ""
    times: list[float] = field(default_factory=list)
    median: float = 0.0
    mb_s: float = 0.0
    events_s: float = 0.0
    ratio: float | None = None  # this row's median time / sseio feed's median time


def check(parser: Parser, workload: Workload) -> tuple[str, str]:
    """Run once and compare; return (status, reason)."""
    try:
        got = parser.items(workload.chunks)
    except Exception as exc:
        message = " ".join(str(exc).split())
        if len(message) > 60:
            message = message[:57] + "..."
        return "CRASH", f"{type(exc).__name__}: {message}"
    diff = first_difference(workload.expected, got)
    if diff is not None:
        return "WRONG", diff
    return "ok", ""


# --------------------------------------------------------------------------- timing


@dataclass
class Plan:
    """How much timing to do."""

    scale: float  # workload size factor
    budget: float  # seconds of timed runs per row, roughly
    min_repeats: int
    max_repeats: int


FULL = Plan(scale=1.0, budget=2.0, min_repeats=9, max_repeats=41)
QUICK = Plan(scale=0.25, budget=0.12, min_repeats=3, max_repeats=5)


def timed_run(fn: Callable[[list[bytes]], int], chunks: list[bytes]) -> tuple[float, int]:
    """One run with the collector paused; return (seconds, items)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        n = fn(chunks)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, n


def bench_workload(
    workload: Workload, parsers: list[Parser], plan: Plan, log: Callable[[str], None]
) -> list[Row]:
    """Check every parser on ``workload``, then time the ones that got it right."""
    rows: dict[str, Row] = {}
    planned: dict[str, int] = {}
    for parser in parsers:
        parser.prepare(workload)
        row = rows[parser.name] = Row(workload.name, parser.name)
        row.status, row.reason = check(parser, workload)
        if row.status != "ok":
            log(f"  {parser.name}: {row.status} ({row.reason})")
            continue
        warm, n = timed_run(parser.count, workload.chunks)  # warm-up, also sizes the plan
        if n != len(workload.expected):
            row.status, row.reason = "WRONG", f"counted {n} items, want {len(workload.expected)}"
            continue
        planned[parser.name] = max(plan.min_repeats, min(plan.max_repeats, int(plan.budget / warm)))
    order = [p for p in parsers if p.name in planned]
    rounds = max(planned.values(), default=0)
    for r in range(rounds):
        shift = r % len(order)  # rotate, so no parser always runs first or last in a round
        for parser in order[shift:] + order[:shift]:
            if r < planned[parser.name]:
                elapsed, _ = timed_run(parser.count, workload.chunks)
                rows[parser.name].times.append(elapsed)
    for parser in parsers:
        parser.finish()
    base = rows[parsers[0].name]
    base_median = statistics.median(base.times) if base.times else None
    for row in rows.values():
        if not row.times:
            continue
        row.median = statistics.median(row.times)
        row.mb_s = workload.nbytes / row.median / 1e6
        row.events_s = len(workload.expected) / row.median
        if base_median:
            row.ratio = row.median / base_median
    return list(rows.values())


def memory_peaks(workload: Workload, parsers: list[Parser]) -> dict[str, tuple[str, int]]:
    """Peak traced bytes during one run of each parser (status, bytes)."""
    out: dict[str, tuple[str, int]] = {}
    for parser in parsers:
        parser.prepare(workload)
        parser.count(workload.chunks[:1])  # settle lazy imports and caches outside the trace
        gc.collect()
        tracemalloc.start()
        try:
            parser.count(workload.chunks)
            _, peak = tracemalloc.get_traced_memory()
            out[parser.name] = ("ok", peak)
        except Exception as exc:
            out[parser.name] = (f"CRASH ({type(exc).__name__})", 0)
        finally:
            tracemalloc.stop()
            parser.finish()
    return out


# --------------------------------------------------------------------------- reporting


def fmt_rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table_cells(row: Row) -> list[str]:
    if row.status != "ok":
        return [row.workload, row.parser, row.status, "", row.reason]
    ratio = "ref" if row.parser == "sseio feed" else f"{row.ratio:.2f}x"
    return [row.workload, row.parser, fmt_rate(row.mb_s), fmt_rate(row.events_s), ratio]


HEADER = ["workload", "parser", "MB/s", "events/s", "sseio/peer"]


def render_text(rows: list[Row]) -> str:
    cells = [HEADER] + [table_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells if i < len(c)) for i in range(len(HEADER))]
    widths[4] = len(HEADER[4])
    lines = []
    previous = None
    for c in cells:
        if previous is not None and c[0] != previous and previous != HEADER[0]:
            lines.append("")
        label = c[0] if c[0] != previous else ""
        previous = c[0]
        line = "  ".join(
            [
                label.ljust(widths[0]),
                c[1].ljust(widths[1]),
                c[2].rjust(widths[2]),
                c[3].rjust(widths[3]),
            ]
        )
        lines.append(
            line + "  " + (c[4].rjust(widths[4]) if c[2] not in ("WRONG", "CRASH") else c[4])
        )
    return "\n".join(lines)


def render_markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|--:|--:|--:|"]
    previous = None
    for row in rows:
        c = table_cells(row)
        label = f"`{c[0]}`" if c[0] != previous else ""
        previous = c[0]
        if row.status != "ok":
            reason = c[4].replace("|", "\\|")
            lines.append(f"| {label} | {c[1]} | **{c[2]}** | | {reason} |")
        else:
            lines.append(f"| {label} | {c[1]} | {c[2]} | {c[3]} | {c[4]} |")
    return "\n".join(lines)


def target_lines(rows: list[Row], workloads: list[Workload]) -> list[str]:
    out = []
    for peer, minimum in TARGETS.items():
        for w in workloads:
            row = next(r for r in rows if r.workload == w.name and r.parser == peer)
            base = next(r for r in rows if r.workload == w.name and r.parser == "sseio feed")
            if base.status != "ok":
                verdict = f"n/a (sseio {base.status})"
            elif row.status != "ok":
                verdict = f"n/a ({peer} {row.status})"
            else:
                assert row.ratio is not None
                verdict = f"{row.ratio:.2f}x  {'holds' if row.ratio >= minimum else 'MISSED'}"
            out.append(f"  sseio >= {minimum}x {peer:<13} on {w.name:<15} {verdict}")
    return out


def context_lines(rows: list[Row], workloads: list[Workload]) -> list[str]:
    out = []
    for ours, peer in CONTEXT_PAIRS.items():
        for w in workloads:
            a = next(r for r in rows if r.workload == w.name and r.parser == ours)
            b = next(r for r in rows if r.workload == w.name and r.parser == peer)
            if a.status == "ok" and b.status == "ok":
                verdict = f"{b.median / a.median:.2f}x"
            else:
                verdict = f"n/a ({peer} {b.status})" if b.status != "ok" else f"n/a ({a.status})"
            out.append(f"  {ours:<15} vs {peer:<19} on {w.name:<15} {verdict}")
    return out


def sseio_source() -> str:
    """Which sseio code ran: the git commit (and whether ``sseio/`` differs from it), and
    a digest of every ``.py`` file of the package, subpackages included (``sseio/**/*.py``,
    each under its path relative to ``sseio/``)."""
    root = Path(sseio.__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    files = f"sseio/**/*.py sha1 {digest.hexdigest()[:10]}"
    try:
        git = ["git", "-C", str(root.parent)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", str(root)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return files
    return f"commit {head}{' + uncommitted changes' if dirty else ''}, {files}"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in (
        "sseio",
        "httpx",
        "httpx-sse",
        "openai",
        "sseclient-py",
        "launchdarkly-eventsource",
        "aiohttp",
        "aiohttp-sse-client2",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def profile(name: str, plan: Plan) -> int:
    """Print where sseio feed spends its time on workload ``name`` (cProfile, by own time)."""
    import cProfile
    import pstats

    workloads = {w.name: w for w in build_workloads(plan.scale)}
    if name not in workloads:
        print(f"unknown workload {name!r}; choose from {', '.join(workloads)}", file=sys.stderr)
        return 2
    chunks = workloads[name].chunks
    parser = SseioFeed()
    parser.count(chunks)  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        parser.count(chunks)
    profiler.disable()
    print(f"sseio feed on {name}, 5 runs, sseio source: {sseio_source()}")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller workloads, fewer repeats")
    ap.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument(
        "--profile",
        metavar="WORKLOAD",
        help="instead of benchmarking, cProfile sseio feed on one workload and print the top",
    )
    args = ap.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.profile:
        return profile(args.profile, plan)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    workloads = build_workloads(plan.scale)
    parsers = all_parsers()
    gc.collect()
    gc.freeze()  # keep the per-run collections down to what the runs themselves allocate
    rows: list[Row] = []
    log(f"workloads built in {time.perf_counter() - started:.1f} s")
    for w in workloads:
        log(f"{w.name}: {w.nbytes / 1e6:.2f} MB, {len(w.chunks)} reads, {len(w.expected)} items")
        mark = time.perf_counter()
        rows += bench_workload(w, parsers, plan, log)
        log(f"  done in {time.perf_counter() - mark:.1f} s")
    big = next(w for w in workloads if w.name == "big-lines")
    mark = time.perf_counter()
    peaks = memory_peaks(big, all_parsers())
    log(f"memory peaks in {time.perf_counter() - mark:.1f} s")
    elapsed = time.perf_counter() - started

    info = versions()
    source = sseio_source()
    print(f"# sseio parser benchmark ({'quick' if args.quick else 'full'} run, {elapsed:.0f} s)")
    print("# " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"# sseio source: {source}")
    print()
    print(render_markdown(rows) if args.markdown else render_text(rows))
    print()
    print(f"Peak tracemalloc on big-lines ({big.nbytes / 1e6:.1f} MB input, one run each):")
    base_peak = peaks["sseio feed"][1]
    for name, (status, peak) in peaks.items():
        extra = f"  ({peak / base_peak:.1f}x sseio feed)" if status == "ok" and base_peak else ""
        shown = f"{peak / 2**20:8.2f} MiB" if status == "ok" else status
        print(f"  {name:<20} {shown}{extra}")
    print()
    print("Targets (sseio feed vs peer, same run):")
    print("\n".join(target_lines(rows, workloads)))
    print()
    print("Like-for-like (sseio over the same transport layer as the peer):")
    print("\n".join(context_lines(rows, workloads)))

    if args.json:
        doc = {
            "mode": "quick" if args.quick else "full",
            "seconds": elapsed,
            "versions": info,
            "sseio_source": source,
            "workloads": [
                {
                    "name": w.name,
                    "summary": w.summary,
                    "bytes": w.nbytes,
                    "reads": len(w.chunks),
                    "items": len(w.expected),
                }
                for w in workloads
            ],
            "results": [
                {
                    "workload": r.workload,
                    "parser": r.parser,
                    "status": r.status,
                    "reason": r.reason,
                    "median_s": r.median,
                    "mb_per_s": r.mb_s,
                    "events_per_s": r.events_s,
                    "sseio_ratio": r.ratio,
                    "times_s": r.times,
                }
                for r in rows
            ],
            "parsers": {p.name: p.path for p in parsers},
            "memory_big_lines": {k: {"status": s, "peak_bytes": p} for k, (s, p) in peaks.items()},
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
