"""Property-based tests of the reader: whatever the cells, the sheet layout or the bytes,
`read_workbook` returns a household or a list of errors, never raises, never hangs.

The suite runs a modest number of cases (fast). For a long campaign:

    HYPOTHESIS_PROFILE=campaign .venv/bin/pytest tests/test_intake_properties.py -p no:cacheprovider

runs about 10,000 cases (`campaign` below).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from conftest import valid_household
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline.intake.problems import ReadResult
from pipeline.intake.reader import read_workbook
from pipeline.intake.schema import HOUSEHOLD_FIELDS, TABLE_SHEETS

settings.register_profile("default", max_examples=40, deadline=timedelta(seconds=10),
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("campaign", max_examples=2500, deadline=timedelta(seconds=10),
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@lru_cache(maxsize=1)
def valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return valid_household().write(Path(folder) / "HH-0001.xlsx").read_bytes()


def read_bytes(data: bytes, name: str = "HH-0001.xlsx") -> ReadResult:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return check(read_workbook(path))


def check(result: ReadResult) -> ReadResult:
    """The contract: a household and no errors, or errors; every problem names a place."""
    assert isinstance(result, ReadResult)
    if not result.ok:
        assert result.errors, "not ok, but no error says why"
        assert result.household is None or result.errors
    for problem in result.problems:
        assert problem.message and problem.fix
        assert str(problem).startswith(problem.location)
    return result


# -- cell values --------------------------------------------------------------------------

def _clean(value: Any) -> Any:
    # Characters openpyxl refuses to write are tested through the raw-XML cases below.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


values = st.one_of(
    st.none(), st.text(max_size=60).map(_clean), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=False), st.booleans(),
    st.dates(date(1900, 3, 1), date(9999, 12, 31)),
    st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)),
    st.sampled_from(["", " ", "\u00a0", "#REF!", "=1+1", "Yes", "no", "31/02/2027",
                     "2027-03-14", "Housing", "Done", "Whole household", "HH-0001", "😀",
                     "{{ x }}", "<b>&amp;</b>", "x" * 2500, "line\n" * 50]),
)
table_keys = {sheet.name: [c.key for c in sheet.columns] for sheet in TABLE_SHEETS}


@given(household=st.dictionaries(st.sampled_from([f.key for f in HOUSEHOLD_FIELDS]), values,
                                 max_size=6),
       rows=st.lists(st.tuples(st.sampled_from(list(table_keys)), st.integers(0, 4),
                               st.data()), max_size=8))
def test_any_cell_values(household: dict[str, Any], rows: list[Any]) -> None:
    demo = valid_household()
    demo.household.update(household)
    tables = {"Members": demo.members, "Plan": demo.steps, "Safety plan": demo.safety_plan,
              "Weekly reviews": demo.weekly_reviews}
    for sheet, index, data in rows:
        table = tables[sheet]
        while len(table) <= index:
            table.append({})
        key = data.draw(st.sampled_from(table_keys[sheet]))
        table[index][key] = data.draw(values)
    with tempfile.TemporaryDirectory() as folder:
        check(read_workbook(demo.write(Path(folder) / "HH-0001.xlsx")))


# -- sheet layouts ------------------------------------------------------------------------

layout_changes = st.lists(st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(["Household", "Members", "Plan", "Lists"])),
    st.tuples(st.just("rename"), st.sampled_from(["Plan", "Members"]),
              st.sampled_from(["plan", " Plan ", "Plan (2)", "Members"])),
    st.tuples(st.just("hide"), st.sampled_from(["Plan", "Household"])),
    st.tuples(st.just("move"), st.sampled_from(["Plan", "Members", "Household"]),
              st.integers(-3, 3), st.integers(-2, 2)),
    st.tuples(st.just("merge"), st.sampled_from(["Plan", "Members", "Household"]),
              st.integers(1, 12), st.integers(1, 6), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("header"), st.sampled_from(["Plan", "Members", "Safety plan"]),
              st.integers(1, 12), st.sampled_from(["We will", "Name", "", "Who", "Notes"])),
    st.tuples(st.just("far"), st.sampled_from(["Plan", "Members"]), st.integers(1, 3000),
              st.integers(1, 100)),
), max_size=5)


@given(changes=layout_changes)
def test_any_sheet_layout(changes: list[tuple[Any, ...]]) -> None:
    workbook = load_workbook(io.BytesIO(valid_bytes()))
    for change in changes:
        kind, name = change[0], change[1]
        if name not in workbook.sheetnames:
            continue
        sheet = workbook[name]
        if kind == "delete" and len(workbook.sheetnames) > 1:
            del workbook[name]
        elif kind == "rename" and change[2] not in workbook.sheetnames:
            sheet.title = change[2]
        elif kind == "hide" and len(workbook.sheetnames) > 1:
            sheet.sheet_state = "hidden"
        elif kind == "move":
            sheet.move_range("A1:L30", rows=max(change[2], 0), cols=max(change[3], 0))
        elif kind == "merge":
            _kind, _name, row, column, down, across = change
            sheet.merge_cells(start_row=row, start_column=column, end_row=row + down,
                              end_column=column + across)
        elif kind in ("header", "far"):
            row, column, text = (1, change[2], change[3] or None) if kind == "header" else (
                change[2], change[3], "far away")
            with contextlib.suppress(AttributeError):  # a merged cell cannot take a value
                sheet.cell(row, column).value = text
    buffer = io.BytesIO()
    workbook.save(buffer)
    read_bytes(buffer.getvalue())


# -- bytes --------------------------------------------------------------------------------

mutations = st.lists(st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
), min_size=1, max_size=6)


def mutate(data: bytes, changes: list[tuple[Any, ...]]) -> bytes:
    buffer = bytearray(data)
    for change in changes:
        at = change[1] % max(len(buffer), 1)
        if change[0] == "flip" and buffer:
            buffer[at] ^= change[2]
        elif change[0] == "truncate":
            del buffer[at:]
        elif change[0] == "insert":
            buffer[at:at] = change[2]
        elif change[0] == "delete":
            del buffer[at: at + change[2]]
    return bytes(buffer)


@given(changes=mutations)
def test_any_corruption_of_the_zip_bytes(changes: list[tuple[Any, ...]]) -> None:
    read_bytes(mutate(valid_bytes(), changes))


PARTS = ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
         "xl/styles.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
         "xl/worksheets/sheet4.xml", "xl/worksheets/sheet5.xml", "_rels/.rels"]
XML_SNIPPETS = ["<", ">", "&", '"', "</row>", "<row>", '<c r="A1">', "<f>1+</f>", "<v></v>",
                '<c r="XFD1048576" t="s"><v>99999</v></c>', '<mergeCell ref="A1:Z9999"/>',
                't="e"', 't="b"', 't="d"', '<v>1e308</v>', '<v>-1</v>', "\udcff", "\x00",
                '<row r="0">', '<row r="-5">', '<row r="1.5">', 'r="ZZZZ9"', "<is><t>x</t></is>"]


@given(part=st.sampled_from(PARTS), edits=st.lists(st.tuples(
    st.integers(0, 10**6), st.integers(0, 40), st.sampled_from(XML_SNIPPETS) | st.text(
        max_size=8)), min_size=1, max_size=4))
def test_any_corruption_inside_the_xml(part: str, edits: list[tuple[int, int, str]]) -> None:
    with zipfile.ZipFile(io.BytesIO(valid_bytes())) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    text = parts[part].decode("utf-8")
    for at, remove, insert in edits:
        at %= max(len(text), 1)
        text = text[:at] + insert + text[at + remove:]
    parts[part] = text.encode("utf-8", "surrogatepass")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    read_bytes(buffer.getvalue())


def test_mutation_helper_changes_bytes() -> None:
    assert mutate(b"abcdef", [("flip", 0, 1)]) == b"`bcdef"
    assert re.match(rb"PK", valid_bytes())
