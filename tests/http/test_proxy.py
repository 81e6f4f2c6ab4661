"""Proxies, sans-IO (``sseio._http.proxy``): the environment's rules, routes, CONNECT.

The environment-variable cases follow what httpx, requests and curl do; where
they disagree (requests matches ``no_proxy=example.com`` against
``notexample.com``), sseio takes curl's and httpx's domain-boundary reading.
"""

from __future__ import annotations

import base64

import pytest

import sseio
from sseio._http.proxy import (
    Tunnel,
    forwarded,
    no_proxy_matches,
    proxy_environment,
    proxy_from_environment,
    resolve_proxy,
)
from sseio._http.request import prepare_request


@pytest.mark.parametrize(
    ("environ", "scheme", "expected"),
    [
        ({}, "http", None),
        ({"HTTP_PROXY": "http://p:1"}, "http", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1"}, "https", None),  # http_proxy is for http:// only
        ({"HTTPS_PROXY": "http://p:2"}, "https", "http://p:2"),
        ({"ALL_PROXY": "http://p:3"}, "https", "http://p:3"),
        ({"ALL_PROXY": "http://p:3", "HTTPS_PROXY": "http://p:2"}, "https", "http://p:2"),
        ({"http_proxy": "http://low:1", "HTTP_PROXY": "http://up:1"}, "http", "http://low:1"),
        ({"https_proxy": "  "}, "https", None),  # blank is unset
        ({"all_proxy": "http://p:3"}, "http", "http://p:3"),
        # A CGI process: HTTP_PROXY may come from a request's Proxy header (httpoxy).
        ({"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"}, "http", None),
        ({"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"}, "http", "http://p:1"),
    ],
)
def test_which_variable_names_the_proxy(
    environ: dict[str, str], scheme: str, expected: str | None
) -> None:
    assert proxy_from_environment(environ, scheme) == expected
    # What a client keeps of the environment decides the same way.
    assert proxy_from_environment(proxy_environment(environ), scheme) == expected


def test_a_client_keeps_only_the_proxy_variables() -> None:
    environ = {
        "HOME": "/root",
        "https_proxy": "http://p:2",
        "NO_PROXY": "localhost",
        "REQUEST_METHOD": "GET",
        "OPENAI_API_KEY": "sk-secret",
    }
    assert proxy_environment(environ) == {
        "https_proxy": "http://p:2",
        "NO_PROXY": "localhost",
        "REQUEST_METHOD": "GET",
    }


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypass"),
    [
        ("*", "anything.example", 80, True),
        ("example.com", "example.com", 80, True),
        ("example.com", "api.example.com", 443, True),
        (".example.com", "api.example.com", 443, True),
        (".example.com", "example.com", 443, True),
        ("*.example.com", "a.b.example.com", 80, True),
        ("example.com", "notexample.com", 80, False),
        ("example.com", "example.com.evil", 80, False),
        ("EXAMPLE.com", "Example.COM.", 80, True),
        ("example.com:8080", "example.com", 8080, True),
        ("example.com:8080", "example.com", 80, False),
        ("127.0.0.1", "127.0.0.1", 8000, True),
        ("127.0.0.1", "127.0.0.2", 8000, False),
        ("10.0.0.0/8", "10.1.2.3", 80, True),
        ("10.0.0.0/8", "11.1.2.3", 80, False),
        ("::1", "::1", 80, True),
        ("[::1]:8080", "::1", 8080, True),
        ("[::1]:8080", "::1", 80, False),
        ("fd00::/8", "fd12::1", 80, True),
        ("localhost, internal", "internal", 80, True),
        ("localhost internal", "internal", 80, True),  # spaces separate too
        (" , ,", "example.com", 80, False),
        ("10.0.0.0/8", "ten.example", 80, False),  # a range matches addresses only
    ],
)
def test_no_proxy_rules(no_proxy: str, host: str, port: int, bypass: bool) -> None:
    assert no_proxy_matches(no_proxy, host, port) is bypass


def test_credentials_are_percent_decoded_and_never_shown() -> None:
    found = resolve_proxy(
        "http://us%40er:p%3Ass%2Fw@proxy.example:3128",
        trust_env=False,
        environ={},
        scheme="https",
        host="origin.example",
        port=443,
    )
    assert found is not None
    assert (found.scheme, found.host, found.port) == ("http", "proxy.example", 3128)
    assert found.authorization == "Basic " + base64.b64encode(b"us@er:p:ss/w").decode()
    assert found.shown == "http://[redacted]@proxy.example:3128"
    assert "p%3Ass" not in repr(found)
    assert "Basic" not in repr(found)


def test_a_proxy_without_scheme_or_credentials() -> None:
    found = resolve_proxy(
        "proxy.example:3128", trust_env=False, environ={}, scheme="http", host="h", port=80
    )
    assert found is not None
    assert (found.scheme, found.port, found.authorization) == ("http", 3128, None)
    assert found.request_headers() == []


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("socks5://user:pw@p:1080", "must start with http:// or https://"),
        ("http://:3128", "has no host"),
        ("http://p:notaport", "invalid proxy url"),
    ],
)
def test_bad_proxy_urls_are_usage_errors_without_credentials(proxy: str, message: str) -> None:
    with pytest.raises(sseio.UsageError, match=message) as caught:
        resolve_proxy(proxy, trust_env=False, environ={}, scheme="http", host="h", port=80)
    assert "pw" not in str(caught.value)
    with pytest.raises(sseio.UsageError):
        sseio.Client(proxy=proxy)


def test_the_environment_is_used_only_with_trust_env_and_no_proxy_wins() -> None:
    environ = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "internal.example"}
    https = {"scheme": "https", "port": 443}
    assert resolve_proxy(None, trust_env=False, environ=environ, host="x", **https) is None
    found = resolve_proxy(None, trust_env=True, environ=environ, host="x", **https)
    assert found is not None
    assert found.host == "p"
    assert (
        resolve_proxy(None, trust_env=True, environ=environ, host="internal.example", **https)
        is None
    )
    # A proxy given by the caller applies to every host.
    given = resolve_proxy(
        "http://q:2", trust_env=True, environ=environ, host="internal.example", **https
    )
    assert given is not None
    assert given.host == "q"


def test_a_proxy_value_carries_headers_for_the_proxy_only() -> None:
    proxy = sseio.Proxy("http://u:pw@p:1", headers=(("X-Proxy-Token", "t"),))
    assert repr(proxy) == "Proxy('http://[redacted]@p:1')"
    found = resolve_proxy(proxy, trust_env=False, environ={}, scheme="http", host="h", port=80)
    assert found is not None
    request = prepare_request("GET", "http://origin.example:8080/a?b=1", headers={"X": "1"})
    sent = forwarded(request, found)
    assert sent.target == "http://origin.example:8080/a?b=1"  # absolute form
    assert ("X-Proxy-Token", "t") in sent.headers
    assert ("Proxy-Authorization", found.authorization) in sent.headers
    assert request.headers == [
        h for h in sent.headers if h[0] not in ("X-Proxy-Token", "Proxy-Authorization")
    ]


def tunnel(proxy: str = "http://u:pw@p:3128") -> Tunnel:
    found = resolve_proxy(proxy, trust_env=False, environ={}, scheme="https", host="h", port=443)
    assert found is not None
    return Tunnel(found, "origin.example", 8443)


def test_connect_request_and_an_agreeing_proxy() -> None:
    opening = tunnel()
    sent = opening.request_bytes()
    assert sent.startswith(b"CONNECT origin.example:8443 HTTP/1.1\r\n")
    assert b"\r\nhost: origin.example:8443\r\n" in sent.lower()
    assert b"\r\nProxy-Authorization: Basic dTpwdw==\r\n" in sent
    opening.receive(b"HTTP/1.1 200 Connection established\r\n")
    assert not opening.open
    opening.receive(b"\r\n")
    assert opening.open


def test_a_407_names_the_proxy_and_whether_credentials_were_sent() -> None:
    for proxy, sent in (("http://u:pw@p:3128", True), ("http://p:3128", False)):
        opening = tunnel(proxy)
        opening.request_bytes()
        page = b"<h1>auth needed</h1>"
        with pytest.raises(sseio.ProxyError) as caught:
            opening.receive(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: "
                + str(len(page)).encode()
                + b"\r\nProxy-Authenticate: Basic\r\n\r\n"
                + page
            )
        error = caught.value
        assert (error.status_code, error.body, error.credentials_sent) == (407, page, sent)
        assert isinstance(error, sseio.ConnectError)
        assert "proxy http://" in str(error)
        assert ("credentials were sent" if sent else "no credentials were given") in str(error)
        assert "pw" not in str(error)
        assert ("proxy-authenticate", "Basic") in error.headers


def feed(opening: Tunnel, reads: list[bytes]) -> None:
    for data in reads:
        opening.receive(data)


@pytest.mark.parametrize(
    ("reads", "message"),
    [
        ([b""], "gave no answer"),  # closed at once
        ([b"HTTP/1.1 200 OK", b""], "gave no answer"),  # closed inside the head
        ([b"SSH-2.0-OpenSSH\r\n\r\n"], "not HTTP"),
        ([b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad"], "refused CONNECT"),
    ],
)
def test_a_failed_connect_is_a_proxy_error(reads: list[bytes], message: str) -> None:
    opening = tunnel()
    opening.request_bytes()
    with pytest.raises(sseio.ProxyError, match=message):
        feed(opening, reads)
