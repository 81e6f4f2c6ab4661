"""Transport benchmark: sseio's streaming clients against their peers, end to end over loopback.

Run ``python benchmarks/bench_transport.py [--quick] [--markdown] [--json FILE]``;
``--profile`` prints only where the sseio client processes spend their time and memory.

A server process of our own (one thread, ``selectors`` and non-blocking
sockets, no framework) listens on 127.0.0.1 and answers ``POST
/v1/chat/completions?n=N&mode=M`` with an OpenAI-style stream: N
``chat.completion.chunk`` events (a role delta, content deltas of a few words,
a ``finish_reason: "stop"`` chunk), then ``data: [DONE]``, with
``Transfer-Encoding: chunked``.  Every response is rendered once at start-up
and written from a ``memoryview`` as fast as the socket takes it, so the server
is never what a client waits for.  Two framings of the same events:

``per-event``  one HTTP chunk per event (what a server that flushes per token sends)
``16k``        the same bytes cut into 16 KiB HTTP chunks, cutting through lines

Every client runs in a fresh process of its own (this script with ``--client``;
its top-level imports are the standard library's lightest modules, so the RSS
is the library's): it imports its library, notes ``ru_maxrss``, runs one short
warm-up stream, then times one stream from just before the connection is opened
until the application holds the ``[DONE]`` sentinel, doing ``json.loads`` on
every event's data.  It checks that it got N events, that the last one finished
with ``"stop"``, and that it saw ``[DONE]``; a client that fails any check is
reported as FAIL, not timed.  Clients:

``sseio asyncio``    ``sseio.aconnect_sse`` under ``anyio.run(backend="asyncio")``
``sseio trio``       the same under ``anyio.run(backend="trio")``
``sseio blocking``   ``sseio.connect_sse``
``httpx-sse sync``   ``httpx_sse.connect_sse`` on an ``httpx.Client``
``httpx-sse async``  ``httpx_sse.aconnect_sse`` on an ``httpx.AsyncClient``
``aiohttp-sse``      ``aiohttp_sse_client2.client.EventSource`` on an ``aiohttp.ClientSession``
``raw drain``        a plain socket: de-chunk, split lines, ``json.loads`` each ``data:``
                     line; the ceiling for a Python client on this machine

Both httpx-sse flavours run, and sseio is compared with whichever is faster
(by median events/s, per framing); the table says which.  The concurrency runs
open 200 streams of 500 events at once in one process (sseio ``AsyncClient``,
httpx-sse on one ``httpx.AsyncClient``, aiohttp-sse-client2 on one
``ClientSession``; no connection limit on any of them), in both framings, and
report the total events/s, the median stream's time to first event and the peak
RSS.

Runs are interleaved round-robin across clients, the order rotating each round,
and every figure is a median.  Every process of a run imports a snapshot of
``sseio/`` copied when the run starts, so editing sseio meanwhile cannot mix two
versions in one table.  Clients are started by fork, not vfork, because after
vfork + exec Linux starts a child's ``ru_maxrss`` at the parent's peak.  Every
wait has a timeout, every child process is killed in a ``finally`` (and the
server also exits when its parent's pipe closes), and nothing leaves 127.0.0.1.
"""

# Only light standard-library modules at the top: the client processes import this
# file, and whatever it imports would count in every client's RSS.
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

# --------------------------------------------------------------------------- workload

EVENTS = 20_000
"""Events per stream in the single-stream runs (the ``[DONE]`` sentinel comes on top)."""
CONCURRENT_STREAMS = 200
CONCURRENT_EVENTS = 500
WARMUP_EVENTS = 50
HTTP_CHUNK = 16 * 1024
MODES = ("per-event", "16k")
PATH = "/v1/chat/completions"
REQUEST_JSON: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "stream": True,
    "messages": [{"role": "user", "content": "Tell me a long story."}],
}

CLIENT_TIMEOUT = 90.0
"""Seconds one single-stream client process may take before it is killed (a run takes ~1 s)."""
CONCURRENT_TIMEOUT = 180.0
IO_TIMEOUT = 20.0
"""The connect and read timeout every client library is given."""

_TEXT = (
    "the stream carries tokens as they are generated and every client has to "
    "parse each one quickly while the model keeps writing naïve café résumé "
    'déjà vu über straße 東京 données "quoted" tab\tseparated back\\slash'
)
_WORDS = _TEXT.split(" ")


def render_events(count: int, seed: int = 7) -> list[bytes]:
    """``count`` chat.completion.chunk events and the ``[DONE]`` sentinel, each a whole
    ``data: ...\\n\\n`` block (compact JSON, as the OpenAI API sends).  Deterministic."""
    import random

    rng = random.Random(seed)
    head = {
        "id": "chatcmpl-9sHwPq2XyZbQv7LmN3kT0aRcUe4Df",
        "object": "chat.completion.chunk",
        "created": 1_722_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_0f03d4f0ee",
    }
    out = []
    for index in range(count):
        if index == 0:
            delta: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        elif index == count - 1:
            delta = {}
        else:
            delta = {"content": " " + " ".join(rng.choices(_WORDS, k=rng.randint(1, 4)))}
        finish = "stop" if index == count - 1 else None
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        doc = json.dumps({**head, "choices": [choice]}, ensure_ascii=False, separators=(",", ":"))
        out.append(b"data: " + doc.encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return out


def frame_chunked(events: list[bytes], mode: str) -> bytes:
    """The response body in chunked transfer coding: one HTTP chunk per event, or the
    joined events cut into ``HTTP_CHUNK``-byte chunks; then the last (empty) chunk."""
    if mode == "per-event":
        pieces = events
    else:
        payload = b"".join(events)
        pieces = [payload[i : i + HTTP_CHUNK] for i in range(0, len(payload), HTTP_CHUNK)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-store\r\n"
    b"x-accel-buffering: no\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def stream_url(base: str, events: int, mode: str) -> str:
    return f"{base}{PATH}?n={events}&mode={mode}"


# --------------------------------------------------------------------------- server


class _Conn:
    """One server connection: bytes of requests not yet answered, the response being sent."""

    __slots__ = ("close_after", "inbox", "out", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = b""
        self.out: memoryview | None = None
        self.close_after = False


def serve(fd: int, extra_counts: Iterable[int] = ()) -> None:
    """The server process: one thread, non-blocking sockets, keep-alive, pre-rendered
    responses.  Serves the inherited listening socket ``fd``; exits when stdin (the
    parent's pipe) reaches EOF.  ``extra_counts``: more stream lengths to render, on
    top of this benchmark's own (other benchmarks share the server)."""
    import selectors

    responses: dict[tuple[int, str], bytes] = {}
    for count in sorted({EVENTS, CONCURRENT_EVENTS, WARMUP_EVENTS, *extra_counts}):
        events = render_events(count)
        for mode in MODES:
            responses[(count, mode)] = RESPONSE_HEAD + frame_chunked(events, mode)
    listener = socket.socket(fileno=fd)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")

    def close(conn: _Conn) -> None:
        sel.unregister(conn.sock)
        conn.sock.close()

    def pump(conn: _Conn) -> None:
        """Send what the socket takes; then answer the next request or wait for one."""
        try:
            while True:
                if conn.out is not None:
                    sent = conn.sock.send(conn.out[: 1 << 20])
                    conn.out = conn.out[sent:]
                    if conn.out:
                        sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
                        return
                    conn.out = None
                    if conn.close_after:
                        close(conn)
                        return
                response = _next_response(conn, responses)
                if response is None:
                    sel.modify(conn.sock, selectors.EVENT_READ, conn)
                    return
                conn.out = memoryview(response)
        except BlockingIOError:
            sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
        except OSError:
            close(conn)

    while True:
        for key, _ in sel.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    return
            elif key.data == "accept":
                try:
                    sock, _ = listener.accept()
                except BlockingIOError:
                    continue
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(sock, selectors.EVENT_READ, _Conn(sock))
            else:
                conn = key.data
                if conn.out is None:
                    try:
                        data = conn.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data or len(conn.inbox) > 1 << 16:
                        close(conn)
                        continue
                    conn.inbox += data
                pump(conn)


def _next_response(conn: _Conn, responses: dict[tuple[int, str], bytes]) -> bytes | None:
    """Take one complete request off ``conn.inbox`` and return the bytes that answer it."""
    from urllib.parse import parse_qs, urlsplit

    head, sep, rest = conn.inbox.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    try:
        _method, target, _version = lines[0].split(" ", 2)
        length = int(headers.get("content-length", "0"))
    except ValueError:
        conn.close_after = True
        return NOT_FOUND
    if len(rest) < length:
        return None
    conn.inbox = rest[length:]
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    try:
        key = (int(query.get("n", ["0"])[0]), query.get("mode", [""])[0])
    except ValueError:
        key = (0, "")
    response = responses.get(key) if parts.path == PATH else None
    if response is None or "transfer-encoding" in headers:
        conn.close_after = True
        return NOT_FOUND
    conn.close_after = headers.get("connection") == "close"
    return response


# --------------------------------------------------------------------------- clients


class StreamResult:
    """What one stream delivered to the application."""

    __slots__ = ("done", "events", "finish", "first")

    def __init__(self) -> None:
        self.events = 0
        self.first: float | None = None  # seconds from the stream's start to its first event
        self.done = False
        self.finish: str | None = None

    def take(self, data: str, started: float) -> None:
        """Parse one event's data as the application would, and count it."""
        if self.first is None:
            self.first = time.perf_counter() - started
        chunk = json.loads(data)
        self.events += 1
        self.finish = chunk["choices"][0]["finish_reason"]
        if _PEAK_WATCH is not None and self.events % 250 == 0:
            _PEAK_WATCH()

    def problem(self, expected: int) -> str | None:
        if self.events != expected:
            return f"got {self.events} events, expected {expected}"
        if self.finish != "stop":
            return f"last event finished with {self.finish!r}, not 'stop'"
        if not self.done:
            return "no [DONE] sentinel"
        return None


_PEAK_WATCH: Callable[[], None] | None = None
"""Set by ``--tracemalloc`` runs: called every 250 events to keep the biggest snapshot."""


class Measurement:
    """One timed run in a client process: ``elapsed`` covers all of its streams."""

    __slots__ = ("elapsed", "streams")

    def __init__(self, elapsed: float, streams: list[StreamResult]) -> None:
        self.elapsed = elapsed
        self.streams = streams


if TYPE_CHECKING:
    Runner = Callable[[str, int, int], Measurement]
    """``run(url, events_per_stream, streams)``; the library is imported before it is made."""


def _sseio_async(backend: str) -> Runner:
    import anyio

    import sseio

    if backend == "trio":
        import trio  # noqa: F401  (imported here so that the baseline RSS includes it)

    timeout = sseio.Timeout(connect=IO_TIMEOUT, read=IO_TIMEOUT)

    async def one(open_source: Callable[[], Any]) -> StreamResult:
        result = StreamResult()
        started = time.perf_counter()
        async with open_source() as source:
            async for event in source:
                result.take(event.data, started)
            result.done = source.done
        return result

    async def main(url: str, events: int, streams: int) -> Measurement:
        if streams == 1:
            started = time.perf_counter()
            result = await one(
                lambda: sseio.aconnect_sse(
                    url,
                    method="POST",
                    json=REQUEST_JSON,
                    timeout=timeout,
                    reconnect=sseio.NO_RECONNECT,
                )
            )
            return Measurement(time.perf_counter() - started, [result])
        results: list[StreamResult] = []
        async with sseio.AsyncClient(timeout=timeout, reconnect=sseio.NO_RECONNECT) as client:

            async def task() -> None:
                results.append(await one(lambda: client.stream("POST", url, json=REQUEST_JSON)))

            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(streams):
                    tg.start_soon(task)
            elapsed = time.perf_counter() - started
        return Measurement(elapsed, results)

    def run(url: str, events: int, streams: int) -> Measurement:
        return anyio.run(main, url, events, streams, backend=backend)

    return run


def _sseio_blocking() -> Runner:
    import sseio

    timeout = sseio.Timeout(connect=IO_TIMEOUT, read=IO_TIMEOUT)

    def run(url: str, events: int, streams: int) -> Measurement:
        assert streams == 1, "the blocking client runs one stream"
        result = StreamResult()
        started = time.perf_counter()
        with sseio.connect_sse(
            url, method="POST", json=REQUEST_JSON, timeout=timeout, reconnect=sseio.NO_RECONNECT
        ) as source:
            items: Any = source  # comments are off, so every item is a ServerSentEvent
            for event in items:
                result.take(event.data, started)
            result.done = source.done
        return Measurement(time.perf_counter() - started, [result])

    return run


def _httpx_sync() -> Runner:
    import httpx
    import httpx_sse

    def run(url: str, events: int, streams: int) -> Measurement:
        assert streams == 1, "the blocking client runs one stream"
        result = StreamResult()
        with httpx.Client(timeout=httpx.Timeout(IO_TIMEOUT)) as client:
            started = time.perf_counter()
            with httpx_sse.connect_sse(client, "POST", url, json=REQUEST_JSON) as source:
                for event in source.iter_sse():
                    if event.data == "[DONE]":
                        result.done = True
                        break
                    result.take(event.data, started)
            elapsed = time.perf_counter() - started
        return Measurement(elapsed, [result])

    return run


def _httpx_async() -> Runner:
    import asyncio

    import httpx
    import httpx_sse

    async def one(client: Any, url: str) -> StreamResult:
        result = StreamResult()
        started = time.perf_counter()
        async with httpx_sse.aconnect_sse(client, "POST", url, json=REQUEST_JSON) as source:
            async for event in source.aiter_sse():
                if event.data == "[DONE]":
                    result.done = True
                    break
                result.take(event.data, started)
        return result

    async def main(url: str, events: int, streams: int) -> Measurement:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=httpx.Timeout(IO_TIMEOUT), limits=limits) as client:
            started = time.perf_counter()
            results = await asyncio.gather(*(one(client, url) for _ in range(streams)))
            elapsed = time.perf_counter() - started
        return Measurement(elapsed, list(results))

    def run(url: str, events: int, streams: int) -> Measurement:
        return asyncio.run(main(url, events, streams))

    return run


def _aiohttp_sse() -> Runner:
    import asyncio

    import aiohttp
    from aiohttp_sse_client2 import client as sse_client  # type: ignore[import-untyped]

    def ended_early() -> None:
        # Called when the body ends before we saw [DONE] (the client would then sleep
        # and reconnect) or when connecting fails.
        raise RuntimeError("aiohttp-sse-client2: body ended before [DONE], or connect failed")

    async def one(session: Any, url: str) -> StreamResult:
        result = StreamResult()
        started = time.perf_counter()
        async with sse_client.EventSource(
            url,
            option={"method": "POST"},
            session=session,
            json=REQUEST_JSON,
            max_connect_retry=0,
            on_error=ended_early,
        ) as source:
            async for event in source:
                if event.data == "[DONE]":
                    result.done = True
                    break
                result.take(event.data, started)
        return result

    async def main(url: str, events: int, streams: int) -> Measurement:
        timeout = aiohttp.ClientTimeout(total=None, connect=IO_TIMEOUT, sock_read=IO_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            started = time.perf_counter()
            results = await asyncio.gather(*(one(session, url) for _ in range(streams)))
            elapsed = time.perf_counter() - started
        return Measurement(elapsed, list(results))

    def run(url: str, events: int, streams: int) -> Measurement:
        return asyncio.run(main(url, events, streams))

    return run


class Dechunker:
    """Incremental chunked transfer decoding with ``bytes.find`` (no trailers, no limits):
    the raw drain's, and the yardstick for what h11's per-chunk framing could cost."""

    __slots__ = ("buffer", "ended", "left")

    def __init__(self) -> None:
        self.buffer = b""
        self.left = 0  # bytes still to come in the current chunk, its closing CRLF included
        self.ended = False

    def feed(self, data: bytes) -> bytes:
        buf = self.buffer + data if self.buffer else data
        pos, out = 0, []
        while not self.ended:
            if self.left:
                take = min(self.left - 2, len(buf) - pos)
                if take > 0:
                    out.append(buf[pos : pos + take])
                    pos += take
                    self.left -= take
                if self.left > 2 or len(buf) - pos < 2:
                    break
                pos += 2
                self.left = 0
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(buf[pos:end].split(b";", 1)[0], 16)
            pos = end + 2
            self.ended = size == 0
            self.left = size + 2
        self.buffer = buf[pos:]
        return out[0] if len(out) == 1 else b"".join(out)


def _raw_drain() -> Runner:
    def run(url: str, events: int, streams: int) -> Measurement:
        assert streams == 1, "the raw drain runs one stream"
        host_port, _, target = url.removeprefix("http://").partition("/")
        host, _, port = host_port.partition(":")
        body = json.dumps(REQUEST_JSON).encode()
        request = (
            f"POST /{target} HTTP/1.1\r\nHost: {host_port}\r\n"
            "Accept: text/event-stream\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        result = StreamResult()
        started = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=IO_TIMEOUT) as sock:
            sock.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(65536)
                if not data:
                    raise RuntimeError("raw drain: connection closed before the response head")
                head += data
            if not head.startswith(b"HTTP/1.1 200 "):
                raise RuntimeError(f"raw drain: {head[:40]!r}")
            head, _, data = head.partition(b"\r\n\r\n")
            dechunk, tail = Dechunker(), b""
            while True:
                lines = (tail + dechunk.feed(data)).split(b"\n")
                tail = lines.pop()
                for line in lines:
                    if line.startswith(b"data: "):
                        if line == b"data: [DONE]":
                            result.done = True
                        else:
                            result.take(line[6:].decode(), started)
                if dechunk.ended:
                    break
                data = sock.recv(65536)
                if not data:
                    raise RuntimeError("raw drain: connection closed mid-body")
        return Measurement(time.perf_counter() - started, [result])

    return run


CLIENTS: dict[str, tuple[Callable[[], Runner], str]] = {
    "sseio asyncio": (lambda: _sseio_async("asyncio"), "sseio.aconnect_sse, asyncio"),
    "sseio trio": (lambda: _sseio_async("trio"), "sseio.aconnect_sse, trio"),
    "sseio blocking": (_sseio_blocking, "sseio.connect_sse"),
    "httpx-sse sync": (_httpx_sync, "httpx_sse.connect_sse, httpx.Client"),
    "httpx-sse async": (_httpx_async, "httpx_sse.aconnect_sse, httpx.AsyncClient"),
    "aiohttp-sse": (_aiohttp_sse, "aiohttp_sse_client2 EventSource"),
    "raw drain": (_raw_drain, "socket, de-chunk, split lines, json.loads"),
}
SINGLE = list(CLIENTS)
CONCURRENT = ["sseio asyncio", "httpx-sse async", "aiohttp-sse"]
SSEIO = ["sseio asyncio", "sseio trio", "sseio blocking"]
HTTPX = ["httpx-sse sync", "httpx-sse async"]


def max_rss() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def vm_hwm() -> int | None:
    """Linux's peak RSS of this address space (``VmHWM``), in bytes: a cross-check."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _spawn_by_fork() -> None:
    """A ``preexec_fn`` that does nothing, given so that subprocess forks instead of
    using vfork: after vfork + exec, Linux starts the child's ``ru_maxrss`` at the
    parent's peak RSS (the child ran on the parent's address space until exec), so a
    client would report at least the orchestrator's peak.  Safe here: the process
    that starts clients runs no threads."""


def client_main(argv: list[str]) -> int:
    """One client process: ``NAME BASE MODE EVENTS STREAMS [--cprofile FILE |
    --tracemalloc]``.  Imports, warms up, times one run, prints one JSON line."""
    name, base, mode, events, streams = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    extra = argv[5:]
    signal.alarm(int(CONCURRENT_TIMEOUT))  # a last resort; the parent has its own timeout
    run = CLIENTS[name][0]()
    baseline = max_rss()
    warm = run(stream_url(base, WARMUP_EVENTS, mode), WARMUP_EVENTS, 1)
    problems = [p for s in warm.streams if (p := s.problem(WARMUP_EVENTS))]
    profiler, peak_sites = None, None
    if extra[:1] == ["--cprofile"]:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    elif extra[:1] == ["--tracemalloc"]:
        peak_sites = _start_peak_watch()
    measured = run(stream_url(base, events, mode), events, streams)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(extra[1])
    peak = max_rss()
    problems += [p for s in measured.streams if (p := s.problem(events))]
    if len(measured.streams) != streams:
        problems.append(f"{len(measured.streams)} streams finished, expected {streams}")
    firsts = sorted(s.first for s in measured.streams if s.first is not None)
    report = {
        "ok": not problems,
        "error": "; ".join(sorted(set(problems)))[:500],
        "elapsed": measured.elapsed,
        "events": sum(s.events for s in measured.streams),
        "first": firsts[len(firsts) // 2] if firsts else None,
        "baseline_rss": baseline,
        "peak_rss": peak,
        "vm_hwm": vm_hwm(),
    }
    if "sseio" in sys.modules:
        report["sseio_from"] = os.path.dirname(sys.modules["sseio"].__file__ or "")
    if peak_sites is not None:
        report["peak_sites"] = peak_sites()
    print(json.dumps(report), flush=True)
    return 0


def _start_peak_watch() -> Callable[[], dict[str, Any]]:
    """Trace allocations; keep the snapshot taken when traced memory was highest."""
    import tracemalloc

    global _PEAK_WATCH
    best: dict[str, Any] = {"size": 0, "snapshot": None}

    def watch() -> None:
        current, _ = tracemalloc.get_traced_memory()
        if current > best["size"]:
            best["size"], best["snapshot"] = current, tracemalloc.take_snapshot()

    def sites() -> dict[str, Any]:
        import linecache

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        snapshot = best["snapshot"]
        top = snapshot.statistics("lineno")[:8] if snapshot is not None else []
        return {
            "traced_peak": peak,
            "sampled": best["size"],
            "top": [
                {
                    "size": s.size,
                    "count": s.count,
                    "where": f"{'/'.join(s.traceback[0].filename.split('/')[-2:])}"
                    f":{s.traceback[0].lineno}",
                    "code": linecache.getline(
                        s.traceback[0].filename, s.traceback[0].lineno
                    ).strip()[:60],
                }
                for s in top
            ],
        }

    _PEAK_WATCH = watch
    tracemalloc.start(1)
    return sites


# --------------------------------------------------------------------------- orchestration


class Sample:
    """One client process's report."""

    def __init__(self, ok: bool, error: str = "", **fields: Any) -> None:
        self.ok = ok
        self.error = error
        self.elapsed: float = fields.get("elapsed", 0.0)
        self.events: int = fields.get("events", 0)
        self.first: float | None = fields.get("first")
        self.baseline_rss: int = fields.get("baseline_rss", 0)
        self.peak_rss: int = fields.get("peak_rss", 0)
        self.extra: dict[str, Any] = fields

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, **self.extra}


class Row:
    """All samples of one client on one workload, and their medians."""

    def __init__(self, client: str, mode: str) -> None:
        self.client = client
        self.mode = mode
        self.samples: list[Sample] = []

    @property
    def good(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    @property
    def ok(self) -> bool:
        return bool(self.samples) and len(self.good) == len(self.samples)

    @property
    def error(self) -> str:
        return next((s.error for s in self.samples if not s.ok), "")

    def median(self, attr: str) -> float:
        import statistics

        values = [getattr(s, attr) for s in self.good if getattr(s, attr) is not None]
        return statistics.median(values) if values else float("nan")

    @property
    def events_s(self) -> float:
        import statistics

        return statistics.median(s.events / s.elapsed for s in self.good) if self.good else 0.0


def child_argv(script: str, *args: str) -> list[str]:
    """The command line of a server or client process: this module imported from its
    cached bytecode (``__main__`` would be compiled afresh in every process, and the
    compiler's memory would show in the client's RSS), then ``main(args)``."""
    folder, module = os.path.split(script.removesuffix(".py"))
    # sys.path[0] is "" (the working directory) under -c: replace it, so that an sseio/
    # in the working directory cannot shadow the snapshot on PYTHONPATH.
    code = (
        f"import sys; sys.path[0] = {folder!r}; import {module}; "
        f"sys.exit({module}.main(sys.argv[1:]))"
    )
    return [sys.executable, "-c", code, *args]


def run_client(
    script: str,
    name: str,
    base: str,
    mode: str,
    events: int,
    streams: int,
    timeout: float,
    extra: tuple[str, ...] = (),
) -> Sample:
    """Run one client process to completion (killed after ``timeout`` s); read its report."""
    import subprocess

    argv = child_argv(script, "--client", name, base, mode, str(events), str(streams), *extra)
    proc = subprocess.Popen(
        argv,
        preexec_fn=_spawn_by_fork,  # see there: keeps ru_maxrss the client's own
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return Sample(ok=False, error=f"timed out after {timeout:g} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return Sample(ok=False, error=f"exit {proc.returncode}: {last}"[:300])
    sample = Sample(**json.loads(lines[-1]))
    where = sample.extra.get("sseio_from")
    if where is not None and _SNAPSHOT is not None and not where.startswith(_SNAPSHOT):
        return Sample(ok=False, error=f"imported sseio from {where}, not the run's snapshot")
    hwm = sample.extra.get("vm_hwm")
    if hwm and abs(sample.peak_rss - hwm) > 2**20:
        print(
            f"warning: {name}: ru_maxrss {mib(sample.peak_rss)} but VmHWM {mib(hwm)}",
            file=sys.stderr,
        )
    return sample


class Server:
    """The server process, on a listening socket bound here (so there is no port race).
    ``script`` is this file; ``extra_counts`` are more stream lengths for it to serve."""

    backlog = 1024
    """The listen backlog asked for (the kernel caps it at ``net.core.somaxconn``)."""

    def __init__(self, script: str, extra_counts: Iterable[int] = ()) -> None:
        self.script = script
        self.extra_counts = [str(count) for count in extra_counts]
        self.proc: Any = None
        self.base = ""

    def __enter__(self) -> Server:
        import subprocess

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(self.backlog)
            port = listener.getsockname()[1]
            fd = listener.fileno()
            self.proc = subprocess.Popen(
                child_argv(self.script, "--serve", str(fd), *self.extra_counts),
                pass_fds=(fd,),
                stdin=subprocess.PIPE,
            )
        finally:
            listener.close()
        self.base = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready(port)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, port: int) -> None:
        """One small request: it is answered once the server has rendered every body."""
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(
                f"POST {PATH}?n={WARMUP_EVENTS}&mode=16k HTTP/1.1\r\nHost: x\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            reply = b""
            while data := sock.recv(65536):
                reply += data
        if not reply.startswith(b"HTTP/1.1 200") or not reply.endswith(b"0\r\n\r\n"):
            raise RuntimeError(f"the server is not answering as expected: {reply[:80]!r}")

    def __exit__(self, *exc_info: object) -> None:
        import subprocess

        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.terminate()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Plan:
    def __init__(self, name: str, repeats: int, concurrent_repeats: int) -> None:
        self.name = name
        self.repeats = repeats
        self.concurrent_repeats = concurrent_repeats
        self.events = EVENTS
        self.streams = CONCURRENT_STREAMS
        self.stream_events = CONCURRENT_EVENTS


FULL = Plan("full", repeats=15, concurrent_repeats=7)
QUICK = Plan("quick", repeats=3, concurrent_repeats=1)


def rotate(names: list[str], by: int) -> list[str]:
    by %= len(names)
    return names[by:] + names[:by]


def run_all(
    script: str, base: str, plan: Plan, log: Callable[[str], None]
) -> tuple[dict[tuple[str, str], Row], dict[tuple[str, str], Row]]:
    """Every run of the plan, interleaved: (client, mode) → Row, for one stream and many."""
    single = {(c, m): Row(c, m) for m in MODES for c in SINGLE}
    concurrent = {(c, m): Row(c, m) for m in MODES for c in CONCURRENT}

    def record(row: Row, sample: Sample) -> None:
        row.samples.append(sample)
        if not sample.ok:
            log(f"  {row.client} / {row.mode}: FAILED: {sample.error}")

    for round_ in range(plan.repeats):
        mark = time.perf_counter()
        for m_index, mode in enumerate(MODES):
            for name in rotate(SINGLE, round_ + m_index):
                sample = run_client(script, name, base, mode, plan.events, 1, CLIENT_TIMEOUT)
                record(single[(name, mode)], sample)
        log(f"round {round_ + 1}/{plan.repeats}: {time.perf_counter() - mark:.1f} s")
    for round_ in range(plan.concurrent_repeats):
        mark = time.perf_counter()
        for m_index, mode in enumerate(MODES):
            for name in rotate(CONCURRENT, round_ + m_index):
                sample = run_client(
                    script,
                    name,
                    base,
                    mode,
                    plan.stream_events,
                    plan.streams,
                    CONCURRENT_TIMEOUT,
                )
                record(concurrent[(name, mode)], sample)
        log(
            f"concurrency round {round_ + 1}/{plan.concurrent_repeats}: "
            f"{time.perf_counter() - mark:.1f} s"
        )
    return single, concurrent


# --------------------------------------------------------------------------- report


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def fastest_httpx(rows: dict[tuple[str, str], Row], mode: str) -> Row:
    return max((rows[(name, mode)] for name in HTTPX), key=lambda r: r.events_s if r.ok else -1.0)


def table(headers: list[str], rows: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(headers) + " |"]
        out.append("|" + "|".join("---" if i == 0 else "--:" for i in range(len(headers))) + "|")
        return out + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def results_table(rows: list[Row], body_bytes: int | None, markdown: bool) -> list[str]:
    """events/s, MB/s (single streams), first event, peak RSS and RSS after imports."""
    import statistics

    headers = ["client", "events/s", "MB/s", "first event", "peak RSS", "RSS after imports"]
    if body_bytes is None:
        headers[2] = "runs ok"
    out = []
    for row in rows:
        if not row.ok:
            out.append([row.client, "FAIL", "", "", "", row.error[:60]])
            continue
        if body_bytes is None:
            second = f"{len(row.good)}/{len(row.samples)}"
        else:
            second = f"{statistics.median(body_bytes / s.elapsed for s in row.good) / 1e6:.1f}"
        out.append(
            [
                row.client,
                f"{row.events_s:,.0f}",
                second,
                f"{row.median('first') * 1e3:.2f} ms",
                mib(row.median("peak_rss")),
                mib(row.median("baseline_rss")),
            ]
        )
    return table(headers, out, markdown)


def ratio_table(ours: list[Row], peers: list[Row], rss_peers: int, markdown: bool) -> list[str]:
    """sseio / peer in events/s, and in peak RSS for the first ``rss_peers`` peers."""
    headers = ["sseio / peer"]
    headers += [f"ev/s vs {p.client}" for p in peers]
    headers += [f"RSS vs {p.client}" for p in peers[:rss_peers]]
    rows = []
    for row in ours:
        cells = [row.client]
        for peer in peers:
            ok = row.ok and peer.ok
            cells.append(f"{row.events_s / peer.events_s:.2f}x" if ok else "n/a")
        for peer in peers[:rss_peers]:
            ok = row.ok and peer.ok
            ratio = row.median("peak_rss") / peer.median("peak_rss") if ok else 0.0
            cells.append(f"{ratio:.2f}x" if ok else "n/a")
        rows.append(cells)
    return table(headers, rows, markdown)


def check_targets(pairs: list[tuple[str, Row, Row, Row]]) -> tuple[list[str], dict[str, bool]]:
    """``pairs``: (workload, sseio row, httpx-sse row, aiohttp row).  Returns the lines and
    which kinds of target were missed anywhere: ``speed``, ``memory``."""
    out: list[str] = []
    missed = {"speed": False, "memory": False}
    for label, ours, httpx_row, aiohttp_row in pairs:
        for peer, minimum in ((httpx_row, 2.0), (aiohttp_row, 1.2)):
            name = f"  {ours.client:<14} {label:<22} vs {peer.client:<16}"
            if not (ours.ok and peer.ok):
                out.append(f"{name} n/a (a run failed)")
                continue
            speed = ours.events_s / peer.events_s
            rss_ours, rss_peer = ours.median("peak_rss"), peer.median("peak_rss")
            speed_ok, rss_ok = speed >= minimum, rss_ours < rss_peer
            missed["speed"] |= not speed_ok
            missed["memory"] |= not rss_ok
            out.append(
                f"{name} events/s {speed:5.2f}x (>= {minimum}x) "
                f"{'holds ' if speed_ok else 'MISSED'}"
                f"   peak RSS {mib(rss_ours):>9} vs {mib(rss_peer):>9} "
                f"{'holds' if rss_ok else 'MISSED'}"
            )
    return out, missed


_SNAPSHOT: str | None = None
"""The folder holding this run's copy of the sseio package (set by ``SseioSnapshot``)."""


class SseioSnapshot:
    """A copy of the sseio package, taken when a run starts, that every process of the run
    imports (first on ``PYTHONPATH``; the parent puts it first on ``sys.path``).  Someone
    editing sseio during a run then cannot leave a table that mixes two versions; each
    client reports where it imported sseio from, and a sample from anywhere else fails."""

    def __init__(self) -> None:
        self.folder = ""
        self.source = ""
        self._old_pythonpath: str | None = None

    def __enter__(self) -> SseioSnapshot:
        import importlib.util
        import shutil
        import tempfile
        from pathlib import Path

        global _SNAPSHOT
        spec = importlib.util.find_spec("sseio")
        if spec is None or spec.origin is None:
            raise RuntimeError("sseio is not importable")
        live = Path(spec.origin).parent
        self.folder = tempfile.mkdtemp(prefix="sseio-bench-")
        try:
            copy = Path(self.folder) / "sseio"
            shutil.copytree(live, copy, ignore=shutil.ignore_patterns("__pycache__"))
            self.source = sseio_source(live, copy)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self._old_pythonpath = os.environ.get("PYTHONPATH")
        parts = [self.folder, *([self._old_pythonpath] if self._old_pythonpath else [])]
        os.environ["PYTHONPATH"] = os.pathsep.join(parts)
        sys.path.insert(0, self.folder)
        _SNAPSHOT = self.folder
        return self

    def __exit__(self, *exc_info: object) -> None:
        import shutil

        global _SNAPSHOT
        _SNAPSHOT = None
        if self.folder in sys.path:
            sys.path.remove(self.folder)
        if self._old_pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = self._old_pythonpath
        shutil.rmtree(self.folder, ignore_errors=True)


def sseio_source(live: Any, copy: Any) -> str:
    """Which sseio code runs: the git commit of the live tree (and whether ``sseio/``
    differs from it), and a digest of every ``.py`` file of the snapshot, subpackages
    included (``sseio/**/*.py``, each under its path relative to ``sseio/``)."""
    import hashlib
    import subprocess

    digest = hashlib.sha1()
    for path in sorted(copy.rglob("*.py")):
        digest.update(path.relative_to(copy).as_posix().encode() + b"\0" + path.read_bytes())
    files = f"snapshot of sseio/**/*.py taken at the start, sha1 {digest.hexdigest()[:10]}"
    try:
        git = ["git", "-C", str(live.parent)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", str(live)],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return files
    return f"commit {head}{' + uncommitted changes' if dirty else ''}, {files}"


VERSIONS = ("sseio", "h11", "anyio", "trio", "httpx", "httpx-sse", "aiohttp", "aiohttp-sse-client2")
"""The distributions whose versions the report's header names."""


def versions(dists: tuple[str, ...] = VERSIONS) -> str:
    import platform
    from importlib import metadata

    out = [f"python {platform.python_version()}", platform.machine(), f"{os.cpu_count()} cpus"]
    for dist in dists:
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} not installed")
    return ", ".join(out)


def report(
    single: dict[tuple[str, str], Row],
    concurrent: dict[tuple[str, str], Row],
    plan: Plan,
    markdown: bool,
    info: dict[str, Any],
) -> tuple[list[str], dict[str, bool]]:
    """The tables and the target checks; ``info``: seconds, versions, sseio_source."""
    events = render_events(plan.events)
    payload = sum(len(e) for e in events)
    sizes = {m: len(frame_chunked(events, m)) for m in MODES}

    def heading(text: str) -> str:
        return f"### {text}" if markdown else f"== {text} =="

    out = [
        f"# sseio transport benchmark ({plan.name} run, {info['seconds']:.0f} s)",
        f"# {info['versions']}",
        f"# sseio source: {info['sseio_source']}",
        f"# one stream: {plan.events:,} chat.completion.chunk events + [DONE] "
        f"({payload:,} B of SSE), medians of {plan.repeats} runs, each in a fresh process",
        "",
    ]
    if markdown:  # the header as a block, not as Markdown headings
        out = ["```", *(line.removeprefix("# ") for line in out[:-1]), "```", ""]
    pairs: list[tuple[str, Row, Row, Row]] = []
    for mode in MODES:
        chunks = plan.events + 1 if mode == "per-event" else -(-payload // HTTP_CHUNK)
        what = "one HTTP chunk per event" if mode == "per-event" else "16 KiB HTTP chunks"
        out += [heading(f"One stream, {what} ({chunks:,} chunks, {sizes[mode]:,} B body)"), ""]
        out += results_table([single[(c, mode)] for c in SINGLE], sizes[mode], markdown)
        httpx_row = fastest_httpx(single, mode)
        aiohttp_row = single[("aiohttp-sse", mode)]
        ours = [single[(c, mode)] for c in SSEIO]
        out += [
            "",
            f"sseio / peer ({httpx_row.client} is the faster httpx-sse here; ev/s above "
            "1.00x and RSS below 1.00x favour sseio):",
            "",
        ]
        peers = [httpx_row, aiohttp_row, single[("raw drain", mode)]]
        out += ratio_table(ours, peers, 2, markdown)
        out.append("")
        pairs += [(f"one stream, {mode}", row, httpx_row, aiohttp_row) for row in ours]

    for mode in MODES:
        out += [
            heading(
                f"{plan.streams} concurrent streams x {plan.stream_events} events, one process, "
                f"{mode} framing (medians of {plan.concurrent_repeats}; first event: the "
                "median stream)"
            ),
            "",
        ]
        rows = [concurrent[(c, mode)] for c in CONCURRENT]
        out += results_table(rows, None, markdown)
        out.append("")
        out += ratio_table(rows[:1], rows[1:], 2, markdown)
        out.append("")
        pairs.append((f"{plan.streams} streams, {mode}", rows[0], rows[1], rows[2]))

    lines, missed = check_targets(pairs)
    out += [
        heading(
            "Targets: events/s >= 2x httpx-sse and >= 1.2x aiohttp-sse-client2, peak RSS below both"
        ),
        "",
    ]
    out += ["```", *lines, "```"] if markdown else lines
    return out, missed


# --------------------------------------------------------------------------- profile


PROFILE_LAYERS: tuple[tuple[str, str], ...] = (
    ("/h11/_readers.py", "h11 _readers (chunked body framing)"),
    ("/h11/_receivebuffer.py", "h11 _receivebuffer"),
    ("/h11/", "h11 other (Connection, state machine, events)"),
    ("sseio/_http/chunked.py", "sseio de-chunker (_http/chunked)"),
    ("sseio/_http/exchange.py", "sseio _http (Exchange.receive)"),
    ("sseio/_http/request.py", "sseio _http (Exchange.receive)"),
    ("sseio/_http/redirects.py", "sseio _http (Exchange.receive)"),
    ("sseio/_core/decoder.py", "sseio SSE decoder"),
    ("sseio/_core/lines.py", "sseio SSE decoder"),
    ("sseio/_core/fields.py", "sseio SSE decoder"),
    ("sseio/_core/events.py", "sseio SSE decoder"),
    ("sseio/_http/client_state.py", "sseio _http.client_state (SourceState)"),
    ("sseio/_io/async_client.py", "sseio adapter (_io: async_client / sync_client, backends)"),
    ("sseio/_io/sync_client.py", "sseio adapter (_io: async_client / sync_client, backends)"),
    ("sseio/_io/anyio_backend.py", "sseio adapter (_io: async_client / sync_client, backends)"),
    ("sseio/_io/socket_backend.py", "sseio adapter (_io: async_client / sync_client, backends)"),
    ("/anyio/", "anyio"),
    ("/trio/", "trio"),
    ("/asyncio/", "asyncio event loop"),
    ("/json/", "json.loads"),
    ("/selectors.py", "socket I/O (recv, select)"),
    ("/socket.py", "socket I/O (recv, select)"),
    ("bench_transport.py", "benchmark loop (count, take)"),
)


def _layer(
    filename: str, func: str, layers: tuple[tuple[str, str], ...] = PROFILE_LAYERS
) -> str | None:
    """Which layer a profiled function belongs to (the first ``(path part, label)`` of
    ``layers`` that matches); ``None`` for a builtin."""
    if filename == "~":
        if any(word in func for word in ("recv", "send", "poll", "select", "epoll")):
            return "socket I/O (recv, select)"
        return None
    path = filename.replace("\\", "/")
    return next((label for part, label in layers if part in path), "other Python")


def profile_client(
    script: str,
    base: str,
    name: str,
    mode: str,
    events: int,
    layers: tuple[tuple[str, str], ...] = PROFILE_LAYERS,
    top: int = 10,
) -> list[str]:
    """Run ``name`` once under cProfile (``script --client name ...``); its own time by
    layer (a builtin's time goes to the layer of the function that called it) and the
    ``top`` functions by own time."""
    import pstats
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        out_file = str(Path(tmp) / "profile.out")
        sample = run_client(
            script, name, base, mode, events, 1, CLIENT_TIMEOUT, ("--cprofile", out_file)
        )
        if not sample.ok or not Path(out_file).exists():
            return [f"  profile of {name} failed: {sample.error}"]
        stats: dict[Any, Any] = pstats.Stats(out_file).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    by_layer: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tottime, _ct, callers) in stats.items():
        layer = _layer(filename, func, layers)
        if layer is not None:
            by_layer[layer] = by_layer.get(layer, 0.0) + tottime
            continue
        shared = sum(c[2] for c in callers.values()) or 1.0
        for (c_file, _c_line, c_func), c_stats in (callers or {("~", 0, ""): (0, 0, 1.0)}).items():
            owner = _layer(c_file, c_func, layers) or "other builtins"
            by_layer[owner] = by_layer.get(owner, 0.0) + tottime * c_stats[2] / shared
    out = [
        f"{name}, {mode} framing, {events:,} events: {total * 1e3:.0f} ms of own time "
        "under cProfile (builtins charged to their callers' layer)"
    ]
    for key, value in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        if value < 0.0005 * total:
            continue
        out.append(f"  {value / total:6.1%}  {value * 1e3:7.1f} ms  {key}")
    out.append("  top functions by own time:")
    for (filename, line, func), (_cc, ncalls, tottime, _ct, _callers) in sorted(
        stats.items(), key=lambda kv: -kv[1][2]
    )[:top]:
        where = "/".join(filename.replace("\\", "/").split("/")[-2:]) + f":{line}"
        where = "builtin" if filename == "~" else where
        out.append(
            f"  {tottime / total:6.1%}  {tottime * 1e3:7.1f} ms  {ncalls:>7,} calls  {func}"
            f"  ({where})"
        )
    return out


def layer_costs(events_count: int) -> dict[str, dict[str, float]]:
    """Seconds each pure layer takes alone on the exact response bytes in 64 KiB reads
    (the read size of sseio's adapters), best of 5, no profiler: h11 framing through
    sseio's ``Exchange``, the SSE decoder, ``json.loads``, and the ``Dechunker`` above
    as the cost of a ``find``-based replacement for h11's body framing."""
    from sseio import SSEDecoder
    from sseio._http.exchange import Exchange
    from sseio._http.request import prepare_request

    events = render_events(events_count)
    request = prepare_request("POST", "http://127.0.0.1:1" + PATH, json=REQUEST_JSON)
    datas = [e[6:-2].decode() for e in events[:-1]]

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    costs = {}
    for mode in MODES:
        body = frame_chunked(events, mode)
        response = RESPONSE_HEAD + body
        reads = [response[i : i + 65536] for i in range(0, len(response), 65536)]
        body_reads = [body[i : i + 65536] for i in range(0, len(body), 65536)]

        def h11_framing(reads: list[bytes] = reads) -> list[bytes]:
            exchange = Exchange(request)
            exchange.request_bytes()
            return [exchange.receive(r) for r in reads]

        def dechunk(body_reads: list[bytes] = body_reads) -> list[bytes]:
            decoder = Dechunker()
            return [decoder.feed(r) for r in body_reads]

        pieces = h11_framing()
        assert b"".join(dechunk()) == b"".join(pieces)

        def decode(pieces: list[bytes] = pieces) -> int:
            decoder = SSEDecoder()
            return sum(len(decoder.feed(p)) for p in pieces)

        def loads(datas: list[str] = datas) -> None:
            for d in datas:
                json.loads(d)

        costs[mode] = {
            "h11": best(h11_framing),
            "dechunk": best(dechunk),
            "decoder": best(decode),
            "json": best(loads),
        }
    return costs


def profile_section(
    script: str, base: str, plan: Plan, medians: dict[tuple[str, str], float]
) -> Iterator[str]:
    """cProfile of the sseio clients, the pure layers timed alone, the projected gain of
    a find()-based chunked decoder, and what sseio holds at its concurrency memory peak.
    ``medians``: (client, mode) → events/s from the run (measured here when empty)."""
    yield "cProfile of one sseio client process (the timed stream only). cProfile adds a"
    yield "fixed cost to every Python call, so layers made of many small calls (h11) look"
    yield "heavier here than they are; the second part times each layer without a profiler."
    for name in ("sseio asyncio", "sseio blocking"):
        for mode in MODES:
            yield ""
            yield from profile_client(script, base, name, mode, plan.events)
    costs = layer_costs(plan.events)
    per = 1e6 / (plan.events + 1)
    yield ""
    yield f"Pure layers alone on the {plan.events:,}-event response in 64 KiB reads, best of 5:"
    yield ""
    yield (
        f"  {'framing':<10}{'h11 via Exchange':>22}{'find() de-chunker':>22}"
        f"{'SSE decoder':>16}{'json.loads':>14}"
    )
    for mode, c in costs.items():
        yield (
            f"  {mode:<10}{c['h11'] * 1e3:>9.1f} ms {c['h11'] * per:>5.2f} us/ev"
            f"{c['dechunk'] * 1e3:>9.1f} ms {c['dechunk'] * per:>5.2f} us/ev"
            f"{c['decoder'] * 1e3:>13.1f} ms{c['json'] * 1e3:>11.1f} ms"
        )
    yield ""
    yield "Projected: sseio with h11's chunked body framing replaced by a find()-based one"
    yield "(per-event time from the run, minus h11's framing cost, plus the de-chunker's):"
    yield ""
    for name in SSEIO:
        for mode in MODES:
            rate = medians.get((name, mode))
            if rate is None:
                sample = run_client(script, name, base, mode, plan.events, 1, CLIENT_TIMEOUT)
                rate = sample.events / sample.elapsed if sample.ok else 0.0
            if not rate:
                continue
            c = costs[mode]
            seconds = plan.events / rate - c["h11"] + c["dechunk"]
            framing_share = c["h11"] / (plan.events / rate)
            yield (
                f"  {name:<15} {mode:<10} {rate:>9,.0f} ev/s now, h11 framing "
                f"{framing_share:5.1%} of the time -> {plan.events / seconds:>9,.0f} ev/s "
                f"({plan.events / seconds / rate:.2f}x)"
            )
    yield ""
    yield (
        f"sseio asyncio, {plan.streams} streams x {plan.stream_events} events: allocations "
        "alive at the sampled tracemalloc peak, by line"
    )
    for mode in MODES:
        sample = run_client(
            script,
            "sseio asyncio",
            base,
            mode,
            plan.stream_events,
            plan.streams,
            CONCURRENT_TIMEOUT,
            ("--tracemalloc",),
        )
        sites = sample.extra.get("peak_sites")
        if not sample.ok or not sites:
            yield f"  {mode}: tracemalloc run failed: {sample.error}"
            continue
        yield (
            f"  {mode} framing: traced peak {mib(sites['traced_peak'])}, sampled "
            f"{mib(sites['sampled'])}:"
        )
        for site in sites["top"]:
            yield (
                f"    {mib(site['size']):>9}  {site['count']:>7,} blocks  "
                f"{site['where']:<32} {site.get('code', '')}"
            )


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    # The server and the clients are this script too; they skip argparse and the rest.
    if argv[:1] == ["--serve"]:
        serve(int(argv[1]), [int(count) for count in argv[2:]])
        return 0
    if argv[:1] == ["--client"]:
        return client_main(argv[1:])

    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK.repeats} rounds and {QUICK.concurrent_repeats} concurrency round, no profile",
    )
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    ap.add_argument(
        "--render", metavar="FILE", help="print the report of a run saved with --json; run nothing"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="only profile the sseio clients (time and memory) and time the pure layers",
    )
    ap.add_argument(
        "--no-profile",
        action="store_true",
        help="do not append the profile when a full run misses a target",
    )
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render, encoding="utf-8") as fh:
            doc = json.load(fh)
        print("\n".join(render(doc, args.markdown)))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    script = str(Path(__file__).resolve())
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    with SseioSnapshot() as snapshot, Server(script) as server:
        log(f"server ready at {server.base} in {time.perf_counter() - started:.1f} s")
        if args.profile:
            print(f"sseio source: {snapshot.source}\n")
            print("\n".join(profile_section(script, server.base, plan, {})))
            return 0
        single, concurrent = run_all(script, server.base, plan, log)
        doc = {
            "plan": plan.name,
            "seconds": time.perf_counter() - started,
            "versions": versions(),
            "sseio_source": snapshot.source,
            "single": [
                {"client": r.client, "mode": r.mode, "samples": [s.as_dict() for s in r.samples]}
                for r in single.values()
            ],
            "concurrent": [
                {"client": r.client, "mode": r.mode, "samples": [s.as_dict() for s in r.samples]}
                for r in concurrent.values()
            ],
            "profile": None,
        }
        _, missed = report(single, concurrent, plan, False, doc)
        if any(missed.values()) and not (args.quick or args.no_profile):
            log("a target was missed: profiling the sseio clients")
            medians = {key: row.events_s for key, row in single.items() if row.ok}
            doc["profile"] = list(profile_section(script, server.base, plan, medians))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    print("\n".join(render(doc, args.markdown)))
    return 0


def render(doc: dict[str, Any], markdown: bool) -> list[str]:
    """The whole report of a run, from its JSON document."""
    plan = FULL if doc["plan"] == "full" else QUICK
    single = {(c, m): Row(c, m) for m in MODES for c in SINGLE}
    concurrent = {(c, m): Row(c, m) for m in MODES for c in CONCURRENT}
    for rows, key in ((single, "single"), (concurrent, "concurrent")):
        for entry in doc[key]:
            rows[(entry["client"], entry["mode"])].samples = [
                Sample(**sample) for sample in entry["samples"]
            ]
    lines, missed = report(single, concurrent, plan, markdown, doc)
    if doc.get("profile"):
        lines += ["", "### Profile" if markdown else "== Profile ==", ""]
        lines += ["```", *doc["profile"], "```"] if markdown else doc["profile"]
    elif any(missed.values()):
        lines += ["", "(a target was missed: run with --profile to see where the time goes)"]
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
