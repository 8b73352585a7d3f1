"""A version is recorded before its files are published ("publishing") and marked
"issued" once they are in place, so a build killed in between leaves a record to finish or
discard, never plan files the registry does not know.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False,
                                   server_default="issued"))


def downgrade() -> None:
    raise NotImplementedError("restore the registry from a backup made before upgrading")
