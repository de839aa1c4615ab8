"""The send function: the sender REST API, and the signing chain's tasks that mail people."""

from __future__ import annotations

from typing import Any

from tachiai.api.sender import build_sender_app
from tachiai.domain.errors import InvalidRequest
from tachiai.services import workflow
from tachiai.services.context import services

app = build_sender_app()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = event.get("task")
    if task is None:
        return app.resolve(event, context)
    if task == "notify":
        return workflow.notify(services(), event["envelopeId"], event["participantId"], event["taskToken"])
    if task == "announce":
        return workflow.announce(services(), event["envelopeId"], event["outcome"], event.get("error"))
    raise InvalidRequest(f"unknown task {task!r}", field="task")
