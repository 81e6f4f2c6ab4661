"""Streams benchmark: what a gateway pays per stream, sseio against its peers, over loopback.

Run ``python benchmarks/bench_streams.py [--quick] [--markdown] [--json FILE]
[--only setup|latency|size]``.

Three measurements, each of sseio's clients against aiohttp-sse-client2 (on an
``aiohttp.ClientSession`` with ``TCPConnector(limit=0)``) and httpx-sse (on an
``httpx.AsyncClient`` with no connection limit, or an ``httpx.Client``):

``setup``    N idle streams (1,000 / 5,000 / 10,000) opened at once in one process:
             the seconds until every stream holds its first event, and the RSS
             they add, in KiB per idle stream (``/proc/self/statm`` after a
             ``gc.collect()``, minus the same before them).
``latency``  one stream paced by the server at one event per 10 ms, each event
             carrying the server's ``time.monotonic_ns()`` when it was sent: the
             delivery latency to the application (p50, p99, max), with 0 and with
             1,000 idle streams of the same library open in the same process.
``size``     one stream of 100 B, 10 KiB, 1 MiB and 8 MiB events (one ``data:``
             line of ASCII each, about 64 MiB per run) written as fast as the
             socket takes it: events/s and MB/s.

sseio runs as ``sseio.AsyncClient().stream("GET", url)`` (one client with its
connection pool, as a gateway holds it) in plain asyncio tasks under
``asyncio.run`` (as the asyncio peers run) and in a trio nursery under
``trio.run``, and as ``sseio.connect_sse`` (blocking).  Each runtime spawns its
tasks natively: an anyio task group would add anyio's own cost per task (1.5 to
2.5 KiB, measured) to whichever library ran in it.  Every library gets the same 60 s
connect and read timeouts and no reconnect.

Guarantees: every client run is a fresh process of its own, started by fork from
a parent that runs no threads, importing a snapshot of ``sseio/`` taken when the
run starts (``bench_transport.SseioSnapshot``).  Runs are interleaved round-robin
across clients, the order rotating each round, and every figure is a median over
the rounds.  Every client checks what it got (events, sizes, order, the closing
``[DONE]``); a wrong run is FAIL and an exception CRASH, never a number.  Both
servers are processes of their own (one thread, ``selectors``, non-blocking
sockets) on 127.0.0.1: one holds the idle connections, the other serves the
paced and sized streams, so the paced stream's server is never busy with 1,000
idle ones.  Every wait has a timeout, every child is killed in a ``finally``, the
servers also exit when their parent's pipe closes, and every process raises its
open-file limit to the hard limit.
"""

# Only light standard-library modules at the top: the client processes import this file.
from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import resource
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import bench_transport as transport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

    OpenStream = Callable[[str], Any]
    """``open_stream(url)``: a context manager (async, or not for the blocking clients)
    whose value iterates the stream's events, each with a ``.data`` string."""
    Session = Callable[[], contextlib.AbstractAsyncContextManager[OpenStream]]

# --------------------------------------------------------------------------- workload

IO_TIMEOUT = 60.0
"""The connect and read timeout every library is given (so each arms its read timers)."""
LIMIT = 16 * 2**20
"""sseio's ``max_line_size`` and ``max_event_size``, and aiohttp's best ``read_bufsize``."""
IDLE_DATA = "hello"
BACKGROUND = 1_000
"""Idle streams open beside the paced stream in the loaded latency runs."""
PACED_EVERY_NS = 10_000_000
WARM_PACED = 20
"""Events of the warm-up paced stream (at one per millisecond) before a latency run."""
SIZES = (100, 10 * 1024, 2**20, 8 * 2**20)
WARM_SIZED = 2
"""Events of the warm-up stream before a size run (of the run's own size)."""
MIN_SIZED = 16_384
"""Fewest events of a timed size run: enough that a 10 KiB stream lasts about half a
second, so one scheduling hiccup on a shared machine does not decide the figure."""
SETUP_WAIT = 240.0
"""Seconds a client waits for every idle stream's first event (httpx-sse async takes
about 105 s for 10,000 here: httpcore's pool walks every connection for each request)."""
SLOW_RUN = 30.0
"""A client whose run of a workload took longer than this (the whole process) runs that
workload only once: its figure is that run's, and the ``runs`` column says so."""
SIZE_TIMEOUT = 240.0
"""Seconds a size run's process may take (the slowest takes about 15 s)."""
TEXT = b"the quick brown fox jumps over the lazy dog 0123456789 "

HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream\r\n"
    b"cache-control: no-store\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
LAST_CHUNK = b"0\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
READY = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def chunk(event: bytes) -> bytes:
    """One event as one HTTP chunk, as a server that flushes per event sends it."""
    return b"%x\r\n%s\r\n" % (len(event), event)


DONE_CHUNK = chunk(b"data: [DONE]\n\n")


def sized_body(size: int, count: int) -> bytes:
    """``count`` events of ``size`` bytes of ASCII data, then ``[DONE]`` and the last chunk."""
    data = (TEXT * (size // len(TEXT) + 1))[:size]
    return chunk(b"data: " + data + b"\n\n") * count + DONE_CHUNK + LAST_CHUNK


def size_count(size: int, payload: int) -> int:
    """Events of a timed size run: ``payload`` bytes of them, at least ``MIN_SIZED`` below 1 MiB."""
    return max(2, payload // size, MIN_SIZED if size < 2**20 else 2)


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the new limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --------------------------------------------------------------------------- server


class _Peer:
    """One server connection: unparsed request bytes, bytes still to send, pacing."""

    __slots__ = ("inbox", "out", "paced", "sock", "writing")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = b""
        self.out: list[memoryview] = []
        self.writing = False
        self.paced: list[int] | None = None  # [next seq, count, due ns, interval ns]


class StreamsServer:
    """The server process's loop: ``GET /idle`` (one event, then silence, the connection
    kept open), ``GET /paced?n=N&every=NS`` (N events, one every NS ns, each data
    ``"SEQ SENT_NS"``), ``GET /size?bytes=S&n=N`` (a pre-rendered body) and ``GET
    /ready``.  Every finite stream ends with ``data: [DONE]`` and the last chunk."""

    def __init__(self, fd: int, bodies: dict[tuple[int, int], bytes]) -> None:
        import selectors

        self.selectors = selectors
        self.bodies = bodies
        self.listener = socket.socket(fileno=fd)
        self.listener.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.listener, selectors.EVENT_READ, "accept")
        self.sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")
        self.paced: set[_Peer] = set()

    def run(self) -> None:
        timeout = None
        while True:
            for key, _mask in self.sel.select(timeout):
                if key.data == "accept":
                    self.accept()
                elif key.data == "parent":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return
                elif key.data.writing:
                    self.flush(key.data)
                else:
                    self.read(key.data)
            timeout = self.tick()

    def accept(self) -> None:
        """Take every connection waiting, so that the accept queue never overflows."""
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = _Peer(sock)
            self.sel.register(sock, self.selectors.EVENT_READ, peer)

    def read(self, peer: _Peer) -> None:
        try:
            data = peer.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data or len(peer.inbox) > 1 << 16:
            self.drop(peer)
            return
        peer.inbox += data
        while peer.sock.fileno() >= 0 and b"\r\n\r\n" in peer.inbox:
            head, _, peer.inbox = peer.inbox.partition(b"\r\n\r\n")
            self.answer(peer, head.split(b"\r\n", 1)[0].decode("latin-1"))

    def answer(self, peer: _Peer, request_line: str) -> None:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(request_line.split(" ")[1] if " " in request_line else "")
        try:
            query = {name: int(values[0]) for name, values in parse_qs(parts.query).items()}
        except ValueError:
            query = {}
        if parts.path == "/idle":
            self.write(peer, HEAD + chunk(f"data: {IDLE_DATA}\n\n".encode()))
        elif parts.path == "/paced" and peer.paced is None and {"n", "every"} <= set(query):
            peer.paced = [0, query["n"], time.monotonic_ns(), query["every"]]
            self.paced.add(peer)
            self.write(peer, HEAD)
        elif parts.path == "/size" and (query.get("bytes"), query.get("n")) in self.bodies:
            self.write(peer, HEAD + self.bodies[(query["bytes"], query["n"])])
        else:
            self.write(peer, READY if parts.path == "/ready" else NOT_FOUND)
            self.drop(peer)

    def tick(self) -> float | None:
        """Send every paced event that is due (stamped just before it is written);
        return the seconds until the next one is."""
        next_due = None
        for peer in list(self.paced):
            state = peer.paced
            assert state is not None
            while state[0] < state[1] and state[2] <= time.monotonic_ns():
                self.write(peer, chunk(b"data: %d %d\n\n" % (state[0], time.monotonic_ns())))
                state[0] += 1
                state[2] += state[3]
            if state[0] == state[1]:
                self.write(peer, DONE_CHUNK + LAST_CHUNK)
                self.paced.discard(peer)
                peer.paced = None
            elif peer in self.paced:
                next_due = state[2] if next_due is None else min(next_due, state[2])
        return None if next_due is None else max(0.0, (next_due - time.monotonic_ns()) / 1e9)

    def write(self, peer: _Peer, data: bytes) -> None:
        if peer.sock.fileno() >= 0:
            peer.out.append(memoryview(data))
            self.flush(peer)

    def flush(self, peer: _Peer) -> None:
        """Send what the socket takes; watch for writability while bytes are left."""
        while peer.out:
            try:
                sent = peer.sock.send(peer.out[0][: 1 << 20])
            except BlockingIOError:
                break
            except OSError:
                self.drop(peer)
                return
            if sent == len(peer.out[0]):
                peer.out.pop(0)
            else:
                peer.out[0] = peer.out[0][sent:]
        if peer.writing != bool(peer.out):
            peer.writing = bool(peer.out)
            mask = self.selectors.EVENT_WRITE if peer.writing else self.selectors.EVENT_READ
            self.sel.modify(peer.sock, mask, peer)

    def drop(self, peer: _Peer) -> None:
        if peer.sock.fileno() >= 0:
            self.sel.unregister(peer.sock)
            peer.sock.close()
        self.paced.discard(peer)


def serve(fd: int, pairs: list[int]) -> None:
    """The server process: ``pairs`` is (event size, count) pairs of bodies to render."""
    raise_fd_limit()
    wanted = set(zip(pairs[::2], pairs[1::2], strict=True))
    bodies = {(size, count): sized_body(size, count) for size, count in wanted}
    StreamsServer(fd, bodies).run()


def somaxconn() -> int | None:
    try:
        with open("/proc/sys/net/core/somaxconn", encoding="ascii") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return None


class Server(transport.Server):
    """``bench_transport.Server`` for this script's server: the largest backlog the kernel
    allows, and ready once ``GET /ready`` is answered (after every body is rendered)."""

    backlog = 65535

    def __init__(self, script: str, pairs: Iterable[tuple[int, int]] = ()) -> None:
        super().__init__(script, [n for pair in pairs for n in pair])

    def _wait_ready(self, port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while data := sock.recv(65536):
                reply += data
        if not reply.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"the server is not answering as expected: {reply[:80]!r}")


# --------------------------------------------------------------------------- consumers


class Paced:
    """The paced stream as the application sees it: each event's delivery latency."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.latencies: list[int] = []
        self.out_of_order = 0
        self.done = False

    def take(self, data: str) -> bool:
        """Note one event; ``True`` at ``[DONE]``."""
        now = time.monotonic_ns()
        if data == "[DONE]":
            self.done = True
            return True
        seq, _, sent = data.partition(" ")
        self.out_of_order += int(seq) != len(self.latencies)
        self.latencies.append(now - int(sent))
        return False

    def report(self) -> dict[str, Any]:
        got = sorted(self.latencies)
        problems = [
            f"got {len(got)} events, expected {self.count}" if len(got) != self.count else "",
            f"{self.out_of_order} events out of order" if self.out_of_order else "",
            "" if self.done else "no [DONE]",
        ]

        def rank(q: float) -> float:  # nearest rank, in ms
            return got[max(0, math.ceil(q * len(got)) - 1)] / 1e6 if got else float("nan")

        return {"events": len(got), "p50": rank(0.5), "p99": rank(0.99), "max": rank(1.0)} | (
            _verdict(problems)
        )


class Sized:
    """A stream of same-size events: counts them, and stops the clock at ``[DONE]``."""

    def __init__(self, size: int, count: int) -> None:
        self.size = size
        self.count = count
        self.events = 0
        self.wrong = 0
        self.started = time.perf_counter()
        self.elapsed = 0.0

    def take(self, data: str) -> bool:
        if len(data) == self.size:
            self.events += 1
            return False
        if data == "[DONE]":
            self.elapsed = time.perf_counter() - self.started
            return True
        self.wrong += 1
        return False

    def report(self) -> dict[str, Any]:
        problems = [
            f"got {self.events} events, expected {self.count}" if self.events != self.count else "",
            f"{self.wrong} events of the wrong size" if self.wrong else "",
            "" if self.elapsed else "no [DONE]",
        ]
        return {"events": self.events, "elapsed": self.elapsed} | _verdict(problems)


def _verdict(problems: list[str]) -> dict[str, Any]:
    found = [p for p in problems if p]
    return {"ok": not found, "error": "; ".join(found)}


class Arrivals:
    """The idle streams' first events; ``all_in`` is set when the last one arrives, or
    at the first failure."""

    def __init__(self, count: int, all_in: Any) -> None:
        self.left = count
        self.all_in = all_in
        self.errors: list[str] = []
        self.closing = False

    def arrived(self, data: str) -> None:
        if data != IDLE_DATA:
            self.failed(f"an idle stream got {data[:40]!r}")
        self.left -= 1
        if self.left == 0:
            self.all_in.set()

    def failed(self, error: str) -> None:
        if not self.closing:
            self.errors.append(error)
            self.all_in.set()


async def idle(open_stream: OpenStream, url: str, arrivals: Arrivals) -> None:
    """One idle stream: note its first event, then park in ``async for`` until cancelled."""
    try:
        async with open_stream(url) as events:
            async for event in events:
                arrivals.arrived(event.data)
        arrivals.failed("an idle stream ended")
    except Exception as exc:
        arrivals.failed(describe(exc))


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, or of the first leaf of an exception group."""
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


# --------------------------------------------------------------------------- runtimes


class AsyncKit:
    """What the workloads need of an event loop: run, events, timeouts, task spawning."""

    async def drain(self, open_stream: OpenStream, url: str, consumer: Paced | Sized) -> None:
        async with open_stream(url) as events:
            async for event in events:
                if consumer.take(event.data):
                    return


class TrioKit(AsyncKit):
    """trio's own runtime: ``trio.run``, trio events and a nursery."""

    def run(self, main: Callable[..., Any], *args: Any) -> Any:
        import trio

        return trio.run(main, *args)

    def event(self) -> Any:
        import trio

        return trio.Event()

    async def wait(self, event: Any, timeout: float) -> None:
        import trio

        with trio.fail_after(timeout):
            await event.wait()

    @contextlib.asynccontextmanager
    async def tasks(self) -> AsyncIterator[Callable[..., None]]:
        """``spawn(fn, *args)`` starts a task; leaving cancels every one and waits."""
        import trio

        async with trio.open_nursery() as nursery:
            try:
                yield nursery.start_soon
            finally:
                nursery.cancel_scope.cancel()


class AsyncioKit(AsyncKit):
    """asyncio's own runtime: ``asyncio.run`` and plain tasks (every asyncio row)."""

    def run(self, main: Callable[..., Any], *args: Any) -> Any:
        import asyncio

        return asyncio.run(main(*args))

    def event(self) -> Any:
        import asyncio

        return asyncio.Event()

    async def wait(self, event: Any, timeout: float) -> None:
        import asyncio

        await asyncio.wait_for(event.wait(), timeout)

    @contextlib.asynccontextmanager
    async def tasks(self) -> AsyncIterator[Callable[..., None]]:
        import asyncio

        running: list[asyncio.Task[None]] = []
        try:
            yield lambda fn, *args: running.append(asyncio.create_task(fn(*args)))
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)


class SyncKit:
    """The blocking clients run the same workload coroutines: every call under them
    blocks, so a coroutine never suspends and one ``send`` runs it to its end."""

    def run(self, main: Callable[..., Any], *args: Any) -> Any:
        coro = main(*args)
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value
        coro.close()
        raise RuntimeError("a blocking workload suspended")

    async def drain(self, open_stream: OpenStream, url: str, consumer: Paced | Sized) -> None:
        with open_stream(url) as events:
            for event in events:
                if consumer.take(event.data):
                    return


# --------------------------------------------------------------------------- clients


def _sseio(blocking: bool = False) -> Session:
    import sseio

    timeout = sseio.Timeout(connect=IO_TIMEOUT, read=IO_TIMEOUT, write=IO_TIMEOUT)
    # [DONE] comes as an ordinary event, as it does for the peers; limits for 8 MiB events.
    options: dict[str, Any] = {
        "done_sentinel": None,
        "max_line_size": LIMIT,
        "max_event_size": LIMIT,
    }

    @contextlib.asynccontextmanager
    async def pooled() -> AsyncIterator[OpenStream]:
        async with sseio.AsyncClient(timeout=timeout, reconnect=sseio.NO_RECONNECT) as client:
            yield lambda url: client.stream("GET", url, **options)

    @contextlib.asynccontextmanager
    async def each() -> AsyncIterator[OpenStream]:
        yield lambda url: sseio.connect_sse(
            url, timeout=timeout, reconnect=sseio.NO_RECONNECT, **options
        )

    return each if blocking else pooled


def _aiohttp(read_bufsize: int | None = None) -> Session:
    import aiohttp
    from aiohttp_sse_client2 import client as sse_client  # type: ignore[import-untyped]

    def ended() -> None:
        # Called when a body ends (it would sleep and reconnect) or connecting fails.
        raise RuntimeError("aiohttp-sse-client2: the body ended, or connecting failed")

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[OpenStream]:
        timeout = aiohttp.ClientTimeout(
            total=None, connect=IO_TIMEOUT, sock_connect=IO_TIMEOUT, sock_read=IO_TIMEOUT
        )
        buffer = {} if read_bufsize is None else {"read_bufsize": read_bufsize}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector, **buffer) as http:
            yield lambda url: sse_client.EventSource(
                url, session=http, max_connect_retry=0, on_error=ended
            )

    return session


def _httpx_async() -> Session:
    import httpx
    import httpx_sse

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[OpenStream]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=httpx.Timeout(IO_TIMEOUT), limits=limits) as http:

            @contextlib.asynccontextmanager
            async def open_stream(url: str) -> AsyncIterator[Any]:
                async with httpx_sse.aconnect_sse(http, "GET", url) as source:
                    yield source.aiter_sse()

            yield open_stream

    return session


def _httpx_sync() -> Session:
    import httpx
    import httpx_sse

    @contextlib.contextmanager
    def events(http: httpx.Client, url: str) -> Iterator[Any]:
        with httpx_sse.connect_sse(http, "GET", url) as source:
            yield source.iter_sse()

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[OpenStream]:
        with httpx.Client(timeout=httpx.Timeout(IO_TIMEOUT)) as http:
            yield lambda url: events(http, url)

    return session


AIOHTTP = "aiohttp-sse-client2"
AIOHTTP_BIG = "aiohttp-sse-client2 16 MiB buf"
CLIENTS: dict[str, tuple[Callable[[], Any], Callable[[], Session], str]] = {
    "sseio asyncio": (AsyncioKit, _sseio, "sseio.AsyncClient().stream"),
    "sseio trio": (TrioKit, _sseio, "the same under trio"),
    "sseio blocking": (SyncKit, lambda: _sseio(blocking=True), "sseio.connect_sse"),
    AIOHTTP: (AsyncioKit, _aiohttp, "EventSource on a ClientSession"),
    AIOHTTP_BIG: (AsyncioKit, lambda: _aiohttp(LIMIT), "the same, read_bufsize=16 MiB"),
    "httpx-sse async": (AsyncioKit, _httpx_async, "aconnect_sse on an AsyncClient"),
    "httpx-sse sync": (SyncKit, _httpx_sync, "connect_sse on a Client"),
}
ASYNC = ["sseio asyncio", "sseio trio", AIOHTTP, "httpx-sse async"]
SSEIO_ASYNC = ["sseio asyncio", "sseio trio"]
SIZE_CLIENTS = ["sseio asyncio", "sseio trio", "sseio blocking", AIOHTTP, AIOHTTP_BIG]
SIZE_CLIENTS += ["httpx-sse async", "httpx-sse sync"]


# --------------------------------------------------------------------------- workloads


def rss() -> int:
    """This process's resident set size now, in bytes (``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


TCP_COUNTERS = ("TCPSynRetrans", "ListenOverflows", "ListenDrops")


def tcp_counters() -> dict[str, int]:
    """The kernel's SYN retransmit and accept-queue overflow counters (``/proc/net/netstat``)."""
    try:
        with open("/proc/net/netstat", encoding="ascii") as fh:
            lines = [line.split() for line in fh if line.startswith("TcpExt:")]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    values = dict(zip(lines[0][1:], map(int, lines[1][1:]), strict=False))
    return {name: values.get(name, 0) for name in TCP_COUNTERS}


async def open_idle(
    kit: Any, spawn: Any, open_stream: OpenStream, url: str, count: int
) -> Arrivals:
    """Start ``count`` idle streams at once; return when each holds its first event."""
    arrivals = Arrivals(count, kit.event())
    for _ in range(count):
        spawn(idle, open_stream, url, arrivals)
    await kit.wait(arrivals.all_in, SETUP_WAIT)
    if arrivals.errors:
        raise RuntimeError(f"{len(arrivals.errors)} idle streams failed: {arrivals.errors[0]}")
    return arrivals


async def setup_run(kit: Any, session: Session, url: str, count: int) -> dict[str, Any]:
    """One warm-up stream, then ``count`` idle streams: seconds and RSS added."""
    async with session() as open_stream:
        async with kit.tasks() as spawn:
            await open_idle(kit, spawn, open_stream, url, 1)
        gc.collect()
        before, counters = rss(), tcp_counters()
        async with kit.tasks() as spawn:
            started = time.perf_counter()
            arrivals = await open_idle(kit, spawn, open_stream, url, count)
            elapsed = time.perf_counter() - started
            gc.collect()
            after, counters_after = rss(), tcp_counters()
            arrivals.closing = True
    kernel = {name: counters_after[name] - counters[name] for name in counters}
    return {
        "ok": True,
        "error": "",
        "elapsed": elapsed,
        "events": count,
        "rss_before": before,
        "rss_after": after,
        "kib_per_stream": (after - before) / count / 1024,
        **kernel,
    }


async def latency_run(
    kit: Any, session: Session, idle_url: str, paced_url: str, background: int, events: int
) -> dict[str, Any]:
    """A warm-up paced stream, ``background`` idle streams, then the measured paced one."""
    async with session() as open_stream:
        warm = Paced(WARM_PACED)
        await kit.drain(open_stream, f"{paced_url}?n={WARM_PACED}&every=1000000", warm)
        if not warm.report()["ok"]:
            return warm.report()
        paced = Paced(events)
        url = f"{paced_url}?n={events}&every={PACED_EVERY_NS}"
        if not background:
            await kit.drain(open_stream, url, paced)
            return paced.report()
        async with kit.tasks() as spawn:
            arrivals = await open_idle(kit, spawn, open_stream, idle_url, background)
            await kit.drain(open_stream, url, paced)
            arrivals.closing = True
    return paced.report()


async def size_run(kit: Any, session: Session, url: str, size: int, count: int) -> dict[str, Any]:
    """A warm-up stream of two events of ``size``, then the timed one of ``count``."""
    async with session() as open_stream:
        warm = Sized(size, WARM_SIZED)
        await kit.drain(open_stream, f"{url}?bytes={size}&n={WARM_SIZED}", warm)
        if not warm.report()["ok"]:
            return warm.report()
        timed = Sized(size, count)
        await kit.drain(open_stream, f"{url}?bytes={size}&n={count}", timed)
    return timed.report()


def client_main(argv: list[str]) -> int:
    """One client process: ``NAME BASE WORKLOAD A B [PACED_BASE]`` (the argument list
    ``bench_transport.run_client`` builds: A is N, paced events or event size; B is N,
    background streams or event count).  Prints one JSON line."""
    name, base, workload, a, b = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    raise_fd_limit()
    signal.alarm(int(SETUP_WAIT * 3))  # a last resort; the parent has its own timeout
    make_kit, make_session, _what = CLIENTS[name]
    kit, session = make_kit(), make_session()
    try:
        if workload == "setup":
            report = kit.run(setup_run, kit, session, base + "/idle", a)
        elif workload == "latency":
            report = kit.run(latency_run, kit, session, base + "/idle", argv[5] + "/paced", b, a)
        else:
            report = kit.run(size_run, kit, session, base + "/size", a, b)
    except Exception as exc:
        report = {"ok": False, "error": describe(exc), "crash": True}
    report.update(peak_rss=transport.max_rss(), vm_hwm=transport.vm_hwm())
    if "sseio" in sys.modules:
        report["sseio_from"] = os.path.dirname(sys.modules["sseio"].__file__ or "")
    print(json.dumps(report), flush=True)
    return 0


# --------------------------------------------------------------------------- orchestration


class Plan:
    def __init__(
        self, name: str, rounds: int, counts: tuple[int, ...], paced: int, payload: int
    ) -> None:
        self.name = name
        self.rounds = rounds
        self.counts = counts
        self.paced = paced
        self.payload = payload


FULL = Plan("full", rounds=3, counts=(1_000, 5_000, 10_000), paced=1_000, payload=64 * 2**20)
QUICK = Plan("quick", rounds=1, counts=(1_000,), paced=300, payload=16 * 2**20)
SECTIONS = ("setup", "latency", "size")


class Workload:
    """One cell of the plan: a section, its parameter, and the clients that run it."""

    def __init__(self, section: str, value: int, clients: list[str]) -> None:
        self.section = section
        self.value = value  # N idle streams, background streams, or event size
        self.clients = clients

    @property
    def key(self) -> str:
        return f"{self.section} {self.value}"


def workloads(plan: Plan, only: list[str]) -> list[Workload]:
    out = [Workload("setup", n, ASYNC) for n in plan.counts]
    out += [Workload("latency", 0, [*ASYNC, "sseio blocking"])]
    out += [Workload("latency", BACKGROUND, ASYNC)]
    out += [Workload("size", size, SIZE_CLIENTS) for size in SIZES]
    return [work for work in out if work.section in only]


def run_one(
    script: str, plan: Plan, work: Workload, name: str, bases: dict[str, str]
) -> transport.Sample:
    """One client process for one workload (killed when its timeout is up)."""
    run = transport.run_client
    if work.section == "setup":
        timeout = SETUP_WAIT + 120
        return run(script, name, bases["idle"], "setup", work.value, work.value, timeout)
    if work.section == "latency":
        timeout = plan.paced * PACED_EVERY_NS / 1e9 + SETUP_WAIT
        extra = (bases["stream"],)
        return run(script, name, bases["idle"], "latency", plan.paced, work.value, timeout, extra)
    count = size_count(work.value, plan.payload)
    return run(script, name, bases["stream"], "size", work.value, count, SIZE_TIMEOUT)


def run_all(
    script: str, plan: Plan, works: list[Workload], bases: dict[str, str], log: Callable[..., None]
) -> dict[str, dict[str, transport.Row]]:
    """Every run of the plan, interleaved: workload key → client → Row.  A run slower
    than ``SLOW_RUN`` is not repeated."""
    rows = {w.key: {c: transport.Row(c, w.key) for c in w.clients} for w in works}
    slow: set[tuple[str, str]] = set()
    for round_ in range(plan.rounds):
        mark = time.perf_counter()
        for index, work in enumerate(works):
            for name in transport.rotate(work.clients, round_ + index):
                if (work.key, name) in slow:
                    continue
                started = time.perf_counter()
                sample = run_one(script, plan, work, name, bases)
                sample.extra["wall"] = time.perf_counter() - started
                if sample.extra["wall"] > SLOW_RUN:
                    slow.add((work.key, name))
                rows[work.key][name].samples.append(sample)
                if not sample.ok:
                    log(f"  {name} / {work.key}: {'CRASH' if _crashed(sample) else 'FAIL'}")
                    log(f"    {sample.error}")
        log(f"round {round_ + 1}/{plan.rounds}: {time.perf_counter() - mark:.1f} s")
    return rows


def _crashed(sample: transport.Sample) -> bool:
    return bool(sample.extra.get("crash"))


# --------------------------------------------------------------------------- report


def med(row: transport.Row, key: str) -> float:
    """The median of one reported figure over a row's good samples."""
    import statistics

    values = [s.extra[key] for s in row.good if s.extra.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def mb_s(row: transport.Row, size: int) -> float:
    return med(row, "events_s") * size / 1e6


def status(row: transport.Row) -> str | None:
    """``None`` for a row whose runs all passed; else FAIL (a wrong result), CRASH (the
    library raised) or "not run"."""
    if row.ok:
        return None
    bad = next((s for s in row.samples if not s.ok), None)
    if bad is None:
        return "not run"
    return "CRASH" if _crashed(bad) else "FAIL"


def with_failures(lines: list[str], rows: dict[str, transport.Row]) -> list[str]:
    """A table, then one line per FAIL or CRASH row with its first error."""
    notes = [f"  {r.client}: {status(r)}: {r.error}"[:160] for r in rows.values() if not r.ok]
    return [*lines, *([""] if notes else []), *notes]


def ratio(ours: float, theirs: float) -> str:
    unknown = math.isnan(ours) or math.isnan(theirs) or not theirs
    return "n/a" if unknown else f"{ours / theirs:.2f}x"


def setup_table(rows: dict[str, transport.Row], markdown: bool) -> list[str]:
    peers = [rows[AIOHTTP], rows["httpx-sse async"]]
    headers = ["client", "set-up", "streams/s", "KiB/stream", "RSS before"]
    headers += ["time / aiohttp", "time / httpx", "KiB / aiohttp", "KiB / httpx"]
    headers += ["SYN retx / overflows", "runs"]
    cells = []
    for row in rows.values():
        if (bad := status(row)) is not None:
            cells.append([row.client, bad] + [""] * (len(headers) - 2))
            continue
        seconds, kib = med(row, "elapsed"), med(row, "kib_per_stream")
        line = [row.client, f"{seconds:.2f} s", f"{med(row, 'events') / seconds:,.0f}"]
        line += [f"{kib:.1f}", transport.mib(med(row, "rss_before"))]
        line += [ratio(seconds, med(p, "elapsed")) for p in peers]
        line += [ratio(kib, med(p, "kib_per_stream")) for p in peers]
        retrans = sum(s.extra.get("TCPSynRetrans", 0) for s in row.samples)
        overflows = sum(s.extra.get("ListenOverflows", 0) for s in row.samples)
        cells.append([*line, f"{retrans} / {overflows}", f"{len(row.good)}"])
    return with_failures(transport.table(headers, cells, markdown), rows)


def latency_table(rows: dict[str, transport.Row], markdown: bool) -> list[str]:
    peer = rows[AIOHTTP]
    headers = ["client", "p50", "p99", "max", "events", "p99 / aiohttp", "max / aiohttp", "runs"]
    cells = []
    for row in rows.values():
        if (bad := status(row)) is not None:
            cells.append([row.client, bad] + [""] * (len(headers) - 2))
            continue
        line = [row.client] + [f"{med(row, q):.2f} ms" for q in ("p50", "p99", "max")]
        line.append(f"{med(row, 'events'):,.0f}")
        line += [ratio(med(row, q), med(peer, q)) for q in ("p99", "max")]
        cells.append([*line, f"{len(row.good)}"])
    return with_failures(transport.table(headers, cells, markdown), rows)


def best(rows: dict[str, transport.Row], names: list[str]) -> transport.Row | None:
    good = [rows[n] for n in names if rows[n].ok]
    return max(good, key=lambda r: med(r, "events_s")) if good else None


def size_table(rows: dict[str, transport.Row], size: int, markdown: bool) -> list[str]:
    peers = [best(rows, [AIOHTTP, AIOHTTP_BIG]), best(rows, ["httpx-sse async", "httpx-sse sync"])]
    headers = ["client", "events/s", "MB/s", "/ best aiohttp", "/ best httpx", "runs"]
    cells = []
    for row in rows.values():
        if (bad := status(row)) is not None:
            cells.append([row.client, bad] + [""] * (len(headers) - 2))
            continue
        rate = med(row, "events_s")
        line = [row.client, f"{rate:,.0f}", f"{rate * size / 1e6:,.1f}"]
        line += [ratio(rate, med(p, "events_s")) if p else "n/a" for p in peers]
        cells.append([*line, f"{len(row.good)}"])
    return with_failures(transport.table(headers, cells, markdown), rows)


TARGET_KIB = 12.0
"""sseio's memory target, in KiB per idle stream."""
FLAT = 0.9
"""sseio's MB/s at 8 MiB events must be at least this share of its MB/s at 1 MiB."""


def verdict(label: str, value: str, holds: bool | None) -> str:
    word = "n/a (a run failed)" if holds is None else "holds" if holds else "MISSED"
    return f"  {label:<62} {value:<26} {word}"


def at_most(ours: float, bound: float) -> bool | None:
    """``ours <= bound``, or ``None`` when either is unknown (NaN: a run failed)."""
    return None if math.isnan(ours) or math.isnan(bound) else ours <= bound


def setup_verdicts(cells: dict[str, transport.Row], n: int) -> Iterator[str]:
    ours, peer = med(cells["sseio asyncio"], "elapsed"), med(cells[AIOHTTP], "elapsed")
    yield verdict(
        f"set-up {n:,}: sseio asyncio <= {AIOHTTP}",
        f"{ours:.2f} s vs {peer:.2f} s",
        at_most(ours, peer),
    )
    for name in SSEIO_ASYNC:
        kib = med(cells[name], "kib_per_stream")
        yield verdict(
            f"memory {n:,}: {name} <= {TARGET_KIB:g} KiB/idle stream",
            f"{kib:.1f} KiB",
            at_most(kib, TARGET_KIB),
        )


def latency_verdicts(cells: dict[str, transport.Row]) -> Iterator[str]:
    for name in SSEIO_ASYNC:
        for q in ("p99", "max"):
            ours, peer = med(cells[name], q), med(cells[AIOHTTP], q)
            yield verdict(
                f"latency {q}, {BACKGROUND:,} idle: {name} <= {AIOHTTP}",
                f"{ours:.2f} ms vs {peer:.2f} ms",
                at_most(ours, peer),
            )


def size_verdicts(rows: dict[str, dict[str, transport.Row]]) -> Iterator[str]:
    small, big, huge = (rows.get(f"size {size}") for size in SIZES[1:])
    for name in ("sseio asyncio", "sseio trio", "sseio blocking"):
        if small is not None:
            peer = best(small, [AIOHTTP, AIOHTTP_BIG])
            ours, theirs = med(small[name], "events_s"), med(peer, "events_s") if peer else math.nan
            yield verdict(
                f"10 KiB events: {name} >= best aiohttp-sse",
                f"{ours:,.0f} vs {theirs:,.0f} ev/s",
                at_most(theirs, ours),
            )
        if big is not None and huge is not None:
            mb1, mb8 = mb_s(big[name], SIZES[2]), mb_s(huge[name], SIZES[3])
            yield verdict(
                f"flat: {name} MB/s at 8 MiB >= {FLAT:g}x at 1 MiB",
                f"{mb8:,.0f} vs {mb1:,.0f} MB/s",
                at_most(FLAT * mb1, mb8),
            )


def verdicts(rows: dict[str, dict[str, transport.Row]], plan: Plan) -> list[str]:
    """One line per target: what was measured, the bound, holds or MISSED."""
    out = []
    for n in plan.counts:
        if f"setup {n}" in rows:
            out += setup_verdicts(rows[f"setup {n}"], n)
    if f"latency {BACKGROUND}" in rows:
        out += latency_verdicts(rows[f"latency {BACKGROUND}"])
    out += size_verdicts(rows)
    return out


def load_rows(doc: dict[str, Any]) -> dict[str, dict[str, transport.Row]]:
    """Workload key → client → Row, from a run's JSON document (size runs get events/s)."""
    rows: dict[str, dict[str, transport.Row]] = {}
    for entry in doc["rows"]:
        row = transport.Row(entry["client"], entry["key"])
        row.samples = [transport.Sample(**sample) for sample in entry["samples"]]
        for sample in row.samples:
            if sample.ok and sample.elapsed and entry["key"].startswith("size"):
                sample.extra["events_s"] = sample.events / sample.elapsed
        rows.setdefault(entry["key"], {})[row.client] = row
    return rows


SETUP_LEGEND = (
    "set-up: from starting the N tasks until every stream holds its first event.",
    "KiB/stream: RSS added per idle stream (statm after gc.collect(), minus before).",
    "x / peer: the row's figure over aiohttp-sse-client2's or httpx-sse async's (below",
    "1.00x favours the row). SYN retx / overflows: the kernel's TCPSynRetrans and",
    "ListenOverflows counters over the opening, summed over the rounds (0 / 0: no",
    "connection waited for a 1 s SYN retransmit).",
)
LATENCY_LEGEND = (
    "Latency: the client's time.monotonic_ns() when the application holds the event,",
    "minus the server's just before it wrote it. x / aiohttp: over aiohttp-sse-client2's.",
)
SIZE_LEGEND = (
    "MB/s: 10^6 bytes of event data per second, from opening the stream to holding",
    "[DONE]. / best: over the faster of the two aiohttp-sse-client2 (default, 16 MiB",
    "read buffer) or httpx-sse (async, sync) rows; CRASH is a library's exception.",
)


def section_lines(
    rows: dict[str, dict[str, transport.Row]], plan: Plan, markdown: bool
) -> Iterator[str]:
    def heading(text: str, legend: tuple[str, ...], first: bool) -> list[str]:
        head = f"### {text}" if markdown else f"== {text} =="
        return [head, "", *(legend if first else ()), *([""] if first else [])]

    setups = [n for n in plan.counts if f"setup {n}" in rows]
    for n in setups:
        title = f"Set-up: {n:,} idle streams opened at once, one process"
        yield from heading(title, SETUP_LEGEND, n == setups[0])
        yield from [*setup_table(rows[f"setup {n}"], markdown), ""]
    latencies = [b for b in (0, BACKGROUND) if f"latency {b}" in rows]
    for background in latencies:
        what = f"with {background:,} idle streams open" if background else "alone"
        title = f"Latency: {plan.paced:,} events, one per 10 ms, {what}"
        yield from heading(title, LATENCY_LEGEND, background == latencies[0])
        yield from [*latency_table(rows[f"latency {background}"], markdown), ""]
    sizes = [size for size in SIZES if f"size {size}" in rows]
    for size in sizes:
        count = size_count(size, plan.payload)
        title = f"Event size {size:,} B: {count:,} events, one data: line each"
        yield from heading(title, SIZE_LEGEND, size == sizes[0])
        yield from [*size_table(rows[f"size {size}"], size, markdown), ""]


def report(doc: dict[str, Any], markdown: bool) -> list[str]:
    """The whole report of a run, from its JSON document."""
    plan = FULL if doc["plan"] == "full" else QUICK
    rows = load_rows(doc)
    out = [
        f"# sseio streams benchmark ({plan.name} run, {doc['seconds']:.0f} s)",
        f"# {doc['versions']}",
        f"# sseio source: {doc['sseio_source']}",
        f"# medians of {plan.rounds} rounds, each client run in a fresh process, interleaved; "
        f"idle server listen backlog {doc['backlog']}",
    ]
    if markdown:  # the header as a block, not as Markdown headings
        out = ["```", *(line.removeprefix("# ") for line in out), "```"]
    out += ["", *section_lines(rows, plan, markdown)]
    out += ["### Targets" if markdown else "== Targets ==", ""]
    lines = verdicts(rows, plan)
    return out + (["```", *lines, "```"] if markdown else lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    # The servers and the clients are this script too; they skip argparse and the rest.
    if argv[:1] == ["--serve"]:
        serve(int(argv[1]), [int(n) for n in argv[2:]])
        return 0
    if argv[:1] == ["--client"]:
        return client_main(argv[1:])
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 round, 1,000 streams, short runs")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    ap.add_argument("--render", metavar="FILE", help="print a run saved with --json; run nothing")
    ap.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render, encoding="utf-8") as fh:
            print("\n".join(report(json.load(fh), args.markdown)))
        return 0
    raise_fd_limit()
    plan = QUICK if args.quick else FULL
    doc = run_plan(str(Path(__file__).resolve()), plan, args.only or list(SECTIONS))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print("\n".join(report(doc, args.markdown)))
    return 0


def run_plan(script: str, plan: Plan, only: list[str]) -> dict[str, Any]:
    """Start the servers, run every workload of ``only``, and return the run's document."""

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    works = workloads(plan, only)
    pairs = [(s, n) for s in SIZES for n in (WARM_SIZED, size_count(s, plan.payload))]
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        snapshot = stack.enter_context(transport.SseioSnapshot())
        bases = {}
        if {"setup", "latency"} & set(only):
            bases["idle"] = stack.enter_context(Server(script)).base
        if {"latency", "size"} & set(only):
            bodies = pairs if "size" in only else []
            bases["stream"] = stack.enter_context(Server(script, bodies)).base
        log(f"servers ready at {bases} in {time.perf_counter() - started:.1f} s")
        rows = run_all(script, plan, works, bases, log)
    return {
        "plan": plan.name,
        "seconds": time.perf_counter() - started,
        "versions": transport.versions(),
        "sseio_source": snapshot.source,
        "backlog": f"{Server.backlog} asked, somaxconn {somaxconn()}",
        "rows": [
            {"key": key, "client": row.client, "samples": [s.as_dict() for s in row.samples]}
            for key, cells in rows.items()
            for row in cells.values()
        ],
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
