"""Public homes: each public package names itself as the module of what it exports.

A class or function defined in a private module (``sseio._core.events``) but
exported by a public package (``sseio``) gets that package as its
``__module__``, so reprs, tracebacks, pickles and generated docs show the name
a user imports (``sseio.ServerSentEvent``), never the private path.  Values
that are not classes or functions (constants, policy instances) are left as
they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["set_public_module"]


def set_public_module(module_name: str, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Set ``__module__`` to ``module_name`` on every class and function in ``names``."""
    for name in names:
        value = namespace[name]
        if isinstance(value, type) or (callable(value) and hasattr(value, "__code__")):
            value.__module__ = module_name
