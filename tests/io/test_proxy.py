"""The clients through a real forward proxy (tinyproxy on 127.0.0.1), on three runtimes.

Each scenario runs with the blocking client and with the async one on asyncio
and trio: ``http://`` targets in absolute form, ``https://`` targets through
a CONNECT tunnel with TLS to the origin inside it (the origin's certificate
and host name checked), Basic credentials good, wrong and missing, the
environment's ``HTTP_PROXY``/``NO_PROXY`` rules per request (a redirect across
the bypass line goes direct), and a reconnect through the proxy that resumes
with ``Last-Event-ID``.

The ``https://`` proxy scenarios go through stunnel in front of the same
tinyproxies (``https_proxies``): TLS to the proxy, and for an ``https://``
target TLS to the origin inside it (TLS in TLS).  One trustme CA signs the
proxy's and the origins' certificates, so one ``ssl_context`` trusts both.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.register_assert_rewrite("sse_server")

from proxy_helpers import PASSWORD, USER, Proxies  # noqa: E402
from sse_server import (  # noqa: E402
    DONE,
    Call,
    Env,
    Reconnect,
    Steps,
    async_env,
    blocking_env,
    causes,
    certificates,
    drive_async,
    drive_sync,
    event,
    redirect,
    sse,
    stream,
)

import sseio  # noqa: E402

__all__ = ["async_env", "blocking_env"]

PROXY_SCENARIOS: dict[str, Callable[[Env, Proxies], Steps]] = {}


def proxy_scenario(func: Callable[[Env, Proxies], Steps]) -> Callable[[Env, Proxies], Steps]:
    PROXY_SCENARIOS[func.__name__] = func
    return func


def via_proxy(request: Any) -> bool:
    return "tinyproxy" in (request.header("via") or "")


@proxy_scenario
def http_target_goes_in_absolute_form(env: Env, proxies: Proxies) -> Steps:
    env.server.script(stream(event("a", id="1"), DONE))
    out = yield Call(env.server.url("/feed?x=1"), proxy=proxies.open, trust_env=False)
    out.ok()
    assert out.items == [sse("a", id="1")]
    [request] = env.server.requests
    assert via_proxy(request)
    assert request.target == "/feed?x=1"
    assert request.header("proxy-authorization") is None  # it stops at the proxy


@proxy_scenario
def https_target_goes_through_a_tunnel(env: Env, proxies: Proxies) -> Steps:
    env.tls.script(stream(event("secure"), DONE))
    out = yield Call(
        env.tls.url("/tls"),
        proxy=proxies.with_credentials(),
        ssl_context=certificates().client_context(),
    )
    out.ok()
    assert out.items == [sse("secure")]
    [request] = env.tls.requests
    assert not via_proxy(request)  # a tunnel: the proxy never sees inside
    assert request.header("proxy-authorization") is None
    # The origin's certificate is still checked inside the tunnel.
    out = yield Call(env.tls.url("/tls"), proxy=proxies.open)
    assert isinstance(out.raised(sseio.ConnectError).__cause__, Exception)


@proxy_scenario
def credentials_good_wrong_and_missing(env: Env, proxies: Proxies) -> Steps:
    env.server.script(stream(event("a"), DONE))
    out = yield Call(env.server.url(), proxy=proxies.with_credentials())
    out.ok()
    assert out.items == [sse("a")]
    # Wrong credentials: tinyproxy answers 401, not 407.  Through a tunnel that is
    # the proxy's word for sure; for an http:// target a 401 could be the
    # origin's, so it stays a ResponseError.
    wrong = yield Call(env.tls.url(), proxy=proxies.with_credentials(password="nope"))
    error = wrong.raised(sseio.ProxyError)
    assert (error.status_code, error.credentials_sent) == (401, True)
    assert "credentials were sent" in str(error)
    assert error.proxy == proxies.auth.replace("http://", "http://[redacted]@")
    assert "nope" not in str(error)
    assert PASSWORD not in repr(error)
    wrong = yield Call(env.server.url(), proxy=proxies.with_credentials(password="nope"))
    assert wrong.raised(sseio.ResponseError).status_code == 401
    assert "nope" not in str(wrong.error)
    for target in (env.server.url(), env.tls.url()):
        missing = yield Call(target, proxy=proxies.auth)
        error = missing.raised(sseio.ProxyError)
        assert (error.status_code, error.credentials_sent) == (407, False)
        assert "no credentials were given" in str(error)
        assert error.body  # tinyproxy's error page
    assert len(env.server.requests) == 1  # refused requests never reached the origin


@proxy_scenario
def reconnect_through_the_proxy_resumes(env: Env, proxies: Proxies) -> Steps:
    env.server.script(stream(event("a", id="1"), framing="close"), stream(event("b", id="2"), DONE))
    out = yield Call(
        env.server.url(), proxy=proxies.open, reconnect=Reconnect(delay=0.01, jitter=0)
    )
    out.ok()
    assert out.items == [sse("a", id="1"), sse("b", id="2")]
    first, second = env.server.requests
    assert via_proxy(first)
    assert via_proxy(second)
    assert second.header("last-event-id") == "1"


@proxy_scenario
def environment_decides_per_request(env: Env, proxies: Proxies) -> Steps:
    # HTTP_PROXY is set by the test, NO_PROXY=localhost: 127.0.0.1 goes through
    # the proxy, localhost directly, and a redirect from one to the other too.
    local = env.other.url("/b").replace("127.0.0.1", "localhost")
    env.server.script(stream(event("a"), DONE), redirect(307, local))
    env.other.script(stream(event("b"), DONE))
    out = yield Call(env.server.url("/a"))
    out.ok()
    assert via_proxy(env.server.requests[0])
    out = yield Call(env.server.url("/to-b"))
    out.ok()
    assert out.items == [sse("b")]
    assert via_proxy(env.server.requests[1])
    [direct] = env.other.requests
    assert not via_proxy(direct)
    # trust_env=False ignores the environment.
    env.server.script(stream(event("c"), DONE))
    out = yield Call(env.server.url("/c"), trust_env=False)
    out.ok()
    assert not via_proxy(env.server.requests[2])


def _clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.lower(), raising=False)


def _setup(name: str, proxies: Proxies, monkeypatch: pytest.MonkeyPatch) -> Any:
    _clear_environment(monkeypatch)
    if name == "environment_decides_per_request":
        monkeypatch.setenv("HTTP_PROXY", proxies.open)
        monkeypatch.setenv("NO_PROXY", "localhost")
    return functools.partial(PROXY_SCENARIOS[name], proxies=proxies)


@pytest.mark.parametrize("name", PROXY_SCENARIOS)
def test_blocking(
    name: str, blocking_env: Env, proxies: Proxies, monkeypatch: pytest.MonkeyPatch
) -> None:
    drive_sync(_setup(name, proxies, monkeypatch), blocking_env)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.mark.anyio
@pytest.mark.parametrize("name", PROXY_SCENARIOS)
async def test_async(
    name: str, async_env: Env, proxies: Proxies, monkeypatch: pytest.MonkeyPatch
) -> None:
    await drive_async(_setup(name, proxies, monkeypatch), async_env)


# --- through an https:// proxy (stunnel in front of tinyproxy) ---------------------------

HTTPS_PROXY_SCENARIOS: dict[str, Callable[[Env, Proxies], Steps]] = {}


def https_proxy_scenario(func: Callable[[Env, Proxies], Steps]) -> Callable[[Env, Proxies], Steps]:
    HTTPS_PROXY_SCENARIOS[func.__name__] = func
    return func


def trusted() -> ssl.SSLContext:
    """Trusts the CA of the origins and of the https:// proxies (hostnames checked)."""
    return certificates().client_context()


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


@https_proxy_scenario
def http_target_through_an_https_proxy(env: Env, proxies: Proxies) -> Steps:
    env.server.script(stream(event("a", id="1"), DONE))
    out = yield Call(
        env.server.url("/feed?x=1"),
        proxy=proxies.with_credentials(),
        ssl_context=trusted(),
        trust_env=False,
    )
    out.ok()
    assert out.items == [sse("a", id="1")]
    [request] = env.server.requests
    assert via_proxy(request)  # tinyproxy, behind the TLS
    assert request.target == "/feed?x=1"
    assert request.header("proxy-authorization") is None  # it stops at the proxy


@https_proxy_scenario
def https_target_through_an_https_proxy_is_tls_in_tls(env: Env, proxies: Proxies) -> Steps:
    env.tls.script(stream(event("secure", id="7"), DONE))
    out = yield Call(env.tls.url("/tls"), proxy=proxies.with_credentials(), ssl_context=trusted())
    out.ok()
    assert out.items == [sse("secure", id="7")]
    [request] = env.tls.requests
    assert not via_proxy(request)  # a tunnel: the proxy never sees inside
    assert request.header("proxy-authorization") is None
    assert request.target == "/tls"
    # The origin's certificate is checked inside: a context that trusts the proxy's
    # CA only gets through to the proxy, and fails at the origin.
    assert proxies.untrusted_ca is not None
    only_proxy = ssl.create_default_context()
    proxies.untrusted_ca.configure_trust(only_proxy)
    out = yield Call(env.tls.url("/tls"), proxy=proxies.untrusted, ssl_context=only_proxy)
    error = out.raised(sseio.ConnectError)
    assert not isinstance(error, (sseio.ProxyError, sseio.ConnectTimeout))
    assert "TLS to 127.0.0.1 through the proxy failed" in str(error)
    assert any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes(error))
    assert len(env.tls.requests) == 1


@https_proxy_scenario
def the_https_proxy_certificate_is_verified(env: Env, proxies: Proxies) -> Steps:
    # A proxy whose certificate comes from a CA the context does not trust: the
    # error names the proxy (its address), not the origin, and no credentials.
    proxy_port = _port(proxies.untrusted)
    with_credentials = proxies.with_credentials(url=proxies.untrusted)
    for target in (env.server.url(), env.tls.url()):
        out = yield Call(target, proxy=with_credentials, ssl_context=trusted())
        error = out.raised(sseio.ConnectError)
        assert not isinstance(error, (sseio.ProxyError, sseio.ConnectTimeout))
        assert f"127.0.0.1:{proxy_port}" in str(error)
        assert f":{_port(target)}" not in str(error)
        assert "through the proxy" not in str(error)  # it never got as far as the origin
        assert str(error).startswith("proxy https://[redacted]@127.0.0.1:")  # named, redacted
        assert any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes(error))
        for shown in (str(error), repr(error)):
            assert PASSWORD not in shown
            assert f"{USER}:" not in shown
    # The default trust (certifi) knows no trustme CA either.
    out = yield Call(env.server.url(), proxy=proxies.open)
    assert any(
        isinstance(c, ssl.SSLCertVerificationError) for c in causes(out.raised(sseio.ConnectError))
    )
    assert env.server.requests == []
    assert env.tls.requests == []


@https_proxy_scenario
def https_proxy_credentials_good_wrong_and_missing(env: Env, proxies: Proxies) -> Steps:
    env.server.script(stream(event("a"), DONE))
    env.tls.script(stream(event("b"), DONE))
    out = yield Call(env.server.url(), proxy=proxies.with_credentials(), ssl_context=trusted())
    out.ok()
    assert out.items == [sse("a")]
    out = yield Call(env.tls.url(), proxy=proxies.with_credentials(), ssl_context=trusted())
    out.ok()
    assert out.items == [sse("b")]
    # Wrong credentials: tinyproxy answers 401 (see credentials_good_wrong_and_missing).
    wrong = yield Call(
        env.tls.url(), proxy=proxies.with_credentials(password="nope"), ssl_context=trusted()
    )
    error = wrong.raised(sseio.ProxyError)
    assert (error.status_code, error.credentials_sent) == (401, True)
    assert "credentials were sent" in str(error)
    assert error.proxy == proxies.auth.replace("https://", "https://[redacted]@")
    assert "nope" not in str(error)
    assert PASSWORD not in repr(error)
    for target in (env.server.url(), env.tls.url()):
        missing = yield Call(target, proxy=proxies.auth, ssl_context=trusted())
        error = missing.raised(sseio.ProxyError)
        assert (error.status_code, error.credentials_sent) == (407, False)
        assert "no credentials were given" in str(error)
        assert error.body  # tinyproxy's error page, read through the TLS
    assert len(env.server.requests) == 1  # refused requests never reached the origins
    assert len(env.tls.requests) == 1


@https_proxy_scenario
def reconnect_through_the_https_proxy_resumes(env: Env, proxies: Proxies) -> Steps:
    for server in (env.server, env.tls):
        server.script(stream(event("a", id="1"), framing="close"), stream(event("b", id="2"), DONE))
        out = yield Call(
            server.url(),
            proxy=proxies.open,
            ssl_context=trusted(),
            reconnect=Reconnect(delay=0.01, jitter=0),
        )
        out.ok()
        assert out.items == [sse("a", id="1"), sse("b", id="2")]
        first, second = server.requests
        assert via_proxy(first) == via_proxy(second) == (server is env.server)
        assert second.header("last-event-id") == "1"
        assert len(server.connections) == 2


@pytest.mark.parametrize("name", HTTPS_PROXY_SCENARIOS)
def test_blocking_https_proxy(
    name: str, blocking_env: Env, https_proxies: Proxies, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = functools.partial(HTTPS_PROXY_SCENARIOS[name], proxies=https_proxies)
    _clear_environment(monkeypatch)
    drive_sync(steps, blocking_env)


@pytest.mark.anyio
@pytest.mark.parametrize("name", HTTPS_PROXY_SCENARIOS)
async def test_async_https_proxy(
    name: str, async_env: Env, https_proxies: Proxies, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = functools.partial(HTTPS_PROXY_SCENARIOS[name], proxies=https_proxies)
    _clear_environment(monkeypatch)
    await drive_async(steps, async_env)
