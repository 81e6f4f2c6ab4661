"""sseio: Server-Sent Events for Python.

A spec-exact, sans-IO event-stream core (bytes in, events out), an encoder for
servers, and the tools built on them.  Everything public is imported from here;
the ``_modules`` behind it are private.
"""

from ._assembler import DEFAULT_MAX_EVENT_SIZE, MAX_RETRY, EventAssembler
from ._async import AsyncClient, AsyncEventSource, aconnect_sse
from ._chat_accumulator import ChatAccumulator
from ._chat_async import AsyncChatClient, AsyncChatStream
from ._chat_retry import NO_RETRY, ChatRetry
from ._chat_sync import ChatClient, ChatStream
from ._chat_types import (
    ChatChoice,
    ChatChunk,
    ChatCompletion,
    ChatMessage,
    ChunkChoice,
    Delta,
    FunctionCall,
    FunctionDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    parse_chunk,
)
from ._check import check
from ._check_rules import Finding, IdleTimeout, Report, Rules, SizeLimit, analyse
from ._conformance_clients import (
    ClientResult,
    ConformanceServer,
    Verdict,
    client_tests,
    run_client,
)
from ._conformance_parser import ParseResult, Scorecard, score_parser
from ._decoder import SSEDecoder, aiter_sse, iter_sse
from ._encoder import encode_comment, encode_event
from ._errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    ConnectTimeout,
    EncodeError,
    EventTimeout,
    InternalServerError,
    InvalidChunk,
    LimitExceeded,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseError,
    SSEError,
    StreamTruncated,
    TooManyRedirects,
    TransportError,
    TransportTimeout,
    UnprocessableEntityError,
    UsageError,
    WriteError,
    WriteTimeout,
)
from ._events import Comment, Done, Item, ServerSentEvent
from ._http import Response
from ._lines import DEFAULT_MAX_LINE_SIZE, LineDecoder
from ._mock import MockAPI, MockConfig, mock_in_thread, run_mock
from ._reconnect import NO_RECONNECT, Reconnect, Timeout
from ._server import AbortConnection, BadRequest, EventStream, SSEServer, serve_in_thread
from ._server import Request as ServerRequest
from ._server import Response as ServerResponse
from ._sync import Client, EventSource, connect_sse
from ._think import DEFAULT_TAGS, ThinkSplitter, split_think
from ._vectors import ExpectedEvent, Vector, load_vectors
from ._version import __version__

__all__ = (
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "DEFAULT_TAGS",
    "MAX_RETRY",
    "NO_RECONNECT",
    "NO_RETRY",
    "APIError",
    "APIStatusError",
    "AbortConnection",
    "AsyncChatClient",
    "AsyncChatStream",
    "AsyncClient",
    "AsyncEventSource",
    "AuthenticationError",
    "BadRequest",
    "BadRequestError",
    "ChatAccumulator",
    "ChatChoice",
    "ChatChunk",
    "ChatClient",
    "ChatCompletion",
    "ChatMessage",
    "ChatRetry",
    "ChatStream",
    "ChunkChoice",
    "Client",
    "ClientResult",
    "Comment",
    "ConflictError",
    "ConformanceServer",
    "ConnectError",
    "ConnectTimeout",
    "Delta",
    "Done",
    "EncodeError",
    "EventAssembler",
    "EventSource",
    "EventStream",
    "EventTimeout",
    "ExpectedEvent",
    "Finding",
    "FunctionCall",
    "FunctionDelta",
    "IdleTimeout",
    "InternalServerError",
    "InvalidChunk",
    "Item",
    "LimitExceeded",
    "LineDecoder",
    "MockAPI",
    "MockConfig",
    "NotFoundError",
    "ParseResult",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ReadError",
    "ReadTimeout",
    "Reconnect",
    "RemoteProtocolError",
    "Report",
    "Response",
    "ResponseError",
    "Rules",
    "SSEDecoder",
    "SSEError",
    "SSEServer",
    "Scorecard",
    "ServerRequest",
    "ServerResponse",
    "ServerSentEvent",
    "SizeLimit",
    "StreamTruncated",
    "ThinkSplitter",
    "Timeout",
    "TooManyRedirects",
    "ToolCall",
    "ToolCallDelta",
    "TransportError",
    "TransportTimeout",
    "UnprocessableEntityError",
    "Usage",
    "UsageError",
    "Vector",
    "Verdict",
    "WriteError",
    "WriteTimeout",
    "__version__",
    "aconnect_sse",
    "aiter_sse",
    "analyse",
    "check",
    "client_tests",
    "connect_sse",
    "encode_comment",
    "encode_event",
    "iter_sse",
    "load_vectors",
    "mock_in_thread",
    "parse_chunk",
    "run_client",
    "run_mock",
    "score_parser",
    "serve_in_thread",
    "split_think",
)
