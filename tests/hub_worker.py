"""A server process for the Redis hub tests: SSEServer + RedisHub on one stream.

``python tests/hub_worker.py REDIS_URL KEY`` serves ``GET /events`` (the hub,
resuming after the request's ``Last-Event-ID``) and ``POST /publish`` (the
body as the data of one event; answers the id) on a free port of 127.0.0.1,
prints the port on a line of its own once listening, and shuts down when its
standard input closes (its parent ended) or after ``LIFETIME`` seconds.
"""

from __future__ import annotations

import sys

import anyio
import anyio.to_thread

from sseio.server import EventStream, RedisHub, Request, Response, SSEServer

LIFETIME = 120.0


async def main(url: str, key: str) -> None:
    async with RedisHub(url, key=key, max_events=100_000, max_age=None, block=1.0) as hub:

        async def handler(request: Request) -> EventStream | Response:
            if request.path == "/events":
                return hub.event_stream(request)
            if request.path == "/publish" and request.method == "POST":
                return Response.text(await hub.publish(request.body.decode()))
            return Response.text("not found", status=404)

        async with SSEServer(handler, keepalive=None, shutdown_grace=0.5) as server:
            print(server.port, flush=True)
            with anyio.move_on_after(LIFETIME):
                await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
