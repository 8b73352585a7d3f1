"""Realistic synthetic households for the demo workspace, tests and benchmarks.

Everyone here is invented. Names come in the scripts real caseloads have (Arabic, Tigrinya,
Ukrainian, Dari, Latin), so the demo shows the plan handles them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
    """A handful of varied households: families and single people, several scripts."""
    today = today or date.today()
    rng = random.Random(42)
    plan_date = today - timedelta(days=30)
    specs = [
        ("HH-0042", "Hassan family", [("أمينة حسن", "Parent", True, "Arabic"),
                                     ("Yusuf Hassan", "Parent", True, "Arabic"),
                                     ("Layla Hassan", "Child", False, "Arabic")],
         ["Housing", "Benefits & Money", "Education & Training", "Physical & Mental Health"],
         "Arabic", "Yes"),
        ("HH-0043", "Tesfay household", [("ሃብተ ተስፋይ", "Main tenant", True, "Tigrinya"),
                                        ("Selam Tesfay", "Partner", True, "Tigrinya")],
         ["Employment & Volunteering", "Social & Leisure", "Feeling Safe"], "Tigrinya", "Yes"),
        ("HH-0044", "Kovalenko family", [("Олена Коваленко", "Parent", True, "Ukrainian"),
                                         ("Dmytro Kovalenko", "Child", False, "Ukrainian"),
                                         ("Ірина Коваленко", "Grandparent", True, "Ukrainian")],
         ["Housing", "Education & Training", "Family, Friends & Contacts"], "Ukrainian", "No"),
        ("HH-0045", "Mr Daniel Price", [("Daniel Price", "Tenant", True, "English")],
         ["Benefits & Money", "Self-Care & Life Skills", "Physical & Mental Health"],
         "English", "No"),
        ("HH-0046", "Ahmadi family", [("Farid Ahmadi", "Parent", True, "Dari"),
                                      ("مریم احمدی", "Parent", True, "Dari"),
                                      ("Omid Ahmadi", "Child", False, "Dari"),
                                      ("Sara Ahmadi", "Child", False, "Dari")],
         list(AREAS), "Dari", "Yes"),
    ]
    households = []
    for reference, name, people, areas, language, interpreter in specs:
        members = [{"name": n, "role": role, "adult": adult, "language": lang}
                   for n, role, adult, lang in people]
        adults = [m["name"] for m in members if m["adult"]]
        households.append(DemoHousehold(
            household={"reference": reference, "name": name, "caseworker": "Jo Whitfield",
                       "caseworker_email": "jo.whitfield@example.org",
                       "team": rng.choice(("North", "South")), "peer_reviewer": "Sam Okafor",
                       "plan_date": plan_date, "preferred_language": language,
                       "interpreter_used": interpreter},
            members=members,
            steps=_steps(areas, plan_date, adults, rng, statuses=True),
            safety_plan=[{"worry": "Smoke alarm does not work",
                          "we_will": "Ask the landlord to replace it this week",
                          "you_will": "Test it every Monday",
                          "review_by": plan_date + timedelta(days=14)},
                         {"worry": "Feeling low in the evenings",
                          "we_will": "Share the 24-hour helpline numbers",
                          "you_will": "Call the helpline or a friend when it gets hard",
                          "review_by": plan_date + timedelta(days=28)}],
            weekly_reviews=[{"week_of": plan_date + timedelta(days=7 * week),
                             "did_we_do_it": "Yes, mostly",
                             "what_changed": "Nothing new", "needs_and_blockers": "None",
                             "this_week": "Follow up the referral",
                             "safety_plan_working": True, "recorded_by": "Jo Whitfield"}
                            for week in range(1, 4)]))
    return households


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
