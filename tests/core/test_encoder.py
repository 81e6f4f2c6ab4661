"""sseio._core.encoder: wire bytes for events and comments, validation, round trips."""

from __future__ import annotations

import pytest

import sseio


def decode_all(data: bytes) -> list[sseio.Item]:
    decoder = sseio.SSEDecoder(done_sentinel=None, comments=True)
    return [*decoder.feed(data), *decoder.close()]


def test_plain_event_bytes() -> None:
    assert sseio.encode_event("hello") == b"data: hello\n\n"


def test_all_fields_in_order() -> None:
    wire = sseio.encode_event("x", event="update", id="42", retry=1500, comment="note")
    assert wire == b": note\nevent: update\nid: 42\nretry: 1500\ndata: x\n\n"
    assert decode_all(wire) == [
        sseio.Comment("note"),
        sseio.ServerSentEvent(event="update", data="x", id="42", retry=1500),
    ]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ("a\nb", [b"data: a", b"data: b"]),
        ("a\r\nb", [b"data: a", b"data: b"]),
        ("a\rb", [b"data: a", b"data: b"]),
        ("a\r\n\r\nb\n", [b"data: a", b"data", b"data: b", b"data"]),
        ("", [b"data"]),
        ("\n", [b"data", b"data"]),
    ],
)
def test_data_line_breaks_become_data_lines(data: str, lines: list[bytes]) -> None:
    wire = sseio.encode_event(data)
    assert wire == b"\n".join(lines) + b"\n\n"
    normalised = data.replace("\r\n", "\n").replace("\r", "\n")
    assert decode_all(wire) == [sseio.ServerSentEvent(data=normalised)]


def test_leading_space_in_data_survives() -> None:
    wire = sseio.encode_event("  two spaces")
    assert decode_all(wire) == [sseio.ServerSentEvent(data="  two spaces")]


def test_no_data_writes_a_block_that_dispatches_nothing() -> None:
    wire = sseio.encode_event(id="7", retry=0)
    assert wire == b"id: 7\nretry: 0\n\n"
    decoder = sseio.SSEDecoder()
    assert decoder.feed(wire) == []
    assert decoder.last_event_id == "7"
    assert decoder.retry == 0


def test_empty_id_resets_the_last_event_id() -> None:
    decoder = sseio.SSEDecoder()
    decoder.feed(sseio.encode_event("a", id="1"))
    assert decoder.feed(sseio.encode_event("b", id="")) == [sseio.ServerSentEvent(data="b")]
    assert decoder.last_event_id == ""


def test_message_type_is_not_written() -> None:
    assert sseio.ServerSentEvent(data="x").encode() == b"data: x\n\n"
    assert sseio.encode_event("x", event="") == b"data: x\n\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event": "a\nb"}, "event must not contain CR or LF"),
        ({"event": "a\rb"}, "event must not contain CR or LF"),
        ({"id": "1\n2"}, "id must not contain CR or LF"),
        ({"id": "1\x002"}, "id must not contain NUL"),
        ({"retry": -1}, "retry must be a non-negative int"),
        ({"retry": 1.5}, "retry must be a non-negative int"),
        ({"retry": True}, "retry must be a non-negative int"),
        ({"retry": "100"}, "retry must be a non-negative int"),
        ({"data": b"bytes"}, "data must be a str"),
        ({"data": "\ud800"}, "data is not valid unicode"),
        ({"event": "\udfff"}, "event is not valid unicode"),
        ({"comment": "\ud800"}, "comment is not valid unicode"),
        ({"event": 5}, "event must be a str"),
        ({"id": 7}, "id must be a str"),
    ],
)
def test_invalid_fields_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(sseio.EncodeError, match=message) as caught:
        sseio.encode_event(**kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, sseio.UsageError)


def test_comment_lines() -> None:
    assert sseio.encode_comment() == b":\n"
    assert sseio.encode_comment("ping") == b": ping\n"
    assert sseio.encode_comment("a\nb\r\nc") == b": a\n: b\n: c\n"
    decoder = sseio.SSEDecoder(comments=True)
    assert decoder.feed(sseio.encode_comment(" lead")) == [sseio.Comment(" lead")]
    with pytest.raises(sseio.EncodeError):
        sseio.encode_comment(5)  # type: ignore[arg-type]


def test_event_encode_round_trips_with_id_and_retry() -> None:
    event = sseio.ServerSentEvent(event="tick", data="1\n2", id="abc", retry=10)
    assert decode_all(event.encode()) == [event]


def test_nul_and_unicode_in_data_round_trip() -> None:
    event = sseio.ServerSentEvent(data="nul\x00 emoji \U0001f600 bom \ufeff")
    assert decode_all(event.encode()) == [event]
