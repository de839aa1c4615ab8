"""The send function: the sender REST API, and the signing chain's tasks that mail people (an event with
a ``task``, parsed as :data:`tachiai.domain.tasks.SEND_TASKS`; a malformed one raises InvalidRequest)."""

from __future__ import annotations

from typing import Any

from tachiai import cold_start, observability  # cold_start first: no garbage collection while this loads
from tachiai.api.sender import build_sender_app
from tachiai.domain.tasks import (
    SEND_TASKS,
    AnnounceTask,
    NotifyTask,
    RecordedAnswerTask,
    RemindersTask,
    parse_task,
)
from tachiai.services import reminders, workflow
from tachiai.services.context import Services, services

app = build_sender_app()
cold_start.finished()


@observability.lambda_handler("send")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("task") is None:
        return app.resolve(event, context)
    return run(services(), event)


def run(svc: Services, event: object) -> dict[str, Any]:
    """One chain task of the send function, on ``svc``. :raises InvalidRequest: a malformed event."""
    task = parse_task(SEND_TASKS, event)
    observability.bind_envelope(getattr(task, "envelope_id", None))
    if isinstance(task, NotifyTask):
        return workflow.notify(svc, task.envelope_id, task.participant_id, task.task_token)
    if isinstance(task, RecordedAnswerTask):
        return workflow.recorded_answer(svc, task.envelope_id, task.participant_id)
    if isinstance(task, RemindersTask):
        return reminders.send_due_reminders(svc, task.now)
    if isinstance(task, AnnounceTask):
        return workflow.announce(svc, task.envelope_id, task.outcome, task.error)
    return workflow.notice_undelivered(svc, task.envelope_id, task.outcome, task.error)
