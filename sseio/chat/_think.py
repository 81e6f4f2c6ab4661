"""Inline reasoning: split streamed chat text into answer text and reasoning text.

Some reasoning models write their reasoning into the ordinary content stream,
inside tagged blocks (``<think>…</think>``, ``<ser>…</ser>``), and may open
several blocks in one answer, between stretches of answer text.  The text
arrives in small pieces, and a tag can be cut anywhere (``<thi`` | ``nk>``).
``ThinkSplitter`` is a pure state machine: ``feed(piece)`` returns the
``(content, reasoning)`` text that piece made certain, ``close()`` ends the
stream.  ``split_think(text)`` does both for a whole text.

The rules:

- Outside a block, any open tag starts a block of that kind.  Inside a block
  only that block's close tag ends it: another open tag in there (a ``<ser>``
  inside ``<think>``) is reasoning text, and a close tag outside any block (a
  stray ``</think>``) is ordinary content.  Blocks do not nest.
- Any number of blocks per answer; text before, between and after them is
  content.
- Tags are matched exactly, case-sensitively (``<THINK>`` is not a tag), and
  never appear in either output.  Text is read left to right and the first
  tag to be complete is taken (``<<think>`` is the content ``<``, then a block).
- Text is kept exactly: nothing is stripped or added, so the newlines a model
  puts after ``</think>`` are the start of the content.  Display code that
  wants them gone strips them.  Every character of the input that is not part
  of a tag comes out exactly once, in order, as content or as reasoning.
- Text that could still turn out to be the start of a tag (``<th`` at the end of
  a piece, outside a block) is held back until the next ``feed`` or ``close``;
  at most ``len(longest tag) - 1`` characters are ever held.  At ``close()`` a
  tag that never completed is ordinary text of the mode it appeared in, and a
  block that was never closed stays reasoning (``in_reasoning`` then still
  says ``True``: the stream ended inside a block).
- Chunking never changes the result: the pieces' outputs, joined, are the same
  however the text was cut.

Tag sets are checked when the splitter is made: every tag a non-empty string,
and no open tag inside another (``<t`` next to ``<think>``, or the same open tag
twice with different close tags), which would make the first match depend on
text not yet received.  Pairs listed twice are kept once.

Cost: a piece that holds no character a tag can start with, while no tag
fragment is held, is a single ``in`` test and comes back as it is (the common
case, almost every token of a stream; it needs the tags that can come next to
share their first character, as the default ``<`` tags do).  Other pieces are
searched once with C-level ``find`` and a compiled pattern, plus a look at the
last ``len(longest tag) - 1`` characters for a tag fragment, so the total work
is linear in the text however it is cut.

``feed`` and ``split_think`` take ``str`` only (``None`` is not an empty piece):
anything else is a ``UsageError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .._core.errors import UsageError

__all__ = ["DEFAULT_TAGS", "ThinkSplitter", "split_think"]

DEFAULT_TAGS: tuple[tuple[str, str], ...] = (("<think>", "</think>"), ("<ser>", "</ser>"))
"""The reasoning blocks HelpingAI's Dhanishtha models write inline: thinking and
structured emotional reasoning."""


def _checked_pairs(tags: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The tag set as ``{open: close}``, or a ``UsageError`` saying what is wrong with it."""
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise UsageError(f"tags must be (open, close) pairs, got {tags!r}")
    pairs: dict[str, str] = {}
    for pair in tags:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise UsageError(f"each tag must be an (open, close) pair of strings, got {pair!r}")
        open_tag, close_tag = pair
        for tag in pair:
            if not isinstance(tag, str) or not tag:
                raise UsageError(f"tags must be non-empty strings, got {tag!r} in {pair!r}")
        if pairs.get(open_tag, close_tag) != close_tag:
            raise UsageError(
                f"open tag {open_tag!r} has two close tags: {pairs[open_tag]!r} and {close_tag!r}"
            )
        pairs[open_tag] = close_tag
    if not pairs:
        raise UsageError("tags must hold at least one (open, close) pair")
    for inner in pairs:
        for outer in pairs:
            if inner != outer and inner in outer:
                raise UsageError(f"open tag {inner!r} is inside open tag {outer!r}")
    return pairs


def _proper_prefixes(tags: Iterable[str]) -> frozenset[str]:
    return frozenset(tag[:size] for tag in tags for size in range(1, len(tag)))


class ThinkSplitter:
    """Incremental splitter of streamed text into ``(content, reasoning)``.

    See the module documentation for the rules.  ``feed`` after ``close``
    raises ``UsageError``; ``close`` again returns ``("", "")``.
    """

    def __init__(self, tags: Iterable[tuple[str, str]] = DEFAULT_TAGS) -> None:
        self._close_of = _checked_pairs(tags)
        opens = list(self._close_of)
        self._open_pattern = re.compile("|".join(map(re.escape, opens)))
        self._open_prefixes = _proper_prefixes(opens)
        self._open_firsts = "".join({tag[0]: None for tag in opens})
        self._open_stop = self._open_firsts if len(self._open_firsts) == 1 else ""
        self._close_prefixes = {
            close: _proper_prefixes([close]) for close in self._close_of.values()
        }
        self._longest_open = max(map(len, opens))
        self._open: str | None = None
        self._close: str | None = None
        self._held = ""
        self._closed = False
        # The fast path's test: a piece without this character needs no work.
        # "" whenever the slow path must run (text held, closed, no common start).
        self._stop = self._open_stop

    @property
    def in_reasoning(self) -> bool:
        """Inside a block now (after ``close()``: the stream ended inside one)."""
        return self._open is not None

    @property
    def tag(self) -> str | None:
        """The open tag of the current block (``"<think>"``), ``None`` outside any block."""
        return self._open

    def feed(self, text: str) -> tuple[str, str]:
        """Return the ``(content, reasoning)`` text this piece made certain."""
        if not isinstance(text, str):
            raise UsageError(f"feed() takes a str, got {type(text).__name__}")
        if self._stop not in text:
            return (text, "") if self._open is None else ("", text)
        return self._split(text)

    def close(self) -> tuple[str, str]:
        """End of the stream: release held text as text of the current mode."""
        held, self._held = self._held, ""
        self._closed = True
        self._stop = ""
        return (held, "") if self._open is None else ("", held)

    def _split(self, text: str) -> tuple[str, str]:
        if self._closed:
            raise UsageError("think splitter cannot be fed: it was closed")
        buffer = self._held + text
        content: list[str] = []
        reasoning: list[str] = []
        position = 0
        while True:
            if self._close is None:
                match = self._open_pattern.search(buffer, position)
                if match is None:
                    break
                content.append(buffer[position : match.start()])
                self._open = match.group()
                self._close = self._close_of[self._open]
                position = match.end()
            else:
                start = buffer.find(self._close, position)
                if start < 0:
                    break
                reasoning.append(buffer[position:start])
                position = start + len(self._close)
                self._open = self._close = None
        hold = self._hold_start(buffer, position)
        self._held = buffer[hold:]
        (content if self._close is None else reasoning).append(buffer[position:hold])
        if self._held:
            self._stop = ""
        elif self._close is None:
            self._stop = self._open_stop
        else:
            self._stop = self._close[0]
        return "".join(content), "".join(reasoning)

    def _hold_start(self, buffer: str, position: int) -> int:
        """Where the longest tail of ``buffer[position:]`` that may start a tag begins."""
        if self._close is None:
            prefixes, firsts, longest = self._open_prefixes, self._open_firsts, self._longest_open
        else:
            prefixes, firsts, longest = (
                self._close_prefixes[self._close],
                self._close[0],
                len(self._close),
            )
        hold = len(buffer)
        window = hold - longest + 1
        if window < position:
            window = position
        for first in firsts:
            start = buffer.find(first, window, hold)
            while start >= 0:
                if buffer[start:] in prefixes:
                    hold = start
                    break
                start = buffer.find(first, start + 1, hold)
        return hold


def split_think(text: str, tags: Iterable[tuple[str, str]] = DEFAULT_TAGS) -> tuple[str, str]:
    """Split a whole text into ``(content, reasoning)`` by the ``ThinkSplitter`` rules."""
    if not isinstance(text, str):
        raise UsageError(f"split_think() takes a str, got {type(text).__name__}")
    splitter = ThinkSplitter(tags)
    content, reasoning = splitter.feed(text)
    rest_content, rest_reasoning = splitter.close()
    return content + rest_content, reasoning + rest_reasoning
