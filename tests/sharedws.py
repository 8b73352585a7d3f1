"""Workspaces as several machines have them: each its own folder (config.toml, secret,
LibreOffice profiles), all sharing one intake and output folder and one registry."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.pagecodes import SECRET_FILENAME, load_secret
from pipeline.workspace import init_workspace


def shared_workspaces(root: Path, url: str, count: int = 2, *,
                      share_intake: bool = True) -> list[Config]:
    """`count` workspaces under `root`, sharing `root/shared/output` (and intake, unless
    told not to) and the registry at `url`."""
    shared = root / "shared"
    (shared / "output").mkdir(parents=True, exist_ok=True)
    configs = []
    for number in range(1, count + 1):
        folder = root / f"machine-{number}"
        intake = shared / "intake" if share_intake else folder / "intake"
        (intake / "scans").mkdir(parents=True, exist_ok=True)
        folder.mkdir(exist_ok=True)
        (folder / "config.toml").write_text(
            f'[paths]\nintake = "{intake}"\noutput = "{shared / "output"}"\n'
            f'[registry]\nurl = "{url}"\n[report]\ndaily_at = ""\n', encoding="utf-8")
        config, _ = init_workspace(folder)
        configs.append(load_config(config.source))
    # One organisation, one secret: a page printed on one machine is read on any other.
    load_secret(configs[0].root)
    for config in configs[1:]:
        shutil.copy2(configs[0].root / SECRET_FILENAME, config.root / SECRET_FILENAME)
    return configs


@contextlib.contextmanager
def no_lock(_output: Path) -> Iterator[None]:
    """Stands in for the build's file lock, which machines sharing a network folder cannot
    count on: correctness must come from the registry alone."""
    yield


def without_file_lock() -> None:
    """In a test's child process: take the build lock out of the way."""
    import pipeline.build
    import pipeline.recover

    pipeline.build.build_lock = no_lock  # type: ignore[assignment]
    pipeline.recover.build_lock = no_lock  # type: ignore[assignment]
