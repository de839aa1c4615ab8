"""Binding the shared route table to a Powertools resolver."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from tachiai.domain.errors import TachiaiError
from tachiai.names import ROUTES, FunctionName

logger = logging.getLogger(__name__)

RouteKey = tuple[str, str]
"""(method, path as in the route table)."""


def powertools_path(path: str) -> str:
    """``/v1/envelopes/{envelope_id}`` (API Gateway) → ``/v1/envelopes/<envelope_id>`` (Powertools)."""
    return path.replace("{", "<").replace("}", ">")


def register_routes(
    app: BaseRouter, function: FunctionName, handlers: Mapping[RouteKey, Callable[..., Any]]
) -> None:
    """Register ``handlers`` for exactly the routes the table gives ``function``.

    :raises LookupError: a route of the table has no handler, or a handler no route (a programming
        error, caught by the tests at import).
    """
    wanted = {(r.method, r.path) for r in ROUTES if r.function == function}
    if set(handlers) != wanted:
        raise LookupError(f"{function}: routes {sorted(wanted ^ set(handlers))} are not matched")
    for (method, path), handler in handlers.items():
        app.route(powertools_path(path), method=method)(handler)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False, default=str),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_response(error: TachiaiError) -> Response[str]:
    """The one mapping of tachiai's errors to HTTP: status from the class, body ``{"error": ...}``."""
    if error.http_status >= 500:
        logger.error("request failed: %s", error, exc_info=error)
    else:
        logger.info("request refused: %s %s", error.code, error.detail)
    body = error.to_dict()
    body.pop("detail", None)  # technical detail stays in the logs
    return json_response(error.http_status, {"error": body})


def validation_response(error: RequestValidationError) -> Response[str]:
    """400 with where each problem is (never the submitted values, which may be secrets)."""
    problems = [
        {"location": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("type", "invalid")}
        for e in error.errors()
    ]
    return json_response(
        400,
        {
            "error": {
                "code": "invalid_request",
                "message": {"ja": "入力内容が正しくありません。", "en": "The request is invalid."},
                "problems": problems,
            }
        },
    )
