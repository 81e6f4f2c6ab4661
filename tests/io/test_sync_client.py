"""The blocking client (``connect_sse``) over real sockets.

Every shared scenario of ``sse_server`` runs here, with the servers in a
background thread that has its own event loop.  The tests after it cover
what only a blocking caller does: close from inside the loop, and streams in
several threads at once.
"""

from __future__ import annotations

import threading
import time

import pytest

pytest.register_assert_rewrite("sse_server")  # detailed assertion messages in the scenarios

from sse_server import (  # noqa: E402
    DONE,
    QUICK,
    SCENARIOS,
    Env,
    assert_client_closed,
    blocking_env,
    drive_sync,
    event,
    sse,
    stream,
)

import sseio  # noqa: E402

__all__ = ["blocking_env"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_behaviour(name: str, blocking_env: Env) -> None:
    drive_sync(name, blocking_env)


def test_close_inside_the_loop_ends_iteration(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(stream(event("a"), event("b"), 0.2, event("c"), DONE), then=stream(DONE))
    items = []
    with sseio.connect_sse(
        server.url(), timeout=QUICK, reconnect=sseio.Reconnect(delay=0.01, jitter=0)
    ) as source:
        for item in source:
            items.append(item)
            source.close()
    assert blocking_env.portal is not None
    blocking_env.portal.call(blocking_env.settle)
    assert items == [sse("a")]
    assert len(server.connections) == 1
    assert_client_closed(server)


def test_streams_in_several_threads(blocking_env: Env) -> None:
    server = blocking_env.server
    count = 8
    server.script(then=stream(event("a"), 0.3, event("b"), DONE))
    results: list[list[object]] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with sseio.connect_sse(server.url(), timeout=QUICK) as source:
                results.append(list(source))
        except BaseException as exc:
            errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert not errors
    assert time.monotonic() - start < 0.3 * count / 2  # the pauses overlapped
    assert results == [[sse("a"), sse("b")]] * count


def test_close_from_another_thread_ends_iteration_quietly() -> None:
    import threading

    from sseio.testing._mock import MockConfig, mock_in_thread

    body = {"model": "sseio-mock-1", "stream": True, "messages": [{"role": "user", "content": "q"}]}
    received: list[sseio.ServerSentEvent] = []
    failures: list[BaseException] = []
    first = threading.Event()
    with mock_in_thread(MockConfig(keepalive=None, token_rate=20)) as (server, _api):
        url = server.url + "/v1/chat/completions"
        with sseio.connect_sse(url, method="POST", json=body) as source:

            def iterate() -> None:
                try:
                    for event in source:
                        received.append(event)
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
            assert time.monotonic() - started < 2  # the blocked read was woken, not waited out
    assert failures == []
    assert received
    assert not source.done


SLOW_RECONNECT = sseio.Reconnect(delay=5.0, jitter=0)  # a restart that waited would show


def test_restart_from_another_thread_reconnects_now_with_last_event_id(
    blocking_env: Env,
) -> None:
    server = blocking_env.server
    server.script(stream(event("a", id="1"), hold=True), stream(event("b", id="2"), DONE))
    items = []
    started = time.monotonic()
    with sseio.connect_sse(server.url(), timeout=QUICK, reconnect=SLOW_RECONNECT) as source:
        for item in source:
            items.append(item)
            if item.data == "a":
                threading.Timer(0.1, source.restart).start()
    assert items == [sse("a", id="1"), sse("b", id="2")]
    assert (source.reconnects, source.done) == (1, True)
    assert time.monotonic() - started < 3.0
    assert server.requests[1].header("last-event-id") == "1"


def test_restart_inside_the_loop_keeps_retry(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(
        stream(b"retry: 4000\n" + event("a", id="1"), hold=True), stream(event("b", id="2"), DONE)
    )
    with sseio.connect_sse(server.url(), timeout=QUICK, reconnect=SLOW_RECONNECT) as source:
        items = []
        for item in source:
            items.append(item)
            if item.data == "a":
                source.restart()
    assert [item.data for item in items] == ["a", "b"]
    assert (source.retry, source.reconnects) == (4000, 1)


def test_params_and_a_timeout_in_seconds(blocking_env: Env) -> None:
    server = blocking_env.server
    server.script(stream(event("a"), DONE))
    with sseio.connect_sse(server.url("/e"), params=[("n", 1), ("on", True)], timeout=5) as source:
        assert list(source) == [sse("a")]
    assert [request.target for request in server.requests] == ["/e?n=1&on=true"]


def test_request_reads_a_whole_answer(blocking_env: Env) -> None:
    from sse_server import json_reply

    server = blocking_env.server
    server.script(json_reply(200, {"ok": True}), json_reply(200, {"ok": 2}))
    with sseio.Client() as client:
        response, body = client.request("GET", server.url("/a"), timeout=5)
        assert (response.status_code, body) == (200, b'{"ok": true}')
        assert client.request("GET", server.url("/b"))[1] == b'{"ok": 2}'
        assert client.idle_connections == 1
    assert len(server.connections) == 1
