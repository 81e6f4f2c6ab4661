"""Real forward proxies for the tests: tinyproxy on 127.0.0.1, and stunnel in front of it.

``.ci/run`` installs Debian's ``tinyproxy`` and ``stunnel4``; where a binary is
missing the tests that need it skip with that reason (on CI both are there).
Two tinyproxies run for the session (``proxies``): an open one and one that
asks for Basic credentials (``USER``/``PASSWORD``).  Each is told to allow
CONNECT to any port and to listen on loopback only; its log is kept in a
temporary folder.

``https_proxies`` puts one stunnel process in front of them: TLS terminated on
127.0.0.1, with a certificate for 127.0.0.1 and localhost signed by the same
trustme CA as the test origins' (``sse_server.certificates()``), so one
``client_context()`` trusts both; behind it the same tinyproxy, which sees
plain HTTP.  A third service, ``untrusted``, leads to the open tinyproxy with a
certificate from a CA nobody trusts.  Its log is kept beside tinyproxy's.
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
import trustme

USER = "sseio"
PASSWORD = "s3cret-pw"


@dataclass
class Proxies:
    open: str  # http://127.0.0.1:PORT (https:// for ``https_proxies``)
    auth: str  # the same, asking for USER/PASSWORD (the URL carries no credentials)
    untrusted: str = ""  # https_proxies only: to ``open``, with a certificate from another CA
    untrusted_ca: trustme.CA | None = None  # that CA (no origin's certificate comes from it)

    def with_credentials(
        self, user: str = USER, password: str = PASSWORD, url: str | None = None
    ) -> str:
        """``url`` (``auth`` by default) with the credentials in its userinfo."""
        scheme, _, rest = (url or self.auth).partition("://")
        return f"{scheme}://{user}:{password}@{rest}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(process: subprocess.Popen[bytes], ports: list[int], log: Path, what: str) -> None:
    """Return once every port accepts connections; stop ``process`` if it never does."""
    deadline = time.monotonic() + 10
    waiting = list(ports)
    while waiting and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.5).close()
            waiting.pop(0)
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    if waiting:
        _stop(process)
        raise RuntimeError(f"{what} did not start: {log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _binary(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)


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
    log = folder / f"{name}.log"
    with log.open("wb") as out:  # the child keeps its own copy
        process = subprocess.Popen([binary, "-d", "-c", str(config)], stdout=out, stderr=out)
    _wait_for(process, [port], log, "tinyproxy")
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxies]:
    binary = _binary("tinyproxy")
    if binary is None:
        pytest.skip("tinyproxy is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("tinyproxy")
    started = [_start(binary, folder, "open", auth=False)]
    try:
        started.append(_start(binary, folder, "auth", auth=True))
        yield Proxies(started[0][1], started[1][1])
    finally:
        for process, _ in started:
            _stop(process)


@pytest.fixture(scope="session")
def https_proxies(proxies: Proxies, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxies]:
    """``proxies`` behind stunnel: ``https://`` proxy URLs (see the module's docstring)."""
    binary = _binary("stunnel4") or _binary("stunnel")
    if binary is None:
        pytest.skip("stunnel4 is not installed (.ci/run installs it)")
    # Imported here, not at the top: a plugin's imports happen before the test modules
    # ask pytest to rewrite sse_server's assertions.
    from sse_server import certificates  # the origins' CA: one client context trusts both

    folder = tmp_path_factory.mktemp("stunnel")
    trusted, untrusted = folder / "proxy.pem", folder / "untrusted.pem"
    pem = certificates().ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem
    pem.write_to_path(str(trusted))
    other_ca = trustme.CA()
    other = other_ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem
    other.write_to_path(str(untrusted))
    services = {
        "open": (_free_port(), proxies.open, trusted),
        "auth": (_free_port(), proxies.auth, trusted),
        "untrusted": (_free_port(), proxies.open, untrusted),
    }
    lines = ["foreground = yes", "pid =", "debug = info"]  # it logs to stderr
    for name, (port, behind, cert) in services.items():
        lines += [
            f"[{name}]",
            f"accept = 127.0.0.1:{port}",
            f"connect = {behind.removeprefix('http://')}",
            f"cert = {cert}",
        ]
    config = folder / "stunnel.conf"
    config.write_text("\n".join(lines) + "\n")
    log = folder / "stunnel.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, str(config)], stdout=out, stderr=out)
    try:
        _wait_for(process, [port for port, _, _ in services.values()], log, "stunnel")
        url = {name: f"https://127.0.0.1:{port}" for name, (port, _, _) in services.items()}
        yield Proxies(url["open"], url["auth"], url["untrusted"], other_ca)
    finally:
        _stop(process)
