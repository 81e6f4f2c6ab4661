"""The blocking I/O backend: TCP and TLS sockets, sleeps and clocks.

The twin of ``anyio_backend``: the same names, arguments and guarantees, for
plain blocking sockets, so that the blocking clients generated from the async
ones (``tools/unasync.py``) need nothing else.  ``dial`` gives a connected
(and, with a context, TLS-wrapped, hostname-checked) socket with Nagle off or
raises ``ConnectError``/``ConnectTimeout``; ``send`` and ``receive`` are
bounded by their timeouts and raise ``WriteError``/``WriteTimeout`` and
``ReadError``/``ReadTimeout``; ``receive`` returns ``b""`` at EOF.  Every
``ssl`` and ``OSError`` exception becomes one of those, chained to its cause.

A stream is a socket, or a ``TLSInTLS``: ``start_tls`` through an ``https://``
proxy's tunnel must run TLS to the origin inside the TLS to the proxy, and
``ssl`` cannot wrap an ``SSLSocket`` in another one.  So the inner TLS is an
``ssl.SSLObject`` over two memory BIOs, pumped by hand over the outer stream:
each operation loops on ``SSLWantReadError`` (read a record from the outer
stream) and ``SSLWantWriteError`` (flush what the inner TLS wrote), all of it
within one deadline, so the timeouts hold for the whole operation.  At the end
of the stream it behaves as the sockets do (``suppress_ragged_eofs``, and
anyio's ``standard_compatible=False``): a ``close_notify`` and an EOF without
one both give ``b""``, and the HTTP framing above decides whether the body was
complete.  ``interrupt`` shuts down the socket at the bottom, which wakes a
read blocked at any layer.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Generator
from contextlib import suppress
from functools import partial
from inspect import GEN_RUNNING, getgeneratorstate
from typing import Any, TypeAlias, TypeVar

from .._core.errors import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)
from .._core.lines import READ_SIZE

__all__ = [
    "READ_SIZE",
    "Stream",
    "TLSInTLS",
    "call_hook",
    "close",
    "dial",
    "interrupt",
    "now",
    "receive",
    "run_blocking",
    "running",
    "send",
    "sleep",
    "start_tls",
    "wall_clock",
]

A = TypeVar("A")
R = TypeVar("R")

_T = TypeVar("_T")


def _left(deadline: float | None) -> float | None:
    """The time left before ``deadline``; ``TimeoutError`` once it has passed.

    (Never a zero timeout: that would make the socket non-blocking.)
    """
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class TLSInTLS:
    """TLS to ``host`` inside another stream (a TLS socket to a proxy, or another
    ``TLSInTLS``), pumped through memory BIOs.

    ``recv``, ``sendall`` and ``handshake`` raise what sockets raise
    (``TimeoutError``, ``ssl.SSLError`` and other ``OSError``); the backend's
    functions translate.  Not for use from two threads at once, but for
    ``shutdown``, which may come from any thread.
    """

    def __init__(self, outer: Stream, tls: ssl.SSLContext, host: str) -> None:
        self._outer = outer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = tls.wrap_bio(self._incoming, self._outgoing, server_hostname=host)
        self._ended = False  # the peer's close_notify arrived, or the outer stream ended

    def handshake(self, timeout: float | None) -> None:
        self._pump(self._tls.do_handshake, _deadline(timeout))

    def recv(self, timeout: float | None, size: int = READ_SIZE) -> bytes:
        """Up to ``size`` bytes within ``timeout``; ``b""`` at the end."""
        if self._ended:
            return b""
        try:
            # b"" after the peer's close_notify (the ssl module's own way of saying it)
            data = self._pump(partial(self._tls.read, size), _deadline(timeout))
        except ssl.SSLEOFError:  # the outer stream ended without a close_notify
            data = b""
        self._ended = not data
        return data

    def sendall(self, data: bytes, timeout: float | None) -> None:
        """Send all of ``data`` within ``timeout``."""
        deadline = _deadline(timeout)
        with memoryview(data) as view:
            while view:  # a piece at a time: what waits to be sent stays bounded
                view = view[self._pump(partial(self._tls.write, view[:READ_SIZE]), deadline) :]

    def close(self) -> None:
        """Close at once, without a TLS goodbye that could wait on the peer."""
        self._outer.close()

    def shutdown(self) -> None:
        """Shut the socket at the bottom down: a blocked ``recv`` wakes up."""
        interrupt(self._outer)

    def _pump(self, operation: Callable[[], _T], deadline: float | None) -> _T:
        """Run ``operation`` on the inner TLS, feeding it and flushing it until it is done."""
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush(deadline)  # what it wrote first (a handshake message)
                self._fill(deadline)
            except ssl.SSLWantWriteError:  # pragma: no cover - a memory BIO takes all
                self._flush(deadline)
            except ssl.SSLError:
                with suppress(OSError):  # an alert for the peer, if there is time
                    self._flush(deadline)
                raise
            else:
                self._flush(deadline)
                return result

    def _fill(self, deadline: float | None) -> None:
        """Read what the outer stream has into the inner TLS; EOF when it ended."""
        if self._incoming.eof:  # pragma: no cover - after the EOF, OpenSSL reports it
            raise ssl.SSLEOFError(ssl.SSL_ERROR_EOF, "EOF occurred in violation of protocol")
        outer = self._outer
        if isinstance(outer, TLSInTLS):
            data = outer.recv(_left(deadline))
        else:
            outer.settimeout(_left(deadline))
            data = outer.recv(READ_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def _flush(self, deadline: float | None) -> None:
        """Write all the inner TLS has produced to the outer stream, partial sends included."""
        if not self._outgoing.pending:
            return
        data = self._outgoing.read()
        outer = self._outer
        if isinstance(outer, TLSInTLS):
            outer.sendall(data, _left(deadline))
            return
        with memoryview(data) as view:
            while view:
                outer.settimeout(_left(deadline))
                view = view[outer.send(view) :]


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


Stream: TypeAlias = socket.socket | TLSInTLS


def dial(host: str, port: int, tls: ssl.SSLContext | None, timeout: float | None) -> Stream:
    """Connect to ``host:port`` (TLS with ``tls``, checking ``host``) within ``timeout``."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    except TimeoutError as exc:
        raise ConnectTimeout(f"connecting to {host}:{port} took over {timeout}s") from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc


def send(stream: Stream, data: bytes, timeout: float | None) -> None:
    """Send all of ``data`` within ``timeout``."""
    try:
        if isinstance(stream, TLSInTLS):
            stream.sendall(data, timeout)
        else:
            stream.settimeout(timeout)
            stream.sendall(data)
    except TimeoutError as exc:
        raise WriteTimeout(f"sending the request took over {timeout}s") from exc
    except OSError as exc:
        raise WriteError(f"connection broke while sending the request: {exc}") from exc


def receive(stream: Stream, timeout: float | None, size: int = READ_SIZE) -> bytes:
    """The next bytes that arrive (at most ``size``) within ``timeout``; ``b""`` at EOF."""
    try:
        if isinstance(stream, TLSInTLS):
            return stream.recv(timeout, size)
        stream.settimeout(timeout)
        return stream.recv(size)
    except TimeoutError as exc:
        raise ReadTimeout(f"no data from the server for {timeout}s") from exc
    except OSError as exc:
        raise ReadError(f"connection broke while reading: {exc}") from exc


def close(stream: Stream) -> None:
    stream.close()


def interrupt(stream: Stream) -> None:
    """Wake a read blocked in another thread: it returns at once and that thread closes."""
    if isinstance(stream, TLSInTLS):
        stream.shutdown()
        return
    with suppress(OSError):
        stream.shutdown(socket.SHUT_RDWR)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def now() -> float:
    """A monotonic clock, in seconds."""
    return time.monotonic()


def wall_clock() -> float:
    """Seconds since the epoch (for ``Retry-After`` dates)."""
    return time.time()


def running(generator: Generator[Any, None, None]) -> bool:
    """Whether ``generator`` is executing right now (another thread is inside it)."""
    return getgeneratorstate(generator) == GEN_RUNNING


def run_blocking(function: Callable[[A], R], argument: A) -> R:
    """``function(argument)``, here and now (the anyio backend runs it in a thread)."""
    return function(argument)


def call_hook(hook: Callable[[Any], Any], value: Any) -> None:
    """Call a user's hook with ``value``."""
    hook(value)


def start_tls(stream: Stream, tls: ssl.SSLContext, host: str, timeout: float | None) -> Stream:
    """TLS to ``host`` inside ``stream`` (a proxy's tunnel), checking ``host``'s certificate.

    Through an ``https://`` proxy the stream is already TLS: the origin's TLS runs
    inside it, in a ``TLSInTLS``.
    """
    try:
        if isinstance(stream, (ssl.SSLSocket, TLSInTLS)):
            inner = TLSInTLS(stream, tls, host)
            inner.handshake(timeout)
            return inner
        stream.settimeout(timeout)
        return tls.wrap_socket(stream, server_hostname=host)
    except TimeoutError as exc:
        raise ConnectTimeout(f"TLS to {host} through the proxy took over {timeout}s") from exc
    except OSError as exc:
        raise ConnectError(f"TLS to {host} through the proxy failed: {exc}") from exc
