"""Packaging and the API reference: what the distribution declares and ships.

Three kinds of check, each able to fail on its own:

- ``pyproject.toml`` as written: the MIT license and its file, a classifier for
  every supported Python (and no ``License ::`` classifier, which PEP 639
  forbids beside an SPDX ``license`` expression), the project URLs, the extras,
  and environment markers that give Python 3.10 versions still made for it
  (a table below records, from the packages' metadata, the first release of
  each test dependency that needs Python 3.11).
- The built artifacts: a wheel and an sdist built here by hatchling, whose
  ``METADATA`` / ``PKG-INFO`` and file lists are read back.
- The API reference: the pages' ``:::`` directives, as the MkDocs hook in
  ``docs/_hooks/reference.py`` expands them, name every entry of every public
  ``__all__`` (checked without building); and the objects inventory of a real
  ``mkdocs build --strict`` lists each of them with the right role.  That build
  is the one ``.ci/run`` made when ``SSEIO_DOCS_SITE`` names its output,
  otherwise this module builds the docs itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import sseio

if sys.version_info >= (3, 11):
    import tomllib
else:  # coverage[toml] brings tomli to 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
"""The Python versions sseio declares and CI installs on (3.11 always, 3.10 too)."""

PUBLIC_PACKAGES = ("sseio", "sseio.chat", "sseio.server", "sseio.testing", "sseio.conformance")
"""The public packages the reference must cover at least (the hook may find more)."""

NEEDS_PY311 = {
    "starlette": Version("1.8"),
    "sse-starlette": Version("3.6"),
    "hypothesis": Version("6.169"),
    "coverage": Version("7.17"),
    "uvicorn": Version("0.55"),
}
"""The first release of each test dependency whose ``Requires-Python`` is ``>=3.11``.

Read from PyPI's metadata (``pip index versions NAME --python-version 3.10``
gives the last release for 3.10: starlette 1.7.0, sse-starlette 3.5.1,
hypothesis 6.168.5, coverage 7.16.2, uvicorn 0.54.0).
"""

ONLY_ON = {"pymdown-extensions": ("3.10",)}
"""Requirements that only cap a transitive dependency, on the Pythons that need the cap."""


def _environment(python: str) -> dict[str, str]:
    """A marker environment for CPython ``python`` on Linux, the test extra selected."""
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "sys_platform": "linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "extra": "",
    }


def _applying(extra: str, python: str) -> list[Requirement]:
    """The requirements of ``extra`` that pip installs on ``python``."""
    requirements = [Requirement(text) for text in EXTRAS[extra]]
    return [
        req
        for req in requirements
        if req.marker is None or req.marker.evaluate(_environment(python))
    ]


# --- pyproject.toml ----------------------------------------------------------------------------


def test_license_is_mit_with_its_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 sseio developers" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    # PEP 639: an SPDX expression replaces the license classifiers (hatchling refuses both).
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_a_classifier_for_each_supported_python() -> None:
    assert PROJECT["requires-python"] == f">={SUPPORTED[0]}"
    declared = {
        c.rpartition(" :: ")[2]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert declared == set(SUPPORTED)
    assert PYPROJECT["tool"]["mypy"]["python_version"] == SUPPORTED[0]
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + SUPPORTED[0].replace(".", "")


def test_project_urls() -> None:
    urls = PROJECT["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert all(url.startswith("https://") for url in urls.values())
    assert urls["Documentation"] == "https://sseio.readthedocs.io/"
    assert urls["Issues"] == urls["Repository"] + "/issues"
    assert urls["Changelog"].endswith("/CHANGELOG.md")


def test_changelog_has_unreleased_and_the_current_version() -> None:
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text("utf-8"), re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert sseio.__version__ in headings


def test_sdist_is_configured_to_ship_the_license_changelog_and_docs() -> None:
    include = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert {"LICENSE", "CHANGELOG.md", "README.md", "docs", "mkdocs.yml", "sseio"} <= set(include)


def test_new_extras() -> None:
    assert EXTRAS["truststore"] == ["truststore>=0.9"]
    assert [str(Requirement(r)) for r in EXTRAS["httpx"]] == ["httpx>=0.27"]
    assert {Requirement(r).name for r in EXTRAS["docs"]} >= {"mkdocs", "mkdocstrings"}
    names = {Requirement(r).name for r in EXTRAS["test"]}
    assert {"anthropic", "openai", "truststore", "hatchling", "mypy"} <= names
    # The reference coverage test below builds the docs: the test extra brings the docs extra.
    assert {str(Requirement(r)) for r in EXTRAS["docs"]} <= {
        str(Requirement(r)) for r in EXTRAS["test"]
    }


@pytest.mark.parametrize("python", SUPPORTED)
@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_each_requirement_applies_once_per_python(extra: str, python: str) -> None:
    """Markers split a dependency by Python with no gap and no overlap."""
    wanted = {Requirement(text).name for text in EXTRAS[extra]}
    wanted -= {name for name, pythons in ONLY_ON.items() if python not in pythons}
    applying = [req.name for req in _applying(extra, python)]
    assert sorted(applying) == sorted(set(applying)), f"a package appears twice on {python}"
    assert wanted <= set(applying), f"missing on Python {python}: {wanted - set(applying)}"


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_python_310_is_not_asked_for_releases_that_need_311(extra: str) -> None:
    for req in _applying(extra, "3.10"):
        first_for_311 = NEEDS_PY311.get(req.name)
        if first_for_311 is None:
            continue
        for clause in req.specifier:
            if clause.operator in (">=", ">", "==", "~=", "==="):
                assert Version(clause.version) < first_for_311, (
                    f"{extra}: {req} on Python 3.10, but {req.name} {first_for_311} needs 3.11"
                )


@pytest.mark.parametrize("extra", ["docs", "test"])
def test_python_310_docs_tools_work_together(extra: str) -> None:
    """mkdocstrings 1.0.6 (the last for 3.10) breaks on pymdown-extensions 12.2+."""
    bounds = {req.name: req.specifier for req in _applying(extra, "3.10")}
    assert "12.1" in bounds["pymdown-extensions"]
    assert "12.2" not in bounds["pymdown-extensions"]
    assert "pymdown-extensions" not in {req.name for req in _applying(extra, "3.11")}


def test_newer_pythons_keep_the_current_bounds() -> None:
    """The 3.10 markers do not hold 3.11+ back to old Starlette releases."""
    for python in SUPPORTED[1:]:
        bounds = {req.name: req.specifier for req in _applying("test", python)}
        assert bounds["starlette"] == SpecifierSet(">=1.10")
        assert bounds["sse-starlette"] == SpecifierSet(">=3.7")


def test_marker_environment_is_what_pip_sees_here() -> None:
    """The hand-made environment above agrees with this interpreter's own on what matters."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    for text in ("python_version < '3.11'", "python_version >= '3.11'"):
        assert Marker(text).evaluate() == Marker(text).evaluate(_environment(here))


def test_ruff_skips_exactly_the_generated_modules() -> None:
    """Generated blocking twins are checked through their async sources, not twice."""
    spec = importlib.util.spec_from_file_location("sseio_unasync", ROOT / "tools" / "unasync.py")
    assert spec is not None
    assert spec.loader is not None
    unasync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(unasync)
    generated = {target for target, _docstring in unasync.TWINS.values()}
    assert set(PYPROJECT["tool"]["ruff"]["extend-exclude"]) == generated


# --- the built wheel and sdist -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist of this checkout, built by hatchling (no network)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


def _metadata(text: str) -> Message:
    return HeaderParser().parsestr(text)


def test_wheel_metadata(dist: Path) -> None:
    wheel = _only(dist, "sseio-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"sseio-{sseio.__version__}.dist-info"
        meta = _metadata(archive.read(f"{info}/METADATA").decode())
        licence = archive.read(f"{info}/licenses/LICENSE").decode()
    assert licence == (ROOT / "LICENSE").read_text("utf-8")
    assert Version(meta["Metadata-Version"]) >= Version("2.4")
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.10"
    classifiers = meta.get_all("Classifier")
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert {f"Programming Language :: Python :: {v}" for v in SUPPORTED} <= set(classifiers)
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL"))
    assert urls == PROJECT["urls"]
    assert set(meta.get_all("Provides-Extra")) == set(EXTRAS)
    requires = meta.get_all("Requires-Dist")
    assert "starlette>=1.7; (python_version < '3.11') and extra == 'test'" in [
        r.replace('"', "'") for r in requires
    ]
    assert "sseio/py.typed" in names
    assert "sseio/conformance/vectors.json" in names
    assert not [name for name in names if name.startswith(("tests/", "docs/"))]


def test_sdist_contents(dist: Path) -> None:
    sdist = _only(dist, "sseio-*.tar.gz")
    with tarfile.open(sdist) as archive:
        top = f"sseio-{sseio.__version__}/"
        names = {name.removeprefix(top) for name in archive.getnames()}
        pkg_info = archive.extractfile(top + "PKG-INFO")
        assert pkg_info is not None
        meta = _metadata(pkg_info.read().decode())
    wanted = {
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "mkdocs.yml",
        "docs/index.md",
        "docs/_hooks/reference.py",
        "sseio/__init__.py",
        "tests/test_packaging.py",
    }
    assert wanted <= names
    assert meta["License-Expression"] == "MIT"


# --- the API reference -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hook() -> Iterator[ModuleType]:
    """docs/_hooks/reference.py, loaded as MkDocs loads it (from its path)."""
    spec = importlib.util.spec_from_file_location(
        "sseio_docs_reference_hook", ROOT / "docs" / "_hooks" / "reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    module._seen.clear()


def _exported(package: str) -> list[str]:
    return [f"{package}.{name}" for name in importlib.import_module(package).__all__]


def test_hook_finds_every_public_package(hook: ModuleType) -> None:
    found = hook.public_packages()
    assert set(PUBLIC_PACKAGES) <= set(found)
    assert "sseio.cli" not in found  # the command line exports no API
    assert not [package for package in found if "._" in package]


def test_reference_pages_name_every_public_name(hook: ModuleType) -> None:
    """Without a build: each page's expanded directives are exactly its package's ``__all__``."""
    hook.on_pre_build(None)
    nav = (ROOT / "mkdocs.yml").read_text("utf-8")
    packages = hook.public_packages()
    for package in packages:
        page = ROOT / "docs" / hook.page_of(package)
        if page.exists():
            assert hook.page_of(package) in nav, f"{page} is not in mkdocs.yml's nav"
            markdown = page.read_text("utf-8")
        else:  # a new public package: the hook generates its page
            markdown = hook.generated_page(package)
        paths = hook.directives(hook.expand(markdown, str(page), packages))
        assert paths[0] == package
        assert sorted(paths[1:]) == sorted(_exported(package))
        assert len(paths) == len(set(paths))


def test_home_page_links_every_public_package(hook: ModuleType) -> None:
    index = (ROOT / "docs" / "index.md").read_text("utf-8")
    assert hook.INDEX_MARKER.search(index)
    table = hook.index_table("index.md")
    for package in hook.public_packages():
        assert f"| [`{package}`]({hook.page_of(package)}) | {hook.summary(package)} |" in table
        assert hook.summary(package), f"{package} has no docstring summary"


def test_hook_refuses_a_package_documented_twice(hook: ModuleType) -> None:
    hook.on_pre_build(None)
    page = "<!-- sseio-api: sseio.server -->\n"
    hook.expand(page, "a.md", hook.public_packages())
    with pytest.raises(hook.ReferencePageError, match=r"already documented in a\.md"):
        hook.expand(page, "b.md", hook.public_packages())
    with pytest.raises(hook.ReferencePageError, match="not a public package"):
        hook.expand("<!-- sseio-api: sseio._core -->\n", "c.md", hook.public_packages())
    hook.on_pre_build(None)
    with pytest.raises(hook.ReferencePageError, match="no reference page rendered"):
        hook.on_post_build(None)


def test_hook_groups_by_kind(hook: ModuleType) -> None:
    groups = hook.public_names("sseio")
    assert "SSEError" in groups["Errors"]
    assert "SSEDecoder" in groups["Classes"]
    assert "iter_sse" in groups["Functions"]
    assert "MAX_RETRY" in groups["Constants"]


def _inventory(path: Path) -> dict[str, str]:
    """A Sphinx objects inventory (version 2), as name -> ``domain:role``."""
    raw = path.read_bytes()
    header, _, body = raw.partition(b"# The remainder of this file is compressed using zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2\n"), header[:60]
    entries: dict[str, str] = {}
    for line in zlib.decompress(body).decode("utf-8").splitlines():
        match = re.match(r"(?x)(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        assert match, line
        entries.setdefault(match.group(1), match.group(2))
    return entries


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built reference: .ci/run's (``SSEIO_DOCS_SITE``), else built here, strictly."""
    given = os.environ.get("SSEIO_DOCS_SITE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_built_reference_lists_every_public_name(site: Path, hook: ModuleType) -> None:
    inventory = _inventory(site / "objects.inv")
    roles = {
        "Errors": "py:class",
        "Classes": "py:class",
        "Functions": "py:function",
        "Constants": "py:data",
    }
    for package in hook.public_packages():
        assert inventory.get(package) == "py:module", package
        for group, names in hook.public_names(package).items():
            for name in names:
                role = inventory.get(f"{package}.{name}")
                assert role is not None, f"{package}.{name} is not in the reference"
                assert role == roles[group], f"{package}.{name}: {role}"
