"""Overdue reports: Excel, a one-page PDF digest, and e-mail to each recipient (by team and
role, and caseworkers' own lists)."""

from .run import (
    ReportError,
    ReportResult,
    daily_report_time,
    run_daily_report,
    run_report,
)

__all__ = ["ReportError", "ReportResult", "daily_report_time", "run_daily_report",
           "run_report"]
