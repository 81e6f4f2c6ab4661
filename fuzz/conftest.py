"""Hypothesis profiles for the fuzz properties, chosen with ``SSEIO_FUZZ_PROFILE``.

- ``smoke`` (the default): 500 examples per property, the whole
  directory in well under a minute; what CI runs (``python fuzz/run.py --smoke``).
- ``long``: a million examples per property, no deadline; run it for a chosen
  time with ``python fuzz/run.py --minutes N`` (which slices it into seeded
  rounds), or whole with ``SSEIO_FUZZ_PROFILE=long pytest fuzz`` (hours).

``SSEIO_FUZZ_MAX_EXAMPLES`` overrides ``max_examples`` for every property, or
per property as ``test_name=N,other=M`` (``fuzz/run.py`` sizes its rounds this
way).  The profiles are applied per test through ``fuzz_settings`` rather than
loaded globally, so collecting ``fuzz/`` next to ``tests/`` leaves the main
suite's hypothesis settings alone.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILES", "fuzz_settings", "profile_name"]

_COMMON = {
    "deadline": None,  # giant lines and slow CI machines: timing is not a property here
    "print_blob": True,  # failures print a @reproduce_failure line
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# CI has no use for the slow "explain" phase; a long run's report is worth it.
settings.register_profile(
    "smoke",
    max_examples=500,
    phases=[phase for phase in Phase if phase is not Phase.explain],
    **_COMMON,  # type: ignore[arg-type]
)
settings.register_profile("long", max_examples=1_000_000, **_COMMON)  # type: ignore[arg-type]

PROFILES = ("smoke", "long")


def profile_name() -> str:
    """The profile named by ``SSEIO_FUZZ_PROFILE`` (``smoke`` when unset)."""
    name = os.environ.get("SSEIO_FUZZ_PROFILE", "smoke")
    if name not in PROFILES:
        raise ValueError(f"SSEIO_FUZZ_PROFILE must be one of {PROFILES}, got {name!r}")
    return name


def _max_examples(test_name: str) -> int | None:
    raw = os.environ.get("SSEIO_FUZZ_MAX_EXAMPLES", "").strip()
    if not raw:
        return None
    if "=" not in raw:
        return int(raw)
    for entry in raw.split(","):
        name, _, count = entry.partition("=")
        if name.strip() == test_name:
            return int(count)
    return None


def fuzz_settings(test_name: str, *, scale: float = 1.0) -> settings:
    """The selected profile for one property; ``scale`` shrinks it for slow properties."""
    profile = settings.get_profile(profile_name())
    override = _max_examples(test_name)
    if override is not None:
        return settings(profile, max_examples=max(1, override))
    return settings(profile, max_examples=max(1, int(profile.max_examples * scale)))
