"""A real redis-server for tests: started on 127.0.0.1, on a free port, in a temp dir.

``RedisProcess.start(directory)`` runs ``redis-server`` with no persistence,
waits (bounded) until it answers ``PING`` and returns it; ``stop()`` ends it
and waits for it.  The ``redis_url`` fixture gives each test module one server
and flushes it between tests.  Tests are skipped only when the
``redis-server`` binary is absent.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server")
START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisProcess:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, directory: Path, port: int | None = None) -> RedisProcess:
        if REDIS_SERVER is None:
            pytest.skip("the redis-server binary is not installed")
        port = free_port() if port is None else port
        directory.mkdir(parents=True, exist_ok=True)
        args = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(5)
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        return cls(process, port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="module")
def redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess.start(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_process: RedisProcess) -> str:
    """The URL of a running, empty redis-server (flushed before each test)."""
    with socket.create_connection(("127.0.0.1", redis_process.port), timeout=5) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        assert sock.recv(64).startswith(b"+OK")
    return redis_process.url
