"""What the SSE server passes to handlers and takes back from them, as checked values.

``Request`` is what a handler gets (method, target, path, query, headers,
body; ``json()`` raises ``BadRequest`` for a body that is not JSON);
``Response`` and ``EventStream`` are what it returns.  Headers are checked
when the value is built, so a handler's mistake is reported where it is made
rather than on the wire; ``encode_item`` gives the bytes of one stream item
(events through the core encoder).  Nothing here touches a socket.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import EllipsisType
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import h11

from .._core.encoder import encode_comment
from .._core.errors import EncodeError, SSEError, UsageError
from .._core.events import Comment, Done, ServerSentEvent

__all__ = [
    "FRAMING_HEADERS",
    "NO_BODY_STATUSES",
    "SERVER_ERROR",
    "AbortConnection",
    "BadRequest",
    "EventStream",
    "Handler",
    "Request",
    "Response",
    "StreamItem",
    "check_interval",
    "encode_headers",
    "encode_item",
    "error_response",
    "merge_headers",
    "reason_phrase",
    "split_target",
]

_DONE = b"data: [DONE]\n\n"
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
NO_BODY_STATUSES = frozenset({204, 304})

HeadersLike: TypeAlias = Iterable[tuple[str, str]] | Mapping[str, str]
StreamItem: TypeAlias = ServerSentEvent | Comment | Done | bytes


class BadRequest(SSEError):
    """The request cannot be served as sent; the server answers ``status`` (400) with
    ``{"error": {"message": message, "type": "invalid_request_error"}}``.

    ``Request.json()`` raises it for a body that is not JSON; handlers may raise it
    themselves, with their own message and a 4xx ``status``.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 499:
            raise UsageError(f"BadRequest status must be a 4xx int, got {status!r}")
        self.message = message
        self.status = status


class AbortConnection(Exception):
    """Raised by a handler (or its event iterator) to drop the connection at once.

    No answer is sent, or, mid-stream, no terminating chunk: the client sees a
    broken connection.  Used to simulate servers and networks that fail.
    """


def _normalize_headers(headers: HeadersLike, what: str) -> tuple[tuple[str, str], ...]:
    """Headers as a tuple of ``(name, value)`` str pairs, checked so h11 can send them.

    Values are sent as latin-1 (the way ``Request`` decodes them), so a value with a
    character beyond U+00FF is refused, as are names that are not HTTP tokens and
    values with CR, LF or NUL.  Framing headers are kept unchecked: the server
    never sends them as given.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    try:
        pairs = tuple((name, value) for name, value in items)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{what} headers must be (name, value) pairs: {exc}") from exc
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise UsageError(f"{what} header names and values must be str, got {(name, value)!r}")
    checked = [(name, value) for name, value in pairs if name.lower() not in FRAMING_HEADERS]
    try:
        h11.Response(status_code=200, headers=encode_headers(checked))
    except UnicodeEncodeError as exc:
        raise UsageError(f"{what} header is not latin-1 text: {exc.object!r}") from exc
    except h11.LocalProtocolError as exc:
        raise UsageError(f"invalid {what} header: {exc}") from exc
    return pairs


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def _check_status(status: object, what: str) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise UsageError(f"{what} status must be an int from 200 to 599, got {status!r}")


def merge_headers(
    defaults: Iterable[tuple[str, str]], extra: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``defaults`` then ``extra``; a name in ``extra`` replaces every default of that name."""
    extra = list(extra)
    replaced = {name.lower() for name, _ in extra}
    return [(n, v) for n, v in defaults if n.lower() not in replaced] + extra


@dataclass(frozen=True, slots=True)
class Request:
    """One request as received: the handler's input.

    ``path`` and ``query`` are the target split at the first ``?`` (an absolute
    target, ``http://host/path?q``, gives its path and query), not
    percent-decoded.  Header names are lower-cased, values decoded as latin-1,
    in the order received.  ``client`` is the peer's ``(host, port)``.
    """

    method: str
    target: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client: tuple[str, int] | None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def json(self) -> Any:
        """The body parsed as JSON; ``BadRequest`` when it is empty, not UTF-8 or not JSON."""
        if not self.body:
            raise BadRequest("request body is empty; expected JSON")
        try:
            return json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadRequest(
                f"request body is not UTF-8: {exc.reason} at byte {exc.start}"
            ) from exc
        except json.JSONDecodeError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from exc
        except (ValueError, RecursionError) as exc:  # too many digits, too deeply nested
            raise BadRequest(f"request body cannot be parsed as JSON: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Response:
    """A plain (not streamed) answer: status, body and extra headers.

    The server sets ``Content-Length`` itself (framing headers given here are
    ignored) and sends no body to a ``HEAD`` request or with status 204 or 304.
    ``headers`` may be given as pairs or a mapping; it is stored as a tuple of
    pairs.  Invalid values raise ``UsageError`` when the response is built.
    """

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _check_status(self.status, "response")
        if not isinstance(self.body, (bytes, bytearray, memoryview)):
            raise UsageError(
                f"response body must be bytes, got {type(self.body).__name__} "
                "(Response.text and Response.json encode text and JSON)"
            )
        object.__setattr__(self, "body", bytes(self.body))
        object.__setattr__(self, "headers", _normalize_headers(self.headers, "response"))

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: HeadersLike = ()) -> Response:
        """``payload`` as compact UTF-8 JSON, ``Content-Type: application/json``."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = _normalize_headers(headers, "response")
        return cls(
            status, body, tuple(merge_headers([("content-type", "application/json")], headers))
        )

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: HeadersLike = (),
    ) -> Response:
        """``text`` encoded as UTF-8 with the given content type."""
        headers = _normalize_headers(headers, "response")
        merged = merge_headers([("content-type", content_type)], headers)
        return cls(status, text.encode(), tuple(merged))


@dataclass(frozen=True, slots=True)
class EventStream:
    """A streamed answer: ``events`` is written item by item as it produces them.

    Items are ``ServerSentEvent`` (encoded with the default type ``message``
    left implicit), ``Comment``, ``DONE`` (``data: [DONE]``) or ``bytes`` (sent as
    they are, for pre-encoded or deliberately malformed streams).  The default
    headers (``Content-Type: text/event-stream; charset=utf-8``,
    ``Cache-Control: no-store``, ``X-Accel-Buffering: no``) are replaced by
    ``headers`` of the same name.  ``keepalive`` is the quiet time in seconds
    before a keepalive comment is sent (``None``: never; ``...``: the server's
    setting).  ``abort=True`` drops the connection once the events end, without
    the terminating chunk, as if the network failed.
    """

    events: AsyncIterable[StreamItem]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    keepalive: float | EllipsisType | None = ...
    abort: bool = False

    def __post_init__(self) -> None:
        _check_status(self.status, "event stream")
        if self.status in NO_BODY_STATUSES:
            raise UsageError(f"an event stream cannot have status {self.status} (no body)")
        if not hasattr(self.events, "__aiter__"):
            raise UsageError(
                f"EventStream events must be an async iterable, got {type(self.events).__name__}"
            )
        if self.keepalive is not ...:
            check_interval(self.keepalive, "EventStream.keepalive")
        object.__setattr__(self, "headers", _normalize_headers(self.headers, "event stream"))


Handler: TypeAlias = Callable[[Request], Awaitable[Response | EventStream]]


def check_interval(value: object, name: str) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf
    ):
        raise UsageError(f"{name} must be a positive number of seconds or None, got {value!r}")


def error_response(status: int, message: str, kind: str) -> Response:
    return Response.json({"error": {"message": message, "type": kind}}, status)


SERVER_ERROR = error_response(500, "internal server error", "server_error")


def encode_item(item: object) -> bytes:
    """The wire bytes of one stream item; ``EncodeError`` for what cannot be sent."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, Comment):
        return encode_comment(item.text)
    if isinstance(item, Done) or item is Done:
        return _DONE
    raise EncodeError(
        f"cannot send a {type(item).__name__} in an event stream "
        "(expected ServerSentEvent, Comment, DONE or bytes)"
    )


def reason_phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def split_target(target: str) -> tuple[str, str]:
    """``(path, query)`` of a request target (origin form or absolute form)."""
    if target[:8].lower().startswith(("http://", "https://")):
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path, query
