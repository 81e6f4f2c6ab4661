"""Long-running fuzz properties for sseio's decoders (see ``fuzz/README.md``).

A package so that its modules import as ``fuzz.strategies``, ``fuzz.harness``...
and never collide with helpers of the same name under ``tests/``.  Nothing here
is collected by the main test run: point pytest at this directory to run it.
"""
