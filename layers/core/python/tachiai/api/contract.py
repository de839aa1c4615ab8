"""tachiai's sender API: create envelopes of PDFs for people to sign in order, send them, follow them,
remind, cancel, correct and resend them, download the sealed result, search and import into the
contract ledger, keep templates, and (administrators) manage staff accounts.

**Authentication.** Every operation but this document needs an OAuth 2.0 access token from the stack's
Cognito user pool, sent as ``Authorization: Bearer <token>``: a person's, from the managed login
(authorization code flow with PKCE, S256: the scheme ``people``, as ``tachiai login`` does), or an
integration's (client credentials: the scheme ``integrations``). Reading needs the scope
``tachiai-api/envelopes.read``, anything else ``tachiai-api/envelopes.write``; a staff member's token
from Cognito's own sign-in APIs (scope ``aws.cognito.signin.user.admin``) passes everywhere. Against
``tachiai local``, ``tachiai local token`` prints a token and the local runtime serves the same OAuth
endpoints.

**Errors.** Every refusal is ``{"error": {"code", "message": {"ja", "en", "zh"}}}``: act on the stable
``code`` (each operation lists the codes it can answer under each status), show the ``message`` in the
reader's language. An invalid request is a 400 ``invalid_request`` with ``problems`` (where, never the
submitted value). Refusals by API Gateway itself (no token, a body over its limit) are
``{"message": "..."}``.

**Documents.** A PDF goes inline (``content_base64``, small files) or through the presigned upload an
answer gives (``uploads``): POST its ``fields`` and then the file, as multipart/form-data, to its ``url``.

The recipients' signing pages (``/s/{token}...``) belong to the mails' links, not to this API, and are
not described here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import (
    OAuth2,
    OAuthFlowAuthorizationCode,
    OAuthFlowClientCredentials,
    OAuthFlows,
    SecurityScheme,
    Server,
    Tag,
)

from tachiai import names
from tachiai.api.models import (
    CreatedEnvelope,
    Downloads,
    EnvelopeDetail,
    EnvelopeList,
    EnvelopeView,
    ImportedContract,
    LedgerSearch,
    MeView,
    SavedTemplate,
    TemplateList,
    TemplateView,
    UserList,
    UserView,
)
from tachiai.api.routing import EXAMPLE_REF, RestResolver, RouteDoc, RouteKey, error_classes, error_example
from tachiai.domain.errors import DirectoryUnavailable, InvalidCursor
from tachiai.services import drafts, ledger, sending, templates, users
from tachiai.services.identity import sender_from_claims

API_TITLE = "tachiai sender API"
API_VERSION = "1.0.0"

TAGS = ("envelopes", "drafts", "templates", "ledger", "users", "meta")

_EMPTY = {"type": "object"}
"""The schema of the OpenAPI document itself (an object; its own schema is the OpenAPI 3.1 one)."""


def _doc(
    operation_id: str,
    summary: str,
    tag: str,
    status: int,
    model: Any,
    *services: Callable[..., Any],
    errors: tuple[type[Any], ...] = (),
) -> RouteDoc:
    # Every sender route but the document reads the caller from the token first (which may ask the
    # user directory: DirectoryUnavailable).
    return RouteDoc(
        operation_id,
        summary,
        tag,
        status,
        model,
        (sender_from_claims, *services),
        (*errors, DirectoryUnavailable),
    )


SENDER_DOCS: Mapping[RouteKey, RouteDoc] = {
    ("GET", "/v1/openapi.json"): RouteDoc("get_openapi_document", "This document", "meta", 200, _EMPTY),
    ("POST", "/v1/envelopes"): _doc(
        "create_envelope",
        "Create an envelope (a draft)",
        "envelopes",
        201,
        CreatedEnvelope,
        sending.create_envelope,
    ),
    ("GET", "/v1/envelopes"): _doc(
        "list_envelopes",
        "List envelopes or search the ledger",
        "envelopes",
        200,
        EnvelopeList | LedgerSearch,
        sending.list_envelopes,
        ledger.search,
        errors=(InvalidCursor,),
    ),
    ("GET", "/v1/envelopes/{envelope_id}"): _doc(
        "get_envelope",
        "Get an envelope with its audit trail",
        "envelopes",
        200,
        EnvelopeDetail,
        sending.get_envelope,
    ),
    ("POST", "/v1/envelopes/{envelope_id}/send"): _doc(
        "send_envelope", "Send a draft", "envelopes", 202, EnvelopeView, sending.send_envelope
    ),
    ("POST", "/v1/envelopes/{envelope_id}/remind"): _doc(
        "remind_envelope", "Remind whose turn it is", "envelopes", 202, EnvelopeView, sending.remind
    ),
    ("POST", "/v1/envelopes/{envelope_id}/cancel"): _doc(
        "cancel_envelope", "Cancel a sent envelope", "envelopes", 200, EnvelopeView, sending.cancel
    ),
    ("GET", "/v1/envelopes/{envelope_id}/downloads"): _doc(
        "get_downloads",
        "Download links of a completed envelope",
        "envelopes",
        200,
        Downloads,
        sending.downloads,
    ),
    ("PATCH", "/v1/envelopes/{envelope_id}"): _doc(
        "edit_draft", "Edit a draft", "drafts", 200, EnvelopeView, drafts.edit_draft
    ),
    ("DELETE", "/v1/envelopes/{envelope_id}"): _doc(
        "delete_draft", "Delete a draft", "drafts", 204, None, drafts.delete_draft
    ),
    ("POST", "/v1/envelopes/{envelope_id}/resend"): _doc(
        "resend_envelope", "Correct and resend an ended envelope", "drafts", 201, EnvelopeView, drafts.resend
    ),
    ("POST", "/v1/envelopes/{envelope_id}/participants/{participant_id}/reissue"): _doc(
        "reissue_link",
        "Unlock a locked link and mail a fresh one",
        "drafts",
        202,
        EnvelopeView,
        drafts.reissue,
    ),
    ("PATCH", "/v1/envelopes/{envelope_id}/metadata"): _doc(
        "correct_metadata", "Correct ledger metadata", "ledger", 200, EnvelopeView, ledger.correct
    ),
    ("POST", "/v1/envelopes/{envelope_id}/metadata/extract"): _doc(
        "retry_extraction",
        "Read a contract's metadata again",
        "ledger",
        202,
        EnvelopeView,
        ledger.retry_extraction,
    ),
    ("POST", "/v1/imports"): _doc(
        "import_contract",
        "Import a contract signed elsewhere",
        "ledger",
        201,
        ImportedContract,
        ledger.import_contract,
    ),
    ("POST", "/v1/imports/{envelope_id}/complete"): _doc(
        "complete_import",
        "Complete an import after its upload",
        "ledger",
        200,
        EnvelopeView,
        ledger.complete_import,
    ),
    ("GET", "/v1/templates"): _doc(
        "list_templates", "List templates", "templates", 200, TemplateList, templates.list_templates
    ),
    ("POST", "/v1/templates"): _doc(
        "create_template", "Save a template", "templates", 201, SavedTemplate, templates.create_template
    ),
    ("GET", "/v1/templates/{template_id}"): _doc(
        "get_template", "Get a template", "templates", 200, TemplateView, templates.get_template
    ),
    ("PUT", "/v1/templates/{template_id}"): _doc(
        "update_template", "Replace a template", "templates", 200, SavedTemplate, templates.update_template
    ),
    ("DELETE", "/v1/templates/{template_id}"): _doc(
        "delete_template", "Delete a template", "templates", 204, None, templates.delete_template
    ),
    ("GET", "/v1/me"): _doc("get_me", "Who am I", "users", 200, MeView, users.me),
    ("GET", "/v1/users"): _doc("list_users", "List staff members", "users", 200, UserList, users.list_users),
    ("POST", "/v1/users"): _doc("invite_user", "Invite a staff member", "users", 201, UserView, users.invite),
    ("POST", "/v1/users/{username}/disable"): _doc(
        "disable_user", "Disable a staff member", "users", 200, UserView, users.set_enabled
    ),
    ("POST", "/v1/users/{username}/enable"): _doc(
        "enable_user", "Enable a staff member again", "users", 200, UserView, users.set_enabled
    ),
    ("PUT", "/v1/users/{username}/role"): _doc(
        "set_user_role", "Set a staff member's role", "users", 200, UserView, users.set_role
    ),
}
"""The OpenAPI metadata of every sender route (:func:`tachiai.api.routing.register_routes`)."""


PEOPLE = "people"
INTEGRATIONS = "integrations"


def operation_security(route: names.Route) -> list[dict[str, list[str]]] | None:
    """Either scheme with the route's resource scope (none for a public route)."""
    if route.public:
        return None
    scope = route.scopes[0]
    return [{PEOPLE: [scope]}, {INTEGRATIONS: [scope]}]


def security_schemes(login_url: str = "") -> dict[str, SecurityScheme]:
    """The OAuth 2.0 schemes of the user pool. ``login_url`` is its managed login domain (absolute URLs
    in the cloud); empty gives the paths alone, where ``tachiai local`` serves the same endpoints."""
    authorize, token = f"{login_url}/oauth2/authorize", f"{login_url}/oauth2/token"
    api_scopes = {f"{names.RESOURCE_SERVER_ID}/{name}": text for name, text in names.API_SCOPES.items()}
    login_scopes = {
        "openid": "OpenID Connect sign-in",
        "email": "The email address",
        "profile": "The name",
        **api_scopes,
    }
    return {
        PEOPLE: OAuth2(
            description="Staff members, managed login with PKCE (S256)",
            flows=OAuthFlows(
                authorizationCode=OAuthFlowAuthorizationCode(
                    authorizationUrl=authorize,
                    tokenUrl=token,
                    refreshUrl=token,
                    scopes={s: login_scopes[s] for s in names.LOGIN_SCOPES},
                )
            ),
        ),
        INTEGRATIONS: OAuth2(
            description="Programs, with the client secret of an integration app client",
            flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl=token, scopes=api_scopes)),
        ),
    }


def openapi_document(app: RestResolver, login_url: str = "", server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the sender ``app``, as served at ``/v1/openapi.json``.

    Powertools writes it from the routes' metadata and models; two corrections follow: request
    validation answers 400 (``invalid_request``, declared per route), so Powertools' own 422 response
    and its schemas go (responses are never validated into an answer: their models are built by the
    views), and an empty success (204) has no content.
    """
    schema = app.get_openapi_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=(__doc__ or "").strip(),
        servers=[Server(url=server_url)],
        tags=[Tag(name=tag) for tag in TAGS],
        security_schemes=security_schemes(login_url),
    )
    document: dict[str, Any] = json.loads(schema.model_dump_json(by_alias=True, exclude_none=True))
    by_code = {cls.code: cls for cls in error_classes().values()}
    example_of: dict[str, dict[str, Any] | None] = {}

    def _example(code: str) -> dict[str, Any] | None:
        if code not in example_of:
            example_of[code] = error_example(by_code[code])
        return example_of[code]

    for item in document["paths"].values():
        for operation in item.values():
            responses = operation["responses"]
            responses.pop("422", None)
            for response in responses.values():
                if response.get("content") == {}:
                    del response["content"]
                _keep_refusals_with_an_example(response, _example)
    text = json.dumps(document["paths"])
    document["components"]["examples"] = {
        code: {"summary": code, "value": example}
        for code, example in sorted(example_of.items())
        if example is not None and f"{EXAMPLE_REF}{code}" in text
    }
    schemas = document["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)
    return document


def _keep_refusals_with_an_example(
    response: dict[str, Any], example: Callable[[str], dict[str, Any] | None]
) -> None:
    """Drop the example references of refusals whose message needs a value only a real request
    gives (:func:`~tachiai.api.routing.error_example` is None for them)."""
    content = response.get("content", {}).get("application/json", {})
    refs = content.get("examples")
    if not refs:
        return
    for code in [c for c in refs if example(c) is None]:
        del refs[code]
    if not refs:
        del content["examples"]


def served_document(app: RestResolver) -> dict[str, Any]:
    """:func:`openapi_document` with this deployment's URLs (the public URL, the login domain)."""
    return openapi_document(
        app,
        login_url=os.environ.get(names.ENV_LOGIN_URL, "").rstrip("/"),
        server_url=os.environ.get(names.ENV_PUBLIC_URL, "").rstrip("/") or "/",
    )


def main() -> None:
    """``python -m tachiai.api.contract``: the document as committed (docs/openapi.json) to stdout."""
    from tachiai.api.sender import build_sender_app

    sys.stdout.write(json.dumps(openapi_document(build_sender_app()), ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
