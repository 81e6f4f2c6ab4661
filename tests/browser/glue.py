"""The glue of the browser tests: Chromium under a driver, and sseio serving the page and streams.

``launch_chromium()`` starts Debian's headless Chromium (fresh profile in a temporary
folder, a DevTools port the system picks, only 127.0.0.1) and yields the DevTools
endpoint; Playwright's driver (the ``playwright`` Python package, which needs no
browser download here: it attaches to this Chromium over the DevTools protocol)
drives it.  The browser is killed when the block ends, whatever happened.

``Site`` is an sseio handler that serves the test page (``page.html``, ``page.js``)
and whatever streams a test registers on it, and records every request it answers
(path, ``Last-Event-ID``, arrival time) and when each stream's body ended, so tests
can compare what the browser received with what was sent.  ``serve(site, kind)``
runs it on 127.0.0.1 under ``SSEServer`` (``"sseserver"``) or under uvicorn through
``sseio.server.asgi_app`` (``"uvicorn"``) and yields the base URL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from sseio.server import EventStream, Request, Response, asgi_app, serve_in_thread

HERE = Path(__file__).resolve().parent
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
STARTUP_TIMEOUT = 20.0
"""Seconds Chromium gets to open its DevTools port."""


def chromium_executable() -> str | None:
    """Chromium's path (``$SSEIO_CHROMIUM``, else ``chromium`` on ``PATH``), or ``None``."""
    configured = os.environ.get("SSEIO_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def launch_chromium(executable: str) -> Iterator[str]:
    """Run headless Chromium with a fresh profile; yields ``http://127.0.0.1:PORT`` (DevTools).

    Chromium writes the port it picked to ``DevToolsActivePort`` in its profile folder.
    The process (its whole process group) is killed and the profile removed at the end.
    """
    folder = Path(tempfile.mkdtemp(prefix="sseio-chromium-"))
    profile = folder / "profile"
    args = [
        executable,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    try:
        with open(folder / "chromium.log", "wb") as log:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
            try:
                yield f"http://127.0.0.1:{_devtools_port(process, profile, folder)}"
            finally:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _devtools_port(process: subprocess.Popen[bytes], profile: Path, folder: Path) -> int:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        text = port_file.read_text() if port_file.exists() else ""
        if text.strip():
            return int(text.split()[0])
        if process.poll() is not None or time.monotonic() > deadline:
            output = (folder / "chromium.log").read_bytes().decode(errors="replace")[-2000:]
            raise RuntimeError(
                f"chromium did not open its DevTools port (exit status {process.poll()}):\n{output}"
            )
        time.sleep(0.05)


# --- the server side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One request the site answered."""

    path: str
    last_event_id: str | None
    accept: str | None
    at: float
    """``time.monotonic()`` when the handler got it."""
    client: tuple[str, int] | None
    """The connection it came on (the browser's address and port)."""


StreamMaker = Callable[[Request, int], Response | EventStream]
"""Makes the answer to the ``n``-th request (0 first) to a stream's path."""


@dataclass
class Site:
    """An sseio handler for the page and the streams a test registers."""

    streams: dict[str, StreamMaker] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    ended: dict[str, list[float]] = field(default_factory=dict)
    """For each stream path, ``time.monotonic()`` when each of its bodies ended."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, maker: StreamMaker) -> None:
        self.streams[path] = maker

    def hits_to(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def ends_of(self, path: str) -> list[float]:
        with self._lock:
            return list(self.ended.get(path, ()))

    def timed(self, path: str, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """``items``, noting when the last one was handed to the server (the body's end)."""

        async def run() -> AsyncIterator[Any]:
            try:
                async for item in items:
                    yield item
            finally:
                with self._lock:
                    self.ended.setdefault(path, []).append(time.monotonic())

        return run()

    async def __call__(self, request: Request) -> Response | EventStream:
        if request.path in ("/", "/page.html"):
            return Response.text(
                (HERE / "page.html").read_text(), content_type="text/html; charset=utf-8"
            )
        if request.path == "/page.js":
            return Response.text(
                (HERE / "page.js").read_text(),
                content_type="text/javascript; charset=utf-8",
                headers={"cache-control": "no-store"},
            )
        if request.path == "/favicon.ico":
            return Response(204)
        maker = self.streams.get(request.path)
        if maker is None:
            return Response.json({"error": {"message": f"no stream at {request.path}"}}, 404)
        with self._lock:
            n = sum(1 for hit in self.hits if hit.path == request.path)
            self.hits.append(
                Hit(
                    request.path,
                    request.header("last-event-id"),
                    request.header("accept"),
                    time.monotonic(),
                    request.client,
                )
            )
        return maker(request, n)


SERVER_KINDS = ("sseserver", "uvicorn")
"""The ways ``serve`` can run a site: sseio's ``SSEServer``, or uvicorn serving the same
handler through ``sseio.server.asgi_app``."""
SERVER_TIMEOUT = 10.0
"""Seconds a server gets to start, and to stop."""


@contextmanager
def serve(site: Site, kind: str) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1; yields its base URL (``http://127.0.0.1:PORT``)."""
    if kind == "sseserver":
        with serve_in_thread(site, keepalive=None, shutdown_grace=1.0) as server:
            yield server.url
        return
    if kind == "uvicorn":
        with _uvicorn(asgi_app(site, keepalive=None, shutdown_grace=1.0)) as url:
            yield url
        return
    raise ValueError(f"unknown server kind {kind!r}")


@contextmanager
def _uvicorn(app: Any) -> Iterator[str]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ws="none",
        http="h11",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("uvicorn did not stop")
