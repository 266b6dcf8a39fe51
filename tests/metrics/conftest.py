"""The real-process fixtures of tests/serve (a cluster per test, on each database)."""

from tests.serve.conftest import kind, launch

__all__ = ["kind", "launch"]
