"""Issue 11 §4: the sender API's OpenAPI document is generated from the code, committed, and truthful.

The document is what Powertools writes from the routes (``register_routes`` with each route's
``RouteDoc``), their request and response models, and the errors their services declare. These tests
read it as a client would: every route of the shared table with its real statuses, the error body, the
OAuth2 schemes, and the committed copy (docs/openapi.json) equal to what the code generates now.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from tachiai import names
from tachiai.api.contract import SENDER_DOCS, openapi_document
from tachiai.api.routing import RouteDoc, is_console_page, raised_errors, register_routes
from tachiai.api.sender import build_sender_app
from tachiai.domain.errors import NotFound, TachiaiError

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"

SENDER_ROUTES = [r for r in names.ROUTES if r.function == "send" and not is_console_page(r.path)]
"""The API's routes: the console's pages (``/app``) are HTML for a browser, not part of the document."""

SUCCESS = {
    ("GET", "/v1/openapi.json"): 200,
    ("POST", "/v1/envelopes"): 201,
    ("GET", "/v1/envelopes"): 200,
    ("GET", "/v1/envelopes/{envelope_id}"): 200,
    ("POST", "/v1/envelopes/{envelope_id}/send"): 202,
    ("POST", "/v1/envelopes/{envelope_id}/remind"): 202,
    ("POST", "/v1/envelopes/{envelope_id}/cancel"): 200,
    ("GET", "/v1/envelopes/{envelope_id}/downloads"): 200,
    ("PATCH", "/v1/envelopes/{envelope_id}/metadata"): 200,
    ("POST", "/v1/envelopes/{envelope_id}/metadata/extract"): 202,
    ("POST", "/v1/imports"): 201,
    ("POST", "/v1/imports/{envelope_id}/complete"): 200,
    ("GET", "/v1/templates"): 200,
    ("POST", "/v1/templates"): 201,
    ("GET", "/v1/templates/{template_id}"): 200,
    ("PUT", "/v1/templates/{template_id}"): 200,
    ("DELETE", "/v1/templates/{template_id}"): 204,
    ("PATCH", "/v1/envelopes/{envelope_id}"): 200,
    ("DELETE", "/v1/envelopes/{envelope_id}"): 204,
    ("POST", "/v1/envelopes/{envelope_id}/resend"): 201,
    ("POST", "/v1/envelopes/{envelope_id}/participants/{participant_id}/reissue"): 202,
    ("GET", "/v1/me"): 200,
    ("GET", "/v1/users"): 200,
    ("POST", "/v1/users"): 201,
    ("POST", "/v1/users/{username}/disable"): 200,
    ("POST", "/v1/users/{username}/enable"): 200,
    ("PUT", "/v1/users/{username}/role"): 200,
}
"""What each route answers when it does what it is asked (the features' contract, written by hand)."""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(build_sender_app())


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(document["paths"][path][method.lower()])


def test_the_console_pages_are_left_out_of_the_document(document):
    assert any(is_console_page(r.path) for r in names.ROUTES if r.function == "send")
    assert not [path for path in document["paths"] if is_console_page(path)]


def test_the_committed_document_is_the_one_the_code_generates(document):
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == document, "docs/openapi.json is stale: run `make openapi` and commit it"


def test_the_document_is_a_valid_openapi_3_1_document(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_of_the_table_is_documented_with_its_success_status(document):
    assert {(r.method, r.path) for r in SENDER_ROUTES} == set(SUCCESS)
    for route in SENDER_ROUTES:
        op = operation(document, route.method, route.path)
        assert str(SUCCESS[route.method, route.path]) in op["responses"], route
        assert op["summary"] and op["operationId"] and op["tags"], route


def test_every_operation_id_is_a_distinct_snake_case_name_for_a_generated_client(document):
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == len(SENDER_ROUTES)
    assert all(i.isidentifier() and i == i.lower() and "__" not in i for i in ids)


def test_every_error_the_route_services_declare_is_documented_under_its_status_with_its_code(document):
    for route in SENDER_ROUTES:
        doc = SENDER_DOCS[route.method, route.path]
        responses = operation(document, route.method, route.path)["responses"]
        declared = [e for service in doc.services for e in raised_errors(service)]
        for error in (*declared, *doc.errors):
            assert str(error.http_status) in responses, (route, error.code)
            assert f"`{error.code}`" in responses[str(error.http_status)]["description"], (route, error.code)


def test_a_route_with_an_id_in_its_path_documents_404(document):
    for route in SENDER_ROUTES:
        if "{" in route.path:
            responses = operation(document, route.method, route.path)["responses"]
            assert f"`{NotFound.code}`" in responses["404"]["description"], route


def test_refusals_are_documented_with_the_error_body_in_every_catalog_language(document):
    error = document["components"]["schemas"]["ErrorBody"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    messages = document["components"]["schemas"]["Messages"]
    assert error["required"] == ["error"]
    assert set(detail["required"]) == {"code", "message"} and "problems" in detail["properties"]
    assert set(messages["required"]) == {"ja", "en", "zh"}
    op = operation(document, "POST", "/v1/envelopes/{envelope_id}/remind")
    conflict = op["responses"]["409"]["content"]["application/json"]
    assert conflict["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    example = conflict["examples"]["envelope_not_sent"]["$ref"].rpartition("/")[2]
    shown = document["components"]["examples"][example]["value"]["error"]
    assert shown["code"] == "envelope_not_sent" and set(shown["message"]) == {"ja", "en", "zh"}


TAKES_INPUT = {
    ("POST", "/v1/envelopes"),
    ("GET", "/v1/envelopes"),
    ("POST", "/v1/envelopes/{envelope_id}/cancel"),
    ("PATCH", "/v1/envelopes/{envelope_id}/metadata"),
    ("POST", "/v1/imports"),
    ("POST", "/v1/templates"),
    ("PUT", "/v1/templates/{template_id}"),
    ("PATCH", "/v1/envelopes/{envelope_id}"),
    ("POST", "/v1/envelopes/{envelope_id}/resend"),
    ("POST", "/v1/users"),
    ("PUT", "/v1/users/{username}/role"),
}
"""The routes with a body or query to validate."""


def test_request_validation_is_documented_as_400_never_as_powertools_422(document):
    text = json.dumps(document)
    assert '"422"' not in text and "HTTPValidationError" not in text
    for method, path in TAKES_INPUT:
        responses = operation(document, method, path)["responses"]
        assert "`invalid_request`" in responses["400"]["description"], (method, path)
        if method != "GET":
            assert "413" in responses, (method, path)  # the gateway's limit on a body


def test_routes_behind_the_authorizer_document_the_gateway_401_and_the_document_needs_no_token(document):
    for route in SENDER_ROUTES:
        responses = operation(document, route.method, route.path)["responses"]
        if route.public:
            assert "401" not in responses and "security" not in operation(document, route.method, route.path)
        else:
            assert responses["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/GatewayError"
            }
    assert [r.path for r in SENDER_ROUTES if r.public] == ["/v1/openapi.json"]


def test_oauth2_schemes_give_people_the_pkce_code_flow_and_programs_client_credentials(document):
    schemes = document["components"]["securitySchemes"]
    people = schemes["people"]["flows"]["authorizationCode"]
    integrations = schemes["integrations"]["flows"]["clientCredentials"]
    assert people["authorizationUrl"].endswith("/oauth2/authorize") and people["tokenUrl"].endswith(
        "/oauth2/token"
    )
    assert set(people["scopes"]) == set(names.LOGIN_SCOPES)
    assert set(integrations["scopes"]) == {f"{names.RESOURCE_SERVER_ID}/{s}" for s in names.API_SCOPES}
    assert "PKCE" in schemes["people"]["description"]


def test_each_operation_asks_for_the_scope_the_authorizer_checks(document):
    for route in SENDER_ROUTES:
        if route.public:
            continue
        security = operation(document, route.method, route.path)["security"]
        assert security == [{"people": [route.scopes[0]]}, {"integrations": [route.scopes[0]]}], route


def test_the_served_document_names_this_deployment_login_domain(monkeypatch):
    from tachiai.api.contract import served_document

    monkeypatch.setenv(names.ENV_LOGIN_URL, "https://acme.auth.ap-northeast-1.amazoncognito.com/")
    monkeypatch.setenv(names.ENV_PUBLIC_URL, "https://sign.example.co.jp/prod")
    served = served_document(build_sender_app())
    flow = served["components"]["securitySchemes"]["people"]["flows"]["authorizationCode"]
    assert flow["tokenUrl"] == "https://acme.auth.ap-northeast-1.amazoncognito.com/oauth2/token"
    assert served["servers"] == [{"url": "https://sign.example.co.jp/prod"}]


def test_the_recipient_pages_are_left_out_and_the_description_says_so(document):
    assert not [p for p in document["paths"] if p.startswith("/s/")]
    assert "/s/{token}" in document["info"]["description"]


def test_the_errors_a_service_raises_are_read_from_its_docstring():
    def service() -> None:
        """:raises NotFound: none. :raises EnvelopeNotSent, EnvelopeAlreadyEnded: ended.
        :raises InvalidRequest / DocumentNotUploaded: as elsewhere."""

    assert [e.__name__ for e in raised_errors(service)] == [
        "NotFound",
        "EnvelopeNotSent",
        "EnvelopeAlreadyEnded",
        "InvalidRequest",
        "DocumentNotUploaded",
    ]


def test_a_docstring_naming_no_tachiai_error_stops_the_app_from_being_built():
    def service() -> None:
        """:raises ValueError: a builtin escaping a public function."""

    with pytest.raises(LookupError):
        raised_errors(service)


def test_a_sender_route_without_documentation_is_refused_at_start():
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    handlers = {(r.method, r.path): (lambda: None) for r in names.ROUTES if r.function == "send"}
    docs = dict(SENDER_DOCS)
    docs.pop(("GET", "/v1/me"))
    with pytest.raises(LookupError, match="not documented"):
        register_routes(APIGatewayRestResolver(), "send", handlers, docs=docs)


def test_route_docs_take_their_description_from_the_handler_docstring(document):
    op = operation(document, "POST", "/v1/envelopes")
    assert "presigned upload" in op["description"]
    assert isinstance(SENDER_DOCS["POST", "/v1/envelopes"], RouteDoc)
    assert all(inspect.isfunction(s) for doc in SENDER_DOCS.values() for s in doc.services)
    assert all(issubclass(e, TachiaiError) for doc in SENDER_DOCS.values() for e in doc.errors)
