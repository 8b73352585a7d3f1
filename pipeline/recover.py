"""Finish what a killed build left, and refuse to build over files the registry never saw.

A version is recorded as "publishing" before its files are linked into `output/<ref>/` and
marked "issued" once they are all there, in one transaction with its event. A build killed
(SIGKILL, power cut) at any moment therefore leaves one of:

- staging folders and hidden `.part` files: deleted;
- LibreOffice still converting for it, with its profile folder: stopped and deleted;
- a "publishing" version with none, some or all of its files: the files are moved aside
  to `output/.interrupted/<ref>/` (never deleted: nothing in output is destroyed) and the
  record is dropped, so the next build issues that version number again, cleanly and once.
  Nobody was told about it: no event, report or reconcile ever sees an unissued version.

Plan files with no record at all cannot come from a killed build; they mean the registry
was replaced or restored from an older backup, and building over them would give a new
plan the number of one a family may already have signed. Those are refused with the fix.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from .config import Config
from .errors import RegistryUnavailable
from .intake.problems import ERROR, Problem
from .outputs import (
    ORPHANS,
    PLAN_FILE,
    build_lock,
    converter_profiles,
    plan_folder,
    remove_interrupted_leftovers,
    shared_by_machines,
)
from .registry import Registry
from .render.soffice import reap_abandoned

log = logging.getLogger(__name__)

def recover_output(config: Config, registry: Registry) -> list[Path]:
    """Clean up after a killed build; returns the files of unissued versions moved aside."""
    with build_lock(config.output_dir):
        return recover_locked(config, registry)


def recover_locked(config: Config, registry: Registry) -> list[Path]:
    """`recover_output` for a caller already holding the build lock."""
    reap_abandoned(converter_profiles(config))  # first: it may still be writing to staging
    remove_interrupted_leftovers(config.output_dir, shared=shared_by_machines(config))
    moved: list[Path] = []
    for pending in registry.pending_versions():
        with registry.abandoned(pending.id) as abandoned:
            if not abandoned:  # another machine is publishing it right now, or just did
                continue
            for name in (pending.docx_path, pending.pdf_path):
                if name and Path(name).exists():
                    moved.append(set_aside(config, pending.household, Path(name)))
            with registry.engine.begin() as conn:
                registry.discard_version(conn, pending.id)
        log.warning("%s: version %d was being published when a build stopped; its files "
                    "were set aside and it will be issued again", pending.household,
                    pending.version)
    return moved


def set_aside(config: Config, reference: str, path: Path) -> Path:
    target = config.output_dir / ORPHANS / reference / f"{uuid.uuid4().hex[:8]}-{path.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)
    return target


def unrecorded_plan_files(config: Config, reference: str, issued: int) -> list[Path]:
    """Plan files for versions after the last one the registry issued."""
    folder = plan_folder(config, reference)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir()
                  if (m := PLAN_FILE.match(path.name)) and m["ref"] == reference
                  and int(m["n"]) > issued)


def unrecorded_problem(config: Config, registry: Registry, reference: str,
                       recorded: int) -> Problem | None:
    """Why a new version of `reference` is refused, if output/<ref>/ holds plan files after
    version `recorded` (the newest the build knew of) that the registry has no record of.
    Another machine records a version before its files appear, so files of a version it
    recorded since the build asked are no strangers: the registry is asked again before
    refusing (only then: it is rare)."""
    unrecorded = unrecorded_plan_files(config, reference, recorded)
    if unrecorded:
        unrecorded = unrecorded_plan_files(
            config, reference, max(recorded, registry.highest_recorded_version(reference)))
    if not unrecorded:
        return None
    return Problem(
        ERROR, "", "", f"output/{reference} already holds "
        f"{', '.join(path.name for path in unrecorded)}, which the registry has no "
        "record of (was the registry replaced or restored from an older backup?)",
        "restore the registry from your latest backup; if those files were never "
        "printed or sent, move them out of the folder and save the workbook again")


def check_registry_matches_output(config: Config, registry: Registry) -> None:
    """Refuse to build with an empty registry beside an output folder full of plans: the
    registry was lost, replaced or pointed elsewhere, and every plan would restart at v1."""
    if registry.issued_plan_count() > 0 or not config.output_dir.is_dir():
        return
    found = [path for folder in config.output_dir.iterdir()
             if folder.is_dir() and not folder.name.startswith(".")
             for path in folder.iterdir() if PLAN_FILE.match(path.name)]
    if found:
        where = registry.engine.url.render_as_string(hide_password=True)
        raise RegistryUnavailable(
            f"the registry ({where}) has no plans, but {config.output_dir} holds "
            f"{len(found)} plan file{'s' if len(found) != 1 else ''} (for example "
            f"{found[0].name}): the registry was "
            "probably replaced, lost or pointed somewhere new in config.toml [registry]. "
            "Restore it from your backup (see README, \"Backups\") and build again; without "
            "a backup, `supportplan registry rebuild` recovers the plans from their files; "
            "to start afresh on purpose, move the output folder aside first")
