"""Automatic reminders (FEATURES.md S5): every N days, the participant whose turn it is gets the
reminder mail again, with a fresh link, until their link's deadline — at most
:data:`~tachiai.domain.envelope.MAX_AUTO_REMINDERS` per turn, never to a locked link, default off.

The hourly schedule (EventBridge in the cloud, :mod:`tachiai.local.schedule` locally) runs
:func:`send_due_reminders`. The due envelopes come from one query of an index the envelope store keeps
on every save (:meth:`~tachiai.services.ports.EnvelopeStore.due_reminders`), never a scan. A reminder
is sent once per due time: the envelope is read again, the reminder is recorded with a conditional
write on the version it was read at, and only then mailed — a second run (the schedule firing twice,
or two runs at once) finds the next reminder not yet due, or loses the write and skips.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditKind
from tachiai.domain.errors import Conflict, NotFound, TachiaiError
from tachiai.domain.storage import LinkRecord
from tachiai.domain.tokens import new_link_token
from tachiai.services import mails
from tachiai.services.context import Services

logger = logging.getLogger(__name__)

SYSTEM = "system"
BATCH = 100
"""Envelopes handled per run; more wait for the next hour (the query returns the earliest first)."""


def send_due_reminders(svc: Services, now: datetime | None = None) -> dict[str, Any]:
    """Send every automatic reminder due at ``now`` (default: the clock): what was sent.

    A reminder whose mail fails is logged and counted, not retried (the next one is due in N days;
    the sender sees the reminder count on the envelope).

    :raises StorageUnavailable: the query of due envelopes failed (the schedule runs again).
    """
    at = now or svc.now()
    sent: list[dict[str, str]] = []
    skipped = 0
    failed = 0
    for envelope_id in svc.envelopes.due_reminders(at, BATCH):
        try:
            reminded = remind_if_due(svc, envelope_id, at)
        except TachiaiError:  # one envelope's failure (its mail refused ...) must not stop the others
            logger.exception("automatic reminder failed", extra={"envelope": envelope_id})
            failed += 1
            continue
        if reminded is None:
            skipped += 1
        else:
            sent.append({"envelope": envelope_id, "participant": reminded})
    return {"at": at.isoformat(), "sent": sent, "skipped": skipped, "failed": failed}


def remind_if_due(svc: Services, envelope_id: str, at: datetime) -> str | None:
    """Remind the envelope's current participant if their automatic reminder is due at ``at``: the
    participant reminded, or None (not due: already sent, the turn moved, the envelope ended or was
    deleted, the link locked, the bound reached — or another run won the write).

    :raises TachiaiError: the mail failed (the reminder is recorded: it is not sent twice).
    """
    try:
        envelope = svc.envelopes.get(envelope_id)
    except NotFound:
        return None
    due = rules.next_auto_reminder(envelope)
    if due is None or due > at:
        return None
    token, token_sha256 = new_link_token()
    changed, participant = rules.auto_remind(envelope, token_sha256, at)
    changed, entry = changed.audited(
        AuditKind.PARTICIPANT_REMINDED,
        SYSTEM,
        at,
        {
            "participant": participant.id,
            "automatic": True,
            "due": due.isoformat(),
            "auto_reminders": participant.auto_reminders,
        },
    )
    assert participant.link_expires_at is not None  # a reminder is due only before the deadline
    link = LinkRecord(token_sha256, envelope_id, participant.id, participant.link_expires_at)
    try:
        stored = svc.envelopes.save(changed, [entry], links_added=[link])
    except Conflict:
        return None  # changed meanwhile (another run reminded them, or they acted): next hour decides
    svc.mailer.send(mails.signing_request_mail(svc, stored, participant, token, is_reminder=True))
    return participant.id
