"""MkDocs hook: the API reference lists every public name, read from ``__all__``.

The public packages are found, not listed: ``sseio`` and each subpackage of it
whose name has no leading underscore and that defines a tuple ``__all__``
(``sseio.cli``, the command line, defines none).  Each has one reference page,
``docs/reference/<name>.md``, holding a marker line
``<!-- sseio-api: PACKAGE -->``; a package without a page gets a generated one,
added to the navigation, so a new public package is documented from its first
build.  At build time the marker is replaced by the package's heading and
docstring and one mkdocstrings ``:::`` directive per name of its ``__all__``, sorted into errors,
classes, functions and constants (``__all__`` order inside each group).  The
home page's ``<!-- sseio-api-index -->`` line becomes a table of the packages,
each with the first line of its docstring.

What this guarantees: every public package is rendered exactly once (a
duplicate, stray or missing marker fails the build), and every name in its
``__all__`` gets a directive, so a name mkdocstrings cannot resolve fails
``mkdocs build --strict`` too.  ``tests/test_packaging.py`` checks the outcome
in the built objects inventory, and the directives without a build.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

try:
    from mkdocs.exceptions import PluginError as _Failure
except ImportError:  # imported by the tests without MkDocs installed
    _Failure = Exception  # type: ignore[assignment,misc]

ROOT = "sseio"
"""The distribution's top-level package."""

MARKER = re.compile(r"^<!-- sseio-api: (?P<package>[\w.]+) -->[ \t]*$", re.MULTILINE)
"""The line a reference page puts where the package's names go."""

INDEX_MARKER = re.compile(r"^<!-- sseio-api-index -->[ \t]*$", re.MULTILINE)
"""The line the home page puts where the table of public packages goes."""

GROUPS = ("Errors", "Classes", "Functions", "Constants")
"""The sections of a page, in order; empty ones are left out."""

NAV_SECTION = "API reference"
"""The navigation entry under which the reference pages are listed."""

_seen: dict[str, str] = {}
"""Package -> the page that rendered it, in the current build."""


class ReferencePageError(_Failure):
    """A reference page or package is missing, duplicated or not public (fails the build)."""


def public_packages() -> tuple[str, ...]:
    """``sseio`` and its public subpackages that export a tuple ``__all__``."""
    root = importlib.import_module(ROOT)
    found = [ROOT]
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda info: info.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        name = f"{ROOT}.{info.name}"
        if isinstance(getattr(importlib.import_module(name), "__all__", None), tuple):
            found.append(name)
    return tuple(found)


def page_of(package: str) -> str:
    """The reference page of ``package``, relative to the docs folder."""
    return f"reference/{package.rpartition('.')[2]}.md"


def group_of(value: object) -> str:
    """The section a public value belongs in."""
    if inspect.isclass(value):
        return "Errors" if issubclass(value, BaseException) else "Classes"
    if inspect.isroutine(value):
        return "Functions"
    return "Constants"


def public_names(package: str) -> dict[str, list[str]]:
    """``__all__`` of ``package`` sorted into ``GROUPS``, in ``__all__`` order."""
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    if not isinstance(names, tuple) or not names:
        raise ReferencePageError(f"{package} has no tuple __all__ to document")
    groups: dict[str, list[str]] = {group: [] for group in GROUPS}
    for name in names:
        if not hasattr(module, name):
            raise ReferencePageError(f"{package}.__all__ names {name!r}, which it does not define")
        groups[group_of(getattr(module, name))].append(name)
    return {group: members for group, members in groups.items() if members}


def render(package: str) -> str:
    """The Markdown that replaces ``package``'s marker: its docstring, then each name."""
    # The package itself is the page's title (and its py:module inventory entry).
    lines = [
        f"::: {package}",
        "    options:",
        "      members: false",
        "      heading_level: 1",
        "      show_root_full_path: true",
        "",
    ]
    for group, names in public_names(package).items():
        lines += [f"## {group}", ""]
        for name in names:
            lines += [f"::: {package}.{name}", ""]
    return "\n".join(lines)


def generated_page(package: str) -> str:
    """The page of a public package that has none of its own."""
    return f"<!-- sseio-api: {package} -->\n"


def summary(package: str) -> str:
    """The first line of ``package``'s docstring, without the leading ``name:``."""
    doc = (importlib.import_module(package).__doc__ or "").strip()
    first = doc.splitlines()[0] if doc else ""
    return first.removeprefix(f"{package}:").strip()


def index_table(from_page: str) -> str:
    """A Markdown table of the public packages, linked from ``from_page``'s folder."""
    depth = from_page.count("/")
    rows = ["| package | what it is for |", "|---|---|"]
    for package in public_packages():
        link = "../" * depth + page_of(package)
        rows.append(f"| [`{package}`]({link}) | {summary(package)} |")
    return "\n".join(rows) + "\n"


def directives(markdown: str) -> list[str]:
    """The object paths of the ``:::`` directives in ``markdown``, in order."""
    return re.findall(r"^::: ([\w.]+)[ \t]*$", markdown, flags=re.MULTILINE)


def expand(markdown: str, where: str, packages: tuple[str, ...]) -> str:
    """``markdown`` with each marker replaced by its package's reference."""

    def replace(match: re.Match[str]) -> str:
        package = match.group("package")
        if package not in packages:
            raise ReferencePageError(f"{where}: {package} is not a public package")
        if package in _seen:
            raise ReferencePageError(
                f"{where}: {package} is already documented in {_seen[package]}"
            )
        _seen[package] = where
        return render(package)

    return MARKER.sub(replace, markdown)


def _missing_pages(docs_dir: str) -> list[str]:
    """The public packages whose page is not in the docs folder."""
    return [
        package for package in public_packages() if not (Path(docs_dir) / page_of(package)).exists()
    ]


def on_config(config: Any) -> Any:
    """List generated pages in the navigation, under the reference section."""
    missing = _missing_pages(config["docs_dir"])
    if missing and config["nav"] is not None:
        for entry in config["nav"]:
            if isinstance(entry, dict) and NAV_SECTION in entry:
                entry[NAV_SECTION].extend({package: page_of(package)} for package in missing)
                break
        else:
            raise ReferencePageError(f"mkdocs.yml has no {NAV_SECTION!r} section in its nav")
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add a generated page for each public package without one."""
    from mkdocs.structure.files import File

    for package in _missing_pages(config["docs_dir"]):
        files.append(File.generated(config, page_of(package), content=generated_page(package)))
    return files


def on_pre_build(config: Any) -> None:
    """Start each build with no package rendered yet (``mkdocs serve`` rebuilds)."""
    _seen.clear()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Expand the markers on one page (and the package table on any page that asks)."""
    where = page.file.src_uri
    markdown = INDEX_MARKER.sub(lambda _: index_table(where), markdown)
    return expand(markdown, where, public_packages())


def on_post_build(config: Any) -> None:
    """Fail the build if a public package was not rendered."""
    missing = [package for package in public_packages() if package not in _seen]
    if missing:
        raise ReferencePageError(f"no reference page rendered {', '.join(missing)}")
