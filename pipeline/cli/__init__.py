"""The `supportplan` command (console script `pipeline.cli:main`)."""

from . import building, cycle, paper, plans, queue, registry, reports, templates  # noqa: F401
from .base import main

__all__ = ["main"]
