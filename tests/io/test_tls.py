"""TLS trust for the clients (``sseio._io.tls``), over real TLS sockets on 127.0.0.1.

The context is built once: per process for a configuration without a client
certificate, per client with one, and in a worker thread for the async
clients.  ``SSL_CERT_FILE``/``SSL_CERT_DIR`` replace certifi's bundle when the
client trusts the environment; ``cert=`` gives mutual TLS; ``trust="system"``
uses the operating system's store through truststore.  Errors about
certificates name files, never a key's password.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme
from sse_server import DONE, SSEServer, certificates, event, sse, stream

import sseio
from sseio._io import tls

pytestmark = pytest.mark.anyio
QUICK = sseio.Timeout(connect=5, read=5, write=5)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def serving(context: ssl.SSLContext) -> AsyncIterator[SSEServer]:
    async with anyio.create_task_group() as group:
        server = SSEServer(tls=context)
        await server.start(group)
        try:
            yield server
        finally:
            with anyio.CancelScope(shield=True):
                await server.aclose()
            group.cancel_scope.cancel()


@pytest.fixture
async def tls_server() -> AsyncIterator[SSEServer]:
    async with serving(certificates().good) as server:
        yield server


@pytest.fixture
def ca_file(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    certificates().ca.cert_pem.write_to_path(str(path))
    return str(path)


async def _read(client: sseio.AsyncClient, url: str) -> list[Any]:
    async with client.stream("GET", url, reconnect=sseio.NO_RECONNECT) as source:
        return [item async for item in source]


async def test_ssl_cert_file_replaces_certifi(
    tls_server: SSEServer, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls_server.script(stream(event("b"), DONE))  # a failed handshake takes no reply
    async with sseio.AsyncClient(timeout=QUICK) as client:  # certifi: the test CA is unknown
        with pytest.raises(sseio.ConnectError, match="certificate"):
            await _read(client, tls_server.url())
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    async with sseio.AsyncClient(timeout=QUICK) as client:
        assert await _read(client, tls_server.url()) == [sse("b")]
    async with sseio.AsyncClient(timeout=QUICK, trust_env=False) as client:  # not trusted then
        with pytest.raises(sseio.ConnectError, match="certificate"):
            await _read(client, tls_server.url())


async def test_ssl_cert_dir_is_honoured(
    tls_server: SSEServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    pem = certificates().ca.cert_pem.bytes()
    loaded = ssl.create_default_context(cadata=pem.decode())
    name = f"{_subject_hash(loaded, pem):08x}.0"
    (folder / name).write_bytes(pem)
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    tls_server.script(stream(event("a"), DONE))
    async with sseio.AsyncClient(timeout=QUICK) as client:
        assert await _read(client, tls_server.url()) == [sse("a")]


def _subject_hash(context: ssl.SSLContext, pem: bytes) -> int:
    """OpenSSL's subject-name hash of a CA (the file name a CA directory looks up)."""
    import subprocess

    run = subprocess.run(
        ["openssl", "x509", "-noout", "-subject_hash"],
        input=pem,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return int(run.stdout.strip(), 16)


async def test_the_context_is_built_once_per_client_in_a_worker_thread(
    tls_server: SSEServer, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    builds: list[int] = []
    real = tls.build_client_context

    def counting(settings: Any) -> ssl.SSLContext:
        builds.append(threading.get_ident())
        return real(settings)

    monkeypatch.setattr("sseio._io.async_client.build_client_context", counting)
    tls_server.script(*[stream(event(str(n)), DONE) for n in range(3)])
    async with sseio.AsyncClient(timeout=QUICK, max_idle_per_origin=0) as client:
        for n in range(3):
            assert await _read(client, tls_server.url()) == [sse(str(n))]
        first = client.settings.tls_cache["context"]
    assert len(builds) == 1
    assert builds[0] != threading.get_ident()
    async with sseio.AsyncClient(timeout=QUICK) as other:  # a second client: the same context
        tls_server.script(stream(event("x"), DONE))
        assert await _read(other, tls_server.url()) == [sse("x")]
        assert other.settings.tls_cache["context"] is first


def _client_pem(tmp_path: Path) -> tuple[str, str]:
    issued = certificates().ca.issue_cert("client.sseio.test")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


def _mutual_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca: trustme.CA = certificates().ca
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


async def test_cert_gives_mutual_tls(
    tmp_path: Path, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    cert, key = _client_pem(tmp_path)
    async with serving(_mutual_context()) as server:
        server.script(stream(event("mine"), DONE), then=stream(event("again"), DONE))
        async with sseio.AsyncClient(timeout=QUICK, cert=(cert, key)) as client:
            assert await _read(client, server.url()) == [sse("mine")]
            context = client.settings.tls_cache["context"]
        async with sseio.AsyncClient(timeout=QUICK, cert=(cert, key)) as client:
            assert await _read(client, server.url()) == [sse("again")]
            assert client.settings.tls_cache["context"] is not context  # its own, per client
        async with sseio.AsyncClient(timeout=QUICK) as client:  # no certificate: refused
            # TLS 1.3: the server's refusal arrives after the handshake, as a closed connection.
            with pytest.raises((sseio.TransportError, sseio.RemoteProtocolError)):
                await _read(client, server.url())


def test_blocking_client_cert_and_ssl_cert_file(
    tmp_path: Path, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    cert, key = _client_pem(tmp_path)
    combined = tmp_path / "both.pem"
    combined.write_text(Path(cert).read_text() + Path(key).read_text())
    with anyio.from_thread.start_blocking_portal() as portal:
        manager = portal.wrap_async_context_manager(serving(_mutual_context()))
        with manager as server:
            server.script(stream(event("b"), DONE))
            with sseio.connect_sse(
                server.url(), cert=str(combined), timeout=QUICK, reconnect=sseio.NO_RECONNECT
            ) as source:
                assert list(source) == [sse("b")]


def test_a_bad_client_certificate_is_a_usage_error_without_the_password(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.pem")
    client = sseio.Client(cert=(missing, missing, "hunter2-password"))
    with pytest.raises(sseio.UsageError) as caught:
        tls.build_client_context(client.settings)
    assert "none.pem" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(client.settings)
    with pytest.raises(sseio.UsageError, match="got a list") as shown:
        sseio.Client(cert=["a", "b", "hunter2-password"])  # type: ignore[arg-type]
    assert "hunter2" not in str(shown.value)


def test_trust_and_ssl_context_are_checked() -> None:
    with pytest.raises(sseio.UsageError, match='trust must be "certifi" or "system"'):
        sseio.Client(trust="os")  # type: ignore[arg-type]
    with pytest.raises(sseio.UsageError, match="not both"):
        sseio.Client(ssl_context=ssl.create_default_context(), trust="system")


async def test_system_trust_uses_the_os_store(tls_server: SSEServer) -> None:
    truststore = pytest.importorskip("truststore")  # in the test extra; absent only elsewhere
    tls_server.script(stream(event("a"), DONE))
    async with sseio.AsyncClient(timeout=QUICK, trust="system") as client:
        with pytest.raises(sseio.ConnectError):  # the test CA is in no system store
            await _read(client, tls_server.url())
        assert isinstance(client.settings.tls_cache["context"], truststore.SSLContext)
