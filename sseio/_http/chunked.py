"""``Transfer-Encoding: chunked`` bodies, decoded with C-level searches.

An event stream usually arrives as one HTTP chunk per event, so per-chunk cost
matters: this decoder finds each size line with ``bytes.find`` and slices the
data out, several times faster than a general HTTP state machine.  It holds
back only an incomplete size line, chunk end or trailer line, each bounded by
``MAX_LINE``; chunk data is passed on as it arrives, never buffered.

Strict where it matters: a size must be 1 to 16 hex digits (chunk extensions
after ``;`` are ignored), each chunk must end in CRLF, and trailers are read
and dropped.  Anything else raises ``RemoteProtocolError``.  Bytes after the
final chunk are kept in ``trailing`` (their presence makes a connection unfit
for reuse).
"""

from __future__ import annotations

import re

from .._core.errors import RemoteProtocolError

__all__ = ["ChunkedDecoder"]

MAX_LINE = 4096
"""The longest size or trailer line accepted (chunk extensions included)."""

_HEX_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedDecoder:
    """Feed raw body bytes; get the decoded body back (see module doc)."""

    __slots__ = ("_pending", "_remaining", "_state", "trailing")

    def __init__(self) -> None:
        self._state = _SIZE
        self._remaining = 0  # data bytes left in the current chunk
        self._pending = b""  # an incomplete size line, chunk end or trailer line
        self.trailing = b""

    @property
    def ended(self) -> bool:
        """Whether the final (zero-size) chunk and the trailers have arrived."""
        return self._state == _DONE

    def feed(self, data: bytes) -> bytes:
        """Decode the next bytes of the body; returns the chunk data they carried."""
        if self._pending:
            data = self._pending + data
            self._pending = b""
        state = self._state
        if state == _DONE:
            self.trailing += data
            return b""
        out: list[bytes] = []
        pos = 0
        size = len(data)
        while pos < size:
            if state == _DATA:
                end = pos + self._remaining
                if end > size:
                    out.append(data[pos:] if pos else data)
                    self._remaining = end - size
                    pos = size
                    break
                out.append(data[pos:end])
                pos = end
                state = _DATA_END
            elif state == _DATA_END:
                if size - pos < 2:
                    break
                if data[pos : pos + 2] != b"\r\n":
                    raise RemoteProtocolError("chunk data not followed by CRLF")
                pos += 2
                state = _SIZE
            else:
                end = data.find(b"\r\n", pos)
                if end < 0:
                    break
                if end - pos > MAX_LINE:
                    raise RemoteProtocolError(f"chunked body line over {MAX_LINE} bytes")
                line = data[pos:end]
                pos = end + 2
                if state == _SIZE:
                    digits = line.split(b";", 1)[0].strip(b" \t")
                    if not _HEX_SIZE.fullmatch(digits):
                        raise RemoteProtocolError(f"invalid chunk size line: {line[:40]!r}")
                    self._remaining = int(digits, 16)
                    state = _DATA if self._remaining else _TRAILER
                elif not line:  # the empty line after the trailers
                    state = _DONE
                    self.trailing = data[pos:]
                    pos = size
        if pos < size:
            rest = data[pos:]
            if len(rest) > MAX_LINE + 2:
                raise RemoteProtocolError(f"chunked body line over {MAX_LINE} bytes")
            self._pending = rest
        self._state = state
        return out[0] if len(out) == 1 else b"".join(out)
