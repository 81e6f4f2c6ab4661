"""TLS trust: certifi's CA bundle with hostname checks, or a context for tests and private CAs."""

from __future__ import annotations

import ssl

import certifi

__all__ = ["SSLContext", "ssl_context"]

SSLContext = ssl.SSLContext
"""The type of a TLS context, for the layers above that take one but build none."""


def ssl_context(context: ssl.SSLContext | None, verify: bool) -> ssl.SSLContext:
    """The caller's context if given, else a default one (``verify=False`` checks nothing)."""
    if context is not None:
        return context
    context = ssl.create_default_context(cafile=certifi.where())
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
