"""A mock OpenAI-compatible chat API, served by ``SSEServer``: ``sseio demo``,
``sseio serve`` and the chat client tests run against it.

It imitates the seed API (HelpingAI / Dhanishtha) closely enough that the
``openai`` SDK streams from it as from the real service:

- ``GET /v1/models`` and ``GET /v1/models/{id}`` list the configured models;
- ``POST /v1/chat/completions`` validates the body as the real API does (400
  ``invalid_request_error``, 404 ``model_not_found``, 401 ``invalid_api_key``
  when ``MockConfig.api_key`` is set) and answers with ``chat.completion.chunk``
  events ending with ``data: [DONE]`` (``stream: true``) or one
  ``chat.completion`` object.  ``n``, ``max_tokens`` / ``max_completion_tokens``
  (``finish_reason: "length"``), ``tools`` / ``tool_choice`` (the model calls the
  first function tool, or the one named) and ``stream_options.include_usage``
  behave as OpenAI documents them; other fields are ignored.

Answers are deterministic (``sseio.testing._mock_answer``), so tests compare what they
received with ``MockAPI.expected_answer(body)``.  Faults are chosen per request
by the ``X-Mock-Fault`` header or the body field ``"mock_fault"`` (the header
wins; syntax and modes in ``sseio.testing._mock_request``); this module counts the
requests of each fault ``key`` for ``times=K``.

A request with ``"stream": false`` gets the status faults as a streamed one
does; for the others it gets 500 (``error``, ``error-event``), 503
(``overload``), its answer after ``delay`` seconds (``slow``, ``stall``), or a
dropped connection (``truncate``, ``drop``).

Layout: ``sseio.testing._mock_request`` decides what a request asks for and
``sseio.testing._mock_answer`` everything that is sent, both as plain values;
``MockAPI``, the server handler, only routes, records, counts faults, sleeps as
the plan says and yields.  ``run_mock`` serves it in the current event loop,
``mock_in_thread`` from a background thread for blocking code.  Its state is
bounded: the last 1000 requests recorded, 10 000 fault keys.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from .._core.events import DONE, Done, ServerSentEvent
from ..server._server import (
    AbortConnection,
    EventStream,
    Request,
    Response,
    SSEServer,
    serve_in_thread,
)
from ._mock_answer import (
    ExpectedAnswer,
    Step,
    apply_fault,
    completion_object,
    expected_answer,
    expected_for,
    plan_steps,
    stream_error,
)
from ._mock_request import (
    ChatRequest,
    Fault,
    InvalidChatRequest,
    MockConfig,
    fault_error,
    fault_response,
    parse_chat_request,
    parse_fault,
    shown,
)

__all__ = ["MockAPI", "MockConfig", "RecordedCall", "mock_in_thread", "run_mock"]

MAX_RECORDED = 1000
MAX_FAULT_KEYS = 10_000
OWNER = "sseio-mock"
DEFAULT_CONFIG = MockConfig()
"""The configuration of a mock made without one (frozen, so one value serves all)."""


@dataclass(frozen=True)
class RecordedCall:
    """One request the mock saw: ``body`` is the parsed JSON body, or ``None`` when the
    body was empty or not JSON."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: Any

    def header(self, name: str) -> str | None:
        """The first value of a request header (any case), or ``None``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)


_NOT_JSON = object()


def _load_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _error_response(
    error: InvalidChatRequest, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response.json(error.payload(), status=error.status, headers=headers)


def _model(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": OWNER}


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class MockAPI:
    """The mock chat API as an ``SSEServer`` handler (see the module doc).

    ``requests`` holds the last 1000 requests seen, oldest first, so tests can
    count attempts and check what the client sent.
    """

    def __init__(self, config: MockConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.requests: list[RecordedCall] = []
        self._fault_counts: dict[str, int] = {}

    def expected_answer(self, body: Any) -> ExpectedAnswer:
        """What this mock will answer to ``body`` (see ``expected_answer``)."""
        return expected_answer(body, self.config)

    async def __call__(self, request: Request) -> Response | EventStream:
        body = _load_json(request.body) if request.body else None
        if len(self.requests) >= MAX_RECORDED:
            del self.requests[0]
        self.requests.append(
            RecordedCall(
                request.method,
                request.path,
                request.headers,
                None if body is _NOT_JSON else body,
            )
        )
        try:
            self._check_api_key(request)
            return await self._route(request, body)
        except InvalidChatRequest as error:
            return _error_response(error)

    def _check_api_key(self, request: Request) -> None:
        if self.config.api_key is None:
            return
        given = (request.header("authorization") or "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, f"Bearer {self.config.api_key}".encode()):
            raise InvalidChatRequest(
                "incorrect api key provided", status=401, code="invalid_api_key"
            )

    async def _route(self, request: Request, body: Any) -> Response | EventStream:
        path = request.path
        if path == "/v1/chat/completions":
            allowed = "POST"
        elif path == "/v1/models" or path.startswith("/v1/models/"):
            allowed = "GET"
        else:
            raise InvalidChatRequest(
                f"unknown url: {request.method} {shown(path)}", status=404, code="unknown_url"
            )
        if request.method != allowed:
            error = InvalidChatRequest(
                f"method {request.method} is not allowed for {path} (use {allowed})",
                status=405,
                code="method_not_allowed",
            )
            return _error_response(error, headers=(("allow", allowed),))
        if allowed == "POST":
            return await self._chat(request, body)
        if path == "/v1/models":
            return Response.json(
                {"object": "list", "data": [_model(m) for m in self.config.models]}
            )
        model = path.removeprefix("/v1/models/")
        if model not in self.config.models:
            raise InvalidChatRequest(
                f"the model {shown(model)} does not exist",
                status=404,
                param="model",
                code="model_not_found",
            )
        return Response.json(_model(model))

    def _fault(self, request: Request, body: dict[str, Any]) -> Fault | None:
        text = request.header("x-mock-fault")
        if text is None:
            text = body.get("mock_fault")
            if text is not None and not isinstance(text, str):
                raise fault_error(
                    f"invalid type for 'mock_fault': expected a string, got {shown(text)}"
                )
        if text is None:
            return None
        fault = parse_fault(text)
        if fault.times is None:
            return fault
        if fault.key not in self._fault_counts and len(self._fault_counts) >= MAX_FAULT_KEYS:
            del self._fault_counts[next(iter(self._fault_counts))]
        seen = self._fault_counts[fault.key] = self._fault_counts.get(fault.key, 0) + 1
        return fault if seen <= fault.times else None

    async def _chat(self, request: Request, body: Any) -> Response | EventStream:
        if body is _NOT_JSON or body is None:
            raise InvalidChatRequest(
                "we could not parse the JSON body of your request", code="invalid_json"
            )
        chat = parse_chat_request(body, self.config)
        fault = self._fault(request, body)
        if fault is not None and (response := fault_response(fault)) is not None:
            return response
        expected = expected_for(chat, self.config)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not chat.stream:
            return await self._complete(chat, expected, fault, completion_id, created)
        steps = plan_steps(chat, expected, self.config, completion_id, created)
        if fault is not None:
            steps = apply_fault(steps, fault)
        return EventStream(_play(steps), keepalive=self.config.keepalive)

    async def _complete(
        self,
        chat: ChatRequest,
        expected: ExpectedAnswer,
        fault: Fault | None,
        completion_id: str,
        created: int,
    ) -> Response:
        await anyio.sleep(self.config.first_token_delay)
        if fault is None:
            return Response.json(completion_object(chat, expected, completion_id, created))
        if fault.mode in ("slow", "stall"):
            await anyio.sleep(fault.delay)
            return Response.json(completion_object(chat, expected, completion_id, created))
        if fault.mode in ("truncate", "drop"):
            raise AbortConnection(f"mock fault: {fault.mode}")
        error = stream_error(fault)
        status = 503 if fault.mode == "overload" else 500
        return Response.json(error, status=status)


async def _play(steps: Sequence[Step]) -> AsyncIterator[ServerSentEvent | Done]:
    """Sleep and send as the steps say; ``AbortConnection`` makes the server drop the connection."""
    for step in steps:
        if step.delay > 0:
            await anyio.sleep(step.delay)
        if step.kind == "abort":
            raise AbortConnection("mock fault: drop")
        if step.kind == "done":
            yield DONE
        else:
            yield ServerSentEvent(step.event, _encode(step.payload or {}), "", None)


@asynccontextmanager
async def run_mock(
    config: MockConfig = DEFAULT_CONFIG,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **server_options: Any,
) -> AsyncIterator[tuple[SSEServer, MockAPI]]:
    """Serve a ``MockAPI`` in the current event loop; its base URL is ``server.url + "/v1"``."""
    api = MockAPI(config)
    async with SSEServer(api, host=host, port=port, **server_options) as server:
        yield server, api


@contextmanager
def mock_in_thread(
    config: MockConfig = DEFAULT_CONFIG, *, backend: str = "asyncio", **server_options: Any
) -> Iterator[tuple[SSEServer, MockAPI]]:
    """Serve a ``MockAPI`` from a background thread with its own event loop (``backend``:
    ``"asyncio"`` or ``"trio"``), for blocking code; the handler runs in that thread."""
    api = MockAPI(config)
    with serve_in_thread(api, backend=backend, **server_options) as server:
        yield server, api
