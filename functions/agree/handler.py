"""The agree function: the recipient's link — the signing page, open, documents, agree, reject, forward."""

from __future__ import annotations

from typing import Any

from tachiai import cold_start, observability  # cold_start first: no garbage collection while this loads
from tachiai.api.recipient import build_recipient_app

app = build_recipient_app()
cold_start.finished()


@observability.lambda_handler("agree")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
