from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, Table, Text

from tessera.models.base import Micros, metadata

# Where an organization wants its events POSTed (SPEC §6).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types; [] means every type
    Column("enabled", Boolean, nullable=False),
    Column("description", Text, nullable=True),
    # "whsec_…" in plain text, unlike API keys: signing needs the secret itself, so a hash would
    # be useless. It is shown only by create and rotate-secret (docs/webhooks.md).
    Column("secret", Text, nullable=False),
    # After a rotation the old secret keeps signing (a second signature) for a grace period, so a
    # receiver can switch secrets without rejecting deliveries in between.
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_expires_at", Micros, nullable=True),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)
# Also the index of the hot-path lookup in webhook.emit (organization, then enabled endpoints).
Index(
    "ix_webhook_endpoints_org_created",
    webhook_endpoints.c.organization_id,
    webhook_endpoints.c.created_at,
)

# One row per delivery attempt, written by the delivery handler: what was sent, what came back.
# No foreign key to the endpoint: deleting an endpoint deletes its log, and an attempt that was in
# flight at that moment must still be recordable rather than fail on the constraint.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("endpoint_id", Text, nullable=False),
    Column("outbox_id", BigInteger, nullable=False),  # the message; redeliver copies its payload
    Column("webhook_id", Text, nullable=False),  # the webhook-id header receivers dedupe on
    Column("event_type", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", Text, nullable=False),  # succeeded | failed
    Column("response_status", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=True),  # null when nothing was sent
    Column("error", Text, nullable=True),
    Column("next_attempt_at", Micros, nullable=True),  # null: no further attempt
    Column("created_at", Micros, nullable=False),
)
Index(
    "ix_webhook_deliveries_endpoint_created",
    webhook_deliveries.c.endpoint_id,
    webhook_deliveries.c.created_at,
)
