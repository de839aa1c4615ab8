"""The envelope: documents, participants in order, and the rules of its life.

draft → sent → in_progress → completed | rejected | cancelled | expired | failed.

``failed`` is the one status DESIGN.md does not list: the evidence chain could not be continued (a
stored PDF changed between two seals, a seal that did not validate). The envelope stops there instead
of completing silently, and the sender is told.

Participants sign in ``order`` (1, 2, 3 ...); a forward hands a participant's place (the same order)
to another person. Every rule here is a pure function of an :class:`Envelope` that returns the
changed envelope and the :class:`~tachiai.domain.audit.AuditEntry` describing the change; storage
makes both durable together with a conditional write on :attr:`Envelope.version`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tachiai.domain.audit import GENESIS_HASH, AuditEntry, AuditKind, AuditValue, next_entry
from tachiai.domain.errors import (
    Conflict,
    EnvelopeAlreadyCancelled,
    EnvelopeAlreadyEnded,
    EnvelopeAlreadyResent,
    EnvelopeNotDraft,
    EnvelopeNotResendable,
    EveryoneAgreed,
    InvalidRequest,
    LinkExpired,
    NotYourTurn,
    ParticipantLocked,
    ParticipantNotLocked,
    TooManyReminders,
)
from tachiai.domain.events import AuthMethod, EventKind, Language, Person
from tachiai.domain.text import Line, Lines
from tachiai.extract.model import ContractMetadata


class EnvelopeStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    """Sealing could not continue the evidence chain; needs an administrator."""


TERMINAL_STATUSES = frozenset(
    {
        EnvelopeStatus.COMPLETED,
        EnvelopeStatus.REJECTED,
        EnvelopeStatus.CANCELLED,
        EnvelopeStatus.EXPIRED,
        EnvelopeStatus.FAILED,
    }
)


class ParticipantStatus(StrEnum):
    WAITING = "waiting"
    """Not their turn yet."""
    NOTIFIED = "notified"
    """Their turn: a link was mailed."""
    OPENED = "opened"
    """Accepted the terms and opened the documents."""
    AGREED = "agreed"
    REJECTED = "rejected"
    FORWARDED = "forwarded"
    """Handed their place to another person; their link is dead."""


_ACTIVE = frozenset({ParticipantStatus.NOTIFIED, ParticipantStatus.OPENED})

DEFAULT_LINK_VALIDITY = timedelta(days=7)
MAX_LINK_VALIDITY = timedelta(days=180)
"""The longest a sender may give each participant to answer (a Step Functions execution lasts a year:
the chain must outlive every participant's turn)."""
MAX_LINK_VALIDITY_SECONDS = int(MAX_LINK_VALIDITY.total_seconds())
MAX_ACCESS_CODE_ATTEMPTS = 5
"""Wrong access codes before a link locks (DESIGN.md security rules)."""
MAX_REMINDERS = 5
"""Manual reminders per participant: enough to chase, too few to spam."""
SESSION_VALIDITY = timedelta(hours=1)
"""How long a client that passed the access code may act without giving it again: long enough to read
a contract and ask a colleague, short enough that a browser left open does not stay authorised for the
link's whole week (never beyond the link's own expiry)."""
MAX_SESSIONS = 5
"""Clients a participant may be signed in on at once (a phone and a laptop, a double-clicked form);
the oldest goes first."""
AUTO_REMIND_DAYS = (1, 30)
"""Bounds of :attr:`Envelope.auto_remind_every_days` (inclusive)."""
MAX_AUTO_REMINDERS = 10
"""Automatic reminders per participant's turn, at most: chasing for weeks, never spamming."""


class ClientSession(BaseModel):
    """A client (a browser, an API client) that proved who it is for one participant: the access code
    and whatever else the participant must prove. Only the SHA-256 of its random cookie is stored."""

    model_config = ConfigDict(frozen=True)

    sha256: str
    expires_at: AwareDatetime
    auth_methods: list[AuthMethod]
    """What this client proved (the participant's methods when it signed in)."""


class Participant(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    order: int = Field(ge=1)
    """Signing order; equal to the forwarder's order for a forwarded-to participant."""
    person: Person
    language: Language = "ja"
    auth_methods: list[AuthMethod] = Field(default_factory=lambda: [AuthMethod.EMAIL_LINK])
    access_code_hash: str | None = None
    """Salted hash of the access code set by the sender (never the code itself)."""
    status: ParticipantStatus = ParticipantStatus.WAITING
    link_token_sha256: str | None = None
    """SHA-256 of the emailed link token; the token itself is never stored."""
    link_expires_at: AwareDatetime | None = None
    failed_attempts: int = 0
    """Wrong access codes in a row; the link locks at :data:`MAX_ACCESS_CODE_ATTEMPTS`."""
    reminders: int = 0
    notified_at: AwareDatetime | None = None
    """When their link was last issued (their turn began, or the sender reissued it)."""
    auto_reminders: int = 0
    """Automatic reminders sent during their turn (:data:`MAX_AUTO_REMINDERS` at most)."""
    reminded_at: AwareDatetime | None = None
    """When they were last reminded (by the sender or automatically)."""
    forwarded_from: str | None = None
    """Id of the participant who forwarded their place to this one."""
    acted_at: AwareDatetime | None = None
    """When they last acted (opened; then agreed, rejected or forwarded)."""
    reason: Lines | None = None
    """Why they rejected or forwarded, in their words (names and titles end up in mail headers, seal
    reasons and PDF text: :class:`Person` and :class:`Envelope` keep them to one clean line)."""
    sessions: list[ClientSession] = Field(default_factory=list)
    """The clients signed in for this participant (:data:`MAX_SESSIONS` at most, newest last)."""

    @property
    def requires_access_code(self) -> bool:
        return AuthMethod.ACCESS_CODE in self.auth_methods

    @property
    def needs_session(self) -> bool:
        """Whether acting takes a client that proved more than holding the link (an access code): the
        proof then holds for the client that gave it, not for whoever else gets the URL."""
        return any(m != AuthMethod.EMAIL_LINK for m in self.auth_methods)

    def session_methods(self, session_sha256s: Iterable[str], at: datetime) -> list[AuthMethod] | None:
        """What the client holding one of these sessions proved, if it is signed in at ``at``."""
        wanted = set(session_sha256s)
        for session in reversed(self.sessions):
            if session.sha256 in wanted and at < session.expires_at:
                return list(session.auth_methods)
        return None

    @property
    def locked(self) -> bool:
        return self.failed_attempts >= MAX_ACCESS_CODE_ATTEMPTS


class Document(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: Line = Field(min_length=1, max_length=255)
    pages: int | None = Field(default=None, ge=1)
    """Known once the upload passed preflight (at send)."""
    size: int | None = Field(default=None, ge=1)
    original_sha256: str | None = None
    normalized_sha256: str | None = None
    current_sha256: str | None = None
    """SHA-256 of the latest version (the prepared upload, then each sealed version): the next seal
    must start from exactly this file."""
    seals: int = 0
    """How many seals the current version carries."""
    finalized: bool = False
    """The current version carries the document timestamp (the finished contract)."""
    upload_key: str | None = None
    """Where this document's presigned upload lands (a fresh random key per upload URL): read once,
    when the document is accepted (sent, or an import completed), never after."""


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: Line = Field(min_length=1, max_length=200)
    message: Lines = Field(default="", max_length=2000)
    language: Language = "ja"
    sender: Person
    sender_id: str
    """The sender's identity (Cognito ``sub``)."""
    status: EnvelopeStatus = EnvelopeStatus.DRAFT
    documents: list[Document] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    """Who signs, in order (at least one, unless the contract was imported)."""
    origin: Literal["signed", "imported"] = "signed"
    """``imported``: signed on paper or elsewhere and added to the ledger (no participants, no seals)."""
    metadata: ContractMetadata | None = None
    """The contract's ledger data (extracted, then corrected by the sender)."""
    metadata_status: Literal["pending", "extracting", "extracted", "failed"] = "pending"
    """``extracting``: an import's extraction was started and has not ended yet (it runs apart from the
    request that imported it); ``failed``: the last extraction failed, :attr:`metadata_error` says why."""
    metadata_error: str | None = None
    """The error code of the last failed extraction (``extraction_unavailable`` ...), else ``None``."""
    corrected_fields: list[str] = Field(default_factory=list)
    """Fields the sender corrected: a later extraction never overwrites them."""
    link_validity: timedelta = DEFAULT_LINK_VALIDITY
    auto_remind_every_days: int | None = Field(default=None, ge=AUTO_REMIND_DAYS[0], le=AUTO_REMIND_DAYS[1])
    """Remind the participant whose turn it is every N days until their link's deadline (None: off)."""
    template_id: str | None = None
    """The template the draft was created from, if any."""
    resent_from: str | None = None
    """The rejected, expired or cancelled envelope this one corrects and resends."""
    resent_as: str | None = None
    """The envelope that corrected and resent this one."""
    created_at: AwareDatetime
    updated_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    sealed_events: list[str] = Field(default_factory=list)
    """Keys of the events already sealed into the documents (``sent``, ``agreed:<participant>``,
    ``forwarded:<participant>``): each is sealed exactly once."""
    certificate_sha256: str | None = None
    """SHA-256 of the sealed agreement certificate, once issued."""
    undelivered_notice: str | None = None
    """The outcome (``completed``, ``rejected`` ...) whose final mail could not be delivered, when it
    could not: the sender learns the end from the envelope instead of the mail."""
    outcome_reason: Lines | None = None
    """Why the envelope ended early (rejection reason, cancellation note)."""
    version: int = 0
    """Incremented by every change; writes are conditional on it."""
    audit_seq: int = 0
    """Sequence number of the last audit entry (0: none yet)."""
    audit_head: str = GENESIS_HASH
    """Hash of the last audit entry: the next one chains to it."""

    @model_validator(mode="after")
    def _signed_envelopes_have_participants(self) -> Envelope:
        if self.origin == "signed" and not self.participants:
            raise ValueError("an envelope needs at least one participant")
        return self

    @model_validator(mode="after")
    def _unique_addresses(self) -> Envelope:
        live = [p.person.email.lower() for p in self.participants if p.status != ParticipantStatus.FORWARDED]
        if len(live) != len(set(live)):
            raise ValueError("the same email address appears twice among the participants")
        return self

    # --- queries --------------------------------------------------------------------------

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def participant(self, participant_id: str) -> Participant:
        """:raises InvalidRequest: no such participant."""
        for p in self.participants:
            if p.id == participant_id:
                return p
        raise InvalidRequest(f"no participant {participant_id}", field="participant")

    def current(self) -> Participant | None:
        """Whose turn it is: the first participant, in order, who has not agreed or handed over."""
        for p in sorted(self.participants, key=lambda p: p.order):
            if p.status not in (ParticipantStatus.AGREED, ParticipantStatus.FORWARDED):
                return p
        return None

    def audited(
        self, kind: AuditKind, actor: str, at: datetime, data: dict[str, AuditValue] | None = None
    ) -> tuple[Envelope, AuditEntry]:
        """This envelope with the audit head moved to a new entry describing a change, and the entry."""
        entry = next_entry(self.id, self.audit_seq, self.audit_head, kind, actor, at, data)
        return self.model_copy(update={"audit_seq": entry.seq, "audit_head": entry.hash}), entry

    def signers_in_order(self) -> list[Participant]:
        return sorted(
            (p for p in self.participants if p.status != ParticipantStatus.FORWARDED), key=lambda p: p.order
        )


Action = Literal["opened", "agreed", "rejected", "forwarded"]


def _replace_participant(envelope: Envelope, updated: Participant, at: datetime) -> Envelope:
    participants = [updated if p.id == updated.id else p for p in envelope.participants]
    return envelope.model_copy(update={"participants": participants, "updated_at": at})


def _require(envelope: Envelope, *allowed: EnvelopeStatus) -> None:
    if envelope.status not in allowed:
        raise Conflict(f"envelope {envelope.id} is {envelope.status}", status=envelope.status.value)


def send(envelope: Envelope, at: datetime) -> Envelope:
    """draft → sent, once every document is prepared and carries the "sent" seal.

    :raises Conflict: not a draft.
    :raises InvalidRequest: no document, or one not prepared and sealed.
    """
    _require(envelope, EnvelopeStatus.DRAFT)
    if not envelope.documents:
        raise InvalidRequest("an envelope needs at least one document", field="documents")
    if SENT_EVENT not in envelope.sealed_events or any(d.current_sha256 is None for d in envelope.documents):
        raise InvalidRequest("the documents have not been prepared and sealed", field="documents")
    return envelope.model_copy(update={"status": EnvelopeStatus.SENT, "sent_at": at, "updated_at": at})


def describe_document(
    envelope: Envelope,
    document_id: str,
    *,
    size: int,
    pages: int,
    original_sha256: str,
    normalized_sha256: str | None,
) -> Envelope:
    """A document passed preflight: what it is, and the version the first seal starts from."""
    return _replace_document(
        envelope,
        document_id,
        size=size,
        pages=pages,
        original_sha256=original_sha256,
        normalized_sha256=normalized_sha256,
        current_sha256=normalized_sha256 or original_sha256,
    )


def _replace_document(envelope: Envelope, document_id: str, **changes: object) -> Envelope:
    if not any(d.id == document_id for d in envelope.documents):
        raise InvalidRequest(f"no document {document_id}", field="document")
    documents = [d.model_copy(update=changes) if d.id == document_id else d for d in envelope.documents]
    return envelope.model_copy(update={"documents": documents})


SENT_EVENT = "sent"


def event_key(kind: EventKind, participant_id: str | None = None) -> str:
    """The key of a sealed event in :attr:`Envelope.sealed_events`."""
    return kind.value if participant_id is None else f"{kind.value}:{participant_id}"


def mark_sealed(envelope: Envelope, key: str, at: datetime) -> Envelope:
    """Every document now carries the seal of event ``key``.

    :raises Conflict: that event was sealed already (each event is sealed exactly once).
    """
    if key in envelope.sealed_events:
        raise Conflict(f"event {key} is already sealed", status=envelope.status.value)
    return envelope.model_copy(update={"sealed_events": [*envelope.sealed_events, key], "updated_at": at})


def record_finalized(envelope: Envelope, document_id: str, final_sha256: str, at: datetime) -> Envelope:
    """A document got its document timestamp: the finished contract."""
    changed = _replace_document(envelope, document_id, current_sha256=final_sha256, finalized=True)
    return changed.model_copy(update={"updated_at": at})


def wrong_access_code(envelope: Envelope, participant_id: str, at: datetime) -> Envelope:
    """Count a wrong access code; the link locks at :data:`MAX_ACCESS_CODE_ATTEMPTS`."""
    participant = envelope.participant(participant_id)
    updated = participant.model_copy(update={"failed_attempts": participant.failed_attempts + 1})
    return _replace_participant(envelope, updated, at)


def remind(envelope: Envelope, participant_id: str, token_sha256: str, at: datetime) -> Envelope:
    """The current participant gets a reminder with a fresh link (same expiry); the old link dies.

    :raises Conflict: the envelope is not in progress.
    :raises NotYourTurn: ``participant_id`` is not the participant whose turn it is.
    :raises ParticipantLocked: their link is locked (see :func:`reissue`).
    :raises TooManyReminders: :data:`MAX_REMINDERS` reached.
    """
    _require(envelope, EnvelopeStatus.IN_PROGRESS)
    participant = envelope.participant(participant_id)
    current = envelope.current()
    if current is None or current.id != participant_id or participant.status not in _ACTIVE:
        raise NotYourTurn(f"{participant_id} is not waiting for a link")
    if participant.locked:
        # The link would arrive dead (locked): unlocking is the sender's explicit choice (reissue).
        raise ParticipantLocked(participant_id, name=participant.person.name)
    if participant.reminders >= MAX_REMINDERS:
        raise TooManyReminders(f"{participant_id}: {participant.reminders} reminders", limit=MAX_REMINDERS)
    updated = participant.model_copy(
        update={"link_token_sha256": token_sha256, "reminders": participant.reminders + 1, "reminded_at": at}
    )
    return _replace_participant(envelope, updated, at)


def start_session(envelope: Envelope, participant_id: str, session_sha256: str, at: datetime) -> Envelope:
    """A client proved what ``participant_id`` must prove (the caller checked it): it may act for them
    until :data:`SESSION_VALIDITY` has passed or the link expires, whichever comes first. Expired
    sessions are dropped, and the oldest beyond :data:`MAX_SESSIONS`.

    :raises InvalidRequest: no such participant.
    :raises LinkExpired: the link has no time left (or never had an expiry).
    """
    participant = envelope.participant(participant_id)
    if participant.link_expires_at is None or at >= participant.link_expires_at:
        raise LinkExpired(f"{participant_id}: link expired at {participant.link_expires_at}")
    session = ClientSession(
        sha256=session_sha256,
        expires_at=min(at + SESSION_VALIDITY, participant.link_expires_at),
        auth_methods=list(participant.auth_methods),
    )
    live = [s for s in participant.sessions if at < s.expires_at]
    sessions = [*live, session][-MAX_SESSIONS:]
    return _replace_participant(envelope, participant.model_copy(update={"sessions": sessions}), at)


def issue_link(envelope: Envelope, participant_id: str, token_sha256: str, at: datetime) -> Envelope:
    """It is ``participant_id``'s turn: their link (by its hash) becomes valid until the expiry.

    :raises Conflict: the envelope has ended.
    :raises NotYourTurn: someone before them has not finished.
    """
    _require(envelope, EnvelopeStatus.SENT, EnvelopeStatus.IN_PROGRESS)
    participant = envelope.participant(participant_id)
    current = envelope.current()
    if current is None or current.id != participant_id:
        raise NotYourTurn(f"{participant_id} is not the current participant")
    updated = participant.model_copy(
        update={
            "status": ParticipantStatus.NOTIFIED,
            "link_token_sha256": token_sha256,
            "link_expires_at": at + envelope.link_validity,
            "failed_attempts": 0,
            "notified_at": at,
        }
    )
    changed = _replace_participant(envelope, updated, at)
    return changed.model_copy(update={"status": EnvelopeStatus.IN_PROGRESS})


def act(
    envelope: Envelope, participant_id: str, action: Action, at: datetime, reason: str | None = None
) -> Envelope:
    """A participant whose turn it is opens, agrees, rejects or forwards.

    Agreeing twice is not an error here — callers make agree idempotent by checking
    :attr:`Participant.status` first.

    :raises Conflict: the envelope has ended, or the participant already acted.
    :raises NotYourTurn: it is not this participant's turn.
    :raises InvalidRequest: a rejection or forward without a reason.
    """
    _require(envelope, EnvelopeStatus.IN_PROGRESS)
    participant = envelope.participant(participant_id)
    current = envelope.current()
    if current is None or current.id != participant_id or participant.status not in _ACTIVE:
        if participant.status in (
            ParticipantStatus.AGREED,
            ParticipantStatus.FORWARDED,
            ParticipantStatus.REJECTED,
        ):
            raise Conflict(f"{participant_id} already {participant.status}", status=participant.status.value)
        raise NotYourTurn(f"{participant_id} is not the current participant")
    if action in ("rejected", "forwarded") and not (reason and reason.strip()):
        raise InvalidRequest(f"a reason is required to {action[:-2]}", field="reason")
    status = {
        "opened": ParticipantStatus.OPENED,
        "agreed": ParticipantStatus.AGREED,
        "rejected": ParticipantStatus.REJECTED,
        "forwarded": ParticipantStatus.FORWARDED,
    }[action]
    # The link dies with any final action; opening keeps it alive.
    link = {} if action == "opened" else {"link_token_sha256": None}
    updates: dict[str, object] = {"status": status, "acted_at": at, **link}
    if reason is not None and action in ("rejected", "forwarded"):
        updates["reason"] = reason.strip()
    updated = participant.model_copy(update=updates)
    changed = _replace_participant(envelope, updated, at)
    if action == "rejected":
        changed = changed.model_copy(update={"status": EnvelopeStatus.REJECTED, "outcome_reason": reason})
    return changed


def forward(
    envelope: Envelope, participant_id: str, to: Person, new_participant_id: str, reason: str, at: datetime
) -> Envelope:
    """The current participant hands their place to ``to`` (same order, same language and methods,
    without the access code, which belonged to the original person).

    :raises Conflict, NotYourTurn, InvalidRequest: as :func:`act`; InvalidRequest also when ``to``
        is already a participant.
    """
    original = envelope.participant(participant_id)
    changed = act(envelope, participant_id, "forwarded", at, reason)
    newcomer = Participant(
        id=new_participant_id,
        order=original.order,
        person=to,
        language=original.language,
        auth_methods=[m for m in original.auth_methods if m != AuthMethod.ACCESS_CODE]
        or [AuthMethod.EMAIL_LINK],
        forwarded_from=participant_id,
    )
    if to.email.lower() in {p.person.email.lower() for p in envelope.signers_in_order()}:
        raise InvalidRequest(f"cannot forward to {to.email}: already a participant", field="email")
    return changed.model_copy(update={"participants": [*changed.participants, newcomer]})


def record_seal(envelope: Envelope, document_id: str, sealed_sha256: str, at: datetime) -> Envelope:
    """A new sealed version of a document became the head of its hash chain."""
    documents = [
        d.model_copy(update={"current_sha256": sealed_sha256, "seals": d.seals + 1})
        if d.id == document_id
        else d
        for d in envelope.documents
    ]
    return envelope.model_copy(update={"documents": documents, "updated_at": at})


def record_certificate(envelope: Envelope, certificate_sha256: str, at: datetime) -> Envelope:
    """The sealed agreement certificate of a completed envelope was stored.

    :raises Conflict: the envelope is not completed, or a different certificate is on record (a
        certificate, once issued, is never replaced).
    :raises InvalidRequest: ``certificate_sha256`` is not a SHA-256.
    """
    _require(envelope, EnvelopeStatus.COMPLETED)
    _require_sha256(certificate_sha256, "certificate_sha256")
    if envelope.certificate_sha256 not in (None, certificate_sha256):
        raise Conflict(f"{envelope.id} already has a certificate", status=envelope.status.value)
    return envelope.model_copy(update={"certificate_sha256": certificate_sha256, "updated_at": at})


def complete_import(envelope: Envelope, sha256: str, size: int, at: datetime) -> Envelope:
    """An imported contract's file arrived (and was timestamped): draft → completed.

    :raises Conflict: not an import, or not a draft (completed already).
    :raises InvalidRequest: not exactly one document, a size below 1, or ``sha256`` not a SHA-256.
    """
    if envelope.origin != "imported":
        raise Conflict(f"{envelope.id} is not an import", status=envelope.status.value)
    _require(envelope, EnvelopeStatus.DRAFT)
    if len(envelope.documents) != 1:
        raise InvalidRequest("an import holds exactly one document", field="documents")
    if size < 1:
        raise InvalidRequest("an imported file is not empty", field="size")
    _require_sha256(sha256, "sha256")
    document = envelope.documents[0].model_copy(
        update={"size": size, "original_sha256": sha256, "current_sha256": sha256}
    )
    completed = {"status": EnvelopeStatus.COMPLETED, "completed_at": at, "updated_at": at}
    return envelope.model_copy(update={"documents": [document], **completed})


def record_undelivered_notice(
    envelope: Envelope,
    outcome: Literal["completed", "rejected", "expired", "cancelled", "failed"],
    at: datetime,
    reason: str | None = None,
) -> Envelope:
    """The mail announcing how the envelope ended could not be delivered: say so on the envelope.

    An envelope that expired or failed is ended here when the announcement died before recording it
    (the envelope must end in a terminal state either way); the others ended before they were announced.

    :raises Conflict: ``completed``, ``rejected`` or ``cancelled`` announced for an envelope that is not.
    """
    if outcome in ("expired", "failed") and not envelope.is_terminal:
        envelope = end(envelope, outcome, at, reason)
    elif outcome in ("completed", "rejected", "cancelled") and envelope.status != EnvelopeStatus(outcome):
        raise Conflict(f"{envelope.id} is {envelope.status}, not {outcome}", status=envelope.status.value)
    return envelope.model_copy(update={"undelivered_notice": outcome, "updated_at": at})


def _require_sha256(value: str, field: str) -> None:
    if len(value) != 64 or value.strip("0123456789abcdef"):
        raise InvalidRequest(f"{field} is not a SHA-256", field=field)


def complete(envelope: Envelope, at: datetime) -> Envelope:
    """in_progress → completed, once everyone agreed.

    :raises Conflict: not in progress, or someone has not agreed.
    """
    _require(envelope, EnvelopeStatus.IN_PROGRESS)
    if envelope.current() is not None:
        raise Conflict("not every participant has agreed", status=envelope.status.value)
    return envelope.model_copy(
        update={"status": EnvelopeStatus.COMPLETED, "completed_at": at, "updated_at": at}
    )


def end(
    envelope: Envelope,
    status: Literal["cancelled", "expired", "failed"],
    at: datetime,
    reason: str | None = None,
) -> Envelope:
    """Cancel (by the sender), expire (link timeout) or fail (sealing could not continue) an envelope
    that has not ended; every link dies.

    :raises Conflict: (expiring, failing) the envelope already ended.
    :raises EnvelopeAlreadyCancelled: (cancelling) it was cancelled already.
    :raises EnvelopeAlreadyEnded: (cancelling) it ended otherwise (completed, rejected ...).
    :raises EveryoneAgreed: (cancelling) every participant has agreed.
    """
    if status == "cancelled":
        # The sender's own request: say which of these it is (a retry cannot change any of them).
        if envelope.status == EnvelopeStatus.CANCELLED:
            raise EnvelopeAlreadyCancelled(envelope.id)
        if envelope.is_terminal:
            raise EnvelopeAlreadyEnded(envelope.id, status=envelope.status.value)
        if envelope.origin == "signed" and envelope.current() is None:
            # Everyone agreed: the contract stands and is being finished (sealed, timestamped).
            # Cancelling now would throw away every party's agreement after the fact.
            raise EveryoneAgreed(envelope.id, status=envelope.status.value)
    _require(envelope, EnvelopeStatus.DRAFT, EnvelopeStatus.SENT, EnvelopeStatus.IN_PROGRESS)
    participants = [p.model_copy(update={"link_token_sha256": None}) for p in envelope.participants]
    return envelope.model_copy(
        update={
            "status": EnvelopeStatus(status),
            "participants": participants,
            "outcome_reason": reason,
            "updated_at": at,
        }
    )


EVENT_FOR_ACTION: dict[Action, EventKind] = {
    "opened": EventKind.OPENED,
    "agreed": EventKind.AGREED,
    "rejected": EventKind.REJECTED,
    "forwarded": EventKind.FORWARDED,
}


# --- drafts, correct-and-resend, reissue, automatic reminders ----------------------------------------

RESENDABLE_STATUSES = frozenset({EnvelopeStatus.REJECTED, EnvelopeStatus.EXPIRED, EnvelopeStatus.CANCELLED})
"""What a sender can correct and resend (S6, 差し戻し後の再送): an envelope that ended unsigned."""


def require_draft(envelope: Envelope) -> None:
    """:raises EnvelopeNotDraft: the envelope left the draft state (sent, or ended)."""
    if envelope.status != EnvelopeStatus.DRAFT:
        raise EnvelopeNotDraft(envelope.id, status=envelope.status.value)


def edit_draft(envelope: Envelope, changes: dict[str, object], at: datetime) -> Envelope:
    """The draft with ``changes`` (field → value of :class:`Envelope`: title, message, participants ...),
    validated as a whole (the same address twice, a title too long ...).

    :raises EnvelopeNotDraft: not a draft.
    :raises InvalidRequest: the changed envelope is not valid.
    """
    require_draft(envelope)
    data = envelope.model_dump()
    data.update(changes)
    data["updated_at"] = at
    try:
        return Envelope.model_validate(data)
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise InvalidRequest(str(e).splitlines()[0], field="envelope") from e


def require_resendable(envelope: Envelope) -> None:
    """:raises EnvelopeNotResendable: it did not end rejected, expired or cancelled (or was imported).
    :raises EnvelopeAlreadyResent: it was corrected and resent already."""
    if envelope.origin != "signed" or envelope.status not in RESENDABLE_STATUSES:
        raise EnvelopeNotResendable(envelope.id, status=envelope.status.value)
    if envelope.resent_as is not None:
        raise EnvelopeAlreadyResent(envelope.id, resent_as=envelope.resent_as)


def mark_resent(envelope: Envelope, new_envelope_id: str, at: datetime) -> Envelope:
    """Link an ended envelope to the one that corrects and resends it.

    :raises EnvelopeNotResendable, EnvelopeAlreadyResent: as :func:`require_resendable`.
    """
    require_resendable(envelope)
    return envelope.model_copy(update={"resent_as": new_envelope_id, "updated_at": at})


def reissue(envelope: Envelope, participant_id: str, token_sha256: str, at: datetime) -> Envelope:
    """The sender unlocks a participant's locked link: a fresh link (same expiry: the signing chain
    waits only that long), no wrong tries counted, every signed-in client signed out.

    :raises Conflict: the envelope is not in progress.
    :raises NotYourTurn: it is not ``participant_id``'s turn.
    :raises ParticipantNotLocked: their link is not locked (a reminder is what they need).
    :raises LinkExpired: their link's time is over (the envelope expires with it).
    """
    _require(envelope, EnvelopeStatus.IN_PROGRESS)
    participant = envelope.participant(participant_id)
    current = envelope.current()
    if current is None or current.id != participant_id or participant.status not in _ACTIVE:
        raise NotYourTurn(f"{participant_id} is not waiting for a link")
    if not participant.locked:
        raise ParticipantNotLocked(participant_id, name=participant.person.name)
    if participant.link_expires_at is None or at >= participant.link_expires_at:
        raise LinkExpired(f"{participant_id}: link expired at {participant.link_expires_at}")
    updated = participant.model_copy(
        update={"link_token_sha256": token_sha256, "failed_attempts": 0, "sessions": [], "notified_at": at}
    )
    return _replace_participant(envelope, updated, at)


def next_auto_reminder(envelope: Envelope) -> datetime | None:
    """When the participant whose turn it is gets their next automatic reminder, or None: automatic
    reminders off, nobody waiting for a link, their link locked, :data:`MAX_AUTO_REMINDERS` sent this
    turn, or the next one would fall on or after their link's deadline.

    Counted from their last mail (the link, or the last reminder of any kind), so a reminder the
    sender sent by hand pushes the next automatic one back.
    """
    every = envelope.auto_remind_every_days
    current = envelope.current()
    if every is None or envelope.status != EnvelopeStatus.IN_PROGRESS or current is None:
        return None
    if current.status not in _ACTIVE or current.locked or current.auto_reminders >= MAX_AUTO_REMINDERS:
        return None
    if current.link_expires_at is None:
        return None
    # Envelopes notified before notified_at existed: the link was issued link_validity before its expiry.
    mailed = current.notified_at or current.link_expires_at - envelope.link_validity
    if current.reminded_at is not None and current.reminded_at > mailed:
        mailed = current.reminded_at
    due = mailed + timedelta(days=every)
    return due if due < current.link_expires_at else None


def auto_remind(envelope: Envelope, token_sha256: str, at: datetime) -> tuple[Envelope, Participant]:
    """The automatic reminder due at or before ``at``: the current participant gets a fresh link (same
    expiry; the old one dies). The manual reminders' limit is not touched.

    :raises Conflict: no automatic reminder is due at ``at`` (not yet, or none any more).
    """
    due = next_auto_reminder(envelope)
    current = envelope.current()
    if due is None or due > at or current is None:
        raise Conflict(
            f"{envelope.id}: no automatic reminder due at {at.isoformat()}", status=envelope.status.value
        )
    updated = current.model_copy(
        update={
            "link_token_sha256": token_sha256,
            "auto_reminders": current.auto_reminders + 1,
            "reminded_at": at,
        }
    )
    return _replace_participant(envelope, updated, at), updated
