"""One rule book for the ledger and its read models.

The grace months come from the effective-dated rule book, never from code: with a copy of
`programme_rules.toml` whose grace is changed (`LEDGER_RULES_FILE`), a population seeded
through the ledger (the seed plans its payments with the same rules, so every one is
accepted) gets, on every day checked, the same status and arrears from the
`participant_status` read model as from the ledger itself; and the change shows, since
the shipped rules would have answered otherwise for some of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from domain.rules import default_rule_book
from domain.values import Period
from infra.bootstrap import System, build_system
from infra.settings import ConfigurationError, Settings, load_rule_book
from projections.queries import participant_row
from tests.factories import rules_toml_with_grace
from tools.seed import seed_population


def changed_settings(settings: Settings, folder: Path, grace_months: int) -> Settings:
    rules_file = folder / f"rules-grace-{grace_months}.toml"
    rules_file.write_text(rules_toml_with_grace(grace_months), "utf-8")
    return settings.model_copy(update={"rules_file": rules_file})


@pytest.fixture(params=[1, 5], ids=["grace-1", "grace-5"])
def grace_months(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def system_with_grace(settings: Settings, tmp_path: Path, grace_months: int) -> Iterator[System]:
    """The whole system (ledger, read models, runner) built from settings that name the copy."""
    with build_system(changed_settings(settings, tmp_path, grace_months)) as system:
        yield system


def test_the_read_model_and_the_ledger_agree_under_a_changed_grace(
    system_with_grace: System, grace_months: int
) -> None:
    ledger = system_with_grace.ledger
    today = ledger.today()
    assert ledger.rules.at(today).grace_months == grace_months  # the copy is in force
    end = (Period.containing(today) + -7).first_day
    seeded = seed_population(ledger, participants=80, months=18, seed=14, end=end)
    # every day from the seed's end on: the rows reflect the whole log by then
    days = [end, *((Period.containing(end) + i).first_day for i in range(1, 8)), today]
    days = sorted({d for d in days if end <= d <= today})

    system_with_grace.runner.catch_up()  # the system's own runner and read models
    views = system_with_grace.views
    shipped = default_rule_book()
    compared = differs_from_shipped = 0
    for pid in seeded.participant_ids:
        assert pid is not None
        for day in days:
            domain = ledger.get_status(pid, as_of=day)
            row = participant_row(views, str(pid), day, ledger.rules)
            assert row is not None
            assert (row["status"], row["arrears_months"]) == (
                domain.status,
                domain.arrears_months,
            ), (pid, day, grace_months)
            compared += 1
            by_shipped = participant_row(views, str(pid), day, shipped)
            assert by_shipped is not None
            differs_from_shipped += by_shipped["status"] != row["status"]
    assert compared == len(seeded.participant_ids) * len(days) >= 80 * 2
    # the changed grace mattered: with the shipped 3 months some answers would differ
    assert differs_from_shipped > 0


def test_a_rules_file_that_is_not_a_rule_book_is_a_configuration_error(
    settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[[ruleset]]\nvalid_from = 2015-07-01\nname = "no figures"\n', "utf-8")
    with pytest.raises(ConfigurationError, match="not a programme rule book"):
        load_rule_book(settings.model_copy(update={"rules_file": bad}))
    missing = settings.model_copy(update={"rules_file": tmp_path / "absent.toml"})
    with pytest.raises(ConfigurationError, match=r"absent\.toml"):
        load_rule_book(missing)
    assert load_rule_book(settings) is default_rule_book()  # no file: the shipped rules
    assert date(2015, 7, 1) == load_rule_book(settings).rulesets[0].valid_from
