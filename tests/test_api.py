"""The public door: sseio/__init__.py exports exactly what it lists."""

from __future__ import annotations

import ast
import pickle
import pkgutil
from pathlib import Path

import pytest

import sseio
import sseio.chat
import sseio.server


def test_all_matches_the_public_names() -> None:
    # "@py_builtins" and the like appear when pytest rewrites sseio (its plugin is registered).
    public = {name for name in dir(sseio) if not name.startswith(("_", "@"))}
    public |= {"__version__"}
    modules = {info.name for info in pkgutil.iter_modules(sseio.__path__)}
    assert isinstance(sseio.__all__, tuple)
    assert set(sseio.__all__) == public - modules
    assert len(sseio.__all__) == len(set(sseio.__all__))
    for name in sseio.__all__:
        assert getattr(sseio, name) is not None


def test_implementation_modules_are_private_and_documented() -> None:
    for info in pkgutil.iter_modules(sseio.__path__):
        assert info.name.startswith("_"), info.name
        source = (Path(sseio.__file__).parent / f"{info.name}.py").read_text()
        docstring = ast.get_docstring(ast.parse(source))
        assert docstring, f"{info.name} has no module docstring"
        assert docstring.strip(), f"{info.name} has an empty module docstring"


def test_package_ships_type_information() -> None:
    assert (Path(sseio.__file__).parent / "py.typed").is_file()


def test_core_imports_no_io_libraries() -> None:
    """The sans-IO core must not depend on the transport stack."""
    core = ("_events", "_errors", "_lines", "_assembler", "_decoder", "_encoder")
    for name in core:
        source = (Path(sseio.__file__).parent / f"{name}.py").read_text()
        for banned in ("import anyio", "import h11", "import socket", "import ssl", "import time"):
            assert banned not in source, f"{name} imports {banned}"


def test_error_tree() -> None:
    assert issubclass(sseio.UsageError, sseio.SSEError)
    assert issubclass(sseio.ProtocolError, sseio.SSEError)
    assert issubclass(sseio.LimitExceeded, sseio.ProtocolError)
    assert issubclass(sseio.EncodeError, sseio.UsageError)
    exc = sseio.LimitExceeded("max_line_size", 10, 11)
    assert (exc.limit_name, exc.limit, exc.size, exc.events) == ("max_line_size", 10, 11, [])
    assert str(exc) == "line size of at least 11 bytes exceeds max_line_size=10"


def test_limit_exceeded_pickles() -> None:
    exc = pickle.loads(pickle.dumps(sseio.LimitExceeded("max_event_size", 5, 9)))
    assert isinstance(exc, sseio.LimitExceeded)
    assert (exc.limit_name, exc.limit, exc.size) == ("max_event_size", 5, 9)
    assert str(exc) == "event size of at least 9 bytes exceeds max_event_size=5"


def test_streaming_alone_does_not_load_the_chat_server_and_conformance_tools() -> None:
    import subprocess
    import sys

    code = "import sys, sseio; print(' '.join(m for m in sys.modules if m.startswith('sseio.')))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert "sseio._io.async_client" in loaded
    assert "sseio._io.sync_client" in loaded
    heavy = ("_chat", "_think", "_server", "_mock", "_check", "_conformance", "_vectors")
    assert [m for m in loaded if m.removeprefix("sseio.").startswith(heavy)] == []
    # ...and each of those names still loads on first use.
    code = "import sseio; print(sseio.chat.ChatClient.__module__, sseio.server.Request.__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["sseio.chat._sync", "Request"]


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sseio.nope  # noqa: B018
