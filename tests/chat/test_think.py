"""Tests for ``sseio.chat._think``: inline ``<think>``/``<ser>`` blocks split from streamed text.

Examples cover text without tags, one or several blocks, interleaved blocks,
tags cut at every position (two, three and one-character pieces), what
``close()`` releases (an unclosed block, a partial open or close tag), stray
and nested tags, ``<`` that starts no tag, empty pieces, unicode, custom tag
sets, the closed state and bad tag sets.  Every example is checked over every
chunking of its input.

Properties (hypothesis): chunking never changes the result; the splitter
agrees with a plain left-to-right reference scan kept here, on the default
tags and on random tag sets; no character is lost or invented; held-back text
stays shorter than the longest tag and tags are consumed as soon as they are
complete.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sseio._core.errors import UsageError
from sseio.chat._think import DEFAULT_TAGS, ThinkSplitter, split_think

Tags = Sequence[tuple[str, str]]

# --------------------------------------------------------------------------- helpers


def reference_split(text: str, tags: Tags = DEFAULT_TAGS) -> tuple[str, str, list[tuple[int, str]]]:
    """The rules as a plain scan: ``(content, reasoning, [(end offset, tag) removed])``."""
    close_of = dict(tags)
    content: list[str] = []
    reasoning: list[str] = []
    removed: list[tuple[int, str]] = []
    close: str | None = None
    i = 0
    while i < len(text):
        if close is None:
            opened = [tag for tag in close_of if text.startswith(tag, i)]
            if opened:
                (tag,) = opened
                close = close_of[tag]
                i += len(tag)
                removed.append((i, tag))
                continue
            content.append(text[i])
        else:
            if text.startswith(close, i):
                i += len(close)
                removed.append((i, close))
                close = None
                continue
            reasoning.append(text[i])
        i += 1
    return "".join(content), "".join(reasoning), removed


def split_at(text: str, points: Sequence[int]) -> list[str]:
    bounds = [0, *points, len(text)]
    return [text[start:end] for start, end in pairwise(bounds)]


def chunkings(text: str) -> Iterator[list[str]]:
    """Whole, one character at a time (also with empty pieces between), every split point,
    and every pair of split points for short texts."""
    yield [text]
    yield list(text)
    yield ["", *(piece for char in text for piece in (char, ""))]
    for point in range(len(text) + 1):
        yield split_at(text, [point])
    if len(text) <= 40:
        for pair in combinations(range(1, len(text)), 2):
            yield split_at(text, pair)


def run(pieces: Sequence[str], tags: Tags = DEFAULT_TAGS) -> tuple[str, str]:
    splitter = ThinkSplitter(tags)
    content: list[str] = []
    reasoning: list[str] = []
    for piece in [*pieces, None]:
        new_content, new_reasoning = splitter.close() if piece is None else splitter.feed(piece)
        content.append(new_content)
        reasoning.append(new_reasoning)
    return "".join(content), "".join(reasoning)


def check(text: str, content: str, reasoning: str, tags: Tags = DEFAULT_TAGS) -> None:
    """``text`` gives ``(content, reasoning)`` in every chunking, and by ``split_think``."""
    assert split_think(text, tags) == (content, reasoning)
    for pieces in chunkings(text):
        assert run(pieces, tags) == (content, reasoning), pieces


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("text", "content", "reasoning"),
    [
        ("", "", ""),
        ("Hello, world.", "Hello, world.", ""),
        ("<think>plan</think>", "", "plan"),
        ("<think>plan</think>\n\nThe answer.", "\n\nThe answer.", "plan"),
        ("<think></think>answer", "answer", ""),
        ("<ser>feel</ser>answer", "answer", "feel"),
        (
            "<think>a</think>First.<ser>b</ser> Then.<think>c</think> Done.",
            "First. Then. Done.",
            "abc",
        ),
        ("intro <think>x</think> outro", "intro  outro", "x"),
        ("<think>x</think><think>y</think>", "", "xy"),
    ],
)
def test_blocks(text: str, content: str, reasoning: str) -> None:
    check(text, content, reasoning)


def test_state_follows_blocks() -> None:
    splitter = ThinkSplitter()
    assert (splitter.in_reasoning, splitter.tag) == (False, None)
    assert splitter.feed("a<think>b") == ("a", "b")
    assert (splitter.in_reasoning, splitter.tag) == (True, "<think>")
    assert splitter.feed("c</think>d<ser>") == ("d", "c")
    assert (splitter.in_reasoning, splitter.tag) == (True, "<ser>")
    assert splitter.feed("e</ser>") == ("", "e")
    assert (splitter.in_reasoning, splitter.tag) == (False, None)
    assert splitter.close() == ("", "")


@pytest.mark.parametrize("tag", ["<think>", "</think>", "<ser>", "</ser>"])
def test_tag_cut_at_every_position(tag: str) -> None:
    text = "<think>r1</think>c1<ser>r2</ser>c2"
    at = text.index(tag)
    for cut in range(at + 1, at + len(tag)):
        splitter = ThinkSplitter()
        first = splitter.feed(text[:cut])
        second = splitter.feed(text[cut:])
        end = splitter.close()
        assert "".join(part[0] for part in (first, second, end)) == "c1c2", cut
        assert "".join(part[1] for part in (first, second, end)) == "r1r2", cut
        assert end == ("", "")


def test_open_tag_one_character_at_a_time() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hi ") == ("Hi ", "")
    for char in "<think":
        assert splitter.feed(char) == ("", "")
        assert not splitter.in_reasoning
    assert splitter.feed(">") == ("", "")
    assert splitter.in_reasoning
    assert splitter.feed("why") == ("", "why")
    for char in "</think":
        assert splitter.feed(char) == ("", "")
    assert splitter.feed(">") == ("", "")
    assert not splitter.in_reasoning
    assert splitter.feed("so") == ("so", "")


def test_tag_over_three_pieces() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("a<") == ("a", "")
    assert splitter.feed("/think") == ("</think", "")  # a close tag outside a block is text
    splitter = ThinkSplitter()
    assert [splitter.feed(piece) for piece in ["<", "thi", "nk", ">x"]] == [
        ("", ""),
        ("", ""),
        ("", ""),
        ("", "x"),
    ]
    assert [splitter.feed(piece) for piece in ["y<", "/th", "ink", ">z"]] == [
        ("", "y"),
        ("", ""),
        ("", ""),
        ("z", ""),
    ]


def test_held_text_released_as_soon_as_it_cannot_be_a_tag() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("x<thi") == ("x", "")
    assert splitter.feed("s") == ("<this", "")
    assert splitter.feed("<se") == ("", "")
    assert splitter.feed("a") == ("<sea", "")


def test_unclosed_block_stays_reasoning() -> None:
    check("answer<think>still thinking", "answer", "still thinking")
    splitter = ThinkSplitter()
    assert splitter.feed("<think>still") == ("", "still")
    assert splitter.close() == ("", "")
    assert splitter.in_reasoning
    assert splitter.tag == "<think>"


def test_partial_open_tag_at_end_is_content() -> None:
    check("abc<thi", "abc<thi", "")
    splitter = ThinkSplitter()
    assert splitter.feed("<thi") == ("", "")
    assert splitter.close() == ("<thi", "")
    assert not splitter.in_reasoning


def test_partial_close_tag_at_end_is_reasoning() -> None:
    check("<think>abc</thin", "", "abc</thin")
    splitter = ThinkSplitter()
    assert splitter.feed("<think>abc</thin") == ("", "abc")
    assert splitter.close() == ("", "</thin")
    assert splitter.in_reasoning


def test_stray_close_tag_is_content() -> None:
    check("a</think>b</ser>c", "a</think>b</ser>c", "")
    check("<think>x</think>y</think>z", "y</think>z", "x")


def test_only_the_blocks_own_close_tag_ends_it() -> None:
    check("<think>a<ser>b</ser>c</think>d", "d", "a<ser>b</ser>c")
    check("<ser>a<think>b</think>c</ser>d", "d", "a<think>b</think>c")
    check("<think>a<think>b</think>c</think>", "c</think>", "a<think>b")


@pytest.mark.parametrize(
    "text",
    ["a < b", "x<y", "<b>bold</b>", "<", "<<", "< think>", "<thinK>", "<THINK>x</THINK>", "<>"],
)
def test_angle_brackets_that_are_not_tags_are_kept(text: str) -> None:
    check(text, text, "")


def test_tags_after_other_angle_brackets() -> None:
    check("<<think>x</think>", "<", "x")
    check("<th<think>x</think>", "<th", "x")
    check("<thi<ser>x</ser>", "<thi", "x")
    check("<think><</think>", "", "<")
    check("<think>x<</</think>>", ">", "x<</")
    check("<think>x</<ser></think>", "", "x</<ser>")


def test_whitespace_is_kept_exactly() -> None:
    check(
        "  <think>\n  plan\n</think>\n\n  Answer \n",
        "  \n\n  Answer \n",
        "\n  plan\n",
    )


def test_empty_pieces_change_nothing() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("") == ("", "")
    assert splitter.feed("<thi") == ("", "")
    assert splitter.feed("") == ("", "")
    assert splitter.feed("nk>") == ("", "")
    assert splitter.feed("") == ("", "")
    assert splitter.in_reasoning
    assert splitter.close() == ("", "")


def test_unicode_around_tags() -> None:
    check(
        "नमस्ते<think>सोच 🤔</think>उत्तर é<ser>❤️</ser>✓",
        "नमस्तेउत्तर é✓",
        "सोच 🤔❤️",
    )


def test_custom_tags() -> None:
    tags = [("[THINK]", "[/THINK]"), ("<reasoning>", "</reasoning>")]
    check(
        "a[THINK]b[/THINK]c<reasoning>d</reasoning>e<think>f</think>",
        "ace<think>f</think>",
        "bd",
        tags,
    )
    check("a[THI", "a[THI", "", tags)


def test_custom_tags_with_different_first_characters() -> None:
    tags = [("[T]", "[/T]"), ("{S}", "{/S}")]
    check("x[T]y[/T]z{S}w{/S}v", "xzv", "yw", tags)
    check("[[T]{{S}", "[", "{{S}", tags)
    splitter = ThinkSplitter(tags)
    assert splitter.feed("a{") == ("a", "")
    assert splitter.feed("S") == ("", "")
    assert splitter.feed("}b") == ("", "b")


def test_same_open_and_close_tag() -> None:
    tags = [("$$", "$$")]
    check("a$$b$$c$$d", "ac", "bd", tags)
    check("a$$$b", "a", "$b", tags)


def test_self_overlapping_close_tag() -> None:
    tags = [("<", "aab")]
    check("x<aaab y", "x y", "a", tags)
    check("<aaaab", "", "aa", tags)


def test_duplicate_pairs_are_kept_once() -> None:
    check("<think>a</think>b", "b", "a", [*DEFAULT_TAGS, ("<think>", "</think>")])


def test_feed_after_close_is_an_error() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("a<th") == ("a", "")
    assert splitter.close() == ("<th", "")
    assert splitter.close() == ("", "")
    for piece in ["", "b", "<"]:
        with pytest.raises(UsageError, match="closed"):
            splitter.feed(piece)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([], "at least one"),
        ("<think>", "pairs"),
        (None, "pairs"),
        (7, "pairs"),
        (["<think>", "</think>"], "pair"),
        ([("<think>",)], "pair"),
        ([("<a>", "</a>", "x")], "pair"),
        ([("", "</think>")], "non-empty"),
        ([("<think>", "")], "non-empty"),
        ([("<think>", None)], "non-empty"),
        ([(b"<think>", "</think>")], "non-empty"),
        ([("<think>", "</think>"), ("<think>", "</ser>")], "two close tags"),
        ([("<t", "</t>"), ("<think>", "</think>")], "inside"),
        ([("<think>", "</think>"), ("think>", "</think>")], "inside"),
    ],
)
def test_bad_tag_sets(tags: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ThinkSplitter(tags)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=message):
        split_think("", tags)  # type: ignore[arg-type]


def test_tags_may_be_any_iterable() -> None:
    pairs = iter([["<t>", "</t>"]])
    assert split_think("a<t>b</t>", pairs) == ("a", "b")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

FRAGMENTS = [
    "<think>",
    "</think>",
    "<ser>",
    "</ser>",
    "<",
    ">",
    "<th",
    "ink>",
    "</",
    "a",
    " ",
    "\n",
    "é",
    "x<y",
]

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


@st.composite
def text_and_cuts(draw: st.DrawFn, text_strategy: st.SearchStrategy[str] = texts) -> list[str]:
    text = draw(text_strategy)
    points = draw(st.lists(st.integers(0, len(text)), max_size=8))
    return split_at(text, sorted(points))


@settings(max_examples=300, deadline=None)
@given(text_and_cuts())
def test_chunking_never_changes_the_result(pieces: list[str]) -> None:
    assert run(pieces) == run(["".join(pieces)])


@settings(max_examples=300, deadline=None)
@given(text_and_cuts())
def test_agrees_with_reference(pieces: list[str]) -> None:
    content, reasoning, _ = reference_split("".join(pieces))
    assert run(pieces) == (content, reasoning)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_nothing_lost_or_invented(text: str) -> None:
    content, reasoning = split_think(text)
    _, _, removed = reference_split(text)
    assert len(content) + len(reasoning) + sum(len(tag) for _, tag in removed) == len(text)


@settings(max_examples=300, deadline=None)
@given(text_and_cuts())
def test_hold_is_bounded_and_tags_consumed_at_once(pieces: list[str]) -> None:
    _, _, removed = reference_split("".join(pieces))
    longest = max(len(tag) for pair in DEFAULT_TAGS for tag in pair)
    splitter = ThinkSplitter()
    fed = emitted = 0
    for piece in pieces:
        content, reasoning = splitter.feed(piece)
        fed += len(piece)
        emitted += len(content) + len(reasoning)
        consumed = sum(len(tag) for end, tag in removed if end <= fed)
        assert 0 <= fed - emitted - consumed < longest


# Random tag sets over a tiny alphabet, so tags overlap, repeat and share prefixes.
tag_strings = st.text("ab<", min_size=1, max_size=4)


def _valid(tags: list[tuple[str, str]]) -> bool:
    opens = [open_tag for open_tag, _ in tags]
    return not any(a in b for a, b in combinations(opens, 2)) and not any(
        b in a for a, b in combinations(opens, 2)
    )


tag_sets = st.lists(st.tuples(tag_strings, tag_strings), min_size=1, max_size=3).filter(_valid)


@settings(max_examples=400, deadline=None)
@given(tag_sets, st.data())
def test_random_tag_sets_agree_with_reference(
    tags: list[tuple[str, str]], data: st.DataObject
) -> None:
    pieces = data.draw(text_and_cuts(st.text("ab<x", max_size=30)))
    text = "".join(pieces)
    content, reasoning, removed = reference_split(text, tags)
    assert run(pieces, tags) == (content, reasoning)
    assert run(list(text), tags) == (content, reasoning)
    assert len(content) + len(reasoning) + sum(len(tag) for _, tag in removed) == len(text)


@pytest.mark.parametrize("piece", [None, b"<think>", ["<"], ["x"], 5])
def test_feed_and_split_think_take_text_only(piece: object) -> None:
    with pytest.raises(UsageError, match="takes a str"):
        ThinkSplitter().feed(piece)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="takes a str"):
        split_think(piece)  # type: ignore[arg-type]
