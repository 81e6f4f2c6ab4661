"""pytest plugin: the ``sse_server`` fixture, a scriptable event-stream server for one test.

Installed with sseio (entry point ``pytest11``), so any test can ask for
``sse_server``: it gives a ``ScriptedServer`` listening on 127.0.0.1 (a free
port) and served from a background thread, so sync and async client code alike
can connect to it.  The test scripts what each path answers and then reads
what the server received::

    def test_my_client(sse_server):
        sse_server.stream("/events", "hello", ServerSentEvent("bye", id="2"), then_drop=True)
        sse_server.stream("/events", "resumed")  # the reconnection gets this
        ...  # point the client under test at sse_server.url("/events")
        assert sse_server.requests[1].header("last-event-id") == "2"

Each scripted reply serves one request to its path, in order; the last one
keeps answering further requests.  A path never scripted gets 404.  The
server is shut down at teardown (running streams get a second to finish);
every wait is bounded, and nothing is imported from sseio until the fixture
is used, so the plugin costs nothing in test runs that do not use it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .._core.events import Comment, Done, ServerSentEvent
    from ..server._messages import EventStream, Request, Response

__all__ = ["RecordedRequest", "ScriptedServer", "sse_server"]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received: header names lower-cased, ``at`` in
    ``time.monotonic()`` seconds."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True)
class _Scripted:
    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...] | None  # None: a plain response with ``body``
    body: bytes = b""
    pause: float = 0.0
    then_drop: bool = False


class ScriptedServer:
    """A server whose answers a test scripts path by path (see the module doc).

    Use it through the ``sse_server`` fixture, or as a context manager:
    ``with ScriptedServer() as server: ...``.
    """

    def __init__(self) -> None:
        self.base_url = ""
        self._scripts: dict[str, list[_Scripted]] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._exit = ExitStack()

    def __enter__(self) -> ScriptedServer:
        from ..server._server import serve_in_thread

        server = self._exit.enter_context(
            serve_in_thread(
                self._handle,
                keepalive=None,
                request_timeout=10.0,
                send_timeout=10.0,
                shutdown_grace=1.0,
            )
        )
        self.base_url = server.url
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def url(self, path: str = "/") -> str:
        """The full URL of ``path`` on this server."""
        if not path.startswith("/"):
            path = "/" + path
        return self.base_url + path

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests received for ``path``."""
        return [request for request in self.requests if request.path == path]

    def wait_for_requests(self, count: int, *, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until ``count`` requests have arrived (``TimeoutError`` after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self._requests)} request(s) arrived in {timeout}s, expected {count}"
                    )
                self._arrived.wait(left)
            return list(self._requests)

    def stream(
        self,
        path: str,
        *items: str | bytes | ServerSentEvent | Comment | Done,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        pause: float = 0.0,
        chunks: Sequence[bytes] | None = None,
        then_drop: bool = False,
    ) -> None:
        """Script an event stream as the next answer for ``path``.

        ``items`` are sent in order, one HTTP chunk each: a ``str`` is the data of
        a ``message`` event, ``bytes`` are sent as they are, events, comments and
        ``DONE`` are encoded.  ``chunks`` gives the raw chunks instead.
        ``pause`` seconds pass before every chunk after the first;
        ``then_drop=True`` drops the connection at the end instead of ending the
        body cleanly.  ``headers`` replace the default ones of the same name
        (``Content-Type: text/event-stream; charset=utf-8``, ...).
        """
        from .._core.errors import UsageError
        from .._core.events import ServerSentEvent
        from ..server._messages import encode_item

        if chunks is not None and items:
            raise UsageError("give stream items or chunks, not both")
        if chunks is not None:
            encoded = tuple(bytes(chunk) for chunk in chunks)
        else:
            encoded = tuple(
                encode_item(ServerSentEvent(data=item) if isinstance(item, str) else item)
                for item in items
            )
        pairs = tuple(headers.items() if isinstance(headers, Mapping) else headers)
        self._add(path, _Scripted(status, pairs, encoded, pause=pause, then_drop=then_drop))

    def respond(
        self,
        path: str,
        status: int = 200,
        body: bytes | str = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> None:
        """Script a plain (not streamed) answer for ``path``; a ``str`` body is UTF-8."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        pairs = tuple(headers.items() if isinstance(headers, Mapping) else headers)
        self._add(path, _Scripted(status, pairs, None, body=data))

    def _add(self, path: str, scripted: _Scripted) -> None:
        from ..server._messages import EventStream, Response

        # Build the answer once now, so a mistake (bad status, header) fails in the test.
        if scripted.chunks is None:
            Response(scripted.status, scripted.body, scripted.headers)
        else:
            EventStream(_no_items(), scripted.status, scripted.headers)
        if not path.startswith("/"):
            path = "/" + path
        with self._lock:
            self._scripts.setdefault(path, []).append(scripted)

    async def _handle(self, request: Request) -> Response | EventStream:
        from ..server._messages import EventStream, Response

        with self._arrived:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.query,
                    request.headers,
                    request.body,
                    time.monotonic(),
                )
            )
            self._arrived.notify_all()
            script = self._scripts.get(request.path)
            scripted = None
            if script:
                scripted = script.pop(0) if len(script) > 1 else script[0]
        if scripted is None:
            return Response.json(
                {"error": {"message": f"nothing scripted for {request.path}"}}, 404
            )
        if scripted.chunks is None:
            return Response(scripted.status, scripted.body, scripted.headers)
        return EventStream(
            _send(scripted.chunks, scripted.pause),
            scripted.status,
            scripted.headers,
            keepalive=None,
            abort=scripted.then_drop,
        )


async def _no_items() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


async def _send(chunks: tuple[bytes, ...], pause: float) -> AsyncIterator[bytes]:
    import anyio

    for index, chunk in enumerate(chunks):
        if index and pause:
            await anyio.sleep(pause)
        yield chunk


@pytest.fixture
def sse_server() -> Iterator[ScriptedServer]:
    """A ``ScriptedServer`` on 127.0.0.1, shut down after the test."""
    with ScriptedServer() as server:
        yield server
