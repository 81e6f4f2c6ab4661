"""sseio.testing: an OpenAI-compatible API to test against, and a pytest plugin.

``MockAPI`` (configured by ``MockConfig``) serves streaming and non-streaming
chat completions, OpenAI Responses (``/v1/responses``), Anthropic Messages
(``/v1/messages``) and ``/v1/models`` on ``SSEServer``, for any model name,
with deterministic answers (so tests can compare with
``MockAPI.expected_answer`` and ``MockAPI.expected_turn``) and fault modes
chosen per request (truncate, drop, in-stream errors, stalls, 429/5xx, an
HTML page).  ``run_mock`` serves it until cancelled; ``mock_in_thread``
serves it from a background thread for blocking code.

The pytest plugin (registered as the ``sseio`` entry point) gives the
``sse_server`` fixture: a real server on 127.0.0.1 that a test scripts with
events, statuses and drops.  Everything here binds to loopback only, and
every wait is bounded.
"""

from .._core.exports import set_public_module
from ._mock import MockAPI, mock_in_thread, run_mock
from ._mock_request import MockConfig

__all__ = ("MockAPI", "MockConfig", "mock_in_thread", "run_mock")

set_public_module(__name__, globals(), __all__)
del set_public_module
