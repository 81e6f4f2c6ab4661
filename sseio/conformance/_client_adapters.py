"""Client adapters for the client tester: run one SSE client against a URL, bounded in time.

An adapter is a function ``adapter(url, *, timeout, until=None) -> ClientResult``: it opens
the URL with one client library, used the way its documentation shows (its
default settings, reconnection included where the library has it), collects
every event the client hands out as ``(type, data, last_event_id)`` and the
exception that ended it, if any.  It never runs longer than ``timeout``
seconds: the client runs in a daemon worker thread, and at the deadline its
connections are closed (or its event loop cancelled) so it leaves; the result
then says ``timed_out`` and keeps the events seen so far.  ``until`` lets the
caller stop a client early once a test has what it needs (a reconnecting
client waiting to come back).  A stopped client's thread may live on briefly
(a sleep before a reconnection it will not make); it is never waited for.

``installed_adapters()`` lists the adapters whose library can be imported.
The peers are imported only when their adapter runs, so none of them is a
dependency of sseio.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ADAPTER_LIBRARIES",
    "Adapter",
    "ClientEvent",
    "ClientResult",
    "installed_adapters",
    "run_bounded",
]

ClientEvent = tuple[str, str, "str | None"]
"""One event as a client reported it: ``(type, data, last_event_id)``; the ID is
``None`` when the library does not report the last event ID."""

_STOP_GRACE = 0.1
"""How long a stopped client gets to leave its thread before it is abandoned."""
_POLL = 0.02
"""How often a running client's ``until`` and deadline are checked."""


@dataclass
class ClientResult:
    """What a client did with one test: its events, the exception that ended it, and
    whether it was still running at the deadline (``timed_out``)."""

    events: list[ClientEvent] = field(default_factory=list)
    error: BaseException | None = None
    timed_out: bool = False


class Adapter(Protocol):
    """``adapter(url, *, timeout, until=None)``: run one client on ``url`` (see the module doc).

    ``until``, when given, is polled while the client runs; once it returns true the
    test has what it needs and the client is stopped early (not a timeout).
    """

    def __call__(
        self, url: str, *, timeout: float, until: Callable[[], bool] | None = None
    ) -> ClientResult: ...


class Collector:
    """Where a client running in a worker thread puts its events, and how it is stopped."""

    def __init__(self) -> None:
        self.events: list[ClientEvent] = []
        self._closers: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self.stopped = False

    def on_stop(self, closer: Callable[[], object]) -> None:
        """Call ``closer`` (with its exceptions ignored) when the deadline passes."""
        with self._lock:
            if not self.stopped:
                self._closers.append(closer)
                return
        with contextlib.suppress(Exception):
            closer()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            closers, self._closers = self._closers, []
        for closer in closers:
            with contextlib.suppress(Exception):
                closer()


def run_bounded(
    body: Callable[[Collector], None],
    timeout: float,
    until: Callable[[], bool] | None = None,
) -> ClientResult:
    """Run ``body(collector)`` in a daemon thread for at most ``timeout`` seconds, or
    until ``until()`` turns true (checked every few milliseconds): the client is then
    stopped and the events it handed out so far are the result."""
    collector = Collector()
    outcome: list[BaseException] = []
    finished = threading.Event()

    def target() -> None:
        try:
            body(collector)
        except BaseException as exc:  # the client's failure is the result being measured
            outcome.append(exc)
        finally:
            finished.set()

    thread = threading.Thread(target=target, name="sseio-conformance-client", daemon=True)
    deadline = time.monotonic() + timeout
    thread.start()
    timed_out = False
    while not finished.wait(_POLL):
        if time.monotonic() >= deadline:
            timed_out = True
            break
        if until is not None and until():
            break
    else:
        return ClientResult(list(collector.events), outcome[0] if outcome else None)
    collector.stop()
    finished.wait(_STOP_GRACE)
    return ClientResult(list(collector.events), None, timed_out=timed_out)


# --- sseio ----------------------------------------------------------------------------------


def sseio_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``sseio.connect_sse`` with its default reconnection policy, ``[DONE]`` kept as data."""
    from .._core.events import ServerSentEvent
    from .._http.reconnect import Timeout
    from .._io.sync_client import connect_sse

    def body(collector: Collector) -> None:
        limits = Timeout(connect=timeout, read=timeout, write=timeout)
        with connect_sse(url, timeout=limits, done_sentinel=None) as source:
            collector.on_stop(source.close)
            for event in source:
                if isinstance(event, ServerSentEvent):
                    collector.events.append((event.event, event.data, event.id))

    return run_bounded(body, timeout, until)


def sseio_async_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``sseio.aconnect_sse`` on trio with its default reconnection policy."""
    import anyio
    import anyio.from_thread
    import anyio.lowlevel

    from .._core.events import ServerSentEvent
    from .._http.reconnect import Timeout
    from .._io.async_client import aconnect_sse

    def body(collector: Collector) -> None:
        async def main() -> None:
            token = anyio.lowlevel.current_token()
            with anyio.CancelScope() as scope:
                collector.on_stop(lambda: anyio.from_thread.run_sync(scope.cancel, token=token))
                limits = Timeout(connect=timeout, read=timeout, write=timeout)
                async with aconnect_sse(url, timeout=limits, done_sentinel=None) as source:
                    async for event in source:
                        if isinstance(event, ServerSentEvent):
                            collector.events.append((event.event, event.data, event.id))

        anyio.run(main, backend="trio")

    return run_bounded(body, timeout, until)


def sseio_httpx_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``sseio.httpx.connect_sse`` over an ``httpx.Client``, with sseio's default
    reconnection policy, ``[DONE]`` kept as data."""
    import httpx

    from .._core.events import ServerSentEvent
    from .._http.reconnect import Timeout
    from ..httpx import connect_sse

    def body(collector: Collector) -> None:
        limits = Timeout(connect=timeout, read=timeout, write=timeout)
        with (
            httpx.Client() as client,
            connect_sse(client, "GET", url, timeout=limits, done_sentinel=None) as source,
        ):
            collector.on_stop(source.close)
            for event in source:
                if isinstance(event, ServerSentEvent):
                    collector.events.append((event.event, event.data, event.id))

    return run_bounded(body, timeout, until)


def sseio_httpx_async_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``sseio.httpx.aconnect_sse`` over an ``httpx.AsyncClient`` on trio, with sseio's
    default reconnection policy."""
    import anyio
    import anyio.from_thread
    import anyio.lowlevel
    import httpx

    from .._core.events import ServerSentEvent
    from .._http.reconnect import Timeout
    from ..httpx import aconnect_sse

    def body(collector: Collector) -> None:
        async def main() -> None:
            token = anyio.lowlevel.current_token()
            with anyio.CancelScope() as scope:
                collector.on_stop(lambda: anyio.from_thread.run_sync(scope.cancel, token=token))
                limits = Timeout(connect=timeout, read=timeout, write=timeout)
                async with (
                    httpx.AsyncClient() as client,
                    aconnect_sse(client, "GET", url, timeout=limits, done_sentinel=None) as source,
                ):
                    async for event in source:
                        if isinstance(event, ServerSentEvent):
                            collector.events.append((event.event, event.data, event.id))

        anyio.run(main, backend="trio")

    return run_bounded(body, timeout, until)


# --- peers ----------------------------------------------------------------------------------


def httpx_sse_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``httpx_sse.connect_sse`` on an ``httpx.Client``, iterating ``iter_sse()``."""
    import httpx
    import httpx_sse

    def body(collector: Collector) -> None:
        with httpx.Client(timeout=timeout) as client:
            collector.on_stop(client.close)
            with httpx_sse.connect_sse(client, "GET", url) as source:
                collector.on_stop(source.response.close)
                for event in source.iter_sse():
                    collector.events.append((event.event, event.data, event.id))

    return run_bounded(body, timeout, until)


def sseclient_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``sseclient.SSEClient`` over a streaming urllib3 response, as its README shows."""
    import sseclient
    import urllib3

    def body(collector: Collector) -> None:
        pool = urllib3.PoolManager()
        collector.on_stop(pool.clear)
        response: Any = pool.request(
            "GET",
            url,
            preload_content=False,
            headers={"Accept": "text/event-stream"},
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
        )
        collector.on_stop(response.close)
        try:
            for event in sseclient.SSEClient(response).events():
                # sseclient's Event.id is the event's own id field, not the last event ID.
                collector.events.append((event.event, event.data, None))
        finally:
            response.release_conn()
            pool.clear()

    return run_bounded(body, timeout, until)


def _closing_pool() -> Any:
    import urllib3

    class ClosingPool(urllib3.PoolManager):
        """Closes every response it gave out when asked: ld_eventsource raises on a 204 or
        an error status without releasing the response, which would leak its socket."""

        def __init__(self) -> None:
            super().__init__()
            self.responses: list[Any] = []

        def urlopen(self, *args: Any, **kwargs: Any) -> Any:
            response = super().urlopen(*args, **kwargs)
            self.responses.append(response)
            return response

        def close_all(self) -> None:
            for response in self.responses:
                response.close()
            self.clear()

    return ClosingPool()


def launchdarkly_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``ld_eventsource.SSEClient`` with its default settings, iterating ``events``
    (its ``last_event_id`` of ``None`` means no ID yet: reported as ``""``)."""
    import urllib3
    from ld_eventsource import SSEClient  # type: ignore[import-untyped]
    from ld_eventsource.config import ConnectStrategy  # type: ignore[import-untyped]

    def body(collector: Collector) -> None:
        pool = _closing_pool()
        connect = ConnectStrategy.http(
            url,
            pool=pool,
            urllib3_request_options={"timeout": urllib3.Timeout(connect=timeout, read=timeout)},
        )
        client = SSEClient(connect=connect)
        collector.on_stop(client.close)
        try:
            for event in client.events:
                collector.events.append((event.event, event.data, event.last_event_id or ""))
        finally:
            client.close()
            pool.close_all()

    return run_bounded(body, timeout, until)


def aiohttp_sse_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``aiohttp_sse_client2.client.EventSource`` with its defaults, on asyncio."""
    import asyncio

    import aiohttp
    from aiohttp_sse_client2 import client as sse_client  # type: ignore[import-untyped]

    def body(collector: Collector) -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
            assert task is not None
            collector.on_stop(lambda: loop.call_soon_threadsafe(task.cancel))
            client_timeout = aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout)
            # Our own session: the library leaks the one it makes when connecting fails.
            async with (
                aiohttp.ClientSession(timeout=client_timeout) as session,
                sse_client.EventSource(url, session=session) as source,
            ):
                async for event in source:
                    collector.events.append(
                        (event.type or "message", event.data, event.last_event_id)
                    )

        asyncio.run(main())

    return run_bounded(body, timeout, until)


def launchdarkly_retry_adapter(
    url: str, *, timeout: float, until: Callable[[], bool] | None = None
) -> ClientResult:
    """``ld_eventsource.SSEClient`` set to reconnect after every failure
    (``ErrorStrategy.always_continue()``), the way to get EventSource-like reconnection."""
    import urllib3
    from ld_eventsource import SSEClient
    from ld_eventsource.actions import Event, Fault  # type: ignore[import-untyped]
    from ld_eventsource.config import ConnectStrategy, ErrorStrategy

    def body(collector: Collector) -> None:
        pool = _closing_pool()
        connect = ConnectStrategy.http(
            url,
            pool=pool,
            urllib3_request_options={"timeout": urllib3.Timeout(connect=timeout, read=timeout)},
        )
        client = SSEClient(connect=connect, error_strategy=ErrorStrategy.always_continue())
        collector.on_stop(client.close)
        try:
            for item in client.all:
                if isinstance(item, Event):
                    collector.events.append((item.event, item.data, item.last_event_id or ""))
                elif isinstance(item, Fault) and collector.stopped:
                    break  # it would retry for ever: stop at the first failure after the deadline
        finally:
            client.close()
            pool.close_all()

    return run_bounded(body, timeout, until)


ADAPTER_LIBRARIES: dict[str, tuple[tuple[str, ...], Adapter]] = {
    "sseio": ((), sseio_adapter),
    "sseio-async": (("trio",), sseio_async_adapter),
    "sseio-httpx": (("httpx",), sseio_httpx_adapter),
    "sseio-httpx-async": (("httpx", "trio"), sseio_httpx_async_adapter),
    "httpx-sse": (("httpx", "httpx_sse"), httpx_sse_adapter),
    "sseclient-py": (("sseclient", "urllib3"), sseclient_adapter),
    "launchdarkly": (("ld_eventsource", "urllib3"), launchdarkly_adapter),
    "launchdarkly-retry": (("ld_eventsource", "urllib3"), launchdarkly_retry_adapter),
    "aiohttp-sse-client2": (("aiohttp", "aiohttp_sse_client2"), aiohttp_sse_adapter),
}
"""Every adapter by client name, with the modules it needs."""


def installed_adapters() -> dict[str, Adapter]:
    """The adapters whose libraries can be imported here, by client name."""
    return {
        name: adapter
        for name, (modules, adapter) in ADAPTER_LIBRARIES.items()
        if all(importlib.util.find_spec(module) is not None for module in modules)
    }
