"""The public event page ``/e/{eventId}``, self-registration and the waitlist's pages (SPEC §9)."""
