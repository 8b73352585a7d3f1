"""Start-up recovery: leave the output folder as a consistent, finished state.

A watcher killed mid-build (SIGKILL, power cut) can leave: a staging folder, hidden
`.part` temp files, and, in the instant between publishing a version's files and
recording it, version files the registry does not know. Staging and temp files are
deleted. Unrecorded version files are moved aside (never deleted: nothing in output is
destroyed), so that version is rebuilt under the same number and recorded exactly once.
The builder does the same before each version it issues; doing it at start-up as well
lets the watcher say what it found.
"""

from __future__ import annotations

from pathlib import Path

from ..build import build_lock, remove_interrupted_leftovers, set_aside_orphans
from ..config import Config
from ..registry import Registry


def recover_output(config: Config, registry: Registry) -> list[Path]:
    """Clean up after a killed build; returns the unrecorded version files moved aside."""
    output = config.output_dir
    moved: list[Path] = []
    with build_lock(output):
        remove_interrupted_leftovers(output)
        for folder in sorted(output.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                latest = registry.latest_version(folder.name)
                moved += set_aside_orphans(config, folder.name, latest.version if latest else 0)
    return moved
