"""The sseio error tree: one root, split by who is at fault.

Every exception sseio raises on purpose is an ``SSEError``.  The subclasses say
whose fault it was, so callers can decide what to do without parsing messages:

- ``UsageError``: the caller misused the API (bad argument, closed decoder);
- ``ProtocolError``: the remote peer broke SSE framing, including going over a
  configured limit (``LimitExceeded``);

Messages are short, lowercase and show the offending value or numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EncodeError", "LimitExceeded", "ProtocolError", "SSEError", "UsageError"]


class SSEError(Exception):
    """Root of every error sseio raises on purpose."""


class UsageError(SSEError):
    """The caller used the API in a way it does not allow."""


class EncodeError(UsageError, ValueError):
    """An event cannot be written without breaking the stream (newline in a name, NUL in an id…)."""


class ProtocolError(SSEError):
    """The remote peer sent something that breaks the protocol or a configured limit."""


class LimitExceeded(ProtocolError):
    """A line or an event grew past its configured limit.

    ``limit_name`` is the keyword argument that sets the limit (``"max_line_size"``
    or ``"max_event_size"``), ``limit`` its value and ``size`` the size seen when the
    decoder gave up (at least ``limit + 1``).  ``events`` holds what the same
    ``feed()`` call had completed before the offending line (events, or lines for
    ``LineDecoder``), so nothing already received is lost.
    """

    def __init__(self, limit_name: str, limit: int, size: int) -> None:
        super().__init__(
            f"{limit_name.removeprefix('max_').replace('_', ' ')} of at least "
            f"{size} bytes exceeds {limit_name}={limit}"
        )
        self.limit_name = limit_name
        self.limit = limit
        self.size = size
        self.events: list[Any] = []

    def __reduce__(self) -> tuple[type[LimitExceeded], tuple[str, int, int]]:
        return (type(self), (self.limit_name, self.limit, self.size))
