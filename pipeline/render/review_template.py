"""Build the formal review pack template ``templates/review_pack.docx``.

The pack is what a caseworker and household go through at a formal review: the current
plan compared with the last signed version (steps no longer needed or taken out struck
through, new steps marked new, moved dates shown old → new, steps done with their date,
overdue steps marked), the weekly reviews since then, the three review questions with room
to write, a box for the household's views, the proposed date of the next review, and fresh
signature blocks. It carries page codes like a plan, so the signed pack is read back the
same way (open steps have a "Done" box; signature boxes carry the same mark).

Run ``python -m pipeline.render.review_template`` to (re)write ``templates/review_pack.docx``.
"""

from __future__ import annotations

from pathlib import Path

from ..printed import TICK_GLYPH
from .docxml import KEEP_NEXT, STRIKE, border_set, ctl, ctl_tr, p, run, span, tbl, tc, tr
from .template_parts import (
    DETAIL_COLS_WIDE,
    TEXT_WIDTH,
    contact_section,
    gloss,
    header_block,
    header_row,
    heading,
    signatures_section,
    text_cell,
    var,
    worded,
    write_document,
)

STEP_COLS = [("review_step", 70), ("who", 26), ("by_when", 30), ("review_status", 32),
             ("done", 16)]
WEEK_COLS = [("week_of", 22), ("did_we_do_it", 32), ("what_changed", 34),
             ("needs_and_blockers", 32), ("this_week", 32), ("safety_working", 22)]
ANSWER_HEIGHT_MM = 24
VIEWS_HEIGHT_MM = 45


def _details() -> str:
    w = DETAIL_COLS_WIDE

    def row(key: str, value: str) -> str:
        return tr([tc(w[0], p(var(f"t.{key}"), style="DetailsLabel"),
                      *gloss(key, "TableGloss")),
                   tc(w[1], p(var(value), style="DetailsValue"))])

    return tbl("DetailsTable", w, [
        row("household", "household.name"), row("reference", "household.reference"),
        row("review_made_on", "review.made_on"), row("review_of", "review.of"),
        row("review_compared", "review.compared"),
        row("caseworker", "household.caseworker")], first_row=False)


def _struck_or_plain(key: str, expression: str) -> list[str]:
    """A step's words after their label ("We will: ..."), struck through (a real Word
    strike-through on the run) when the step is no longer part of the plan."""
    return [ctl("{%p if row.struck %}"),
            p(var(f"both.{key}"), ": ", run(var(expression), STRIKE), style="TableText"),
            ctl("{%p else %}"),
            p(var(f"both.{key}"), ": ", var(expression), style="TableText"),
            ctl("{%p endif %}")]


def _steps_section() -> list[str]:
    widths = [c[1] for c in STEP_COLS]
    area_row = tr([span(widths, p(var("area.name"), style="AreaHeading"),
                        ctl("{%p if bilingual %}"),
                        p(var("area.english"), style="HeadingGloss",
                          ppr='<w:spacing w:after="20"/>'),
                        ctl("{%p endif %}"))], header=True)
    step_row = tr([
        tc(widths[0],
           ctl("{%p if row.goal %}"),
           p(var("both.goal"), ": ", var("row.goal"), style="Goal"),
           ctl("{%p endif %}"),
           ctl("{%p if row.new %}"),
           p(run(var("both.label_new"), "<w:b/><w:bCs/>"), style="StepNote"),
           ctl("{%p endif %}"),
           ctl("{%p if row.we_will %}"),
           *_struck_or_plain("we_will", "row.we_will"),
           ctl("{%p endif %}"),
           ctl("{%p if row.you_will %}"),
           *_struck_or_plain("you_will", "row.you_will"),
           ctl("{%p endif %}")),
        text_cell(widths[1], "row.who"),
        text_cell(widths[2], "row.by_when"),
        text_cell(widths[3], "row.status"),
        # a cell must keep a paragraph whichever branch renders
        tc(widths[4],
           ctl("{%p if row.open %}"),
           p(TICK_GLYPH, style="TickBox"),
           ctl("{%p else %}"),
           p(style="TableText"),
           ctl("{%p endif %}"),
           tcpr='<w:vAlign w:val="center"/>'),
    ])
    table = tbl("PlanTable", widths, [
        area_row,
        header_row(STEP_COLS, centre_last=True),
        ctl_tr(widths, "{%tr for row in area.rows %}"),
        step_row,
        ctl_tr(widths, "{%tr endfor %}"),
    ])
    return [
        *worded("review_intro", ppr='<w:spacing w:before="200"/>'),
        *heading("review_steps_heading"),
        ctl("{%p for area in areas %}"),
        table,
        p(style="Control", ppr='<w:spacing w:before="0" w:after="120"/>'),
        ctl("{%p endfor %}"),
    ]


def _weekly_section() -> list[str]:
    widths = [c[1] for c in WEEK_COLS]
    table = tbl("PlanTable", widths, [
        header_row(WEEK_COLS),
        ctl_tr(widths, "{%tr for week in weekly %}"),
        tr([text_cell(widths[0], "week.week_of"), text_cell(widths[1], "week.did_we_do_it"),
            text_cell(widths[2], "week.what_changed"),
            text_cell(widths[3], "week.needs_and_blockers"),
            text_cell(widths[4], "week.this_week"),
            text_cell(widths[5], "week.safety_plan_working")]),
        ctl_tr(widths, "{%tr endfor %}"),
    ])
    return [
        *heading("weekly_heading"),
        ctl("{%p if weekly %}"),
        table,
        ctl("{%p else %}"),
        *worded("no_weekly"),
        ctl("{%p endif %}"),
    ]


def _answer_box(question: str, height_mm: float) -> list[str]:
    """A question and a bordered box under it to write the answer in, kept together."""
    border = border_set("tcBorders", ["top", "left", "bottom", "right"], "808080", sz=6)
    return [p(var(f"t.{question}"), style="ContactText", ppr=KEEP_NEXT),
            *gloss(question, "EnglishGloss", KEEP_NEXT),
            tbl("LayoutTable", [TEXT_WIDTH],
                [tr([tc(TEXT_WIDTH, p(style="TableText"), tcpr=border)],
                    height_mm=height_mm, rule="exact")], first_row=False),
            p(style="Control", ppr='<w:spacing w:before="0" w:after="160"/>')]


def _questions_section() -> list[str]:
    return [
        *heading("questions_heading"),
        *_answer_box("question_change", ANSWER_HEIGHT_MM),
        *_answer_box("question_need", ANSWER_HEIGHT_MM),
        *_answer_box("question_again", ANSWER_HEIGHT_MM),
        *heading("views_heading"),
        *_answer_box("views_prompt", VIEWS_HEIGHT_MM),
        *worded("next_review", "ContactText", '<w:spacing w:before="120"/>'),
    ]


def build_review_template(path: Path) -> None:
    """Write the review pack docxtpl template to ``path``."""
    parts: list[str] = []
    parts += header_block("review_title")
    parts.append(_details())
    parts += _steps_section()
    parts += _weekly_section()
    parts += _questions_section()
    parts += contact_section()
    parts += signatures_section("signing_review_heading", "signing_review_intro",
                                "review_reference")
    write_document(path, parts, "Support plan review", footer_key="review_footer")


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[2] / "templates" / "review_pack.docx"
    build_review_template(out)
    print(out)
