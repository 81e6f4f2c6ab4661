"""Hypothesis strategies for the fuzz properties: event streams aimed at the hard spots.

Uniformly random bytes almost never form a ``data:`` line, let alone a CRLF
split across two reads, so these strategies build streams out of the pieces
where SSE parsers go wrong and then cut them where it hurts:

- line ends: LF, CR and CRLF in any mix (a CR line end followed by an empty LF
  line is CRLF on the wire: one line end, not two), runs of blank lines;
- the start of the stream: no BOM, one, two, a partial one;
- field lines with odd spacing and near-miss names (``Data``, ``data ``,
  BOM + ``data``...), ``id`` with NUL, ``retry`` with signs, decimals, non-ASCII
  digits and values past 2**63, comments, unknown fields;
- text: multi-byte UTF-8, U+2028 / NEL (not line ends), NUL, invalid UTF-8
  (truncated sequences, lone continuation bytes, surrogates, overlongs);
- giant lines of a few hundred KiB, and lines near a small configured limit;
- chunkings (``split_points``): random offsets, offsets next to CR, LF and
  non-ASCII bytes (so CRLF pairs, BOMs and UTF-8 characters get split), one
  read per line or per event (how servers flush), one byte at a time,
  fixed-size reads, and empty chunks.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "BOM",
    "INVALID_UTF8",
    "byte_soup",
    "chunked",
    "decoder_options",
    "encodable_events",
    "giant_line",
    "limit_sizes",
    "line_ends",
    "lines",
    "sentinels",
    "small_limits",
    "split_at",
    "split_points",
    "streams",
]

BOM = b"\xef\xbb\xbf"

INVALID_UTF8: tuple[bytes, ...] = (
    b"\xff",  # never valid
    b"\xfe",
    b"\x80",  # lone continuation byte
    b"\xbf",
    b"\xc0\xaf",  # overlong "/"
    b"\xc3",  # truncated two-byte sequence
    b"\xe2\x82",  # truncated three-byte sequence
    b"\xf0\x9f\x98",  # truncated four-byte sequence
    b"\xed\xa0\x80",  # UTF-16 surrogate
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xef\xbb",  # a BOM cut short
)

# Characters worth having in text: multi-byte UTF-8 of every length, characters
# other formats treat as line ends, BOM, the replacement character, NUL, tab.
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")
_BLANK_LINE = re.compile(rb"(?:\r\n|\r|\n)(?:\r\n|\r|\n)")
_NON_ASCII = re.compile(rb"[\x80-\xff]")

_CHARS = "é€😀中\u2028\u2029\u0085\x0b\x0c\x1c\ufeff\ufffd\U0010ffff\x00\t :[]"

# Known field names, weighted roughly as in real streams.
_KNOWN_NAMES: tuple[bytes, ...] = (
    *(b"data",) * 6,
    *(b"event",) * 2,
    *(b"id",) * 3,
    *(b"retry",) * 3,
)

# Names that are nearly a known one: all of them are unknown fields.
_NEAR_NAMES: tuple[bytes, ...] = (
    b"Data",
    b"DATA",
    b"data ",
    b" data",
    b"dat",
    b"datas",
    b"ID",
    b"retr",
    b"retry ",
    b"Event",
    BOM + b"data",
    b"",
    b"\x00",
    b"x-unknown",
    b"dataxxxx",
)

_SEPARATORS: tuple[bytes, ...] = (
    *(b": ",) * 6,
    *(b":",) * 3,
    b":  ",
    b":\t",
    b": \t",
    b"",
    b" :",
)

_RETRY_VALUES: tuple[bytes, ...] = (
    b"0",
    b"1000",
    b"3000",
    b"007",
    b"",
    b" 1",
    b"1 ",
    b"+1",
    b"-1",
    b"1.5",
    b"1_000",
    b"1000x",
    b"\xd9\xa1",  # ARABIC-INDIC DIGIT ONE
    b"\xef\xbc\x91",  # FULLWIDTH DIGIT ONE
    b"\xc2\xb2",  # SUPERSCRIPT TWO
    b"9" * 19,
    b"9223372036854775807",
    b"9223372036854775808",
    b"9" * 40,
    b"0" * 30 + b"5",
)

_DATA_VALUES: tuple[bytes, ...] = (
    b"[DONE]",
    b"[DONE]",
    b" [DONE]",
    b"[DONE] ",
    b"",
    b"",
    b"x",
    b"a",
    b"\x00",
    b'{"id":"c1","choices":[{"delta":{"content":"hi"}}]}',
    b"\xef\xbf\xbd",  # U+FFFD itself
    b"\xff",  # becomes U+FFFD
)

_ID_VALUES: tuple[bytes, ...] = (
    b"",
    b"1",
    b"a\x00b",
    b"\x00",
    b"42",
    b" 7",
    b"\xff",
    b"\xef\xbf\xbd",
)

_EVENT_VALUES: tuple[bytes, ...] = (b"", b"message", b"update", b"error", b" x", b"\xff", b"\x00")

_SPECIAL_VALUES: dict[bytes, tuple[bytes, ...]] = {
    b"data": _DATA_VALUES,
    b"event": _EVENT_VALUES,
    b"id": _ID_VALUES,
    b"retry": _RETRY_VALUES,
}


def line_ends() -> st.SearchStrategy[bytes]:
    """LF, CR or CRLF (LF most often, as in real streams)."""
    return st.sampled_from((b"\n", b"\n", b"\r", b"\r\n"))


def _text_bytes(max_size: int = 16) -> st.SearchStrategy[bytes]:
    """UTF-8 text with interesting characters, spliced with invalid sequences; no CR or LF."""
    chars = st.one_of(
        st.sampled_from(_CHARS),
        st.characters(codec="utf-8", exclude_characters="\r\n"),
    )
    piece = st.one_of(
        st.text(chars, max_size=max_size).map(lambda text: text.encode()),
        st.sampled_from(INVALID_UTF8),
    )
    return st.lists(piece, max_size=4).map(b"".join)


def _values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        _text_bytes(),
        st.sampled_from(_DATA_VALUES + _ID_VALUES + _RETRY_VALUES + _EVENT_VALUES),
        st.integers(0, 2**70).map(lambda n: str(n).encode()),
    )


@st.composite
def _field_line(draw: st.DrawFn) -> bytes:
    """A field line: mostly a known name with a value picked for it, sometimes a near miss."""
    kind = draw(st.sampled_from(("known",) * 6 + ("near",) * 2 + ("random",)))
    if kind == "known":
        name = draw(st.sampled_from(_KNOWN_NAMES))
    elif kind == "near":
        name = draw(st.sampled_from(_NEAR_NAMES))
    else:
        name = draw(_text_bytes(6))
    special = _SPECIAL_VALUES.get(name)
    if special and draw(st.sampled_from((True, True, False))):
        value = draw(st.sampled_from(special))
    else:
        value = draw(_values())
    return name + draw(st.sampled_from(_SEPARATORS)) + value


def _comment_line() -> st.SearchStrategy[bytes]:
    return st.tuples(st.sampled_from((b":", b": ", b":  ")), _text_bytes()).map(b"".join)


def _sized_line(max_size: int = 600) -> st.SearchStrategy[bytes]:
    """A line of a chosen length (for small limits): data, id, a comment or an unknown field."""
    return st.tuples(
        st.sampled_from((b"data: ", b"data:", b"id: ", b"event: ", b":", b"x-pad: ", b"dataxx")),
        st.integers(0, max_size),
        st.sampled_from((b"x", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\x00")),
    ).map(lambda t: t[0] + t[2] * (t[1] // len(t[2])))


def giant_line() -> st.SearchStrategy[bytes]:
    """A line (no line end) of 100-400 KiB, or 30-70 KiB: mostly data, sometimes other kinds."""
    return st.tuples(
        st.sampled_from((b"data: ", b"data: ", b"data:", b"id: ", b"event: ", b": ", b"x-big: ")),
        st.integers(100 * 1024, 400 * 1024) | st.integers(30 * 1024, 70 * 1024),
        st.binary(min_size=1, max_size=8).filter(lambda b: b"\r" not in b and b"\n" not in b)
        | st.sampled_from((b"A", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80")),
    ).map(lambda t: t[0] + (t[2] * (t[1] // len(t[2]) + 1))[: t[1]])


def lines(*, sized: bool = False) -> st.SearchStrategy[bytes]:
    """One line without its line end: field lines most often, comments, raw bytes."""
    kinds = [
        _field_line(),
        _field_line(),
        _field_line(),
        _comment_line(),
        _text_bytes(),
        st.binary(max_size=12).filter(lambda b: b"\r" not in b and b"\n" not in b),
    ]
    if sized:
        kinds.append(_sized_line())
    return st.one_of(kinds)


@st.composite
def streams(draw: st.DrawFn, *, giant: bool = False, sized: bool = False) -> bytes:
    """A byte stream: an optional BOM or near-BOM, then lines, events, blank-line runs, a tail.

    ``giant=True`` sometimes adds one line of a few hundred KiB; ``sized=True``
    adds lines of chosen lengths up to 600 bytes (for tests with small limits).
    """
    out = [
        draw(st.sampled_from((b"", b"", b"", BOM, BOM, BOM + BOM, BOM[:2], BOM[:1], BOM + b"\r")))
    ]
    line = lines(sized=sized)
    for kind in draw(st.lists(st.sampled_from("llllleebbr"), max_size=24)):
        if kind == "l":
            out.append(draw(line) + draw(line_ends()))
        elif kind == "e":
            # A one-line data event, the shape of nearly every LLM stream chunk.
            value = draw(st.sampled_from(_DATA_VALUES) | _text_bytes())
            out.append(b"data: " + value + b"\n\n")
        elif kind == "b":
            out.extend(draw(st.lists(line_ends(), min_size=1, max_size=4)))
        else:
            # A data line whose value is cut by a line end of each kind in turn.
            out.append(b"data: " + draw(_text_bytes()) + draw(line_ends()) + b"\n")
    if giant and draw(st.integers(0, 9)) == 0:
        position = draw(st.integers(0, len(out)))
        out.insert(position, draw(giant_line()) + draw(line_ends()) + b"\n")
    if draw(st.booleans()):
        out.append(draw(line))  # an unterminated last line: discarded at close
    return b"".join(out)


_FRAGMENTS: tuple[bytes, ...] = (
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\r\r",
    b":",
    b": ",
    b" ",
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"id:",
    b"retry:",
    b"retry: 1",
    b"[DONE]",
    b"\x00",
    BOM,
    *INVALID_UTF8,
    "é€😀".encode(),
)


def byte_soup() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or a jumble of stream fragments and random bytes."""
    return st.one_of(
        st.binary(max_size=256),
        st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.binary(max_size=6)), max_size=40).map(
            b"".join
        ),
        streams(sized=True),
    )


@st.composite
def split_points(draw: st.DrawFn, data: bytes, *, max_chunks: int = 4096) -> list[int]:
    """Sorted offsets (``0..len(data)``, repeats allowed: empty chunks) to cut ``data`` at."""
    size = len(data)
    mode = draw(
        st.sampled_from(("random", "hard", "hard", "lines", "events", "bytewise", "fixed", "whole"))
    )
    if size == 0 or mode == "whole":
        return []
    if mode in ("lines", "events"):
        # One read per line, or per event: how most servers flush.
        pattern = _LINE_END_BYTES if mode == "lines" else _BLANK_LINE
        return [match.end() for match in itertools.islice(pattern.finditer(data), max_chunks)]
    if mode == "bytewise" and size < max_chunks:
        return list(range(1, size))
    if mode == "fixed" or mode == "bytewise":
        step = max(draw(st.integers(1, 64)), size // max_chunks + 1)
        return list(range(step, size, step))
    if mode == "hard":
        # Around line ends (CRLF pairs, the start of the next line's "data: "),
        # inside multi-byte characters and BOMs.
        candidates = {1, 2, 3, size - 1}
        for match in itertools.islice(_LINE_END_BYTES.finditer(data), 2000):
            index = match.start()
            candidates.update((index, index + 1, index + 2, index + 4, index + 6, index + 7))
        for match in itertools.islice(_NON_ASCII.finditer(data), 2000):
            candidates.update((match.start(), match.start() + 1))
        pool = sorted(point for point in candidates if 0 <= point <= size)
        points = draw(st.lists(st.sampled_from(pool), max_size=24))
    else:
        points = draw(st.lists(st.integers(0, size), max_size=24))
    return sorted(points)


def split_at(data: bytes, points: list[int]) -> list[bytes]:
    """Cut ``data`` at sorted ``points``; repeated points give empty chunks."""
    chunks = []
    start = 0
    for point in points:
        chunks.append(data[start:point])
        start = point
    chunks.append(data[start:])
    return chunks


@st.composite
def chunked(draw: st.DrawFn, data_strategy: st.SearchStrategy[bytes]) -> tuple[bytes, list[int]]:
    """A stream drawn from ``data_strategy`` with a chunking of it."""
    data = draw(data_strategy)
    return data, draw(split_points(data))


_SENTINELS: tuple[str | None, ...] = (
    "[DONE]",
    "[DONE]",
    None,
    "",
    "\ufffd",
    "x",
    "[DONE]\n[DONE]",
    " [DONE]",
)


def sentinels() -> st.SearchStrategy[str | None]:
    """Values for ``done_sentinel``: the default, off, empty, odd ones, short text."""
    return st.one_of(st.sampled_from(_SENTINELS), st.text(max_size=6))


def limit_sizes() -> st.SearchStrategy[int]:
    """A small limit: tiny (1-16 bytes) or a few lines' worth (32-512)."""
    return st.one_of(st.integers(1, 16), st.sampled_from((32, 64, 100, 256, 512)))


def small_limits() -> st.SearchStrategy[dict[str, int]]:
    """``max_line_size`` / ``max_event_size`` small enough for a few lines to break them."""
    return st.fixed_dictionaries({"max_line_size": limit_sizes(), "max_event_size": limit_sizes()})


def decoder_options(
    *, limits: bool = False, initial_state: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``SSEDecoder``: sentinel, comments, and optionally more.

    ``limits=True`` adds small limits, ``initial_state=True`` a starting
    ``last_event_id`` and ``retry`` (as when continuing after a reconnect).
    """
    options: dict[str, st.SearchStrategy[Any]] = {
        "done_sentinel": sentinels(),
        "comments": st.booleans(),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if limits:
        optional["max_line_size"] = limit_sizes()
        optional["max_event_size"] = limit_sizes()
    if initial_state:
        optional["last_event_id"] = st.text(
            st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=4
        )
        optional["retry"] = st.one_of(st.none(), st.integers(0, 2**63 - 1))
    return st.fixed_dictionaries(options, optional=optional)


def _single_line_text(*, nul: bool = True) -> st.SearchStrategy[str]:
    """Text for ``event`` / ``id``: no CR or LF, and no NUL unless ``nul``."""
    excluded = "\r\n" if nul else "\r\n\0"
    special = "".join(c for c in _CHARS if c not in excluded)
    return st.text(
        st.one_of(
            st.sampled_from(special),
            st.characters(codec="utf-8", exclude_characters=excluded),
        ),
        max_size=12,
    )


def encodable_events() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``encode_event`` that it must accept.

    ``data`` may hold CR, LF and CRLF (each line becomes a ``data:`` line);
    ``event`` and ``id`` are single lines, ``id`` without NUL; ``retry`` runs past
    2**63 (decoded exactly); ``comment`` may span lines.
    """
    multiline = st.text(
        st.one_of(st.sampled_from(_CHARS + "\r\n"), st.characters(codec="utf-8")), max_size=24
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "data": st.one_of(st.none(), multiline, st.sampled_from(("", "[DONE]", "\n", "\r\n"))),
            "event": st.one_of(st.none(), _single_line_text()),
            "id": st.one_of(st.none(), _single_line_text(nul=False)),
            "retry": st.one_of(st.none(), st.integers(0, 2**70)),
            "comment": st.one_of(st.none(), multiline),
        },
    )
