"""sseio: Server-Sent Events for Python.

A spec-exact, sans-IO event-stream core (bytes in, events out), an encoder for
servers, and the tools built on them.  Everything public is imported from here;
the ``_modules`` behind it are private.
"""

from ._assembler import DEFAULT_MAX_EVENT_SIZE, MAX_RETRY, EventAssembler
from ._async import AsyncClient, AsyncEventSource, aconnect_sse
from ._decoder import SSEDecoder, aiter_sse, iter_sse
from ._encoder import encode_comment, encode_event
from ._errors import (
    ConnectError,
    ConnectTimeout,
    EncodeError,
    EventTimeout,
    LimitExceeded,
    ProtocolError,
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
from ._events import Comment, Done, Item, ServerSentEvent
from ._http import Response
from ._lines import DEFAULT_MAX_LINE_SIZE, LineDecoder
from ._reconnect import NO_RECONNECT, Reconnect, Timeout
from ._sync import Client, EventSource, connect_sse
from ._version import __version__

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
    "Item",
    "LimitExceeded",
    "LineDecoder",
    "ProtocolError",
    "ReadError",
    "ReadTimeout",
    "Reconnect",
    "RemoteProtocolError",
    "Response",
    "ResponseError",
    "SSEDecoder",
    "SSEError",
    "ServerSentEvent",
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
