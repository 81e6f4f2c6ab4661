"""sseio.conformance: tools that test other people's SSE parsers, clients and servers.

- Vectors (``load_vectors``): hand-written byte streams with the events,
  last event ID and retry the WHATWG rules give, tagged by the rule they test.
- The parser scorer (``score_parser`` -> ``Scorecard``): feeds every vector to
  any parser whole, byte by byte and split at every point, bounded in time.
- The client tester (``ConformanceServer``, ``client_tests``, ``run_client``):
  serves the vectors and behaviours (reconnect, ``retry:``, 204, bad content
  types) over real sockets and judges what a client did (``Verdict``).
- The live checker (``check`` -> ``Report``; ``analyse`` for a capture): what
  a real server's stream gets wrong (``Finding``), judged against ``Rules``;
  ``analyse`` takes a ``Capture`` made by other means.

Results are values with text and JSON renderings; nothing here needs the
network beyond the URL it is given or 127.0.0.1.
"""

from .._core.exports import set_public_module
from ._check import check
from ._check_rules import Capture, Finding, IdleTimeout, Report, Rules, SizeLimit, analyse
from ._clients import ClientResult, ConformanceServer, Verdict, client_tests, run_client
from ._parser_run import ParseResult
from ._scorecard import Scorecard, score_parser
from ._vectors import ExpectedEvent, Vector, load_vectors

__all__ = (
    "Capture",
    "ClientResult",
    "ConformanceServer",
    "ExpectedEvent",
    "Finding",
    "IdleTimeout",
    "ParseResult",
    "Report",
    "Rules",
    "Scorecard",
    "SizeLimit",
    "Vector",
    "Verdict",
    "analyse",
    "check",
    "client_tests",
    "load_vectors",
    "run_client",
    "score_parser",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
