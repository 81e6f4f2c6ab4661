"""The async httpx calls: send through an ``httpx.AsyncClient``, read a body, interrupt it.

The twin of ``socket_backend`` (same names and arguments).  The guarantees:
``send`` gives the response head (``stream=True``: the body is not read) or
raises the sseio error for httpx's (``sseio.httpx._errors``), chained;
``Body.receive`` gives the next non-empty piece of decoded body (httpx undoes
the content encoding), ``b""`` at its end or once interrupted, within the
wait given (``ReadTimeout`` when it runs out; httpx's own read limit applies
as well); ``Body.interrupt`` ends a ``receive`` pending in another task at
once, through a cancel scope, so it works the same on HTTP/1.1 and HTTP/2,
on asyncio and trio; ``Body.drain`` reads the rest of a body within a bound
(so httpx can keep the connection); ``Body.aclose`` lets the response go,
quietly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import anyio  # noqa: TID251 (the I/O adapter of this package)
import httpx

from ..._core.errors import ReadTimeout
from .._errors import transport_error

__all__ = ["Body", "send"]


async def send(
    client: httpx.AsyncClient, request: httpx.Request, *, auth: Any, follow_redirects: Any
) -> httpx.Response:
    """Send ``request`` through the caller's client and return once the head arrived."""
    try:
        return await client.send(request, stream=True, auth=auth, follow_redirects=follow_redirects)
    except (httpx.RequestError, httpx.InvalidURL) as exc:
        raise transport_error(exc, request) from exc


class Body:
    """The body of one response, read piece by piece."""

    __slots__ = ("_chunks", "_interrupted", "_scope", "response")

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks: AsyncIterator[bytes] = response.aiter_bytes()
        self._scope: anyio.CancelScope | None = None
        self._interrupted = False

    async def receive(self, timeout: float | None) -> bytes:
        """The next piece, ``b""`` at the end (or once interrupted), within ``timeout``."""
        if self._interrupted:
            return b""
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                if timeout is not None:
                    scope.deadline = anyio.current_time() + timeout
                while True:
                    try:
                        piece = await self._chunks.__anext__()
                    except StopAsyncIteration:
                        return b""
                    if piece:
                        return piece
        except httpx.RequestError as exc:
            if self._interrupted:
                return b""
            raise transport_error(exc, self.response.request) from exc
        finally:
            self._scope = None
        if self._interrupted:
            return b""
        raise ReadTimeout(f"no data from the server for {timeout}s")

    async def interrupt(self) -> None:
        """Make a ``receive`` pending in another task return ``b""`` now."""
        self._interrupted = True
        if self._scope is not None:
            self._scope.cancel()

    async def drain(self, seconds: float) -> None:
        """Read what is left of the body for at most ``seconds``, so that httpx can keep
        the connection (an error only means it will not)."""
        with anyio.move_on_after(seconds), suppress(httpx.HTTPError):
            async for _ in self._chunks:
                pass

    async def aclose(self) -> None:
        """Let the response go (httpx keeps or closes the connection); never raises
        httpx's errors.

        A body left half-read is a chain of httpx's and httpcore's async generators,
        and closing the outer one leaves the inner ones suspended (trio warns when
        they are collected so).  A read inside an already cancelled scope ends them
        all, as the cancellation rises from the innermost one; a finished body
        ends at once."""
        with anyio.CancelScope() as scope, suppress(Exception):
            scope.cancel()
            while True:
                await self._chunks.__anext__()
        with suppress(httpx.HTTPError):
            await self.response.aclose()
