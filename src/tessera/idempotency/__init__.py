"""Idempotency keys: a retried creating POST never executes twice (SPEC §2)."""
