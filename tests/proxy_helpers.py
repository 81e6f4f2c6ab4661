"""A real forward proxy for the tests: tinyproxy on 127.0.0.1, started and stopped here.

``.ci/run`` installs Debian's ``tinyproxy``; where the binary is missing the
tests that need it skip with that reason (on CI it is always there).  Two
proxies run for the session: an open one and one that asks for Basic
credentials (``USER``/``PASSWORD``).  Each is told to allow CONNECT to any
port and to listen on loopback only; its log is kept in a temporary folder.
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

USER = "sseio"
PASSWORD = "s3cret-pw"


@dataclass
class Proxies:
    open: str  # http://127.0.0.1:PORT
    auth: str  # the same, asking for USER/PASSWORD (the URL carries no credentials)

    def with_credentials(self, user: str = USER, password: str = PASSWORD) -> str:
        return self.auth.replace("http://", f"http://{user}:{password}@")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(binary: str, folder: Path, name: str, auth: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    config = folder / f"{name}.conf"
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        "MaxClients 64",
        "Allow 127.0.0.1",
        "LogLevel Info",
        "DisableViaHeader No",
    ]
    if auth:
        lines.append(f"BasicAuth {USER} {PASSWORD}")
    config.write_text("\n".join(lines) + "\n")
    with (folder / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen([binary, "-d", "-c", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"tinyproxy did not start: {(folder / f'{name}.log').read_text()}")


@pytest.fixture(scope="session")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxies]:
    binary = shutil.which("tinyproxy") or (
        "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
    )
    if binary is None:
        pytest.skip("tinyproxy is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("tinyproxy")
    started = [
        _start(binary, folder, "open", auth=False),
        _start(binary, folder, "auth", auth=True),
    ]
    try:
        yield Proxies(started[0][1], started[1][1])
    finally:
        for process, _ in started:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
