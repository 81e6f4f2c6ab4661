"""Tests for ``sseio.LineDecoder``: bytes in, text lines out, by the event-stream line rules.

Covers line ends (CRLF, lone CR, lone LF in any mix; a CR at the end of a
chunk; characters that are *not* line ends), the leading BOM (one stripped,
also when split over chunks; a second one kept), UTF-8 decoding with U+FFFD
for malformed input, NUL, the discarded unterminated last line, accepted input
types, ``pending``, ``max_line_size`` and the closed / failed states.  Every
expectation is checked over every chunking of its input.
"""

from __future__ import annotations

import pytest
from chunking import check_line_chunking, check_line_chunking_outcome

import sseio

# --------------------------------------------------------------------------- line ends


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\n", ["a"]),
        (b"a\r", ["a"]),
        (b"a\r\n", ["a"]),
        (b"a\nb\rc\r\nd\n", ["a", "b", "c", "d"]),
        (b"\n", [""]),
        (b"\r", [""]),
        (b"\r\n", [""]),
        (b"\n\n", ["", ""]),
        (b"\r\r", ["", ""]),
        (b"\r\n\r\n", ["", ""]),
        # LF then CR is two line ends, not one.
        (b"\n\r", ["", ""]),
        (b"a\n\rb\n", ["a", "", "b"]),
        # CR CR LF: a lone CR, then a CRLF.
        (b"a\r\r\n", ["a", ""]),
        (b"a\r\n\n", ["a", ""]),
        (b"x\r\ny\rz\n\r\n\r", ["x", "y", "z", "", ""]),
    ],
)
def test_line_ends(data: bytes, lines: list[str]) -> None:
    assert check_line_chunking(data) == lines


@pytest.mark.parametrize(
    "separator",
    [
        "\u2028",  # LINE SEPARATOR
        "\u2029",  # PARAGRAPH SEPARATOR
        "\x85",  # NEL
        "\x0b",  # VT
        "\x0c",  # FF
        "\x1c",  # FS
        "\x1d",  # GS
        "\x1e",  # RS
    ],
)
def test_other_separators_do_not_end_lines(separator: str) -> None:
    text = f"a{separator}b\n"
    assert check_line_chunking(text.encode()) == [f"a{separator}b"]


def test_cr_at_end_of_chunk_ends_the_line_at_once() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"first\r") == ["first"]
    # The LF completes the CRLF: no extra empty line.
    assert decoder.feed(b"\nsecond\n") == ["second"]
    assert decoder.close() == []


def test_lf_after_chunk_final_cr_is_swallowed_even_alone_and_after_empty_chunks() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"a\r") == ["a"]
    assert decoder.feed(b"") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [""]
    assert decoder.feed(b"b\r") == ["b"]
    assert decoder.feed(b"\r") == [""]
    assert decoder.feed(b"\n") == []


def test_only_one_lf_is_swallowed_after_a_chunk_final_cr() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"a\r") == ["a"]
    assert decoder.feed(b"\n\n") == [""]


def test_final_cr_is_a_complete_line_end() -> None:
    # A CR that is the last byte of the stream is a line end (no LF follows).
    assert check_line_chunking(b"a\rb\r") == ["a", "b"]


# --------------------------------------------------------------------------- end of input


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", []),
        (b"abc", []),
        (b"a\nbc", ["a"]),
        (b"a\r\nb", ["a"]),
        (b"a\n\xc3", ["a"]),
    ],
)
def test_unterminated_last_line_is_discarded(data: bytes, lines: list[str]) -> None:
    assert check_line_chunking(data) == lines


def test_close_returns_nothing_and_then_feeding_is_a_usage_error() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"a\npartial") == ["a"]
    assert decoder.close() == []
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"\n")


# --------------------------------------------------------------------------- BOM


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"\xef\xbb\xbfa\n", ["a"]),
        (b"\xef\xbb\xbf\n", [""]),
        (b"\xef\xbb\xbf", []),
        # A second BOM is ordinary text.
        (b"\xef\xbb\xbf\xef\xbb\xbfa\n", ["\ufeffa"]),
        # Only a leading BOM is stripped.
        (b"a\n\xef\xbb\xbfb\n", ["a", "\ufeffb"]),
        (b"a\xef\xbb\xbf\n", ["a\ufeff"]),
        (b"\n\xef\xbb\xbf\n", ["", "\ufeff"]),
        # A BOM prefix that is not a BOM is malformed UTF-8 (one U+FFFD per
        # maximal truncated sequence), not stripped.
        (b"\xef\xbba\n", ["\ufffda"]),
        (b"\xefa\n", ["\ufffda"]),
        (b"\xef\xbb\n", ["\ufffd"]),
        (b"\xef\n", ["\ufffd"]),
        (b"\xef\xbb\xbe\n", ["\ufefe"]),
    ],
)
def test_bom(data: bytes, lines: list[str]) -> None:
    assert check_line_chunking(data) == lines


def test_bom_split_over_chunks() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert decoder.feed(b"\xbfhi\n") == ["hi"]

    decoder = sseio.LineDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb\xbf") == []
    assert decoder.feed(b"\n") == [""]


# --------------------------------------------------------------------------- UTF-8


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ("é€😀\n".encode(), ["é€😀"]),
        (b"caf\xe9\n", ["caf\ufffd"]),
        (b"\xff\n", ["\ufffd"]),
        (b"\x80\x80\n", ["\ufffd\ufffd"]),
        # Truncated multi-byte sequences: one U+FFFD per maximal subpart.
        (b"\xe2\x82\n", ["\ufffd"]),
        (b"\xf0\x9f\x98\n", ["\ufffd"]),
        (b"\xe2\x82a\n", ["\ufffda"]),
        # A line end cuts a sequence short; the next line is unaffected.
        (b"\xe2\x82\n\xac\n", ["\ufffd", "\ufffd"]),
        (b"\xc3\r\xa9\n", ["\ufffd", "\ufffd"]),
        # Surrogates encoded in UTF-8 are malformed: every byte is an error.
        (b"\xed\xa0\x80\n", ["\ufffd\ufffd\ufffd"]),
        (b"\xed\xbf\xbf\n", ["\ufffd\ufffd\ufffd"]),
        # Overlong encodings and code points above U+10FFFF.
        (b"\xc0\xaf\n", ["\ufffd\ufffd"]),
        (b"\xe0\x80\xaf\n", ["\ufffd\ufffd\ufffd"]),
        (b"\xf4\x90\x80\x80\n", ["\ufffd\ufffd\ufffd\ufffd"]),
        (b"\xf5\n", ["\ufffd"]),
        # Noncharacters and the largest code point are valid.
        (b"\xef\xbf\xbf\xf4\x8f\xbf\xbf\n", ["\uffff\U0010ffff"]),
    ],
)
def test_utf8_decoding(data: bytes, lines: list[str]) -> None:
    assert check_line_chunking(data) == lines


def test_multibyte_character_split_across_chunks() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"\xf0\x9f") == []
    assert decoder.feed(b"\x98") == []
    assert decoder.feed(b"\x80!\n") == ["😀!"]


def test_nul_is_kept() -> None:
    assert check_line_chunking(b"a\x00b\n\x00\n") == ["a\x00b", "\x00"]


# --------------------------------------------------------------------------- input types


def test_accepts_bytes_bytearray_memoryview_and_empty_chunks() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(bytearray(b"a\nb")) == ["a"]
    assert decoder.feed(memoryview(b"c\r")) == ["bc"]
    assert decoder.feed(memoryview(bytearray(b"xx\nd\n"))[2:]) == ["d"]
    assert decoder.feed(bytearray()) == []
    assert decoder.feed(memoryview(b"")) == []
    assert decoder.close() == []


def test_buffer_mutated_after_feed_does_not_change_held_bytes() -> None:
    decoder = sseio.LineDecoder()
    buffer = bytearray(b"held")
    assert decoder.feed(buffer) == []
    buffer[:] = b"XXXX"
    assert decoder.feed(b"\n") == ["held"]


# --------------------------------------------------------------------------- pending


def test_pending_counts_bytes_of_the_incomplete_line() -> None:
    decoder = sseio.LineDecoder()
    assert decoder.pending == 0
    decoder.feed(b"abc")
    assert decoder.pending == 3
    decoder.feed(b"de")
    assert decoder.pending == 5
    assert decoder.feed(b"\nxy") == ["abcde"]
    assert decoder.pending == 2
    assert decoder.feed(b"\r") == ["xy"]
    assert decoder.pending == 0


# --------------------------------------------------------------------------- max_line_size


def test_line_at_the_limit_is_accepted() -> None:
    assert check_line_chunking(b"abcd\nef\n", max_line_size=4) == ["abcd", "ef"]
    assert check_line_chunking("ééé\n".encode(), max_line_size=6) == ["ééé"]


@pytest.mark.parametrize(
    ("data", "before"),
    [
        (b"abcde\n", []),
        (b"ok\nabcde\n", ["ok"]),
        (b"ok\r\n\r\nabcdefgh", ["ok", ""]),
        (b"ok\nabcde\nnever\n", ["ok"]),
        # The limit counts bytes, not characters.
        ("é€\n".encode(), []),
    ],
)
def test_line_over_the_limit_raises(data: bytes, before: list[str]) -> None:
    outcome = check_line_chunking_outcome(data, max_line_size=4)
    assert outcome.error == (sseio.LimitExceeded, "max_line_size", 4)
    assert list(outcome.items) == before


def test_limit_error_carries_lines_of_the_same_feed_and_then_decoder_is_unusable() -> None:
    decoder = sseio.LineDecoder(max_line_size=8)
    assert decoder.feed(b"zero\n") == ["zero"]
    with pytest.raises(sseio.LimitExceeded) as info:
        decoder.feed(b"one\ntwo\r\nthis line is too long\nthree\n")
    exc = info.value
    assert isinstance(exc, sseio.ProtocolError)
    assert isinstance(exc, sseio.SSEError)
    assert exc.limit_name == "max_line_size"
    assert exc.limit == 8
    assert exc.size > 8
    assert exc.events == ["one", "two"]
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"four\n")


def test_unterminated_line_over_the_limit_raises_while_streaming() -> None:
    decoder = sseio.LineDecoder(max_line_size=16)
    decoder.feed(b"x" * 16)
    with pytest.raises(sseio.LimitExceeded) as info:
        decoder.feed(b"x")
    assert info.value.size >= 17
    assert info.value.events == []
    with pytest.raises(sseio.UsageError):
        decoder.feed(b"\n")


def test_pending_grows_to_the_limit_and_no_further() -> None:
    decoder = sseio.LineDecoder(max_line_size=1000)
    for fed in range(7, 1001, 7):
        assert decoder.feed(b"x" * 7) == []
        assert decoder.pending == fed
    # 994 bytes are held; 7 more go over the limit.
    with pytest.raises(sseio.LimitExceeded):
        decoder.feed(b"x" * 7)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10", None])
def test_invalid_max_line_size_is_a_usage_error(bad: object) -> None:
    with pytest.raises(sseio.UsageError):
        sseio.LineDecoder(max_line_size=bad)  # type: ignore[arg-type]
