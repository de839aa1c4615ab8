"""The recipient's use cases, behind the emailed link: open, read, agree, reject, forward, download.

The link token is the credential. It is only valid while it is the participant's current link (a
reminder replaces it; any final action kills it), before its expiry, and while the envelope is in
progress. The rules for what a link may do, in :func:`resolve`, are the same for every action, so no
route can be reached around them.

Agreeing is idempotent: the same link agreeing again (a double click, a retried request) answers as
the first time and resumes the chain at most once — each agreement is recorded once and sealed once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from tachiai.adapters.dynamodb import LinkRecord
from tachiai.adapters.s3 import certificate_key, current_key
from tachiai.adapters.sfn import REJECTED
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditEntry, AuditValue
from tachiai.domain.envelope import Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.errors import (
    Conflict,
    EnvelopeCancelled,
    EnvelopeClosed,
    EnvelopeRejected,
    InvalidRequest,
    LinkExpired,
    LinkInvalid,
    LinkLocked,
    NotFound,
    NotOpened,
    NotYourTurn,
    TermsNotAccepted,
    WrongAccessCode,
)
from tachiai.domain.events import EventKind, Person
from tachiai.domain.tokens import access_code_matches, link_token_sha256
from tachiai.services import mails
from tachiai.services.changes import save_change
from tachiai.services.context import Services
from tachiai.services.sending import DOWNLOAD_URL_SECONDS, certificate_file_name

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Visit:
    """Where a request came from, for the audit trail and the agreement certificate."""

    ip: str | None = None
    user_agent: str | None = None

    def audit(self) -> dict[str, AuditValue]:
        return {"ip": self.ip, "user_agent": (self.user_agent or "")[:300] or None}


@dataclass(frozen=True)
class LinkView:
    """What a valid link points at."""

    link: LinkRecord
    envelope: Envelope
    participant: Participant | None
    """The participant of a signing link; None for the sender's download link."""


class ForwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    organization: str | None = Field(default=None, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)


def is_well_formed(token: str) -> bool:
    """Whether ``token`` looks like a link token at all (43 URL-safe base64 characters)."""
    return bool(_TOKEN.match(token))


def lookup(svc: Services, token: str) -> LinkView:
    """The link, its envelope and participant — whatever their state.

    :raises LinkInvalid: malformed or unknown token.
    """
    if not is_well_formed(token):
        raise LinkInvalid("malformed token")
    try:
        link = svc.envelopes.find_link(link_token_sha256(token))
        envelope = svc.envelopes.get(link.envelope_id)
    except NotFound as e:
        raise LinkInvalid("unknown token") from e
    participant = next((p for p in envelope.participants if p.id == link.participant_id), None)
    if link.purpose == "sign" and participant is None:
        raise LinkInvalid("participant gone")
    return LinkView(link, envelope, participant)


def resolve(svc: Services, token: str) -> tuple[Envelope, Participant]:
    """The envelope and participant of a signing link that may act now.

    :raises LinkInvalid: unknown, malformed, replaced or dead link.
    :raises EnvelopeCancelled / EnvelopeRejected / EnvelopeClosed: the envelope has ended.
    :raises LinkExpired: the link's time is over.
    :raises LinkLocked: too many wrong access codes.
    :raises NotYourTurn: someone before this participant has not finished.
    :raises Conflict: this participant already agreed, rejected or forwarded (``status`` says which).
    """
    view = lookup(svc, token)
    envelope, participant = view.envelope, view.participant
    if view.link.purpose != "sign" or participant is None:
        raise LinkInvalid("not a signing link")
    token_sha256 = view.link.token_sha256
    if participant.status in (
        ParticipantStatus.AGREED,
        ParticipantStatus.REJECTED,
        ParticipantStatus.FORWARDED,
    ):
        raise Conflict(f"{participant.id} already {participant.status}", status=participant.status.value)
    _require_open_envelope(envelope)
    if participant.link_token_sha256 != token_sha256:
        raise LinkInvalid("replaced or dead link")
    if participant.link_expires_at is None or svc.now() >= participant.link_expires_at:
        raise LinkExpired(f"expired at {participant.link_expires_at}")
    if participant.locked:
        raise LinkLocked(participant.id)
    current = envelope.current()
    if current is None or current.id != participant.id:
        raise NotYourTurn(participant.id)
    return envelope, participant


def _require_open_envelope(envelope: Envelope) -> None:
    if envelope.status == EnvelopeStatus.CANCELLED:
        raise EnvelopeCancelled(envelope.id)
    if envelope.status == EnvelopeStatus.REJECTED:
        raise EnvelopeRejected(envelope.id)
    if envelope.status == EnvelopeStatus.EXPIRED:
        raise LinkExpired(envelope.id)
    if envelope.status != EnvelopeStatus.IN_PROGRESS:
        raise EnvelopeClosed(f"{envelope.id} is {envelope.status}")


def open_documents(
    svc: Services, token: str, *, accept_terms: bool, access_code: str | None, visit: Visit
) -> Envelope:
    """Accept the terms (and give the access code, where set) to see the documents.

    Opening again is harmless. Five wrong codes lock the link and tell the sender.

    :raises TermsNotAccepted: ``accept_terms`` is false.
    :raises WrongAccessCode: the code is wrong (the message says how many tries are left).
    :raises LinkLocked: that was the last try.
    :raises (everything :func:`resolve` raises)
    """
    envelope, participant = resolve(svc, token)
    if participant.status == ParticipantStatus.OPENED:
        return envelope
    if not accept_terms:
        raise TermsNotAccepted(field="accept_terms")
    now = svc.now()
    if participant.requires_access_code:
        assert participant.access_code_hash is not None
        if not access_code or not access_code_matches(access_code.strip(), participant.access_code_hash):
            _count_wrong_code(svc, envelope, participant, visit)
    changed = rules.act(envelope, participant.id, "opened", now)
    changed, entry = changed.audited(
        "participant.opened",
        participant.person.email,
        now,
        {"participant": participant.id, "terms_accepted": True, **visit.audit()},
    )
    return svc.envelopes.save(changed, [entry])


def _count_wrong_code(svc: Services, envelope: Envelope, participant: Participant, visit: Visit) -> None:
    now = svc.now()
    changed = rules.wrong_access_code(envelope, participant.id, now)
    counted = changed.participant(participant.id)
    changed, entry = changed.audited(
        "participant.access_code_wrong",
        participant.person.email,
        now,
        {"participant": participant.id, "attempt": counted.failed_attempts, **visit.audit()},
    )
    entries = [entry]
    if counted.locked:
        changed, locked = changed.audited(
            "participant.locked", "system", now, {"participant": participant.id}
        )
        entries.append(locked)
    stored = svc.envelopes.save(changed, entries)
    if counted.locked:
        svc.mailer.send(mails.locked_mail(svc, stored, counted, now))
        raise LinkLocked(participant.id)
    raise WrongAccessCode(participant.id, remaining=rules.MAX_ACCESS_CODE_ATTEMPTS - counted.failed_attempts)


def agree(svc: Services, token: str, visit: Visit) -> Envelope:
    """Agree to the documents (after opening them). Idempotent.

    :raises NotOpened: the documents were not opened first (terms, access code).
    :raises (everything :func:`resolve` raises, except Conflict for an agreement already given)
    """
    for attempt in range(2):
        try:
            envelope, participant = resolve(svc, token)
        except Conflict as e:
            if e.params.get("status") == ParticipantStatus.AGREED.value:
                return _resume_agreed(svc, token)
            raise
        if participant.status != ParticipantStatus.OPENED:
            raise NotOpened(participant.id)
        now = svc.now()
        changed = rules.act(envelope, participant.id, "agreed", now)
        changed, entry = changed.audited(
            "participant.agreed",
            participant.person.email,
            now,
            {"participant": participant.id, "auth": ",".join(participant.auth_methods), **visit.audit()},
        )
        try:
            stored = svc.envelopes.save(changed, [entry])
        except Conflict:
            if attempt:
                raise
            continue  # a concurrent change (often the same double click): look again
        _resume(svc, stored, participant.id, {"outcome": "agreed", "participantId": participant.id})
        return stored
    raise AssertionError("unreachable")


def _resume_agreed(svc: Services, token: str) -> Envelope:
    """The agreement is on record. If its seal has not happened, the chain may not have heard of it
    (the first request died between recording and resuming): resuming again is safe, because a task
    token can be answered once."""
    view = lookup(svc, token)
    assert view.participant is not None
    if rules.event_key(EventKind.AGREED, view.participant.id) not in view.envelope.sealed_events:
        _resume(
            svc,
            view.envelope,
            view.participant.id,
            {"outcome": "agreed", "participantId": view.participant.id},
        )
    return view.envelope


def _resume(svc: Services, envelope: Envelope, participant_id: str, output: dict[str, str]) -> None:
    try:
        svc.chain.resume(svc.envelopes.task_token(envelope.id, participant_id), output)
    except Conflict:
        logger.info("task already answered", extra={"envelope": envelope.id, "participant": participant_id})


def reject(svc: Services, token: str, reason: str, visit: Visit) -> Envelope:
    """Decline, with a reason; the envelope ends and the sender is told (nobody after this person).

    :raises InvalidRequest: no reason.
    :raises NotOpened: the documents were not opened first.
    """
    envelope, participant = resolve(svc, token)
    if participant.status != ParticipantStatus.OPENED:
        raise NotOpened(participant.id)
    now = svc.now()
    changed = rules.act(envelope, participant.id, "rejected", now, reason)
    changed, entry = changed.audited(
        "participant.rejected",
        participant.person.email,
        now,
        {"participant": participant.id, "reason": reason.strip()[:1000], **visit.audit()},
    )
    stored = svc.envelopes.save(changed, [entry])
    try:
        svc.chain.fail(svc.envelopes.task_token(envelope.id, participant.id), REJECTED, reason.strip())
    except Conflict:
        logger.info("task already answered", extra={"envelope": envelope.id, "participant": participant.id})
    return stored


def forward(svc: Services, token: str, request: ForwardRequest, visit: Visit) -> Envelope:
    """Hand this participant's place to another person: sealed as an event, the newcomer gets their own
    link, this link dies.

    :raises InvalidRequest: the newcomer is already a participant.
    :raises NotOpened: the documents were not opened first.
    """
    envelope, participant = resolve(svc, token)
    if participant.status != ParticipantStatus.OPENED:
        raise NotOpened(participant.id)
    now = svc.now()
    newcomer_id = f"p{len(envelope.participants) + 1}"
    person = Person(name=request.name, email=request.email, organization=request.organization)
    try:
        changed = rules.forward(envelope, participant.id, person, newcomer_id, request.reason, now)
    except ValueError as e:  # the model refused the new participant list (same address twice)
        raise InvalidRequest(str(e).splitlines()[0], field="email") from e
    changed, entry = changed.audited(
        "participant.forwarded",
        participant.person.email,
        now,
        {"participant": participant.id, "to": newcomer_id, "to_email": person.email, **visit.audit()},
    )
    stored = svc.envelopes.save(changed, [entry])
    _resume(
        svc,
        stored,
        participant.id,
        {"outcome": "forwarded", "participantId": participant.id, "forwardedTo": newcomer_id},
    )
    return stored


def document_url(svc: Services, token: str, document_id: str, visit: Visit) -> str:
    """A short-lived URL of a document: the current version while signing (after opening), the
    finished one from a completion link.

    :raises NotFound: no such document.
    :raises NotOpened: a signing link that has not opened the documents.
    """
    envelope, actor = _reader(svc, token)
    document = next((d for d in envelope.documents if d.id == document_id), None)
    if document is None:
        raise NotFound(f"document {document_id}")
    _record(
        svc,
        envelope,
        "document.downloaded",
        actor,
        {"document": document_id, "version": document.seals, **visit.audit()},
    )
    return svc.documents.download_url(current_key(envelope.id, document), document.name, DOWNLOAD_URL_SECONDS)


def certificate_url(svc: Services, token: str, visit: Visit) -> str:
    """A short-lived URL of the agreement certificate (completion links only).

    :raises NotFound: not issued (yet).
    """
    view = lookup(svc, token)
    envelope, actor = _download_link(svc, view)
    if not envelope.certificate_sha256:
        raise NotFound("certificate")
    _record(svc, envelope, "certificate.downloaded", actor, visit.audit())
    return svc.documents.download_url(
        certificate_key(envelope.id), certificate_file_name(envelope), DOWNLOAD_URL_SECONDS
    )


def _reader(svc: Services, token: str) -> tuple[Envelope, str]:
    view = lookup(svc, token)
    if view.link.purpose == "download":
        return _download_link(svc, view)
    envelope, participant = resolve(svc, token)
    if participant.status != ParticipantStatus.OPENED:
        raise NotOpened(participant.id)
    return envelope, participant.person.email


def _download_link(svc: Services, view: LinkView) -> tuple[Envelope, str]:
    if view.link.purpose != "download" or view.envelope.status != EnvelopeStatus.COMPLETED:
        raise LinkInvalid("not a completion link")
    if svc.now() >= view.link.expires_at:
        raise LinkExpired(f"download link expired at {view.link.expires_at}")
    actor = view.participant.person.email if view.participant else view.envelope.sender.email
    return view.envelope, actor


def _record(svc: Services, envelope: Envelope, kind: str, actor: str, data: dict[str, AuditValue]) -> None:
    """Add an audit entry that changes nothing else (a download), retrying on a concurrent change."""

    def audit(current: Envelope) -> tuple[Envelope, list[AuditEntry]]:
        changed, entry = current.audited(kind, actor, svc.now(), data)
        return changed, [entry]

    save_change(svc, envelope, audit)
