"""One HTTP/1.1 request and response over one connection, sans-IO, through h11.

``Exchange`` is what the adapters drive: they write
``exchange.request_bytes()``, then hand every read to ``exchange.receive()``
and get back the response head (``Response``), decoded body bytes (a chunked
body de-chunked by ``sseio._http.chunked`` once h11 has read the head, several
times faster per chunk; gzip and deflate undone incrementally) and the end of
the body.  A response head over ``MAX_HEADER_SIZE`` is refused however it was
split into reads.  ``check_response`` decides whether a response opens a
stream, and ``error_from_response`` builds the ``ResponseError`` otherwise,
with the server's own message.  h11's exceptions become sseio's.
"""

from __future__ import annotations

import json as jsonlib
import zlib
from dataclasses import dataclass
from typing import Any

import h11

from .._core.errors import RemoteProtocolError, ResponseError
from .chunked import ChunkedDecoder
from .request import Request

__all__ = [
    "ERROR_BODY_LIMIT",
    "MAX_HEADER_SIZE",
    "Exchange",
    "Response",
    "check_response",
    "error_from_response",
]

ERROR_BODY_LIMIT = 64 * 1024
"""How much of a non-stream response body is read into ``ResponseError.body``."""

MAX_HEADER_SIZE = 64 * 1024
"""A response head larger than this is refused (h11's limit on an incomplete event)."""


@dataclass(frozen=True, slots=True)
class Response:
    """A response head: status, reason, headers (names lowercase), HTTP version."""

    status_code: int
    reason: str
    headers: list[tuple[str, str]]
    http_version: str

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    @property
    def content_type(self) -> str:
        return self.header("content-type") or ""

    @property
    def media_type(self) -> str:
        """The content type without parameters, lowercase (``text/event-stream``)."""
        return self.content_type.split(";", 1)[0].strip().lower()


class _ContentDecoder:
    """Undo ``Content-Encoding: gzip`` or ``deflate`` incrementally.

    ``deflate`` is meant to be zlib-wrapped, but some servers send raw deflate:
    the first two bytes tell which (a zlib header is a multiple of 31).
    """

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._zlib: Any = None if encoding == "deflate" else zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._head = b""

    def decode(self, data: bytes) -> bytes:
        if self._zlib is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            first, second = self._head[0], self._head[1]
            wrapped = first & 0x0F == 8 and (first << 8 | second) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        try:
            return bytes(self._zlib.decompress(data))
        except zlib.error as exc:
            raise RemoteProtocolError(f"invalid {self._encoding} body: {exc}") from exc


_RELEASED = h11.Connection(h11.CLIENT)
"""Stands in for an exchange's h11 connection once a chunked body no longer needs it."""


class Exchange:
    """One HTTP/1.1 request and its response on one connection (h11 underneath).

    ``receive(data)`` returns the decoded body bytes the read completed (``b""``
    when none); ``response`` is set once the head has arrived, ``ended`` once
    the body is complete.  ``receive(b"")`` means the peer closed the
    connection.  ``reusable`` tells whether the connection may carry another
    request afterwards.
    """

    __slots__ = (
        "_chunked",
        "_decoder",
        "_h11",
        "_head_bytes",
        "_peer_closed",
        "ended",
        "request",
        "response",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        self.response: Response | None = None
        self.ended = False
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_SIZE)
        self._decoder: _ContentDecoder | None = None
        self._peer_closed = False
        self._head_bytes = 0  # bytes handed to h11 before the response head was complete
        self._chunked: ChunkedDecoder | None = None

    def request_bytes(self) -> bytes:
        """The bytes of the whole request: head and body."""
        req = self.request
        headers = [(name.encode("ascii"), value.encode()) for name, value in req.headers]
        head = h11.Request(method=req.method, target=req.target, headers=headers)
        out = self._h11.send(head) or b""
        if req.body:
            out += self._h11.send(h11.Data(data=req.body)) or b""
        return out + (self._h11.send(h11.EndOfMessage()) or b"")

    def receive(self, data: bytes) -> bytes:
        """Feed what the connection delivered (``b""`` at its end); return body bytes."""
        if self.response is None and data:
            # Hand h11 no more than the head limit (plus one byte) until the head is
            # complete, so that its limit on an incomplete head applies however the
            # head was split into reads.
            room = MAX_HEADER_SIZE + 1 - self._head_bytes
            if len(data) > room > 0:
                # The rest goes through receive() again: the head may have ended in
                # the first part, and a chunked body is then de-chunked here.
                self._head_bytes += room
                body = self._receive(data[:room])
                return body + self.receive(data[room:])
            self._head_bytes += len(data)
        if self._chunked is not None:
            return self._receive_chunked(data)
        return self._receive(data)

    def _receive_chunked(self, data: bytes) -> bytes:
        chunked = self._chunked
        assert chunked is not None
        if not data:
            self._peer_closed = True
            if not chunked.ended:
                raise RemoteProtocolError("server closed the connection inside a chunked body")
            return b""
        body = chunked.feed(data)
        self.ended = chunked.ended
        if self._decoder is not None and body:
            return self._decoder.decode(body)
        return body

    def _receive(self, data: bytes) -> bytes:
        conn = self._h11
        if not data:
            self._peer_closed = True
        try:
            conn.receive_data(data)
            pieces: list[bytes] = []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                if type(event) is h11.Data:
                    pieces.append(bytes(event.data))
                elif type(event) is h11.EndOfMessage:
                    self.ended = True
                    break
                elif type(event) is h11.Response:
                    self._start(event)
                    if self._chunked is not None:
                        # From here on the body is de-chunked here, not by h11,
                        # which is let go with the copy of the read it buffers.
                        pieces.append(self._chunked.feed(conn.trailing_data[0]))
                        self.ended = self._chunked.ended
                        self._h11 = _RELEASED
                        break
                elif type(event) is h11.ConnectionClosed:
                    self._closed_early()
                    break
        except h11.ProtocolError as exc:
            if not data and self.response is None:
                raise RemoteProtocolError(
                    "server closed the connection without a response"
                ) from exc
            raise RemoteProtocolError(f"server broke HTTP/1.1: {exc}") from exc
        body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if self._decoder is not None and body:
            return self._decoder.decode(body)
        return body

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another request (body read to its end)."""
        if not self.ended or self._peer_closed:
            return False
        if self._chunked is not None:
            response = self.response
            assert response is not None
            close = "close" in (response.header("connection") or "").lower()
            return not self._chunked.trailing and response.http_version == "1.1" and not close
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    def _start(self, event: h11.Response) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
        self.response = Response(
            event.status_code,
            event.reason.decode("latin-1"),
            headers,
            event.http_version.decode("ascii"),
        )
        framing = (self.response.header("transfer-encoding") or "").lower()
        if (
            framing.rstrip().endswith("chunked")
            and self.request.method != "HEAD"
            and event.status_code not in (204, 304)
        ):
            self._chunked = ChunkedDecoder()
        encoding = (self.response.header("content-encoding") or "").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._decoder = _ContentDecoder("deflate" if encoding == "deflate" else "gzip")
        elif encoding not in ("", "identity"):
            raise RemoteProtocolError(f"unsupported content-encoding: {encoding!r}")

    def _closed_early(self) -> None:
        if self.response is None:
            raise RemoteProtocolError("server closed the connection without a response")
        self.ended = True


def check_response(response: Response) -> bool:
    """True when the response opens an event stream: status exactly 200 and
    media type ``text/event-stream`` (parameters ignored)."""
    return response.status_code == 200 and response.media_type == "text/event-stream"


def error_from_response(response: Response, body: bytes) -> ResponseError:
    """The error for a response that does not open a stream, with the server's message."""
    parsed: Any = None
    if body:
        try:
            parsed = jsonlib.loads(body)
        except ValueError:
            parsed = None
    detail = _message_in(parsed)
    if detail is None and body and response.media_type.startswith("text/"):
        detail = body[:200].decode("utf-8", "replace").strip() or None
    if response.status_code != 200:
        message = f"server answered {response.status_code} {response.reason}".rstrip()
    else:
        shown = response.content_type or "no content type"
        message = f"server answered 200 with {shown}, not text/event-stream"
    if detail:
        message += f": {detail}"
    return ResponseError(
        message,
        server_message=detail,
        status_code=response.status_code,
        headers=response.headers,
        content_type=response.content_type,
        body=body,
        json=parsed,
    )


def _message_in(parsed: Any) -> str | None:
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            for key in ("message", "detail", "error"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return None
