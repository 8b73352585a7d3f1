"""Start-up recovery: leave the output folder as a consistent, finished state.

A watcher killed mid-build (SIGKILL, power cut) can leave: a staging folder, hidden
`.part` temp files, and, in the instant between publishing a version's files and
recording it, version files the registry does not know. Staging and temp files are
deleted. Unrecorded version files are moved aside to output/.recovered/ (never deleted:
nothing in output is destroyed), so the catch-up scan rebuilds that version under the
same number and it is recorded exactly once.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

from ..build import STAGING
from ..files import remove_stale_temporaries
from ..registry import Registry

RECOVERED = ".recovered"
_VERSION_FILE = re.compile(r"^support-plan-(?P<ref>.+)-v(?P<n>\d+)\.(docx|pdf)$")


def recover_output(output: Path, registry: Registry) -> list[Path]:
    """Clean up after a killed build; returns the unrecorded version files moved aside."""
    shutil.rmtree(output / STAGING, ignore_errors=True)
    remove_stale_temporaries(output)
    moved: list[Path] = []
    if not output.is_dir():
        return moved
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    for folder in sorted(output.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        reference = folder.name
        versions = {int(m["n"]) for p in folder.iterdir()
                    if (m := _VERSION_FILE.match(p.name)) and m["ref"] == reference}
        if not versions:
            continue
        latest = registry.latest_version(reference)
        recorded = latest.version if latest else 0
        # Only the version right after the last recorded one can be a killed publish;
        # anything else unrecorded is someone else's business and is left alone.
        orphan = recorded + 1
        if orphan not in versions or max(versions) != orphan:
            continue
        for suffix in ("docx", "pdf"):
            stray = folder / f"support-plan-{reference}-v{orphan}.{suffix}"
            if stray.exists():
                target = output / RECOVERED / stamp / reference / stray.name
                target.parent.mkdir(parents=True, exist_ok=True)
                stray.rename(target)
                moved.append(target)
    return moved
