"""Trigram indexes for partial filters, on PostgreSQL where pg_trgm is available.

`filter[email]=fragment` is `ILIKE '%fragment%'`, which a btree cannot serve; a GIN
trigram index can. Elsewhere (SQLite, or no pg_trgm) this migration does nothing.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = {
    "customers": ("email", "first_name", "last_name", "post_code"),
    "groups": ("name", "association"),
    "events": ("name",),
    "tickets": ("title",),
    "event_roles": ("title",),
}


def index_name(table, column):
    return f"ix_{table}_{column}_trgm"


def pg_trgm_ready(bind):
    if bind.dialect.name != "postgresql":
        return False
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar()
    if not available:
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False  # No privilege to create it: partial filters still work, unindexed.
    return True


def upgrade():
    bind = op.get_bind()
    if not pg_trgm_ready(bind):
        return
    for table, columns in TRIGRAM_COLUMNS.items():
        for column in columns:
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {index_name(table, column)} "
                f"ON {table} USING gin ({column} gin_trgm_ops)"
            )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in TRIGRAM_COLUMNS.items():
        for column in columns:
            op.execute(f"DROP INDEX IF EXISTS {index_name(table, column)}")
