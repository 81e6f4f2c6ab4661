"""sseio.cli: the ``sseio`` command line, one module per command group.

``main`` parses the command line and dispatches (``sseio decode`` and
``sseio events`` live there too); ``chat`` has ``sseio chat``, ``serve`` and
``demo``; ``conformance`` wires in ``sseio conformance parser``
(``conformance_parser``) and ``sseio conformance serve``
(``conformance_serve``); ``check`` has ``sseio check``; ``args`` the request
options the connecting commands share (``-X``, ``-H``, ``-d``); ``argparsing``
the parser class every command is built with (defaults shown in ``--help``, a
bad option reported with its own command's usage).  Exit status 0 on success,
1 on a failure the command reports, 2 for a bad command line, 130 on Ctrl-C.
"""
