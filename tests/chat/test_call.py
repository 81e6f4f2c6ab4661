"""One chat call (``sseio.chat._call``): chunks, reasoning split, in-stream errors, truncation,
retry decisions, requests and settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chat_helpers import event, new_call, payload, response_error, run
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
import sseio.chat
from sseio._core.events import make_event
from sseio.chat._call import ChatCall, ChatSettings, chat_request, resolve_api_key, resolve_base_url
from sseio.chat._retry import ChatRetry


@st.composite
def split_text(draw: st.DrawFn) -> tuple[str, list[str]]:
    atoms = ["<think>", "</think>", "<ser>", "</ser>", "<", ">", "a", " ", "\n", "é", "🙂", "x<y"]
    text = "".join(draw(st.lists(st.sampled_from(atoms), max_size=30)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return text, pieces


def final_of(pieces: list[str], split_think: bool = True) -> sseio.chat.ChatCompletion:
    call = new_call(split_think=split_think)
    run(call, payload("", role="assistant"), *[payload(p) for p in pieces])
    run(call, payload(finish="stop"))
    return call.final()


@given(split_text())
@settings(max_examples=150, deadline=None)
def test_any_chunking_gives_the_same_final_message(case: tuple[str, list[str]]) -> None:
    text, pieces = case
    whole = final_of([text])
    assert final_of(pieces) == whole._replace(chunks=len(pieces) + 2)
    content, reasoning = sseio.chat.split_think(text)
    assert whole.content == content
    assert whole.reasoning == reasoning
    assert final_of(pieces, split_think=False).content == text


# --------------------------------------------------------------------------- one call


def test_inline_think_blocks_move_to_reasoning() -> None:
    call = new_call()
    chunks = run(
        call,
        payload("<thi"),
        payload("nk>plan"),
        payload("</think>Answer <"),
        payload("3"),
        payload(finish="stop"),
    )
    contents = [c.choices[0].delta.content for c in chunks]
    reasonings = [c.choices[0].delta.reasoning for c in chunks]
    assert "".join(x or "" for x in contents) == "Answer <3"
    assert "".join(x or "" for x in reasonings) == "plan"
    assert call.final().content == "Answer <3"
    assert call.final().reasoning == "plan"


def test_text_held_at_finish_is_released_in_the_finish_chunk() -> None:
    call = new_call()
    chunks = run(call, payload("a <"), payload(finish="stop"))
    assert chunks[-1].choices[0].delta.content == "<"
    assert call.final().content == "a <"


def test_reasoning_fields_and_inline_blocks_meet() -> None:
    call = new_call()
    run(call, payload(reasoning_content="r1"), payload("<think>r2</think>ok"))
    assert call.final().reasoning == "r1r2"
    assert call.final().content == "ok"


def test_split_think_off_keeps_tags() -> None:
    call = new_call(split_think=False)
    run(call, payload("<think>x</think>y"))
    assert call.final().content == "<think>x</think>y"
    assert call.final().choices[0].message.reasoning is None


def test_done_releases_held_text_as_a_last_chunk() -> None:
    call = new_call()
    run(call, payload("<think>unfinished <"))
    last = call.on_done()
    assert last is not None
    assert last.choices[0].delta.reasoning == "<"
    assert call.final().reasoning == "unfinished <"
    call.on_end()  # [DONE] came: not truncated
    assert call.done


def test_done_with_nothing_held() -> None:
    call = new_call()
    run(call, payload("plain"))
    assert call.on_done() is None


def test_empty_and_unknown_events_carry_no_chunk() -> None:
    call = new_call()
    assert call.on_event(make_event("message", "", "", None)) is None
    assert call.on_event(make_event("ping", '{"t": 1}', "", None)) is None
    assert call.on_event(sseio.Comment("keepalive")) is None


def test_shown_only_after_text() -> None:
    call = new_call()
    run(call, payload("", role="assistant"))
    assert not call.shown
    run(call, payload("x"))
    assert call.shown


@pytest.mark.parametrize(
    ("kind", "obj", "message", "retry"),
    [
        (
            "message",
            {"error": {"message": "boom", "type": "server_error", "code": "internal_error"}},
            "boom",
            True,
        ),
        ("message", {"error": {"message": "bad", "type": "invalid_request_error"}}, "bad", False),
        ("error", {"message": "over", "type": "overloaded_error"}, "over", True),
        (
            "message",
            {"type": "error", "error": {"type": "overloaded_error", "message": "o"}},
            "o",
            True,
        ),
        ("message", {"error": "plain text error"}, "plain text error", False),
        ("message", {"error": {"code": 503}}, "the server reported an error", True),
        ("error", "not json at all", "not json at all", False),
        ("error", [1, 2], "[1, 2]", False),
    ],
)
def test_errors_inside_the_stream(kind: str, obj: Any, message: str, retry: bool) -> None:
    call = new_call()
    run(call, payload("partial"))
    with pytest.raises(sseio.chat.APIError) as caught:
        call.on_event(event(obj, kind))
    error = caught.value
    assert error.message == message
    assert error.retryable is retry
    assert error.status_code is None
    assert error.partial is not None
    assert error.partial.content == "partial"
    assert error.payload == obj


def test_error_fields_are_kept() -> None:
    call = new_call()
    obj = {"error": {"message": "m", "type": "t", "code": "c", "param": "p"}}
    with pytest.raises(sseio.chat.APIError) as caught:
        call.on_event(event(obj))
    assert (caught.value.type, caught.value.code, caught.value.param) == ("t", "c", "p")
    assert str(caught.value) == "error in stream (t): m"


def test_payload_that_is_not_json_or_not_a_chunk() -> None:
    call = new_call()
    run(call, payload("kept"))
    with pytest.raises(sseio.chat.InvalidChunk) as caught:
        call.on_event(make_event("message", "{oops", "", None))
    assert caught.value.payload == "{oops"
    assert caught.value.partial.content == "kept"
    with pytest.raises(sseio.chat.InvalidChunk):
        call.on_event(event({"choices": "no"}))


def test_truncation_is_detected() -> None:
    call = new_call()
    run(call, payload("half an ans"))
    with pytest.raises(sseio.chat.StreamTruncated) as caught:
        call.on_end()
    assert "after 1 chunk without [DONE]" in str(caught.value)
    assert caught.value.partial.content == "half an ans"


def test_finish_reason_without_done_is_complete() -> None:
    call = new_call()
    run(call, payload("x"), payload(finish="length"))
    call.on_end()
    assert call.final().finish_reason == "length"


# --------------------------------------------------------------------------- retry decisions


def test_classify_chains_the_original() -> None:
    call = new_call()
    original = response_error(429, {"error": {"message": "slow"}})
    typed = call.classify(original, wall_clock=0.0)
    assert isinstance(typed, sseio.chat.RateLimitError)
    assert typed.__cause__ is original
    assert call.classify(typed, wall_clock=0.0) is typed


def test_retry_waits_grow_and_stop() -> None:
    call = ChatCall(ChatRetry(max_retries=3, delay=1, backoff=2, max_delay=3, jitter=0))
    failure = sseio.ConnectError("refused")
    waits = [call.decide(failure, now=0.0, wall_clock=0.0) for _ in range(4)]
    assert waits == [1.0, 2.0, 3.0, None]
    assert call.attempts == 4
    assert call.retries == 3


def test_jitter_only_shortens() -> None:
    call = ChatCall(ChatRetry(max_retries=50, delay=1, backoff=1, jitter=0.5))
    waits = [call.decide(sseio.ReadError("x"), now=0.0, wall_clock=0.0) for _ in range(50)]
    assert all(w is not None and 0.5 <= w <= 1.0 for w in waits)
    assert len(set(waits)) > 1


def test_retry_after_is_honoured_within_bounds() -> None:
    call = ChatCall(ChatRetry(delay=0.1, jitter=0, max_retry_after=10))
    limited = call.classify(response_error(429, retry_after="5"), wall_clock=0.0)
    assert call.decide(limited, now=0.0, wall_clock=0.0) == 5.0
    too_long = call.classify(response_error(503, retry_after="600"), wall_clock=0.0)
    assert call.decide(too_long, now=0.0, wall_clock=0.0) is None


def test_no_retry_once_text_was_shown() -> None:
    call = new_call()
    run(call, payload("visible"))
    assert call.decide(sseio.ReadError("cut"), now=0.0, wall_clock=0.0) is None
    raised = call.give_up(sseio.ReadError("cut"))
    assert isinstance(raised, sseio.chat.StreamTruncated)
    assert isinstance(raised.__cause__, sseio.ReadError)
    assert raised.partial.content == "visible"


def test_retry_starts_a_fresh_accumulation() -> None:
    call = new_call()
    run(call, payload("", role="assistant"))
    assert call.decide(sseio.ReadError("cut"), now=0.0, wall_clock=0.0) is not None
    assert call.final().chunks == 0


def test_give_up_before_text_keeps_the_error() -> None:
    call = new_call()
    failure = sseio.ConnectError("refused")
    assert call.give_up(failure) is failure


def test_max_elapsed_stops_retries() -> None:
    call = ChatCall(ChatRetry(max_retries=10, max_elapsed=5, jitter=0))
    assert call.decide(sseio.ReadError("x"), now=100.0, wall_clock=0.0) is not None
    assert call.decide(sseio.ReadError("x"), now=106.0, wall_clock=0.0) is None


# --------------------------------------------------------------------------- requests and settings


def test_request_body_and_url() -> None:
    url, body = chat_request(
        "http://h/v1/",
        model="m",
        messages=({"role": "user", "content": "q"},),
        hide_think=True,
        extra_query={"api-version": "1", "tags": ["a", "b"]},
        extra_body={"temperature": 0.1, "custom": 1},
        params={"temperature": 0.9, "max_tokens": None, "top_p": 0.5},
    )
    assert url == "http://h/v1/chat/completions?api-version=1&tags=a&tags=b"
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "q"}],
        "temperature": 0.1,
        "top_p": 0.5,
        "hideThink": True,
        "stream": True,
        "custom": 1,
    }


def test_request_refuses_bad_model_and_messages() -> None:
    with pytest.raises(sseio.UsageError, match="model"):
        chat_request("http://h", model="", messages=[{}], params={})
    with pytest.raises(sseio.UsageError, match="messages"):
        chat_request("http://h", model="m", messages=[], params={})


def test_api_key_and_base_url_fallbacks() -> None:
    env = {"OPENAI_API_KEY": "o", "SSEIO_API_KEY": "s", "OPENAI_BASE_URL": "http://o"}
    assert resolve_api_key("given", env) == "given"
    assert resolve_api_key(None, env) == "s"
    assert resolve_api_key(None, {"OPENAI_API_KEY": "o"}) == "o"
    assert resolve_api_key(None, {"SSEIO_API_KEY": ""}) is None
    assert resolve_base_url(None, env) == "http://o"
    assert resolve_base_url(None, {"SSEIO_BASE_URL": "http://s", **env}) == "http://s"
    assert resolve_base_url(None, {}) == "https://api.openai.com/v1"
    assert resolve_base_url("http://x", env) == "http://x"


def test_settings_headers_and_bad_tags() -> None:
    settings_ = ChatSettings.create(
        base_url="http://h",
        api_key=None,
        headers={"X-A": "1"},
        timeout=sseio.Timeout(),
        retry=None,
        split_think=True,
        think_tags=[("<t>", "</t>")],
        environ={"OPENAI_API_KEY": "k"},
    )
    assert settings_.headers == (("Authorization", "Bearer k"), ("X-A", "1"))
    prepared = settings_.prepare(
        model="m",
        messages=[{"role": "user", "content": "q"}],
        hide_think=None,
        extra_headers={"authorization": "Bearer other"},
        extra_query=None,
        extra_body=None,
        split_think=None,
        retry=None,
        params={},
    )
    assert prepared.headers == [
        ("X-A", "1"),
        ("authorization", "Bearer other"),
        ("Content-Type", "application/json"),
    ]
    assert "hideThink" not in prepared.body
    assert json.loads(prepared.content) == prepared.body
    call = prepared.call
    run(call, payload("<t>r</t>c"))
    assert call.final().reasoning == "r"
    with pytest.raises(sseio.UsageError):
        ChatSettings.create(
            base_url=None,
            api_key=None,
            headers=None,
            timeout=sseio.Timeout(),
            retry=None,
            split_think=True,
            think_tags=[("", "</t>")],
            environ={},
        )
