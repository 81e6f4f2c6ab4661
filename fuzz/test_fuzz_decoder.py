"""The decoder properties, run long: chunking, the reference model, bad bytes, round trips.

Each property is one test; ``SSEIO_FUZZ_PROFILE`` picks how many examples it
gets (see ``fuzz/conftest.py``).  Run with ``pytest fuzz`` from the repository
root, or for a set time with ``python fuzz/run.py --minutes N``.

1. Chunking is invisible: any chunking gives the items, ``last_event_id`` and
   ``retry`` of feeding the stream whole, and after every ``feed()`` exactly
   what the bytes so far complete (nothing late, nothing early); ``iter_sse``
   and ``aiter_sse`` yield the same items.
2. ``SSEDecoder`` agrees with the reference model in ``tests/reference_model.py``.
3. Arbitrary bytes (and arbitrary lines) give well-formed items or an
   ``SSEError``, never another exception.
4. ``encode_event`` then decoding gives back the events, ids, retries and
   comments; what it refuses, it refuses with ``EncodeError``.
5. With small limits, every chunking (and ``iter_sse`` / ``aiter_sse``) delivers
   the same items before the same ``LimitExceeded``, and the decoder never holds
   more than ``max_line_size`` bytes of partial line (5 under tinier limits).
6. ``LineDecoder`` followed by ``EventAssembler`` agrees with ``SSEDecoder``.
7. A closed or failed decoder refuses further input with ``UsageError``.
8. ``last_event_id`` and ``retry`` given to a constructor are checked: an ID a
   stream could not set (NUL, CR, LF) or a retry that is not a non-negative
   ``int`` raises ``UsageError``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sseio
from fuzz.conftest import fuzz_settings
from fuzz.harness import (
    Outcome,
    check_item,
    reference_outcome,
    run_decoder,
    run_iter_sse,
    run_lines_then_assembler,
    without_state,
    wrap,
)
from fuzz.strategies import (
    byte_soup,
    chunked,
    decoder_options,
    encodable_events,
    limit_sizes,
    small_limits,
    split_at,
    split_points,
    streams,
)

F = TypeVar("F", bound=Callable[..., Any])

KINDS = st.sampled_from(("bytes", "bytes", "bytearray", "memoryview"))
MAX_CHECKPOINTS = 6
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def profile(scale: float = 1.0) -> Callable[[F], F]:
    """Apply the selected fuzz profile to a property (``scale`` for slow ones)."""

    def apply(test: F) -> F:
        return fuzz_settings(test.__name__, scale=scale)(test)

    return apply


def checkpoints(outcome: Outcome) -> list[int]:
    """Indexes of up to ``MAX_CHECKPOINTS`` snapshots, evenly spread, the last included."""
    count = len(outcome.snapshots)
    if count <= MAX_CHECKPOINTS:
        return list(range(count))
    step = count / MAX_CHECKPOINTS
    return sorted({int(i * step) for i in range(MAX_CHECKPOINTS)} | {count - 1})


def describe(data: bytes, chunks: list[bytes], options: dict[str, Any]) -> str:
    """A short reproduction note for assertion messages."""
    shown = chunks if len(data) <= 2000 else f"{len(chunks)} chunks of {len(data)} bytes"
    return f"options={options!r}\nchunks={shown!r}"


# 1. Chunking is invisible ------------------------------------------------------------------


@profile(scale=1.0)
@given(
    case=chunked(streams(giant=True)),
    options=decoder_options(initial_state=True),
    kind=KINDS,
    asynchronous=st.booleans(),
)
def test_chunking_is_invisible(
    case: tuple[bytes, list[int]], options: dict[str, Any], kind: str, asynchronous: bool
) -> None:
    data, points = case
    chunks = split_at(data, points)
    whole = run_decoder([data], options)
    split = run_decoder(chunks, options, kind=kind)
    assert split == whole, describe(data, chunks, options)
    assert run_iter_sse(chunks, options, kind=kind, asynchronous=asynchronous) == without_state(
        whole
    ), f"{'aiter_sse' if asynchronous else 'iter_sse'}\n" + describe(data, chunks, options)
    # Timeliness: after each feed, the items so far are what that prefix alone gives.
    for index in checkpoints(split):
        snapshot = split.snapshots[index]
        prefix = run_decoder([data[: snapshot.offset]], options)
        assert split.items[: snapshot.items] == prefix.items, (
            f"after {snapshot.offset} bytes\n" + describe(data, chunks, options)
        )
        assert (snapshot.last_event_id, snapshot.retry) == (prefix.last_event_id, prefix.retry), (
            f"after {snapshot.offset} bytes\n" + describe(data, chunks, options)
        )


# 2. Agreement with the reference model --------------------------------------------------------


@profile(scale=1.0)
@given(case=chunked(streams(giant=True)), options=decoder_options())
def test_agrees_with_reference_model(
    case: tuple[bytes, list[int]], options: dict[str, Any]
) -> None:
    data, points = case
    chunks = split_at(data, points)
    expected = reference_outcome(data, options)
    got = run_decoder(chunks, options)
    assert got == expected, describe(data, chunks, options)
    for index in checkpoints(got):
        snapshot = got.snapshots[index]
        prefix = reference_outcome(data[: snapshot.offset], options)
        assert got.items[: snapshot.items] == prefix.items, (
            f"after {snapshot.offset} bytes\n" + describe(data, chunks, options)
        )
        assert (snapshot.last_event_id, snapshot.retry) == (prefix.last_event_id, prefix.retry), (
            f"after {snapshot.offset} bytes\n" + describe(data, chunks, options)
        )


# 3. Arbitrary input: items or SSEError, nothing else --------------------------------------------


@profile(scale=1.0)
@given(
    case=chunked(byte_soup()),
    options=decoder_options(limits=True, initial_state=True),
    kind=KINDS,
)
def test_arbitrary_bytes_give_items_or_sse_error(
    case: tuple[bytes, list[int]], options: dict[str, Any], kind: str
) -> None:
    data, points = case
    decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder(**options)
    lines = sseio.LineDecoder(max_line_size=options.get("max_line_size", 1 << 24))
    decoder_ok = lines_ok = True
    for chunk in split_at(data, points):
        if decoder_ok:
            try:
                items = decoder.feed(wrap(chunk, kind))
            except sseio.SSEError:
                decoder_ok = False
            except Exception as exc:
                raise AssertionError(f"SSEDecoder raised {exc!r}") from exc
            else:
                for item in items:
                    check_item(item, options)
        if lines_ok:
            try:
                got = lines.feed(wrap(chunk, kind))
            except sseio.SSEError:
                lines_ok = False
            except Exception as exc:
                raise AssertionError(f"LineDecoder raised {exc!r}") from exc
            else:
                for line in got:
                    assert isinstance(line, str), line
                    assert "\r" not in line, line
                    assert "\n" not in line, line
    assert decoder.close() == []
    assert lines.close() == []


@profile(scale=1.0)
@given(
    lines=st.lists(
        st.one_of(
            st.text(st.characters(codec="utf-8") | st.sampled_from("\r\n:\0\ufeff"), max_size=12),
            st.text(st.characters(categories=["Cs"]) | st.sampled_from(":data"), max_size=6),
            st.binary(max_size=12),
        ),
        max_size=20,
    ),
    options=decoder_options(initial_state=True),
    event_limit=st.none() | limit_sizes(),
)
def test_arbitrary_lines_give_items_or_sse_error(
    lines: list[str | bytes], options: dict[str, Any], event_limit: int | None
) -> None:
    if event_limit is not None:
        options = {**options, "max_event_size": event_limit}
    assembler = sseio.EventAssembler(**options)
    for line in lines:
        try:
            items = assembler.feed_line(line)
        except sseio.SSEError:
            break
        except Exception as exc:
            raise AssertionError(f"EventAssembler raised {exc!r} for {line!r}") from exc
        for item in items:
            check_item(item, options)
    assert assembler.close() == []


# 4. encode -> decode round trips ------------------------------------------------------------------


def _expected_from_encoding(
    events: list[dict[str, Any]], *, comments: bool, sentinel: str | None
) -> Outcome:
    """What decoding ``b"".join(encode_event(**e) for e in events)`` must give."""
    items: list[Any] = []
    last_id = ""
    retry: int | None = None
    for kwargs in events:
        if comments and kwargs.get("comment") is not None:
            items += [sseio.Comment(line) for line in _LINE_BREAK.split(kwargs["comment"])]
        if kwargs.get("id") is not None:
            last_id = kwargs["id"]
        block_retry = None
        if kwargs.get("retry") is not None:
            retry = block_retry = min(kwargs["retry"], sseio.MAX_RETRY)
        if kwargs.get("data") is not None:
            data = _LINE_BREAK.sub("\n", kwargs["data"])
            if data == sentinel:
                items.append(sseio.Done())
            else:
                event = kwargs.get("event") or "message"
                items.append(sseio.ServerSentEvent(event, data, last_id, block_retry))
    return Outcome(tuple(items), last_id, retry)


@profile(scale=1.0)
@given(
    events=st.lists(encodable_events(), max_size=6),
    comments=st.booleans(),
    sentinel=st.sampled_from((None, "[DONE]")),
    data=st.data(),
)
def test_encode_decode_round_trip(
    events: list[dict[str, Any]], comments: bool, sentinel: str | None, data: st.DataObject
) -> None:
    wire = b"".join(sseio.encode_event(**kwargs) for kwargs in events)
    points = data.draw(split_points(wire), label="points")
    options = {"done_sentinel": sentinel, "comments": comments}
    got = run_decoder(split_at(wire, points), options)
    assert got == _expected_from_encoding(events, comments=comments, sentinel=sentinel), wire


def _single_line_sse_events() -> st.SearchStrategy[sseio.ServerSentEvent]:
    line = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=10)
    return st.builds(
        sseio.ServerSentEvent,
        event=line.filter(bool),
        data=st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=20),
        id=line.map(lambda text: text.replace("\0", "")),
        retry=st.none() | st.integers(0, sseio.MAX_RETRY),
    )


@profile(scale=1.0)
@given(event=_single_line_sse_events())
def test_event_encode_round_trip(event: sseio.ServerSentEvent) -> None:
    got = run_decoder([event.encode()], {"done_sentinel": None})
    assert got.items == (event,), event.encode()


_ANY_TEXT = st.text(
    st.characters(codec="utf-8") | st.characters(categories=["Cs"]) | st.sampled_from("\r\n\0"),
    max_size=8,
)


def _encodable(kwargs: dict[str, Any]) -> bool:
    """Whether ``encode_event(**kwargs)`` must succeed, by its documented rules."""

    def unicode_ok(text: str) -> bool:
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in text)

    for name in ("data", "event", "id", "comment"):
        value = kwargs.get(name)
        if value is not None and not unicode_ok(value):
            return False
    for name in ("event", "id"):
        value = kwargs.get(name)
        if value and ("\r" in value or "\n" in value):
            return False
    if "\0" in (kwargs.get("id") or ""):
        return False
    retry = kwargs.get("retry")
    return retry is None or (type(retry) is int and retry >= 0)


@profile(scale=1.0)
@given(
    kwargs=st.fixed_dictionaries(
        {},
        optional={
            "data": st.none() | _ANY_TEXT,
            "event": st.none() | _ANY_TEXT,
            "id": st.none() | _ANY_TEXT,
            "retry": st.none() | st.integers(-3, 2**64) | st.sampled_from((True, False)),
            "comment": st.none() | _ANY_TEXT,
        },
    )
)
def test_encode_refuses_exactly_the_unencodable(kwargs: dict[str, Any]) -> None:
    try:
        wire = sseio.encode_event(**kwargs)
    except sseio.EncodeError:
        assert not _encodable(kwargs), f"refused {kwargs!r}"
        return
    assert _encodable(kwargs), f"accepted {kwargs!r}: {wire!r}"
    options = {"done_sentinel": None, "comments": True}
    got = run_decoder([wire], options)
    assert got == _expected_from_encoding([kwargs], comments=True, sentinel=None), wire


# 5. Small limits: same items before the same error, bounded memory --------------------------------


@profile(scale=1.0)
@given(
    case=chunked(streams(sized=True)),
    options=st.tuples(decoder_options(initial_state=True), small_limits()).map(
        lambda pair: {**pair[0], **pair[1]}
    ),
    kind=KINDS,
    asynchronous=st.booleans(),
)
def test_limits_are_chunking_blind_and_bound_memory(
    case: tuple[bytes, list[int]], options: dict[str, Any], kind: str, asynchronous: bool
) -> None:
    data, points = case
    chunks = split_at(data, points)
    whole = run_decoder([data], options, check_pending=True)
    split = run_decoder(chunks, options, kind=kind, check_pending=True)
    assert split == whole, describe(data, chunks, options)
    assert run_iter_sse(chunks, options, kind=kind, asynchronous=asynchronous) == without_state(
        whole
    ), f"{'aiter_sse' if asynchronous else 'iter_sse'}\n" + describe(data, chunks, options)
    if len(data) <= 4096:
        bytewise = [data[i : i + 1] for i in range(len(data))]
        assert run_decoder(bytewise, options, check_pending=True) == whole, describe(
            data, bytewise, options
        )


# 6. LineDecoder -> EventAssembler agrees with SSEDecoder -----------------------------------------


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


@profile(scale=1.0)
@given(
    case=chunked(streams(giant=True)),
    options=decoder_options(initial_state=True),
    event_limit=st.none() | limit_sizes(),
    as_bytes=st.booleans(),
)
def test_line_decoder_then_assembler_agrees(
    case: tuple[bytes, list[int]],
    options: dict[str, Any],
    event_limit: int | None,
    as_bytes: bool,
) -> None:
    data, points = case
    if event_limit is not None and _is_utf8(data):
        # The assembler measures the UTF-8 of the text lines it is given, where each
        # invalid byte has become U+FFFD (3 bytes): sizes agree only for valid UTF-8.
        options = {**options, "max_event_size": event_limit}
    chunks = split_at(data, points)
    expected = run_decoder([data], options)
    got = run_lines_then_assembler(chunks, options, as_bytes=as_bytes)
    assert got == expected, describe(data, chunks, options)


# 7. Closed or failed decoders refuse input --------------------------------------------------------


@profile(scale=1.0)
@given(
    prefix=streams(),
    after=st.binary(max_size=8),
    how=st.sampled_from(("close", "limit")),
    kind=KINDS,
)
def test_closed_or_failed_decoder_refuses_input(
    prefix: bytes, after: bytes, how: str, kind: str
) -> None:
    decoder: sseio.SSEDecoder[Any] = sseio.SSEDecoder(max_line_size=4, max_event_size=4)
    lines = sseio.LineDecoder(max_line_size=4)
    for target in (decoder, lines):
        if how == "close":
            with contextlib.suppress(sseio.LimitExceeded):
                target.feed(prefix)
            target.close()
        else:
            with pytest.raises(sseio.LimitExceeded):
                target.feed(prefix + b"\ndata: 12345\n")
        with pytest.raises(sseio.UsageError):
            target.feed(wrap(after, kind))


# 8. Constructor options are validated -------------------------------------------------------------


def _valid_last_event_id(value: str) -> bool:
    """An ID a stream could have set: no NUL, CR or LF (it goes into a header)."""
    return not any(c in value for c in "\0\r\n")


def _valid_retry(value: object) -> bool:
    """A reconnection time: ``None`` or a non-negative ``int`` (not a ``bool``)."""
    return value is None or (type(value) is int and value >= 0)


@profile(scale=1.0)
@given(
    last_event_id=st.text(
        st.characters(codec="utf-8") | st.sampled_from("\0\r\n"),
        max_size=4,
    ),
    retry=st.none()
    | st.integers(-(2**64), 2**64)
    | st.sampled_from((True, False, 1.5, float("nan"), "100")),
    cls=st.sampled_from((sseio.SSEDecoder, sseio.EventAssembler)),
)
def test_constructor_validates_stream_state(last_event_id: str, retry: object, cls: type) -> None:
    valid = _valid_last_event_id(last_event_id) and _valid_retry(retry)
    try:
        decoder = cls(last_event_id=last_event_id, retry=retry)
    except sseio.UsageError:
        assert not valid, f"{cls.__name__} refused last_event_id={last_event_id!r}, retry={retry!r}"
        return
    assert valid, f"{cls.__name__} accepted last_event_id={last_event_id!r}, retry={retry!r}"
    assert decoder.last_event_id == last_event_id
    assert decoder.retry == retry
