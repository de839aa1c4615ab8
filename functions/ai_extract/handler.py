"""The contract ledger's function: extract an envelope's metadata (the chain's Extract step and an
import's extraction), and the daily deadline alerts (the EventBridge schedule's ``{"task": "alerts"}``).

Extraction raises typed errors (the chain's Retry/Catch match them; its Catch lets the envelope complete
anyway). The alerts answer with what they sent.
"""

from __future__ import annotations

from typing import Any

from tachiai import cold_start, observability  # cold_start first: no garbage collection while this loads
from tachiai.domain.tasks import EXTRACT_TASKS, ExtractTask, parse_task
from tachiai.services import ledger
from tachiai.services.context import Services, services

cold_start.finished()


@observability.lambda_handler("ai_extract")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(services(), event)


def run(svc: Services, event: object) -> dict[str, Any]:
    """One task event of the extract function, on ``svc``. :raises InvalidRequest: a malformed event."""
    task = parse_task(EXTRACT_TASKS, event)
    observability.bind_envelope(getattr(task, "envelope_id", None))
    if isinstance(task, ExtractTask):
        return ledger.extract_envelope(svc, task.envelope_id)
    # "today" only when someone runs the alerts for another day (the local runtime); the schedule
    # sends none.
    return ledger.send_deadline_alerts(svc, ledger.alerts_day(task.today))
