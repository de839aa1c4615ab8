"""The seal function's tasks: prepare the documents and seal "sent", seal each agreement or forward,
finalize (document timestamp + certificate).

Every seal continues the envelope's hash chain: it starts from the stored file whose SHA-256 the
envelope recorded after the previous seal, and a file that is anything else is refused
(:class:`DocumentChangedSinceLastSeal`) — the chain then stops the envelope instead of completing it.
Each sealed version is a new S3 key; the envelope records the new hash and the event's key in one
conditional write, so an event is sealed once even when Step Functions retries the task.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime
from typing import Any

from tachiai import i18n, observability
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditEntry, AuditKind
from tachiai.domain.documents import (
    certificate_key,
    current_key,
    final_key,
    original_key,
    sealed_key,
    timestamp_key,
)
from tachiai.domain.envelope import Envelope, EnvelopeStatus, ParticipantStatus
from tachiai.domain.errors import (
    Conflict,
    DocumentChangedSinceLastSeal,
    DocumentNotUploaded,
    EnvelopeClosed,
    NotFound,
)
from tachiai.domain.events import (
    AgreementRecord,
    AuthMethod,
    DocumentRecord,
    EventKind,
    Language,
    ParticipantEvent,
    ParticipantRecord,
    SealEvent,
)
from tachiai.domain.tasks import ImportArrival, ParticipantAnswer
from tachiai.domain.uploads import check_upload
from tachiai.services.context import Services

logger = logging.getLogger(__name__)
SYSTEM = "system"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare(svc: Services, envelope_id: str) -> dict[str, Any]:
    """Preflight every document and seal the "sent" event into each; the envelope becomes ``sent``.

    Called synchronously by the send API. Idempotent: an envelope already sent answers at once.

    :raises DocumentNotUploaded: a document's upload has not arrived.
    :raises InvalidDocument: a document failed preflight (nothing is recorded; fix and send again).
    :raises SealingError: sealing failed (retryable kinds say so by their class).
    """
    # Imported here, not at the top: each task loads only what it uses (a cold start of the function
    # for a `seal` task never pays for the PDF parser checks or the certificate's font machinery).
    from tachiai.sealing.preflight import preflight

    envelope = svc.envelopes.get(envelope_id)
    if envelope.status != EnvelopeStatus.DRAFT:
        if rules.SENT_EVENT in envelope.sealed_events:
            return {"status": envelope.status.value}
        raise Conflict(f"{envelope_id} is {envelope.status}", status=envelope.status.value)
    now = svc.now()
    event = SealEvent(
        kind=EventKind.SENT, actor=envelope.sender, at=now, auth_methods=[AuthMethod.SENDER_LOGIN]
    )
    prepared_docs = []
    for document in envelope.documents:
        try:
            upload = svc.documents.get(original_key(envelope_id, document.id))
        except NotFound as e:
            raise DocumentNotUploaded(document.id, name=document.name) from e
        prepared_docs.append((document, preflight(upload, max_bytes=svc.settings.max_document_bytes)))
    entries: list[AuditEntry] = []
    for document, prepared in prepared_docs:
        envelope = rules.describe_document(
            envelope,
            document.id,
            size=prepared.size,
            pages=prepared.pages,
            original_sha256=prepared.original_sha256,
            normalized_sha256=prepared.normalized_sha256,
        )
        envelope, entry = envelope.audited(
            AuditKind.DOCUMENT_PREPARED,
            envelope.sender.email,
            now,
            {"document": document.id, **prepared.to_dict()},
        )
        entries.append(entry)
        sealed = _seal_event(svc, prepared.pdf, event, envelope.language, prepared.sha256)
        envelope, entry = _store_seal(svc, envelope, document.id, sealed, EventKind.SENT.value, now)
        entries.append(entry)
    envelope = rules.mark_sealed(envelope, rules.SENT_EVENT, now)
    envelope = rules.send(envelope, now)
    envelope, entry = envelope.audited(
        AuditKind.ENVELOPE_SENT, envelope.sender.email, now, {"documents": len(prepared_docs)}
    )
    entries.append(entry)
    stored = svc.envelopes.save(envelope, entries)
    observability.count(observability.Metric.ENVELOPES_SENT)
    return {"status": stored.status.value}


def _seal_event(
    svc: Services, pdf: bytes, event: SealEvent, language: Language, expected_sha256: str | None
) -> bytes:
    """One sealing event, counted and timed (the ``Seals`` and ``SealLatency`` metrics).

    :raises SealingError: as :meth:`Sealer.seal_event <tachiai.services.ports.Sealer.seal_event>`.
    """
    started = time.perf_counter()
    sealed = svc.sealer.seal_event(pdf, event, language, expected_sha256=expected_sha256)
    observability.seconds(observability.Metric.SEAL_LATENCY, time.perf_counter() - started)
    observability.count(observability.Metric.SEALS)
    return sealed


def _store_seal(
    svc: Services, envelope: Envelope, document_id: str, sealed: bytes, event: str, at: datetime
) -> tuple[Envelope, AuditEntry]:
    document = next(d for d in envelope.documents if d.id == document_id)
    number = document.seals + 1
    svc.documents.put(sealed_key(envelope.id, document_id, number), sealed)
    sealed_sha256 = _sha256(sealed)
    changed = rules.record_seal(envelope, document_id, sealed_sha256, at)
    return changed.audited(
        AuditKind.DOCUMENT_SEALED,
        SYSTEM,
        at,
        {"document": document_id, "event": event, "seal": number, "sha256": sealed_sha256},
    )


def seal(svc: Services, envelope_id: str, answer: ParticipantAnswer) -> dict[str, Any]:
    """Seal what a participant just did (``answer`` from the chain: outcome agreed or forwarded).

    :raises DocumentChangedSinceLastSeal: the stored PDF is not the one the previous seal produced.
    :raises Conflict: the participant has not done what the chain says.
    """
    kind = EventKind.FORWARDED if answer.outcome == "forwarded" else EventKind.AGREED
    participant_id = answer.participant_id
    envelope = svc.envelopes.get(envelope_id)
    key = rules.event_key(kind, participant_id)
    if key in envelope.sealed_events:
        return {"sealed": key, "already": True}
    participant = envelope.participant(participant_id)
    expected = ParticipantStatus.FORWARDED if kind == EventKind.FORWARDED else ParticipantStatus.AGREED
    if participant.status != expected or participant.acted_at is None:
        raise Conflict(
            f"{participant_id} is {participant.status}, not {expected}", status=participant.status.value
        )
    newcomer = next((p for p in envelope.participants if p.forwarded_from == participant_id), None)
    event = SealEvent(
        kind=kind,
        actor=participant.person,
        at=participant.acted_at,
        auth_methods=participant.auth_methods,
        forwarded_to=newcomer.person if newcomer and kind == EventKind.FORWARDED else None,
        reason=participant.reason if kind == EventKind.FORWARDED else None,
    )
    now = svc.now()
    entries = []
    for document in envelope.documents:
        current = svc.documents.get(current_key(envelope_id, document))
        sealed = _seal_event(svc, current, event, envelope.language, document.current_sha256)
        envelope, entry = _store_seal(svc, envelope, document.id, sealed, key, now)
        entries.append(entry)
    envelope = rules.mark_sealed(envelope, key, now)
    svc.envelopes.save(envelope, entries)
    return {"sealed": key}


def finalize(svc: Services, envelope_id: str) -> dict[str, Any]:
    """Document timestamp on every document, the sealed agreement certificate, and ``completed``.

    :raises DocumentChangedSinceLastSeal: a stored PDF is not the last sealed one.
    :raises EnvelopeClosed: the envelope ended otherwise (cancelled, failed ...).
    """
    envelope = svc.envelopes.get(envelope_id)
    if envelope.status == EnvelopeStatus.COMPLETED:
        return {"completed": True, "already": True}
    if envelope.is_terminal:
        # Not a Conflict: retrying cannot complete an envelope that ended otherwise.
        raise EnvelopeClosed(f"{envelope_id} is {envelope.status}")
    now = svc.now()
    entries = []
    for document in envelope.documents:
        if document.finalized:
            continue
        current = svc.documents.get(current_key(envelope_id, document))
        if _sha256(current) != document.current_sha256:
            raise DocumentChangedSinceLastSeal(f"{envelope_id}/{document.id}")
        final = svc.sealer.finalize(current)
        svc.documents.put(final_key(envelope_id, document.id), final)
        final_sha256 = _sha256(final)
        envelope = rules.record_finalized(envelope, document.id, final_sha256, now)
        envelope, entry = envelope.audited(
            AuditKind.DOCUMENT_TIMESTAMPED, SYSTEM, now, {"document": document.id, "sha256": final_sha256}
        )
        entries.append(entry)
    envelope = rules.complete(envelope, now)
    record = agreement_record(envelope, svc.envelopes.audit_trail(envelope_id), now, svc)
    certificate = svc.render_certificate(record)
    # The certificate is in Japanese and English (tachiai.sealing.certificate): so is its seal's reason.
    reason = " / ".join(i18n.text("seal.reason.certificate_issued", language) for language in ("ja", "en"))
    certificate = svc.sealer.finalize(svc.sealer.seal(certificate, reason, lock=True))
    svc.documents.put(certificate_key(envelope_id), certificate)
    envelope = rules.record_certificate(envelope, _sha256(certificate), now)
    envelope, entry = envelope.audited(
        AuditKind.ENVELOPE_COMPLETED, SYSTEM, now, {"certificate_sha256": envelope.certificate_sha256}
    )
    entries.append(entry)
    svc.envelopes.save(envelope, entries)
    observability.count(observability.Metric.ENVELOPES_COMPLETED)
    return {"completed": True}


def agreement_record(
    envelope: Envelope, trail: list[AuditEntry], completed_at: datetime, svc: Services
) -> AgreementRecord:
    """What the certificate states, from the envelope and its audit trail (who opened from where)."""
    visits: dict[tuple[AuditKind, str], AuditEntry] = {}
    for entry in trail:
        participant = entry.data.get("participant")
        if isinstance(participant, str):
            visits[(entry.kind, participant)] = entry
    participants = [
        ParticipantRecord(
            order=0,
            role="sender",
            person=envelope.sender,
            events=[
                ParticipantEvent(
                    kind=EventKind.SENT,
                    at=envelope.sent_at or envelope.created_at,
                    auth_methods=[AuthMethod.SENDER_LOGIN],
                )
            ],
        )
    ]
    for p in sorted(envelope.participants, key=lambda p: (p.order, p.forwarded_from is not None)):
        events = []
        for kind, audit_kind in (
            (EventKind.OPENED, AuditKind.PARTICIPANT_OPENED),
            (EventKind.AGREED, AuditKind.PARTICIPANT_AGREED),
            (EventKind.FORWARDED, AuditKind.PARTICIPANT_FORWARDED),
        ):
            visit = visits.get((audit_kind, p.id))
            if visit is None:
                continue
            note = None
            if kind == EventKind.FORWARDED:
                newcomer = next((n for n in envelope.participants if n.forwarded_from == p.id), None)
                note = f"→ {newcomer.person.name} <{newcomer.person.email}>" if newcomer else None
            events.append(
                ParticipantEvent(
                    kind=kind,
                    at=visit.at,
                    auth_methods=p.auth_methods,
                    ip_address=_text(visit.data.get("ip")),
                    user_agent=_text(visit.data.get("user_agent")),
                    note=note,
                )
            )
        participants.append(ParticipantRecord(order=p.order, role="signer", person=p.person, events=events))
    return AgreementRecord(
        envelope_id=envelope.id,
        title=envelope.title,
        documents=[
            DocumentRecord(
                name=d.name,
                pages=d.pages or 1,
                original_sha256=d.original_sha256 or "",
                normalized_sha256=d.normalized_sha256,
                sealed_sha256=d.current_sha256 or "",
            )
            for d in envelope.documents
        ],
        participants=participants,
        completed_at=completed_at,
        timezone=svc.settings.time_zone,
        issuer=svc.settings.service_name,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def timestamp_import(svc: Services, envelope_id: str, document_id: str) -> dict[str, Any]:
    """An RFC 3161 timestamp over an imported document's bytes, kept beside it (``original.tsr``).

    The PDF itself is not changed (it may carry signatures of its own): the token proves that these
    exact bytes existed when they arrived, which is what the law asks of received electronic data.

    :raises TimestampUnavailable: no TSA answered.
    :raises NotFound: the document is not stored.
    :raises InvalidDocument: it is empty, too large, or not a PDF.
    """
    import asyncio

    data = svc.documents.get(original_key(envelope_id, document_id))
    check_upload(data, svc.settings.max_document_bytes)  # an upload came straight from the client
    digest = hashlib.sha256(data).digest()
    token = asyncio.run(svc.sealer.timestamper.async_timestamp(digest, "sha256"))
    svc.documents.put(timestamp_key(envelope_id, document_id), token.dump())
    info = token["content"]["encap_content_info"]["content"].parsed
    authority = info["tsa"].native if info["tsa"].native else None
    return ImportArrival(
        sha256=digest.hex(),
        size=len(data),
        time=info["gen_time"].native.isoformat(),
        authority=str(authority.get("common_name") if isinstance(authority, dict) else authority or ""),
        serial=str(info["serial_number"].native),
    ).payload()


def preflight_stored(svc: Services, key: str) -> dict[str, Any]:
    """Preflight a stored template PDF (called synchronously by the send API, which must not load the
    PDF libraries): what the template records of it.

    :raises DocumentNotUploaded: nothing is stored at ``key``.
    :raises InvalidDocument: the file failed preflight.
    """
    from tachiai.sealing.preflight import preflight

    try:
        data = svc.documents.get(key)
    except NotFound as e:
        raise DocumentNotUploaded(key, name=key.rsplit("/", 2)[-2]) from e
    prepared = preflight(data, max_bytes=svc.settings.max_document_bytes)
    return {"sha256": _sha256(data), "size": prepared.size, "pages": prepared.pages}
