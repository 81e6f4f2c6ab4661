"""The Messages stream without sockets (``sseio.chat._messages_*``): typed events,
accumulation, truncation, in-stream errors, streams of another shape, retry decisions,
the request and the settings.  Byte-level cases go through every chunking."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from chunking import chunkings

import sseio
import sseio.chat
from sseio._core.events import make_event
from sseio.chat._messages_call import (
    MessagesCall,
    MessagesSettings,
    messages_request,
)
from sseio.chat._messages_types import (
    ContentBlockStart,
    ContentBlockStop,
    InputJsonDelta,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    OtherBlock,
    OtherMessageEvent,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
)
from sseio.chat._retry import ChatRetry
from sseio.chat._shaped import StreamPiece, UnexpectedStream

START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4},
    },
}
STOP = {"type": "message_stop"}


def block_start(index: int, **block: Any) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(reason: str = "end_turn", **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": reason, "stop_sequence": None},
        "usage": {"output_tokens": 20, **usage},
    }


def whole_stream() -> list[dict[str, Any]]:
    return [
        START,
        {"type": "ping"},
        block_start(0, type="thinking", thinking="", signature=""),
        delta(0, "thinking_delta", thinking="Hmm, "),
        delta(0, "thinking_delta", thinking="yes."),
        delta(0, "signature_delta", signature="sig"),
        block_stop(0),
        block_start(1, type="text", text=""),
        delta(1, "text_delta", text="Hel"),
        delta(1, "citations_delta", citation={"cited_text": "x"}),
        delta(1, "text_delta", text="lo"),
        block_stop(1),
        block_start(2, type="tool_use", id="toolu_1", name="lookup", input={}),
        delta(2, "input_json_delta", partial_json='{"q": '),
        delta(2, "input_json_delta", partial_json='"x"}'),
        block_stop(2),
        block_start(3, type="redacted_thinking", data="..."),
        block_stop(3),
        message_delta("tool_use"),
        STOP,
    ]


def new_call(**retry: Any) -> MessagesCall:
    return MessagesCall(ChatRetry(jitter=0, **retry), rng=random.Random(1))


def sse(obj: Any, name: str | None = None) -> sseio.ServerSentEvent:
    if name is None:
        name = obj.get("type", "message") if isinstance(obj, dict) else "message"
    data = obj if isinstance(obj, str) else json.dumps(obj)
    return make_event(name, data, "", None)


def feed(call: MessagesCall, *objects: Any) -> list[Any]:
    typed = []
    for obj in objects:
        found = call.on_event(obj if isinstance(obj, sseio.ServerSentEvent) else sse(obj))
        if found is not None:
            typed.append(found)
    return typed


# --------------------------------------------------------------------------- accumulation


def test_a_whole_stream_gives_typed_events_and_the_whole_message() -> None:
    call = new_call()
    typed = feed(call, *whole_stream())
    call.on_end()
    assert call.done
    assert [type(event) for event in typed] == [
        MessageStart,
        OtherMessageEvent,  # ping
        ContentBlockStart,
        ThinkingDelta,
        ThinkingDelta,
        SignatureDelta,
        ContentBlockStop,
        ContentBlockStart,
        TextDelta,
        OtherMessageEvent,  # a citations delta
        TextDelta,
        ContentBlockStop,
        ContentBlockStart,
        InputJsonDelta,
        InputJsonDelta,
        ContentBlockStop,
        ContentBlockStart,
        ContentBlockStop,
        MessageDelta,
        MessageStop,
    ]
    assert typed[1].type == "ping"
    assert (typed[9].type, typed[9].delta_type) == ("content_block_delta", "citations_delta")
    assert typed[12] == ContentBlockStart(
        index=2, block_type="tool_use", id="toolu_1", name="lookup"
    )
    final = call.result()
    assert isinstance(final, Message)
    assert (final.id, final.model, final.role) == ("msg_1", "claude-x", "assistant")
    assert final.content == (
        ThinkingBlock("Hmm, yes.", "sig"),
        TextBlock("Hello"),
        ToolUseBlock("toolu_1", "lookup", {"q": "x"}, '{"q": "x"}'),
        OtherBlock("redacted_thinking"),
    )
    assert (final.text, final.reasoning) == ("Hello", "Hmm, yes.")
    assert final.tool_uses[0].input == {"q": "x"}
    assert final.stop_reason == "tool_use"
    assert final.usage is not None
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (10, 20, 30)
    assert usage.cached_tokens == 4  # from message_start, which message_delta left alone
    assert final.events == len(typed)


def test_pieces_tell_text_from_reasoning() -> None:
    call = new_call()
    pieces = [call.piece(event) for event in feed(call, *whole_stream())]
    assert [p for p in pieces if p is not None] == [
        StreamPiece("reasoning", "Hmm, ", 0),
        StreamPiece("reasoning", "yes.", 0),
        StreamPiece("text", "Hel", 1),
        StreamPiece("text", "lo", 1),
    ]


def test_usage_in_message_delta_replaces_field_by_field() -> None:
    call = new_call()
    feed(call, START, message_delta(input_tokens=12, cache_read_input_tokens=None), STOP)
    usage = call.result().usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (12, 20, 4)


def test_a_tool_use_without_input_deltas_keeps_its_start_input() -> None:
    call = new_call()
    feed(call, START, block_start(0, type="tool_use", id="t", name="n", input={"a": 1}),
         block_stop(0), STOP)  # fmt: skip
    assert call.result().tool_uses == (ToolUseBlock("t", "n", {"a": 1}),)


def test_a_tool_input_cut_short_is_none_with_its_text() -> None:
    call = new_call()
    feed(call, START, block_start(0, type="tool_use", id="t", name="n", input={}),
         delta(0, "input_json_delta", partial_json='{"q": "x'), block_stop(0),
         message_delta("max_tokens"), STOP)  # fmt: skip
    (tool,) = call.result().tool_uses
    assert (tool.input, tool.partial_json) == (None, '{"q": "x')


def test_deltas_without_a_start_make_their_block() -> None:
    call = new_call()
    feed(call, START, delta(0, "text_delta", text="a"), delta(1, "thinking_delta", thinking="b"))
    assert call.result().content == (TextBlock("a"), ThinkingBlock("b"))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (delta(0, "text_delta", text=3), "text must be a string"),
        ({"type": "content_block_delta", "index": "0", "delta": {}}, "index must be an integer"),
        ({"type": "content_block_delta", "index": 0, "delta": []}, "delta must be an object"),
        ({"type": "content_block_start", "index": 0, "content_block": {}}, "has no type"),
        ({"type": "message_delta", "usage": {"output_tokens": "9"}}, "output_tokens"),
    ],
)
def test_wrong_field_types_are_invalid_chunks(obj: dict[str, Any], message: str) -> None:
    call = new_call()
    feed(call, START)
    with pytest.raises(sseio.chat.InvalidChunk, match=message) as caught:
        feed(call, obj)
    assert caught.value.payload == obj
    assert isinstance(caught.value.partial, Message)


# --------------------------------------------------------------------------- endings and errors


def test_a_stream_without_message_stop_is_truncated() -> None:
    call = new_call()
    feed(call, START, block_start(0, type="text", text=""), delta(0, "text_delta", text="Hel"))
    with pytest.raises(
        sseio.chat.StreamTruncated, match="after 3 events without message_stop"
    ) as c:
        call.on_end()
    assert c.value.partial.text == "Hel"


@pytest.mark.parametrize("name", ["error", "message"])
def test_an_error_event_is_an_api_error_with_the_partial(name: str) -> None:
    call = new_call()
    feed(call, START, delta(0, "text_delta", text="Hel"))
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(sseio.chat.APIError) as caught:
        feed(call, sse(error, name))
    exc = caught.value
    assert (exc.message, exc.type, exc.retryable) == ("Overloaded", "overloaded_error", True)
    assert exc.partial.text == "Hel"


def test_an_error_before_message_start_is_still_an_api_error() -> None:
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}
    with pytest.raises(sseio.chat.APIError, match="no") as caught:
        feed(new_call(), error)
    assert not caught.value.retryable


def test_an_error_event_that_is_not_json_is_an_api_error() -> None:
    with pytest.raises(sseio.chat.APIError, match="went wrong"):
        feed(new_call(), sse("it went wrong", "error"))


@pytest.mark.parametrize(
    ("items", "seen"),
    [
        ([sse({"object": "chat.completion.chunk", "choices": []})], "'chat.completion.chunk'"),
        ([sse({"type": "response.created", "response": {}})], "type 'response.created'"),
        ([START, sse({"type": "response.output_text.delta"})], "type 'response.output_text"),
        ([sse("hello", "message")], "a data payload that is not JSON: 'hello'"),
        ([sse({"type": "content_block_delta", "index": 0})], "type 'content_block_delta'"),
        ([sse({"n": 1}, "message")], "a JSON object without a type field"),
    ],
)
def test_another_shape_is_named(items: list[Any], seen: str) -> None:
    call = new_call()
    with pytest.raises(UnexpectedStream) as caught:
        feed(call, *items)
    exc = caught.value
    assert str(exc).startswith("expected an Anthropic Messages stream (message_start first)")
    assert seen in str(exc)
    assert isinstance(exc.partial, Message)
    assert call.decide(exc, now=0.0, wall_clock=0.0) is None


def test_a_ping_may_come_first() -> None:
    call = new_call()
    feed(call, {"type": "ping"}, START, STOP)
    call.on_end()
    assert call.result().id == "msg_1"


# --------------------------------------------------------------------------- chunking


def _stream_bytes() -> bytes:
    objects = [*whole_stream()[:3], delta(0, "thinking_delta", thinking="é🙂\r\n"), STOP]
    events = (
        f"event: {o['type']}\r\ndata: {json.dumps(o, ensure_ascii=False)}\r\n\r\n" for o in objects
    )
    return ("".join(events) + ": keepalive\n\n").encode()


def _run_bytes(chunks: list[bytes]) -> tuple[list[Any], Message | str]:
    decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder()
    call = new_call()
    typed: list[Any] = []
    try:
        for chunk in chunks:
            for item in decoder.feed(chunk):
                found = call.on_event(item)
                if found is not None:
                    typed.append(found)
        decoder.close()
        call.on_end()
    except sseio.SSEError as exc:
        return typed, f"{type(exc).__name__}: {exc}"
    return typed, call.result()


@pytest.mark.parametrize("cut", [None, -40])
def test_chunking_never_changes_the_outcome(cut: int | None) -> None:
    data = _stream_bytes()[:cut]
    reference = _run_bytes([data])
    for chunks in chunkings(data, pairs=False):
        assert _run_bytes(chunks) == reference
    typed, outcome = reference
    assert typed
    if cut is None:
        assert isinstance(outcome, Message)
        assert outcome.reasoning == "é🙂\r\n"
    else:
        assert isinstance(outcome, str)
        assert outcome.startswith("StreamTruncated")


# --------------------------------------------------------------------------- retries


def test_retries_only_before_any_text() -> None:
    call = new_call(max_retries=3, delay=0.5, backoff=2.0)
    feed(call, START)
    assert not call.shown
    broken = sseio.ReadError("reset")
    assert call.decide(broken, now=0.0, wall_clock=0.0) == 0.5
    assert call.decide(broken, now=0.1, wall_clock=0.0) == 1.0
    assert call.retries == 2
    feed(call, START, delta(0, "thinking_delta", thinking="x"))
    assert call.shown
    assert call.decide(broken, now=1.0, wall_clock=0.0) is None
    truncated = call.give_up(broken)
    assert isinstance(truncated, sseio.chat.StreamTruncated)
    assert truncated.partial.reasoning == "x"


# --------------------------------------------------------------------------- requests


def test_the_request() -> None:
    url, body = messages_request(
        "https://api.example/",
        model="claude-x",
        messages=iter([{"role": "user", "content": "hi"}]),
        max_tokens=100,
        system="be brief",
        extra_query={"beta": "true"},
        extra_body={"metadata": {"user_id": "u"}},
        params={"temperature": None, "thinking": {"type": "enabled", "budget_tokens": 50}},
    )
    assert url == "https://api.example/v1/messages?beta=true"
    assert body == {
        "model": "claude-x",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 100,
        "system": "be brief",
        "thinking": {"type": "enabled", "budget_tokens": 50},
        "stream": True,
        "metadata": {"user_id": "u"},
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": ""}, "model"),
        ({"messages": []}, "messages"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"params": {"stream": False}}, "always streams"),
    ],
)
def test_bad_requests_are_usage_errors(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 10,
        "params": {},
        **options,
    }
    with pytest.raises(sseio.UsageError, match=message):
        messages_request("u", **arguments)


def test_settings_send_the_key_and_version_and_hide_the_key() -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-secret", "ANTHROPIC_BASE_URL": "http://h"}
    settings = MessagesSettings.create(
        base_url=None,
        api_key=None,
        headers=None,
        timeout=sseio.Timeout(),
        retry=None,
        environ=environ,
    )
    assert settings.base_url == "http://h"
    assert settings.headers == (
        ("x-api-key", "sk-ant-secret"),
        ("anthropic-version", "2023-06-01"),
    )
    assert "sk-ant-secret" not in repr(settings)
    url, body, headers, _, call = settings.prepare(
        model="m",
        messages=[{"role": "user", "content": "x"}],
        max_tokens=5,
        system=None,
        extra_headers={"anthropic-beta": "b"},
        extra_query=None,
        extra_body=None,
        retry=None,
        params={},
    )
    assert url == "http://h/v1/messages"
    assert "system" not in body
    assert ("anthropic-beta", "b") in headers
    assert isinstance(call, MessagesCall)
    default = MessagesSettings.create(
        base_url=None,
        api_key="given",
        headers={"anthropic-version": "2099-01-01"},
        timeout=sseio.Timeout(),
        retry=None,
        environ={},
    )
    assert default.base_url == "https://api.anthropic.com"
    assert default.headers == (("x-api-key", "given"), ("anthropic-version", "2099-01-01"))
