"""httpx's request errors as sseio's: one table, and messages without credentials.

``transport_error(exc, request)`` gives the sseio error of the same kind as an
httpx ``RequestError`` (the caller chains it: ``raise ... from exc``), so code
written for sseio's own client catches the same classes here: a connect
failure is ``ConnectError``, a slow server ``ReadTimeout``, a broken body
``RemoteProtocolError``, a bad URL ``UsageError``.  The table is ordered from
the most specific httpx class to the least; the first match wins.  Messages
name the origin (host and port, never the userinfo) and the time limit that
ran out, and any user name or password of the URL that httpx put in its own
message is redacted.  httpx errors that are not request errors (an
``HTTPStatusError`` raised by the caller's own event hook, for one) are the
caller's and are left alone.  A URL httpx cannot use is the caller's mistake
(``UsageError``) on the request they made and the server's
(``RemoteProtocolError``) on a redirect.
"""

from __future__ import annotations

import httpx

from .._core.errors import (
    ConnectError,
    ConnectTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    SSEError,
    TooManyRedirects,
    TransportError,
    TransportTimeout,
    UsageError,
    WriteError,
    WriteTimeout,
)
from .._http.observe import REDACTED

__all__ = ["transport_error"]

# httpx class, sseio class, message ({where}: host:port, {seconds}: the limit, {detail}).
_TABLE: tuple[tuple[type[httpx.RequestError], type[SSEError], str], ...] = (
    (httpx.ConnectTimeout, ConnectTimeout, "connecting to {where} took over {connect}s"),
    (httpx.PoolTimeout, ConnectTimeout, "no connection to {where} free within {pool}s"),
    (httpx.ReadTimeout, ReadTimeout, "no data from the server for {read}s"),
    (httpx.WriteTimeout, WriteTimeout, "sending the request took over {write}s"),
    (httpx.TimeoutException, TransportTimeout, "time limit ran out: {detail}"),
    (httpx.ProxyError, ProxyError, "proxy failed for {where}: {detail}"),
    (httpx.ConnectError, ConnectError, "cannot connect to {where}: {detail}"),
    (httpx.ReadError, ReadError, "connection broke while reading: {detail}"),
    (httpx.WriteError, WriteError, "connection broke while sending the request: {detail}"),
    (httpx.CloseError, ReadError, "connection broke while closing: {detail}"),
    (httpx.UnsupportedProtocol, UsageError, "url must start with http:// or https://: {detail}"),
    (httpx.LocalProtocolError, UsageError, "request breaks HTTP: {detail}"),
    (httpx.RemoteProtocolError, RemoteProtocolError, "server broke HTTP: {detail}"),
    (httpx.DecodingError, RemoteProtocolError, "invalid encoded body: {detail}"),
    (httpx.TooManyRedirects, TooManyRedirects, "too many redirects: {detail}"),
    (httpx.TransportError, TransportError, "transport failed: {detail}"),
    (httpx.RequestError, TransportError, "request failed: {detail}"),
)


_CALLERS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def transport_error(
    exc: httpx.RequestError | httpx.InvalidURL, request: httpx.Request | None = None
) -> SSEError:
    """The sseio error for ``exc``, raised while sending ``request`` or reading its response.

    A URL httpx cannot use is the caller's mistake on the request they made, and
    the server's on a redirect (httpx then names the redirected request): the
    server's becomes a ``RemoteProtocolError``, as sseio's own client says it.
    """
    failed = _failed_request(exc)
    detail = _redacted(str(exc) or type(exc).__name__, request or failed)
    if isinstance(exc, httpx.InvalidURL) or (
        isinstance(exc, _CALLERS) and request is not None and failed not in (None, request)
    ):
        return RemoteProtocolError(f"server redirected to an unusable location: {detail}")
    request = request or failed
    limits = dict.fromkeys(("connect", "read", "write", "pool"), None)
    where = "the server"
    if request is not None:
        limits.update(request.extensions.get("timeout") or {})
        url = request.url
        where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    for httpx_class, sseio_class, template in _TABLE:
        if isinstance(exc, httpx_class):
            message = template.format(where=where, detail=detail, **limits)
            if sseio_class is ProxyError:
                return ProxyError(message, proxy="")  # httpx does not say which proxy
            return sseio_class(message)
    raise AssertionError("unreachable: the table ends with httpx.RequestError")  # pragma: no cover


def _failed_request(exc: httpx.RequestError | httpx.InvalidURL) -> httpx.Request | None:
    """The request httpx was sending when ``exc`` arose, if it says."""
    if isinstance(exc, httpx.InvalidURL):
        return None
    try:
        return exc.request
    except RuntimeError:  # raised without a request
        return None


def _redacted(text: str, request: httpx.Request | None) -> str:
    if request is None:
        return text
    for secret in (request.url.password, request.url.username):
        if secret:
            text = text.replace(secret, REDACTED)
    return text
