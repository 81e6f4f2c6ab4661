"""Checks of the public keyword arguments, made when the call is made.

A client's and a stream's keywords are checked here, before anything connects,
so a wrong type is a ``UsageError`` naming the argument and showing the value,
never a foreign ``TypeError`` or ``AttributeError`` from deep inside, and never
a failure that waits until the stream opens.  ``coerce_timeout`` also gives the
short form a number for ``timeout=``: that many seconds to connect, to read and
to write, as httpx takes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from .._core.errors import UsageError
from .proxy import proxy_environment
from .reconnect import Reconnect, Timeout

__all__ = [
    "TLS_VARIABLES",
    "TRUST_SOURCES",
    "ClientCert",
    "QueryParams",
    "check_bool",
    "check_cert",
    "check_headers",
    "check_instance",
    "check_optional_str",
    "check_params",
    "check_reconnect",
    "check_str",
    "client_environment",
    "coerce_timeout",
    "tls_environment",
]


QueryParams: TypeAlias = Mapping[str, Any] | Sequence[tuple[str, Any]]
"""What ``params=`` takes: a mapping or (name, value) pairs; a list value repeats the name."""


_PAIRS = "a mapping or a list of (name, value) pairs"


def coerce_timeout(value: object, name: str = "timeout") -> Timeout:
    """A ``Timeout`` from a ``Timeout`` or a number of seconds (connect, read and write)."""
    if isinstance(value, Timeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not value > 0:
            raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")
        return Timeout(connect=value, read=value, write=value)
    raise UsageError(f"{name} must be a number of seconds or a sseio.Timeout, got {value!r}")


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return value


def check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a str, got {value!r}")
    return value


def check_optional_str(name: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{name} must be a str or None, got {value!r}")
    return value


def check_instance(name: str, value: object, kind: type[Any], shown: str) -> Any:
    """``value`` if it is ``None`` or a ``kind``; ``shown`` names the type in the message."""
    if value is not None and not isinstance(value, kind):
        raise UsageError(f"{name} must be {shown} or None, got {value!r}")
    return value


def check_reconnect(value: object) -> Reconnect | None:
    result: Reconnect | None = check_instance("reconnect", value, Reconnect, "a sseio.Reconnect")
    return result


def check_headers(name: str, value: object) -> list[tuple[str, str]]:
    """Headers as a list of (name, value) pairs, from a mapping or pairs (``None``: none)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        pairs: list[Any] = list(value.items())
    elif isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, tuple)):
        raise UsageError(
            f"{name} must be a mapping or a list of (name, value) pairs, got {value!r}"
        )
    else:
        pairs = list(value)
    for pair in pairs:
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2
            or not all(isinstance(part, str) for part in pair)
        ):
            raise UsageError(f"{name} must hold (str, str) pairs, got {_shown_pair(pair)}")
    return pairs


def _shown_pair(pair: object) -> str:
    """A bad header pair as shown in an error: its name only, since values may be secrets."""
    if isinstance(pair, tuple) and pair and isinstance(pair[0], str):
        return f"a pair for {pair[0]!r} ({', '.join(type(part).__name__ for part in pair)})"
    return repr(type(pair).__name__)


_PARAM_TYPES = (str, int, float)


TRUST_SOURCES = ("certifi", "system")
"""Where a client's CA certificates come from: certifi's bundle, or the OS's store."""

TLS_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
"""Environment variables that replace certifi's bundle when a client trusts the environment."""


ClientCert: TypeAlias = str | tuple[str, str] | tuple[str, str, str | bytes]
"""What ``cert=`` takes: a PEM path, or (certificate, key) or (certificate, key, password)."""


def client_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What a client keeps of the environment: the proxy and the TLS trust variables."""
    return {**proxy_environment(environ), **tls_environment(environ)}


def tls_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` that the TLS trust rules read."""
    return {name: environ[name] for name in TLS_VARIABLES if environ.get(name)}


def check_cert(value: object) -> None:
    """``cert=``: a PEM path, or (certificate, key) or (certificate, key, password)."""
    if value is None or isinstance(value, str):
        return
    if (
        isinstance(value, tuple)
        and len(value) in (2, 3)
        and all(isinstance(part, str) for part in value[:2])
        and (len(value) == 2 or isinstance(value[2], (str, bytes)))
    ):
        return
    raise UsageError(  # the value is not shown: it may hold a password
        "cert must be a path, or (certificate, key) or (certificate, key, password) paths,"
        f" got a {type(value).__name__}"
    )


def check_params(name: str, value: object) -> list[tuple[str, str]]:
    """Query parameters as (name, value) pairs of text, as httpx takes them.

    A mapping or a list of pairs; a value may be a str, int, float, bool
    (``true``/``false``), ``None`` (an empty value) or a list of those (the
    name repeated).
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        items: list[Any] = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise UsageError(
            f"{name} must be a mapping or a list of (name, value) pairs, got {value!r}"
        )
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str):
            raise UsageError(f"{name} must hold (str, value) pairs, got {item!r}")
        key, given = item
        for one in given if isinstance(given, (list, tuple)) else [given]:
            pairs.append((key, _param_text(name, key, one)))
    return pairs


def _param_text(name: str, key: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _PARAM_TYPES):
        return str(value)
    raise UsageError(f"{name}[{key!r}] must be a str, number, bool or None, got {value!r}")
