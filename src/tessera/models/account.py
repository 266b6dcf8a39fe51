from sqlalchemy import Column, ForeignKey, Index, Integer, PrimaryKeyConstraint, Table, Text

from tessera.models.base import Micros, metadata

# People who sign in to the dashboard. Unlike contacts, users are global: one person may belong
# to several organizations, each membership with its own role.
users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False, unique=True),  # lower-cased and trimmed
    Column("name", Text, nullable=True),
    Column("password_hash", Text, nullable=False),  # Argon2id, in its PHC string format
    Column("password_changed_at", Micros, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("user_id", Text, ForeignKey("users.id"), nullable=False),
    Column("role", Text, nullable=False),  # owner | admin | door
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    PrimaryKeyConstraint("organization_id", "user_id"),
)
Index("ix_memberships_user_id", memberships.c.user_id)

# Server-side dashboard sessions. The cookie holds a random token; only its SHA-256 is stored,
# so a copy of the database signs nobody in.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id_hash", Text, primary_key=True),
    Column("user_id", Text, ForeignKey("users.id"), nullable=False),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("last_seen_at", Micros, nullable=False),
    Column("expires_at", Micros, nullable=False),  # the absolute limit (created + 7 days)
    Column("revoked_at", Micros, nullable=True),
)
Index("ix_dashboard_sessions_user_id", dashboard_sessions.c.user_id)

# Failed sign-ins per throttle key ("email:<address>" or "client:<ip>") in the current window.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", Micros, nullable=False),
)
