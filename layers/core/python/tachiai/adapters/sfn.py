"""The signing chain's Step Functions execution: start it (named after the envelope), resume it.

A waiting ``Notify`` task is resumed with ``SendTaskSuccess`` (agree, forward) or ``SendTaskFailure``
with an error name the state machine routes on (``Rejected``, ``Cancelled``). Cancelling uses
``SendTaskFailure`` rather than ``StopExecution``, which would skip the cancellation mail (and which
moto's interpreter does not apply to a waiting task).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.domain.errors import (
    Conflict,
    TachiaiError,
    WorkflowUnavailable,
)
from tachiai.domain.tasks import CANCELLED as CANCELLED
from tachiai.domain.tasks import REJECTED as REJECTED

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def _translate(error: ClientError | BotoCoreError, what: str) -> TachiaiError:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ExecutionAlreadyExists", "TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            return Conflict(f"{what}: {code}")
        return WorkflowUnavailable(f"{what}: {code}")
    return WorkflowUnavailable(f"{what}: {type(error).__name__}")


class SigningChain:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, envelope_id: str, execution_input: dict[str, Any]) -> str:
        """Start the chain for an envelope; the execution is named after it, so it starts once.

        :raises Conflict: an execution for this envelope already exists.
        """
        try:
            response = self._client.start_execution(
                stateMachineArn=self._arn, name=envelope_id, input=json.dumps(execution_input)
            )
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, f"start chain for {envelope_id}") from e
        return response["executionArn"]

    def resume(self, task_token: str, output: dict[str, Any]) -> None:
        """The waiting participant acted (agreed or forwarded).

        :raises Conflict: the task is gone (timed out, already resumed).
        """
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, "resume chain") from e

    def fail(self, task_token: str, error: str, cause: str) -> None:
        """End the wait with ``error`` (``Rejected`` or ``Cancelled``) and a human ``cause``.

        :raises Conflict: the task is gone (timed out, already resumed).
        """
        try:
            self._client.send_task_failure(taskToken=task_token, error=error, cause=cause[:32768])
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, f"fail chain with {error}") from e
