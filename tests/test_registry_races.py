"""Races between machines sharing one registry and one output folder, with the build's file
lock out of the way (machines on a network share cannot count on it): the registry alone
must keep version numbers, step ids, scans, e-mails and the daily report single. Run on
SQLite (processes on one machine) and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from conftest import PLAN_DATE, edited, valid_household, write_household
from PIL import Image
from sharedws import shared_workspaces, without_file_lock
from sqlalchemy import func, select

from pipeline.build import build_workbooks
from pipeline.config import Config, load_config
from pipeline.printed import PageLayout
from pipeline.reconcile.run import reconcile_paths
from pipeline.reconcile.synth import draw_page, render_page
from pipeline.registry import SCAN, open_registry, page_layouts, plan_versions, steps
from pipeline.report.email import Delivery, queue
from pipeline.report.run import outbox_dir, run_daily_report, send_outbox

HOUSEHOLDS = 20


def _build_in(config_path: str, answer: str) -> None:
    """One machine's build of everything in its intake (in a child process); its outcomes
    go to the file `answer`. Sharing a PostgreSQL registry, the build's file lock is out of
    the way (on SQLite all builds are on one machine, where it holds)."""
    config = load_config(Path(config_path))
    if not config.registry_url.startswith("sqlite"):
        without_file_lock()
    outcomes = build_workbooks(config, [config.intake_dir], pdf=False)
    Path(answer).write_text(json.dumps(
        [(o.workbook.name, o.status, o.version, o.message) for o in outcomes]))


def _run_together(config_paths: list[str]) -> list[list[tuple[str, str, int | None, str]]]:
    """Each build in its own process (not a pool: a build starts child processes)."""
    context = multiprocessing.get_context("spawn")
    answers = [f"{path}.outcomes.json" for path in config_paths]
    machines = [context.Process(target=_build_in, args=(path, answer))
                for path, answer in zip(config_paths, answers, strict=True)]
    for machine in machines:
        machine.start()
    for machine in machines:
        machine.join(timeout=600)
        assert machine.exitcode == 0
    return [json.loads(Path(answer).read_text()) for answer in answers]


def _versions(url: str) -> list[tuple[str, int, str]]:
    registry = open_registry(url)
    try:
        with registry.engine.connect() as conn:
            return sorted(conn.execute(select(plan_versions.c.household, plan_versions.c.version,
                                              plan_versions.c.state)).all())
    finally:
        registry.close()


def test_two_machines_building_the_same_workbooks_issue_each_version_once(
        tmp_path: Path, registry_url: str) -> None:
    first, second = shared_workspaces(tmp_path, registry_url)
    for number in range(1, HOUSEHOLDS + 1):
        write_household(first, valid_household(f"HH-{number:04d}"))
    results = _run_together([str(first.source), str(second.source)])
    assert _versions(registry_url) == [(f"HH-{n:04d}", 1, "issued")
                                       for n in range(1, HOUSEHOLDS + 1)]
    for outcomes in results:
        assert [status for _name, status, _v, _m in outcomes if status == "failed"] == [], \
            outcomes
    built = sorted(name for outcomes in results for name, status, _v, _m in outcomes
                   if status == "built")
    assert built == sorted(f"HH-{n:04d}.xlsx" for n in range(1, HOUSEHOLDS + 1))
    files = sorted(p.name for p in first.output_dir.glob("HH-*/support-plan-*"))
    assert files == sorted(f"support-plan-HH-{n:04d}-v1.docx" for n in range(1, HOUSEHOLDS + 1))


def test_two_machines_with_different_content_for_one_household_number_it_in_turn(
        tmp_path: Path, registry_url: str) -> None:
    """Each machine's intake has its own edit of the same households: one of them is v1, the
    other v2 (decided again from v1), with step ids that never collide."""
    first, second = shared_workspaces(tmp_path, registry_url, share_intake=False)
    for number in range(1, HOUSEHOLDS + 1):
        reference = f"HH-{number:04d}"
        write_household(first, valid_household(reference))
        other = edited(valid_household(reference))
        other.steps.append({"area": "Education & Training", "goal": "", "we_will": "A new step",
                            "you_will": f"Something else for {number}", "who": "Yusuf Hassan",
                            "by_when": PLAN_DATE + timedelta(days=40)})
        write_household(second, other)
    results = _run_together([str(first.source), str(second.source)])
    for outcomes in results:
        assert [o for o in outcomes if o[1] == "failed"] == [], outcomes
    assert _versions(registry_url) == sorted(
        (f"HH-{n:04d}", version, "issued") for n in range(1, HOUSEHOLDS + 1)
        for version in (1, 2))
    registry = open_registry(registry_url)
    with registry.engine.connect() as conn:
        per_household = dict(conn.execute(select(steps.c.household, func.count())
                                          .group_by(steps.c.household)).all())
    registry.close()
    # three steps in common, one more in the second machine's edit: four, each its own id
    assert per_household == {f"HH-{n:04d}": 4 for n in range(1, HOUSEHOLDS + 1)}


# -- work claimed once: scans, the daily report, e-mails ---------------------------------
def _claim_all(url: str, keys: list[str]) -> list[str]:
    """One process's attempt at every key; returns those it won."""
    registry = open_registry(url)
    try:
        return [key for key in keys if registry.claim(SCAN, key)]
    finally:
        registry.close()


def test_each_piece_of_work_is_claimed_by_one_process(registry_url: str) -> None:
    keys = [f"{number:064d}" for number in range(40)]
    open_registry(registry_url).close()  # upgraded once, before the race
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        won = pool.starmap(_claim_all, [(registry_url, keys)] * 4)
    assert sorted(key for keys_won in won for key in keys_won) == keys  # each once
    registry = open_registry(registry_url)
    try:
        # held by a process that has ended: not taken again until it is stale
        assert not registry.claim(SCAN, keys[0])
        assert registry.claim(SCAN, keys[0], stale_after=timedelta(0))
        registry.release(SCAN, keys[0], done=False)
        assert registry.claim(SCAN, keys[0])  # released: free again
        registry.release(SCAN, keys[0], done=True)
        assert not registry.claim(SCAN, keys[0], stale_after=timedelta(0))  # done for good
    finally:
        registry.close()


@dataclass
class Inbox:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[attr-defined]
        return "250 Message accepted"


@pytest.fixture
def mail() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on this machine."""
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _mailing_workspaces(tmp_path: Path, url: str, port: int) -> list[Config]:
    machines = shared_workspaces(tmp_path, url)
    for config in machines:
        assert config.source is not None
        with config.source.open("a", encoding="utf-8") as handle:
            handle.write(f'[report.teams]\nNorth = ["north.manager@example.org"]\n'
                         f'South = ["south.manager@example.org"]\n'
                         f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                         f'sender = "plans@example.org"\ntimeout_seconds = 5\n')
    machines = [load_config(config.source) for config in machines]
    for reference, team in (("HH-0001", "North"), ("HH-0002", "South")):
        write_household(machines[0], valid_household(reference, team=team))
    outcomes = build_workbooks(machines[0], [machines[0].intake_dir], pdf=False)
    assert [o.status for o in outcomes] == ["built", "built"]
    return machines


def _daily_report_in(config_path: str, answer: str) -> None:
    config = load_config(Path(config_path))
    result = run_daily_report(config, date.today() + timedelta(days=120))
    Path(answer).write_text(json.dumps(None if result is None else len(result.sent)))


def test_the_daily_report_goes_out_once_however_many_watchers(
        tmp_path: Path, registry_url: str, mail: tuple[Inbox, int]) -> None:
    inbox, port = mail
    machines = _mailing_workspaces(tmp_path, registry_url, port)
    paths = [str(config.source) for config in machines] * 2  # two watchers per machine
    answers = [f"{tmp_path}/answer-{number}.json" for number in range(len(paths))]
    context = multiprocessing.get_context("spawn")
    watchers = [context.Process(target=_daily_report_in, args=(path, answer))
                for path, answer in zip(paths, answers, strict=True)]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join(timeout=300)
        assert watcher.exitcode == 0
    made = [json.loads(Path(answer).read_text()) for answer in answers]
    assert sorted(made, key=str) == [2, None, None, None], made  # one made it, sent two
    assert sorted(to for to, _message in inbox.messages) == [
        ["north.manager@example.org"], ["south.manager@example.org"]]
    reports = list((machines[0].output_dir / "reports").glob("overdue-*.xlsx"))
    assert len(reports) == 1


def _send_outbox_in(config_path: str) -> None:
    send_outbox(load_config(Path(config_path)))


def test_each_queued_e_mail_is_sent_by_one_machine(
        tmp_path: Path, registry_url: str, mail: tuple[Inbox, int]) -> None:
    inbox, port = mail
    machines = _mailing_workspaces(tmp_path, registry_url, port)
    outbox = outbox_dir(machines[0])
    for number in range(12):  # waiting from earlier runs (the mail server was down)
        queue(outbox, Delivery("North", ("north.manager@example.org",), f"Report {number}",
                               "Overdue steps", ()), "plans@example.org", f"old-{number}")
    context = multiprocessing.get_context("spawn")
    senders = [context.Process(target=_send_outbox_in, args=(str(config.source),))
               for config in machines * 2]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=300)
        assert sender.exitcode == 0
    subjects = sorted(str(message["Subject"]) for _to, message in inbox.messages)
    assert subjects == sorted(f"Report {number}" for number in range(12))  # each once
    assert list(outbox.glob("*.eml")) == []


def _reconcile_in(config_path: str, answer: str) -> None:
    config = load_config(Path(config_path))
    outcomes = reconcile_paths(config, [config.scans_dir])
    Path(answer).write_text(json.dumps([(o.file.name, o.already_seen, len(o.pages))
                                        for o in outcomes]))


@pytest.mark.slow
def test_a_scan_is_read_by_one_machine(tmp_path: Path, registry_url: str) -> None:
    machines = shared_workspaces(tmp_path, registry_url)
    write_household(machines[0], valid_household("HH-0001"))
    [built] = build_workbooks(machines[0], [machines[0].intake_dir])
    assert built.pdf is not None, built.message
    registry = open_registry(registry_url)
    with registry.engine.connect() as conn:
        rows = conn.execute(select(page_layouts.c.layout)
                            .order_by(page_layouts.c.page)).scalars().all()
    last = PageLayout.from_json(rows[-1])  # the page with the signature boxes
    image, truth = draw_page(render_page(str(built.pdf), last.page - 1, 200), last, 200,
                             np.random.default_rng(1), p_signed=1.0, p_ticked=1.0,
                             p_strike=0.0)
    Image.fromarray(image).save(machines[0].scans_dir / "signed.png")
    context = multiprocessing.get_context("spawn")
    answers = [f"{tmp_path}/answer-{number}.json" for number in range(len(machines))]
    readers = [context.Process(target=_reconcile_in, args=(str(config.source), answer))
               for config, answer in zip(machines, answers, strict=True)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=300)
        assert reader.exitcode == 0
    outcomes = [json.loads(Path(answer).read_text()) for answer in answers]
    assert sorted(outcome for found in outcomes for outcome in found) == [
        ["signed.png", False, 1], ["signed.png", True, 0]], outcomes  # read once, skipped once
    kinds = [event["kind"] for event in registry.events_for("HH-0001")]
    registry.close()
    assert kinds.count("scan_matched") == 1
    # each signature box recorded once: found, or left for a person to decide
    assert kinds.count("signature_found") + kinds.count("box_needs_review") == len(
        truth.signatures) > 0
