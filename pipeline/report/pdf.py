"""A one-page PDF digest for people who will not open Excel: a line per caseworker, totals,
a chart, the most overdue items.

Drawn with reportlab; names in any script are shaped and ordered (shaping.py). Colours
are the kinds' own (finding_kinds.py), the same as the workbook chart's; kinds with no
items are left out of the legend. Fewer lines are shown until the digest fits one A4 page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from ..files import write_new_bytes
from ..finding_kinds import ALL_KINDS, SERVICE_MANAGER, TEAM_LEAD, kind_of
from ..overdue import Finding, RuleSettings, counts_by, worst
from .shaping import fonts, markup
from .summary import HOLDER_WORDS, caseworker_summaries, shorten, what_is_late

MAX_TEAMS_IN_CHART = 12
MAX_CASEWORKERS = 12
RULE = colors.HexColor("#BFBFBF")


@dataclass(frozen=True)
class Limits:
    """How much the digest shows; shrunk until it fits one page."""
    items: int
    teams: int = MAX_TEAMS_IN_CHART
    caseworkers: int = MAX_CASEWORKERS

    def smaller(self) -> Limits | None:
        """Fewer items first, then fewer caseworkers (the summary leads), then teams; in
        big steps, since each try draws the page again."""
        if self.items > 6:
            return Limits(6, self.teams, self.caseworkers)
        if self.caseworkers > 4:
            return Limits(self.items, self.teams, max(4, self.caseworkers - 4))
        if self.items > 3:
            return Limits(3, self.teams, self.caseworkers)
        if self.teams > 4:
            return Limits(self.items, max(4, self.teams - 4), self.caseworkers)
        return None


@dataclass(frozen=True)
class Digest:
    """What the digest shows, counted once (the page is drawn a few times to fit)."""
    summaries: list[tuple[str, str]]
    totals: dict[str, int]  # kind name -> count, kinds with items only
    escalated: dict[str, int]  # TEAM_LEAD / SERVICE_MANAGER -> count
    by_team: dict[tuple[str, ...], dict[str, int]]  # late findings only
    worst: list[Finding]
    late: int

    @classmethod
    def of(cls, findings: Sequence[Finding], items: int) -> Digest:
        totals = {kind.name: 0 for kind in ALL_KINDS}
        escalated = {TEAM_LEAD: 0, SERVICE_MANAGER: 0}
        for item in findings:
            totals[item.kind] += 1
            if item.escalation in escalated:
                escalated[item.escalation] += 1
        late = [f for f in findings if not kind_of(f.kind).upcoming]
        return cls(caseworker_summaries(findings),
                   {name: count for name, count in totals.items() if count}, escalated,
                   counts_by(late, "team"), worst(findings, items), len(late))


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=8.5, leading=10.5, shaping=1)
    return {"base": base,
            "heading": ParagraphStyle("heading", parent=base, fontName=bold, fontSize=15,
                                      leading=19),
            "section": ParagraphStyle("section", parent=base, fontName=bold, fontSize=10.5,
                                      leading=14, spaceBefore=6, spaceAfter=3),
            "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9),
            "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
            "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=bold,
                                        fontSize=7.5, leading=9)}


def _chart(digest: Digest, font: str, max_teams: int) -> Drawing | None:
    """Late findings by team; only kinds with items, in their colours, in the legend."""
    kinds = [kind for kind in ALL_KINDS if not kind.upcoming and kind.name in digest.totals]
    if not kinds:
        return None
    by_team = digest.by_team
    teams = sorted(by_team, key=lambda t: -sum(by_team[t].values()))[:max_teams]
    legend_rows = (len(kinds) + 2) // 3
    height = 40 + 16 * len(teams) + 14 * legend_rows
    drawing = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 90, 14 * legend_rows + 10
    chart.width, chart.height = 170 * mm - 110, 16 * len(teams)
    chart.categoryAxis.style = "stacked"
    chart.data = [[by_team[t][kind.name] for t in reversed(teams)] for kind in kinds]
    chart.categoryAxis.categoryNames = [shorten(t[0], 18) for t in reversed(teams)]
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName, axis.labels.fontSize = font, 7
    chart.valueAxis.valueMin = 0
    for index, kind in enumerate(kinds):
        chart.bars[index].fillColor = colors.HexColor(kind.colour)
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    for index, kind in enumerate(kinds):  # the legend: three kinds to a row, below
        x = 90 + (index % 3) * 135
        y = 14 * (legend_rows - 1 - index // 3)
        drawing.add(Rect(x, y - 1, 7, 7, fillColor=colors.HexColor(kind.colour),
                         strokeColor=None))
        drawing.add(String(x + 10, y, kind.name, fontName=font, fontSize=7))
    return drawing


def build_digest_pdf(findings: Sequence[Finding], as_of: date, settings: RuleSettings, *,
                     title: str = "Overdue report", organisation: str = "",
                     items: int = 12) -> bytes:
    """The digest on exactly one page: fewer lines are shown until it fits."""
    limits: Limits | None = Limits(items)
    digest = Digest.of(findings, items)
    while True:
        assert limits is not None
        data, pages = _render(digest, as_of, settings, title, organisation, limits)
        smaller = limits.smaller()
        if pages <= 1 or smaller is None:
            return data
        limits = smaller


def _totals(digest: Digest, style: ParagraphStyle) -> Table:
    regular = style.fontName
    rows, swatches = [], []
    for kind in ALL_KINDS:
        if kind.name in digest.totals:
            swatches.append((len(rows), kind.colour))
            rows.append(["", kind.name, str(digest.totals[kind.name])])
    for label, count in digest.escalated.items():
        rows.append(["", f"Marked for the {label.lower()}", str(count)])
    table = Table(rows, colWidths=[4 * mm, 60 * mm, 18 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), regular, 8.5), ("ALIGN", (2, 0), (2, -1), "RIGHT"),
        ("LINEBELOW", (1, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        *[("BACKGROUND", (0, row), (0, row), colors.HexColor(colour))
          for row, colour in swatches]]))
    return table


def _render(digest: Digest, as_of: date, settings: RuleSettings, title: str,
            organisation: str, limits: Limits) -> tuple[bytes, int]:
    styles = _styles()
    story: list = [Paragraph(markup(f"{title} as of {as_of:%d/%m/%Y}", bold=True),
                             styles["heading"])]
    if organisation:
        story.append(Paragraph(markup(organisation), styles["base"]))
    story.append(Paragraph(
        "Households whose support closed on or before this date are left out. Items more "
        f"than {settings.escalate_team_lead_days} days overdue go to the team lead, more "
        f"than {settings.escalate_service_manager_days} to the service manager; steps only "
        "the household holds are raised with them and go no further than the team lead. "
        "Details, filters and links to each plan are in the Excel report.", styles["small"]))

    summaries = digest.summaries
    story.append(Paragraph("By caseworker", styles["section"]))
    if summaries:  # name | counts: a name in any script stands alone in its cell
        rows = [[Paragraph(markup(caseworker, bold=True), styles["cell_bold"]),
                 Paragraph(escape(summary), styles["cell"])]
                for caseworker, summary in summaries[: limits.caseworkers]]
        table = Table(rows, colWidths=[38 * mm, 144 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                                   ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                                   ("LEFTPADDING", (0, 0), (0, -1), 0)]))
        story.append(table)
    if len(summaries) > limits.caseworkers:
        story.append(Paragraph(f"… and {len(summaries) - limits.caseworkers} more "
                               "caseworkers: see the Summary sheet of the Excel report.",
                               styles["small"]))
    if not summaries:
        story.append(Paragraph("Nothing overdue or due.", styles["base"]))

    story.append(Paragraph("Totals", styles["section"]))
    story.append(_totals(digest, styles["base"]))
    chart = _chart(digest, styles["base"].fontName, limits.teams)
    if chart is not None:
        story.append(Paragraph("Late by team", styles["section"]))
        story.append(chart)
    story.append(_worst_table(digest, limits.items, styles))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm,
                                 topMargin=14 * mm, bottomMargin=12 * mm, title=title,
                                 author=organisation or "supportplan")
    document.build(story)
    return buffer.getvalue(), document.page


def _worst_table(digest: Digest, items: int, styles: dict[str, ParagraphStyle]) -> Table:
    worst_items = digest.worst[:items]
    late = digest.late
    cell, bold = styles["cell"], styles["cell_bold"]
    header = [Paragraph(escape(text), bold) for text in
              ("Days", "Kind", "Household", "Caseworker", "Holder", "What")]
    body = [[Paragraph(str(f.days_overdue), cell), Paragraph(escape(f.kind), cell),
             Paragraph(escape(f.reference), cell),
             Paragraph(markup(shorten(f.caseworker, 24)), cell),
             Paragraph(escape(HOLDER_WORDS.get(f.holder, f.holder).replace("held by ", "")),
                       cell),
             Paragraph(markup(what_is_late(f, 90)), cell)]
            for f in worst_items]
    if not body:
        body = [["", Paragraph("Nothing overdue.", cell), "", "", "", ""]]
    table = Table([[Paragraph(f"Most overdue ({len(worst_items)} of {late})",
                              styles["section"]), "", "", "", "", ""], header, *body],
                  colWidths=[11 * mm, 30 * mm, 20 * mm, 30 * mm, 24 * mm, 65 * mm],
                  hAlign="LEFT", repeatRows=2)
    style = [("SPAN", (0, 0), (-1, 0)), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
             ("BACKGROUND", (0, 1), (-1, 1), colors.HexColor("#DDEBF7")),
             ("LEFTPADDING", (0, 0), (-1, 0), 0)]
    for index, item in enumerate(worst_items, start=2):
        # the kind's colour beside its row, as in the legend
        style.append(("LINEBEFORE", (0, index), (0, index), 3,
                      colors.HexColor(kind_of(item.kind).colour)))
    table.setStyle(TableStyle(style))
    return table


def write_digest_pdf(target: Path, findings: Sequence[Finding], as_of: date,
                     settings: RuleSettings, **options: object) -> Path:
    return write_new_bytes(target, build_digest_pdf(findings, as_of, settings,
                                                    **options))  # type: ignore[arg-type]
