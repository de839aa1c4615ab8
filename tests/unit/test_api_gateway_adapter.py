"""Local runtime: HTTP becomes the API Gateway REST proxy event the handlers get in the cloud, and back."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from tachiai.api.routing import powertools_path
from tachiai.local.api_gateway import MAX_BODY_BYTES, ApiGatewayAdapter
from tachiai.names import ROUTES, Route
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

CLAIMS = {
    "sub": "u-1",
    "username": "u-1",
    "email": "ichiro@example.co.jp",
    "cognito:groups": "member",
    "scope": "aws.cognito.signin.user.admin",
}
READ_ONLY_INTEGRATION = {"sub": "c-1", "client_id": "c-1", "scope": "tachiai-api/envelopes.read"}
PDF = b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n\x00\xff binary"


class FakeLambda:
    """Records each invocation and answers with ``response`` (or raises ``error``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.response: Any = {"statusCode": 200, "body": '{"ok": true}'}
        self.error: Exception | None = None

    def __call__(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((function, event))
        if self.error is not None:
            raise self.error
        result: dict[str, Any] = self.response
        return result

    @property
    def event(self) -> dict[str, Any]:
        (call,) = self.calls
        return call[1]


class FakeAuthorizer:
    def __init__(self) -> None:
        self.headers: list[str | None] = []

    def __call__(self, header: str | None) -> dict[str, str] | None:
        self.headers.append(header)
        if header == "Bearer reader":
            return dict(READ_ONLY_INTEGRATION)
        return dict(CLAIMS) if header == "Bearer good" else None


@pytest.fixture
def fn() -> FakeLambda:
    return FakeLambda()


@pytest.fixture
def authorizer() -> FakeAuthorizer:
    return FakeAuthorizer()


def _outbox_stub(environ: Any, start_response: Any) -> Any:
    return Response(f"mounted {Request(environ).path}", content_type="text/plain")(environ, start_response)


@pytest.fixture
def client(fn: FakeLambda, authorizer: FakeAuthorizer) -> Client:
    adapter = ApiGatewayAdapter(
        routes=ROUTES, invoke=fn, authorize=authorizer, stage="local", extra_apps={"/_local/": _outbox_stub}
    )
    return Client(adapter)


SIGNED_IN = {"Authorization": "Bearer good"}

# --- routing ---------------------------------------------------------------------------------------


def test_route_with_a_parameter_invokes_its_function(client, fn):
    client.get("/s/abc123")
    function, event = fn.calls[0]
    assert function == "agree"
    assert event["resource"] == "/s/{token}"
    assert event["pathParameters"] == {"token": "abc123"}


def test_path_parameters_are_url_decoded_within_their_segment(client, fn):
    client.get("/s/a%20b%2Fc")
    assert fn.event["pathParameters"] == {"token": "a b/c"}
    assert fn.event["resource"] == "/s/{token}"


def test_two_parameters_are_matched_by_position(client, fn):
    client.get("/s/tok/documents/doc-7")
    assert fn.event["pathParameters"] == {"token": "tok", "document_id": "doc-7"}
    assert fn.event["resource"] == "/s/{token}/documents/{document_id}"


def test_literal_route_has_no_path_parameters(client, fn):
    client.get("/v1/envelopes", headers=SIGNED_IN)
    assert fn.event["resource"] == "/v1/envelopes"
    assert fn.event["pathParameters"] is None


@pytest.mark.parametrize("path", ["/nowhere", "/s", "/s/", "/s/tok/unknown", "/v1/envelopes/x/y/z"])
def test_unknown_path_is_403_missing_authentication_token(client, fn, path):
    response = client.get(path, headers=SIGNED_IN)
    assert response.status_code == 403
    assert response.json == {"message": "Missing Authentication Token"}
    assert fn.calls == []


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "OPTIONS"])
def test_known_path_with_an_undeclared_method_is_403_too(client, fn, method):
    response = client.open("/s/tok", method=method)
    assert response.status_code == 403
    assert fn.calls == []


# --- authorization -----------------------------------------------------------------------------------


def test_private_route_without_a_token_is_401_and_not_invoked(client, fn, authorizer):
    response = client.get("/v1/envelopes")
    assert response.status_code == 401
    assert response.json == {"message": "Unauthorized"}
    assert authorizer.headers == [None]
    assert fn.calls == []


def test_private_route_with_a_bad_token_is_401_and_not_invoked(client, fn, authorizer):
    response = client.get("/v1/envelopes", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert authorizer.headers == ["Bearer forged"]
    assert fn.calls == []


def test_private_route_gets_the_claims_in_the_request_context(client, fn):
    client.post("/v1/envelopes/e1/send", headers=SIGNED_IN)
    assert fn.event["requestContext"]["authorizer"] == {"claims": CLAIMS}


def test_an_integration_with_the_read_scope_may_read(client, fn):
    response = client.get("/v1/envelopes", headers={"Authorization": "Bearer reader"})
    assert response.status_code == 200
    assert fn.event["requestContext"]["authorizer"] == {"claims": READ_ONLY_INTEGRATION}


def test_an_integration_without_the_write_scope_may_not_write_and_is_not_invoked(client, fn):
    response = client.post("/v1/envelopes/e1/send", headers={"Authorization": "Bearer reader"})
    assert response.status_code == 401
    assert fn.calls == []


def test_public_route_never_asks_the_authorizer_and_carries_no_claims(client, fn, authorizer):
    client.get("/s/tok", headers=SIGNED_IN)
    assert authorizer.headers == []
    assert "authorizer" not in fn.event["requestContext"]


# --- the event ---------------------------------------------------------------------------------------


def test_request_context_describes_the_stage_the_caller_and_the_request(client, fn):
    before = int(time.time() * 1000)
    response = client.get(
        "/s/tok",
        headers={"User-Agent": "Mozilla/5.0 test", "X-Forwarded-For": "198.51.100.1"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    context = fn.event["requestContext"]
    assert context["stage"] == "local"
    assert context["path"] == "/local/s/tok"
    assert context["resourcePath"] == "/s/{token}"
    assert context["httpMethod"] == "GET"
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "local"
    assert context["identity"]["sourceIp"] == "203.0.113.9"  # never a forwarded header
    assert context["identity"]["userAgent"] == "Mozilla/5.0 test"
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert before <= context["requestTimeEpoch"] <= time.time() * 1000
    assert fn.event["path"] == "/s/tok"
    assert fn.event["httpMethod"] == "GET"
    assert fn.event["stageVariables"] is None


def test_each_header_is_in_headers_and_in_multi_value_headers(client, fn):
    client.get("/s/tok", headers={"X-Probe": "one", "Accept-Language": "ja,en;q=0.5"})
    assert fn.event["headers"]["X-Probe"] == "one"
    assert fn.event["multiValueHeaders"]["X-Probe"] == ["one"]
    # a comma inside a value is not a second value
    assert fn.event["multiValueHeaders"]["Accept-Language"] == ["ja,en;q=0.5"]


def test_no_query_string_gives_none(client, fn):
    client.get("/s/tok")
    assert fn.event["queryStringParameters"] is None
    assert fn.event["multiValueQueryStringParameters"] is None


def test_single_query_parameter_is_decoded(client, fn):
    client.get("/s/tok?lang=en&q=%E5%A5%91%E7%B4%84+%E6%9B%B8")
    assert fn.event["queryStringParameters"] == {"lang": "en", "q": "契約 書"}


def test_repeated_query_parameter_keeps_every_value_in_multi_value(client, fn):
    client.get("/s/tok?status=sent&status=completed")
    assert fn.event["queryStringParameters"] == {"status": "completed"}
    assert fn.event["multiValueQueryStringParameters"] == {"status": ["sent", "completed"]}


def test_form_body_arrives_as_text(client, fn):
    client.post("/s/tok/agree", data={"terms": "on", "name": "山田"})
    assert fn.event["isBase64Encoded"] is False
    assert fn.event["body"] in ("terms=on&name=%E5%B1%B1%E7%94%B0", "name=%E5%B1%B1%E7%94%B0&terms=on")


def test_json_body_arrives_as_text(client, fn):
    body = json.dumps({"title": "秘密保持契約書"}, ensure_ascii=False)
    client.post("/v1/envelopes", data=body.encode(), content_type="application/json", headers=SIGNED_IN)
    assert fn.event["isBase64Encoded"] is False
    assert json.loads(fn.event["body"]) == {"title": "秘密保持契約書"}


def test_no_body_is_none(client, fn):
    client.get("/s/tok")
    assert fn.event["body"] is None
    assert fn.event["isBase64Encoded"] is False


@pytest.mark.parametrize("content_type", ["application/pdf", "application/octet-stream"])
def test_binary_body_arrives_base64_and_decodes_to_the_same_bytes(client, fn, content_type):
    client.post("/v1/envelopes", data=PDF, content_type=content_type, headers=SIGNED_IN)
    assert fn.event["isBase64Encoded"] is True
    assert base64.b64decode(fn.event["body"]) == PDF


def test_multipart_body_arrives_base64(client, fn):
    response = client.post(
        "/s/tok/forward", data={"file": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert fn.event["isBase64Encoded"] is True
    assert PDF in base64.b64decode(fn.event["body"])


def test_body_over_10_mb_is_413_and_not_invoked(client, fn):
    response = client.post("/s/tok/agree", data=b"x" * (MAX_BODY_BYTES + 1), content_type="text/plain")
    assert response.status_code == 413
    assert response.json == {"message": "Request Too Long"}
    assert fn.calls == []


def test_body_of_exactly_10_mb_passes(client, fn):
    client.post("/s/tok/agree", data=b"x" * MAX_BODY_BYTES, content_type="text/plain")
    assert len(fn.event["body"]) == MAX_BODY_BYTES


def test_a_powertools_resolver_reads_the_event_as_in_the_cloud(client, fn):
    # Given a resolver like the handlers' one, reading what they read
    app = APIGatewayRestResolver()

    @app.post(powertools_path("/v1/envelopes/{envelope_id}/send"))
    def send(envelope_id: str) -> dict[str, Any]:
        event = app.current_event
        return {
            "id": envelope_id,
            "sub": event.request_context.authorizer.claims["sub"],
            "lang": (event.query_string_parameters or {}).get("lang"),
            "body": event.decoded_body,
            "ip": event.request_context.identity.source_ip,
        }

    # When a request goes through the adapter
    client.post(
        "/v1/envelopes/env%201/send?lang=ja",
        data=b"{}",
        content_type="application/json",
        headers=SIGNED_IN,
        environ_base={"REMOTE_ADDR": "192.0.2.4"},
    )
    # Then Powertools routes it and sees every part
    result = app.resolve(fn.event, None)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {
        "id": "env 1",
        "sub": "u-1",
        "lang": "ja",
        "body": "{}",
        "ip": "192.0.2.4",
    }


# --- the response ------------------------------------------------------------------------------------


def test_status_body_and_headers_come_from_the_function(client, fn):
    fn.response = {"statusCode": 201, "headers": {"Location": "/v1/envelopes/e1"}, "body": '{"id": "e1"}'}
    response = client.post("/v1/envelopes", headers=SIGNED_IN)
    assert response.status_code == 201
    assert response.headers["Location"] == "/v1/envelopes/e1"
    assert response.json == {"id": "e1"}


def test_content_type_defaults_to_json(client, fn):
    fn.response = {"statusCode": 200, "body": "{}"}
    assert client.get("/s/tok").headers["Content-Type"] == "application/json"


def test_content_type_from_the_function_is_kept(client, fn):
    fn.response = {"statusCode": 200, "headers": {"content-type": "text/html; charset=utf-8"}, "body": "<p>"}
    assert client.get("/s/tok").headers.getlist("Content-Type") == ["text/html; charset=utf-8"]


def test_multi_value_headers_are_all_sent_and_win_over_single_ones(client, fn):
    fn.response = {
        "statusCode": 200,
        "headers": {"Set-Cookie": "lost=1", "X-Single": "kept"},
        "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
        "body": "",
    }
    response = client.get("/s/tok")
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["X-Single"] == "kept"


def test_base64_response_body_is_sent_as_bytes(client, fn):
    fn.response = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/pdf"},
        "body": base64.b64encode(PDF).decode(),
        "isBase64Encoded": True,
    }
    response = client.get("/s/tok/documents/d1")
    assert response.get_data() == PDF
    assert response.headers["Content-Type"] == "application/pdf"


def test_function_crash_is_502_and_logged(client, fn, caplog):
    fn.error = RuntimeError("agree: KeyError: 'boom'")
    with caplog.at_level(logging.ERROR, logger="tachiai.local.api_gateway"):
        response = client.get("/s/tok")
    assert response.status_code == 502
    assert response.json == {"message": "Internal server error"}
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        {"body": "no status"},
        {"statusCode": "200", "body": ""},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": {"X-N": 1}},
        {"statusCode": 200, "multiValueHeaders": {"X-N": "not a list"}},
    ],
)
def test_result_that_is_not_a_proxy_response_is_502(client, fn, result):
    fn.response = result
    response = client.get("/s/tok")
    assert response.status_code == 502
    assert response.json == {"message": "Internal server error"}


def test_extra_app_is_tried_first_and_sees_the_full_path(client, fn):
    response = client.get("/_local/outbox")
    assert response.get_data(as_text=True) == "mounted /_local/outbox"
    assert fn.calls == []


def test_routes_given_are_the_only_routes():
    fn = FakeLambda()
    adapter = ApiGatewayAdapter(
        routes=[Route("GET", "/only/{x}", "send", public=True)], invoke=fn, authorize=lambda _: None
    )
    client = Client(adapter)
    assert client.get("/only/1").status_code == 200
    assert client.get("/s/tok").status_code == 403


def test_literal_segment_wins_over_a_parameter_beside_it():
    fn = FakeLambda()
    routes = [
        Route("GET", "/v1/envelopes/{envelope_id}", "send", True),
        Route("GET", "/v1/envelopes/search", "agree", True),
    ]
    client = Client(ApiGatewayAdapter(routes=routes, invoke=fn, authorize=lambda _: None))
    client.get("/v1/envelopes/search")
    client.get("/v1/envelopes/e1")
    assert [(function, event["resource"]) for function, event in fn.calls] == [
        ("agree", "/v1/envelopes/search"),
        ("send", "/v1/envelopes/{envelope_id}"),
    ]
