"""Render a household into the Word template with docxtpl.

Autoescape is always on: whatever a caseworker typed (`{{ x }}`, `<b>`, `&`) appears
literally. The template is read once per process and re-opened from memory per plan.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment, Template

from .context import TemplateError
from .finishing import Finishing, finish
from .slim import slim_template

WORD_COPY_CODE_MM = 14.0


class _CompiledOnce(Environment):
    """Compiles each part of the template once per process instead of once per plan:
    compiling was half of a plan's render time, and a batch renders every plan twice."""

    _KEEP = 64  # parts of a few templates (plan, review pack), edited now and then

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source: Any, globals: Any = None,  # noqa: A002 (jinja's name)
                    template_class: Any = None) -> Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            if len(self._compiled) >= self._KEEP:
                self._compiled.clear()
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


_JINJA = _CompiledOnce()


@lru_cache(maxsize=32)
def _patched(src_xml: str) -> str:
    return DocxTemplate.patch_xml(None, src_xml)  # type: ignore[arg-type]  # uses no state


class _Template(DocxTemplate):
    """docxtpl's clean-up of the template's XML before Jinja sees it (dozens of regular
    expressions over every part) done once per template, not once per plan: the same
    template always gives the same result.

    Also renders the body once for both DOCX files of a plan: they differ only where the
    template says `word_copy` (the shipped template: in its header), so a body that never
    mentions it is rendered for the first file (`rendered_body`) and given as it is to the
    second (`reused_body`). That was a third of the second file's time."""

    reused_body: str | None = None
    rendered_body: str | None = None

    def patch_xml(self, src_xml: str) -> str:
        return _patched(src_xml)

    def build_xml(self, context: dict[str, Any], jinja_env: Environment | None = None) -> str:
        if self.reused_body is not None:
            return self.reused_body
        source = self.patch_xml(self.get_xml())
        xml = self.render_xml_part(source, self.docx._part, context, jinja_env)
        self.rendered_body = None if "word_copy" in source else xml
        return xml


@lru_cache(maxsize=4)
def _template_bytes(path: Path, mtime_ns: int) -> bytes:
    return slim_template(path.read_bytes())


def render_docx(template: Path, context: dict[str, Any], target: Path, *,
                finishing: Finishing | None = None, word_copy: bool = False,
                word_copy_code: bytes | None = None, body: str | None = None) -> str | None:
    """Render `context` into `template`, saving the DOCX at `target`, finished for its
    reader (language, direction, print size, title: finishing.py). `word_copy`: the
    editable Word file people receive, whose header says to print the PDF to sign and
    carries `word_copy_code` (a PNG page code saying "printed from the Word file").

    Returns the rendered body when it does not depend on `word_copy`: given back as `body`
    with the same template and context, the other file of the plan skips rendering it."""
    try:
        data = _template_bytes(template, template.stat().st_mtime_ns)
    except OSError as exc:
        raise TemplateError(f"{template}: the Word template cannot be read ({exc.strerror}). "
                            "Check [paths] template in config.toml, or run `supportplan "
                            "init` to get a fresh one.") from exc
    document = _Template(io.BytesIO(data))
    document.reused_body = body
    context = {**context, "word_copy": word_copy or word_copy_code is not None,
               "word_copy_code": InlineImage(document, io.BytesIO(word_copy_code),
                                             width=Mm(WORD_COPY_CODE_MM))
               if word_copy_code is not None else ""}
    try:
        document.render(context, jinja_env=_JINJA, autoescape=True)
    except Exception as exc:  # docxtpl/jinja2 raise many types for a broken template
        raise TemplateError(f"{template}: the Word template could not be filled in ({exc}). "
                            "If it was edited in Word, check the {{ }} and {% %} tags are "
                            "intact.") from exc
    if finishing is not None:
        finish(document.docx, finishing)
    # Zipped in memory, then written: a disk that fills up fails the write with a plain
    # error, instead of leaving a half-closed zip whose clean-up complains on stderr.
    buffer = io.BytesIO()
    document.save(buffer)
    target.write_bytes(buffer.getvalue())
    return document.rendered_body
