"""The sender REST API (the send function): create, send, look at, remind, cancel, download.

Behind API Gateway's Cognito authorizer (access tokens, scoped per route): the caller is a staff member
or an API integration, as :mod:`tachiai.services.identity` reads the claims. Requests are
validated by Powertools against the pydantic models, which also make the OpenAPI document served at
``/v1/openapi.json``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from tachiai.adapters.ledger_index import LedgerQuery
from tachiai.api.routing import (
    RestResolver,
    error_response,
    json_response,
    register_routes,
    validation_response,
)
from tachiai.api.templates import template_routes
from tachiai.api.users import user_routes
from tachiai.api.views import envelope_view, upload_view
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import TachiaiError
from tachiai.services import ledger, sending
from tachiai.services.context import services
from tachiai.services.identity import sender_from_claims
from tachiai.services.ledger import ImportRequest, MetadataValues
from tachiai.services.sending import CancelRequest, CreateEnvelopeRequest, SenderIdentity

API_VERSION = "1.0.0"


def build_sender_app() -> RestResolver:
    app = RestResolver(enable_validation=True)

    def caller() -> SenderIdentity:
        return sender_from_claims(services(), app.current_event.request_context.authorizer.claims)

    def openapi() -> Response[str]:
        return Response(
            status_code=200,
            content_type="application/json",
            body=app.get_openapi_json_schema(title="tachiai sender API", version=API_VERSION),
        )

    def create(request: Annotated[CreateEnvelopeRequest, Body()]) -> Response[str]:
        created = sending.create_envelope(services(), caller(), request)
        body = envelope_view(created.envelope)
        body["uploads"] = [upload_view(u) for u in created.uploads]
        return json_response(201, body, {"Location": f"/v1/envelopes/{created.envelope.id}"})

    def list_(
        status: Annotated[EnvelopeStatus | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Query(max_length=4000)] = None,
        date_from: Annotated[date | None, Query()] = None,
        date_to: Annotated[date | None, Query()] = None,
        counterparty: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        amount_min: Annotated[int | None, Query(ge=0)] = None,
        amount_max: Annotated[int | None, Query(ge=0)] = None,
        title: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        text: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
        ledger_view: Annotated[bool, Query(alias="ledger")] = False,
    ) -> Response[str]:
        """Without ledger conditions: the caller's envelopes, newest change first. With any of them
        (transaction date range, counterparty, amount range, title, words in the text), or
        ``ledger=true``: a ledger search (contracts with their metadata, newest transaction first). A
        full-text search may answer fewer contracts than ``limit`` (even none) with a cursor: go on."""
        conditions = (date_from, date_to, counterparty, amount_min, amount_max, title, text)
        if ledger_view or any(v is not None for v in conditions):
            query = LedgerQuery(
                date_from=date_from,
                date_to=date_to,
                counterparty=counterparty,
                amount_min=amount_min,
                amount_max=amount_max,
                title=title,
                text=text,
                status=status,
            )
            found = ledger.search(services(), caller(), query, limit, cursor)
            return json_response(
                200,
                {
                    "contracts": [e.model_dump(mode="json") for e in found.entries],
                    "cursor": found.cursor,
                    # Never a count or cost of the search (items read, calls): DynamoDB counts what it
                    # read before filtering, which would tell a caller about contracts not theirs.
                },
            )
        page = sending.list_envelopes(services(), caller(), status, limit, cursor)
        return json_response(
            200, {"envelopes": [envelope_view(e) for e in page.envelopes], "cursor": page.cursor}
        )

    def correct(envelope_id: str, values: Annotated[MetadataValues, Body()]) -> Response[str]:
        return json_response(200, envelope_view(ledger.correct(services(), caller(), envelope_id, values)))

    def import_(request: Annotated[ImportRequest, Body()]) -> Response[str]:
        imported = ledger.import_contract(services(), caller(), request)
        view = envelope_view(imported.envelope)
        if imported.upload:
            view["upload"] = upload_view(imported.upload)
        return json_response(201, view, {"Location": f"/v1/envelopes/{imported.envelope.id}"})

    def complete_import(envelope_id: str) -> Response[str]:
        return json_response(200, envelope_view(ledger.complete_import(services(), caller(), envelope_id)))

    def get(envelope_id: str) -> Response[str]:
        envelope, trail = sending.get_envelope(services(), caller(), envelope_id)
        return json_response(200, envelope_view(envelope, trail))

    def send(envelope_id: str) -> Response[str]:
        return json_response(202, envelope_view(sending.send_envelope(services(), caller(), envelope_id)))

    def remind(envelope_id: str) -> Response[str]:
        return json_response(202, envelope_view(sending.remind(services(), caller(), envelope_id)))

    def cancel(envelope_id: str, request: Annotated[CancelRequest | None, Body()] = None) -> Response[str]:
        reason = request.reason if request else None
        return json_response(200, envelope_view(sending.cancel(services(), caller(), envelope_id, reason)))

    def downloads(envelope_id: str) -> Response[str]:
        files = sending.downloads(services(), caller(), envelope_id)
        return json_response(
            200,
            {
                "downloads": [
                    {"name": f.name, "url": f.url, "expires_at": f.expires_at.isoformat(), "sha256": f.sha256}
                    for f in files
                ]
            },
        )

    register_routes(
        app,
        "send",
        {
            ("GET", "/v1/openapi.json"): openapi,
            **user_routes(app),
            **template_routes(app),
            ("POST", "/v1/envelopes"): create,
            ("GET", "/v1/envelopes"): list_,
            ("GET", "/v1/envelopes/{envelope_id}"): get,
            ("POST", "/v1/envelopes/{envelope_id}/send"): send,
            ("POST", "/v1/envelopes/{envelope_id}/remind"): remind,
            ("POST", "/v1/envelopes/{envelope_id}/cancel"): cancel,
            ("GET", "/v1/envelopes/{envelope_id}/downloads"): downloads,
            ("PATCH", "/v1/envelopes/{envelope_id}/metadata"): correct,
            ("POST", "/v1/imports"): import_,
            ("POST", "/v1/imports/{envelope_id}/complete"): complete_import,
        },
    )
    app.exception_handler(TachiaiError)(error_response)
    app.exception_handler(RequestValidationError)(validation_response)
    return app
