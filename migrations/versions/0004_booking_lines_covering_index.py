"""A covering index on booking lines for the stats report: booking, ticket and quantity.

The stats statement sums the lines of an event's confirmed and provisional bookings per
ticket. MariaDB joins bookings to their lines by nested loops; without this index each
line is a lookup in the table itself (10.8 s for the 1M-booking bench's flagship event
with InnoDB's default 128 MiB buffer pool; 2.1-2.8 s with it). PostgreSQL can read the
lines from the index alone too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 15:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NAME = 'ix_booking_tickets_booking_id_ticket_id_qty'


def upgrade():
    with op.batch_alter_table('booking_tickets', schema=None) as batch_op:
        batch_op.create_index(NAME, ['booking_id', 'ticket_id', 'qty'], unique=False)


def downgrade():
    with op.batch_alter_table('booking_tickets', schema=None) as batch_op:
        batch_op.drop_index(NAME)
