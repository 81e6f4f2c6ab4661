"""Tests for ``sseio.SSEDecoder``, ``sseio.iter_sse`` and ``sseio.aiter_sse``.

Covers every parsing rule of the WHATWG event stream at the byte level: line
ends in any mix (a CR at the end of a chunk ends its line at once and a
following LF is swallowed), the leading BOM, UTF-8 with U+FFFD, NUL, the field
rules, dispatch, end of input, the ``[DONE]`` sentinel, comments as values;
hand-written versions of the WPT ``eventsource/format-*`` vectors; a
regression test for each parser bug seen in peer libraries; input types;
``max_line_size`` / ``max_event_size`` (typed errors that keep earlier items,
oversized lines that cannot matter dropped without buffering, bounded memory,
one 64 MiB event); decoder state (``last_event_id``, ``retry``, ``pending``);
and the sync and async iteration helpers (asyncio and trio).

Every expectation goes through the shared chunking helper and, where the
options allow it, is also checked against the reference model.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest
from chunking import Outcome, check_chunking_outcome, chunkings, run_decoder
from reference_model import reference_decode

import sseio
from sseio import Comment, Done, ServerSentEvent

_REFERENCE_OPTIONS = frozenset({"done_sentinel", "comments"})
_LIMIT_OPTIONS = frozenset({"max_line_size", "max_event_size"})


def msg(data: str, event: str = "message", id: str = "", retry: int | None = None) -> Any:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


def expect(data: bytes, items: list[Any], **options: Any) -> Outcome:
    """Assert ``data`` decodes to ``items`` in every chunking (and per the reference model)."""
    outcome = check_chunking_outcome(data, **options)
    assert outcome.error is None, f"{data!r} raised {outcome.error!r}"
    assert list(outcome.items) == items
    if options.keys() <= _REFERENCE_OPTIONS | _LIMIT_OPTIONS:
        # Limits change nothing for an input that stays within them.
        reference = reference_decode(
            data, **{k: v for k, v in options.items() if k in _REFERENCE_OPTIONS}
        )
        assert reference.items == items
        assert (reference.last_event_id, reference.retry) == (
            outcome.last_event_id,
            outcome.retry,
        )
    return outcome


def expect_error(
    data: bytes, limit_name: str, limit: int, before: list[Any], **options: Any
) -> Outcome:
    """Assert ``data`` raises ``LimitExceeded`` after delivering exactly ``before``."""
    all_options: dict[str, Any] = {limit_name: limit, **options}
    outcome = check_chunking_outcome(data, **all_options)
    assert outcome.error == (sseio.LimitExceeded, limit_name, limit)
    assert list(outcome.items) == before
    return outcome


# =========================================================================== line ends


@pytest.mark.parametrize(
    "data",
    [
        b"data: a\n\n",
        b"data: a\r\r",
        b"data: a\r\n\r\n",
        b"data: a\n\r",
        b"data: a\r\n\n",
        b"data: a\r\r\n",
        b"data: a\n\r\n",
        b"data: a\r\n\r",
    ],
)
def test_every_line_end_combination_dispatches(data: bytes) -> None:
    expect(data, [msg("a")])


def test_mixed_line_ends_in_one_event() -> None:
    expect(b"data: a\rdata: b\ndata: c\r\ndata: d\r\n\r", [msg("a\nb\nc\nd")])


def test_mixed_line_ends_between_events() -> None:
    data = b"data: 1\r\rdata: 2\n\ndata: 3\r\n\r\ndata: 4\n\rdata: 5\r\n\n"
    expect(data, [msg("1"), msg("2"), msg("3"), msg("4"), msg("5")])


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"])
def test_unicode_separators_are_not_line_ends(separator: str) -> None:
    expect(f"data: a{separator}b\n\n".encode(), [msg(f"a{separator}b")])


def test_blank_line_ending_in_cr_at_end_of_chunk_is_delivered_by_that_feed() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"data: a\n\r") == [msg("a")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r\r") == [msg("b")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: c\r") == []
    assert decoder.feed(b"\r") == [msg("c")]
    assert decoder.feed(b"\ndata: d\n") == []
    assert decoder.feed(b"\n") == [msg("d")]
    assert decoder.close() == []


def test_lf_after_chunk_final_cr_is_not_a_blank_line() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\n") == []
    assert decoder.feed(b"\n") == [msg("a\nb")]


def test_lf_after_chunk_final_cr_is_swallowed_across_empty_chunks() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(bytearray()) == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [msg("a")]


def test_final_cr_is_a_line_end_at_end_of_input() -> None:
    # The last byte is a CR: the blank line is complete, so the event is too.
    expect(b"data: a\n\r", [msg("a")])
    expect(b"data: a\r\r", [msg("a")])
    # Here the CR only ends the data line: no blank line, no event.
    expect(b"data: a\r", [])
    expect(b"data: a\n\ndata: b\r", [msg("a")])


# =========================================================================== BOM


def test_one_leading_bom_is_stripped() -> None:
    expect(b"\xef\xbb\xbfdata: a\n\n", [msg("a")])
    expect(b"\xef\xbb\xbf\ndata: a\n\n", [msg("a")])


def test_bom_split_over_chunks() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb\xbf") == []
    assert decoder.feed(b"data: a\n\n") == [msg("a")]

    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    assert decoder.feed(b"\xbfdata: a\n\n") == [msg("a")]


def test_second_bom_makes_the_first_field_unknown() -> None:
    expect(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [msg("b")])


def test_bom_after_the_start_is_data() -> None:
    expect(b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n", [msg("a"), msg("\ufeffc")])


def test_truncated_bom_is_malformed_utf8_not_stripped() -> None:
    expect(b"\xef\xbbdata: a\n\ndata: b\n\n", [msg("b")])
    expect(b"\xef\xbb\n\ndata: b\n\n", [msg("b")])


def test_lone_bom_stream() -> None:
    outcome = expect(b"\xef\xbb\xbf", [])
    assert outcome.last_event_id == ""


# =========================================================================== UTF-8


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"data: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n\n", "é€😀"),
        (b"data: caf\xe9\n\n", "caf\ufffd"),
        (b"data: \xff\xfe\n\n", "\ufffd\ufffd"),
        (b"data: \xe2\x82\n\n", "\ufffd"),
        (b"data: \xf0\x9f\x98\n\n", "\ufffd"),
        (b"data: \xe2\x82\ndata: \xac\n\n", "\ufffd\n\ufffd"),
        (b"data: \xed\xa0\x80\n\n", "\ufffd\ufffd\ufffd"),
        (b"data: \xed\xb0\x80x\n\n", "\ufffd\ufffd\ufffdx"),
        (b"data: \xc0\x80\n\n", "\ufffd\ufffd"),
        (b"data: \xf4\x90\x80\x80\n\n", "\ufffd\ufffd\ufffd\ufffd"),
        (b"data: \x80\n\n", "\ufffd"),
    ],
)
def test_utf8_in_data(data: bytes, text: str) -> None:
    expect(data, [msg(text)])


def test_invalid_utf8_in_event_id_and_field_names() -> None:
    data = b"event: \xff\nid: \xc3\ndata\xff: no\ndata: ok\n\n"
    outcome = expect(data, [msg("ok", event="\ufffd", id="\ufffd")])
    assert outcome.last_event_id == "\ufffd"


def test_multibyte_character_split_across_chunks() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"data: \xe2") == []
    assert decoder.feed(b"\x82") == []
    assert decoder.feed(b"\xac\n\n") == [msg("€")]


def test_nul_is_kept_in_data_event_and_comments() -> None:
    expect(b"data: \x00\n\n", [msg("\x00")])
    expect(b"event: a\x00b\ndata: x\x00\x00\n\n", [msg("x\x00\x00", event="a\x00b")])
    expect(b":\x00\ndata: x\n\n", [Comment("\x00"), msg("x")], comments=True)


# =========================================================================== field rules


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data: x", "x"),
        (b"data:x", "x"),
        (b"data:  x", " x"),
        (b"data:\tx", "\tx"),
        (b"data: x ", "x "),
        (b"data:", ""),
        (b"data: ", ""),
        (b"data", ""),
        (b"data: a: b", "a: b"),
        (b"data::", ":"),
    ],
)
def test_data_line_value(line: bytes, data: str) -> None:
    expect(line + b"\n\n", [msg(data)])


@pytest.mark.parametrize(
    "line",
    [b"Data: x", b"DATA: x", b"data : x", b" data: x", b"dat: x", b"data\tx", b"foo: x"],
)
def test_unknown_fields_are_ignored(line: bytes) -> None:
    expect(line + b"\n\n", [])
    expect(line + b"\ndata: y\n\n", [msg("y")])


def test_bare_data_lines() -> None:
    expect(b"data\n\n", [msg("")])
    expect(b"data\ndata\n\n", [msg("\n")])
    expect(b"data: a\ndata\n\n", [msg("a\n")])


def test_only_one_trailing_lf_is_removed() -> None:
    expect(b"data: a\ndata:\ndata:\n\n", [msg("a\n\n")])


def test_event_field() -> None:
    expect(b"event: add\ndata: 1\n\ndata: 2\n\n", [msg("1", event="add"), msg("2")])
    expect(b"event:\ndata: 1\n\n", [msg("1")])
    expect(b"event\ndata: 1\n\n", [msg("1")])
    expect(b"event: x\nevent: \ndata: 1\n\n", [msg("1")])
    expect(b"event:  sp\ndata: 1\n\n", [msg("1", event=" sp")])
    expect(b"Event: x\ndata: 1\n\n", [msg("1")])


def test_id_field() -> None:
    outcome = expect(
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n",
        [msg("a", id="1"), msg("b", id="1"), msg("c", id="2")],
    )
    assert outcome.last_event_id == "2"


@pytest.mark.parametrize("line", [b"id", b"id:", b"id: "])
def test_empty_id_resets(line: bytes) -> None:
    outcome = expect(b"id: 1\ndata: a\n\n" + line + b"\ndata: b\n\n", [msg("a", id="1"), msg("b")])
    assert outcome.last_event_id == ""


@pytest.mark.parametrize("value", [b"\x00", b"2\x00", b"\x002", b"2\x002"])
def test_id_with_nul_is_ignored(value: bytes) -> None:
    data = b"id: 1\ndata: a\n\nid: " + value + b"\ndata: b\n\n"
    outcome = expect(data, [msg("a", id="1"), msg("b", id="1")])
    assert outcome.last_event_id == "1"


def test_id_with_nul_does_not_clear_an_earlier_id_in_the_block() -> None:
    expect(b"id: 7\nid: \x00\ndata: a\n\n", [msg("a", id="7")])


def test_id_and_retry_only_blocks_take_effect_without_events() -> None:
    outcome = expect(b"id: 5\n\n", [])
    assert outcome.last_event_id == "5"
    outcome = expect(b"retry: 250\n\n", [])
    assert outcome.retry == 250
    outcome = expect(b"id: 5\nretry: 250\nevent: e\n: c\n\ndata: x\n\n", [msg("x", id="5")])
    assert (outcome.last_event_id, outcome.retry) == ("5", 250)


@pytest.mark.parametrize(
    "block",
    [b"", b"event: e\n", b": comment\n", b"id: 1\n", b"retry: 5\n", b"foo\n", b"\n\n"],
)
def test_blocks_without_data_dispatch_nothing(block: bytes) -> None:
    expect(block + b"\n", [])
    expect(block + b"\ndata: z\n\n", [msg("z", id="1" if b"id" in block else "")])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"0", 0),
        (b"5", 5),
        (b"03", 3),
        (b"3000", 3000),
        (b"9223372036854775807", 2**63 - 1),
        (b"9223372036854775808", 2**63),  # exact past 64 bits
        (b"99999999999999999999999999999999", 10**32 - 1),
        (b"9" * 4300, sseio.MAX_RETRY),  # the longest kept exactly
        (b"0" * 10 + b"1" + b"0" * 4299, 10**4299),  # leading zeros do not count
        (b"1" + b"0" * 4300, sseio.MAX_RETRY),  # past it: saturated
        (b"1" + b"0" * 100_000, sseio.MAX_RETRY),
        (b"0" * 50 + b"42", 42),
    ],
)
def test_valid_retry(value: bytes, expected: int) -> None:
    outcome = expect(b"retry: " + value + b"\ndata: x\n\n", [msg("x", retry=expected)])
    assert outcome.retry == expected


@pytest.mark.parametrize(
    "line",
    [
        b"retry: +5",
        b"retry:  5",
        b"retry: 5 ",
        b"retry: 5.0",
        b"retry: 1000x",
        b"retry: -1",
        b"retry: 1_000",
        b"retry: \xef\xbc\x91\xef\xbc\x92",  # fullwidth 12
        b"retry: \xd9\xa3",  # Arabic-Indic 3
        b"retry: \xc2\xb2",  # superscript 2
        b"retry: ",
        b"retry:",
        b"retry",
        b"retry:\t5",
        b"Retry: 5",
    ],
)
def test_invalid_retry_is_ignored(line: bytes) -> None:
    outcome = expect(b"retry: 100\n\n" + line + b"\ndata: x\n\n", [msg("x")])
    assert outcome.retry == 100


def test_retry_is_per_block_on_events() -> None:
    outcome = expect(
        b"retry: 10\ndata: a\n\ndata: b\n\nretry: 20\n\ndata: c\nretry: 30\n\n",
        [msg("a", retry=10), msg("b"), msg("c", retry=30)],
    )
    assert outcome.retry == 30


def test_every_field_together() -> None:
    data = b'event: update\nid: 42\nretry: 1500\ndata: {"a": 1}\ndata: {"b": 2}\n\n'
    outcome = expect(data, [msg('{"a": 1}\n{"b": 2}', event="update", id="42", retry=1500)])
    assert (outcome.last_event_id, outcome.retry) == ("42", 1500)


# =========================================================================== state


def test_last_event_id_changes_only_at_blank_lines() -> None:
    decoder = sseio.SSEDecoder()
    decoder.feed(b"id: 1\n")
    assert decoder.last_event_id == ""
    decoder.feed(b"data: a\n")
    assert decoder.last_event_id == ""
    assert decoder.feed(b"\n") == [msg("a", id="1")]
    assert decoder.last_event_id == "1"
    decoder.feed(b"id: 2\n")
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"\n") == []
    assert decoder.last_event_id == "2"
    decoder.feed(b"id: 3\ndata: lost\n")
    assert decoder.close() == []
    assert decoder.last_event_id == "2"


def test_retry_changes_once_its_line_is_complete() -> None:
    decoder = sseio.SSEDecoder()
    decoder.feed(b"retry: 5")
    assert decoder.retry is None
    decoder.feed(b"0")
    assert decoder.retry is None
    decoder.feed(b"\r")
    assert decoder.retry == 50
    decoder.feed(b"\nretry: 7x\n")
    assert decoder.retry == 50
    decoder.feed(b"retry: 9\ndata: partial")
    assert decoder.close() == []
    assert decoder.retry == 9


def test_initial_last_event_id_and_retry() -> None:
    decoder = sseio.SSEDecoder(last_event_id="resume", retry=3000)
    assert (decoder.last_event_id, decoder.retry) == ("resume", 3000)
    assert decoder.feed(b"data: a\n\n") == [msg("a", id="resume")]
    assert decoder.feed(b": x\ndata: b\n\n") == [msg("b", id="resume")]
    assert decoder.feed(b"id\ndata: c\n\n") == [msg("c")]
    assert decoder.retry == 3000


def test_initial_last_event_id_through_the_chunking_helper() -> None:
    outcome = check_chunking_outcome(b"data: a\n\nid: 9\n\n", last_event_id="start", retry=10)
    assert outcome == Outcome((msg("a", id="start"),), "9", 10, None)


def test_pending_counts_the_incomplete_line() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.pending == 0
    decoder.feed(b"data: a\n")
    assert decoder.pending == 0
    decoder.feed(b"data: bcd")
    assert decoder.pending == 9
    decoder.feed(b"\r")
    assert decoder.pending == 0


# =========================================================================== end of input


@pytest.mark.parametrize(
    "data",
    [
        b"data: a",
        b"data: a\n",
        b"data: a\r",
        b"data: a\r\n",
        b"data: a\ndata: b\n",
        b"event: e\ndata: a\nid: 1\n",
    ],
)
def test_unterminated_event_is_discarded_at_end_of_input(data: bytes) -> None:
    outcome = expect(b"data: first\n\n" + data, [msg("first")])
    assert outcome.last_event_id == ""


def test_close_returns_nothing_and_feeding_after_close_is_a_usage_error() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [msg("a")]
    assert decoder.close() == []
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"\n")


# =========================================================================== sentinel


def test_done_sentinel() -> None:
    expect(b"data: a\n\ndata: [DONE]\n\n", [msg("a"), Done()])
    expect(b"data:[DONE]\n\n", [Done()])
    expect(b"data:  [DONE]\n\n", [msg(" [DONE]")])
    expect(b"data: [DONE] \n\n", [msg("[DONE] ")])
    expect(b"data: [DONE]\ndata: more\n\n", [msg("[DONE]\nmore")])
    expect(b"data: [DONE]\ndata\n\n", [msg("[DONE]\n")])
    expect(b"event: end\nid: 3\ndata: [DONE]\n\n", [Done()])
    expect(b"data: [DONE]", [])


def test_done_is_not_the_end_of_decoding() -> None:
    expect(b"data: [DONE]\n\ndata: after\n\n", [Done(), msg("after")])


def test_done_sentinel_disabled() -> None:
    expect(b"data: [DONE]\n\n", [msg("[DONE]")], done_sentinel=None)


def test_custom_done_sentinel() -> None:
    data = b"data: [DONE]\n\ndata: EOF\n\ndata: eof\n\n"
    expect(data, [msg("[DONE]"), Done(), msg("eof")], done_sentinel="EOF")
    expect(b"data: fin\xc3\xa9\n\n", [Done()], done_sentinel="finé")
    expect(b"data: a\ndata: b\n\n", [Done()], done_sentinel="a\nb")
    expect(b"data\n\ndata: x\n\n", [Done(), msg("x")], done_sentinel="")


def test_done_sentinel_is_compared_with_the_decoded_text() -> None:
    # Data is text: a malformed byte is U+FFFD before any comparison.
    expect(b"data: \xff\n\n", [Done()], done_sentinel="\ufffd")
    expect(b": c\ndata: \xff\n\n", [Done()], done_sentinel="\ufffd")


def test_sentinel_that_no_text_can_equal() -> None:
    # A lone surrogate can never come out of UTF-8 decoding: either it is
    # refused as a usage error, or it simply never matches.
    try:
        decoder = sseio.SSEDecoder(done_sentinel="\ud800")
    except sseio.UsageError:
        return
    assert decoder.feed(b"data: \xed\xa0\x80\n\n") == [msg("\ufffd\ufffd\ufffd")]


# =========================================================================== comments


def test_comments_are_ignored_by_default() -> None:
    expect(b": keepalive\n\n:\ndata: a\n: mid\n\n", [msg("a")])


def test_comments_as_values_in_stream_order() -> None:
    data = b": one\ndata: a\n:two\n\n:  three\n:\n\ndata: b\r\n:four\r\n\r\n: tail"
    expect(
        data,
        [
            Comment("one"),
            Comment("two"),
            msg("a"),
            Comment(" three"),
            Comment(""),
            Comment("four"),
            msg("b"),
        ],
        comments=True,
    )


def test_comment_is_delivered_as_soon_as_its_line_is_complete() -> None:
    decoder = sseio.SSEDecoder(comments=True)
    assert decoder.feed(b"data: a\n: ping") == []
    assert decoder.feed(b"\r") == [Comment("ping")]
    assert decoder.feed(b"\n\n") == [msg("a")]


def test_comment_text_is_decoded_with_replacement() -> None:
    expect(b": \xff\xe2\x82\n\n", [Comment("\ufffd\ufffd")], comments=True)


# =========================================================================== WPT vectors


def test_wpt_format_bom() -> None:
    expect(b"\xef\xbb\xbfdata:1\n\n\xef\xbb\xbfdata:2\n\ndata:3\n\n", [msg("1"), msg("3")])


def test_wpt_format_bom_2() -> None:
    expect(b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\ndata:3\n\n", [msg("2"), msg("3")])


def test_wpt_format_comments() -> None:
    long = b"x" * 2048
    data = (
        b"data:1\r:\x00\n:\r\ndata:2\n:"
        + long
        + b"\rdata:3\n:data:fail\r:"
        + long
        + b"\ndata:4\n\n"
    )
    expect(data, [msg("1\n2\n3\n4")])


def test_wpt_format_data_before_final_empty_line() -> None:
    outcome = expect(b"retry:1000\ndata:test1\n\nid:test\ndata:test2", [msg("test1", retry=1000)])
    assert (outcome.last_event_id, outcome.retry) == ("", 1000)


def test_wpt_format_field_data() -> None:
    expect(b"data:\n\ndata\ndata\n\ndata:test\n\n", [msg(""), msg("\n"), msg("test")])


def test_wpt_format_field_event() -> None:
    expect(b"event:test\ndata:x\n\ndata:x\n\n", [msg("x", event="test"), msg("x")])


def test_wpt_format_field_event_empty() -> None:
    expect(b"event: \ndata:data\n\n", [msg("data")])


def test_wpt_format_field_id() -> None:
    expect(b"id:1\ndata:x\n\ndata:x\n\n", [msg("x", id="1"), msg("x", id="1")])


def test_wpt_format_field_id_2() -> None:
    # An empty id clears the last event ID.
    outcome = expect(b"id:1\ndata:a\n\nid:\ndata:b\n\n", [msg("a", id="1"), msg("b")])
    assert outcome.last_event_id == ""


def test_wpt_format_field_id_3() -> None:
    # An id in a block without data still sets the last event ID.
    outcome = expect(b"id:1\ndata:a\n\nid:2\n\ndata:b\n\n", [msg("a", id="1"), msg("b", id="2")])
    assert outcome.last_event_id == "2"


def test_wpt_format_field_id_null() -> None:
    data = b"id:1\x00\ndata:a\n\nid:2\ndata:b\n\nid:3\x00\ndata:c\n\n"
    outcome = expect(data, [msg("a"), msg("b", id="2"), msg("c", id="2")])
    assert outcome.last_event_id == "2"


def test_wpt_format_field_retry() -> None:
    outcome = expect(b"retry:03\ndata:x\n\n", [msg("x", retry=3)])
    assert outcome.retry == 3


def test_wpt_format_field_retry_bogus() -> None:
    outcome = expect(b"retry:3000\nretry:1000x\ndata:x\n\n", [msg("x", retry=3000)])
    assert outcome.retry == 3000


def test_wpt_format_field_unknown() -> None:
    data = b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n"
    expect(data, [msg("test\n\ntest")])


def test_wpt_format_leading_space() -> None:
    expect(b"data:\ttest\rdata: \ndata:test\n\n", [msg("\ttest\n\ntest")])


def test_wpt_format_newlines() -> None:
    expect(b"data:test\r\ndata\ndata:test\r\n\r\n", [msg("test\n\ntest")])


def test_wpt_format_null_character() -> None:
    expect(b"data:\x00\n\n\n\n", [msg("\x00")])


def test_wpt_format_utf_8() -> None:
    expect(b"data:ok\xe2\x80\xa6\xc3\xa9\n\n", [msg("ok…é")])


# =========================================================================== peer regressions


def test_regression_bom_loses_first_event() -> None:
    expect(b"\xef\xbb\xbfdata: first\n\ndata: second\n\n", [msg("first"), msg("second")])


def test_regression_one_invalid_utf8_byte_crashes() -> None:
    expect(
        b"data: ok\n\ndata: caf\xe9\n\ndata: next\n\n", [msg("ok"), msg("caf\ufffd"), msg("next")]
    )


@pytest.mark.parametrize("line", [b"retry: +5", b"retry:  5"])
def test_regression_retry_with_sign_or_extra_space_accepted(line: bytes) -> None:
    outcome = expect(line + b"\ndata: x\n\n", [msg("x")])
    assert outcome.retry is None


@pytest.mark.parametrize(
    "prefix", [b"id: 1\n\n", b"id: 1\n: keepalive\n\n", b"id: 1\n\n: keepalive\n\n\n"]
)
def test_regression_phantom_events_after_id(prefix: bytes) -> None:
    expect(prefix + b'data: {"x":1}\n\n', [msg('{"x":1}', id="1")])
    expect(prefix, [])


def test_regression_events_merged_on_mixed_line_endings() -> None:
    data = b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\n\r\n"
    expect(data, [msg("a"), msg("b"), msg("c"), msg("d")])


def test_regression_truncated_event_delivered_at_eof() -> None:
    expect(b"data: a\n\ndata: b\n", [msg("a")])
    expect(b"data: a\n\ndata: b", [msg("a")])


def test_regression_truncated_event_delivered_when_last_line_ends_in_cr() -> None:
    expect(b"data: a\r", [])
    expect(b"data: a\n\ndata: b\r", [msg("a")])
    expect(b"data: a\r\rdata: b\r", [msg("a")])


# =========================================================================== input types


def test_bytes_bytearray_memoryview_give_the_same_items() -> None:
    data = b"\xef\xbb\xbfid: 1\r\ndata: a\rdata: \xc3\xa9\n\n: c\ndata: [DONE]\r\n\r\n"
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]
    expected = run_decoder(chunks, comments=True)
    assert expected.items == (msg("a\né", id="1"), Comment("c"), Done())
    assert run_decoder([bytearray(c) for c in chunks], comments=True) == expected
    assert run_decoder([memoryview(c) for c in chunks], comments=True) == expected
    mixed: list[Any] = []
    for i, chunk in enumerate(chunks):
        mixed.append(chunk if i % 3 == 0 else bytearray(chunk) if i % 3 == 1 else memoryview(chunk))
    assert run_decoder(mixed, comments=True) == expected


def test_memoryview_slice_and_empty_chunks() -> None:
    decoder = sseio.SSEDecoder()
    backing = bytearray(b"XXdata: a\n\nYY")
    assert decoder.feed(memoryview(backing)[2:-2]) == [msg("a")]
    assert decoder.feed(b"") == []
    assert decoder.feed(bytearray()) == []
    assert decoder.feed(memoryview(b"")) == []


def test_buffer_mutated_after_feed_does_not_change_held_bytes() -> None:
    decoder = sseio.SSEDecoder()
    buffer = bytearray(b"data: held")
    assert decoder.feed(buffer) == []
    buffer[:] = b"XXXXXXXXXX"
    assert decoder.feed(b"\n\n") == [msg("held")]


# =========================================================================== limits


def test_line_at_the_line_limit_is_accepted() -> None:
    line = b"data: " + b"x" * 10
    expect(line + b"\n\n", [msg("x" * 10)], max_line_size=len(line))


def test_data_line_over_the_line_limit_raises() -> None:
    expect_error(b"data: 0123456789\n\n", "max_line_size", 8, [])
    expect_error(b"data: a\n\ndata: 0123456789\n\ndata: c\n\n", "max_line_size", 8, [msg("a")])
    expect_error(b"data: a\r\n\r\ndata: 0123456789", "max_line_size", 8, [msg("a")])


@pytest.mark.parametrize(
    "line",
    [b"id: 0123456789", b"event: 0123456789", b"retry: 0123456789", b"data:0123456789"],
)
def test_meaningful_lines_over_the_line_limit_raise(line: bytes) -> None:
    expect_error(b"data: a\n\n" + line + b"\n\n", "max_line_size", 8, [msg("a")])


def test_bare_known_field_over_a_tiny_limit_raises() -> None:
    expect_error(b"data\n\n", "max_line_size", 3, [])
    expect_error(b"id\n\n", "max_line_size", 1, [])


def test_oversized_comment_raises_when_comments_are_wanted() -> None:
    data = b"data: a\n\n: " + b"c" * 100 + b"\n\n"
    expect_error(data, "max_line_size", 16, [msg("a")], comments=True)


def test_limit_error_carries_the_items_of_the_same_feed() -> None:
    decoder = sseio.SSEDecoder(max_line_size=16, comments=True)
    assert decoder.feed(b"data: zero\n\n") == [msg("zero")]
    with pytest.raises(sseio.LimitExceeded) as info:
        decoder.feed(b"data: a\n\n: c\nid: 1\ndata: b\n\ndata: " + b"x" * 40 + b"\n\ndata: c\n\n")
    exc = info.value
    assert isinstance(exc, sseio.ProtocolError)
    assert exc.limit_name == "max_line_size"
    assert exc.limit == 16
    assert exc.size > 16
    assert exc.events == [msg("a"), Comment("c"), msg("b", id="1")]
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"data: d\n\n")


def test_limit_error_while_the_line_is_still_streaming() -> None:
    decoder = sseio.SSEDecoder(max_line_size=16)
    with pytest.raises(sseio.LimitExceeded) as info:
        decoder.feed(b"data: a\n\ndata: " + b"x" * 40)
    assert info.value.events == [msg("a")]
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"\n\n")

    decoder = sseio.SSEDecoder(max_line_size=16)
    assert decoder.feed(b"data: a\n\ndata: ") == [msg("a")]
    for _ in range(10):
        assert decoder.feed(b"x") == []
    # "data: " plus eleven bytes is 17 bytes: over the limit.
    with pytest.raises(sseio.LimitExceeded) as info:
        decoder.feed(b"x")
    assert info.value.events == []
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"\n\n")


def test_event_within_the_event_limit() -> None:
    expect(b"data: 12345678\n\n", [msg("12345678")], max_event_size=10)


def test_event_over_the_event_limit_raises() -> None:
    data = b"data: a\n\ndata: 1234\ndata: 1234\ndata: 1234\ndata: 1234\n\ndata: b\n\n"
    outcome = expect_error(data, "max_event_size", 10, [msg("a")])
    assert outcome.last_event_id == ""
    expect_error(b"data: " + b"x" * 100 + b"\n\n", "max_event_size", 10, [])


def test_event_limit_error_carries_items_and_then_decoder_is_unusable() -> None:
    decoder = sseio.SSEDecoder(max_event_size=10)
    with pytest.raises(sseio.LimitExceeded) as info:
        decoder.feed(b"data: a\n\n" + b"data: 123456\n" * 3 + b"\n")
    assert info.value.limit_name == "max_event_size"
    assert info.value.limit == 10
    assert info.value.size > 10
    assert info.value.events == [msg("a")]
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"\n")


@pytest.mark.parametrize(
    ("line", "options"),
    [
        (b": " + b"c" * 200, {}),
        (b":" + b"c" * 200, {}),
        (b"foo: " + b"f" * 200, {}),
        (b"foo:" + b"f" * 200, {"comments": True}),
        (b"x" * 200, {}),
        (b"data_" + b"d" * 200, {}),
        (b"datadatadata: " + b"d" * 200, {}),
        (b"Data: " + b"d" * 200, {}),
        (b"retryx: " + b"1" * 200, {}),
    ],
)
def test_oversized_lines_that_cannot_matter_are_dropped(line: bytes, options: Any) -> None:
    data = b"data: a\n\n" + line + b"\ndata: b\n\n" + line + b"\r\ndata: c\n\n"
    expect(data, [msg("a"), msg("b"), msg("c")], max_line_size=16, **options)


@pytest.mark.parametrize(
    ("line", "limit"),
    [
        # Unknown field names only slightly longer than the limit: still unknown.
        (b"dataX: 123456", 4),
        (b"abcde", 4),
        (b"dat: 1234", 4),
        (b"retrY: 1", 5),
        (b"eventX", 5),
    ],
)
def test_short_unknown_fields_over_a_small_limit_are_dropped(line: bytes, limit: int) -> None:
    assert len(line) > limit
    expect(line + b"\ndata\n\n", [msg("")], max_line_size=limit)


def test_ignorable_line_is_not_buffered_while_it_streams() -> None:
    limit = 1024
    for head, comments in ((b": ", False), (b"unknown: ", False), (b"unknown: ", True)):
        options: dict[str, Any] = {"max_line_size": limit, "comments": comments}
        decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder(**options)
        assert decoder.feed(b"data: a\n\n" + head) == [msg("a")]
        for _ in range(5000):
            assert decoder.feed(b"z" * 100) == []
            assert decoder.pending <= limit
        assert decoder.feed(b"\ndata: b\n\n") == [msg("b")]
        assert decoder.pending == 0


def test_huge_unknown_line_with_default_limits_stays_bounded() -> None:
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"x-padding: ") == []
    chunk = b"p" * 65536
    for _ in range(sseio.DEFAULT_MAX_LINE_SIZE // len(chunk) * 2 + 8):
        assert decoder.feed(chunk) == []
        assert decoder.pending <= sseio.DEFAULT_MAX_LINE_SIZE
    assert decoder.feed(b"\ndata: after\n\n") == [msg("after")]


def test_default_limits_allow_large_events() -> None:
    assert sseio.DEFAULT_MAX_LINE_SIZE >= 1024 * 1024
    assert sseio.DEFAULT_MAX_EVENT_SIZE >= sseio.DEFAULT_MAX_LINE_SIZE
    payload = b"b64" * (1024 * 1024)
    decoder = sseio.SSEDecoder()
    assert decoder.feed(b"data: " + payload + b"\n\n") == [msg(payload.decode())]


def test_64_mib_single_line_event_in_1_kib_reads() -> None:
    size = 64 * 1024 * 1024
    piece = b"0123456789abcdef" * 64
    assert len(piece) == 1024
    decoder = sseio.SSEDecoder(max_line_size=2 * size, max_event_size=2 * size)
    assert decoder.feed(b"id: big\ndata: ") == []
    for _ in range(size // len(piece)):
        if decoder.feed(piece):
            pytest.fail("an item was delivered before the event was complete")
    assert decoder.pending == size + len(b"data: ")
    items = decoder.feed(b"\n\n")
    assert decoder.pending == 0
    assert len(items) == 1
    event = items[0]
    assert isinstance(event, ServerSentEvent)
    assert (event.event, event.id, event.retry) == ("message", "big", None)
    assert len(event.data) == size
    assert event.data == piece.decode() * (size // len(piece))


@pytest.mark.parametrize("option", ["max_line_size", "max_event_size"])
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "64"])
def test_invalid_limits_are_usage_errors(option: str, bad: object) -> None:
    options: dict[str, Any] = {option: bad}
    with pytest.raises(sseio.UsageError):
        sseio.SSEDecoder(**options)


def test_invalid_last_event_id_is_a_usage_error() -> None:
    with pytest.raises(sseio.UsageError):
        sseio.SSEDecoder(last_event_id="a\x00")


# =========================================================================== iter_sse


STREAM = [b"\xef\xbb", b"\xbfid: 1\ndata: a\r", b"\n\r\n: ping\r", b"\ndata: [DONE]\n\ndata: cut"]


def test_iter_sse() -> None:
    assert list(sseio.iter_sse(STREAM)) == [msg("a", id="1"), Done()]


def test_iter_sse_passes_options_and_accepts_any_buffer() -> None:
    chunks: list[Any] = [bytearray(STREAM[0]), memoryview(STREAM[1]), *STREAM[2:]]
    assert list(sseio.iter_sse(chunks, comments=True, done_sentinel=None)) == [
        msg("a", id="1"),
        Comment("ping"),
        msg("[DONE]", id="1"),
    ]


def test_iter_sse_yields_items_as_they_complete() -> None:
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        for i, chunk in enumerate([b"data: 1\n\n", b"data: 2\r", b"\r", b"data: 3"]):
            pulled.append(i)
            yield chunk

    iterator = sseio.iter_sse(source())
    assert next(iterator) == msg("1")
    assert pulled == [0]
    assert next(iterator) == msg("2")
    assert pulled == [0, 1, 2]
    assert list(iterator) == []
    assert pulled == [0, 1, 2, 3]


def test_iter_sse_yields_earlier_items_before_a_limit_error() -> None:
    chunks = [
        b"data: a\n\n",
        b"data: b\n\ndata: " + b"x" * 100 + b"\n\ndata: c\n\n",
        b"data: d\n\n",
    ]
    received: list[Any] = []
    with pytest.raises(sseio.LimitExceeded) as info:
        received.extend(sseio.iter_sse(chunks, max_line_size=32))
    assert received == [msg("a"), msg("b")]
    assert info.value.limit_name == "max_line_size"


def test_iter_sse_empty_source() -> None:
    assert list(sseio.iter_sse([])) == []
    assert list(sseio.iter_sse([b"", b""])) == []


ITER_CASES = [
    (b"\xef\xbb\xbfid: 1\r\ndata: a\r\r: c\ndata: [DONE]\n\ndata: cut", {"comments": True}),
    (b"data: a\n\nretry: 5\ndata: b\r\n\r\ndata: " + b"x" * 30 + b"\n\n", {"max_line_size": 16}),
    (b"data: 1\n\n: " + b"k" * 30 + b"\rdata: 2\r\r", {"max_line_size": 16}),
]


def _iter_outcome(chunks: list[bytes], options: dict[str, Any]) -> tuple[list[Any], Any]:
    received: list[Any] = []
    try:
        received.extend(sseio.iter_sse(chunks, **options))
    except sseio.LimitExceeded as exc:
        return received, (exc.limit_name, exc.limit)
    return received, None


@pytest.mark.parametrize(("data", "options"), ITER_CASES)
def test_iter_sse_is_blind_to_chunking(data: bytes, options: dict[str, Any]) -> None:
    expected = check_chunking_outcome(data, **options)
    error = None if expected.error is None else expected.error[1:]
    for chunks in chunkings(data, pairs=False):
        assert _iter_outcome(chunks, options) == (list(expected.items), error), chunks


# =========================================================================== aiter_sse


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _agen(chunks: list[Any], pulled: list[int] | None = None) -> AsyncGenerator[Any, None]:
    for i, chunk in enumerate(chunks):
        if pulled is not None:
            pulled.append(i)
        yield chunk


async def _collect(items: AsyncIterator[Any], into: list[Any]) -> None:
    async for item in items:
        into.append(item)


@pytest.mark.anyio
async def test_aiter_sse() -> None:
    items = [item async for item in sseio.aiter_sse(_agen(STREAM))]
    assert items == [msg("a", id="1"), Done()]


@pytest.mark.anyio
async def test_aiter_sse_passes_options_and_accepts_any_buffer() -> None:
    chunks: list[Any] = [bytearray(STREAM[0]), memoryview(STREAM[1]), *STREAM[2:]]
    items = [item async for item in sseio.aiter_sse(_agen(chunks), comments=True)]
    assert items == [msg("a", id="1"), Comment("ping"), Done()]


@pytest.mark.anyio
async def test_aiter_sse_yields_items_as_they_complete() -> None:
    pulled: list[int] = []
    chunks = [b"data: 1\n\n", b"data: 2\r", b"\r", b"data: 3"]
    iterator = sseio.aiter_sse(_agen(chunks, pulled))
    assert await iterator.__anext__() == msg("1")
    assert pulled == [0]
    assert await iterator.__anext__() == msg("2")
    assert pulled == [0, 1, 2]
    with pytest.raises(StopAsyncIteration):
        await iterator.__anext__()
    assert pulled == [0, 1, 2, 3]


@pytest.mark.anyio
@pytest.mark.parametrize(("data", "options"), ITER_CASES)
async def test_aiter_sse_is_blind_to_chunking(data: bytes, options: dict[str, Any]) -> None:
    expected = run_decoder([data], **options)
    error = None if expected.error is None else expected.error[1:]
    for chunks in chunkings(data, pairs=False):
        received: list[Any] = []
        got_error = None
        async with aclosing(_agen(chunks)) as source:
            try:
                await _collect(sseio.aiter_sse(source, **options), received)
            except sseio.LimitExceeded as exc:
                got_error = (exc.limit_name, exc.limit)
        assert (received, got_error) == (list(expected.items), error), chunks


@pytest.mark.anyio
async def test_aiter_sse_yields_earlier_items_before_a_limit_error() -> None:
    chunks = [b"data: a\n\n", b"data: b\n\ndata: " + b"x" * 100 + b"\n\n", b"data: d\n\n"]
    received: list[Any] = []
    async with aclosing(_agen(chunks)) as source:
        with pytest.raises(sseio.LimitExceeded) as info:
            await _collect(sseio.aiter_sse(source, max_line_size=32), received)
    assert received == [msg("a"), msg("b")]
    assert info.value.limit_name == "max_line_size"
    assert info.value.limit == 32
