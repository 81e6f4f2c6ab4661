"""sseio: Server-Sent Events for Python.

``import sseio`` gives the everyday event-stream API and nothing more: the
spec-exact, sans-IO core (``SSEDecoder``, ``iter_sse``/``aiter_sse``, the event
values, the encoder, the limits), the streaming clients (``connect_sse`` /
``aconnect_sse``, ``Client`` / ``AsyncClient``, ``Reconnect``, ``Timeout``,
``Hooks`` and the values they receive) and the error tree.  The rest is in
public subpackages, loaded only when imported:

- ``sseio.chat``: OpenAI-compatible chat streams (typed chunks, accumulation,
  reasoning split, retries that never repeat text, the chat errors);
- ``sseio.server``: serving event streams (``SSEServer``, ``EventStream``);
- ``sseio.testing``: the mock OpenAI-compatible API and the pytest plugin;
- ``sseio.conformance``: vectors, the parser scorer, the client tester and the
  live checker.

Every name here has this package as its home (``__module__``); the
underscored subpackages behind it are private.
"""

import logging as _logging

from ._core.decoder import SSEDecoder, aiter_sse, iter_sse
from ._core.encoder import encode_comment, encode_event
from ._core.errors import (
    ConnectError,
    ConnectTimeout,
    EncodeError,
    EventTimeout,
    LimitExceeded,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseError,
    SSEError,
    TooManyRedirects,
    TransportError,
    TransportTimeout,
    UsageError,
    WriteError,
    WriteTimeout,
)
from ._core.events import Comment, Done, Item, ServerSentEvent
from ._core.exports import set_public_module
from ._core.fields import DEFAULT_MAX_EVENT_SIZE, MAX_RETRY, EventAssembler
from ._core.lines import DEFAULT_MAX_LINE_SIZE, LineDecoder
from ._http.exchange import Response
from ._http.observe import (
    Hooks,
    ReconnectScheduled,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    StreamEnded,
)
from ._http.proxy import Proxy
from ._http.reconnect import NO_RECONNECT, Reconnect, Timeout
from ._io.async_client import AsyncClient, AsyncEventSource, aconnect_sse
from ._io.sync_client import Client, EventSource, connect_sse
from ._version import __version__

# A library's loggers stay silent until the application configures logging: without
# this, Python's last-resort handler would print sseio's warnings on stderr.
_logging.getLogger("sseio").addHandler(_logging.NullHandler())

__all__ = (
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "MAX_RETRY",
    "NO_RECONNECT",
    "AsyncClient",
    "AsyncEventSource",
    "Client",
    "Comment",
    "ConnectError",
    "ConnectTimeout",
    "Done",
    "EncodeError",
    "EventAssembler",
    "EventSource",
    "EventTimeout",
    "Hooks",
    "Item",
    "LimitExceeded",
    "LineDecoder",
    "ProtocolError",
    "Proxy",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "Reconnect",
    "ReconnectScheduled",
    "RemoteProtocolError",
    "RequestSent",
    "Response",
    "ResponseError",
    "ResponseReceived",
    "RetryScheduled",
    "SSEDecoder",
    "SSEError",
    "ServerSentEvent",
    "StreamEnded",
    "Timeout",
    "TooManyRedirects",
    "TransportError",
    "TransportTimeout",
    "UsageError",
    "WriteError",
    "WriteTimeout",
    "__version__",
    "aconnect_sse",
    "aiter_sse",
    "connect_sse",
    "encode_comment",
    "encode_event",
    "iter_sse",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
