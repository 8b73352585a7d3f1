"""The Jinja tags of a Word template, where they are, and Word's habit of splitting them.

Word stores a paragraph's text in runs, and after an edit it often cuts a tag such as
`{{ t.goals_heading }}` into several runs (a spelling mark, a change of formatting, an
editing session's id). docxtpl joins the pieces again, giving the whole tag the first
piece's formatting, so a split tag usually still works; `template check` names each one
and `--fix` joins them in the file. A tag that starts in one paragraph and ends in another
does not work at all.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
OPENERS = re.compile(r"\{\{|\{%|\{#")
CLOSERS = re.compile(r"\}\}|%\}|#\}")
EXCERPT = 60


@dataclass(frozen=True)
class Tag:
    text: str  # the whole tag as a reader sees it, "{%p if areas %}"
    where: str  # "paragraph 12 ("Your goals")", "table 2, row 3, cell 1 (...)"
    pieces: int  # how many runs of text it is spread over
    part: str  # the part of the .docx it is in: word/document.xml, word/footer1.xml


@dataclass(frozen=True)
class Broken:
    """Text that opens a tag and does not close it (or closes one never opened)."""

    where: str
    text: str


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def template_parts(files: dict[str, bytes]) -> list[str]:
    """The parts docxtpl renders: the body, then headers and footers."""
    names = sorted(name for name in files if re.fullmatch(r"word/(header|footer)\d*\.xml", name))
    return ["word/document.xml", *names]


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _paragraphs(root: Any, part: str) -> Iterator[tuple[Any, str]]:
    """Each paragraph with where it is, in document order."""
    label = {"word/document.xml": ""}.get(part, re.sub(r"word/|\d*\.xml", "", part) + ", ")
    body = root.find(f"{W}body")
    container = body if body is not None else root

    def walk(element: Any, prefix: str) -> Iterator[tuple[Any, str]]:
        paragraph = table = 0
        for child in element:
            if child.tag == f"{W}p":
                paragraph += 1
                # in a table cell the cell says where; its text says which paragraph
                yield child, prefix if prefix.startswith(("table", "header, table",
                                                          "footer, table")) \
                    else f"{prefix}paragraph {paragraph}"
            elif child.tag == f"{W}tbl":
                table += 1
                for r, row in enumerate(child.findall(f"{W}tr"), start=1):
                    for c, cell in enumerate(row.findall(f"{W}tc"), start=1):
                        yield from walk(cell, f"{prefix}table {table}, row {r}, cell {c}, ")
            elif child.tag == f"{W}sdt":  # content controls keep their paragraphs inside
                content = child.find(f"{W}sdtContent")
                if content is not None:
                    yield from walk(content, prefix)

    for paragraph, where in walk(container, label):
        yield paragraph, where.removesuffix(", ")


def _texts(paragraph: Any) -> list[Any]:
    return [t for t in paragraph.iter(f"{W}t")]


def scan(files: dict[str, bytes]) -> tuple[list[Tag], list[Broken]]:
    """Every tag of every rendered part, in order, and every unclosed one."""
    tags: list[Tag] = []
    broken: list[Broken] = []
    for part in template_parts(files):
        if part not in files:
            continue
        root = etree.fromstring(files[part])
        for paragraph, where in _paragraphs(root, part):
            texts = _texts(paragraph)
            owner = [index for index, t in enumerate(texts) for _ in (t.text or "")]
            text = "".join(t.text or "" for t in texts)
            located = f"{where} (“{_excerpt(text)}”)"
            for match in TAG.finditer(text):
                pieces = len(set(owner[match.start():match.end()]))
                tags.append(Tag(match.group(), located, pieces, part))
            rest = TAG.sub("", text)
            if OPENERS.search(rest) or CLOSERS.search(rest):
                broken.append(Broken(located, rest.strip()))
    return tags, broken


def join_split_tags(path: Path, target: Path) -> int:
    """Write `path` to `target` with every split tag put back in one run (the first piece's,
    as docxtpl would render it). Returns how many tags were joined."""
    files = parts_of(path)
    joined = 0
    for part in template_parts(files):
        if part not in files:
            continue
        root = etree.fromstring(files[part])
        for paragraph, _where in _paragraphs(root, part):
            texts = _texts(paragraph)
            owner = [(index, offset) for index, t in enumerate(texts)
                     for offset in range(len(t.text or ""))]
            text = "".join(t.text or "" for t in texts)
            for match in reversed(list(TAG.finditer(text))):
                (first, start), (last, end) = owner[match.start()], owner[match.end() - 1]
                if first == last:
                    continue
                head, tail = texts[first], texts[last]
                tail.text = (tail.text or "")[end + 1:]
                for between in texts[first + 1:last]:
                    between.text = ""
                head.text = (head.text or "")[:start] + match.group()
                for element in (head, tail):
                    element.set(XML_SPACE, "preserve")
                joined += 1
        files[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                     standalone=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w",
                                                          zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, files[info.filename])
    target.write_bytes(buffer.getvalue())
    return joined
