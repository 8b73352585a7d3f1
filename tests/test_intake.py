"""The household workbook: what `new` writes, and what the reader accepts and reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import PLAN_DATE, edited, valid_household
from openpyxl import load_workbook

from pipeline.intake.reader import ERROR, WARNING, add_months, read_workbook
from pipeline.intake.schema import HOUSEHOLD_FIELDS, SHEET_ORDER, TABLE_SHEETS
from pipeline.intake.writer import write_workbook
from pipeline.model import AREAS, STATUSES, WHOLE_HOUSEHOLD


def test_blank_workbook_has_the_contract_sheets_headers_and_dropdowns(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "HH-0042.xlsx", {"reference": "HH-0042",
                                                      "name": "Hassan family",
                                                      "caseworker": "Jo", "plan_date": PLAN_DATE})
    workbook = load_workbook(path)
    assert workbook.sheetnames == list(SHEET_ORDER)
    assert workbook.sheetnames[0] == "Instructions"
    assert workbook["Lists"].sheet_state == "hidden"
    household = workbook["Household"]
    labels = [household.cell(row, 1).value.rstrip(" *") for row in range(2, 2 + len(
        HOUSEHOLD_FIELDS))]
    assert labels[:10] == ["Household reference", "Household name", "Caseworker",
                           "Caseworker email", "Team", "Peer reviewer", "Plan date",
                           "Review date", "Preferred language", "Interpreter used"]
    expected_headers = {
        "Members": ["Name", "Role", "Adult", "Signs plan", "Language"],
        # the contract's columns first, the optional ones added later after them
        "Plan": ["Area", "Goal", "Strengths to build on", "We will", "You will", "Who",
                 "By when", "Status", "Done on", "Our lead", "Obstacles", "How strengths help"],
        "Safety plan": ["Worry or risk", "We will", "You will", "Review by"],
        "Weekly reviews": ["Week of", "Did we do what we planned?",
                           "What has changed, new risks", "Support needs and blockers",
                           "This week we will", "Safety plan working?", "Recorded by"],
    }
    for sheet in TABLE_SHEETS:
        ws = workbook[sheet.name]
        assert [c.value for c in ws[1]] == expected_headers[sheet.name]
        assert ws.freeze_panes == "A2"
        assert all(ws.column_dimensions[c.column_letter].width >= 9 for c in ws[1])
    plan = workbook["Plan"]
    formulas = {next(iter(dv.sqref.ranges)).coord.split(":")[0]: dv.formula1
                for dv in plan.data_validations.dataValidation}
    lists = workbook["Lists"]
    assert [lists.cell(r, 1).value for r in range(2, 11)] == list(AREAS)
    assert [lists.cell(r, 2).value for r in range(2, 6)] == list(STATUSES)
    assert formulas["A2"].endswith("$A$2:$A$10") and formulas["H2"].endswith("$B$2:$B$5")
    assert "$D$2" in formulas["F2"]  # Who: household + member names
    assert lists["D2"].value == WHOLE_HOUSEHOLD and "Members" in lists["D3"].value
    assert plan["G2"].number_format == "dd/mm/yyyy"
    assert formulas["G2"].startswith("DATE(") or "DATE" in formulas["G2"]


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "HH-1.xlsx"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        write_workbook(path, {"reference": "HH-1"})
    assert path.read_bytes() == b"keep me"


def test_valid_household_round_trips(tmp_path: Path) -> None:
    demo = valid_household()
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert result.ok, [str(p) for p in result.problems]
    household = result.household
    assert household is not None
    assert household.name == "Hassan family" and household.plan_date == PLAN_DATE
    assert household.review_date == add_months(PLAN_DATE, 3)
    assert [s.key for s in household.signers] == ["caseworker", "member-1", "member-2",
                                                  "peer-reviewer"]
    second = household.steps[1]  # blank Area and Goal continue the goal above
    assert (second.area, second.goal, second.strengths) == (
        "Housing", "A home with room for the children", "Good landlord reference")
    assert household.steps[2].we_will == "" and household.steps[2].status == "Not started"
    assert household.weekly_reviews[0].week_of == PLAN_DATE


def test_reading_forgives_how_people_type(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.household["plan_date"] = " 03/02/2026 "
    demo.household["review_date"] = 46150  # Excel serial: 2026-05-08
    demo.members[0]["adult"] = "y"
    demo.members[1]["adult"] = " YES "
    demo.steps[0]["area"] = "housing "
    demo.steps[0]["status"] = "in progress"
    demo.steps[0]["by_when"] = datetime(2026, 3, 1, 0, 0)
    demo.steps[2]["by_when"] = "2026-04-01"
    demo.steps.insert(2, {})  # a blank row in between is skipped
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert result.ok, [str(p) for p in result.problems]
    household = result.household
    assert household is not None
    assert household.plan_date == date(2026, 2, 3)
    assert household.review_date == date(2026, 5, 8)
    assert household.steps[0].area == "Housing" and household.steps[0].status == "In progress"
    assert household.steps[2].by_when == date(2026, 4, 1)


# Each error class: a change to a valid workbook, the cell it must name, words in the message.
ERROR_CASES = [
    ("impossible date", lambda d: d.steps[0].update(by_when="31/02/2027"),
     'Plan!G2: "31/02/2027": February 2027 has 28 days; use a day that exists, e.g. '
     '28/02/2027'),
    ("text date", lambda d: d.household.update(plan_date="next week"),
     'Household!B8: "next week" is not a date'),
    ("missing required field", lambda d: d.household.update(caseworker=None),
     "Household!B4: Caseworker is empty"),
    ("bad reference", lambda d: d.household.update(reference="HH 42/a"),
     'Household!B2: "HH 42/a" cannot be used as a household reference'),
    ("bad email", lambda d: d.household.update(caseworker_email="jo at example"),
     'Household!B5: "jo at example" is not an email address'),
    ("review before plan", lambda d: d.household.update(review_date=PLAN_DATE - timedelta(1)),
     "Household!B9: the review date"),
    ("unknown area", lambda d: d.steps[0].update(area="Hosuing"),
     'Plan!A2: "Hosuing" is not a known life area; did you mean "Housing"?'),
    ("unknown status", lambda d: d.steps[0].update(status="Finished"),
     'Plan!H2: "Finished" is not a known status'),
    ("no we/you will", lambda d: d.steps[2].update(you_will=None),
     "Plan!D4: the step says neither what we will do nor what you will do"),
    ("no target date", lambda d: d.steps[2].update(by_when=None),
     "Plan!G4: the step has no target date"),
    ("who not a member", lambda d: d.steps[0].update(who="Uncle Bob"),
     'Plan!F2: "Uncle Bob" is not a member of the household'),
    ("goal missing in new area", lambda d: d.steps[1].update(area="Feeling Safe"),
     "Plan!B3: this step has no goal"),
    ("area missing on new goal", lambda d: d.steps[2].update(area=None),
     "Plan!A4: Area is empty"),
    ("done in the future", lambda d: d.steps[0].update(
        status="Done", done_on=date.today() + timedelta(days=3)),
     "Plan!I2: Done on"),
    ("adult not yes/no", lambda d: d.members[0].update(adult="maybe"),
     'Members!C2: "maybe" is not Yes or No'),
    ("adult missing", lambda d: d.members[1].update(adult=None),
     "Members!C3: Adult is empty"),
    ("duplicate member", lambda d: d.members[2].update(name="Yusuf Hassan"),
     'Members!A4: "Yusuf Hassan" is listed twice'),
    ("member without name", lambda d: d.members.append({"role": "Cousin", "adult": True}),
     "Members!A5: Name is empty on a row that has other entries"),
    ("no members", lambda d: (d.members.clear(), [s.update(who=None) for s in d.steps]),
     "Members!A2: no household members are listed"),
    ("safety item without worry", lambda d: d.safety_plan[0].update(worry=None),
     "Safety plan!A2: Worry or risk is empty"),
    ("weekly review bad date", lambda d: d.weekly_reviews[0].update(week_of="32/01/2026"),
     'Weekly reviews!A2: "32/01/2026": January 2026 has 31 days'),
    ("text too long", lambda d: d.steps[0].update(we_will="x" * 2500),
     "Plan!D2: has 2500 characters"),
    ("excel error value", lambda d: d.steps[0].update(we_will="#REF!"),
     "Plan!D2: shows the Excel error #REF!"),
]


@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in ERROR_CASES],
                         ids=[case[0] for case in ERROR_CASES])
def test_each_error_names_its_cell(tmp_path: Path, mutate, expected: str) -> None:
    demo = edited(valid_household())
    mutate(demo)
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    messages = [str(p) for p in result.errors]
    assert any(m.startswith(expected) for m in messages), messages
    assert not result.ok


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.steps[0]["by_when"] = "31/02/2027"
    demo.steps[1]["status"] = "Finished"
    demo.members[0]["adult"] = "maybe"
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert {p.location for p in result.errors} >= {"Plan!G2", "Plan!H3", "Members!C2"}


def test_missing_sheet_and_header(tmp_path: Path) -> None:
    path = valid_household().write(tmp_path / "HH-0001.xlsx")
    workbook = load_workbook(path)
    del workbook["Safety plan"]
    workbook["Plan"]["D1"] = "Our actions"
    workbook.save(path)
    messages = [str(p) for p in read_workbook(path).errors]
    assert any(m.startswith('Safety plan: the sheet "Safety plan" is missing') for m in messages)
    assert any(m.startswith('Plan!D1: the column "We will" is missing') for m in messages)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0"])
def test_unreadable_files_are_reported_not_raised(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "HH-0009.xlsx"
    path.write_bytes(content)
    result = read_workbook(path)
    assert not result.ok
    assert "HH-0009.xlsx" in str(result.errors[0]) and "Save As" in str(result.errors[0]) or \
        "empty" in str(result.errors[0])


def test_control_characters_are_removed_with_a_warning(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.steps[0]["we_will"] = "Call the council_x000B_ today"  # how Excel stores a VT
    result = read_workbook(demo.write(tmp_path / "HH-0001.xlsx"))
    assert result.ok
    assert result.household is not None
    assert result.household.steps[0].we_will == "Call the council today"
    assert [p.location for p in result.warnings] == ["Plan!D2"]


def test_warnings_do_not_block(tmp_path: Path) -> None:
    demo = edited(valid_household())
    demo.members[2]["signs_plan"] = "Yes"  # a child set to sign
    result = read_workbook(demo.write(tmp_path / "other-name.xlsx"))
    assert result.ok
    assert {p.severity for p in result.problems} == {WARNING}
    assert {p.location for p in result.problems} == {"Members!D4", "Household!B2"}
    assert ERROR not in {p.severity for p in result.problems}


def test_a_pasted_data_dump_is_refused_quickly(tmp_path: Path) -> None:
    import time

    demo = edited(valid_household())
    step = {**demo.steps[0], "area": "Housing", "goal": "A home"}
    demo.steps = [dict(step, we_will=f"Step {n}") for n in range(6000)]
    path = demo.write(tmp_path / "HH-0001.xlsx")
    started = time.perf_counter()
    result = read_workbook(path)
    elapsed = time.perf_counter() - started
    assert [str(p) for p in result.errors] == [
        "Plan!A2001: the sheet has entries beyond row 2000, far more than one household's "
        "plan; check nothing was pasted in by mistake, and remove the extra rows"]
    assert elapsed < 30  # generous: reading stops at the limit instead of reading 6000 rows


def test_a_workbook_that_unpacks_huge_is_refused_before_opening(tmp_path: Path) -> None:
    import zipfile

    path = valid_household().write(tmp_path / "HH-0001.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.bin", b"\0" * (60 * 1024 * 1024))
    [problem] = read_workbook(path).errors
    assert str(problem).startswith("Workbook: HH-0001.xlsx unpacks to 60 MB, more than the 50 MB")
