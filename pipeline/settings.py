"""The settings as typed values, one frozen dataclass per section of `config.toml`.

Built once per Config from its merged values (`DEFAULT_CONFIG_TOML` under the user's file,
already checked there for unknown keys and wrong types), so code reads
`config.settings.pdf.timeout_seconds` as a float instead of casting a dictionary lookup at
every call site. The keys and defaults stay in `DEFAULT_CONFIG_TOML` alone; a test keeps
these fields and its keys the same.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, get_type_hints


@dataclass(frozen=True)
class OrganisationSection:
    name: str
    contact: str
    phone: str
    out_of_hours: str
    crisis: str


@dataclass(frozen=True)
class PathsSection:
    intake: str
    output: str
    template: str
    share_with_group: bool
    translations: str


@dataclass(frozen=True)
class RegistrySection:
    url: str
    wait_seconds: float


@dataclass(frozen=True)
class QueueSection:
    retries: int
    heartbeat_seconds: int
    stalled_after_seconds: int


@dataclass(frozen=True)
class PlanSection:
    review_interval_months: int
    language: str
    bilingual: bool
    large_print: bool
    max_steps: int
    max_plan_characters: int


@dataclass(frozen=True)
class IntakeSection:
    read_timeout_seconds: float
    read_memory_mb: int


@dataclass(frozen=True)
class PdfSection:
    enabled: bool
    soffice: str
    timeout_seconds: float
    workers: int
    batch_size: int
    archival: bool


@dataclass(frozen=True)
class ConvertSection:
    jobs: int
    warm: bool
    recycle_after: int
    uno_python: str


@dataclass(frozen=True)
class ReportSection:
    due_soon_days: int
    unsigned_after_days: int
    review_due_days: int
    weekly_review_days: int
    escalate_team_lead_days: int
    escalate_service_manager_days: int
    daily_at: str
    subject: str
    digest_items: int
    plan_links: str
    # As written, checked where the report reads them (pipeline/report/routing.py, which
    # turns [report.teams] into typed `TeamRoute`s, the older `"North" = [...]` form as
    # managers): Settings are built for every command, and a mistyped address should stop
    # the report and the watcher's start with its message, not `build`.
    no_team_recipients: list
    caseworker_lists: bool
    caseworker_list_day: str
    caseworker_subject: str
    teams: dict


@dataclass(frozen=True)
class SmtpSection:
    host: str
    port: int
    security: str
    user: str
    password_env: str
    sender: str
    ca_file: str
    timeout_seconds: float


@dataclass(frozen=True)
class ReconcileSection:
    stamp: bool
    archive: str
    signature_blank_below: float
    signature_marked_above: float
    tick_blank_below: float
    tick_marked_above: float
    work_dpi: int
    max_megapixels: float


@dataclass(frozen=True)
class RetentionSection:
    closed_for: str


@dataclass(frozen=True)
class WatchSection:
    debounce_seconds: float
    polling: bool
    polling_interval_seconds: float
    rescan_seconds: float
    converter_max_documents: int
    warm_converter: bool
    converters: int
    uno_python: str
    incomplete_wait_seconds: float
    max_workbook_mb: int
    retry_after_seconds: float


@dataclass(frozen=True)
class Settings:
    organisation: OrganisationSection
    paths: PathsSection
    registry: RegistrySection
    queue: QueueSection
    plan: PlanSection
    intake: IntakeSection
    pdf: PdfSection
    convert: ConvertSection
    report: ReportSection
    smtp: SmtpSection
    reconcile: ReconcileSection
    retention: RetentionSection
    watch: WatchSection

    @classmethod
    def from_values(cls, values: dict[str, dict[str, Any]]) -> Settings:
        return cls(**{name: _section(kind, values[name])
                      for name, kind in get_type_hints(cls).items()})


def _section(kind: type, values: dict[str, Any]) -> Any:
    """`kind` from one section's values, each cast to its field's type (TOML writes 180
    for a float setting)."""
    types = get_type_hints(kind)
    return kind(**{field.name: types[field.name](values[field.name])
                   for field in fields(kind)})
