"""Trackable PDFs and the reconciler, end to end on real plans built by LibreOffice and
synthetic scans of them (real images, real files, real registry)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import PLAN_DATE, edited, resave, valid_household, write_household
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import select

from pipeline.build import build_workbooks
from pipeline.config import Config
from pipeline.pagecodes import PageId, encode, load_secret
from pipeline.printed import PageLayout
from pipeline.reconcile.align import identify
from pipeline.reconcile.read import PageReader
from pipeline.reconcile.run import Reconciler, read_settings, reconcile_paths
from pipeline.reconcile.synth import (
    Degrade,
    Originals,
    degrade,
    draw_page,
    found,
    make_scan,
    random_degrade,
    render_page,
)
from pipeline.registry import Registry, page_layouts, registry_for
from pipeline.signoff import SIGNING_DATE
from pipeline.workspace import init_workspace

pytestmark = pytest.mark.slow
CONTRACT_KEYS = {"file", "page_index", "status", "reason", "household", "version", "page",
                 "signatures", "ticks", "marks", "notes", "superseded_by", "review"}


def reader_for(config: Config, registry: Registry) -> PageReader:
    return PageReader(load_secret(config.root), registry.find_page, read_settings(config))


def _household(reference: str = "HH-0001"):  # noqa: ANN202
    demo = edited(valid_household(reference))
    for n in range(5):  # enough steps for the plan to run onto a second page
        demo.steps.append({"we_will": f"Check in about task {n}", "you_will": f"Do task {n}",
                           "who": "Yusuf Hassan", "by_when": PLAN_DATE + timedelta(days=n)})
    return demo


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path, list[PageLayout]]:
    config, _ = init_workspace(tmp_path_factory.mktemp("reconcile") / "ws")
    workbook = write_household(config, _household())
    [outcome] = build_workbooks(config, [workbook])
    assert outcome.pdf is not None, outcome.message
    registry = registry_for(config)
    with registry.engine.connect() as conn:
        rows = conn.execute(select(page_layouts).order_by(page_layouts.c.page)).mappings().all()
    registry.close()
    return config, outcome.pdf, [PageLayout.from_json(row["layout"]) for row in rows]


def _truth_scan(pdf: Path, layout: PageLayout, seed: int, d: Degrade, **kw: float):  # noqa: ANN202
    rng = np.random.default_rng(seed)
    img, truth = draw_page(render_page(str(pdf), layout.page - 1, d.dpi), layout, d.dpi, rng,
                           **kw)
    return degrade(img, d, rng), truth


def test_every_page_is_stamped_and_its_boxes_measured(plan) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    kinds = [box.kind for layout in layouts for box in layout.boxes]
    assert kinds.count("tick") == 8  # one per step
    assert kinds.count("signature") >= 3  # caseworker, the adults who sign, peer reviewer
    secret = load_secret(config.root)
    for layout in layouts:
        found = identify(render_page(str(pdf), layout.page - 1, 150), secret)
        assert found.page_id is not None and found.page_id.page == layout.page
        for box in layout.boxes:
            x0, y0, x1, y1 = box.bbox
            assert 0 < x0 < x1 < layout.width_mm and 30 < y0 < y1 < layout.height_mm - 15
            if box.kind == "signature":
                assert x1 - x0 > 40 and y1 - y0 > 12  # the bordered box, not the word


def test_fixed_seed_scans_are_identified_and_decided(plan) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    registry = registry_for(config)
    reader = reader_for(config, registry)
    rng = np.random.default_rng(7)
    decisions = wrong = review = false_marked = 0
    for n in range(14):
        layout = layouts[n % len(layouts)]
        d = random_degrade(rng, photo=n % 5 == 4)
        scan, truth = _truth_scan(pdf, layout, 100 + n, d)
        result = reader.read(scan, file=f"synthetic-{n}", page_index=0).result
        assert result.status == "matched", (d, result.reason)
        assert result.page == layout.page
        for box in result.boxes:
            want = (truth.signatures if box.kind == "signature" else truth.ticks)[box.key]
            positive = "signed" if box.kind == "signature" else "ticked"
            decisions += 1
            review += box.state == "review"
            wrong += box.state != "review" and (box.state == positive) != want
            false_marked += box.state == positive and not want
    registry.close()
    assert false_marked == 0
    assert wrong <= decisions * 0.02 and review <= decisions * 0.05, (wrong, review, decisions)


def _save(image: np.ndarray, path: Path, **kw: object) -> Path:
    Image.fromarray(image).save(path, **kw)
    return path


def test_reconcile_records_events_once_and_writes_summaries(plan) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    scans = config.scans_dir
    last = layouts[-1]  # the page with the signature boxes
    # (seed 1 draws a nine-loop signature whose pen path reads as scribbled over: review,
    # the safe side; read_accuracy in bench/reconcile.py measures such rates)
    signed, truth = _truth_scan(pdf, last, 3, Degrade(dpi=200, quarter_turns=2, skew_deg=4,
                                                      noise=3, jpeg_quality=70),
                                p_signed=1.0, p_ticked=1.0, p_strike=0.0)
    first, truth1 = _truth_scan(pdf, layouts[0], 2, Degrade(dpi=300, quarter_turns=1,
                                                             skew_deg=-7), p_ticked=1.0)
    _save(signed, scans / "signed.jpg", quality=80)
    # a two-page TIFF, pages in reverse order, and an image-only PDF as office scanners make
    frames = [Image.fromarray(first), Image.fromarray(signed)][::-1]
    frames[0].save(scans / "both.tif", save_all=True, append_images=frames[1:])
    frames[0].save(scans / "both.pdf", save_all=True, append_images=frames[1:], resolution=200)
    outcomes = reconcile_paths(config, [scans])
    pages = [page.to_json() for outcome in outcomes for page in outcome.pages]
    assert len(pages) == 5 and all(set(page) == CONTRACT_KEYS for page in pages)
    assert all(page["status"] == "matched" for page in pages), pages
    for page in pages:
        json.dumps(page)
        for sig in page["signatures"]:
            assert sig["state"] == "signed" and sig["signer"] in truth.signatures
            assert len(sig["bbox"]) == 4
        for tick in page["ticks"]:
            assert tick["state"] == "ticked", tick
    registry = registry_for(config)
    kinds = [e["kind"] for e in registry.events_for("HH-0001")]
    assert kinds.count("signature_found") == len(truth.signatures)  # once, not per scan
    assert kinds.count("step_ticked") == len(truth1.ticks) + len(truth.ticks)
    # the same files again: nothing changes
    again = reconcile_paths(config, [scans])
    assert all(outcome.already_seen for outcome in again)
    assert [e["kind"] for e in registry.events_for("HH-0001")] == kinds
    registry.close()
    summaries = list((config.output_dir / "HH-0001").glob("reconcile-HH-0001-*.txt"))
    assert len(summaries) == 3 and "signed" in summaries[0].read_text()
    assert len(list((config.output_dir / "scans").iterdir())) == 3  # archived by hash


def test_bad_inputs_are_quarantined_with_a_reason(plan, tmp_path: Path) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> garbage")
    writer = PdfWriter(clone_from=pdf)
    writer.encrypt("secret")
    with open(bad / "locked.pdf", "wb") as handle:
        writer.write(handle)
    (bad / "text.pdf").write_bytes(pdf.read_bytes())  # the plan itself, not a scan
    Image.new("1", (20000, 20000), 1).save(bad / "huge.png")
    rng = np.random.default_rng(3)
    cat = cv2.GaussianBlur(rng.integers(0, 255, (1600, 1200), dtype=np.uint8), (0, 0), 9)
    _save(cat, bad / "photo.jpg")
    # a page with a forged code: same layout, code signed with another secret
    forged = render_page(str(pdf), 0, 200)
    Image.fromarray(forged).save(bad / "forged.png")
    other = init_workspace(tmp_path / "other")[0]
    reconciler = Reconciler(config)
    foreign = encode(PageId("0a0b0c0d", 1), load_secret(other.root))
    assert identify(_qr_page(foreign), reconciler.reader.secret).reason.startswith(
        "the QR code was not issued by this office")
    reasons = {o.file.name: o.pages[0].reason for o in reconcile_paths(config, [bad])}
    assert "empty" in reasons["empty.jpg"]
    assert "not a readable PDF" in reasons["broken.pdf"]
    assert "password" in reasons["locked.pdf"]
    assert "not a scan" in reasons["text.pdf"]
    assert "megapixels" in reasons["huge.png"]
    assert "no page code" in reasons["photo.jpg"]
    assert reasons["forged.png"] == ""  # control: an unforged rendering is read


def _qr_page(payload: str) -> np.ndarray:
    import segno

    buffer = io.BytesIO()
    segno.make_qr(payload, error="q").save(buffer, kind="png", scale=8, border=4)
    return np.asarray(Image.open(buffer).convert("L"))


def test_scan_of_an_old_version_is_recorded_against_it(plan) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    scan, _truth = _truth_scan(pdf, layouts[-1], 5, Degrade(dpi=150), p_signed=1.0)
    demo = _household()
    demo.steps[0]["you_will"] = "Gather payslips and bank statements"  # content change
    resave(config.intake_dir / "HH-0001.xlsx", demo)
    [outcome] = build_workbooks(config, [config.intake_dir / "HH-0001.xlsx"])
    assert outcome.version == 2
    path = _save(scan, config.scans_dir / "old.png")
    [result] = reconcile_paths(config, [path])
    assert result.pages[0].version == 1 and result.pages[0].matched


def test_either_code_alone_identifies_the_page(plan) -> None:  # noqa: ANN001
    """A staple, a hole punch or a torn corner may take one code; the opposite one is
    enough (and aligning still works from the markers)."""
    from pipeline.printed import qr_positions

    config, pdf, layouts = plan
    secret = load_secret(config.root)
    layout = layouts[0]
    dpi = 150
    px = dpi / 25.4
    codes = qr_positions(layout.width_mm, layout.height_mm)
    assert codes[0][1] < 30 and codes[1][1] > layout.height_mm - 40  # opposite corners
    for covered in codes:
        image = render_page(str(pdf), layout.page - 1, dpi).copy()
        x0, y0, x1, y1 = (int(v * px) for v in covered)
        margin = int(4 * px)
        image[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin] = 255
        found = identify(image, secret)
        assert found.page_id is not None and found.page_id.page == layout.page


def test_strike_throughs_are_reported_where_they_are_and_clean_pages_have_none(
        plan) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    registry = registry_for(config)
    reader = reader_for(config, registry)

    def read(scan: np.ndarray):  # noqa: ANN202
        return reader.read(scan, file="synthetic", page_index=0).result

    layout = layouts[0]
    for seed, degradation in enumerate((Degrade(dpi=200), Degrade(dpi=300, quarter_turns=1,
                                                                  skew_deg=5, jpeg_quality=70),
                                        Degrade(dpi=150, skew_deg=-3, noise=4))):
        struck, truth = _truth_scan(pdf, layout, 40 + seed, degradation, p_signed=0.0,
                                    p_ticked=0.0, p_strike=1.0)
        assert truth.strike is not None
        marks = read(struck).marks
        x0, y0, x1, y1 = truth.strike
        assert any(m.kind == "strike-through" and m.bbox[0] < x1 and x0 < m.bbox[2]
                   and m.bbox[1] < y1 + 3 and y0 - 3 < m.bbox[3]
                   for m in marks), (degradation, truth.strike, marks)
        clean, _ = _truth_scan(pdf, layout, 60 + seed, degradation, p_signed=0.0,
                               p_ticked=0.0, p_strike=0.0)
        assert read(clean).marks == [], degradation
    registry.close()


@pytest.mark.parametrize("condition", ["stamp", "coffee"])
def test_stamps_rings_and_dates_are_not_changes_to_the_plan(plan, condition: str) -> None:  # noqa: ANN001
    config, pdf, layouts = plan
    registry = registry_for(config)
    reader = reader_for(config, registry)
    originals = Originals(str(pdf))
    noise_seen = dates_seen = 0
    for seed in range(6):  # every page, and the signers' page three times
        layout = layouts[seed % len(layouts)] if seed < len(layouts) else layouts[-1]
        scan, truth = make_scan(condition, originals, layout, seed)
        result = reader.read(scan, file=f"{condition}-{seed}", page_index=0).result
        marks = result.changes
        noise = [item for item in truth.noise if item.kind in ("stamp", "ring", "date")]
        noise_seen += len(noise)
        for date in (item for item in noise if item.kind == "date"):
            assert any(mark.kind == SIGNING_DATE and found(date.bbox, mark.bbox)
                       for mark in result.marks), (condition, seed, date, result.marks)
            dates_seen += 1
        for item in noise:  # what lies on the stamp or ring is only ever real writing
            for mark in marks:
                assert not found(item.bbox, mark.bbox, margin=0.0) or any(
                    found(real.bbox, mark.bbox) for real in truth.marks), (
                    condition, seed, item, mark)
    registry.close()
    assert noise_seen >= 4  # the condition put its stamps or rings on these pages
    assert dates_seen >= 1  # and signers wrote dates beside their signatures
