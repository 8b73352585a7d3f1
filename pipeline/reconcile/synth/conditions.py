"""Named scan conditions: one real rendered plan page, people's pens, what happened to the
paper, the scanner; deterministic by seed, with the truth.

    originals = Originals(pdf_path)
    image, truth = make_scan("coffee", originals, layout, seed=7)
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import paper
from .basic import MARKED, Degrade, Item, Truth, degrade, render_page
from .geometry import Bbox, PageLayout, marker_positions, qr_positions
from .marks import Sheet, write_boxes, write_changes
from .pen import Canvas
from .places import grow, keep_out, overlaps
from .scanner import finish, fit_to_page, flatbed, ink_kept, threshold

OFFICE_DPI = (200, 240, 300)
VISIBLE_SHARE = 0.2  # a 1-bit scan kept a mark when a fifth of its ink pixels stayed black


class Originals:
    """A plan PDF's pages rendered at any resolution; the last few kept."""

    def __init__(self, pdf_path: str, keep: int = 8) -> None:
        self.pdf_path, self.keep = str(pdf_path), keep
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def __call__(self, page: int, dpi: int) -> np.ndarray:
        """Page `page` (1-based) at `dpi`; read-only, copy before drawing."""
        key = (page, dpi)
        if key not in self._cache:
            image = render_page(self.pdf_path, page - 1, dpi)
            image.setflags(write=False)
            self._cache[key] = image
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]


@dataclass(frozen=True)
class Condition:
    name: str
    dpis: tuple[int, ...]
    make: Callable[[Sheet], np.ndarray]
    about: str


def _office(sheet: Sheet, style: str = "normal", **boxes: float) -> np.ndarray:
    write_boxes(sheet, style=style, **boxes)
    write_changes(sheet)
    return _scan(sheet)


def _scan(sheet: Sheet, img: np.ndarray | None = None) -> np.ndarray:
    out, _ = flatbed(sheet.canvas.img if img is None else img, sheet.px, sheet.rng)
    return finish(out, sheet.rng)


def _faint(sheet: Sheet) -> np.ndarray:
    write_boxes(sheet, style="faint")
    write_changes(sheet)
    out, _ = flatbed(sheet.canvas.img, sheet.px, sheet.rng, noise=(1.0, 3.0))
    return finish(out, sheet.rng, jpeg=0.2)


def _coffee(sheet: Sheet) -> np.ndarray:
    write_boxes(sheet)
    write_changes(sheet)
    w, h = sheet.layout.width_mm, sheet.layout.height_mm
    for _ in range(1 if sheet.rng.random() < 0.7 else 2):
        centre = (sheet.rng.uniform(10, w - 10), sheet.rng.uniform(10, h - 10))
        bbox = paper.coffee_ring(sheet.canvas.img, sheet.px, sheet.rng, centre,
                                 sheet.rng.uniform(50, 95))
        sheet.truth.noise.append(Item("ring", bbox))
    return _scan(sheet)


def _stamp(sheet: Sheet) -> np.ndarray:
    """One or two stamps, in a margin or over body text, never over a box or a code."""
    write_boxes(sheet)
    write_changes(sheet)
    rng, layout = sheet.rng, sheet.layout
    for _ in range(1 if rng.random() < 0.7 else 2):
        density = paper.stamp_image(rng, sheet.px)
        sw, sh = density.shape[1] / sheet.px, density.shape[0] / sheet.px
        blocked = keep_out(layout, boxes=2.0, codes=2.0) + [grow(b, 2) for b in sheet.used()]
        for _try in range(200):
            x = rng.uniform(3, layout.width_mm - 3 - sw)
            y = rng.uniform(3, layout.height_mm - 3 - sh)
            if not any(overlaps((x, y, x + sw, y + sh), b) for b in blocked):
                bbox = paper.put_stamp(sheet.canvas.img, sheet.px, density, (x, y),
                                       rng.uniform(60, 150))
                sheet.truth.noise.append(Item("stamp", bbox))
                break
    return _scan(sheet)


def _bitonal(sheet: Sheet) -> np.ndarray:
    """A 1-bit scan: pale ink may vanish; the truth says which boxes' ink survived."""
    write_boxes(sheet, style="mixed")
    write_changes(sheet)
    out, owner = flatbed(sheet.canvas.img, sheet.px, sheet.rng, skew=2.0, noise=(2.0, 5.0),
                         owner=sheet.canvas.owner)
    binary, t = threshold(out, sheet.rng)
    sheet.truth.notes.append(f"threshold {t:.0f}")
    assert owner is not None
    for index, box in enumerate(sheet.layout.boxes):
        truth = sheet.truth.boxes[box.key]
        if truth.category != MARKED:
            continue
        share, kept = ink_kept(binary, owner, index + 1)
        truth.ink_kept = round(share, 3)
        # a few dots left of a pen stroke are not a mark a person would see
        truth.ink_visible = bool(share >= VISIBLE_SHARE and kept >= 0.3 * sheet.px ** 2)
    return finish(binary, sheet.rng, jpeg=0.0)


def _photocopy2(sheet: Sheet, drum: bool = False) -> np.ndarray:
    """The signed page copied, the copy copied again (on a dirty drum for `drum`), then
    scanned."""
    write_boxes(sheet)
    write_changes(sheet)
    img, _ = paper.photocopy(sheet.canvas.img, sheet.px, sheet.rng)
    img, streaks = paper.photocopy(img, sheet.px, sheet.rng, drum=drum)
    sheet.truth.noise += [Item("streak", bbox) for bbox in streaks]
    return _scan(sheet, img)


def _fit94(sheet: Sheet) -> np.ndarray:
    write_boxes(sheet)
    write_changes(sheet)
    return _scan(sheet, fit_to_page(sheet.canvas.img, 0.94))


def _staple(sheet: Sheet) -> np.ndarray:
    """A staple near a corner: sometimes across one of the two codes or one corner marker
    (never more than one of each, so the page can still be identified and aligned)."""
    write_boxes(sheet)
    write_changes(sheet)
    rng, w, h = sheet.rng, sheet.layout.width_mm, sheet.layout.height_mm
    where = rng.choice(["corner", "code", "marker"], p=[0.3, 0.4, 0.3])
    if where == "code":
        x0, y0, x1, y1 = qr_positions(w, h)[int(rng.integers(2))]
        centre, angle = (rng.uniform(x0 + 3, x1 - 3), rng.uniform(y0 + 3, y1 - 3)), \
            rng.uniform(0, 180)
    elif where == "marker":
        x0, y0, x1, y1 = marker_positions(w, h)[int(rng.integers(4))]
        centre, angle = (rng.uniform(x0, x1), rng.uniform(y0, y1)), rng.uniform(0, 180)
    else:  # the usual place: across the top-left corner, clear of the marker
        centre, angle = (rng.uniform(4, 8), rng.uniform(22, 30)), rng.uniform(60, 120)
        if rng.random() < 0.5:
            centre = (rng.uniform(22, 30), rng.uniform(4, 8))
            angle = rng.uniform(-30, 30)
    bbox = paper.staple(sheet.canvas.img, sheet.px, rng, centre, angle)
    sheet.truth.noise.append(Item("staple", bbox))
    sheet.truth.notes.append(f"staple at the {where}")
    return _scan(sheet)


def _photo(sheet: Sheet) -> np.ndarray:
    """A phone photo: perspective on a table, uneven light, blur, noise, JPEG."""
    write_boxes(sheet)
    write_changes(sheet)
    rng = sheet.rng
    d = Degrade(dpi=sheet.dpi, quarter_turns=int(rng.integers(4)),
                skew_deg=float(rng.uniform(-10, 10)), blur=float(rng.choice([0, 0.6, 1.0])),
                noise=float(rng.uniform(2, 8)), jpeg_quality=int(rng.choice([60, 75, 85])),
                lighting=float(rng.uniform(0.1, 0.4)), photo=True)
    return degrade(sheet.canvas.img, d, rng)


CONDITIONS: dict[str, Condition] = {c.name: c for c in [
    Condition("office", OFFICE_DPI, _office,
              "greyscale flatbed 200-300 dpi, skew <= 1.5 deg, mild noise"),
    Condition("faint", OFFICE_DPI, _faint,
              "ballpoint running dry: ink 10-20 % darker than the paper, 0.15-0.3 mm, skips"),
    Condition("initials", OFFICE_DPI, lambda s: _office(s, "initials"),
              "initials (2-3 letters, 5-12 x 3-6 mm) anywhere in the signature box"),
    Condition("scribbled", OFFICE_DPI, lambda s: _office(s, p_marked=0.35, p_crossed=0.35),
              "boxes crossed out, scribbled over or filled in (truth: crossed -> review)"),
    Condition("coffee", OFFICE_DPI, _coffee, "coffee rings 50-95 mm, grey 150-215"),
    Condition("stamp", OFFICE_DPI, _stamp, "office stamps in margins or over text"),
    Condition("bitonal", (150, 200, 300), _bitonal,
              "1-bit scans, threshold 110-170: pale ink may vanish (ink_visible)"),
    Condition("photocopy2", OFFICE_DPI, _photocopy2, "copy of a copy, then scanned"),
    Condition("drum", OFFICE_DPI, lambda s: _photocopy2(s, drum=True),
              "copy of a copy on a dirty drum: streaks and many toner specks"),
    Condition("fit94", OFFICE_DPI, _fit94, "printed 'fit to page' (94 %), then scanned"),
    Condition("staple", OFFICE_DPI, _staple,
              "a staple near a corner, across one code or one marker"),
    Condition("overrun", OFFICE_DPI, lambda s: _office(s, "overrun"),
              "signatures running 5-15 mm past their box"),
    Condition("photo", (200, 300), _photo, "phone photos: perspective, table, uneven light"),
]}


def make_scan(condition: str, originals: Callable[[int, int], np.ndarray], layout: PageLayout,
              seed: int, *, dpi: int | None = None) -> tuple[np.ndarray, Truth]:
    """A synthetic scan of `layout`'s page under `condition`, and what is on it.

    `originals(page, dpi)` renders the plan page (see `Originals`). The same condition,
    layout and seed always give the same image. `dpi` overrides the condition's choice."""
    spec = CONDITIONS[condition]
    rng = np.random.default_rng([seed, zlib.crc32(condition.encode()), layout.page])
    chosen = int(rng.choice(spec.dpis))
    dpi = dpi or chosen
    printed = originals(layout.page, dpi)
    canvas = Canvas(printed.copy(), printed, dpi / 25.4, np.zeros(printed.shape, np.uint8))
    truth = Truth(condition=condition, dpi=dpi)
    image = spec.make(Sheet(canvas, layout, truth, rng, dpi))
    for box in layout.boxes:
        marked = truth.boxes[box.key].category == MARKED
        (truth.signatures if box.kind == "signature" else truth.ticks)[box.key] = marked
    return image, truth


def found(real: Bbox, reported: Bbox, margin: float = 3.0) -> bool:
    """Whether a reported mark's bbox meets a true one grown by `margin` mm."""
    return overlaps(grow(real, margin), reported)
