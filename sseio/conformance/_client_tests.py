"""The client conformance tests: every vector, delivered three ways, and the behaviours.

The tests are every shipped vector (``sseio.conformance._vectors``) delivered whole, one
byte per chunk and split at awkward points (inside CRLF, inside multi-byte
UTF-8 characters), plus behaviours: reconnection with ``Last-Event-ID`` (and
without it when the last ID is empty), honouring ``retry:``, stopping on 204,
failing on a wrong content type or a non-200 status, invalid UTF-8, a giant
event, keepalive comments after an ``id``, the ``[DONE]`` sentinel, a BOM and
mixed line endings.  Each test knows what a correct client must end up with
(its judge, see ``sseio.conformance._client_judging``).

Pure: building the tests does no I/O.  Everything they ask of a client is
bounded: short retry times, short deadlines, 204 once a script is spent, and
the awkward fragmentation uses at most ``_MAX_AWKWARD_POINTS`` split points
and half a second of pauses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any, Protocol

from .._core.errors import UsageError
from ._client_adapters import ClientResult
from ._client_judging import (
    STOP,
    ClientTest,
    Judge,
    Reply,
    ServerLog,
    Verdict,
    error_text,
    events_judge,
    settled_after_first_reply,
    settled_after_requests,
)

__all__ = [
    "FRAGMENTATIONS",
    "GIANT_SIZE",
    "RETRY_MS",
    "VECTOR_TIMEOUT",
    "VectorLike",
    "awkward_split_points",
    "behaviour_tests",
    "client_tests",
    "fragment",
    "vector_tests",
]

VECTOR_TIMEOUT = 4.0
"""Deadline of a client on one vector test (it normally ends or settles much sooner)."""
_MAX_BYTEWISE = 4 * 1024
"""Vectors larger than this are not delivered one byte per chunk."""
_AWKWARD_PAUSE_BUDGET = 0.5
"""Total seconds of pauses spread over the chunks of an awkwardly split vector."""
_MAX_AWKWARD_POINTS = 64
"""At most this many awkward split points are used (evenly chosen among all of them)."""


class VectorLike(Protocol):
    """The parts of ``sseio.conformance._vectors.Vector`` the client tester uses."""

    @property
    def name(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def input(self) -> bytes: ...
    @property
    def events(self) -> Iterable[Any]: ...


# --- fragmentation --------------------------------------------------------------------------

FRAGMENTATIONS = ("whole", "bytes", "awkward")
"""How a vector is cut into HTTP chunks: in one piece, one byte per chunk, or at
awkward points (between CR and LF, after a lone CR, inside multi-byte UTF-8
characters and the BOM), with short pauses so each piece arrives on its own."""


def awkward_split_points(data: bytes) -> list[int]:
    """Offsets where ``data`` is cut in the ``awkward`` fragmentation."""
    points: list[int] = []
    for index in range(1, len(data)):
        before, here = data[index - 1], data[index]
        after_cr = before == 0x0D
        inside_character = 0x80 <= here <= 0xBF and before >= 0xC0  # after a lead byte
        if after_cr or inside_character:
            points.append(index)
    return points


def fragment(data: bytes, how: str) -> tuple[tuple[bytes, ...], float]:
    """``(chunks, pause)``: ``data`` cut the way ``how`` names (see ``FRAGMENTATIONS``)."""
    if how == "whole":
        return (data,), 0.0
    if how == "bytes":
        return tuple(data[i : i + 1] for i in range(len(data))), 0.0
    if how == "awkward":
        found = awkward_split_points(data)
        if len(found) > _MAX_AWKWARD_POINTS:
            step = len(found) / _MAX_AWKWARD_POINTS
            found = [found[int(i * step)] for i in range(_MAX_AWKWARD_POINTS)]
        points = [0, *found, len(data)]
        chunks = tuple(data[a:b] for a, b in itertools.pairwise(points) if b > a)
        pause = min(0.02, _AWKWARD_PAUSE_BUDGET / max(len(chunks), 1))
        return chunks, pause
    raise UsageError(f"unknown fragmentation {how!r}; expected one of {', '.join(FRAGMENTATIONS)}")


# --- vector tests ---------------------------------------------------------------------------


def vector_tests(
    vectors: Iterable[VectorLike], fragmentations: Iterable[str] = FRAGMENTATIONS
) -> tuple[ClientTest, ...]:
    """One test per vector and fragmentation, named ``vector/<name>/<fragmentation>``.

    The vector is the whole first reply, ending cleanly; the client must hand out
    exactly the vector's events.  A reconnection gets 204.  Vectors over 4 KiB
    are not delivered one byte per chunk.
    """
    hows = tuple(fragmentations)
    for how in hows:
        if how not in FRAGMENTATIONS:
            raise UsageError(
                f"unknown fragmentation {how!r}; expected one of {', '.join(FRAGMENTATIONS)}"
            )
    tests = []
    for vector in vectors:
        expected = [(e.type, e.data, e.id) for e in vector.events]
        for how in hows:
            if how == "bytes" and len(vector.input) > _MAX_BYTEWISE:
                continue
            chunks, pause = fragment(vector.input, how)
            tests.append(
                ClientTest(
                    name=f"vector/{vector.name}/{how}",
                    rule=vector.rule,
                    replies=(Reply(chunks, pause=pause),),
                    judge=events_judge(expected),
                    kind="vector",
                    timeout=VECTOR_TIMEOUT,
                    settled=settled_after_first_reply,
                )
            )
    return tuple(tests)


# --- behaviour tests ------------------------------------------------------------------------

RETRY_MS = 1500
"""The reconnection time the retry test asks for."""
RETRY_EARLY_TOLERANCE = 0.15
"""A reconnection this many seconds before the retry time still passes (clock slack)."""
RETRY_LATE_TOLERANCE = 1.0
"""A reconnection up to this many seconds after the retry time passes (jitter, load)."""
GIANT_SIZE = 4 * 1024 * 1024
"""Bytes of data in the giant event's single line."""


def _needs_requests(
    log: ServerLog, result: ClientResult | None, count: int, what: str
) -> Verdict | None:
    if not log.requests:
        if result is not None and result.error is not None:
            return Verdict("fail", f"never connected: raised {error_text(result.error)}")
        return Verdict("n/a", "the client never requested this test")
    if len(log.requests) < count:
        ended = ""
        if result is not None and result.error is not None:
            ended = f"; raised {error_text(result.error)}"
        elif result is not None and not result.timed_out:
            ended = "; ended quietly"
        return Verdict("fail", f"no reconnection {what} (1 request){ended}")
    return None


def _judge_reconnect_with_id(log: ServerLog, result: ClientResult | None) -> Verdict:
    failed = _needs_requests(log, result, 2, "after the connection dropped")
    if failed:
        return failed
    sent = log.requests[1].header("last-event-id")
    if sent != "2":
        return Verdict("fail", f"reconnected with Last-Event-ID {sent!r}, expected '2'")
    if result is None:
        return Verdict("pass", "request checks only")
    expected = [("message", "a", "1"), ("message", "b", "2"), ("message", "c", "3")]
    return events_judge(expected)(log, result)


def _judge_reconnect_without_id(log: ServerLog, result: ClientResult | None) -> Verdict:
    failed = _needs_requests(log, result, 2, "after the connection dropped")
    if failed:
        return failed
    sent = log.requests[1].header("last-event-id")
    if sent is not None:
        return Verdict("fail", f"sent Last-Event-ID {sent!r} though the last event ID was reset")
    if result is None:
        return Verdict("pass", "request checks only")
    return events_judge([("message", "a", "7"), ("message", "b", "")])(log, result)


def _judge_reconnect_after_eof(log: ServerLog, result: ClientResult | None) -> Verdict:
    failed = _needs_requests(log, result, 2, "after the body ended")
    if failed:
        return failed
    if result is None:
        return Verdict("pass", "request checks only")
    return events_judge([("message", "a", "")])(log, result)


def _judge_retry(log: ServerLog, result: ClientResult | None) -> Verdict:
    failed = _needs_requests(log, result, 2, "after the connection dropped")
    if failed:
        return failed
    waited = log.requests[1].at - log.ends[0]
    wanted = RETRY_MS / 1000
    if waited < wanted - RETRY_EARLY_TOLERANCE:
        return Verdict("fail", f"reconnected after {waited:.2f}s, before retry: {RETRY_MS} ms")
    if waited > wanted + RETRY_LATE_TOLERANCE:
        return Verdict("fail", f"reconnected after {waited:.2f}s, ignoring retry: {RETRY_MS} ms")
    return Verdict("pass", f"reconnected after {waited:.2f}s")


def _judge_refusal(what: str, *, must_raise: bool = True) -> Judge:
    """A response that is not an event stream: the client must stop, with no events and
    no new request (the EventSource model fails the connection for good).  With
    ``must_raise`` it must also report an error; a 204 may end quietly."""

    def judge(log: ServerLog, result: ClientResult | None) -> Verdict:
        if not log.requests:
            return Verdict("n/a", "the client never requested this test")
        if len(log.requests) > 1:
            return Verdict("fail", f"sent {len(log.requests) - 1} more request(s) after {what}")
        if result is None:
            return Verdict("pass", "request checks only")
        if result.events:
            return Verdict("fail", f"handed out {len(result.events)} event(s) from {what}")
        if result.timed_out:
            return Verdict("fail", f"still running at the deadline after {what}")
        if result.error is None:
            if must_raise:
                return Verdict("fail", f"ended quietly with no events and no error after {what}")
            return Verdict("pass")
        return Verdict("pass", f"raised {error_text(result.error)}")

    return judge


def _giant_payload() -> str:
    pattern = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
    return (pattern * (GIANT_SIZE // len(pattern) + 1))[:GIANT_SIZE]


def _split_every(data: bytes, size: int) -> tuple[bytes, ...]:
    return tuple(data[i : i + size] for i in range(0, len(data), size))


def behaviour_tests() -> tuple[ClientTest, ...]:
    """The client behaviour tests (names without a ``vector/`` prefix)."""
    giant = _giant_payload()
    giant_bytes = f"id: big\ndata: {giant}\n\ndata: after\n\n".encode()
    json_chunk = '{"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":%s}]}'
    llm = [json_chunk % ("Hel", "null"), json_chunk % ("lo", "null"), json_chunk % ("", '"stop"')]
    html = b"<html><body>\ndata: this page is not an event stream\n\n</body></html>\n"
    error_body = b'{"error":{"message":"internal failure","type":"server_error"}}'
    after_first = settled_after_first_reply
    return (
        ClientTest(
            "reconnect-last-event-id",
            "after a dropped connection the client reconnects with Last-Event-ID set to the "
            "last dispatched event's ID, and the unterminated event is discarded",
            (
                Reply(
                    (b"retry: 200\nid: 1\ndata: a\n\n", b"id: 2\ndata: b\n\n", b"data: partial"),
                    drop=True,
                ),
                Reply((b"id: 3\ndata: c\n\n",)),
            ),
            _judge_reconnect_with_id,
            settled=settled_after_requests(2),
        ),
        ClientTest(
            "reconnect-no-empty-last-event-id",
            "a client whose last event ID is empty (reset by a bare id field) reconnects "
            "without a Last-Event-ID header",
            (Reply((b"retry: 200\nid: 7\ndata: a\n\n", b"id\ndata: b\n\n"), drop=True),),
            _judge_reconnect_without_id,
            settled=settled_after_requests(2),
        ),
        ClientTest(
            "reconnect-after-eof",
            "when the body ends normally an EventSource reconnects after the reconnection time",
            (Reply((b"retry: 200\ndata: a\n\n",)),),
            _judge_reconnect_after_eof,
            settled=settled_after_requests(2),
        ),
        ClientTest(
            "retry-honoured",
            f"retry: {RETRY_MS} sets the reconnection time: the next request comes about "
            f"{RETRY_MS} ms after the connection dropped",
            (Reply((f"retry: {RETRY_MS}\ndata: a\n\n".encode(),), drop=True),),
            _judge_retry,
            timeout=RETRY_MS / 1000 + RETRY_LATE_TOLERANCE + 2.5,
            settled=settled_after_requests(2),
        ),
        ClientTest(
            "stop-on-204",
            "status 204 means stop: no events, no error needed, and no further request",
            (STOP,),
            _judge_refusal("a 204", must_raise=False),
            timeout=3.0,
        ),
        ClientTest(
            "wrong-content-type",
            "a 200 response that is not text/event-stream fails the connection: an error, "
            "no events (even if the body looks like SSE), no retry",
            (Reply((html,), content_type="text/html; charset=utf-8"),),
            _judge_refusal("a text/html response"),
            timeout=3.0,
        ),
        ClientTest(
            "status-500-json",
            "a non-200 status fails the connection: an error (ideally with the body), "
            "no events, no retry",
            (Reply((error_body,), status=500, content_type="application/json"),),
            _judge_refusal("a 500 response"),
            timeout=3.0,
        ),
        ClientTest(
            "invalid-utf8",
            "invalid UTF-8 is decoded with U+FFFD replacement characters and the stream goes on",
            (
                Reply(
                    (b"data: caf\xc3\n\n", b"data: a\xffb\n\n", b"data: \xed\xa0\x80!\n\n"),
                ),
            ),
            events_judge(
                [
                    ("message", "caf\ufffd", ""),
                    ("message", "a\ufffdb", ""),
                    ("message", "\ufffd\ufffd\ufffd!", ""),
                ]
            ),
            settled=after_first,
        ),
        ClientTest(
            "giant-event",
            f"an event with one {GIANT_SIZE // 2**20} MiB data line arrives whole",
            (Reply(_split_every(giant_bytes, 64 * 1024)),),
            events_judge([("message", giant, "big"), ("message", "after", "big")]),
            timeout=10.0,
            settled=after_first,
        ),
        ClientTest(
            "keepalive-after-id",
            "keepalive comments and id-only blocks dispatch nothing, even after an id",
            (
                Reply(
                    (
                        b"id: 1\ndata: a\n\n",
                        b": keepalive\n\n",
                        b":\n\n",
                        b"data: b\n\n",
                        b": ping\n\nid: 2\n\n",
                        b"data: c\n\n",
                    ),
                    pause=0.02,
                ),
            ),
            events_judge([("message", "a", "1"), ("message", "b", "1"), ("message", "c", "2")]),
            settled=after_first,
        ),
        ClientTest(
            "done-sentinel",
            "an OpenAI-style stream ending with data: [DONE] is delivered completely, with "
            "nothing invented after it",
            (
                Reply(
                    tuple(f"data: {text}\n\n".encode() for text in [*llm, "[DONE]"]),
                    pause=0.02,
                    hold=0.2,
                ),
            ),
            events_judge([("message", text, "") for text in [*llm, "[DONE]"]]),
            settled=after_first,
        ),
        ClientTest(
            "bom-first-event",
            "one leading UTF-8 BOM is stripped and the first event is kept",
            (Reply((b"\xef\xbb\xbfdata: first\n\n", b"data: second\n\n")),),
            events_judge([("message", "first", ""), ("message", "second", "")]),
            settled=after_first,
        ),
        ClientTest(
            "mixed-line-endings",
            "CRLF, CR and LF all end lines, mixed in one stream, split across reads",
            (
                Reply(
                    (b"data: a\r\ndata: b\r", b"\n\r", b"\ndata: c\rdata: d\r\r", b"data: e\n\n"),
                    pause=0.05,
                ),
            ),
            events_judge([("message", "a\nb", ""), ("message", "c\nd", ""), ("message", "e", "")]),
            settled=after_first,
        ),
    )


def client_tests(
    vectors: Iterable[VectorLike] | None = None,
    *,
    fragmentations: Iterable[str] = FRAGMENTATIONS,
    behaviours: bool = True,
) -> tuple[ClientTest, ...]:
    """The behaviour tests then the vector tests (the shipped vectors when ``vectors`` is
    ``None``)."""
    if vectors is None:
        from ._vectors import load_vectors

        vectors = load_vectors()
    found = behaviour_tests() if behaviours else ()
    return found + vector_tests(vectors, fragmentations)
