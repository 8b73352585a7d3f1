"""The household workbook's schema, defined once: the writer and the reader both use it.

Sheet names, labels and header texts here are a contract (ARCHITECTURE.md): caseworkers'
workbooks and other tools depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    TEXT = "text"
    LONG_TEXT = "long text"
    DATE = "date"
    AREA = "area"
    STATUS = "status"
    YES_NO = "yes/no"
    WHO = "who"
    EMAIL = "email"
    REFERENCE = "reference"


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: Kind
    width: int
    help: str
    required: bool = False
    # Added after workbooks were already in use: a workbook without this column still
    # reads, as if the column were blank.
    optional: bool = False


@dataclass(frozen=True)
class TableSheet:
    """A sheet with a header row and one record per row."""

    name: str
    columns: tuple[Column, ...]
    rows: int  # rows prepared with formats and dropdowns

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass(frozen=True)
class Field:
    label: str
    key: str
    kind: Kind
    help: str
    required: bool = False
    # Added after workbooks were already in use: a workbook without this row still reads,
    # as if the value were blank.
    optional: bool = False


INSTRUCTIONS = "Instructions"
LISTS = "Lists"

HOUSEHOLD_SHEET = "Household"
HOUSEHOLD_FIELDS: tuple[Field, ...] = (
    Field("Household reference", "reference", Kind.REFERENCE,
          "Your office's reference, e.g. HH-0042. Letters, digits and dashes only.", True),
    Field("Household name", "name", Kind.TEXT,
          "How the household likes to be named on the plan, e.g. Hassan family.", True),
    Field("Caseworker", "caseworker", Kind.TEXT, "Your full name, as you will sign.", True),
    Field("Caseworker email", "caseworker_email", Kind.EMAIL, "Your work email."),
    Field("Team", "team", Kind.TEXT, "Your team, used to route overdue reports."),
    Field("Peer reviewer", "peer_reviewer", Kind.TEXT,
          "The colleague who checks this plan. They sign it too."),
    Field("Plan date", "plan_date", Kind.DATE, "The day you made the plan together.", True),
    Field("Review date", "review_date", Kind.DATE,
          "Leave blank for the plan date plus the usual review interval."),
    Field("Preferred language", "preferred_language", Kind.TEXT,
          "The household's preferred language."),
    Field("Interpreter used", "interpreter_used", Kind.YES_NO,
          "Was a professional interpreter part of the conversation?"),
    Field("Closed on", "closed_on", Kind.DATE,
          "Only when support ends: the date the household's support closed. "
          "Closed households leave overdue reports.", optional=True),
    Field("Interpreter name", "interpreter_name", Kind.TEXT,
          "When an interpreter was used: their name. They sign the plan to say they "
          "explained it.", optional=True),
    Field("Interpreter language", "interpreter_language", Kind.TEXT,
          "The language the plan was explained in.", optional=True),
    Field("Interpreter agency", "interpreter_agency", Kind.TEXT,
          "The interpreting agency, if any.", optional=True),
)

MEMBERS = TableSheet(
    "Members",
    (
        Column("Name", "name", Kind.TEXT, 28, "Full name, in the person's own spelling.", True),
        Column("Role", "role", Kind.TEXT, 18, "E.g. Parent, Child, Main tenant."),
        Column("Adult", "adult", Kind.YES_NO, 9, "Yes for anyone 18 or over.", True),
        Column("Signs plan", "signs_plan", Kind.YES_NO, 12,
               "Blank means Yes for adults, No for children."),
        Column("Language", "language", Kind.TEXT, 16, "Language the person prefers."),
    ),
    rows=20,
)

PLAN = TableSheet(
    "Plan",
    (
        Column("Area", "area", Kind.AREA, 24, "One of the nine life areas (pick from the list).",
               True),
        Column("Goal", "goal", Kind.LONG_TEXT, 34,
               "The household's hope, in their words. Leave blank to add another step to the "
               "goal above."),
        Column("Strengths to build on", "strengths", Kind.LONG_TEXT, 30,
               "Skills, relationships and resources the household already has."),
        Column("We will", "we_will", Kind.LONG_TEXT, 34,
               "What our organisation (or a partner we arrange) will do."),
        Column("You will", "you_will", Kind.LONG_TEXT, 34, "What the household will do."),
        Column("Who", "who", Kind.WHO, 20, "Which household member does the 'You will' part."),
        Column("By when", "by_when", Kind.DATE, 13, "Target date for this step.", True),
        Column("Status", "status", Kind.STATUS, 16, "Blank means Not started."),
        Column("Done on", "done_on", Kind.DATE, 13, "The date the step was done."),
        # Added 2026-11, after the columns above: placed last so that no existing column
        # letter moves (people and scripts refer to them).
        Column("Our lead", "our_lead", Kind.TEXT, 18,
               "Who does our part: a staff member or the partner agency.", optional=True),
        Column("Obstacles", "obstacles", Kind.LONG_TEXT, 28,
               "What stands in the way of the goal (on the goal's first row).",
               optional=True),
        Column("How strengths help", "strengths_help", Kind.LONG_TEXT, 28,
               "How the household's strengths can overcome the obstacles (on the goal's "
               "first row).", optional=True),
    ),
    rows=200,
)

SAFETY_PLAN = TableSheet(
    "Safety plan",
    (
        Column("Worry or risk", "worry", Kind.LONG_TEXT, 40, "What worries the household or us.",
               True),
        Column("We will", "we_will", Kind.LONG_TEXT, 36, "What we will do about it."),
        Column("You will", "you_will", Kind.LONG_TEXT, 36, "What the household will do."),
        Column("Review by", "review_by", Kind.DATE, 13, "When we check this is still working."),
    ),
    rows=40,
)

WEEKLY_REVIEWS = TableSheet(
    "Weekly reviews",
    (
        Column("Week of", "week_of", Kind.DATE, 13, "The Monday (or date) of the review.", True),
        Column("Did we do what we planned?", "did_we_do_it", Kind.LONG_TEXT, 30,
               "Did we (and you) do what we planned last week? What happened?"),
        Column("What has changed, new risks", "what_changed", Kind.LONG_TEXT, 32,
               "Anything new in the household's life, and any new risk."),
        Column("Support needs and blockers", "needs_and_blockers", Kind.LONG_TEXT, 30,
               "Other support needed, and what is getting in the way."),
        Column("This week we will", "this_week", Kind.LONG_TEXT, 30,
               "What we agreed to do this week."),
        Column("Safety plan working?", "safety_plan_working", Kind.YES_NO, 12,
               "Is the safety plan still working? No means it needs looking at now."),
        Column("Recorded by", "recorded_by", Kind.TEXT, 20, "Who wrote this review."),
    ),
    rows=120,
)

TABLE_SHEETS: tuple[TableSheet, ...] = (MEMBERS, PLAN, SAFETY_PLAN, WEEKLY_REVIEWS)
SHEET_ORDER: tuple[str, ...] = (
    INSTRUCTIONS, HOUSEHOLD_SHEET, *(sheet.name for sheet in TABLE_SHEETS), LISTS
)

# Longest text accepted in one cell; longer text is almost always a paste by mistake.
MAX_TEXT_LENGTH = 2000
# Limits that keep one odd workbook from holding up a batch or the watcher: no household
# plan has thousands of rows or more than a dozen columns, and a real workbook unpacks to
# well under a megabyte in about twenty parts.
MAX_SHEET_ROWS = 2000
# Every member who signs gets a signature block (a quarter of a page); households are
# seldom more than a dozen people.
MAX_MEMBERS = 40
MAX_SHEET_COLUMNS = 50
MAX_UNPACKED_MB = 50
MAX_ZIP_PARTS = 1000
# Dates outside these years are typing mistakes (a year of 1900 is a stray number in a
# date cell); the blank workbook's date checks use the same range.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2099
DATE_FORMAT_EXCEL = "dd/mm/yyyy"
