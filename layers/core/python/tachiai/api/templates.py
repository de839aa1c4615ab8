"""The sender API's templates and second chances: ``GET/POST /v1/templates``,
``GET/PUT/DELETE /v1/templates/{template_id}``; ``PATCH/DELETE /v1/envelopes/{envelope_id}`` (a draft),
``POST /v1/envelopes/{envelope_id}/resend`` (correct and resend) and
``POST /v1/envelopes/{envelope_id}/participants/{participant_id}/reissue`` (unlock a locked link).

Thin handlers over :mod:`tachiai.services.templates` and :mod:`tachiai.services.drafts`, which decide
who may do what. (Creating an envelope from a template is ``POST /v1/envelopes`` with ``template_id``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from tachiai.api.models import (
    EnvelopeView,
    PersonView,
    TemplateDocumentView,
    TemplateList,
    TemplateRoleView,
    TemplateView,
)
from tachiai.api.models import SavedTemplate as SavedTemplateView
from tachiai.api.routing import RestResolver, RouteKey, model_response
from tachiai.api.views import envelope_view, upload_view
from tachiai.domain.templates import Template
from tachiai.services import drafts, templates
from tachiai.services.context import services
from tachiai.services.drafts import DraftChanges, ResendRequest
from tachiai.services.identity import sender_from_claims
from tachiai.services.sending import SenderIdentity
from tachiai.services.templates import SavedTemplate, TemplateRequest


def template_view(template: Template) -> TemplateView:
    """A template as the API shows it (no access code exists to show: a role only says it needs one)."""
    return TemplateView(
        id=template.id,
        name=template.name,
        scope=template.scope,
        owner_id=template.owner_id,
        title=template.title,
        message=template.message,
        language=template.language,
        link_validity_seconds=int(template.link_validity.total_seconds()),
        auto_remind_every_days=template.auto_remind_every_days,
        roles=[
            TemplateRoleView(
                label=r.label,
                default=PersonView.model_validate(r.default.model_dump()) if r.default else None,
                language=r.language,
                access_code_required=r.access_code_required,
            )
            for r in template.roles
        ],
        documents=[
            TemplateDocumentView(
                id=d.id, name=d.name, sha256=d.sha256, size=d.size, pages=d.pages, checked=d.checked
            )
            for d in template.documents
        ],
        ready=template.ready,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


def _saved_view(saved: SavedTemplate) -> SavedTemplateView:
    return SavedTemplateView(
        **template_view(saved.template).model_dump(), uploads=[upload_view(u) for u in saved.uploads]
    )


def template_routes(app: RestResolver) -> dict[RouteKey, Callable[..., Any]]:
    """The handlers of the template and draft routes, for :func:`tachiai.api.routing.register_routes`."""

    def caller() -> SenderIdentity:
        return sender_from_claims(services(), app.current_event.request_context.authorizer.claims)

    def list_() -> Response[TemplateList]:
        found = templates.list_templates(services(), caller())
        return model_response(200, TemplateList(templates=[template_view(t) for t in found]))

    def create(request: Annotated[TemplateRequest, Body()]) -> Response[SavedTemplateView]:
        saved = templates.create_template(services(), caller(), request)
        return model_response(201, _saved_view(saved), {"Location": f"/v1/templates/{saved.template.id}"})

    def get(template_id: str) -> Response[TemplateView]:
        return model_response(200, template_view(templates.get_template(services(), caller(), template_id)))

    def update(template_id: str, request: Annotated[TemplateRequest, Body()]) -> Response[SavedTemplateView]:
        return model_response(
            200, _saved_view(templates.update_template(services(), caller(), template_id, request))
        )

    def delete(template_id: str) -> Response[None]:
        templates.delete_template(services(), caller(), template_id)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    def edit_draft(envelope_id: str, changes: Annotated[DraftChanges, Body()]) -> Response[EnvelopeView]:
        return model_response(
            200, envelope_view(drafts.edit_draft(services(), caller(), envelope_id, changes))
        )

    def delete_draft(envelope_id: str) -> Response[None]:
        drafts.delete_draft(services(), caller(), envelope_id)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    def resend(
        envelope_id: str, request: Annotated[ResendRequest | None, Body()] = None
    ) -> Response[EnvelopeView]:
        new = drafts.resend(services(), caller(), envelope_id, request or ResendRequest())
        return model_response(201, envelope_view(new), {"Location": f"/v1/envelopes/{new.id}"})

    def reissue(envelope_id: str, participant_id: str) -> Response[EnvelopeView]:
        return model_response(
            202, envelope_view(drafts.reissue(services(), caller(), envelope_id, participant_id))
        )

    return {
        ("GET", "/v1/templates"): list_,
        ("POST", "/v1/templates"): create,
        ("GET", "/v1/templates/{template_id}"): get,
        ("PUT", "/v1/templates/{template_id}"): update,
        ("DELETE", "/v1/templates/{template_id}"): delete,
        ("PATCH", "/v1/envelopes/{envelope_id}"): edit_draft,
        ("DELETE", "/v1/envelopes/{envelope_id}"): delete_draft,
        ("POST", "/v1/envelopes/{envelope_id}/resend"): resend,
        ("POST", "/v1/envelopes/{envelope_id}/participants/{participant_id}/reissue"): reissue,
    }
