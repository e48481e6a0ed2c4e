"""`domain.flows`: joins, lapses and reinstatements agree with a month-by-month walk of
the statuses the rules give (active, grace, lapsed), whatever months were paid."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.flows import JOINED, LAPSED, REINSTATED, lapse_month, membership_flows, runs
from domain.rules import default_rule_book
from domain.values import Period

RULES = default_rule_book()
START = Period.of(2024, 1).index


def walk(paid: set[int], ended: int | None) -> list[tuple[int, str]]:
    """The flows read off the status of each month in turn, as `status_of` words them."""
    counted = {m for m in paid if ended is None or m <= ended}
    if not counted:
        return []
    flows: list[tuple[int, str]] = []
    previous = "pending"
    for month in range(min(counted), max(counted) + 12):
        if ended is not None and month >= ended and month not in counted:
            break
        if month in counted:
            status = "active"
        else:
            last = max(m for m in counted if m < month)
            grace = RULES.for_month(Period(month)).grace_months
            status = "grace" if month - last <= grace else "lapsed"
        if status == "active" and previous == "pending":
            flows.append((month, JOINED))
        elif status == "active" and previous == "lapsed":
            flows.append((month, REINSTATED))
        elif status == "lapsed" and previous != "lapsed":
            flows.append((month, LAPSED))
        previous = status
    return flows


@given(
    st.sets(st.integers(START, START + 40), max_size=30), st.none() | st.integers(START, START + 45)
)
def test_flows_agree_with_the_statuses_month_by_month(paid: set[int], ended: int | None) -> None:
    assert membership_flows(paid, ended, RULES) == walk(paid, ended)


@given(st.sets(st.integers(START, START + 60), max_size=40))
def test_one_join_and_a_reinstatement_per_lapse_that_ended(paid: set[int]) -> None:
    flows = [kind for _, kind in membership_flows(paid, None, RULES)]
    assert flows.count(JOINED) == (1 if paid else 0)
    # Every run but the last was followed by a lapse and then a reinstatement, or joined
    # up within grace; the last run always lapses in the end unless paid on.
    assert flows.count(LAPSED) == flows.count(REINSTATED) + (1 if paid else 0)


def test_a_payment_within_grace_moves_the_lapse() -> None:
    march = Period.of(2025, 3).index
    assert membership_flows({march}, None, RULES) == [
        (march, JOINED),
        (lapse_month(march, RULES), LAPSED),
    ]
    assert lapse_month(march, RULES) == march + 4  # three months of grace, then lapsed
    # The arrears paid late close the gap: no lapse in July any more.
    assert membership_flows({march, march + 1, march + 2}, None, RULES)[-1] == (march + 6, LAPSED)
    # Paying again after the lapse reinstates from the month paid.
    assert membership_flows({march, march + 9}, None, RULES) == [
        (march, JOINED),
        (march + 4, LAPSED),
        (march + 9, REINSTATED),
        (march + 13, LAPSED),
    ]


def test_no_lapse_after_death_and_no_cover_past_it() -> None:
    may = Period.of(2025, 5).index
    assert membership_flows({may, may + 1, may + 2}, may + 1, RULES) == [(may, JOINED)]
    assert runs([5, 3, 4, 4, 9]) == [(3, 5), (9, 9)]
