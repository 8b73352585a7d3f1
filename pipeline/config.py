"""Settings: one commented default file, parsed for the defaults, merged with the user's file.

`DEFAULT_CONFIG_TOML` is the single place for every setting and its default: `supportplan
init` writes it out as the workspace's config.toml, and `load_config` parses it as the base
that a user's file overrides. A setting added here is documented and defaulted at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .settings import Settings

CONFIG_FILENAME = "config.toml"

DEFAULT_CONFIG_TOML = """\
# supportplan settings. Every setting is shown with its default; change what you need.
# Relative paths are relative to the folder this file is in (the workspace).

[organisation]
# Shown at the top of every plan.
name = "Example Support Service"
# Optional contact line printed under the organisation name (phone, address).
contact = ""
# Printed in the plan's "Who to contact" section, beside the caseworker's name and e-mail:
# how a household reaches you in office hours (a build warns when this and `contact` are
# both empty), out of hours, and in a crisis.
phone = ""
out_of_hours = ""
crisis = ""

[paths]
# Hot folder: one workbook per household. Signed scans go in intake/scans/.
intake = "intake"
# Generated plans and reports. Never edit files here by hand.
output = "output"
# The Word template. Restyle it in Word; keep the {{ ... }} tags intact, and run
# `supportplan template check` after editing it.
template = "templates/support_plan.docx"
# Files written here (plans, reports, the registry, scans) are readable by their owner
# only; true lets the owner's group read them too (a shared office account group).
share_with_group = false
# The plan's fixed wording in every language: gettext catalogues (<language>.po), edited in
# a text editor or Poedit. What is missing here comes from the catalogues supportplan ships.
translations = "translations"

[registry]
# Where plan versions, steps and sign-offs are recorded (SQLAlchemy URL).
# A relative sqlite path is relative to the workspace. For several offices use e.g.
# "postgresql+psycopg://user@host/supportplan".
url = "sqlite:///supportplan.sqlite"
# How long a command waits while another is writing to a SQLite registry, before it
# stops with a message (it retries all the while).
wait_seconds = 30

[queue]
# With a PostgreSQL registry, work is shared across machines: `supportplan watch` and
# `supportplan build --queue` put jobs in a queue kept in the registry's database, and
# `supportplan worker` processes on any machine run them. A job that fails is tried again
# this many times, waiting longer each time.
retries = 5
# A worker tells the others it is alive this often (seconds); one silent for
# stalled_after_seconds is taken for dead and its unfinished job is run again elsewhere.
heartbeat_seconds = 10
stalled_after_seconds = 30

[plan]
# Review date when the workbook leaves it blank: plan date + this many months.
review_interval_months = 3
# Plans are in the household's "Preferred language" (Household sheet) when translations/
# has it: ar (Arabic), fa_AF (Dari), ps (Pashto), ti (Tigrinya), uk (Ukrainian), fr
# (French), en (English). A household that names no language gets this one.
language = "en"
# true: the household's language with English under each heading, column title and
# sentence, so the caseworker can follow; false: the household's language alone.
bilingual = true
# Large print for people with low vision: 14 pt body text instead of 10 pt.
large_print = false
# The longest plan a workbook may ask for. Every page carries a code for its page number
# (at most 255 pages), and LibreOffice needs longer the longer the plan: at these limits a
# plan is at most about 130 pages and `build` takes about 4 seconds (bench/plan_size.py).
max_steps = 300
# Characters in goals, strengths, steps and the safety plan together; a line break counts
# as 30, because it leaves the rest of its line empty.
max_plan_characters = 200000

[intake]
# Each workbook is read in a separate process, so that a damaged or crafted file cannot
# hang or exhaust a batch or the watcher. A read taking longer than this is stopped ...
read_timeout_seconds = 30.0
# ... and so is one needing more memory than this (megabytes).
read_memory_mb = 1024

[pdf]
# Make a PDF of every plan with LibreOffice. Set false for DOCX only.
enabled = true
# Path to LibreOffice's soffice program; empty means search the PATH.
soffice = ""
# A conversion taking longer than this is killed and reported as failed.
timeout_seconds = 180
# LibreOffice processes run side by side in a batch (one per CPU core is right).
workers = 2
# Documents converted per LibreOffice process start (start-up costs about a second).
batch_size = 25
# true: PDF/A-2 (ISO 19005-2), for archives that keep records for years: fonts embedded,
# colour profile and metadata included. Every PDF is tagged (headings, tables, reading
# order, language) for screen readers either way.
archival = false

[convert]
# How `build` and `watch` turn plans into PDFs: LibreOffice processes kept running ("warm"),
# converting side by side while the next households are read and rendered.
# Plans made at once (`--jobs`): LibreOffice converters, and as many processes filling in
# and stamping plans; 0 means one per CPU core.
jobs = 0
# Keep LibreOffice running between documents (much faster). Needs LibreOffice's Python
# bindings (Debian: python3-uno); without them each batch starts LibreOffice afresh.
warm = true
# Restart each warm converter after this many documents (LibreOffice grows over time).
recycle_after = 200
# The Python that has LibreOffice's `uno` module; empty means try /usr/bin/python3.
uno_python = ""

[report]
# Overdue reports (`supportplan report`): output/reports/overdue-<date>.xlsx and .pdf,
# evaluated as of a date (default today). Households with a "Closed on" date on or before
# that date are left out.
# A step whose target date is within this many days is listed as "due soon".
due_soon_days = 7
# A plan version issued more than this many days ago with a signature missing is "unsigned".
unsigned_after_days = 14
# A review date within this many days is listed as "review due".
review_due_days = 14
# No Weekly reviews entry for more than this many days is "weekly review missing".
weekly_review_days = 7
# Items overdue more than this many days are marked for the team lead ...
escalate_team_lead_days = 7
# ... and more than this many days for the service manager.
escalate_service_manager_days = 14
# `supportplan watch` makes and sends the report daily at this local time (HH:MM);
# empty means never.
daily_at = "07:00"
# E-mail subject; {team} and {date} are filled in.
subject = "Support plans: overdue items for {team} as of {date}"
# How many of the most overdue items the one-page PDF digest lists.
digest_items = 12
# Links to the plans in the report: "" = each plan's own file: address on this machine.
# Where the readers open the output folder elsewhere, give that place instead: a shared
# drive (in single quotes: '\\\\fileserver\\plans' or 'S:\\plans') or an intranet address
# ("https://intranet.example.org/plans"); each plan's path under output/ is added to it.
plan_links = ""
# Households whose workbook names no team: their findings go to these addresses (the
# report says how many households had no team either way).
no_team_recipients = []
# true: each caseworker with a Caseworker email on the Household sheet also receives their
# own list (their households only), on this day of the week.
caseworker_lists = false
caseworker_list_day = "Monday"
# Subject of a caseworker's own list; {date} is filled in.
caseworker_subject = "Support plans: your list as of {date}"

[report.teams]
# Who receives each team's findings (and only that team's), the team name exactly as in
# the workbooks' Team cell. Each address receives one message with only what is theirs.
# [report.teams.North]
# managers = ["north.manager@example.org"]          # every finding of the team
# team_lead = ["north.lead@example.org"]            # findings marked for the team lead
# service_manager = ["service.manager@example.org"]  # findings marked for the service manager
# The short form means managers: "South" = ["south.manager@example.org"]
# Teams not listed get no e-mail (the report names them).

[smtp]
# Mail server for overdue reports. Empty host means no e-mail is sent (files only).
host = ""
# 587 for STARTTLS, 465 for TLS.
port = 587
# "starttls", "tls" (encrypted from the start) or "none" (only for a server on this machine).
security = "starttls"
# Login name; empty means no login.
user = ""
# The password is never written here: it is read from this environment variable.
password_env = "SUPPORTPLAN_SMTP_PASSWORD"
# The From address.
sender = "supportplan@example.org"
# A certificate authority to trust besides the system's (PEM file), for a mail server
# whose certificate the organisation issued itself; "" = the system's only.
ca_file = ""
timeout_seconds = 30

[reconcile]
# Print QR codes and alignment marks on every PDF page and record where the signature and
# tick boxes are, so signed scans can be read back with `supportplan reconcile`.
stamp = true
# Scans are kept unchanged under this folder, named by their content hash.
archive = "output/scans"
# Box decisions: below `blank_below` the box is blank, above `marked_above` it is signed
# or ticked, in between it is left for a person to check ("review").
signature_blank_below = 0.25
signature_marked_above = 0.75
tick_blank_below = 0.25
tick_marked_above = 0.75
# Resolution (dots per inch) the reconciler works at after aligning a scan.
work_dpi = 150
# Pages larger than this many megapixels are refused (a 20000x20000 image is 400).
max_megapixels = 120.0

[retention]
# `supportplan purge` removes households closed longer than this: their workbook, plans,
# review packs, scans, registry rows and the reports and queued e-mails that mention them.
# A number with y (years), m (months) or d (days), e.g. "6y", "18m", "90d".
closed_for = "6y"

[watch]
# Seconds a saved workbook must stay unchanged before it is built.
debounce_seconds = 1.0
# Use polling instead of native file events (for network shares).
polling = false
# Seconds between polls in polling mode.
polling_interval_seconds = 1.0
# Seconds between full rescans of the intake folder (a safety net for missed events).
rescan_seconds = 300
# Older names of [convert] settings, read only when [convert] leaves them at their
# defaults, so an existing config.toml keeps working: converter_max_documents is
# [convert] recycle_after, warm_converter is warm, converters is jobs (1 meant the old
# default, now one per core), uno_python is uno_python.
converter_max_documents = 200
warm_converter = true
converters = 1
uno_python = ""
# A file that stays quiet but never opens as a workbook (damaged, or an upload stalled)
# is built anyway after this many seconds, so its error report appears.
incomplete_wait_seconds = 10.0
# Workbooks larger than this are reported as errors instead of being read.
max_workbook_mb = 50
# When the disk is full or the registry stays busy, building pauses and tries again after
# this many seconds (nothing is lost meanwhile).
retry_after_seconds = 60
"""


class ConfigError(SettingsError):
    """The config file is missing, unreadable or has a bad value."""


@dataclass(frozen=True)
class Config:
    """Settings with paths resolved against the workspace folder."""

    root: Path
    values: dict[str, Any]
    source: Path | None

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    @cached_property
    def settings(self) -> Settings:
        """The same values, typed: `config.settings.pdf.timeout_seconds`."""
        return Settings.from_values(self.values)

    def path(self, key: str) -> Path:
        return (self.root / self.values["paths"][key]).resolve()

    @property
    def intake_dir(self) -> Path:
        return self.path("intake")

    @property
    def scans_dir(self) -> Path:
        return self.intake_dir / "scans"

    @property
    def output_dir(self) -> Path:
        return self.path("output")

    @property
    def template_path(self) -> Path:
        return self.path("template")

    @property
    def organisation_name(self) -> str:
        return str(self.values["organisation"]["name"])

    @property
    def registry_url(self) -> str:
        url = str(self.values["registry"]["url"])
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.root / url[len(prefix) :]).resolve())
        return url

    @property
    def registry_file(self) -> Path | None:
        """The SQLite registry's database file (None for PostgreSQL or in memory)."""
        url, prefix = self.registry_url, "sqlite:///"
        if not url.startswith(prefix) or ":memory:" in url or "?" in url:
            return None
        return Path(url[len(prefix):])


def default_values() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_CONFIG_TOML)


def find_config(start: Path) -> Path | None:
    """config.toml in `start` or the nearest parent that has one."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load `path`, or find config.toml from `cwd` upwards; defaults when there is none."""
    if path is None:
        path = find_config(cwd or Path.cwd())
        if path is None:
            return Config(root=(cwd or Path.cwd()).resolve(), values=default_values(), source=None)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Create one with `supportplan init`.")
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the line named, or re-create "
                          "the file with `supportplan init`.") from exc
    values = _merge(default_values(), user, path)
    return Config(root=path.parent.resolve(), values=values, source=path.resolve())


def _merge(defaults: dict[str, Any], user: dict[str, Any], path: Path) -> dict[str, Any]:
    merged = {section: dict(settings) for section, settings in defaults.items()}
    for section, settings in user.items():
        if section not in defaults or not isinstance(settings, dict):
            raise ConfigError(f"{path}: unknown section [{section}]. Known sections: "
                              f"{', '.join(defaults)}.")
        for key, value in settings.items():
            if key not in defaults[section]:
                raise ConfigError(f"{path}: unknown setting {key!r} in [{section}]. Known: "
                                  f"{', '.join(defaults[section])}.")
            expected = type(defaults[section][key])
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(f"{path}: [{section}] {key} must be a {expected.__name__}, "
                                  f"not {value!r}.")
            merged[section][key] = value
    return merged
