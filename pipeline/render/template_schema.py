"""What a template may use: the names and fields the code really gives it.

The schema is not written down a second time: it is read off the contexts the build and
the review pack really make (render/docx.py `plan_context`, review.py `pack_content`) for
a sample household that has everything a workbook can hold (an interpreter, obstacles, a
step led by a partner, a done step, a safety plan, weekly reviews). A field the code adds
is known to `template check` at once; one a template asks for that no context has is a
value the workbook cannot supply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from ..compare import Change, StepComparison, StepState
from ..model import Household, Interpreter, Member, SafetyItem, Signer, Step
from ..wording.catalogue import Catalogues
from ..wording.settings import LanguageSettings
from .context import Organisation, plan_context
from .kinds import REVIEW

# What render_docx adds to every context: the editable Word copy's notice and page code.
RENDER_FIELDS = {"word_copy": True, "word_copy_code": ""}


@dataclass
class Shape:
    """The shape of a context value: a leaf, fields (a dict), or items (a list)."""

    fields: dict[str, Shape] = field(default_factory=dict)
    item: Shape | None = None
    leaf: bool = False

    @classmethod
    def of(cls, value: Any) -> Shape:
        if isinstance(value, Mapping):  # the wording namespaces are mappings, not dicts
            return cls(fields={str(key): cls.of(item) for key, item in value.items()})
        if isinstance(value, list | tuple):
            shape = cls(item=cls(leaf=True) if not value else None)
            for element in value:
                shape.item = cls.of(element) if shape.item is None \
                    else shape.item.merged(cls.of(element))
            return shape
        return cls(leaf=True)

    def merged(self, other: Shape) -> Shape:
        fields = dict(self.fields)
        for key, shape in other.fields.items():
            fields[key] = fields[key].merged(shape) if key in fields else shape
        item = self.item.merged(other.item) if self.item and other.item \
            else self.item or other.item
        return Shape(fields, item, self.leaf or other.leaf)

    def paths(self, prefix: str = "") -> list[str]:
        """Every dotted name under this shape (for suggestions)."""
        found = []
        for key, shape in self.fields.items():
            name = f"{prefix}.{key}" if prefix else key
            found.append(name)
            found += shape.paths(name)
        if self.item is not None:
            found += self.item.paths(prefix)
        return found


_PLAN_DATE = date(2026, 1, 12)
_ORGANISATION = Organisation("Example Support Service", "1 High Street", "0113 496 0000",
                             "0113 496 0999", "call 999")


def sample_household() -> Household:
    """A household with everything a workbook can hold. Its languages are left blank: the
    context's shape does not depend on them, and recognising a language's name would build
    Babel's index of every language's names (~0.4 s) in the build's own process, which
    otherwise never needs it (the plan's words are given in Arabic, right to left)."""
    later = _PLAN_DATE + timedelta(days=30)
    steps = (
        Step("Housing", "A home with room for the children", "Good landlord reference",
             "Refer to the housing register", "Gather payslips", "Amina Hassan", later,
             "Not started", None, 2, "A long waiting list", "A reference moves us up",
             "Housing officer"),
        Step("Housing", "A home with room for the children", "", "Explain bidding", "",
             "Whole household", later, "Done", _PLAN_DATE, 3),
        Step("Education & Training", "Speak English with the doctor", "", "", "Go to ESOL",
             "Amina Hassan", later, "No longer needed", None, 4),
    )
    return Household(
        "HH-0001", "Hassan family", "Jo Whitfield", "jo@example.org", "North", "Sam Okafor",
        _PLAN_DATE, _PLAN_DATE + timedelta(days=90), "", "Yes",
        (Member("Amina Hassan", "Parent", True, True, ""),
         Member("Layla Hassan", "Child", False, False, "")),
        steps, (SafetyItem("Smoke alarm broken", "Call the landlord", "Test it weekly", later),),
        interpreter=Interpreter("Rania Khalil", "", "Language Line"))


def sample_pack_facts() -> Any:
    from ..review import PackFacts  # review.py imports this package's siblings

    state = StepState("HH-0001-S001", "Housing", "A home", "Refer", "Gather payslips",
                      "Amina Hassan", _PLAN_DATE, "Done", _PLAN_DATE)
    household = sample_household()
    return PackFacts(
        "HH-0001", {"name": household.name, "caseworker": household.caseworker,
                    "preferred_language": "Arabic",
                    "interpreter": ["Rania Khalil", "Arabic", "Language Line"]},
        2, _PLAN_DATE, 1, _PLAN_DATE,
        [StepComparison(Change.NEW, state, None), StepComparison(Change.MOVED, state, state),
         StepComparison(Change.REMOVED, None, state, overdue=True)],
        [{"week_of": _PLAN_DATE, "did_we_do_it": "Yes", "what_changed": "", "needs_and_blockers":
          "", "this_week": "", "safety_plan_working": "Yes"}],
        [Signer("caseworker", "Jo Whitfield", "Caseworker")])


@cache
def _shape(kind: str) -> Shape:
    languages = LanguageSettings(Catalogues())
    if kind == REVIEW:
        from ..review import pack_content

        context = pack_content(sample_pack_facts(), _PLAN_DATE, _PLAN_DATE, _ORGANISATION,
                               languages).context
    else:
        household = sample_household()
        context = plan_context(household, 1, [f"HH-0001-S{n:03d}" for n in range(1, 4)],
                               _ORGANISATION, languages.words_in("ar"))
    return Shape.of({**context, **RENDER_FIELDS})


def context_shape(kind: str) -> Shape:
    """What a template of `kind` (PLAN or REVIEW) is given."""
    return _shape(kind)
