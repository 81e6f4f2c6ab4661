"""A TCP relay for the hub tests: it spreads connections over backends and cuts them.

``CuttingRelay`` listens on 127.0.0.1; connection ``i`` goes to backend
``i % len(backends)`` (so a client that reconnects lands on the next server
process each time) and, while ``i < len(cuts)``, is cut after exactly
``cuts[i]`` bytes of the response *body* (after the blank line that ends the
response head): between events, inside an event, inside a chunk-size line.
Later connections pass through whole.  ``connections`` records the backend
index of each.  Every wait is bounded, and ``async with`` closes everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
import anyio.abc

_GONE = (OSError, anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError)


@dataclass
class CuttingRelay:
    backends: Sequence[tuple[str, int]]
    cuts: Sequence[int] = ()
    connections: list[int] = field(default_factory=list)
    port: int = 0
    _group: anyio.abc.TaskGroup | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CuttingRelay:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._serve, listener)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._group is not None
        self._group.cancel_scope.cancel()
        await self._group.__aexit__(None, None, None)

    async def _serve(self, listener: anyio.abc.Listener[anyio.abc.SocketStream]) -> None:
        async with listener:
            await listener.serve(self._relay)

    async def _relay(self, client: anyio.abc.SocketStream) -> None:
        index = len(self.connections)
        backend = index % len(self.backends)
        self.connections.append(backend)
        cut = self.cuts[index] if index < len(self.cuts) else None
        async with client:
            try:
                upstream = await anyio.connect_tcp(*self.backends[backend])
            except OSError:
                return
            async with upstream, anyio.create_task_group() as group:
                group.start_soon(self._forward, client, upstream, group.cancel_scope)
                await self._answer(upstream, client, cut)
                group.cancel_scope.cancel()

    @staticmethod
    async def _forward(
        source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream, scope: anyio.CancelScope
    ) -> None:
        try:
            while True:
                await sink.send(await source.receive())
        except _GONE:
            scope.cancel()

    @staticmethod
    async def _answer(
        upstream: anyio.abc.SocketStream, client: anyio.abc.SocketStream, cut: int | None
    ) -> None:
        head = b""
        body_sent = -1  # -1: still in the head
        try:
            while True:
                data = await upstream.receive()
                if cut is not None:
                    if body_sent < 0:
                        head += data
                        end = head.find(b"\r\n\r\n")
                        if end < 0:
                            await client.send(data)
                            continue
                        body_start = len(data) - (len(head) - end - 4)
                        await client.send(data[:body_start])
                        data, body_sent = data[body_start:], 0
                    room = cut - body_sent
                    if len(data) >= room:
                        if room:
                            await client.send(data[:room])
                        return  # the cut: both sockets close
                    body_sent += len(data)
                if data:
                    await client.send(data)
        except _GONE:
            return
