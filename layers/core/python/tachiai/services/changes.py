"""Saving a change computed from an envelope, again from a fresh read when someone changed it first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tachiai.domain.audit import AuditEntry
from tachiai.domain.envelope import Envelope
from tachiai.domain.errors import Conflict
from tachiai.services.context import Services

Change = Callable[[Envelope], tuple[Envelope, Sequence[AuditEntry]]]
"""The envelope as read → the envelope to store and its new audit entries."""


def save_change(svc: Services, envelope: Envelope, change: Change, attempts: int = 3) -> Envelope:
    """Apply ``change`` to ``envelope`` and save it; on a concurrent change, re-read and apply again.
    A change with no audit entry changed nothing: the envelope is returned as read, nothing written.

    :raises Conflict: still losing the race after ``attempts`` tries.
    """
    for attempt in range(attempts):
        changed, entries = change(envelope)
        if not entries:
            return envelope
        try:
            return svc.envelopes.save(changed, entries)
        except Conflict:
            if attempt == attempts - 1:
                raise
            envelope = svc.envelopes.get(envelope.id)
    raise AssertionError("attempts must be at least 1")
