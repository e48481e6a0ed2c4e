"""One parser per command: a mapping of strings (or typed values) in, a typed command out.

CSV rows, JSON bodies and command-line arguments all come through here, so a malformed
field is refused with the same code and message whichever way it came in. The parsers
check the fields' shapes only; what needs the ledger's clock, rule book or store (a date
in the future, a NIK already enrolled) the `Ledger` checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from domain.commands.fields import (
    Fields,
    captured_at,
    claim_id,
    flag,
    month,
    occupation,
    optional_day,
    participant_id,
    person_name,
    phone,
    text,
)
from domain.commands.model import (
    ApproveClaim,
    ChangeProgrammes,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
)
from domain.errors import InvalidInputError, LedgerError
from domain.regions import village
from domain.text import clean_text
from domain.values import (
    Nik,
    Programme,
    parse_channel,
    parse_date,
    parse_programmes,
    parse_rupiah,
    parse_segment,
    parse_sex,
)

C = TypeVar("C")
PARSERS: dict[type, Callable[[Fields], Any]] = {}


def parser(kind: type[C]) -> Callable[[Callable[[Fields], C]], Callable[[Fields], C]]:
    def register(parse: Callable[[Fields], C]) -> Callable[[Fields], C]:
        PARSERS[kind] = parse
        return parse

    return register


def parse(kind: type[C], fields: Fields | None = None, /, **more: Any) -> C:
    """The command of type `kind` from `fields` and/or keyword fields (strings or typed
    values): `parse(DeclareIncome, participant_id=pid, declared_income="2.000.000", ...)`."""
    result: C = PARSERS[kind]({**fields, **more} if fields is not None else more)
    return result


@parser(Enroll)
def parse_enroll(row: Fields) -> Enroll:
    """Fields: nik, name, birth_date, sex (M/F), phone, address (optional), village_code,
    occupation, declared_income, programmes (`JKK+JKM[+JHT]`), channel, agent_id,
    enrolled_on, segment (optional, BPU)."""
    nik = Nik.parse(text(row, "nik"))
    name = person_name(text(row, "name"))
    birth_date = parse_date(row.get("birth_date", ""), field="birth date")
    sex = parse_sex(text(row, "sex"))
    nik.check_person(sex=sex, birth_date=birth_date)
    enrolled_on = optional_day(row.get("enrolled_on"), "enrollment date")
    channel, agent_id = parse_channel(text(row, "channel"), row.get("agent_id"))
    return Enroll(
        nik=nik,
        name=name,
        birth_date=birth_date,
        sex=sex,
        phone=phone(row.get("phone")),
        address=clean_text(row.get("address"), field="address") or None,
        village=village(text(row, "village_code")).code,
        occupation=occupation(row.get("occupation")),
        segment=parse_segment(str(row.get("segment") or "BPU")),
        programmes=parse_programmes(text(row, "programmes")),
        declared_income=parse_rupiah(row.get("declared_income", ""), field="declared income"),
        channel=channel,
        agent_id=agent_id,
        enrolled_on=enrolled_on,
        captured_at=captured_at(row),
    )


@parser(RecordContribution)
def parse_record_contribution(row: Fields) -> RecordContribution:
    """Fields: payment_ref, participant_id or nik, amount, paid_on, channel, agent_id."""
    payment_ref = text(row, "payment_ref")
    if not 1 <= len(payment_ref) <= 64:
        raise InvalidInputError(
            "invalid_payment_ref", "A payment reference has 1 to 64 characters."
        )
    amount = parse_rupiah(row.get("amount", ""))
    paid_on = optional_day(row.get("paid_on"), "payment date")
    channel, agent_id = parse_channel(text(row, "channel"), row.get("agent_id"))
    if row.get("participant_id"):
        return RecordContribution(
            payment_ref=payment_ref,
            amount=amount,
            channel=channel,
            agent_id=agent_id,
            paid_on=paid_on,
            participant_id=participant_id(row),
            captured_at=captured_at(row),
        )
    return RecordContribution(
        payment_ref=payment_ref,
        amount=amount,
        channel=channel,
        agent_id=agent_id,
        paid_on=paid_on,
        nik=Nik.parse(text(row, "nik")),
        captured_at=captured_at(row),
    )


@parser(DeclareIncome)
def parse_declare_income(row: Fields) -> DeclareIncome:
    """Fields: participant_id, declared_income, from_month (YYYY-MM), declared_on."""
    return DeclareIncome(
        participant_id=participant_id(row),
        declared_income=parse_rupiah(row.get("declared_income", ""), field="declared income"),
        from_month=month(row.get("from_month", "")),
        declared_on=optional_day(row.get("declared_on"), "declaration date"),
    )


@parser(ChangeProgrammes)
def parse_change_programmes(row: Fields) -> ChangeProgrammes:
    """Fields: participant_id, programmes (`JKK+JKM[+JHT]` or a list), from_month, changed_on."""
    programmes = row.get("programmes", "")
    return ChangeProgrammes(
        participant_id=participant_id(row),
        programmes=parse_programmes(
            programmes if isinstance(programmes, str) else tuple(programmes)
        ),
        from_month=month(row.get("from_month", "")),
        changed_on=optional_day(row.get("changed_on"), "change date"),
    )


_CORRECTABLE = (
    "name",
    "phone",
    "address",
    "birth_date",
    "nik",
    "village_code",
    "occupation",
    "sex",
)


@parser(CorrectDetails)
def parse_correct_details(row: Fields) -> CorrectDetails:
    """Fields: participant_id, corrected_on, and any of name, phone, address, birth_date,
    nik, village_code, occupation, sex (left out or None: unchanged)."""
    unknown = set(row) - {*_CORRECTABLE, "participant_id", "corrected_on"}
    if unknown:
        raise InvalidInputError("unknown_field", f"Cannot correct {', '.join(sorted(unknown))}.")
    pid = participant_id(row)
    personal: dict[str, str | None] = {}
    if row.get("name") is not None:
        personal["name"] = person_name(str(row["name"]).strip())
    if row.get("phone") is not None:
        personal["phone"] = phone(row["phone"])
    if row.get("address") is not None:
        personal["address"] = clean_text(row["address"], field="address") or None
    if row.get("birth_date") is not None:
        personal["birth_date"] = parse_date(row["birth_date"], field="birth date").isoformat()
    sex = parse_sex(row["sex"]) if row.get("sex") is not None else None
    nik = Nik.parse(row["nik"]) if row.get("nik") is not None else None
    return CorrectDetails(
        participant_id=pid,
        personal=personal,
        nik=nik,
        sex=sex,
        corrected_on=optional_day(row.get("corrected_on"), "correction date"),
        village=village(row["village_code"]).code if row.get("village_code") else None,
        occupation=occupation(row["occupation"]) if row.get("occupation") else None,
    )


@parser(RecordDeath)
def parse_record_death(row: Fields) -> RecordDeath:
    """Fields: participant_id, died_on."""
    return RecordDeath(
        participant_id=participant_id(row),
        died_on=parse_date(row.get("died_on", ""), field="date of death"),
    )


@parser(Withdraw)
def parse_withdraw(row: Fields) -> Withdraw:
    """Fields: participant_id, withdrawn_on, reason (default "requested")."""
    return Withdraw(
        participant_id=participant_id(row),
        withdrawn_on=optional_day(row.get("withdrawn_on"), "withdrawal date"),
        reason=clean_text(row.get("reason"), field="reason")[:200] or "requested",
    )


@parser(FileClaim)
def parse_file_claim(row: Fields) -> FileClaim:
    """Fields: participant_id, programme, kind, incident_date, filed_on, work_related,
    description."""
    pid = participant_id(row)
    programme = clean_text(row.get("programme"), field="programme")
    code = programme.upper()
    if code not in Programme.__members__:
        raise InvalidInputError("unknown_programme", f"'{programme}' is not a programme.")
    return FileClaim(
        participant_id=pid,
        programme=code,
        kind=clean_text(row.get("kind"), field="claim kind").lower(),
        incident_date=parse_date(row.get("incident_date", ""), field="incident date"),
        filed_on=optional_day(row.get("filed_on"), "filing date"),
        work_related=flag(row.get("work_related"), "work_related"),
        description=clean_text(row.get("description"), field="description")[:2000],
    )


@parser(ApproveClaim)
def parse_approve_claim(row: Fields) -> ApproveClaim:
    """Fields: participant_id, claim_id, approved_on, amount (only for assessed benefits)."""
    amount = row.get("amount")
    return ApproveClaim(
        participant_id=participant_id(row),
        claim_id=claim_id(row),
        approved_on=optional_day(row.get("approved_on"), "approval date"),
        amount=None if amount is None or amount == "" else parse_rupiah(amount),
    )


@parser(RejectClaim)
def parse_reject_claim(row: Fields) -> RejectClaim:
    """Fields: participant_id, claim_id, reason, rejected_on."""
    pid, cid = participant_id(row), claim_id(row)
    reason = clean_text(row.get("reason"), field="reason")
    if not reason:
        raise InvalidInputError("reason_required", "A rejection needs a reason.")
    return RejectClaim(
        participant_id=pid,
        claim_id=cid,
        reason=reason[:200],
        rejected_on=optional_day(row.get("rejected_on"), "rejection date"),
    )


@parser(PayClaim)
def parse_pay_claim(row: Fields) -> PayClaim:
    """Fields: participant_id, claim_id, paid_on."""
    return PayClaim(
        participant_id=participant_id(row),
        claim_id=claim_id(row),
        paid_on=optional_day(row.get("paid_on"), "payment date"),
    )


@parser(ErasePersonalData)
def parse_erase_personal_data(row: Fields) -> ErasePersonalData:
    """Fields: participant_id, erased_on."""
    return ErasePersonalData(
        participant_id=participant_id(row),
        erased_on=optional_day(row.get("erased_on"), "erasure date"),
    )


R = TypeVar("R")


def run_parsed(
    kind: type[C],
    rows: Sequence[Fields],
    run: Callable[..., Sequence[R]],
    *,
    before_commit: Callable[[list[Any]], None] | None = None,
) -> list[R | LedgerError]:
    """Parse each row into a `kind` command, `run` the parsed ones together, and give
    every row its outcome in order: the run's result, or the refusal its parsing gave.

    With `before_commit`, `run` (a ledger bulk command) is given a `before_commit` of its
    own, and the hook sees every row's outcome before each commit: its refusal, its
    result, or None for a command not run yet (`domain.transactions.BeforeCommit`)."""
    parsed: list[C | LedgerError] = []
    for row in rows:
        try:
            parsed.append(parse(kind, row))
        except LedgerError as error:
            parsed.append(error)
    commands = [p for p in parsed if not isinstance(p, LedgerError)]

    def by_row(outcomes: Sequence[Any]) -> list[Any]:
        results = iter(outcomes)
        return [p if isinstance(p, LedgerError) else next(results, None) for p in parsed]

    if before_commit is None:
        results = run(commands)
    else:
        hook = before_commit
        results = run(commands, before_commit=lambda outcomes: hook(by_row(outcomes)))
    if len(results) != len(commands):
        raise AssertionError(f"{len(results)} outcomes for {len(commands)} commands")
    return by_row(results)
