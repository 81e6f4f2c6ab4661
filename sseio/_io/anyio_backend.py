"""The async I/O backend: TCP and TLS streams, sleeps and clocks through anyio.

Every call the async clients make to the outside world goes through this
module, so asyncio and trio behave alike and ``async_client`` stays free of
I/O detail.  ``socket_backend`` is its blocking twin, with the same names and
arguments, so that the blocking clients can be generated from the async ones
(``tools/unasync.py`` swaps this module for that one).

The guarantees: ``dial`` gives a connected (and, with a context, TLS-wrapped,
hostname-checked) stream or raises ``ConnectError``/``ConnectTimeout``;
``send`` and ``receive`` are bounded by their timeouts and raise
``WriteError``/``WriteTimeout`` and ``ReadError``/``ReadTimeout``; ``receive``
returns ``b""`` at the end of the stream.  Every anyio, ``ssl`` and
``OSError`` exception becomes one of those, chained to its cause.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncGenerator, Callable
from inspect import isawaitable
from types import AsyncGeneratorType
from typing import Any, TypeAlias, TypeVar, cast

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.tls import TLSStream

from .._core.errors import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)
from .._core.lines import READ_SIZE
from .anyio_socket import SocketStream, connect

__all__ = [
    "READ_SIZE",
    "Stream",
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

Stream: TypeAlias = "anyio.abc.ByteStream"  # a string: anyio.abc loads its parts on use
_IO_ERRORS = (OSError, ssl.SSLError, anyio.BrokenResourceError, anyio.ClosedResourceError)


async def dial(host: str, port: int, tls: ssl.SSLContext | None, timeout: float | None) -> Stream:
    """Connect to ``host:port`` (TLS with ``tls``, checking ``host``) within ``timeout``."""
    try:
        with anyio.fail_after(timeout):
            stream = await connect(host, port)
            if tls is None:
                return stream
            try:
                return await TLSStream.wrap(
                    stream, hostname=host, ssl_context=tls, standard_compatible=False
                )
            except BaseException:
                stream.close()
                raise
    except TimeoutError as exc:
        raise ConnectTimeout(f"connecting to {host}:{port} took over {timeout}s") from exc
    except _IO_ERRORS as exc:
        raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc


async def send(stream: Stream, data: bytes, timeout: float | None) -> None:
    """Send all of ``data`` within ``timeout``."""
    try:
        if type(stream) is SocketStream:
            # What the kernel takes at once needs no timer.
            rest = stream.send_nowait(memoryview(data))
            if rest:
                with anyio.fail_after(timeout):
                    await stream.send_later(rest)
            return
        with anyio.fail_after(timeout):
            await stream.send(data)
    except TimeoutError as exc:
        raise WriteTimeout(f"sending the request took over {timeout}s") from exc
    except _IO_ERRORS as exc:
        raise WriteError(f"connection broke while sending the request: {exc}") from exc


async def receive(stream: Stream, timeout: float | None, size: int = READ_SIZE) -> bytes:
    """The next bytes that arrive (at most ``size``) within ``timeout``; ``b""`` at EOF."""
    try:
        if type(stream) is SocketStream:
            # Bytes already in the kernel need no timer.
            data = stream.receive_nowait(size)
            if data is None:
                with anyio.fail_after(timeout):
                    return await stream.receive_later(size)
            await anyio.lowlevel.checkpoint()
            return data
        with anyio.fail_after(timeout):
            return await stream.receive(size)
    except anyio.EndOfStream:
        return b""
    except TimeoutError as exc:
        raise ReadTimeout(f"no data from the server for {timeout}s") from exc
    except _IO_ERRORS as exc:
        raise ReadError(f"connection broke while reading: {exc}") from exc


async def close(stream: Stream) -> None:
    """Close at once, without a TLS goodbye that could wait on the peer."""
    await anyio.aclose_forcefully(stream)


async def interrupt(stream: Stream) -> None:
    """Make a read pending in another task end now (it sees the stream closed)."""
    await anyio.aclose_forcefully(stream)


async def sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


def now() -> float:
    """The event loop's monotonic clock, in seconds."""
    return anyio.current_time()


def wall_clock() -> float:
    """Seconds since the epoch (for ``Retry-After`` dates)."""
    return time.time()


def running(generator: AsyncGenerator[Any, None]) -> bool:
    """Whether ``generator`` is executing right now (another task is inside it)."""
    return cast(AsyncGeneratorType[Any, Any], generator).ag_running


async def run_blocking(function: Callable[[A], R], argument: A) -> R:
    """``function(argument)`` in a worker thread: slow set-up work (a TLS context
    loading its CA bundle) that must not stall the event loop."""
    return await anyio.to_thread.run_sync(function, argument)


async def call_hook(hook: Callable[[Any], Any], value: Any) -> None:
    """Call a user's hook with ``value``; await what it returns if it is awaitable."""
    result = hook(value)
    if isawaitable(result):
        await result


async def start_tls(
    stream: Stream, tls: ssl.SSLContext, host: str, timeout: float | None
) -> Stream:
    """TLS to ``host`` inside ``stream`` (a proxy's tunnel), checking ``host``'s certificate."""
    try:
        with anyio.fail_after(timeout):
            return await TLSStream.wrap(
                stream, hostname=host, ssl_context=tls, standard_compatible=False
            )
    except TimeoutError as exc:
        raise ConnectTimeout(f"TLS to {host} through the proxy took over {timeout}s") from exc
    except _IO_ERRORS as exc:
        raise ConnectError(f"TLS to {host} through the proxy failed: {exc}") from exc
