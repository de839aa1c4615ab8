"""JSON views of envelopes for the sender API (what is shown, never hashes of codes or link tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tachiai.domain.audit import AuditEntry
from tachiai.domain.envelope import Envelope

if TYPE_CHECKING:
    from tachiai.services.sending import Upload


def envelope_view(envelope: Envelope, trail: list[AuditEntry] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": envelope.id,
        "title": envelope.title,
        "message": envelope.message,
        "language": envelope.language,
        "status": envelope.status.value,
        "sender": envelope.sender.model_dump(),
        "link_validity_seconds": int(envelope.link_validity.total_seconds()),
        "created_at": envelope.created_at.isoformat(),
        "updated_at": envelope.updated_at.isoformat(),
        "sent_at": envelope.sent_at.isoformat() if envelope.sent_at else None,
        "completed_at": envelope.completed_at.isoformat() if envelope.completed_at else None,
        "outcome_reason": envelope.outcome_reason,
        "undelivered_notice": envelope.undelivered_notice,
        "origin": envelope.origin,
        "metadata": envelope.metadata.model_dump(mode="json") if envelope.metadata else None,
        "metadata_status": envelope.metadata_status,
        "corrected_fields": envelope.corrected_fields,
        "participants": [
            {
                "id": p.id,
                "order": p.order,
                "name": p.person.name,
                "email": p.person.email,
                "organization": p.person.organization,
                "language": p.language,
                "status": p.status.value,
                "auth_methods": [m.value for m in p.auth_methods],
                "link_expires_at": p.link_expires_at.isoformat() if p.link_expires_at else None,
                "acted_at": p.acted_at.isoformat() if p.acted_at else None,
                "reason": p.reason,
                "forwarded_from": p.forwarded_from,
                "reminders": p.reminders,
                "locked": p.locked,
            }
            for p in sorted(envelope.participants, key=lambda p: (p.order, p.forwarded_from is not None))
        ],
        "documents": [
            {
                "id": d.id,
                "name": d.name,
                "pages": d.pages,
                "size": d.size,
                "original_sha256": d.original_sha256,
                "normalized_sha256": d.normalized_sha256,
                "current_sha256": d.current_sha256,
                "seals": d.seals,
                "finalized": d.finalized,
            }
            for d in envelope.documents
        ],
        "sealed_events": list(envelope.sealed_events),
        "certificate_sha256": envelope.certificate_sha256,
    }
    if trail is not None:
        view["events"] = [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "kind": e.kind.value,
                "actor": e.actor,
                "data": e.data,
                "hash": e.hash,
            }
            for e in trail
        ]
    return view


def upload_view(upload: Upload) -> dict[str, Any]:
    """A presigned upload: POST ``fields`` + the file (multipart, field ``file`` last) to ``url``."""
    return {
        "document_id": upload.document_id,
        "url": upload.url,
        "fields": upload.fields,
        "expires_at": upload.expires_at.isoformat(),
    }
