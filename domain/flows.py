"""Joins, lapses and reinstatements of membership, from the months a participant paid.

The rules (DOMAIN.md, "Coverage"): cover starts with the first paid month; months settle
in order, so unpaid months are only ever left behind by a gap longer than the grace (a
payment within grace settles the oldest unpaid month first); after more than
`grace_months` consecutive unpaid months membership has **lapsed**, and a later payment
**reinstates** it from the month it pays. A death or withdrawal ends membership: no lapse
is counted after it, and months paid beyond it do not count.

So, for a participant's paid months taken as runs of consecutive months:
- **joined** in the first month of the first run;
- **reinstated** in the first month of every later run;
- **lapsed** in the month the status turns `lapsed`: the last paid month of a run, plus
  the grace in force then, plus one (unless membership ended in or before that month).

That is what the coverage dashboard plots; the statuses on any day agree with
`domain.coverage.status_on` by construction (tests check it).
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.rules import RuleBook
from domain.values import Period

JOINED, LAPSED, REINSTATED = "joined", "lapsed", "reinstated"
FLOWS = (JOINED, LAPSED, REINSTATED)


def lapse_month(last_paid: int, rules: RuleBook) -> int:
    """The month (index) a membership paid through `last_paid` lapses, if nothing more is
    paid: the first month whose arrears the rules in force then no longer allow."""
    month = last_paid + 1
    while rules.for_month(Period(month)).in_grace(month - last_paid):
        month += 1
    return month


def runs(paid_months: Iterable[int]) -> list[tuple[int, int]]:
    """Paid months (indexes, any order, repeats allowed) as sorted `(first, last)` runs."""
    found: list[tuple[int, int]] = []
    for month in sorted(set(paid_months)):
        if found and found[-1][1] == month - 1:
            found[-1] = (found[-1][0], month)
        else:
            found.append((month, month))
    return found


def membership_flows(
    paid_months: Iterable[int], ended: int | None, rules: RuleBook
) -> list[tuple[int, str]]:
    """`(month index, JOINED | LAPSED | REINSTATED)` for one participant, in month order.

    `ended`: the month of a death or withdrawal (months after it are not covered, and no
    lapse is counted in or after it). A gap no longer than the grace (which the ledger's
    settlement never leaves, but a rule change might) is not a lapse."""
    counted = [m for m in paid_months if ended is None or m <= ended]
    flows: list[tuple[int, str]] = []
    last: int | None = None
    for first, run_last in runs(counted):
        if last is None:
            flows.append((first, JOINED))
        elif first > lapse_month(last, rules):
            flows.append((lapse_month(last, rules), LAPSED))
            flows.append((first, REINSTATED))
        last = run_last
    if last is not None:
        lapse = lapse_month(last, rules)
        if ended is None or lapse < ended:
            flows.append((lapse, LAPSED))
    return flows
