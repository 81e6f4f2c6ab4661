"""Shared builders for the chat layer tests: chunk payloads, events, calls, error answers."""

from __future__ import annotations

import json
import random
from typing import Any

import sseio
import sseio.chat
from sseio._core.events import make_event
from sseio.chat._call import ChatCall
from sseio.chat._retry import ChatRetry


def payload(
    content: str | None = None,
    *,
    index: int = 0,
    finish: str | None = None,
    **delta: Any,
) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def event(obj: Any, kind: str = "message") -> sseio.ServerSentEvent:
    data = obj if isinstance(obj, str) else json.dumps(obj)
    return make_event(kind, data, "", None)


def run(call: ChatCall, *objects: Any) -> list[sseio.chat.ChatChunk]:
    chunks = []
    for obj in objects:
        chunk = call.on_event(event(obj))
        if chunk is not None:
            chunks.append(chunk)
    return chunks


def new_call(**options: Any) -> ChatCall:
    return ChatCall(ChatRetry(jitter=0), rng=random.Random(1), **options)


def tool_delta(index: int | None, **fields: Any) -> dict[str, Any]:
    call: dict[str, Any] = dict(fields)
    if index is not None:
        call["index"] = index
    return payload(tool_calls=[call])


def response_error(status: int, body: Any = None, **headers: str) -> sseio.ResponseError:
    raw = json.dumps(body).encode() if body is not None else b""
    return sseio.ResponseError(
        f"status {status}",
        status_code=status,
        headers=[(k.replace("_", "-"), v) for k, v in headers.items()],
        content_type="application/json",
        body=raw,
        json=body,
    )
