"""What a blocking chat client streams over: sseio's own ``Client``, or the caller's.

Generated from ``sseio/chat/_transport_async.py`` by ``tools/unasync.py``: do not edit it; edit the
async module and run ``python tools/unasync.py``.  The async module's docstring
says what this code does and guarantees; here it runs on blocking sockets.
"""

from __future__ import annotations

from typing import Any

from .._core.errors import UsageError
from .._http.observe import Hooks
from .._io.sync_client import Client

__all__ = ["chat_transport"]


def chat_transport(
    http_client: Any,
    *,
    timeout: Any,
    hooks: Hooks | None,
    own_options: dict[str, Any],
) -> Any:
    """The transport a chat client uses (see the module doc).

    ``own_options`` are the TLS and proxy keywords the caller gave (only those
    that differ from their defaults), for sseio's own client.
    """
    if http_client is None:
        return Client(timeout=timeout, hooks=hooks, **own_options)
    if own_options:
        names = ", ".join(sorted(own_options))
        raise UsageError(f"give http_client= or {names}, not both (they belong to the client)")
    if isinstance(http_client, Client):
        return http_client
    module = type(http_client).__module__
    if module.startswith(("httpx", "sseio.httpx")):
        from ..httpx import Client as OverHTTPX  # only now: httpx is optional

        if isinstance(http_client, OverHTTPX):
            return http_client
        return OverHTTPX(http_client, timeout=timeout, hooks=hooks)  # checks its type
    raise UsageError(
        "http_client must be an httpx.Client, a sseio.Client or a"
        f" sseio.httpx.Client, got {type(http_client).__name__}"
    )


def own_options(**given: Any) -> dict[str, Any]:
    """The TLS and proxy keywords that differ from their defaults."""
    defaults = {
        "ssl_context": None,
        "verify": True,
        "proxy": None,
        "trust_env": True,
        "cert": None,
        "trust": "certifi",
    }
    return {name: value for name, value in given.items() if value != defaults[name]}
