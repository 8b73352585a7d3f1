"""Hostile and broken workbooks: each gets a clear message naming the file and the cell or
sheet, and none raises. Real files throughout: openpyxl workbooks, patched zip bytes, an
encrypted workbook made by msoffcrypto-tool."""

from __future__ import annotations

import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import PLAN_DATE, edited, valid_household
from openpyxl import load_workbook
from workbook_bytes import (
    flip_stored_byte,
    lie_about_size,
    patch_part,
    rewrite_parts,
    set_formula,
)

from pipeline.intake.reader import read_workbook


def messages(path: Path) -> list[str]:
    return [str(p) for p in read_workbook(path).errors]


def one_error(path: Path) -> str:
    result = read_workbook(path)
    assert not result.ok
    [error] = [str(p) for p in result.errors]
    return error


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return valid_household().write(tmp_path / "HH-0001.xlsx")


# -- the container ------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "expected"), [
    (b"%PDF-1.7\n\x00\x01binary", "HH-0001.xlsx is not an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "HH-0001.xlsx is in the old Excel "
     "97-2003 format (.xls)"),
    (b"Area,Goal,We will\nHousing,A home,Refer\n", "HH-0001.xlsx is a CSV (plain text) file"),
    (b"<html><body><table><tr><td>x</td></tr></table></body></html>",
     "HH-0001.xlsx is a web page (HTML)"),
    (b"", "HH-0001.xlsx is empty (0 bytes)"),
], ids=["not-a-zip", "xls", "csv", "html", "empty"])
def test_files_that_are_not_workbooks_are_named(tmp_path: Path, content: bytes,
                                                 expected: str) -> None:
    path = tmp_path / "HH-0001.xlsx"
    path.write_bytes(content)
    error = one_error(path)
    assert error.startswith(f"Workbook: {expected}"), error
    assert "Save As" in error or "save" in error


def test_truncated_workbook(workbook: Path) -> None:
    workbook.write_bytes(workbook.read_bytes()[: workbook.stat().st_size * 2 // 3])
    assert "HH-0001.xlsx is incomplete or damaged" in one_error(workbook)


def test_corrupt_part_is_named_by_its_sheet(workbook: Path) -> None:
    rewrite_parts(workbook, lambda _name, data: data, compression=zipfile.ZIP_STORED)
    flip_stored_byte(workbook, b"Explain how bidding works")  # checksum no longer matches
    error = one_error(workbook)
    assert error.startswith('Workbook: HH-0001.xlsx is damaged: the sheet "Plan" cannot be '
                            "unpacked"), error


def test_damaged_compressed_data(workbook: Path) -> None:
    data = bytearray(workbook.read_bytes())
    with zipfile.ZipFile(workbook) as archive:
        info = archive.getinfo("xl/styles.xml")
    start = info.header_offset + 30 + len(info.filename) + 10
    data[start: start + 40] = bytes(40)  # zeroed deflate data: a zlib error, not a CRC one
    workbook.write_bytes(bytes(data))
    assert "HH-0001.xlsx is damaged: the part xl/styles.xml cannot be unpacked" in one_error(
        workbook)


def test_zip_bomb_with_honest_sizes_is_refused_before_unpacking(workbook: Path) -> None:
    with zipfile.ZipFile(workbook, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.bin", b"\0" * (60 * 1024 * 1024))
    started = time.perf_counter()
    error = one_error(workbook)
    assert error.startswith("Workbook: HH-0001.xlsx unpacks to 60 MB, more than the 50 MB")
    assert time.perf_counter() - started < 2


def test_zip_bomb_that_lies_about_its_size(workbook: Path) -> None:
    with zipfile.ZipFile(workbook, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.bin", b"\0" * (200 * 1024 * 1024))
    lie_about_size(workbook, "xl/media/image1.bin", 1000)
    started = time.perf_counter()
    error = one_error(workbook)
    assert "HH-0001.xlsx is damaged: the part xl/media/image1.bin cannot be unpacked" in error
    assert time.perf_counter() - started < 5  # only the declared 1000 bytes are unpacked


def test_password_protected_workbook(workbook: Path, tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = tmp_path / "HH-0002.xlsx"
    with open(workbook, "rb") as plain, open(encrypted, "wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    error = one_error(encrypted)
    assert error.startswith("Workbook: HH-0002.xlsx is password-protected"), error
    assert "remove the password" in error


def test_ods_renamed_to_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "HH-0001.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert "is a LibreOffice/OpenDocument spreadsheet (.ods)" in one_error(path)


def test_a_document_type_declaration_is_refused(workbook: Path) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    patch_part(workbook, "xl/worksheets/sheet4.xml", r"^(<\?xml[^>]*\?>)?", bomb)
    error = one_error(workbook)
    assert 'contains a document type declaration in the sheet "Plan"' in error


def test_external_links_warn_and_use_stored_values(workbook: Path) -> None:
    rewrite_parts(workbook, lambda _name, data: data, extra={
        "xl/externalLinks/externalLink1.xml": b'<externalLink xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"/>'})
    result = read_workbook(workbook)
    assert result.ok, [str(p) for p in result.problems]
    assert any("links to 1 other workbook(s)" in str(p) for p in result.warnings)


def test_xlsm_is_read_for_its_values(tmp_path: Path) -> None:
    path = valid_household().write(tmp_path / "HH-0001.xlsm")
    patch_part(path, "[Content_Types].xml",
               r"application/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet\.main"
               r"\+xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    rewrite_parts(path, lambda _name, data: data, extra={"xl/vbaProject.bin": b"\0" * 512})
    result = read_workbook(path)
    assert result.ok, [str(p) for p in result.problems]
    assert result.household is not None and len(result.household.steps) == 3


# -- formulas -----------------------------------------------------------------------------

def test_formula_with_a_stored_value_uses_the_value(workbook: Path) -> None:
    set_formula(workbook, "Plan", "D2", 'CONCAT("Refer to ","the council")',
                cached="Refer to the council")
    result = read_workbook(workbook)
    assert result.ok, [str(p) for p in result.problems]
    assert result.household is not None
    assert result.household.steps[0].we_will == "Refer to the council"


@pytest.mark.parametrize(("sheet", "cell", "expected"), [
    ("Plan", "D2", "Plan!D2: holds a formula with no stored value; open the workbook in "
     "Excel and save it, so the value is stored"),
    ("Plan", "C2", "Plan!C2: holds a formula with no stored value"),
    ("Household", "B4", "Household!B4: holds a formula with no stored value"),  # required
    ("Members", "A3", "Members!A3: holds a formula with no stored value"),  # required
    ("Safety plan", "B2", "Safety plan!B2: holds a formula with no stored value"),
])
def test_formula_without_a_stored_value_is_an_error_not_empty(
        workbook: Path, sheet: str, cell: str, expected: str) -> None:
    set_formula(workbook, sheet, cell, 'CONCAT("a","b")')
    errors = messages(workbook)
    assert any(m.startswith(expected) for m in errors), errors
    assert not any("is empty" in m for m in errors), errors


# -- sheets and columns -------------------------------------------------------------------

def test_merged_who_across_rows_is_an_error(workbook: Path) -> None:
    book = load_workbook(workbook)
    book["Plan"].merge_cells("F2:F3")
    book.save(workbook)
    assert any(m.startswith("Plan!F2:F3: cells are merged across rows") for m in
               messages(workbook)), messages(workbook)


def test_merged_header_only_cells_are_fine_but_merged_values_are_not(workbook: Path) -> None:
    book = load_workbook(workbook)
    book["Household"].merge_cells("C2:C4")  # the help text column: nothing read is lost
    book.save(workbook)
    assert read_workbook(workbook).ok
    book = load_workbook(workbook)
    book["Household"].merge_cells("B2:B3")  # reference and household name
    book.save(workbook)
    assert any(m.startswith("Household!B2:B3: cells are merged across rows")
               for m in messages(workbook))


def test_duplicated_header_is_an_error_naming_both_cells(workbook: Path) -> None:
    book = load_workbook(workbook)
    book["Plan"]["J1"] = "We will"
    book["Plan"]["J2"] = "Also call the school"
    book.save(workbook)
    assert any(m.startswith('Plan!D1: the header "We will" appears twice (D1 and J1)')
               for m in messages(workbook)), messages(workbook)


def test_columns_are_found_by_header_in_any_order_and_extra_columns_ignored(
        workbook: Path) -> None:
    book = load_workbook(workbook)
    plan = book["Plan"]
    plan.move_range("A1:I10", cols=3)  # reorder: everything shifts right ...
    plan["A1"], plan["A2"] = "Notes", "private note"  # ... and an extra column in front
    book.save(workbook)
    result = read_workbook(workbook)
    assert result.ok, [str(p) for p in result.problems]
    assert result.household is not None
    assert result.household.steps[0].we_will == "Refer to the housing register"


def test_renamed_column_lists_the_expected_headers(workbook: Path) -> None:
    book = load_workbook(workbook)
    book["Plan"]["D1"] = "We wil"
    book.save(workbook)
    [error] = [m for m in messages(workbook) if m.startswith("Plan!D1")]
    assert 'the column "We will" is missing from the header row' in error
    assert "Area, Goal, Strengths to build on, We will, You will, Who, By when, Status, " \
           "Done on (in any order)" in error
    assert 'if D1 is meant to be it, rename it to "We will"' in error


def test_hidden_sheet_warns_renamed_sheet_names_what_there_is(workbook: Path) -> None:
    book = load_workbook(workbook)
    book["Safety plan"].sheet_state = "hidden"
    book["Plan"].title = "Plan (2)"
    book.save(workbook)
    result = read_workbook(workbook)
    assert any(str(p).startswith('Safety plan: the sheet "Safety plan" is hidden')
               for p in result.warnings)
    [error] = [str(p) for p in result.errors if p.sheet == "Plan"]
    assert error.startswith('Plan: the sheet "Plan" is missing (the workbook has: '
                            '"Instructions", "Household", "Members", "Plan (2)"')
    assert 'rename the sheet "Plan (2)" to "Plan"' in error


def test_huge_sheets_are_refused_in_bounded_time(tmp_path: Path) -> None:
    path = valid_household().write(tmp_path / "HH-0001.xlsx")
    rows = "".join(f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>x</t></is></c></row>'
                   for r in range(2, 200_001))
    patch_part(path, "xl/worksheets/sheet6.xml", r"<sheetData>.*?</sheetData>|<sheetData/>",
               f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Week of</t></is></c>'
               f"</row>{rows}</sheetData>")
    wide = "".join(f'<c r="{_col(c)}1" t="inlineStr"><is><t>h{c}</t></is></c>'
                   for c in range(1, 16_001))
    patch_part(path, "xl/worksheets/sheet5.xml", r"<sheetData>.*?</sheetData>|<sheetData/>",
               f'<sheetData><row r="1">{wide}</row></sheetData>')
    started = time.perf_counter()
    errors = messages(path)
    assert time.perf_counter() - started < 20
    assert any(m.startswith("Weekly reviews!B2001: the sheet has entries beyond row 2000")
               for m in errors), errors
    assert any(m.startswith("Safety plan!AY1: the sheet has entries beyond column AX")
               for m in errors), errors


def _col(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


# -- values -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("14/03/2027", date(2027, 3, 14)), ("2027-03-14", date(2027, 3, 14)),
    (46460, date(2027, 3, 14)), (" 14/03/27 ", date(2027, 3, 14)),
])
def test_dates_as_uk_iso_text_and_serials(tmp_path: Path, value: object, expected: date) -> None:
    demo = edited(valid_household())
    demo.steps[0]["by_when"] = value
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert result.ok, [str(p) for p in result.problems]
    assert result.household is not None and result.household.steps[0].by_when == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("31/02/2027", 'Plan!G2: "31/02/2027": February 2027 has 28 days'),
    ("03/14/2027", 'Plan!G2: "03/14/2027": there is no month 14; dates are written day '
                   "first; if you meant 14 March 2027, write 14/03/2027"),
    (5, "Plan!G2: 05/01/1900 is not a plausible date"),
    (-3, "Plan!G2: 27/12/1899 is not a plausible date"),
    ("01/01/1066", "Plan!G2: 01/01/1066 is not a plausible date"),
])
def test_impossible_dates(tmp_path: Path, value: object, expected: str) -> None:
    demo = edited(valid_household())
    demo.steps[0]["by_when"] = value
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    assert any(m.startswith(expected) for m in errors), errors


@pytest.mark.parametrize(("reference", "expected"), [
    ("HH/0001", '"HH/0001" cannot be used as a household reference'),
    ("..", '".." cannot be used as a household reference'),
    ("HH-_x0000_0001", "contains invisible control characters"),  # how Excel stores NUL
    ("H" * 300, "is 300 characters long, too long for a reference"),
    ("CON", '"CON" is a name Windows reserves'),
])
def test_unsafe_references(tmp_path: Path, reference: str, expected: str) -> None:
    demo = edited(valid_household())
    demo.household["reference"] = reference
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    assert any(m.startswith("Household!B2: ") and expected in m for m in errors), errors


def test_member_named_only_with_spaces_is_an_error(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.members[1]["name"] = "   "
    demo.members.append({"name": "\u00a0\u200b ", "role": "Parent", "adult": True})
    for step in demo.steps:
        step["who"] = None
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    for cell in ("A3", "A5"):
        assert any(m.startswith(f"Members!{cell}: Name has only spaces on a row that has "
                                "other entries") for m in errors), errors


def test_who_naming_nobody_and_who_with_odd_spacing(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.steps[0]["who"] = "  yusuf   HASSAN "  # the same person, typed loosely
    demo.steps[1]["who"] = "Uncle Bob"
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert [str(p) for p in result.errors] == [
        'Plan!F3: "Uncle Bob" is not a member of the household; pick a name from the '
        "Members sheet, or Whole household"]


def test_combining_marks_match_precomposed_names(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.members[1]["name"] = "Zo\u00eb Hassan"  # precomposed ë
    demo.steps[0]["who"] = "Zoe\u0308 Hassan"  # e + combining diaeresis
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert result.ok, [str(p) for p in result.problems]
    assert result.household is not None and result.household.steps[0].who == "Zo\u00eb Hassan"


def test_thirty_thousand_characters_in_a_cell(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.steps[0]["strengths"] = "x" * 30_000
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    assert any(m.startswith("Plan!C2: has 30000 characters, more than the 2000") for m in
               errors), errors


def test_plan_size_limits(tmp_path: Path) -> None:
    demo = edited(valid_household())
    step = {**demo.steps[0], "we_will": "Call", "you_will": None, "who": None}
    demo.steps = [dict(step)] + [dict(step, area=None, goal=None) for _ in range(300)]
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    assert errors == ["Plan!A302: the plan has 301 steps, more than the 300 one plan can "
                      "have (it could not be printed and signed in reasonable time); move "
                      "finished steps and later goals out of this workbook (keep a copy), so "
                      "the plan covers the next few months"]
    demo.steps = [dict(step, we_will="word " * 390)] + [
        dict(step, area=None, goal=None, we_will="line\n" * 300) for _ in range(20)]
    [error] = messages(demo.write(tmp_path / "HH-0002.xlsx"))
    assert error.startswith("Plan: the plan's text is 2") and "more than the 200,000" in error


def test_excel_error_values_and_booleans_do_not_crash(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.steps[0]["we_will"] = True
    demo.steps[0]["by_when"] = True
    demo.steps[1]["you_will"] = "#N/A"
    demo.household["plan_date"] = PLAN_DATE + timedelta(days=0.5)
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    assert any(m.startswith('Plan!G2: "True" is not a date') for m in errors), errors
    assert any(m.startswith("Plan!E3: shows the Excel error #N/A") for m in errors), errors


def test_a_part_given_twice_is_refused(workbook: Path) -> None:
    import warnings

    with warnings.catch_warnings(), zipfile.ZipFile(workbook, "a") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        archive.writestr("xl/worksheets/sheet4.xml", "<worksheet/>")
    assert "HH-0001.xlsx has two parts with the same name inside" in one_error(workbook)


def test_a_damaged_zip_version_field_is_reported(workbook: Path) -> None:
    """Found by bench/fuzz_reader.py: zipfile raises NotImplementedError for it, which
    escaped the reader and would have stopped the watcher's completeness check."""
    import struct

    from pipeline.intake.files import is_complete_workbook

    data = bytearray(workbook.read_bytes())
    struct.pack_into("<H", data, data.index(b"PK\x01\x02") + 6, 186)  # "version 18.6"
    workbook.write_bytes(bytes(data))
    assert "HH-0001.xlsx is incomplete or damaged" in one_error(workbook)
    assert not is_complete_workbook(workbook)


def test_a_pasted_list_of_members_is_refused(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.members += [{"name": f"Person {n}", "adult": True} for n in range(40)]
    errors = messages(demo.write(tmp_path / "HH-0001.xlsx"))
    assert errors == ["Members: 43 members are listed, more than the 40 one plan can have a "
                      "signature block for; check nothing was pasted in by mistake; list "
                      "only the household"]
