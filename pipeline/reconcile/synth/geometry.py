"""The printed page's fixed geometry (shared with the stamper and the reader)."""

from __future__ import annotations

from ...printed import Bbox, PageLayout, marker_positions, qr_positions

__all__ = ["Bbox", "PageLayout", "marker_positions", "qr_positions"]
