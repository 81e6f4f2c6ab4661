"""A broadcast hub served under ASGI: the same ``MemoryHub`` streams through
``asgi_app`` (an SSEServer handler) and through ``EventStreamResponse`` from a
Starlette route, under uvicorn and hypercorn, each subscriber resuming after
its ``Last-Event-ID`` and then following the live events.

Events are published from a request handled in the server's own event loop,
as a publishing endpoint of an application would.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from server.test_asgi import QUICK, serving
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

import sseio
from sseio.server import EventStreamResponse, MemoryHub, Request, Response, asgi_app


def _handler_app(hub: MemoryHub) -> Any:
    async def handler(request: Request) -> Any:
        if request.path == "/publish":
            return Response.json({"id": await hub.publish(request.body.decode())})
        return hub.event_stream(request, keepalive=None)

    return asgi_app(handler)


def _starlette_app(hub: MemoryHub) -> Any:
    async def publish(request: StarletteRequest) -> JSONResponse:
        return JSONResponse({"id": await hub.publish((await request.body()).decode())})

    async def events(request: StarletteRequest) -> EventStreamResponse:
        return EventStreamResponse(hub.subscribe(request.headers.get("last-event-id")))

    routes = [Route("/publish", publish, methods=["POST"]), Route("/events", events)]
    return Starlette(routes=routes)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
@pytest.mark.parametrize("make_app", [_handler_app, _starlette_app], ids=["asgi_app", "starlette"])
def test_a_hub_under_asgi_replays_after_last_event_id_then_goes_live(
    server: str, make_app: Any
) -> None:
    hub = MemoryHub(epoch="")
    with serving(make_app(hub), server) as url, httpx.Client(timeout=3) as http:
        ids = [http.post(url + "/publish", content=f"e{n}").json()["id"] for n in range(1, 4)]
        assert ids == ["1", "2", "3"]
        seen: list[tuple[str, str]] = []
        with sseio.connect_sse(url + "/events", last_event_id="1", timeout=QUICK) as source:
            for event in source:
                seen.append((event.id, event.data))
                if event.id == "3":  # the replay is over: publish a live one
                    assert http.post(url + "/publish", content="live").json()["id"] == "4"
                if event.id == "4":
                    break
    assert seen == [("2", "e2"), ("3", "e3"), ("4", "live")]
