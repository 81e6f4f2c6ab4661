"""The request options shared by ``sseio events`` and ``sseio check`` (``sseio.cli.args``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import sseio
from sseio.cli.args import add_request_arguments, request_options


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("-H", "novalue"), "Name: value"),
        (("-H", ": v"), "Name: value"),
        (("-d", "@/no/such"), "cannot read"),
    ],
)
def test_bad_options_are_usage_errors(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(sseio.UsageError, match=message):
        options(*argv)
