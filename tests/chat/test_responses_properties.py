"""Properties of the Responses and Messages calls, stated with hypothesis: whatever JSON a
server sends, the calls give typed events or an ``SSEError``, never a foreign exception;
and however the text is cut into deltas, the final value holds the same text."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
from sseio._core.events import make_event
from sseio.chat._messages_call import MessagesCall
from sseio.chat._responses_call import ResponsesCall
from sseio.chat._retry import ChatRetry

RESPONSES_TYPES = [
    "response.created",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.something_new",
    "error",
]
MESSAGES_TYPES = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
    "something_new",
]
FIELDS = [
    "response", "item", "part", "delta", "text", "index", "output_index", "content_index",
    "summary_index", "item_id", "arguments", "name", "usage", "message", "content_block",
    "type", "output", "error", "status", "id", "input",
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=12,
)


def payloads(types: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda kind, fields: {**fields, "type": kind},
        st.sampled_from(types),
        st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5),
    )


def _feed(call: Any, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        event = make_event(str(obj.get("type")), json.dumps(obj), "", None)
        try:
            call.on_event(event)
        except sseio.SSEError:
            return  # anything else would fail the test
    with contextlib.suppress(sseio.SSEError):
        call.on_end()
    call.result()


@given(st.lists(payloads(RESPONSES_TYPES), max_size=8))
@settings(max_examples=300, deadline=None)
def test_responses_any_json_gives_events_or_an_sseio_error(objects: list[dict[str, Any]]) -> None:
    start = {"type": "response.created", "response": {"id": "r"}}
    _feed(ResponsesCall(ChatRetry(), rng=random.Random(0)), [start, *objects])


@given(st.lists(payloads(MESSAGES_TYPES), max_size=8))
@settings(max_examples=300, deadline=None)
def test_messages_any_json_gives_events_or_an_sseio_error(objects: list[dict[str, Any]]) -> None:
    start = {"type": "message_start", "message": {"id": "m"}}
    _feed(MessagesCall(ChatRetry(), rng=random.Random(0)), [start, *objects])


@given(st.lists(st.text(max_size=6), max_size=10), st.lists(st.text(max_size=6), max_size=10))
@settings(max_examples=100, deadline=None)
def test_any_cut_of_the_text_gives_the_same_final(texts: list[str], thoughts: list[str]) -> None:
    responses = ResponsesCall(ChatRetry())
    messages = MessagesCall(ChatRetry())
    for obj in [{"type": "response.created", "response": {"id": "r"}}]:
        responses.on_event(make_event(obj["type"], json.dumps(obj), "", None))
    messages.on_event(make_event("message_start", json.dumps({"type": "message_start",
                      "message": {"id": "m"}}), "", None))  # fmt: skip
    for thought in thoughts:
        r = {"type": "response.reasoning_text.delta", "output_index": 0, "delta": thought}
        m = {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": thought}}  # fmt: skip
        responses.on_event(make_event(r["type"], json.dumps(r), "", None))
        messages.on_event(make_event(m["type"], json.dumps(m), "", None))
    for text in texts:
        r = {"type": "response.output_text.delta", "output_index": 1, "delta": text}
        m = {"type": "content_block_delta", "index": 1,
             "delta": {"type": "text_delta", "text": text}}  # fmt: skip
        responses.on_event(make_event(r["type"], json.dumps(r), "", None))
        messages.on_event(make_event(m["type"], json.dumps(m), "", None))
    assert responses.result().text == messages.result().text == "".join(texts)
    assert responses.result().reasoning == messages.result().reasoning == "".join(thoughts)
