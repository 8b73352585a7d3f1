"""The plan's fixed wording, in gettext catalogues (.po files, read with Babel).

`catalogues/supportplan.pot` holds every fixed string once, in English: the key as the
entry's context (`msgctxt "goals_heading"`) and the English as its `msgid`. Each language
has `<locale>.po` beside it with the same entries and the translation as `msgstr`. These
are plain text files a translator edits in any text editor or in Poedit; no code.

Where a workspace has its own `translations/` folder ([paths] translations), its files are
read first, entry by entry, and the shipped ones fill what they lack; so an organisation
rewords a sentence (in English too: `en.po`) or adds a language (`so.po`) without losing
strings added by a later version of supportplan.

As gettext does, an entry is used only when its `msgid` is the current English: a
translation made for older English falls back to English, as does a missing one, and both
are reported by `supportplan template check`. Unlike gettext's default, fuzzy entries ARE
used: every shipped translation was machine-assisted and is flagged fuzzy until a
translator has reviewed it, and a plan in a reviewable Arabic serves an Arabic-speaking
family better than English.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

SHIPPED = Path(__file__).resolve().with_name("catalogues")
TEMPLATE = "supportplan.pot"
DOMAIN = "supportplan"


class CatalogueError(Exception):
    """A catalogue file cannot be read."""


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int, size: int) -> dict[str, tuple[str, str, bool]]:
    """key -> (English it translates, translation, fuzzy) from one .po/.pot file."""
    try:
        with path.open("rb") as handle:
            catalog: Catalog = read_po(handle, domain=DOMAIN)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot be read as a gettext catalogue ({exc}); "
                             "open it in Poedit or a text editor and fix the line named, "
                             "or delete it to use the shipped one") from exc
    entries = {}
    for message in catalog:
        if not message.id or not message.context:
            continue  # the header, or an entry this program does not know
        entries[message.context] = (str(message.id), str(message.string or ""),
                                    message.fuzzy)
    return entries


@lru_cache(maxsize=64)
def _resolved(path: Path) -> Path:
    return path.resolve()  # once per path: resolving on every lookup was most of a render


def read_entries(path: Path) -> dict[str, tuple[str, str, bool]]:
    stat = path.stat()
    return _read(_resolved(path), stat.st_mtime_ns, stat.st_size)


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders in a string."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:  # an unbalanced brace: never matches the English
        return {"{"}


@dataclass(frozen=True)
class Lookup:
    text: str  # what the plan shows: the translation, or English when there is none
    translated: bool
    fuzzy: bool = False


class Catalogues:
    """The shipped catalogues, overlaid by a workspace's `translations/` folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None and folder.is_dir() else None

    def _files(self, code: str) -> list[Path]:
        names = [folder / f"{code}.po" for folder in (self.folder, SHIPPED) if folder]
        return [path for path in names if path.is_file()]

    @property
    def source(self) -> dict[str, tuple[str, str, bool]]:
        """key -> English, from the shipped template: the one list of fixed strings."""
        return read_entries(SHIPPED / TEMPLATE)

    def keys(self) -> list[str]:
        return list(self.source)

    def languages(self) -> list[str]:
        """Locale ids with a catalogue, shipped or in the workspace (English included)."""
        found = {path.stem for folder in (self.folder, SHIPPED) if folder
                 for path in folder.glob("*.po")}
        return sorted(found | {"en"})

    def english(self, key: str) -> str:
        """The English wording: an organisation's own (en.po) or the shipped."""
        current = self.source[key][0]
        for path in self._files("en"):
            entry = read_entries(path).get(key)
            if entry and entry[0] == current and entry[1] and placeholders(
                    entry[1]) == placeholders(current):
                return entry[1]
        return current

    def lookup(self, code: str, key: str) -> Lookup:
        """`key` in language `code`, falling back to English."""
        if code == "en":
            return Lookup(self.english(key), True)
        current = self.source[key][0]
        for path in self._files(code):
            entry = read_entries(path).get(key)
            if entry is None or entry[0] != current or not entry[1]:
                continue
            if placeholders(entry[1]) != placeholders(current):
                continue  # reported by `template check`; never a broken sentence
            return Lookup(entry[1], True, entry[2])
        return Lookup(self.english(key), False)


@dataclass
class LanguageReport:
    """What `template check` says about one language's catalogue."""

    code: str
    missing: list[str]  # no translation: English is shown
    outdated: list[str]  # translated from English that has changed since: English is shown
    broken: list[str]  # placeholders differ from the English: English is shown
    fuzzy: list[str]  # used, but machine-assisted or unreviewed: a translator should check

    @property
    def fallbacks(self) -> list[str]:
        return [*self.missing, *self.outdated, *self.broken]


def report(catalogues: Catalogues, code: str) -> LanguageReport:
    result = LanguageReport(code, [], [], [], [])
    if code == "en":
        return result
    files = [read_entries(path) for path in catalogues._files(code)]
    for key, (english, _, _) in catalogues.source.items():
        entries = [entries[key] for entries in files if key in entries and entries[key][1]]
        if not entries:
            result.missing.append(key)
            continue
        current = [entry for entry in entries if entry[0] == english]
        if not current:
            result.outdated.append(key)
        elif not any(placeholders(entry[1]) == placeholders(english) for entry in current):
            result.broken.append(key)
        elif next(entry for entry in current
                  if placeholders(entry[1]) == placeholders(english))[2]:
            result.fuzzy.append(key)
    return result
