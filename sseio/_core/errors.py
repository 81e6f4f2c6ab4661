"""The sseio error tree: one root, split by who is at fault.

Every exception sseio raises on purpose is an ``SSEError``.  The subclasses say
whose fault it was, so callers can decide what to do without parsing messages:

- ``UsageError``: the caller misused the API (bad argument, closed decoder);
- ``ProtocolError``: the remote peer broke SSE or HTTP framing, including going
  over a configured limit (``LimitExceeded``, ``RemoteProtocolError``,
  ``TooManyRedirects``);
- ``ResponseError``: the answer was valid HTTP but not a usable event stream
  (status, content type); it carries the status, headers and the error body;
- ``TransportError``: the connection failed (``ConnectError``, ``ReadError``,
  ``WriteError``) or timed out (``TransportTimeout`` and its kinds);

The chat layer adds its own branches to this tree in ``sseio.chat`` (a stream
cut short, an error the API reported): they are ``SSEError`` subclasses too.

Messages are short, lowercase and show the offending value or numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "EncodeError",
    "EventTimeout",
    "LimitExceeded",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ResponseError",
    "SSEError",
    "TooManyRedirects",
    "TransportError",
    "TransportTimeout",
    "UsageError",
    "WriteError",
    "WriteTimeout",
]


class SSEError(Exception):
    """Root of every error sseio raises on purpose."""


class UsageError(SSEError):
    """The caller used the API in a way it does not allow."""


class EncodeError(UsageError, ValueError):
    """An event cannot be written without breaking the stream (newline in a name, NUL in an id…)."""


class ProtocolError(SSEError):
    """The remote peer sent something that breaks the protocol or a configured limit."""


class LimitExceeded(ProtocolError):
    """A line or an event grew past its configured limit.

    ``limit_name`` is the keyword argument that sets the limit (``"max_line_size"``
    or ``"max_event_size"``), ``limit`` its value and ``size`` the size seen when the
    decoder gave up (at least ``limit + 1``).  ``events`` holds what the same
    ``feed()`` call had completed before the offending line (events, or lines for
    ``LineDecoder``), so nothing already received is lost.
    """

    def __init__(self, limit_name: str, limit: int, size: int) -> None:
        super().__init__(
            f"{limit_name.removeprefix('max_').replace('_', ' ')} of at least "
            f"{size} bytes exceeds {limit_name}={limit}"
        )
        self.limit_name = limit_name
        self.limit = limit
        self.size = size
        self.events: list[Any] = []

    def __reduce__(self) -> tuple[type[LimitExceeded], tuple[str, int, int]]:
        return (type(self), (self.limit_name, self.limit, self.size))


class RemoteProtocolError(ProtocolError):
    """The server broke HTTP/1.1 (malformed status line, headers or body framing)."""


class TooManyRedirects(ProtocolError):
    """More redirects in a row than ``max_redirects`` allows."""


class ResponseError(SSEError):
    """The server answered, but not with an event stream (status other than 200, or
    a content type other than ``text/event-stream``).

    ``status_code``, ``headers`` (a list of ``(name, value)`` string pairs, names
    lowercase), ``content_type``, ``body`` (the first bytes of the body, up to a
    bound) and ``json`` (the body parsed as JSON when it is JSON, else ``None``)
    say what the server sent; ``message`` is the server's own error message
    (from ``{"error": {"message": ...}}`` and the like, or a short text body),
    if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: list[tuple[str, str]],
        content_type: str,
        body: bytes,
        json: Any = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = server_message
        self.status_code = status_code
        self.headers = headers
        self.content_type = content_type
        self.body = body
        self.json = json

    def header(self, name: str) -> str | None:
        """The first value of a response header, or ``None``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)


class TransportError(SSEError):
    """The connection to the server failed; ``__cause__`` holds the underlying error."""


class ConnectError(TransportError):
    """Could not connect (DNS, refused, unreachable, TLS handshake, bad certificate)."""


class ProxyError(ConnectError):
    """The proxy refused to open the way to the origin (a CONNECT answered with a
    non-2xx status, or 407 for an ``http://`` target), or answered what is not HTTP.

    ``proxy`` is the proxy's URL without credentials; ``status_code``,
    ``headers`` and ``body`` are its answer (``None``/empty when it sent none);
    ``credentials_sent`` says whether a ``Proxy-Authorization`` went with the
    request, so a 407 tells "wrong credentials" from "none given".
    """

    def __init__(
        self,
        message: str,
        *,
        proxy: str,
        status_code: int | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        credentials_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.proxy = proxy
        self.status_code = status_code
        self.headers = headers or []
        self.body = body
        self.credentials_sent = credentials_sent


class ReadError(TransportError):
    """The connection broke while reading."""


class WriteError(TransportError):
    """The connection broke while writing the request."""


class TransportTimeout(TransportError):
    """A configured time limit ran out (see ``sseio.Timeout``)."""


class ConnectTimeout(TransportTimeout, ConnectError):
    """Connecting (and the TLS handshake) took longer than ``Timeout.connect``."""


class ReadTimeout(TransportTimeout, ReadError):
    """No byte arrived for ``Timeout.read`` seconds."""


class WriteTimeout(TransportTimeout, WriteError):
    """Sending the request took longer than ``Timeout.write``."""


class EventTimeout(TransportTimeout):
    """No event was dispatched for ``Timeout.event`` seconds (keepalive comments
    do not count): the server is alive but the stream is stuck."""
