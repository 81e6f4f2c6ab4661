"""Coverage-guided fuzzing of SSEDecoder with atheris (libFuzzer for Python).

    python fuzz/atheris_decoder.py -max_total_time=60 fuzz/corpus
    python fuzz/atheris_decoder.py fuzz/crashes/crash-<sha1>     # replay one input
    python fuzz/atheris_decoder.py --explain fuzz/crashes/crash-<sha1>

An input is a header that chooses the options and the chunking, then the
stream itself:

    byte 0   bits 0-2 done_sentinel (index into SENTINELS), bit 3 comments=True,
             bit 4 small limits (bytes 1 and 2), bit 5 also feed byte by byte,
             bit 6 each 0x7f byte in the stream (the first 40) stands for 12,000 "x"
             bytes (so that short inputs reach the long-line paths)
    byte 1   max_line_size = 1 + byte          (with bit 4)
    byte 2   max_event_size = 1 + 2 * byte     (with bit 4)
    byte 3   n = byte & 15 split points follow
    2n bytes split points, 16-bit little-endian: each modulo len(stream) + 1,
             or scaled to the stream when it is longer than 65,535 bytes
    rest     the stream

The stream is decoded whole and in the chosen chunks (and byte by byte); all
runs must agree on items, errors, ``last_event_id`` and ``retry``.  Without
small limits the result must also match the reference model (after every
feed, for the prefix so far) and ``LineDecoder`` + ``EventAssembler``; with
them, the decoder must never hold more than ``max_line_size`` bytes.  A
mismatch, or any exception other than the ``LimitExceeded`` the limits allow,
is a crash: libFuzzer saves the input under ``fuzz/crashes/`` (unless another
``-artifact_prefix`` is given).  On the first run an empty or missing corpus
directory is seeded with a few hand-written inputs.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FUZZ = Path(__file__).resolve().parent
sys.path.insert(0, str(FUZZ.parent))

try:
    import atheris  # type: ignore[import-untyped]
except ImportError:  # not on this platform: the hypothesis properties still run
    atheris = None

if atheris is not None:
    # sseio must be imported here first, so that its bytecode is instrumented.
    with atheris.instrument_imports(include=["sseio"]):
        importlib.import_module("sseio")

from fuzz.harness import (  # noqa: E402
    Outcome,
    reference_outcome,
    run_decoder,
    run_lines_then_assembler,
)
from fuzz.strategies import split_at  # noqa: E402

SENTINELS: tuple[str | None, ...] = ("[DONE]", None, "", "\ufffd", "x", "[DONE]", " [DONE]", "a\nb")
HEADER = 4
INFLATE = 12_000
MAX_INFLATED = 40
MAX_BYTEWISE = 2048
MAX_CHECKPOINTS = 4


@dataclass(frozen=True)
class Case:
    """One decoded fuzz input."""

    options: dict[str, Any]
    small_limits: bool
    bytewise: bool
    points: list[int]
    stream: bytes


def decode_input(data: bytes) -> Case | None:
    """Read the header (see the module doc); ``None`` when the input is too short."""
    if len(data) < HEADER:
        return None
    flags, line_byte, event_byte, count_byte = data[:HEADER]
    count = count_byte & 15
    body_start = HEADER + 2 * count
    if len(data) < body_start:
        return None
    stream = data[body_start:]
    if flags & 64:
        stream = stream.replace(b"\x7f", b"x" * INFLATE, MAX_INFLATED)
    raw = data[HEADER:body_start]
    values = [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]
    size = len(stream)
    if size < 65536:
        points = sorted(value % (size + 1) for value in values)
    else:
        points = sorted(value * size // 65535 for value in values)
    options: dict[str, Any] = {
        "done_sentinel": SENTINELS[flags & 7],
        "comments": bool(flags & 8),
    }
    small = bool(flags & 16)
    if small:
        options["max_line_size"] = 1 + line_byte
        options["max_event_size"] = 1 + 2 * event_byte
    return Case(options, small, bool(flags & 32), points, stream)


def encode_input(
    stream: bytes,
    *,
    sentinel: int = 0,
    comments: bool = False,
    limits: tuple[int, int] | None = None,
    bytewise: bool = False,
    inflate: bool = False,
    points: tuple[int, ...] = (),
) -> bytes:
    """The fuzz input for a stream and options (used to write the seed corpus)."""
    flags = sentinel | (8 if comments else 0) | (16 if limits else 0) | (32 if bytewise else 0)
    flags |= 64 if inflate else 0
    line_byte, event_byte = (limits[0] - 1, (limits[1] - 1) // 2) if limits else (0, 0)
    header = bytes((flags, line_byte, event_byte, len(points)))
    return header + b"".join(p.to_bytes(2, "little") for p in points) + stream


def _mismatch(what: str, case: Case, expected: Outcome, got: Outcome) -> AssertionError:
    return AssertionError(
        f"{what}\n  options={case.options!r}\n  points={case.points!r}\n"
        f"  stream={case.stream[:2000]!r}\n  expected={expected!r}\n  got={got!r}"
    )


def check(case: Case) -> None:
    """Run every comparison for one case; raise ``AssertionError`` on a mismatch."""
    options, stream = case.options, case.stream
    small = case.small_limits
    whole = run_decoder([stream], options, check_pending=small)
    split = run_decoder(split_at(stream, case.points), options, check_pending=small)
    if split != whole:
        raise _mismatch("chunking changed the outcome", case, whole, split)
    if case.bytewise and len(stream) <= MAX_BYTEWISE:
        chunks = [stream[i : i + 1] for i in range(len(stream))]
        bytewise = run_decoder(chunks, options, check_pending=small)
        if bytewise != whole:
            raise _mismatch("byte-by-byte feeding changed the outcome", case, whole, bytewise)
    if small:
        return
    expected = reference_outcome(stream, options)
    if whole != expected:
        raise _mismatch("decoder disagrees with the reference model", case, expected, whole)
    snapshots = split.snapshots
    step = max(1, len(snapshots) // MAX_CHECKPOINTS)
    for snapshot in snapshots[::step]:
        prefix = reference_outcome(stream[: snapshot.offset], options)
        so_far = Outcome(split.items[: snapshot.items], snapshot.last_event_id, snapshot.retry)
        if so_far != prefix:
            raise _mismatch(f"after {snapshot.offset} bytes fed", case, prefix, so_far)
    layered = run_lines_then_assembler(split_at(stream, case.points), options)
    if layered != whole:
        raise _mismatch("LineDecoder + EventAssembler disagree", case, whole, layered)


def test_one_input(data: bytes) -> None:
    """The libFuzzer entry point."""
    case = decode_input(data)
    if case is not None:
        check(case)


SEEDS: tuple[bytes, ...] = (
    encode_input(b"data: hello\n\n"),
    encode_input(
        b"\xef\xbb\xbfdata: a\r\ndata: b\r\n\r\nid: 1\rretry: 1000\r\r", points=(1, 16, 17, 27)
    ),
    encode_input(b"event: x\nid: a\x00b\ndata: [DONE]\n\n: keepalive\n\n", comments=True),
    encode_input(b"data: \xe2\x82\xac\xff\xc3\n\ndata\n\n", points=(8, 9), bytewise=True),
    encode_input(b"data: 0123456789abcdef\n\nid: 1\n\n", limits=(8, 9), bytewise=True),
    encode_input(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n", points=(2, 4)),
    encode_input(
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n",
        points=(30, 60),
    ),
    encode_input(b"retry: 99999999999999999999999\nretry: 1x\ndata\n\n", sentinel=1),
    encode_input(b"data:\xff\n\n", sentinel=3),
    encode_input(
        b"data: \x7f\x7f\x7f\n\ndata: \x7f\x7f\x7f\x7f\n\n", inflate=True, points=(9, 40000)
    ),
    encode_input(b"data: a\x7f\x7f\x7f\n\n", inflate=True, limits=(200, 200)),
)


def seed_corpus(argv: list[str]) -> None:
    """Write ``SEEDS`` into every corpus directory argument that is missing or empty."""
    for arg in argv[1:]:
        if arg.startswith("-"):
            continue
        path = Path(arg)
        if path.is_file():
            continue
        if not path.exists() or not any(path.iterdir()):
            path.mkdir(parents=True, exist_ok=True)
            for index, seed in enumerate(SEEDS):
                (path / f"seed-{index:02d}").write_bytes(seed)


def explain(paths: list[str]) -> int:
    """Print what each input means and what the checks say about it."""
    status = 0
    for name in paths:
        data = Path(name).read_bytes()
        case = decode_input(data)
        print(f"{name}: {len(data)} bytes")
        if case is None:
            print("  too short to be a case (ignored by the target)")
            continue
        print(f"  options={case.options!r} bytewise={case.bytewise} points={case.points!r}")
        shown = case.stream if len(case.stream) <= 4096 else case.stream[:4096] + b"..."
        print(f"  stream ({len(case.stream)} bytes)={shown!r}")
        print(f"  whole -> {run_decoder([case.stream], case.options)!r}")
        try:
            check(case)
        except AssertionError as exc:
            print(f"  FAIL: {exc}")
            status = 1
        else:
            print("  ok")
    return status


def main() -> int:
    if sys.argv[1:2] == ["--explain"]:
        return explain(sys.argv[2:])
    if atheris is None:
        print("atheris is not installed (pip install atheris, Linux only)", file=sys.stderr)
        return 1
    crashes = FUZZ / "crashes"
    crashes.mkdir(exist_ok=True)
    # Absolute paths, and argv[0] as a full command line: with -jobs/-workers,
    # libFuzzer starts each job by running argv through the shell.
    argv = [f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}"]
    for arg in sys.argv[1:]:
        argv.append(arg if arg.startswith("-") else str(Path(arg).resolve()))
    if not any(arg.startswith("-artifact_prefix=") for arg in argv):
        argv.insert(1, f"-artifact_prefix={crashes}/")
    if any(arg.startswith(("-jobs=", "-workers=")) for arg in argv):
        os.chdir(crashes)  # each job's fuzz-<n>.log lands there (git-ignored)
    seed_corpus(argv)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
