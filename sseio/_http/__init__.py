"""sseio._http: HTTP/1.1 for event streams, sans-IO, over h11.

``request`` builds validated requests, ``exchange`` runs one request and
response through h11 (with ``chunked`` de-chunking and gzip/deflate undone
incrementally), ``reconnect`` holds the reconnect and timeout policies (how
long to wait and what to send, never the waiting itself), and
``client_state`` the state of one event source and the idle-connection pool,
shared by the async and the blocking client.  Everything here takes bytes or
values and returns at once: no sockets, no TLS, no clocks (times are passed
in), and only ``sseio._core`` and h11 are imported.
"""
