"""Local runtime: sender tokens checked like the Cognito authorizer, claims shaped like a REST API's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tachiai.domain.errors import ConfigurationError
from tachiai.local.local_auth import LocalTokens, authorize_header, load_or_create_secret

SECRET = bytes(range(32))
NOW = datetime(2026, 11, 22, 1, 15, 3, tzinfo=UTC)  # a Sunday


@pytest.fixture
def tokens() -> LocalTokens:
    return LocalTokens(SECRET)


def _token(tokens: LocalTokens, **changes: object) -> str:
    values: dict[str, object] = {
        "sub": "u-1",
        "email": "ichiro@example.co.jp",
        "name": "佐藤一郎",
        "now": NOW,
    }
    values.update(changes)
    return tokens.issue(**values)  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(segment: str) -> dict[str, object]:
    value: dict[str, object] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return value


def _segments(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    return _json(header), _json(payload), signature


def _signed(header: dict[str, object], payload: dict[str, object], secret: bytes = SECRET) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_issued_token_verifies_to_its_claims(tokens):
    claims = tokens.verify(_token(tokens), now=NOW)
    assert claims is not None
    assert claims["sub"] == "u-1"
    assert claims["email"] == "ichiro@example.co.jp"
    assert claims["name"] == "佐藤一郎"
    assert claims["token_use"] == "access"
    assert claims["scope"] == "aws.cognito.signin.user.admin"
    assert claims["username"] == "u-1"
    assert claims["iss"] == "tachiai-local"


def test_integration_token_is_the_client_with_its_scopes(tokens):
    claims = tokens.verify(tokens.issue_integration("client-9"), now=datetime.now(UTC))
    assert claims is not None
    assert claims["sub"] == claims["client_id"] == "client-9"
    assert claims["scope"] == "tachiai-api/envelopes.read tachiai-api/envelopes.write"
    assert "username" not in claims and "email" not in claims


def test_token_is_a_compact_hs256_jws(tokens):
    header, payload, _ = _segments(_token(tokens))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload["cognito:groups"] == ["member"]
    assert payload["exp"] == payload["iat"] + 12 * 3600  # type: ignore[operator]


def test_every_claim_is_a_string_as_the_rest_authorizer_passes_it(tokens):
    claims = tokens.verify(_token(tokens), now=NOW)
    assert claims is not None
    assert all(isinstance(value, str) for value in claims.values())


def test_groups_are_comma_joined(tokens):
    claims = tokens.verify(_token(tokens, groups=("admin", "member")), now=NOW)
    assert claims is not None
    assert claims["cognito:groups"] == "admin,member"


def test_one_group_is_its_name(tokens):
    claims = tokens.verify(_token(tokens), now=NOW)
    assert claims is not None
    assert claims["cognito:groups"] == "member"


def test_exp_and_iat_are_java_dates_and_auth_time_stays_epoch(tokens):
    claims = tokens.verify(_token(tokens, ttl_seconds=3600), now=NOW)
    assert claims is not None
    assert claims["iat"] == "Sun Nov 22 01:15:03 UTC 2026"
    assert claims["exp"] == "Sun Nov 22 02:15:03 UTC 2026"
    assert claims["auth_time"] == str(int(NOW.timestamp()))


def test_expired_token_is_refused(tokens):
    token = _token(tokens, ttl_seconds=60)
    assert tokens.verify(token, now=NOW + timedelta(seconds=59)) is not None
    assert tokens.verify(token, now=NOW + timedelta(seconds=60)) is None


def test_tampered_payload_is_refused(tokens):
    header, payload, signature = _token(tokens).split(".")
    claims = _json(payload)
    claims["cognito:groups"] = ["admin"]
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert tokens.verify(forged, now=NOW) is None


def test_tampered_signature_is_refused(tokens):
    header, payload, signature = _token(tokens).split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "="))
    flipped[0] ^= 1
    assert tokens.verify(f"{header}.{payload}.{_b64(bytes(flipped))}", now=NOW) is None


def test_token_signed_with_another_secret_is_refused(tokens):
    other = LocalTokens(b"\x01" * 32)
    assert tokens.verify(_token(other), now=NOW) is None


def test_alg_none_is_refused(tokens):
    _, payload, _ = _segments(_token(tokens))
    unsigned = f"{_b64(json.dumps({'alg': 'none'}).encode())}.{_b64(json.dumps(payload).encode())}."
    assert tokens.verify(unsigned, now=NOW) is None
    # even with a valid HS256 MAC attached, the header must say HS256
    assert tokens.verify(_signed({"alg": "none"}, payload), now=NOW) is None


def test_correctly_signed_token_from_another_issuer_is_refused(tokens):
    _, payload, _ = _segments(_token(tokens))
    assert tokens.verify(_signed({"alg": "HS256"}, payload), now=NOW) is not None  # the control
    assert tokens.verify(_signed({"alg": "HS256"}, {**payload, "iss": "elsewhere"}), now=NOW) is None
    assert tokens.verify(_signed({"alg": "HS256"}, {**payload, "token_use": "id"}), now=NOW) is None


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "é.é.é", "..", "!!!.???.###", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"],
)
def test_malformed_token_is_refused(tokens, token):
    assert tokens.verify(token, now=NOW) is None


def test_signed_token_without_a_numeric_exp_is_refused(tokens):
    _, payload, _ = _segments(_token(tokens))
    assert tokens.verify(_signed({"alg": "HS256"}, {**payload, "exp": "tomorrow"}), now=NOW) is None
    assert tokens.verify(_signed({"alg": "HS256"}, {**payload, "exp": True}), now=NOW) is None


def test_short_secret_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        LocalTokens(b"short")


# --- the Authorization header ----------------------------------------------------------------------


def test_bearer_header_is_accepted(tokens):
    token = tokens.issue("u-1", "a@example.jp", "A")
    assert authorize_header(tokens)(f"Bearer {token}") is not None


def test_bare_token_header_is_accepted(tokens):
    token = tokens.issue("u-1", "a@example.jp", "A")
    claims = authorize_header(tokens)(token)
    assert claims is not None
    assert claims["sub"] == "u-1"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.token"]
)
def test_missing_or_unusable_header_is_refused(tokens, header):
    assert authorize_header(tokens)(header) is None


# --- the secret --------------------------------------------------------------------------------------


def test_secret_file_is_created_owner_only(tmp_path: Path):
    path = tmp_path / "token-secret"
    secret = load_or_create_secret(path)
    assert len(secret) == 32
    assert path.read_bytes() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token-secret"]  # no draft left behind


def test_secret_is_reused_on_later_runs(tmp_path: Path):
    path = tmp_path / "token-secret"
    first = load_or_create_secret(path)
    assert load_or_create_secret(path) == first
    token = LocalTokens(first).issue("u-1", "a@example.jp", "A")
    assert LocalTokens(load_or_create_secret(path)).verify(token) is not None


def test_secrets_of_two_state_directories_differ(tmp_path: Path):
    assert load_or_create_secret(tmp_path / "a") != load_or_create_secret(tmp_path / "b")


def test_damaged_secret_file_is_a_configuration_error(tmp_path: Path):
    path = tmp_path / "token-secret"
    path.write_bytes(b"")
    with pytest.raises(ConfigurationError):
        load_or_create_secret(path)
