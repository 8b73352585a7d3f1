"""Hostile and broken scans (issue 12): each is quarantined with its own reason, and the run
goes on. Every case is a real file made from a real scanned page of a real plan (encrypted,
cut short, swollen, carrying scripts, from another office, of a version never issued),
dropped into a folder before a good scan: the real reconciler must quarantine the bad one
with the reason and still read the good one after it."""

from __future__ import annotations

import io
import itertools
import os
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import valid_household, write_household
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from scanpen import marked_page, save_pdf
from sqlalchemy import select

from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ExitCode
from pipeline.outputs import plan_file
from pipeline.printed import PageLayout
from pipeline.reconcile import load
from pipeline.reconcile.load import (
    EMPTY,
    FRAME_DAMAGED,
    IMAGE_DAMAGED,
    NOT_READ,
    load_pages,
)
from pipeline.reconcile.pdffile import DAMAGED, INCOMPLETE, LOCKED
from pipeline.reconcile.read import NOT_ISSUED_REASON, UNKNOWN_CODE_REASON
from pipeline.reconcile.run import ScanOutcome, collect_scans, reconcile_paths
from pipeline.reconcile.synth import render_page
from pipeline.recover import recover_output
from pipeline.registry import page_layouts, plan_versions, registry_for
from pipeline.signoff import BoxState, PageResult
from pipeline.workspace import init_workspace

pytestmark = pytest.mark.slow

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
GOOD = "z-good.png"  # sorts after every bad file ("a-..."), so it is read after them
_serial = itertools.count()


@dataclass
class Plans:
    config: Config
    pdf: Path  # HH-0001 v1, issued
    layouts: list[PageLayout]
    signed: np.ndarray  # its last page as scanned, every signature box signed
    other_pdf: Path  # HH-0002 v1: the tests that need a version never issued take it


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> Plans:
    config, _ = init_workspace(tmp_path_factory.mktemp("hostile") / "ws")
    for reference in ("HH-0001", "HH-0002"):
        write_household(config, valid_household(reference))
    # Built by the command in its own process, as in an office. Built in this one, the
    # registry's first upgrade would leave connections here that have lost their locks
    # (pipeline/registry/migrate.py opens and closes the database file itself), and the
    # command-line runs below, in processes of their own, would then corrupt it.
    build(config)
    pdfs = [plan_file(config, reference, 1, "pdf") for reference in ("HH-0001", "HH-0002")]
    registry = registry_for(config)
    with registry.engine.connect() as conn:
        rows = conn.execute(
            select(page_layouts.c.layout).join(plan_versions,
                                               plan_versions.c.id == page_layouts.c.version_id)
            .where(plan_versions.c.household == "HH-0001").order_by(page_layouts.c.page)).all()
    registry.close()
    layouts = [PageLayout.from_json(row.layout) for row in rows]
    last = layouts[-1]
    signed = marked_page(pdfs[0], last, {box.key: "signed" for box in last.boxes
                                           if box.kind == "signature"})
    return Plans(config, pdfs[0], layouts, signed, pdfs[1])


def build(config: Config) -> None:
    built = subprocess.run([SUPPORTPLAN, "build"], cwd=config.root, capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr


def good_scan(plans: Plans, folder: Path) -> Path:
    """The signed page as a PNG, a new file each time (a serial number in its metadata),
    so it is really read and not recognised as a scan seen before."""
    info = PngInfo()
    info.add_text("scan", str(next(_serial)))
    Image.fromarray(plans.signed).save(folder / GOOD, pnginfo=info)
    return folder / GOOD


def reconcile_folder(plans: Plans, folder: Path) -> dict[str, ScanOutcome]:
    """Reconcile `folder` with a good scan added last; check the good one was read."""
    good_scan(plans, folder)
    assert collect_scans([folder])[-1].name == GOOD
    registry = registry_for(plans.config)  # closed after, as a command's is when it ends
    try:
        outcomes = {outcome.file.name: outcome
                    for outcome in reconcile_paths(plans.config, [folder], registry=registry)}
    finally:
        registry.close()
    good = outcomes[GOOD]
    assert not good.already_seen and [page.status for page in good.pages] == ["matched"], [
        page.reason for page in good.pages]
    assert good.pages[0].household == "HH-0001" and good.pages[0].count(BoxState.SIGNED) > 0
    return outcomes


def only_page(outcome: ScanOutcome) -> PageResult:
    [page] = outcome.pages
    return page


def scans_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    return folder


def run_cli(config: Config, *args: str, without: tuple[str, ...] = ()
            ) -> tuple[subprocess.CompletedProcess[str], int]:
    """`supportplan ARGS` in a child process with the modules in `without` missing (as if not
    installed); returns the process and its peak memory in kB."""
    code = "\n".join([
        "import sys",
        *(f"sys.modules[{name!r}] = None" for name in without),
        "from pipeline.cli import main",
        "try:",
        "    main()",
        "finally:",
        # VmHWM, not getrusage: Linux keeps ru_maxrss across exec, so it would count the
        # memory of the test process that started this one
        "    peak = next(int(line.split()[1]) for line in open('/proc/self/status')",
        "                if line.startswith('VmHWM:'))",
        "    print(f'peak-kb={peak}', file=sys.stderr)"])
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=config.root,
                          capture_output=True, text=True, timeout=600)
    peak = int(done.stderr.rsplit("peak-kb=", 1)[1])
    return done, peak


# -- encrypted PDFs -------------------------------------------------------------------------

ALGORITHMS = ("RC4-40", "RC4-128", "AES-128", "AES-256-R5", "AES-256")


def encrypted(source: Path, target: Path, algorithm: str, user_password: str) -> Path:
    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password=user_password, owner_password="the scanner's own",
                   algorithm=algorithm)
    writer.write(target)
    assert PdfReader(target).is_encrypted
    return target


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_encrypted_pdf_opens_with_the_empty_password_else_is_quarantined(
        plans: Plans, tmp_path: Path, algorithm: str) -> None:
    """"Restricting editing" (an owner password only, as scanners do) is read like any scan;
    a PDF that needs a password to open is quarantined, and the next file is read."""
    folder = scans_folder(tmp_path)
    scan = save_pdf([plans.signed], tmp_path / "scan.pdf")
    encrypted(scan, folder / "a-restricted.pdf", algorithm, "")
    encrypted(scan, folder / "b-locked.pdf", algorithm, "open sesame")
    outcomes = reconcile_folder(plans, folder)
    restricted = only_page(outcomes["a-restricted.pdf"])
    assert restricted.matched and restricted.household == "HH-0001", restricted.reason
    assert restricted.count(BoxState.SIGNED) > 0
    locked = only_page(outcomes["b-locked.pdf"])
    assert not locked.matched and locked.reason == LOCKED
    assert locked.reason.startswith("the PDF is locked with a password; scan again without "
                                    "one or save it unlocked")


def test_aes_pdf_without_the_cryptography_package_is_still_read(plans: Plans,
                                                                tmp_path: Path) -> None:
    """The failure in the issue: pypdf cannot decrypt AES without `cryptography` and raised,
    stopping every later scan. Now PDFium opens such a file on its own."""
    folder = scans_folder(tmp_path)
    scan = save_pdf([plans.signed], tmp_path / "scan.pdf")
    encrypted(scan, folder / "a-restricted.pdf", "AES-256", "")
    encrypted(scan, folder / "b-locked.pdf", "AES-128", "open sesame")
    good_scan(plans, folder)
    done, _ = run_cli(plans.config, "reconcile", str(folder), without=("cryptography",))
    assert done.returncode == ExitCode.INPUT_NEEDS_FIXING, done.stderr
    assert "matched   a-restricted.pdf page 1: " in done.stdout, done.stderr
    assert f"QUARANTINED b-locked.pdf page 1: {LOCKED}" in done.stderr
    assert f"matched   {GOOD} page 1: " in done.stdout
    assert "Traceback" not in done.stderr and "cryptography" not in done.stderr


# -- scripts and attachments ----------------------------------------------------------------

def test_javascript_and_attachments_are_never_run_or_extracted(plans: Plans,
                                                              tmp_path: Path) -> None:
    folder = scans_folder(tmp_path)
    payload = b"ATTACHED-" + os.urandom(48).hex().encode() + b"-PAYLOAD"
    writer = PdfWriter(clone_from=save_pdf([plans.signed], tmp_path / "scan.pdf"))
    writer.add_open_action(JavaScript("app.launchURL('https://example.org/x', true);"))
    writer.add_attachment("invoice.exe", payload)
    script = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert('hello');")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(script)
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): script})
    active = folder / "a-active.pdf"
    writer.write(active)
    assert payload in active.read_bytes()  # stored as it is: a copy anywhere would show
    outcomes = reconcile_folder(plans, folder)
    page = only_page(outcomes["a-active.pdf"])
    assert page.matched and page.household == "HH-0001", page.reason
    [note] = [note for note in page.notes if "PDF carries" in note]
    assert "JavaScript" in note and "attached files" in note and "never run or opened" in note
    summary = plans.config.output_dir / "HH-0001" / (
        f"reconcile-HH-0001-{outcomes['a-active.pdf'].sha256[:12]}.txt")
    assert "NOTE: the PDF carries JavaScript" in summary.read_text()
    # the original is archived unchanged (attachment and all); nothing else holds its bytes
    archived = plans.config.output_dir / "scans" / f"{outcomes['a-active.pdf'].sha256}.pdf"
    assert archived.read_bytes() == active.read_bytes()
    # searched from a child process: opening and closing the registry's files in this one
    # would drop SQLite's locks on them (POSIX locks belong to the process)
    found = subprocess.run(["grep", "-rlaF", payload.decode(), str(plans.config.root)],
                           capture_output=True, text=True, check=False).stdout.split()
    assert found == [str(archived)]


# -- cut short, empty -----------------------------------------------------------------------

def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _pdf(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PDF", resolution=200)
    return buffer.getvalue()


GRAY_PIXEL = {"Width": "1", "Height": "1", "ColorSpace": "/DeviceGray", "BitsPerComponent": "8"}


def _same_length(data: bytes, old: bytes, new: bytes) -> bytes:
    """`old` replaced by `new` padded with spaces, so the cross-reference table stays right."""
    assert old in data and len(new) <= len(old)
    return data.replace(old, new.ljust(len(old)), 1)


def _cut_in_stream(data: bytes) -> bytes:
    start = data.index(b"stream") + 6
    end = data.index(b"endstream", start)
    return data[:(start + end) // 2]  # halfway through the page's image


BROKEN: dict[str, tuple[Callable[[np.ndarray], bytes], str]] = {
    "a-empty.pdf": (lambda image: b"", EMPTY),
    "a-empty.jpg": (lambda image: b"", EMPTY),
    "a-empty.png": (lambda image: b"", EMPTY),
    "a-empty.tif": (lambda image: b"", EMPTY),
    "a-cut.jpg": (lambda image: _jpeg(image)[:len(_jpeg(image)) // 2], IMAGE_DAMAGED),
    "a-cut-header.jpg": (lambda image: _jpeg(image)[:300], IMAGE_DAMAGED),
    "a-cut.png": (lambda image: _png(image)[:len(_png(image)) // 2], IMAGE_DAMAGED),
    "a-cut-header.png": (lambda image: _png(image)[:20], IMAGE_DAMAGED),
    "a-cut-mid-stream.pdf": (lambda image: _cut_in_stream(_pdf(image)), INCOMPLETE),
    # pypdf drops a page it cannot parse and finds none; PDFium finds it but no image on it
    "a-page-damaged.pdf": (lambda image: _pdf(image).replace(b"/Resources <<", b"/Resources C<"),
                           NOT_READ),
    "a-no-pages.pdf": (lambda image: _same_length(pdf_with_image(GRAY_PIXEL, b"\0"),
                                                  b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0"),
                       DAMAGED),
    "a-kid-not-a-page.pdf": (lambda image: _same_length(pdf_with_image(GRAY_PIXEL, b"\0"),
                                                        b"/Type /Page /", b"/Type /Pagx /"),
                             NOT_READ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_empty_and_cut_short_files_are_quarantined(plans: Plans, tmp_path: Path,
                                                   name: str) -> None:
    folder = scans_folder(tmp_path)
    make, reason = BROKEN[name]
    (folder / name).write_bytes(make(plans.signed))
    outcomes = reconcile_folder(plans, folder)
    page = only_page(outcomes[name])
    assert not page.matched and page.reason == reason


def test_reasons_say_what_to_do_in_plain_words() -> None:
    for reason in (EMPTY, IMAGE_DAMAGED, FRAME_DAMAGED, INCOMPLETE, LOCKED):
        assert "scan" in reason and ";" in reason  # what happened; what to do


# -- decompression bombs --------------------------------------------------------------------

BOMB = 50_000  # pixels each way: 2,500 megapixels, 2.5 GB once decoded even at 1 bit


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zeros_deflated(row_bytes: int, rows: int) -> bytes:
    compressor = zlib.compressobj(9)
    row = bytes(row_bytes)
    return b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()


def png_bomb() -> bytes:
    """A real, valid PNG of 50,000 x 50,000 white-and-black pixels in about 300 kB."""
    header = struct.pack(">IIBBBBB", BOMB, BOMB, 1, 0, 0, 0, 0)  # 1-bit greyscale
    data = _zeros_deflated(1 + BOMB // 8, BOMB)  # each row: filter byte, then pixels
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def jpeg_bomb(image: np.ndarray) -> bytes:
    """A JPEG whose header declares 60,000 x 60,000 pixels (a decoder would allocate it)."""
    data = bytearray(_jpeg(image[:64, :64]))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60_000, 60_000)
    return bytes(data)


def pdf_with_image(image: dict[str, str], stream: bytes) -> bytes:
    """A one-page A4 PDF drawing one image XObject, written object by object."""
    fields = "".join(f"/{key} {value} " for key, value in image.items())
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
               b"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
               f"<< /Type /XObject /Subtype /Image {fields}/Length {len(stream)} >>\nstream\n"
               .encode() + stream + b"\nendstream",
               f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


def pdf_bomb() -> bytes:
    return pdf_with_image({"Width": str(BOMB), "Height": str(BOMB), "ColorSpace": "/DeviceGray",
                           "BitsPerComponent": "1", "Filter": "/FlateDecode"},
                          _zeros_deflated(BOMB // 8, BOMB))


def test_decompression_bombs_are_refused_before_decoding(plans: Plans, tmp_path: Path) -> None:
    folder = scans_folder(tmp_path)
    (folder / "a-bomb.png").write_bytes(png_bomb())
    (folder / "a-bomb.jpg").write_bytes(jpeg_bomb(plans.signed))
    (folder / "a-bomb.pdf").write_bytes(pdf_bomb())
    assert all(path.stat().st_size < 1_000_000 for path in folder.iterdir())
    assert Image.open(folder / "a-bomb.png").size == (BOMB, BOMB)  # a real, valid PNG
    good_scan(plans, folder)
    done, peak_kb = run_cli(plans.config, "reconcile", str(folder))
    assert done.returncode == ExitCode.INPUT_NEEDS_FIXING, done.stderr
    for name, size in (("a-bomb.png", BOMB), ("a-bomb.jpg", 60_000), ("a-bomb.pdf", BOMB)):
        assert (f"QUARANTINED {name} page 1: the image is {size}x{size} pixels "
                f"({size * size / 1e6:.0f} megapixels), far more than a page scan; scan at "
                "150-600 dpi") in done.stderr, done.stderr
    assert f"matched   {GOOD} page 1: " in done.stdout, done.stderr
    # decoding any one of them takes 2.5 GB or more; the whole run stays far below that
    assert peak_kb < 600_000, peak_kb  # about 250 MB measured


# -- a multipage TIFF with a broken page ----------------------------------------------------

def test_tiff_with_one_broken_page_reads_the_others(plans: Plans, tmp_path: Path) -> None:
    folder = scans_folder(tmp_path)
    first = marked_page(plans.pdf, plans.layouts[0], {})
    frames = [Image.fromarray(image) for image in (first, plans.signed, plans.signed)]
    tiff = folder / "a-pages.tif"
    frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    with Image.open(tiff) as image:
        image.seek(1)
        strips = list(zip(image.tag_v2[273], image.tag_v2[279], strict=True))
    data = bytearray(tiff.read_bytes())
    noise = random.Random(12)
    for offset, count in strips:  # the middle page's compressed data becomes noise
        data[offset:offset + count] = noise.randbytes(count)
    tiff.write_bytes(bytes(data))
    outcomes = reconcile_folder(plans, folder)
    pages = outcomes["a-pages.tif"].pages
    assert [page.status for page in pages] == ["matched", "quarantined", "matched"], [
        page.reason for page in pages]
    assert pages[1].page_index == 1 and pages[1].reason == FRAME_DAMAGED
    assert pages[2].household == "HH-0001" and pages[2].count(BoxState.SIGNED) > 0



def test_a_runaway_file_is_read_up_to_the_page_limit(plans: Plans, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "MAX_PAGES", 2)
    folder = scans_folder(tmp_path)
    frames = [Image.fromarray(plans.signed) for _ in range(4)]
    frames[0].save(folder / "a-batch.tif", save_all=True, append_images=frames[1:])
    pages = reconcile_folder(plans, folder)["a-batch.tif"].pages
    assert [page.status for page in pages] == ["matched", "matched", "quarantined"], [
        page.reason for page in pages]
    assert pages[2].page_index == 2 and "more than 2 pages" in pages[2].reason
    assert "scan the rest into a file of its own" in pages[2].reason

# -- page codes that are not ours, or of versions never issued ------------------------------

@pytest.fixture(scope="module")
def foreign_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan built by another office (workspace), with the same household reference."""
    other, _ = init_workspace(tmp_path_factory.mktemp("other-office") / "ws")
    write_household(other, valid_household("HH-0001"))
    build(other)
    return plan_file(other, "HH-0001", 1, "pdf")


def test_page_from_another_office_is_quarantined(plans: Plans, foreign_pdf: Path,
                                                 tmp_path: Path) -> None:
    folder = scans_folder(tmp_path)
    Image.fromarray(render_page(str(foreign_pdf), 0, 200)).save(folder / "a-foreign.png")
    page = only_page(reconcile_folder(plans, folder)["a-foreign.png"])
    assert not page.matched and page.household is None
    assert page.reason.startswith("the QR code was not issued by this office (authentication "
                                  "failed)"), page.reason


def test_page_of_a_version_never_issued_is_quarantined(plans: Plans, tmp_path: Path) -> None:
    """HH-0002 v1 stopped before it was issued (as a killed build leaves it); a page printed
    from its PDF says so. Once recovery has set it aside, its code is unknown."""
    registry = registry_for(plans.config)
    with registry.engine.begin() as conn:
        conn.execute(plan_versions.update().where(plan_versions.c.household == "HH-0002")
                     .values(state="publishing"))
    folder = scans_folder(tmp_path)
    Image.fromarray(render_page(str(plans.other_pdf), 0, 200)).save(folder / "a-unissued.png")
    page = only_page(reconcile_folder(plans, folder)["a-unissued.png"])
    assert not page.matched and page.reason == NOT_ISSUED_REASON.format(household="HH-0002")
    assert page.household is None  # not on the household's record
    recover_output(plans.config, registry)
    assert not [row for row in registry.versions("HH-0002")]
    registry.close()
    again = reconcile_folder(plans, folder)["a-unissued.png"]
    assert again.read_again and only_page(again).reason == UNKNOWN_CODE_REASON


# -- the workspace's secret lost after plans were printed ------------------------------------

def test_lost_secret_stops_reconcile_with_how_to_restore_it(plans: Plans,
                                                           tmp_path: Path) -> None:
    folder = scans_folder(tmp_path)
    good_scan(plans, folder)
    secret = plans.config.root / ".secret"
    backup = tmp_path / "backup-of-secret"
    secret.rename(backup)
    args = ["--config", str(plans.config.source), "reconcile", str(folder)]
    try:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == ExitCode.SECRET, result.output
        assert result.output.startswith(
            "Error: No scan was read: the page codes on scans cannot be checked without this "
            "workspace's secret. "), result.output
        assert "restore the file .secret from your backup" in result.output
        assert "Traceback" not in result.output
        assert not secret.exists()  # never replaced by a new one
    finally:
        backup.rename(secret)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and f"matched   {GOOD} page 1: " in result.output, result.output


# -- whatever the bytes, the loader answers --------------------------------------------------

def test_mutated_scans_never_raise(plans: Plans, tmp_path: Path) -> None:
    """Random damage to real scans of every kind: each page is an image or a reason."""
    small = plans.signed[::2, ::2]
    tiff = io.BytesIO()
    Image.fromarray(small).save(tiff, format="TIFF", compression="tiff_deflate")
    originals = {"pdf": _pdf(small), "jpg": _jpeg(small), "png": _png(small),
                 "tif": tiff.getvalue()}
    aes = tmp_path / "aes.pdf"
    encrypted(save_pdf([small], tmp_path / "plain.pdf"), aes, "AES-256", "")
    originals["aes.pdf"] = aes.read_bytes()
    rng = random.Random(2026)
    for kind, data in originals.items():
        for n in range(12):
            mutated = bytearray(data)
            if n % 3 == 0:
                mutated = mutated[:rng.randrange(1, len(data))]
            else:
                for _ in range(rng.randrange(1, 40)):
                    mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            path = tmp_path / f"mutant-{n}.{kind}"
            path.write_bytes(bytes(mutated))
            pages = list(load_pages(path))
            assert pages, path
            for page in pages:
                assert (page.image is not None and page.image.ndim == 2) or page.error, path

