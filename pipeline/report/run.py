"""Make the overdue report and hand it to each team's managers.

One call does it all, for the CLI and the watcher: read the registry, evaluate the rules as
of a date, write output/reports/overdue-<date>.xlsx and .pdf (plus one pair per routed
team under output/reports/teams/), queue one e-mail per team in output/reports/outbox/, and
send everything queued (earlier failures included).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from ..config import Config
from ..overdue import Finding, RuleSettings, evaluate
from ..registry import DAILY_REPORT, EMAIL, registry_for
from .email import (
    Delivery,
    EmailError,
    OutboxClaims,
    SendResult,
    findings_for_team,
    message_body,
    pending,
    queue,
    routes_from_config,
    send_pending,
    team_slug,
)
from .pdf import write_digest_pdf
from .xlsx import write_report_xlsx

log = logging.getLogger(__name__)

# A process that claimed a message and then died: another sends it after this long.
SENDING_STALE_AFTER = timedelta(minutes=15)


class ReportError(Exception):
    """The report cannot be made as configured; the message says what to change."""


@dataclass
class ReportResult:
    as_of: date
    findings: list[Finding]
    xlsx: Path
    pdf: Path
    deliveries: list[Delivery] = field(default_factory=list)
    queued: list[Path] = field(default_factory=list)
    sent: list[SendResult] = field(default_factory=list)
    unrouted_teams: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[SendResult]:
        return [s for s in self.sent if s.error is not None and not s.error.startswith("refused")]


def reports_dir(config: Config) -> Path:
    return config.output_dir / "reports"


def outbox_dir(config: Config) -> Path:
    return reports_dir(config) / "outbox"


def free_name(folder: Path, stem: str, suffix: str) -> Path:
    """stem.suffix, or stem-2.suffix, ... : a report once written is never overwritten."""
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


def _write_pair(folder: Path, stem: str, findings: list[Finding], as_of: date,
                settings: RuleSettings, title: str, organisation: str,
                items: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = write_report_xlsx(free_name(folder, stem, ".xlsx"), findings, as_of, settings,
                             title=title)
    pdf = write_digest_pdf(free_name(folder, stem, ".pdf"), findings, as_of, settings,
                           title=title, organisation=organisation, items=items)
    return xlsx, pdf


def run_report(config: Config, as_of: date | None = None, *, dry_run: bool = False,
               email: bool = True, echo: Callable[[str], None] = log.info) -> ReportResult:
    """Make the report as of `as_of` (default today); e-mail it unless told not to."""
    as_of = as_of or date.today()
    section = config.values["report"]
    settings = RuleSettings.from_config(section)
    try:
        routes = routes_from_config(section["teams"])
    except EmailError as exc:
        raise ReportError(str(exc)) from exc
    registry = registry_for(config)
    try:
        findings = evaluate(registry.load_facts(), as_of, settings)
    finally:
        registry.close()
    organisation = config.organisation_name
    items = int(section["digest_items"])
    folder = reports_dir(config)
    xlsx, pdf = _write_pair(folder, f"overdue-{as_of.isoformat()}", findings, as_of, settings,
                            "Overdue report", organisation, items)
    result = ReportResult(as_of, findings, xlsx, pdf)
    echo(f"wrote {xlsx}")
    echo(f"wrote {pdf}")
    route_keys = {" ".join(t.split()).casefold() for t in routes}
    result.unrouted_teams = sorted({f.team for f in findings
                                    if " ".join(f.team.split()).casefold() not in route_keys})
    for team in result.unrouted_teams:
        result.notes.append(f'no manager is set for team "{team}": add it under '
                            "[report.teams] in config.toml to e-mail its findings")

    smtp = config.values["smtp"]
    if not email:
        return result
    if not str(smtp["host"]):
        result.notes.append("e-mail is off ([smtp] host is empty in config.toml); "
                            "the report files are written")
        return result
    for team, recipients in routes.items():
        team_findings = findings_for_team(findings, team)
        if not team_findings:
            result.notes.append(f'team "{team}": nothing overdue or due, no e-mail')
            continue
        stem = f"overdue-{as_of.isoformat()}-{team_slug(team)}"
        if dry_run:
            attachments = (Path(f"{stem}.xlsx"), Path(f"{stem}.pdf"))
        else:
            attachments = _write_pair(folder / "teams", stem, team_findings, as_of, settings,
                                      f"Overdue report: {team}", organisation, items)
        subject = str(section["subject"]).format(team=team, date=f"{as_of:%d/%m/%Y}")
        delivery = Delivery(team, recipients, subject,
                            message_body(team, team_findings, as_of, attachments),
                            tuple(attachments))
        result.deliveries.append(delivery)
        if not dry_run:
            result.queued.append(queue(outbox_dir(config), delivery, str(smtp["sender"]),
                                       stem))
    if dry_run:
        earlier = pending(outbox_dir(config))
        if earlier:
            result.notes.append(f"{len(earlier)} message(s) from earlier runs wait in "
                                f"{outbox_dir(config)} (not sent: dry run)")
        return result
    result.sent = send_outbox(config)
    return result


def send_outbox(config: Config) -> list[SendResult]:
    """Send what waits in the outbox, each message by one process only however many
    machines share the folder (claimed in the registry)."""
    registry = registry_for(config)
    try:
        claims = OutboxClaims(
            take=lambda key: registry.claim(EMAIL, key, stale_after=SENDING_STALE_AFTER),
            settle=lambda key, sent: registry.release(EMAIL, key, done=sent))
        return send_pending(outbox_dir(config), config.values["smtp"], claims)
    finally:
        registry.close()


def daily_report_time(config: Config) -> time | None:
    """[report] daily_at as a time, or None when the daily report is off."""
    text = str(config.values["report"]["daily_at"]).strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%H:%M").time()
    except ValueError as exc:
        raise ReportError(f'config.toml [report] daily_at = "{text}": use HH:MM (24-hour), '
                          'e.g. "07:00", or "" for no daily report') from exc


def run_daily_report(config: Config, as_of: date | None = None) -> ReportResult | None:
    """For `supportplan watch` and workers: make and send today's report, once a day however
    many machines try (None: another made it or is making it); never raises on send errors
    (they stay queued for the next run)."""
    day = (as_of or date.today()).isoformat()
    registry = registry_for(config)
    try:
        if not registry.claim(DAILY_REPORT, day, stale_after=timedelta(hours=1)):
            log.info("today's overdue report is made by another process")
            return None
        try:
            result = run_report(config, as_of)
        except BaseException:
            registry.release(DAILY_REPORT, day, done=False)  # another may try again
            raise
        registry.release(DAILY_REPORT, day, done=True)
    finally:
        registry.close()
    for failure in result.failed:
        log.warning("overdue report e-mail for a team is queued for retry: %s", failure.error)
    return result
