"""Run the fuzz properties once for CI, or round after round for a chosen time.

    python fuzz/run.py --smoke                      # CI: the smoke profile, once
    python fuzz/run.py --minutes 30                 # long profile, 30 minutes
    python fuzz/run.py --minutes 30 --jobs 2        # two processes, different seeds
    python fuzz/run.py --minutes 5 -- -k reference  # extra arguments go to pytest

A timed run is a series of rounds.  Each round is one ``pytest fuzz`` process
per job, each with its own ``--hypothesis-seed``; the first round is short, and
the statistics hypothesis prints (examples and generation time per property)
size the next ones so that every property gets an equal share of the remaining
time.  The run stops at the first failure with a non-zero exit status, printing
pytest's report (the falsifying example and a ``@reproduce_failure`` line) and
the command that replays it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent

FIRST_ROUND_EXAMPLES = 100
"""Examples per property in the first round of a timed run (measures the rates)."""

MAX_ROUND_SECONDS = 600.0
"""No round is planned longer than this, so seeds change now and then."""

GRACE_SECONDS = 60.0
"""How far past the deadline a round may run before it is stopped."""

_TEST = re.compile(r"^(\S+::\S+):$")
_PHASE = re.compile(r"- during (\w+) phase \(([\d.]+) seconds\)")
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


@dataclass
class Stats:
    """Examples run and seconds spent generating them, per property."""

    examples: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, other: Stats) -> None:
        for name, count in other.examples.items():
            self.examples[name] = self.examples.get(name, 0) + count
        for name, seconds in other.seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @property
    def total(self) -> int:
        return sum(self.examples.values())


def parse_statistics(output: str) -> Stats:
    """Read ``--hypothesis-show-statistics`` output: examples and seconds per property."""
    stats = Stats()
    test: str | None = None
    phase = ""
    for line in output.splitlines():
        if match := _TEST.match(line.strip()):
            test = match.group(1).rpartition("::")[2]
        elif test and (match := _PHASE.search(line)):
            phase = match.group(1)
            if phase in ("generate", "reuse"):
                stats.seconds[test] = stats.seconds.get(test, 0.0) + float(match.group(2))
        elif test and phase in ("generate", "reuse") and (match := _COUNTS.search(line)):
            count = int(match.group(1)) + int(match.group(2))
            stats.examples[test] = stats.examples.get(test, 0) + count
    return stats


def pytest_command(seed: int, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "fuzz",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        f"--hypothesis-seed={seed}",
        *extra,
    ]


def environment(profile: str, budgets: dict[str, int] | None) -> dict[str, str]:
    env = dict(os.environ, SSEIO_FUZZ_PROFILE=profile)
    env.pop("SSEIO_FUZZ_MAX_EXAMPLES", None)
    if budgets:
        env["SSEIO_FUZZ_MAX_EXAMPLES"] = ",".join(f"{k}={v}" for k, v in budgets.items())
    return env


def report_failure(
    output: str, seed: int, profile: str, extra: list[str], budgets: dict[str, int] | None
) -> None:
    """Print pytest's report and the command that replays the failure."""
    failed = re.findall(r"^FAILED \S+::(\w+)", output, re.MULTILINE)
    print(output, flush=True)
    env = f"SSEIO_FUZZ_PROFILE={profile}"
    selector = ""
    if failed:
        selector = f" -k {failed[0]}"
        if budgets and failed[0] in budgets:
            env += f" SSEIO_FUZZ_MAX_EXAMPLES={budgets[failed[0]]}"
        elif budgets is None and profile != "smoke":
            env += f" SSEIO_FUZZ_MAX_EXAMPLES={FIRST_ROUND_EXAMPLES}"
    print(
        "\nFUZZ FAILURE. Replay it with the same seed (or paste the @reproduce_failure line\n"
        "above the test):\n"
        f"  {env} {sys.executable} -m pytest fuzz -x{selector} --hypothesis-seed={seed} "
        f"{' '.join(extra)}".rstrip(),
        flush=True,
    )


def smoke(seed: int, extra: list[str]) -> int:
    """One pass of the smoke profile; pytest's report is printed as it is."""
    print(f"fuzz smoke run, --hypothesis-seed={seed}", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        pytest_command(seed, extra),
        cwd=REPO,
        env=environment("smoke", None),
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        report_failure(output, seed, "smoke", extra, None)
        return done.returncode
    stats = parse_statistics(output)
    elapsed = time.monotonic() - started
    print(output.rstrip().splitlines()[-1] if output.strip() else "", flush=True)
    print(f"smoke: {stats.total} examples in {elapsed:.1f}s, no failure", flush=True)
    return 0


def plan(stats: Stats, names: list[str], seconds: float) -> dict[str, int]:
    """Examples per property so that each takes about ``seconds / len(names)``."""
    share = seconds / max(1, len(names))
    budgets = {}
    for name in names:
        count = stats.examples.get(name, 0)
        spent = stats.seconds.get(name, 0.0)
        rate = count / spent if spent > 0 and count else 50.0
        budgets[name] = max(10, int(rate * share))
    return budgets


def stop(process: subprocess.Popen[str]) -> None:
    """Interrupt a pytest process we started (it reports what it has), kill it if it hangs."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_round(
    seeds: list[int], env: dict[str, str], extra: list[str], stop_at: float
) -> tuple[list[tuple[int, str, bool]], bool]:
    """One pytest process per seed, in parallel; return each (exit status, output, stopped).

    The first process to fail stops the others, and so does reaching ``stop_at``
    (``time.monotonic()``); the second value says whether the clock stopped them.
    """
    stopped = False
    interrupted: set[int] = set()
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in seeds]
        processes = [
            subprocess.Popen(
                pytest_command(seed, extra),
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for seed, log in zip(seeds, logs, strict=True)
        ]
        while any(process.poll() is None for process in processes):
            failed = any(process.poll() not in (None, 0) for process in processes)
            stopped = time.monotonic() > stop_at
            if failed or stopped:
                for index, process in enumerate(processes):
                    if process.poll() is None:
                        interrupted.add(index)
                        stop(process)
                break
            time.sleep(0.2)
        results = []
        for index, (process, log) in enumerate(zip(processes, logs, strict=True)):
            log.seek(0)
            results.append((process.returncode, log.read(), index in interrupted))
    return results, stopped


def timed(
    minutes: float, profile: str, jobs: int, seed: int, extra: list[str], *, verbose: bool = False
) -> int:
    """Rounds of ``jobs`` seeded pytest processes until ``minutes`` have passed."""
    started = time.monotonic()
    deadline = started + minutes * 60
    totals = Stats()
    budgets: dict[str, int] = {}
    round_number = 0
    while True:
        remaining = deadline - time.monotonic()
        if round_number and remaining < 10:
            break
        round_number += 1
        seeds = [seed + round_number * 1000 + job for job in range(jobs)]
        env = environment(profile, budgets or None)
        if not budgets:
            env["SSEIO_FUZZ_MAX_EXAMPLES"] = str(FIRST_ROUND_EXAMPLES)
        round_started = time.monotonic()
        results, stopped = run_round(seeds, env, extra, deadline + GRACE_SECONDS)
        for job_seed, (returncode, output, interrupted) in zip(seeds, results, strict=True):
            if returncode != 0 and not (interrupted and "Falsifying" not in output):
                report_failure(output, job_seed, profile, extra, budgets or None)
                return returncode or 1
        outputs = [output for _, output, _ in results]
        round_stats = Stats()
        for output in outputs:
            round_stats.add(parse_statistics(output))
        totals.add(round_stats)
        elapsed = time.monotonic() - round_started
        print(
            f"round {round_number}: seeds {seeds}, {round_stats.total} examples "
            f"in {elapsed:.1f}s ({round_stats.total / max(elapsed, 1e-9):.0f}/s)"
            + (" (stopped at the deadline)" if stopped else ""),
            flush=True,
        )
        if stopped:
            break
        names = sorted(round_stats.examples) or sorted(budgets)
        remaining = deadline - time.monotonic()
        overhead = 3.0  # process start-up, collection, reporting
        round_seconds = min(MAX_ROUND_SECONDS, remaining * 0.75 - overhead)
        if round_seconds < 5:
            break
        # Rates come from this round's statistics (per process, so jobs don't change them).
        per_process = Stats(
            {k: v // jobs for k, v in round_stats.examples.items()},
            {k: v / jobs for k, v in round_stats.seconds.items()},
        )
        budgets = plan(per_process, names, round_seconds)
        if verbose:
            print(f"  next round, examples per property: {budgets}", flush=True)
    elapsed = time.monotonic() - started
    print(f"\n{round_number} rounds, {totals.total} examples in {elapsed:.0f}s, no failure")
    for name in sorted(totals.examples):
        spent = totals.seconds.get(name, 0.0)
        rate = totals.examples[name] / spent if spent else 0.0
        print(f"  {name}: {totals.examples[name]} examples ({rate:.0f}/s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--smoke", action="store_true", help="one pass of the smoke profile (CI)")
    mode.add_argument("--minutes", type=float, help="run rounds until this many minutes pass")
    parser.add_argument("--profile", choices=("long", "smoke"), default="long")
    parser.add_argument("--jobs", type=int, default=1, help="parallel pytest processes")
    parser.add_argument("--seed", type=int, help="first seed (random by default)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each round's plan")
    parser.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    if args.smoke:
        return smoke(seed, args.pytest_args)
    if args.minutes <= 0 or args.jobs < 1:
        parser.error("--minutes and --jobs must be positive")
    return timed(
        args.minutes, args.profile, args.jobs, seed, args.pytest_args, verbose=args.verbose
    )


if __name__ == "__main__":
    sys.exit(main())
