"""sseio.httpx: sseio's event streams over your own httpx client.

``connect_sse(client, method, url, ...)`` (an ``httpx.Client``) and
``aconnect_sse(client, ...)`` (an ``httpx.AsyncClient``, on asyncio or trio)
send the request through that client, so its HTTP/2, auth, proxies,
transports, cookies, event hooks and redirect rules apply, and give an event
source with the surface of sseio's own: sseio's status and content-type
checks (``ResponseError`` with the body, never a silent empty loop), sseio's
decoder and its options, sseio's ``Reconnect`` policy (``Last-Event-ID``, the
server's ``retry:``, 204 as stop), ``sseio.Hooks`` and the ``sseio.client``
log, and httpx's errors as sseio's (``ConnectError``, ``ReadTimeout``, ...,
chained).  ``Client`` / ``AsyncClient`` wrap an httpx client for many streams;
they are what sseio's chat clients can stream over.

Importing this package imports httpx; ``import sseio`` does not import it.
"""

from .._core.exports import set_public_module
from ._async import AsyncClient, AsyncEventSource, aconnect_sse
from ._sync import Client, EventSource, connect_sse

__all__ = (
    "AsyncClient",
    "AsyncEventSource",
    "Client",
    "EventSource",
    "aconnect_sse",
    "connect_sse",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
