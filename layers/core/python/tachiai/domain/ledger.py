"""The contract ledger: what the tax law's search needs from each envelope, and the sender's corrections.

電子帳簿保存法 asks that stored contracts be found by transaction date, counterparty and amount, with
ranges and combined conditions. :class:`LedgerEntry` is that view of an envelope: the transaction
date is the contract date the extraction found (or the sender set), else the day it completed (or was
created); the counterparties are the parties the contract names, else the participants.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tachiai.domain.audit import AuditEntry, AuditKind
from tachiai.domain.envelope import Envelope, EnvelopeStatus
from tachiai.domain.errors import InvalidRequest
from tachiai.domain.events import Language, Person
from tachiai.domain.text import Line
from tachiai.extract.model import FIELD_NAMES, ContractMetadata, Evidence, notice_deadline


class LedgerEntry(BaseModel):
    """One contract as the ledger indexes and lists it."""

    model_config = ConfigDict(frozen=True)

    envelope_id: str
    title: Line
    status: EnvelopeStatus
    origin: Literal["signed", "imported"]
    owner_id: str
    owner_email: str
    owner_name: Line = ""
    language: Language = "ja"
    transaction_date: date
    counterparties: list[Line] = Field(default_factory=list)
    amount: int | None = None
    currency: str | None = None
    end_date: date | None = None
    notice_deadline: date | None = None
    auto_renewal: bool | None = None
    updated_at: datetime


def owner(entry: LedgerEntry) -> Person:
    return Person(name=entry.owner_name or entry.owner_email, email=entry.owner_email)


def normalize_name(text: str) -> str:
    """The form names are matched in: NFKC (full-width → half-width, ㈱ → (株)), case-folded, no spaces.

    So 「株式会社　サンプル」, 「株式会社サンプル」 and 「ｻﾝﾌﾟﾙ」 meet, and "ACME corp" finds "Acme Corp.".
    """
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def ledger_entry(envelope: Envelope, zone: ZoneInfo) -> LedgerEntry:
    metadata = envelope.metadata or ContractMetadata()
    happened = envelope.completed_at or envelope.created_at
    counterparties = list(metadata.parties) or [
        p.person.organization or p.person.name for p in envelope.signers_in_order()
    ]
    return LedgerEntry(
        envelope_id=envelope.id,
        title=envelope.title,
        status=envelope.status,
        origin=envelope.origin,
        owner_id=envelope.sender_id,
        owner_email=str(envelope.sender.email),
        owner_name=envelope.sender.name,
        language=envelope.language,
        transaction_date=metadata.contract_date or happened.astimezone(zone).date(),
        counterparties=counterparties,
        amount=metadata.amount,
        currency=metadata.currency,
        end_date=metadata.end_date,
        notice_deadline=metadata.notice_deadline,
        auto_renewal=metadata.auto_renewal,
        updated_at=envelope.updated_at,
    )


def _audit_text(value: Any) -> str | None:
    """A field's value as the audit trail keeps it (a string; lists and dates as JSON)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, default=str)


def record_extraction(
    envelope: Envelope, extracted: ContractMetadata, at: datetime
) -> tuple[Envelope, AuditEntry]:
    """Store what the engine found; the fields the sender corrected keep the sender's values."""
    current = envelope.metadata
    if current is not None and envelope.corrected_fields:
        kept = {f: getattr(current, f) for f in envelope.corrected_fields}
        evidence = [e for e in extracted.evidence if e.field not in kept] + [
            e for e in current.evidence if e.field in kept
        ]
        extracted = extracted.model_copy(update={**kept, "evidence": evidence})
    found = [f for f in FIELD_NAMES if getattr(extracted, f) not in (None, [])]
    changed = envelope.model_copy(
        update={
            "metadata": extracted,
            "metadata_status": "extracted",
            "metadata_error": None,
            "updated_at": at,
        }
    )
    return changed.audited(
        AuditKind.METADATA_EXTRACTED, "system", at, {"engine": extracted.engine, "fields": ",".join(found)}
    )


def start_extraction(envelope: Envelope, at: datetime) -> Envelope:
    """An extraction was handed to the extract function, which runs on its own: ``extracting`` until it
    records its result (or its failure). Not audited on its own: the result is."""
    return envelope.model_copy(
        update={"metadata_status": "extracting", "metadata_error": None, "updated_at": at}
    )


def record_extraction_failure(envelope: Envelope, reason: str, at: datetime) -> tuple[Envelope, AuditEntry]:
    """The extraction failed with the error code ``reason``: ``failed``, the reason kept on the envelope
    (``metadata_error``) and in the audit trail. The contract itself stands; its fields can be corrected."""
    changed = envelope.model_copy(
        update={"metadata_status": "failed", "metadata_error": reason[:200], "updated_at": at}
    )
    return changed.audited(AuditKind.METADATA_EXTRACTION_FAILED, "system", at, {"reason": reason[:200]})


def correct_metadata(
    envelope: Envelope, changes: dict[str, Any], actor: str, at: datetime
) -> tuple[Envelope, list[AuditEntry]]:
    """Apply the sender's corrections: one audit entry per changed field with the old and new value.

    The notice deadline follows a corrected end date or notice period unless it is corrected itself.
    A field set to its current value changes nothing and is not audited.

    :raises InvalidRequest: an unknown field, or a value the field cannot hold.
    """
    unknown = sorted(set(changes) - set(FIELD_NAMES))
    if unknown:
        raise InvalidRequest(f"unknown metadata fields {unknown}", field=unknown[0])
    current = envelope.metadata or ContractMetadata(engine="manual")
    values = current.model_dump()
    values.update(changes)
    if "notice_deadline" not in changes and ({"end_date", "notice_period"} & set(changes)):
        values["notice_deadline"] = None  # recomputed below from the corrected inputs
    try:
        corrected = ContractMetadata.model_validate(values)
        if "notice_deadline" not in changes and ({"end_date", "notice_period"} & set(changes)):
            corrected = corrected.model_copy(
                update={"notice_deadline": notice_deadline(corrected.end_date, corrected.notice_period)}
            )
    except (ValidationError, ValueError) as e:
        raise InvalidRequest(f"invalid metadata: {e}", field="metadata") from e
    entries: list[AuditEntry] = []
    touched: list[str] = []
    evidence = list(corrected.evidence)
    for field in FIELD_NAMES:
        old, new = getattr(current, field), getattr(corrected, field)
        if old == new:
            continue
        touched.append(field)
        if field in changes:
            evidence = [e for e in evidence if e.field != field]
            evidence.append(Evidence(field=field, text=f"corrected by {actor}"[:500], confidence=1.0))
        envelope, entry = envelope.audited(
            AuditKind.METADATA_CORRECTED,
            actor,
            at,
            {"field": field, "old": _audit_text(old), "new": _audit_text(new), "by": actor},
        )
        entries.append(entry)
    if not entries:
        return envelope, []
    corrected_fields = sorted(set(envelope.corrected_fields) | (set(touched) & set(changes)))
    envelope = envelope.model_copy(
        update={
            "metadata": corrected.model_copy(update={"evidence": evidence}),
            "corrected_fields": corrected_fields,
            "updated_at": at,
        }
    )
    return envelope, entries


class LedgerQuery(BaseModel):
    """A combined ledger search: every condition given must hold."""

    model_config = ConfigDict(frozen=True)

    date_from: date | None = None
    """Transaction (contract) date on or after."""
    date_to: date | None = None
    counterparty: str | None = Field(default=None, min_length=1, max_length=200)
    """Part of a counterparty's name, Japanese or English (width, case and spaces do not matter)."""
    amount_min: int | None = Field(default=None, ge=0)
    amount_max: int | None = Field(default=None, ge=0)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    """Part of the title."""
    text: str | None = Field(default=None, min_length=2, max_length=200)
    """Words anywhere in the contract's text (full-text search)."""
    status: EnvelopeStatus | None = None
    owner_id: str | None = None
    """Only this sender's contracts (members): searched in the owner's own partitions, so nothing
    about anyone else's contracts can show in the answer; None: the whole ledger (administrators)."""


@dataclass
class LedgerPage:
    entries: list[LedgerEntry]
    cursor: str | None
    items_read: int = 0
    """Items DynamoDB read to answer (ScannedCount summed over every call, texts included). For
    measurements and tests only: the API never returns it (a count taken before a filter)."""
    calls: int = 0
    texts_read: int = 0


@dataclass(frozen=True)
class DueItem:
    entry: LedgerEntry
    kind: Literal["notice", "end"]
    due: date
