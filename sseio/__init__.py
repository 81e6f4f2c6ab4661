"""sseio: Server-Sent Events for Python.

A spec-exact, sans-IO event-stream core (bytes in, events out), an encoder for
servers, and the tools built on them.  Everything public is imported from here;
the ``_modules`` behind it are private.
"""

from ._assembler import DEFAULT_MAX_EVENT_SIZE, MAX_RETRY, EventAssembler
from ._decoder import SSEDecoder, aiter_sse, iter_sse
from ._encoder import encode_comment, encode_event
from ._errors import EncodeError, LimitExceeded, ProtocolError, SSEError, UsageError
from ._events import Comment, Done, Item, ServerSentEvent
from ._lines import DEFAULT_MAX_LINE_SIZE, LineDecoder

__version__ = "0.1.0"

__all__ = (
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "MAX_RETRY",
    "Comment",
    "Done",
    "EncodeError",
    "EventAssembler",
    "Item",
    "LimitExceeded",
    "LineDecoder",
    "ProtocolError",
    "SSEDecoder",
    "SSEError",
    "ServerSentEvent",
    "UsageError",
    "__version__",
    "aiter_sse",
    "encode_comment",
    "encode_event",
    "iter_sse",
)
