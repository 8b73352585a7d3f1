"""The registry's tables as they are now (the head of the migrations): the one place for them.

Every change here needs a migration in pipeline/registry/migrations/versions/ that makes an
existing registry look the same; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

households = Table(
    "households", metadata,
    Column("reference", String(40), primary_key=True),
    Column("caseworker", Text, nullable=False),
    Column("caseworker_email", Text, nullable=False, default=""),
    Column("team", Text, nullable=False, default=""),
    Column("peer_reviewer", Text, nullable=False, default=""),
    Column("plan_date", Date),
    Column("review_date", Date),
    Column("closed_on", Date),
    Column("last_weekly_review", Date),
    Column("workbook_path", Text),  # relative to the workspace when inside it
    Column("workbook_sha256", String(64)),
    Column("content_hash", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

plan_versions = Table(
    "plan_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("household", String(40), ForeignKey("households.reference"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", JSON, nullable=False),
    Column("plan_date", Date, nullable=False),
    Column("review_date", Date, nullable=False),
    Column("docx_path", Text, nullable=False),  # relative to the workspace when inside it
    Column("pdf_path", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("supersedes", Integer),  # the version number this one replaces (None for v1)
    Column("reason", Text),  # why it was issued, in words
    # "publishing" while its files are being put in place, then "issued" (VersionState)
    Column("state", String(16), nullable=False, server_default="issued"),
    UniqueConstraint("household", "version"),
)

steps = Table(
    "steps", metadata,
    Column("step_id", String(64), primary_key=True),
    Column("household", String(40), ForeignKey("households.reference"), nullable=False,
           index=True),
    Column("area", Text, nullable=False),
    Column("goal", Text, nullable=False),
    Column("we_will", Text, nullable=False),
    Column("you_will", Text, nullable=False),
    Column("who", Text, nullable=False),
    Column("by_when", Date),
    Column("status", String(32), nullable=False),
    Column("done_on", Date),
    Column("active", Boolean, nullable=False),
    Column("content", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

version_steps = Table(
    "version_steps", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("step_id", String(64), ForeignKey("steps.step_id"), primary_key=True),
    Column("position", Integer, nullable=False),
    # the step's progress as the version was issued (what its paper showed)
    Column("status", String(32)),
    Column("done_on", Date),
)

version_signers = Table(
    "version_signers", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("signer_key", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("position", Integer, nullable=False),
)

# Formal reviews: a pack comparing the current plan (`version_id`) with the last signed
# version (`base_version`), printed with page codes, signed on paper and read back like a
# plan. Signed by every party, it is the review: `signed_on` is set.
review_packs = Table(
    "review_packs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("household", String(40), ForeignKey("households.reference"), nullable=False,
           index=True),
    Column("version_id", Integer, ForeignKey("plan_versions.id"), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("next_review", Date, nullable=False),  # printed on the pack as the date proposed
    Column("docx_path", Text, nullable=False),
    Column("pdf_path", Text),
    Column("signers", JSON, nullable=False),  # [{key, name, role}] who signs the pack
    Column("signed_on", Date),
    Column("made_at", DateTime(timezone=True), nullable=False),
)

# The household's weekly reviews and safety plan as last read from its workbook (they feed
# the safety findings and the review pack; they are not part of a signed version).
weekly_reviews = Table(
    "weekly_reviews", metadata,
    Column("household", String(40), ForeignKey("households.reference"), primary_key=True),
    Column("week_of", Date, primary_key=True),
    Column("did_we_do_it", Text, nullable=False),
    Column("what_changed", Text, nullable=False),
    Column("needs_and_blockers", Text, nullable=False),
    Column("this_week", Text, nullable=False),
    Column("safety_plan_working", String(8), nullable=False),
    Column("recorded_by", Text, nullable=False),
)

safety_items = Table(
    "safety_items", metadata,
    Column("household", String(40), ForeignKey("households.reference"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("worry", Text, nullable=False),
    Column("we_will", Text, nullable=False),
    Column("you_will", Text, nullable=False),
    Column("review_by", Date),
)

# What each box showed on each scanned page (filled by the reconciler): one row per box per
# scanned page, so the same page scanned twice hits the same key and changes nothing.
# `state` is the machine's reading (signoff.BoxState); a person's decision on an uncertain
# box goes in `decided_state`, which then counts instead (the reading stays for the record).
box_readings = Table(
    "box_readings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("plan_versions.id"), nullable=False),
    Column("review_id", Integer, ForeignKey("review_packs.id")),  # a review pack's page
    Column("kind", String(16), nullable=False),  # signoff.BoxKind
    Column("key", String(64), nullable=False),  # signer key or step id
    Column("scan_sha256", String(64), nullable=False),
    Column("page", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("crop_path", Text),  # relative to the workspace
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("decided_state", String(16)),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    UniqueConstraint("version_id", "kind", "key", "scan_sha256", "page"),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("household", String(40), index=True),
    Column("version", Integer),
    Column("kind", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("actor", Text),  # the operating-system user whose command recorded it
)

# Trackable PDFs: where each page's boxes are, keyed by the opaque token printed in the
# page's QR code (one token per printed document: a plan version or a review pack); and
# every scan file seen, by content hash.
page_layouts = Table(
    "page_layouts", metadata,
    Column("token", String(16), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("version_id", Integer, ForeignKey("plan_versions.id"), nullable=False,
           index=True),
    Column("review_id", Integer, ForeignKey("review_packs.id")),
    Column("pdf_sha256", String(64), nullable=False),
    Column("layout", JSON, nullable=False),
)

scans = Table(
    "scans", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("original_name", Text, nullable=False),
    Column("archived_path", Text, nullable=False),  # relative to the workspace when inside it
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("pages", JSON, nullable=False),  # the per-page results, as printed by --json
)

# Work that must be done once however many machines share the registry: reading a scan, the
# day's overdue report, sending one e-mail from the outbox. A machine claims the work here
# before doing it (pipeline/registry/claims.py); `done_at` is set when it is done for good.
work_claims = Table(
    "work_claims", metadata,
    Column("kind", String(16), primary_key=True),  # claims.SCAN, DAILY_REPORT, EMAIL
    Column("key", String(64), primary_key=True),  # a content hash, or a date
    Column("claimed_by", Text),  # host:process while the work is under way
    Column("claimed_at", DateTime(timezone=True)),
    Column("done_at", DateTime(timezone=True)),
)
