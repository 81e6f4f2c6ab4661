"""The client tester scores sseio over httpx (``sseio.httpx``) as it scores sseio's own
client: the same verdict on every behaviour and vector test, blocking and on trio."""

from __future__ import annotations

import pytest
from conformance_helpers import OWN_VECTORS

from sseio.conformance._client_adapters import (
    ADAPTER_LIBRARIES,
    installed_adapters,
    sseio_adapter,
)
from sseio.conformance._clients import Scorecard, behaviour_tests, run_client, vector_tests


def _statuses(card: Scorecard) -> dict[str, str]:
    return {outcome.test.name: outcome.verdict.status for outcome in card.outcomes}


def _score(client: str) -> Scorecard:
    adapters = installed_adapters()
    if client not in adapters:
        pytest.skip(f"{client} needs {ADAPTER_LIBRARIES[client][0]}")
    tests = (*behaviour_tests(), *vector_tests(OWN_VECTORS))
    return run_client(adapters[client], tests, name=client, concurrency=len(tests))


def test_sseio_over_httpx_scores_as_sseio_does() -> None:
    tests = (*behaviour_tests(), *vector_tests(OWN_VECTORS))
    own = run_client(sseio_adapter, tests, name="sseio", concurrency=len(tests))
    over_httpx = _score("sseio-httpx")
    assert _statuses(over_httpx) == _statuses(own)
    assert over_httpx.passed == own.passed == len(tests)
    reconnect = next(o for o in over_httpx.outcomes if o.test.name == "reconnect-last-event-id")
    assert reconnect.requests == 3  # dropped, resumed, then told to stop with 204


def test_sseio_over_httpx_on_trio_scores_as_sseio_async_does() -> None:
    own = _score("sseio-async")
    over_httpx = _score("sseio-httpx-async")
    assert _statuses(over_httpx) == _statuses(own)
    assert [(o.test.name, o.verdict) for o in over_httpx.failed] == []
