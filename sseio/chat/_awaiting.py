"""Async results that say so when they are not awaited: ``must_await``.

``AsyncChatStream.final()`` and ``AsyncChatClient.create()`` are coroutines,
while their blocking twins return the ``ChatCompletion`` itself.  Code written
the blocking way (``stream.final().content``) would otherwise fail later and
vaguely: an ``AttributeError`` on a coroutine object, and a "never awaited"
warning.  ``must_await`` wraps such an ``async def`` method so that a call
returns an ``Awaiting`` value instead, which guarantees:

- ``await`` runs the method and gives its result, as the coroutine did (the
  coroutine is made when awaited, not before); it is itself a coroutine, so
  ``asyncio.create_task``, ``gather`` and the task groups of trio and anyio
  take it as they took the coroutine;
- reading an attribute of the result from it (``.content``, ``.choices``) or
  testing its truth raises ``UsageError`` saying to ``await`` it, naming the
  call; the error is also an ``AttributeError``, so ``hasattr`` and
  ``getattr(x, name, default)`` keep working;
- mypy sees ``Awaiting[ChatCompletion]``, which has none of the result's
  attributes, so the mistake is reported before the code runs;
- one never awaited, and never misused either (that raised already), warns
  (``RuntimeWarning``) when it is collected, as a forgotten coroutine does.

On a plain method (the generated blocking twin) ``must_await`` returns the
method unchanged, so one decorated source serves both clients.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from .._core.errors import UsageError

__all__ = ["Awaiting", "must_await"]

T = TypeVar("T")
P = ParamSpec("P")


class NotAwaited(UsageError, AttributeError):
    """An ``Awaiting`` value was used as its result, without ``await``."""


class Awaiting(Coroutine[Any, Any, T]):
    """The pending result of an async sseio call: ``await`` it.

    It is a coroutine to the event loops (``asyncio.create_task``, ``gather``,
    trio's and anyio's ``start_soon`` take it), running the method's own
    coroutine, made at the first ``await`` or ``send``."""

    __slots__ = ("_args", "_coroutine", "_function", "_kwargs", "_told", "_what")

    def __init__(
        self,
        what: str,
        function: Callable[..., Coroutine[Any, Any, T]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self._what = what
        self._function = function
        self._args = args
        self._kwargs = kwargs
        self._coroutine: Coroutine[Any, Any, T] | None = None
        self._told = False  # a misuse was reported: no "never awaited" warning on top

    def _started(self) -> Coroutine[Any, Any, T]:
        coroutine = self._coroutine
        if coroutine is None:
            coroutine = self._coroutine = self._function(*self._args, **self._kwargs)
        return coroutine

    def __await__(self) -> Generator[Any, Any, T]:
        if self._coroutine is not None:
            raise UsageError(f"{self._what} was awaited already: call it again")
        return self._started().__await__()

    def send(self, value: Any) -> Any:
        return self._started().send(value)

    def throw(self, *error: Any) -> Any:
        return self._started().throw(*error)

    def close(self) -> None:
        if self._coroutine is None:
            self._told = True  # closed before it started: nothing to warn about
        else:
            self._coroutine.close()

    def __repr__(self) -> str:
        return f"<{self._what}, to await>"

    def _misused(self, doing: str) -> NotAwaited:
        self._told = True
        return NotAwaited(
            f"{self._what} must be awaited before use: write (await {self._what}){doing}"
            " (the blocking client's returns the result itself)"
        )

    def __bool__(self) -> bool:
        raise self._misused("")

    if not TYPE_CHECKING:  # mypy must not see attributes here: it then flags a missing await

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)
            raise self._misused(f".{name}")

    def __del__(self) -> None:
        if getattr(self, "_coroutine", True) is None and not getattr(self, "_told", True):
            warnings.warn(f"{self._what} was never awaited", RuntimeWarning, stacklevel=1)


@overload
def must_await(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Awaiting[T]]: ...
@overload
def must_await(method: Callable[P, T]) -> Callable[P, T]: ...
def must_await(method: Callable[P, Any]) -> Callable[P, Any]:
    """``method``, returning an ``Awaiting`` value if it is a coroutine function."""
    if not inspect.iscoroutinefunction(method):
        return method
    owner, _, name = method.__qualname__.rpartition(".")
    words = re.findall(r"[A-Z][a-z]*", owner)  # AsyncChatStream.final -> stream.final()
    what = f"{(words[-1].lower() if words else owner) or name}.{name}()" if owner else f"{name}()"

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> Awaiting[Any]:
        return Awaiting(what, method, args, kwargs)

    return call
