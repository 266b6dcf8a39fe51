"""Webhooks: endpoints integrators register, events queued in the business transaction, signed
deliveries with retries, and an inspectable log of every attempt (SPEC §6, docs/webhooks.md)."""
