"""The template's named styles: the look of the plan, which an organisation may change in
Word (fonts, colours, sizes) without touching the tags.

Sizes are in half-points. Everything the household reads (goals, strengths, steps, who,
dates, the safety plan, the contact details) is 10 pt or larger.
"""

from __future__ import annotations

from typing import Any

from docx.oxml import parse_xml
from docx.oxml.ns import qn

from ..printed import SIGNATURE_LABEL_PT, TICK_FONT, TICK_PT
from .docxml import NSDECL, border_set, cell_margins, fonts, size

BLUE = "1F4E79"
TEXT = "262626"
GREY_TEXT = "595959"
LIGHT_TEXT = "7F7F7F"
BORDER = "A6A6A6"
HEADER_FILL = "E8EBEF"
GOAL_FILL = "F4F6F8"
BODY_FONT = "Noto Sans"
# Arabic, Dari and Pashto text (LibreOffice and Word call it "complex script"): Noto Sans
# has no Arabic letters, and falling back glyph by glyph picks a mismatched font.
ARABIC_FONT = "Noto Sans Arabic"
BODY = 20  # 10 pt
# The English under the household's language on a bilingual plan: for the caseworker, so
# smaller and grey, and marked as English (a screen reader switches voice).
GLOSS_STYLES = ("HeadingGloss", "EnglishGloss", "TableGloss")
ENGLISH_LANG = '<w:lang w:val="en-GB" w:eastAsia="en-GB" w:bidi="en-GB"/>'


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


def install_styles(doc: Any) -> None:
    styles = doc.styles.element

    # Document defaults: Noto Sans 10 pt (Noto Sans Arabic for Arabic script; LibreOffice
    # falls back to Noto Sans Ethiopic per glyph), British English, compact spacing. A
    # plan in another language gets its own language here when it is rendered
    # (pipeline/render/finishing.py).
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        styles.remove(defaults)
    styles.insert(
        0,
        parse_xml(
            f"<w:docDefaults {NSDECL}>"
            f"<w:rPrDefault><w:rPr>{fonts(BODY_FONT, ARABIC_FONT)}{size(20)}"
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
            rpr=f"<w:b/><w:bCs/>{blue}{size(40)}",
        ),
        _para_style(
            "Heading1",
            "heading 1",
            next_style="Normal",
            custom=False,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="360" w:after="120" '
            'w:line="240" w:lineRule="auto"/><w:outlineLvl w:val="0"/>',
            rpr=f"<w:b/><w:bCs/>{blue}{size(28)}",
        ),
        _para_style(
            "Heading2",
            "heading 2",
            next_style="Normal",
            custom=False,
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="80" '
            'w:line="240" w:lineRule="auto"/><w:outlineLvl w:val="1"/>',
            rpr=f"<w:b/><w:bCs/>{blue}{size(22)}",
        ),
        _para_style(
            "Footer",
            "footer",
            custom=False,
            ppr=f'{no_spacing}<w:jc w:val="center"/>',
            rpr=f'<w:color w:val="{LIGHT_TEXT}"/>{size(16)}',
        ),
        _para_style(
            "OrgName",
            "Organisation Name",
            next_style="OrgContact",
            ppr='<w:keepNext/><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:b/><w:bCs/><w:color w:val="{GREY_TEXT}"/>{size(22)}',
        ),
        _para_style(
            "OrgContact",
            "Organisation Contact",
            ppr=f"<w:keepNext/>{no_spacing}",
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(BODY)}',
        ),
        _para_style("TableText", "Table Text", ppr=no_spacing, rpr=size(BODY)),
        _para_style(
            "TableHeading",
            "Table Heading",
            ppr=f"<w:keepNext/>{no_spacing}",
            rpr=f'<w:b/><w:bCs/><w:color w:val="{TEXT}"/>{size(BODY)}',
        ),
        _para_style(
            "AreaHeading",
            "Area Heading",
            ppr='<w:keepNext/><w:spacing w:before="20" w:after="20" w:line="240" '
            'w:lineRule="auto"/>',
            rpr=f"<w:b/><w:bCs/><w:color w:val=\"{BLUE}\"/>{size(24)}",
        ),
        # No "keep with next" on a goal's row: in a table whose rows may not split, LibreOffice
        # then drops the rows that should run on to the next page (steps vanished from the
        # PDF). The repeated area heading says what a continued table belongs to.
        _para_style(
            "Goal",
            "Goal",
            ppr=no_spacing,
            rpr=f"<w:b/><w:bCs/>{size(22)}",
        ),
        _para_style(
            "GoalNote",
            "Goal Note",
            ppr='<w:spacing w:before="40" w:after="0" w:line="240" '
            'w:lineRule="auto"/>',
            rpr=size(BODY),
        ),
        _para_style(
            "StepNote",
            "Step Note",
            based_on="TableText",
            ppr='<w:spacing w:before="40" w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr=size(BODY),
        ),
        _para_style(
            "DetailsLabel",
            "Details Label",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(BODY)}',
        ),
        _para_style("DetailsValue", "Details Value", ppr=no_spacing, rpr=size(21)),
        _para_style(
            "ContactText",
            "Contact Text",
            ppr='<w:spacing w:before="0" w:after="40" w:line="252" '
            'w:lineRule="auto"/>',
            rpr=size(BODY),
        ),
        _para_style(
            "SigningIntro",
            "Signing Intro",
            ppr='<w:keepNext/><w:spacing w:before="0" w:after="80" w:line="252" '
            'w:lineRule="auto"/>',
            rpr=size(BODY),
        ),
        _para_style(
            "PlanReference",
            "Plan Reference",
            ppr=f"<w:keepNext/>{no_spacing}",
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(18)}',
        ),
        _para_style(
            "TickBox",
            "Tick Box",
            ppr=f'{no_spacing}<w:jc w:val="center"/>',
            rpr=f"{fonts(TICK_FONT)}{size(2 * TICK_PT)}",
        ),
        _para_style(
            "SmallNote",
            "Small Note",
            ppr='<w:spacing w:before="160" w:after="120" w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(BODY)}',
        ),
        _para_style(
            "SignerName",
            "Signer Name",
            ppr=no_spacing,
            rpr=f"<w:b/><w:bCs/>{size(20)}",
        ),
        _para_style(
            "SignerRole",
            "Signer Role",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(BODY)}',
        ),
        _para_style(
            "SignerDate",
            "Signer Date",
            ppr='<w:spacing w:before="280" w:after="0" w:line="240" w:lineRule="auto"/>',
            rpr=size(BODY),
        ),
        _para_style(
            "SignatureLabel",
            "Signature Label",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{LIGHT_TEXT}"/>{size(2 * SIGNATURE_LABEL_PT)}',
        ),
        _para_style(
            "HeadingGloss",
            "Heading Gloss",
            next_style="Normal",
            ppr='<w:keepNext/><w:keepLines/><w:spacing w:before="0" w:after="120" '
            'w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(BODY)}{ENGLISH_LANG}',
        ),
        _para_style(
            "EnglishGloss",
            "English Gloss",
            ppr='<w:spacing w:before="0" w:after="120" w:line="240" w:lineRule="auto"/>',
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(18)}{ENGLISH_LANG}',
        ),
        _para_style(
            "TableGloss",
            "Table Gloss",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(16)}{ENGLISH_LANG}',
        ),
        _para_style(
            "WordCopy",
            "Word Copy Notice",
            ppr=f'{no_spacing}<w:jc w:val="right"/>',
            rpr=f'<w:color w:val="{GREY_TEXT}"/>{size(16)}',
        ),
        _para_style(
            "Control",
            "Template Control",
            ppr=no_spacing,
            rpr=f'<w:color w:val="{LIGHT_TEXT}"/>{size(16)}',
        ),
        _table_style(
            "PlanTable",
            "Plan Table",
            tblpr=border_set(
                "tblBorders", ["top", "left", "bottom", "right", "insideH", "insideV"], BORDER
            )
            + cell_margins(1.0, 1.5, 1.2),
            first_row=f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/>'
            "</w:tcPr>",
        ),
        _table_style(
            "DetailsTable",
            "Details Table",
            tblpr=border_set("tblBorders", ["top", "bottom", "insideH"], color="D0D0D0")
            + cell_margins(0.8, 1.5, 0.8),
        ),
        _table_style("LayoutTable", "Layout Table", tblpr=cell_margins(0, 0, 0)),
    ]
    for xml in defs:
        styles.append(parse_xml(xml))
