"""Token ids are never reused on SQLite: the token table gets AUTOINCREMENT.

Without it SQLite gives a new row the highest rowid plus one, so the id of a revoked
(deleted) token that was the newest one comes back for the next token issued, and a
log line or a `tokens revoke` naming that id would then mean another token.
PostgreSQL's and MySQL's sequences never hand an id out twice: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 17:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLE = 'personal_access_tokens'


def rebuild(autoincrement):
    """SQLite declares AUTOINCREMENT only in CREATE TABLE: copy the table into a new one."""
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table(
        TABLE, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
    ):
        pass


def upgrade():
    rebuild(True)


def downgrade():
    rebuild(False)
