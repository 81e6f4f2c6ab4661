"""Streams that are not chat completions (``sseio.chat._foreign`` and ``ChatCall``): a clear
``UnexpectedStream`` naming what arrived, never a ``StreamTruncated ... after 0 chunks``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chat_helpers import event, new_call, payload, run

import sseio
import sseio.chat
from sseio.chat._foreign import describe, hint, is_chat_chunk, recognised

RESPONSES = [
    ("response.created", {"type": "response.created", "response": {"id": "resp_1"}}),
    ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Hi"}),
]
ANTHROPIC = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_1"}}),
    ("content_block_delta", {"type": "content_block_delta", "delta": {"text": "Hi"}}),
]


def feed(call: Any, items: list[tuple[str, Any]]) -> None:
    for kind, obj in items:
        call.on_event(event(obj, kind))


@pytest.mark.parametrize(
    ("items", "event_name", "kind", "advice"),
    [
        (RESPONSES, "response.created", "response.created", "sseio.chat.ResponsesClient"),
        (ANTHROPIC, "message_start", "message_start", "sseio.chat.MessagesClient"),
        (
            [("message", {"type": "response.output_text.delta", "delta": "x"})],
            "message",
            "response.output_text.delta",
            "ResponsesClient",
        ),
        ([("message", {"type": "message_start"})], "message", "message_start", "MessagesClient"),
        (
            [("message", {"candidates": [{"content": {"parts": [{"text": "x"}]}}]})],
            "message",
            None,
            "OpenAI-compatible endpoint",
        ),
    ],
    ids=["responses", "anthropic", "responses-unnamed", "anthropic-unnamed", "gemini"],
)
def test_another_apis_stream_is_named_at_its_first_event(
    items: list[tuple[str, Any]], event_name: str, kind: str | None, advice: str
) -> None:
    call = new_call()
    with pytest.raises(sseio.chat.UnexpectedStream) as caught:
        feed(call, items)
    error = caught.value
    assert (error.event, error.kind) == (event_name, kind)
    assert error.payload == items[0][1]
    assert advice in str(error)
    assert str(error).startswith("expected an OpenAI chat completions stream")
    assert kind is None or repr(kind) in str(error)
    assert isinstance(error, sseio.chat.InvalidChunk)  # not retried, caught as before
    assert error.partial is not None
    assert error.partial.chunks == 0


def test_unknown_events_then_the_end_name_what_came_instead_of_0_chunks() -> None:
    call = new_call()
    feed(call, [("ping", {"t": 1}), ("status", "plain text"), ("message", {"foo": 1, "bar": 2})])
    with pytest.raises(sseio.chat.UnexpectedStream) as caught:
        call.on_end()
    assert "0 chunks" not in str(caught.value)
    assert str(caught.value) == (
        "the stream ended without a chat chunk: expected an OpenAI chat completions stream"
        " (chat.completion.chunk objects), got event 'ping', a JSON object with keys 't'"
    )
    assert caught.value.event == "ping"
    assert caught.value.payload == {"t": 1}


def test_a_json_object_without_choices_is_not_a_chunk_before_the_first_one() -> None:
    call = new_call()
    assert call.on_event(event({"foo": 1})) is None
    with pytest.raises(sseio.chat.UnexpectedStream, match="a JSON object with keys 'foo'"):
        call.on_end()


def test_events_that_are_not_chunks_are_ignored_around_real_chunks() -> None:
    call = new_call()
    feed(call, [("ping", "x"), ("message", {"note": "warming up"})])
    chunks = run(call, payload("Hi"), {"id": "u", "usage": {"prompt_tokens": 1}})
    feed(call, [("ping", "x"), ("response.created", {"type": "response.created"})])
    run(call, payload(finish="stop"))
    call.on_end()
    assert [c.choices[0].delta.content for c in chunks[:1]] == ["Hi"]
    assert call.final().content == "Hi"
    assert call.final().usage is not None  # a usage chunk without choices still counts


def test_a_stream_of_only_done_is_empty_not_an_error() -> None:
    call = new_call()
    feed(call, [("ping", "x")])
    call.on_done()
    call.on_end()
    assert call.final().choices == ()


def test_errors_inside_the_stream_are_still_api_errors() -> None:
    call = new_call()
    with pytest.raises(sseio.chat.APIError):
        call.on_event(event({"type": "error", "error": {"message": "overloaded"}}))


def test_a_retry_forgets_what_the_failed_attempt_saw() -> None:
    call = new_call()
    feed(call, [("ping", "x")])
    assert call.decide(sseio.ReadError("cut"), now=0.0, wall_clock=0.0) is not None
    with pytest.raises(sseio.chat.StreamTruncated, match="after 0 chunks"):
        call.on_end()  # this attempt saw nothing at all


@pytest.mark.parametrize(
    ("obj", "chunk"),
    [
        ({"choices": []}, True),
        ({"object": "chat.completion.chunk"}, True),
        ({"object": "chat.completion"}, False),
        ({"type": "x"}, False),
        ([1], False),
        ("choices", False),
    ],
)
def test_is_chat_chunk(obj: Any, chunk: bool) -> None:
    assert is_chat_chunk(obj) is chunk


def test_descriptions_are_short_and_never_raise() -> None:
    assert describe("message", [1, 2]) == "a JSON array"
    assert describe("message", None) == "a JSON null"
    assert describe("message", {}) == "an empty JSON object"
    assert describe("ping", "text") == "event 'ping'"
    assert describe("message", {"object": "response"}) == "object 'response'"
    long = describe("x" * 500, {"type": "y" * 500, 1: 2})
    assert len(long) < 160
    assert describe("message", {str(n): n for n in range(50)}).count("'") == 8  # four keys
    assert hint("ping", {"type": "x"}) is None
    assert not recognised("message", json.loads('{"id": 1}'))
