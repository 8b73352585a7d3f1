"""Who receives what: routing by team and role, no-team households, caseworkers' own lists,
each recipient's one message, against a real SMTP server (plain, STARTTLS and TLS with a
login, with a certificate made here)."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from conftest import valid_household, write_household
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from openpyxl import load_workbook
from sqlalchemy import update

from pipeline import registry as r
from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.finding_kinds import SERVICE_MANAGER, TEAM_LEAD
from pipeline.overdue import HOUSEHOLD_STEP, STEP_OVERDUE, Finding
from pipeline.report import run_report
from pipeline.report.links import LinkSettingError, link_maker
from pipeline.report.routing import RoutingError, route, routes_from_config
from pipeline.report.run import outbox_dir

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- routing, as data ------------------------------------------------------------------

def finding(reference: str, team: str, escalation: str = "", kind: str = STEP_OVERDUE,
            email: str = "") -> Finding:
    return Finding(kind=kind, reference=reference, caseworker="Jo Whitfield", team=team,
                   due=date(2025, 1, 1), days_overdue=20, escalation=escalation,
                   caseworker_email=email)


def test_roles_get_their_share_and_each_address_one_parcel() -> None:
    routes = routes_from_config({
        "North": {"managers": ["m@x.org"], "team_lead": ["lead@x.org"],
                  "service_manager": ["sm@x.org"]},
        "South": ["south@x.org", "SM@x.org"]})  # the older form: managers
    plain, lead, severe = (finding("HH-1", "North"), finding("HH-2", "North", TEAM_LEAD),
                           finding("HH-3", "North", SERVICE_MANAGER))
    south = finding("HH-4", " south ")  # team names match ignoring case and spaces
    routing = route([plain, lead, severe, south], routes)
    parcels = {p.address.casefold(): p for p in routing.parcels}
    assert set(parcels) == {"m@x.org", "lead@x.org", "sm@x.org", "south@x.org"}
    assert parcels["m@x.org"].findings == [plain, lead, severe]
    assert parcels["lead@x.org"].findings == [lead, severe]
    # one parcel for the service manager of North who also manages South, with both reasons
    assert parcels["sm@x.org"].findings == [severe, south]
    assert len(parcels["sm@x.org"].reasons) == 2 and parcels["sm@x.org"].teams == [
        "North", "South"]
    assert routing.unrouted_teams == [] and routing.no_team_households == 0


def test_no_team_and_unrouted_teams_and_caseworker_lists() -> None:
    routes = routes_from_config({"North": ["m@x.org"]})
    findings = [finding("HH-1", "North", email="jo@x.org"),
                finding("HH-2", "(no team)", email="jo@x.org"),
                finding("HH-2", "(no team)", kind=HOUSEHOLD_STEP),
                finding("HH-3", "West", email="ana@x.org")]
    routing = route(findings, routes, ["intake@x.org"], caseworker_lists=True)
    parcels = {p.address: p for p in routing.parcels}
    assert parcels["intake@x.org"].findings == findings[1:3]
    assert routing.no_team_households == 1 and routing.unrouted_teams == ["West"]
    assert parcels["jo@x.org"].findings == findings[:2] and parcels["jo@x.org"].caseworker_only
    assert parcels["ana@x.org"].findings == [findings[3]]
    off = route(findings, routes, [], caseworker_lists=False)
    assert [p.address for p in off.parcels] == ["m@x.org"]


@pytest.mark.parametrize("teams", [{"North": []}, {"North": {"manager": ["a@x.org"]}},
                                   {"North": {"team_lead": "not an address"}},
                                   {"North": {}}])
def test_wrong_team_settings_say_what_to_write(teams: dict) -> None:
    with pytest.raises(RoutingError, match="config.toml"):
        routes_from_config(teams)


def test_plan_links_are_absolute(tmp_path: Path) -> None:
    output = tmp_path / "output"
    plan = str(output / "HH-1" / "support-plan-HH-1-v1.pdf")
    assert link_maker("", output)(plan) == f"file://{plan}"
    assert link_maker("", output)(None) is None
    assert link_maker("https://intranet.example.org/plans/", output)(plan) == (
        "https://intranet.example.org/plans/HH-1/support-plan-HH-1-v1.pdf")
    assert link_maker("\\\\fileserver\\plans", output)(plan) == (
        "file://fileserver/plans/HH-1/support-plan-HH-1-v1.pdf")
    assert link_maker("S:\\plans", output)(plan) == (
        "file:///S:/plans/HH-1/support-plan-HH-1-v1.pdf")
    assert link_maker("/mnt/plans", output)(plan) == (
        "file:///mnt/plans/HH-1/support-plan-HH-1-v1.pdf")
    elsewhere = str(tmp_path / "old" / "x y.pdf")  # not under output/: its own address
    assert link_maker("/mnt/plans", output)(elsewhere) == f"file://{tmp_path}/old/x%20y.pdf"
    with pytest.raises(LinkSettingError, match="plan_links"):
        link_maker("plans", output)


# --- a real SMTP server ------------------------------------------------------------------

@dataclass
class Inbox:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[attr-defined]
        return "250 Message accepted"

    def authenticate(self, server: object, session: object, envelope: object,
                     mechanism: str, data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"reports", b"s3cret")
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok)

    def by_address(self) -> dict[str, EmailMessage]:
        result: dict[str, EmailMessage] = {}
        for recipients, message in self.messages:
            for address in recipients:
                assert address not in result, f"{address} got two messages"
                result[address] = message
        return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def body(message: EmailMessage) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {str(part.get_filename()): part.get_content() for part in message.iter_attachments()}


def sheet_rows(data: bytes, sheet: str) -> list[dict[str, object]]:
    rows = list(load_workbook(io.BytesIO(data))[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:] if row[1] is not None]


def late_date() -> date:
    return date.today() + timedelta(days=120)  # every step late, every review overdue


def workspace_with(workspace: Config, smtp: str, report: str = "", teams: str = "") -> Config:
    households = (("HH-0001", "North", "Jo Whitfield", "jo@example.org"),
                  ("HH-0002", "South", "Ana Lima", "ana@example.org"),
                  ("HH-0003", "West", "Jo Whitfield", "jo@example.org"),
                  ("HH-0004", "", "Jo Whitfield", "jo@example.org"))
    for reference, team, caseworker, email in households:
        write_household(workspace, valid_household(reference, team=team, caseworker=caseworker,
                                                   caseworker_email=email))
    outcomes = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert [o.status for o in outcomes] == ["built"] * 4
    registry = r.registry_for(workspace)
    try:  # plans as a build with PDFs records them (the files themselves are not needed)
        with registry.engine.begin() as conn:
            for reference, *_ in households:
                conn.execute(update(r.plan_versions).where(
                    r.plan_versions.c.household == reference).values(
                    pdf_path=f"output/{reference}/support-plan-{reference}-v1.pdf"))
    finally:
        registry.close()
    assert workspace.source is not None
    workspace.source.write_text(f"[report]\n{report}\n[report.teams]\n{teams}\n[smtp]\n{smtp}\n",
                                encoding="utf-8")
    return load_config(workspace.source)


def plain_smtp(port: int) -> str:
    return (f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'sender = "plans@example.org"\ntimeout_seconds = 5\n')


TEAMS = """South = ["south.manager@example.org", "service.manager@example.org"]
[report.teams.North]
managers = ["north.manager@example.org"]
team_lead = ["north.lead@example.org"]
service_manager = ["service.manager@example.org"]
"""


def test_each_recipient_gets_one_message_with_only_what_is_theirs(
        workspace: Config, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    as_of = late_date()
    config = workspace_with(workspace, plain_smtp(port), teams=TEAMS, report=(
        'no_team_recipients = ["intake.lead@example.org"]\ncaseworker_lists = true\n'
        f'caseworker_list_day = "{WEEKDAYS[as_of.weekday()]}"\n'
        'plan_links = "https://intranet.example.org/plans"\n'))
    result = run_report(config, as_of)
    assert not result.failed and not list(outbox_dir(config).glob("*.eml"))
    assert result.unrouted_teams == ["West"] and result.no_team_households == 1
    assert any("1 household(s) with findings have no team" in n for n in result.notes)
    received = inbox.by_address()
    assert set(received) == {"north.manager@example.org", "north.lead@example.org",
                             "service.manager@example.org", "south.manager@example.org",
                             "intake.lead@example.org", "jo@example.org", "ana@example.org"}
    expected = {"north.manager@example.org": {"HH-0001"}, "north.lead@example.org": {"HH-0001"},
                "service.manager@example.org": {"HH-0001", "HH-0002"},
                "south.manager@example.org": {"HH-0002"},
                "intake.lead@example.org": {"HH-0004"},
                "jo@example.org": {"HH-0001", "HH-0003", "HH-0004"},
                "ana@example.org": {"HH-0002"}}
    for address, references in expected.items():
        message = received[address]
        raw = message.as_bytes()
        for other in {"HH-0001", "HH-0002", "HH-0003", "HH-0004"} - references:
            assert other.encode() not in raw, (address, other)  # not in text nor attachments
        text = body(message)
        assert all(reference in text for reference in references), address
        assert "Why you receive this:" in text and "Summary by caseworker:" in text
        # the household's members are not named in the message (the workbook has them)
        assert "Yusuf" not in text and "أمينة" not in text and "Layla" not in text
        assert text.index("Summary by caseworker:") < text.index("What we need to do:")
        [workbook] = [data for name, data in attachments(message).items()
                      if name.endswith(".xlsx")]
        for row in sheet_rows(workbook, STEP_OVERDUE):
            assert str(row["Plan"]) == "v1 PDF"
        links = load_workbook(io.BytesIO(workbook))[STEP_OVERDUE]
        assert {c.hyperlink.target for c in links["M"][1:] if c.hyperlink} <= {
            f"https://intranet.example.org/plans/{ref}/support-plan-{ref}-v1.pdf"
            for ref in references}
        # household-held steps: only where the recipient's role reaches them
        household_refs = {row["Reference"] for row in sheet_rows(workbook, HOUSEHOLD_STEP)}
        assert household_refs <= references

    manager = body(received["north.manager@example.org"])
    assert "you manage team North: every finding of the team" in manager
    assert "Jo Whitfield: 1 household; " in manager
    # every line: reference, what is late (the step's words), how long, who holds it
    line = re.search(r"HH-0001 · Step overdue: Refer to the housing register / Gather "
                     r"payslips · (\d+) days late · held by us and the household · for the "
                     r"service manager", manager)
    assert line and int(line.group(1)) > 14
    assert re.search(r"HH-0001 · Plan unsigned: v1 waiting for \d signatures \([A-Za-z, ]+\) · "
                     r"\d+ days late · held by us", manager)
    assert re.search(r"HH-0001 · Step to raise with household: Go to the ESOL assessment day "
                     r"· \d+ days late · held by the household · for the team lead", manager)
    # the household's own step never reaches the service manager; it does reach the lead
    service = received["service.manager@example.org"]
    assert "you are service manager for North" in body(service)
    assert "you manage team South" in body(service)
    service_book = [d for n, d in attachments(service).items() if n.endswith(".xlsx")][0]
    assert {row["Reference"] for row in sheet_rows(service_book, HOUSEHOLD_STEP)} == {"HH-0002"}
    assert "ESOL" in body(received["north.lead@example.org"])

    own = received["jo@example.org"]
    assert own["Subject"] == f"Support plans: your list as of {as_of:%d/%m/%Y}"
    assert "Steps the household holds, to raise at the next conversation" in body(own)
    assert "Ana Lima" not in body(own)


def test_caseworker_lists_only_on_their_day_and_only_when_switched_on(
        workspace: Config, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    as_of = late_date()
    other_day = WEEKDAYS[(as_of.weekday() + 1) % 7]
    config = workspace_with(workspace, plain_smtp(port), teams='North = ["m@example.org"]',
                            report=f'caseworker_lists = true\ncaseworker_list_day = '
                            f'"{other_day}"\n')
    run_report(config, as_of)
    assert set(inbox.by_address()) == {"m@example.org"}
    assert any("no team in their workbook: set [report] no_team_recipients" in note
               for note in run_report(config, as_of, email=False).notes)


def test_failed_send_is_kept_and_retried_next_run(workspace: Config,
                                                  smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    config = workspace_with(workspace, plain_smtp(free_port()), teams=TEAMS)  # nobody there
    as_of = late_date()
    first = run_report(config, as_of)
    assert len(first.failed) == 4 and first.xlsx.is_file()
    assert len(list(outbox_dir(config).glob("*.eml"))) == 4 and not inbox.messages

    assert config.source is not None
    config.source.write_text(config.source.read_text().replace(
        f"port = {config.values['smtp']['port']}", f"port = {port}"), encoding="utf-8")
    second = run_report(load_config(config.source), as_of)
    assert not second.failed
    assert len(inbox.messages) == 8  # four retried from the first run, four new
    assert second.xlsx != first.xlsx and first.xlsx.is_file()  # nothing overwritten
    assert not list(outbox_dir(config).glob("*.eml"))


def test_cli_dry_run_sends_nothing(workspace: Config, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    config = workspace_with(workspace, plain_smtp(port), teams=TEAMS)
    as_of = late_date()
    result = CliRunner().invoke(main, ["report", "--config", str(config.source), "--as-of",
                                       as_of.isoformat(), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would e-mail north.lead@example.org (North)" in result.output
    assert "would e-mail service.manager@example.org (North, South)" in result.output
    assert 'no manager is set for team "West"' in result.output
    assert not inbox.messages and not list(outbox_dir(config).glob("*.eml"))
    assert (config.output_dir / "reports" / f"overdue-{as_of.isoformat()}.xlsx").is_file()
    bad = CliRunner().invoke(main, ["report", "--config", str(config.source), "--as-of",
                                    "31/02/2025"])
    assert bad.exit_code == 2 and "dd/mm/yyyy" in bad.output


# --- encrypted connections with a login ------------------------------------------------

def throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made for this test only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supportplan test mail")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_encrypted_connection_with_login(workspace: Config, tmp_path: Path, security: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = throwaway_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    if security == "starttls":  # plain first, STARTTLS required before the login
        controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, auth_required=True,
                                auth_require_tls=True, authenticator=inbox.authenticate)
    else:  # encrypted from the first byte (aiosmtpd cannot tell, so it is not asked to)
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context,
                                auth_required=True, auth_require_tls=False,
                                authenticator=inbox.authenticate, server_hostname="127.0.0.1")
    controller.start()
    try:
        smtp = (f'host = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
                f'user = "reports"\nca_file = "{cert}"\nsender = "plans@example.org"\n'
                "timeout_seconds = 5\n")
        config = workspace_with(workspace, smtp, teams='North = ["m@example.org"]')
        monkeypatch.setenv("SUPPORTPLAN_SMTP_PASSWORD", "wrong")
        refused = run_report(config, late_date())
        [wrong] = refused.failed  # a wrong password fails, and stays queued
        assert wrong.error and not inbox.messages and not inbox.logins
        monkeypatch.setenv("SUPPORTPLAN_SMTP_PASSWORD", "s3cret")
        assert config.source is not None
        untrusted = load_config(config.source)
        untrusted.values["smtp"]["ca_file"] = ""  # the certificate is not trusted
        failed = run_report(untrusted, late_date()).failed
        assert len(failed) == 2 and not inbox.messages
        assert "CERTIFICATE_VERIFY_FAILED" in str(failed[0].error)
        result = run_report(config, late_date())
        assert not result.failed and inbox.logins
        assert [rcpts for rcpts, _ in inbox.messages] == [["m@example.org"]] * 3
    finally:
        controller.stop()


def test_the_watcher_refuses_wrong_report_settings_when_it_starts(workspace: Config) -> None:
    from pipeline.report.run import ReportError, check_settings

    assert workspace.source is not None
    for report in ('plan_links = "plans"', 'caseworker_list_day = "Mon"',
                   'no_team_recipients = ["nobody"]'):
        workspace.source.write_text(f"[report]\n{report}\n", encoding="utf-8")
        with pytest.raises(ReportError, match="config.toml"):
            check_settings(load_config(workspace.source))
    workspace.source.write_text('[report.teams]\nNorth = "north@example.org"\n',
                                encoding="utf-8")
    check_settings(load_config(workspace.source))
