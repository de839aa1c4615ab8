"""The seal function: prepare documents (for the send API), seal each event, finalize (for the chain),
timestamp an imported contract (for the import API), and verify a completed envelope's files (the
signature panel of the console).

Chain tasks raise: Step Functions retries and routes on the error's class name. ``prepare``,
``preflight``, ``timestamp_import`` and ``verify`` are called synchronously by the send function and
answer a typed failure as data, so the caller can re-raise it exactly.
"""

from __future__ import annotations

from typing import Any

from tachiai import cold_start, observability  # cold_start first: no garbage collection while this loads
from tachiai.domain.errors import TachiaiError
from tachiai.domain.tasks import (
    SEAL_TASKS,
    FinalizeTask,
    PreflightTask,
    PrepareTask,
    SealTask,
    VerifyTask,
    parse_task,
)
from tachiai.services import sealing_tasks, signature_panel
from tachiai.services.context import Services, services

cold_start.finished()


# Traced: its KMS, TSA and S3 calls are the expensive ones (the X-Ray SDK is loaded here only).
@observability.lambda_handler("seal", tracing=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(services(), event)


def run(svc: Services, event: object) -> dict[str, Any]:
    """One task event of the seal function, on ``svc``. :raises InvalidRequest: a malformed event."""
    task = parse_task(SEAL_TASKS, event)
    observability.bind_envelope(getattr(task, "envelope_id", None))
    if isinstance(task, PrepareTask):
        try:
            return sealing_tasks.prepare(svc, task.envelope_id)
        except TachiaiError as e:
            return {"error": e.report()}
    if isinstance(task, SealTask):
        return sealing_tasks.seal(svc, task.envelope_id, task.answer)
    if isinstance(task, FinalizeTask):
        return sealing_tasks.finalize(svc, task.envelope_id)
    if isinstance(task, PreflightTask):
        try:
            return sealing_tasks.preflight_stored(svc, task.key)
        except TachiaiError as e:
            return {"error": e.report()}
    if isinstance(task, VerifyTask):
        try:
            return signature_panel.verify_envelope(svc, task.envelope_id).model_dump(mode="json")
        except TachiaiError as e:
            return {"error": e.report()}
    try:
        return sealing_tasks.timestamp_import(svc, task.envelope_id, task.document_id)
    except TachiaiError as e:
        return {"error": e.report()}
