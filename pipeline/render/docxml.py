"""Small builders of WordprocessingML for the template: paragraphs, runs, cells, rows,
tables and docxtpl's control tags.

Every Jinja tag is its own run and every control tag sits in its own paragraph or table
row (`{%p ...%}`, `{%tr ...%}`), so Word never splits a tag when an organisation edits the
template.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NSDECL = f'xmlns:w="{W_NS}"'
KEEP_NEXT = "<w:keepNext/>"
STRIKE = "<w:strike/>"


def dxa(mm: float) -> int:
    """Millimetres to twentieths of a point."""
    return round(mm * 1440 / 25.4)


def fonts(name: str, complex_script: str | None = None) -> str:
    """Run fonts: `name` for every script, or `complex_script` for Arabic-script text."""
    cs = complex_script or name
    return f'<w:rFonts w:ascii="{name}" w:hAnsi="{name}" w:eastAsia="{name}" w:cs="{cs}"/>'


def size(half_points: int) -> str:
    return f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'


def border_set(tag: str, sides: list[str], color: str, val: str = "single", sz: int = 4) -> str:
    inner = "".join(
        f'<w:{s} w:val="{val}" w:sz="{sz}" w:space="0" w:color="{color}"/>' for s in sides
    )
    return f"<w:{tag}>{inner}</w:{tag}>"


def cell_margins(top: float, side: float, bottom: float) -> str:
    return (
        "<w:tblCellMar>"
        f'<w:top w:w="{dxa(top)}" w:type="dxa"/><w:left w:w="{dxa(side)}" w:type="dxa"/>'
        f'<w:bottom w:w="{dxa(bottom)}" w:type="dxa"/><w:right w:w="{dxa(side)}" w:type="dxa"/>'
        "</w:tblCellMar>"
    )


def run(text: str, rpr: str = "") -> str:
    return (
        "<w:r>"
        + (f"<w:rPr>{rpr}</w:rPr>" if rpr else "")
        + f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'
    )


def p(*runs: str, style: str = "Normal", ppr: str = "") -> str:
    """Paragraph; each positional string is one run (so every Jinja tag is its own run)."""
    body = "".join(r if r.startswith("<w:") else run(r) for r in runs)
    return f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{ppr}</w:pPr>{body}</w:p>'


def ctl(tag: str) -> str:
    """A paragraph holding only a docxtpl control tag ({%p ...%}); removed on render."""
    return p(tag, style="Control")


def tc(width_mm: float, *paras: str, tcpr: str = "") -> str:
    content = "".join(paras) or p(style="TableText")
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{dxa(width_mm)}" w:type="dxa"/>{tcpr}</w:tcPr>{content}</w:tc>'
    )


def span(widths: list[float], *paras: str, tcpr: str = "") -> str:
    """One cell across all the table's columns."""
    return tc(sum(widths), *paras, tcpr=f'<w:gridSpan w:val="{len(widths)}"/>{tcpr}')


def tr(
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


def ctl_tr(widths: list[float], tag: str) -> str:
    """A table row holding only a {%tr ...%} tag (first cell); removed on render."""
    cells = [tc(widths[0], ctl(tag))] + [tc(w) for w in widths[1:]]
    return tr(cells, cant_split=False)


def tbl(style: str, widths: list[float], rows: list[str], first_row: bool = True,
        tblpr: str = "") -> str:
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


def field(instr: str, placeholder: str) -> list[str]:
    """A Word field (PAGE, NUMPAGES) as its runs."""
    return [
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        run(placeholder),
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    ]
