"""A warm LibreOffice: starts one soffice listener and converts DOCX to PDF on request.

Run by the *system* Python (the one with LibreOffice's `uno` module, Debian package
`python3-uno`), not the project's virtualenv: `pipeline.render.warm` starts it as a child
process. This file must therefore import nothing from `pipeline` and only the standard
library plus `uno`.

Protocol (one JSON object per line): the bridge prints {"ready": true} once LibreOffice is
listening; then for each request {"source": "/a.docx", "target": "/a.pdf", "filter_data":
{"UseTaggedPDF": true, ...}} on stdin it replies {"ok": true} or {"ok": false, "error":
"..."}. End of stdin means stop. soffice is
started in this process's own process group, so killing the group stops both.

At its first document LibreOffice starts its signing support's helpers (gpgconf, gpg,
gpgsm) detached: their parent exits at once, and when they exit they wait, as zombies in
this process group, for whoever reaps orphans. That is init, which in some containers
reaps about once a second, or never; and closing a converter waits until its group is
gone. So this process takes LibreOffice's orphans ("child subreaper", Linux) and reaps
them itself before it exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]


def _props(**values: object) -> tuple:
    result = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        result.append(prop)
    return tuple(result)


def _connect(pipe: str, soffice: subprocess.Popen, timeout: float):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            context = resolver.resolve(
                f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context)
        except NoConnectException:
            if soffice.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _adopt_orphans() -> None:
    """Be the parent of LibreOffice's orphaned helpers (prctl PR_SET_CHILD_SUBREAPER)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _reap_orphans() -> None:
    """Reap every child that has exited; once soffice is reaped, all are its orphans.
    One still running is left to init, as it would have been."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass


def _filter_data(options: dict) -> object:
    """PDF export options (pipeline/render/soffice.py PdfOptions) as UNO property values."""
    values = []
    for name, value in options.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value  # Python-UNO passes a small int as a "long"
        values.append(prop)
    return uno.Any("[]com.sun.star.beans.PropertyValue", tuple(values))


def _convert(desktop, source: str, target: str, options: dict) -> None:
    document = desktop.loadComponentFromURL(
        Path(source).resolve().as_uri(), "_blank", 0,
        _props(Hidden=True, ReadOnly=True, UpdateDocMode=0))
    if document is None:
        raise RuntimeError("LibreOffice could not open the document")
    try:
        uno.invoke(document, "storeToURL", (
            Path(target).resolve().as_uri(),
            _props(FilterName="writer_pdf_Export", FilterData=_filter_data(options))))
    finally:
        document.close(True)


def main() -> int:
    soffice_path, profile, pipe = sys.argv[1:4]
    start_timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    _adopt_orphans()
    soffice = subprocess.Popen(
        [soffice_path, f"-env:UserInstallation={Path(profile).resolve().as_uri()}",
         "--headless", "--invisible", "--norestore", "--nolockcheck", "--nodefault",
         "--nologo", f"--accept=pipe,name={pipe};urp;StarOffice.ServiceManager"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = sys.stdout
    try:
        desktop = _connect(pipe, soffice, start_timeout)
        out.write(json.dumps({"ready": True, "pid": soffice.pid}) + "\n")
        out.flush()
        for line in sys.stdin:
            request = json.loads(line)
            try:
                _convert(desktop, request["source"], request["target"],
                         request.get("filter_data", {}))
                reply = {"ok": True}
            except Exception as exc:  # report, keep serving: one bad file must not stop us
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()
        # LibreOffice drops the bridge as it exits, so terminate() may raise: expected.
        with contextlib.suppress(Exception):
            desktop.terminate()
    finally:
        try:
            soffice.wait(timeout=10)
        except subprocess.TimeoutExpired:
            soffice.kill()
            soffice.wait()
        _reap_orphans()
    return 0


if __name__ == "__main__":
    sys.exit(main())
