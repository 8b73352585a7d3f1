"""Scanned boxes in one table with people's decisions; who recorded each event; paths
relative to the workspace.

Signature and tick readings move from `signatures` and `step_ticks` into `box_readings`,
which also keeps why a box was left for review, its crop, and a person's decision. Stored
paths inside the workspace become relative, so a moved workspace keeps working.

Revision ID: 0002
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    readings = op.create_table(
        "box_readings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("scan_sha256", sa.String(64), nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("crop_path", sa.Text),
        sa.Column("recorded_at", tz, nullable=False),
        sa.Column("decided_state", sa.String(16)),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", tz),
        sa.UniqueConstraint("version_id", "kind", "key", "scan_sha256", "page"))
    conn = op.get_bind()
    for old, key, kind in (("signatures", "signer_key", "signature"),
                           ("step_ticks", "step_id", "tick")):
        table = sa.table(old, sa.column("version_id"), sa.column(key),
                         sa.column("scan_sha256"), sa.column("page"), sa.column("state"),
                         sa.column("score"), sa.column("recorded_at"))
        # INSERT ... SELECT: the values move inside the database, as stored
        conn.execute(readings.insert().from_select(
            ["version_id", "kind", "key", "scan_sha256", "page", "state", "score", "reason",
             "recorded_at"],
            sa.select(table.c.version_id, sa.literal(kind), table.c[key], table.c.scan_sha256,
                      table.c.page, table.c.state, table.c.score, sa.literal(""),
                      table.c.recorded_at)))
        op.drop_table(old)
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor", sa.Text))
    workspace = context.config.attributes.get("workspace")
    if workspace is not None:
        _relative_paths(conn, Path(workspace))


def _relative_paths(conn: sa.Connection, workspace: Path) -> None:
    for table_name, key, columns in (
            ("households", "reference", ("workbook_path",)),
            ("plan_versions", "id", ("docx_path", "pdf_path")),
            ("scans", "sha256", ("archived_path",))):
        table = sa.table(table_name, sa.column(key), *(sa.column(c) for c in columns))
        for row in conn.execute(sa.select(table)).mappings().all():
            changes = {}
            for column in columns:
                value = row[column]
                if value and Path(value).is_absolute():
                    try:
                        changes[column] = Path(value).relative_to(workspace).as_posix()
                    except ValueError:
                        continue
            if changes:
                conn.execute(table.update().where(table.c[key] == row[key]).values(**changes))


def downgrade() -> None:
    raise NotImplementedError("restore the registry from a backup made before upgrading")
