"""The blocking backend's TLS inside TLS (``socket_backend.TLSInTLS``), over loopback.

``start_tls`` on a TLS socket (a tunnel through an ``https://`` proxy) runs the
origin's TLS inside it.  Here the client end is the backend's own; the server
end is the standard library's (``SSLSocket`` for the outer TLS, an
``SSLObject`` pumped by hand for the inner one), each test with the outer layer
as plain TCP and as TLS.  The real proxy (stunnel) is in ``test_proxy.py``.
"""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import TypeVar

import pytest

pytest.register_assert_rewrite("sse_server")

from sse_server import certificates  # noqa: E402

import sseio  # noqa: E402
from sseio._io import socket_backend as backend  # noqa: E402

T = TypeVar("T")
BOUND = 5.0  # no test waits longer than this on anything


class InnerServer:
    """The server end of a TLS session inside ``sock`` (a socket, an ``SSLSocket``, or
    another ``InnerServer``: it has ``recv`` and ``sendall`` too)."""

    def __init__(self, sock: socket.socket | InnerServer, context: ssl.SSLContext) -> None:
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def _run(self, operation: Callable[[], T]) -> T:
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()
            else:
                self._flush()
                return result

    def _flush(self) -> None:
        if self.outgoing.pending:
            self.sock.sendall(self.outgoing.read())

    def handshake(self) -> None:
        self._run(self.tls.do_handshake)

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._run(functools.partial(self.tls.write, view)) :]

    def receive_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            data += self._run(functools.partial(self.tls.read, size - len(data)))
        return data

    def recv(self, size: int) -> bytes:
        try:
            return self._run(functools.partial(self.tls.read, size))
        except ssl.SSLZeroReturnError:
            return b""

    def sendall(self, data: bytes) -> None:
        self.send(data)

    def close(self) -> None:
        self.sock.close()

    def close_notify(self) -> None:
        with suppress(ssl.SSLWantReadError):  # it waits for the client's: not needed
            self.tls.unwrap()
        self._flush()


@dataclass
class Pair:
    client: backend.Stream  # the TLSInTLS
    server: InnerServer

    def abort(self) -> None:
        """The server's end goes away without any TLS goodbye (inner or outer)."""
        self.server.sock.close()

    def record(self, data: bytes) -> bytes:
        """The inner TLS record for ``data`` from the server, as bytes, not sent."""
        self.server.tls.write(data)
        return self.server.outgoing.read()


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2], timeout=BOUND)
        server, _ = listener.accept()
    server.settimeout(BOUND)
    return client, server


def _open(outer_tls: bool, inner: ssl.SSLContext | None = None) -> tuple[Pair, socket.socket]:
    """A client ``TLSInTLS`` to 127.0.0.1 and its server, both ends handshaken.

    With ``outer_tls`` the outer layer is a TLS socket and the client end comes from
    ``start_tls``, as through an ``https://`` proxy; without, the class runs
    straight over TCP (``start_tls`` would use ``wrap_socket`` there).
    """
    certs = certificates()
    client_sock, server_sock = _tcp_pair()
    ends = [server_sock]  # the server's socket, TLS-wrapped with outer_tls
    servers: list[InnerServer] = []
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            if outer_tls:
                ends.append(certs.good.wrap_socket(server_sock, server_side=True))
            server = InnerServer(ends[-1], inner or certs.good)
            servers.append(server)
            server.handshake()
        except BaseException as exc:  # the client's side of it is what the tests check
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    outer: socket.socket = client_sock
    try:
        if outer_tls:
            outer = certs.client_context().wrap_socket(client_sock, server_hostname="127.0.0.1")
            client = backend.start_tls(outer, certs.client_context(), "127.0.0.1", BOUND)
        else:
            client = backend.TLSInTLS(outer, certs.client_context(), "127.0.0.1")
            client.handshake(BOUND)
    except BaseException:
        outer.close()
        raise
    finally:
        thread.join(BOUND)
        if failures:
            ends[-1].close()
    assert not failures, failures
    return Pair(client, servers[0]), outer


@pytest.fixture(params=[False, True], ids=["over-tcp", "over-tls"])
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    made, outer = _open(request.param)
    assert isinstance(made.client, backend.TLSInTLS)
    yield made
    backend.close(made.client)
    made.server.sock.close()
    assert outer.fileno() == -1  # closing the inner TLS closed the socket under it


@pytest.fixture
def over_tcp() -> Iterator[Pair]:
    """Over TCP only: for tests that write raw bytes under the inner TLS."""
    made, _ = _open(False)
    yield made
    backend.close(made.client)
    made.server.sock.close()


def test_data_goes_both_ways_in_pieces_larger_than_the_buffers(pair: Pair) -> None:
    request = bytes(range(256)) * 4096  # 1 MiB: many records, partial sends
    received: list[bytes] = []
    reader = threading.Thread(
        target=lambda: received.append(pair.server.receive_exactly(len(request)))
    )
    reader.start()
    backend.send(pair.client, request, None)  # no time limit at all
    reader.join(BOUND)
    assert received == [request]
    answer = b"data: hello\n\n" * 10_000
    sender = threading.Thread(target=pair.server.send, args=(answer,))
    sender.start()
    got = b""
    while len(got) < len(answer):
        chunk = backend.receive(pair.client, BOUND)
        assert chunk
        assert len(chunk) <= backend.READ_SIZE
        got += chunk
    sender.join(BOUND)
    assert got == answer


def test_a_silent_server_gives_read_timeout_within_the_limit(pair: Pair) -> None:
    started = time.monotonic()
    with pytest.raises(sseio.ReadTimeout) as caught:
        backend.receive(pair.client, 0.2)
    assert 0.15 < time.monotonic() - started < BOUND
    assert isinstance(caught.value.__cause__, TimeoutError)
    pair.server.send(b"still there")  # a timeout loses nothing: the stream goes on
    assert backend.receive(pair.client, BOUND) == b"still there"


def test_a_zero_timeout_is_a_timeout_not_a_non_blocking_read(pair: Pair) -> None:
    with pytest.raises(sseio.ReadTimeout):
        backend.receive(pair.client, 0)
    pair.server.send(b"late")
    assert backend.receive(pair.client, BOUND) == b"late"


def test_a_read_timeout_bounds_the_whole_read_not_each_piece(over_tcp: Pair) -> None:
    # A byte at a time, each well within the limit: the read still ends at its
    # limit, since no whole record has come by then.
    record = over_tcp.record(b"x" * 100)
    stop = threading.Event()

    def dribble() -> None:
        for byte in record[:-1]:
            if stop.wait(0.05):
                return
            over_tcp.server.sock.sendall(bytes([byte]))

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    started = time.monotonic()
    with pytest.raises(sseio.ReadTimeout):
        backend.receive(over_tcp.client, 0.5)
    assert time.monotonic() - started < 1.5
    stop.set()
    thread.join(BOUND)


def test_interrupt_wakes_a_read_blocked_in_another_thread(pair: Pair) -> None:
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(backend.receive(pair.client, BOUND * 2))
        except sseio.ReadError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()  # blocked in the read
    started = time.monotonic()
    backend.interrupt(pair.client)
    thread.join(BOUND)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2.0
    [result] = outcome
    assert result == b"" or isinstance(result, sseio.ReadError)


def test_close_notify_gives_eof_and_stays_at_eof(pair: Pair) -> None:
    pair.server.send(b"last words")
    pair.server.close_notify()
    assert backend.receive(pair.client, BOUND) == b"last words"
    assert backend.receive(pair.client, BOUND) == b""
    assert backend.receive(pair.client, BOUND) == b""


def test_an_abrupt_end_gives_eof_as_the_sockets_do(pair: Pair) -> None:
    # No close_notify: as with suppress_ragged_eofs on an SSLSocket (and anyio's
    # standard_compatible=False), the end is b"" and the HTTP framing above
    # decides whether the body was complete.
    pair.server.send(b"cut")
    pair.abort()
    assert backend.receive(pair.client, BOUND) == b"cut"
    assert backend.receive(pair.client, BOUND) == b""
    assert backend.receive(pair.client, BOUND) == b""


def test_an_end_in_the_middle_of_a_record_is_an_eof_too(over_tcp: Pair) -> None:
    record = over_tcp.record(b"x" * 100)
    over_tcp.server.sock.sendall(record[: len(record) // 2])
    over_tcp.abort()
    assert backend.receive(over_tcp.client, BOUND) == b""


def test_a_record_that_does_not_decrypt_is_a_read_error(over_tcp: Pair) -> None:
    record = bytearray(over_tcp.record(b"x" * 100))
    record[-1] ^= 0xFF  # the authentication tag no longer matches
    over_tcp.server.sock.sendall(bytes(record))
    with pytest.raises(sseio.ReadError) as caught:
        backend.receive(over_tcp.client, BOUND)
    assert not isinstance(caught.value, sseio.ReadTimeout)
    assert isinstance(caught.value.__cause__, ssl.SSLError)


def test_a_peer_that_stops_reading_gives_write_timeout(pair: Pair) -> None:
    started = time.monotonic()
    with pytest.raises(sseio.WriteTimeout) as caught:
        backend.send(pair.client, b"x" * (64 * 1024 * 1024), 0.3)
    assert time.monotonic() - started < BOUND
    assert isinstance(caught.value.__cause__, TimeoutError)


def test_a_broken_connection_gives_write_error(pair: Pair) -> None:
    pair.abort()
    caught = None
    for _ in range(100):  # the first sends may still land in the kernel's buffer
        try:
            backend.send(pair.client, b"x" * 65536, BOUND)
        except sseio.WriteError as exc:
            caught = exc
            break
        time.sleep(0.01)
    assert caught is not None
    assert not isinstance(caught, sseio.WriteTimeout)
    assert isinstance(caught.__cause__, OSError)


def test_the_inner_certificate_and_host_name_are_checked() -> None:
    with pytest.raises(sseio.ConnectError) as caught:
        _open(True, inner=certificates().wrong_host)
    error = caught.value
    assert not isinstance(error, sseio.ConnectTimeout)
    assert "TLS to 127.0.0.1 through the proxy failed" in str(error)
    assert isinstance(error.__cause__, ssl.SSLCertVerificationError)
    assert "127.0.0.1" in error.__cause__.verify_message  # the name that did not match


def _outer_only() -> tuple[ssl.SSLSocket, ssl.SSLSocket]:
    """Client and server ends of the outer TLS, handshaken; the server then does nothing."""
    certs = certificates()
    client_sock, server_sock = _tcp_pair()
    servers: list[ssl.SSLSocket] = []
    thread = threading.Thread(
        target=lambda: servers.append(certs.good.wrap_socket(server_sock, server_side=True)),
        daemon=True,
    )
    thread.start()
    outer = certs.client_context().wrap_socket(client_sock, server_hostname="127.0.0.1")
    thread.join(BOUND)
    return outer, servers[0]


def test_a_silent_origin_gives_connect_timeout() -> None:
    outer, server = _outer_only()
    with outer, server:
        started = time.monotonic()
        with pytest.raises(sseio.ConnectTimeout) as caught:
            backend.start_tls(outer, certificates().client_context(), "127.0.0.1", 0.3)
        assert time.monotonic() - started < BOUND
        assert isinstance(caught.value.__cause__, TimeoutError)


def test_an_origin_that_closes_during_the_handshake_gives_connect_error() -> None:
    outer, server = _outer_only()
    with outer:
        server.close()
        with pytest.raises(sseio.ConnectError) as caught:
            backend.start_tls(outer, certificates().client_context(), "127.0.0.1", BOUND)
    assert not isinstance(caught.value, sseio.ConnectTimeout)
    assert isinstance(caught.value.__cause__, ssl.SSLEOFError)


def test_the_layers_nest_tls_in_tls_in_tls() -> None:
    certs = certificates()
    client_sock, server_sock = _tcp_pair()
    servers: list[InnerServer] = []

    def serve() -> None:
        servers.append(InnerServer(server_sock, certs.good))
        servers[0].handshake()
        servers.append(InnerServer(servers[0], certs.good))
        servers[1].handshake()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with server_sock:
        middle = backend.TLSInTLS(client_sock, certs.client_context(), "127.0.0.1")
        middle.handshake(BOUND)
        inner = backend.start_tls(middle, certs.client_context(), "localhost", BOUND)
        thread.join(BOUND)
        assert isinstance(inner, backend.TLSInTLS)
        backend.send(inner, b"GET / HTTP/1.1\r\n\r\n", BOUND)
        assert servers[1].receive_exactly(18) == b"GET / HTTP/1.1\r\n\r\n"
        servers[1].send(b"data: deep\n\n")
        servers[1].close_notify()
        assert backend.receive(inner, BOUND) == b"data: deep\n\n"
        assert backend.receive(inner, BOUND) == b""
        with pytest.raises(sseio.ReadTimeout):
            backend.receive(middle, 0.1)  # the middle layer goes on: only the inner one ended
        backend.close(inner)
    assert client_sock.fileno() == -1
