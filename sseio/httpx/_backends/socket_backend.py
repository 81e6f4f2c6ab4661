"""The blocking httpx calls: send through an ``httpx.Client``, read a body, interrupt it.

The twin of ``anyio_backend`` (same names and arguments).  The guarantees:
``send`` gives the response head (``stream=True``: the body is not read) or
raises the sseio error for httpx's (``sseio.httpx._errors``), chained;
``Body.receive`` gives the next non-empty piece of decoded body (httpx undoes
the content encoding), ``b""`` at its end or once interrupted.  A blocking
read cannot be ended early from here, so ``receive`` leaves its wait to
httpx's read limit (``sseio.httpx._request.split_timeout`` keeps that limit
within ``Timeout.event``).  ``Body.interrupt``, from another thread, shuts
down the connection's socket (httpx shows it as the ``network_stream``
extension of an HTTP/1.1 response), which wakes the blocked read at once;
without a socket (an HTTP/2 connection, a mock transport) the read ends at
the next piece or at httpx's read limit.  ``Body.drain`` does nothing (see
it); ``Body.close`` lets the response go, quietly.
"""

from __future__ import annotations

import socket  # noqa: TID251 (the I/O adapter of this package)
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import httpx

from .._errors import transport_error

__all__ = ["Body", "send"]


def send(
    client: httpx.Client, request: httpx.Request, *, auth: Any, follow_redirects: Any
) -> httpx.Response:
    """Send ``request`` through the caller's client and return once the head arrived."""
    try:
        return client.send(request, stream=True, auth=auth, follow_redirects=follow_redirects)
    except (httpx.RequestError, httpx.InvalidURL) as exc:
        raise transport_error(exc, request) from exc


class Body:
    """The body of one response, read piece by piece."""

    __slots__ = ("_chunks", "_interrupted", "response")

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks: Iterator[bytes] = response.iter_bytes()
        self._interrupted = False

    def receive(self, timeout: float | None) -> bytes:
        """The next piece, ``b""`` at the end (or once interrupted); ``timeout`` is
        left to httpx's read limit (see the module doc)."""
        if self._interrupted:
            return b""
        try:
            for piece in self._chunks:
                if self._interrupted:
                    return b""
                if piece:
                    return piece
        except httpx.RequestError as exc:
            if self._interrupted:
                return b""
            raise transport_error(exc, self.response.request) from exc
        return b""

    def interrupt(self) -> None:
        """Make a ``receive`` blocked in another thread return ``b""`` now."""
        self._interrupted = True
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def drain(self, seconds: float) -> None:
        """Nothing: a blocking read cannot be bounded to ``seconds`` here, and waiting
        up to httpx's read limit for a connection to reuse is not worth it."""

    def close(self) -> None:
        """Let the response go (httpx keeps or closes the connection); never raises
        httpx's errors."""
        with suppress(httpx.HTTPError):
            self.response.close()
