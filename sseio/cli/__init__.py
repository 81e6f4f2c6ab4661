"""sseio.cli: the ``sseio`` command line, one module per command group.

``main.main`` parses the command line and dispatches (``sseio events`` and
``sseio decode`` live there too); ``chat`` has ``sseio chat``, ``serve`` and
``demo``; ``conformance`` has ``sseio conformance parser`` and ``serve``;
``check`` has ``sseio check``; ``args`` the request options they share
(``-X``, ``-H``, ``-d``).  Exit status 0 on success, 1 on a failure the
command reports, 2 for a bad command line, 130 on Ctrl-C.
"""
