"""Views of envelopes for the sender API: the response models of :mod:`tachiai.api.models`, built from
domain objects (what is shown, never hashes of codes or link tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tachiai.api.models import (
    DocumentView,
    DownloadView,
    EnvelopeDetail,
    EnvelopeView,
    EventView,
    ParticipantView,
    PersonView,
    UploadView,
)
from tachiai.domain.audit import AuditEntry
from tachiai.domain.envelope import Envelope

if TYPE_CHECKING:
    from tachiai.services.sending import Download, Upload


def envelope_fields(envelope: Envelope) -> dict[str, object]:
    """The fields of :func:`envelope_view`, for the response models that extend :class:`EnvelopeView`
    (``CreatedEnvelope.model_validate({**envelope_fields(e), "uploads": ...})``)."""
    return {
        "id": envelope.id,
        "title": envelope.title,
        "message": envelope.message,
        "language": envelope.language,
        "status": envelope.status,
        "sender": PersonView(
            name=envelope.sender.name, email=envelope.sender.email, organization=envelope.sender.organization
        ),
        "link_validity_seconds": int(envelope.link_validity.total_seconds()),
        "auto_remind_every_days": envelope.auto_remind_every_days,
        "template_id": envelope.template_id,
        "resent_from": envelope.resent_from,
        "resent_as": envelope.resent_as,
        "created_at": envelope.created_at,
        "updated_at": envelope.updated_at,
        "sent_at": envelope.sent_at,
        "completed_at": envelope.completed_at,
        "outcome_reason": envelope.outcome_reason,
        "undelivered_notice": envelope.undelivered_notice,
        "origin": envelope.origin,
        "metadata": envelope.metadata,
        "metadata_status": envelope.metadata_status,
        "metadata_error": envelope.metadata_error,
        "corrected_fields": list(envelope.corrected_fields),
        "participants": [
            ParticipantView(
                id=p.id,
                order=p.order,
                name=p.person.name,
                email=p.person.email,
                organization=p.person.organization,
                language=p.language,
                status=p.status,
                auth_methods=list(p.auth_methods),
                link_expires_at=p.link_expires_at,
                acted_at=p.acted_at,
                reason=p.reason,
                forwarded_from=p.forwarded_from,
                reminders=p.reminders,
                auto_reminders=p.auto_reminders,
                locked=p.locked,
            )
            for p in sorted(envelope.participants, key=lambda p: (p.order, p.forwarded_from is not None))
        ],
        "documents": [
            DocumentView(
                id=d.id,
                name=d.name,
                pages=d.pages,
                size=d.size,
                original_sha256=d.original_sha256,
                normalized_sha256=d.normalized_sha256,
                current_sha256=d.current_sha256,
                seals=d.seals,
                finalized=d.finalized,
            )
            for d in envelope.documents
        ],
        "sealed_events": list(envelope.sealed_events),
        "certificate_sha256": envelope.certificate_sha256,
    }


def envelope_view(envelope: Envelope) -> EnvelopeView:
    """An envelope as the API shows it."""
    return EnvelopeView.model_validate(envelope_fields(envelope))


def envelope_detail(envelope: Envelope, trail: list[AuditEntry]) -> EnvelopeDetail:
    """An envelope with its audit trail, oldest entry first."""
    return EnvelopeDetail.model_validate(
        {
            **envelope_fields(envelope),
            "events": [
                EventView(seq=e.seq, at=e.at, kind=e.kind, actor=e.actor, data=dict(e.data), hash=e.hash)
                for e in trail
            ],
        }
    )


def upload_view(upload: Upload) -> UploadView:
    """A presigned upload: POST ``fields`` + the file (multipart, field ``file`` last) to ``url``."""
    return UploadView(
        document_id=upload.document_id, url=upload.url, fields=upload.fields, expires_at=upload.expires_at
    )


def download_view(download: Download) -> DownloadView:
    """A presigned link to one file of a completed envelope."""
    return DownloadView(
        name=download.name, url=download.url, expires_at=download.expires_at, sha256=download.sha256
    )
