"""S1, S2, S5, S6: the sender REST API's contract — validation, identity, errors as JSON, OpenAPI.

The send function's Powertools app is called with API Gateway REST proxy events (as the Cognito
authorizer passes them) against moto's DynamoDB and S3. Sending itself, which needs the seal function
and the state machine, is covered end to end in test_envelope_workflow.py.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA
from tachiai.api.routing import is_console_page, register_routes
from tachiai.api.sender import build_sender_app
from tachiai.services.context import reset_services

from tests.fixtures.pdfs import simple_pdf

REGION = "ap-northeast-1"
USER_SCOPE = "aws.cognito.signin.user.admin"
# As a Cognito access token's claims reach the function: no email (the API reads it from the pool).
TARO = {"sub": "sub-taro", "username": "sub-taro", "cognito:groups": "member", "scope": USER_SCOPE}
# A token whose pool adds email and name (as the local runtime's tokens do): no lookup.
JIRO = {
    "sub": "sub-jiro",
    "username": "sub-jiro",
    "email": "jiro@example.co.jp",
    "email_verified": "true",
    "name": "鈴木次郎",
}
INTEGRATION = {
    "sub": "client-erp",
    "client_id": "client-erp",
    "scope": "tachiai-api/envelopes.read tachiai-api/envelopes.write",
}


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        names.ENV_TABLE: "envelopes",
        names.ENV_BUCKET: "documents",
        names.ENV_PUBLIC_URL: "https://sign.example.co.jp/prod",
        names.ENV_MAIL_FROM: "noreply@sign.example.co.jp",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool = cognito.create_user_pool(PoolName="senders")["UserPool"]["Id"]
        cognito.admin_create_user(
            UserPoolId=pool,
            Username="sub-taro",
            UserAttributes=[
                {"Name": "email", "Value": "taro@example.co.jp"},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": "山田太郎"},
            ],
        )
        monkeypatch.setenv(names.ENV_USER_POOL_ID, pool)
        boto3.client("dynamodb", region_name=REGION).create_table(TableName="envelopes", **TABLE_SCHEMA)
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket="documents", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        reset_services()
        yield build_sender_app()
    reset_services()


def call(
    app: Any, method: str, path: str, body: Any = None, claims: dict[str, str] | None = TARO, **query: str
) -> tuple[int, Any]:
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": None,
        "requestContext": {
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "r1",
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "pytest"},
            **({"authorizer": {"claims": claims}} if claims is not None else {}),
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
    response = app.resolve(event, None)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def envelope_request(**overrides: Any) -> dict[str, Any]:
    request = {
        "title": "秘密保持契約書",
        "message": "ご確認ください。",
        "participants": [
            {"name": "髙橋一郎", "email": "ichiro@example.jp"},
            {"name": "山﨑花子", "email": "hanako@example.jp", "access_code": "4729", "language": "en"},
        ],
        "documents": [{"name": "nda.pdf", "content_base64": base64.b64encode(simple_pdf()).decode()}],
    }
    request.update(overrides)
    return request


def test_the_openapi_document_lists_every_sender_route_of_the_shared_table(app):
    status, document = call(app, "GET", "/v1/openapi.json")
    assert status == 200
    served = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    wanted = {
        (r.method, r.path) for r in names.ROUTES if r.function == "send" and not is_console_page(r.path)
    }
    assert {(m, p.replace("<", "{").replace(">", "}")) for m, p in served} >= wanted - {
        ("GET", "/v1/openapi.json")
    }
    assert "CreateEnvelopeRequest" in json.dumps(document["components"])


def test_a_handler_table_that_misses_a_route_is_refused_at_start():
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    with pytest.raises(LookupError):
        register_routes(APIGatewayRestResolver(), "send", {("GET", "/v1/envelopes"): lambda: None})


def test_creating_an_envelope_gives_a_draft_with_participants_in_order_and_no_secrets(app):
    status, envelope = call(app, "POST", "/v1/envelopes", envelope_request())
    assert status == 201
    assert envelope["status"] == "draft" and envelope["id"].startswith("env_")
    assert [p["email"] for p in envelope["participants"]] == ["ichiro@example.jp", "hanako@example.jp"]
    assert envelope["participants"][1]["auth_methods"] == ["email_link", "access_code"]
    assert "4729" not in json.dumps(envelope) and "scrypt" not in json.dumps(envelope)
    assert envelope["uploads"] == []


def test_a_large_document_gets_a_presigned_upload_instead_of_travelling_in_the_request(app):
    status, envelope = call(app, "POST", "/v1/envelopes", envelope_request(documents=[{"name": "big.pdf"}]))
    assert status == 201
    upload = envelope["uploads"][0]
    assert upload["document_id"] == "d1" and upload["url"].startswith("https://")
    # A key of its own, never where the document is kept (copied there when the envelope is sent)
    assert upload["fields"]["key"].startswith(f"envelopes/{envelope['id']}/uploads/d1/")
    assert "policy" in upload["fields"] and "x-amz-signature" in upload["fields"]


def test_invalid_requests_answer_400_saying_where_without_echoing_values(app):
    request = envelope_request(participants=[{"name": "A", "email": "not-an-address", "access_code": "12"}])
    status, body = call(app, "POST", "/v1/envelopes", request)
    assert status == 400 and body["error"]["code"] == "invalid_request"
    locations = {p["location"] for p in body["error"]["problems"]}
    assert any("email" in loc for loc in locations) and any("access_code" in loc for loc in locations)
    assert "not-an-address" not in json.dumps(body) and '"12"' not in json.dumps(body)


def test_the_same_address_twice_is_refused_naming_both_participants(app):
    twice = [{"name": "A", "email": "a@example.jp"}, {"name": "B", "email": "A@example.jp"}]
    status, body = call(app, "POST", "/v1/envelopes", envelope_request(participants=twice))
    assert status == 400 and body["error"]["code"] == "duplicate_participant"
    assert (
        body["error"]["message"]["en"] == "Participants 1 and 2 have the same email address (A@example.jp)."
    )


def test_a_file_that_is_not_a_pdf_is_refused_with_its_reason_in_japanese_and_english(app):
    docx = base64.b64encode(b"PK\x03\x04 word/document.xml").decode()
    status, body = call(
        app, "POST", "/v1/envelopes", envelope_request(documents=[{"name": "a.docx", "content_base64": docx}])
    )
    assert status == 400 and body["error"]["code"] == "not_pdf"
    assert "PDF" in body["error"]["message"]["ja"] and "PDF" in body["error"]["message"]["en"]


def test_another_sender_cannot_see_or_cancel_the_envelope(app):
    _, envelope = call(app, "POST", "/v1/envelopes", envelope_request())
    path = f"/v1/envelopes/{envelope['id']}"
    assert call(app, "GET", path, claims=JIRO)[0] == 404
    assert call(app, "POST", f"{path}/cancel", {}, claims=JIRO)[0] == 404
    status, mine = call(app, "GET", path)
    assert status == 200 and [e["kind"] for e in mine["events"]] == ["envelope.created"]


def test_an_administrator_may_read_and_download_any_envelope_but_not_change_it(app):
    # Given Taro's envelope, and Hanako of the admin group
    _, envelope = call(app, "POST", "/v1/envelopes", envelope_request())
    path = f"/v1/envelopes/{envelope['id']}"
    admin = {**JIRO, "sub": "sub-hanako", "email": "hanako@example.co.jp", "cognito:groups": "admin"}
    # She reads it and its download links (the whole ledger is hers to search and export) ...
    status, seen = call(app, "GET", path, claims=admin)
    assert status == 200 and seen["id"] == envelope["id"] and seen["events"]
    status, files = call(app, "GET", f"{path}/downloads", claims=admin)
    assert status == 200 and [f["name"] for f in files["downloads"]] == ["nda.pdf"]
    # ... but changes stay with the owner
    assert call(app, "POST", f"{path}/cancel", {}, claims=admin)[0] == 404
    assert call(app, "PATCH", f"{path}/metadata", {"amount": 1}, claims=admin)[0] == 404


def test_a_request_without_identity_claims_is_forbidden(app):
    status, body = call(app, "GET", "/v1/envelopes", claims=None)
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_a_staff_members_email_and_name_come_from_the_user_pool(app):
    status, envelope = call(app, "POST", "/v1/envelopes", envelope_request())
    assert status == 201
    assert (envelope["sender"]["name"], envelope["sender"]["email"]) == ("山田太郎", "taro@example.co.jp")


def test_a_participant_no_mail_could_reach_is_refused_with_400_naming_them_and_the_field(app):
    participants = [{"name": "山田花子", "email": "花子@example.jp"}]
    status, body = call(app, "POST", "/v1/envelopes", envelope_request(participants=participants))
    assert status == 400 and body["error"]["code"] == "participant_not_mailable"
    assert "participants[0].email" in body["error"]["message"]["en"]
    assert "花子@example.jp" in body["error"]["message"]["ja"]


def test_a_staff_member_whose_pool_email_is_unverified_cannot_send(app):
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = os.environ[names.ENV_USER_POOL_ID]
    cognito.admin_create_user(
        UserPoolId=pool,
        Username="sub-renamed",
        UserAttributes=[
            {"Name": "email", "Value": "ceo@example.co.jp"},
            {"Name": "email_verified", "Value": "false"},
        ],
    )
    renamed = {**TARO, "sub": "sub-renamed", "username": "sub-renamed"}
    status, body = call(app, "POST", "/v1/envelopes", envelope_request(), claims=renamed)
    assert status == 403 and body["error"]["code"] == "email_not_verified"


def test_a_user_no_longer_in_the_pool_is_forbidden(app):
    gone = {**TARO, "sub": "sub-gone", "username": "sub-gone"}
    status, body = call(app, "GET", "/v1/envelopes", claims=gone)
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_an_integration_sends_as_itself_with_notices_to_the_integration_email(app, monkeypatch):
    monkeypatch.setenv(names.ENV_INTEGRATION_EMAIL, "contracts@example.co.jp")
    reset_services()
    status, envelope = call(app, "POST", "/v1/envelopes", envelope_request(), claims=INTEGRATION)
    assert status == 201
    assert (envelope["sender"]["name"], envelope["sender"]["email"]) == (
        "API (client-erp)",
        "contracts@example.co.jp",
    )
    status, listed = call(app, "GET", "/v1/envelopes", claims=INTEGRATION)
    assert [e["id"] for e in listed["envelopes"]] == [envelope["id"]]
    assert call(app, "GET", "/v1/envelopes")[1]["envelopes"] == []  # not Taro's


def test_an_integration_is_refused_until_its_notice_address_is_configured(app):
    status, body = call(app, "POST", "/v1/envelopes", envelope_request(), claims=INTEGRATION)
    assert status == 403 and body["error"]["code"] == "integration_not_configured"
    assert "integration_email" in body["error"]["message"]["en"]


def test_envelopes_are_listed_by_status(app):
    _, first = call(app, "POST", "/v1/envelopes", envelope_request())
    _, second = call(app, "POST", "/v1/envelopes", envelope_request(title="業務委託契約書"))
    call(app, "POST", f"/v1/envelopes/{second['id']}/cancel", {"reason": "誤送信"})
    _, drafts = call(app, "GET", "/v1/envelopes", status="draft")
    _, cancelled = call(app, "GET", "/v1/envelopes", status="cancelled")
    assert [e["id"] for e in drafts["envelopes"]] == [first["id"]]
    assert [e["id"] for e in cancelled["envelopes"]] == [second["id"]]
    assert cancelled["envelopes"][0]["outcome_reason"] == "誤送信"
    assert call(app, "GET", "/v1/envelopes", status="nonsense")[0] == 400


def test_cancelling_twice_says_it_is_already_cancelled(app):
    _, envelope = call(app, "POST", "/v1/envelopes", envelope_request())
    path = f"/v1/envelopes/{envelope['id']}/cancel"
    assert call(app, "POST", path, {})[0] == 200
    status, body = call(app, "POST", path, {})
    assert status == 409 and body["error"]["code"] == "envelope_already_cancelled"


def test_reminding_a_draft_says_it_has_not_been_sent(app):
    _, envelope = call(app, "POST", "/v1/envelopes", envelope_request())
    status, body = call(app, "POST", f"/v1/envelopes/{envelope['id']}/remind")
    assert status == 409 and body["error"]["code"] == "envelope_not_sent"
