"""What happens to the paper besides handwriting: coffee rings, office stamps, staples,
and photocopying (blur, scale, contrast, grey background, thicker text, toner specks,
dirty-drum streaks). All in place on a uint8 page image; sizes in mm."""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import Bbox


def _field(rng: np.random.Generator, shape: tuple[int, int], blobs: float) -> np.ndarray:
    """Smooth random field in 0..1, about `blobs` features across the longer side."""
    h, w = shape
    cells = max(2, int(blobs))
    small = rng.random((max(2, int(cells * h / max(h, w))) + 2,
                        max(2, int(cells * w / max(h, w))) + 2)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _darken(img: np.ndarray, x0: int, y0: int, density: np.ndarray, level: float) -> None:
    """Multiply ink of grey `level` (what it shows on white, 0..255) in, by `density`."""
    h, w = img.shape
    dh, dw = density.shape
    a, b = max(0, x0), max(0, y0)
    c, d = min(w, x0 + dw), min(h, y0 + dh)
    if c <= a or d <= b:
        return
    part = density[b - y0: d - y0, a - x0: c - x0]
    region = img[b:d, a:c].astype(np.float32)
    img[b:d, a:c] = (region * (1 - part * (1 - level / 255.0))).clip(0, 255).astype(np.uint8)


def coffee_ring(img: np.ndarray, px: float, rng: np.random.Generator, centre: tuple[float, float],
                diameter: float) -> Bbox:
    """A cup's ring: dark sharp outer edge fading inwards, partial or whole, sometimes a
    faint stain inside."""
    thick = rng.uniform(1.0, 4.0)
    level = rng.uniform(150, 215)
    r = diameter / 2
    k = min(px, 6.0)  # worked out at <= 6 px/mm, then enlarged: the ring is soft anyway
    size = int((diameter + 8) * k)
    yy, xx = (np.mgrid[0:size, 0:size].astype(np.float32) - size / 2) / k
    squash = rng.uniform(0.93, 1.0)  # the cup a little tilted
    tilt = rng.uniform(0, np.pi)
    u = xx * np.cos(tilt) + yy * np.sin(tilt)
    v = (-xx * np.sin(tilt) + yy * np.cos(tilt)) / squash
    dist = np.hypot(u, v)
    angle = np.arctan2(yy, xx)
    phases = rng.uniform(0, 2 * np.pi, 4)
    wobble = (rng.uniform(0.2, 0.8) * np.sin(angle + phases[0])
              + rng.uniform(0.1, 0.4) * np.sin(2 * angle + phases[1])
              + 0.12 * np.sin(9 * angle + phases[2]))
    # how wide and how dark the dried rim is, changing round the ring
    around = 0.5 + 0.5 * np.sin(angle * rng.integers(1, 4) + phases[3])
    width = thick * (0.45 + 0.55 * around)
    d = dist - (r + wobble)  # < 0 inside the ring's outer edge
    rim = np.exp(-(d / 0.35) ** 2)  # the sharp dark outer line
    band = np.clip(1 + d / width, 0, 1) * (d < 0) * rng.uniform(0.35, 0.7)
    ring = np.maximum(rim, band) * (0.35 + 0.65 * around ** rng.uniform(0.5, 2.0))
    span = rng.uniform(140, 360) if rng.random() < 0.6 else 360
    if span < 330:  # a partial ring, its ends fading out
        start = rng.uniform(-np.pi, np.pi)
        rel = np.mod(angle - start, 2 * np.pi)
        half = np.radians(span) / 2
        taper = np.radians(25)
        ring *= np.clip((half - np.abs(rel - half)) / taper, 0, 1)
    ring *= 0.75 + 0.25 * _field(rng, ring.shape, 10)
    if rng.random() < 0.4:  # a faint stain inside
        ring = np.maximum(ring, (d < -width) * rng.uniform(0.04, 0.15)
                          * (0.4 + 0.6 * _field(rng, ring.shape, 4)))
    ring = cv2.GaussianBlur(ring, (0, 0), 0.15 * k)
    full = int((diameter + 8) * px)
    ring = cv2.resize(ring, (full, full), interpolation=cv2.INTER_LINEAR)
    cx, cy = centre
    _darken(img, int(cx * px - full / 2), int(cy * px - full / 2), ring, level)
    h, w = img.shape
    return (max(0.0, cx - r - 2), max(0.0, cy - r - 2), min(w / px, cx + r + 2),
            min(h / px, cy + r + 2))


STAMP_WORDS = ["RECEIVED", "SCANNED", "COPY", "ENTERED", "FILED"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def stamp_image(rng: np.random.Generator, px: float) -> np.ndarray:
    """An office stamp's ink density (0..1), already rotated, at `px` pixels per mm."""
    k = 2 * px  # drawn at twice the resolution, then reduced
    word = str(rng.choice(STAMP_WORDS))
    date = f"{rng.integers(1, 29)} {rng.choice(MONTHS)} {rng.integers(2025, 2028)}"
    team = str(rng.choice(["NORTH TEAM", "SOUTH TEAM", "FAMILY SUPPORT", "ADMIN OFFICE"]))
    font = cv2.FONT_HERSHEY_DUPLEX if rng.random() < 0.5 else cv2.FONT_HERSHEY_SIMPLEX
    if rng.random() < 0.6:  # rectangular
        w, h = rng.uniform(40, 70), rng.uniform(15, 30)
        canvas = np.zeros((int(h * k), int(w * k)), np.uint8)
        cv2.rectangle(canvas, (int(0.5 * k), int(0.5 * k)),
                      (int((w - 0.5) * k), int((h - 0.5) * k)), 255, max(1, int(0.7 * k)))
        if rng.random() < 0.5:
            cv2.rectangle(canvas, (int(1.6 * k), int(1.6 * k)),
                          (int((w - 1.6) * k), int((h - 1.6) * k)), 255, max(1, int(0.3 * k)))
        inner = h - 4.0  # text rows between the borders, with gaps
        rows = [(word, 0.4), (date, 0.3), (team, 0.2)][: 3 if h > 20 else 2]
        total = sum(share for _text_, share in rows)
        y = 2.0 + 0.1 * inner / len(rows)
        for text, share in rows:
            row = inner * share / total * 0.8
            _text(canvas, text, (0.08 * w * k, (y + row) * k), (0.84 * w * k, row * k), font)
            y += row + inner * 0.2 / len(rows)
    else:  # round: two rings, the word around the top, the date across the middle
        d = rng.uniform(30, 45)
        size = int(d * k)
        canvas = np.zeros((size, size), np.uint8)
        c = size // 2
        cv2.circle(canvas, (c, c), int((d / 2 - 0.6) * k), 255, max(1, int(0.7 * k)))
        cv2.circle(canvas, (c, c), int((d / 2 - 7) * k), 255, max(1, int(0.35 * k)))
        _text(canvas, date, (c - 0.33 * d * k, c + 0.06 * d * k), (0.66 * d * k, 0.12 * d * k),
              font)
        _arc_text(canvas, f"{team} * {word}", (c, c), (d / 2 - 3.8) * k, 4.2 * k, font)
    density = canvas.astype(np.float32) / 255.0
    # patchy inking: whole areas pale, fine grain everywhere
    patchy = np.clip(0.35 + 0.9 * _field(rng, density.shape, 5), 0, 1)
    grain = np.clip(rng.normal(0.85, 0.2, density.shape), 0, 1).astype(np.float32)
    density *= patchy * grain
    angle = rng.uniform(-12, 12)
    h, w = density.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    rotated = cv2.warpAffine(density, matrix, (nw, nh), flags=cv2.INTER_LINEAR)
    return cv2.resize(rotated, (nw // 2, nh // 2), interpolation=cv2.INTER_AREA)


def _text(canvas: np.ndarray, text: str, origin: tuple[float, float], box: tuple[float, float],
          font: int) -> None:
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = min(box[0] / tw, box[1] / th)
    thick = max(1, int(scale * 2.2))
    cv2.putText(canvas, text, (int(origin[0]), int(origin[1])), font, scale, 255, thick,
                cv2.LINE_AA)


def _arc_text(canvas: np.ndarray, text: str, centre: tuple[int, int], radius: float,
              height: float, font: int) -> None:
    """Letters standing on a circle, across the top."""
    (_tw, th), _ = cv2.getTextSize("M", font, 1.0, 2)
    scale = height / th
    step = np.radians(min(300 / max(len(text), 1), 14))
    start = np.pi / 2 + step * (len(text) - 1) / 2
    cell = int(height * 2)
    for i, char in enumerate(text):
        a = start - i * step
        glyph = np.zeros((cell, cell), np.uint8)
        (gw, _gh), _ = cv2.getTextSize(char, font, scale, 2)
        cv2.putText(glyph, char, (cell // 2 - gw // 2, cell // 2 + int(height / 2)), font,
                    scale, 255, max(1, int(scale * 2.2)), cv2.LINE_AA)
        rot = cv2.getRotationMatrix2D((cell / 2, cell / 2), np.degrees(a - np.pi / 2), 1.0)
        glyph = cv2.warpAffine(glyph, rot, (cell, cell))
        x = int(centre[0] + radius * np.cos(a) - cell / 2)
        y = int(centre[1] - radius * np.sin(a) - cell / 2)
        h, w = canvas.shape
        a0, b0, a1, b1 = max(0, x), max(0, y), min(w, x + cell), min(h, y + cell)
        if a1 > a0 and b1 > b0:
            part = glyph[b0 - y: b1 - y, a0 - x: a1 - x]
            np.maximum(canvas[b0:b1, a0:a1], part, out=canvas[b0:b1, a0:a1])


def put_stamp(img: np.ndarray, px: float, density: np.ndarray, at: tuple[float, float],
              level: float) -> Bbox:
    x, y = at
    _darken(img, int(x * px), int(y * px), density, level)
    return (x, y, x + density.shape[1] / px, y + density.shape[0] / px)


def staple(img: np.ndarray, px: float, rng: np.random.Generator, centre: tuple[float, float],
           angle_deg: float) -> Bbox:
    """A staple seen from the front: a dark wire with a pale sheen, a soft shadow beside it
    and the bent legs as darker ends."""
    length, thick = rng.uniform(10, 14), rng.uniform(0.6, 1.2)
    a = np.radians(angle_deg)
    d = np.array([np.cos(a), np.sin(a)]) * length / 2
    n = np.array([-np.sin(a), np.cos(a)])
    c = np.array(centre)
    side = n * rng.choice([-1, 1]) * (thick / 2 + rng.uniform(0.4, 0.9))
    pad = length / 2 + 3
    x0, y0 = c - pad
    size = int(2 * pad * px) + 1
    shadow = np.zeros((size, size), np.float32)
    wire = np.zeros((size, size), np.float32)
    sheen = np.zeros((size, size), np.float32)

    def line(layer: np.ndarray, p: np.ndarray, q: np.ndarray, width: float, value: float) -> None:
        pts = np.round(((np.array([p, q]) - [x0, y0]) * px) * 16).astype(np.int32)
        cv2.line(layer, tuple(pts[0]), tuple(pts[1]), value, max(1, round(width * px)),
                 cv2.LINE_AA, 4)

    line(shadow, c - d + side, c + d + side, thick * 1.4, 1.0)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.35 * px)
    line(wire, c - d, c + d, thick, 1.0)
    for end in (c - d, c + d):  # legs bent under the paper
        line(wire, end - d * 0.04, end + d * 0.02, thick * 1.3, 1.0)
    line(sheen, c - d * 0.85 - n * thick * 0.15, c + d * 0.85 - n * thick * 0.15,
         thick * 0.3, 1.0)
    ix, iy = int(x0 * px), int(y0 * px)
    _darken(img, ix, iy, shadow, rng.uniform(185, 215))
    _darken(img, ix, iy, wire, rng.uniform(25, 70))
    h, w = img.shape
    a_, b_ = max(0, ix), max(0, iy)
    c_, d_ = min(w, ix + size), min(h, iy + size)
    if c_ > a_ and d_ > b_:  # the sheen: lighter than the wire
        part = sheen[b_ - iy: d_ - iy, a_ - ix: c_ - ix] * rng.uniform(0.25, 0.55)
        region = img[b_:d_, a_:c_].astype(np.float32)
        img[b_:d_, a_:c_] = (region + part * (200 - region).clip(0)).clip(0, 255).astype(np.uint8)
    ends = np.array([c - d, c + d, c - d + side, c + d + side])
    lo, hi = ends.min(0) - thick, ends.max(0) + thick
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def photocopy(img: np.ndarray, px: float, rng: np.random.Generator, *,
              drum: bool = False) -> tuple[np.ndarray, list[Bbox]]:
    """One copier generation: scan the sheet (placed a little off, scaled 98-101 %, blurred)
    and print it with toner (contrast boost, heavier text, grey background, specks). With
    `drum`, a dirty drum: many more specks, in bursts, and streaks along the page (their
    bboxes in mm are returned)."""
    h, w = img.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-0.3, 0.3),
                                     rng.uniform(0.98, 1.01))
    matrix[:, 2] += rng.uniform(-1.0, 1.0, 2) * px
    out = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.06, 0.12) * px)
    x = out.astype(np.float32) / 255.0
    # contrast boost; the grey of the sheet is suppressed (a copier's background setting)
    lo, hi = rng.uniform(0.05, 0.2), rng.uniform(0.78, 0.86)
    x = np.clip((x - lo) / (hi - lo), 0, 1) ** rng.uniform(1.0, 1.5)  # heavier text
    r = round(0.05 * px)
    if r and rng.random() < 0.3:  # toner spread: text grows by a few hundredths of a mm
        x = cv2.erode(x, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    background = rng.uniform(0.84, 0.94) + 0.03 * (_field(rng, (h, w), 3) - 0.5)
    out = 255.0 * x * background
    specks = int(rng.uniform(100, 400) * (8 if drum else 1))
    _specks(out, px, rng, specks, clustered=drum)
    streaks = _streaks(out, px, rng) if drum else []
    return out.clip(0, 255).astype(np.uint8), streaks


def _specks(out: np.ndarray, px: float, rng: np.random.Generator, n: int,
            clustered: bool) -> None:
    h, w = out.shape
    xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
    if clustered:  # a dirty drum throws toner in bursts
        centres = rng.uniform(0, 1, (8, 2)) * [w, h]
        pick = rng.random(n) < 0.5
        which = rng.integers(0, 8, n)
        spread = rng.normal(0, 6 * px, (n, 2))
        xs = np.where(pick, centres[which, 0] + spread[:, 0], xs)
        ys = np.where(pick, centres[which, 1] + spread[:, 1], ys)
    layer = np.zeros(out.shape, np.float32)
    radii = np.clip(rng.gamma(1.5, 0.05, n), 0.03, 0.35) * px
    for x, y, r, v in zip(xs, ys, radii, rng.uniform(0.3, 0.9, n), strict=True):
        cv2.circle(layer, (int(x * 4), int(y * 4)), max(1, int(r * 4)), float(v), -1,
                   cv2.LINE_AA, 2)
    out *= 1 - layer


def _streaks(out: np.ndarray, px: float, rng: np.random.Generator) -> list[Bbox]:
    """Thin grey lines along the whole page where the drum is scratched or dirty."""
    h, w = out.shape
    vertical = rng.random() < 0.7
    length, across = (h, w) if vertical else (w, h)
    profile = np.zeros(across, np.float32)
    found = []
    for _ in range(int(rng.integers(1, 5))):
        pos = rng.uniform(0.05, 0.95) * across
        width = rng.uniform(0.2, 1.0) * px
        strength = rng.uniform(0.08, 0.3)
        idx = np.arange(across)
        profile = np.maximum(profile, strength * np.exp(-((idx - pos) / (width / 2 + 0.5)) ** 2))
        a, b = (pos - width) / px, (pos + width) / px
        found.append((a, 0.0, b, h / px) if vertical else (0.0, a, w / px, b))
    along = 0.6 + 0.4 * _field(rng, (length, 1), 12)[:, 0]
    shade = along[:, None] * profile[None, :]
    out *= 1 - (shade if vertical else shade.T)
    return found
