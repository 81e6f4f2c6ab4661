"""JSON text to Python values for chat payloads: ``loads``, as fast as what is installed allows.

``loads`` is the standard library's parser reached without its Python-level
wrapping, or orjson's when it is installed (the ``fast`` extra); either way the
values and the errors are those of ``json.loads``, so a program behaves the
same with and without orjson.  One difference from ``json.loads``, on purpose:
JSON nested too deeply for the parser is a ``ValueError``, never a
``RecursionError`` (a peer's payload must not end the caller with a foreign
exception).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from json.scanner import make_scanner
from typing import Any

__all__ = ["loads"]


def _standard_loads() -> Callable[[str], Any]:
    """``json.loads`` without its Python-level wrapping for the usual payload.

    The standard library's own scanner (the C one when available) reads a text
    that is exactly one JSON value, as chunk payloads are; anything else
    (whitespace around it, trailing data, invalid JSON) goes to ``json.loads``
    itself, so the results and the errors are those of ``json.loads``, but for
    one: JSON nested too deeply for the parser's recursion is a ``ValueError``
    here (a peer's payload must not end the caller with a ``RecursionError``).
    """
    scanner_for: Any = make_scanner  # typeshed types it as a class of its own
    scan: Callable[[str, int], tuple[Any, int]] = scanner_for(json.JSONDecoder())
    slow = json.loads

    def loads(text: str) -> Any:
        try:
            try:
                value, end = scan(text, 0)
            except StopIteration:
                return slow(text)
            if end != len(text):
                return slow(text)
            return value
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None

    return loads


def _load_with_fallback() -> Callable[[str], Any]:
    """The standard library's parser, or a faster library's when installed, with identical results.

    A faster parser is used only where it agrees with the standard library; on
    anything it refuses (lone surrogates, NaN, infinite numbers...) the standard
    library decides, so the result and the errors are the same.  orjson reads an
    integer beyond 64 bits as a float instead of refusing it, so a text holding
    a run of 19 or more digits (where such an integer would have to be, from
    -2**63 - 1 outwards) goes to the standard library without asking orjson.
    The run is looked for in C: the UTF-8 bytes, every digit made ``0`` and
    every other byte ``x`` by one ``translate``, then one substring search (a
    regular expression is four times slower than orjson's whole parse).
    """
    standard = _standard_loads()
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return standard
    fast = orjson.loads
    refused = orjson.JSONDecodeError
    digits = bytes(48 if 48 <= byte <= 57 else 120 for byte in range(256))
    long_run = b"0" * 19

    def loads(text: str) -> Any:
        if long_run in text.encode("utf-8", "surrogatepass").translate(digits):
            return standard(text)
        try:
            return fast(text)
        except refused:
            return standard(text)

    return loads


loads = _load_with_fallback()
