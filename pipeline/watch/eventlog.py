"""One line per watcher event: time, household reference, what happened, where the output
is. Never names or other personal data: households are identified by reference only, and
free-text messages from the workbook are not copied into the log (they are in the error
report, inside the output folder).
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TextIO


class EventLog:
    def __init__(self, root: Path, *, as_json: bool = False, stream: TextIO | None = None,
                 ) -> None:
        self.root = root
        self.as_json = as_json
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def _where(self, path: Path | None) -> str | None:
        if path is None:
            return None
        # The path as given first: a link is named where it is, not where it points.
        for candidate in (path, path.resolve()):
            try:
                return str(candidate.relative_to(self.root))
            except ValueError:
                continue
        return str(path)

    def emit(self, event: str, reference: str | None = None, *, output: Path | None = None,
             detail: str = "") -> None:
        now = datetime.now().astimezone().isoformat(timespec="milliseconds")
        where = self._where(output)
        if self.as_json:
            record = {"time": now, "reference": reference, "event": event, "output": where}
            if detail:
                record["detail"] = detail
            line = json.dumps(record, ensure_ascii=False)
        else:
            line = f"{now} {reference or '-':<12} {event}"
            if detail:
                line += f" ({detail})"
            if where:
                line += f" -> {where}"
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed terminal must not stop the watcher


def counted(number: int, thing: str) -> str:
    """"1 scan", "2 scans": numbers in event lines read as words."""
    return f"{number} {thing}" + ("" if number == 1 else "s")
