"""Users' code type-checks against sseio's declared types (``mypy --strict``).

``tests/typing/user_code.py`` is README-style code that must pass as it is;
each mistake below must be reported by mypy at its own line, which shows the
check can fail: an ``event.event`` on a source opened with ``comments=True``
(its items may be a ``Comment``), and a forgotten ``await`` on the async
``final()``.  One mypy run checks them all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MISTAKES = {
    "comment_has_no_event.py": """
import sseio

def names() -> list[str]:
    with sseio.connect_sse("http://127.0.0.1:1/", comments=True) as source:
        return [item.event for item in source]  # MISTAKE
""",
    "decoder_comment_has_no_event.py": """
import sseio

def names(chunks: list[bytes]) -> list[str]:
    items = sseio.iter_sse(chunks, comments=True)
    return [i.event for i in items if not isinstance(i, sseio.Done)]  # MISTAKE
""",
    "final_not_awaited.py": """
from sseio.chat import AsyncChatClient

async def answer(client: AsyncChatClient) -> str:
    async with client.stream(model="m", messages=[]) as stream:
        return stream.final().content  # MISTAKE
""",
}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("user_code")
    files = [str(HERE / "typing" / "user_code.py")]
    for name, text in MISTAKES.items():
        (folder / name).write_text(text.lstrip())
        files.append(str(folder / name))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(folder / ".mypy_cache"),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert run.stderr == "", run.stderr
    return run.stdout


def test_readme_style_code_type_checks(mypy_output: str) -> None:
    errors = [line for line in mypy_output.splitlines() if "user_code.py" in line]
    assert errors == []


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_mistake_is_reported_at_its_line(mypy_output: str, name: str) -> None:
    line = next(
        number
        for number, text in enumerate(MISTAKES[name].lstrip().splitlines(), 1)
        if "# MISTAKE" in text
    )
    reported = [
        text
        for text in mypy_output.splitlines()
        if re.search(rf"{re.escape(name)}:{line}: error", text)
    ]
    assert reported, mypy_output
