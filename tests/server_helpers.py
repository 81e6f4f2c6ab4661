"""Helpers for the ``SSEServer`` tests: a raw HTTP/1.1 client that shows exact bytes.

``RawClient`` connects to a server over a plain anyio socket, sends bytes as
given and reads responses with a small parser written for the tests (not
h11, not sseio), so a test can assert the status line, every header, each
HTTP chunk of a streamed body, and whether the chunked body was terminated
or the connection simply dropped.  Every read is bounded by ``WAIT``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc

WAIT = 5.0
"""The longest any single read waits: no test can hang on a silent server."""

_CLOSED = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


@dataclass
class RawResponse:
    """One response as it came off the wire."""

    status: int
    reason: str
    headers: list[tuple[str, str]]  # names lower-cased, in order
    head: bytes  # status line and headers, with the blank line
    body: bytes = b""
    chunks: list[bytes] | None = None  # the chunk payloads of a chunked body, in order
    complete: bool = True  # False: the connection ended inside the body

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


@dataclass
class RawClient:
    """A client connection that sends raw bytes and parses what comes back."""

    stream: anyio.abc.SocketStream
    buffer: bytes = b""
    eof: bool = False
    received: list[bytes] = field(default_factory=list)

    @classmethod
    @asynccontextmanager
    async def connect(cls, port: int, host: str = "127.0.0.1") -> AsyncIterator[RawClient]:
        stream = await anyio.connect_tcp(host, port)
        try:
            yield cls(stream)
        finally:
            await anyio.aclose_forcefully(stream)

    @property
    def local_port(self) -> int:
        port: int = self.stream.extra(anyio.abc.SocketAttribute.local_port)
        return port

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def _fill(self) -> bool:
        """Read more bytes into the buffer; False at the end of the connection."""
        if self.eof:
            return False
        try:
            with anyio.fail_after(WAIT):
                data = await self.stream.receive()
        except _CLOSED:
            self.eof = True
            return False
        self.received.append(data)
        self.buffer += data
        return True

    async def _take(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if not await self._fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    async def _line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            if not await self._fill():
                return None
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    async def response(self, *, head_only: bool = False) -> RawResponse:
        """Read one response (``head_only``: the answer to HEAD, which has no body)."""
        while b"\r\n\r\n" not in self.buffer:
            if not await self._fill():
                raise AssertionError(f"connection ended before a response head: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, reason = status_line.split(" ", 2)
        assert version == "HTTP/1.1", status_line
        headers = []
        for line in lines:
            name, colon, value = line.partition(":")
            assert colon, f"header line without a colon: {line!r}"
            assert name == name.strip(), f"space around a header name: {line!r}"
            headers.append((name.lower(), value.strip()))
        response = RawResponse(int(status), reason, headers, head + b"\r\n\r\n")
        if head_only or response.status < 200 or response.status in (204, 304):
            return response
        if response.header("transfer-encoding") == "chunked":
            await self._read_chunks(response)
        elif (length := response.header("content-length")) is not None:
            body = await self._take(int(length))
            response.complete = body is not None
            response.body = body or b""
        else:
            while await self._fill():
                pass
            response.body, self.buffer = self.buffer, b""
        return response

    async def _read_chunks(self, response: RawResponse) -> None:
        response.chunks = []
        response.complete = False
        while True:
            size_line = await self._line()
            if size_line is None:
                return
            size = int(size_line, 16)
            if size == 0:
                response.complete = await self._line() == b""
                return
            data = await self._take(size + 2)
            if data is None:
                return
            assert data.endswith(b"\r\n"), f"chunk of {size} bytes not followed by CRLF"
            response.chunks.append(data[:-2])
            response.body += data[:-2]

    async def wait_for(self, marker: bytes) -> None:
        """Read until ``marker`` has arrived (it stays in the buffer)."""
        while marker not in self.buffer:
            if not await self._fill():
                raise AssertionError(f"connection ended before {marker!r}: {self.buffer!r}")

    async def closed(self) -> bytes:
        """Read until the server closes the connection; returns the bytes that came first."""
        while await self._fill():
            pass
        rest, self.buffer = self.buffer, b""
        return rest


def request(
    method: str = "GET",
    target: str = "/",
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    """A request in wire form; ``Content-Length`` is added for a body unless given."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    given = [(name, value) for name, value in headers or []]
    if body and not any(
        name.lower() in ("content-length", "transfer-encoding") for name, _ in given
    ):
        given.append(("Content-Length", str(len(body))))
    lines += [f"{name}: {value}" for name, value in given]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
