"""Personal data stays put: build, reconcile, watch and report, each at debug log level, over
households whose people have names in Latin, Arabic, Cyrillic, Ethiopic and CJK script;
none of the names may appear in anything logged or printed, in any file name the workspace
holds, or in any page code (QR) printed on a plan. The real `supportplan` command in
subprocesses, real LibreOffice, a real watcher; the codes are read off the real PDFs."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from conftest import edited, valid_household, write_household

from pipeline.config import Config
from pipeline.demo import DemoHousehold
from pipeline.pagecodes import PAYLOAD_CHARS, decode, load_secret

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
TODAY = date.today()

# Every name a person typed: household names, caseworkers, peer reviewers, members and
# interpreters, in the scripts the households write them in.
PEOPLE = {
    "HH-0101": {"name": "Familie Zainab Okonkwo-Ferreira", "caseworker": "Олена Коваленко",
                "peer_reviewer": "ሰላም ተስፋይ",
                "members": ["أمينة الحسيني", "Ígor Şahin", "王秀英"]},
    "HH-0102": {"name": "Семья Шевченко", "caseworker": "Mehret Gebremedhin",
                "peer_reviewer": "김민준",
                "members": ["ዮሃንስ ኪዳነ", "山田 花子", "Тарас Шевченко"]},
}
INTERPRETER = "Farida Noorzai"
NAMES = sorted({name for people in PEOPLE.values()
                for name in (people["name"], people["caseworker"], people["peer_reviewer"],
                             *people["members"])} | {INTERPRETER})


def family(reference: str) -> DemoHousehold:
    people = PEOPLE[reference]
    plan_date = TODAY - timedelta(days=40)  # steps due and overdue: the report has findings
    demo = valid_household(reference, name=people["name"], caseworker=people["caseworker"],
                           peer_reviewer=people["peer_reviewer"], plan_date=plan_date,
                           interpreter_used="Yes", interpreter_name=INTERPRETER,
                           interpreter_language="Dari")
    first, second, child = people["members"]
    demo.members = [{"name": first, "role": "Parent", "adult": True},
                    {"name": second, "role": "Parent", "adult": True},
                    {"name": child, "role": "Child", "adult": False}]
    for step, who in zip(demo.steps, (second, first, first), strict=True):
        step["who"] = who
        step["by_when"] = plan_date + timedelta(days=20)
    demo.weekly_reviews[0]["recorded_by"] = people["caseworker"]
    demo.weekly_reviews[0]["week_of"] = plan_date
    return demo


def supportplan(config: Config, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[str, str]:
    """What the command printed (its answer, on stdout) and logged (stderr)."""
    done = subprocess.run([SUPPORTPLAN, "--config", str(config.source), "--log-level", "debug",
                           *args], capture_output=True, text=True, cwd=config.root,
                          timeout=600)
    assert done.returncode in ok, done.stdout + done.stderr
    return done.stdout, done.stderr


def leaked(text: str) -> list[str]:
    found = [name for name in NAMES if name in text]
    # each part of a name too (a log could print a first name alone)
    found += [part for name in NAMES for part in name.split() if len(part) > 2
              and part not in ("Familie", "Семья") and part in text]
    return sorted(set(found))


def qr_payloads(pdf: Path) -> list[str]:
    document = pdfium.PdfDocument(str(pdf))
    try:
        payloads = []
        for page in document:
            gray = np.asarray(page.render(scale=150 / 72, grayscale=True).to_numpy())
            gray = np.ascontiguousarray(gray[..., 0] if gray.ndim == 3 else gray)
            payloads += [code.text for code in zxingcpp.read_barcodes(
                gray, formats=zxingcpp.BarcodeFormat.QRCode)]
        return payloads
    finally:
        document.close()


def signed_scan(config: Config, pdf: Path, target: Path) -> Path:
    """Every page of `pdf` as scanned, each signature box signed."""
    from scanpen import marked_page, save_pdf
    from sqlalchemy import select

    from pipeline.printed import PageLayout
    from pipeline.registry import page_layouts, registry_for
    from pipeline.signoff import BoxKind

    registry = registry_for(config)
    try:
        with registry.engine.connect() as conn:
            layouts = [PageLayout.from_json(row.layout) for row in conn.execute(
                select(page_layouts.c.layout).order_by(page_layouts.c.version_id,
                                                       page_layouts.c.page))]
    finally:
        registry.close()
    pages = len(pdfium.PdfDocument(str(pdf)))
    layouts = layouts[:pages]
    marks = {box.key: "signed" for layout in layouts for box in layout.boxes
             if box.kind == BoxKind.SIGNATURE}
    return save_pdf([marked_page(pdf, layout, marks) for layout in layouts], target)


def watch_briefly(config: Config, change: DemoHousehold, scan: Path) -> str:
    """Start the watcher at debug level, let it build an edited workbook and read a scan,
    stop it; everything it printed and logged."""
    process = subprocess.Popen(
        [SUPPORTPLAN, "--config", str(config.source), "--log-level", "debug", "watch",
         "--polling"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=config.root)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()

    def wait_for(text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in list(lines)):
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"no {text!r} from the watcher: {''.join(lines)}")
            time.sleep(0.2)

    try:
        wait_for("watching")
        target = config.intake_dir / f"{change.household['reference']}.xlsx"
        target.unlink()
        change.write(target)
        wait_for("built v2")
        (config.scans_dir / scan.name).write_bytes(scan.read_bytes())
        wait_for("scan matched")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
    return "".join(lines)


@pytest.mark.slow
def test_no_name_reaches_a_log_a_file_name_or_a_page_code(workspace: Config,
                                                        tmp_path: Path) -> None:
    for reference in PEOPLE:
        write_household(workspace, family(reference))
    # and a workbook with a mistake: its error names the cell, in the errors file
    wrong = family("HH-0101")
    wrong.household["reference"] = "HH-0103"
    wrong.steps[2]["who"] = "王秀英 Shevchenko"
    write_household(workspace, wrong)
    said = {"validate": supportplan(workspace, "validate", ok=(1,))}
    said["build"] = supportplan(workspace, "build", ok=(1,))
    pdf = workspace.output_dir / "HH-0101" / "support-plan-HH-0101-v1.pdf"
    assert pdf.is_file(), said["build"]
    scan = signed_scan(workspace, pdf, workspace.scans_dir / "scan-0001.pdf")
    said["reconcile"] = supportplan(workspace, "reconcile")
    said["reconcile --json"] = supportplan(workspace, "reconcile", "--json", str(scan))
    said["boxes"] = supportplan(workspace, "boxes", "--all")
    changed = edited(family("HH-0102"))
    changed.steps[0]["you_will"] = "Bring the payslips to the office"
    later_scan = signed_scan(workspace, workspace.output_dir / "HH-0102"
                             / "support-plan-HH-0102-v1.pdf", tmp_path / "scan-0002.pdf")
    said["watch"] = (watch_briefly(workspace, changed, later_scan), "")
    said["report"] = supportplan(workspace, "report", "--no-email", "--as-of",
                                 f"{TODAY + timedelta(days=30):%d/%m/%Y}")
    said["history"] = supportplan(workspace, "history", "HH-0101")

    for command, (printed, logged) in said.items():
        assert not leaked(logged), f"{command} logged {leaked(logged)}:\n{logged}"
        # What batch and scheduled commands print ends up in logs too; only the commands
        # a person runs to look at one household's people (validate's cell values, the
        # signers in boxes and history) show names, to that person.
        if command not in ("validate", "boxes", "history"):
            assert not leaked(printed), f"{command} printed {leaked(printed)}:\n{printed}"
    assert "HH-0103" in said["build"][1] and "first at Plan!F4" in said["build"][1]

    names_on_disk = [str(path.relative_to(workspace.root))
                     for path in workspace.root.rglob("*")]
    assert len(names_on_disk) > 20
    assert not leaked("\n".join(names_on_disk)), names_on_disk

    secret = load_secret(workspace.root, may_create=False)
    pdfs = sorted(workspace.output_dir.rglob("support-plan-*.pdf"))
    assert len(pdfs) == 3  # HH-0101 v1, HH-0102 v1 and v2
    for plan in pdfs:
        payloads = qr_payloads(plan)
        assert payloads, plan.name
        for payload in payloads:
            assert len(payload) == PAYLOAD_CHARS and not leaked(payload)
            decode(payload, secret)  # an opaque, authentic page id, nothing else
