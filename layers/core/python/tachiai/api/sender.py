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

from tachiai.api.contract import API_VERSION, SENDER_DOCS, operation_security, served_document
from tachiai.api.models import (
    CreatedEnvelope,
    Downloads,
    EnvelopeDetail,
    EnvelopeList,
    EnvelopeView,
    ImportedContract,
    LedgerSearch,
)
from tachiai.api.routing import (
    RestResolver,
    error_response,
    json_response,
    model_response,
    register_routes,
    validation_response,
)
from tachiai.api.templates import template_routes
from tachiai.api.users import user_routes
from tachiai.api.views import download_view, envelope_detail, envelope_fields, envelope_view, upload_view
from tachiai.console import console_routes
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import TachiaiError
from tachiai.domain.ledger import LedgerQuery
from tachiai.services import ledger, sending
from tachiai.services.context import services
from tachiai.services.identity import sender_from_claims
from tachiai.services.ledger import ImportRequest, MetadataValues
from tachiai.services.sending import CancelRequest, CreateEnvelopeRequest, SenderIdentity

__all__ = ["API_VERSION", "build_sender_app"]


def build_sender_app() -> RestResolver:
    """The send function's resolver: every sender route of :data:`tachiai.names.ROUTES`, documented.

    :raises LookupError: a route without handler or documentation (a programming error).
    """
    app = RestResolver(enable_validation=True)

    def caller() -> SenderIdentity:
        return sender_from_claims(services(), app.current_event.request_context.authorizer.claims)

    def openapi() -> Response[str]:
        """The OpenAPI 3.1 document of this API, served without a token. Generated from the code (the
        routes, their models and the errors their services declare); committed as docs/openapi.json."""
        return json_response(200, served_document(app))

    def create(request: Annotated[CreateEnvelopeRequest, Body()]) -> Response[CreatedEnvelope]:
        """A draft envelope: documents inline (``content_base64``) or by presigned upload (each document
        without content gets one in ``uploads``), participants in signing order. With ``template_id``
        the template's documents, roles, message and expiry fill what the request leaves out. Nothing is
        mailed until ``send``."""
        created = sending.create_envelope(services(), caller(), request)
        body = CreatedEnvelope.model_validate(
            {**envelope_fields(created.envelope), "uploads": [upload_view(u) for u in created.uploads]}
        )
        return model_response(201, body, {"Location": f"/v1/envelopes/{created.envelope.id}"})

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
    ) -> Response[EnvelopeList | LedgerSearch]:
        """Without ledger conditions: the caller's envelopes grouped by status (sent, rejected, in
        progress, failed, expired, draft, completed, cancelled), newest change first within each
        (``envelopes``). With any of them (transaction date range, counterparty, amount range, title,
        words in the text), or ``ledger=true``: a ledger search (``contracts`` with their metadata,
        newest transaction first; administrators search every contract, others their own). A full-text
        search may answer fewer contracts than ``limit`` (even none) with a cursor: go on."""
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
            # Never a count or cost of the search (items read, calls): DynamoDB counts what it read
            # before filtering, which would tell a caller about contracts not theirs.
            return model_response(200, LedgerSearch(contracts=found.entries, cursor=found.cursor))
        page = sending.list_envelopes(services(), caller(), status, limit, cursor)
        return model_response(
            200, EnvelopeList(envelopes=[envelope_view(e) for e in page.envelopes], cursor=page.cursor)
        )

    def correct(envelope_id: str, values: Annotated[MetadataValues, Body()]) -> Response[EnvelopeView]:
        """Correct the contract's ledger metadata: the fields given win over any extraction, and the
        correction is in the audit trail."""
        return model_response(200, envelope_view(ledger.correct(services(), caller(), envelope_id, values)))

    def retry_extraction(envelope_id: str) -> Response[EnvelopeView]:
        """Read the contract's metadata again after its extraction failed or never finished: the
        answer says ``extracting``, and the envelope says what came of it."""
        return model_response(202, envelope_view(ledger.retry_extraction(services(), caller(), envelope_id)))

    def import_(request: Annotated[ImportRequest, Body()]) -> Response[ImportedContract]:
        """A contract signed elsewhere joins the ledger, stored unchanged and timestamped on arrival,
        its metadata extracted. With ``content_base64`` it is completed at once; without, the answer
        has a presigned ``upload`` and the import completes with ``POST /v1/imports/{id}/complete``."""
        imported = ledger.import_contract(services(), caller(), request)
        upload = upload_view(imported.upload) if imported.upload else None
        body = ImportedContract.model_validate({**envelope_fields(imported.envelope), "upload": upload})
        return model_response(201, body, {"Location": f"/v1/envelopes/{imported.envelope.id}"})

    def complete_import(envelope_id: str) -> Response[EnvelopeView]:
        """The import's PDF was uploaded: check it, timestamp it, extract its metadata."""
        return model_response(200, envelope_view(ledger.complete_import(services(), caller(), envelope_id)))

    def get(envelope_id: str) -> Response[EnvelopeDetail]:
        """The envelope (the caller's, or any for an administrator) with its audit trail."""
        envelope, trail = sending.get_envelope(services(), caller(), envelope_id)
        return model_response(200, envelope_detail(envelope, trail))

    def send(envelope_id: str) -> Response[EnvelopeView]:
        """Check the documents and mail the first participants their links. Accepted: the answer is the
        envelope as sent; the mails go out right after."""
        return model_response(202, envelope_view(sending.send_envelope(services(), caller(), envelope_id)))

    def remind(envelope_id: str) -> Response[EnvelopeView]:
        """Mail a fresh link to the participants whose turn it is (the old link stops working). A
        locked link is reissued instead (``.../participants/{participant_id}/reissue``)."""
        return model_response(202, envelope_view(sending.remind(services(), caller(), envelope_id)))

    def cancel(
        envelope_id: str, request: Annotated[CancelRequest | None, Body()] = None
    ) -> Response[EnvelopeView]:
        """End a sent envelope: its links stop working and the participants who were mailed are told,
        with the reason if one is given."""
        reason = request.reason if request else None
        return model_response(200, envelope_view(sending.cancel(services(), caller(), envelope_id, reason)))

    def downloads(envelope_id: str) -> Response[Downloads]:
        """Presigned links to the sealed PDFs and the completion certificate of a completed envelope,
        each with the SHA-256 to check the download against."""
        files = sending.downloads(services(), caller(), envelope_id)
        return model_response(200, Downloads(downloads=[download_view(f) for f in files]))

    register_routes(
        app,
        "send",
        {
            ("GET", "/v1/openapi.json"): openapi,
            **user_routes(app),
            **template_routes(app),
            **console_routes(app),
            ("POST", "/v1/envelopes"): create,
            ("GET", "/v1/envelopes"): list_,
            ("GET", "/v1/envelopes/{envelope_id}"): get,
            ("POST", "/v1/envelopes/{envelope_id}/send"): send,
            ("POST", "/v1/envelopes/{envelope_id}/remind"): remind,
            ("POST", "/v1/envelopes/{envelope_id}/cancel"): cancel,
            ("GET", "/v1/envelopes/{envelope_id}/downloads"): downloads,
            ("PATCH", "/v1/envelopes/{envelope_id}/metadata"): correct,
            ("POST", "/v1/envelopes/{envelope_id}/metadata/extract"): retry_extraction,
            ("POST", "/v1/imports"): import_,
            ("POST", "/v1/imports/{envelope_id}/complete"): complete_import,
        },
        docs=SENDER_DOCS,
        security=operation_security,
    )
    app.exception_handler(TachiaiError)(error_response)
    app.exception_handler(RequestValidationError)(validation_response)
    return app
