"""How a workbook is read: the plan-size limits, the child process's time and memory, and
the languages plans can be in (to say when a Preferred language gives an English plan).

Defaults live in config.py (`[plan]`, `[intake]`); this only carries them to the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config, default_values
from ..wording.catalogue import Catalogues

# Used when no workspace is known (the languages supportplan ships catalogues for).
_SHIPPED = tuple(Catalogues().languages())


@dataclass(frozen=True)
class ReadOptions:
    review_interval_months: int
    max_steps: int
    max_plan_characters: int
    timeout_seconds: float
    memory_mb: int
    plan_languages: tuple[str, ...] = _SHIPPED  # locale ids with a catalogue
    default_language: str = "en"

    @classmethod
    def from_values(cls, values: dict[str, Any],
                    plan_languages: tuple[str, ...] = _SHIPPED) -> ReadOptions:
        plan, intake = values["plan"], values["intake"]
        return cls(review_interval_months=int(plan["review_interval_months"]),
                   max_steps=int(plan["max_steps"]),
                   max_plan_characters=int(plan["max_plan_characters"]),
                   timeout_seconds=float(intake["read_timeout_seconds"]),
                   memory_mb=int(intake["read_memory_mb"]),
                   plan_languages=plan_languages)

    @classmethod
    def from_config(cls, config: Config) -> ReadOptions:
        from ..wording.settings import LanguageSettings

        languages = LanguageSettings.from_config(config)
        return cls(**{**cls.from_values(config.values).__dict__,
                      "plan_languages": tuple(sorted(languages.available)),
                      "default_language": languages.default_language})

    @classmethod
    def defaults(cls) -> ReadOptions:
        return cls.from_values(default_values())
