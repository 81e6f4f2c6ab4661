"""sseio: Server-Sent Events for Python.

A spec-exact, sans-IO event-stream core (bytes in, events out), an encoder for
servers, and the tools built on them.  Everything public is imported from here;
the ``_modules`` behind it are private.

The core and the streaming clients load with the package.  The chat layer, the
server, the mock API and the conformance tools load on first use of one of
their names, so that a program which only streams events does not pay for
them in start-up time and memory.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._assembler import DEFAULT_MAX_EVENT_SIZE, MAX_RETRY, EventAssembler
from ._async import AsyncClient, AsyncEventSource, aconnect_sse
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
from ._reconnect import NO_RECONNECT, Reconnect, Timeout
from ._sync import Client, EventSource, connect_sse
from ._version import __version__

if _TYPE_CHECKING:
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
    from ._mock import MockAPI, MockConfig, mock_in_thread, run_mock
    from ._server import AbortConnection, BadRequest, EventStream, SSEServer, serve_in_thread
    from ._server import Request as ServerRequest
    from ._server import Response as ServerResponse
    from ._think import DEFAULT_TAGS, ThinkSplitter, split_think
    from ._vectors import ExpectedEvent, Vector, load_vectors

_LAZY: dict[str, tuple[str, str]] = {
    "AbortConnection": ("._server", "AbortConnection"),
    "AsyncChatClient": ("._chat_async", "AsyncChatClient"),
    "AsyncChatStream": ("._chat_async", "AsyncChatStream"),
    "BadRequest": ("._server", "BadRequest"),
    "ChatAccumulator": ("._chat_accumulator", "ChatAccumulator"),
    "ChatChoice": ("._chat_types", "ChatChoice"),
    "ChatChunk": ("._chat_types", "ChatChunk"),
    "ChatClient": ("._chat_sync", "ChatClient"),
    "ChatCompletion": ("._chat_types", "ChatCompletion"),
    "ChatMessage": ("._chat_types", "ChatMessage"),
    "ChatRetry": ("._chat_retry", "ChatRetry"),
    "ChatStream": ("._chat_sync", "ChatStream"),
    "ChunkChoice": ("._chat_types", "ChunkChoice"),
    "ClientResult": ("._conformance_clients", "ClientResult"),
    "ConformanceServer": ("._conformance_clients", "ConformanceServer"),
    "DEFAULT_TAGS": ("._think", "DEFAULT_TAGS"),
    "Delta": ("._chat_types", "Delta"),
    "EventStream": ("._server", "EventStream"),
    "ExpectedEvent": ("._vectors", "ExpectedEvent"),
    "Finding": ("._check_rules", "Finding"),
    "FunctionCall": ("._chat_types", "FunctionCall"),
    "FunctionDelta": ("._chat_types", "FunctionDelta"),
    "IdleTimeout": ("._check_rules", "IdleTimeout"),
    "MockAPI": ("._mock", "MockAPI"),
    "MockConfig": ("._mock", "MockConfig"),
    "NO_RETRY": ("._chat_retry", "NO_RETRY"),
    "ParseResult": ("._conformance_parser", "ParseResult"),
    "Report": ("._check_rules", "Report"),
    "Rules": ("._check_rules", "Rules"),
    "SSEServer": ("._server", "SSEServer"),
    "Scorecard": ("._conformance_parser", "Scorecard"),
    "ServerRequest": ("._server", "Request"),
    "ServerResponse": ("._server", "Response"),
    "SizeLimit": ("._check_rules", "SizeLimit"),
    "ThinkSplitter": ("._think", "ThinkSplitter"),
    "ToolCall": ("._chat_types", "ToolCall"),
    "ToolCallDelta": ("._chat_types", "ToolCallDelta"),
    "Usage": ("._chat_types", "Usage"),
    "Vector": ("._vectors", "Vector"),
    "Verdict": ("._conformance_clients", "Verdict"),
    "analyse": ("._check_rules", "analyse"),
    "check": ("._check", "check"),
    "client_tests": ("._conformance_clients", "client_tests"),
    "load_vectors": ("._vectors", "load_vectors"),
    "mock_in_thread": ("._mock", "mock_in_thread"),
    "parse_chunk": ("._chat_types", "parse_chunk"),
    "run_client": ("._conformance_clients", "run_client"),
    "run_mock": ("._mock", "run_mock"),
    "score_parser": ("._conformance_parser", "score_parser"),
    "serve_in_thread": ("._server", "serve_in_thread"),
    "split_think": ("._think", "split_think"),
}
"""Public names loaded on first use: name -> (module, attribute)."""

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


def __getattr__(name: str) -> _Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'sseio' has no attribute {name!r}") from None
    value = getattr(_importlib.import_module(module, __name__), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
