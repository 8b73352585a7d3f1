"""Households for the demo workspace (pipeline/demo_families.py) and generated ones for
tests and benchmarks. Everyone here is invented."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .demo_families import FAMILIES, steps_rows
from .intake.writer import write_workbook
from .model import AREAS, DONE, IN_PROGRESS, NOT_STARTED


@dataclass
class DemoHousehold:
    household: dict[str, Any]
    members: list[dict[str, Any]]
    steps: list[dict[str, Any]] = field(default_factory=list)
    safety_plan: list[dict[str, Any]] = field(default_factory=list)
    weekly_reviews: list[dict[str, Any]] = field(default_factory=list)

    def write(self, path: Path) -> Path:
        return write_workbook(path, self.household, self.members, self.steps,
                              self.safety_plan, self.weekly_reviews)


# (area, goal, strengths, we will, you will, who-index or None, days from plan date)
_GOAL_LIBRARY: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {
    "Housing": [("We want a home where the children have their own room",
                 "Kept the current flat in good order; good references from the landlord",
                 [("Make a referral to the council's housing register",
                   "Gather payslips and the tenancy agreement"),
                  ("Explain how bidding for homes works, with an interpreter",
                   "Place a bid every week on the housing website")])],
    "Benefits & Money": [("Manage money without running out before payday",
                          "Careful with spending; already keeps receipts",
                          [("Check entitlement to Universal Credit and Child Benefit",
                            "Bring bank statements to the next meeting"),
                           ("", "Set up a direct debit for the electricity bill")])],
    "Education & Training": [("Improve my English so I can speak to the doctor myself",
                              "Speaks Arabic and French; studies every evening",
                              [("Find an ESOL class near home with a crèche",
                                "Go to the assessment day at the college"),
                               ("", "Practise with the conversation group on Thursdays")])],
    "Employment & Volunteering": [("Work again as an electrician",
                                   "Twelve years' experience; own tools",
                                   [("Ask the partner agency about recognising qualifications",
                                     "Write down past jobs and dates for the CV"),
                                    ("Introduce you to the volunteering coordinator",
                                     "Try two volunteering sessions at the repair café")])],
    "Physical & Mental Health": [("Sleep better and feel less worried",
                                  "Enjoys walking; close to her sister",
                                  [("Book a GP appointment with an interpreter",
                                    "Keep a sleep diary for two weeks"),
                                   ("Refer to the talking therapy service",
                                    "Go to the first appointment")])],
    "Social & Leisure": [("Make friends in the new town",
                          "Loves cooking and football",
                          [("Share the list of community groups and their times",
                            "Visit the community kitchen on Saturday")])],
    "Feeling Safe": [("Feel safe at home at night",
                      "Knows the neighbours on the same floor",
                      [("Ask the landlord to fix the front door lock",
                        "Save the emergency numbers in the phone")])],
    "Family, Friends & Contacts": [("Stay in touch with family abroad",
                                    "Strong family ties; uses video calls",
                                    [("Help set up a cheaper phone plan",
                                      "Compare two phone plans and choose one")])],
    "Self-Care & Life Skills": [("Cook healthy meals on a budget",
                                 "Good cook; enjoys trying new recipes",
                                 [("Share the food bank and cooking course details",
                                   "Join the four-week cooking course")])],
}


def _steps(areas: list[str], plan_date: date, who: list[str], rng: random.Random,
           statuses: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for area in areas:
        for goal, strengths, actions in _GOAL_LIBRARY[area]:
            for index, (we_will, you_will) in enumerate(actions):
                by_when = plan_date + timedelta(days=rng.choice((14, 21, 28, 42, 56, 84)))
                status = NOT_STARTED
                done_on = None
                if statuses and by_when < date.today():
                    status = rng.choice((DONE, IN_PROGRESS, NOT_STARTED))
                    done_on = by_when - timedelta(days=2) if status == DONE else None
                rows.append({
                    "area": area if index == 0 else None,
                    "goal": goal if index == 0 else None,
                    "strengths": strengths if index == 0 else None,
                    "we_will": we_will or None, "you_will": you_will or None,
                    "who": rng.choice(who) if you_will else None,
                    "by_when": by_when, "status": status, "done_on": done_on,
                })
    return rows


def demo_households(today: date | None = None) -> list[DemoHousehold]:
    """The demo's five invented households (pipeline/demo_families.py), planned a month
    ago, with weekly reviews since."""
    plan_date = (today or date.today()) - timedelta(days=30)
    households = []
    for family in FAMILIES:
        household = dict(family["household"])
        caseworker = household["caseworker"]
        household.update({
            "caseworker_email": caseworker.lower().replace(" ", ".") + "@example.org",
            "peer_reviewer": family.get("peer_reviewer", "Sam Okafor"),
            "plan_date": plan_date})
        households.append(DemoHousehold(
            household=household,
            members=[{"name": name, "role": role, "adult": adult, "language": language}
                     for name, role, adult, language in family["members"]],
            steps=steps_rows(family["steps"], plan_date),
            safety_plan=[{"worry": worry, "we_will": we_will, "you_will": you_will,
                          "review_by": plan_date + timedelta(days=days)}
                         for worry, we_will, you_will, days in family["safety"]],
            weekly_reviews=[{"week_of": plan_date + timedelta(days=7 * week),
                             "did_we_do_it": did, "what_changed": changed,
                             "needs_and_blockers": needs, "this_week": this_week,
                             "safety_plan_working": working, "recorded_by": caseworker}
                            for week, (did, changed, needs, this_week, working)
                            in enumerate(family["reviews"], start=1)]))
    return households


DEMO_REFERENCES = frozenset(family["household"]["reference"] for family in FAMILIES)


def synthetic_household(index: int, *, steps: int = 12, seed: int = 0,
                        plan_date: date | None = None) -> DemoHousehold:
    """A generated household with about `steps` steps, for batches and benchmarks."""
    rng = random.Random(seed * 1_000_003 + index)
    plan_date = plan_date or date.today() - timedelta(days=rng.randint(0, 120))
    members = [{"name": f"Adult {index}-{n}", "role": "Parent", "adult": True}
               for n in range(1, rng.randint(1, 2) + 1)]
    members.append({"name": f"Child {index}", "role": "Child", "adult": False})
    areas = list(AREAS)
    rows: list[dict[str, Any]] = []
    while len(rows) < steps:
        rows += _steps([rng.choice(areas)], plan_date, [members[0]["name"]], rng,
                       statuses=True)
    return DemoHousehold(
        household={"reference": f"HH-{index:05d}", "name": f"Household {index}",
                   "caseworker": f"Caseworker {index % 7}",
                   "caseworker_email": f"cw{index % 7}@example.org",
                   "team": ("North", "South", "East")[index % 3], "peer_reviewer": "Sam Okafor",
                   "plan_date": plan_date},
        members=members, steps=rows[:steps])


def write_demo_intake(intake: Path) -> list[Path]:
    """Write the demo workbooks into `intake`, skipping any that exist."""
    written = []
    for demo in demo_households():
        target = intake / f"{demo.household['reference']}.xlsx"
        if not target.exists():
            written.append(demo.write(target))
    return written


# Invented contact details for the demo's config.toml (Ofcom keeps 0113 496 0xxx for drama,
# so no real number is printed on a demo plan); the crisis line is the real one.
DEMO_CONTACTS = {"phone": "0113 496 0000 (Monday to Friday, 9:00 to 17:00)",
                 "out_of_hours": "0113 496 0999",
                 "crisis": "call 999 in an emergency, or Samaritans free on 116 123"}


def show_demo_contacts(config_path: Path) -> None:
    """Fill the demo workspace's fresh config.toml with invented contact details, so the
    demo plans show the contact section as an organisation would fill it in."""
    text = config_path.read_text(encoding="utf-8")
    for key, value in DEMO_CONTACTS.items():
        text = text.replace(f'\n{key} = ""\n', f'\n{key} = "{value}"\n', 1)
    config_path.write_text(text, encoding="utf-8")
