"""Who receives which findings: one parcel per address, with only what is theirs and why.

[report.teams] (contract):
    [report.teams.North]
    managers = ["north.manager@example.org"]          # every finding of the team
    team_lead = ["north.lead@example.org"]            # findings marked for the team lead
    service_manager = ["service.manager@example.org"]  # findings marked for the service manager
The older form `"North" = ["…"]` means `managers`. A team lead also receives what is marked
for the service manager: it went past them. Households with no team go to `[report]
no_team_recipients`; each caseworker's own list goes to the Caseworker email of their
households when `[report] caseworker_lists` is on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import SettingsError
from ..finding_kinds import SERVICE_MANAGER, TEAM_LEAD
from ..overdue import NO_TEAM, Finding

MANAGERS, TEAM_LEAD_ROLE, SERVICE_MANAGER_ROLE = "managers", "team_lead", "service_manager"
ROLES = (MANAGERS, TEAM_LEAD_ROLE, SERVICE_MANAGER_ROLE)
# Which of a team's findings each role receives, and how the message says why.
ROLE_RULES: dict[str, tuple[Callable[[Finding], bool], str]] = {
    MANAGERS: (lambda f: True, "you manage team {team}: every finding of the team"),
    TEAM_LEAD_ROLE: (lambda f: f.escalation in (TEAM_LEAD, SERVICE_MANAGER),
                     "you are team lead of {team}: findings marked for the team lead "
                     "(and those past them, marked for the service manager)"),
    SERVICE_MANAGER_ROLE: (lambda f: f.escalation == SERVICE_MANAGER,
                           "you are service manager for {team}: findings marked for the "
                           "service manager"),
}


class RoutingError(SettingsError):
    """[report.teams] or the recipients' settings are wrong; the message says how."""


@dataclass(frozen=True)
class TeamRoute:
    team: str
    managers: tuple[str, ...] = ()
    team_lead: tuple[str, ...] = ()
    service_manager: tuple[str, ...] = ()

    def addresses(self, role: str) -> tuple[str, ...]:
        return getattr(self, role)  # type: ignore[no-any-return]


@dataclass
class Parcel:
    """One recipient's message: their findings (each once) and why they receive them."""

    address: str
    findings: list[Finding] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # team roles, "no team", "caseworker"
    _seen: set[int] = field(default_factory=set, repr=False)

    def add(self, findings: Iterable[Finding], reason: str, role: str, team: str = "") -> None:
        for item in findings:
            if id(item) not in self._seen:
                self._seen.add(id(item))
                self.findings.append(item)
        if reason not in self.reasons:
            self.reasons.append(reason)
        if role not in self.roles:
            self.roles.append(role)
        if team and team not in self.teams:
            self.teams.append(team)

    @property
    def caseworker_only(self) -> bool:
        return self.roles == ["caseworker"]


def team_key(team: str) -> str:
    return " ".join(team.split()).casefold()


def addresses(value: Any, where: str, allow_empty: bool = True) -> tuple[str, ...]:
    listed = [value] if isinstance(value, str) else value
    if (not isinstance(listed, list) or not (listed or allow_empty)
            or not all(isinstance(a, str) and "@" in a for a in listed)):
        raise RoutingError(f"config.toml {where}: give a list of e-mail addresses, e.g. "
                           '["manager@example.org"]')
    return tuple(a.strip() for a in listed)


def routes_from_config(teams: Mapping[str, Any]) -> dict[str, TeamRoute]:
    """[report.teams], checked: a team's table of roles, or (older) a list = managers."""
    routes: dict[str, TeamRoute] = {}
    for team, value in teams.items():
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(ROLES))
            if unknown:
                raise RoutingError(f'config.toml [report.teams."{team}"]: unknown '
                                   f"{', '.join(unknown)}; use {', '.join(ROLES)}")
            lists = {role: addresses(value[role], f'[report.teams."{team}"] {role}')
                     for role in ROLES if role in value}
            if not any(lists.values()):
                raise RoutingError(f'config.toml [report.teams."{team}"]: give at least one '
                                   f"address under {', '.join(ROLES)}")
            routes[team] = TeamRoute(team, **lists)
        else:
            routes[team] = TeamRoute(team, managers=addresses(
                value, f'[report.teams] "{team}"', allow_empty=False))
    return routes


@dataclass
class Routing:
    parcels: list[Parcel]
    unrouted_teams: list[str]  # teams with findings and nobody configured
    no_team_households: int  # households with findings and no team


def route(findings: Sequence[Finding], routes: Mapping[str, TeamRoute],
          no_team_recipients: Sequence[str] = (), caseworker_lists: bool = False) -> Routing:
    """Every recipient's parcel, in the order first met (teams as configured)."""
    parcels: dict[str, Parcel] = {}

    def parcel(address: str) -> Parcel:
        return parcels.setdefault(address.casefold(), Parcel(address))

    by_team: dict[str, list[Finding]] = {}
    for item in findings:
        by_team.setdefault(team_key(item.team), []).append(item)
    for team, team_route in routes.items():
        team_findings = by_team.get(team_key(team), [])
        if not team_findings:
            continue
        for role in ROLES:
            accepts, reason = ROLE_RULES[role]
            chosen = [f for f in team_findings if accepts(f)]
            if not chosen:
                continue
            for address in team_route.addresses(role):
                parcel(address).add(chosen, reason.format(team=team), role, team)
    no_team = by_team.get(team_key(NO_TEAM), [])
    for address in no_team_recipients if no_team else ():
        parcel(address).add(no_team, "you receive the findings of households with no team "
                            "in their workbook", "no team", NO_TEAM)
    if caseworker_lists:
        by_caseworker: dict[str, list[Finding]] = {}
        for item in findings:
            if "@" in item.caseworker_email:
                by_caseworker.setdefault(item.caseworker_email.strip(), []).append(item)
        for address, own in by_caseworker.items():
            parcel(address).add(own, "your own weekly list: the households you are "
                                "caseworker for", "caseworker")
    routed = {team_key(team) for team in routes}
    unrouted = sorted({f.team for f in findings if f.team != NO_TEAM
                       and team_key(f.team) not in routed})
    return Routing(list(parcels.values()), unrouted, len({f.reference for f in no_team}))
