"""The plan's fixed wording and the languages it comes in: gettext catalogues (catalogue),
the languages people name in workbooks (languages), one plan's words (words)."""

from .catalogue import CatalogueError, Catalogues
from .languages import ENGLISH, Choice, Language, choose, recognise
from .words import PlanLanguage, Words

__all__ = ["ENGLISH", "CatalogueError", "Catalogues", "Choice", "Language", "PlanLanguage",
           "Words", "choose", "recognise"]
