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

The same handlers run under any ASGI server: ``asgi_app(handler)`` is an ASGI
application (``ASGIApp``) sending the same bytes.  ``EventStreamResponse`` is an
ASGI response a framework's route returns (``starlette_response`` gives it as
a Starlette ``Response``, for FastAPI), with the same guarantees.

Broadcasting: a hub (``MemoryHub`` in the process, ``RedisHub`` over one Redis
stream shared by several processes) gives published events ids in order, keeps
a bounded replay window and resumes each subscriber exactly after its
``Last-Event-ID``, with a ``gap`` event where it cannot; ``hub.subscribe()`` is
what an ``EventStream`` or an ``EventStreamResponse`` serves.
"""

from .._core.exports import set_public_module
from ._asgi import ASGIApp, EventStreamResponse, asgi_app, starlette_response
from ._hub import (
    GapReason,
    Hub,
    HubClosed,
    HubUnavailable,
    MemoryHub,
    SlowSubscriber,
    Subscription,
)
from ._hub_redis import RedisHub
from ._messages import AbortConnection, BadRequest, EventStream, Request, Response
from ._server import SSEServer, serve_in_thread

__all__ = (
    "ASGIApp",
    "AbortConnection",
    "BadRequest",
    "EventStream",
    "EventStreamResponse",
    "GapReason",
    "Hub",
    "HubClosed",
    "HubUnavailable",
    "MemoryHub",
    "RedisHub",
    "Request",
    "Response",
    "SSEServer",
    "SlowSubscriber",
    "Subscription",
    "asgi_app",
    "serve_in_thread",
    "starlette_response",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
