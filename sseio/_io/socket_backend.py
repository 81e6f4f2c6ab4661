"""The blocking I/O backend: TCP and TLS sockets, sleeps and clocks.

The twin of ``anyio_backend``: the same names, arguments and guarantees, for
plain blocking sockets, so that the blocking clients generated from the async
ones (``tools/unasync.py``) need nothing else.  ``dial`` gives a connected
(and, with a context, TLS-wrapped, hostname-checked) socket with Nagle off or
raises ``ConnectError``/``ConnectTimeout``; ``send`` and ``receive`` are
bounded by their timeouts and raise ``WriteError``/``WriteTimeout`` and
``ReadError``/``ReadTimeout``; ``receive`` returns ``b""`` at EOF.  Every
``ssl`` and ``OSError`` exception becomes one of those, chained to its cause.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Generator
from contextlib import suppress
from inspect import GEN_RUNNING, getgeneratorstate
from typing import Any, TypeAlias

from .._core.errors import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    UsageError,
    WriteError,
    WriteTimeout,
)

__all__ = [
    "READ_SIZE",
    "Stream",
    "call_hook",
    "close",
    "dial",
    "interrupt",
    "now",
    "receive",
    "running",
    "send",
    "sleep",
    "start_tls",
    "wall_clock",
]

Stream: TypeAlias = socket.socket
READ_SIZE = 64 * 1024


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
        stream.settimeout(timeout)
        stream.sendall(data)
    except TimeoutError as exc:
        raise WriteTimeout(f"sending the request took over {timeout}s") from exc
    except OSError as exc:
        raise WriteError(f"connection broke while sending the request: {exc}") from exc


def receive(stream: Stream, timeout: float | None) -> bytes:
    """The next bytes that arrive (at most ``READ_SIZE``) within ``timeout``; ``b""`` at EOF."""
    try:
        stream.settimeout(timeout)
        return stream.recv(READ_SIZE)
    except TimeoutError as exc:
        raise ReadTimeout(f"no data from the server for {timeout}s") from exc
    except OSError as exc:
        raise ReadError(f"connection broke while reading: {exc}") from exc


def close(stream: Stream) -> None:
    stream.close()


def interrupt(stream: Stream) -> None:
    """Wake a read blocked in another thread: it returns at once and that thread closes."""
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


def call_hook(hook: Callable[[Any], Any], value: Any) -> None:
    """Call a user's hook with ``value``."""
    hook(value)


def start_tls(stream: Stream, tls: ssl.SSLContext, host: str, timeout: float | None) -> Stream:
    """TLS to ``host`` inside ``stream`` (a proxy's tunnel), checking ``host``'s certificate."""
    if isinstance(stream, ssl.SSLSocket):
        # The ssl module cannot layer a TLS socket on a TLS socket.
        raise UsageError(
            "the blocking client cannot reach an https:// URL through an https:// proxy; "
            "use an http:// proxy URL, or the async client"
        )
    try:
        stream.settimeout(timeout)
        return tls.wrap_socket(stream, server_hostname=host)
    except TimeoutError as exc:
        raise ConnectTimeout(f"TLS to {host} through the proxy took over {timeout}s") from exc
    except OSError as exc:
        raise ConnectError(f"TLS to {host} through the proxy failed: {exc}") from exc
