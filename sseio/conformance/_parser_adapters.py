"""Ready adapters for the parser scorer: sseio and the common Python SSE libraries.

Each adapter is ``adapter(chunks) -> events`` for one complete stream (see
``sseio.conformance._parser_run``) and drives the library the way its users get events:

``sseio``                ``SSEDecoder(done_sentinel=None)``: ``feed`` per chunk, then
                         ``close``; reports last event ID and retry.
``httpx-sse``            ``httpx_sse.connect_sse`` on an ``httpx.Client`` whose
                         ``MockTransport`` streams the chunks as a 200
                         ``text/event-stream`` body, so bytes go through httpx's own
                         text decoding and line splitting.  Reports as retry the
                         last ``retry`` an event carried (it keeps no stream state).
``openai``               ``openai._streaming.SSEDecoder().iter_bytes(chunks)``, the
                         decoder under the SDK's ``Stream``; retry as for httpx-sse.
``sseclient-py``         ``sseclient.SSEClient(chunks).events()``.
``launchdarkly``         ``ld_eventsource``'s line reader and ``_SSEReader`` (what
                         its ``SSEClient`` runs on the response body); reports last
                         event ID and retry.
``aiohttp-sse-client2``  its ``EventSource`` iterated with ``async for`` over a real
                         ``aiohttp.StreamReader`` holding the chunks (one event
                         loop per run); reports last event ID.

A library that is not installed is skipped by ``installed_adapters()`` and makes
``load_adapter()`` raise ``AdapterUnavailable``.  Peer imports happen only when
an adapter is loaded; nothing here is imported by the rest of sseio.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._core.decoder import SSEDecoder
from ._parser_run import Adapter, ParseResult

__all__ = [
    "ADAPTERS",
    "AdapterSpec",
    "AdapterUnavailable",
    "installed_adapters",
    "load_adapter",
]


class AdapterUnavailable(Exception):
    """The library an adapter drives is not installed."""


@dataclass(frozen=True)
class AdapterSpec:
    """A shipped adapter: its CLI name, the distribution it needs and what it drives."""

    name: str
    distribution: str
    path: str
    build: Callable[[], Adapter]


def sseio_adapter(chunks: Iterable[bytes]) -> ParseResult:
    """sseio's own decoder, with ``[DONE]`` as plain data."""
    decoder = SSEDecoder(done_sentinel=None)
    events: list[Any] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return ParseResult(events, decoder.last_event_id, decoder.retry)


def _with_event_retry(events: list[Any]) -> ParseResult:
    """Events plus, as the stream's retry, the last ``retry`` any of them carried.

    httpx-sse and openai keep no stream state: a ``retry`` field reaches their
    users only as the ``retry`` attribute of the next event they yield.
    """
    retries = [e.retry for e in events if e.retry is not None]
    return ParseResult(events, retry=retries[-1] if retries else None)


def _httpx_sse() -> Adapter:
    httpx = importlib.import_module("httpx")
    httpx_sse = importlib.import_module("httpx_sse")

    def adapter(chunks: Iterable[bytes]) -> ParseResult:
        def answer(request: Any) -> Any:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=iter(chunks)
            )

        with (
            httpx.Client(transport=httpx.MockTransport(answer), trust_env=False) as client,
            httpx_sse.connect_sse(client, "GET", "http://sse.test/stream") as source,
        ):
            return _with_event_retry(list(source.iter_sse()))

    return adapter


def _openai() -> Adapter:
    streaming = importlib.import_module("openai._streaming")

    def adapter(chunks: Iterable[bytes]) -> ParseResult:
        decoder = streaming.SSEDecoder()
        return _with_event_retry(list(decoder.iter_bytes(iter(chunks))))

    return adapter


def _sseclient() -> Adapter:
    sseclient = importlib.import_module("sseclient")

    def adapter(chunks: Iterable[bytes]) -> Iterable[Any]:
        return list(sseclient.SSEClient(iter(chunks)).events())

    return adapter


def _launchdarkly() -> Adapter:
    reader = importlib.import_module("ld_eventsource.reader")
    event_type = importlib.import_module("ld_eventsource.actions").Event

    def adapter(chunks: Iterable[bytes]) -> ParseResult:
        retries: list[int] = []
        source = reader._SSEReader(
            reader._BufferedLineReader.lines_from(chunks), set_retry=retries.append
        )
        events = [
            (item.event, item.data, item.last_event_id)
            for item in source.events_and_comments()
            if isinstance(item, event_type)
        ]
        return ParseResult(events, source.last_event_id, retries[-1] if retries else None)

    return adapter


class _FlowControl:
    """The protocol side an ``aiohttp.StreamReader`` talks to: connected, never paused."""

    connected = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


class _EndOfBody(Exception):
    """Raised from the client's ``on_error`` hook, which it calls when the body ends."""


def _aiohttp_sse_client2() -> Adapter:
    aiohttp = importlib.import_module("aiohttp")
    client = importlib.import_module("aiohttp_sse_client2.client")
    limit = 2**16  # aiohttp's default read_bufsize, the buffer limit a ClientSession gives
    # It logs a warning per invalid retry value; without a handler of its own
    # those would reach stderr through logging's last-resort handler.
    logging.getLogger(client.__name__).addHandler(logging.NullHandler())

    class Body:
        status = 200

        def __init__(self, content: Any) -> None:
            self.content = content

    def end_of_body() -> None:
        raise _EndOfBody

    async def collect(chunks: Iterable[bytes]) -> ParseResult:
        content = aiohttp.StreamReader(_FlowControl(), limit, loop=asyncio.get_running_loop())
        for chunk in chunks:
            content.feed_data(chunk)
        content.feed_eof()
        # The session is never used: the response is already in place.
        source = client.EventSource(
            "http://sse.test/stream", session=object(), on_error=end_of_body
        )
        source._response = Body(content)
        source._origin = "http://sse.test"
        events = []
        try:
            async for event in source:
                events.append((event.message, event.data, event.last_event_id))
        except _EndOfBody:
            pass
        return ParseResult(events, source._last_event_id)

    def adapter(chunks: Iterable[bytes]) -> ParseResult:
        return asyncio.run(collect(chunks))

    return adapter


ADAPTERS: dict[str, AdapterSpec] = {
    spec.name: spec
    for spec in (
        AdapterSpec(
            "sseio", "sseio", "SSEDecoder(done_sentinel=None).feed/close", lambda: sseio_adapter
        ),
        AdapterSpec(
            "httpx-sse",
            "httpx-sse",
            "connect_sse(httpx.Client(transport=MockTransport)).iter_sse()",
            _httpx_sse,
        ),
        AdapterSpec("openai", "openai", "openai._streaming.SSEDecoder().iter_bytes()", _openai),
        AdapterSpec(
            "sseclient-py", "sseclient-py", "sseclient.SSEClient(chunks).events()", _sseclient
        ),
        AdapterSpec(
            "launchdarkly",
            "launchdarkly-eventsource",
            "ld_eventsource _SSEReader over _BufferedLineReader.lines_from(chunks)",
            _launchdarkly,
        ),
        AdapterSpec(
            "aiohttp-sse-client2",
            "aiohttp-sse-client2",
            "async for over EventSource, response.content = aiohttp.StreamReader",
            _aiohttp_sse_client2,
        ),
    )
}
"""Every shipped adapter by CLI name, sseio first."""


def load_adapter(name: str) -> Adapter:
    """The adapter called ``name``; raises ``KeyError`` or ``AdapterUnavailable``."""
    spec = ADAPTERS[name]
    try:
        return spec.build()
    except ImportError as exc:
        raise AdapterUnavailable(
            f"adapter {name!r} needs {spec.distribution}, which is not installed "
            f"(pip install {spec.distribution})"
        ) from exc


def installed_adapters() -> list[tuple[AdapterSpec, Adapter]]:
    """Every shipped adapter whose library is installed, in ``ADAPTERS`` order."""
    found = []
    for name, spec in ADAPTERS.items():
        try:
            found.append((spec, load_adapter(name)))
        except AdapterUnavailable:
            continue
    return found
