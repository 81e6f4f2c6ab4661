"""Shared pieces of the conformance tool tests: vectors by name, a parser with a seeded bug,
and a few client-test vectors of our own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sseio
from sseio.conformance._client_judging import ClientTest
from sseio.conformance._client_tests import behaviour_tests
from sseio.conformance._vectors import Vector, load_vectors

# --- the parser scorer ---------------------------------------------------------------------

VECTORS = {v.name: v for v in load_vectors()}


def pick(*names: str) -> list[Vector]:
    return [VECTORS[name] for name in names]


def bom_keeping_adapter(chunks: Iterable[bytes]) -> list[Any]:
    """sseio with a seeded bug: the stream's BOM reaches the decoder as a second BOM."""
    decoder = sseio.SSEDecoder(done_sentinel=None)
    events: list[Any] = decoder.feed(b"\xef\xbb\xbf")
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


# --- a few client-test vectors of our own (the shipped corpus is exercised by the CLI run) -


@dataclass(frozen=True)
class Expected:
    type: str
    data: str
    id: str


@dataclass(frozen=True)
class OwnVector:
    name: str
    rule: str
    input: bytes
    events: tuple[Expected, ...]


OWN_VECTORS = (
    OwnVector(
        "crlf-and-utf-8",
        "CRLF line ends; multi-byte characters",
        "id: é1\r\ndata: caf\u00e9 \U0001f642\r\n\r\n".encode(),
        (Expected("message", "caf\u00e9 \U0001f642", "é1"),),
    ),
    OwnVector(
        "bom-and-cr",
        "one BOM stripped; CR ends lines",
        b"\xef\xbb\xbfevent: x\rdata: a\r\r",
        (Expected("x", "a", ""),),
    ),
    OwnVector(
        "eof-discards",
        "an unterminated event is discarded",
        b"data: kept\n\ndata: lost",
        (Expected("message", "kept", ""),),
    ),
)


def behaviour_test(name: str) -> ClientTest:
    """The shipped behaviour test called ``name``."""
    return next(test for test in behaviour_tests() if test.name == name)
