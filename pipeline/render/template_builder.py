"""Build the Word template ``templates/support_plan.docx``.

The template is rendered by docxtpl (``autoescape=True``). It is generated here so that it
can be rebuilt reproducibly, but it is an ordinary .docx: an organisation may open it in Word
and restyle it (styles in template_styles.py), and `supportplan template check` says what an
edit broke. Its fixed wording comes from the catalogues (``{{ t.<key> }}`` and its English
line, pipeline/wording), so the Word file holds layout, not words, in every language; a
right-to-left plan is turned right to left when it is rendered (finishing.py), so one
template serves every language.

Two things in the rendered PDF are found again by the stamper (pipeline/printed.py):

* the tick box glyph appears exactly once per step row (Done column), nowhere else;
* the signature mark appears exactly once per signer, top-left in that signer's box, set
  smaller than any text from the workbook; the box is the border around it. The mark is a
  glyph, not a word, so a translated or reworded template is measured the same way.

Layout choices a family notices:

* each goal is a full-width row above its steps (the goal and strengths are the heart of the
  plan, in the household's words), kept on one page with its steps where it fits;
* a goals table that runs onto a new page repeats the area's name and the column titles;
* the signing section is one table whose first row (heading, "we agree" sentence, plan
  reference) repeats on every page it spans; its rows keep together, so the section moves
  to the next page whole rather than leaving a signer alone on a page.

Run ``python -m pipeline.render.template_builder`` to (re)write ``templates/support_plan.docx``.
"""

from __future__ import annotations

from pathlib import Path

from ..printed import TICK_GLYPH
from .docxml import (
    KEEP_NEXT,
    STRIKE,
    ctl,
    ctl_tr,
    p,
    run,
    span,
    tbl,
    tc,
    tr,
)
from .template_parts import (
    contact_section,
    gloss,
    header_block,
    header_row,
    heading,
    list_table,
    signatures_section,
    text_cell,
    var,
    worded,
    write_document,
)
from .template_styles import GOAL_FILL

STEP_COLS = [("we_will", 52), ("you_will", 52), ("who", 27), ("by_when", 27), ("done", 16)]
MEMBER_COLS = [("name", 80), ("role", 70), ("adult", 24)]
SAFETY_COLS = [("worry", 51), ("we_will", 50), ("you_will", 49), ("review_by", 24)]
DETAIL_COLS = [34, 53, 34, 53]


# -- sections ---------------------------------------------------------------------------------
def _details_table() -> str:
    w = DETAIL_COLS

    def label(key: str, width: float) -> str:
        return tc(width, p(var(f"t.{key}"), style="DetailsLabel"), *gloss(key, "TableGloss"))

    def pair(key: str, value: str, lw: float, vw: float) -> list[str]:
        return [label(key, lw), tc(vw, p(var(value), style="DetailsValue"))]

    rows = [
        tr([label("household", w[0]),
            tc(w[1] + w[2] + w[3], p(var("household.name"), style="DetailsValue"),
               tcpr='<w:gridSpan w:val="3"/>')]),
        tr(pair("reference", "household.reference", w[0], w[1])
           + pair("team", "household.team", w[2], w[3])),
        tr(pair("plan_date", "household.plan_date", w[0], w[1])
           + pair("review_date", "household.review_date", w[2], w[3])),
        tr(pair("caseworker", "household.caseworker", w[0], w[1])
           + pair("peer_reviewer", "household.peer_reviewer", w[2], w[3])),
        tr(pair("preferred_language", 'household.preferred_language or "—"', w[0], w[1])
           + pair("interpreter_used", "household.interpreter_used", w[2], w[3])),
    ]
    return tbl("DetailsTable", w, rows, first_row=False)


def _members_section() -> list[str]:
    return [
        *heading("members_heading"),
        list_table(MEMBER_COLS, "m in members", ["m.name", "m.role", "m.adult"]),
    ]


def _intro() -> list[str]:
    return worded("intro", ppr='<w:spacing w:before="240"/>')


def _area_gloss() -> list[str]:
    return [ctl("{%p if bilingual %}"), p(var("area.english"), style="HeadingGloss",
                                          ppr='<w:spacing w:after="20"/>'),
            ctl("{%p endif %}")]


def _goal_row(widths: list[float]) -> str:
    """The goal across the whole table, in the household's words, with its strengths,
    obstacles and how the strengths help. Kept with its first step."""
    shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{GOAL_FILL}"/>'

    def note(label: str, value: str) -> list[str]:
        return [ctl(f"{{%p if {value} %}}"),
                p(var(f"both.{label}"), ": ", var(value), style="GoalNote"),
                ctl("{%p endif %}")]

    # The goal row may split across pages: LibreOffice (7.4) leaves out the rest of the
    # table (every step after it, boxes and all) when a goal row that may not split falls
    # at the foot of a page under repeated heading rows. Found on 5 of 1,000 generated
    # households; the stamping stage refuses such a PDF, so no plan went out short.
    return tr([span(widths,
                    p(var("both.goal"), ": ", var("goal.text"), style="Goal"),
                    *note("strengths", "goal.strengths"),
                    *note("obstacles", "goal.obstacles"),
                    *note("strengths_help", "goal.strengths_help"),
                    tcpr=shade)], cant_split=False)


def _maybe_struck(expression: str, ppr: str, style: str = "TableText") -> list[str]:
    """The text as it is, or struck through (a real Word strike-through on the run) when
    the step is no longer needed."""
    return [ctl("{%p if row.struck %}"),
            p(run(var(expression), STRIKE), style=style, ppr=ppr),
            ctl("{%p else %}"),
            p(var(expression), style=style, ppr=ppr),
            ctl("{%p endif %}")]


def _step_row(widths: list[float], keep_with_next: bool) -> str:
    """One step. An open step has a "Done" box to tick; a step already done shows when, and
    one no longer needed is struck through: neither is an open step with an empty box."""
    ppr = KEEP_NEXT if keep_with_next else ""
    return tr([
        tc(widths[0], *_maybe_struck("row.we_will", ppr),
           ctl("{%p if row.our_lead %}"),
           p(var("both.led_by"), ": ", var("row.our_lead"), style="StepNote", ppr=ppr),
           ctl("{%p endif %}")),
        tc(widths[1], *_maybe_struck("row.you_will", ppr)),
        text_cell(widths[2], "row.who", ppr),
        text_cell(widths[3], "row.by_when", ppr),
        tc(widths[4],
           ctl("{%p if row.open %}"),
           p(TICK_GLYPH, style="TickBox", ppr=ppr),
           ctl("{%p else %}"),
           p(var("row.progress"), style="StepNote", ppr=ppr + '<w:jc w:val="center"/>'),
           ctl("{%p endif %}"),
           tcpr='<w:vAlign w:val="center"/>'),
    ])


def _goals_section() -> list[str]:
    widths = [c[1] for c in STEP_COLS]
    # Both header rows repeat when the table runs onto a new page, so no page opens with
    # steps that belong to nothing.
    area_row = tr([span(widths, p(var("area.name"), style="AreaHeading"),
                        *_area_gloss())], header=True)
    table = tbl("PlanTable", widths, [
        area_row,
        header_row(STEP_COLS, centre_last=True),
        ctl_tr(widths, "{%tr for goal in area.goals %}"),
        _goal_row(widths),
        ctl_tr(widths, "{%tr for row in goal.steps %}"),
        # A goal's steps keep together on one page (when they fit): every row but the
        # goal's last keeps with the next.
        ctl_tr(widths, "{%tr if not loop.last %}"),
        _step_row(widths, keep_with_next=True),
        ctl_tr(widths, "{%tr else %}"),
        _step_row(widths, keep_with_next=False),
        ctl_tr(widths, "{%tr endif %}"),
        ctl_tr(widths, "{%tr endfor %}"),
        ctl_tr(widths, "{%tr endfor %}"),
    ])
    return [
        *heading("goals_heading"),
        ctl("{%p if areas %}"),
        ctl("{%p for area in areas %}"),
        table,
        p(style="Control", ppr='<w:spacing w:before="0" w:after="120"/>'),
        ctl("{%p endfor %}"),
        ctl("{%p if quiet_areas %}"),
        p(var("t.quiet_areas"), " ", "{{ quiet_areas|join(t.list_separator) }}",
          style="SmallNote"),
        ctl("{%p if bilingual %}"),
        p(var("en.quiet_areas"), " ", "{{ quiet_areas_en|join(en.list_separator) }}",
          style="EnglishGloss"),
        ctl("{%p endif %}"),
        ctl("{%p endif %}"),
        ctl("{%p else %}"),
        *worded("no_goals"),
        ctl("{%p endif %}"),
    ]


def _safety_section() -> list[str]:
    table = list_table(SAFETY_COLS, "item in safety_items",
                        ["item.worry", "item.we_will", "item.you_will", "item.review_by"])
    return [
        *heading("safety_heading"),
        ctl("{%p if safety_items %}"),
        table,
        ctl("{%p else %}"),
        *worded("no_safety"),
        ctl("{%p endif %}"),
    ]


def build_template(path: Path) -> None:
    """Write the support plan docxtpl template to ``path``."""
    parts: list[str] = []
    parts += header_block()
    parts.append(_details_table())
    parts += _members_section()
    parts += _intro()
    parts += _goals_section()
    parts += _safety_section()
    parts += contact_section()
    parts += signatures_section()
    write_document(path, parts, "Support plan")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    out = root / "templates" / "support_plan.docx"
    build_template(out)
    print(out)
