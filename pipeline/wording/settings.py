"""The language settings of a workspace: its catalogues ([paths] translations over the
shipped ones), whether plans are bilingual, and the language for a household that names
none ([plan])."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, ConfigError
from .catalogue import Catalogues
from .languages import Choice, Language, catalogue_for, choose, recognise
from .words import PlanLanguage, Words


@dataclass(frozen=True)
class LanguageSettings:
    catalogues: Catalogues
    bilingual: bool = True
    default_language: str = "en"

    @classmethod
    def from_config(cls, config: Config) -> LanguageSettings:
        catalogues = Catalogues(config.path("translations"))
        configured = config.settings.plan.language
        available = set(catalogues.languages())
        # A catalogue's own code ("en", the default) needs no lookup among the names of
        # every language, which takes Babel ~0.4 s to index.
        code = configured if configured in available else recognise(configured)
        default = catalogue_for(code, available) if code else None
        if default is None:
            raise ConfigError(
                f"{config.source or 'config.toml'}: [plan] language = {configured!r} is not "
                f"a language with a catalogue; use one of {', '.join(catalogues.languages())} "
                f"(or add translations/<code>.po)")
        return cls(catalogues, config.settings.plan.bilingual, default)

    @property
    def available(self) -> frozenset[str]:
        return frozenset(self.catalogues.languages())

    def choose(self, preferred: str) -> Choice:
        return choose(preferred, self.available, self.default_language)

    def words_for(self, preferred: str) -> Words:
        """The fixed wording for a household whose Preferred language is `preferred`."""
        return Words(self.catalogues, PlanLanguage(self.choose(preferred).language,
                                                   self.bilingual))

    def words_in(self, code: str) -> Words:
        return Words(self.catalogues, PlanLanguage(Language(code), self.bilingual))
