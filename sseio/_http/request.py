"""Requests for event streams, sans-IO: validated before anything is sent.

``prepare_request`` turns the caller's arguments (method, URL, headers, a JSON
or raw body, ``Last-Event-ID``) into a ``Request``: where to connect and the
exact head and body to send.  Everything is checked here, so no adapter sends
a bad byte: a header name that is not a token, a header value with CR, LF or
NUL, a URL that is not ``http``/``https`` or has no host raise ``UsageError``.
``split_url`` and ``host_header`` are shared with redirects.
"""

from __future__ import annotations

import json as jsonlib
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

from .._core.errors import UsageError
from .._version import __version__
from .observe import redacted_url

__all__ = ["USER_AGENT", "Request", "header_safe", "host_header", "prepare_request", "split_url"]

USER_AGENT = f"sseio/{__version__}"
_USER_AGENT_HEADER = ("User-Agent", USER_AGENT)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Request:
    """A request ready to send: where to, and exactly which bytes."""

    method: str
    url: str
    scheme: str
    host: str  # as used to connect: an IPv6 literal has no brackets
    port: int
    target: str  # path and query
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)

    def with_header(self, name: str, value: str | None) -> Request:
        """A copy with header ``name`` set to ``value`` (removed when ``None``)."""
        lowered = name.lower()
        headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        if value is None and len(headers) == len(self.headers):
            return self  # nothing to remove: the same request (one less copy per stream)
        if value is not None:
            _check_header(name, value)
            headers.append((name, value))
        return replace(self, headers=headers)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_IN_TARGET = re.compile(r"[^\x21-\x7e]")


def _check_header(name: str, value: str) -> None:
    if not isinstance(name, str) or not isinstance(value, str):
        raise UsageError(f"header names and values must be str, got {name!r}: {value!r}")
    if not _TOKEN.fullmatch(name):
        raise UsageError(f"invalid header name: {name!r}")
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"header {name} must not contain CR, LF or NUL: {value!r}")
    if value != value.strip(" \t") or any((c < " " and c != "\t") or c == "\x7f" for c in value):
        raise UsageError(f"header {name} has control characters or surrounding space: {value!r}")


def header_safe(value: str) -> str:
    """``value`` fit for a header: surrounding space and control characters dropped
    (for values that come from the server, such as the last event ID)."""
    return "".join(c for c in value if (c >= " " and c != "\x7f") or c == "\t").strip(" \t")


def split_url(url: str, what: str = "url") -> tuple[str, str, int, str]:
    """Scheme, host (IDNA), port and target of an ``http``/``https`` URL, or a
    ``UsageError`` that names ``what`` and shows the URL without its credentials."""
    if not isinstance(url, str):
        raise UsageError(f"{what} must be a str, got {type(url).__name__}")
    shown = redacted_url(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError as exc:
        raise UsageError(f"invalid {what} {shown!r}: {exc}") from None
    if scheme not in _DEFAULT_PORTS:
        raise UsageError(f"{what} must start with http:// or https://, got {shown!r}")
    if not host:
        raise UsageError(f"{what} has no host: {shown!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UsageError(f"invalid host name in {shown!r}: {exc}") from exc
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    # Spaces, controls and non-ASCII are percent-encoded (UTF-8), as browsers do.
    target = _UNSAFE_IN_TARGET.sub(lambda m: quote(m.group(), safe=""), target)
    return scheme, host, port, target


def host_header(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"


def prepare_request(
    method: str,
    url: str,
    *,
    headers: Any = None,
    json: Any = None,
    content: bytes | str | None = None,
    last_event_id: str = "",
) -> Request:
    """Validate the caller's arguments and build the request to send.

    Sets ``Host``, ``Accept: text/event-stream``, ``Cache-Control: no-cache``,
    ``Accept-Encoding``, a ``User-Agent`` and, for a body, ``Content-Type`` and
    ``Content-Length``, unless the caller gave them; ``Last-Event-ID`` only
    when ``last_event_id`` is non-empty.
    """
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise UsageError(f"invalid method: {method!r}")
    if json is not None and content is not None:
        raise UsageError("give json= or content=, not both")
    scheme, host, port, target = split_url(url)
    given = list(headers.items() if isinstance(headers, dict) else headers or ())
    for name, value in given:
        _check_header(name, value)
    if not isinstance(last_event_id, str) or any(c in last_event_id for c in "\r\n\0"):
        raise UsageError(f"last_event_id must be a str without CR, LF or NUL: {last_event_id!r}")
    body = b""
    content_type = None
    if json is not None:
        try:
            text = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"json= cannot be sent as JSON: {exc}") from exc
        body = text.encode()
        content_type = "application/json"
    elif isinstance(content, str):
        body = content.encode()
        content_type = "text/plain; charset=utf-8"
    elif isinstance(content, (bytes, bytearray, memoryview)):
        body = bytes(content)
    elif content is not None:
        raise UsageError(f"content must be bytes or str, got {type(content).__name__}")
    present = {name.lower() for name, _ in given}
    defaults = [
        ("Host", host_header(scheme, host, port)),
        ("Accept", "text/event-stream"),
        ("Cache-Control", "no-cache"),
        ("Accept-Encoding", "gzip, deflate"),
        _USER_AGENT_HEADER,
    ]
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        defaults.append(("Content-Length", str(len(body))))
        if content_type:
            defaults.append(("Content-Type", content_type))
    all_headers = [pair for pair in defaults if pair[0].lower() not in present] + given
    request = Request(method.upper(), url, scheme, host, port, target, all_headers, body)
    if header_safe(last_event_id):
        request = request.with_header("Last-Event-ID", header_safe(last_event_id))
    return request
