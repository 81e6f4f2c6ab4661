"""``sseio.cli.argparsing``: every command's ``--help`` shows its defaults, and a bad
option is reported by the command it was given to, with that command's usage."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sseio.cli.argparsing import CommandParser
from sseio.cli.main import _parser, main


def all_parsers(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, Any]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, subparser in action.choices.items():
                yield from all_parsers(subparser, f"{name} {command}")


PARSERS = dict(all_parsers(_parser(), "sseio"))


def test_every_command_is_walked() -> None:
    assert {"sseio chat", "sseio events", "sseio check", "sseio conformance serve"} <= set(PARSERS)
    assert len(PARSERS) == 10
    assert all(isinstance(parser, CommandParser) for parser in PARSERS.values())


def _has_default(action: argparse.Action) -> bool:
    if isinstance(action, argparse._SubParsersAction) or action.nargs == 0:
        return False
    if action.default is None or action.default is argparse.SUPPRESS or action.default == []:
        return False
    return bool(action.option_strings) or action.nargs in ("?", "*")


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_shows_every_default(name: str) -> None:
    parser = PARSERS[name]
    shown = " ".join(parser.format_help().split())
    for action in parser._actions:
        if not _has_default(action):
            continue
        expanded = " ".join(parser._get_formatter()._expand_help(action).split())
        default = action.default
        value = f"{default:g}" if isinstance(default, float) else str(default)
        assert f"(default: {value})" in expanded or "(default" in (action.help or ""), (
            name,
            action.option_strings,
            expanded,
        )
        assert expanded in shown, (name, action.option_strings)


def test_flags_and_explicit_wording_get_no_second_default() -> None:
    help_text = " ".join(PARSERS["sseio check"].format_help().split())
    assert "(default: 64 MiB)" in help_text
    assert "67108864" not in help_text
    assert "(default: False)" not in " ".join(p.format_help() for p in PARSERS.values())
    assert "--timeout S connect and read timeout in seconds (default: 30)" in help_text


def test_help_of_a_real_process_shows_defaults() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sseio", "events", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--reconnect-delay S" in text
    assert "(default: 3)" in text
    assert "give up after N failed reconnects in a row (default: 10)" in text
    assert "read timeout (default: 60)" in text


def test_a_misspelled_option_shows_the_commands_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["chat", "--modle", "x"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sseio chat ")
    assert "sseio chat: error: unrecognized arguments: --modle (did you mean --model?)" in err
    assert "COMMAND" not in err  # not the top-level usage


def test_a_nested_command_reports_its_own_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["conformance", "serve", "--clinet", "sseio"])
    err = capsys.readouterr().err
    assert err.startswith("usage: sseio conformance serve ")
    assert "did you mean --client?" in err


def test_the_value_after_an_unknown_option_is_not_echoed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (
        ["chat", "q", "--api-kye", "sk-secret-1"],
        ["chat", "q", "--api-kye=sk-secret-1"],
    ):
        with pytest.raises(SystemExit):
            main(argv)
        err = capsys.readouterr().err
        assert "sk-secret-1" not in err
        assert "unrecognized arguments: --api-kye" in err
        assert "did you mean --api-key?" in err


def test_an_extra_plain_word_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["chat", "hello", "world"])
    err = capsys.readouterr().err
    assert err.startswith("usage: sseio chat ")
    assert "unrecognized arguments: world" in err


def test_a_real_process_shows_the_subcommand_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sseio", "chat", "--modle", "x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: sseio chat ")
    assert "did you mean --model?" in result.stderr
