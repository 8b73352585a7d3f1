"""The registry as the first release made it (with metadata.create_all, before Alembic).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "households",
        sa.Column("reference", sa.String(40), primary_key=True),
        sa.Column("caseworker", sa.Text, nullable=False),
        sa.Column("caseworker_email", sa.Text, nullable=False),
        sa.Column("team", sa.Text, nullable=False),
        sa.Column("peer_reviewer", sa.Text, nullable=False),
        sa.Column("plan_date", sa.Date), sa.Column("review_date", sa.Date),
        sa.Column("closed_on", sa.Date), sa.Column("last_weekly_review", sa.Date),
        sa.Column("workbook_path", sa.Text), sa.Column("workbook_sha256", sa.String(64)),
        sa.Column("content_hash", sa.String(64)), sa.Column("updated_at", tz, nullable=False))
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("household", sa.String(40), sa.ForeignKey("households.reference"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("plan_date", sa.Date, nullable=False),
        sa.Column("review_date", sa.Date, nullable=False),
        sa.Column("docx_path", sa.Text, nullable=False), sa.Column("pdf_path", sa.Text),
        sa.Column("issued_at", tz, nullable=False),
        sa.UniqueConstraint("household", "version"))
    op.create_table(
        "steps",
        sa.Column("step_id", sa.String(64), primary_key=True),
        sa.Column("household", sa.String(40), sa.ForeignKey("households.reference"),
                  nullable=False),
        sa.Column("area", sa.Text, nullable=False), sa.Column("goal", sa.Text, nullable=False),
        sa.Column("we_will", sa.Text, nullable=False),
        sa.Column("you_will", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False), sa.Column("by_when", sa.Date),
        sa.Column("status", sa.String(32), nullable=False), sa.Column("done_on", sa.Date),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("updated_at", tz, nullable=False))
    op.create_index("ix_steps_household", "steps", ["household"])
    op.create_table(
        "version_steps",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"),
                  primary_key=True),
        sa.Column("step_id", sa.String(64), sa.ForeignKey("steps.step_id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False))
    op.create_table(
        "version_signers",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"),
                  primary_key=True),
        sa.Column("signer_key", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False), sa.Column("role", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False))
    for table, key, key_fk in (("signatures", "signer_key", None),
                               ("step_ticks", "step_id", "steps.step_id")):
        key_type = sa.String(40) if key == "signer_key" else sa.String(64)
        key_args = [sa.ForeignKey(key_fk)] if key_fk else []
        op.create_table(
            table,
            sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"),
                      primary_key=True),
            sa.Column(key, key_type, *key_args, primary_key=True),
            sa.Column("scan_sha256", sa.String(64), primary_key=True),
            sa.Column("page", sa.Integer, primary_key=True),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("score", sa.Float, nullable=False),
            sa.Column("recorded_at", tz, nullable=False))
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", tz, nullable=False), sa.Column("household", sa.String(40)),
        sa.Column("version", sa.Integer), sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False))
    op.create_index("ix_events_household", "events", ["household"])
    op.create_table(
        "page_layouts",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"),
                  primary_key=True),
        sa.Column("page", sa.Integer, primary_key=True),
        sa.Column("token", sa.String(16), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("layout", sa.JSON, nullable=False))
    op.create_index("ix_page_layouts_token", "page_layouts", ["token"])
    op.create_table(
        "scans",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("archived_path", sa.Text, nullable=False),
        sa.Column("received_at", tz, nullable=False),
        sa.Column("pages", sa.JSON, nullable=False))


def downgrade() -> None:
    for table in ("scans", "page_layouts", "events", "step_ticks", "signatures",
                  "version_signers", "version_steps", "steps", "plan_versions", "households"):
        op.drop_table(table)
