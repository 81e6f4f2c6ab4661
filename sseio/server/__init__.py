"""sseio.server: serving event streams.

``SSEServer`` is an HTTP/1.1 server (anyio + h11, asyncio and trio) whose
handlers take a ``Request`` and return an ``EventStream`` (an async iterator
of events, comments, ``Done()`` or bytes) or a plain ``Response``;
``serve_in_thread`` runs one in a background thread.  What it guarantees:
one HTTP chunk per item, keepalive comments when a stream is quiet, a
handler's ``finally`` runs when the client goes away, each send is bounded by
a timeout, a bad request gets a 4xx answer without touching other
connections, and shutdown is graceful.  A handler raises ``BadRequest`` for
a 400 or ``AbortConnection`` to drop the connection.
"""

from .._core.exports import set_public_module
from ._messages import AbortConnection, BadRequest, EventStream, Request, Response
from ._server import SSEServer, serve_in_thread

__all__ = (
    "AbortConnection",
    "BadRequest",
    "EventStream",
    "Request",
    "Response",
    "SSEServer",
    "serve_in_thread",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
