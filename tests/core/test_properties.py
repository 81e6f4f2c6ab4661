"""Property-based tests (hypothesis) for sseio's sans-IO core.

Invariants, not examples:

- chunking never changes what ``SSEDecoder`` produces, with or without limits;
- ``SSEDecoder`` agrees with the reference model of the spec on byte strings
  built from the hard spots (line ends, colons, spaces, field names, digits,
  BOMs, NUL, malformed and multi-byte UTF-8) and on fully arbitrary bytes,
  including with custom ``done_sentinel`` values;
- with limits, a run either matches the model or stops with ``LimitExceeded``
  after a prefix of the model's items;
- arbitrary bytes give items or an ``SSEError``, never another exception;
- ``LineDecoder`` agrees with the model's line splitting, and ``LineDecoder``
  feeding ``EventAssembler`` agrees with ``SSEDecoder``;
- ``encode_event`` (and ``ServerSentEvent.encode``) then decoding round-trips.

Every test runs with ``deadline=None``: nothing here depends on timing.
"""

from __future__ import annotations

import re
from typing import Any

from chunking import check_chunking, run_decoder, split_at
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_model import reference_decode, split_lines

import sseio
from sseio import Comment, Done, ServerSentEvent

TOKENS = [
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b":",
    b": ",
    b" ",
    b"  ",
    b"\t",
    b"data",
    b"data:",
    b"data: ",
    b"id",
    b"id: ",
    b"event",
    b"event: ",
    b"retry",
    b"retry: ",
    b"Data",
    b"0",
    b"1",
    b"7",
    b"42",
    b"+",
    b"-",
    b".",
    b"x",
    b"[DONE]",
    b"\xef\xbb\xbf",
    b"\xef",
    b"\xbb",
    b"\x00",
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    "é".encode(),
    "€".encode(),
    "😀".encode(),
    "\u2028".encode(),
    "\uff11".encode(),  # FULLWIDTH DIGIT ONE
]

biased_bytes = st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join)
small_biased_bytes = st.lists(st.sampled_from(TOKENS), max_size=14).map(b"".join)
arbitrary_bytes = st.binary(max_size=300)
any_bytes = st.one_of(biased_bytes, arbitrary_bytes)
sentinels = st.sampled_from(["[DONE]", None])
custom_sentinels = st.sampled_from(["[DONE]", None, "", "x", "1", "a\nb", "\x00", "é", "\ufffd"])

no_timing = settings(deadline=None)


def split_points(data: bytes) -> st.SearchStrategy[list[int]]:
    """Sorted offsets at which to cut ``data`` (repeats give empty chunks)."""
    return st.lists(st.integers(0, len(data)), max_size=12).map(sorted)


def as_tuple(result: Any) -> tuple[tuple[Any, ...], str | None, int | None]:
    return tuple(result.items), result.last_event_id, result.retry


def check_against_reference(data: bytes, points: list[int], **options: Any) -> None:
    chunks = split_at(data, points)
    outcome = run_decoder(chunks, **options)
    assert outcome.error is None
    assert as_tuple(outcome) == as_tuple(reference_decode(data, **options))


# --------------------------------------------------------------------------- chunking


@no_timing
@given(small_biased_bytes, st.booleans(), sentinels)
def test_chunking_never_changes_the_items(
    data: bytes, comments: bool, done_sentinel: str | None
) -> None:
    items = check_chunking(data, comments=comments, done_sentinel=done_sentinel)
    assert items == reference_decode(data, comments=comments, done_sentinel=done_sentinel).items


@no_timing
@given(st.data(), any_bytes, st.integers(1, 24), st.integers(1, 24), st.booleans())
def test_chunking_never_changes_the_outcome_with_limits(
    draw: st.DataObject, data: bytes, max_line_size: int, max_event_size: int, comments: bool
) -> None:
    options = {
        "max_line_size": max_line_size,
        "max_event_size": max_event_size,
        "comments": comments,
    }
    whole = run_decoder([data], **options)
    points = draw.draw(split_points(data))
    assert run_decoder(split_at(data, points), **options) == whole
    assert run_decoder([data[i : i + 1] for i in range(len(data))], **options) == whole


# --------------------------------------------------------------------------- reference model


@no_timing
@given(st.data(), biased_bytes, st.booleans(), sentinels)
def test_decoder_matches_reference_on_biased_bytes(
    draw: st.DataObject, data: bytes, comments: bool, done_sentinel: str | None
) -> None:
    points = draw.draw(split_points(data))
    check_against_reference(data, points, comments=comments, done_sentinel=done_sentinel)


@no_timing
@given(st.data(), arbitrary_bytes, st.booleans(), sentinels)
def test_decoder_matches_reference_on_arbitrary_bytes(
    draw: st.DataObject, data: bytes, comments: bool, done_sentinel: str | None
) -> None:
    points = draw.draw(split_points(data))
    check_against_reference(data, points, comments=comments, done_sentinel=done_sentinel)


@no_timing
@given(st.data(), biased_bytes, st.booleans(), custom_sentinels)
def test_decoder_matches_reference_with_custom_sentinels(
    draw: st.DataObject, data: bytes, comments: bool, done_sentinel: str | None
) -> None:
    points = draw.draw(split_points(data))
    check_against_reference(data, points, comments=comments, done_sentinel=done_sentinel)


@no_timing
@given(st.data(), any_bytes, st.integers(1, 32), st.integers(1, 32), st.booleans())
def test_limits_give_the_reference_result_or_an_error_after_a_prefix(
    draw: st.DataObject, data: bytes, max_line_size: int, max_event_size: int, comments: bool
) -> None:
    points = draw.draw(split_points(data))
    outcome = run_decoder(
        split_at(data, points),
        max_line_size=max_line_size,
        max_event_size=max_event_size,
        comments=comments,
    )
    reference = reference_decode(data, comments=comments)
    if outcome.error is None:
        # Every line over a limit was one that cannot matter.
        assert as_tuple(outcome) == as_tuple(reference)
    else:
        assert list(outcome.items) == reference.items[: len(outcome.items)]


# --------------------------------------------------------------------------- robustness


@no_timing
@given(
    st.lists(any_bytes, max_size=6),
    st.fixed_dictionaries(
        {},
        optional={
            "max_line_size": st.integers(1, 64),
            "max_event_size": st.integers(1, 64),
            "comments": st.booleans(),
            "done_sentinel": custom_sentinels,
            # A starting ID is one a stream could have set: no NUL, CR or LF.
            "last_event_id": st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n")),
            "retry": st.none() | st.integers(0, sseio.MAX_RETRY),
        },
    ),
)
def test_arbitrary_bytes_give_items_or_an_sse_error(chunks: list[bytes], options: Any) -> None:
    decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder(**options)
    items: list[Any] = []
    try:
        for chunk in chunks:
            items += decoder.feed(chunk)
        items += decoder.close()
    except sseio.SSEError:
        pass
    for item in items:
        if isinstance(item, ServerSentEvent):
            assert isinstance(item.event, str)
            assert item.event
            assert isinstance(item.data, str)
            assert isinstance(item.id, str)
            assert "\x00" not in item.id
            assert item.retry is None or 0 <= item.retry <= sseio.MAX_RETRY
            assert "\r" not in item.data
        else:
            assert isinstance(item, Done | Comment)
    assert isinstance(decoder.last_event_id, str)
    assert decoder.retry is None or 0 <= decoder.retry <= sseio.MAX_RETRY


# --------------------------------------------------------------------------- layers


def _line_decoder_lines(data: bytes, points: list[int]) -> list[str]:
    decoder = sseio.LineDecoder()
    lines: list[str] = []
    for chunk in split_at(data, points):
        lines += decoder.feed(chunk)
    lines += decoder.close()
    return lines


@no_timing
@given(st.data(), any_bytes)
def test_line_decoder_matches_reference_line_splitting(draw: st.DataObject, data: bytes) -> None:
    points = draw.draw(split_points(data))
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    assert _line_decoder_lines(data, points) == split_lines(text)


@no_timing
@given(st.data(), any_bytes, st.booleans(), custom_sentinels)
def test_line_decoder_into_event_assembler_matches_sse_decoder(
    draw: st.DataObject, data: bytes, comments: bool, done_sentinel: str | None
) -> None:
    points = draw.draw(split_points(data))
    assembler = sseio.EventAssembler(comments=comments, done_sentinel=done_sentinel)
    items = assembler.feed(_line_decoder_lines(data, points))
    items += assembler.close()
    decoded = run_decoder([data], comments=comments, done_sentinel=done_sentinel)
    assert decoded.error is None
    assert (tuple(items), assembler.last_event_id, assembler.retry) == as_tuple(decoded)


# --------------------------------------------------------------------------- round trips

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
any_text = st.text(st.characters(codec="utf-8"), max_size=20)
line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
id_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=12)
retries = st.none() | st.integers(0, 2**64)

encoded_events = st.lists(
    st.tuples(
        st.none() | line_text,  # event
        st.none() | any_text,  # data
        st.none() | id_text,  # id
        retries,  # retry
        st.none() | any_text,  # comment
    ),
    max_size=4,
)


def _normalise(text: str) -> str:
    return _LINE_BREAK.sub("\n", text)


@no_timing
@given(encoded_events)
def test_encode_event_then_decode_round_trips(events: list[Any]) -> None:
    stream = b""
    expected: list[Any] = []
    last_id = ""
    last_retry: int | None = None
    for event, data, id_, retry, comment in events:
        stream += sseio.encode_event(data, event=event, id=id_, retry=retry, comment=comment)
        if comment is not None:
            expected += [Comment(line) for line in _LINE_BREAK.split(comment)]
        if id_ is not None:
            last_id = id_
        block_retry = None if retry is None else min(retry, sseio.MAX_RETRY)
        if block_retry is not None:
            last_retry = block_retry
        if data is not None:
            expected.append(
                ServerSentEvent(
                    event=event or "message", data=_normalise(data), id=last_id, retry=block_retry
                )
            )
    outcome = run_decoder([stream], comments=True, done_sentinel=None)
    assert outcome.error is None
    assert list(outcome.items) == expected
    assert (outcome.last_event_id, outcome.retry) == (last_id, last_retry)
    assert check_chunking(stream, comments=True, done_sentinel=None, pairs=False) == expected


@no_timing
@given(line_text, any_text, id_text, retries)
def test_server_sent_event_encode_round_trips(
    event: str, data: str, id_: str, retry: int | None
) -> None:
    original = ServerSentEvent(event=event or "message", data=data, id=id_, retry=retry)
    decoded = run_decoder([original.encode()], done_sentinel=None)
    assert decoded.error is None
    expected_retry = None if retry is None else min(retry, sseio.MAX_RETRY)
    assert list(decoded.items) == [
        ServerSentEvent(
            event=event or "message", data=_normalise(data), id=id_, retry=expected_retry
        )
    ]


@no_timing
@given(any_text)
def test_data_without_cr_round_trips_exactly(data: str) -> None:
    data = data.replace("\r", "")
    decoded = run_decoder([sseio.encode_event(data)], done_sentinel=None)
    assert list(decoded.items) == [ServerSentEvent(data=data)]
    assert run_decoder([sseio.encode_event(data)]).items == (
        (Done(),) if data == "[DONE]" else (ServerSentEvent(data=data),)
    )
