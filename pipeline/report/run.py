"""Make the overdue report and hand each recipient what is theirs.

One call does it all, for the CLI and the watcher: read the registry, evaluate the rules as
of a date, write output/reports/overdue-<date>.xlsx and .pdf, route the findings
(routing.py: team managers, team leads, service managers, households with no team, and
each caseworker's own list when switched on), write each recipient's pair under
output/reports/recipients/, queue one e-mail per recipient in output/reports/outbox/, and
send everything queued (earlier failures included).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from ..config import Config
from ..errors import SettingsError
from ..overdue import Finding, RuleSettings, evaluate
from ..registry import DAILY_REPORT, EMAIL, registry_for
from ..settings import ReportSection
from .email import (
    Delivery,
    OutboxClaims,
    SendResult,
    pending,
    queue,
    send_pending,
    slug,
)
from .links import LinkFor, link_maker
from .message import message_body
from .pdf import write_digest_pdf
from .routing import Parcel, addresses, route, routes_from_config
from .xlsx import write_report_xlsx

log = logging.getLogger(__name__)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# A process that claimed a message and then died: another sends it after this long.
SENDING_STALE_AFTER = timedelta(minutes=15)


class ReportError(SettingsError):
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
    no_team_households: int = 0
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
                settings: RuleSettings, title: str, organisation: str, items: int,
                link_for: LinkFor) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = write_report_xlsx(free_name(folder, stem, ".xlsx"), findings, as_of, settings,
                             title=title, link_for=link_for)
    pdf = write_digest_pdf(free_name(folder, stem, ".pdf"), findings, as_of, settings,
                           title=title, organisation=organisation, items=items)
    return xlsx, pdf


def caseworker_lists_today(report: ReportSection, as_of: date) -> bool:
    """[report] caseworker_lists is on and `as_of` is its weekday."""
    day = report.caseworker_list_day.strip().casefold()
    if day not in WEEKDAYS:
        raise ReportError(f'config.toml [report] caseworker_list_day = "{day}": use a day '
                          'of the week in English, e.g. "Monday"')
    return report.caseworker_lists and WEEKDAYS[as_of.weekday()] == day


def parcel_label(parcel: Parcel) -> tuple[str, str]:
    """(what the message is about, a file-name stem part with no personal data: the
    teams' names and roles, or a short hash of the address for a caseworker's list)."""
    if parcel.caseworker_only:
        digest = hashlib.sha256(parcel.address.casefold().encode()).hexdigest()[:8]
        return "your households", f"caseworker-{digest}"
    teams = sorted(parcel.teams, key=str.casefold)
    roles = "-".join(r.replace("_", "-") for r in parcel.roles if r != "caseworker")
    return ", ".join(teams) or "your households", slug(f"{'-'.join(teams)}-{roles}")


def check_settings(config: Config) -> None:
    """[report] and [report.teams] make sense (for the watcher to say so when it starts,
    not at the first daily report)."""
    report = config.settings.report
    try:
        routes_from_config(report.teams)
        addresses(report.no_team_recipients, "[report] no_team_recipients")
        link_maker(report.plan_links, config.output_dir)
        caseworker_lists_today(report, date.today())
        daily_report_time(config)
    except SettingsError as exc:
        raise ReportError(str(exc)) from exc


def run_report(config: Config, as_of: date | None = None, *, dry_run: bool = False,
               email: bool = True, echo: Callable[[str], None] = log.info) -> ReportResult:
    """Make the report as of `as_of` (default today); e-mail it unless told not to."""
    as_of = as_of or date.today()
    report = config.settings.report
    settings = RuleSettings.from_settings(report)
    routes = routes_from_config(report.teams)
    no_team_recipients = addresses(report.no_team_recipients, "[report] no_team_recipients")
    link_for = link_maker(report.plan_links, config.output_dir)
    lists_today = caseworker_lists_today(report, as_of)  # settings checked before any work
    registry = registry_for(config)
    try:
        findings = evaluate(registry.load_facts(), as_of, settings)
    finally:
        registry.close()
    organisation = config.organisation_name
    items = report.digest_items
    folder = reports_dir(config)
    xlsx, pdf = _write_pair(folder, f"overdue-{as_of.isoformat()}", findings, as_of, settings,
                            "Overdue report", organisation, items, link_for)
    result = ReportResult(as_of, findings, xlsx, pdf)
    echo(f"wrote {xlsx}")
    echo(f"wrote {pdf}")
    routing = route(findings, routes, no_team_recipients, lists_today)
    result.unrouted_teams = routing.unrouted_teams
    result.no_team_households = routing.no_team_households
    for team in result.unrouted_teams:
        result.notes.append(f'no manager is set for team "{team}": add it under '
                            "[report.teams] in config.toml to e-mail its findings")
    if routing.no_team_households:
        sent_to = ("sent to [report] no_team_recipients" if no_team_recipients else
                   "set [report] no_team_recipients in config.toml to e-mail them")
        result.notes.append(f"{routing.no_team_households} household(s) with findings have "
                            f"no team in their workbook: {sent_to}")

    smtp = config.settings.smtp
    if not email:
        return result
    if not smtp.host:
        result.notes.append("e-mail is off ([smtp] host is empty in config.toml); "
                            "the report files are written")
        return result
    written: dict[tuple[str, tuple[int, ...]], tuple[Path, Path]] = {}
    for parcel in routing.parcels:
        about, part = parcel_label(parcel)
        stem = f"overdue-{as_of.isoformat()}-{part}"
        # Recipients with the same findings (a team's managers) share one pair of files.
        same = (about, tuple(id(item) for item in parcel.findings))
        if dry_run:
            attachments = (Path(f"{stem}.xlsx"), Path(f"{stem}.pdf"))
        elif same in written:
            attachments = written[same]
        else:
            attachments = written[same] = _write_pair(
                folder / "recipients", stem, parcel.findings, as_of, settings,
                f"Overdue report: {about}", organisation, items, link_for)
        subject_format = report.caseworker_subject if parcel.caseworker_only else report.subject
        subject = subject_format.format(team=about, date=f"{as_of:%d/%m/%Y}")
        delivery = Delivery(about, (parcel.address,), subject,
                            message_body(parcel, as_of, attachments), tuple(attachments))
        result.deliveries.append(delivery)
        if not dry_run:
            result.queued.append(queue(outbox_dir(config), delivery, smtp.sender, stem))
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
        return send_pending(outbox_dir(config), config.settings.smtp, claims)
    finally:
        registry.close()


def daily_report_time(config: Config) -> time | None:
    """[report] daily_at as a time, or None when the daily report is off."""
    text = config.settings.report.daily_at.strip()
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
