"""Lambda invocations between tachiai's own functions: synchronous calls, and asynchronous starts.

The send API asks the seal function to prepare documents (preflight + the "sent" seal) and waits for
the answer, so the send function itself never loads the PDF libraries. A typed failure travels as data
(:meth:`TachiaiError.report` in the result), so the caller re-raises exactly the error the callee
raised — a 400 "this PDF is encrypted" stays a 400 with its Japanese and English message.

Work that may outlive an API request (an import's extraction: Bedrock can take a minute, API Gateway
answers within 29 seconds) is started instead (:meth:`FunctionInvoker.start`, ``InvocationType=Event``):
Lambda queues the event, retries a failed run and hands the last failure to the function's on-failure
destination (the ledger's failures queue, ``infra/constructs/ledger.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.domain.errors import FunctionUnavailable, error_from_report

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class FunctionInvoker:
    def __init__(self, client: LambdaClient) -> None:
        self._client = client

    def call(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Invoke ``function`` and return its result.

        :raises TachiaiError: the error the function reported (``{"error": report}`` in its result).
        :raises FunctionUnavailable: the invoke failed, or the function crashed.
        """
        try:
            response = self._client.invoke(
                FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
        except (ClientError, BotoCoreError) as e:
            raise FunctionUnavailable(f"invoke {function}: {e}") from e
        body = response["Payload"].read()
        try:
            result = json.loads(body or b"null")
        except ValueError as e:
            raise FunctionUnavailable(f"{function} answered with non-JSON") from e
        if response.get("FunctionError"):
            kind = result.get("errorType", "?") if isinstance(result, dict) else "?"
            raise FunctionUnavailable(f"{function} failed: {kind}")
        if not isinstance(result, dict):
            raise FunctionUnavailable(f"{function} answered {type(result).__name__}")
        if "error" in result:
            raise error_from_report(result["error"])
        return result

    def start(self, function: str, payload: dict[str, Any]) -> None:
        """Hand ``payload`` to ``function`` to run on its own (an asynchronous invocation); returns once
        Lambda has queued it. What the run does (or how it fails) is the function's to record.

        :raises FunctionUnavailable: Lambda did not accept the event.
        """
        try:
            response = self._client.invoke(
                FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode()
            )
        except (ClientError, BotoCoreError) as e:
            raise FunctionUnavailable(f"invoke {function} (event): {e}") from e
        if response.get("StatusCode") != 202:
            raise FunctionUnavailable(f"invoke {function} (event): status {response.get('StatusCode')}")
