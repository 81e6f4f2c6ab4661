"""The async clients' TCP layer (``sseio._io.anyio_socket``) and its backend calls.

Real loopback sockets on asyncio and trio: an IP literal is dialled without
the resolver; a name's addresses are tried Happy Eyeballs style (a refused
address gives way at once, a silent one after the delay, and the losers are
closed); reads and writes that find the kernel ready take no timer, those
that wait are bounded; a read pending in one task ends when another closes
the stream.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import anyio
import pytest

import sseio
from sseio._io import anyio_backend as backend
from sseio._io.anyio_socket import HAPPY_EYEBALLS_DELAY, SocketStream, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock


def _port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return _port(sock)  # closed again: nothing listens there


def _silent_listener(stack: ExitStack) -> int:
    """A port whose accept queue is full, so a new connect waits and never completes."""
    sock = stack.enter_context(socket.socket())
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    stack.enter_context(socket.create_connection(("127.0.0.1", _port(sock)), timeout=2))
    with socket.socket() as probe:
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", _port(sock)))
        except TimeoutError:
            return _port(sock)  # as wanted: a connect here hangs
    pytest.fail("the kernel accepted a connection over a full backlog")


@pytest.fixture
def silent_ports() -> Iterator[list[int]]:
    with ExitStack() as stack:
        yield [_silent_listener(stack), _silent_listener(stack)]


@pytest.fixture
def silent_port(silent_ports: list[int]) -> int:
    return silent_ports[0]


def _resolver(monkeypatch: pytest.MonkeyPatch, *ports: int) -> list[str]:
    """Make every name resolve to 127.0.0.1 at ``ports``, in that order; the names
    looked up are recorded in the list returned."""
    looked_up: list[str] = []

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        looked_up.append(host)
        stream = socket.SOCK_STREAM
        return [(socket.AF_INET, stream, 6, "", ("127.0.0.1", p)) for p in ports]

    monkeypatch.setattr(anyio, "getaddrinfo", getaddrinfo)
    return looked_up


async def test_an_ip_literal_needs_no_lookup(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up = _resolver(monkeypatch)
    stream = await connect("127.0.0.1", _port(listener))
    accepted, _ = listener.accept()
    with accepted:
        await stream.send(b"ping")
        assert accepted.recv(4) == b"ping"
        accepted.sendall(b"pong")
        assert await stream.receive() == b"pong"
    assert looked_up == []
    await stream.aclose()


async def test_an_ipv6_literal_is_dialled_as_such() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with socket.socket(socket.AF_INET6) as sock:
        try:
            sock.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback on this machine")
        sock.listen(1)
        stream = await connect("::1", _port(sock))
        assert stream._sock.family == socket.AF_INET6
        await stream.aclose()


async def test_a_refused_address_gives_way_to_the_next_at_once(
    listener: socket.socket, refused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up = _resolver(monkeypatch, refused_port, _port(listener))
    started = time.monotonic()
    stream = await connect("service.test", 0)
    elapsed = time.monotonic() - started
    assert looked_up == ["service.test"]
    assert stream._sock.getpeername()[1] == _port(listener)
    assert elapsed < HAPPY_EYEBALLS_DELAY  # did not wait out the delay
    await stream.aclose()


async def test_a_silent_address_gives_way_after_the_delay(
    listener: socket.socket, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolver(monkeypatch, silent_port, _port(listener))
    started = time.monotonic()
    with anyio.fail_after(5):
        stream = await connect("service.test", 0)
    assert stream._sock.getpeername()[1] == _port(listener)
    assert time.monotonic() - started >= HAPPY_EYEBALLS_DELAY * 0.9
    await stream.aclose()


async def test_every_address_failing_names_each_failure(
    refused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolver(monkeypatch, refused_port, refused_port)
    with pytest.raises(OSError, match="refused"):
        await connect("service.test", 0)
    with pytest.raises(sseio.ConnectError, match=f"service.test:{refused_port}"):
        await backend.dial("service.test", refused_port, None, 2)


async def test_a_name_without_addresses_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolver(monkeypatch)
    with pytest.raises(sseio.ConnectError, match="no address"):
        await backend.dial("nowhere.test", 80, None, 2)


async def test_a_silent_address_alone_trips_the_connect_timeout(silent_port: int) -> None:
    with pytest.raises(sseio.ConnectTimeout):
        await backend.dial("127.0.0.1", silent_port, None, 0.2)


async def test_cancelling_a_race_closes_every_attempt(
    silent_ports: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolver(monkeypatch, *silent_ports)
    made: list[socket.socket] = []
    real_socket = socket.socket

    def recording_socket(*args: Any, **kwargs: Any) -> socket.socket:
        sock = real_socket(*args, **kwargs)
        made.append(sock)
        return sock

    monkeypatch.setattr(socket, "socket", recording_socket)
    with anyio.move_on_after(HAPPY_EYEBALLS_DELAY * 2):
        await connect("service.test", 0)
    assert len(made) == 2
    assert all(sock.fileno() == -1 for sock in made)


async def test_reads_and_writes_through_the_backend(listener: socket.socket) -> None:
    stream = await backend.dial("127.0.0.1", _port(listener), None, 2)
    assert type(stream) is SocketStream
    accepted, _ = listener.accept()
    with accepted:
        accepted.sendall(b"ready")
        time.sleep(0.05)  # the bytes are in the kernel: taken without a wait
        assert await backend.receive(stream, 2) == b"ready"
        with pytest.raises(sseio.ReadTimeout):
            await backend.receive(stream, 0.1)  # nothing comes
        payload = b"x" * (8 << 20)  # more than the kernel buffers: the send waits for room

        async def drain() -> bytes:
            chunks = []
            total = 0
            while total < len(payload):
                chunk = await anyio.to_thread.run_sync(accepted.recv, 1 << 20)
                chunks.append(chunk)
                total += len(chunk)
            return b"".join(chunks)

        got: list[bytes] = []
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _collect(got, drain))
            await backend.send(stream, payload, 10)
        assert got == [payload]
        accepted.shutdown(socket.SHUT_WR)
        assert await backend.receive(stream, 2) == b""  # the end of the stream
    await backend.close(stream)
    await backend.close(stream)  # closing twice is harmless


async def _collect(into: list[bytes], read: Any) -> None:
    into.append(await read())


async def test_a_send_the_peer_never_reads_times_out(listener: socket.socket) -> None:
    stream = await backend.dial("127.0.0.1", _port(listener), None, 2)
    accepted, _ = listener.accept()
    with accepted, pytest.raises(sseio.WriteTimeout):
        await backend.send(stream, b"x" * (64 << 20), 0.3)
    await backend.close(stream)


async def test_a_pending_read_ends_when_another_task_interrupts(
    listener: socket.socket,
) -> None:
    stream = await backend.dial("127.0.0.1", _port(listener), None, 2)
    accepted, _ = listener.accept()
    errors: list[BaseException] = []

    async def reader() -> None:
        try:
            await backend.receive(stream, 5)
        except sseio.SSEError as exc:
            errors.append(exc)

    with accepted, anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            group.start_soon(reader)
            await anyio.sleep(0.05)
            await backend.interrupt(stream)
    assert len(errors) == 1
    assert isinstance(errors[0], sseio.ReadError)
    assert not isinstance(errors[0], sseio.ReadTimeout)


async def test_the_stream_speaks_anyio(listener: socket.socket) -> None:
    stream = await connect("127.0.0.1", _port(listener))
    accepted, _ = listener.accept()
    with accepted:
        await stream.send_eof()
        assert accepted.recv(10) == b""  # the peer sees our end
        accepted.sendall(b"late")
        assert await stream.receive(2) == b"la"
        assert await stream.receive() == b"te"
        accepted.close()
        with pytest.raises(anyio.EndOfStream):
            await stream.receive()
    await stream.aclose()
