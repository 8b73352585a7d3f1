"""`supportplan template check`: what an edit in Word broke, named where it is.

Checked, in a template (the plan's or the review pack's):

* tags Word split across runs (they still render, in the first piece's formatting; `--fix`
  joins them) and tags opened in one paragraph and closed in another (they never work);
* Jinja syntax, tag by tag, then the blocks ({% for %} ... {% endfor %}) as a whole;
* every name a tag uses: unknown variables (a typo such as `houshold_name`) and values the
  workbook cannot supply (`household.date_of_birth`, `t.goal_heading`), against what the
  code really gives a template (template_schema.py);
* the marks the scan reader needs (the tick box glyph, the signature box mark);

and in the catalogues, per language: strings missing or translated from older English
(English is shown there), and machine-assisted strings awaiting a translator's review.

`build` and `review` run the same check once per change of the template or catalogues
(`check_before_use`) and refuse a template with errors, naming them, instead of failing
household by household.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

from ..config import Config
from ..printed import SIGNATURE_MARK, TICK_GLYPH
from ..wording.catalogue import CatalogueError, Catalogues, LanguageReport, report
from .context import TemplateError
from .kinds import PLAN, REVIEW
from .template_schema import Shape, context_shape
from .template_tags import Tag, parts_of, scan

__all__ = ["PLAN", "REVIEW", "CheckResult", "Problem", "check_before_use", "check_template"]

DOCXTPL_PREFIXES = ("p ", "tr ", "tc ", "r ")
OPENING = {"for": "endfor", "if": "endif", "with": "endwith", "macro": "endmacro",
           "call": "endcall", "filter": "endfilter", "block": "endblock"}
WORDING = {"t": "t", "en": "en", "both": "both"}
ANY = Shape(leaf=True)  # a value whose fields are not known: a string, a filter's result
SPLIT_FIX = ("select the whole tag in Word and type it again in one go (or run `supportplan "
             "template check --fix`)")


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    fix: str = ""
    error: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" + (f"; {self.fix}" if self.fix else "")


@dataclass
class CheckResult:
    template: Path
    kind: str
    problems: list[Problem] = field(default_factory=list)
    languages: list[LanguageReport] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.error]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def notices(self) -> list[str]:
        """What a build says once, without stopping."""
        return [f"{self.template.name}, {p}" if not p.where.endswith(".po") else str(p)
                for p in self.warnings]


def _jinja_source(tag: str) -> str:
    """A tag as Jinja reads it once docxtpl has taken its paragraph or row away."""
    inner = tag[2:-2]
    for prefix in DOCXTPL_PREFIXES:
        if inner.startswith(prefix):
            inner = " " + inner[len(prefix):]
            break
    for curly, straight in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        inner = inner.replace(curly, straight)  # docxtpl straightens Word's quotes too
    return tag[:2] + inner + tag[-2:]


def _keyword(source: str) -> str:
    words = source[2:-2].strip(" -+").split()
    return words[0] if words else ""


def _syntax(env: Environment, tags: list[Tag], sources: list[str]) -> list[Problem]:
    """Each tag on its own, then the blocks as a whole."""
    problems = []
    for tag, source in zip(tags, sources, strict=True):
        if source.startswith("{#"):
            continue
        keyword = _keyword(source)
        trial = source
        if source.startswith("{%"):
            if keyword in OPENING:
                trial = source + "{% " + OPENING[keyword] + " %}"
            elif keyword in ("elif", "else"):
                trial = "{% if x %}" + source + "{% endif %}"
            elif keyword.startswith("end"):
                continue
        try:
            env.parse(trial)
        except TemplateSyntaxError as exc:
            problems.append(Problem(tag.where, f"{tag.text} is not a valid tag ({exc.message})",
                                    "correct it, or copy it from a fresh template "
                                    "(`python -m pipeline.render.template_builder`)"))
    if problems:
        return problems
    stack: list[tuple[str, Tag]] = []
    for tag, source in zip(tags, sources, strict=True):
        keyword = _keyword(source) if source.startswith("{%") else ""
        if keyword in OPENING:
            stack.append((keyword, tag))
        elif keyword.startswith("end") and keyword[3:] in OPENING:
            if not stack or stack[-1][0] != keyword[3:]:
                problems.append(Problem(tag.where, f"{tag.text} closes a block that is not "
                                        "open here", "remove it, or add the tag that opens "
                                        f"its block ({{% {keyword[3:]} ... %}}) before it"))
                return problems
            stack.pop()
    for keyword, tag in stack:
        problems.append(Problem(tag.where, f"{tag.text} is never closed",
                                f"add {{%{'tr' if '{%tr' in tag.text else 'p'} "
                                f"{OPENING[keyword]} %}} where its block ends"))
    return problems


class _Names:
    """Walks a parsed template, checking each name against what the code supplies."""

    def __init__(self, root: Shape, tags: list[Tag], kind: str) -> None:
        self.root, self.tags, self.kind = root, tags, kind
        self.problems: list[Problem] = []
        self._seen: set[tuple[str, str]] = set()

    def _where(self, node: nodes.Node) -> str:
        return self.tags[min(max(node.lineno - 1, 0), len(self.tags) - 1)].where

    def _report(self, node: nodes.Node, message: str, fix: str) -> None:
        where = self._where(node)
        if (where, message) not in self._seen:
            self._seen.add((where, message))
            self.problems.append(Problem(where, message, fix))

    def _suggest(self, wrong: str, candidates: list[str]) -> str:
        normal = {c.replace(".", "_").casefold(): c for c in candidates}
        close = difflib.get_close_matches(wrong.replace(".", "_").casefold(), list(normal),
                                          n=1, cutoff=0.75)
        return f"did you mean {normal[close[0]]}?" if close else ""

    def value(self, node: nodes.Node, scope: dict[str, tuple[Shape, str]]) -> tuple[Shape, str]:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name in self.root.fields:
                return self.root.fields[node.name], node.name
            if node.name not in ("range", "dict", "lipsum", "cycler", "joiner", "namespace",
                                 "loop"):
                self._report(node, f"{node.name} is not a value the {self.kind} gets (a typo?)",
                             self._suggest(node.name, self.root.paths()) or "templates can use "
                             + ", ".join(sorted(self.root.fields)))
            return ANY, node.name
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            base, path = self.value(node.node, scope)
            if isinstance(node, nodes.Getitem):
                self.visit(node.arg, scope)
                if not isinstance(node.arg, nodes.Const) or not isinstance(node.arg.value, str):
                    return ANY, path
                attr = node.arg.value
            else:
                attr = node.attr
            name = f"{path}.{attr}"
            if base is ANY or base.leaf or attr in base.fields:
                return (base.fields.get(attr, ANY) if base is not ANY else ANY), name
            root = path.split(".")[0]
            what = ("is not in the catalogue of fixed wording" if root in WORDING
                    else "is not something the workbook or the settings supply")
            self._report(node, f"{name} {what}",
                         self._suggest(attr, list(base.fields)).replace("mean ",
                                                                        f"mean {path}.")
                         or f"{path} has " + ", ".join(sorted(base.fields)))
            return ANY, name
        self.visit(node, scope)
        return ANY, ""

    def visit(self, node: nodes.Node, scope: dict[str, tuple[Shape, str]]) -> None:
        if isinstance(node, nodes.For):
            shape, path = self.value(node.iter, scope)
            inner = dict(scope)
            item = shape.item if shape is not ANY and shape.item is not None else ANY
            for target in node.target.find_all(nodes.Name) if not isinstance(
                    node.target, nodes.Name) else [node.target]:
                inner[target.name] = (item if isinstance(node.target, nodes.Name) else ANY,
                                      target.name)
            inner["loop"] = (ANY, "loop")
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, nodes.Assign):
            self.visit(node.node, scope)
            for target in node.target.find_all(nodes.Name):
                scope[target.name] = (ANY, target.name)
            return
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self.value(node, scope)
            return
        for child in node.iter_child_nodes():
            self.visit(child, scope)


def _check_part(tags: list[Tag], kind: str, env: Environment) -> list[Problem]:
    sources = [_jinja_source(tag.text.replace("\n", " ")) for tag in tags]
    problems = _syntax(env, tags, sources)
    if problems or not tags:
        return problems
    tree = env.parse("\n".join(sources))  # one tag per line: a node's line is its tag
    names = _Names(context_shape(kind), tags, kind)
    names.visit(tree, {})
    return names.problems


def check_template(path: Path, kind: str = PLAN,
                   catalogues: Catalogues | None = None) -> CheckResult:
    """Check a template of `kind` (PLAN or REVIEW) and the catalogues."""
    result = CheckResult(path, kind)
    try:
        files = parts_of(path)
    except (OSError, ValueError) as exc:  # zipfile.BadZipFile is a ValueError
        result.problems.append(Problem(str(path), f"cannot be opened as a Word file ({exc})",
                                       "save it from Word as .docx, or run `supportplan init` "
                                       "for a fresh one"))
        return result
    tags, broken = scan(files)
    for item in broken:
        result.problems.append(Problem(item.where, f"a tag is not complete in this paragraph "
                                       f"(“{item.text[:40]}”)", "a tag must start and end in "
                                       "the same paragraph: put it back on one line"))
    for tag in tags:
        if tag.pieces > 1:
            result.problems.append(Problem(tag.where, f"the tag {tag.text} is split into "
                                           f"{tag.pieces} pieces of text (Word does this after "
                                           "an edit; it is rendered in its first piece's "
                                           "formatting)", SPLIT_FIX, error=False))
    env = Environment()
    for part in dict.fromkeys(tag.part for tag in tags):
        result.problems += _check_part([t for t in tags if t.part == part], kind, env)
    body = files.get("word/document.xml", b"").decode("utf-8", "replace")
    for glyph, what in ((TICK_GLYPH, "the tick box ☐ of each open step"),
                        (SIGNATURE_MARK, "the mark ✍ in each signature box")):
        if glyph not in body:
            result.problems.append(Problem(str(path.name), f"{what} is missing, so signed "
                                           "paper could not be read back", "copy that part "
                                           "from a fresh template"))
    result.problems += _catalogue_problems(catalogues or Catalogues(), result)
    return result


def _catalogue_problems(catalogues: Catalogues, result: CheckResult) -> list[Problem]:
    problems = []
    try:
        for code in catalogues.languages():
            language = report(catalogues, code)
            result.languages.append(language)
            for keys, what in ((language.missing, "not translated"),
                               (language.outdated, "translated from English that has since "
                                                   "changed"),
                               (language.broken, "translated without the same {placeholders}")):
                if keys:
                    problems.append(Problem(
                        f"{code}.po", f"{len(keys)} string(s) {what}, shown in English: "
                        + ", ".join(keys), "translate them in translations/"
                        f"{code}.po (Poedit or a text editor)", error=False))
    except CatalogueError as exc:
        problems.append(Problem("translations", str(exc)))
    return problems


# -- once per change, for build and review ----------------------------------------------------
_checked: dict[tuple[Any, ...], CheckResult] = {}


def _fingerprint(template: Path, kind: str, catalogues: Catalogues) -> tuple[Any, ...]:
    stat = template.stat()
    files = sorted(p for folder in (catalogues.folder,) if folder for p in folder.glob("*.po"))
    digest = hashlib.sha256(repr([(str(p), p.stat().st_mtime_ns, p.stat().st_size)
                                  for p in files]).encode()).hexdigest()
    return (str(template.resolve()), stat.st_mtime_ns, stat.st_size, kind, digest)


def check_before_use(template: Path, kind: str, config: Config) -> CheckResult:
    """The check, run once per change of the template or the catalogues; raises
    TemplateError when the template has errors, naming each."""
    catalogues = Catalogues(config.path("translations"))
    if not template.is_file():
        return CheckResult(template, kind)  # render_docx says what to do about that
    key = _fingerprint(template, kind, catalogues)
    result = _checked.get(key)
    if result is None:
        result = _checked[key] = check_template(template, kind, catalogues)
    if result.errors:
        lines = "\n".join(f"  {problem}" for problem in result.errors)
        raise TemplateError(f"{template}: the template has {len(result.errors)} problem(s), "
                            f"so nothing was made from it:\n{lines}\nFix them in Word, then "
                            "run `supportplan template check` to confirm.")
    return result
