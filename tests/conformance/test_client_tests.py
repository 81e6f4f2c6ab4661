"""The client tests, without a network: fragmentation, the vector and behaviour test lists,
comparing events, and the judges, from recorded requests and reported results."""

from __future__ import annotations

import pytest
from conformance_helpers import OWN_VECTORS, Expected, OwnVector, behaviour_test

from sseio._core.errors import UsageError
from sseio.conformance._client_adapters import ClientEvent, ClientResult
from sseio.conformance._client_judging import RecordedRequest, ServerLog, Verdict, compare_events
from sseio.conformance._client_tests import (
    FRAGMENTATIONS,
    awkward_split_points,
    behaviour_tests,
    client_tests,
    fragment,
    vector_tests,
)


def test_fragment_whole_and_bytes() -> None:
    data = b"data: a\r\n\r\n"
    assert fragment(data, "whole") == ((data,), 0.0)
    chunks, pause = fragment(data, "bytes")
    assert chunks == tuple(bytes([b]) for b in data)
    assert pause == 0.0


def test_fragment_awkward_splits_inside_crlf_and_characters() -> None:
    data = "data: é\r\n\r\n".encode()  # é is c3 a9
    chunks, pause = fragment(data, "awkward")
    assert b"".join(chunks) == data
    assert chunks == (b"data: \xc3", b"\xa9\r", b"\n\r", b"\n")
    assert 0 < pause <= 0.02
    bom_chunks, _ = fragment(b"\xef\xbb\xbfdata: x\n\n", "awkward")
    assert bom_chunks[0] == b"\xef"  # the BOM itself is split


def test_awkward_split_points_are_capped() -> None:
    data = "é".encode() * 1000
    assert len(awkward_split_points(data)) == 1000
    chunks, _ = fragment(data, "awkward")
    assert b"".join(chunks) == data
    assert len(chunks) == 65


def test_fragment_rejects_unknown_ways() -> None:
    with pytest.raises(UsageError, match="unknown fragmentation 'halves'"):
        fragment(b"x", "halves")
    with pytest.raises(UsageError, match="unknown fragmentation"):
        vector_tests(OWN_VECTORS, ["halves"])


def test_vector_tests_name_each_delivery_and_skip_big_bytewise() -> None:
    big = OwnVector("big", "r", b"data: " + b"x" * 5000 + b"\n\n", (Expected("message", "x", ""),))
    names = [test.name for test in vector_tests((*OWN_VECTORS, big))]
    assert names[:3] == [f"vector/crlf-and-utf-8/{how}" for how in FRAGMENTATIONS]
    assert "vector/big/whole" in names
    assert "vector/big/bytes" not in names
    assert all(test.kind == "vector" for test in vector_tests(OWN_VECTORS))


def test_client_tests_default_to_the_shipped_vectors() -> None:
    tests = client_tests()
    names = {test.name for test in tests}
    assert {test.name for test in behaviour_tests()} <= names
    assert sum(test.kind == "vector" for test in tests) > 100
    assert len(names) == len(tests)
    assert client_tests((), behaviours=False) == ()


# --- comparing events ----------------------------------------------------------------------


def test_compare_events() -> None:
    want = [("message", "a", "1"), ("message", "b", "1")]
    assert compare_events(want, list(want)) is None
    assert compare_events(want, [("message", "a", None), ("message", "b", None)]) is None
    assert "event 1: expected type='message' data='b' id='1', got" in (
        compare_events(want, [want[0], ("message", "", "1")]) or ""
    )
    assert "expected" in (compare_events(want, [("message", "a", "2"), want[1]]) or "")
    assert "got 1 of 2 events" in (compare_events(want, want[:1]) or "")
    assert "got 1 extra event(s)" in (compare_events(want, [*want, ("x", "y", "")]) or "")
    long = compare_events([("message", "x" * 500, "")], [])
    assert long is not None
    assert "chars" in long
    assert len(long) < 200


# --- judges, from recorded requests and reported results ------------------------------------


def _log(*requests: tuple[float, dict[str, str]], ends: tuple[float, ...] = ()) -> ServerLog:
    return ServerLog(
        [RecordedRequest("GET", tuple(headers.items()), at) for at, headers in requests],
        [200] * len(requests),
        list(ends),
    )


def test_reconnect_judge() -> None:
    judge = behaviour_test("reconnect-last-event-id").judge
    good: list[ClientEvent] = [("message", "a", "1"), ("message", "b", "2"), ("message", "c", "3")]
    assert judge(_log(), None).status == "n/a"
    assert judge(_log((0, {})), None) == Verdict(
        "fail", "no reconnection after the connection dropped (1 request)"
    )
    quiet = judge(_log((0, {})), ClientResult([]))
    assert quiet.reason.endswith("ended quietly")
    raised = judge(_log((0, {})), ClientResult([], ValueError("broken")))
    assert raised.reason.endswith("raised ValueError: broken")
    wrong = judge(_log((0, {}), (1, {"last-event-id": "3"})), None)
    assert wrong == Verdict("fail", "reconnected with Last-Event-ID '3', expected '2'")
    right = _log((0, {}), (1, {"last-event-id": "2"}))
    assert judge(right, None) == Verdict("pass", "request checks only")
    assert judge(right, ClientResult(good)).status == "pass"
    partial = judge(right, ClientResult([*good[:2], ("message", "partial", "2"), good[2]]))
    assert partial.status == "fail"
    assert "partial" in partial.reason
    never = judge(_log(), ClientResult([], ConnectionRefusedError("no")))
    assert never.reason.startswith("never connected")


def test_empty_last_event_id_judge() -> None:
    judge = behaviour_test("reconnect-no-empty-last-event-id").judge
    sent = judge(_log((0, {}), (1, {"last-event-id": ""})), None)
    assert sent == Verdict("fail", "sent Last-Event-ID '' though the last event ID was reset")
    assert judge(_log((0, {}), (1, {})), None).status == "pass"


def test_retry_judge_bounds() -> None:
    judge = behaviour_test("retry-honoured").judge
    assert judge(_log((0, {}), (1.5, {}), ends=(0.0,)), None).status == "pass"
    early = judge(_log((0, {}), (1.0, {}), ends=(0.0,)), None)
    assert early.status == "fail"
    assert "before retry: 1500 ms" in early.reason
    late = judge(_log((0, {}), (3.0, {}), ends=(0.0,)), None)
    assert late.status == "fail"
    assert "ignoring retry" in late.reason


def test_refusal_and_204_judges() -> None:
    refusal = behaviour_test("wrong-content-type").judge
    assert refusal(_log(), None).status == "n/a"
    assert refusal(_log((0, {}), (1, {})), None).reason.startswith("sent 1 more request")
    assert refusal(_log((0, {})), None).status == "pass"
    events = refusal(_log((0, {})), ClientResult([("message", "x", "")]))
    assert events.reason == "handed out 1 event(s) from a text/html response"
    assert refusal(_log((0, {})), ClientResult([], timed_out=True)).status == "fail"
    assert refusal(_log((0, {})), ClientResult([])).reason.startswith("ended quietly")
    assert refusal(_log((0, {})), ClientResult([], ValueError("no"))).status == "pass"
    stop = behaviour_test("stop-on-204").judge
    assert stop(_log(), None).status == "n/a"
    assert stop(_log((0, {}), (1, {})), None).status == "fail"
    assert stop(_log((0, {})), None).status == "pass"
    assert stop(_log((0, {})), ClientResult([("message", "x", "")])).status == "fail"
    assert stop(_log((0, {})), ClientResult([], timed_out=True)).status == "fail"
    assert stop(_log((0, {})), ClientResult([], ValueError("204"))).status == "pass"


def test_events_judge_accepts_an_error_only_after_a_204() -> None:
    judge = behaviour_test("bom-first-event").judge
    good: list[ClientEvent] = [("message", "first", ""), ("message", "second", "")]
    assert judge(_log((0, {})), None).status == "n/a"
    assert judge(_log((0, {})), ClientResult(good)).status == "pass"
    after = judge(_log((0, {})), ClientResult(good, ValueError("late")))
    assert after.reason == "all events arrived, then raised ValueError: late"
    stopped = ServerLog(_log((0, {}), (1, {})).requests, [200, 204], [0.0, 1.0])
    assert judge(stopped, ClientResult(good, ValueError("204"))).status == "pass"
    lost = judge(_log((0, {})), ClientResult(good[1:], ValueError("x")))
    assert lost.reason.endswith("; then raised ValueError: x")
    assert judge(_log((0, {})), ClientResult([], ValueError("x"))).reason == "raised ValueError: x"
