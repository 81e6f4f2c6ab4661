"""SSEDecoder's fast paths agree with its general path and with the reference model.

The decoder takes shortcuts for common shapes: a read holding exactly one
one-line event, blocks of ``data:`` events, data-only multi-line events, small
reads inside a line, and long lines finished by a later read.  Each test here
builds inputs that hit one shortcut and its near misses, feeds them in several
chunkings (chunk sizes around the shortcut thresholds), and compares with the
reference model.  Inputs are too long for every split point, so the chunkings
are chosen instead.
"""

from __future__ import annotations

import random

import pytest
from reference_model import reference_decode

import sseio

BIG = 40 * 1024  # longer than the decoder's long-line threshold (32 KiB)


def feed_in(data: bytes, size: int, **options: object) -> tuple[list[sseio.Item], str, int | None]:
    decoder: sseio.SSEDecoder[sseio.Item] = sseio.SSEDecoder(**options)  # type: ignore[call-overload]
    items: list[sseio.Item] = []
    for start in range(0, len(data), size):
        items += decoder.feed(data[start : start + size])
    items += decoder.close()
    return items, decoder.last_event_id, decoder.retry


def random_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), min(40, len(data) - 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def assert_matches_reference(data: bytes, **options: object) -> list[sseio.Item]:
    expected = reference_decode(data, **options)  # type: ignore[arg-type]
    for size in (1, 7, 1000, 4096, 32 * 1024, 65536, len(data)):
        if size == 1 and len(data) > 200_000:
            continue
        got = feed_in(data, size, **options)
        assert got == (expected.items, expected.last_event_id, expected.retry), size
    for seed in range(3):
        decoder: sseio.SSEDecoder[sseio.Item] = sseio.SSEDecoder(**options)  # type: ignore[call-overload]
        items = [item for chunk in random_chunks(data, seed) for item in decoder.feed(chunk)]
        assert items == expected.items, seed
    assert list(sseio.iter_sse(random_chunks(data, 7), **options)) == expected.items
    return expected.items


long_value = (b"0123456789abcdef" * (BIG // 16 + 1))[:BIG]
mixed_utf8 = b"\xe2\x82\xac\xf0\x9f\x98\x80 ab\xff\xc3\xa9\xe2\x82" * (BIG // 20)


@pytest.mark.parametrize(
    "data",
    [
        b"data: " + long_value + b"\n\n",
        b"data: " + long_value + b"\n\ndata: next\n\nid: 3\ndata: last\n\n",
        b"data: " + long_value + b"\n\ndata: partial",
        b"data: " + long_value + b"\ndata: second line\n\n",
        b"data:" + long_value + b"\n\n",
        b"data: " + long_value + b"\n",
        b"id: 9\ndata: " + long_value + b"\n\n",
        b"foo: " + long_value + b"\n\ndata: x\n\n",
        b": " + long_value + b"\ndata: x\n\n",
        b"data: \xe2\x82" + long_value + b"\xff\n\n",
        # UTF-8 sequences (and broken ones) across every read boundary of the line
        b"data: " + mixed_utf8 + b"\n\n",
        b"data: " + long_value + b"\r\n\r\n",
        b"data: a\n\n" * 3 + b"data: " + long_value + b"\n\n" + b"data: b\n\n" * 3,
        b"event: big\ndata: " + long_value + b"\n\n",
    ],
)
def test_long_lines_take_every_path_alike(data: bytes) -> None:
    assert_matches_reference(data)


def test_long_line_equal_to_a_long_sentinel_is_done() -> None:
    sentinel = "end-" * (BIG // 4)
    data = b"data: " + sentinel.encode() + b"\n\ndata: after\n\n"
    items = assert_matches_reference(data, done_sentinel=sentinel)
    assert items == [sseio.Done(), sseio.ServerSentEvent(data="after")]


@pytest.mark.parametrize(
    "data",
    [
        b"".join(b"data: event %d\n\n" % i for i in range(500)),
        b"".join(b"data: %d\ndata: two\ndata: three\n\n" % i for i in range(300)),
        b"".join(b"data: %d\ndata:two\n\n" % i for i in range(300)),
        b"".join(b"data: %d\nid: %d\n\n" % (i, i) for i in range(300)),
        b"".join(b"data: [DONE]\n\ndata: x\n\n" for _ in range(100)),
        b"".join(b"data: \xf0\x9f\x98\x80 %d\r\n\r\n" % i for i in range(300)),
        b": keepalive\n\n" + b"".join(b"data: %d\n\n\n" % i for i in range(300)),
        b"retry: 10\n" + b"".join(b"data: %d\n\n" % i for i in range(300)),
        b"".join(b"data: %d\n\ndata\n\n" % i for i in range(300)),
    ],
)
def test_event_blocks_take_every_path_alike(data: bytes) -> None:
    assert_matches_reference(data)
    assert_matches_reference(data, comments=True)


def test_limit_after_a_long_event_in_the_same_read_keeps_the_event() -> None:
    data = b"data: " + long_value + b"\n\nid: " + b"x" * 100 + b"\n"
    decoder = sseio.SSEDecoder(max_line_size=BIG + 10)
    assert decoder.feed(data[: BIG + 6]) == []
    with pytest.raises(sseio.LimitExceeded) as caught:
        decoder.feed(data[BIG + 6 :] + b"data: " + b"y" * (BIG + 20))
    assert caught.value.events == [sseio.ServerSentEvent(data=long_value.decode())]
    assert caught.value.limit_name == "max_line_size"


def test_small_reads_over_the_limit_raise_at_once() -> None:
    decoder = sseio.SSEDecoder(max_line_size=16)
    assert decoder.feed(b"data: 0123456789") == []
    with pytest.raises(sseio.LimitExceeded) as caught:
        decoder.feed(b"x")
    assert (caught.value.limit, caught.value.size, caught.value.events) == (16, 17, [])
    with pytest.raises(sseio.UsageError, match="cannot be fed"):
        decoder.feed(b"\n\n")


def test_iter_sse_reports_an_unfinished_line_over_the_limit_at_the_end() -> None:
    chunks = [b"data: ok\n\n", *[b"data: " + b"x" * 10] * 3]
    with pytest.raises(sseio.LimitExceeded):
        list(sseio.iter_sse(chunks, max_line_size=20))
    stream = sseio.iter_sse([b"data: ok\n\ndata: ", b"y" * 30], max_line_size=20)
    assert next(stream) == sseio.ServerSentEvent(data="ok")
    with pytest.raises(sseio.LimitExceeded):
        next(stream)


def test_read_size_grows_inside_a_long_line_and_drops_back_after_it() -> None:
    from sseio._core.lines import LONG_LINE_READ_SIZE, READ_SIZE

    decoder = sseio.SSEDecoder()
    value = b"x" * (3 * LONG_LINE_READ_SIZE)
    data = b"data: " + value + b"\n\ndata: next\n\n"
    sizes = []
    items: list[sseio.Item] = []
    position = 0
    while position < len(data):
        size = decoder.read_size
        sizes.append(size)
        items += decoder.feed(data[position : position + size])
        position += size
    assert sizes[0] == READ_SIZE
    assert LONG_LINE_READ_SIZE in sizes
    assert sizes.index(LONG_LINE_READ_SIZE) == LONG_LINE_READ_SIZE // READ_SIZE
    assert decoder.read_size == READ_SIZE
    assert items == [sseio.ServerSentEvent(data=value.decode()), sseio.ServerSentEvent(data="next")]
