"""Use cases of the contract ledger: extraction, corrections, search, import, deadline alerts.

Extraction runs in the ``ai_extract`` function: the chain's Extract step calls it; an import starts it
and answers at once (``metadata_status = extracting``: Bedrock can take longer than an API request may).
A failure is recorded on the envelope (``metadata_status = failed``, ``metadata_error`` = its code) and
raised, so the chain's Catch lets the envelope complete anyway, and Lambda retries an import's
extraction and then hands the event to the ledger's failures queue.
Corrections by the sender are audited field by field and survive a later
extraction. Imports (contracts signed on paper or elsewhere) get an RFC 3161 timestamp over their
bytes when they arrive — the law's requirement for received electronic data — and join the same ledger.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tachiai import observability
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditEntry, AuditKind
from tachiai.domain.documents import current_key, original_key, upload_key
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus
from tachiai.domain.errors import (
    Conflict,
    DocumentNotUploaded,
    ExtractionNotRetryable,
    InvalidDocument,
    InvalidRequest,
    NotFound,
    TachiaiError,
)
from tachiai.domain.ledger import (
    correct_metadata,
    owner,
    record_extraction,
    record_extraction_failure,
    start_extraction,
)
from tachiai.domain.tasks import IMPORT_ARRIVAL, parse_task
from tachiai.domain.text import Line
from tachiai.domain.uploads import check_upload
from tachiai.extract.model import FIELD_NAMES, ContractMetadata
from tachiai.services.changes import save_change
from tachiai.services.context import Services
from tachiai.services.sending import (
    ADMIN_GROUP,
    SenderIdentity,
    Upload,
    accept_uploads,
    owned_envelope,
    presigned_upload,
)

if TYPE_CHECKING:
    from tachiai.domain.ledger import DueItem, LedgerPage, LedgerQuery

logger = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 4 * 1024 * 1024
"""An import travels in one API request (base64 in JSON; a Lambda request is at most 6 MB)."""
DEFAULT_ALERT_DAYS = (60, 30, 7)


class MetadataValues(BaseModel):
    """Ledger fields a sender sets (a correction, or what an importer already knows). Only the fields
    present in the request change; ``null`` clears one."""

    model_config = ConfigDict(extra="forbid")

    contract_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    parties: list[Line] | None = Field(default=None, max_length=20)
    auto_renewal: bool | None = None
    notice_period: str | None = Field(default=None, max_length=20)
    notice_deadline: date | None = None
    amount: int | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELD_NAMES if name in self.model_fields_set}


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line = Field(min_length=1, max_length=200)
    file_name: Line = Field(min_length=1, max_length=255)
    content_base64: str | None = Field(default=None, min_length=8, max_length=(MAX_IMPORT_BYTES * 4) // 3 + 8)
    """The PDF, base64, up to 4 MiB; omit it for a larger file (a scan): the answer carries a presigned
    upload, and ``POST /v1/imports/{id}/complete`` receives it."""
    metadata: MetadataValues | None = None


class ImportTooLarge(InvalidRequest):
    code = "import_too_large"
    http_status = 413


@dataclass(frozen=True)
class ImportedContract:
    envelope: Envelope
    upload: Upload | None = None
    """Where to upload the PDF (then complete the import), when it was not in the request."""


# --- extraction ------------------------------------------------------------------------------------


def extract_envelope(svc: Services, envelope_id: str) -> dict[str, Any]:
    """Read the contract's text, extract its metadata and store it on the envelope.

    :raises TachiaiError: the document could not be read or the engine failed (recorded first).
    """
    from tachiai.extract.engine import engine_from_settings
    from tachiai.extract.text import document_text

    envelope = svc.envelopes.get(envelope_id)
    try:
        if not envelope.documents:
            raise InvalidDocument("no document to read")
        text = "\n".join(
            document_text(svc.documents.get(current_key(envelope_id, d))) for d in envelope.documents
        )
        svc.ledger.store_text(envelope_id, text)  # full-text search, whatever the engine makes of it
        metadata = engine_from_settings(svc.settings).extract(text)
    except TachiaiError as error:
        observability.count(observability.Metric.EXTRACTION_FAILURES)
        code = error.code
        save_change(svc, envelope, lambda current: _failed(current, code, svc))
        raise
    saved = save_change(svc, envelope, lambda current: _extracted(current, metadata, svc))
    found = [f for f in FIELD_NAMES if getattr(saved.metadata, f) not in (None, [])]
    return {"envelopeId": envelope_id, "fields": found, "engine": metadata.engine}


def _extracted(
    envelope: Envelope, metadata: ContractMetadata, svc: Services
) -> tuple[Envelope, list[AuditEntry]]:
    changed, entry = record_extraction(envelope, metadata, svc.now())
    return changed, [entry]


def _failed(envelope: Envelope, code: str, svc: Services) -> tuple[Envelope, list[AuditEntry]]:
    changed, entry = record_extraction_failure(envelope, code, svc.now())
    return changed, [entry]


# --- corrections -----------------------------------------------------------------------------------


def correct(svc: Services, sender: SenderIdentity, envelope_id: str, values: MetadataValues) -> Envelope:
    """The sender corrects ledger fields; each change is audited (who, when, old, new).

    :raises NotFound: not the caller's envelope.
    :raises InvalidRequest: no field given, or a value the field cannot hold.
    """
    changes = values.changes()
    if not changes:
        raise InvalidRequest("no field to correct", field="metadata")
    envelope = owned_envelope(svc, sender, envelope_id)
    now = svc.now()
    # The chain may still be recording its completion mails: apply the correction to a fresh read then.
    # (A correction to the values already stored has no audit entry, and writes nothing.)
    return save_change(svc, envelope, lambda current: correct_metadata(current, changes, sender.email, now))


# --- search --------------------------------------------------------------------------------------


def search(
    svc: Services, sender: SenderIdentity, query: LedgerQuery, limit: int, cursor: str | None
) -> LedgerPage:
    """The ledger page for ``query``: administrators search every contract, others their own."""
    if ADMIN_GROUP not in sender.groups:
        query = query.model_copy(update={"owner_id": sender.sub})
    return svc.ledger.search(query, limit=limit, cursor=cursor)


# --- import --------------------------------------------------------------------------------------


def import_contract(svc: Services, sender: SenderIdentity, request: ImportRequest) -> ImportedContract:
    """A contract signed elsewhere joins the ledger: stored unchanged (Object Lock), timestamped on
    arrival, its metadata extraction started (``extracting``; what the importer gave wins over it).

    With the PDF in the request it is received at once; without, the import waits (a draft) for the
    presigned upload and :func:`complete_import`.

    :raises ImportTooLarge: inline content over :data:`MAX_IMPORT_BYTES`.
    :raises InvalidDocument: not a PDF.
    :raises TimestampUnavailable: no TSA answered (nothing is kept; import again).
    """
    now = svc.now()
    envelope = Envelope(
        id=f"imp_{secrets.token_hex(12)}",
        title=request.title,
        sender=sender.person,
        sender_id=sender.sub,
        origin="imported",
        documents=[Document(id="d1", name=request.file_name)],
        created_at=now,
        updated_at=now,
    )
    given = request.metadata.changes() if request.metadata else {}
    if request.content_base64 is None:
        # The upload lands on a key of its own, copied to original.pdf when the import is completed.
        staged = envelope.documents[0].model_copy(
            update={"upload_key": upload_key(envelope.id, "d1", secrets.token_hex(16))}
        )
        envelope = envelope.model_copy(update={"documents": [staged]})
        envelope, entry = envelope.audited(
            AuditKind.ENVELOPE_IMPORT_STARTED, sender.email, now, {"name": request.file_name}
        )
        envelope, entries = _with_given_metadata(envelope, entry, given, sender, now)
        stored = svc.envelopes.save(envelope, entries, create=True)
        return ImportedContract(stored, presigned_upload(svc, stored.documents[0]))
    try:
        data = base64.b64decode(request.content_base64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidRequest("content_base64 is not base64", field="content_base64") from e
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportTooLarge(f"{len(data)} bytes")
    check_upload(data, MAX_IMPORT_BYTES)
    svc.documents.put(original_key(envelope.id, "d1"), data)
    return ImportedContract(_receive(svc, sender, envelope, given, create=True))


def complete_import(svc: Services, sender: SenderIdentity, envelope_id: str) -> Envelope:
    """Receive the PDF uploaded for an import: timestamp it, complete the import, start its
    extraction (the answer says ``extracting``). Completing again answers the completed import.

    :raises NotFound: not the caller's import.
    :raises DocumentNotUploaded: nothing was uploaded yet.
    :raises InvalidDocument: the upload is not a PDF, or too large.
    :raises Conflict: this envelope is not an import.
    """
    envelope = owned_envelope(svc, sender, envelope_id)
    if envelope.origin != "imported":
        raise Conflict(f"{envelope_id} is not an import", status=envelope.status.value)
    if envelope.status == EnvelopeStatus.COMPLETED:
        return envelope
    # The upload becomes the import's file now; its URL, still valid for a while, reaches nothing after.
    accept_uploads(svc, envelope)
    return _receive(svc, sender, envelope, {}, create=False)


def _receive(
    svc: Services, sender: SenderIdentity, envelope: Envelope, given: dict[str, Any], *, create: bool
) -> Envelope:
    """The stored PDF of an import arrives: timestamp (which also checks it), complete, start the
    extraction."""
    document = envelope.documents[0]
    try:
        arrival = svc.functions.call(
            svc.settings.require("seal_function"),
            {"task": "timestamp_import", "envelopeId": envelope.id, "documentId": document.id},
        )
    except NotFound as e:
        raise DocumentNotUploaded(document.id, name=document.name) from e
    received = parse_task(IMPORT_ARRIVAL, arrival)
    now = svc.now()
    envelope = rules.complete_import(envelope, received.sha256, received.size, now)
    envelope, entry = envelope.audited(
        AuditKind.ENVELOPE_IMPORTED,
        sender.email,
        now,
        {
            "document": document.id,
            "name": document.name,
            "sha256": received.sha256,
            "timestamp_time": received.time,
            "timestamp_authority": received.authority,
        },
    )
    envelope, entries = _with_given_metadata(envelope, entry, given, sender, now)
    envelope = svc.envelopes.save(start_extraction(envelope, now), entries, create=create)
    return _start_extraction(svc, envelope)


def _start_extraction(svc: Services, envelope: Envelope) -> Envelope:
    """Hand the envelope (``extracting``) to the extract function, which runs on its own: extraction
    can take longer than an API request may (Bedrock, a long scan), and the import stands without it.

    When the event is not even accepted, the failure is recorded at once (``failed``, with its code),
    so the import never says ``extracting`` about an extraction nobody runs.
    """
    try:
        svc.functions.start(
            svc.settings.require("extract_function"), {"task": "extract", "envelopeId": envelope.id}
        )
    except TachiaiError as e:
        logger.warning("extraction of import %s not started: %s", envelope.id, e.code)
        observability.count(observability.Metric.EXTRACTION_FAILURES)
        code = e.code
        return save_change(svc, envelope, lambda current: _failed(current, code, svc))
    return envelope


def retry_extraction(svc: Services, sender: SenderIdentity, envelope_id: str) -> Envelope:
    """Start the extraction of a completed contract again, after it failed (``failed``) or never
    finished (``extracting`` left by a run killed at its timeout): the answer says ``extracting``.
    The sender's corrections survive it, as they survive every extraction.

    :raises NotFound: not the caller's envelope.
    :raises ExtractionNotRetryable: the envelope is not completed, or its extraction succeeded.
    """
    envelope = owned_envelope(svc, sender, envelope_id)
    retryable = envelope.metadata_status in ("failed", "extracting")
    if envelope.status != EnvelopeStatus.COMPLETED or not retryable:
        raise ExtractionNotRetryable(
            f"{envelope_id} is {envelope.status}, metadata {envelope.metadata_status}",
            status=envelope.metadata_status,
        )
    now = svc.now()

    def change(current: Envelope) -> tuple[Envelope, list[AuditEntry]]:
        changed, entry = start_extraction(current, now).audited(
            AuditKind.METADATA_EXTRACTION_RETRIED, sender.email, now, {"after": current.metadata_status}
        )
        return changed, [entry]

    return _start_extraction(svc, save_change(svc, envelope, change))


def _with_given_metadata(
    envelope: Envelope, entry: AuditEntry, given: dict[str, Any], importer: SenderIdentity, now: datetime
) -> tuple[Envelope, list[AuditEntry]]:
    """The import with what the importer said set as corrections (audited, kept over extraction)."""
    if not given:
        return envelope, [entry]
    envelope, corrections = correct_metadata(envelope, given, importer.email, now)
    return envelope, [entry, *corrections]


# --- deadline alerts -----------------------------------------------------------------------------

UPCOMING_DAYS = 90
"""How far ahead the console's list of upcoming notice deadlines and expiries looks."""


def upcoming(
    svc: Services, sender: SenderIdentity, today: date | None = None, days: int = UPCOMING_DAYS
) -> list[DueItem]:
    """Notice deadlines and end dates of completed contracts from ``today`` to ``days`` ahead, soonest
    first: administrators see every contract's, others their own.

    The due dates are indexed for the whole tenant (the alerts job reads them all): another member's
    are dropped here, before anything is answered, and nothing about them (not even how many) leaves
    this function.

    :raises StorageUnavailable: the ledger could not be read.
    """
    today = today or svc.now().astimezone(svc.settings.zone).date()
    everyone = ADMIN_GROUP in sender.groups
    return [
        item
        for item in svc.ledger.due_between(today, today + timedelta(days=days))
        if item.entry.status == EnvelopeStatus.COMPLETED and (everyone or item.entry.owner_id == sender.sub)
    ]


def alert_days(svc: Services) -> tuple[int, ...]:
    return tuple(sorted(set(svc.settings.alert_days or DEFAULT_ALERT_DAYS), reverse=True))


def alerts_day(value: object) -> date | None:
    """The day an alerts run is for, from its event (``None``: today).

    :raises InvalidRequest: not an ISO date.
    """
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as e:
        raise InvalidRequest(f"today is not a date: {value!r}", field="today") from e


def send_deadline_alerts(svc: Services, today: date | None = None) -> dict[str, Any]:
    """Mail each owner before a notice deadline or an expiry: once per threshold of
    :func:`alert_days` (the smallest threshold the remaining days fall under), never twice.

    Only completed contracts (signed here or imported) are alerted. A mail that could not be sent is
    released (the next run sends it) and the others are still sent.

    :raises TachiaiError: the first mail failure, after every other alert was tried (so the scheduled
        invocation is recorded as failed).
    """
    from tachiai.mail.templates import deadline_alert

    today = today or svc.now().astimezone(svc.settings.zone).date()
    thresholds = alert_days(svc)
    sent: list[str] = []
    failures: list[TachiaiError] = []
    for item in svc.ledger.due_between(today, today + timedelta(days=max(thresholds))):
        if item.entry.status != EnvelopeStatus.COMPLETED:
            continue
        days_left = (item.due - today).days
        threshold = min(t for t in thresholds if t >= days_left)
        key = f"{item.entry.envelope_id}#{item.kind}#{item.due.isoformat()}#{threshold}"
        if not svc.ledger.claim_alert(key):
            continue
        try:
            svc.mailer.send(
                deadline_alert(
                    svc.mail_settings,
                    to=owner(item.entry),
                    language=item.entry.language,
                    title=item.entry.title,
                    kind=item.kind,
                    due=item.due,
                    days_left=days_left,
                    counterparties=item.entry.counterparties,
                    auto_renewal=item.entry.auto_renewal,
                )
            )
        except TachiaiError as e:
            svc.ledger.release_alert(key)
            logger.warning("deadline alert %s not sent: %s", key, e.code)
            failures.append(e)
            continue
        sent.append(key)
    if failures:
        raise failures[0]
    return {"date": today.isoformat(), "sent": sent}
