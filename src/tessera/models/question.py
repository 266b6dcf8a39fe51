from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, Table, Text, text

from tessera.models.base import Micros, metadata

# What an event asks its attendees (SPEC §10). Deleting one is soft (``deleted_at``): the
# answers already given live on the tickets and exports still show them under its label.
questions = Table(
    "questions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("event_id", Text, ForeignKey("events.id"), nullable=False),
    Column("label", Text, nullable=False),
    # the label folded as import headers are (lower case, runs of space/_/- as one "_"):
    # unique among an event's live questions, so a CSV column names one question
    Column("label_key", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("options", Text, nullable=False),  # JSON list of strings ([] unless a choice type)
    Column("required", Boolean, nullable=False),
    Column("ticket_class_ids", Text, nullable=False),  # JSON list; [] = every class
    Column("position", Integer, nullable=False),
    Column("deleted_at", Micros, nullable=True),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)
Index("ix_questions_event_position", questions.c.event_id, questions.c.position)
# Labels (as CSV headers fold them) are unique among an event's live questions: enforced here,
# so two concurrent creates cannot both take one.
Index(
    "uq_questions_live_label",
    questions.c.event_id,
    questions.c.label_key,
    unique=True,
    sqlite_where=text("deleted_at IS NULL"),
    postgresql_where=text("deleted_at IS NULL"),
)

# An import sent with an Idempotency-Key, while it runs (SPEC §10): the lease says who runs it,
# and each finished row is recorded in the same transaction as its tickets, so a re-sent file
# after a crash replays the finished rows and executes only the rest. Deleted once the whole
# outcome is stored under the key.
attendee_imports = Table(
    "attendee_imports",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("api_key_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("lease_owner", Text, nullable=False),
    Column("lease_until", Micros, nullable=False),
    Column("created_at", Micros, nullable=False),
)
Index(
    "ix_attendee_imports_api_key_id",
    attendee_imports.c.api_key_id,
    attendee_imports.c.idempotency_key,
    unique=True,
)
Index("ix_attendee_imports_created_at", attendee_imports.c.created_at)

attendee_import_rows = Table(
    "attendee_import_rows",
    metadata,
    Column(
        "import_id", Text, ForeignKey("attendee_imports.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("row_no", Integer, primary_key=True),
    Column("result", Text, nullable=False),  # the row's JSON result, as the response shows it
)
