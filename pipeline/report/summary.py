"""How findings read, for the e-mail and the digest: a line per caseworker, a line per finding.

Wording comes from the kinds (finding_kinds.py); nothing here knows a kind by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..finding_kinds import ALL_KINDS, HOUSEHOLD, US, kind_of
from ..overdue import Finding

HOLDER_WORDS = {US: "held by us", HOUSEHOLD: "held by the household",
                "both": "held by us and the household"}


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def caseworker_summaries(findings: Iterable[Finding]) -> list[tuple[str, str]]:
    """(caseworker, "3 households; 2 plans waiting for signatures; …") in name order, the
    kinds in report order (safety first)."""
    households: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in findings:
        households[item.caseworker].add(item.reference)
        counts[item.caseworker][item.kind] += 1
    lines = []
    for caseworker in sorted(households, key=str.casefold):
        number = len(households[caseworker])
        parts = [f"{number} household{'s' if number != 1 else ''}"]
        parts += [kind.count_text(counts[caseworker][kind.name]) for kind in ALL_KINDS
                  if counts[caseworker][kind.name]]
        lines.append((caseworker, "; ".join(parts)))
    return lines


def what_is_late(finding: Finding, limit: int = 60) -> str:
    """The step's own words (shortened), else the finding's short description (no names),
    else its detail."""
    text = finding.step or finding.short or finding.detail
    for prefix in ("We will: ", "You will: "):  # the holder says whose it is
        text = text.replace(prefix, "")
    return shorten(text.replace("\n", " / "), limit)


def how_long(finding: Finding) -> str:
    days = finding.days_overdue
    if kind_of(finding.kind).upcoming:
        return "due today" if days == 0 else f"due in {-days} day{'s' if days != -1 else ''}"
    if days <= 0:
        return "due today" if days == 0 else "not yet late"
    return f"{days} day{'s' if days != 1 else ''} late"


def finding_line(finding: Finding) -> str:
    """"HH-1006 · Step overdue: Refer to the housing register · 93 days late · held by us"."""
    line = (f"{finding.reference} · {finding.kind}: {what_is_late(finding)} · "
            f"{how_long(finding)} · {HOLDER_WORDS.get(finding.holder, finding.holder)}")
    if finding.escalation:
        line += f" · for the {finding.escalation.lower()}"
    return line


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Caseworker, then household, then kind order, most late first."""
    order = {kind.name: index for index, kind in enumerate(ALL_KINDS)}
    return sorted(findings, key=lambda f: (f.caseworker.casefold(), f.reference,
                                           order[f.kind], -f.days_overdue))
