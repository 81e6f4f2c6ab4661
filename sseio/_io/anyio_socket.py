"""TCP for the async clients: plain non-blocking sockets, waited on through anyio.

``connect`` opens a TCP connection the way a browser does: an IP literal is
used as it is (no resolver thread); a name is resolved with
``anyio.getaddrinfo`` and its addresses are tried Happy Eyeballs style
(RFC 8305: families interleaved, the next attempt started when the last one
failed or after ``HAPPY_EYEBALLS_DELAY``; the first to connect wins and the
others are closed).  ``SocketStream`` is an ``anyio.abc.ByteStream`` over the
connected socket, so anyio's ``TLSStream`` layers TLS on it.

Why not ``anyio.connect_tcp``: on asyncio its streams sit on a transport, a
protocol, two events and a queue per connection (about 10 KiB), and it
resolves even an IP literal in a worker thread.  Here an idle connection is
the socket and one pending wait; a read that finds data in the kernel takes
it at once.  The guarantees are anyio's: ``receive`` raises
``anyio.EndOfStream`` at the end, ``ClosedResourceError`` when the stream was
closed (from another task too, which wakes a pending wait), ``OSError`` for
the rest; every wait can be cancelled.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

__all__ = ["HAPPY_EYEBALLS_DELAY", "SocketStream", "connect"]

HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before the next address is tried while an attempt is still pending."""


class SocketStream(anyio.abc.ByteStream):
    """A connected non-blocking TCP socket as an anyio byte stream."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def receive_nowait(self, max_bytes: int) -> bytes | None:
        """What the kernel holds (``b""`` at the end), or ``None`` when a read would wait."""
        try:
            return self._sock.recv(max_bytes)
        except BlockingIOError:
            return None

    async def receive_later(self, max_bytes: int) -> bytes:
        """Wait for the socket to be readable, then read (``b""`` at the end)."""
        while True:
            await anyio.wait_readable(self._sock)
            data = self.receive_nowait(max_bytes)
            if data is not None:
                return data

    async def receive(self, max_bytes: int = 65536) -> bytes:
        data = self.receive_nowait(max_bytes)
        if data is None:
            data = await self.receive_later(max_bytes)
        else:
            # Data was already there: let other tasks run, as a wait would have.
            await anyio.lowlevel.checkpoint()
        if not data:
            raise anyio.EndOfStream
        return data

    def send_nowait(self, data: memoryview) -> memoryview:
        """Send what the kernel takes now; the rest (empty when all went)."""
        try:
            while data:
                data = data[self._sock.send(data) :]
        except BlockingIOError:
            pass
        return data

    async def send_later(self, data: memoryview) -> None:
        """Send ``data``, waiting for room as often as needed."""
        while data:
            await anyio.wait_writable(self._sock)
            data = self.send_nowait(data)

    async def send(self, item: bytes) -> None:
        rest = self.send_nowait(memoryview(item))
        if rest:
            await self.send_later(rest)

    async def send_eof(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Close now; a read or write pending in another task ends with ``ClosedResourceError``."""
        if self._sock.fileno() >= 0:
            anyio.notify_closing(self._sock)
            self._sock.close()


async def connect(host: str, port: int) -> SocketStream:
    """A TCP connection to ``host:port`` (an IP literal or a name); ``OSError`` if none."""
    addresses = await _addresses(host, port)
    if len(addresses) == 1:
        return SocketStream(await _attempt(*addresses[0]))
    return SocketStream(await _race(addresses))


async def _addresses(host: str, port: int) -> list[tuple[int, Any]]:
    """(family, socket address) pairs to try, in order; an IP literal needs no lookup."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return [(family, (host, port) if family == socket.AF_INET else (host, port, 0, 0))]
    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    by_family: dict[int, list[Any]] = {}
    for family, _type, _proto, _name, address in found:
        if address not in by_family.setdefault(family, []):
            by_family[family].append(address)
    # RFC 8305: alternate the families, starting with the resolver's first choice.
    queues = list(by_family.items())
    ordered: list[tuple[int, Any]] = []
    while any(addresses for _, addresses in queues):
        for kind, addresses in queues:
            if addresses:
                ordered.append((kind, addresses.pop(0)))
    if not ordered:
        raise OSError(f"{host} has no address")
    return ordered


async def _attempt(family: int, address: Any) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        try:
            sock.connect(address)
        except BlockingIOError:
            await anyio.wait_writable(sock)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, os.strerror(error)) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


async def _race(addresses: list[tuple[int, Any]]) -> socket.socket:
    """Happy Eyeballs: staggered attempts, the first connected socket wins."""
    winner: socket.socket | None = None
    errors: list[OSError] = []

    async def attempt(family: int, address: Any, failed: anyio.Event) -> None:
        nonlocal winner
        try:
            sock = await _attempt(family, address)
        except OSError as exc:
            errors.append(exc)
            failed.set()
            return
        if winner is None:
            winner = sock
            group.cancel_scope.cancel()
        else:
            sock.close()

    try:
        async with anyio.create_task_group() as group:
            for family, address in addresses:
                failed = anyio.Event()
                group.start_soon(attempt, family, address, failed)
                with anyio.move_on_after(HAPPY_EYEBALLS_DELAY):
                    await failed.wait()
    except BaseException:
        if winner is not None:
            winner.close()
        raise
    if winner is None:
        raise OSError("; ".join(dict.fromkeys(str(exc) for exc in errors)))
    return winner
