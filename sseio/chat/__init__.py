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
from ._messages_types import (
    ContentBlock,
    ContentBlockStart,
    ContentBlockStop,
    InputJsonDelta,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    MessageStreamEvent,
    OtherBlock,
    OtherMessageEvent,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
)
from ._responses_types import (
    ContentPartEvent,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    ModelResponse,
    OtherResponseEvent,
    OutputItem,
    OutputItemEvent,
    OutputTextDelta,
    OutputTextDone,
    ReasoningDelta,
    ReasoningDone,
    ResponseFunctionCall,
    ResponseStreamEvent,
    ResponseUpdate,
)
from ._retry import NO_RETRY, ChatRetry
from ._shaped import StreamPiece, TokenUsage, UnexpectedStream
from ._streams_async import (
    AsyncMessagesClient,
    AsyncMessagesStream,
    AsyncResponsesClient,
    AsyncResponsesStream,
)
from ._streams_sync import MessagesClient, MessagesStream, ResponsesClient, ResponsesStream
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
    parse_completion,
)

__all__ = (
    "DEFAULT_TAGS",
    "NO_RETRY",
    "APIError",
    "APIStatusError",
    "AsyncChatClient",
    "AsyncChatStream",
    "AsyncMessagesClient",
    "AsyncMessagesStream",
    "AsyncResponsesClient",
    "AsyncResponsesStream",
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
    "ContentBlock",
    "ContentBlockStart",
    "ContentBlockStop",
    "ContentPartEvent",
    "Delta",
    "FunctionCall",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "FunctionDelta",
    "InputJsonDelta",
    "InternalServerError",
    "InvalidChunk",
    "Message",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "MessageStreamEvent",
    "MessagesClient",
    "MessagesStream",
    "ModelResponse",
    "NotFoundError",
    "OtherBlock",
    "OtherMessageEvent",
    "OtherResponseEvent",
    "OutputItem",
    "OutputItemEvent",
    "OutputTextDelta",
    "OutputTextDone",
    "PermissionDeniedError",
    "RateLimitError",
    "ReasoningDelta",
    "ReasoningDone",
    "ResponseFunctionCall",
    "ResponseStreamEvent",
    "ResponseUpdate",
    "ResponsesClient",
    "ResponsesStream",
    "SignatureDelta",
    "StreamPiece",
    "StreamTruncated",
    "TextBlock",
    "TextDelta",
    "ThinkSplitter",
    "ThinkingBlock",
    "ThinkingDelta",
    "TokenUsage",
    "ToolCall",
    "ToolCallDelta",
    "ToolUseBlock",
    "UnexpectedStream",
    "UnprocessableEntityError",
    "Usage",
    "parse_chunk",
    "parse_completion",
    "split_think",
)

set_public_module(__name__, globals(), __all__)
del set_public_module
