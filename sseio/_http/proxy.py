"""Forward proxies, sans-IO: which proxy a request goes through, and the CONNECT exchange.

``Proxy`` is what a caller passes (``proxy="http://user:pw@host:3128"`` or a
``Proxy`` with extra headers); with ``trust_env`` the environment decides
(``proxy_from_environment``) by the rules httpx, requests and curl share:
``http_proxy`` for ``http://`` targets, ``https_proxy`` for ``https://``
targets, ``all_proxy`` for either, each in lower case before upper case
(``HTTP_PROXY`` is ignored in a CGI process, where a request header could have
set it), and ``no_proxy`` naming the hosts to reach directly.  ``no_proxy``
entries are separated by commas or spaces: ``*`` (every host), a domain
(``example.com`` or ``.example.com``: the domain and its subdomains, never
``notexample.com``), an IP address or CIDR range (``10.0.0.0/8``, ``::1``), each
optionally with ``:port``.

``ProxyRoute`` is the decision for one request: where to connect, and the
``Proxy-Authorization`` value built from the proxy URL's userinfo
(percent-decoded, Basic).  Its repr and every message show the proxy without
credentials.  ``Tunnel`` is the CONNECT exchange that opens a tunnel for an
``https://`` target, through h11.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import h11

from .._core.errors import ProxyError, UsageError
from .exchange import ERROR_BODY_LIMIT, MAX_HEADER_SIZE
from .observe import redacted_url
from .request import Request, host_header, split_url

__all__ = [
    "Proxy",
    "ProxyRoute",
    "Tunnel",
    "forwarded",
    "no_proxy_matches",
    "proxy_environment",
    "proxy_from_environment",
    "proxy_refused",
    "proxy_route",
    "resolve_proxy",
]


@dataclass(frozen=True)
class Proxy:
    """A forward proxy: its URL (``http://`` or ``https://``, credentials allowed in
    the userinfo) and headers to send to it (never to the origin)."""

    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        proxy_route(self)  # a bad URL or header is the caller's error, raised at once

    def __repr__(self) -> str:
        return f"Proxy({redacted_url(self.url)!r})"


@dataclass(frozen=True)
class ProxyRoute:
    """How one request reaches its origin through a proxy."""

    scheme: str  # the proxy's own scheme: TLS to the proxy when "https"
    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # Proxy-Authorization
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    shown: str = ""  # the proxy URL without credentials, for messages

    @property
    def key(self) -> tuple[str, str, int, str | None]:
        """What pooled connections through this proxy have in common."""
        return (self.scheme, self.host, self.port, self.authorization)

    def request_headers(self) -> list[tuple[str, str]]:
        """Headers for the proxy: the caller's, and the credentials when there are any."""
        extra = list(self.headers)
        if self.authorization is not None:
            extra.append(("Proxy-Authorization", self.authorization))
        return extra


def proxy_route(proxy: str | Proxy) -> ProxyRoute:
    """The route through ``proxy`` (a URL or a ``Proxy``), checked: ``UsageError``
    for anything but an ``http://``/``https://`` URL with a host."""
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(proxy, str):
        url = proxy.strip()
    elif isinstance(proxy, Proxy):
        url, headers = proxy.url, proxy.headers
        if not isinstance(url, str):
            raise UsageError(f"Proxy url must be a str, got {type(url).__name__}")
        given: Any = headers
        if not isinstance(given, tuple) or not all(
            isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            for pair in given
        ):
            raise UsageError("Proxy headers must be a tuple of (str, str) pairs")
        url = url.strip()
    else:
        raise UsageError(f"proxy must be a URL string or a sseio.Proxy, got {proxy!r}")
    if "://" not in url:
        url = "http://" + url  # "proxy:3128", as requests and curl read it
    scheme, host, port, _ = split_url(url, "proxy url")
    parts = urlsplit(url)
    authorization = None
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return ProxyRoute(scheme, host, port, authorization, headers, redacted_url(url))


def _variable(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name.lower())
    if value is None and not (name == "HTTP_PROXY" and "REQUEST_METHOD" in environ):
        value = environ.get(name)
    return value.strip() if value and value.strip() else None


_VARIABLES = (
    *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
    *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
    "REQUEST_METHOD",
)
"""Every variable the proxy rules read (``_variable``: the lower-case spelling, then
the upper-case one; ``REQUEST_METHOD`` marks a CGI environment)."""


def proxy_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` that the proxy rules read (a client keeps only these)."""
    return {name: environ[name] for name in _VARIABLES if name in environ}


def proxy_from_environment(environ: Mapping[str, str], scheme: str) -> str | None:
    """The proxy URL the environment names for a ``scheme`` target, if any."""
    own = "HTTPS_PROXY" if scheme == "https" else "HTTP_PROXY"
    return _variable(environ, own) or _variable(environ, "ALL_PROXY")


def no_proxy_matches(no_proxy: str, host: str, port: int) -> bool:
    """Whether ``host:port`` is to be reached directly by a ``no_proxy`` value."""
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        domain = entry.lstrip("*").lstrip(".").rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port`` or a bare entry (a bare IPv6 address has no port)."""
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inside, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        if port.isdigit():
            return name, int(port)
    return entry, None


def resolve_proxy(
    proxy: str | Proxy | None,
    *,
    trust_env: bool,
    environ: Mapping[str, str],
    scheme: str,
    host: str,
    port: int,
) -> ProxyRoute | None:
    """The route for a request to ``scheme://host:port``, or ``None`` to go direct.

    A ``proxy`` given by the caller applies to every request; otherwise, with
    ``trust_env``, the environment's proxy for the scheme, unless ``no_proxy``
    names the host.
    """
    if proxy is not None:
        return proxy_route(proxy)
    if not trust_env:
        return None
    found = proxy_from_environment(environ, scheme)
    if found is None:
        return None
    no_proxy = _variable(environ, "NO_PROXY")
    if no_proxy is not None and no_proxy_matches(no_proxy, host, port):
        return None
    return proxy_route(found)


class Tunnel:
    """The CONNECT exchange that opens a tunnel to ``host:port`` through a proxy.

    The adapter writes ``request_bytes()`` to the proxy, hands each read to
    ``receive()`` (``b""`` at the end) until ``open`` is true, then starts TLS
    to the origin inside the tunnel.  A non-2xx answer, a proxy that closes
    first or answers garbage raises ``ProxyError``, with the proxy's error page
    (up to ``ERROR_BODY_LIMIT``) in ``body``.
    """

    def __init__(self, route: ProxyRoute, host: str, port: int) -> None:
        self.route = route
        self.open = False
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._authority = authority
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_SIZE)
        self._refusal: h11.Response | None = None
        self._body = b""

    def request_bytes(self) -> bytes:
        headers = [("Host", self._authority), *self.route.request_headers()]
        head = h11.Request(method="CONNECT", target=self._authority, headers=headers)
        return (self._h11.send(head) or b"") + (self._h11.send(h11.EndOfMessage()) or b"")

    def receive(self, data: bytes) -> None:
        """Feed what the proxy sent; sets ``open`` once it agreed, raises if it refused."""
        try:
            self._h11.receive_data(data)
            while True:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    if not data:  # the proxy closed before it finished answering
                        self._fail("the proxy closed the connection")
                    return
                if isinstance(event, h11.InformationalResponse):
                    continue
                if isinstance(event, h11.Response):
                    if 200 <= event.status_code < 300:
                        self.open = True
                        return
                    self._refusal = event
                elif isinstance(event, h11.Data):
                    self._body += event.data
                    if len(self._body) >= ERROR_BODY_LIMIT:
                        self._fail()
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    self._fail()
                if event is h11.PAUSED:
                    self._fail()
        except h11.RemoteProtocolError as exc:
            if not data:
                self._fail("the proxy closed the connection")
            raise ProxyError(
                f"proxy {self.route.shown} answered the CONNECT with what is not HTTP: {exc}",
                proxy=self.route.shown,
                credentials_sent=self.route.authorization is not None,
            ) from exc

    def _fail(self, why: str = "") -> None:
        refusal = self._refusal
        sent = self.route.authorization is not None
        if refusal is None:
            raise ProxyError(
                f"proxy {self.route.shown} gave no answer to CONNECT {self._authority}: {why}",
                proxy=self.route.shown,
                credentials_sent=sent,
            )
        reason = refusal.reason.decode("latin-1")
        message = f"proxy {self.route.shown} refused CONNECT {self._authority}: "
        message += f"{refusal.status_code} {reason}".rstrip()
        if refusal.status_code in (401, 407):  # some proxies answer bad credentials with 401
            message += " (credentials were sent)" if sent else " (no credentials were given)"
        raise ProxyError(
            message,
            proxy=self.route.shown,
            status_code=refusal.status_code,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in refusal.headers],
            body=self._body[:ERROR_BODY_LIMIT],
            credentials_sent=sent,
        )


def forwarded(request: Request, route: ProxyRoute) -> Request:
    """``request`` as sent to a proxy for an ``http://`` target: the absolute URL as
    the request target, and the proxy's headers added (they stop at the proxy)."""
    authority = host_header(request.scheme, request.host, request.port)
    target = f"{request.scheme}://{authority}{request.target}"
    headers = [*request.headers, *route.request_headers()]
    return replace(request, target=target, headers=headers)


def proxy_refused(
    route: ProxyRoute, status_code: int, reason: str, headers: list[tuple[str, str]], body: bytes
) -> ProxyError | None:
    """The ``ProxyError`` for a 407 a proxy gave to a forwarded ``http://`` request."""
    if status_code != 407:
        return None
    sent = route.authorization is not None
    given = " (credentials were sent)" if sent else " (no credentials were given)"
    return ProxyError(
        f"proxy {route.shown} refused the request: 407 {reason}{given}".replace("  ", " "),
        proxy=route.shown,
        status_code=status_code,
        headers=headers,
        body=body,
        credentials_sent=sent,
    )
