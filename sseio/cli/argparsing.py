"""The argument parser every ``sseio`` command is built with.

``CommandParser`` is an ``argparse.ArgumentParser`` with two differences that
matter to someone typing commands:

- ``--help`` shows each option's default: ``HelpFormatter`` appends
  ``(default: …)`` to every option that takes a value and has a default other
  than ``None`` or empty (flags, whose default is only "off", are left alone,
  and a help text that already says ``(default …)`` keeps its own wording);
- an unknown option is reported by the command it was given to, with that
  command's usage line and the closest known option (``sseio chat --modle x``
  says ``usage: sseio chat …`` and ``did you mean --model?``), not by the
  top-level parser.  Plain argparse collects a subcommand's unknown arguments
  and lets the top level complain, with the top level's usage.

Sub-command parsers made with ``add_subparsers().add_parser`` are of the same
class, so every level behaves the same way.  Exit status 2 for a bad command
line, as argparse does.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["CommandParser", "HelpFormatter"]


class HelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: …)`` to the help of each option that has a real default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "(default" in text
            or action.nargs == 0  # flags: store_true, store_const, count, help, version
            or default is None
            or default is argparse.SUPPRESS
            or default in ([], "")
            or (not action.option_strings and action.nargs not in ("?", "*"))
        ):
            return action.help
        shown = "%(default)s" if not isinstance(default, float) else f"{default:g}"
        return f"{text} (default: {shown})".lstrip()


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that shows defaults and rejects its own unknown options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self._unrecognized(extras)
        return parsed, extras

    def _unrecognized(self, extras: list[str]) -> NoReturn:
        message = f"unrecognized arguments: {' '.join(_shown(extras))}"
        known = [name for action in self._actions for name in action.option_strings]
        for extra in extras:
            if extra.startswith("-"):
                close = difflib.get_close_matches(extra.partition("=")[0], known, n=1, cutoff=0.6)
                if close:
                    message += f" (did you mean {close[0]}?)"
                    break
        self.error(message)


def _shown(extras: list[str]) -> list[str]:
    """``extras`` as they may be echoed: an unknown option's value (``--api-kye KEY``,
    ``--api-kye=KEY``) could be a credential, so it is shown as ``…``."""
    shown = []
    after_option = False
    for extra in extras:
        if extra.startswith("-") and extra != "-":
            name, equals, _ = extra.partition("=")
            shown.append(f"{name}=…" if equals else name)
            after_option = not equals
        else:
            shown.append("…" if after_option else extra)
            after_option = False
    return shown
