"""Drafts and second chances: edit or delete a draft, correct and resend an envelope that ended
unsigned (FEATURES.md S6; CloudSign's 差し戻し後の再送), unlock and reissue a locked link.

Correct-and-resend makes a NEW envelope (the old one's evidence stays as it ended): a draft prefilled
from the old one — its ORIGINAL uploads (never a sealed version), its signers in order with their
authentication, title, message and settings — with the request's corrections, linked both ways
(``resent_from`` / ``resent_as``) and recorded in both audit trails.

A deleted draft leaves every listing and the ledger; its audit trail stays, ending with the deletion.
Its uploaded files stay in the bucket: no tachiai function may delete a PDF (the bucket's Object Lock
and the functions' "write, never delete" grants, DESIGN.md), and nothing references them any more;
its presigned upload URLs are closed as a sent draft's are (the upload keys are never read again).
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict, Field

from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditKind
from tachiai.domain.documents import original_key, upload_key
from tachiai.domain.envelope import AUTO_REMIND_DAYS, Document, Envelope, EnvelopeStatus
from tachiai.domain.errors import (
    Conflict,
    DraftDocumentUnknown,
    EnvelopeAlreadyEnded,
    EnvelopeAlreadyResent,
    EnvelopeNotSent,
    InvalidRequest,
    TooManyDocuments,
)
from tachiai.domain.events import Language
from tachiai.domain.storage import LinkRecord
from tachiai.domain.text import Line, Lines
from tachiai.domain.tokens import new_link_token
from tachiai.mail.mime import require_mailable
from tachiai.services import mails, sending
from tachiai.services.context import Services
from tachiai.services.sending import (
    CreatedEnvelope,
    CreateEnvelopeRequest,
    DocumentRequest,
    ParticipantRequest,
    SenderIdentity,
)

MAX_DOCUMENTS = 10
"""As many documents as a new envelope may have (:class:`CreateEnvelopeRequest`)."""
MAX_DOCUMENT_NUMBER = 99
"""A document id is ``d`` and at most two digits (the stored keys' pattern, domain/tasks.py)."""


class DraftChanges(BaseModel):
    """What a sender may change on a draft (``PATCH /v1/envelopes/{id}``) or correct when resending:
    each field given replaces the draft's (``participants``: the whole list, in signing order)."""

    model_config = ConfigDict(extra="forbid")

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    message: Lines | None = Field(default=None, max_length=2000)
    language: Language | None = None
    link_validity_seconds: int | None = Field(default=None, ge=1, le=rules.MAX_LINK_VALIDITY_SECONDS)
    auto_remind_every_days: int | None = Field(default=None, ge=AUTO_REMIND_DAYS[0], le=AUTO_REMIND_DAYS[1])
    """``null`` turns automatic reminders off."""
    participants: list[ParticipantRequest] | None = Field(default=None, min_length=1, max_length=20)


class ResendRequest(DraftChanges):
    send: bool = False
    """Send the corrected envelope at once (else it stays a draft to check, edit and send)."""


def edit_draft(
    svc: Services,
    sender: SenderIdentity,
    envelope_id: str,
    changes: DraftChanges,
    *,
    keep_access_codes: bool = False,
) -> Envelope:
    """Change a draft.

    With ``keep_access_codes`` (the console's form, which can never show a code again: only its salted
    hash is kept), a participant given without an access code keeps the one the draft has for the same
    address; a new code given replaces it.

    :raises NotFound: not the caller's envelope.
    :raises EnvelopeNotDraft: it was sent already.
    :raises DuplicateParticipant: the same address for two participants.
    :raises InvalidRequest: the changed draft is not valid otherwise.
    :raises UnmailableParticipant: a new participant cannot be mailed.
    :raises Conflict: changed concurrently.
    """
    envelope = sending.owned_envelope(svc, sender, envelope_id)
    rules.require_draft(envelope)
    now = svc.now()
    values = _envelope_changes(changes)
    if keep_access_codes and changes.participants is not None:
        values["participants"] = _kept_access_codes(envelope, changes.participants, values["participants"])
    changed = rules.edit_draft(envelope, values, now)
    changed, entry = changed.audited(
        AuditKind.ENVELOPE_EDITED, sender.email, now, {"fields": ",".join(sorted(changes.model_fields_set))}
    )
    return svc.envelopes.save(changed, [entry])


def delete_draft(svc: Services, sender: SenderIdentity, envelope_id: str) -> None:
    """Delete a draft (see the module's note on its files).

    :raises NotFound: not the caller's envelope.
    :raises EnvelopeNotDraft: it was sent already (a sent envelope is cancelled, never deleted).
    :raises Conflict: changed concurrently.
    """
    envelope = sending.owned_envelope(svc, sender, envelope_id)
    rules.require_draft(envelope)
    _, entry = envelope.audited(AuditKind.ENVELOPE_DELETED, sender.email, svc.now())
    svc.envelopes.delete_draft(envelope, entry)


def add_draft_documents(
    svc: Services, sender: SenderIdentity, envelope_id: str, documents: list[DocumentRequest]
) -> CreatedEnvelope:
    """Add documents to a draft, after the ones it has: each inline one stored now, each other one
    with a presigned upload (returned), accepted at sending like a new draft's. The audit trail
    records the names added.

    A new document gets a fresh id, ``d<n>`` past every id the draft ever had (a removed document's
    id never comes back: its stored key is never written again).

    :raises NotFound: not the caller's envelope.
    :raises EnvelopeNotDraft: it was sent already.
    :raises TooManyDocuments: the draft would hold more than an envelope may (or its ids, two digits
        by the stored keys' pattern, are used up after many changes).
    :raises InvalidRequest: no document given, or bad base64.
    :raises InvalidDocument: an inline document that is empty, too large or not a PDF.
    :raises Conflict: changed concurrently.
    """
    envelope = sending.owned_envelope(svc, sender, envelope_id)
    rules.require_draft(envelope)
    if not documents:
        raise InvalidRequest("no document to add", field="documents")
    if len(envelope.documents) + len(documents) > MAX_DOCUMENTS:
        raise TooManyDocuments(envelope_id, max=MAX_DOCUMENTS)
    last = _last_document_number(svc, envelope)
    if last + len(documents) > MAX_DOCUMENT_NUMBER:
        raise TooManyDocuments(f"{envelope_id}: document ids used up", max=MAX_DOCUMENTS)
    inline: dict[str, bytes] = {}
    added: list[Document] = []
    for i, d in enumerate(documents):
        document_id = f"d{last + i + 1}"
        if d.content_base64 is not None:
            inline[document_id] = sending.inline_document(
                svc, d.content_base64, f"documents[{i}].content_base64"
            )
        staged = (
            None if document_id in inline else upload_key(envelope_id, document_id, secrets.token_hex(16))
        )
        added.append(Document(id=document_id, name=d.name, upload_key=staged))
    now = svc.now()
    changed = rules.edit_draft(envelope, {"documents": [*envelope.documents, *added]}, now)
    changed, entry = changed.audited(
        AuditKind.ENVELOPE_EDITED,
        sender.email,
        now,
        {"documents_added": ",".join(d.id for d in added), "names": ",".join(d.name for d in added)},
    )
    for document_id, data in inline.items():
        svc.documents.put(original_key(envelope_id, document_id), data)
    stored = svc.envelopes.save(changed, [entry])
    new_ids = {d.id for d in added}
    return CreatedEnvelope(
        stored,
        [sending.presigned_upload(svc, d) for d in stored.documents if d.id in new_ids and d.upload_key],
    )


def remove_draft_document(
    svc: Services, sender: SenderIdentity, envelope_id: str, document_id: str
) -> Envelope:
    """Take a document out of a draft (its file stays in the bucket, unreferenced, as a deleted
    draft's do). The audit trail records which. A draft may be left without documents for a moment
    (to replace its only one); sending it is refused until one is added.

    :raises NotFound: not the caller's envelope.
    :raises EnvelopeNotDraft: it was sent already.
    :raises DraftDocumentUnknown: the draft has no such document.
    :raises Conflict: changed concurrently.
    """
    envelope = sending.owned_envelope(svc, sender, envelope_id)
    rules.require_draft(envelope)
    removed = next((d for d in envelope.documents if d.id == document_id), None)
    if removed is None:
        raise DraftDocumentUnknown(f"{envelope_id}/{document_id}", document=document_id)
    now = svc.now()
    kept = [d for d in envelope.documents if d.id != document_id]
    changed = rules.edit_draft(envelope, {"documents": kept}, now)
    changed, entry = changed.audited(
        AuditKind.ENVELOPE_EDITED, sender.email, now, {"document_removed": document_id, "name": removed.name}
    )
    return svc.envelopes.save(changed, [entry])


def resend(svc: Services, sender: SenderIdentity, envelope_id: str, request: ResendRequest) -> Envelope:
    """Correct and resend a rejected, expired or cancelled envelope: the new draft (or, with
    ``send``, the new envelope sent).

    :raises NotFound: not the caller's envelope.
    :raises EnvelopeNotResendable: it did not end rejected, expired or cancelled.
    :raises EnvelopeAlreadyResent: it was resent already (``resent_as``).
    :raises InvalidRequest / UnmailableParticipant / DocumentNotUploaded: as
        :func:`tachiai.services.sending.create_envelope`.
    :raises InvalidDocument: with ``send``, as :func:`tachiai.services.sending.send_envelope`.
    """
    old = sending.owned_envelope(svc, sender, envelope_id)
    rules.require_resendable(old)
    signers = old.signers_in_order()
    given = request.model_fields_set
    prefilled = CreateEnvelopeRequest(
        title=request.title if request.title is not None else old.title,
        message=request.message if request.message is not None else old.message,
        language=request.language or old.language,
        link_validity_seconds=request.link_validity_seconds or int(old.link_validity.total_seconds()),
        auto_remind_every_days=request.auto_remind_every_days
        if "auto_remind_every_days" in given
        else old.auto_remind_every_days,
        participants=request.participants
        or [
            ParticipantRequest(
                name=p.person.name,
                email=p.person.email,
                organization=p.person.organization,
                language=p.language,
            )
            for p in signers
        ],
        documents=[DocumentRequest(name=d.name) for d in old.documents],
    )
    created = sending.create_envelope(
        svc,
        sender,
        prefilled,
        copy_from=[original_key(old.id, d.id) for d in old.documents],
        resent_from=old.id,
    )
    new = created.envelope
    if request.participants is None and any(p.access_code_hash for p in signers):
        # The same people, the same access codes (already told to them): only the codes' salted hashes
        # exist, so they are carried over as they are, never asked for again.
        new = _carry_access_codes(svc, sender, new, old)
    _link_resent(svc, sender, old, new)
    if request.send:
        return sending.send_envelope(svc, sender, new.id)
    return new


def reissue(svc: Services, sender: SenderIdentity, envelope_id: str, participant_id: str) -> Envelope:
    """Unlock a participant's locked link and mail them a fresh one (the old link dies; the expiry
    stays: the signing chain waits only that long).

    :raises NotFound: not the caller's envelope.
    :raises InvalidRequest: no such participant.
    :raises EnvelopeNotSent: a draft. :raises EnvelopeAlreadyEnded: the envelope has ended.
    :raises Conflict: changed concurrently.
    :raises NotYourTurn: it is not that participant's turn.
    :raises ParticipantNotLocked: their link is not locked (send a reminder).
    :raises LinkExpired: their link's time is over.
    """
    envelope = sending.owned_envelope(svc, sender, envelope_id)
    status = envelope.status.value
    # The same refusals as a reminder's: a retry cannot change either, so neither is a plain conflict.
    if envelope.status == EnvelopeStatus.DRAFT:
        raise EnvelopeNotSent(f"envelope {envelope_id} is a draft", status=status)
    if envelope.is_terminal:
        raise EnvelopeAlreadyEnded(f"envelope {envelope_id} is {status}", status=status)
    now = svc.now()
    token, token_sha256 = new_link_token()
    old_sha256 = envelope.participant(participant_id).link_token_sha256
    changed = rules.reissue(envelope, participant_id, token_sha256, now)
    participant = changed.participant(participant_id)
    changed, entry = changed.audited(
        AuditKind.PARTICIPANT_REISSUED, sender.email, now, {"participant": participant_id}
    )
    assert participant.link_expires_at is not None  # reissue requires a live link
    link = LinkRecord(token_sha256, envelope_id, participant_id, participant.link_expires_at)
    stored = svc.envelopes.save(
        changed, [entry], links_added=[link], links_removed=[old_sha256] if old_sha256 else []
    )
    svc.mailer.send(mails.signing_request_mail(svc, stored, participant, token))
    return stored


# --- internals --------------------------------------------------------------------------------------


def _last_document_number(svc: Services, envelope: Envelope) -> int:
    """The highest ``n`` of a ``d<n>`` id the draft has or had (its removals are in its audit trail)."""
    ids = [d.id for d in envelope.documents]
    ids += [
        str(entry.data.get("document_removed"))
        for entry in svc.envelopes.audit_trail(envelope.id)
        if entry.data.get("document_removed")
    ]
    return max((int(i[1:]) for i in ids if i[1:].isdigit()), default=0)


def _envelope_changes(changes: DraftChanges) -> dict[str, object]:
    """The :class:`Envelope` fields a :class:`DraftChanges` sets.

    :raises UnmailableParticipant: a new participant's name or address cannot be mailed.
    :raises DuplicateParticipant: the same address for two participants.
    """
    given = changes.model_fields_set
    values: dict[str, object] = {}
    for name in ("title", "message", "language"):
        if getattr(changes, name) is not None:
            values[name] = getattr(changes, name)
    if "auto_remind_every_days" in given:
        values["auto_remind_every_days"] = changes.auto_remind_every_days
    if changes.link_validity_seconds is not None:
        values["link_validity"] = changes.link_validity_seconds
    if changes.participants is not None:
        for i, p in enumerate(changes.participants):
            require_mailable(
                p.name, str(p.email), participant=str(p.email), field_prefix=f"participants[{i}]."
            )
        sending._refuse_duplicate_addresses(changes.participants)  # the same refusal as at creation
        values["participants"] = [p.model_dump() for p in sending.participants_from(changes.participants)]
    return values


def _kept_access_codes(envelope: Envelope, requests: list[ParticipantRequest], dumped: object) -> object:
    """The new participants (as dumped for :func:`rules.edit_draft`), each given without an access code
    carrying the draft's code for the same address, if it had one."""
    assert isinstance(dumped, list)  # _envelope_changes dumps a list of participants
    before = {p.person.email.lower(): p for p in envelope.participants if p.access_code_hash}
    kept = []
    for request, participant in zip(requests, dumped, strict=True):
        old = before.get(str(request.email).lower())
        if request.access_code is None and old is not None:
            participant = {
                **participant,
                "auth_methods": list(old.auth_methods),
                "access_code_hash": old.access_code_hash,
            }
        kept.append(participant)
    return kept


def _carry_access_codes(svc: Services, sender: SenderIdentity, new: Envelope, old: Envelope) -> Envelope:
    by_email = {p.person.email.lower(): p for p in old.signers_in_order()}
    participants = []
    for p in new.participants:
        before = by_email[p.person.email.lower()]
        participants.append(
            p.model_copy(
                update={
                    "auth_methods": list(before.auth_methods),
                    "access_code_hash": before.access_code_hash,
                }
            ).model_dump()
        )
    now = svc.now()
    changed = rules.edit_draft(new, {"participants": participants}, now)
    changed, entry = changed.audited(
        AuditKind.ENVELOPE_EDITED, sender.email, now, {"access_codes_from": old.id}
    )
    return svc.envelopes.save(changed, [entry])


def _link_resent(svc: Services, sender: SenderIdentity, old: Envelope, new: Envelope) -> None:
    """Record ``resent_as`` on the old envelope (its audit trail says so too). Losing a race to another
    resend of the same envelope deletes this one's new draft: one correction per envelope.

    :raises EnvelopeAlreadyResent: another resend won.
    """
    now = svc.now()
    try:
        changed = rules.mark_resent(old, new.id, now)
        changed, entry = changed.audited(AuditKind.ENVELOPE_RESENT, sender.email, now, {"resent_as": new.id})
        svc.envelopes.save(changed, [entry])
    except (Conflict, EnvelopeAlreadyResent) as e:
        _, entry = new.audited(AuditKind.ENVELOPE_DELETED, sender.email, now, {"reason": "resent twice"})
        svc.envelopes.delete_draft(new, entry)
        current = svc.envelopes.get(old.id)
        raise EnvelopeAlreadyResent(old.id, resent_as=current.resent_as or "") from e
