"""The public surface: five public packages, each exporting exactly what it lists.

``sseio``, ``sseio.chat``, ``sseio.server``, ``sseio.testing`` and
``sseio.conformance`` are the public homes; every module behind them is private
and documented.  Each exported class or function names its public package as its
``__module__`` (so reprs, tracebacks and pickles show ``sseio.chat.ChatClient``,
never a private path), nothing is exported twice, errors pickle, the command
line runs, and the pytest plugin is registered.  How the layers import each
other is tests/test_layout.py's business.
"""

from __future__ import annotations

import ast
import pickle
import pkgutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sseio
import sseio.chat
import sseio.conformance
import sseio.server
import sseio.testing

PACKAGE = Path(sseio.__file__).parent
PUBLIC = (sseio, sseio.chat, sseio.server, sseio.testing, sseio.conformance)
PUBLIC_DIRS = {Path(package.__file__).parent for package in PUBLIC if package.__file__}
PRIVATE_LAYERS = ("_core", "_http", "_io")
by_name = pytest.mark.parametrize("package", PUBLIC, ids=[p.__name__ for p in PUBLIC])


def _submodules(package: ModuleType) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(package.__path__)}


def _public_names(package: ModuleType) -> set[str]:
    # "@py_builtins" and the like appear when pytest rewrites a package (its plugin is loaded).
    names = {name for name in dir(package) if not name.startswith(("_", "@"))}
    return names | ({"__version__"} & set(dir(package)))


def _defined_here(value: Any) -> bool:
    """A class or a function (whose ``__module__`` says where it lives)."""
    return isinstance(value, type) or (callable(value) and hasattr(value, "__code__"))


# --- what each public package exports ----------------------------------------------------------


@by_name
def test_all_lists_exactly_the_public_names(package: ModuleType) -> None:
    exported = package.__all__
    assert isinstance(exported, tuple)
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == _public_names(package) - _submodules(package)
    for name in exported:
        assert getattr(package, name) is not None, name


@by_name
def test_exported_classes_and_functions_live_in_their_public_package(package: ModuleType) -> None:
    elsewhere = {
        name: value.__module__
        for name in package.__all__
        if _defined_here(value := getattr(package, name)) and value.__module__ != package.__name__
    }
    assert elsewhere == {}


def test_each_exported_thing_has_one_public_home() -> None:
    homes: dict[int, list[str]] = {}
    for package in PUBLIC:
        for name in package.__all__:
            value = getattr(package, name)
            if _defined_here(value):
                homes.setdefault(id(value), []).append(f"{package.__name__}.{name}")
    assert [places for places in homes.values() if len(places) > 1] == []


@by_name
def test_there_is_no_lazy_attribute_machinery(package: ModuleType) -> None:
    assert "__getattr__" not in vars(package)
    assert "__dir__" not in vars(package)


def test_reprs_show_the_public_path() -> None:
    assert repr(sseio.ServerSentEvent) == "<class 'sseio.ServerSentEvent'>"
    assert repr(sseio.chat.ChatClient) == "<class 'sseio.chat.ChatClient'>"
    assert repr(sseio.server.SSEServer) == "<class 'sseio.server.SSEServer'>"
    assert repr(sseio.conformance.Scorecard) == "<class 'sseio.conformance.Scorecard'>"
    assert repr(sseio.testing.MockConfig) == "<class 'sseio.testing.MockConfig'>"
    client = sseio.Client()
    try:
        assert repr(client).startswith("<sseio.Client object at ")
    finally:
        client.close()
    assert sseio.connect_sse.__module__ == "sseio"
    assert sseio.chat.split_think.__module__ == "sseio.chat"


# --- the files behind them ---------------------------------------------------------------------


def _module_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _docstring(path: Path) -> str:
    return (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()


def test_every_module_has_a_docstring() -> None:
    undocumented = [
        str(p.relative_to(PACKAGE.parent)) for p in _module_files() if not _docstring(p)
    ]
    assert undocumented == []


def test_every_subpackage_is_documented() -> None:
    packages = sorted(PACKAGE.rglob("__init__.py"))
    assert len(packages) >= 9
    assert [p.parent.name for p in packages if not _docstring(p)] == []


def test_modules_of_the_public_packages_are_private() -> None:
    public_files = [p for p in _module_files() if p.parent in PUBLIC_DIRS]
    assert {p.parent for p in public_files} == PUBLIC_DIRS
    named = [str(p.relative_to(PACKAGE.parent)) for p in public_files if not p.stem.startswith("_")]
    assert named == []


def test_the_layers_behind_the_public_packages_are_private() -> None:
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert subpackages == {
        *PRIVATE_LAYERS,
        "chat",
        "server",
        "testing",
        "conformance",
        "cli",
        "httpx",
    }
    assert all(name.startswith("_") for name in PRIVATE_LAYERS)


def test_package_ships_type_information() -> None:
    assert (PACKAGE / "py.typed").is_file()


# --- errors ------------------------------------------------------------------------------------


def test_error_tree() -> None:
    assert issubclass(sseio.UsageError, sseio.SSEError)
    assert issubclass(sseio.ProtocolError, sseio.SSEError)
    assert issubclass(sseio.LimitExceeded, sseio.ProtocolError)
    assert issubclass(sseio.EncodeError, sseio.UsageError)
    assert issubclass(sseio.chat.StreamTruncated, sseio.SSEError)
    exc = sseio.LimitExceeded("max_line_size", 10, 11)
    assert (exc.limit_name, exc.limit, exc.size, exc.events) == ("max_line_size", 10, 11, [])
    assert str(exc) == "line size of at least 11 bytes exceeds max_line_size=10"


def test_limit_exceeded_pickles() -> None:
    exc = pickle.loads(pickle.dumps(sseio.LimitExceeded("max_event_size", 5, 9)))
    assert isinstance(exc, sseio.LimitExceeded)
    assert (exc.limit_name, exc.limit, exc.size) == ("max_event_size", 5, 9)
    assert str(exc) == "event size of at least 9 bytes exceeds max_event_size=5"


@pytest.mark.parametrize(
    "error",
    [sseio.ReadError("x"), sseio.chat.StreamTruncated("x"), sseio.chat.InvalidChunk("x")],
    ids=repr,
)
def test_errors_pickle(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.args, str(copy)) == (error.args, str(error))
    assert pickle.dumps(error).count(b"sseio._") == 0  # stored by its public path


def test_stream_truncated_keeps_its_partial_answer_when_pickled() -> None:
    copy = pickle.loads(pickle.dumps(sseio.chat.StreamTruncated("cut", partial="Hel")))
    assert (str(copy), copy.partial) == ("cut", "Hel")


# --- entry points ------------------------------------------------------------------------------


def _exits_cleanly(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_python_m_sseio_runs() -> None:
    _exits_cleanly(sys.executable, "-m", "sseio", "--help")


def test_the_console_script_runs() -> None:
    script = Path(sys.executable).parent / "sseio"
    if not script.is_file():
        pytest.skip(f"no console script next to {sys.executable}")
    _exits_cleanly(str(script), "--help")


def test_the_console_script_and_pytest_plugin_are_registered() -> None:
    (script,) = entry_points(group="console_scripts", name="sseio")
    assert script.value == "sseio.cli.main:main"
    (plugin,) = entry_points(group="pytest11", name="sseio")
    assert plugin.value == "sseio.testing._pytest_plugin"
    assert plugin.load().__name__ == "sseio.testing._pytest_plugin"
