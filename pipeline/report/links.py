"""Links to plan PDFs that open from an e-mail: absolute, never relative to the report.

By default a plan's own `file:` URL (the output folder as this machine sees it). With
`[report] plan_links` set, the plan's place under the output folder is joined to that base
instead: an intranet address (`https://intranet.example.org/plans`) or the shared drive
as the readers' machines see it (`\\\\fileserver\\plans`, `S:\\plans`, `/mnt/plans`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import quote

from ..errors import SettingsError

LinkFor = Callable[[str | None], str | None]
WINDOWS_PATH = re.compile(r"^(\\\\|[A-Za-z]:[\\/])")


class LinkSettingError(SettingsError):
    """[report] plan_links cannot make absolute links."""


def link_maker(base: str, output_dir: Path) -> LinkFor:
    """A function from a plan's PDF path to its link (None when there is no PDF)."""
    base = base.strip()
    output_dir = output_dir.absolute()
    join = _joiner(base) if base else None
    cache: dict[str, str] = {}  # a household's findings share one plan

    def link_for(pdf_path: str | None) -> str | None:
        if not pdf_path:
            return None
        link = cache.get(pdf_path)
        if link is None:
            path = Path(pdf_path).absolute()
            link = path.as_uri()
            if join is not None and path.is_relative_to(output_dir):
                link = join(path.relative_to(output_dir).parts)
            cache[pdf_path] = link
        return link

    return link_for


def _joiner(base: str) -> Callable[[tuple[str, ...]], str]:
    if "://" in base:  # a web address: the path's parts, each URL-quoted
        root = base.rstrip("/")
        return lambda parts: root + "/" + "/".join(quote(part) for part in parts)
    if WINDOWS_PATH.match(base):
        windows = PureWindowsPath(base)
        return lambda parts: windows.joinpath(*parts).as_uri()
    posix = PurePosixPath(base)
    if not posix.is_absolute():
        raise LinkSettingError(
            f'config.toml [report] plan_links = "{base}": give an address that works from '
            'anywhere: a web address ("https://intranet.example.org/plans"), a shared drive '
            '("\\\\\\\\fileserver\\\\plans" or "S:\\\\plans") or an absolute folder '
            '("/mnt/plans"); or "" for each plan\'s own file: link')
    return lambda parts: posix.joinpath(*parts).as_uri()
