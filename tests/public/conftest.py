"""The races here run on the concurrency tests' clusters of real server processes."""

from tests.concurrency.conftest import cluster  # noqa: F401  (a fixture, used by name)
