"""The sender's use cases: create, send, look at, remind, cancel, download.

Every envelope belongs to the sender who created it (their Cognito ``sub``); anyone else asking for
it gets :class:`NotFound`, never a hint that it exists.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from pydantic_core import PydanticCustomError

from tachiai import i18n, observability
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditEntry, AuditKind
from tachiai.domain.chain_lifetime import check_chain_lifetime
from tachiai.domain.documents import certificate_key, current_key, original_key, timestamp_key, upload_key
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.errors import (
    Conflict,
    DocumentNotUploaded,
    DuplicateParticipant,
    EnvelopeAlreadyEnded,
    EnvelopeNotSendable,
    EnvelopeNotSent,
    InvalidRequest,
    NotFound,
    ReminderNotReady,
)
from tachiai.domain.events import AuthMethod, Language, Person
from tachiai.domain.storage import EnvelopePage, LinkRecord
from tachiai.domain.tasks import CANCELLED
from tachiai.domain.text import Line, Lines
from tachiai.domain.tokens import hash_access_code, new_link_token
from tachiai.domain.uploads import check_upload
from tachiai.mail.mime import require_mailable
from tachiai.mail.templates import on_behalf_of_name
from tachiai.services.context import Services
from tachiai.services.mails import signing_request_mail

ADMIN_GROUP = "admin"
"""The Cognito group whose members read (search, view, download) every envelope of the tenant."""
INLINE_DOCUMENT_LIMIT = 4 * 1024 * 1024
"""Largest document accepted inside the JSON request (Lambda's 6 MB payload, base64 inflating 4:3);
larger files go through a presigned upload."""
UPLOAD_URL_SECONDS = 3600
DOWNLOAD_URL_SECONDS = 300


@dataclass(frozen=True)
class SenderIdentity:
    """Who is calling the sender API, from the authorizer's claims."""

    sub: str
    email: str
    name: str
    groups: tuple[str, ...] = ()

    @property
    def person(self) -> Person:
        return Person(name=self.name or self.email, email=self.email)


# --- requests -----------------------------------------------------------------------------------


class ParticipantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr
    organization: Line | None = Field(default=None, max_length=200)
    language: Language = "ja"
    """Language of this person's mails and signing page."""
    access_code: str | None = Field(default=None, min_length=4, max_length=32, pattern=r"^\S+$")
    """Set by the sender and told to the participant separately (phone, chat); never mailed."""
    role: Line | None = Field(default=None, min_length=1, max_length=100)
    """With ``template_id``: the template role this person fills (without it: the next role that has
    no default person, in order)."""


class DocumentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=255)
    content_base64: str | None = None
    """The PDF, base64, for files up to 4 MiB; omit it to get a presigned upload instead."""


class CreateEnvelopeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    """Required, unless ``template_id`` gives it."""
    message: Lines = Field(default="", max_length=2000)
    language: Language = "ja"
    """Language of the sender's own mails (rejection, expiry)."""
    link_validity_seconds: int = Field(default=7 * 86400, ge=1, le=rules.MAX_LINK_VALIDITY_SECONDS)
    """How long each participant's link works once it is their turn; the envelope expires with it."""
    participants: list[ParticipantRequest] = Field(default_factory=list, max_length=20)
    """In signing order (at least one). With ``template_id``: the people for the template's roles."""
    documents: list[DocumentRequest] = Field(default_factory=list, max_length=10)
    """At least one; none with ``template_id`` (the template's documents are copied)."""
    auto_remind_every_days: int | None = Field(
        default=None, ge=rules.AUTO_REMIND_DAYS[0], le=rules.AUTO_REMIND_DAYS[1]
    )
    """Remind the participant whose turn it is every N days until their link's deadline (default: off)."""
    template_id: str | None = Field(default=None, pattern=r"^tpl_[0-9a-f]{24}$")
    """Create from this template: its documents, roles, title, message and settings; any field given
    here overrides the template's."""

    @model_validator(mode="after")
    def _complete_without_template(self) -> CreateEnvelopeRequest:
        if self.template_id is not None:
            if self.documents:
                # the problem's type is what a 400 shows (never the message): name the case
                raise PydanticCustomError(
                    "documents_with_template", "documents come from the template: give none with template_id"
                )
            return self
        missing = [n for n, v in (("title", self.title), ("participants", self.participants)) if not v]
        missing += ["documents"] if not self.documents else []
        if missing:
            raise PydanticCustomError(
                f"{'_'.join(missing)}_required_without_template",
                "{missing} required (or a template_id)",
                {"missing": ", ".join(missing)},
            )
        return self


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Lines | None = Field(default=None, max_length=1000)


@dataclass(frozen=True)
class Upload:
    document_id: str
    url: str
    fields: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True)
class CreatedEnvelope:
    envelope: Envelope
    uploads: list[Upload]


@dataclass(frozen=True)
class Download:
    name: str
    url: str
    expires_at: datetime
    sha256: str | None = None
    """What the file's SHA-256 must be (the hash the envelope recorded), when one is recorded."""


# --- use cases ------------------------------------------------------------------------------------


def new_envelope_id() -> str:
    """``env_`` + 24 hex digits: also the execution name (Step Functions allows [A-Za-z0-9_-], 80)."""
    return f"env_{secrets.token_hex(12)}"


def create_envelope(
    svc: Services,
    sender: SenderIdentity,
    request: CreateEnvelopeRequest,
    *,
    copy_from: Sequence[str | None] = (),
    template_id: str | None = None,
    resent_from: str | None = None,
) -> CreatedEnvelope:
    """A draft envelope with its documents (stored now, or uploaded later through the returned URLs).

    With ``request.template_id``, created from the template (:mod:`tachiai.services.templates`).
    ``copy_from[i]``: the stored PDF document ``i`` is a copy of (a template's, or the original of an
    envelope corrected and resent); ``template_id`` / ``resent_from``: where the new envelope comes from.

    :raises DuplicateParticipant: the same address for two participants.
    :raises InvalidRequest: bad base64.
    :raises UnmailableParticipant: a participant's (or the sender's) name or address cannot be mailed.
    :raises InvalidDocument: an inline document that is empty, too large or not a PDF.
    :raises DocumentNotUploaded: a document to copy is not stored.
    :raises NotFound, TemplateRoleUnfilled, TemplateRoleUnknown, TemplateAccessCodeMissing: as
        :func:`tachiai.services.templates.create_envelope_from_template`.
    """
    if request.template_id is not None:
        from tachiai.services import templates  # templates builds on this module

        return templates.create_envelope_from_template(svc, sender, request)
    if request.title is None:  # the request's validator requires it without a template
        raise InvalidRequest("title is required", field="title")
    # Every mail of the envelope carries these names and addresses in its headers: refuse now what no
    # mail could carry, rather than fail the envelope at its first mail after sending.
    # The sender is in Reply-To as themselves, and in From as "{sender} via {service}".
    require_mailable(sender.person.name, sender.email, participant=sender.email, field_prefix="sender.")
    from_name = on_behalf_of_name(svc.mail_settings, sender.person)
    require_mailable(
        from_name, svc.mail_settings.from_address, participant=sender.email, field_prefix="sender."
    )
    for i, p in enumerate(request.participants):
        require_mailable(p.name, str(p.email), participant=str(p.email), field_prefix=f"participants[{i}].")
    _refuse_duplicate_addresses(request.participants)
    now = svc.now()
    envelope_id = new_envelope_id()
    participants = participants_from(request.participants)
    copies = {f"d{i}": key for i, key in enumerate(copy_from, start=1) if key}
    inline: dict[str, bytes] = {}
    documents: list[Document] = []
    for i, d in enumerate(request.documents, start=1):
        document_id = f"d{i}"
        if d.content_base64 is not None:
            inline[document_id] = inline_document(svc, d.content_base64, f"documents[{i - 1}].content_base64")
        nonce = secrets.token_hex(16)  # a fresh key per upload URL: never reused
        kept = document_id in inline or document_id in copies
        staged = None if kept else upload_key(envelope_id, document_id, nonce)
        documents.append(Document(id=document_id, name=d.name, upload_key=staged))
    try:
        envelope = Envelope(
            id=envelope_id,
            title=request.title,
            message=request.message,
            language=request.language,
            sender=sender.person,
            sender_id=sender.sub,
            participants=participants,
            documents=documents,
            link_validity=timedelta(seconds=request.link_validity_seconds),
            auto_remind_every_days=request.auto_remind_every_days,
            created_at=now,
            updated_at=now,
            template_id=template_id,
            resent_from=resent_from,
        )
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise InvalidRequest(str(e).splitlines()[0], field="participants") from e
    for document_id, data in inline.items():
        svc.documents.put(original_key(envelope_id, document_id), data)
    for document_id, source in copies.items():
        try:
            svc.documents.accept_upload(source, original_key(envelope_id, document_id))  # a copy
        except NotFound as e:
            name = next(d.name for d in documents if d.id == document_id)
            raise DocumentNotUploaded(document_id, name=name) from e
    envelope, entry = envelope.audited(
        AuditKind.ENVELOPE_CREATED,
        sender.email,
        now,
        {
            "participants": len(participants),
            "documents": len(documents),
            **({"template_id": template_id} if template_id else {}),
            **({"resent_from": resent_from} if resent_from else {}),
        },
    )
    stored = svc.envelopes.save(envelope, [entry], create=True)
    uploads = [presigned_upload(svc, d) for d in stored.documents if d.upload_key]
    return CreatedEnvelope(stored, uploads)


def _refuse_duplicate_addresses(participants: list[ParticipantRequest]) -> None:
    """:raises DuplicateParticipant: two participants share an address (compared as the envelope does,
    case-insensitively), named by their places in the request, counted from 1."""
    seen: dict[str, int] = {}
    for place, p in enumerate(participants, start=1):
        address = str(p.email)
        first = seen.setdefault(address.lower(), place)
        if first != place:
            raise DuplicateParticipant(
                f"participants[{first - 1}] and participants[{place - 1}]",
                first=first,
                second=place,
                address=address,
                field=f"participants[{place - 1}].email",
            )


def participants_from(requests: Sequence[ParticipantRequest]) -> list[Participant]:
    """The participants of a draft, in the requests' order (``p1``, ``p2`` ...); an access code is kept
    only as its salted hash."""
    return [
        Participant(
            id=f"p{i}",
            order=i,
            person=Person(name=p.name, email=p.email, organization=p.organization),
            language=p.language,
            auth_methods=[AuthMethod.EMAIL_LINK, *([AuthMethod.ACCESS_CODE] if p.access_code else [])],
            access_code_hash=hash_access_code(p.access_code) if p.access_code else None,
        )
        for i, p in enumerate(requests, start=1)
    ]


def presigned_upload(svc: Services, document: Document) -> Upload:
    """A presigned POST for a document's PDF (size-limited, :data:`UPLOAD_URL_SECONDS`), to the
    document's own upload key (:attr:`Document.upload_key`), never to where the document is kept."""
    if document.upload_key is None:
        raise Conflict(f"document {document.id} takes no upload")
    post = svc.documents.upload_url(document.upload_key, UPLOAD_URL_SECONDS, svc.settings.max_document_bytes)
    return Upload(
        document_id=document.id,
        url=str(post["url"]),
        fields=dict(post["fields"]),  # type: ignore[call-overload]
        expires_at=svc.now() + timedelta(seconds=UPLOAD_URL_SECONDS),
    )


def accept_uploads(svc: Services, envelope: Envelope) -> None:
    """Copy each document's presigned upload to the document's own key: what is checked, sealed or
    timestamped next is exactly that copy. Only for a draft: once the envelope leaves it (sent, an
    import completed) the upload keys are never read again, which is what closes their upload URLs.

    :raises DocumentNotUploaded: nothing was uploaded for a document.
    """
    if envelope.status != EnvelopeStatus.DRAFT:
        return  # accepted already: the upload keys are never read again
    for document in envelope.documents:
        if document.upload_key:
            try:
                svc.documents.accept_upload(document.upload_key, original_key(envelope.id, document.id))
            except NotFound as e:
                raise DocumentNotUploaded(document.id, name=document.name) from e


def owned_envelope(svc: Services, sender: SenderIdentity, envelope_id: str) -> Envelope:
    """The caller's envelope, to change. :raises NotFound: no such envelope, or it is someone else's."""
    envelope = svc.envelopes.get(envelope_id)
    if envelope.sender_id != sender.sub:
        raise NotFound(f"envelope {envelope_id}")
    observability.bind_envelope(envelope.id)
    return envelope


def readable_envelope(svc: Services, sender: SenderIdentity, envelope_id: str) -> Envelope:
    """An envelope the caller may read: their own, or any for an administrator (who searches the whole
    ledger and exports it). Changes stay with the owner (:func:`owned_envelope`).

    :raises NotFound: no such envelope, or neither the caller's nor the caller an administrator.
    """
    envelope = svc.envelopes.get(envelope_id)
    if envelope.sender_id != sender.sub and ADMIN_GROUP not in sender.groups:
        raise NotFound(f"envelope {envelope_id}")
    observability.bind_envelope(envelope.id)
    return envelope


def send_envelope(svc: Services, sender: SenderIdentity, envelope_id: str) -> Envelope:
    """Check every document, seal the "sent" event and start the signing chain (idempotent).

    The documents are checked and sealed by the seal function (called synchronously: this function
    must not load the PDF libraries). Sending again after a failure to start the chain starts it.

    :raises InvalidDocument: a document failed preflight (the envelope stays a draft).
    :raises DocumentNotUploaded: a presigned upload has not happened.
    :raises EnvelopeNotSendable: the envelope has ended (its ``status`` says how).
    :raises SigningChainTooLong: its participants' turns could outlive the signing chain (one year).
    """
    envelope = owned_envelope(svc, sender, envelope_id)
    if envelope.status == EnvelopeStatus.DRAFT:
        # Before anything is sealed or started: the draft stays editable (fewer days per link).
        check_chain_lifetime(len(envelope.signers_in_order()), envelope.link_validity)
        accept_uploads(svc, envelope)
        svc.functions.call(
            svc.settings.require("seal_function"), {"task": "prepare", "envelopeId": envelope_id}
        )
        envelope = svc.envelopes.get(envelope_id)
    if envelope.status != EnvelopeStatus.SENT:
        if envelope.status == EnvelopeStatus.IN_PROGRESS:
            return envelope
        raise EnvelopeNotSendable(
            f"envelope {envelope_id} is {envelope.status}", status=envelope.status.value
        )
    # Conflict: the chain for this envelope started already — sending twice sends once.
    with contextlib.suppress(Conflict):
        svc.chain.start(
            envelope_id,
            {
                "envelopeId": envelope_id,
                "participantIds": [p.id for p in envelope.signers_in_order()],
                "linkTimeoutSeconds": int(envelope.link_validity.total_seconds()),
            },
        )
    return envelope


def get_envelope(
    svc: Services, sender: SenderIdentity, envelope_id: str
) -> tuple[Envelope, list[AuditEntry]]:
    """The envelope and its audit trail. :raises NotFound: not readable by the caller."""
    envelope = readable_envelope(svc, sender, envelope_id)
    return envelope, svc.envelopes.audit_trail(envelope_id)


def inline_document(svc: Services, content_base64: str, field: str) -> bytes:
    """The bytes of a document sent inline (in the request, as base64), decoded and checked.

    :raises InvalidRequest: not base64 (``field`` names where it was).
    :raises EmptyDocument: nothing in it.
    :raises DocumentTooLarge: over :data:`INLINE_DOCUMENT_LIMIT` or the tenant's limit (larger files
        go through a presigned upload).
    :raises NotPdf: plainly not a PDF.
    """
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidRequest(str(e), field=field) from e
    check_upload(data, min(INLINE_DOCUMENT_LIMIT, svc.settings.max_document_bytes))
    return data


def list_envelopes(
    svc: Services,
    sender: SenderIdentity,
    status: EnvelopeStatus | None,
    limit: int,
    cursor: str | None,
) -> EnvelopePage:
    return svc.envelopes.list_for_sender(sender.sub, status, limit, cursor)


T = TypeVar("T")


def retry_lost_races(action: Callable[[], T], attempts: int = 3) -> T:
    """Run ``action`` (read the envelope, decide, save) again when its save lost a race.

    A sender's click can meet the chain writing the same envelope (mailing a link, recording a seal):
    the conditional save then fails with the plain :class:`Conflict`, which a retry does fix, so the
    sender never sees "please try again" for it. The next try reads the chain's write and either
    succeeds or gets the refusal that fits the new state (every such refusal is a subclass of
    Conflict with its own code, and is never retried).

    :raises Conflict: still losing after ``attempts`` tries; whatever ``action`` raises otherwise.
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Conflict as lost:
            if type(lost) is not Conflict or attempt == attempts:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def remind(svc: Services, sender: SenderIdentity, envelope_id: str) -> Envelope:
    """Mail the participant whose turn it is again, with a fresh link (same expiry).

    :raises EnvelopeNotSent: a draft.
    :raises EnvelopeAlreadyEnded: the envelope has ended.
    :raises ReminderNotReady: the link of the participant whose turn it is is still being mailed.
    :raises ParticipantLocked: their link is locked (the sender reissues it instead: a reminder would
        mail a dead link).
    :raises TooManyReminders: the limit per participant is reached.
    """

    def record() -> tuple[Envelope, Participant, str]:
        envelope = owned_envelope(svc, sender, envelope_id)
        status = envelope.status.value
        if envelope.status == EnvelopeStatus.DRAFT:
            raise EnvelopeNotSent(f"envelope {envelope_id} is a draft", status=status)
        if envelope.is_terminal:
            raise EnvelopeAlreadyEnded(f"envelope {envelope_id} is {status}", status=status)
        current = envelope.current()
        if current is None or current.status not in (ParticipantStatus.NOTIFIED, ParticipantStatus.OPENED):
            # Sent but the chain has not mailed the first link yet, or between two participants.
            raise ReminderNotReady(f"envelope {envelope_id} is {status}; no link out", status=status)
        now = svc.now()
        token, token_sha256 = new_link_token()
        changed = rules.remind(envelope, current.id, token_sha256, now)
        participant = changed.participant(current.id)
        changed, entry = changed.audited(
            AuditKind.PARTICIPANT_REMINDED,
            sender.email,
            now,
            {"participant": current.id, "reminders": participant.reminders},
        )
        assert participant.link_expires_at is not None  # issued with the link
        link = LinkRecord(token_sha256, envelope_id, current.id, participant.link_expires_at)
        stored = svc.envelopes.save(changed, [entry], links_added=[link])
        return stored, participant, token

    stored, participant, token = retry_lost_races(record)
    svc.mailer.send(signing_request_mail(svc, stored, participant, token, is_reminder=True))
    return stored


def cancel(svc: Services, sender: SenderIdentity, envelope_id: str, reason: str | None) -> Envelope:
    """End the envelope; the waiting participant's link dies and the chain mails those already told.

    :raises EnvelopeAlreadyCancelled, EnvelopeAlreadyEnded, EveryoneAgreed: as :func:`rules.end`.
    """

    def record() -> tuple[Envelope, Envelope]:
        envelope = owned_envelope(svc, sender, envelope_id)
        now = svc.now()
        changed = rules.end(envelope, "cancelled", now, reason)
        changed, entry = changed.audited(AuditKind.ENVELOPE_CANCELLED, sender.email, now, {"reason": reason})
        return envelope, svc.envelopes.save(changed, [entry])

    envelope, stored = retry_lost_races(record)
    observability.count(observability.Metric.ENVELOPES_CANCELLED)
    waiting = [
        p for p in envelope.participants if p.status in (ParticipantStatus.NOTIFIED, ParticipantStatus.OPENED)
    ]
    for participant in waiting:
        try:
            token = svc.envelopes.task_token(envelope_id, participant.id)
            svc.chain.fail(token, CANCELLED, reason or "cancelled by the sender")
        except (NotFound, Conflict):
            # No task waits (the chain is between steps): its next Notify sees the cancellation.
            pass
    return stored


def downloads(svc: Services, sender: SenderIdentity, envelope_id: str) -> list[Download]:
    """Short-lived URLs of the current version of each document, the RFC 3161 token an import got on
    arrival (``<name>.tsr``) and, once issued, the certificate. A file whose envelope records its hash
    is checked against it first: a stored file that differs is refused, never served.

    :raises NotFound: not readable by the caller.
    :raises DocumentIntegrityError: a stored file is not the one the envelope records.
    """
    envelope = readable_envelope(svc, sender, envelope_id)
    expires_at = svc.now() + timedelta(seconds=DOWNLOAD_URL_SECONDS)
    result: list[Download] = []
    for d in envelope.documents:
        url = svc.documents.download_url(
            current_key(envelope_id, d), d.name, DOWNLOAD_URL_SECONDS, expected_sha256=d.current_sha256
        )
        result.append(Download(d.name, url, expires_at, d.current_sha256))
        if envelope.origin == "imported" and envelope.status == EnvelopeStatus.COMPLETED:
            token_name = f"{d.name}.tsr"
            url = svc.documents.download_url(
                timestamp_key(envelope_id, d.id), token_name, DOWNLOAD_URL_SECONDS
            )
            result.append(Download(token_name, url, expires_at))
    if envelope.certificate_sha256:
        name = certificate_file_name(envelope)
        expected = envelope.certificate_sha256
        url = svc.documents.download_url(
            certificate_key(envelope_id), name, DOWNLOAD_URL_SECONDS, expected_sha256=expected
        )
        result.append(Download(name, url, expires_at, envelope.certificate_sha256))
    return result


def certificate_file_name(envelope: Envelope) -> str:
    """The agreement certificate's file name in the envelope's language (``certificate.file_name``)."""
    return i18n.text("certificate.file_name", envelope.language)
