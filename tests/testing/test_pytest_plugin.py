"""The ``sse_server`` pytest fixture: scripting streams and answers, recording requests,
serving sync and async clients, and loading as a plugin in a user's test run."""

from __future__ import annotations

import importlib.metadata
import textwrap

import anyio
import pytest

import sseio
from sseio._core.errors import UsageError
from sseio.testing._pytest_plugin import ScriptedServer, sse_server

__all__ = ["sse_server"]  # the fixture, also when the plugin is not installed

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


NO_RECONNECT = sseio.NO_RECONNECT
QUICK = sseio.Timeout(connect=5, read=5, write=5)


def _events(url: str, **options: object) -> list[sseio.ServerSentEvent]:
    with sseio.connect_sse(url, timeout=QUICK, **options) as source:  # type: ignore[arg-type]
        return [event for event in source if isinstance(event, sseio.ServerSentEvent)]


def test_stream_items_are_encoded_and_requests_recorded() -> None:
    with ScriptedServer() as server:
        server.stream(
            "/events",
            "hello",
            sseio.ServerSentEvent(data="bye", event="end", id="2"),
            sseio.Comment("ping"),
            b"data: raw\n\n",
            headers={"X-Test": "yes"},
        )
        with sseio.connect_sse(
            server.url("/events?x=1"), timeout=QUICK, reconnect=NO_RECONNECT, headers={"A": "b"}
        ) as source:
            assert source.response is not None
            assert source.response.header("x-test") == "yes"
            events = list(source)
        requests = server.requests
    assert events == [
        sseio.ServerSentEvent(data="hello"),
        sseio.ServerSentEvent(data="bye", event="end", id="2"),
        sseio.ServerSentEvent(data="raw", id="2"),
    ]
    assert [(r.method, r.path, r.query) for r in requests] == [("GET", "/events", "x=1")]
    assert requests[0].header("A") == "b"
    assert requests[0].header("missing") is None
    assert requests[0].at > 0


def test_successive_replies_script_a_reconnection() -> None:
    with ScriptedServer() as server:
        server.stream("/s", b"retry: 10\nid: 1\ndata: one\n\n", then_drop=True)
        server.stream("/s", "two", pause=0.01)
        server.respond("/s", 204)
        policy = sseio.Reconnect(delay=0.01, jitter=0)
        data: list[str] = []
        with sseio.connect_sse(server.url("/s"), timeout=QUICK, reconnect=policy) as source:
            # The 204 answering the second reconnect ends the stream for good, quietly.
            data.extend(event.data for event in source if isinstance(event, sseio.ServerSentEvent))
        requests = server.requests_to("/s")
    assert data == ["one", "two"]
    assert [r.header("last-event-id") for r in requests] == [None, "1", "1"]


def test_last_reply_repeats_and_unscripted_paths_get_404() -> None:
    with ScriptedServer() as server:
        server.respond("/plain", 503, "busy", {"Retry-After": "1"})
        for _ in range(2):
            with pytest.raises(sseio.ResponseError) as caught:
                _events(server.url("plain"), reconnect=NO_RECONNECT)
            assert caught.value.status_code == 503
        with pytest.raises(sseio.ResponseError) as caught:
            _events(server.url("/nowhere"), reconnect=NO_RECONNECT)
        assert caught.value.status_code == 404
        assert len(server.wait_for_requests(3, timeout=1)) == 3
        with pytest.raises(TimeoutError, match="3 request"):
            server.wait_for_requests(4, timeout=0.05)


def test_raw_chunks_and_wrong_content_type() -> None:
    with ScriptedServer() as server:
        server.stream("/c", chunks=[b"data: a\r", b"\n\r\n"], pause=0.02)
        server.stream("/html", "x", headers=[("content-type", "text/html")])
        assert [e.data for e in _events(server.url("/c"), reconnect=NO_RECONNECT)] == ["a"]
        with pytest.raises(sseio.ResponseError, match="text/html"):
            _events(server.url("/html"), reconnect=NO_RECONNECT)


def test_script_mistakes_fail_in_the_test() -> None:
    with ScriptedServer() as server:
        with pytest.raises(UsageError, match="not both"):
            server.stream("/x", "a", chunks=[b"b"])
        with pytest.raises(UsageError, match="status"):
            server.respond("/x", 99)
        with pytest.raises(UsageError, match="header"):
            server.stream("/x", "a", headers={"bad name": "v"})
        with pytest.raises(UsageError, match="status 204"):
            server.stream("/x", "a", status=204)


async def test_async_clients_can_use_it(sse_server: ScriptedServer) -> None:
    sse_server.stream("/a", "one", sseio.Done())
    with anyio.fail_after(5):
        async with sseio.aconnect_sse(sse_server.url("/a"), timeout=QUICK) as source:
            events = [event async for event in source]
            assert source.done
    assert events == [sseio.ServerSentEvent(data="one")]


def test_fixture_is_shut_down_after_the_test(sse_server: ScriptedServer) -> None:
    sse_server.stream("/", "x")
    assert [e.data for e in _events(sse_server.url(), reconnect=NO_RECONNECT)] == ["x"]
    assert sse_server.base_url.startswith("http://127.0.0.1:")


def _plugin_args() -> list[str]:
    """Load the plugin explicitly unless the installed entry point already does."""
    entry_points = importlib.metadata.entry_points(group="pytest11")
    if any(ep.value == "sseio.testing._pytest_plugin" for ep in entry_points):
        return []
    return ["-p", "sseio.testing._pytest_plugin"]


def test_a_users_test_run_gets_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import sseio

            def test_client(sse_server):
                sse_server.stream("/events", "hello", then_drop=True)
                sse_server.stream("/events", "again")
                sse_server.respond("/events", 204)
                policy = sseio.Reconnect(delay=0.01, jitter=0)
                url = sse_server.url("/events")
                with sseio.connect_sse(url, reconnect=policy) as source:
                    try:
                        data = [event.data for event in source]
                    except sseio.ResponseError as exc:
                        assert exc.status_code == 204
                assert len(sse_server.requests) == 3
            """
        )
    )
    result = pytester.runpytest_subprocess(*_plugin_args(), "-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
