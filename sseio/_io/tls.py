"""TLS trust for the clients, built once and off the hot path.

Where trust comes from, first match wins: the caller's ``ssl_context``;
``trust="system"`` (the operating system's store, through the ``truststore``
package); ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when the client trusts the
environment and either is set; else certifi's CA bundle.  Hostnames are
checked; ``verify=False`` checks nothing.  ``cert=`` adds a client
certificate for mutual TLS: a path to a PEM file holding the certificate and
its key, or ``(certificate, key)`` or ``(certificate, key, password)``.

Building a context loads a CA bundle (20 to 40 ms), so it is done once: a
context without a client certificate once per process for each trust
configuration (a context is safe to share between clients and threads), one
with a certificate once per client.  The async clients build it in a worker
thread, so the event loop never waits for it.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Any

import certifi

from .._core.errors import UsageError
from .._http.client_state import Settings

__all__ = ["SSLContext", "build_client_context", "client_context", "ssl_context"]

SSLContext = ssl.SSLContext
"""The type of a TLS context, for the layers above that take one but build none."""


def ssl_context(context: ssl.SSLContext | None, verify: bool) -> ssl.SSLContext:
    """The caller's context if given, else the shared default (certifi's bundle;
    ``verify=False`` checks nothing)."""
    if context is not None:
        return context
    return _shared_context(verify, "certifi", None, None)


def client_context(settings: Settings) -> ssl.SSLContext | None:
    """The client's context if it is ready, else ``None`` (then build it once)."""
    if settings.ssl_context is not None:
        context: ssl.SSLContext = settings.ssl_context
        return context
    return settings.tls_cache.get("context")


def build_client_context(settings: Settings) -> ssl.SSLContext:
    """Build the client's context and keep it for its later connections."""
    cafile, capath = _environment_trust(settings)
    if settings.cert is None:
        context = _shared_context(settings.verify, settings.trust, cafile, capath)
    else:
        context = _new_context(settings.verify, settings.trust, cafile, capath)
        _load_cert(context, settings.cert)
    settings.tls_cache["context"] = context
    return context


def _environment_trust(settings: Settings) -> tuple[str | None, str | None]:
    if not settings.trust_env or settings.trust != "certifi":
        return None, None
    environ = settings.environ
    return environ.get("SSL_CERT_FILE") or None, environ.get("SSL_CERT_DIR") or None


@lru_cache(maxsize=16)
def _shared_context(
    verify: bool, trust: str, cafile: str | None, capath: str | None
) -> ssl.SSLContext:
    return _new_context(verify, trust, cafile, capath)


def _new_context(
    verify: bool, trust: str, cafile: str | None, capath: str | None
) -> ssl.SSLContext:
    if trust == "system":
        context = _system_context()
    elif cafile or capath:
        try:
            context = ssl.create_default_context(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as exc:
            shown = " and ".join(
                f"{name}={value}"
                for name, value in (("SSL_CERT_FILE", cafile), ("SSL_CERT_DIR", capath))
                if value
            )
            raise UsageError(f"cannot load the CA certificates of {shown}: {exc}") from exc
    else:
        context = ssl.create_default_context(cafile=certifi.where())
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _system_context() -> ssl.SSLContext:
    try:
        import truststore
    except ImportError as exc:
        raise UsageError(
            'trust="system" needs the truststore package: pip install "sseio[truststore]"'
        ) from exc
    context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context


def _load_cert(context: ssl.SSLContext, cert: Any) -> None:
    certfile, keyfile, password = (cert, None, None) if isinstance(cert, str) else (*cert, None)[:3]
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except (OSError, ssl.SSLError) as exc:
        # The reason names no password: only which files could not be used.
        shown = certfile if keyfile is None else f"{certfile} with key {keyfile}"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UsageError(f"cannot load the client certificate {shown}: {reason}") from None
