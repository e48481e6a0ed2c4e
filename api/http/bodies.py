"""Request bodies: the import files' column names, typed at the edge.

Lengths and ranges are bounded here so that nothing a caller sends can overflow a
column or smuggle a control character into a stored identifier; the ledger's own rules
(a NIK's check, a village that exists, whole months of dues) answer with their codes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# Printable text on one line: no control characters (PostgreSQL refuses NUL in text).
_LINE = r"^[^\x00-\x1f\x7f]*$"
Line = Annotated[str, StringConstraints(max_length=200, pattern=_LINE)]
ShortLine = Annotated[str, StringConstraints(max_length=64, pattern=_LINE)]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
Rupiah = Annotated[int, Field(ge=0, le=10**13, description="Whole rupiah.")]
Month = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
    Field(description="A month, YYYY-MM.", examples=["2025-03"]),
]
ProgrammeCode = Literal["JKK", "JKM", "JHT"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EnrollmentIn(Body):
    nik: ShortLine = Field(description="16 digits.", examples=["3276014708950001"])
    name: Line
    birth_date: date
    sex: Literal["M", "F"]
    phone: ShortLine | None = None
    address: Line | None = None
    village_code: ShortLine = Field(examples=["32.76.01.1006"])
    occupation: ShortLine
    declared_income: Rupiah
    programmes: list[ProgrammeCode] = Field(min_length=1, max_length=3, examples=[["JKK", "JKM"]])
    channel: ShortLine = Field(examples=["perisai"])
    agent_id: ShortLine | None = None
    enrolled_on: date | None = None


class ContributionIn(Body):
    payment_ref: ShortLine = Field(min_length=1)
    amount: Rupiah
    paid_on: date | None = None
    channel: ShortLine = "bank"
    agent_id: ShortLine | None = None


class IncomeIn(Body):
    declared_income: Rupiah
    from_month: Month
    declared_on: date | None = None


class ProgrammesIn(Body):
    programmes: list[ProgrammeCode] = Field(min_length=1, max_length=3)
    from_month: Month
    changed_on: date | None = None


class CorrectionIn(Body):
    """Only the fields to correct."""

    name: Line | None = None
    phone: ShortLine | None = None
    address: Line | None = None
    birth_date: date | None = None
    nik: ShortLine | None = None
    village_code: ShortLine | None = None
    occupation: ShortLine | None = None
    sex: Literal["M", "F"] | None = None
    corrected_on: date | None = None


class DeathIn(Body):
    died_on: date


class WithdrawalIn(Body):
    withdrawn_on: date | None = None
    reason: Line = "requested"


class ClaimIn(Body):
    programme: ProgrammeCode
    kind: ShortLine = Field(examples=["medical"])
    incident_date: date
    filed_on: date | None = None
    work_related: bool = False
    description: Text = ""


class ApprovalIn(Body):
    approved_on: date | None = None
    amount: Rupiah | None = Field(default=None, description="Only for assessed JKK benefits.")


class RejectionIn(Body):
    reason: Line = Field(min_length=1)
    rejected_on: date | None = None


class ClaimPaymentIn(Body):
    paid_on: date | None = None


class BatchEnrollment(EnrollmentIn):
    kind: Literal["enrollment"]
    command_id: UUID
    captured_at: AwareDatetime = Field(description="When the device captured it, with its offset.")


class BatchContribution(ContributionIn):
    kind: Literal["contribution"]
    command_id: UUID
    captured_at: AwareDatetime = Field(description="When the device captured it, with its offset.")
    participant_id: UUID | None = None
    nik: ShortLine | None = None


BatchCommand = Annotated[BatchEnrollment | BatchContribution, Field(discriminator="kind")]


class BatchIn(Body):
    """Each command is validated on its own (a bad one is answered in its place, the
    others still run), so the list takes any objects; their shapes are `BatchEnrollment`
    and `BatchContribution`."""

    commands: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=500,
        description="Commands, each with `command_id` (UUID), `kind` (`enrollment` or "
        "`contribution`), `captured_at` (when the device captured it) and the "
        "fields of `POST /v1/participants` or of a contribution (which names "
        "its worker by `participant_id` or `nik`).",
    )
