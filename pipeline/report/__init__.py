"""Overdue reports for managers: Excel, a one-page PDF digest, and e-mail by team."""

from .run import (
    ReportError,
    ReportResult,
    daily_report_time,
    run_daily_report,
    run_report,
)

__all__ = ["ReportError", "ReportResult", "daily_report_time", "run_daily_report",
           "run_report"]
