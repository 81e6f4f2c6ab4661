"""A mock OpenAI-compatible chat API, served by ``SSEServer``: ``sseio demo``,
``sseio serve`` and the chat client tests run against it.

It imitates the seed API (HelpingAI / Dhanishtha) closely enough that the
``openai`` SDK streams from it as from the real service, and it speaks two more
stream shapes, closely enough for the ``openai`` and ``anthropic`` SDKs:

- ``GET /v1/models`` and ``GET /v1/models/{id}`` list the configured models
  (each object readable by both SDKs);
- ``POST /v1/chat/completions`` validates the body as the real API does (400
  ``invalid_request_error``, 401 ``invalid_api_key`` when ``MockConfig.api_key``
  is set, 404 ``model_not_found`` only with ``MockConfig.known_models_only``:
  any model name is served otherwise) and answers with ``chat.completion.chunk``
  events ending with ``data: [DONE]`` (``stream: true``) or one
  ``chat.completion`` object.  ``n``, ``max_tokens`` / ``max_completion_tokens``
  (``finish_reason: "length"``), ``tools`` / ``tool_choice`` (the model calls the
  first function tool, or the one named) and ``stream_options.include_usage``
  behave as OpenAI documents them; other fields are ignored;
- ``POST /v1/responses`` answers as OpenAI's Responses API (``response.*``
  events, or one ``response`` object), ``POST /v1/messages`` as Anthropic's
  Messages API (``message_start`` ... ``message_stop``, or one ``message``; it
  needs ``anthropic-version``, and its refusals are worded as Anthropic's).
  Both are described in ``sseio.testing._mock_shape_request`` and
  ``sseio.testing._mock_shape_plans``.

The key, when set, is accepted as ``Authorization: Bearer`` or ``x-api-key``.
Answers are deterministic (``sseio.testing._mock_answer``), so tests compare what they
received with ``MockAPI.expected_answer(body)`` (chat) or
``MockAPI.expected_turn(path, body)`` (Responses, Messages).  Faults are chosen
per request by the ``X-Mock-Fault`` header or the body field ``"mock_fault"``
on every POST endpoint (the header wins; syntax and modes in
``sseio.testing._mock_request``); this module counts the requests of each fault
``key`` for ``times=K``.

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
    anthropic_error_payload,
    fault_error,
    fault_response,
    parse_chat_request,
    parse_fault,
    shown,
)
from ._mock_shape_plans import (
    message_object,
    messages_error_steps,
    messages_fault_response,
    number_events,
    plan_messages,
    plan_responses,
    response_object,
    responses_error_steps,
)
from ._mock_shape_request import (
    ExpectedTurn,
    TurnRequest,
    expected_turn,
    parse_messages_request,
    parse_responses_request,
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


MESSAGES_PATH = "/v1/messages"
RESPONSES_PATH = "/v1/responses"
_POST_PATHS = ("/v1/chat/completions", RESPONSES_PATH, MESSAGES_PATH)


def _error_response(
    error: InvalidChatRequest, headers: tuple[tuple[str, str], ...] = (), *, path: str = ""
) -> Response:
    payload = error.anthropic_payload() if path == MESSAGES_PATH else error.payload()
    return Response.json(payload, status=error.status, headers=headers)


def _model(model: str) -> dict[str, Any]:
    """A model object as OpenAI's and Anthropic's model listings both describe one."""
    return {
        "id": model,
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": OWNER,
        "type": "model",
        "display_name": model,
        "created_at": "2023-11-14T22:13:20Z",
    }


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

    def expected_turn(self, path: str, body: Any) -> ExpectedTurn:
        """What this mock will answer to ``body`` sent to ``/v1/responses`` or
        ``/v1/messages`` (``path``), faults aside."""
        return expected_turn(self._parse_turn(path, body), self.config)

    def _parse_turn(self, path: str, body: Any) -> TurnRequest:
        if path.endswith(MESSAGES_PATH):
            return parse_messages_request(body, self.config)
        return parse_responses_request(body, self.config)

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
            return _error_response(error, path=request.path)

    def _check_api_key(self, request: Request) -> None:
        if self.config.api_key is None:
            return
        key = self.config.api_key.encode()
        bearer = (request.header("authorization") or "").encode("utf-8", "replace")
        header = (request.header("x-api-key") or "").encode("utf-8", "replace")
        # Both comparisons always run, so the time taken says nothing about either.
        right = hmac.compare_digest(bearer, b"Bearer " + key)
        right = hmac.compare_digest(header, key) or right
        if not right:
            raise InvalidChatRequest(
                "incorrect api key provided", status=401, code="invalid_api_key"
            )

    async def _route(self, request: Request, body: Any) -> Response | EventStream:
        path = request.path
        if path in _POST_PATHS:
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
            return _error_response(error, headers=(("allow", allowed),), path=path)
        if path in (RESPONSES_PATH, MESSAGES_PATH):
            return await self._turn(request, body)
        if allowed == "POST":
            return await self._chat(request, body)
        if path == "/v1/models":
            models = self.config.models
            return Response.json(
                {
                    "object": "list",
                    "data": [_model(m) for m in models],
                    "has_more": False,
                    "first_id": models[0],
                    "last_id": models[-1],
                }
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

    async def _turn(self, request: Request, body: Any) -> Response | EventStream:
        """``POST /v1/responses`` and ``POST /v1/messages``."""
        if body is _NOT_JSON or body is None:
            raise InvalidChatRequest(
                "we could not parse the JSON body of your request", code="invalid_json"
            )
        messages = request.path == MESSAGES_PATH
        if messages and not request.header("anthropic-version"):
            raise InvalidChatRequest("anthropic-version: header is required", code="missing_header")
        turn = self._parse_turn(request.path, body)
        fault = self._fault(request, body)
        if fault is not None:
            status = messages_fault_response(fault) if messages else None
            response = status or fault_response(fault)
            if response is not None:
                return response
        expected = expected_turn(turn, self.config)
        created = int(time.time())
        if messages:
            answer_id = f"msg_{uuid.uuid4().hex[:24]}"
            whole = message_object(turn, expected, answer_id)
            steps = plan_messages(turn, expected, self.config, answer_id)
            errors = messages_error_steps(fault) if fault is not None else None
        else:
            answer_id = f"resp_{uuid.uuid4().hex[:24]}"
            whole = response_object(turn, expected, answer_id, created)
            steps = plan_responses(turn, expected, self.config, answer_id, created)
            errors = (
                responses_error_steps(fault, turn, expected, answer_id, created)
                if fault is not None
                else None
            )
        if not turn.stream:
            return await self._whole(whole, fault, messages=messages)
        if fault is not None:
            steps = apply_fault(steps, fault, errors)
            if not messages:
                steps = number_events(steps)
        return EventStream(_play(steps), keepalive=self.config.keepalive)

    async def _whole(
        self, whole: dict[str, Any], fault: Fault | None, *, messages: bool
    ) -> Response:
        """A non-streamed Responses or Messages answer, as the fault says."""
        await anyio.sleep(self.config.first_token_delay)
        if fault is None:
            return Response.json(whole)
        if fault.mode in ("slow", "stall"):
            await anyio.sleep(fault.delay)
            return Response.json(whole)
        if fault.mode in ("truncate", "drop"):
            raise AbortConnection(f"mock fault: {fault.mode}")
        status = 503 if fault.mode == "overload" else 500
        if messages:
            kind = "overloaded_error" if fault.mode == "overload" else "api_error"
            message = f"the mock server failed (fault {fault.mode!r})"
            return Response.json(anthropic_error_payload(message, kind), status=status)
        return Response.json(stream_error(fault), status=status)

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
