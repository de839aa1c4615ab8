"""What extraction returns: a contract's ledger metadata, each value with the text it came from.

The same pydantic model is the output contract of every engine (the deterministic rules and the optional
Bedrock engine, whose tool schema is generated from it) and what the envelope stores.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tachiai.domain.text import Line

FieldName = Literal[
    "contract_date",
    "start_date",
    "end_date",
    "parties",
    "auto_renewal",
    "notice_period",
    "notice_deadline",
    "amount",
    "currency",
]
FIELD_NAMES: tuple[FieldName, ...] = get_args(FieldName)
"""Every field, in the order above."""

NOTICE_PERIOD = re.compile(r"^(?P<n>[1-9][0-9]{0,3}) (?P<unit>days|weeks|months|years)$")
"""``notice_period`` is written ``"<n> days|weeks|months|years"`` (``"3 months"``, ``"30 days"``)."""


class Evidence(BaseModel):
    """Where a value came from: the text as written in the contract, and how sure the engine is."""

    model_config = ConfigDict(frozen=True)

    field: FieldName
    text: str = Field(max_length=500)
    """The words the value was read from, exactly as in the extracted text."""
    start: int | None = Field(default=None, ge=0)
    """Offset of ``text`` in the extracted text (None when the engine could not locate it)."""
    end: int | None = Field(default=None, ge=0)
    confidence: float = Field(ge=0.0, le=1.0)


class ContractMetadata(BaseModel):
    """A contract's ledger data. Every field may be None (or empty) when the contract does not say."""

    model_config = ConfigDict(frozen=True)

    contract_date: date | None = None
    """締結日 / "made and entered into as of": the transaction date of the ledger."""
    start_date: date | None = None
    end_date: date | None = None
    parties: list[Line] = Field(default_factory=list)
    """Legal names as written (株式会社サンプル商事, Acme Corp.), never 甲/乙 or "Licensor"; one clean
    line each (:mod:`tachiai.domain.text`: a PDF's text can carry any character)."""
    auto_renewal: bool | None = None
    notice_period: str | None = None
    """How long before the end date notice must be given: ``"3 months"``, ``"30 days"``."""
    notice_deadline: date | None = None
    """The last day to give notice: ``end_date`` minus ``notice_period`` (computed)."""
    amount: int | None = Field(default=None, ge=0)
    """The contract amount in the currency's unit (yen), as an integer."""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """ISO 4217 (JPY, USD, EUR ...)."""
    evidence: list[Evidence] = Field(default_factory=list)
    engine: str = "rules"
    """Which engine produced this (``rules``, ``bedrock:<model id>``, ``manual``)."""

    @field_validator("notice_period")
    @classmethod
    def _notice_period_form(cls, value: str | None) -> str | None:
        if value is not None and not NOTICE_PERIOD.match(value):
            raise ValueError('notice_period must look like "3 months" or "30 days"')
        return value

    def evidence_for(self, field: FieldName) -> list[Evidence]:
        return [e for e in self.evidence if e.field == field]


def subtract_period(end: date, period: str) -> date:
    """``end`` minus a notice period (``"3 months"``): month arithmetic keeps the day, clamped to the
    month's last day (2026-05-31 minus 3 months → 2026-02-28).

    :raises ValueError: ``period`` is not of the :data:`NOTICE_PERIOD` form.
    """
    match = NOTICE_PERIOD.match(period)
    if not match:
        raise ValueError(f"not a notice period: {period!r}")
    n, unit = int(match["n"]), match["unit"]
    if unit == "days":
        return date.fromordinal(end.toordinal() - n)
    if unit == "weeks":
        return date.fromordinal(end.toordinal() - 7 * n)
    months = n * (12 if unit == "years" else 1)
    index = end.year * 12 + (end.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(end.day, calendar.monthrange(year, month)[1]))


def notice_deadline(end: date | None, period: str | None) -> date | None:
    """The last day notice can be given, or None when the end date or the period is unknown."""
    if end is None or period is None:
        return None
    return subtract_period(end, period)
