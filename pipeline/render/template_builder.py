"""Build the Word template ``templates/support_plan.docx``.

The template is rendered by docxtpl (``autoescape=True``).  It is generated here so that it
can be rebuilt reproducibly, but it is an ordinary .docx: an organisation may open it in Word
and restyle it.  To keep that safe:

* every Jinja tag is its own run, and control tags sit in their own paragraph / table row
  (``{%p ... %}``, ``{%tr ... %}``), so Word never splits a tag;
* the look comes from named styles (Title, Heading 1, Heading 2, "Plan Table", "Table Text",
  ...) rather than direct formatting; change the styles to restyle the plan.

Two things in the rendered PDF are found again by later stages and must stay unique:

* the tick box glyph U+2610 appears exactly once per step row (Done column), nowhere else;
* the word "Signature" appears exactly once per signer, top-left in that signer's box.

* the word "Signature" in those boxes is set smaller (7 pt) than any text from the workbook.

Page geometry keeps room for what is stamped later (pipeline/reconcile/layout.py): body
starts >= 30 mm from the top edge (a QR code top right), ends >= 31 mm above the bottom edge
(a QR code bottom left, beside the centred footer), 18 mm side margins (corner markers).

Run ``python -m pipeline.render.template_builder`` to (re)write ``templates/support_plan.docx``.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NSDECL = f'xmlns:w="{W_NS}"'

TICK_BOX = "\u2610"  # ☐ -- one per step row, nowhere else
SIGNATURE_LABEL = "Signature"  # one per signer box, nowhere else

BLUE = "1F4E79"
TEXT = "262626"
GREY_TEXT = "595959"
LIGHT_TEXT = "7F7F7F"
BORDER = "A6A6A6"
HEADER_FILL = "E8EBEF"
BODY_FONT = "Noto Sans"
TICK_FONT = "DejaVu Sans"

# Page geometry (mm)
PAGE_W, PAGE_H = 210, 297
MARGIN_SIDE = 18
MARGIN_TOP = 32
MARGIN_BOTTOM = 31
HEADER_DIST = 12
FOOTER_DIST = 16
TEXT_WIDTH = PAGE_W - 2 * MARGIN_SIDE  # 174 mm

GOAL_COLS = [  # (header, width mm)
    ("Goal", 30),
    ("Strengths to build on", 28),
    ("We will", 40),
    ("You will (who)", 40),
    ("By when", 24),
    ("Done", 12),
]
MEMBER_COLS = [("Name", 80), ("Role", 70), ("Adult", 24)]
SAFETY_COLS = [("Worry or risk", 51), ("We will", 50), ("You will", 49), ("Review by", 24)]
DETAIL_COLS = [34, 53, 34, 53]
SIGN_COLS = [94, 80]  # left: name/role/date, right: signature box
SIGN_BOX_HEIGHT = 20  # mm

INTRO = (
    "We wrote this plan together with you. It records your hopes in your own words and the "
    "strengths you bring, and it shows what we will do, what you will do, and by when. "
    "We will look at it again together by ",
    "{{ household.review_date }}",
    ", and you can ask us to change it at any time.",
)


def dxa(mm: float) -> int:
    """Millimetres to twentieths of a point."""
    return round(mm * 1440 / 25.4)


# ---------------------------------------------------------------------------------------------
# Styles
# ---------------------------------------------------------------------------------------------


def _fonts(name: str) -> str:
    return f'<w:rFonts w:ascii="{name}" w:hAnsi="{name}" w:eastAsia="{name}" w:cs="{name}"/>'


def _size(half_points: int) -> str:
    return f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'


def _para_style(
    style_id: str,
    name: str,
    ppr: str = "",
    rpr: str = "",
    based_on: str | None = "Normal",
    next_style: str | None = None,
    custom: bool = True,
    default: bool = False,
) -> str:
    return (
        f'<w:style {NSDECL} w:type="paragraph" w:styleId="{style_id}"'
        + (' w:customStyle="1"' if custom else "")
        + (' w:default="1"' if default else "")
        + f'><w:name w:val="{name}"/>'
        + (f'<w:basedOn w:val="{based_on}"/>' if based_on else "")
        + (f'<w:next w:val="{next_style}"/>' if next_style else "")
        + "<w:qFormat/>"
        + (f"<w:pPr>{ppr}</w:pPr>" if ppr else "")
        + (f"<w:rPr>{rpr}</w:rPr>" if rpr else "")
        + "</w:style>"
    )


def _border_set(
    tag: str, sides: list[str], val: str = "single", sz: int = 4, color: str = BORDER
) -> str:
    inner = "".join(
        f'<w:{s} w:val="{val}" w:sz="{sz}" w:space="0" w:color="{color}"/>' for s in sides
    )
    return f"<w:{tag}>{inner}</w:{tag}>"


def _cell_margins(top: float, side: float, bottom: float) -> str:
    return (
        "<w:tblCellMar>"
        f'<w:top w:w="{dxa(top)}" w:type="dxa"/><w:left w:w="{dxa(side)}" w:type="dxa"/>'
        f'<w:bottom w:w="{dxa(bottom)}" w:type="dxa"/><w:right w:w="{dxa(side)}" w:type="dxa"/>'
        "</w:tblCellMar>"
    )


def _table_style(style_id: str, name: str, tblpr: str, first_row: str = "") -> str:
    return (
        f'<w:style {NSDECL} w:type="table" w:customStyle="1" w:styleId="{style_id}">'
        f'<w:name w:val="{name}"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/>'
        "<w:qFormat/>"
        '<w:pPr><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
        f"<w:tblPr>{tblpr}</w:tblPr>"
        + (f'<w:tblStylePr w:type="firstRow">{first_row}</w:tblStylePr>' if first_row else "")
        + "</w:style>"
    )


def _install_styles(doc) -> None:
    styles = doc.styles.element

    # Document defaults: Noto Sans 10 pt for every script (LibreOffice falls back to
    # Noto Sans Arabic / Ethiopic per glyph), British English, compact spacing.
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        styles.remove(defaults)
    styles.insert(
        0,
        parse_xml(
            f"<w:docDefaults {NSDECL}>"
            f"<w:rPrDefault><w:rPr>{_fonts(BODY_FONT)}{_size(20)}"
            '<w:lang w:val="en-GB" w:eastAsia="en-GB" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
            '<w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="264" w:lineRule="auto"/>'
            "</w:pPr></w:pPrDefault></w:docDefaults>"
        ),
    )

    # Drop the built-in definitions we redefine (and their linked character styles).
    replace = {
        "Normal",
        "Title",
        "TitleChar",
        "Heading1",
        "Heading1Char",
        "Heading2",
        "Heading2Char",
        "Footer",
        "FooterChar",
    }
    for st in list(styles.findall(qn("w:style"))):
        if st.get(qn("w:styleId")) in replace:
            styles.remove(st)

    blue = f'<w:color w:val="{BLUE}"/>'
    no_spacing = '<w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>'
    defs = [
        _para_style(
            "Normal",
            "Normal",
            rpr=f'<w:color w:val="{TEXT}"/>',
            based_on=None,
            custom=False,
            default=True,
        ),
        _para_style(
            "Title",
            "Title",
            next_style="Normal",
            custom=False,
            ppr='<w:keepNext/><w:spacing w:before="120" w:after="160" w:line="240" '
            'w:lineRule="auto"/>',
            rpr=f"<w:b/><w:bCs/>{blue}{_size(40)}",
        ),
        _para_style(
            "Heading1",
            "heading 1",
            next_style="Normal",
            custom=False,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="360" w:after="120" '
            'w:line="240" w:lineRule="auto"/><w:outlineLvl w:val="0"/>',
            rpr=f"<w:b/><w:bCs/>{blue}{_size(28)}",
        ),
        _para_style(
            "Heading2",
            "heading 2",
            next_style="Normal",
            custom=False,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="80" '
            'w:line="240" w:lineRule="auto"/><w:outlineLvl w:val="1"/>',
            rpr=f"<w:b/><w:bCs/>{blue}{_size(22)}",
        ),
        _para_style(
            "Footer",
            "footer",
            custom=False,
            ppr=f'{no_spacing}<w:jc w:val="center"/>',
            rpr=f'<w:color w:val="{LIGHT_TEXT}"/>{_size(16)}',
        ),
        _para_style(
            "OrgName",
            "Organisation Name",
            next_style="OrgContact",
            ppr='<w:keepNext/><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:b/><w:bCs/><w:color w:val="{GREY_TEXT}"/>{_size(22)}',
        ),
        _para_style(
            "OrgContact",
            "Organisation Contact",
            ppr=f"<w:keepNext/>{no_spacing}",
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{_size(17)}',
        ),
        _para_style("TableText", "Table Text", ppr=no_spacing, rpr=_size(18)),
        _para_style(
            "TableHeading",
            "Table Heading",
            ppr=f"<w:keepNext/>{no_spacing}",
            rpr=f'<w:b/><w:bCs/><w:color w:val="{TEXT}"/>{_size(17)}',
        ),
        _para_style(
            "TableNote",
            "Table Note",
            based_on="TableText",
            ppr='<w:spacing w:before="20" w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:i/><w:iCs/><w:color w:val="{GREY_TEXT}"/>{_size(16)}',
        ),
        _para_style(
            "DetailsLabel",
            "Details Label",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{_size(17)}',
        ),
        _para_style("DetailsValue", "Details Value", ppr=no_spacing, rpr=_size(19)),
        _para_style(
            "TickBox",
            "Tick Box",
            ppr=f'{no_spacing}<w:jc w:val="center"/>',
            rpr=f"{_fonts(TICK_FONT)}{_size(28)}",
        ),
        _para_style(
            "SmallNote",
            "Small Note",
            ppr='<w:spacing w:before="160" w:after="120" w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{_size(18)}',
        ),
        _para_style(
            "SignerName",
            "Signer Name",
            ppr=no_spacing,
            rpr=f"<w:b/><w:bCs/>{_size(20)}",
        ),
        _para_style(
            "SignerRole",
            "Signer Role",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{_size(18)}',
        ),
        _para_style(
            "SignerDate",
            "Signer Date",
            ppr='<w:spacing w:before="280" w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr=_size(18),
        ),
        _para_style(
            "SignatureLabel",
            "Signature Label",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{LIGHT_TEXT}"/>{_size(14)}',
        ),
        _para_style(
            "Control",
            "Template Control",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{LIGHT_TEXT}"/>{_size(16)}',
        ),
        _table_style(
            "PlanTable",
            "Plan Table",
            tblpr=_border_set(
                "tblBorders", ["top", "left", "bottom", "right", "insideH", "insideV"]
            )
            + _cell_margins(1.0, 1.5, 1.2),
            first_row=f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/>'
            "</w:tcPr>",
        ),
        _table_style(
            "DetailsTable",
            "Details Table",
            tblpr=_border_set("tblBorders", ["top", "bottom", "insideH"], color="D0D0D0")
            + _cell_margins(0.8, 1.5, 0.8),
        ),
        _table_style("LayoutTable", "Layout Table", tblpr=_cell_margins(0, 0, 0)),
    ]
    for xml in defs:
        styles.append(parse_xml(xml))


# ---------------------------------------------------------------------------------------------
# Body XML helpers
# ---------------------------------------------------------------------------------------------


def _run(text: str, rpr: str = "") -> str:
    return (
        "<w:r>"
        + (f"<w:rPr>{rpr}</w:rPr>" if rpr else "")
        + f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'
    )


def _p(*runs: str, style: str = "Normal", ppr: str = "") -> str:
    """Paragraph; each positional string is one run (so every Jinja tag is its own run)."""
    body = "".join(r if r.startswith("<w:") else _run(r) for r in runs)
    return f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{ppr}</w:pPr>{body}</w:p>'


def _ctl(tag: str) -> str:
    """A paragraph holding only a docxtpl control tag ({%p ...%}); removed on render."""
    return _p(tag, style="Control")


def _tc(width_mm: float, *paras: str, tcpr: str = "") -> str:
    content = "".join(paras) or _p(style="TableText")
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{dxa(width_mm)}" w:type="dxa"/>{tcpr}</w:tcPr>{content}</w:tc>'
    )


def _tr(
    cells: list[str],
    header: bool = False,
    cant_split: bool = True,
    height_mm: float | None = None,
    rule: str = "atLeast",
) -> str:
    trpr = ""
    if cant_split:
        trpr += "<w:cantSplit/>"
    if height_mm is not None:
        trpr += f'<w:trHeight w:val="{dxa(height_mm)}" w:hRule="{rule}"/>'
    if header:
        trpr += "<w:tblHeader/>"
    return f"<w:tr><w:trPr>{trpr}</w:trPr>{''.join(cells)}</w:tr>"


def _ctl_tr(widths: list[float], tag: str) -> str:
    """A table row holding only a {%tr ...%} tag (first cell); removed on render."""
    cells = [_tc(widths[0], _ctl(tag))] + [_tc(w) for w in widths[1:]]
    return _tr(cells, cant_split=False)


def _tbl(
    style: str, widths: list[float], rows: list[str], first_row: bool = True, tblpr: str = ""
) -> str:
    grid = "".join(f'<w:gridCol w:w="{dxa(w)}"/>' for w in widths)
    look = (
        f'<w:tblLook w:val="{"04A0" if first_row else "0400"}" '
        f'w:firstRow="{1 if first_row else 0}" w:lastRow="0" w:firstColumn="0" '
        'w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>'
    )
    return (
        f'<w:tbl {NSDECL}><w:tblPr><w:tblStyle w:val="{style}"/>'
        f'<w:tblW w:w="{dxa(sum(widths))}" w:type="dxa"/>{tblpr}'
        f'<w:tblLayout w:type="fixed"/>{look}</w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    )


def _header_row(cols: list[tuple[str, float]], centre_last: bool = False) -> str:
    cells = []
    for i, (title, width) in enumerate(cols):
        ppr = '<w:jc w:val="center"/>' if centre_last and i == len(cols) - 1 else ""
        cells.append(_tc(width, _p(title, style="TableHeading", ppr=ppr)))
    return _tr(cells, header=True)


def _text_cell(width: float, tag: str) -> str:
    return _tc(width, _p(tag, style="TableText"))


def _list_table(cols: list[tuple[str, float]], loop: str, fields: list[str]) -> str:
    """A header row, then one row of plain text cells per item: `loop` is the Jinja
    `for` clause (e.g. "m in members"), `fields` the expressions shown, one per column."""
    widths = [c[1] for c in cols]
    return _tbl("PlanTable", widths, [
        _header_row(cols),
        _ctl_tr(widths, f"{{%tr for {loop} %}}"),
        _tr([_text_cell(w, f"{{{{ {field} }}}}") for w, field in zip(widths, fields,
                                                                     strict=True)]),
        _ctl_tr(widths, "{%tr endfor %}"),
    ])


# ---------------------------------------------------------------------------------------------
# Document sections
# ---------------------------------------------------------------------------------------------


def _header_block() -> list[str]:
    return [
        _p("{{ org.name }}", style="OrgName"),
        _ctl("{%p if org.contact %}"),
        _p("{{ org.contact }}", style="OrgContact"),
        _ctl("{%p endif %}"),
        _p("Support plan", style="Title"),
    ]


def _details_table() -> str:
    w = DETAIL_COLS

    def pair(label: str, value: str, lw: float, vw: float) -> list[str]:
        return [_tc(lw, _p(label, style="DetailsLabel")), _tc(vw, _p(value, style="DetailsValue"))]

    rows = [
        _tr(
            [
                _tc(w[0], _p("Household", style="DetailsLabel")),
                _tc(
                    w[1] + w[2] + w[3],
                    _p("{{ household.name }}", style="DetailsValue", ppr=""),
                    tcpr='<w:gridSpan w:val="3"/>',
                ),
            ]
        ),
        _tr(
            pair("Reference", "{{ household.reference }}", w[0], w[1])
            + pair("Team", "{{ household.team }}", w[2], w[3])
        ),
        _tr(
            pair("Plan date", "{{ household.plan_date }}", w[0], w[1])
            + pair("Review date", "{{ household.review_date }}", w[2], w[3])
        ),
        _tr(
            pair("Caseworker", "{{ household.caseworker }}", w[0], w[1])
            + pair("Peer reviewer", "{{ household.peer_reviewer }}", w[2], w[3])
        ),
        _tr(
            pair("Preferred language", '{{ household.preferred_language or "—" }}', w[0], w[1])
            + pair("Interpreter used", '{{ household.interpreter_used or "—" }}', w[2], w[3])
        ),
    ]
    return _tbl("DetailsTable", w, rows, first_row=False)


def _members_section() -> list[str]:
    return [
        _p("Who is in the household", style="Heading1"),
        _list_table(MEMBER_COLS, "m in members", ["m.name", "m.role", "m.adult"]),
    ]


def _intro() -> list[str]:
    return [_p(*INTRO, style="Normal", ppr='<w:spacing w:before="240"/>')]


def _goals_section() -> list[str]:
    widths = [c[1] for c in GOAL_COLS]
    step_row = _tr(
        [
            _text_cell(widths[0], "{{ row.goal }}"),
            _text_cell(widths[1], "{{ row.strengths }}"),
            _text_cell(widths[2], "{{ row.we_will }}"),
            _tc(
                widths[3],
                _p("{{ row.you_will }}", style="TableText"),
                _ctl("{%p if row.who %}"),
                _p("{{ row.who }}", style="TableNote"),
                _ctl("{%p endif %}"),
            ),
            _text_cell(widths[4], "{{ row.by_when }}"),
            _tc(widths[5], _p(TICK_BOX, style="TickBox"), tcpr='<w:vAlign w:val="center"/>'),
        ]
    )
    table = _tbl(
        "PlanTable",
        widths,
        [
            _header_row(GOAL_COLS, centre_last=True),
            _ctl_tr(widths, "{%tr for row in area.rows %}"),
            step_row,
            _ctl_tr(widths, "{%tr endfor %}"),
        ],
    )
    return [
        _p("Your goals", style="Heading1"),
        _ctl("{%p if areas %}"),
        _ctl("{%p for area in areas %}"),
        _p("{{ area.name }}", style="Heading2"),
        table,
        _ctl("{%p endfor %}"),
        _ctl("{%p if quiet_areas %}"),
        _p("Areas not in focus right now: ", '{{ quiet_areas|join("; ") }}', style="SmallNote"),
        _ctl("{%p endif %}"),
        _ctl("{%p else %}"),
        _p("No goals are recorded in this plan yet.", style="Normal"),
        _ctl("{%p endif %}"),
    ]


def _safety_section() -> list[str]:
    table = _list_table(SAFETY_COLS, "item in safety_items",
                        ["item.worry", "item.we_will", "item.you_will", "item.review_by"])
    return [
        _p("Keeping safe", style="Heading1"),
        _ctl("{%p if safety_items %}"),
        table,
        _ctl("{%p else %}"),
        _p("No safety items are recorded in this plan.", style="Normal"),
        _ctl("{%p endif %}"),
    ]


def _signatures_section() -> list[str]:
    left_w, box_w = SIGN_COLS
    box_border = _border_set("tcBorders", ["top", "left", "bottom", "right"], sz=6, color="808080")
    box_margins = (
        f'<w:tcMar><w:top w:w="{dxa(1)}" w:type="dxa"/><w:left w:w="{dxa(1.5)}" w:type="dxa"/>'
        "</w:tcMar>"
    )
    signer_row = _tr(
        [
            _tc(
                left_w,
                _p("{{ s.name }}", style="SignerName"),
                _p("{{ s.role }}", style="SignerRole"),
                _p("Date: ____________", style="SignerDate"),
            ),
            _tc(box_w, _p(SIGNATURE_LABEL, style="SignatureLabel"), tcpr=box_border + box_margins),
        ],
        height_mm=SIGN_BOX_HEIGHT,
    )
    # 12 mm between boxes: a signature running over its box rarely reaches the next one.
    spacer_row = _tr([_tc(left_w), _tc(box_w)], height_mm=12, rule="exact")
    table = _tbl(
        "LayoutTable",
        SIGN_COLS,
        [
            _ctl_tr(SIGN_COLS, "{%tr for s in signers %}"),
            # Between blocks only: a spacer after the last could start a blank page, and one
            # before the first would let the heading above part from the first block.
            _ctl_tr(SIGN_COLS, "{%tr if not loop.first %}"),
            spacer_row,
            _ctl_tr(SIGN_COLS, "{%tr endif %}"),
            signer_row,
            _ctl_tr(SIGN_COLS, "{%tr endfor %}"),
        ],
        first_row=False,
    )
    return [
        # Not "Signatures": the word "Signature" must occur only inside the signature boxes.
        _p("Signing this plan", style="Heading1"),
        _p(
            "By signing, we agree this plan together. A copy is yours to keep.",
            style="Normal",
            ppr='<w:keepNext/><w:spacing w:after="200"/>',
        ),
        table,
    ]


def _field(instr: str, placeholder: str) -> list[str]:
    return [
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        _run(placeholder),
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    ]


def _footer_paragraph() -> str:
    return _p(
        "Support plan ",
        "{{ household.reference }}",
        " · version ",
        "{{ version }}",
        " · page ",
        *_field("PAGE", "1"),
        " of ",
        *_field("NUMPAGES", "1"),
        style="Footer",
    )


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def build_template(path: Path) -> None:
    """Write the support plan docxtpl template to ``path``."""
    doc = Document()
    _install_styles(doc)

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
    section.left_margin = section.right_margin = Mm(MARGIN_SIDE)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    section.header_distance, section.footer_distance = Mm(HEADER_DIST), Mm(FOOTER_DIST)

    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    sect_pr = body.find(qn("w:sectPr"))

    parts: list[str] = []
    parts += _header_block()
    parts.append(_details_table())
    parts += _members_section()
    parts += _intro()
    parts += _goals_section()
    parts += _safety_section()
    parts += _signatures_section()
    # A document must end with a paragraph; keep it tiny so it never adds a blank page.
    parts.append(_p(style="Control", ppr='<w:spacing w:line="20" w:lineRule="exact"/>'))

    for xml in parts:
        el = parse_xml(
            xml if xml.startswith("<w:tbl ") else xml.replace("<w:p>", f"<w:p {NSDECL}>", 1)
        )
        sect_pr.addprevious(el)

    footer = section.footer
    footer.is_linked_to_previous = False
    ftr = footer._element
    for child in list(ftr):
        ftr.remove(child)
    ftr.append(parse_xml(_footer_paragraph().replace("<w:p>", f"<w:p {NSDECL}>", 1)))

    props = doc.core_properties
    props.title = "Support plan"
    props.author = ""
    props.last_modified_by = ""
    props.comments = ""
    props.subject = ""
    props.keywords = ""

    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    out = root / "templates" / "support_plan.docx"
    build_template(out)
    print(out)
