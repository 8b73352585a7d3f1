"""What the plan and the review pack templates share: page geometry, table helpers, the
fixed wording with its English line on bilingual plans, the organisation's heading, the
contact and signing sections, the header of the editable Word copy, the footer, and the
writing of the .docx itself.

Fixed wording is a key of the catalogue (pipeline/wording): `{{ t.<key> }}` in the plan's
language, `{{ en.<key> }}` the English line under it (only `{%p if bilingual %}`), and
`{{ both.<key> }}` both in one line, for labels.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm

from ..printed import (
    BODY_BOTTOM_MM,
    BODY_SIDE_MM,
    BODY_TOP_MM,
    PAGE_HEIGHT_MM,
    PAGE_WIDTH_MM,
    SIGNATURE_LABEL_PT,
    SIGNATURE_MARK,
    SIGNATURE_MARK_FONT,
)
from .docxml import (
    KEEP_NEXT,
    NSDECL,
    border_set,
    ctl,
    ctl_tr,
    dxa,
    field,
    fonts,
    p,
    run,
    size,
    span,
    tbl,
    tc,
    tr,
)
from .template_styles import install_styles

# Page geometry (mm)
PAGE_W, PAGE_H = round(PAGE_WIDTH_MM), round(PAGE_HEIGHT_MM)
MARGIN_SIDE = round(BODY_SIDE_MM)
MARGIN_TOP = round(BODY_TOP_MM) + 2
MARGIN_BOTTOM = round(BODY_BOTTOM_MM)
HEADER_DIST = 12
FOOTER_DIST = 16
TEXT_WIDTH = PAGE_W - 2 * MARGIN_SIDE  # 174 mm

DETAIL_COLS_WIDE = [50, 124]  # label | value, across the page
SIGN_COLS = [94, 80]  # left: name/role/date, right: signature box
SIGN_BOX_HEIGHT = 20  # mm
SIGN_GAP = 12  # mm between blocks: a signature running over its box rarely reaches the next
# With this many signers or more the blocks stand closer, so that a household with an
# interpreter still signs on one page in two languages instead of leaving its last signer
# alone on the next (a block is as tall as its name, role and date line, ~20 mm).
COMPACT_SIGNERS = 5
COMPACT_GAP = 6


def var(expression: str) -> str:
    return f"{{{{ {expression} }}}}"


def gloss(key: str, style: str = "EnglishGloss", ppr: str = "") -> list[str]:
    """The English line under a piece of fixed wording, on bilingual plans only."""
    return [ctl("{%p if bilingual %}"), p(var(f"en.{key}"), style=style, ppr=ppr),
            ctl("{%p endif %}")]


def worded(key: str, style: str = "Normal", ppr: str = "",
           gloss_style: str = "EnglishGloss") -> list[str]:
    """A paragraph of fixed wording (`t.<key>`), with its English line under it."""
    return [p(var(f"t.{key}"), style=style, ppr=ppr), *gloss(key, gloss_style)]


def heading(key: str, style: str = "Heading1", ppr: str = "") -> list[str]:
    return worded(key, style, ppr, gloss_style="HeadingGloss")


def header_row(cols: list[tuple[str, float]], centre_last: bool = False) -> str:
    """Column titles (keys of the catalogue), each with its English under it."""
    cells = []
    for i, (key, width) in enumerate(cols):
        ppr = '<w:jc w:val="center"/>' if centre_last and i == len(cols) - 1 else ""
        cells.append(tc(width, p(var(f"t.{key}"), style="TableHeading", ppr=ppr),
                        *gloss(key, "TableGloss", ppr)))
    return tr(cells, header=True)


def text_cell(width: float, expression: str, ppr: str = "") -> str:
    return tc(width, p(var(expression), style="TableText", ppr=ppr))


def list_table(cols: list[tuple[str, float]], loop: str, fields: list[str]) -> str:
    """A header row, then one row of plain text cells per item: `loop` is the Jinja
    `for` clause (e.g. "m in members"), `fields` the expressions shown, one per column."""
    widths = [c[1] for c in cols]
    return tbl("PlanTable", widths, [
        header_row(cols),
        ctl_tr(widths, f"{{%tr for {loop} %}}"),
        tr([text_cell(w, field_) for w, field_ in zip(widths, fields, strict=True)]),
        ctl_tr(widths, "{%tr endfor %}"),
    ])


def header_block(title: str = "title") -> list[str]:
    return [
        p(var("org.name"), style="OrgName"),
        ctl("{%p if org.contact %}"),
        p(var("org.contact"), style="OrgContact"),
        ctl("{%p endif %}"),
        *heading(title, "Title"),
    ]


def contact_section() -> list[str]:
    """Who to contact: the caseworker, the organisation, out of hours, in a crisis."""
    def line(label: str, value: str) -> list[str]:
        return [ctl(f"{{%p if {value} %}}"),
                p(var(f"both.{label}"), ": ", var(value), style="ContactText"),
                ctl("{%p endif %}")]

    return [
        *heading("contact_heading"),
        *line("contact_caseworker", "contact.caseworker"),
        *line("contact_organisation", "contact.organisation"),
        *line("out_of_hours", "contact.out_of_hours"),
        *line("crisis", "contact.crisis"),
    ]


def signatures_section(heading_key: str = "signing_heading",
                       intro: str = "signing_intro",
                       reference: str = "plan_reference") -> list[str]:
    left_w, box_w = SIGN_COLS
    box_border = border_set("tcBorders", ["top", "left", "bottom", "right"], "808080", sz=6)
    # the same on both sides: a right-to-left plan has its mark in the top right corner
    box_margins = (
        f'<w:tcMar><w:top w:w="{dxa(1)}" w:type="dxa"/><w:left w:w="{dxa(1.5)}" w:type="dxa"/>'
        f'<w:right w:w="{dxa(1.5)}" w:type="dxa"/></w:tcMar>'
    )
    keep = KEEP_NEXT
    heading_cell = span(
        SIGN_COLS,
        *heading(heading_key, ppr='<w:spacing w:before="0" w:after="80"/>'),
        *worded(intro, "SigningIntro"),
        ctl("{%p if interpreter %}"),
        *worded("interpreter_statement", "SigningIntro"),
        ctl("{%p endif %}"),
        p(var(f"t.{reference}"), style="PlanReference",
          ppr='<w:spacing w:before="0" w:after="160"/>'),
    )
    # The mark is its own run with its own size and font, so that restyling the label (or
    # printing large) never makes the mark look like workbook text to the stamper, and an
    # emoji font installed on the machine is never used for it.
    mark = run(SIGNATURE_MARK, fonts(SIGNATURE_MARK_FONT) + size(2 * SIGNATURE_LABEL_PT))
    signer_row = tr(
        [
            tc(left_w,
               p(var("s.name"), style="SignerName", ppr=keep),
               p(var("s.role"), style="SignerRole", ppr=keep),
               p(var("both.date_line"), ": ____________", style="SignerDate", ppr=keep)),
            tc(box_w, p(mark, " ", var("both.signature"), style="SignatureLabel",
                        ppr=keep), tcpr=box_border + box_margins),
        ],
        height_mm=SIGN_BOX_HEIGHT,
    )

    def spacer_row(height: float) -> str:
        return tr([tc(left_w, p(style="TableText", ppr=keep)),
                   tc(box_w, p(style="TableText", ppr=keep))], height_mm=height, rule="exact")

    compact = f"signers|length >= {COMPACT_SIGNERS}"
    table = tbl(
        "LayoutTable",
        SIGN_COLS,
        [
            # Repeated on every page the section spans: the heading, the agreement and
            # which plan this is never part from the signers.
            tr([heading_cell], header=True),
            ctl_tr(SIGN_COLS, "{%tr for s in signers %}"),
            # Between blocks only: a spacer after the last could start a blank page.
            ctl_tr(SIGN_COLS, f"{{%tr if not loop.first and not {compact} %}}"),
            spacer_row(SIGN_GAP),
            ctl_tr(SIGN_COLS, "{%tr elif not loop.first %}"),
            spacer_row(COMPACT_GAP),
            ctl_tr(SIGN_COLS, "{%tr endif %}"),
            signer_row,
            ctl_tr(SIGN_COLS, "{%tr endfor %}"),
        ],
        first_row=False,
    )
    # Every paragraph in the table keeps with the next, so the whole section moves to the
    # next page when it does not fit where it would start.
    return [p(style="Control", ppr=f'{keep}<w:spacing w:before="240"/>'), table]


def word_copy_header() -> list[str]:
    """Only in the editable Word file, never in the PDF made from it: a line saying to print
    the PDF to sign, and a page code saying "printed from the Word file" (so the reader of
    signed scans can say so, instead of finding no code at all)."""
    return [ctl("{%p if word_copy %}"),
            p(var("both.word_copy"), " ", var("word_copy_code"), style="WordCopy"),
            ctl("{%p endif %}")]


def footer_paragraph(key: str = "footer") -> str:
    return p(var(f"t.{key}"), " ", *field("PAGE", "1"), " ", var("t.footer_of"), " ",
             *field("NUMPAGES", "1"), style="Footer")


def write_document(path: Path, parts: list[str], title: str,
                   footer_key: str = "footer") -> None:
    """Write a docxtpl template: `parts` (body XML) on A4 pages with the margins the page
    codes need, the footer, and the Word-copy header."""
    doc = Document()
    install_styles(doc)

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

    # A document must end with a paragraph; keep it tiny so it never adds a blank page.
    parts = [*parts, p(style="Control", ppr='<w:spacing w:line="20" w:lineRule="exact"/>')]

    for xml in parts:
        el = parse_xml(
            xml if xml.startswith("<w:tbl ") else xml.replace("<w:p>", f"<w:p {NSDECL}>", 1)
        )
        sect_pr.addprevious(el)

    header = section.header
    header.is_linked_to_previous = False
    hdr = header._element
    for child in list(hdr):
        hdr.remove(child)
    for xml in word_copy_header():
        hdr.append(parse_xml(xml.replace("<w:p>", f"<w:p {NSDECL}>", 1)))

    footer = section.footer
    footer.is_linked_to_previous = False
    ftr = footer._element
    for child in list(ftr):
        ftr.remove(child)
    ftr.append(parse_xml(footer_paragraph(footer_key).replace("<w:p>", f"<w:p {NSDECL}>", 1)))

    props = doc.core_properties
    props.title = title
    props.author = ""
    props.last_modified_by = ""
    props.comments = ""
    props.subject = ""
    props.keywords = ""

    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))


