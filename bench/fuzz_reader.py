"""Random corruption of a valid workbook, read back: a tally of what the reader says.

    .venv/bin/python bench/fuzz_reader.py --cases 5000

Half the cases change the file's bytes (flipped bytes, cut-off ends, inserted junk: most
land in compressed data or the zip directory), half change the XML inside a part and
re-zip it (these reach openpyxl and the sheet parser). Any exception is a bug: the reader
must answer every file with a household or errors. Prints the count per outcome.
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import valid_household  # noqa: E402

from pipeline.intake.reader import read_workbook  # noqa: E402

SNIPPETS = ["<", ">", "&", '"', "</row>", "<row>", "<f>1+</f>", "<v></v>", 't="e"', 't="s"',
            "<v>1e308</v>", '<row r="0">', '<mergeCell ref="A1:C9"/>', "\x00", "é", "]]>"]


def corrupt_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(buffer))
        choice = rng.random()
        if choice < 0.6:
            buffer[at] ^= rng.randint(1, 255)
        elif choice < 0.7:
            del buffer[at:]
        elif choice < 0.85:
            buffer[at:at] = rng.randbytes(rng.randint(1, 32))
        else:
            del buffer[at: at + rng.randint(1, 32)]
        if not buffer:
            break
    return bytes(buffer)


def corrupt_xml(data: bytes, rng: random.Random) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    name = rng.choice([n for n in parts if n.endswith((".xml", ".rels"))])
    text = parts[name].decode("utf-8")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text) or 1)
        text = text[:at] + rng.choice(SNIPPETS) + text[at + rng.randint(0, 12):]
    parts[name] = text.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part, content in parts.items():
            target.writestr(part, content)
    return out.getvalue()


def outcome(result) -> str:
    if result.ok:
        return "read (the change did not matter)"
    message = str(result.errors[0])
    message = re.sub(r'"[^"]*"', '"…"', message.split(";")[0])
    message = re.sub(r"^[^:]*!\S+: ", "Sheet!cell: ", message)
    return re.sub(r"\(\w+Error\)|\(\w+\)", "(…)", message)[:90]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally: collections.Counter[str] = collections.Counter()
    slowest = 0.0
    with tempfile.TemporaryDirectory() as folder:
        base = valid_household().write(Path(folder) / "base.xlsx").read_bytes()
        path = Path(folder) / "HH-0001.xlsx"
        for case in range(args.cases):
            data = corrupt_bytes(base, rng) if case % 2 else corrupt_xml(base, rng)
            path.write_bytes(data)
            started = time.perf_counter()
            try:
                tally[outcome(read_workbook(path))] += 1
            except Exception as exc:  # the reader must never get here
                tally[f"RAISED {type(exc).__name__}"] += 1
            slowest = max(slowest, time.perf_counter() - started)
    raised = sum(n for key, n in tally.items() if key.startswith("RAISED"))
    print(f"{args.cases} cases, {raised} raised, slowest read {slowest:.2f} s")
    for key, count in tally.most_common():
        print(f"{count:6d}  {key}")


if __name__ == "__main__":
    main()
