"""sseio._http.chunked: de-chunking ``Transfer-Encoding: chunked`` bodies, in any split."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
from sseio._http.chunked import MAX_LINE, ChunkedDecoder


def encode(*pieces: bytes, trailers: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + trailers + b"\r\n"


def decode_in(data: bytes, cuts: list[int]) -> tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    bounds = [0, *sorted(set(cuts)), len(data)]
    body = b"".join(decoder.feed(data[a:b]) for a, b in itertools.pairwise(bounds))
    return body, decoder


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.binary(min_size=1, max_size=40), max_size=8),
    cuts=st.lists(st.integers(0, 400), max_size=12),
    trailers=st.sampled_from([b"", b"X-Check: 1\r\n", b"A: b\r\nC: d\r\n"]),
)
def test_any_split_gives_the_body(pieces: list[bytes], cuts: list[int], trailers: bytes) -> None:
    data = encode(*pieces, trailers=trailers)
    body, decoder = decode_in(data, [c for c in cuts if c < len(data)])
    assert body == b"".join(pieces)
    assert decoder.ended
    assert decoder.trailing == b""


def test_byte_by_byte_and_extensions() -> None:
    data = b"5;name=value\r\nhello\r\nA \r\n0123456789\r\n0\r\n\r\n"
    body, decoder = decode_in(data, list(range(len(data))))
    assert (body, decoder.ended) == (b"hello0123456789", True)


def test_bytes_after_the_end_are_kept_as_trailing() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(encode(b"x") + b"HTTP/1.1") == b"x"
    assert decoder.ended
    assert decoder.feed(b" 200") == b""
    assert decoder.trailing == b"HTTP/1.1 200"


def test_unfinished_body_is_not_ended() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"10\r\n0123") == b"0123"
    assert not decoder.ended


@pytest.mark.parametrize(
    "data",
    [
        b"zz\r\n",
        b"0x5\r\nhello\r\n",
        b"+5\r\nhello\r\n",
        b"\r\n",
        b"11111111111111111\r\n",
        b"5\r\nhelloXX",
    ],
)
def test_malformed_bodies_are_the_servers_error(data: bytes) -> None:
    with pytest.raises(sseio.RemoteProtocolError):
        ChunkedDecoder().feed(data)


def test_lines_are_bounded() -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(sseio.RemoteProtocolError, match="line over"):
        decoder.feed(b"5;" + b"x" * (MAX_LINE + 10))
    with pytest.raises(sseio.RemoteProtocolError, match="line over"):
        ChunkedDecoder().feed(b"5;" + b"x" * (MAX_LINE + 10) + b"\r\nhello\r\n")
