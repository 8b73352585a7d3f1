"""Shared fixtures: a fresh workspace per test and a valid household to start from."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pgserver import PostgresServer, start_postgres
from sqlalchemy import select

from pipeline.config import Config
from pipeline.demo import DemoHousehold
from pipeline.outputs import plan_file
from pipeline.registry import Registry, events, plan_versions
from pipeline.workspace import init_workspace

PLAN_DATE = date.today() - timedelta(days=10)


@pytest.fixture
def workspace(tmp_path: Path) -> Config:
    config, _created = init_workspace(tmp_path / "ws")
    return config


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the test run (tests/pgserver.py)."""
    try:
        server = start_postgres()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty registry database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    return request.getfixturevalue("postgres").new_database()


def with_registry(config: Config, url: str) -> Config:
    """`config` with its registry at `url` (what `[registry] url` in config.toml does)."""
    values = {**config.values, "registry": {**config.values["registry"], "url": url}}
    return replace(config, values=values)


def valid_household(reference: str = "HH-0001", **household: Any) -> DemoHousehold:
    """A small valid household: two adults (one Arabic name), a child, three steps."""
    values = {"reference": reference, "name": "Hassan family", "caseworker": "Jo Whitfield",
              "caseworker_email": "jo@example.org", "team": "North",
              "peer_reviewer": "Sam Okafor", "plan_date": PLAN_DATE, **household}
    return DemoHousehold(
        household=values,
        members=[{"name": "أمينة حسن", "role": "Parent", "adult": True},
                 {"name": "Yusuf Hassan", "role": "Parent", "adult": True},
                 {"name": "Layla Hassan", "role": "Child", "adult": False}],
        steps=[{"area": "Housing", "goal": "A home with room for the children",
                "strengths": "Good landlord reference",
                "we_will": "Refer to the housing register", "you_will": "Gather payslips",
                "who": "Yusuf Hassan", "by_when": PLAN_DATE + timedelta(days=30)},
               {"we_will": "Explain how bidding works", "you_will": "Bid every week",
                "who": "أمينة حسن", "by_when": PLAN_DATE + timedelta(days=60)},
               {"area": "Education & Training", "goal": "Speak English with the doctor",
                "you_will": "Go to the ESOL assessment day", "who": "أمينة حسن",
                "by_when": PLAN_DATE + timedelta(days=20)}],
        safety_plan=[{"worry": "Smoke alarm broken", "we_will": "Call the landlord",
                      "you_will": "Test it weekly", "review_by": PLAN_DATE + timedelta(days=7)}],
        weekly_reviews=[{"week_of": PLAN_DATE, "did_we_do_it": "Yes",
                         "safety_plan_working": "Yes", "recorded_by": "Jo Whitfield"}],
    )


def write_household(config: Config, demo: DemoHousehold, name: str | None = None) -> Path:
    target = config.intake_dir / (name or f"{demo.household['reference']}.xlsx")
    return demo.write(target)


def edited(demo: DemoHousehold) -> DemoHousehold:
    return copy.deepcopy(demo)


def resave(path: Path, demo: DemoHousehold) -> Path:
    """Save `demo` over an existing workbook, as Excel does (write aside, then rename)."""
    aside = path.with_name(f"~{path.stem}.tmp.xlsx")
    aside.unlink(missing_ok=True)
    demo.write(aside)
    aside.replace(path)
    return path


def outputs_agree_with_registry(workspace: Config, registry: Registry) -> dict[str, int]:
    """Every issued version has its files and one event; no other plan files exist."""
    on_disk = {p.name for p in workspace.output_dir.glob("HH-*/support-plan-*")}
    expected: set[str] = set()
    latest: dict[str, int] = {}
    with registry.engine.connect() as conn:
        rows = conn.execute(select(plan_versions.c.household, plan_versions.c.version,
                                   plan_versions.c.state, plan_versions.c.pdf_path)).all()
        issued_events = sorted(conn.execute(select(events.c.household, events.c.version)
                                            .where(events.c.kind == "version_issued")).all())
    assert {state for _ref, _version, state, _pdf in rows} <= {"issued"}
    assert issued_events == sorted((ref, version) for ref, version, _state, _pdf in rows)
    for reference, version, _state, pdf in rows:
        expected |= {plan_file(workspace, reference, version, suffix).name
                     for suffix in ("docx", "pdf") if suffix == "docx" or pdf}
        latest[reference] = max(latest.get(reference, 0), version)
    assert on_disk == expected
    for reference, newest in latest.items():
        assert sorted(v.version for v in registry.versions(reference)) == list(
            range(1, newest + 1))
    return latest
