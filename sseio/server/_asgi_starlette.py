"""``EventStreamResponse`` as a Starlette ``Response``, for frameworks that want one (FastAPI).

Imported only by ``starlette_response``, so ``import sseio.server`` never
loads Starlette.  The subclass keeps Starlette's attributes a framework reads
or sets (``status_code``, ``raw_headers``, ``background``) and sends through
the sseio response (with ``raw_headers`` as they are then: a framework's
additions are sent), then runs the background task, if any.
"""

from __future__ import annotations

from starlette.responses import Response

from ._asgi_response import EventStreamResponse
from ._asgi_stream import Receive, Scope, Send, asgi_headers

__all__ = ["StarletteEventStream"]


class StarletteEventStream(Response):
    """A Starlette response that streams an ``EventStreamResponse``."""

    media_type = "text/event-stream"

    def __init__(self, stream: EventStreamResponse) -> None:
        self.stream = stream
        self.status_code = stream.status_code
        self.background = None
        self.body = b""
        self.raw_headers = asgi_headers(stream.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in self.raw_headers
        )
        await self.stream.serve(scope, receive, send, headers)
        if self.background is not None:
            await self.background()
