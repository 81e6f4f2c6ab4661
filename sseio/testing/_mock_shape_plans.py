"""What the mock sends for a Responses or Messages request, as plain values: no IO, no clock.

``plan_responses`` is the OpenAI Responses stream of an ``ExpectedTurn``:
``response.created``, ``response.in_progress``, a ``reasoning`` item
(``reasoning_summary_text`` or ``reasoning_text`` deltas), a ``message`` item
(``output_text`` deltas) or a ``function_call`` item (argument deltas), each
opened and closed with its ``added`` / ``done`` events, then
``response.completed`` (``response.incomplete`` when cut at the token limit),
every event named by its ``type`` and numbered by ``sequence_number``.
``plan_messages`` is the Anthropic stream: ``message_start``, a ``ping``, a
``thinking`` block (``thinking_delta`` pieces and a ``signature_delta``), a
``text`` or ``tool_use`` block (``input_json_delta`` pieces), ``message_delta``
with the stop reason and usage, ``message_stop``.  ``response_object`` and
``message_object`` are the whole answers for ``"stream": false``.

Faults use the chat mock's steps (``Step``) and ``apply_fault``; what differs
per shape is said here: ``responses_error_steps`` (``error``: a
``response.failed`` event; ``error-event`` and ``overload``: an ``error``
event), ``messages_error_steps`` (an Anthropic ``error`` payload, sent with
``event: error`` except for ``error``, whose payload goes alone), the status
answers of ``messages_fault_response``, and ``number_events``, which
renumbers ``sequence_number`` once a fault has changed the plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..server._server import Response
from ._mock_answer import Step, StepKind
from ._mock_request import Fault, MockConfig, anthropic_error_payload
from ._mock_shape_request import ExpectedTurn, TurnRequest

__all__ = [
    "message_object",
    "messages_error_steps",
    "messages_fault_response",
    "number_events",
    "plan_messages",
    "plan_responses",
    "response_object",
    "responses_error_steps",
]


def _id(prefix: str, seed: str, part: str) -> str:
    return prefix + hashlib.sha256(f"{seed}:{part}".encode()).hexdigest()[:24]


def _paced(steps: list[Step], config: MockConfig) -> list[Step]:
    """Token steps after the first wait ``1 / token_rate``; the first step waits
    ``first_token_delay``."""
    interval = 1 / config.token_rate if config.token_rate else 0.0
    paced = []
    seen_token = False
    for step in steps:
        if step.kind == "token":
            if seen_token and interval:
                step = replace(step, delay=interval)
            seen_token = True
        paced.append(step)
    if paced:
        paced[0] = replace(paced[0], delay=config.first_token_delay)
    return paced


# --------------------------------------------------------------------------- Responses


def _responses_usage(expected: ExpectedTurn) -> dict[str, Any]:
    return {
        "input_tokens": expected.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": expected.output_tokens,
        "output_tokens_details": {"reasoning_tokens": len(expected.reasoning_tokens)},
        "total_tokens": expected.total_tokens,
    }


def _output_items(
    request: TurnRequest, expected: ExpectedTurn, response_id: str, *, done: bool
) -> list[dict[str, Any]]:
    """The response's output items, whole (``done``) or as first added (empty)."""
    status = "completed" if expected.stop != "length" else "incomplete"
    status = status if done else "in_progress"
    items: list[dict[str, Any]] = []
    if expected.reasoning_tokens:
        text = expected.reasoning if done else ""
        item: dict[str, Any] = {"id": _id("rs_", response_id, "reasoning"), "type": "reasoning"}
        if request.summary:
            item["summary"] = [{"type": "summary_text", "text": text}] if done else []
        else:
            item["summary"] = []
            item["content"] = [{"type": "reasoning_text", "text": text}] if done else []
        items.append(item)
    if expected.tool_call is not None:
        items.append(
            {
                "id": _id("fc_", response_id, "call"),
                "type": "function_call",
                "status": status,
                "call_id": _id("call_", response_id, "call"),
                "name": expected.tool_call.name,
                "arguments": expected.tool_call.arguments if done else "",
            }
        )
    elif expected.text_tokens or not expected.reasoning_tokens:
        part = {"type": "output_text", "text": expected.text, "annotations": [], "logprobs": []}
        items.append(
            {
                "id": _id("msg_", response_id, "message"),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [part] if done else [],
            }
        )
    return items


def response_object(
    request: TurnRequest,
    expected: ExpectedTurn,
    response_id: str,
    created: int,
    *,
    status: str | None = None,
) -> dict[str, Any]:
    """The ``response`` object: whole, or as it is while streaming (``status``
    ``"in_progress"``, no output, no usage)."""
    final = status is None
    if status is None:
        status = "incomplete" if expected.stop == "length" else "completed"
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": (
            {"reason": "max_output_tokens"} if final and status == "incomplete" else None
        ),
        "instructions": None,
        "max_output_tokens": request.max_tokens,
        "model": request.model,
        "output": _output_items(request, expected, response_id, done=True) if final else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": "auto" if request.summary else None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _responses_usage(expected) if final else None,
        "metadata": {},
    }


def _event(kind: str, step: StepKind = "frame", **fields: Any) -> Step:
    return Step(step, {"type": kind, **fields}, event=kind)


def plan_responses(
    request: TurnRequest,
    expected: ExpectedTurn,
    config: MockConfig,
    response_id: str,
    created: int,
) -> list[Step]:
    """The whole streamed Responses answer, faults aside (see the module doc)."""
    live = response_object(request, expected, response_id, created, status="in_progress")
    steps = [
        _event("response.created", "start", response=live),
        _event("response.in_progress", "start", response=live),
    ]
    added = _output_items(request, expected, response_id, done=False)
    whole = _output_items(request, expected, response_id, done=True)
    for index, (first, last) in enumerate(zip(added, whole, strict=True)):
        at = {"item_id": first["id"], "output_index": index}
        steps.append(_event("response.output_item.added", output_index=index, item=first))
        if first["type"] == "reasoning":
            text = expected.reasoning
            if request.summary:
                part = {"type": "summary_text", "text": ""}
                steps.append(
                    _event(
                        "response.reasoning_summary_part.added", summary_index=0, part=part, **at
                    )
                )
                steps += [
                    _event(
                        "response.reasoning_summary_text.delta",
                        "token",
                        summary_index=0,
                        delta=token,
                        **at,
                    )
                    for token in expected.reasoning_tokens
                ]
                steps.append(
                    _event("response.reasoning_summary_text.done", summary_index=0, text=text, **at)
                )
                done_part = {"type": "summary_text", "text": text}
                steps.append(
                    _event(
                        "response.reasoning_summary_part.done",
                        summary_index=0,
                        part=done_part,
                        **at,
                    )
                )
            else:
                steps += [
                    _event("response.reasoning_text.delta", "token", content_index=0, delta=t, **at)
                    for t in expected.reasoning_tokens
                ]
                steps.append(
                    _event("response.reasoning_text.done", content_index=0, text=text, **at)
                )
        elif first["type"] == "function_call":
            steps += [
                _event("response.function_call_arguments.delta", "token", delta=token, **at)
                for token in expected.tool_tokens
            ]
            steps.append(
                _event(
                    "response.function_call_arguments.done",
                    arguments=last["arguments"],
                    name=last["name"],
                    **at,
                )
            )
        else:
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            steps.append(_event("response.content_part.added", content_index=0, part=empty, **at))
            steps += [
                _event(
                    "response.output_text.delta",
                    "token",
                    content_index=0,
                    delta=token,
                    logprobs=[],
                    **at,
                )
                for token in expected.text_tokens
            ]
            steps.append(
                _event(
                    "response.output_text.done",
                    content_index=0,
                    text=expected.text,
                    logprobs=[],
                    **at,
                )
            )
            steps.append(
                _event("response.content_part.done", content_index=0, part=last["content"][0], **at)
            )
        steps.append(_event("response.output_item.done", output_index=index, item=last))
    final = response_object(request, expected, response_id, created)
    terminal = "response.incomplete" if expected.stop == "length" else "response.completed"
    steps.append(_event(terminal, "finish", response=final))
    return number_events(_paced(steps, config))


def responses_error_steps(
    fault: Fault, request: TurnRequest, expected: ExpectedTurn, response_id: str, created: int
) -> list[Step]:
    """What a Responses stream sends instead of the rest of its answer, for an error fault."""
    if fault.mode == "error":
        failed = response_object(request, expected, response_id, created, status="failed")
        failed["error"] = {
            "code": "server_error",
            "message": f"the mock server failed mid-stream (fault {fault.mode!r})",
        }
        return [_event("response.failed", "error", response=failed)]
    if fault.mode == "overload":
        code, message = "overloaded", "the mock server is overloaded"
    else:
        code, message = "server_error", f"the mock server failed mid-stream (fault {fault.mode!r})"
    return [_event("error", "error", code=code, message=message, param=None)]


def number_events(steps: Sequence[Step]) -> list[Step]:
    """The steps with their payloads' ``sequence_number`` counting from 0, in order."""
    numbered = []
    for number, step in enumerate(steps):
        if step.payload is not None:
            step = replace(step, payload={**step.payload, "sequence_number": number})
        numbered.append(step)
    return numbered


# --------------------------------------------------------------------------- Messages

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}


def _message_usage(expected: ExpectedTurn, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": expected.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def _blocks(expected: ExpectedTurn, message_id: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if expected.reasoning_tokens:
        signature = _id("sig_", message_id, "thinking")
        blocks.append({"type": "thinking", "thinking": expected.reasoning, "signature": signature})
    if expected.tool_call is not None:
        try:
            tool_input = json.loads(expected.tool_call.arguments)
        except ValueError:
            tool_input = {}  # cut at the token limit
        blocks.append(
            {
                "type": "tool_use",
                "id": _id("toolu_", message_id, "tool"),
                "name": expected.tool_call.name,
                "input": tool_input,
            }
        )
    elif expected.text_tokens or not expected.reasoning_tokens:
        blocks.append({"type": "text", "text": expected.text})
    return blocks


def message_object(request: TurnRequest, expected: ExpectedTurn, message_id: str) -> dict[str, Any]:
    """The whole ``message`` object (``"stream": false``)."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": _blocks(expected, message_id),
        "stop_reason": _STOP_REASONS[expected.stop],
        "stop_sequence": None,
        "usage": _message_usage(expected, expected.output_tokens),
    }


_message = _event


def plan_messages(
    request: TurnRequest, expected: ExpectedTurn, config: MockConfig, message_id: str
) -> list[Step]:
    """The whole streamed Messages answer, faults aside (see the module doc)."""
    start = message_object(request, expected, message_id)
    start.update(content=[], stop_reason=None, usage=_message_usage(expected, 1))
    steps = [_message("message_start", "start", message=start), _message("ping", "start")]
    for index, block in enumerate(_blocks(expected, message_id)):
        kind = block["type"]
        if kind == "thinking":
            opened: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": t} for t in expected.reasoning_tokens]
        elif kind == "tool_use":
            opened = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": t} for t in expected.tool_tokens]
        else:
            opened = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": t} for t in expected.text_tokens]
        steps.append(_message("content_block_start", index=index, content_block=opened))
        steps += [
            _message("content_block_delta", "token", index=index, delta=delta) for delta in deltas
        ]
        if kind == "thinking":
            signature = {"type": "signature_delta", "signature": block["signature"]}
            steps.append(_message("content_block_delta", index=index, delta=signature))
        steps.append(_message("content_block_stop", index=index))
    delta = {"stop_reason": _STOP_REASONS[expected.stop], "stop_sequence": None}
    usage = {"output_tokens": expected.output_tokens}
    steps.append(_message("message_delta", "finish", delta=delta, usage=usage))
    steps.append(_message("message_stop", "finish"))
    return _paced(steps, config)


def messages_error_steps(fault: Fault) -> list[Step]:
    """What a Messages stream sends instead of the rest of its answer, for an error fault."""
    if fault.mode == "overload":
        payload = anthropic_error_payload("Overloaded", "overloaded_error")
    else:
        message = f"the mock server failed mid-stream (fault {fault.mode!r})"
        payload = anthropic_error_payload(message, "api_error")
    return [Step("error", payload, event="message" if fault.mode == "error" else "error")]


def messages_fault_response(fault: Fault) -> Response | None:
    """The whole answer for a status fault on ``/v1/messages``, in Anthropic's words."""
    retry_after = (("retry-after", str(fault.retry_after)),)
    answers = {
        "429": (429, "rate_limit_error", "rate limit exceeded", retry_after),
        "500": (500, "api_error", "the mock server had an error", ()),
        "502": (502, "api_error", "bad gateway", ()),
        "503": (503, "overloaded_error", "the service is unavailable", retry_after),
    }
    found = answers.get(fault.mode)
    if found is None:
        return None
    status, kind, message, headers = found
    return Response.json(anthropic_error_payload(message, kind), status=status, headers=headers)
