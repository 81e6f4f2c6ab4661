"""The httpx calls of the two event-source adapters, one module per flavour.

``anyio_backend`` drives an ``httpx.AsyncClient`` and ``socket_backend`` an
``httpx.Client``, with the same names and arguments, so that the blocking
adapter is generated from the async one (``tools/unasync.py`` swaps the
module names, as it does for ``sseio._io``'s backends of the same names).
"""
