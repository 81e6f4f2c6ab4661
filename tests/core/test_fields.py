"""Tests for ``sseio.EventAssembler``: complete lines in, events out, by the WHATWG field rules.

Covers the per-line rules (comments, the colon and the one stripped space,
lines without a colon, case-sensitive names, unknown fields), each field
(``data``, ``event``, ``id`` with NUL and empty values, ``retry`` validation and
saturation), dispatch (blocks without data deliver nothing but still update
the last event ID; one trailing LF removed; the ID sticks), the ``[DONE]``
sentinel, comments as values, the initial ``last_event_id`` / ``retry``,
``max_event_size``, invalid lines and the closed / failed states.

Every expectation is checked by feeding the lines all at once, one per
``feed_line`` call, and as UTF-8 bytes, which must agree, and against the
reference model run on the same lines joined with LF.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from reference_model import reference_decode

import sseio
from sseio import Comment, Done, ServerSentEvent

Result = tuple[list[Any], str, int | None]


def _run(lines: Sequence[str | bytes], one_by_one: bool, **options: Any) -> Result:
    assembler = sseio.EventAssembler(**options)
    items: list[Any] = []
    if one_by_one:
        for line in lines:
            items += assembler.feed_line(line)
    else:
        items += assembler.feed(iter(lines))
    items += assembler.close()
    return items, assembler.last_event_id, assembler.retry


def assemble(lines: Sequence[str], **options: Any) -> Result:
    """Run the lines through ``EventAssembler`` in several ways; all must agree."""
    as_bytes = [line.encode() for line in lines]
    result = _run(lines, False, **options)
    assert _run(lines, True, **options) == result
    assert _run(as_bytes, False, **options) == result
    assert _run(as_bytes, True, **options) == result
    if not options.keys() - {"done_sentinel", "comments"}:
        # A leading BOM keeps a U+FEFF at the start of the first line as text.
        stream = b"\xef\xbb\xbf" + "".join(line + "\n" for line in lines).encode()
        assert tuple(reference_decode(stream, **options)) == result
    return result


def items_of(lines: Sequence[str], **options: Any) -> list[Any]:
    return assemble(lines, **options)[0]


def msg(data: str, event: str = "message", id: str = "", retry: int | None = None) -> Any:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


# --------------------------------------------------------------------------- line syntax


@pytest.mark.parametrize(
    ("line", "data"),
    [
        ("data: x", "x"),
        ("data:x", "x"),
        ("data:  x", " x"),
        ("data:\tx", "\tx"),
        ("data: \tx", "\tx"),
        ("data:x ", "x "),
        ("data: ", ""),
        ("data:", ""),
        ("data", ""),
        ("data:a:b", "a:b"),
        ("data: : ", ": "),
        ("data::", ":"),
        ("data:\x00", "\x00"),
        ("data: é€😀", "é€😀"),
        ("data: \u2028\x85", "\u2028\x85"),
    ],
)
def test_data_value(line: str, data: str) -> None:
    assert items_of([line, ""]) == [msg(data)]


@pytest.mark.parametrize(
    "line",
    [
        "Data: x",
        "DATA: x",
        "data : x",
        " data: x",
        "\tdata: x",
        "\ufeffdata: x",
        "dat: x",
        "datax: x",
        "foo: x",
        "data x",
        "data\x00: x",
    ],
)
def test_unknown_or_misspelled_field_is_ignored(line: str) -> None:
    assert items_of([line, ""]) == []
    assert items_of([line, "data: y", ""]) == [msg("y")]


def test_bare_data_lines_append_empty_lines() -> None:
    assert items_of(["data", ""]) == [msg("")]
    assert items_of(["data", "data", ""]) == [msg("\n")]
    assert items_of(["data", "data: x", "data", ""]) == [msg("\nx\n")]


def test_multiple_data_lines_join_with_lf_and_one_trailing_lf_is_removed() -> None:
    assert items_of(["data: a", "data: b", "data: c", ""]) == [msg("a\nb\nc")]
    assert items_of(["data: a", "data:", ""]) == [msg("a\n")]
    assert items_of(["data: a", "data:", "data:", ""]) == [msg("a\n\n")]


@pytest.mark.parametrize(
    ("lines", "comments"),
    [
        ([":"], [""]),
        ([": keepalive"], ["keepalive"]),
        ([":keepalive"], ["keepalive"]),
        ([":  two spaces"], [" two spaces"]),
        ([":\ttab"], ["\ttab"]),
        ([": a: b"], ["a: b"]),
        ([":data: x"], ["data: x"]),
        ([": \x00"], ["\x00"]),
    ],
)
def test_comments(lines: list[str], comments: list[str]) -> None:
    assert items_of([*lines, ""]) == []
    assert items_of([*lines, ""], comments=True) == [Comment(text) for text in comments]


def test_comments_come_in_stream_order_with_events() -> None:
    lines = [": one", "data: a", ": two", "", ": three", "data: b", "", ":four"]
    assert items_of(lines, comments=True) == [
        Comment("one"),
        Comment("two"),
        msg("a"),
        Comment("three"),
        msg("b"),
        Comment("four"),
    ]
    assert items_of(lines) == [msg("a"), msg("b")]


def test_comment_is_emitted_by_its_own_line() -> None:
    assembler = sseio.EventAssembler(comments=True)
    assert assembler.feed_line("data: a") == []
    assert assembler.feed_line(": ping") == [Comment("ping")]
    assert assembler.feed_line("") == [msg("a")]


# --------------------------------------------------------------------------- event


def test_event_type() -> None:
    assert items_of(["event: add", "data: 1", ""]) == [msg("1", event="add")]
    assert items_of(["event:add", "data: 1", ""]) == [msg("1", event="add")]
    assert items_of(["event:  add", "data: 1", ""]) == [msg("1", event=" add")]
    assert items_of(["event: a", "event: b", "data: 1", ""]) == [msg("1", event="b")]
    assert items_of(["data: 1", "event: late", ""]) == [msg("1", event="late")]


@pytest.mark.parametrize("line", ["event", "event:", "event: "])
def test_empty_event_type_means_message(line: str) -> None:
    assert items_of(["event: x", line, "data: 1", ""]) == [msg("1")]


def test_event_type_does_not_stick() -> None:
    assert items_of(["event: add", "data: 1", "", "data: 2", ""]) == [
        msg("1", event="add"),
        msg("2"),
    ]


def test_event_only_block_is_not_dispatched_and_type_is_reset() -> None:
    assert items_of(["event: add", "", "data: 2", ""]) == [msg("2")]


# --------------------------------------------------------------------------- id


def test_id_sticks_to_later_events() -> None:
    lines = ["id: 1", "data: a", "", "data: b", "", "id: 2", "data: c", ""]
    items, last_event_id, _ = assemble(lines)
    assert items == [msg("a", id="1"), msg("b", id="1"), msg("c", id="2")]
    assert last_event_id == "2"


@pytest.mark.parametrize("line", ["id", "id:", "id: "])
def test_empty_id_resets(line: str) -> None:
    items, last_event_id, _ = assemble(["id: 1", "data: a", "", line, "data: b", ""])
    assert items == [msg("a", id="1"), msg("b")]
    assert last_event_id == ""


@pytest.mark.parametrize("value", ["\x00", "1\x00", "\x002", "a\x00b"])
def test_id_with_nul_is_ignored_entirely(value: str) -> None:
    items, last_event_id, _ = assemble(["id: 1", "data: a", "", f"id: {value}", "data: b", ""])
    assert items == [msg("a", id="1"), msg("b", id="1")]
    assert last_event_id == "1"


def test_id_with_nul_does_not_reset_a_pending_id() -> None:
    items, _, _ = assemble(["id: 7", "id: 8\x00", "data: a", ""])
    assert items == [msg("a", id="7")]


def test_id_value_keeps_everything_after_one_space() -> None:
    items, last_event_id, _ = assemble(["id:  spaced :colon\t", "data: a", ""])
    assert items == [msg("a", id=" spaced :colon\t")]
    assert last_event_id == " spaced :colon\t"


def test_last_id_in_a_block_wins_and_position_does_not_matter() -> None:
    items, _, _ = assemble(["id: 1", "data: a", "id: 2", ""])
    assert items == [msg("a", id="2")]


def test_id_only_block_updates_last_event_id_without_an_event() -> None:
    assert assemble(["id: 5", ""]) == ([], "5", None)
    assert assemble(["id: 5", "", "data: x", ""]) == ([msg("x", id="5")], "5", None)


def test_id_of_an_unfinished_block_does_not_count() -> None:
    assembler = sseio.EventAssembler()
    assembler.feed(["id: 1", ""])
    assert assembler.feed_line("id: 2") == []
    assert assembler.last_event_id == "1"
    assert assembler.feed_line("") == []
    assert assembler.last_event_id == "2"
    assembler.feed_line("id: 3")
    assert assembler.close() == []
    assert assembler.last_event_id == "2"


# --------------------------------------------------------------------------- retry


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0),
        ("5", 5),
        ("1000", 1000),
        ("007", 7),
        ("000", 0),
        (str(sseio.MAX_RETRY), sseio.MAX_RETRY),
        (str(sseio.MAX_RETRY - 1), sseio.MAX_RETRY - 1),
        ("1" + "0" * 4300, sseio.MAX_RETRY),  # MAX_RETRY + 1
        ("9" * 30, 10**30 - 1),  # past 64 bits: exact
        ("0" * 40 + "12", 12),
        ("1" + "0" * 5000, sseio.MAX_RETRY),
    ],
)
def test_valid_retry(value: str, expected: int) -> None:
    items, _, retry = assemble([f"retry: {value}", "data: x", ""])
    assert retry == expected
    assert items == [msg("x", retry=expected)]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "+5",
        "-1",
        " 5",
        "5 ",
        "5.0",
        "1000x",
        "x1000",
        "1_000",
        "1e3",
        "0x10",
        "\uff11\uff12",  # fullwidth digits one, two
        "\u0663",  # ARABIC-INDIC DIGIT THREE
        "\u00b2",  # SUPERSCRIPT TWO
        "\t5",
        "5\x00",
    ],
)
def test_invalid_retry_is_ignored(value: str) -> None:
    items, _, retry = assemble(["retry: 100", "", f"retry:{' ' + value}", "data: x", ""])
    assert retry == 100
    assert items == [msg("x")]


def test_retry_without_colon_is_invalid() -> None:
    assert assemble(["retry", "data: x", ""]) == ([msg("x")], "", None)


def test_retry_belongs_to_its_own_block_only() -> None:
    items, _, retry = assemble(
        ["retry: 10", "data: a", "", "data: b", "", "retry: 20", "", "data: c", ""]
    )
    assert items == [msg("a", retry=10), msg("b"), msg("c")]
    assert retry == 20


def test_retry_takes_effect_as_soon_as_its_line_is_complete() -> None:
    assembler = sseio.EventAssembler()
    assert assembler.retry is None
    assembler.feed_line("retry: 30")
    assert assembler.retry == 30
    assembler.feed_line("retry: bogus")
    assert assembler.retry == 30
    assembler.close()
    assert assembler.retry == 30


def test_last_valid_retry_in_a_block_wins() -> None:
    items, _, retry = assemble(["retry: 1", "data: a", "retry: 2", "retry: x", ""])
    assert items == [msg("a", retry=2)]
    assert retry == 2


# --------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize(
    "block",
    [
        [],
        [":comment"],
        ["event: e"],
        ["id: 1"],
        ["retry: 5"],
        ["foo: bar"],
        ["event: e", "id: 1", "retry: 5", ": c"],
    ],
)
def test_block_without_data_delivers_nothing(block: list[str]) -> None:
    assert items_of([*block, ""]) == []
    assert items_of([*block, "", "", ""]) == []


def test_repeated_blank_lines_deliver_nothing_extra() -> None:
    assert items_of(["", "", "data: a", "", "", "", "data: b", "", ""]) == [msg("a"), msg("b")]


def test_block_without_blank_line_is_discarded_at_close() -> None:
    assert assemble(["data: a", "", "data: b"]) == ([msg("a")], "", None)
    assert assemble(["data: a", "", "id: 9", "retry: 4", "data: b"]) == ([msg("a")], "", 4)


# --------------------------------------------------------------------------- sentinel


def test_done_sentinel() -> None:
    assert items_of(["data: [DONE]", ""]) == [Done()]
    assert items_of(["data:[DONE]", ""]) == [Done()]
    assert items_of(["event: end", "id: 3", "data: [DONE]", ""]) == [Done()]
    assert items_of(["data:  [DONE]", ""]) == [msg(" [DONE]")]
    assert items_of(["data: [DONE] ", ""]) == [msg("[DONE] ")]
    assert items_of(["data: [done]", ""]) == [msg("[done]")]
    assert items_of(["data: [DONE]", "data:", ""]) == [msg("[DONE]\n")]
    assert items_of(["data: [DONE]", "data: x", ""]) == [msg("[DONE]\nx")]


def test_done_updates_last_event_id() -> None:
    assert assemble(["id: 3", "data: [DONE]", ""]) == ([Done()], "3", None)


def test_sentinel_can_be_disabled_or_changed() -> None:
    assert items_of(["data: [DONE]", ""], done_sentinel=None) == [msg("[DONE]")]
    assert items_of(["data: [DONE]", "", "data: END", ""], done_sentinel="END") == [
        msg("[DONE]"),
        Done(),
    ]
    assert items_of(["data: a", "data: b", ""], done_sentinel="a\nb") == [Done()]
    assert items_of(["data", ""], done_sentinel="") == [Done()]


def test_done_sentinel_compares_decoded_text() -> None:
    assembler = sseio.EventAssembler(done_sentinel="\ufffd")
    assert assembler.feed([b"data: \xff", b""]) == [Done()]


# --------------------------------------------------------------------------- initial state


def test_initial_last_event_id_and_retry() -> None:
    assembler = sseio.EventAssembler(last_event_id="41", retry=2500)
    assert assembler.last_event_id == "41"
    assert assembler.retry == 2500
    assert assembler.feed(["data: a", ""]) == [msg("a", id="41")]
    assert assembler.feed(["id", "data: b", ""]) == [msg("b")]
    assert assembler.retry == 2500


def test_initial_last_event_id_with_nul_is_a_usage_error() -> None:
    with pytest.raises(sseio.UsageError):
        sseio.EventAssembler(last_event_id="a\x00b")


# --------------------------------------------------------------------------- bytes lines


def test_bytes_lines_are_decoded_with_replacement() -> None:
    assembler = sseio.EventAssembler(comments=True)
    out = assembler.feed([b"event: \xff", b"id: \xe2\x82", b"data: caf\xe9", b": \xc0\xaf", b""])
    assert out == [Comment("\ufffd\ufffd"), msg("caf\ufffd", event="\ufffd", id="\ufffd")]


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("line", ["data: a\nb", "data: a\r", "\n", "\r\n", b"data: \n", b"\r"])
def test_line_with_cr_or_lf_is_a_usage_error(line: str | bytes) -> None:
    assembler = sseio.EventAssembler()
    with pytest.raises(sseio.UsageError):
        assembler.feed_line(line)


def test_feeding_after_close_is_a_usage_error() -> None:
    assembler = sseio.EventAssembler()
    assembler.feed(["data: a"])
    assert assembler.close() == []
    with pytest.raises(sseio.UsageError):
        assembler.feed_line("")
    with pytest.raises(sseio.UsageError):
        assembler.feed([])


# --------------------------------------------------------------------------- max_event_size


def test_event_within_max_event_size() -> None:
    lines = ["data: 12345678", ""]
    assert items_of(lines, max_event_size=10) == [msg("12345678")]


def test_event_over_max_event_size_raises_with_earlier_items() -> None:
    assembler = sseio.EventAssembler(max_event_size=10)
    assert assembler.feed(["data: a", ""]) == [msg("a")]
    with pytest.raises(sseio.LimitExceeded) as info:
        assembler.feed(["data: b", "", "data: 1234", "data: 1234", "data: 1234", "", "data: c", ""])
    exc = info.value
    assert exc.limit_name == "max_event_size"
    assert exc.limit == 10
    assert exc.size > 10
    assert exc.events == [msg("b")]
    with pytest.raises(sseio.UsageError):
        assembler.feed_line("")


def test_single_data_line_over_max_event_size_raises() -> None:
    assembler = sseio.EventAssembler(max_event_size=10)
    with pytest.raises(sseio.LimitExceeded) as info:
        assembler.feed_line("data: " + "x" * 100)
    assert info.value.limit_name == "max_event_size"
    assert info.value.events == []


def test_max_event_size_does_not_count_ignored_lines() -> None:
    lines = [": " + "c" * 100, "foo: " + "f" * 100, "data: ok", ""]
    assert items_of(lines, max_event_size=10) == [msg("ok")]


@pytest.mark.parametrize("bad", [0, -5, False, 2.0, "10"])
def test_invalid_max_event_size_is_a_usage_error(bad: object) -> None:
    with pytest.raises(sseio.UsageError):
        sseio.EventAssembler(max_event_size=bad)  # type: ignore[arg-type]


def test_invalid_done_sentinel_is_a_usage_error() -> None:
    with pytest.raises(sseio.UsageError):
        sseio.EventAssembler(done_sentinel=b"[DONE]")  # type: ignore[arg-type]
