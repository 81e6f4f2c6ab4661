"""sseio.server._hub_core: the hub's pure rules, with an injected clock.

Ids, the window by count and by age, where a subscriber resumes (replay,
live, gap for unknown and expired ids), when it has lagged, the gap event,
and the Redis entry and id helpers.
"""

from __future__ import annotations

import json

import pytest

import sseio
from sseio import ServerSentEvent
from sseio.server._hub_core import (
    GapReason,
    ReplayWindow,
    Resume,
    ResumeKind,
    check_hub_options,
    check_lag,
    decode_fields,
    encode_fields,
    format_stream_id,
    gap_event,
    make_event,
    min_id_for_age,
    parse_sequence,
    parse_stream_id,
    plan_resume,
    stream_lost_through,
)


def filled(n: int, max_events: int = 1000, max_age: float | None = None) -> ReplayWindow:
    window = ReplayWindow(max_events, max_age)
    for i in range(n):
        window.append("message", f"d{i + 1}", None, now=float(i))
    return window


def datas(events: list[ServerSentEvent]) -> list[str]:
    return [e.data for e in events]


# --- ids and the window ------------------------------------------------------------------------


def test_ids_are_assigned_in_order_from_one() -> None:
    window = ReplayWindow()
    events = [window.append("tick", str(i), None, now=0.0) for i in range(3)]
    assert events == [
        ServerSentEvent("tick", "0", "1", None),
        ServerSentEvent("tick", "1", "2", None),
        ServerSentEvent("tick", "2", "3", None),
    ]
    assert window.head == 3
    assert window.lost_through is None


def test_the_window_keeps_max_events_and_remembers_what_left() -> None:
    window = filled(5, max_events=3)
    assert len(window) == 3
    assert window.lost_through == 2
    assert datas(window.read_after(2, 100)) == ["d3", "d4", "d5"]
    assert datas(window.read_after(3, 1)) == ["d4"]
    assert window.read_after(5, 100) == []


def test_the_window_drops_events_older_than_max_age() -> None:
    window = ReplayWindow(100, max_age=10.0)
    for t in (0.0, 5.0, 9.0):
        window.append("message", str(t), None, now=t)
    window.expire(now=12.0)  # 0.0 is older than 10 s; 5.0 is not
    assert len(window) == 2
    assert window.lost_through == 1
    window.expire(now=100.0)
    assert len(window) == 0
    assert window.lost_through == 3
    assert window.head == 3


def test_an_event_exactly_max_age_old_is_kept() -> None:
    window = ReplayWindow(100, max_age=10.0)
    window.append("message", "x", None, now=0.0)
    window.expire(now=10.0)
    assert len(window) == 1


def test_appending_also_expires_by_age() -> None:
    window = ReplayWindow(100, max_age=1.0)
    window.append("message", "old", None, now=0.0)
    window.append("message", "new", None, now=5.0)
    assert window.lost_through == 1
    assert len(window) == 1
    assert datas(window.read_after(1, 10)) == ["new"]


def test_without_max_age_nothing_expires_by_time() -> None:
    window = filled(3, max_age=None)
    window.expire(now=1e12)
    assert len(window) == 3


def test_reading_from_a_position_that_left_the_window_is_refused() -> None:
    window = filled(5, max_events=2)
    with pytest.raises(sseio.UsageError, match="no longer in the window"):
        window.read_after(1, 10)


# --- resuming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("last_event_id", [None, ""])
def test_no_id_starts_at_the_live_edge(last_event_id: str | None) -> None:
    assert filled(4).plan(last_event_id) == Resume(ResumeKind.LIVE, 4)


@pytest.mark.parametrize(("last_event_id", "after"), [("0", 0), ("1", 1), ("3", 3), ("4", 4)])
def test_an_id_in_the_window_replays_exactly_what_follows(last_event_id: str, after: int) -> None:
    window = filled(4)
    plan = window.plan(last_event_id)
    assert plan == Resume(ResumeKind.REPLAY, after)
    assert datas(window.read_after(after, 100)) == [f"d{i}" for i in range(after + 1, 5)]


def test_the_newest_evicted_id_still_replays_everything_after_it() -> None:
    window = filled(5, max_events=3)  # 1 and 2 left; 3, 4, 5 kept
    assert window.plan("2") == Resume(ResumeKind.REPLAY, 2)
    assert window.plan("1") == Resume(ResumeKind.GAP, 5, GapReason.EXPIRED)
    assert window.plan("0") == Resume(ResumeKind.GAP, 5, GapReason.EXPIRED)


def test_an_id_expired_by_age_gives_a_gap() -> None:
    window = filled(3, max_age=10.0)  # times 0, 1, 2
    window.expire(now=11.5)  # 0 and 1 are older than 10 s
    assert window.plan("1") == Resume(ResumeKind.GAP, 3, GapReason.EXPIRED)
    assert window.plan("2") == Resume(ResumeKind.REPLAY, 2)


@pytest.mark.parametrize(
    "last_event_id", ["5", "99", "abc", "-1", "+2", "1.0", " 1", "٣", "1" * 21]
)
def test_an_unknown_id_gives_a_gap(last_event_id: str) -> None:
    assert filled(4).plan(last_event_id) == Resume(ResumeKind.GAP, 4, GapReason.UNKNOWN)


def test_plan_resume_over_stream_ids() -> None:
    head, lost = (200, 1), (100, 0)
    assert plan_resume(None, head=head, lost_through=lost, issued=True).kind is ResumeKind.LIVE
    assert plan_resume((150, 0), head=head, lost_through=lost, issued=True) == Resume(
        ResumeKind.REPLAY, (150, 0)
    )
    assert plan_resume((100, 0), head=head, lost_through=lost, issued=True).kind is (
        ResumeKind.REPLAY
    )
    assert plan_resume((99, 5), head=head, lost_through=lost, issued=True) == Resume(
        ResumeKind.GAP, head, GapReason.EXPIRED
    )
    assert plan_resume((150, 0), head=head, lost_through=lost, issued=False) == Resume(
        ResumeKind.GAP, head, GapReason.UNKNOWN
    )
    assert plan_resume((200, 2), head=head, lost_through=None, issued=True) == Resume(
        ResumeKind.GAP, head, GapReason.UNKNOWN
    )


# --- lagging -----------------------------------------------------------------------------------


def test_lagging_by_count_and_by_falling_out_of_the_window() -> None:
    window = filled(10, max_events=5)  # 6..10 kept, lost through 5
    assert not window.lagged(5, max_lag=None)
    assert window.lagged(4, max_lag=None)
    assert not window.lagged(7, max_lag=3)
    assert window.lagged(6, max_lag=3)  # 4 behind
    assert not check_lag((5, 0), head=(9, 0), lost_through=None, behind=None, max_lag=1)
    assert check_lag((5, 0), head=(9, 0), lost_through=(6, 0), behind=None, max_lag=None)


# --- the gap event -----------------------------------------------------------------------------


def test_the_gap_event_says_why_and_moves_the_id_to_the_live_edge() -> None:
    event = gap_event("gap", GapReason.EXPIRED, "3", "42")
    assert event.event == "gap"
    assert event.id == "42"
    assert json.loads(event.data) == {"reason": "expired", "last_event_id": "3", "resume_id": "42"}
    decoder = sseio.SSEDecoder()
    assert decoder.feed(event.encode()) == [event]


# --- publishing and options --------------------------------------------------------------------


def test_make_event_takes_data_or_a_whole_event() -> None:
    assert make_event("x", None, None) == ("message", "x", None)
    assert make_event("x", "tick", 5) == ("tick", "x", 5)
    assert make_event(ServerSentEvent("t", "y", "", 7), None, None) == ("t", "y", 7)
    assert make_event(ServerSentEvent("t", "y"), "u", 1) == ("u", "y", 1)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((ServerSentEvent("t", "y", "9"), None, None), "must have no id"),
        ((b"x", None, None), "must be a str"),
        (("x", "", None), "non-empty str"),
        (("x", None, -1), "retry must be"),
        (("x", None, True), "retry must be"),
    ],
)
def test_make_event_refuses_what_cannot_be_published(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(sseio.UsageError, match=match):
        make_event(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ((0, 1.0, None, "skip", "gap"), "max_events"),
        ((True, 1.0, None, "skip", "gap"), "max_events"),
        ((1, 0, None, "skip", "gap"), "max_age"),
        ((1, float("inf"), None, "skip", "gap"), "max_age"),
        ((1, 1.0, 0, "skip", "gap"), "max_lag"),
        ((1, 1.0, None, "drop", "gap"), "on_lag"),
        ((1, 1.0, None, "skip", ""), "gap_event"),
        ((1, 1.0, None, "skip", "a\nb"), "gap_event"),
    ],
)
def test_bad_options_are_refused(options: tuple[object, ...], match: str) -> None:
    with pytest.raises(sseio.UsageError, match=match):
        check_hub_options(*options)


# --- Redis ids and entries ---------------------------------------------------------------------


def test_stream_ids_parse_and_format() -> None:
    assert parse_stream_id("1700000000000-3") == (1700000000000, 3)
    assert format_stream_id((1700000000000, 3)) == "1700000000000-3"
    for bad in ("", "1", "1-", "-1", "a-1", "1-2-3", "1 -2", f"{2**64}-0"):
        assert parse_stream_id(bad) is None, bad
    assert parse_sequence("007") == 7
    assert parse_sequence("") is None


def test_min_id_for_age_is_in_redis_milliseconds() -> None:
    assert min_id_for_age(10_000, 2.5) == "7500-0"
    assert min_id_for_age(1_000, 5.0) == "0-0"


def test_entry_fields_round_trip() -> None:
    for event, data, retry in (("message", "x", None), ("tick", "", 3000), ("t", "a\nb", None)):
        fields = encode_fields(event, data, retry)
        assert decode_fields("5-0", fields) == ServerSentEvent(event, data, "5-0", retry)
    assert encode_fields("message", "x", None) == {"d": "x"}
    assert decode_fields("1-0", {"other": "x"}) == ServerSentEvent("message", "", "1-0", None)
    assert decode_fields("1-0", {"d": "x", "r": "soon"}).retry is None


def test_a_trimmed_stream_marks_what_left_with_its_oldest_entry() -> None:
    head = (9, 0)
    assert stream_lost_through(5, 5, (1, 0), head) is None  # never trimmed
    assert stream_lost_through(4, 6, (3, 0), head) == (3, 0)  # the marker
    assert stream_lost_through(0, 6, None, head) == head  # emptied by someone else
    assert stream_lost_through(0, 0, None, (0, 0)) is None


def test_an_epoch_prefixes_every_id_and_is_required_to_resume() -> None:
    window = ReplayWindow(epoch="ab12")
    assert window.append("message", "x", None, now=0.0).id == "ab12-1"
    assert window.id_of(0) == "ab12-0"
    assert window.plan("ab12-0") == Resume(ResumeKind.REPLAY, 0)
    for foreign in ("1", "ab1-1", "ab12-", "ab12-x", "zz-1"):
        assert window.plan(foreign) == Resume(ResumeKind.GAP, 1, GapReason.UNKNOWN), foreign
    with pytest.raises(sseio.UsageError, match="epoch"):
        ReplayWindow(epoch="a b")
