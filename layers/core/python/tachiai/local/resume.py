"""Starting the signing chains again after ``tachiai local`` restarts.

A Step Functions execution lives in moto's interpreter threads, which a restart ends; the envelope
(restored with the table, :mod:`tachiai.local.persistence`) knows how far it got. For every envelope
still under way, :func:`resume_plan` finds the first participant whose step is not finished and the
runtime starts the same state machine for the participants from there on:

* their turn, link mailed (``notified``/``opened``): the chain's ``Notify`` for them does not run the
  send function (which would mail a second link) — :class:`ChainResumer` only stores the new task
  token where the agree/reject/forward routes look for it; the mailed link keeps working;
* they agreed or forwarded, but the seal of that did not happen before the stop: the same, and the
  recorded answer is handed to the task at once, so ``Seal`` runs as it would have;
* not notified yet (the stop came between the previous seal and their ``Notify``): ``Notify`` runs
  as usual;
* everyone sealed, not completed: an empty participant list, so the chain goes straight to
  ``Finalize``.

The resumed task waits the envelope's whole link validity again (the link itself still expires when
it was due: the recipient routes check it); only the ``expired`` mail can come later than in an
uninterrupted run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tachiai.domain.envelope import Envelope, EnvelopeStatus, ParticipantStatus, event_key
from tachiai.domain.events import EventKind

if TYPE_CHECKING:
    from tachiai.adapters.dynamodb import EnvelopeRepository
    from tachiai.local.lambda_dispatch import LocalFunction

__all__ = ["ChainResumer", "ResumePlan", "resume_plan"]

logger = logging.getLogger(__name__)

_UNDER_WAY: Final = frozenset({EnvelopeStatus.SENT, EnvelopeStatus.IN_PROGRESS})
_ANSWER_ATTEMPTS: Final = 100


@dataclass(frozen=True)
class ResumePlan:
    """How to start an envelope's chain again."""

    participant_ids: list[str]
    """The execution input's ``participantIds``: the unfinished participant, then everyone after."""
    waiting: dict[str, dict[str, str] | None] = field(default_factory=dict)
    """Participants whose ``Notify`` only stores the task token; with their recorded answer, if any."""


def resume_plan(envelope: Envelope) -> ResumePlan | None:
    """Where ``envelope``'s chain stands, or ``None`` when it has no chain to resume."""
    if envelope.status not in _UNDER_WAY:
        return None
    sealed = set(envelope.sealed_events)
    # Stable sort: a forwarder stays before the newcomer who took their place (same order).
    for participant in sorted(envelope.participants, key=lambda p: p.order):
        answer: dict[str, str] | None
        if participant.status == ParticipantStatus.FORWARDED:
            if event_key(EventKind.FORWARDED, participant.id) in sealed:
                continue
            newcomer = next(p for p in envelope.participants if p.forwarded_from == participant.id)
            answer = {"outcome": "forwarded", "participantId": participant.id, "forwardedTo": newcomer.id}
        elif participant.status == ParticipantStatus.AGREED:
            if event_key(EventKind.AGREED, participant.id) in sealed:
                continue
            answer = {"outcome": "agreed", "participantId": participant.id}
        elif participant.status in (ParticipantStatus.NOTIFIED, ParticipantStatus.OPENED):
            answer = None
        elif participant.status == ParticipantStatus.WAITING:
            later = [p.id for p in envelope.signers_in_order() if p.order > participant.order]
            return ResumePlan([participant.id, *later])
        else:  # rejected: the envelope ended with it
            return None
        later = [p.id for p in envelope.signers_in_order() if p.order > participant.order]
        return ResumePlan([participant.id, *later], {participant.id: answer})
    return ResumePlan([])


class ChainResumer:
    """The Lambda interceptor of resumed chains (:meth:`LambdaDispatcher.intercept`).

    ``send_function``: the name of the function ``Notify`` invokes. ``envelopes``: where task tokens
    are kept. ``answer(token, output)``: ``SendTaskSuccess``.
    """

    def __init__(
        self,
        send_function: str,
        envelopes: Callable[[], EnvelopeRepository],
        answer: Callable[[str, dict[str, str]], None],
    ) -> None:
        self._send_function = send_function
        self._envelopes = envelopes
        self._answer = answer
        self._pending: dict[tuple[str, str], dict[str, str] | None] = {}
        self._lock = threading.Lock()

    def expect(self, envelope_id: str, plan: ResumePlan) -> None:
        """The next ``Notify`` of these participants of ``envelope_id`` resumes, not notifies."""
        with self._lock:
            for participant_id, answer in plan.waiting.items():
                self._pending[(envelope_id, participant_id)] = answer

    def __call__(self, function: LocalFunction, event: Any) -> dict[str, Any] | None:
        if (
            function.name != self._send_function
            or not isinstance(event, dict)
            or event.get("task") != "notify"
        ):
            return None
        key = (str(event.get("envelopeId")), str(event.get("participantId")))
        with self._lock:
            if key not in self._pending:
                return None
            answer = self._pending.pop(key)
        token = str(event["taskToken"])
        self._envelopes().put_task_token(key[0], key[1], token)
        if answer is not None:
            threading.Thread(
                target=self._hand_over, args=(token, answer), name="tachiai-local-resume", daemon=True
            ).start()
        return {"notified": key[1], "resumed": "true"}

    def _hand_over(self, token: str, answer: dict[str, str]) -> None:
        # The task starts waiting for its token once this invocation has returned.
        for _ in range(_ANSWER_ATTEMPTS):
            try:
                self._answer(token, answer)
                return
            except Exception:  # noqa: BLE001 - not waiting yet (InvalidToken); a lasting failure is logged below
                time.sleep(0.05)
        logger.error("could not hand a recorded answer to a resumed chain: %s", answer)
