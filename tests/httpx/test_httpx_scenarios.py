"""sseio's shared client scenarios, run through ``sseio.httpx`` over real httpx clients.

``sse_server`` states each behaviour of sseio's own client once, as a
scenario; here the same scenarios drive ``sseio.httpx.aconnect_sse`` (an
``httpx.AsyncClient``, on asyncio and trio) and ``sseio.httpx.connect_sse``
(an ``httpx.Client``), so the integration is held to the very assertions
sseio's own client is.  A scenario is left out (not collected) only for a
reason listed in ``NOT_HERE``: an option that belongs to httpx's client rather than to the
call (TLS, proxies, redirect limits), sseio's own pool or request head, or a
case where httpx itself decides differently.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

pytest.register_assert_rewrite("sse_server")

from sse_server import (  # noqa: E402
    SCENARIOS,
    Call,
    Env,
    Outcome,
    Session,
    Steps,
    _record,
    async_env,
    blocking_env,
)

import sseio.httpx  # noqa: E402

__all__ = ["async_env", "blocking_env"]

# Call arguments sseio's own client takes that are the httpx client's business here.
CLIENT_OPTIONS = frozenset({"ssl_context", "verify", "max_redirects", "proxy", "trust_env"})

NOT_HERE = {
    # sseio's own request head and body headers; httpx writes its own.
    "request_line_and_default_headers": "httpx writes its own request head",
    "content_body.str": "httpx sets no Content-Type for a str body",
    # sseio's own HTTP/1.1 reader (h11 and its de-chunker), its limits and wording.
    "compressed_bodies.x-gzip-length": "httpx does not decode Content-Encoding: x-gzip",
    "invalid_compressed_body": "chains httpx's DecodingError; httpx passes unknown encodings",
    "oversized_response_head": "httpcore's limit on a response head is not sseio's",
    "malformed_http.bad-chunk-size": "httpcore words a bad chunk size its own way",
    "body_cut_short.chunked": "httpcore words a cut chunked body its own way",
    # Redirects are followed by httpx, by its rules.
    "redirect_method_and_body.301": "httpx keeps Content-Type when a redirect drops the body",
    "redirect_method_and_body.302": "httpx keeps Content-Type when a redirect drops the body",
    "redirect_method_and_body.303": "httpx keeps Content-Type when a redirect drops the body",
    "redirect_to_unusable_location.no-host": "httpx reads such a Location by its own rules",
    "redirect_to_unusable_location.bad-port": "httpx reads such a Location by its own rules",
    # What sseio's own sockets show: the exceptions they chain, the dials they log.
    "silent_server_trips_read_timeout": "chains httpx's ReadTimeout, not TimeoutError",
    "silence_mid_stream_trips_read_timeout": "chains httpx's ReadTimeout, not TimeoutError",
    "tls_handshake_counts_toward_connect_timeout": "chains httpx's ConnectTimeout",
    "request_body_stuck_trips_write_timeout": "chains httpx's WriteTimeout, not TimeoutError",
    "closed_port_gives_connect_error": "chains httpx's ConnectError, not OSError",
    "reconnects_are_logged_and_credentials_are_not": "counts sseio's own dials in the log",
    "too_many_requests_and_unavailable_wait_and_retry": "httpx reuses the connection it counts",
    # Options of the httpx client, not of the call: TLS trust, redirect limits.
    "redirect_to_https": "uses ssl_context: the httpx client's option",
    "tls_certificate_refused": "uses ssl_context: the httpx client's option",
    "tls_with_trusted_ca": "uses ssl_context: the httpx client's option",
    "tls_without_verification": "uses verify: the httpx client's option",
    "too_many_redirects": "uses max_redirects: the httpx client's option",
    # Sessions measure sseio's own client and its connection pool.
    "client_base_url_and_default_headers": "a session of sseio's own client",
    "pool_is_per_origin": "a session measures sseio's own connection pool",
    "pool_keeps_only_clean_connections": "a session measures sseio's own connection pool",
    "pool_replaces_a_connection_the_server_closed": "a session measures sseio's own pool",
    "pool_reuses_a_connection_read_to_its_end": "a session measures sseio's own connection pool",
}


def _here(name: str) -> bool:
    return name not in NOT_HERE and name.partition(".")[0] not in NOT_HERE


HERE = [name for name in SCENARIOS if _here(name)]
"""The scenarios run here (the others are listed, with the reason, in ``NOT_HERE``)."""


def _split(call: Call) -> tuple[str, dict[str, Any]]:
    kwargs = dict(call.kwargs)
    if CLIENT_OPTIONS & set(kwargs):
        pytest.fail(f"uses {sorted(CLIENT_OPTIONS & set(kwargs))}: list it in NOT_HERE")
    return kwargs.pop("method", "GET"), kwargs


async def run_async(call: Call) -> Outcome:
    """``call`` through ``sseio.httpx.aconnect_sse`` on a fresh ``httpx.AsyncClient``."""
    method, kwargs = _split(call)
    out = Outcome()
    start = time.monotonic()
    try:
        with anyio.fail_after(call.deadline):
            async with (
                httpx.AsyncClient(follow_redirects=True) as client,
                sseio.httpx.aconnect_sse(client, method, call.url, **kwargs) as source,
            ):
                out.opened = True
                out.response = source.response
                try:
                    async for item in source:
                        out.items.append(item)
                        out.times.append(time.monotonic() - start)
                        if call.take is not None and len(out.items) >= call.take:
                            break
                finally:
                    _record(out, source)  # type: ignore[arg-type,unused-ignore]
    except Exception as exc:
        out.error = exc
    out.elapsed = time.monotonic() - start
    return out


def run_sync(call: Call) -> Outcome:
    """``call`` through ``sseio.httpx.connect_sse`` on a fresh ``httpx.Client``."""
    method, kwargs = _split(call)
    out = Outcome()
    start = time.monotonic()
    try:
        with (
            httpx.Client(follow_redirects=True) as client,
            sseio.httpx.connect_sse(client, method, call.url, **kwargs) as source,
        ):
            out.opened = True
            out.response = source.response
            try:
                for item in source:
                    out.items.append(item)
                    out.times.append(time.monotonic() - start)
                    if call.take is not None and len(out.items) >= call.take:
                        break
            finally:
                _record(out, source)  # type: ignore[arg-type,unused-ignore]
    except Exception as exc:
        out.error = exc
    out.elapsed = time.monotonic() - start
    return out


async def drive_async(name: str, env: Env) -> None:
    steps: Steps = SCENARIOS[name](env)
    try:
        call = next(steps)
        while True:
            if isinstance(call, Session):
                pytest.fail("a session of sseio's own client: list it in NOT_HERE")
            outcome = await run_async(call)
            await env.settle()
            call = steps.send(outcome)
    except StopIteration:
        pass


def drive_sync(name: str, env: Env) -> None:
    assert env.portal is not None
    steps: Steps = SCENARIOS[name](env)
    try:
        call = next(steps)
        while True:
            if isinstance(call, Session):
                pytest.fail("a session of sseio's own client: list it in NOT_HERE")
            outcome = run_sync(call)
            env.portal.call(env.settle)
            call = steps.send(outcome)
    except StopIteration:
        pass


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.mark.anyio
@pytest.mark.parametrize("name", HERE)
async def test_behaviour_async(name: str, async_env: Env) -> None:
    await drive_async(name, async_env)


@pytest.mark.parametrize("name", HERE)
def test_behaviour_blocking(name: str, blocking_env: Env) -> None:
    drive_sync(name, blocking_env)


def test_most_scenarios_run_here() -> None:
    assert set(NOT_HERE) <= set(SCENARIOS) | {name.partition(".")[0] for name in SCENARIOS}
    assert len(HERE) > 85
