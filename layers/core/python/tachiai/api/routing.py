"""Binding the shared route table to a Powertools resolver."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from email.message import Message
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from tachiai import i18n
from tachiai.domain.errors import InvalidRequest, TachiaiError
from tachiai.names import ROUTES, FunctionName

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

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
                "message": i18n.texts("api.request_invalid"),
                "problems": problems,
            }
        },
    )


# --- request bodies nobody can read -----------------------------------------------------------------


def parse_json_body(body: str) -> Any:
    """``json.loads`` for a request body, refusing what no JSON reader should have to accept.

    Two kinds of input make ``json.loads`` succeed or fail in ways that later become a server error:
    nesting deeper than the parser's recursion limit (``[[[[...`` in a few kilobytes raises
    ``RecursionError``, not a decoding error), and a lone surrogate escape (``"\\ud800"``), which
    decodes to a ``str`` that cannot be encoded as UTF-8 again, so the first hash, DynamoDB write or
    mail of it fails. I-JSON (RFC 7493, section 2.1) forbids such strings; both are refused here as
    malformed JSON (Powertools' validation answers it with a 400).

    :raises json.JSONDecodeError: the body is not JSON, is nested too deeply, or has a lone surrogate.
    """
    try:
        value = json.loads(body)
    except RecursionError as e:
        raise json.JSONDecodeError("JSON nested too deeply", body, 0) from e
    if _has_lone_surrogate(value):
        raise json.JSONDecodeError("string with a lone surrogate (not I-JSON)", body, 0)
    return value


def _has_lone_surrogate(value: Any) -> bool:
    # Iterative: the value nests as deep as the parser allowed, which is as deep as the stack goes.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def unreadable_body(event: Mapping[str, Any]) -> InvalidRequest | None:
    """Why the body of an API Gateway proxy ``event`` cannot be read as the request says, or None.

    API Gateway hands a body whose media type the stack declares binary over as base64. Powertools
    decodes such a body as UTF-8 text (the parts of a multipart body too, split at its boundary) and
    raises ``UnicodeDecodeError`` or ``ValueError`` (a multipart type without ``boundary=``) on the way:
    a server error for a request that is simply malformed. No route of tachiai takes binary content
    (documents go to presigned uploads), so a body must be UTF-8 text whatever its media type says.
    Checked before Powertools sees the event, so that the answer is a 400.
    """
    body = event.get("body")
    if not body or not event.get("isBase64Encoded"):
        return None
    try:
        base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return InvalidRequest("the body is not UTF-8 text", field="body")
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    header = Message()
    header["content-type"] = str(headers.get("content-type") or "")
    if header.get_content_type() == "multipart/form-data" and not header.get_param("boundary"):
        return InvalidRequest("multipart/form-data without a boundary", field="body")
    return None


class RestResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, refusing unreadable request bodies with a 400 before routing.

    JSON bodies are read with :func:`parse_json_body`; a body that cannot be decoded at all
    (:func:`unreadable_body`) is answered with :func:`error_response` without reaching a route.
    """

    def __init__(self, **options: Any) -> None:
        options.setdefault("json_body_deserializer", parse_json_body)
        super().__init__(**options)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        refusal = unreadable_body(event)
        if refusal is None:
            return super().resolve(event, context)
        response = error_response(refusal)
        # The Lambda proxy output format (API Gateway REST, payload 1.0), as Powertools builds it.
        return {
            "statusCode": response.status_code,
            "body": response.body,
            "isBase64Encoded": False,
            "multiValueHeaders": {
                name: list(value) if isinstance(value, list) else [value]
                for name, value in response.headers.items()
            },
        }
