"""sseio's shared client scenarios, run through ``sseio.httpx`` over real httpx clients.

``sse_server`` states each behaviour of sseio's own client once, as a
scenario; here the same scenarios drive ``sseio.httpx.aconnect_sse`` (an
``httpx.AsyncClient``, on asyncio and trio) and ``sseio.httpx.connect_sse``
(an ``httpx.Client``), so the integration is held to the very assertions
sseio's own client is.  A scenario is left out only for a reason listed in
``NOT_HERE``: an option that belongs to httpx's client rather than to the
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
}


def _skip_unless_here(name: str) -> None:
    for key in (name, name.partition(".")[0]):
        if key in NOT_HERE:
            pytest.skip(NOT_HERE[key])


def _split(call: Call) -> tuple[str, dict[str, Any]]:
    kwargs = dict(call.kwargs)
    if CLIENT_OPTIONS & set(kwargs):
        pytest.skip(f"uses {sorted(CLIENT_OPTIONS & set(kwargs))}: the httpx client's options")
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
                pytest.skip("a session measures sseio's own connection pool")
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
                pytest.skip("a session measures sseio's own connection pool")
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
@pytest.mark.parametrize("name", SCENARIOS)
async def test_behaviour_async(name: str, async_env: Env) -> None:
    _skip_unless_here(name)
    await drive_async(name, async_env)


@pytest.mark.parametrize("name", SCENARIOS)
def test_behaviour_blocking(name: str, blocking_env: Env) -> None:
    _skip_unless_here(name)
    drive_sync(name, blocking_env)


def test_most_scenarios_run_here() -> None:
    assert set(NOT_HERE) <= set(SCENARIOS) | {name.partition(".")[0] for name in SCENARIOS}
    assert len(SCENARIOS) - len(NOT_HERE) > 90
