"""Issue 10, section 5: property-based fuzzing of the HTTP API on the local runtime — zero 5xx.

Two fuzzers, both calling the local runtime's API Gateway adapter in process (a WSGI application: no
sockets, the same route table, authorizer and Lambda dispatch as over HTTP):

* schemathesis, from the sender API's own ``/v1/openapi.json``: every operation, with valid
  (positive) and invalid (negative) requests, once with generated path parameters and once on an
  envelope that exists;
* hypothesis strategies for the recipient's link routes (``/s/{token}...``), which are not in the
  OpenAPI document: the forms a browser posts (access code, terms, agree, reject with a reason, forward
  with name/email/organization) as form data or JSON, odd bodies and content types, tokens real,
  well-formed and malformed, ``?lang=`` and ``Accept-Language``.

Whatever is sent, the answer is never a 5xx, and never shows a traceback. Runs are deterministic
(``derandomize``, no example database) and bounded (a few dozen examples per operation, no shrinking:
a failure is reported with the input that failed).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from tachiai import names
from tachiai.api.routing import is_console_page
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf
from werkzeug.test import Client, TestResponse

SENDER = "fuzz.sender@tachiai.example"
ACCESS_CODE = "4729"

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,  # the local runtime's first call of a function loads it; timing is not the property
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

SENDER_OPERATIONS = [
    (r.method, r.path) for r in names.ROUTES if r.function == "send" and not is_console_page(r.path)
]
"""The API's operations (the console's pages are HTML, outside the OpenAPI document schemathesis reads)."""
WITH_ENVELOPE = [(m, p) for m, p in SENDER_OPERATIONS if "{envelope_id}" in p]
CREATING = {("POST", "/v1/envelopes"), ("POST", "/v1/imports")}
"""Operations whose valid requests create an envelope (about a second each on the local runtime)."""


def _examples(operation: tuple[str, str]) -> int:
    return 8 if operation in CREATING else 20


# --- the runtime --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def client(runtime: LocalRuntime) -> Client:
    return Client(runtime.app())


@pytest.fixture(scope="module")
def auth(runtime: LocalRuntime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.token(SENDER, 'ファズ送信者')}"}


@pytest.fixture(scope="module")
def schema(runtime: LocalRuntime, auth: dict[str, str]) -> Any:
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", runtime.app(), headers=auth)


def _create(client: Client, auth: dict[str, str], *participants: dict[str, Any]) -> str:
    pdf = base64.b64encode(sample_nda_pdf()).decode()
    response = client.post(
        "/v1/envelopes",
        json={
            "title": "ファズ試験",
            "participants": list(participants),
            "documents": [{"name": "契約書.pdf", "content_base64": pdf}],
        },
        headers=auth,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["id"])


def _link_token(runtime: LocalRuntime, address: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while not (mails := runtime.outbox.to(address)):
        assert time.monotonic() < deadline, f"no mail to {address}"
        time.sleep(0.05)
    link = next(link for link in mails[0].links if "/s/" in link)
    return link.split("/s/", 1)[1].split("/")[0].split("?")[0]


@pytest.fixture(scope="module")
def draft_id(client: Client, auth: dict[str, str]) -> str:
    """An envelope of the caller's, in draft: the sender operations are fuzzed against it too."""
    return _create(client, auth, {"name": "下書き 太郎", "email": "draft@example.com"})


def _live_links(runtime: LocalRuntime, client: Client, auth: dict[str, str], tag: str) -> dict[str, str]:
    """Two live recipient links: ``opener`` (access code, not opened) and ``actor`` (opened)."""
    opener_email, actor_email = f"{tag}.opener@example.com", f"{tag}.actor@example.com"
    opener = _create(client, auth, {"name": "開封 花子", "email": opener_email, "access_code": ACCESS_CODE})
    actor = _create(client, auth, {"name": "行為 一郎", "email": actor_email})
    for envelope_id in (opener, actor):
        assert client.post(f"/v1/envelopes/{envelope_id}/send", headers=auth).status_code == 202
    found = {"opener": _link_token(runtime, opener_email), "actor": _link_token(runtime, actor_email)}
    opened = client.post(f"/s/{found['actor']}/open", json={"accept_terms": "yes"})
    assert opened.status_code == 200, opened.get_data(as_text=True)
    return found


@pytest.fixture(scope="module")
def tokens(runtime: LocalRuntime, client: Client, auth: dict[str, str]) -> dict[str, str]:
    """Links the fuzzers use up: wrong codes lock one, a reject or forward ends the other."""
    return _live_links(runtime, client, auth, "fuzz")


@pytest.fixture(scope="module")
def untouched(runtime: LocalRuntime, client: Client, auth: dict[str, str]) -> dict[str, str]:
    """Links only the single-input tests use (each of which leaves them as they were)."""
    return _live_links(runtime, client, auth, "single")


def assert_no_server_error(response: TestResponse | Any, request: str) -> None:
    """The property: an answer below 500 that shows no traceback."""
    text = response.get_data(as_text=True) if isinstance(response, TestResponse) else response.text
    assert response.status_code < 500, f"{request} -> {response.status_code}: {text[:500]}"
    assert "Traceback (most recent call last)" not in text, f"{request} shows a traceback"


# --- the sender API, from its OpenAPI document ---------------------------------------------------


def _fuzz_operation(schema: Any, operation: tuple[str, str], auth: dict[str, str], **fixed: Any) -> None:
    method, path = operation
    api_operation = schema[path][method]
    modes = [GenerationMode.POSITIVE]
    if api_operation.body or api_operation.query:  # a bare path parameter has no invalid form to draw
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:

        @settings(FUZZ, max_examples=_examples(operation))
        @given(case=api_operation.as_strategy(generation_mode=mode, **fixed))
        def call(case: Any) -> None:
            response = case.call(headers=auth)
            assert_no_server_error(
                response, f"{method} {case.formatted_path} query={case.query!r} body={case.body!r}"[:1000]
            )

        call()


@pytest.mark.parametrize("operation", SENDER_OPERATIONS, ids=[f"{m} {p}" for m, p in SENDER_OPERATIONS])
def test_sender_api_never_answers_a_server_error_to_generated_requests(schema, auth, operation):
    _fuzz_operation(schema, operation, auth)


@pytest.mark.parametrize("operation", WITH_ENVELOPE, ids=[f"{m} {p}" for m, p in WITH_ENVELOPE])
def test_sender_api_never_answers_a_server_error_about_an_existing_envelope(
    schema, auth, draft_id, operation
):
    _fuzz_operation(schema, operation, auth, path_parameters={"envelope_id": draft_id})


# Bodies Powertools cannot read: before the fix each was a 502 from an uncaught exception in the
# send function (RecursionError, UnicodeDecodeError, ValueError).
UNREADABLE_BODIES = [
    pytest.param("application/json", b"[" * 100_000 + b"]" * 100_000, id="json-nested-100000-deep"),
    pytest.param("application/json-seq", b"\xff\xfe{}", id="json-like-type-not-utf8"),
    pytest.param("multipart/form-data", b"--x\r\n\r\n--x--\r\n", id="multipart-without-boundary"),
    pytest.param(
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="reason"\r\n\r\n\xff\r\n--x--\r\n',
        id="multipart-part-not-utf8",
    ),
]


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_BODIES)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/envelopes"),
        ("POST", "/v1/envelopes/{id}/cancel"),
        ("PATCH", "/v1/envelopes/{id}/metadata"),
    ],
)
def test_sender_api_answers_an_unreadable_body_with_400(
    client, auth, draft_id, method, path, content_type, body
):
    # Given a body no reader can decode, on a route that takes a body
    # When it is sent about an envelope that exists
    response = client.open(
        path.replace("{id}", draft_id),
        method=method,
        data=body,
        headers={**auth, "Content-Type": content_type},
    )
    # Then the answer is the API's own 400, not API Gateway's 502
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_sender_api_refuses_a_lone_surrogate_in_json_with_400(client, auth):
    # Given a draft, and a cancel reason that is a lone surrogate escape (valid JSON syntax, not I-JSON):
    # before the fix it reached DynamoDB, whose request could not be encoded (502)
    envelope_id = _create(client, auth, {"name": "取消 次郎", "email": "cancel@example.com"})
    response = client.post(
        f"/v1/envelopes/{envelope_id}/cancel",
        data=b'{"reason": "\\ud800"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    # Then it is refused as malformed JSON, and the envelope is still a draft
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert client.get(f"/v1/envelopes/{envelope_id}", headers=auth).get_json()["status"] == "draft"


# --- the recipient's link routes -------------------------------------------------------------------

FIELDS = ("accept_terms", "access_code", "reason", "name", "email", "organization")
PLAUSIBLE = st.sampled_from(
    ["yes", "on", "1", "no", "", ACCESS_CODE, "0000", "new.person@example.com", "山田 太郎", "理由があります"]
)
_json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    _json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
"""Any JSON value a client may send in place of a string (nested a little)."""


def _fields(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), values, max_size=6)


@st.composite
def recipient_requests(draw: st.DrawFn, tokens: dict[str, str], *, hostile: bool) -> dict[str, Any]:
    """A request to one of the recipient routes, as a browser or a client could send it.

    ``hostile`` adds the bodies found to crash the agree function before (JSON with lone surrogate
    escapes, JSON nested past the parser's recursion limit, non-UTF-8 bytes of a binary media type).
    """
    token = draw(
        st.sampled_from(sorted(tokens.values()))
        | st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            min_size=43,
            max_size=43,
        )
        | st.text(min_size=1, max_size=60)
    )
    base = "/s/" + quote(token, safe="")
    route = draw(
        st.sampled_from(["", "/open", "/agree", "/reject", "/forward", "/certificate", "/documents/"])
    )
    if route == "/documents/":
        route += quote(draw(st.sampled_from(["d1", "d2"]) | st.text(min_size=1, max_size=20)), safe="")
    method = "GET" if route in ("", "/certificate") or route.startswith("/documents/") else "POST"
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["Accept-Language"] = draw(
            st.sampled_from(["en", "ja", "zh-CN,zh;q=0.9", "*;q=-1"])
            | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
        )
    query = ""
    if draw(st.booleans()):
        query = "?" + urlencode({"lang": draw(st.sampled_from(["en", "ja", "xx"]) | st.text(max_size=10))})
    data: bytes | None = None
    if method == "POST":
        kinds = ["form", "json", "text"] + (["hostile-json", "deep-json", "binary"] if hostile else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "form":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urlencode(draw(_fields(PLAUSIBLE | st.text(max_size=300)))).encode()
        elif kind == "json":
            headers["Content-Type"] = "application/json"
            data = json.dumps(draw(_fields(PLAUSIBLE | JSON_VALUES) | JSON_VALUES)).encode()
        elif kind == "text":
            headers["Content-Type"] = draw(
                st.sampled_from(["text/plain", "application/json", "", "text/html"])
            )
            data = draw(st.text(max_size=200)).encode()
        elif kind == "hostile-json":
            headers["Content-Type"] = "application/json"
            lone = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udbff\\u0041"]))
            field = draw(st.sampled_from(FIELDS))
            # json.dumps would escape the backslash: write the escape itself, as a hostile client does
            data = f'{{"accept_terms": "yes", "{field}": "{lone}"}}'.encode()
        elif kind == "deep-json":
            headers["Content-Type"] = "application/json"
            depth = draw(st.sampled_from([2_000, 100_000]))
            data = b"[" * depth + b"]" * depth
        else:
            headers["Content-Type"] = draw(
                st.sampled_from(
                    ["application/octet-stream", "application/pdf", "multipart/form-data; boundary=x"]
                )
            )
            data = b"\xff" + draw(st.binary(max_size=100))
    return {"method": method, "path": base + route + query, "headers": headers, "data": data}


def _send(client: Client, request: dict[str, Any]) -> TestResponse:
    return client.open(
        request["path"], method=request["method"], headers=request["headers"], data=request["data"]
    )


def test_recipient_routes_never_answer_a_server_error_to_forms_and_json(client, tokens):
    # Given live links (one still asking for its access code, one opened) and strangers' tokens,
    # When a browser or client posts any form fields or JSON to any recipient route
    @settings(FUZZ, max_examples=100)
    @given(request=recipient_requests(tokens, hostile=False))
    def call(request: dict[str, Any]) -> None:
        # Then the answer is a page or a JSON error, never a 5xx or a traceback
        assert_no_server_error(_send(client, request), repr(request)[:1000])

    call()


def test_recipient_routes_never_answer_a_server_error_to_hostile_bodies(client, tokens):
    @settings(FUZZ, max_examples=60)
    @given(request=recipient_requests(tokens, hostile=True))
    def call(request: dict[str, Any]) -> None:
        assert_no_server_error(_send(client, request), repr(request)[:1000])

    call()


RECIPIENT_HOSTILE_BODIES = [
    pytest.param(
        "open",
        "application/json",
        b'{"accept_terms": "yes", "access_code": "\\ud800"}',
        id="open-code-lone-surrogate",
    ),
    pytest.param("reject", "application/json", b'{"reason": "\\udfff"}', id="reject-reason-lone-surrogate"),
    pytest.param(
        "open", "application/json", b"[" * 100_000 + b"]" * 100_000, id="open-json-nested-100000-deep"
    ),
    pytest.param("open", "application/octet-stream", b"\xff\x00", id="open-binary-not-utf8"),
]


@pytest.mark.parametrize(("action", "content_type", "body"), RECIPIENT_HOSTILE_BODIES)
def test_recipient_route_answers_a_hostile_body_without_a_server_error(
    client, untouched, action, content_type, body
):
    # Given a live link asking for its access code (reject: one that has opened the documents)
    token = untouched["actor" if action == "reject" else "opener"]
    # When the body is one Python's decoders choke on
    response = client.post(f"/s/{token}/{action}", data=body, headers={"Content-Type": content_type})
    # Then it is refused as a bad request, never a 502
    assert_no_server_error(response, f"POST /s/.../{action} {body[:60]!r}")
