"""Finishing a rendered plan for its reader: the document's language, right-to-left layout
for Arabic, Dari and Pashto, large print, and the title the PDF carries.

Done on the rendered document, not in the template, so that one Word template (which an
organisation restyles in Word, left to right) serves every language and print size:

* the language (`w:lang` in the document defaults, and the core properties) is what
  LibreOffice writes as the PDF's /Lang and what a screen reader speaks in; the English
  lines of a bilingual plan keep their own English (their styles say so);
* right to left: every paragraph gets `w:bidi` (its direction: it starts at the right,
  and in it `w:jc` left/right mean start/end, as Word and LibreOffice read them), every
  table `w:bidiVisual` (its first column at the right); the English lines stay left to
  right, aligned to the right under the words they translate;
* large print scales every size in the styles by 1.4 (10 pt body text becomes 14 pt),
  except the tick box, whose size the scan reader is tuned to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from ..wording.languages import Language
from .template_styles import GLOSS_STYLES

LARGE_PRINT_FACTOR = 1.4
UNSCALED_STYLES = frozenset({"TickBox"})

# What may follow w:bidi in a w:pPr, and w:bidiVisual in a w:tblPr (the schema's order,
# which Word insists on).
_AFTER_BIDI = ("adjustRightInd", "snapToGrid", "spacing", "ind", "contextualSpacing",
               "mirrorIndents", "suppressOverlap", "jc", "textDirection", "textAlignment",
               "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr",
               "pPrChange")
_AFTER_JC = ("textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId",
             "cnfStyle", "rPr", "sectPr", "pPrChange")
_AFTER_BIDI_VISUAL = ("tblStyleRowBandSize", "tblStyleColBandSize", "tblW", "jc",
                      "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout",
                      "tblCellMar", "tblLook", "tblCaption", "tblDescription")


@dataclass(frozen=True)
class Finishing:
    language: Language
    title: str  # the document's (and so the PDF's) title
    large_print: bool = False


def _child(parent: Any, tag: str, before: tuple[str, ...]) -> Any:
    """`parent`'s w:<tag> child, created in its place in the schema's order."""
    found = parent.find(qn(f"w:{tag}"))
    if found is not None:
        return found
    element = OxmlElement(f"w:{tag}")
    following = next((child for child in parent if child.tag in {qn(f"w:{name}")
                                                                  for name in before}), None)
    if following is not None:
        following.addprevious(element)
    else:
        parent.append(element)
    return element


def _ppr(paragraph: Any) -> Any:
    ppr = paragraph.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        paragraph.insert(0, ppr)
    return ppr


def _style_of(paragraph: Any) -> str:
    ppr = paragraph.find(qn("w:pPr"))
    style = ppr.find(qn("w:pStyle")) if ppr is not None else None
    return style.get(qn("w:val")) if style is not None else ""


def _set_direction(ppr: Any, rtl: bool, align_end: bool = False) -> None:
    bidi = _child(ppr, "bidi", _AFTER_BIDI)
    if rtl:
        bidi.attrib.pop(qn("w:val"), None)
    else:
        bidi.set(qn("w:val"), "0")
    if align_end:
        jc = _child(ppr, "jc", _AFTER_JC)
        if jc.get(qn("w:val")) not in ("center", "both"):
            jc.set(qn("w:val"), "right")


def _parts(document: Any) -> list[Any]:
    """The XML roots holding the document's paragraphs: body, headers and footers."""
    roots = [document.element.body]
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header,
                     section.first_page_footer, section.even_page_header,
                     section.even_page_footer):
            if not part.is_linked_to_previous:
                roots.append(part._element)
    return roots


def _right_to_left(document: Any) -> None:
    for root in _parts(document):
        for paragraph in root.iter(qn("w:p")):
            # English lines read left to right, under (so at the right of) their wording
            gloss = _style_of(paragraph) in GLOSS_STYLES
            _set_direction(_ppr(paragraph), rtl=not gloss, align_end=gloss)
        for table in root.iter(qn("w:tbl")):
            tblpr = table.find(qn("w:tblPr"))
            if tblpr is not None:
                _child(tblpr, "bidiVisual", _AFTER_BIDI_VISUAL)
    styles = document.styles.element
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:type")) != "paragraph":
            continue
        ppr = style.find(qn("w:pPr"))
        if ppr is None:
            ppr = OxmlElement("w:pPr")
            rpr = style.find(qn("w:rPr"))
            if rpr is not None:
                rpr.addprevious(ppr)
            else:
                style.append(ppr)
        gloss = style.get(qn("w:styleId")) in GLOSS_STYLES
        _set_direction(ppr, rtl=not gloss, align_end=gloss)


def _set_language(document: Any, language: Language) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), language.tag)
    lang.set(qn("w:eastAsia"), language.tag)
    if language.rtl:  # else keep the template's language for Arabic-script names
        lang.set(qn("w:bidi"), language.tag)
    document.core_properties.language = language.tag


def _enlarge(document: Any, factor: float) -> None:
    for style in document.styles.element.iter(qn("w:style")):
        if style.get(qn("w:styleId")) in UNSCALED_STYLES:
            continue
        _scale_sizes(style, factor)
    _scale_sizes(document.styles.element.find(qn("w:docDefaults")), factor)


def _scale_sizes(element: Any, factor: float) -> None:
    for tag in ("w:sz", "w:szCs"):
        for size in element.iter(qn(tag)):
            if size.getparent().tag == qn("w:rPr"):
                size.set(qn("w:val"), str(round(int(size.get(qn("w:val"))) * factor)))


def finish(document: Any, finishing: Finishing) -> None:
    """Finish a rendered python-docx `document` in place."""
    _set_language(document, finishing.language)
    if finishing.language.rtl:
        _right_to_left(document)
    if finishing.large_print:
        _enlarge(document, LARGE_PRINT_FACTOR)
    document.core_properties.title = finishing.title
