"""A one-page PDF digest for people who will not open Excel: totals, a chart, the worst items.

Drawn with reportlab in Noto Sans (when installed) so names in Latin, Cyrillic and Greek
scripts print; text is shortened so the digest always fits one A4 page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from ..files import write_new_bytes
from ..overdue import KINDS, UPCOMING_KINDS, Finding, RuleSettings, counts_by, worst

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/noto"))
KIND_COLOURS = ("#C0504D", "#F79646", "#9BBB59", "#4BACC6", "#8064A2", "#7F7F7F", "#BFBFBF")
MAX_TEAMS_IN_CHART = 12


def _fonts() -> tuple[str, str]:
    """Register Noto Sans if present; else fall back to Helvetica (Latin only)."""
    for folder in FONT_DIRS:
        regular, bold = folder / "NotoSans-Regular.ttf", folder / "NotoSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            if "NotoSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("NotoSans", str(regular)))
                pdfmetrics.registerFont(TTFont("NotoSans-Bold", str(bold)))
            return "NotoSans", "NotoSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chart(findings: Sequence[Finding], font: str, max_teams: int) -> Drawing:
    late_kinds = [k for k in KINDS if k not in UPCOMING_KINDS]
    by_team = counts_by(findings, "team")
    teams = sorted(by_team, key=lambda t: -sum(by_team[t][k] for k in late_kinds))
    teams = teams[:max_teams]
    height = 40 + 16 * max(len(teams), 1) + 14 * ((len(late_kinds) + 2) // 3)
    drawing = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 90, 14 * ((len(late_kinds) + 2) // 3) + 10
    chart.width, chart.height = 170 * mm - 110, 16 * max(len(teams), 1)
    chart.categoryAxis.style = "stacked"
    chart.data = [[by_team[t][kind] for t in reversed(teams)] or [0] for kind in late_kinds]
    chart.categoryAxis.categoryNames = [_short(t[0], 18) for t in reversed(teams)] or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    for index, colour in enumerate(KIND_COLOURS[: len(late_kinds)]):
        chart.bars[index].fillColor = colors.HexColor(colour)
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    # A hand-drawn legend: three kinds to a row, below the chart.
    for index, kind in enumerate(late_kinds):
        x = 90 + (index % 3) * 120
        y = 14 * ((len(late_kinds) + 2) // 3 - 1 - index // 3)
        drawing.add(String(x + 10, y, kind, fontName=font, fontSize=7))
        drawing.add(Rect(x, y - 1, 7, 7, fillColor=colors.HexColor(KIND_COLOURS[index]),
                         strokeColor=None))
    return drawing


def build_digest_pdf(findings: Sequence[Finding], as_of: date, settings: RuleSettings, *,
                     title: str = "Overdue report", organisation: str = "",
                     items: int = 12) -> bytes:
    """The digest on exactly one page: fewer items and teams are shown until it fits."""
    teams = MAX_TEAMS_IN_CHART
    while True:
        data, pages = _render(findings, as_of, settings, title, organisation, items, teams)
        if pages <= 1 or (items <= 3 and teams <= 4):
            return data
        if items > 3:
            items -= 2 if items > 5 else 1
        else:
            teams -= 2


def _render(findings: Sequence[Finding], as_of: date, settings: RuleSettings, title: str,
            organisation: str, items: int, teams: int) -> tuple[bytes, int]:
    regular, bold = _fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=8.5, leading=10.5)
    heading = ParagraphStyle("heading", parent=base, fontName=bold, fontSize=15, leading=19)
    section = ParagraphStyle("section", parent=base, fontName=bold, fontSize=10.5, leading=14,
                             spaceBefore=6, spaceAfter=3)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9)
    story: list = [Paragraph(escape(f"{title} as of {as_of:%d/%m/%Y}"), heading)]
    if organisation:
        story.append(Paragraph(escape(organisation), base))
    story.append(Paragraph(
        "Households whose support closed on or before this date are left out. Items more "
        f"than {settings.escalate_team_lead_days} days overdue go to the team lead, more "
        f"than {settings.escalate_service_manager_days} to the service manager. Details, "
        "filters and links to each plan are in the Excel report.", small))

    story.append(Paragraph("Totals", section))
    totals = {kind: sum(f.kind == kind for f in findings) for kind in KINDS}
    escalated = {label: sum(f.escalation == label for f in findings)
                 for label in ("Team lead", "Service manager")}
    rows = [[kind, str(count)] for kind, count in totals.items()]
    rows += [[f"Escalate to {label.lower()}", str(n)] for label, n in escalated.items()]
    table = Table(rows, colWidths=[60 * mm, 18 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), regular, 8.5), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#BFBFBF")),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
    story.append(table)

    story.append(Paragraph("Overdue by team", section))
    story.append(_chart(findings, regular, teams))

    worst_items = worst(findings, items)
    story.append(Paragraph(f"Most overdue ({len(worst_items)} of "
                           f"{sum(f.kind not in UPCOMING_KINDS for f in findings)})", section))
    header = ["Days", "Kind", "Household", "Caseworker", "Team", "What"]
    body = [[str(f.days_overdue), f.kind, f.reference, _short(f.caseworker, 22),
             _short(f.team, 16),
             Paragraph(escape(_short((f.step or f.detail).replace("\n", " · "), 90)), small)]
            for f in worst_items]
    table = Table([header, *body] if body else [header, ["", "Nothing overdue.", "", "", "",
                                                            ""]],
                  colWidths=[11 * mm, 30 * mm, 22 * mm, 30 * mm, 24 * mm, 63 * mm],
                  hAlign="LEFT", repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), regular, 7.5), ("FONT", (0, 0), (-1, 0), bold, 7.5),
             ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (0, -1), "RIGHT"),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#BFBFBF")),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7"))]
    for index, item in enumerate(worst_items, start=1):
        if item.escalation == "Service manager":
            style.append(("TEXTCOLOR", (0, index), (0, index), colors.HexColor("#9C0006")))
    table.setStyle(TableStyle(style))
    story.append(table)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm,
                                 topMargin=14 * mm, bottomMargin=12 * mm, title=title,
                                 author=organisation or "supportplan")
    document.build(story)
    return buffer.getvalue(), document.page


def write_digest_pdf(target: Path, findings: Sequence[Finding], as_of: date,
                     settings: RuleSettings, **options: object) -> Path:
    return write_new_bytes(target, build_digest_pdf(findings, as_of, settings,
                                                    **options))  # type: ignore[arg-type]
