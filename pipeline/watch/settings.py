"""The watcher's settings, and the folder layouts it refuses to start with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import SettingsError


class WatchError(SettingsError):
    """The watcher cannot start: a bad folder layout or missing folder."""


@dataclass(frozen=True)
class WatchSettings:
    debounce: float
    polling: bool
    polling_interval: float
    rescan: float
    jobs: int | None  # converters side by side (--jobs); None: [convert] jobs
    incomplete_wait: float
    max_bytes: int
    retry_after: float

    @classmethod
    def from_config(cls, config: Config, *, polling: bool | None = None,
                    jobs: int | None = None) -> WatchSettings:
        watch = config.settings.watch
        return cls(debounce=max(0.0, watch.debounce_seconds),
                   polling=watch.polling if polling is None else polling,
                   polling_interval=max(0.1, watch.polling_interval_seconds),
                   rescan=max(1.0, watch.rescan_seconds),
                   jobs=jobs,
                   incomplete_wait=max(0.0, watch.incomplete_wait_seconds),
                   max_bytes=watch.max_workbook_mb * 1024 * 1024,
                   retry_after=max(1.0, watch.retry_after_seconds))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_layout(config: Config) -> None:
    """Refuse folder layouts that would loop (outputs re-entering intake) or write outside
    the workspace."""
    intake, output, root = config.intake_dir, config.output_dir, config.root.resolve()
    where = f" (settings: {config.source})" if config.source else ""
    if _inside(output, intake):
        raise WatchError(f"the output folder {output} is inside the intake folder {intake}: "
                         "every plan written would be picked up again. Set [paths] output "
                         f"to a folder outside intake{where}.")
    if _inside(intake, output):
        raise WatchError(f"the intake folder {intake} is inside the output folder {output}. "
                         f"Keep them apart in [paths]{where}.")
    # Several offices share one output folder outside every workspace (README, "Several
    # offices"); with a SQLite registry the watcher writes only inside its own.
    if not _inside(output, root) and config.registry_url.startswith("sqlite"):
        raise WatchError(f"the output folder {output} is outside the workspace {root}; the "
                         f"watcher only writes inside its workspace. Fix [paths] output{where}.")
    if not intake.is_dir():
        raise WatchError(f"the intake folder {intake} does not exist. Create the workspace "
                         "with `supportplan init`, or fix [paths] intake" + where + ".")
