"""The support-planning cycle: why each version was issued, what it supersedes and each
step's progress as it was issued; formal
review packs (printed with page codes, read back like plans); the weekly reviews and safety
plan as last read, for the safety findings.

Page layouts are keyed by the token printed on a document's pages, so a review pack's
pages (which review a version) live beside the version's own.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("supersedes", sa.Integer))
        batch.add_column(sa.Column("reason", sa.Text))
    with op.batch_alter_table("version_steps") as batch:
        batch.add_column(sa.Column("status", sa.String(32)))
        batch.add_column(sa.Column("done_on", sa.Date))
    conn = op.get_bind()
    versions = sa.table("plan_versions", sa.column("id"), sa.column("version"),
                        sa.column("supersedes"), sa.column("reason"))
    conn.execute(versions.update().where(versions.c.version > 1)
                 .values(supersedes=versions.c.version - 1, reason="the plan changed"))
    conn.execute(versions.update().where(versions.c.version == 1).values(reason="first plan"))
    op.create_table(
        "review_packs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("household", sa.String(40), sa.ForeignKey("households.reference"),
                  nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("made_on", sa.Date, nullable=False),
        sa.Column("next_review", sa.Date, nullable=False),
        sa.Column("docx_path", sa.Text, nullable=False),
        sa.Column("pdf_path", sa.Text),
        sa.Column("signers", sa.JSON, nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("made_at", tz, nullable=False))
    op.create_index("ix_review_packs_household", "review_packs", ["household"])
    op.create_table(
        "weekly_reviews",
        sa.Column("household", sa.String(40), sa.ForeignKey("households.reference"),
                  primary_key=True),
        sa.Column("week_of", sa.Date, primary_key=True),
        sa.Column("did_we_do_it", sa.Text, nullable=False),
        sa.Column("what_changed", sa.Text, nullable=False),
        sa.Column("needs_and_blockers", sa.Text, nullable=False),
        sa.Column("this_week", sa.Text, nullable=False),
        sa.Column("safety_plan_working", sa.String(8), nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False))
    op.create_table(
        "safety_items",
        sa.Column("household", sa.String(40), sa.ForeignKey("households.reference"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("worry", sa.Text, nullable=False),
        sa.Column("we_will", sa.Text, nullable=False),
        sa.Column("you_will", sa.Text, nullable=False),
        sa.Column("review_by", sa.Date))
    with op.batch_alter_table("box_readings") as batch:
        batch.add_column(sa.Column("review_id", sa.Integer,
                                   sa.ForeignKey("review_packs.id",
                                                 name="fk_box_readings_review_id")))
    # page_layouts: keyed by (token, page) now, with the review pack a page belongs to
    layouts = sa.table("page_layouts", sa.column("version_id"), sa.column("page"),
                       sa.column("token"), sa.column("pdf_sha256"),
                       sa.column("layout", sa.JSON))
    rows = conn.execute(sa.select(layouts)).mappings().all()
    op.drop_index("ix_page_layouts_token", "page_layouts")
    op.drop_table("page_layouts")
    new = op.create_table(
        "page_layouts",
        sa.Column("token", sa.String(16), primary_key=True),
        sa.Column("page", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"), nullable=False),
        sa.Column("review_id", sa.Integer, sa.ForeignKey("review_packs.id")),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("layout", sa.JSON, nullable=False))
    op.create_index("ix_page_layouts_version_id", "page_layouts", ["version_id"])
    if rows:
        op.bulk_insert(new, [dict(row, review_id=None) for row in rows])


def downgrade() -> None:
    raise NotImplementedError("restore the registry from a backup made before upgrading")
