"""The errors a person can act on, each with the exit status scripts see.

Every error that reaches the command line is a `SupportplanError`: its message says what
happened in the user's words and what to do; its `exit_code` tells a script which kind of
problem it was (the table is in README.md). The CLI catches them in one place; anything
else is a bug, reported as such (exit status 70) with the details in the debug log.
"""

from __future__ import annotations

import shutil
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    INPUT_NEEDS_FIXING = 1  # done, but some workbooks or scans need fixing (see reports)
    USAGE = 2  # the command line itself is wrong (click's own)
    SETTINGS = 3  # config.toml, the workspace, its permissions
    LIBREOFFICE = 4  # LibreOffice missing, or failing for every document
    TEMPLATE = 5  # the Word template is broken
    REGISTRY = 6  # the registry cannot be used: locked, damaged, lost, or not upgraded
    EMAIL_NOT_SENT = 7  # the report was made but an e-mail waits in the outbox
    SECRET = 8  # the workspace's page-code secret is missing or damaged
    DISK = 9  # the disk is full or not writable
    BUG = 70  # unexpected: a bug (EX_SOFTWARE)


class SupportplanError(Exception):
    """An error with a message for people and an exit status for scripts."""

    exit_code: ExitCode = ExitCode.INPUT_NEEDS_FIXING


class SettingsError(SupportplanError):
    exit_code = ExitCode.SETTINGS


class RegistryUnavailable(SupportplanError):
    """The registry cannot be opened or written: locked too long, damaged, or lost."""

    exit_code = ExitCode.REGISTRY


class DiskFull(SupportplanError):
    exit_code = ExitCode.DISK

    @classmethod
    def at(cls, where: Path) -> DiskFull:
        free = shutil.disk_usage(where).free if where.exists() else 0
        return cls(f"the disk holding {where} is full ({free / 1e6:.1f} MB free): nothing "
                   "half-written was kept; free some space and run the command again (the "
                   "watcher tries again by itself)")


# Less free space than this where a plan is converted means the disk is what failed.
NEARLY_FULL_BYTES = 20_000_000


def disk_full(error: BaseException) -> bool:
    """Whether `error` (or what caused it) means no space left, however it was worded."""
    seen = 0
    while error is not None and seen < 10:
        text = str(error).lower()
        if getattr(error, "errno", None) in (28, 122) or "disk is full" in text \
                or "no space left" in text or "disk full" in text:
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        seen += 1
    return False
