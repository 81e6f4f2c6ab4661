"""The Responses stream without sockets (``sseio.chat._responses_*``): typed events,
accumulation, truncation, in-stream errors, streams of another shape, retry decisions,
the request and the settings.  Byte-level cases go through every chunking."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from chat_helpers import response_error
from chunking import chunkings

import sseio
import sseio.chat
import sseio.chat._streams_sync
from sseio._core.events import make_event
from sseio.chat._messages_call import MessagesCall
from sseio.chat._responses_call import ResponsesCall, ResponsesSettings, responses_request
from sseio.chat._responses_types import (
    ContentPartEvent,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    ModelResponse,
    OtherResponseEvent,
    OutputItemEvent,
    OutputTextDelta,
    ReasoningDelta,
    ResponseUpdate,
)
from sseio.chat._retry import ChatRetry
from sseio.chat._shaped import StreamPiece, UnexpectedStream

RESPONSE = {"id": "resp_1", "object": "response", "model": "m", "status": "in_progress"}
USAGE = {
    "input_tokens": 5,
    "input_tokens_details": {"cached_tokens": 2},
    "output_tokens": 7,
    "output_tokens_details": {"reasoning_tokens": 3},
    "total_tokens": 12,
}


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def created() -> dict[str, Any]:
    return ev("response.created", response=RESPONSE)


def completed(status: str = "completed", **response: Any) -> dict[str, Any]:
    kind = "response.completed" if status == "completed" else f"response.{status}"
    return ev(kind, response={**RESPONSE, "status": status, "usage": USAGE, **response})


def text_delta(delta: str, output_index: int = 1, content_index: int = 0) -> dict[str, Any]:
    return ev(
        "response.output_text.delta",
        item_id="msg_1",
        output_index=output_index,
        content_index=content_index,
        delta=delta,
    )


def reasoning_delta(delta: str, summary: bool = False) -> dict[str, Any]:
    if summary:
        return ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta=delta,
        )
    return ev(
        "response.reasoning_text.delta",
        item_id="rs_1",
        output_index=0,
        content_index=0,
        delta=delta,
    )


def item(kind: str, index: int, done: bool = False, **fields: Any) -> dict[str, Any]:
    name = "response.output_item.done" if done else "response.output_item.added"
    return ev(name, output_index=index, item={"type": kind, **fields})


def new_call(**retry: Any) -> ResponsesCall:
    return ResponsesCall(ChatRetry(jitter=0, **retry), rng=random.Random(1))


def sse(obj: Any, name: str | None = None) -> sseio.ServerSentEvent:
    if name is None:
        name = obj.get("type", "message") if isinstance(obj, dict) else "message"
    data = obj if isinstance(obj, str) else json.dumps(obj)
    return make_event(name, data, "", None)


def feed(call: ResponsesCall, *objects: Any) -> list[Any]:
    typed = []
    for obj in objects:
        found = call.on_event(obj if isinstance(obj, sseio.ServerSentEvent) else sse(obj))
        if found is not None:
            typed.append(found)
    return typed


def whole_stream() -> list[dict[str, Any]]:
    return [
        created(),
        ev("response.in_progress", response=RESPONSE),
        item("reasoning", 0, id="rs_1", summary=[]),
        reasoning_delta("Let me "),
        reasoning_delta("think."),
        item("reasoning", 0, done=True, id="rs_1", summary=[]),
        item("message", 1, id="msg_1", role="assistant", status="in_progress", content=[]),
        ev("response.content_part.added", item_id="msg_1", output_index=1, content_index=0,
           part={"type": "output_text", "text": ""}),
        text_delta("Hel"),
        text_delta("lo"),
        ev("response.output_text.done", item_id="msg_1", output_index=1, content_index=0,
           text="Hello"),
        item("function_call", 2, id="fc_1", call_id="call_1", name="lookup", arguments=""),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=2,
           delta='{"q": '),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=2,
           delta='"x"}'),
        ev("response.web_search_call.searching", item_id="ws_1", output_index=3),
        completed(),
    ]  # fmt: skip


# --------------------------------------------------------------------------- accumulation


def test_a_whole_stream_gives_typed_events_and_the_whole_response() -> None:
    call = new_call()
    typed = feed(call, *whole_stream())
    call.on_end()
    assert call.done
    kinds = [type(event) for event in typed]
    assert kinds[:3] == [ResponseUpdate, ResponseUpdate, OutputItemEvent]
    assert kinds.count(OutputTextDelta) == 2
    assert kinds.count(ReasoningDelta) == 2
    assert kinds.count(FunctionCallArgumentsDelta) == 2
    assert ContentPartEvent in kinds
    (other,) = [event for event in typed if type(event) is OtherResponseEvent]
    assert other.type == "response.web_search_call.searching"
    assert other.raw["item_id"] == "ws_1"
    final = call.result()
    assert isinstance(final, ModelResponse)
    assert (final.id, final.model, final.status) == ("resp_1", "m", "completed")
    assert final.text == "Hello"
    assert final.reasoning == "Let me think."
    (function_call,) = final.function_calls
    assert (function_call.name, function_call.call_id, function_call.id) == (
        "lookup",
        "call_1",
        "fc_1",
    )
    assert function_call.parsed_arguments() == {"q": "x"}
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (
        5,
        7,
        12,
    )
    assert (final.usage.reasoning_tokens, final.usage.cached_tokens) == (3, 2)
    assert final.events == len(typed)


def test_pieces_tell_text_from_reasoning() -> None:
    call = new_call()
    pieces = [call.piece(event) for event in feed(call, *whole_stream())]
    assert [p for p in pieces if p is not None] == [
        StreamPiece("reasoning", "Let me ", 0),
        StreamPiece("reasoning", "think.", 0),
        StreamPiece("text", "Hel", 1),
        StreamPiece("text", "lo", 1),
    ]


def test_summaries_are_reasoning_too() -> None:
    call = new_call()
    typed = feed(call, created(), reasoning_delta("sum", summary=True), completed())
    assert typed[1] == ReasoningDelta(
        type="response.reasoning_summary_text.delta",
        item_id="rs_1",
        output_index=0,
        index=0,
        delta="sum",
        summary=True,
    )
    assert call.result().reasoning == "sum"


def test_done_events_give_the_whole_text() -> None:
    call = new_call()
    done = ev("response.output_text.done", item_id="m", output_index=0, content_index=0,
              text="whole")  # fmt: skip
    args = ev("response.function_call_arguments.done", item_id="f", output_index=1,
              arguments="{}", name="tool")  # fmt: skip
    feed(call, created(), text_delta("wh", 0), done, args, completed())
    final = call.result()
    assert final.text == "whole"
    (function_call,) = final.function_calls
    assert (function_call.name, function_call.arguments) == ("tool", "{}")
    assert isinstance(feed(new_call(), args)[0], FunctionCallArgumentsDone)


def test_items_only_in_the_terminal_response_are_kept() -> None:
    call = new_call()
    output = [
        {"type": "message", "id": "msg_9", "content": [{"type": "output_text", "text": "Hi"}]},
        {"type": "function_call", "id": "fc", "name": "f", "call_id": "c", "arguments": "[1]"},
    ]
    feed(call, created(), completed(output=output))
    final = call.result()
    assert final.text == "Hi"
    assert final.function_calls[0].parsed_arguments() == [1]


def test_incomplete_is_an_end_with_its_reason() -> None:
    call = new_call()
    feed(call, created(), text_delta("a"), completed("incomplete",
         incomplete_details={"reason": "max_output_tokens"}))  # fmt: skip
    call.on_end()
    final = call.result()
    assert (final.status, final.incomplete_reason, final.text) == (
        "incomplete",
        "max_output_tokens",
        "a",
    )


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (text_delta(3), "delta must be a string"),  # type: ignore[arg-type]
        (ev("response.output_text.delta", output_index="1", delta="x"), "output_index"),
        (ev("response.created", response=[]), "must carry a response object"),
        (item("message", 0) | {"item": "x"}, "output item must be an object"),
        (completed(usage={"input_tokens": "5"}), "input_tokens"),
    ],
)
def test_wrong_field_types_are_invalid_chunks(obj: dict[str, Any], message: str) -> None:
    call = new_call()
    feed(call, created())
    with pytest.raises(sseio.chat.InvalidChunk, match=message) as caught:
        feed(call, obj)
    assert caught.value.payload == obj
    assert isinstance(caught.value.partial, ModelResponse)


# --------------------------------------------------------------------------- endings and errors


def test_a_stream_without_a_terminal_event_is_truncated() -> None:
    call = new_call()
    feed(call, created(), text_delta("Hel"))
    with pytest.raises(sseio.chat.StreamTruncated, match="after 2 events without response") as c:
        call.on_end()
    assert c.value.partial.text == "Hel"


def test_done_sentinel_alone_does_not_end_it() -> None:
    call = new_call()
    feed(call, created())
    call.on_done()
    with pytest.raises(sseio.chat.StreamTruncated, match=r"sent \[DONE\]"):
        call.on_end()


def test_an_error_event_is_an_api_error_with_the_partial() -> None:
    call = new_call()
    feed(call, created(), text_delta("Hel"))
    error = ev("error", code="rate_limit_exceeded", message="slow down", param=None)
    with pytest.raises(sseio.chat.APIError) as caught:
        feed(call, error)
    exc = caught.value
    assert (exc.message, exc.code, exc.retryable) == ("slow down", "rate_limit_exceeded", True)
    assert exc.partial.text == "Hel"
    assert exc.status_code is None


def test_response_failed_is_an_api_error() -> None:
    call = new_call()
    feed(call, created())
    failed = ev("response.failed", response={**RESPONSE, "status": "failed",
                "error": {"code": "server_error", "message": "boom"}})  # fmt: skip
    with pytest.raises(sseio.chat.APIError, match="boom") as caught:
        feed(call, failed)
    assert caught.value.code == "server_error"
    assert caught.value.retryable
    assert caught.value.payload == failed
    assert not call.done


def test_an_error_event_that_is_not_json_is_an_api_error() -> None:
    with pytest.raises(sseio.chat.APIError, match="went wrong"):
        feed(new_call(), sse("it went wrong", "error"))


@pytest.mark.parametrize(
    ("item", "seen"),
    [
        (
            sse({"id": "c", "object": "chat.completion.chunk", "choices": []}),
            "a 'chat.completion.chunk' object",
        ),
        (sse({"choices": [{"delta": {}}]}), "a chat completion chunk"),
        (sse("hello", "message"), "a data payload that is not JSON: 'hello'"),
        (sse("hello", "tick"), "not JSON (event 'tick')"),
        (sse({"type": "message_start"}), "an event of type 'message_start'"),
        (sse({"n": 1}, "message"), "a JSON object without a type field"),
        (sse({"n": 1}, "tick"), "an event named 'tick' without a type field"),
        (sse([1, 2], "message"), "a JSON list"),
    ],
)
def test_another_shape_is_named(item: sseio.ServerSentEvent, seen: str) -> None:
    with pytest.raises(UnexpectedStream) as caught:
        feed(new_call(), item)
    exc = caught.value
    assert isinstance(exc, sseio.chat.InvalidChunk)
    assert str(exc).startswith("expected an OpenAI Responses stream")
    assert seen in str(exc)
    assert seen in exc.seen
    assert exc.event == item.event
    assert new_call().decide(exc, now=0.0, wall_clock=0.0) is None  # the same again: no retry


def test_an_event_named_but_untyped_takes_its_name() -> None:
    typed = feed(new_call(), sse({"response": RESPONSE}, "response.created"))
    assert type(typed[0]) is ResponseUpdate


def test_comments_and_empty_data_carry_nothing() -> None:
    call = new_call()
    assert call.on_event(sseio.Comment("keepalive")) is None
    assert call.on_event(make_event("message", "", "", None)) is None
    assert call.events == 0


# --------------------------------------------------------------------------- chunking


def _stream_bytes() -> bytes:
    lines = []
    for obj in [*whole_stream()[:4], text_delta("é🙂"), completed()]:
        lines.append(f"event: {obj['type']}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n")
    return "".join(lines).encode()


def _run_bytes(chunks: list[bytes]) -> tuple[list[Any], ModelResponse | str]:
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
        assert isinstance(outcome, ModelResponse)
        assert outcome.text == "é🙂"
    else:
        assert isinstance(outcome, str)
        assert outcome.startswith("StreamTruncated")


# --------------------------------------------------------------------------- retries


def test_retries_only_before_any_text() -> None:
    call = new_call(max_retries=2, delay=1.0)
    feed(call, created())
    broken = sseio.ReadError("reset")
    assert call.decide(broken, now=0.0, wall_clock=0.0) == 1.0
    assert call.retries == 1
    assert call.events == 0  # a fresh accumulation for the next attempt
    feed(call, created(), text_delta("x"))
    assert call.shown
    assert call.decide(broken, now=1.0, wall_clock=0.0) is None
    given_up = call.give_up(broken)
    assert isinstance(given_up, sseio.chat.StreamTruncated)
    assert given_up.partial.text == "x"
    assert given_up.__cause__ is broken


def test_status_errors_become_typed_and_wait_for_retry_after() -> None:
    call = new_call(max_retries=1, delay=0.5, max_retry_after=10.0)
    typed = call.classify(response_error(429, {"error": {"message": "later"}}, retry_after="3"), 0)
    assert isinstance(typed, sseio.chat.RateLimitError)
    assert call.decide(typed, now=0.0, wall_clock=0.0) == 3.0
    assert call.decide(typed, now=1.0, wall_clock=0.0) is None  # max_retries reached


# --------------------------------------------------------------------------- requests


def test_the_request() -> None:
    url, body = responses_request(
        "https://api.example/v1/",
        model="m",
        input="hi",
        extra_query={"a": 1},
        extra_body={"store": False},
        params={"instructions": None, "temperature": 0.2},
    )
    assert url == "https://api.example/v1/responses?a=1"
    assert body == {"model": "m", "input": "hi", "temperature": 0.2, "stream": True, "store": False}
    items = ({"role": "user", "content": "x"},)
    assert responses_request("u", model="m", input=items, params={})[1]["input"] == list(items)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": ""}, "model"),
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": 5}, "input"),
        ({"params": {"stream": False}}, "always streams"),
    ],
)
def test_bad_requests_are_usage_errors(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"model": "m", "input": "hi", "params": {}, **options}
    with pytest.raises(sseio.UsageError, match=message):
        responses_request("u", **arguments)


def test_settings_resolve_key_and_url_and_hide_the_key() -> None:
    settings = ResponsesSettings.create(
        base_url=None,
        api_key=None,
        headers={"X-A": "1"},
        timeout=sseio.Timeout(),
        retry=None,
        environ={"OPENAI_API_KEY": "sk-secret", "OPENAI_BASE_URL": "http://h/v1"},
    )
    assert settings.base_url == "http://h/v1"
    assert ("Authorization", "Bearer sk-secret") in settings.headers
    assert "sk-secret" not in repr(settings)
    url, _, headers, _, call = settings.prepare(
        model="m",
        input="x",
        extra_headers={"X-B": "2"},
        extra_query=None,
        extra_body=None,
        retry=None,
        params={},
    )
    assert url == "http://h/v1/responses"
    assert ("X-A", "1") in headers
    assert ("X-B", "2") in headers
    assert isinstance(call, ResponsesCall)
    bare = ResponsesSettings.create(
        base_url="http://x",
        api_key=None,
        headers=None,
        timeout=sseio.Timeout(),
        retry=None,
        environ={},
    )
    assert bare.headers == ()


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"api_key": 3}, "api_key"),
        ({"base_url": b"http://x"}, "base_url"),
        ({"headers": "X-A: 1"}, "headers"),
        ({"timeout": 0}, "timeout"),
        ({"retry": 2}, "retry"),
        ({"max_event_size": "1"}, "max_event_size"),
    ],
)
def test_client_keywords_are_checked(options: dict[str, Any], name: str) -> None:
    with pytest.raises(sseio.UsageError, match=name):
        sseio.chat._streams_sync.ResponsesClient(**options)
    with pytest.raises(sseio.UsageError, match=name):
        sseio.chat._streams_sync.MessagesClient(**options)


def test_timeouts_may_be_seconds() -> None:
    with sseio.chat._streams_sync.ResponsesClient(base_url="http://x", timeout=5) as client:
        assert client.settings.timeout == sseio.Timeout(connect=5, read=5, write=5)
        stream = client.stream(model="m", input="x", timeout=2.5)
        assert stream._timeout == sseio.Timeout(connect=2.5, read=2.5, write=2.5)
        with pytest.raises(sseio.UsageError, match="extra_headers"):
            client.stream(model="m", input="x", extra_headers="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "obj", "advice"),
    [
        (ResponsesCall, {"object": "chat.completion.chunk", "choices": []}, "with ChatClient"),
        (ResponsesCall, {"type": "message_start"}, "with MessagesClient"),
        (MessagesCall, {"type": "response.created"}, "with ResponsesClient"),
        (MessagesCall, {"choices": []}, "with ChatClient"),
        (MessagesCall, {"type": "content_block_delta"}, None),
        (ResponsesCall, {"type": "tick"}, None),
    ],
)
def test_the_error_says_which_client_reads_the_other_shape(
    call: type[ResponsesCall | MessagesCall], obj: dict[str, Any], advice: str | None
) -> None:
    with pytest.raises(UnexpectedStream) as caught:
        call(ChatRetry()).on_event(sse(obj, "message"))
    if advice is None:
        assert "looks like" not in str(caught.value)
    else:
        assert str(caught.value).endswith(f"read it {advice}")
