"""Work done once across machines sharing the registry: a table where a machine claims a
scan, the day's report or an e-mail before doing it.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "work_claims",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_at", tz),
        sa.Column("done_at", tz))


def downgrade() -> None:
    op.drop_table("work_claims")
