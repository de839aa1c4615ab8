"""Binding the shared route table to a Powertools resolver."""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import logging
import re
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from tachiai import i18n
from tachiai.api.models import ErrorBody, ErrorDetail, GatewayError, Messages, Problem
from tachiai.domain.errors import InvalidRequest, NotFound, TachiaiError
from tachiai.names import ROUTES, FunctionName, Route

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = logging.getLogger(__name__)

RouteKey = tuple[str, str]
"""(method, path as in the route table)."""


def powertools_path(path: str) -> str:
    """``/v1/envelopes/{envelope_id}`` (API Gateway) → ``/v1/envelopes/<envelope_id>`` (Powertools)."""
    return path.replace("{", "<").replace("}", ">")


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about one route, beyond what Powertools reads from the handler.

    The statuses are derived, never listed by hand: the success status and its model; 400 when the
    handler takes a body or query (request validation); 404 when the path names something (an id); 401
    for a route behind the authorizer; 413 for
    a body over the gateway's limit; and the status of every error the route's ``services`` declare in
    their docstrings (``:raises NotFound, Conflict: ...``, resolved to the classes by
    :func:`raised_errors`), plus ``errors`` the handler raises itself.
    """

    operation_id: str
    """The name a generated client gives the call (``create_envelope``)."""
    summary: str
    """A few words, no sentence (the handler's docstring is the description)."""
    tag: str
    status: int
    """The success status."""
    model: Any
    """The success body's model (a BaseModel subclass or a union of them); None for an empty body."""
    services: tuple[Callable[..., Any], ...] = ()
    """The service functions the handler calls: their ``:raises`` are the route's refusals."""
    errors: tuple[type[TachiaiError], ...] = ()
    """Errors the handler raises beyond its services' (rare)."""
    examples: Mapping[str, Any] = field(default_factory=dict)
    """Request body examples (``openapi_examples``: name → {"summary", "value"})."""


_RAISES = re.compile(r":raises\s+([^:]+):")


def error_classes() -> dict[str, type[TachiaiError]]:
    """Every TachiaiError subclass imported so far, by class name."""
    found: dict[str, type[TachiaiError]] = {}
    pending: list[type[TachiaiError]] = [TachiaiError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found


def raised_errors(function: Callable[..., Any]) -> tuple[type[TachiaiError], ...]:
    """The error classes ``function``'s docstring says it raises (``:raises A, B / C: why``), in order.

    :raises LookupError: a name there is no TachiaiError subclass (a typo, or a builtin escaping a
        public function: both programming errors, caught by the tests when the app is built).
    """
    classes = error_classes()
    raised: list[type[TachiaiError]] = []
    for names in _RAISES.findall(inspect.getdoc(function) or ""):
        for name in re.findall(r"[A-Za-z_][\w.]*", names):
            cls = classes.get(name.rpartition(".")[2])
            if cls is None:
                raise LookupError(f"{function.__qualname__}: ':raises {name}' names no TachiaiError")
            if cls not in raised:
                raised.append(cls)
    return tuple(raised)


def _takes_input(route: Route, handler: Callable[..., Any]) -> bool:
    path_parameters = set(re.findall(r"{(\w+)}", route.path))
    return any(name not in path_parameters for name in inspect.signature(handler).parameters)


def _takes_body(route: Route, handler: Callable[..., Any]) -> bool:
    return route.method in {"POST", "PUT", "PATCH"} and _takes_input(route, handler)


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


EXAMPLE_REF = "#/components/examples/"


def error_example(cls: type[TachiaiError]) -> dict[str, Any] | None:
    """The real body of a refusal of class ``cls``, when its message needs no value of a request."""
    try:
        messages = {language: cls().message(language) for language in i18n.LANGUAGES}
    except (i18n.MissingMessage, KeyError, IndexError, TypeError):
        return None
    if any("{" in text for text in messages.values()):  # a placeholder only a real refusal fills
        return None
    return ErrorBody(error=ErrorDetail(code=cls.code, message=Messages(**messages))).model_dump(
        mode="json", exclude_none=True
    )


def _model_description(model: Any) -> str:
    if model is None or isinstance(model, dict):
        return "Done"
    models = typing.get_args(model) or (model,)  # a union: each model is one possible answer
    return " Or: ".join(_first_line(m.__doc__) for m in models)


def route_responses(route: Route, doc: RouteDoc, handler: Callable[..., Any]) -> dict[int, Any]:
    """The ``responses=`` of one route for Powertools: every status it can answer, with its model."""
    errors: list[type[TachiaiError]] = []
    if _takes_input(route, handler):
        errors.append(InvalidRequest)
    if "{" in route.path:  # an id that names nothing (or nothing of the caller's)
        errors.append(NotFound)
    for service in doc.services:
        errors.extend(raised_errors(service))
    errors.extend(doc.errors)
    by_status: dict[int, list[type[TachiaiError]]] = {}
    for cls in dict.fromkeys(errors):
        by_status.setdefault(cls.http_status, []).append(cls)

    success: dict[str, Any] = {"description": _model_description(doc.model), "content": {}}
    if isinstance(doc.model, dict):
        success["content"] = {"application/json": {"schema": doc.model}}
    elif doc.model is not None:
        success["content"] = {"application/json": {"model": doc.model}}
    responses: dict[int, Any] = {doc.status: success}
    for status, classes in sorted(by_status.items()):
        # Each example is written once in the document's components (contract.openapi_document),
        # which drops the references of refusals that have none: deciding it here would read every
        # catalog at every cold start, for a document most processes never serve.
        examples = {c.code: {"$ref": f"{EXAMPLE_REF}{c.code}"} for c in classes}
        responses[status] = {
            "description": "\n".join(f"- `{c.code}`: {_first_line(c.__doc__)}".rstrip(": ") for c in classes),
            "content": {
                "application/json": {"model": ErrorBody, **({"examples": examples} if examples else {})}
            },
        }
    gateway: dict[int, str] = {}
    if not route.public:
        gateway[401] = (
            "No access token, an expired or revoked one, or one without the route's scope (API Gateway)"
        )
    if _takes_body(route, handler):
        gateway[413] = "The request body is over the limit of API Gateway (10 MB)"
    for status, why in gateway.items():
        if status in responses:
            responses[status]["description"] += f"\n- {why}"
            responses[status]["content"]["application/json"]["model"] = ErrorBody | GatewayError
        else:
            responses[status] = {
                "description": why,
                "content": {"application/json": {"model": GatewayError}},
            }
    return responses


def register_routes(
    app: BaseRouter,
    function: FunctionName,
    handlers: Mapping[RouteKey, Callable[..., Any]],
    docs: Mapping[RouteKey, RouteDoc] | None = None,
    security: Callable[[Route], list[dict[str, list[str]]] | None] | None = None,
) -> None:
    """Register ``handlers`` for exactly the routes the table gives ``function``.

    With ``docs`` (the sender API), each route is registered with its OpenAPI metadata (summary, tag,
    operation id, every status it can answer with its model: :func:`route_responses`) and
    ``security(route)``; without (the recipient's pages), it is left out of the document, and so is
    every page of the console (:func:`is_console_page`), which needs no doc.

    :raises LookupError: a route of the table has no handler or no doc, or a handler no route (a
        programming error, caught by the tests at import).
    """
    routes: dict[RouteKey, Route] = {(r.method, r.path): r for r in ROUTES if r.function == function}
    if set(handlers) != set(routes):
        raise LookupError(f"{function}: routes {sorted(set(routes) ^ set(handlers))} are not matched")
    documented = {key for key, route in routes.items() if not is_console_page(route.path)}
    if docs is not None and set(docs) != documented:
        raise LookupError(f"{function}: routes {sorted(documented ^ set(docs))} are not documented")
    for (method, path), handler in handlers.items():
        if docs is None or (method, path) not in documented:
            app.route(powertools_path(path), method=method, include_in_schema=False)(handler)
            continue
        route, doc = routes[method, path], docs[method, path]
        app.route(
            powertools_path(path),
            method=method,
            summary=doc.summary,
            description=inspect.getdoc(handler),
            tags=[doc.tag],
            operation_id=doc.operation_id,
            responses=route_responses(route, doc, handler),
            security=security(route) if security else None,
        )(handler)


CONSOLE_PREFIX = "/app"


def is_console_page(path: str) -> bool:
    """A page of the sender console (``/app``, ``/app/...``): HTML for a browser, not part of the API,
    so never in the OpenAPI document."""
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


ModelT = TypeVar("ModelT", bound=BaseModel)


def model_response(status: int, body: ModelT, headers: dict[str, str] | None = None) -> Response[ModelT]:
    """An answer whose body Powertools validates against the route's return model and serializes."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=body,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _json_default(value: Any) -> Any:
    # A response model inside a hand-built body is written as the API writes it (Powertools' own path).
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False, default=_json_default),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_response(error: TachiaiError) -> Response[str]:
    """The one mapping of tachiai's errors to HTTP: status from the class, body ``{"error": ...}``."""
    if error.http_status >= 500:
        logger.error("request failed: %s", error, exc_info=error)
    else:
        logger.info("request refused: %s %s", error.code, error.detail)
    shown = error.to_dict()  # its technical detail stays in the logs
    body = ErrorBody(error=ErrorDetail(code=shown["code"], message=Messages(**shown["message"])))
    return json_response(error.http_status, body.model_dump(mode="json", exclude_none=True))


def validation_response(error: RequestValidationError) -> Response[str]:
    """400 with where each problem is (never the submitted values, which may be secrets)."""
    body = ErrorBody(
        error=ErrorDetail(
            code=InvalidRequest.code,
            message=Messages(**i18n.texts("api.request_invalid")),
            problems=[
                Problem(
                    location=".".join(str(part) for part in e.get("loc", ())),
                    problem=str(e.get("type", "invalid")),
                )
                for e in error.errors()
            ],
        )
    )
    return json_response(400, body.model_dump(mode="json", exclude_none=True))


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


_RESOLVING = threading.local()
"""The request this thread is resolving (see :class:`RestResolver`)."""


class RestResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, refusing unreadable request bodies with a 400 before routing.

    JSON bodies are read with :func:`parse_json_body`; a body that cannot be decoded at all
    (:func:`unreadable_body`) is answered with :func:`error_response` without reaching a route.
    """

    def __init__(self, **options: Any) -> None:
        options.setdefault("json_body_deserializer", parse_json_body)
        super().__init__(**options)

    # Powertools keeps the event being resolved (and the Lambda context) on the BaseRouter CLASS, which
    # every resolver of the process shares. Lambda runs one request per environment, but `tachiai
    # local` resolves requests in threads: two at once read each other's event (one sender's create
    # ran with another's body and answered the wrong caller). Here each thread has its own, as each
    # Lambda environment does.
    @property  # type: ignore[override]
    def current_event(self) -> APIGatewayProxyEvent:
        event: APIGatewayProxyEvent = _RESOLVING.event
        return event

    @current_event.setter
    def current_event(self, value: APIGatewayProxyEvent) -> None:
        _RESOLVING.event = value

    @property
    def lambda_context(self) -> LambdaContext:
        context: LambdaContext = _RESOLVING.context
        return context

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        _RESOLVING.context = value

    def _to_proxy_event(self, event: dict[str, Any]) -> BaseProxyEvent:
        proxy = super()._to_proxy_event(event)
        _RESOLVING.event = proxy  # Powertools then sets the shared class attribute, which we never read
        return proxy

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        _RESOLVING.context = context
        # The console's forms may carry files (multipart with binary parts): it reads its own bodies.
        page = is_console_page(str(event.get("resource") or event.get("path") or ""))
        refusal = None if page else unreadable_body(event)
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
