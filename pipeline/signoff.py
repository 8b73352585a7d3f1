"""Sign-off facts read from scans: box kinds and states, and what one scanned page showed.

Plain data shared by the reader (pipeline/reconcile), the registry and the overdue rules.
`PageResult.to_json` is the contract printed by `supportplan reconcile --json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BoxKind(StrEnum):
    SIGNATURE = "signature"
    TICK = "tick"

    @property
    def marked(self) -> BoxState:
        """The state that means someone marked this kind of box."""
        return BoxState.SIGNED if self is BoxKind.SIGNATURE else BoxState.TICKED

    @property
    def decisions(self) -> tuple[BoxState, BoxState]:
        """What a person may decide for a box of this kind."""
        return (self.marked, BoxState.BLANK)


class BoxState(StrEnum):
    SIGNED = "signed"
    TICKED = "ticked"
    BLANK = "blank"
    REVIEW = "review"  # uncertain: waits for a person's decision


class PageStatus(StrEnum):
    MATCHED = "matched"
    QUARANTINED = "quarantined"


Bbox = tuple[float, float, float, float]


@dataclass
class BoxResult:
    kind: BoxKind
    key: str  # signer key or step id
    role: str  # the signer's role (signatures)
    state: BoxState
    score: float
    bbox: Bbox
    reason: str = ""  # why a box went to review, in words
    reading_id: int | None = None  # the registry row, once recorded (for decisions)
    crop: str | None = None  # the crop image, relative to the workspace


SIGNING_DATE = "signing date"  # a Mark kind: expected writing, not a change


@dataclass
class Mark:
    bbox: Bbox
    kind: str  # "strike-through", "note", or "signing date" (expected, not a change)

    @property
    def is_change(self) -> bool:
        """Whether it may change the plan (a date beside a signature does not)."""
        return self.kind != SIGNING_DATE


@dataclass
class PageResult:
    """One page of one scan."""

    file: str
    page_index: int  # 0-based position in the scanned file
    status: PageStatus
    reason: str = ""  # why the page was quarantined
    household: str | None = None
    version: int | None = None
    page: int | None = None  # 1-based page of the plan version
    version_id: int | None = None
    boxes: list[BoxResult] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    fit_mm: float | None = None
    # What limits the reading: a black-and-white or low-resolution scan, in words.
    notes: list[str] = field(default_factory=list)
    # The household's newest version when this page is of an older one (sign that one).
    superseded_by: int | None = None
    review_id: int | None = None  # a page of a formal review pack, not of the plan itself

    @property
    def matched(self) -> bool:
        return self.status is PageStatus.MATCHED

    def count(self, state: BoxState) -> int:
        return sum(box.state == state for box in self.boxes)

    def boxes_of(self, kind: BoxKind) -> list[BoxResult]:
        return [box for box in self.boxes if box.kind == kind]

    def superseded_note(self) -> str:
        if self.superseded_by is None:
            return ""
        return (f"this is a scan of v{self.version}, but v{self.superseded_by} exists and is "
                f"the one to sign")

    @property
    def changes(self) -> list[Mark]:
        """Handwriting that may have changed the plan on paper."""
        return [mark for mark in self.marks if mark.is_change]

    def summary(self) -> str:
        """One line: what the page is and what was found (no personal names)."""
        if not self.matched:
            return self.reason
        signatures = self.boxes_of(BoxKind.SIGNATURE)
        parts = [f"{self.household} v{self.version} page {self.page}: "
                 f"{self.count(BoxState.SIGNED)}/{len(signatures)} signed, "
                 f"{self.count(BoxState.TICKED)} ticked, {self.count(BoxState.REVIEW)} to "
                 f"check, {len(self.changes)} handwritten change(s)"]
        if self.superseded_by is not None:
            parts.append(self.superseded_note())
        parts += self.notes
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        def box_json(box: BoxResult) -> dict[str, Any]:
            return {"state": str(box.state), "score": box.score, "bbox": list(box.bbox),
                    "reason": box.reason, "id": box.reading_id, "crop": box.crop}

        return {
            "file": self.file, "page_index": self.page_index, "status": str(self.status),
            "reason": self.reason, "household": self.household, "version": self.version,
            "page": self.page, "review": self.review_id, "superseded_by": self.superseded_by,
            "notes": list(self.notes),
            "signatures": [{"signer": b.key, "role": b.role, **box_json(b)}
                           for b in self.boxes_of(BoxKind.SIGNATURE)],
            "ticks": [{"step_id": b.key, **box_json(b)} for b in self.boxes_of(BoxKind.TICK)],
            "marks": [{"bbox": list(m.bbox), "kind": m.kind} for m in self.marks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageResult:
        """A stored result (a scan seen before), as it was printed."""
        boxes = [BoxResult(BoxKind.SIGNATURE, b["signer"], b.get("role", ""),
                           BoxState(b["state"]), b["score"], tuple(b["bbox"]),
                           b.get("reason", ""), b.get("id"), b.get("crop"))
                 for b in data.get("signatures", [])]
        boxes += [BoxResult(BoxKind.TICK, b["step_id"], "", BoxState(b["state"]), b["score"],
                            tuple(b["bbox"]), b.get("reason", ""), b.get("id"), b.get("crop"))
                  for b in data.get("ticks", [])]
        return cls(data["file"], data["page_index"], PageStatus(data["status"]),
                   data.get("reason", ""), data.get("household"), data.get("version"),
                   data.get("page"), None, boxes,
                   [Mark(tuple(m["bbox"]), m["kind"]) for m in data.get("marks", [])],
                   None, list(data.get("notes", [])), data.get("superseded_by"),
                   data.get("review"))
