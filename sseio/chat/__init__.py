"""sseio.chat: OpenAI-compatible chat streams.

``ChatClient`` (blocking) and ``AsyncChatClient`` (asyncio and trio) send a
chat-completions request and stream typed ``ChatChunk`` values, accumulated
into a ``ChatCompletion``.  What this package guarantees:

- every chunk is a frozen value shaped like the openai SDK's; unknown fields
  are kept (``.raw``), a payload of the wrong shape raises ``InvalidChunk``;
- reasoning (``<think>`` blocks, ``reasoning_content``) is split from the
  answer text however the tags are cut across chunks;
- a stream that ends without ``[DONE]`` or a ``finish_reason`` raises
  ``StreamTruncated`` and an error sent inside the stream raises ``APIError``,
  both carrying the ``partial`` answer, so nothing received is lost;
- retries (``ChatRetry``) happen only while no text has been shown: text is
  never repeated.

Every decision lives in pure modules (chunk types, accumulation, the retry
policy, think splitting, the request/decide logic of one call); the blocking
client is generated from the async one, so the two behave alike.
"""

from .._core.exports import set_public_module
from ._accumulator import ChatAccumulator
from ._async import AsyncChatClient, AsyncChatStream
from ._errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidChunk,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamTruncated,
    UnprocessableEntityError,
)
from ._retry import NO_RETRY, ChatRetry
from ._sync import ChatClient, ChatStream
from ._think import DEFAULT_TAGS, ThinkSplitter, split_think
from ._types import (
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

__all__ = (
    "DEFAULT_TAGS",
    "NO_RETRY",
    "APIError",
    "APIStatusError",
    "AsyncChatClient",
    "AsyncChatStream",
    "AuthenticationError",
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
    "ConflictError",
    "Delta",
    "FunctionCall",
    "FunctionDelta",
    "InternalServerError",
    "InvalidChunk",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamTruncated",
    "ThinkSplitter",
    "ToolCall",
    "ToolCallDelta",
    "UnprocessableEntityError",
    "Usage",
    "parse_chunk",
    "split_think",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
