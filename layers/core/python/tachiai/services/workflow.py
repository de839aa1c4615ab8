"""The signing chain's tasks that talk to people: notify whoever's turn it is, announce the outcome.

The state machine (``infra/statemachine/signing_chain.asl.json``) calls these through the send
function. :func:`notify` runs as a ``waitForTaskToken`` task: it stores the task token beside the
participant, issues a fresh random link (the token in the mail is never the task token) and mails it;
the execution then waits until the participant agrees, rejects or forwards — or the link expires.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Literal

from tachiai.adapters.dynamodb import LinkRecord
from tachiai.domain import envelope as rules
from tachiai.domain.envelope import Envelope, EnvelopeStatus
from tachiai.domain.errors import Conflict, EnvelopeCancelled, EnvelopeClosed
from tachiai.domain.tokens import new_link_token
from tachiai.mail.templates import MailMessage
from tachiai.services import mails
from tachiai.services.context import Services

logger = logging.getLogger(__name__)

Outcome = Literal["completed", "rejected", "expired", "cancelled", "failed"]
SYSTEM = "system"


def notify(svc: Services, envelope_id: str, participant_id: str, task_token: str) -> dict[str, str]:
    """It is ``participant_id``'s turn: link, task token, mail.

    :raises EnvelopeCancelled: the sender cancelled while the chain was between steps.
    :raises EnvelopeClosed: the envelope ended otherwise.
    :raises NotYourTurn: the chain and the envelope disagree about whose turn it is.
    """
    envelope = svc.envelopes.get(envelope_id)
    if envelope.status == EnvelopeStatus.CANCELLED:
        raise EnvelopeCancelled(envelope_id)
    if envelope.is_terminal:
        raise EnvelopeClosed(f"{envelope_id} is {envelope.status}")
    now = svc.now()
    token, token_sha256 = new_link_token()
    changed = rules.issue_link(envelope, participant_id, token_sha256, now)
    participant = changed.participant(participant_id)
    assert participant.link_expires_at is not None
    changed, entry = changed.audited(
        "participant.notified",
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


def announce(
    svc: Services, envelope_id: str, outcome: Outcome, error: dict[str, str] | None = None
) -> dict[str, str]:
    """Tell the right people how the envelope ended, recording the end where the chain decides it
    (expiry, failure); rejection, cancellation and completion were recorded when they happened.
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
                "envelope.expired", SYSTEM, now, {"participant": expired.id if expired else None}
            )
            envelope = svc.envelopes.save(changed, [entry])
        messages = mails.expired_mails(svc, envelope, expired, now) if expired else []
    else:
        code = _error_code(error)
        if not envelope.is_terminal:
            changed, entry = rules.end(envelope, "failed", now, code).audited(
                "envelope.failed", SYSTEM, now, {"error": code}
            )
            envelope = svc.envelopes.save(changed, [entry])
        messages = [mails.failed_mail(svc, envelope, code, now)]
    for message in messages:
        svc.mailer.send(message)
    logger.info("announced", extra={"envelope": envelope_id, "outcome": outcome, "mails": len(messages)})
    return {"outcome": outcome, "mails": str(len(messages))}


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
        "envelope.completion_mailed",
        SYSTEM,
        now,
        {"parties": len(parties), "links_expire_at": expires_at.isoformat()},
    )
    stored = svc.envelopes.save(changed, [entry], links_added=records)
    return stored, mails.completion_mails(svc, stored, urls, expires_at)


def _error_code(error: dict[str, str] | None) -> str:
    """The failing error's name from the state machine's ``$.error`` (``Error``/``Cause``)."""
    if not error:
        return "unknown"
    cause = error.get("Cause") or ""
    # A Lambda error's Cause is the runtime's JSON error payload; its errorType is our class name.
    try:
        payload = json.loads(cause)
        if isinstance(payload, dict) and payload.get("errorType"):
            return str(payload["errorType"])
    except ValueError:
        pass
    return error.get("Error") or "unknown"
