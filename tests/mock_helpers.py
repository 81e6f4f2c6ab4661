"""What the mock chat API tests share: the model, configuration and tools they use,
and the request bodies they send (``chat`` a valid one, ``invalid`` one changed)."""

from __future__ import annotations

from typing import Any

from sseio.testing._mock_request import MockConfig

MODEL = "Dhanishtha-2.0-preview"
CONFIG = MockConfig(keepalive=None)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                "required": ["city", "unit"],
            },
        },
    },
    {"type": "function", "function": {"name": "no_arguments"}},
]


def chat(prompt: str = "Tell me a story about a brave knight", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], **fields}


def invalid(**changes: Any) -> dict[str, Any]:
    body = chat()
    for name, value in changes.items():
        if value is ...:
            del body[name]
        else:
            body[name] = value
    return body
