"""Typed settings: one frozen dataclass per section of DEFAULT_CONFIG_TOML, the same keys,
each value of its declared type."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import get_type_hints

import pytest

from pipeline.config import default_values, load_config
from pipeline.settings import Settings


def test_every_section_and_key_is_typed_and_nothing_else() -> None:
    defaults = default_values()
    sections = get_type_hints(Settings)
    assert list(sections) == list(defaults)
    for name, kind in sections.items():
        assert [f.name for f in dataclasses.fields(kind)] == list(defaults[name]), name


def test_values_take_their_declared_types(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    # TOML writes a whole number for a float setting; the settings still hold a float
    path.write_text("[pdf]\ntimeout_seconds = 90\n[watch]\nrescan_seconds = 30\n")
    settings = load_config(path).settings
    assert settings.pdf.timeout_seconds == 90.0 and isinstance(settings.pdf.timeout_seconds,
                                                               float)
    assert isinstance(settings.watch.rescan_seconds, float)
    assert settings.plan.bilingual is True and settings.report.teams == {}
    for name, kind in get_type_hints(Settings).items():
        section = getattr(settings, name)
        for field, declared in get_type_hints(kind).items():
            assert isinstance(getattr(section, field), declared), (name, field)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.pdf.enabled = False  # type: ignore[misc]


def test_the_report_reads_its_settings_typed(tmp_path: Path) -> None:
    """The report takes [report] from the typed settings: the rules' days, the daily time,
    the caseworker lists' day; [report.teams] in both forms routes as before."""
    from datetime import date, time

    from pipeline.overdue import RuleSettings
    from pipeline.report.routing import TeamRoute, routes_from_config
    from pipeline.report.run import caseworker_lists_today, daily_report_time

    path = tmp_path / "config.toml"
    path.write_text('[report]\ndue_soon_days = 3\nescalate_service_manager_days = 30\n'
                    'daily_at = "06:30"\ncaseworker_lists = true\n'
                    'caseworker_list_day = " friday "\n'
                    '[report.teams]\nSouth = ["s@example.org"]\n'
                    '[report.teams.North]\nteam_lead = ["l@example.org"]\n')
    config = load_config(path)
    rules = RuleSettings.from_settings(config.settings.report)
    assert rules == RuleSettings(due_soon_days=3, escalate_service_manager_days=30)
    assert daily_report_time(config) == time(6, 30)
    assert caseworker_lists_today(config.settings.report, date(2026, 11, 27))  # a Friday
    assert not caseworker_lists_today(config.settings.report, date(2026, 11, 26))
    assert routes_from_config(config.settings.report.teams) == {
        "South": TeamRoute("South", managers=("s@example.org",)),
        "North": TeamRoute("North", team_lead=("l@example.org",))}
