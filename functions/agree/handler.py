"""The agree function: the recipient's link — the signing page, open, documents, agree, reject, forward."""

from __future__ import annotations

from typing import Any

from tachiai.api.recipient import build_recipient_app

app = build_recipient_app()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
