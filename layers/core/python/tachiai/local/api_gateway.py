"""HTTP in, API Gateway REST proxy event out: the local stand-in for API Gateway in front of the handlers.

In the cloud a REST API (Lambda proxy integration, payload format 1.0) turns each request into an
event, calls the function, and turns its proxy response back into HTTP. :class:`ApiGatewayAdapter` is a
WSGI application doing the same in process, over the same route table (:data:`tachiai.names.ROUTES`),
so a handler cannot tell the two apart. The event follows "Input format of a Lambda function for proxy
integration" and the response "Output format ..." in the API Gateway developer guide
(docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).

What API Gateway itself answers, copied here (gateway responses keep its ``{"message": ...}`` body;
status codes from "Gateway response types", supported-gateway-response-types.html):

* no resource for the path, or no method on it: **403** ``Missing Authentication Token`` (REST APIs
  answer an unknown path or method this way, not with 404/405, so as not to reveal which paths exist).
  HEAD and OPTIONS are methods like any other: no route declares them, so they get this 403 too (a REST
  API has no implicit HEAD, and CORS preflight would be an OPTIONS method the stack does not define);
* a Cognito-protected route whose ``Authorization`` header is missing or not a valid token: **401**
  ``Unauthorized``, without invoking the function;
* a body over 10 MB: **413** ``Request Too Long`` (REQUEST_TOO_LARGE);
* the function raised, or returned something that is not a proxy response: **502**
  ``Internal server error``; a base64 body that does not decode: **500** (API_CONFIGURATION_ERROR).

Request bodies: the stack declares every non-textual media type binary, so a PDF, octet stream or
multipart form arrives base64 with ``isBase64Encoded: true``, and text (``text/*``, JSON, XML, form
URL-encoding, or no content type) arrives as a UTF-8 string.

Known differences, by necessity of WSGI: repeated request headers reach the event as one
comma-joined value (the server folds them before the application sees them); ``sourceIp`` is the
peer address (``REMOTE_ADDR``), never a forwarded header, exactly as API Gateway's is the TCP peer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, unquote, urlsplit

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from tachiai.names import Route

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["MAX_BODY_BYTES", "ApiGatewayAdapter", "is_textual"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 10 * 1024 * 1024
"""API Gateway REST payload quota (10 MB)."""
ACCOUNT_ID: Final = "123456789012"
API_ID: Final = "local"

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
Authorize = Callable[[str | None], dict[str, str] | None]

_TEXT_TYPES: Final = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
    }
)
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def is_textual(content_type: str | None) -> bool:
    """Whether a body of ``content_type`` reaches the function as text (else base64)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return (
        not media_type
        or media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


@dataclass(frozen=True)
class _Match:
    route: Route
    path_parameters: dict[str, str]


def _segments(template: str) -> list[str]:
    return template.strip("/").split("/") if template.strip("/") else []


def _match(template: str, raw_segments: Sequence[str]) -> dict[str, str] | None:
    """``{name}`` → the decoded segment; literal segments must be equal; ``None`` when no match."""
    wanted = _segments(template)
    if len(wanted) != len(raw_segments):
        return None
    parameters: dict[str, str] = {}
    for pattern, raw in zip(wanted, raw_segments, strict=True):
        value = unquote(raw)
        if pattern.startswith("{") and pattern.endswith("}"):
            if not value:
                return None
            parameters[pattern[1:-1]] = value
        elif pattern != value:
            return None
    return parameters


def _request_time(now: datetime) -> str:
    # $context.requestTime is CLF-formatted (dd/MMM/yyyy:HH:mm:ss +0000), English month names.
    return f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000"


def _resource_id(template: str) -> str:
    # Stable per resource, shaped like API Gateway's 6-character resource ids.
    return hashlib.sha256(template.encode()).hexdigest()[:6]


class _Request(Request):
    max_content_length = MAX_BODY_BYTES


class ApiGatewayAdapter:
    """A WSGI application that behaves like the API Gateway REST API of the stack.

    ``invoke(function, event)`` runs the function (a name from the route table) and returns its proxy
    response. ``authorize(header)`` is the Cognito authorizer: the raw ``Authorization`` header value in,
    the claims out (``None``: refused). ``extra_apps`` maps path prefixes (``"/_local/"``) to other
    WSGI applications, tried before the routes; they see the request unchanged (full path).
    """

    def __init__(
        self,
        *,
        routes: Sequence[Route],
        invoke: Invoke,
        authorize: Authorize,
        stage: str = "local",
        extra_apps: Mapping[str, WSGIApplication] | None = None,
    ) -> None:
        self._routes = tuple(routes)
        self._invoke = invoke
        self._authorize = authorize
        self._stage = stage
        self._extra_apps = dict(extra_apps or {})

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _Request(environ)
        for prefix, app in self._extra_apps.items():
            if request.path.startswith(prefix):
                return app(environ, start_response)
        request_id = str(uuid.uuid4())
        response = self._handle(request, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        return response(environ, start_response)

    # --- request → event → response --------------------------------------------------------------

    def _handle(self, request: Request, request_id: str) -> Response:
        # Split the path as sent, before decoding, so that an encoded "/" stays inside its segment.
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
        raw_segments = _segments(urlsplit(raw_uri).path if raw_uri else quote(request.path))
        matched = self._route(request.method, raw_segments)
        if matched is None:
            return _gateway_response(403, "Missing Authentication Token")
        claims: dict[str, str] | None = None
        if not matched.route.public:
            claims = self._authorize(request.headers.get("Authorization"))
            if claims is None:
                return _gateway_response(401, "Unauthorized")
            # As a Cognito authorizer with OAuth scopes: the token must carry one of the route's scopes.
            if not set(claims.get("scope", "").split()) & set(matched.route.scopes):
                return _gateway_response(401, "Unauthorized")
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge:
            return _gateway_response(413, "Request Too Long")
        event = self._event(request, matched, claims, body, request_id)
        try:
            result = self._invoke(matched.route.function, event)
        except Exception:  # a failed invocation of any kind is API Gateway's 502 (logged)
            logger.exception(
                "%s %s: function %s failed", request.method, request.path, matched.route.function
            )
            return _gateway_response(502, "Internal server error")
        return _http_response(result, matched.route)

    def _route(self, method: str, raw_segments: Sequence[str]) -> _Match | None:
        matches = [
            _Match(route, parameters)
            for route in self._routes
            if route.method == method and (parameters := _match(route.path, raw_segments)) is not None
        ]
        # As in API Gateway's resource tree, a literal segment wins over a {parameter} beside it.
        return min(matches, key=lambda m: [s.startswith("{") for s in _segments(m.route.path)], default=None)

    def _event(
        self,
        request: Request,
        matched: _Match,
        claims: dict[str, str] | None,
        body: bytes,
        request_id: str,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        template = matched.route.path
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        query = {name: values for name, values in request.args.lists()}
        context: dict[str, Any] = {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": request.host,
            "resourceId": _resource_id(template),
            "resourcePath": template,
            "httpMethod": request.method,
            "path": f"/{self._stage}{request.path}",
            "stage": self._stage,
            "requestId": request_id,
            "requestTime": _request_time(now),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "accessKey": None,
                "sourceIp": request.environ.get("REMOTE_ADDR", ""),
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.headers.get("User-Agent"),
                "user": None,
            },
        }
        if claims is not None:
            context["authorizer"] = {"claims": dict(claims)}
        return {
            "resource": template,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": matched.path_parameters or None,
            "stageVariables": None,
            "requestContext": context,
            "body": _event_body(body, textual=is_textual(request.content_type)),
            "isBase64Encoded": bool(body) and not is_textual(request.content_type),
        }


def _event_body(body: bytes, *, textual: bool) -> str | None:
    if not body:
        return None
    if textual:
        # Text that is not UTF-8 cannot survive API Gateway's text passthrough either.
        return body.decode("utf-8", "replace")
    return base64.b64encode(body).decode("ascii")


def _gateway_response(status: int, message: str) -> Response:
    """An answer from API Gateway itself (the function never ran)."""
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


class _MalformedResponse(Exception):
    pass


def _string_map(value: object, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _MalformedResponse(f"{field} is not an object of strings")
    return value


def _list_map(value: object, field: str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(item, str) for item in v)
        for k, v in value.items()
    ):
        raise _MalformedResponse(f"{field} is not an object of string lists")
    return value


def _parse(result: object) -> tuple[int, list[tuple[str, str]], str | None, bool]:
    if not isinstance(result, dict):
        raise _MalformedResponse(f"result is {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _MalformedResponse(f"statusCode {status!r}")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise _MalformedResponse(f"body is {type(body).__name__}, not a string")
    single = _string_map(result.get("headers"), "headers")
    multi = _list_map(result.get("multiValueHeaders"), "multiValueHeaders")
    # "If you specify values for both headers and multiValueHeaders, API Gateway merges them into a
    # single list. If the same key-value pair is specified in both, only the values from
    # multiValueHeaders will appear in the merged list." (output format of the proxy integration)
    overridden = {name.lower() for name in multi}
    headers = [(name, value) for name, value in single.items() if name.lower() not in overridden]
    headers += [(name, value) for name, values in multi.items() for value in values]
    return status, headers, body, bool(result.get("isBase64Encoded"))


def _http_response(result: object, route: Route) -> Response:
    """The function's proxy response as HTTP; 502 when it is not one (as API Gateway answers)."""
    try:
        status, headers, body, is_base64 = _parse(result)
    except _MalformedResponse as e:
        logger.error(
            "%s %s: malformed Lambda proxy response from %s: %s", route.method, route.path, route.function, e
        )
        return _gateway_response(502, "Internal server error")
    payload = (body or "").encode("utf-8")
    if is_base64:
        try:
            payload = base64.b64decode(payload, validate=True)
        except binascii.Error:
            logger.error(
                "%s %s: isBase64Encoded body from %s is not base64", route.method, route.path, route.function
            )
            return _gateway_response(500, "Internal server error")
    response = Response(payload, status=status)
    del response.headers["Content-Type"]
    for name, value in headers:
        response.headers.add(name, value)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response
