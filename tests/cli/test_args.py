"""The request options shared by ``sseio events``, ``check`` and ``chat`` (``sseio.cli.args``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import sseio
from sseio.cli.args import add_request_arguments, parse_header, request_options


def options(*argv: str) -> tuple[str, list[tuple[str, str]], bytes | None]:
    parser = argparse.ArgumentParser()
    add_request_arguments(parser)
    return request_options(parser.parse_args(list(argv)))


def test_defaults_to_get_without_a_body() -> None:
    assert options() == ("GET", [], None)


def test_a_json_body_means_post_with_a_json_content_type() -> None:
    method, headers, body = options("-d", '{"a": 1}', "-H", "X-A: 1")
    assert (method, body) == ("POST", b'{"a": 1}')
    assert headers == [("X-A", "1"), ("Content-Type", "application/json")]


def test_a_given_content_type_or_a_text_body_adds_none() -> None:
    assert options("-d", "a=1")[1] == []
    assert options("-d", "{}", "-H", "content-type: text/plain")[1] == [
        ("content-type", "text/plain")
    ]


def test_method_and_body_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(b"[1]")
    assert options("-X", "PUT", "-d", f"@{path}")[::2] == ("PUT", b"[1]")


def test_a_body_that_cannot_be_read_is_a_usage_error() -> None:
    with pytest.raises(sseio.UsageError, match="cannot read"):
        options("-d", "@/no/such")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("novalue", "this one has no colon"),
        ("Authorization Bearer sk-hidden", "this one has no colon"),
        (": v", "the name is not a valid header name"),
        ("Bad Name: sk-hidden", "the name is not a valid header name"),
        ("X(y): v", "the name 'X(y)' is not a valid header name"),
        ("X-Key: sk-hidden\r\nX-Evil: 1", "the value of header 'X-Key' holds a line break"),
        ("X-Key: a\0b", "the value of header 'X-Key' holds a line break or NUL"),
    ],
)
def test_a_bad_header_is_a_usage_error_that_hides_values(
    header: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        options("-H", "X-Fine: 1", "-H", header)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument -H/--header: " in err
    assert message in err
    assert "sk-hidden" not in err


def test_headers_keep_their_order_and_spelling() -> None:
    assert options("-H", "authorization:  Bearer x ", "-H", "X-Empty:")[1] == [
        ("authorization", "Bearer x"),
        ("X-Empty", ""),
    ]


def test_parse_header_is_the_argparse_type() -> None:
    assert parse_header("A: b: c") == ("A", "b: c")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_header("nope")
