"""Server benchmark: what SSEServer holds per idle stream, and how fast it fans out.

Run ``python benchmarks/bench_server.py [--quick] [--counts 1000,5000,10000]
[--subscribers 1000] [--events 300] [--only idle|fanout] [--servers ...]``.

Servers, each a process of its own on 127.0.0.1, all on the stdlib asyncio loop
unless named otherwise:

``sseio``          ``SSEServer`` under ``anyio.run`` (asyncio), keepalive 15 s.
``sseio-trio``     the same under trio.
``lean``           ``asyncio`` ``Protocol`` writing the same head and first event,
                   one ``call_later`` keepalive timer per connection, nothing else.
``sse-starlette``  ``EventSourceResponse`` in a Starlette app under uvicorn
                   (``loop="asyncio"``, its h11 protocol), ping 15 s.

``idle``    N connections (1,000 / 5,000 / 10,000, fewer if the open-file limit
            does not allow them) opened by one client process of raw sockets,
            each reading its first event, then idle.  The server's RSS after a
            ``gc.collect()`` (its own ``/proc/self/statm``, asked over HTTP) once
            all of them hold their first event, minus the same before: KiB per
            idle connection.
``fanout``  1,000 subscribers (one client process); the server publishes E
            events, each to every subscriber (sseio and sse-starlette through one
            ``sseio.server.MemoryHub`` whose window holds every event, so no
            subscriber skips; lean by writing each event to every transport).
            Figure: events/s delivered to all (E / seconds from the publish
            request until every subscriber read the last one) and deliveries/s.

Every process raises its open-file limit to the hard limit (the run scales N
down, and says so, when that is too low); every wait has a timeout; every child
is killed in a ``finally`` and also exits when its parent's pipe closes; client
sockets close with a reset so no port is left in TIME_WAIT.  Not part of the
test run.  ``--profile`` runs SSEServer in this process with tracemalloc and
prints where the memory of N idle connections goes.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-store\r\n"
    b"x-accel-buffering: no\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
FIRST = b"data: hello\n\n"
FIRST_SEEN = b"data: hello"
"""How a client knows its first event arrived (sse-starlette ends lines with CRLF)."""
KEEPALIVE = 15.0
PAYLOAD = "x" * 64
"""The data of every published event (the last one is ``end``)."""
MARK = b"data: " + PAYLOAD.encode()
END = b"data: end"
WAIT = 300.0
"""Seconds any one step may take before the run gives up."""


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss() -> int:
    """This process's resident set size, in bytes, after a full collection."""
    gc.collect()
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def watch_parent() -> None:
    """Exit at once when the parent's pipe (our stdin) closes."""

    def wait() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=wait, daemon=True).start()


def query_int(target: str, name: str, default: int) -> int:
    for part in target.partition("?")[2].split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return int(value)
    return default


# --------------------------------------------------------------------------- servers


def serve_sseio(backend: str) -> None:
    import anyio

    from sseio import ServerSentEvent
    from sseio.server import EventStream, MemoryHub, Request, Response, SSEServer

    hub: MemoryHub | None = None

    async def idle() -> Any:
        yield ServerSentEvent(data="hello")
        await anyio.sleep_forever()

    async def subscribed(events: Any) -> Any:
        yield ServerSentEvent(data="hello")
        async for event in events:
            yield event

    async def handler(request: Request) -> EventStream | Response:
        nonlocal hub
        if request.path == "/idle":
            return EventStream(idle())
        if request.path == "/rss":
            return Response.text(str(rss()))
        if request.path == "/hub":
            hub = MemoryHub(max_events=query_int(request.target, "n", 1) + 10, epoch="")
            return Response.text("ok")
        if request.path == "/sub":
            assert hub is not None
            return EventStream(subscribed(hub.subscribe()))
        if request.path == "/publish":
            assert hub is not None
            count = query_int(request.target, "n", 1)
            for n in range(count):
                hub.publish_nowait(PAYLOAD if n < count - 1 else "end")
                await anyio.sleep(0)
            return Response.text("ok")
        return Response.text("not found", status=404)

    async def main() -> None:
        async with SSEServer(handler, keepalive=KEEPALIVE) as server:
            print(server.port, flush=True)
            await anyio.sleep_forever()

    anyio.run(main, backend=backend)


class _LeanStream:
    __slots__ = ("timer", "transport")

    def __init__(self, transport: Any, timer: Any) -> None:
        self.transport = transport
        self.timer = timer


def serve_lean() -> None:
    import asyncio

    keepalive_chunk = chunk(b": keepalive\n\n")
    first = HEAD + chunk(FIRST)
    subscribers: set[Any] = set()

    def plain(body: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)

    async def publish(count: int) -> None:
        event = chunk(MARK + b"\n\n")
        for n in range(count):
            data = event if n < count - 1 else chunk(END + b"\n\n")
            for transport in subscribers:
                transport.write(data)
            await asyncio.sleep(0)

    class Lean(asyncio.Protocol):
        __slots__ = ("buffer", "stream", "transport")

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buffer = b""
            self.stream: _LeanStream | None = None

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            head, found, self.buffer = self.buffer.partition(b"\r\n\r\n")
            if not found:
                self.buffer = head
                return
            target = head.split(b" ", 2)[1].decode()
            path = target.partition("?")[0]
            if path in ("/idle", "/sub"):
                self.transport.write(first)
                loop = asyncio.get_running_loop()
                self.stream = _LeanStream(self.transport, loop.call_later(KEEPALIVE, self.ping))
                if path == "/sub":
                    subscribers.add(self.transport)
            elif path == "/rss":
                self.transport.write(plain(str(rss()).encode()))
            elif path == "/hub":
                self.transport.write(plain(b"ok"))
            elif path == "/publish":
                task = asyncio.ensure_future(publish(query_int(target, "n", 1)))
                task.add_done_callback(lambda _: self.transport.write(plain(b"ok")))
                tasks.add(task)

        def ping(self) -> None:
            assert self.stream is not None
            self.transport.write(keepalive_chunk)
            loop = asyncio.get_running_loop()
            self.stream.timer = loop.call_later(KEEPALIVE, self.ping)

        def connection_lost(self, exc: BaseException | None) -> None:
            subscribers.discard(self.transport)
            if self.stream is not None:
                self.stream.timer.cancel()

    tasks: set[Any] = set()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Lean, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def serve_starlette() -> None:
    import anyio
    import uvicorn
    from sse_starlette import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from sseio.server import MemoryHub

    hub: MemoryHub | None = None

    async def idle(request: Request) -> EventSourceResponse:
        async def events() -> Any:
            yield {"data": "hello"}
            await anyio.sleep_forever()

        return EventSourceResponse(events(), ping=int(KEEPALIVE))

    async def sub(request: Request) -> EventSourceResponse:
        assert hub is not None
        subscription = hub.subscribe()

        async def events() -> Any:
            yield {"data": "hello"}
            async for event in subscription:
                yield {"data": event.data, "id": event.id}

        return EventSourceResponse(events(), ping=int(KEEPALIVE))

    async def memory(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(rss()))

    async def make_hub(request: Request) -> PlainTextResponse:
        nonlocal hub
        hub = MemoryHub(max_events=int(request.query_params.get("n", "1")) + 10, epoch="")
        return PlainTextResponse("ok")

    async def publish(request: Request) -> PlainTextResponse:
        assert hub is not None
        count = int(request.query_params.get("n", "1"))
        for n in range(count):
            hub.publish_nowait(PAYLOAD if n < count - 1 else "end")
            await anyio.sleep(0)
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/idle", idle),
            Route("/sub", sub),
            Route("/rss", memory),
            Route("/hub", make_hub),
            Route("/publish", publish),
        ]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)  # before the port is told: uvicorn starts listening later
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        app, loop="asyncio", http="h11", lifespan="off", log_level="error", backlog=4096
    )
    uvicorn.Server(config).run(sockets=[sock])


SERVERS = {
    "sseio": lambda: serve_sseio("asyncio"),
    "sseio-trio": lambda: serve_sseio("trio"),
    "lean": serve_lean,
    "sse-starlette": serve_starlette,
}


# --------------------------------------------------------------------------- clients


def client(port: int, count: int, path: str) -> None:
    """Open ``count`` raw connections to ``GET path``; print ``ready`` once each holds its
    first event; in ``/sub`` mode, then print ``done <monotonic ns> <events>`` once each
    read the ``end`` event; close everything (with a reset) when stdin closes."""
    sel = selectors.DefaultSelector()
    request = b"GET %s HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n" % path.encode()
    socks: list[socket.socket] = []
    state: dict[int, list[Any]] = {}  # fd -> [received so far, first seen, tail, ended]
    ready = ended = events = 0
    pending = 0
    opened = 0
    parent = sys.stdin.fileno()
    sel.register(parent, selectors.EVENT_READ, None)

    def open_some() -> None:
        nonlocal opened, pending
        while opened < count and pending < 256:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
            state[sock.fileno()] = [b"", False, b"", False]
            sel.register(sock, selectors.EVENT_WRITE, sock)
            opened += 1
            pending += 1

    open_some()
    reported = False
    while True:
        for key, mask in sel.select(1.0):
            sock = key.data
            if sock is None:
                if not os.read(parent, 4096):
                    for one in socks:
                        one.close()
                    return
                continue
            if mask & selectors.EVENT_WRITE:
                sock.send(request)
                sel.modify(sock, selectors.EVENT_READ, sock)
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                print("error a connection closed", flush=True)
                sel.unregister(sock)
                continue
            entry = state[sock.fileno()]
            if not entry[1]:
                entry[0] += data
                if FIRST_SEEN not in entry[0]:
                    continue
                entry[1] = True
                ready += 1
                pending -= 1
                data = entry[0].partition(FIRST_SEEN)[2]
                entry[0] = b""
            if path == "/sub" and data:
                text = entry[2] + data
                events += text.count(MARK)
                if not entry[3] and END in text:
                    entry[3] = True
                    ended += 1
                    events += 1
                    if ended == count:
                        print("done", time.monotonic_ns(), events, flush=True)
                entry[2] = text[-len(MARK) :]
        open_some()
        if ready == count and not reported:
            reported = True
            print("ready", flush=True)


# --------------------------------------------------------------------------- driver


class Child:
    """A child process of this script, with its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.name = " ".join(args)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self, timeout: float = WAIT) -> str:
        assert self.proc.stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            raise RuntimeError(f"{self.name}: no answer")
        return box[0].strip()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def child(*args: str) -> Iterator[Child]:
    one = Child(*args)
    try:
        yield one
    finally:
        one.close()


def get(port: int, target: str) -> bytes:
    """A plain ``GET`` on its own connection; the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n" % target.encode())
        received = b""
        while True:
            head, found, body = received.partition(b"\r\n\r\n")
            if found:
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length" and len(body) >= int(value):
                        return body[: int(value)]
            data = sock.recv(65536)
            if not data:
                return body
            received += data


def idle_run(kind: str, count: int) -> float:
    """KiB of server RSS per idle connection, for ``count`` of them."""
    with child("--server", kind) as server:
        port = int(server.line())
        with child("--client", str(port), "200", "/idle") as warm:  # warm every code path
            warm.line()
        time.sleep(0.5)
        before = int(get(port, "/rss"))
        with child("--client", str(port), str(count), "/idle") as clients:
            answer = clients.line()
            if answer != "ready":
                raise RuntimeError(f"{kind}: {answer}")
            time.sleep(1.0)
            after = int(get(port, "/rss"))
        return (after - before) / count / 1024


def fanout_run(kind: str, subscribers: int, events: int) -> tuple[float, float]:
    """(events/s delivered to every subscriber, deliveries/s)."""
    with child("--server", kind) as server:
        port = int(server.line())
        get(port, f"/hub?n={events}")
        with child("--client", str(port), str(subscribers), "/sub") as clients:
            answer = clients.line()
            if answer != "ready":
                raise RuntimeError(f"{kind}: {answer}")
            time.sleep(0.5)
            start = time.monotonic_ns()
            get(port, f"/publish?n={events}")
            answer = clients.line()
            if not answer.startswith("done"):
                raise RuntimeError(f"{kind}: {answer}")
            _, end, delivered = answer.split()
            if int(delivered) != events * subscribers:
                raise RuntimeError(f"{kind}: {delivered} deliveries, not {events * subscribers}")
        seconds = (int(end) - start) / 1e9
        return events / seconds, events * subscribers / seconds


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "-"


def table(title: str, unit: str, rows: dict[str, float], fmt: str) -> list[str]:
    lines = [f"### {title}", "", f"| server | {unit} | sseio vs it |", "|---|---:|---:|"]
    ours = rows.get("sseio")
    for kind, value in rows.items():
        versus = "-" if ours is None or kind == "sseio" else ratio(ours, value)
        lines.append(f"| {kind} | {value:{fmt}} | {versus} |")
    return [*lines, ""]


def profile(count: int) -> None:
    """Run SSEServer here with tracemalloc; print the top allocation sites of ``count``
    idle connections (snapshot diff, per connection)."""
    import tracemalloc

    import anyio

    from sseio import ServerSentEvent
    from sseio.server import EventStream, Request, SSEServer

    async def idle() -> Any:
        yield ServerSentEvent(data="hello")
        await anyio.sleep_forever()

    async def handler(request: Request) -> EventStream:
        return EventStream(idle())

    async def main() -> None:
        async with SSEServer(handler, keepalive=KEEPALIVE) as server:
            with child("--client", str(server.port), "100", "/idle") as warm:
                await anyio.to_thread.run_sync(warm.line)
            await anyio.sleep(0.2)
            tracemalloc.start(30)
            gc.collect()
            first = tracemalloc.take_snapshot()
            with child("--client", str(server.port), str(count), "/idle") as clients:
                await anyio.to_thread.run_sync(clients.line)
                await anyio.sleep(0.5)
                gc.collect()
                second = tracemalloc.take_snapshot()
            tracemalloc.stop()
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        stats = second.filter_traces(filters).compare_to(first.filter_traces(filters), "traceback")
        total = sum(stat.size_diff for stat in stats)
        print(f"traced: {total / count:.0f} B per idle connection, by the line of sseio that")
        print("allocated it (the innermost sseio frame):")
        sites: dict[tuple[str, str], list[int]] = {}
        for stat in stats:
            frames = list(reversed(stat.traceback))  # innermost first
            ours = next((f for f in frames if "/sseio/" in f.filename), frames[0])
            key = (f"{ours.filename.rsplit('/', 1)[-1]}:{ours.lineno}", "")
            entry = sites.setdefault(key, [0, 0])
            entry[0] += stat.size_diff
            entry[1] += stat.count_diff
        ranked = sorted(sites.items(), key=lambda item: -item[1][0])
        for (ours_at, line_at), (size, blocks) in ranked[:30]:
            print(f"{size / count:7.0f} B {blocks / count:5.1f} blocks  {ours_at}{line_at}")

    anyio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 connections, 100 events")
    parser.add_argument("--counts", default="1000,5000,10000")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--only", choices=["idle", "fanout"], action="append")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--profile", type=int, metavar="N", help="tracemalloc N idle connections")
    parser.add_argument("--server", choices=list(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit = raise_fd_limit()
    if args.server:
        watch_parent()
        SERVERS[args.server]()
        return
    if args.client:
        client(int(args.client[0]), int(args.client[1]), args.client[2])
        return
    if args.profile:
        profile(args.profile)
        return
    counts = [1000] if args.quick else [int(n) for n in args.counts.split(",")]
    events = 100 if args.quick else args.events
    servers = args.servers.split(",")
    usable = limit - 100
    if max(counts) > usable:
        print(f"open-file limit {limit}: connections capped at {usable}")
        counts = sorted({min(n, usable) for n in counts})
    only = args.only or ["idle", "fanout"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, open-file limit {limit}\n")
    if "idle" in only:
        for count in counts:
            rows = {kind: idle_run(kind, count) for kind in servers}
            title = f"Idle streams: {count:,} connections, server RSS added per connection"
            print("\n".join(table(title, "KiB per connection", rows, ".2f")), flush=True)
    if "fanout" in only:
        results = {kind: fanout_run(kind, args.subscribers, events) for kind in servers}
        title = f"Fan-out: {events} events, each to {args.subscribers:,} subscribers"
        lines = table(title, "events/s to all", {k: v[0] for k, v in results.items()}, ",.0f")
        lines[2] = "| server | events/s to all | sseio vs it | deliveries/s |"
        lines[3] = "|---|---:|---:|---:|"
        for n, kind in enumerate(results):
            lines[4 + n] += f" {results[kind][1]:,.0f} |"
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
