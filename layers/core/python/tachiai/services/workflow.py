"""The signing chain's tasks that talk to people: notify whoever's turn it is, announce the outcome.

The state machine (``infra/statemachine/signing_chain.asl.json``) calls these through the send
function. :func:`notify` runs as a ``waitForTaskToken`` task: it stores the task token beside the
participant, issues a fresh random link (the token in the mail is never the task token) and mails it;
the execution then waits until the participant agrees, rejects or forwards — or the link expires,
when :func:`recorded_answer` looks whether they answered after all (resuming the chain can fail after
the answer was recorded: the answer is on the envelope, so it is not lost). :func:`announce` mails the
outcome; when that mail cannot be delivered, :func:`notice_undelivered` records it on the envelope.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from tachiai import observability
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditEntry, AuditKind
from tachiai.domain.envelope import Envelope, EnvelopeStatus, ParticipantStatus
from tachiai.domain.errors import (
    Conflict,
    EnvelopeCancelled,
    EnvelopeClosed,
    EnvelopeRejected,
    LinkExpired,
    MailError,
    MailServiceThrottled,
)
from tachiai.domain.storage import LinkRecord
from tachiai.domain.tasks import Outcome, ParticipantAnswer, StepError
from tachiai.domain.tokens import new_link_token
from tachiai.mail.templates import MailMessage
from tachiai.services import mails
from tachiai.services.changes import save_change
from tachiai.services.context import Services

logger = logging.getLogger(__name__)

SYSTEM = "system"


def notify(svc: Services, envelope_id: str, participant_id: str, task_token: str) -> dict[str, str]:
    """It is ``participant_id``'s turn: link, task token, mail — or, when the envelope already records
    their answer, the answer at once (a retried or repeated Notify).

    :raises EnvelopeCancelled: the sender cancelled while the chain was between steps.
    :raises EnvelopeRejected: someone rejected (and the chain did not hear of it).
    :raises EnvelopeClosed: the envelope ended otherwise.
    :raises NotYourTurn: the chain and the envelope disagree about whose turn it is.
    """
    envelope = svc.envelopes.get(envelope_id)
    _require_open(envelope)
    answer = recorded_answer_of(envelope, participant_id)
    if answer is not None:
        # The chain is behind the envelope: this participant already answered, but the answer never
        # reached a waiting task (the agree request resumed a task that a retry of this Notify had
        # replaced). Answering this task with the recorded answer carries the agreement on.
        svc.chain.resume(task_token, answer.payload())
        logger.info("answer on record", extra={"envelope": envelope_id, "participant": participant_id})
        return {"resumed": participant_id}
    now = svc.now()
    token, token_sha256 = new_link_token()
    changed = rules.issue_link(envelope, participant_id, token_sha256, now)
    participant = changed.participant(participant_id)
    assert participant.link_expires_at is not None
    changed, entry = changed.audited(
        AuditKind.PARTICIPANT_NOTIFIED,
        SYSTEM,
        now,
        {
            "participant": participant_id,
            "email": participant.person.email,
            "expires_at": participant.link_expires_at.isoformat(),
        },
    )
    svc.envelopes.put_task_token(envelope_id, participant_id, task_token)
    link = LinkRecord(token_sha256, envelope_id, participant_id, participant.link_expires_at)
    stored = svc.envelopes.save(changed, [entry], links_added=[link])
    if participant.forwarded_from:
        svc.mailer.send(mails.forwarded_mail(svc, stored, participant))
    svc.mailer.send(mails.signing_request_mail(svc, stored, participant, token))
    return {"notified": participant_id}


def _require_open(envelope: Envelope) -> None:
    if envelope.status == EnvelopeStatus.CANCELLED:
        raise EnvelopeCancelled(envelope.id)
    if envelope.status == EnvelopeStatus.REJECTED:
        raise EnvelopeRejected(envelope.id)
    if envelope.is_terminal:
        raise EnvelopeClosed(f"{envelope.id} is {envelope.status}")


def recorded_answer_of(envelope: Envelope, participant_id: str) -> ParticipantAnswer | None:
    """What ``participant_id`` answered, as the chain expects it, if they agreed or forwarded.

    :raises InvalidRequest: no such participant.
    """
    participant = envelope.participant(participant_id)
    if participant.status == ParticipantStatus.AGREED:
        return ParticipantAnswer(outcome="agreed", participant_id=participant_id)
    if participant.status == ParticipantStatus.FORWARDED:
        newcomer = next((p for p in envelope.participants if p.forwarded_from == participant_id), None)
        if newcomer is not None:
            return ParticipantAnswer(
                outcome="forwarded", participant_id=participant_id, forwarded_to=newcomer.id
            )
    return None


def recorded_answer(svc: Services, envelope_id: str, participant_id: str) -> dict[str, str | None]:
    """The wait for ``participant_id`` timed out: their answer if the envelope records one (it was
    given, but resuming the chain failed), else the link expired.

    :raises LinkExpired: they did not answer in time.
    :raises EnvelopeCancelled / EnvelopeRejected / EnvelopeClosed: the envelope ended meanwhile.
    """
    envelope = svc.envelopes.get(envelope_id)
    _require_open(envelope)
    answer = recorded_answer_of(envelope, participant_id)
    if answer is None:
        raise LinkExpired(f"{envelope_id}/{participant_id}")
    logger.info("answer found after the wait", extra={"envelope": envelope_id, "participant": participant_id})
    # Every field, forwardedTo null included: the state's ResultSelector names each one.
    return answer.model_dump(mode="json", by_alias=True)


def announce(
    svc: Services, envelope_id: str, outcome: Outcome, error: StepError | None = None
) -> dict[str, str]:
    """Tell the right people how the envelope ended, recording the end where the chain decides it
    (expiry, failure); rejection, cancellation and completion were recorded when they happened.

    Every mail is tried even when one fails, so one refused address does not silence the others.

    :raises MailServiceThrottled: a mail may go through later (the chain retries the announcement).
    :raises MailError: a mail was refused for good (the chain records the notice as undelivered).
    """
    envelope = svc.envelopes.get(envelope_id)
    now = svc.now()
    messages: list[MailMessage]
    if outcome == "completed":
        envelope, messages = _completion(svc, envelope)
    elif outcome == "rejected":
        messages = [mails.rejected_mail(svc, envelope)]
    elif outcome == "cancelled":
        messages = mails.cancelled_mails(svc, envelope, envelope.updated_at)
    elif outcome == "expired":
        expired = envelope.current()
        if not envelope.is_terminal:
            changed, entry = rules.end(envelope, "expired", now).audited(
                AuditKind.ENVELOPE_EXPIRED, SYSTEM, now, {"participant": expired.id if expired else None}
            )
            envelope = svc.envelopes.save(changed, [entry])
            observability.count(observability.Metric.ENVELOPES_EXPIRED)
        messages = mails.expired_mails(svc, envelope, expired, now) if expired else []
    else:
        code = _error_code(error)
        if not envelope.is_terminal:
            changed, entry = rules.end(envelope, "failed", now, code).audited(
                AuditKind.ENVELOPE_FAILED, SYSTEM, now, {"error": code}
            )
            envelope = svc.envelopes.save(changed, [entry])
        messages = [mails.failed_mail(svc, envelope, code, now)]
    failures: list[MailError] = []
    for message in messages:
        try:
            svc.mailer.send(message)
        except MailError as e:
            logger.warning("announcement not sent", extra={"envelope": envelope_id, "error": e.code})
            failures.append(e)
    if failures:
        # A passing failure first: the retry may deliver everything; a permanent one ends in the Catch.
        raise next((e for e in failures if isinstance(e, MailServiceThrottled)), failures[0])
    logger.info("announced", extra={"envelope": envelope_id, "outcome": outcome, "mails": len(messages)})
    return {"outcome": outcome, "mails": str(len(messages))}


def notice_undelivered(
    svc: Services, envelope_id: str, outcome: Outcome, error: StepError | None = None
) -> dict[str, str]:
    """The announcement of ``outcome`` could not be mailed: record it on the envelope (its status and
    ``undelivered_notice``, shown by ``GET /v1/envelopes/{id}``, and an audit entry), ending an envelope
    the announcement did not get to end. Recording the same notice again changes nothing.

    :raises Conflict: the envelope does not have that outcome.
    """
    code = _error_code(error)

    def change(envelope: Envelope) -> tuple[Envelope, list[AuditEntry]]:
        if envelope.undelivered_notice == outcome:
            return envelope, []
        now = svc.now()
        changed = rules.record_undelivered_notice(envelope, outcome, now, code)
        changed, entry = changed.audited(
            AuditKind.ENVELOPE_NOTICE_UNDELIVERED, SYSTEM, now, {"outcome": outcome, "error": code}
        )
        return changed, [entry]

    stored = save_change(svc, svc.envelopes.get(envelope_id), change)
    logger.warning(
        "announcement undelivered", extra={"envelope": envelope_id, "outcome": outcome, "error": code}
    )
    return {"outcome": outcome, "status": stored.status.value}


def _completion(svc: Services, envelope: Envelope) -> tuple[Envelope, list[MailMessage]]:
    """Each party gets their own download link (the signing links died with each agreement)."""
    if envelope.status != EnvelopeStatus.COMPLETED:
        raise Conflict(f"{envelope.id} is {envelope.status}, not completed", status=envelope.status.value)
    now = svc.now()
    expires_at = now + timedelta(days=svc.settings.download_link_days)
    records, urls = [], {}
    parties = mails.completion_parties(envelope)
    for person, _ in parties:
        token, token_sha256 = new_link_token()
        owner = next(
            (p.id for p in envelope.signers_in_order() if p.person.email.lower() == person.email.lower()),
            "sender",
        )
        records.append(LinkRecord(token_sha256, envelope.id, owner, expires_at, purpose="download"))
        urls[person.email.lower()] = svc.link_url(token)
    changed, entry = envelope.audited(
        AuditKind.ENVELOPE_COMPLETION_MAILED,
        SYSTEM,
        now,
        {"parties": len(parties), "links_expire_at": expires_at.isoformat()},
    )
    stored = svc.envelopes.save(changed, [entry], links_added=records)
    return stored, mails.completion_mails(svc, stored, urls, expires_at)


def _error_code(error: StepError | None) -> str:
    """The failing error's name from the state machine's ``$.error`` (``Error``/``Cause``)."""
    if error is None:
        return "unknown"
    cause = error.cause or ""
    # A Lambda error's Cause is the runtime's JSON error payload; its errorType is our class name.
    try:
        payload = json.loads(cause)
        if isinstance(payload, dict) and payload.get("errorType"):
            return str(payload["errorType"])
    except ValueError:
        pass
    return error.error or "unknown"
