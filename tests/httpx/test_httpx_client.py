"""``sseio.httpx`` over real sockets: what only an httpx integration has to prove.

The caller's client is the one used (its event hooks run, its auth signs the
requests, its base URL and default headers apply); errors are sseio's with
httpx's underneath; the ``AsyncClient`` / ``Client`` transports keep the
contract sseio's chat clients stream over, against the mock chat API; and a
source can be restarted or closed from another task or thread.  Async tests
run on asyncio and trio; blocking ones with the servers in their own thread.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anyio
import httpx
import pytest

pytest.register_assert_rewrite("sse_server")

from sse_server import (  # noqa: E402
    DONE,
    QUICK,
    Env,
    async_env,
    blocking_env,
    closed_port,
    event,
    silent,
    sse,
    stream,
    text_reply,
)

import sseio  # noqa: E402
import sseio.httpx  # noqa: E402
from sseio.testing import MockConfig, mock_in_thread, run_mock  # noqa: E402

__all__ = ["async_env", "blocking_env"]

FAST = sseio.Reconnect(delay=0.01, jitter=0, max_attempts=3)
SLOW = sseio.Reconnect(delay=5.0, jitter=0)  # a restart that waited for it would show
CHAT_BODY = {
    "model": "sseio-mock-1",
    "stream": True,
    "messages": [{"role": "user", "content": "q"}],
}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


def _cause_chain(error: BaseException) -> list[type[BaseException]]:
    kinds, current = [], error.__cause__
    while current is not None:
        kinds.append(type(current))
        current = current.__cause__
    return kinds


# --- async ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_events_state_and_response(async_env: Env) -> None:
    server = async_env.server
    server.script(stream(b"retry: 250\n" + event("a", id="1"), event("b"), DONE))
    async with (
        httpx.AsyncClient() as client,
        sseio.httpx.aconnect_sse(client, "GET", server.url("/e"), timeout=QUICK) as source,
    ):
        assert [item async for item in source] == [sse("a", id="1", retry=250), sse("b", id="1")]
        response = source.response
        assert isinstance(response, sseio.Response)
        assert (response.status_code, response.http_version) == (200, "1.1")
        assert response.media_type == "text/event-stream"
        assert (source.done, source.last_event_id, source.retry, source.reconnects) == (
            True,
            "1",
            250,
            0,
        )
    request = server.requests[0]
    assert request.header("accept") == "text/event-stream"
    assert request.header("cache-control") == "no-cache"
    assert request.header("last-event-id") is None


@pytest.mark.anyio
async def test_the_callers_client_is_used(async_env: Env) -> None:
    """Event hooks run, auth signs, base_url, default headers and params apply."""
    server = async_env.server
    server.script(stream(event("a", id="7")), stream(event("b", id="8"), DONE))
    seen: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        seen.append(f"request {request.headers.get('last-event-id')}")

    async def on_response(response: httpx.Response) -> None:
        seen.append(f"response {response.status_code}")

    sent: list[sseio.RequestSent] = []
    async with (
        httpx.AsyncClient(
            base_url=server.url("/api/"),
            auth=httpx.BasicAuth("user", "s3cret"),
            headers={"X-Team": "blue"},
            params={"v": "2"},
            event_hooks={"request": [on_request], "response": [on_response]},
        ) as client,
        sseio.httpx.aconnect_sse(
            client,
            "GET",
            "events",
            timeout=QUICK,
            reconnect=FAST,
            hooks=sseio.Hooks(request_sent=sent.append),
        ) as source,
    ):
        assert [item async for item in source] == [sse("a", id="7"), sse("b", id="8")]
    assert seen == ["request None", "response 200", "request 7", "response 200"]
    first, second = server.requests
    assert first.target == second.target == "/api/events?v=2"
    assert first.header("authorization") == "Basic dXNlcjpzM2NyZXQ="
    assert first.header("x-team") == "blue"
    assert second.header("last-event-id") == "7"
    assert [dict(s.headers)["Authorization"] for s in sent] == ["[redacted]", "[redacted]"]
    assert [s.attempt for s in sent] == [0, 1]


@pytest.mark.anyio
async def test_an_error_page_is_a_response_error_with_its_body(async_env: Env) -> None:
    server = async_env.server
    server.script(text_reply(404, "<html><h1>no such stream</h1></html>", "text/html"))
    async with httpx.AsyncClient() as client:
        with pytest.raises(sseio.ResponseError) as caught:
            async with sseio.httpx.aconnect_sse(client, "GET", server.url(), reconnect=FAST):
                pytest.fail("a 404 opened a stream")
    error = caught.value
    assert (error.status_code, error.content_type) == (404, "text/html")
    assert error.body == b"<html><h1>no such stream</h1></html>"
    assert ("content-type", "text/html") in error.headers
    assert str(error) == "server answered 404 Not Found: <html><h1>no such stream</h1></html>"
    assert len(server.requests) == 1  # a 404 is not retried


@pytest.mark.anyio
async def test_wrong_content_type_fails_as_sseios_own_client_does(async_env: Env) -> None:
    server = async_env.server
    page = text_reply(200, "data: looks like sse\n\n", "text/plain")
    server.script(page, page)
    async with httpx.AsyncClient() as client:
        with pytest.raises(sseio.ResponseError) as through_httpx:
            async with sseio.httpx.aconnect_sse(client, "GET", server.url(), reconnect=FAST):
                pass
    with pytest.raises(sseio.ResponseError) as own:
        async with sseio.aconnect_sse(server.url(), reconnect=FAST):
            pass
    assert str(through_httpx.value) == str(own.value)
    assert str(own.value).startswith("server answered 200 with text/plain, not text/event-stream")
    assert through_httpx.value.body == own.value.body == b"data: looks like sse\n\n"
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_reconnects_with_last_event_id_after_retry_and_stops_on_204(
    async_env: Env,
) -> None:
    server = async_env.server
    server.script(
        stream(b"retry: 300\n" + event("a", id="1") + b"data: cut", cut_after=40),
        stream(event("b", id="2")),
        text_reply(204, "", "text/plain"),
    )
    scheduled: list[sseio.ReconnectScheduled] = []
    hooks = sseio.Hooks(reconnect_scheduled=scheduled.append)
    reconnect = sseio.Reconnect(delay=0.01, jitter=0)
    started = time.monotonic()
    async with (
        httpx.AsyncClient() as client,
        sseio.httpx.aconnect_sse(
            client, "GET", server.url(), timeout=QUICK, reconnect=reconnect, hooks=hooks
        ) as source,
    ):
        items = [item async for item in source]
    assert items == [sse("a", id="1", retry=300), sse("b", id="2")]
    assert time.monotonic() - started >= 0.55  # two waits of the server's 300 ms
    assert [s.delay for s in scheduled] == [0.3, 0.3]
    assert [r.header("last-event-id") for r in server.requests] == [None, "1", "2"]
    assert (source.reconnects, source.done, source.last_event_id) == (2, False, "2")


@pytest.mark.anyio
async def test_transport_failures_are_sseios_errors_chained(async_env: Env) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(sseio.ConnectError) as refused:
            async with sseio.httpx.aconnect_sse(
                client, "GET", f"http://127.0.0.1:{closed_port()}/", reconnect=sseio.NO_RECONNECT
            ):
                pass
        assert httpx.ConnectError in _cause_chain(refused.value)
        assert str(refused.value).startswith("cannot connect to 127.0.0.1:")

        async_env.server.script(silent())
        limits = sseio.Timeout(connect=2, read=0.3, write=2)
        with pytest.raises(sseio.ReadTimeout) as slow:
            async with sseio.httpx.aconnect_sse(
                client,
                "GET",
                async_env.server.url(),
                timeout=limits,
                reconnect=sseio.NO_RECONNECT,
            ):
                pass
        assert httpx.ReadTimeout in _cause_chain(slow.value)
        assert str(slow.value) == "no data from the server for 0.3s"

        async_env.server.script(stream(event("a"), keepalive=0.05, keepalive_for=3))
        limits = sseio.Timeout(connect=2, read=2, write=2, event=0.4)
        started = time.monotonic()
        with pytest.raises(sseio.EventTimeout):
            async with sseio.httpx.aconnect_sse(
                client,
                "GET",
                async_env.server.url(),
                timeout=limits,
                reconnect=sseio.NO_RECONNECT,
            ) as source:
                assert [item async for item in source] == [sse("a")]
        assert time.monotonic() - started < 1.5


@pytest.mark.anyio
async def test_credentials_stay_out_of_errors_and_hooks(async_env: Env) -> None:
    url = f"http://alice:hunter2@127.0.0.1:{closed_port()}/"
    values: list[Any] = []
    hooks = sseio.Hooks(request_sent=values.append, stream_ended=values.append)
    async with httpx.AsyncClient() as client:
        with pytest.raises(sseio.ConnectError) as caught:
            async with sseio.httpx.aconnect_sse(
                client, "GET", url, reconnect=sseio.NO_RECONNECT, hooks=hooks
            ):
                pass
    assert "hunter2" not in str(caught.value)
    assert values
    assert all("hunter2" not in repr(value) for value in values)


@pytest.mark.anyio
async def test_restart_and_close_from_another_task(async_env: Env) -> None:
    server = async_env.server
    server.script(stream(event("a", id="1"), hold=True), stream(event("b", id="2"), hold=True))
    items: list[sseio.ServerSentEvent | sseio.Comment] = []
    async with (
        httpx.AsyncClient() as client,
        sseio.httpx.aconnect_sse(
            client, "GET", server.url(), timeout=QUICK, reconnect=SLOW
        ) as source,
        anyio.create_task_group() as tg,
    ):

        async def steer() -> None:
            await anyio.sleep(0.2)
            await source.restart()
            await anyio.sleep(0.3)
            await source.aclose()

        tg.start_soon(steer)
        with anyio.fail_after(3):
            async for item in source:
                items.append(item)
    assert items == [sse("a", id="1"), sse("b", id="2")]
    assert source.reconnects == 1
    assert server.requests[1].header("last-event-id") == "1"


@pytest.mark.anyio
async def test_async_transport_contract_against_the_mock_chat_api() -> None:
    """What sseio's chat clients use: ``stream(...)`` with a sseio Timeout, no reconnect."""
    async with run_mock(MockConfig(keepalive=None, api_key="sk-test")) as (server, api):
        transport = sseio.httpx.AsyncClient(httpx.AsyncClient(base_url=server.url + "/v1"))
        opened = transport.stream(
            "POST",
            "chat/completions",
            headers={"Authorization": "Bearer sk-test"},
            json=CHAT_BODY,
            timeout=sseio.Timeout(connect=5, read=5, write=5, event=5),
            reconnect=sseio.NO_RECONNECT,
            max_event_size=1 << 20,
        )
        text = []
        async with opened as source:
            assert source.response is not None
            assert source.response.status_code == 200
            async for item in source:
                assert isinstance(item, sseio.ServerSentEvent)
                for choice in json.loads(item.data)["choices"]:
                    text.append(choice["delta"].get("content") or "")
            assert source.done
        await source.aclose()  # again: harmless
        assert "".join(text) == api.expected_answer(CHAT_BODY).content
        await transport.aclose()
        assert not transport.client.is_closed  # the caller's client stays the caller's
        await transport.client.aclose()

        async with sseio.httpx.AsyncClient() as owned:
            with pytest.raises(sseio.ResponseError) as caught:
                async with owned.stream("POST", server.url + "/v1/chat/completions", json={}):
                    pass
            assert caught.value.status_code == 401
            assert caught.value.message == "incorrect api key provided"
        assert owned.client.is_closed


# --- blocking -------------------------------------------------------------------------------


def test_blocking_events_hooks_and_auth(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(stream(event("a", id="1")), stream(event("b", id="2"), DONE))
    seen: list[int] = []
    with (
        httpx.Client(
            auth=httpx.BasicAuth("user", "pw"),
            event_hooks={"response": [lambda response: seen.append(response.status_code)]},
        ) as client,
        sseio.httpx.connect_sse(
            client, "GET", server.url(), timeout=QUICK, reconnect=FAST
        ) as source,
    ):
        assert list(source) == [sse("a", id="1"), sse("b", id="2")]
        assert (source.done, source.reconnects) == (True, 1)
    assert seen == [200, 200]
    assert [r.header("last-event-id") for r in server.requests] == [None, "1"]
    assert all(r.header("authorization") == "Basic dXNlcjpwdw==" for r in server.requests)


def test_blocking_errors(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(text_reply(503, '{"error": {"message": "busy"}}', "application/json"), silent())
    limits = sseio.Timeout(connect=2, read=0.3, write=2)
    with httpx.Client() as client:
        with (
            pytest.raises(sseio.ResponseError) as busy,
            sseio.httpx.connect_sse(client, "GET", server.url(), reconnect=sseio.NO_RECONNECT),
        ):
            pass
        assert (busy.value.status_code, busy.value.message) == (503, "busy")
        assert busy.value.json == {"error": {"message": "busy"}}
        with (
            pytest.raises(sseio.ReadTimeout) as slow,
            sseio.httpx.connect_sse(
                client, "GET", server.url(), timeout=limits, reconnect=sseio.NO_RECONNECT
            ),
        ):
            pass
        assert httpx.ReadTimeout in _cause_chain(slow.value)


def test_blocking_close_from_another_thread_wakes_the_read() -> None:
    received: list[sseio.ServerSentEvent | sseio.Comment] = []
    failures: list[BaseException] = []
    first = threading.Event()
    with mock_in_thread(MockConfig(keepalive=None, token_rate=20)) as (server, _api):
        transport = sseio.httpx.Client()
        opened = transport.stream(
            "POST",
            server.url + "/v1/chat/completions",
            json=CHAT_BODY,
            timeout=sseio.Timeout(connect=5, read=30, write=5),
            reconnect=sseio.NO_RECONNECT,
        )
        with opened as source:

            def iterate() -> None:
                try:
                    for item in source:
                        received.append(item)
                        first.set()
                except BaseException as exc:
                    failures.append(exc)

            reader = threading.Thread(target=iterate)
            reader.start()
            assert first.wait(10)
            started = time.monotonic()
            source.close()
            reader.join(10)
            assert not reader.is_alive()
            assert time.monotonic() - started < 2  # woken, not left to the 30 s read limit
        transport.close()
        assert transport.client.is_closed
    assert failures == []
    assert received
    assert not source.done


def test_blocking_transport_reads_a_whole_chat_answer() -> None:
    with mock_in_thread(MockConfig(keepalive=None)) as (server, api), httpx.Client() as client:
        transport = sseio.httpx.Client(client, timeout=sseio.Timeout(connect=5, read=5, write=5))
        with transport.stream(
            "POST",
            server.url + "/v1/chat/completions",
            json=CHAT_BODY,
            reconnect=sseio.NO_RECONNECT,
        ) as source:
            pieces = [
                choice["delta"].get("content") or ""
                for item in source
                if isinstance(item, sseio.ServerSentEvent)
                for choice in json.loads(item.data)["choices"]
            ]
            assert source.done
        assert "".join(pieces) == api.expected_answer(CHAT_BODY).content


def test_arguments_are_checked_at_the_call() -> None:
    with httpx.Client() as client:
        with pytest.raises(sseio.UsageError, match=r"need an httpx\.Client"):
            sseio.httpx.connect_sse("http://x", "GET", "/")  # type: ignore[arg-type]
        with pytest.raises(sseio.UsageError, match="retry"):
            sseio.httpx.connect_sse(client, "GET", "http://127.0.0.1:9/", retry=-1)
        with pytest.raises(sseio.UsageError, match="last_event_id"):
            sseio.httpx.connect_sse(client, "GET", "http://127.0.0.1:9/", last_event_id="a\nb")
        with pytest.raises(sseio.UsageError, match="hooks"):
            sseio.httpx.connect_sse(client, "GET", "http://127.0.0.1:9/", hooks=print)  # type: ignore[arg-type]
        with pytest.raises(sseio.UsageError, match="invalid url"):
            sseio.httpx.connect_sse(client, "GET", "http://[::1/")


def test_blocking_event_timeout_with_keepalives_only(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(stream(event("a"), keepalive=0.05, keepalive_for=3))
    limits = sseio.Timeout(connect=2, read=2, write=2, event=0.4)
    started = time.monotonic()
    items: list[sseio.ServerSentEvent | sseio.Comment] = []
    with (
        httpx.Client() as client,
        pytest.raises(sseio.EventTimeout),
        sseio.httpx.connect_sse(
            client, "GET", server.url(), timeout=limits, reconnect=sseio.NO_RECONNECT
        ) as source,
    ):
        items.extend(source)
    assert items == [sse("a")]
    assert time.monotonic() - started < 1.5


def test_blocking_restart_from_another_thread(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(stream(event("a", id="1"), hold=True), stream(event("b", id="2"), DONE))
    items = []
    started = time.monotonic()
    with (
        httpx.Client() as client,
        sseio.httpx.connect_sse(
            client, "GET", server.url(), timeout=QUICK, reconnect=SLOW
        ) as source,
    ):
        for item in source:
            items.append(item)
            if item == sse("a", id="1"):
                threading.Timer(0.1, source.restart).start()
    assert items == [sse("a", id="1"), sse("b", id="2")]
    assert (source.reconnects, source.done) == (1, True)
    assert time.monotonic() - started < 3.0
    assert server.requests[1].header("last-event-id") == "1"


def _mock_transport_replies(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/missing":
        return httpx.Response(404, json={"error": {"message": "no such feed"}})
    leid = request.headers.get("last-event-id", "")
    body = b"data: [DONE]\n\n" if leid else b"id: 5\ndata: first\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def test_the_callers_transport_is_used_without_a_socket() -> None:
    transport = httpx.MockTransport(_mock_transport_replies)
    with httpx.Client(transport=transport, base_url="http://feeds.test") as client:
        with sseio.httpx.connect_sse(client, "GET", "/live", reconnect=FAST) as source:
            assert list(source) == [sse("first", id="5")]
        assert (source.done, source.reconnects) == (True, 1)
        with (
            pytest.raises(sseio.ResponseError) as caught,
            sseio.httpx.connect_sse(client, "GET", "/missing"),
        ):
            pass
        assert (caught.value.status_code, caught.value.message) == (404, "no such feed")


@pytest.mark.anyio
async def test_the_callers_async_transport_is_used_without_a_socket() -> None:
    async def replies(request: httpx.Request) -> httpx.Response:
        return _mock_transport_replies(request)

    transport = httpx.MockTransport(replies)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as client,
        sseio.httpx.aconnect_sse(client, "GET", "/live", reconnect=FAST) as source,
    ):
        assert [item async for item in source] == [sse("first", id="5")]
    assert (source.done, source.reconnects, source.last_event_id) == (True, 1, "5")
