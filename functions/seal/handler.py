"""The seal function: prepare documents (for the send API), seal each event, finalize (for the chain),
and timestamp an imported contract (for the import API).

Chain tasks raise: Step Functions retries and routes on the error's class name. ``prepare`` and
``timestamp_import`` are called synchronously by the send API and answer a typed failure as data,
so the API can re-raise it exactly.
"""

from __future__ import annotations

from typing import Any

from tachiai.domain.errors import InvalidRequest, TachiaiError
from tachiai.services import sealing_tasks
from tachiai.services.context import services


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task, envelope_id = event.get("task"), event.get("envelopeId", "")
    if task == "prepare":
        try:
            return sealing_tasks.prepare(services(), envelope_id)
        except TachiaiError as e:
            return {"error": e.report()}
    if task == "seal":
        return sealing_tasks.seal(services(), envelope_id, event["answer"])
    if task == "finalize":
        return sealing_tasks.finalize(services(), envelope_id)
    if task == "timestamp_import":
        try:
            return sealing_tasks.timestamp_import(services(), envelope_id, event.get("documentId", ""))
        except TachiaiError as e:
            return {"error": e.report()}
    raise InvalidRequest(f"unknown task {task!r}", field="task")
