"""What can be checked of a PDF's accessibility and archival form without a conformance
checker (veraPDF, the reference one, is a Java program not in the package registries this
project installs from): tags and their kinds, the language, the title, and the PDF/A rules
that matter most (identification in XMP, an output intent, every font embedded, no
encryption, nothing drawn outside the tags)."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf


def structure(pdf: Path) -> list[str]:
    """The structure tree's element kinds in reading order, custom styles resolved."""
    with pikepdf.open(pdf) as document:
        root = document.Root.StructTreeRoot
        role_map = {str(k): str(v) for k, v in root.get("/RoleMap", {}).items()}
        kinds: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, pikepdf.Array):
                for child in node:
                    walk(child)
                return
            if not isinstance(node, pikepdf.Dictionary):
                return
            if "/S" in node:
                kind = str(node.S)
                kinds.append(role_map.get(kind, kind).lstrip("/"))
            if "/K" in node:
                walk(node.K)

        walk(root.K)
        return kinds


def untagged_drawing(pdf: Path) -> list[int]:
    """Pages that draw something outside both the tags and artifacts (a screen reader
    would meet it unannounced): text or XObjects at marked-content depth 0."""
    pages = []
    with pikepdf.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            depth = 0
            for _operands, operator in pikepdf.parse_content_stream(page):
                name = str(operator)
                if name in ("BMC", "BDC"):
                    depth += 1
                elif name == "EMC":
                    depth -= 1
                elif name in ("Tj", "TJ", "Do") and depth == 0:
                    pages.append(number)
                    break
    return pages


def archival_problems(pdf: Path) -> list[str]:
    problems = []
    with pikepdf.open(pdf) as document:
        if document.is_encrypted:
            problems.append("encrypted")
        with document.open_metadata() as xmp:
            if xmp.get("pdfaid:part") != "2":
                problems.append(f"XMP pdfaid:part is {xmp.get('pdfaid:part')!r}, not 2")
            if xmp.get("pdfaid:conformance") not in ("A", "B", "U"):
                problems.append("no PDF/A conformance level in XMP")
        intents = document.Root.get("/OutputIntents", [])
        if not any(str(i.get("/S")) == "/GTS_PDFA1" and "/DestOutputProfile" in i
                   for i in intents):
            problems.append("no PDF/A output intent with a colour profile")
        for page in document.pages:
            for font in page.get("/Resources", {}).get("/Font", {}).values():
                descendants = font.get("/DescendantFonts", [font])
                for item in descendants:
                    descriptor = item.get("/FontDescriptor")
                    if descriptor is None or not any(
                            key in descriptor for key in ("/FontFile", "/FontFile2",
                                                          "/FontFile3")):
                        problems.append(f"font {item.get('/BaseFont')} not embedded")
        if "/JavaScript" in document.Root.get("/Names", {}):
            problems.append("JavaScript")
    if untagged_drawing(pdf):
        problems.append("content outside tags and artifacts")
    return problems


def xmp_text(pdf: Path) -> str:
    with pikepdf.open(pdf) as document:
        return re.sub(r"\s+", " ", str(document.open_metadata()))
