"""The scheme's rules for filing a claim: which kinds each programme pays, cover at the
incident, one JKM claim per participant, the JHT age and balance (DOMAIN.md, Claims).

Checked before `Participant.file_claim` records anything; a refusal raises a
`LedgerError` with a stable code.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from domain.coverage import MemberRecord, covered_programmes, status_on
from domain.errors import ConflictError, InvalidInputError, RuleViolationError
from domain.rules import RuleBook
from domain.values import Period, Programme

OPEN_CLAIM = ("filed", "approved")

CLAIM_KINDS: dict[str, tuple[str, ...]] = {
    Programme.JKK: ("medical", "temporary_incapacity", "disability", "death"),
    Programme.JKM: ("death",),
    Programme.JHT: ("withdrawal", "age", "disability", "death"),
}


class Claimant(MemberRecord, Protocol):
    """What the claim rules need of a participant."""

    @property
    def jht_balance(self) -> int: ...


def check_claim_kind(programme: str, kind: str) -> None:
    if kind not in CLAIM_KINDS[programme]:
        raise InvalidInputError(
            "invalid_claim_kind",
            f"A {programme} claim is one of: {', '.join(CLAIM_KINDS[programme])}.",
        )


def check_claim(
    p: Claimant,
    *,
    programme: str,
    kind: str,
    incident_date: date,
    filed_on: date,
    work_related: bool,
    birth_date: date | None,
    rules: RuleBook,
) -> None:
    """Refuses a claim the rules do not allow (the kind and the enrollment date checked first)."""
    if incident_date > filed_on:
        raise InvalidInputError("incident_after_filing", "The incident is after the filing date.")
    ruleset = rules.at(incident_date)
    if kind == "death":
        if p.died_on is None:
            raise RuleViolationError(
                "death_not_recorded", "Record the participant's death before a death claim."
            )
        if incident_date != p.died_on:
            raise InvalidInputError(
                "incident_not_death_date",
                f"A death claim's incident date is the date of death, {p.died_on.isoformat()}.",
            )
    if programme == Programme.JKM and work_related:
        raise RuleViolationError(
            "work_accident_is_jkk", "A death from a work accident is claimed under JKK, not JKM."
        )
    if programme == Programme.JKK and not work_related:
        raise RuleViolationError("not_work_related", "JKK covers work-related incidents only.")
    if programme == Programme.JKM and any(
        c["programme"] == Programme.JKM and c["status"] != "rejected" for c in p.claims.values()
    ):
        raise ConflictError("jkm_already_claimed", "A participant has one JKM claim at most.")
    if programme == Programme.JHT:
        _check_jht_claim(p, kind, incident_date, birth_date, ruleset.jht_claim_age)
    else:
        # Cover as known at filing: arrears paid within grace restore cover for their
        # months (DOMAIN.md, Coverage), including an incident that happened meanwhile.
        if programme not in covered_programmes(p, Period.containing(incident_date), filed_on):
            status = status_on(p, incident_date, rules)
            raise RuleViolationError(
                "not_covered",
                f"{programme} did not cover {incident_date.isoformat()}: the participant was "
                f"{status.status} then (paid through {status.paid_through or 'nothing'}).",
            )
        waiting = ruleset.waiting_days.get(programme, 0)
        if (incident_date - p.enrolled_on).days < waiting:
            raise RuleViolationError(
                "waiting_period",
                f"{programme} claims need {waiting} days of membership before the incident.",
            )


def _check_jht_claim(
    p: Claimant, kind: str, incident_date: date, birth_date: date | None, claim_age: int
) -> None:
    if any(
        c["programme"] == Programme.JHT and c["status"] in OPEN_CLAIM for c in p.claims.values()
    ):
        raise ConflictError("jht_claim_open", "A JHT claim is already open.")
    if p.jht_balance <= 0:
        raise RuleViolationError("no_jht_balance", "There is no JHT balance to claim.")
    if kind == "withdrawal" and p.withdrawn_on is None:
        raise RuleViolationError(
            "not_withdrawn", "A JHT withdrawal claim needs the withdrawal recorded first."
        )
    if kind == "age":
        if birth_date is None:
            raise RuleViolationError("birth_date_unknown", "The birth date is not known.")
        age = (
            incident_date.year
            - birth_date.year
            - ((incident_date.month, incident_date.day) < (birth_date.month, birth_date.day))
        )
        if age < claim_age:
            raise RuleViolationError(
                "below_jht_age", f"JHT is paid at {claim_age}; the participant was {age}."
            )
