"""Chat benchmark: sseio's typed chat pipeline against the openai SDK, end to end over loopback.

Run ``python benchmarks/bench_chat.py [--quick] [--markdown] [--json FILE]``;
``--profile`` prints only where the sseio blocking chat client spends its time.

It reuses ``bench_transport.py`` from this folder: its server process (one thread,
pre-rendered OpenAI-style streams of ``chat.completion.chunk`` events, in one HTTP
chunk per event or in 16 KiB HTTP chunks), its way of running every client in a
fresh process of its own (forked, this module imported from bytecode, peak RSS from
``ru_maxrss``), the sseio snapshot every process imports, and its table helpers.
Every client sends the same request, ``POST /v1/chat/completions?n=N&mode=M`` with
a JSON body; the query comes from each library's own ``extra_query`` argument.

Each client process imports its library, runs one warm-up stream of 50 chunks on a
client object of its own, builds another client object, then times one stream of
20,000 chunks from the ``stream(...)`` / ``create(...)`` call until the application
holds the accumulated answer.  On every chunk it reads ``chunk.choices[0].delta.content``.
Clients:

``sseio blocking``          ``sseio.chat.ChatClient(...).stream(...)``: iterate, then ``final()``
``sseio asyncio``           ``sseio.chat.AsyncChatClient``, the same, under asyncio
``sseio trio``              the same under trio
``openai sync``             ``OpenAI(...).chat.completions.create(..., stream=True)``;
                            the content pieces are kept in a list and joined at the end
``openai sync .stream()``   ``OpenAI(...).chat.completions.stream(...)``, the SDK's own
                            accumulator: iterate its events, then ``get_final_completion()``
``openai async``            ``AsyncOpenAI``, ``create(..., stream=True)``, under asyncio
``openai async .stream()``  ``AsyncOpenAI``, ``chat.completions.stream(...)``, under asyncio

The parent checks every sample, warm-up included, against the rendered stream (not
against any client's output): the number of chunks, the number of chunks with
content, the whole accumulated content (length and SHA-1), ``finish_reason
"stop"``, and for sseio that ``[DONE]`` arrived.  A client that got a wrong answer
is reported as FAIL and not timed.  sseio is compared with the fastest openai row
of each framing, and the target is sseio >= 10x its chunks/s.  Runs are interleaved
round-robin across clients, the order rotating each round; every figure is a median.
"""

# Only light standard-library modules at the top: the client processes import this
# file, and whatever it imports would count in every client's RSS.
from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

import bench_transport as transport

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# --------------------------------------------------------------------------- workload

EVENTS = transport.EVENTS
"""Chunks per timed stream (the ``[DONE]`` sentinel comes on top)."""
QUICK_EVENTS = 2_000
WARMUP_EVENTS = transport.WARMUP_EVENTS
MODES = transport.MODES
MODEL = str(transport.REQUEST_JSON["model"])
MESSAGES: Any = transport.REQUEST_JSON["messages"]
TARGET = 10.0
"""sseio's chunks/s must be at least this many times the fastest openai client's."""

CLIENT_TIMEOUT = 90.0
"""Seconds one client process may take before it is killed (the slowest takes ~10 s)."""


def expected(events: int) -> dict[str, Any]:
    """What every client must report for a stream of ``events`` chunks, built from the
    rendered events themselves (not from any client's output)."""
    import hashlib
    import json

    pieces = []
    finish = None
    for event in transport.render_events(events)[:-1]:
        choice = json.loads(event[len(b"data: ") :])["choices"][0]
        pieces.append(choice["delta"].get("content") or "")
        finish = choice["finish_reason"]
    content = "".join(pieces)
    return {
        "chunks": events,
        "content_chunks": sum(1 for piece in pieces if piece),
        "content_length": len(content),
        "content_sha1": hashlib.sha1(content.encode()).hexdigest(),
        "finish": finish,
    }


def expectations(script: str, counts: list[int]) -> dict[int, dict[str, Any]]:
    """``expected(count)`` for each count, worked out in a process of its own: a forked
    client's ``ru_maxrss`` starts at its parent's RSS, so rendering 20,000 events here
    would raise the floor of every client's figure."""
    import json
    import subprocess

    argv = transport.child_argv(script, "--expected", *map(str, counts))
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    return {int(count): want for count, want in json.loads(done.stdout).items()}


# --------------------------------------------------------------------------- clients


class ChatRun:
    """What one stream gave the application."""

    __slots__ = ("chunks", "content", "content_chunks", "done", "elapsed", "finish", "first")

    def __init__(self) -> None:
        self.chunks = 0
        self.content_chunks = 0
        self.first: float | None = None  # seconds from the call to the first chunk
        self.elapsed = 0.0
        self.content = ""
        self.finish: str | None = None
        self.done: bool | None = None  # whether [DONE] came; None where a library hides it

    def report(self) -> dict[str, Any]:
        import hashlib

        return {
            "chunks": self.chunks,
            "content_chunks": self.content_chunks,
            "content_length": len(self.content),
            "content_sha1": hashlib.sha1(self.content.encode()).hexdigest(),
            "finish": self.finish,
            "done": self.done,
        }


if TYPE_CHECKING:
    Runner = Callable[[str, str, int], ChatRun]
    """``run(server_base, mode, events)``; the library is imported before it is made."""


def _query(mode: str, events: int) -> dict[str, Any]:
    return {"n": events, "mode": mode}


def _sseio_blocking() -> Runner:
    import sseio
    import sseio.chat

    def run(base: str, mode: str, events: int) -> ChatRun:
        out = ChatRun()
        with sseio.chat.ChatClient(
            base_url=base + "/v1", api_key="x", retry=sseio.chat.NO_RETRY
        ) as client:
            started = time.perf_counter()
            with client.stream(
                model=MODEL, messages=MESSAGES, extra_query=_query(mode, events)
            ) as stream:
                for chunk in stream:
                    if out.first is None:
                        out.first = time.perf_counter() - started
                    out.chunks += 1
                    if chunk.choices[0].delta.content:
                        out.content_chunks += 1
                result = stream.final()
            out.elapsed = time.perf_counter() - started
            out.content, out.finish, out.done = result.content, result.finish_reason, stream.done
        return out

    return run


def _sseio_async(backend: str) -> Runner:
    import anyio

    import sseio
    import sseio.chat

    if backend == "trio":
        import trio  # noqa: F401  (imported here so that the baseline RSS includes it)

    async def main(base: str, mode: str, events: int) -> ChatRun:
        out = ChatRun()
        async with sseio.chat.AsyncChatClient(
            base_url=base + "/v1", api_key="x", retry=sseio.chat.NO_RETRY
        ) as client:
            started = time.perf_counter()
            async with client.stream(
                model=MODEL, messages=MESSAGES, extra_query=_query(mode, events)
            ) as stream:
                async for chunk in stream:
                    if out.first is None:
                        out.first = time.perf_counter() - started
                    out.chunks += 1
                    if chunk.choices[0].delta.content:
                        out.content_chunks += 1
                result = await stream.final()
            out.elapsed = time.perf_counter() - started
            out.content, out.finish, out.done = result.content, result.finish_reason, stream.done
        return out

    def run(base: str, mode: str, events: int) -> ChatRun:
        return anyio.run(main, base, mode, events, backend=backend)

    return run


def _openai_sync(helper: bool) -> Runner:
    import openai

    def run(base: str, mode: str, events: int) -> ChatRun:
        out = ChatRun()
        with openai.OpenAI(base_url=base + "/v1", api_key="x", max_retries=0) as client:
            started = time.perf_counter()
            if helper:
                with client.chat.completions.stream(
                    model=MODEL, messages=MESSAGES, extra_query=_query(mode, events)
                ) as stream:
                    for event in stream:
                        if event.type == "chunk":
                            if out.first is None:
                                out.first = time.perf_counter() - started
                            out.chunks += 1
                            if event.chunk.choices[0].delta.content:
                                out.content_chunks += 1
                    completion = stream.get_final_completion()
                out.elapsed = time.perf_counter() - started
                choice = completion.choices[0]
                out.content, out.finish = choice.message.content or "", choice.finish_reason
                return out
            pieces = []
            last = None
            with client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, extra_query=_query(mode, events)
            ) as chunks:
                for chunk in chunks:
                    if out.first is None:
                        out.first = time.perf_counter() - started
                    out.chunks += 1
                    content = chunk.choices[0].delta.content
                    if content:
                        out.content_chunks += 1
                        pieces.append(content)
                    last = chunk
            out.content = "".join(pieces)
            out.elapsed = time.perf_counter() - started
            out.finish = last.choices[0].finish_reason if last is not None else None
        return out

    return run


def _openai_async(helper: bool) -> Runner:
    import asyncio

    import openai

    async def main(base: str, mode: str, events: int) -> ChatRun:
        out = ChatRun()
        async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="x", max_retries=0) as client:
            started = time.perf_counter()
            if helper:
                async with client.chat.completions.stream(
                    model=MODEL, messages=MESSAGES, extra_query=_query(mode, events)
                ) as stream:
                    async for event in stream:
                        if event.type == "chunk":
                            if out.first is None:
                                out.first = time.perf_counter() - started
                            out.chunks += 1
                            if event.chunk.choices[0].delta.content:
                                out.content_chunks += 1
                    completion = await stream.get_final_completion()
                out.elapsed = time.perf_counter() - started
                choice = completion.choices[0]
                out.content, out.finish = choice.message.content or "", choice.finish_reason
                return out
            pieces = []
            last = None
            chunks = await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, extra_query=_query(mode, events)
            )
            async with chunks:
                async for chunk in chunks:
                    if out.first is None:
                        out.first = time.perf_counter() - started
                    out.chunks += 1
                    content = chunk.choices[0].delta.content
                    if content:
                        out.content_chunks += 1
                        pieces.append(content)
                    last = chunk
            out.content = "".join(pieces)
            out.elapsed = time.perf_counter() - started
            out.finish = last.choices[0].finish_reason if last is not None else None
        return out

    def run(base: str, mode: str, events: int) -> ChatRun:
        return asyncio.run(main(base, mode, events))

    return run


CLIENTS: dict[str, Callable[[], Runner]] = {
    "sseio blocking": _sseio_blocking,
    "sseio asyncio": lambda: _sseio_async("asyncio"),
    "sseio trio": lambda: _sseio_async("trio"),
    "openai sync": lambda: _openai_sync(helper=False),
    "openai sync .stream()": lambda: _openai_sync(helper=True),
    "openai async": lambda: _openai_async(helper=False),
    "openai async .stream()": lambda: _openai_async(helper=True),
}
SSEIO = ["sseio blocking", "sseio asyncio", "sseio trio"]
OPENAI = ["openai sync", "openai sync .stream()", "openai async", "openai async .stream()"]


def client_main(argv: list[str]) -> int:
    """One client process: ``NAME BASE MODE EVENTS 1 [--cprofile FILE]`` (the argument
    list ``bench_transport.run_client`` builds).  Prints one JSON line."""
    import json

    name, base, mode, events, streams = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    if streams != 1:
        raise SystemExit("the chat benchmark runs one stream per process")
    signal.alarm(int(CLIENT_TIMEOUT) + 30)  # a last resort; the parent has its own timeout
    run = CLIENTS[name]()
    baseline = transport.max_rss()
    warm = run(base, mode, WARMUP_EVENTS)
    profiler = None
    if argv[5:6] == ["--cprofile"]:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    measured = run(base, mode, events)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(argv[6])
    report = {
        "ok": True,
        "error": "",
        "elapsed": measured.elapsed,
        "events": measured.chunks,
        "first": measured.first,
        "baseline_rss": baseline,
        "peak_rss": transport.max_rss(),
        "vm_hwm": transport.vm_hwm(),
        "warmup": warm.report(),
        **measured.report(),
    }
    if "sseio" in sys.modules:
        report["sseio_from"] = os.path.dirname(sys.modules["sseio"].__file__ or "")
    print(json.dumps(report), flush=True)
    return 0


# --------------------------------------------------------------------------- orchestration


def problem(name: str, got: dict[str, Any], want: dict[str, Any]) -> str | None:
    """What is wrong with one stream's report, or ``None``."""
    for key in ("chunks", "content_chunks", "content_length", "content_sha1", "finish"):
        if got.get(key) != want[key]:
            return f"{key} is {got.get(key)!r}, expected {want[key]!r}"
    if name in SSEIO and got.get("done") is not True:
        return "no [DONE]"
    return None


class Plan:
    def __init__(self, name: str, repeats: int, events: int) -> None:
        self.name = name
        self.repeats = repeats
        self.events = events


FULL = Plan("full", repeats=7, events=EVENTS)
QUICK = Plan("quick", repeats=1, events=QUICK_EVENTS)


def run_one(
    script: str, base: str, name: str, mode: str, events: int, wants: dict[int, dict[str, Any]]
) -> transport.Sample:
    """One client process, its report checked (warm-up included) against ``wants``, the
    ``expected`` values for the warm-up and the timed stream."""
    sample = transport.run_client(script, name, base, mode, events, 1, CLIENT_TIMEOUT)
    if not sample.ok:
        return sample
    for label, got, want in (
        ("warm-up", sample.extra.get("warmup", {}), wants[WARMUP_EVENTS]),
        ("timed run", sample.extra, wants[events]),
    ):
        wrong = problem(name, got, want)
        if wrong:
            return transport.Sample(ok=False, error=f"{label}: {wrong}", **sample.extra)
    return sample


def run_all(
    script: str, base: str, plan: Plan, log: Callable[[str], None]
) -> dict[tuple[str, str], transport.Row]:
    """Every run of the plan, interleaved: (client, mode) → Row."""
    wants = expectations(script, [WARMUP_EVENTS, plan.events])
    rows = {(c, m): transport.Row(c, m) for m in MODES for c in CLIENTS}
    names = list(CLIENTS)
    for round_ in range(plan.repeats):
        mark = time.perf_counter()
        for m_index, mode in enumerate(MODES):
            for name in transport.rotate(names, round_ + m_index):
                sample = run_one(script, base, name, mode, plan.events, wants)
                rows[(name, mode)].samples.append(sample)
                if not sample.ok:
                    log(f"  {name} / {mode}: FAILED: {sample.error}")
        log(f"round {round_ + 1}/{plan.repeats}: {time.perf_counter() - mark:.1f} s")
    return rows


# --------------------------------------------------------------------------- report


def fastest_openai(rows: dict[tuple[str, str], transport.Row], mode: str) -> transport.Row:
    candidates = [rows[(name, mode)] for name in OPENAI]
    return max(candidates, key=lambda row: row.events_s if row.ok else -1.0)


def report(
    rows: dict[tuple[str, str], transport.Row], plan: Plan, markdown: bool, info: dict[str, Any]
) -> tuple[list[str], bool]:
    """The tables and the target lines; ``info``: seconds, versions, sseio_source.
    Returns the lines and whether a target was missed."""
    mib, table = transport.mib, transport.table

    def heading(text: str) -> str:
        return f"### {text}" if markdown else f"== {text} =="

    out = [
        f"# sseio chat benchmark ({plan.name} run, {info['seconds']:.0f} s)",
        f"# {info['versions']}",
        f"# sseio source: {info['sseio_source']}",
        f"# one stream: {plan.events:,} chat.completion.chunk events + [DONE], typed and "
        f"accumulated; medians of {plan.repeats} runs, each in a fresh process",
        "",
    ]
    if markdown:  # the header as a block, not as Markdown headings
        out = ["```", *(line.removeprefix("# ") for line in out[:-1]), "```", ""]
    targets: list[str] = []
    missed = False
    for mode in MODES:
        what = "one HTTP chunk per event" if mode == "per-event" else "16 KiB HTTP chunks"
        out += [heading(f"{plan.events:,} chunks, {what}"), ""]
        cells = []
        for name in CLIENTS:
            row = rows[(name, mode)]
            if not row.ok:
                cells.append([name, "FAIL", "", "", row.error[:70]])
                continue
            cells.append(
                [
                    name,
                    f"{row.events_s:,.0f}",
                    f"{row.median('first') * 1e3:.2f} ms",
                    mib(row.median("peak_rss")),
                    mib(row.median("baseline_rss")),
                ]
            )
        headers = ["client", "chunks/s", "first chunk", "peak RSS", "RSS after imports"]
        out += table(headers, cells, markdown)
        peer = fastest_openai(rows, mode)
        out += [
            "",
            f"sseio / openai in chunks/s, and in peak RSS against {peer.client}, the fastest",
            "openai client here (chunks/s above 1.00x and RSS below 1.00x favour sseio):",
            "",
        ]
        headers = ["sseio / openai", *(f"vs {name}" for name in OPENAI), "RSS"]
        cells = []
        for name in SSEIO:
            ours = rows[(name, mode)]
            line = [name]
            for other in (rows[(o, mode)] for o in OPENAI):
                ok = ours.ok and other.ok
                line.append(f"{ours.events_s / other.events_s:.2f}x" if ok else "n/a")
            if ours.ok and peer.ok:
                line.append(f"{ours.median('peak_rss') / peer.median('peak_rss'):.2f}x")
                speed = ours.events_s / peer.events_s
                holds = speed >= TARGET
                missed |= not holds
                verdict = "holds" if holds else "MISSED"
                targets.append(
                    f"  {name:<14} {mode:<9} {ours.events_s:>9,.0f} vs {peer.client:<22} "
                    f"{peer.events_s:>7,.0f} chunks/s  {speed:5.2f}x  {verdict}"
                )
            else:
                line.append("n/a")
                missed = True
                targets.append(f"  {name:<14} {mode:<9} n/a (a run failed)")
            cells.append(line)
        out += table(headers, cells, markdown)
        out.append("")
    out += [heading(f"Target: sseio >= {TARGET:g}x the fastest openai client's chunks/s"), ""]
    out += ["```", *targets, "```"] if markdown else targets
    return out, missed


# --------------------------------------------------------------------------- profile


CHAT_LAYERS: tuple[tuple[str, str], ...] = (
    ("sseio/chat/_types.py", "sseio chunk parsing (chat/_types)"),
    ("sseio/chat/_call.py", "sseio ChatCall, accumulation (chat/_call, chat/_accumulator)"),
    ("sseio/chat/_accumulator.py", "sseio ChatCall, accumulation (chat/_call, chat/_accumulator)"),
    ("sseio/chat/_think.py", "sseio think splitter (chat/_think)"),
    ("sseio/chat/_sync.py", "sseio chat adapter (chat/_sync, chat/_async)"),
    ("sseio/chat/_async.py", "sseio chat adapter (chat/_sync, chat/_async)"),
    ("sseio/_http/chunked.py", "sseio de-chunker (_http/chunked)"),
    ("bench_chat.py", "benchmark loop"),
    *transport.PROFILE_LAYERS,
)


LAYER_REPEATS = 9
"""Timings of each pure layer; the best is kept (other processes only ever add time)."""


def layer_costs(events_count: int) -> dict[str, float]:
    """Seconds each pure layer of the chat path takes alone on the rendered events, best
    of ``LAYER_REPEATS``, no profiler: the SSE decoder on the payload in 64 KiB pieces,
    the JSON parser sseio uses (``json.loads``, or ``orjson`` when installed),
    ``parse_chunk``, the accumulator, and ``ChatCall.on_event`` (all of the chat layer:
    JSON, typed chunk, think splitting, accumulation) plus ``final()``, with and without
    the think splitter.  No timed function keeps what it makes, as in a client, and the
    prepared inputs are frozen out of the collector's way (``gc.freeze``)."""
    import gc
    import json

    from sseio import ServerSentEvent, SSEDecoder
    from sseio.chat import ChatAccumulator, parse_chunk
    from sseio.chat._call import ChatCall
    from sseio.chat._retry import NO_RETRY
    from sseio.chat._types import loads as sseio_loads

    payload = b"".join(transport.render_events(events_count))
    reads = [payload[i : i + 65536] for i in range(0, len(payload), 65536)]

    def decode() -> int:
        decoder: SSEDecoder[Any] = SSEDecoder()
        return sum(len(decoder.feed(read)) for read in reads)

    def decoded() -> list[Any]:
        decoder: SSEDecoder[Any] = SSEDecoder()
        return [item for read in reads for item in decoder.feed(read)]

    events = [item for item in decoded() if type(item) is ServerSentEvent]
    datas = [event.data for event in events]
    payloads = [json.loads(data) for data in datas]
    chunks = [parse_chunk(doc) for doc in payloads]

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(LAYER_REPEATS):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    def loads() -> None:
        for data in datas:
            sseio_loads(data)

    def parse() -> None:
        for doc in payloads:
            parse_chunk(doc)

    def accumulate() -> object:
        accumulator = ChatAccumulator()
        for chunk in chunks:
            accumulator.add(chunk)
        return accumulator.result()

    def chat_layer(split_think: bool = True) -> object:
        call = ChatCall(NO_RETRY, split_think=split_think)
        for event in events:
            call.on_event(event)
        call.on_done()
        return call.final()

    gc.collect()
    gc.freeze()
    try:
        return {
            "SSE decoder": best(decode),
            "json.loads" if sseio_loads is json.loads else "orjson.loads": best(loads),
            "parse_chunk": best(parse),
            "accumulator": best(accumulate),
            "ChatCall.on_event": best(chat_layer),
            "  split_think=False": best(lambda: chat_layer(split_think=False)),
        }
    finally:
        gc.unfreeze()


PROFILE_REPEATS = 3
"""Runs of each sseio client whose median the layer shares are taken against."""


def profile_section(script: str, base: str, plan: Plan) -> Iterator[str]:
    """cProfile of the sseio blocking chat client in both framings, then the pure layers
    timed alone and their share of each sseio client's median time per stream."""
    import statistics

    yield "cProfile of one sseio blocking chat client process (the timed stream only)."
    yield "cProfile adds a fixed cost to every Python call, so layers made of many small"
    yield "calls look heavier here than they are; the second part times layers without it."
    for mode in MODES:
        yield ""
        yield from transport.profile_client(
            script, base, "sseio blocking", mode, plan.events, CHAT_LAYERS, top=15
        )
    # The client runs come before layer_costs(), which raises this process's RSS (and so
    # the floor of a forked client's ru_maxrss).
    wants = expectations(script, [WARMUP_EVENTS, plan.events])
    seconds: dict[tuple[str, str], float | None] = {}
    for name in SSEIO:
        for mode in MODES:
            samples = [
                run_one(script, base, name, mode, plan.events, wants)
                for _ in range(PROFILE_REPEATS)
            ]
            good = [sample.elapsed for sample in samples if sample.ok]
            seconds[(name, mode)] = statistics.median(good) if good else None
    costs = layer_costs(plan.events)
    per = 1e6 / plan.events
    yield ""
    yield (
        f"Pure layers alone on the {plan.events:,} rendered chunks, best of {LAYER_REPEATS}, "
        "no profiler"
    )
    yield "(ChatCall.on_event is the whole chat layer: JSON, parse_chunk, think"
    yield "splitting and the accumulator, then final(); the next line without the splitter):"
    yield ""
    for label, cost in costs.items():
        yield f"  {label:<18} {cost * 1e3:7.1f} ms  {cost * per:5.2f} us/chunk"
    yield ""
    yield (
        f"Their share of each sseio client's time per stream (median of {PROFILE_REPEATS} runs; "
        "the rest is"
    )
    yield "HTTP, de-chunking, socket reads, the adapters' generators and the benchmark loop):"
    yield ""
    chat, sse = costs["ChatCall.on_event"], costs["SSE decoder"]
    for (name, mode), total in seconds.items():
        if total is None:
            yield f"  {name:<15} {mode:<10} every run failed"
            continue
        rest = total - chat - sse
        yield (
            f"  {name:<15} {mode:<10} {total * 1e3:6.1f} ms ({total * per:5.2f} us/chunk): "
            f"chat layer {chat / total:5.1%}, SSE decoder {sse / total:5.1%}, "
            f"the rest {rest / total:5.1%}"
        )


# --------------------------------------------------------------------------- main

VERSIONS = ("sseio", "h11", "anyio", "trio", "openai", "httpx", "httpx2", "pydantic", "orjson")


def main(argv: list[str]) -> int:
    # The clients (and the --expected helper) are this script too; they skip the rest.
    if argv[:1] == ["--client"]:
        return client_main(argv[1:])
    import json

    if argv[:1] == ["--expected"]:
        print(json.dumps({count: expected(int(count)) for count in argv[1:]}))
        return 0

    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK.repeats} round of {QUICK.events:,}-chunk streams, for a smoke check",
    )
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    ap.add_argument(
        "--render", metavar="FILE", help="print the report of a run saved with --json; run nothing"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="only profile the sseio blocking chat client and time the chat layers alone",
    )
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render, encoding="utf-8") as fh:
            saved = json.load(fh)
        print("\n".join(render(saved, args.markdown)))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    here = Path(__file__).resolve()
    script, server_script = str(here), str(here.with_name("bench_transport.py"))
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    with (
        transport.SseioSnapshot() as snapshot,
        transport.Server(server_script, extra_counts=[plan.events]) as server,
    ):
        log(f"server ready at {server.base} in {time.perf_counter() - started:.1f} s")
        if args.profile:
            print(f"sseio source: {snapshot.source}\n")
            print("\n".join(profile_section(script, server.base, plan)))
            return 0
        rows = run_all(script, server.base, plan, log)
    doc = {
        "plan": plan.name,
        "seconds": time.perf_counter() - started,
        "versions": transport.versions(VERSIONS),
        "sseio_source": snapshot.source,
        "rows": [
            {"client": r.client, "mode": r.mode, "samples": [s.as_dict() for s in r.samples]}
            for r in rows.values()
        ],
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    print("\n".join(render(doc, args.markdown)))
    return 0


def render(doc: dict[str, Any], markdown: bool) -> list[str]:
    """The whole report of a run, from its JSON document."""
    plan = FULL if doc["plan"] == "full" else QUICK
    rows = {(c, m): transport.Row(c, m) for m in MODES for c in CLIENTS}
    for entry in doc["rows"]:
        rows[(entry["client"], entry["mode"])].samples = [
            transport.Sample(**sample) for sample in entry["samples"]
        ]
    lines, missed = report(rows, plan, markdown, doc)
    if missed:
        lines += ["", "(a target was missed: run with --profile to see where sseio's time goes)"]
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
