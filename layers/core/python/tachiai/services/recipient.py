"""The recipient's use cases, behind the emailed link: open, read, agree, reject, forward, download.

The link token is the credential. It is only valid while it is the participant's current link (a
reminder replaces it; any final action kills it), before its expiry, and while the envelope is in
progress. The rules for what a link may do, in :func:`resolve`, are the same for every action, so no
route can be reached around them.

Where the participant has an access code, the link alone is not enough: the code binds to the client
that gave it (a session, sent back as a cookie; :func:`open_documents`), and reading, agreeing,
rejecting and forwarding all require that session. Another browser with the same URL is asked for the
code again — so a seal that says "email + access code" is true of the client that agreed.

Agreeing is idempotent: the same link agreeing again (a double click, a retried request) answers as
the first time and resumes the chain at most once — each agreement is recorded once and sealed once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from tachiai import observability
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditEntry, AuditKind, AuditValue
from tachiai.domain.documents import certificate_key, current_key
from tachiai.domain.envelope import Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.errors import (
    AuthenticationRequired,
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
from tachiai.domain.events import AuthMethod, EventKind, Person
from tachiai.domain.storage import LinkRecord
from tachiai.domain.tasks import REJECTED, ParticipantAnswer
from tachiai.domain.text import Line, Lines, multi_line
from tachiai.domain.tokens import (
    access_code_matches,
    link_token_sha256,
    new_session_token,
    session_token_sha256,
)
from tachiai.mail.mime import require_mailable
from tachiai.services import mails
from tachiai.services.changes import save_change
from tachiai.services.context import Services
from tachiai.services.sending import DOWNLOAD_URL_SECONDS, certificate_file_name

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MAX_SESSIONS_SENT = 4
"""Session cookies looked at per request (a client sends one; more is noise, not worth hashing)."""


@dataclass(frozen=True)
class Visit:
    """Where a request came from, for the audit trail and the agreement certificate, and the sessions
    the client presented (its cookies: the proof that this client gave the access code)."""

    ip: str | None = None
    user_agent: str | None = None
    sessions: tuple[str, ...] = field(default=(), repr=False)
    """Session tokens the client sent (secrets: never audited, never logged)."""

    def audit(self) -> dict[str, AuditValue]:
        return {"ip": self.ip, "user_agent": (self.user_agent or "")[:300] or None}


@dataclass(frozen=True)
class IssuedSession:
    """A client passed the access code: the session token to give it (as a cookie) and until when."""

    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    """The result of :func:`open_documents`."""

    envelope: Envelope
    session: IssuedSession | None
    """A new session for this client, when the participant needs one and the client had none."""


@dataclass(frozen=True)
class LinkView:
    """What a valid link points at."""

    link: LinkRecord
    envelope: Envelope
    participant: Participant | None
    """The participant of a signing link; None for the sender's download link."""


class ForwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr
    organization: Line | None = Field(default=None, max_length=200)
    reason: Lines = Field(min_length=1, max_length=1000)


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
    observability.bind_envelope(envelope.id)
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
) -> Opened:
    """Accept the terms (and give the access code, where set) to see the documents.

    Where the participant has an access code, the client that gives it gets a session
    (:attr:`Opened.session`, a cookie): every later request must carry it, so the code protects the
    documents and the agreement, not only the first visit. Another client (another browser, whoever
    else has the URL) must give the code again. Opening again with a valid session, or without an
    access code to give, is harmless. Five wrong codes lock the link and tell the sender.

    :raises TermsNotAccepted: ``accept_terms`` is false.
    :raises WrongAccessCode: the code is wrong (the message says how many tries are left).
    :raises LinkLocked: that was the last try.
    :raises (everything :func:`resolve` raises)
    """
    for attempt in range(2):
        envelope, participant = resolve(svc, token)
        if participant.status == ParticipantStatus.OPENED and authenticated_methods(svc, participant, visit):
            return Opened(envelope, None)
        if not accept_terms:
            raise TermsNotAccepted(field="accept_terms")
        now = svc.now()
        if participant.requires_access_code:
            assert participant.access_code_hash is not None
            if not access_code or not access_code_matches(access_code.strip(), participant.access_code_hash):
                _count_wrong_code(svc, envelope, participant, visit)
        changed, entries = envelope, []
        if participant.status != ParticipantStatus.OPENED:
            changed = rules.act(envelope, participant.id, "opened", now)
            changed, entry = changed.audited(
                AuditKind.PARTICIPANT_OPENED,
                participant.person.email,
                now,
                {"participant": participant.id, "terms_accepted": True, **visit.audit()},
            )
            entries.append(entry)
        session = None
        if participant.needs_session:
            session_token, session_sha256 = new_session_token()
            changed = rules.start_session(changed, participant.id, session_sha256, now)
            started = changed.participant(participant.id).sessions[-1]
            session = IssuedSession(session_token, started.expires_at)
            if not entries:  # the documents were opened before, on another client (or long ago)
                changed, entry = changed.audited(
                    AuditKind.PARTICIPANT_AUTHENTICATED,
                    participant.person.email,
                    now,
                    {"participant": participant.id, "auth": ",".join(started.auth_methods), **visit.audit()},
                )
                entries.append(entry)
        try:
            stored = svc.envelopes.save(changed, entries)
        except Conflict:
            if attempt:
                raise
            continue  # a concurrent change (a double-clicked form): look again
        return Opened(stored, session)
    raise AssertionError("unreachable")


def authenticated_methods(svc: Services, participant: Participant, visit: Visit) -> list[AuthMethod] | None:
    """What the client of ``visit`` has proved for ``participant`` now; ``None`` when it must give
    the access code (again) before it may read or act.

    Without an access code (or another factor) the link itself is the whole proof: holding it is
    enough. With one, only a client holding a live session (:func:`open_documents`) has proved it.
    """
    if not participant.needs_session:
        return list(participant.auth_methods)
    hashes = [session_token_sha256(s) for s in visit.sessions[:_MAX_SESSIONS_SENT]]
    return participant.session_methods(hashes, svc.now())


def _require_authenticated(svc: Services, participant: Participant, visit: Visit) -> list[AuthMethod]:
    """What the client proved; the participant's every method, or :class:`AuthenticationRequired`."""
    methods = authenticated_methods(svc, participant, visit)
    if methods is None or not set(participant.auth_methods) <= set(methods):
        raise AuthenticationRequired(participant.id)
    return methods


def _count_wrong_code(svc: Services, envelope: Envelope, participant: Participant, visit: Visit) -> None:
    now = svc.now()
    changed = rules.wrong_access_code(envelope, participant.id, now)
    counted = changed.participant(participant.id)
    changed, entry = changed.audited(
        AuditKind.PARTICIPANT_ACCESS_CODE_WRONG,
        participant.person.email,
        now,
        {"participant": participant.id, "attempt": counted.failed_attempts, **visit.audit()},
    )
    entries = [entry]
    if counted.locked:
        changed, locked = changed.audited(
            AuditKind.PARTICIPANT_LOCKED, "system", now, {"participant": participant.id}
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
        # The seal will say how this person was authenticated (participant.auth_methods): only a
        # client that proved all of it may agree.
        proven = _require_authenticated(svc, participant, visit)
        now = svc.now()
        changed = rules.act(envelope, participant.id, "agreed", now)
        changed, entry = changed.audited(
            AuditKind.PARTICIPANT_AGREED,
            participant.person.email,
            now,
            {"participant": participant.id, "auth": ",".join(proven), **visit.audit()},
        )
        try:
            stored = svc.envelopes.save(changed, [entry])
        except Conflict:
            if attempt:
                raise
            continue  # a concurrent change (often the same double click): look again
        answer = ParticipantAnswer(outcome="agreed", participant_id=participant.id)
        _resume(svc, stored, participant.id, answer)
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
            ParticipantAnswer(outcome="agreed", participant_id=view.participant.id),
        )
    return view.envelope


def _resume(svc: Services, envelope: Envelope, participant_id: str, answer: ParticipantAnswer) -> None:
    try:
        svc.chain.resume(svc.envelopes.task_token(envelope.id, participant_id), answer.payload())
    except Conflict:
        logger.info("task already answered", extra={"envelope": envelope.id, "participant": participant_id})


def reject(svc: Services, token: str, reason: str, visit: Visit) -> Envelope:
    """Decline, with a reason; the envelope ends and the sender is told (nobody after this person).

    :raises InvalidRequest: no reason.
    :raises NotOpened: the documents were not opened first.
    :raises AuthenticationRequired: this client has not given the participant's access code.
    """
    reason = multi_line(reason)  # the one text rule (tachiai.domain.text): it reaches the trail and mails
    if not reason:
        raise InvalidRequest("a reason is required", field="reason")
    envelope, participant = resolve(svc, token)
    if participant.status != ParticipantStatus.OPENED:
        raise NotOpened(participant.id)
    _require_authenticated(svc, participant, visit)
    now = svc.now()
    changed = rules.act(envelope, participant.id, "rejected", now, reason)
    changed, entry = changed.audited(
        AuditKind.PARTICIPANT_REJECTED,
        participant.person.email,
        now,
        {"participant": participant.id, "reason": reason.strip()[:1000], **visit.audit()},
    )
    stored = svc.envelopes.save(changed, [entry])
    observability.count(observability.Metric.ENVELOPES_REJECTED)
    try:
        svc.chain.fail(svc.envelopes.task_token(envelope.id, participant.id), REJECTED, reason.strip())
    except Conflict:
        logger.info("task already answered", extra={"envelope": envelope.id, "participant": participant.id})
    return stored


def forward(svc: Services, token: str, request: ForwardRequest, visit: Visit) -> Envelope:
    """Hand this participant's place to another person: sealed as an event, the newcomer gets their own
    link, this link dies.

    :raises InvalidRequest: the newcomer is already a participant.
    :raises UnmailableParticipant: no mail could ever reach the newcomer as given (name or address).
    :raises NotOpened: the documents were not opened first.
    :raises AuthenticationRequired: this client has not given the participant's access code.
    """
    envelope, participant = resolve(svc, token)
    if participant.status != ParticipantStatus.OPENED:
        raise NotOpened(participant.id)
    _require_authenticated(svc, participant, visit)
    # The newcomer's first mail is the chain's next step: refuse here what could never be mailed,
    # rather than end the envelope failed at that mail.
    require_mailable(request.name, str(request.email), participant=str(request.email))
    now = svc.now()
    newcomer_id = f"p{len(envelope.participants) + 1}"
    person = Person(name=request.name, email=request.email, organization=request.organization)
    try:
        changed = rules.forward(envelope, participant.id, person, newcomer_id, request.reason, now)
    except ValueError as e:  # the model refused the new participant list (same address twice)
        raise InvalidRequest(str(e).splitlines()[0], field="email") from e
    changed, entry = changed.audited(
        AuditKind.PARTICIPANT_FORWARDED,
        participant.person.email,
        now,
        {"participant": participant.id, "to": newcomer_id, "to_email": person.email, **visit.audit()},
    )
    stored = svc.envelopes.save(changed, [entry])
    _resume(
        svc,
        stored,
        participant.id,
        ParticipantAnswer(outcome="forwarded", participant_id=participant.id, forwarded_to=newcomer_id),
    )
    return stored


def document_url(svc: Services, token: str, document_id: str, visit: Visit) -> str:
    """A short-lived URL of a document: the current version while signing (after opening), the
    finished one from a completion link.

    :raises NotFound: no such document.
    :raises NotOpened: a signing link that has not opened the documents.
    :raises AuthenticationRequired: a signing link, on a client that has not given the access code.
    :raises DocumentIntegrityError: the stored file is not the one the envelope records (not served).
    """
    envelope, actor = _reader(svc, token, visit)
    document = next((d for d in envelope.documents if d.id == document_id), None)
    if document is None:
        raise NotFound(f"document {document_id}")
    url = svc.documents.download_url(
        current_key(envelope.id, document),
        document.name,
        DOWNLOAD_URL_SECONDS,
        expected_sha256=document.current_sha256,
    )
    _record(
        svc,
        envelope,
        AuditKind.DOCUMENT_DOWNLOADED,
        actor,
        {"document": document_id, "version": document.seals, **visit.audit()},
    )
    return url


def certificate_url(svc: Services, token: str, visit: Visit) -> str:
    """A short-lived URL of the agreement certificate (completion links only).

    :raises NotFound: not issued (yet).
    :raises DocumentIntegrityError: the stored certificate is not the one the envelope records.
    """
    view = lookup(svc, token)
    envelope, actor = _download_link(svc, view)
    if not envelope.certificate_sha256:
        raise NotFound("certificate")
    url = svc.documents.download_url(
        certificate_key(envelope.id),
        certificate_file_name(envelope),
        DOWNLOAD_URL_SECONDS,
        expected_sha256=envelope.certificate_sha256,
    )
    _record(svc, envelope, AuditKind.CERTIFICATE_DOWNLOADED, actor, visit.audit())
    return url


def _reader(svc: Services, token: str, visit: Visit) -> tuple[Envelope, str]:
    view = lookup(svc, token)
    if view.link.purpose == "download":
        return _download_link(svc, view)
    envelope, participant = resolve(svc, token)
    if participant.status != ParticipantStatus.OPENED:
        raise NotOpened(participant.id)
    _require_authenticated(svc, participant, visit)
    return envelope, participant.person.email


def _download_link(svc: Services, view: LinkView) -> tuple[Envelope, str]:
    if view.link.purpose != "download" or view.envelope.status != EnvelopeStatus.COMPLETED:
        raise LinkInvalid("not a completion link")
    if svc.now() >= view.link.expires_at:
        raise LinkExpired(f"download link expired at {view.link.expires_at}")
    actor = view.participant.person.email if view.participant else view.envelope.sender.email
    return view.envelope, actor


def _record(
    svc: Services, envelope: Envelope, kind: AuditKind, actor: str, data: dict[str, AuditValue]
) -> None:
    """Add an audit entry that changes nothing else (a download), retrying on a concurrent change."""

    def audit(current: Envelope) -> tuple[Envelope, list[AuditEntry]]:
        changed, entry = current.audited(kind, actor, svc.now(), data)
        return changed, [entry]

    save_change(svc, envelope, audit)
