"""The contract ledger's function: extract an envelope's metadata (the chain's Extract step and an
import's extraction), and the daily deadline alerts (the EventBridge schedule's ``{"task": "alerts"}``).

Extraction raises typed errors (the chain's Retry/Catch match them; its Catch lets the envelope complete
anyway). The alerts answer with what they sent.
"""

from __future__ import annotations

from typing import Any

from tachiai.domain.errors import InvalidRequest
from tachiai.services import ledger
from tachiai.services.context import services


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = event.get("task")
    if task == "extract":
        return ledger.extract_envelope(services(), event.get("envelopeId", ""))
    if task == "alerts":
        # "today" only when someone runs the alerts for another day (the local runtime); the schedule
        # sends none.
        return ledger.send_deadline_alerts(services(), ledger.alerts_day(event.get("today")))
    raise InvalidRequest(f"unknown task {task!r}", field="task")
