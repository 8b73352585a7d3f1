"""The Word template without what no plan uses, read once per template.

A template made from Word's (or python-docx's) default document carries ~190 styles, of
which a plan uses ~35, and a second copy of them for Word 2010 (stylesWithEffects.xml):
800 KB of XML that every plan parsed, saved and compressed twice, and that LibreOffice read
for every conversion (a third of its time per plan). The styles a plan can use are those
its parts name, the defaults, and the styles those are based on, followed by or linked to;
the plan prints the same with only those (checked page by page, pixel for pixel, when this
was written). Word still offers its built-in styles in the editable copy.

A template whose style names are themselves filled in by Jinja (`w:val="{{ … }}"`) is kept
whole: which styles it uses is not known before rendering.
"""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_STYLES = "word/styles.xml"
# Parts no plan needs: Word 2010's copy of the styles (Word rebuilds it), and the picture
# of the template's first page that file browsers show (the template's, not the plan's).
_DROPPED = {"word/stylesWithEffects.xml": "stylesWithEffects",
            "docProps/thumbnail.jpeg": "thumbnail"}
_STYLE_REFERENCE = re.compile(rb'<w:(?:pStyle|rStyle|tblStyle|numStyle) w:val="([^"]*)"')
_FOLLOWED = ("basedOn", "next", "link")


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def _used_styles(parts: dict[str, bytes]) -> set[str] | None:
    """Style ids the parts other than the styles name, or None if one is a Jinja tag."""
    named: set[str] = set()
    for name, data in parts.items():
        if name.startswith("word/") and name.endswith(".xml") and name != _STYLES \
                and name not in _DROPPED:
            named.update(value.decode() for value in _STYLE_REFERENCE.findall(data))
    return None if any("{" in name for name in named) else named


def _slim_styles(xml: bytes, used: set[str]) -> bytes:
    root = etree.fromstring(xml)
    styles = {style.get(_w("styleId")): style for style in root.iter(_w("style"))}
    todo = [*used, *(key for key, style in styles.items() if style.get(_w("default")) == "1")]
    kept: set[str] = set()
    while todo:
        key = todo.pop()
        if key in kept or key not in styles:
            continue
        kept.add(key)
        for tag in _FOLLOWED:
            if (follows := styles[key].find(_w(tag))) is not None:
                todo.append(follows.get(_w("val")))
    for key, style in styles.items():
        if key not in kept:
            style.getparent().remove(style)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _without(xml: bytes, element: bytes, marker: str) -> bytes:
    """`xml` without its `element`s (Relationship, Override) that mention `marker`."""
    return re.sub(rb"<" + element + rb"\b[^>]*" + re.escape(marker.encode()) + rb"[^>]*/>",
                  b"", xml)


def slim_template(data: bytes) -> bytes:
    """The template `data` (a .docx) without styles and parts no plan uses; a template
    that cannot be read is returned as it is, for rendering to say what is wrong."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            parts = {info.filename: source.read(info) for info in source.infolist()}
        used = _used_styles(parts)
        if _STYLES in parts and used is not None:
            parts[_STYLES] = _slim_styles(parts[_STYLES], used)
    except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, ValueError):
        return data
    for name, marker in _DROPPED.items():
        if parts.pop(name, None) is not None:
            for rels in ("_rels/.rels", "word/_rels/document.xml.rels"):
                if rels in parts:
                    parts[rels] = _without(parts[rels], b"Relationship", marker)
            if "[Content_Types].xml" in parts:
                parts["[Content_Types].xml"] = _without(parts["[Content_Types].xml"],
                                                        b"Override", marker)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, part in parts.items():
            target.writestr(name, part)
    return buffer.getvalue()
