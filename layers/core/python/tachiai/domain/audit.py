"""The audit trail: every change to an envelope, hash-chained.

Each entry carries the SHA-256 of the previous one, so removing, reordering or editing any entry
breaks every hash after it. The chain head (sequence number and hash) lives on the envelope and is
written in the same conditional transaction as the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tachiai.domain.errors import TachiaiError

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of an envelope's first entry."""

AuditValue = str | int | bool | None


class AuditKind(StrEnum):
    """What an audit entry records.

    The values are stored in DynamoDB, hashed into the chain and exported (envelope.json, the API's
    ``events``): they never change. A new kind is a new member; an old one is never renamed.
    """

    ENVELOPE_CREATED = "envelope.created"
    ENVELOPE_SENT = "envelope.sent"
    ENVELOPE_CANCELLED = "envelope.cancelled"
    ENVELOPE_EXPIRED = "envelope.expired"
    ENVELOPE_FAILED = "envelope.failed"
    ENVELOPE_COMPLETED = "envelope.completed"
    ENVELOPE_COMPLETION_MAILED = "envelope.completion_mailed"
    ENVELOPE_NOTICE_UNDELIVERED = "envelope.notice_undelivered"
    """A final notice (completed, rejected, expired, failed) could not be mailed to the sender."""
    ENVELOPE_IMPORT_STARTED = "envelope.import_started"
    ENVELOPE_IMPORTED = "envelope.imported"
    ENVELOPE_EDITED = "envelope.edited"
    """A draft's title, message, participants or settings were changed."""
    ENVELOPE_DELETED = "envelope.deleted"
    """A draft was deleted (the last entry of its trail)."""
    ENVELOPE_RESENT = "envelope.resent"
    """A rejected, expired or cancelled envelope was corrected and resent as a new one (``resent_as``)."""

    PARTICIPANT_NOTIFIED = "participant.notified"
    PARTICIPANT_REMINDED = "participant.reminded"
    PARTICIPANT_REISSUED = "participant.reissued"
    """A locked link was unlocked by the sender and a fresh one mailed."""
    PARTICIPANT_OPENED = "participant.opened"
    PARTICIPANT_AUTHENTICATED = "participant.authenticated"
    PARTICIPANT_ACCESS_CODE_WRONG = "participant.access_code_wrong"
    PARTICIPANT_LOCKED = "participant.locked"
    PARTICIPANT_AGREED = "participant.agreed"
    PARTICIPANT_REJECTED = "participant.rejected"
    PARTICIPANT_FORWARDED = "participant.forwarded"

    DOCUMENT_PREPARED = "document.prepared"
    DOCUMENT_SEALED = "document.sealed"
    DOCUMENT_TIMESTAMPED = "document.timestamped"
    DOCUMENT_DOWNLOADED = "document.downloaded"
    CERTIFICATE_DOWNLOADED = "certificate.downloaded"

    METADATA_EXTRACTED = "metadata.extracted"
    METADATA_EXTRACTION_FAILED = "metadata.extraction_failed"
    METADATA_EXTRACTION_RETRIED = "metadata.extraction_retried"
    """The sender started a failed (or unfinished) extraction again."""
    METADATA_CORRECTED = "metadata.corrected"


class AuditChainBroken(TachiaiError):
    code = "audit_chain_broken"


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    envelope_id: str
    seq: int
    """1 for the first entry of an envelope, then +1."""
    at: AwareDatetime
    kind: AuditKind
    """What happened (stored and hashed as its string value: ``envelope.sent`` ...)."""
    actor: str
    """Who did it: an email address, a sender id, or ``system``."""
    data: dict[str, AuditValue]
    """Small facts about the change (never secrets: no tokens, codes or hashes of codes)."""
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return _digest(self.envelope_id, self.seq, self.at, self.kind, self.actor, self.data, self.prev_hash)


def _digest(
    envelope_id: str,
    seq: int,
    at: datetime,
    kind: AuditKind,
    actor: str,
    data: Mapping[str, AuditValue],
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        {
            "envelope_id": envelope_id,
            "seq": seq,
            "at": at.isoformat(),
            "kind": str(kind),  # its plain value: the hashes of entries written before the enum still hold
            "actor": actor,
            "data": dict(data),
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def next_entry(
    envelope_id: str,
    head_seq: int,
    head_hash: str,
    kind: AuditKind,
    actor: str,
    at: datetime,
    data: Mapping[str, AuditValue] | None = None,
) -> AuditEntry:
    """The entry after the chain head ``(head_seq, head_hash)``."""
    values = dict(data or {})
    seq = head_seq + 1
    return AuditEntry(
        envelope_id=envelope_id,
        seq=seq,
        at=at,
        kind=kind,
        actor=actor,
        data=values,
        prev_hash=head_hash,
        hash=_digest(envelope_id, seq, at, kind, actor, values, head_hash),
    )


def verify_chain(entries: Iterable[AuditEntry]) -> None:
    """Check an envelope's entries, in order, from the genesis.

    :raises AuditChainBroken: an entry is missing, out of order, edited, or does not link to the previous.
    """
    prev_hash, expected_seq = GENESIS_HASH, 1
    for entry in entries:
        if entry.seq != expected_seq or entry.prev_hash != prev_hash or entry.hash != entry.expected_hash():
            raise AuditChainBroken(f"entry {entry.seq} ({entry.kind})", at=entry.seq)
        prev_hash, expected_seq = entry.hash, expected_seq + 1
