"""Issue 10, section 5: hypothesis fuzzing of every recipient form input, below HTTP.

What a recipient types (access code, reason, the newcomer's name/email/organization) and what their
browser sends (``Accept-Language``, ``?lang=``, the body itself) reaches these functions first. Each
either gives an answer or raises tachiai's typed error (or pydantic's ValidationError, which the
route turns into one) — never another exception that would become a 5xx with a traceback. The same
inputs over HTTP, on the local runtime: tests/integration/test_api_fuzzing.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tachiai.api.routing import parse_json_body, unreadable_body
from tachiai.domain.errors import InvalidRequest
from tachiai.domain.tokens import access_code_matches, hash_access_code
from tachiai.services.recipient import ForwardRequest, is_well_formed
from tachiai.web.signing_page import negotiate_language

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
    max_examples=200,
)

ANY_TEXT = st.text(alphabet=st.characters(codec=None))
"""Every code point, lone surrogates included: what ``json.loads`` makes of ``"\\ud800"``."""
STORED = hash_access_code("4729")


@settings(FUZZ, max_examples=30)  # scrypt makes each try deliberately slow
@given(code=ANY_TEXT)
@example(code="\ud800")
def test_any_typed_access_code_is_either_right_or_wrong(code: str):
    assert access_code_matches(code, STORED) is (code == "4729")


@settings(FUZZ, max_examples=20)  # scrypt makes each try deliberately slow
@given(code=st.text(max_size=40))
def test_any_typed_access_code_without_surrogates_is_either_right_or_wrong(code: str):
    assert access_code_matches(code, STORED) is (code == "4729")


FORWARD_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "name": st.none() | ANY_TEXT | st.integers(),
        "email": st.none() | ANY_TEXT | st.emails() | st.integers(),
        "organization": st.none() | ANY_TEXT,
        "reason": st.none() | ANY_TEXT,
        "extra": ANY_TEXT,
    },
)


@FUZZ
@given(fields=FORWARD_FIELDS)
def test_any_forward_form_is_a_valid_request_or_a_validation_error(fields: dict[str, Any]):
    try:
        request = ForwardRequest.model_validate(fields)
    except ValidationError:
        return
    # What is accepted can be stored and mailed: plain text that encodes as UTF-8
    for value in (request.name, request.email, request.organization, request.reason):
        (value or "").encode("utf-8")


@FUZZ
@given(header=st.none() | st.text(max_size=80), query=st.none() | st.text(max_size=12))
@example(header="*;q=-1, en;q=nan, ja;q=inf", query=None)
@example(header=",,,;;;q=", query="\x00")
def test_any_accept_language_and_lang_query_gives_a_language(header: str | None, query: str | None):
    assert negotiate_language(header, query, "ja") in ("ja", "en", "zh")


@FUZZ
@given(token=ANY_TEXT)
def test_any_path_token_is_judged_well_formed_or_not(token: str):
    assert is_well_formed(token) in (True, False)


# --- request bodies, before any route (tachiai.api.routing) -------------------------------------------


@FUZZ
@given(body=ANY_TEXT | st.binary().map(lambda b: b.decode("latin-1")))
@example(body="[" * 100_000 + "]" * 100_000)
@example(body='{"reason": "\\ud800"}')
@example(body='"\\udbff\\u0041"')
def test_a_json_body_is_parsed_or_refused_as_malformed_json(body: str):
    try:
        value = parse_json_body(body)
    except json.JSONDecodeError:
        return
    # What is accepted re-encodes as UTF-8 everywhere (no lone surrogate got through)
    json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_a_json_body_with_a_surrogate_pair_is_the_character_it_encodes():
    # A pair is how JSON writes a character beyond the BMP: it is not a lone surrogate
    assert parse_json_body('{"name": "\\ud842\\udfb7"}') == {"name": "𠮷"}


@FUZZ
@given(
    raw=st.binary(max_size=200),
    encoded=st.booleans(),
    content_type=st.none()
    | st.sampled_from(
        ["application/json", "multipart/form-data", "multipart/form-data; boundary=x", "text/plain"]
    )
    | st.text(max_size=60),
)
def test_any_event_body_is_readable_or_refused_as_a_bad_request(
    raw: bytes, encoded: bool, content_type: str | None
):
    event = {
        "body": base64.b64encode(raw).decode() if encoded else raw.decode("latin-1"),
        "isBase64Encoded": encoded,
        "headers": None if content_type is None else {"Content-Type": content_type},
    }
    assert unreadable_body(event) is None or isinstance(unreadable_body(event), InvalidRequest)


def test_a_base64_body_that_is_not_utf8_is_refused():
    event = {"body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True, "headers": {}}
    refusal = unreadable_body(event)
    assert isinstance(refusal, InvalidRequest) and refusal.http_status == 400


def test_a_multipart_body_without_a_boundary_is_refused():
    event = {
        "body": base64.b64encode(b"--x\r\n--x--").decode(),
        "isBase64Encoded": True,
        "headers": {"content-type": "multipart/form-data"},
    }
    assert isinstance(unreadable_body(event), InvalidRequest)
