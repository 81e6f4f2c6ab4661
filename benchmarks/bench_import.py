"""What importing sseio costs: memory, modules and time, per public package.

Run ``python benchmarks/bench_import.py [--runs N] [--against REV]``.

Each measurement is a fresh interpreter that imports one package
(``sseio``, ``sseio.chat``, ``sseio.server``, ``sseio.testing``,
``sseio.conformance``) and reports the memory ``tracemalloc`` traced during
the import (KiB, the same on every run of the same source and packages), the
number of modules it loaded (sseio's own and in all), and the import's wall
time (the median of ``--runs`` processes; noisy on a shared machine).  With
``--against REV`` the same is measured for that git revision of sseio too
(checked out into a temporary worktree and put first on ``PYTHONPATH``), and
the table shows both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sseio", "sseio.chat", "sseio.server", "sseio.testing", "sseio.conformance")

_PROBE = """
import json, sys, time, tracemalloc
before = set(sys.modules)
tracemalloc.start()
started = time.perf_counter()
import {package}
elapsed = time.perf_counter() - started
traced, _ = tracemalloc.get_traced_memory()
loaded = set(sys.modules) - before
print(json.dumps({{
    "file": sys.modules["sseio"].__file__,
    "traced_kib": traced / 1024,
    "modules": len(loaded),
    "sseio_modules": sum(1 for name in loaded if name == "sseio" or name.startswith("sseio.")),
    "seconds": elapsed,
}}))
"""


def measure(package: str, source: Path, runs: int) -> dict[str, float]:
    """Median over ``runs`` fresh interpreters importing ``package`` from ``source``."""
    env = dict(os.environ, PYTHONPATH=str(source))
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(package=package)],
            capture_output=True,
            text=True,
            env=env,
            cwd=source,
            timeout=120,
            check=True,
        ).stdout
        sample = json.loads(out)
        if not sample["file"].startswith(str(source)):
            raise RuntimeError(f"imported sseio from {sample['file']}, not from {source}")
        samples.append(sample)
    return {
        key: statistics.median(sample[key] for sample in samples)
        for key in ("traced_kib", "modules", "sseio_modules", "seconds")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="processes per measurement")
    parser.add_argument("--against", metavar="REV", help="also measure this git revision")
    args = parser.parse_args()
    sources = {"this tree": ROOT}
    with tempfile.TemporaryDirectory() as scratch:
        if args.against:
            worktree = Path(scratch) / "worktree"
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(ROOT),
                    "worktree",
                    "add",
                    "--detach",
                    "-q",
                    str(worktree),
                    args.against,
                ],
                check=True,
            )
            sources = {args.against: worktree, **sources}
        try:
            print(
                f"{'package':<20} {'source':<12} {'traced KiB':>10} {'modules':>8} "
                f"{'of sseio':>8} {'ms':>7}"
            )
            for package in PACKAGES:
                for label, source in sources.items():
                    try:
                        row = measure(package, source, args.runs)
                    except subprocess.CalledProcessError:
                        print(f"{package:<20} {label:<12} {'(does not import)':>10}")
                        continue
                    print(
                        f"{package:<20} {label:<12} {row['traced_kib']:>10.0f} "
                        f"{row['modules']:>8.0f} {row['sseio_modules']:>8.0f} "
                        f"{row['seconds'] * 1000:>7.1f}"
                    )
        finally:
            if args.against:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT),
                        "worktree",
                        "remove",
                        "--force",
                        str(Path(scratch) / "worktree"),
                    ],
                    check=False,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
