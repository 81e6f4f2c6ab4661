"""sseio._io: the only code of the clients that touches sockets, TLS and clocks.

``anyio_backend`` and ``socket_backend`` are the two I/O backends (anyio for
asyncio and trio; plain sockets for blocking code) with the same small set of
calls: dial, send, receive, close, sleep, read the clock.  Each maps its
runtime's exceptions (``OSError``, ``ssl``, anyio) to sseio's transport
errors, chained to the cause.  ``anyio_socket`` is the async backend's TCP:
non-blocking sockets waited on through anyio, Happy Eyeballs for names.
``async_client`` is the event-stream client
written once over the async backend; ``sync_client`` is generated from it
(``tools/unasync.py``), so the two are mirror images by construction.
``tls`` builds the TLS context (certifi's roots unless told otherwise).
"""
