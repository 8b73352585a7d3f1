"""The text of one recipient's e-mail: why they receive it, a line per caseworker, then a
line per finding (household reference, what is late, by how long, who holds it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from ..finding_kinds import HOUSEHOLD, kind_of
from .routing import Parcel
from .summary import caseworker_summaries, finding_line, ordered

# A long list belongs in the attached workbook: the e-mail shows this many detail lines.
DETAIL_LINES = 150


def message_body(parcel: Parcel, as_of: date, attachments: Sequence[Path]) -> str:
    findings = parcel.findings
    own = parcel.caseworker_only
    lines = [f"{'Your support plan list' if own else 'Support plan findings'} as of "
             f"{as_of:%d/%m/%Y}.", "", "Why you receive this:"]
    lines += [f"  - {reason}" for reason in parcel.reasons]
    lines += ["", "Summary by caseworker:"]
    lines += [f"  {caseworker}: {summary}" for caseworker, summary
              in caseworker_summaries(findings)]
    ours = [f for f in findings if kind_of(f.kind).holder != HOUSEHOLD]
    theirs = [f for f in findings if kind_of(f.kind).holder == HOUSEHOLD]
    shown = 0
    for heading, group in (("What we need to do", ours),
                           ("Steps the household holds, to raise at the next conversation "
                            "(never escalated past the team lead)", theirs)):
        if not group:
            continue
        lines += ["", f"{heading}:"]
        caseworker = None
        for item in ordered(group):
            if shown >= DETAIL_LINES:
                break
            if item.caseworker != caseworker and not own:
                caseworker = item.caseworker
                lines.append(f"  {caseworker}")
            lines.append(f"    {finding_line(item)}")
            shown += 1
    if shown < len(findings):
        lines += ["", f"… and {len(findings) - shown} more in the attached workbook."]
    lines += ["", "Attached: " + ", ".join(p.name for p in attachments) + ".",
              "The Excel file has a sheet per kind of finding, with filters (Holder: us, "
              "household, both) and a link to each plan.",
              "", "This message contains personal data: do not forward it outside the team."]
    return "\n".join(lines) + "\n"
