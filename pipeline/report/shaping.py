"""Names in any script, shaped and ordered, for the reportlab digest.

reportlab draws characters one by one, left to right: Arabic letters come out unjoined and
an Arabic name reads backwards. Two well-kept libraries fix that without leaving reportlab
(whose one-page layout and vector chart the digest relies on, and which starts in
milliseconds where a LibreOffice conversion per digest costs seconds):
- python-bidi (the Unicode Bidirectional Algorithm, Rust's unicode-bidi) puts the words of
  a line in display order;
- HarfBuzz (uharfbuzz, the shaping engine of LibreOffice, Chrome and Firefox) joins and
  positions the letters of each word; reportlab calls it itself for a style with
  `shaping=1`.
HarfBuzz lays out a right-to-left word's glyphs right to left on its own, so each such
word is handed over in its logical (typed) order. Each word gets the Noto font of its
script; Latin, Cyrillic and Greek use Noto Sans.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from bidi import get_display
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/noto"))
# Script (the start of a character's Unicode name) -> Noto family file stem.
SCRIPT_FONTS = {"ARABIC": "NotoSansArabic", "ETHIOPIC": "NotoSansEthiopic",
                "HEBREW": "NotoSansHebrew"}
BASE = "NotoSans"
# The bidi algorithm mirrors brackets in right-to-left text, and HarfBuzz mirrors them
# again when it lays the word out right to left: undo the first.
MIRRORED = str.maketrans("()[]{}<>«»", ")(][}{><»«")


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str]:
    """Register Noto Sans and the script fonts found; (regular, bold) base font names, or
    Helvetica when Noto is not installed (Latin only)."""
    registered = pdfmetrics.getRegisteredFontNames()
    for folder in FONT_DIRS:
        if not (folder / f"{BASE}-Regular.ttf").is_file():
            continue
        for family in (BASE, *SCRIPT_FONTS.values()):
            for weight in ("Regular", "Bold"):
                name = family if weight == "Regular" else f"{family}-Bold"
                path = folder / f"{family}-{weight}.ttf"
                if name not in registered and path.is_file():
                    pdfmetrics.registerFont(TTFont(name, str(path)))
            if f"{family}-Bold" in pdfmetrics.getRegisteredFontNames():  # <b> in markup
                addMapping(family, 1, 0, f"{family}-Bold")
                addMapping(family, 0, 0, family)
        return BASE, f"{BASE}-Bold"
    return "Helvetica", "Helvetica-Bold"


def _script_font(word: str, bold: bool) -> str | None:
    for char in word:
        if char.isascii():
            continue
        family = SCRIPT_FONTS.get(unicodedata.name(char, "").split(" ", 1)[0])
        if family:
            name = f"{family}-Bold" if bold else family
            return name if name in pdfmetrics.getRegisteredFontNames() else None
    return None


def _right_to_left(word: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in word)


def markup(text: str, bold: bool = False) -> str:
    """`text` as reportlab Paragraph markup (escaped), words in display order, each in the
    font of its script. Use in a style with `shaping=1`."""
    if text.isascii():
        return escape(text)
    fonts()  # the script fonts must be registered to be chosen
    words = []
    for word in get_display(text).split(" "):
        if _right_to_left(word):
            word = word[::-1].translate(MIRRORED)  # back to typed order: HarfBuzz lays it out
        font = _script_font(word, bold)
        words.append(f'<font face="{font}">{escape(word)}</font>' if font else escape(word))
    return " ".join(words)
