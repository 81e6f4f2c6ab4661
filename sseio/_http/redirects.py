"""Redirects, sans-IO: the next request for a 3xx, by the rules browsers use."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from .._core.errors import RemoteProtocolError, TooManyRedirects, UsageError
from .exchange import Response
from .request import Request, host_header, split_url

__all__ = ["DEFAULT_MAX_REDIRECTS", "redirect"]

DEFAULT_MAX_REDIRECTS = 10
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_CREDENTIAL_HEADERS = frozenset(("authorization", "cookie", "proxy-authorization"))


def redirect(request: Request, response: Response, hops: int, max_redirects: int) -> Request | None:
    """The request to follow a redirect with, or ``None`` when ``response`` is none.

    301 and 302 turn a POST into a bodiless GET, 303 turns anything but HEAD
    into one (as browsers do); 307 and 308 repeat the request as it was.
    A ``Location`` that cannot be followed is the server's error
    (``RemoteProtocolError``).  Credentials (``Authorization``,
    ``Cookie``) are not sent to another origin.  ``Last-Event-ID`` is kept.
    """
    location = response.header("location")
    if response.status_code not in _REDIRECTS or location is None:
        return None
    if hops >= max_redirects:
        raise TooManyRedirects(f"more than {max_redirects} redirects, last to {location}")
    try:
        target_parts = urlsplit(location.strip())
        if target_parts.scheme and not target_parts.netloc:
            raise UsageError("no host")
        url = urljoin(request.url, location.strip())
        scheme, host, port, target = split_url(url)
    except (UsageError, ValueError) as exc:
        raise RemoteProtocolError(f"cannot follow redirect to {location!r}: {exc}") from exc
    method, body = request.method, request.body
    drop = {"host"}
    to_get = method == "POST" if response.status_code in (301, 302) else method != "HEAD"
    if response.status_code in (301, 302, 303) and (to_get or method == "GET"):
        if body or method != "GET":
            drop |= {"content-length", "content-type", "transfer-encoding"}
        method, body = "GET", b""
    if (scheme, host.lower(), port) != request.origin:
        drop |= _CREDENTIAL_HEADERS
    headers = [("Host", host_header(scheme, host, port))]
    headers += [(k, v) for k, v in request.headers if k.lower() not in drop]
    return Request(method, url, scheme, host, port, target, headers, body)
