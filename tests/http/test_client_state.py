"""Tests for ``sseio._http.client_state``: an event source's state across connections, helpers.

``SourceState`` is driven the way both adapters drive it (see its module
doc): ``next_request()``, ``opened()``, ``feed()`` piece by piece, the items
handed out one by one (each event's ``id`` becomes ``last_event_id``, ``Done``
sets ``done`` and ends the hand-out, ``caught_up()`` after a whole batch), and
``decide()`` — over simulated connections.  Checked: ``Last-Event-ID`` is sent
only when non-empty and replaces any older value; the last event ID and the
reconnection time carry across a reconnect; a partially received event at a
disconnect is discarded (and its ``id`` never becomes the last event ID); a
consumer that stops early resumes from the last event it got; ``[DONE]`` ends
the stream and stops reconnection.  Also ``read_budget`` (event timeout
shorter and longer than the read timeout, and none), ``IdlePool``,
``join_url`` and ``merge_headers``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

import sseio
from sseio import Comment, Done, ServerSentEvent
from sseio._http.client_state import (
    IdlePool,
    Settings,
    SourceState,
    join_url,
    merge_headers,
    read_budget,
)
from sseio._http.exchange import Exchange, Response
from sseio._http.reconnect import Reconnect, Timeout
from sseio._http.request import Request, prepare_request

URL = "http://127.0.0.1:8000/events"
STREAM = Response(200, "OK", [("content-type", "text/event-stream")], "1.1")
NOW = {"now": 1.0, "wall_clock": 1.0}

# --------------------------------------------------------------------------- helpers


def last_event_ids(request: Request) -> list[str]:
    return [value for name, value in request.headers if name.lower() == "last-event-id"]


def source(
    *,
    method: str = "GET",
    last_event_id: str = "",
    json: Any = None,
    reconnect: Reconnect | None = None,
    **decoder_options: Any,
) -> SourceState:
    """A state with a deterministic policy (no jitter, fixed seed)."""
    request = prepare_request(method, URL, json=json, last_event_id=last_event_id)
    return SourceState(
        request,
        reconnect=reconnect or Reconnect(delay=1.0, jitter=0.0),
        last_event_id=last_event_id,
        decoder_options=decoder_options,
        rng=random.Random(0),
    )


def connect(state: SourceState, now: float = 0.0) -> Request:
    """One simulated connection: build the request, then open the stream."""
    request = state.next_request()
    state.opened(STREAM, now)
    return request


def hand_out(items: list[Any], state: SourceState, limit: int | None = None) -> list[Any]:
    """What an adapter gives its consumer from one ``feed()`` batch, through
    ``SourceState.hand_out``; ``limit`` is a consumer that stops after that many."""
    given: list[Any] = []
    batch = state.hand_out(items)
    for item in batch:
        given.append(item)
        if limit is not None and len(given) == limit:
            batch.close()  # the consumer left the loop
            break
    return given


def deliver(state: SourceState, data: bytes, *, bytewise: bool = False) -> list[Any]:
    """Feed ``data`` (whole, or one byte at a time) and hand every batch out."""
    pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    given: list[Any] = []
    for piece in pieces:
        given += hand_out(state.feed(piece), state)
        if state.done:
            break
    return given


def read_error() -> sseio.ReadError:
    return sseio.ReadError("connection reset while reading")


# --------------------------------------------------------------------------- next_request


def test_first_request_without_an_id() -> None:
    state = source()
    assert last_event_ids(state.next_request()) == []
    assert state.last_event_id == ""
    assert state.retry is None
    assert not state.done
    assert state.response is None


def test_first_request_with_an_id() -> None:
    state = source(last_event_id="41")
    assert last_event_ids(state.next_request()) == ["41"]


def test_next_request_replaces_an_old_id() -> None:
    state = source(last_event_id="old")
    connect(state)
    deliver(state, b"id: new\ndata: x\n\n")
    request = state.next_request()
    assert last_event_ids(request) == ["new"]
    data = Exchange(request).request_bytes()
    assert b"\r\nLast-Event-ID: new\r\n" in data
    assert b"old" not in data


def test_cleared_id_removes_the_header() -> None:
    # An empty ``id`` field clears the last event ID; an empty ID is never sent.
    state = source(last_event_id="41")
    connect(state)
    assert deliver(state, b"id\ndata: x\n\n") == [ServerSentEvent(data="x")]
    assert state.last_event_id == ""
    assert last_event_ids(state.next_request()) == []


def test_next_request_keeps_everything_else() -> None:
    state = source(method="POST", json={"q": 1})
    connect(state)
    deliver(state, b"id: 3\ndata: x\n\n")
    request = state.next_request()
    assert (request.method, request.url, request.body) == ("POST", URL, b'{"q":1}')
    without_id = [(k, v) for k, v in request.headers if k.lower() != "last-event-id"]
    assert without_id == state.request.headers


# --------------------------------------------------------------------------- across reconnects


def test_state_carries_across_a_reconnect() -> None:
    state = source()
    connect(state, now=0.0)
    assert state.response == STREAM
    given = deliver(state, b"id: 1\nretry: 2500\ndata: a\n\n")
    assert given == [ServerSentEvent(data="a", id="1", retry=2500)]
    assert (state.last_event_id, state.retry) == ("1", 2500)

    # The connection drops; the server's retry (2.5 s) is the reconnection time.
    assert state.decide(read_error(), **NOW) == 2.5
    assert state.response is None

    request = connect(state, now=3.5)
    assert last_event_ids(request) == ["1"]
    # The new connection continues with the same last event ID and retry.
    assert deliver(state, b"data: b\n\n") == [ServerSentEvent(data="b", id="1")]
    assert (state.last_event_id, state.retry) == ("1", 2500)
    assert deliver(state, b"id: 2\ndata: c\n\n") == [ServerSentEvent(data="c", id="2")]
    assert last_event_ids(state.next_request()) == ["2"]


def test_clean_end_reconnects_with_the_last_id() -> None:
    state = source()
    connect(state)
    deliver(state, b"id: 9\ndata: a\n\n")
    assert state.decide(None, **NOW) == 1.0
    assert last_event_ids(state.next_request()) == ["9"]


def test_id_without_data_still_counts() -> None:
    # WHATWG: a block without data dispatches nothing, but its id is the last event ID.
    state = source()
    connect(state)
    assert deliver(state, b"id: 1\ndata: a\n\nid: 5\n\n") == [ServerSentEvent(data="a", id="1")]
    assert state.last_event_id == "5"
    assert last_event_ids(state.next_request()) == ["5"]


def test_partial_event_at_a_disconnect_is_discarded() -> None:
    state = source()
    connect(state)
    assert deliver(state, b"id: 1\ndata: a\n\nid: 2\ndata: b") == [
        ServerSentEvent(data="a", id="1")
    ]
    assert state.decide(read_error(), **NOW) is not None
    # The next connection starts clean: the rest of the old event never completes it.
    connect(state, now=2.0)
    assert deliver(state, b"\n\n") == []
    assert deliver(state, b"data: c\n\n") == [ServerSentEvent(data="c", id="1")]


@pytest.mark.parametrize("bytewise", [False, True])
def test_id_of_a_partial_event_is_not_the_last_event_id(bytewise: bool) -> None:
    # WHATWG: the last event ID is set when the event is dispatched (blank line).
    state = source()
    connect(state)
    deliver(state, b"id: 1\ndata: a\n\nid: 2\ndata: b\n", bytewise=bytewise)
    assert state.last_event_id == "1"
    state.decide(read_error(), **NOW)
    assert last_event_ids(state.next_request()) == ["1"]


def test_retry_of_a_partial_event_still_counts() -> None:
    # WHATWG: a valid ``retry`` field sets the reconnection time when it is read.
    state = source()
    connect(state)
    assert state.feed(b"retry: 7000\ndata: partial\n") == []
    assert state.retry == 7000
    assert state.decide(read_error(), **NOW) == 7.0


def test_partial_line_at_a_disconnect_is_discarded() -> None:
    state = source(comments=True)
    connect(state)
    assert deliver(state, b": keep") == []
    state.decide(read_error(), **NOW)
    connect(state)
    assert deliver(state, b"alive\n\n") == []  # "alive" is a field with no data: nothing


def test_consumer_that_stops_early_resumes_from_its_last_event() -> None:
    state = source()
    connect(state)
    items = state.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n")
    assert len(items) == 3
    assert hand_out(items, state, limit=1) == [ServerSentEvent(data="a", id="1")]
    state.decide(read_error(), **NOW)
    assert last_event_ids(state.next_request()) == ["1"]


def test_caught_up_without_a_connection_changes_nothing() -> None:
    state = source(last_event_id="4")
    state.caught_up()
    assert state.last_event_id == "4"
    connect(state)
    state.feed(b"id: 5\n\n")
    state.decide(read_error(), **NOW)
    state.caught_up()  # the decoder went with the connection
    assert state.last_event_id == "4"


def test_feed_before_opened_gives_nothing() -> None:
    state = source()
    assert state.feed(b"data: x\n\n") == []
    assert not state.events_arrived


def test_events_arrived_counts_events_not_comments() -> None:
    state = source(comments=True)
    connect(state)
    assert state.feed(b": ping\n\n") == [Comment("ping")]
    assert not state.events_arrived
    assert state.feed(b"data: partial") == []
    assert not state.events_arrived
    state.feed(b"\n\n")
    assert state.events_arrived
    state.events_arrived = False  # the adapter resets it after noting the time
    state.feed(b"data: [DONE]\n\n")
    assert state.events_arrived


def test_many_reconnects_deliver_each_event_once() -> None:
    # A server that honours Last-Event-ID, cut at every byte offset of its stream.
    events = [f"id: {n}\ndata: event {n}\n\n".encode() for n in range(5)]
    wire = b"".join(events)
    ends = [sum(len(e) for e in events[: n + 1]) for n in range(len(events))]

    def resume_after(last_id: str) -> bytes:
        return wire[ends[int(last_id)] :] if last_id else wire

    for cut in range(1, len(wire)):
        state = source(reconnect=Reconnect(delay=0.0, jitter=0.0, max_attempts=None))
        connect(state)
        seen = deliver(state, wire[:cut])
        assert state.decide(read_error(), **NOW) == 0.0
        connect(state)
        seen += deliver(state, resume_after(state.last_event_id), bytewise=True)
        assert [e.data for e in seen] == [f"event {n}" for n in range(5)], cut


def test_policy_counts_across_connections() -> None:
    state = source(reconnect=Reconnect(delay=1.0, backoff=2.0, jitter=0.0, reset_after=30.0))
    connect(state, now=0.0)
    assert state.decide(read_error(), now=1.0, wall_clock=1.0) == 1.0
    connect(state, now=2.0)
    assert state.decide(read_error(), now=3.0, wall_clock=3.0) == 2.0
    connect(state, now=4.0)
    # This one stayed up for reset_after: back to the reconnection time.
    assert state.decide(read_error(), now=40.0, wall_clock=40.0) == 1.0


def test_error_before_the_stream_opened() -> None:
    state = source(reconnect=Reconnect(delay=1.0, jitter=0.0, max_attempts=2))
    state.next_request()
    assert state.decide(sseio.ConnectError("refused"), now=0.0, wall_clock=0.0) == 1.0
    assert state.decide(sseio.ConnectError("refused"), now=1.0, wall_clock=1.0) == 2.0
    assert state.decide(sseio.ConnectError("refused"), now=2.0, wall_clock=2.0) is None


def test_status_204_stops() -> None:
    state = source()
    error = sseio.ResponseError(
        "server answered 204", status_code=204, headers=[], content_type="", body=b""
    )
    assert state.decide(error, now=0.0, wall_clock=0.0) is None


def test_204_ends_quietly_only_after_a_stream_was_up() -> None:
    state = source()
    no_content = sseio.ResponseError(
        "server answered 204", status_code=204, headers=[], content_type="", body=b""
    )
    other = sseio.ResponseError(
        "server answered 503", status_code=503, headers=[], content_type="", body=b""
    )
    assert not state.stopped_by_server(no_content)  # the first answer: an error
    connect(state)
    assert state.stopped_by_server(no_content)  # a reconnect: the server's end
    assert not state.stopped_by_server(other)
    assert not state.stopped_by_server(sseio.ConnectError("refused"))


def test_post_not_repeated_once_the_stream_opened() -> None:
    state = source(method="POST", json={"q": 1})
    connect(state)
    deliver(state, b"data: a\n\n")
    assert state.decide(read_error(), **NOW) is None


def test_post_repeated_when_allowed() -> None:
    policy = Reconnect(delay=1.0, jitter=0.0, retry_body=True)
    state = source(method="POST", json={"q": 1}, reconnect=policy)
    connect(state)
    assert state.decide(read_error(), **NOW) == 1.0


def test_post_retried_when_the_connection_failed_before_a_response() -> None:
    state = source(method="POST", json={"q": 1})
    state.next_request()
    assert state.decide(sseio.ConnectError("refused"), now=0.0, wall_clock=0.0) == 1.0


# --------------------------------------------------------------------------- [DONE]


def test_feed_returns_the_sentinel() -> None:
    state = source()
    connect(state)
    items = state.feed(b"data: a\n\ndata: [DONE]\n\n")
    assert items == [ServerSentEvent(data="a"), Done()]


@pytest.mark.parametrize("bytewise", [False, True])
def test_done_ends_the_items(bytewise: bool) -> None:
    state = source()
    connect(state)
    given = deliver(
        state, b"id: 1\ndata: a\n\ndata: [DONE]\n\nid: 7\ndata: after\n\n", bytewise=bytewise
    )
    assert given == [ServerSentEvent(data="a", id="1")]
    assert state.done
    assert state.last_event_id == "1"


@pytest.mark.parametrize("outcome", [None, sseio.ReadError("reset"), sseio.EventTimeout("x")])
def test_decide_after_done_stops(outcome: BaseException | None) -> None:
    state = source(reconnect=Reconnect(delay=1.0, jitter=0.0, max_attempts=None))
    connect(state)
    deliver(state, b"data: [DONE]\n\n")
    assert state.done
    assert state.decide(outcome, **NOW) is None
    assert state.response is None


def test_done_sentinel_can_be_turned_off() -> None:
    state = source(done_sentinel=None)
    connect(state)
    assert deliver(state, b"data: [DONE]\n\n") == [ServerSentEvent(data="[DONE]")]
    assert not state.done
    assert state.decide(None, **NOW) == 1.0


def test_custom_done_sentinel() -> None:
    state = source(done_sentinel="<end>")
    connect(state)
    given = deliver(state, b"data: [DONE]\n\ndata: <end>\n\n")
    assert given == [ServerSentEvent(data="[DONE]")]
    assert state.done


def test_comments_pass_through_when_asked() -> None:
    state = source(comments=True)
    connect(state)
    assert state.feed(b": ping\n\ndata: x\n\n") == [Comment("ping"), ServerSentEvent(data="x")]
    plain = source()
    connect(plain)
    assert plain.feed(b": ping\n\ndata: x\n\n") == [ServerSentEvent(data="x")]


def test_decoder_limits_are_applied_after_the_events_before_them() -> None:
    state = source(max_event_size=8)
    connect(state)
    items = state.feed(b"data: ok\n\ndata: 0123456789\n\n")
    assert items == [ServerSentEvent(data="ok")]
    given: list[Any] = []
    with pytest.raises(sseio.LimitExceeded) as info:
        given.extend(state.hand_out(items))
    assert given == [ServerSentEvent(data="ok")]
    assert info.value.limit_name == "max_event_size"
    # A limit exceeded is never retried.
    assert state.decide(info.value, **NOW) is None


# --------------------------------------------------------------------------- Settings.state_for


def test_state_for_builds_the_request_and_default_policy() -> None:
    state = Settings().state_for(
        "post",
        URL,
        headers={"Authorization": "Bearer k"},
        json={"q": 1},
        content=None,
        reconnect=None,
        last_event_id="5",
        comments=False,
        done_sentinel="[DONE]",
        max_line_size=1024,
        max_event_size=1024,
    )
    assert state.request.method == "POST"
    assert state.request.body == b'{"q":1}'
    assert state.last_event_id == "5"
    assert last_event_ids(state.next_request()) == ["5"]
    assert state.policy.policy == Reconnect()


def test_state_for_keeps_the_given_policy() -> None:
    state = Settings().state_for(
        "GET",
        URL,
        headers=None,
        json=None,
        content=None,
        reconnect=sseio.NO_RECONNECT,
        last_event_id="",
        comments=False,
        done_sentinel="[DONE]",
        max_line_size=1024,
        max_event_size=1024,
    )
    assert state.policy.policy is sseio.NO_RECONNECT
    connect(state)
    assert state.decide(None, **NOW) is None


@pytest.mark.parametrize(
    ("url", "headers", "last_event_id"),
    [("ftp://h/", None, ""), (URL, {"X": "a\nb"}, ""), (URL, None, "a\rb")],
)
def test_state_for_validates(url: str, headers: dict[str, str] | None, last_event_id: str) -> None:
    with pytest.raises(sseio.UsageError):
        Settings().state_for(
            "GET",
            url,
            headers=headers,
            json=None,
            content=None,
            reconnect=None,
            last_event_id=last_event_id,
            comments=False,
            done_sentinel="[DONE]",
            max_line_size=1024,
            max_event_size=1024,
        )


# --------------------------------------------------------------------------- read_budget


@pytest.mark.parametrize(
    ("read", "event"), [(60.0, None), (None, None), (0.5, None), (float("inf"), None)]
)
def test_read_budget_without_an_event_timeout(read: float | None, event: None) -> None:
    assert read_budget(Timeout(read=read, event=event), now=100.0, last_event_at=0.0) == (
        read,
        False,
    )


def test_event_timeout_shorter_than_read_timeout() -> None:
    limits = Timeout(read=60.0, event=10.0)
    assert read_budget(limits, now=3.0, last_event_at=0.0) == (7.0, True)
    assert read_budget(limits, now=0.0, last_event_at=0.0) == (10.0, True)


def test_event_timeout_longer_than_read_timeout() -> None:
    limits = Timeout(read=5.0, event=30.0)
    # Far from the event deadline: the read timeout bounds the wait.
    assert read_budget(limits, now=3.0, last_event_at=0.0) == (5.0, False)
    # Close to it: what is left of the event timeout bounds it.
    assert read_budget(limits, now=27.0, last_event_at=0.0) == (3.0, True)


def test_event_deadline_equal_to_the_read_timeout_is_a_read_timeout() -> None:
    limits = Timeout(read=5.0, event=30.0)
    assert read_budget(limits, now=25.0, last_event_at=0.0) == (5.0, False)


def test_event_timeout_without_read_timeout() -> None:
    limits = Timeout(read=None, event=10.0)
    assert read_budget(limits, now=104.0, last_event_at=100.0) == (6.0, True)


def test_event_deadline_already_passed_raises_at_once() -> None:
    """No zero-length wait (a blocking socket would turn non-blocking): the time is up."""
    with pytest.raises(sseio.EventTimeout, match=r"no event for 10\.0s"):
        read_budget(Timeout(read=60.0, event=10.0), now=50.0, last_event_at=0.0)
    with pytest.raises(sseio.EventTimeout):
        read_budget(Timeout(read=None, event=1.0), now=1.0, last_event_at=0.0)


# --------------------------------------------------------------------------- IdlePool

ORIGIN = ("http", "127.0.0.1", 8000)
OTHER = ("https", "127.0.0.1", 8000)


def test_idle_pool_take_from_empty() -> None:
    pool: IdlePool[str] = IdlePool()
    assert pool.take(ORIGIN) is None
    assert len(pool) == 0


def test_idle_pool_newest_first_out_per_origin() -> None:
    pool: IdlePool[str] = IdlePool()
    assert pool.put(ORIGIN, "a") is None
    assert pool.put(ORIGIN, "b") is None
    assert pool.put(OTHER, "x") is None
    assert len(pool) == 3
    assert pool.take(ORIGIN) == "b"
    assert pool.take(ORIGIN) == "a"
    assert pool.take(ORIGIN) is None
    assert pool.take(OTHER) == "x"
    assert len(pool) == 0


def test_idle_pool_hands_back_the_oldest_when_full() -> None:
    pool: IdlePool[str] = IdlePool(max_per_origin=2)
    assert pool.put(ORIGIN, "a") is None
    assert pool.put(ORIGIN, "b") is None
    assert pool.put(ORIGIN, "c") == "a"  # the caller closes it
    assert pool.put(OTHER, "x") is None  # the limit is per origin
    assert len(pool) == 3
    assert pool.take(ORIGIN) == "c"


def test_idle_pool_clear_returns_everything() -> None:
    pool: IdlePool[str] = IdlePool()
    pool.put(ORIGIN, "a")
    pool.put(OTHER, "b")
    assert sorted(pool.clear()) == ["a", "b"]
    assert len(pool) == 0
    assert pool.take(ORIGIN) is None
    assert pool.clear() == []


# ------------------------------------------------------------------- join_url, merge_headers


@pytest.mark.parametrize(
    ("base", "url", "joined"),
    [
        ("", "http://h/x", "http://h/x"),
        ("", "/x", "/x"),
        ("http://h/v1", "https://other/x", "https://other/x"),
        ("http://h/v1", "chat", "http://h/v1/chat"),
        ("http://h/v1", "/chat", "http://h/v1/chat"),
        ("http://h/v1/", "chat/completions", "http://h/v1/chat/completions"),
        ("http://h", "events?x=1", "http://h/events?x=1"),
        ("http://h:8000/", "", "http://h:8000/"),
    ],
)
def test_join_url(base: str, url: str, joined: str) -> None:
    assert join_url(base, url) == joined


def test_merge_headers_overrides_by_name() -> None:
    base = {"Authorization": "Bearer a", "X-Client": "1"}
    assert merge_headers(base, {"authorization": "Bearer b"}) == [
        ("X-Client", "1"),
        ("authorization", "Bearer b"),
    ]
    assert merge_headers([("A", "1"), ("a", "2"), ("B", "3")], [("b", "4")]) == [
        ("A", "1"),
        ("a", "2"),
        ("b", "4"),
    ]


@pytest.mark.parametrize(
    ("base", "extra", "merged"),
    [
        (None, None, []),
        ({"A": "1"}, None, [("A", "1")]),
        (None, [("B", "2")], [("B", "2")]),
        ([("A", "1"), ("A", "2")], {}, [("A", "1"), ("A", "2")]),
    ],
)
def test_merge_headers_empty_sides(base: Any, extra: Any, merged: list[tuple[str, str]]) -> None:
    assert merge_headers(base, extra) == merged


def _state_from(settings: Settings, **options: Any) -> SourceState:
    arguments: dict[str, Any] = {
        "headers": None,
        "json": None,
        "content": None,
        "reconnect": None,
        "last_event_id": "",
        "comments": False,
        "done_sentinel": "[DONE]",
        "max_line_size": 1024,
        "max_event_size": 4096,
    }
    return settings.state_for("GET", URL, **{**arguments, **options})


def test_streams_with_the_same_decoder_options_share_them() -> None:
    settings = Settings()
    first, second = _state_from(settings), _state_from(settings)
    assert first._decoder_options is second._decoder_options
    assert _state_from(settings, comments=True)._decoder_options is not first._decoder_options
    with pytest.raises(TypeError):
        first._decoder_options["comments"] = True  # type: ignore[index]  # shared: read-only


def test_a_bad_decoder_option_is_refused_when_the_call_is_made() -> None:
    with pytest.raises(sseio.UsageError, match="max_line_size"):
        _state_from(Settings(), max_line_size=[1024])


def test_an_unchanged_request_is_not_copied_for_each_connection() -> None:
    state = source()
    assert state.next_request() is state.request  # no Last-Event-ID to set or remove
    state.last_event_id = "7"
    assert last_event_ids(state.next_request()) == ["7"]
