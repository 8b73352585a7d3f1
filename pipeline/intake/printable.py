"""Which characters the fonts on this computer can print.

LibreOffice draws a character no installed font has as an empty box ("tofu"): a name in
Korean on a machine without a CJK font prints as □□□, and nobody notices until the family
reads its plan. LibreOffice falls back through every installed font (fontconfig's list),
so what matters is the union of all their character sets, which fontconfig already keeps:
`fc-list --format '%{charset}'` prints each font's as hexadecimal ranges. Colour (bitmap)
emoji fonts are left out: LibreOffice 7 exports their glyphs as nothing in a PDF, so a
character only they have prints blank all the same.

Measured on a Debian workspace with Noto, Noto CJK, DejaVu and Symbola (322 fonts, 500 kB
of ranges of which 4,000 distinct): `fc-list` takes 40-100 ms and merging the ranges
25-45 ms, once per reading process (a build or `validate` starts one; the watcher keeps its
own); the answer is kept for the life of the process (`functools.cache`), and each cell
then costs about 10 µs. Without fontconfig (`fc-list` missing) nothing is checked.
"""

from __future__ import annotations

import bisect
import logging
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import cache

log = logging.getLogger(__name__)

# Not drawn as glyphs of their own: spaces, controls, joiners and variation selectors.
_NOT_DRAWN = {"Zs", "Zl", "Zp", "Cc", "Cf"}


@dataclass(frozen=True)
class Coverage:
    """The union of the installed fonts' character sets, as sorted disjoint ranges."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]  # inclusive

    def has(self, char: str) -> bool:
        code = ord(char)
        index = bisect.bisect_right(self.starts, code) - 1
        return index >= 0 and code <= self.ends[index]

    def missing(self, text: str) -> list[str]:
        """The characters of `text` no font can print, each once, in order."""
        seen: list[str] = []
        for char in text:
            if char.isascii() or char in seen or self.has(char):
                continue
            if unicodedata.category(char) in _NOT_DRAWN or 0xFE00 <= ord(char) <= 0xFE0F:
                continue
            seen.append(char)
        return seen


def parse_charsets(listing: str) -> Coverage:
    """`fc-list --format '%{charset}\\n'` output (one font per line, ranges such as
    `20-7e a0-17f 2026`) merged into one coverage."""
    ranges: list[tuple[int, int]] = []
    for token in set(listing.split()):  # fonts share most ranges: each is parsed once
        start, _, end = token.partition("-")
        try:
            ranges.append((int(start, 16), int(end or start, 16)))
        except ValueError:
            continue
    ranges.sort()
    starts: list[int] = []
    ends: list[int] = []
    for start, end in ranges:
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return Coverage(tuple(starts), tuple(ends))


@cache
def installed_coverage() -> Coverage | None:
    """What the installed (non-colour) fonts can print, or None when it cannot be known."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run([fc_list, ":color=false", "--format", "%{charset}\n"],
                                 capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        log.debug("fc-list failed; printable characters are not checked", exc_info=True)
        return None
    coverage = parse_charsets(listing.stdout)
    return coverage if coverage.starts else None


def describe(chars: list[str]) -> str:
    """`U+AC00 가, U+1F9EF 🧯` (at most five): the characters alone, never the text around
    them, which may be a name."""
    shown = ", ".join(f"U+{ord(c):04X} {c}" for c in chars[:5])
    return shown + (f" and {len(chars) - 5} more" if len(chars) > 5 else "")
