"""Security rules on the sender API's ledger: a member learns nothing about other members' contracts
(no count, cost or cursor computed before an access filter), and a bad ``cursor`` is a 400
``invalid_cursor``, never a 5xx — whatever it holds.

The send function's Powertools app is called with API Gateway events against moto (the fixtures of
test_sender_api.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from tachiai.adapters.dynamodb import owner_partitions
from tachiai.adapters.ledger_index import _query_fingerprint
from tachiai.domain.ledger import LedgerQuery

from tests.integration.test_sender_api import JIRO, TARO, app, call, envelope_request

__all__ = ["app"]  # the fixture, used by name below

ADMIN = {**JIRO, "sub": "sub-hanako", "email": "hanako@example.co.jp", "cognito:groups": "admin"}
SABURO = {**JIRO, "sub": "sub-saburo", "email": "saburo@example.co.jp", "name": "佐藤三郎"}
SECRET_AMOUNT = 7_340_000


def _taro_contract(app: Any, title: str, amount: int, day: str, party: str) -> str:
    _, envelope = call(app, "POST", "/v1/envelopes", envelope_request(title=title))
    metadata = {"amount": amount, "contract_date": day, "parties": [party], "currency": "JPY"}
    status, _ = call(app, "PATCH", f"/v1/envelopes/{envelope['id']}/metadata", metadata)
    assert status == 200
    return str(envelope["id"])


@pytest.fixture
def taros_ledger(app: Any) -> list[str]:
    """Taro (a member) has three contracts; Jiro (another member) has none."""
    return [
        _taro_contract(app, "業務委託契約書", SECRET_AMOUNT, "2026-03-10", "株式会社極秘商事"),
        _taro_contract(app, "秘密保持契約書", 120_000, "2025-11-01", "Acme Corp."),
        _taro_contract(app, "売買基本契約書", 9_000_000, "2026-01-20", "株式会社極秘物産"),
    ]


def _search(app: Any, claims: dict[str, str], **query: str) -> tuple[int, Any]:
    return call(app, "GET", "/v1/envelopes", claims=claims, ledger="true", **query)


# --- no leak ----------------------------------------------------------------------------------------


def test_a_member_without_contracts_learns_nothing_about_another_members_amounts_or_names(app, taros_ledger):
    # Given Taro's contracts, Jiro binary-searches Taro's amount, dates and counterparties
    probes = [
        {"amount_min": "0", "amount_max": str(SECRET_AMOUNT - 1)},
        {"amount_min": str(SECRET_AMOUNT), "amount_max": str(SECRET_AMOUNT)},
        {"amount_min": str(SECRET_AMOUNT + 1)},
        {"amount_min": "1", "date_from": "2026-01-01"},
        {"date_from": "2026-03-10", "date_to": "2026-03-10"},
        {"date_from": "1990-01-01", "date_to": "1990-01-02"},
        {"counterparty": "極秘"},
        {"counterparty": "存在しない社名"},
        {"title": "業務委託"},
        {"limit": "1"},
        {},
    ]
    answers = [_search(app, JIRO, **probe) for probe in probes]
    # Then every answer is the same empty page: no field (a count, a cost, a cursor) varies with
    # what Taro stored.
    assert answers == [(200, {"contracts": [], "cursor": None})] * len(probes)


def test_a_member_finds_their_own_contracts_and_an_administrator_everyones(app, taros_ledger):
    status, mine = _search(app, TARO, amount_min=str(SECRET_AMOUNT), amount_max=str(SECRET_AMOUNT))
    assert status == 200 and [c["envelope_id"] for c in mine["contracts"]] == [taros_ledger[0]]
    assert set(mine) == {"contracts", "cursor"}
    status, found = _search(app, TARO, counterparty="極秘")
    assert {c["envelope_id"] for c in found["contracts"]} == {taros_ledger[0], taros_ledger[2]}
    status, everything = _search(app, ADMIN, counterparty="極秘")
    assert {c["envelope_id"] for c in everything["contracts"]} == {taros_ledger[0], taros_ledger[2]}


def test_a_members_pages_follow_each_other_in_their_own_ledger(app, taros_ledger):
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        status, page = _search(app, TARO, **query)
        assert status == 200
        seen += [c["envelope_id"] for c in page["contracts"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(taros_ledger)


def test_another_members_ledger_cursor_is_refused(app, taros_ledger):
    _, first = _search(app, TARO, limit="1")
    assert first["cursor"]
    status, body = _search(app, JIRO, limit="1", cursor=first["cursor"])
    assert status == 400 and body["error"]["code"] == "invalid_cursor"
    # The same cursor with other conditions is another search's cursor, too.
    status, body = _search(app, TARO, limit="1", cursor=first["cursor"], title="売買")
    assert status == 400 and body["error"]["code"] == "invalid_cursor"


def test_another_senders_list_cursor_is_refused(app):
    for _ in range(2):
        call(app, "POST", "/v1/envelopes", envelope_request())
    _, first = call(app, "GET", "/v1/envelopes", limit="1")
    assert first["cursor"]
    status, body = call(app, "GET", "/v1/envelopes", claims=SABURO, limit="1", cursor=first["cursor"])
    assert status == 400 and body["error"]["code"] == "invalid_cursor"
    status, second = call(app, "GET", "/v1/envelopes", limit="1", cursor=first["cursor"])
    assert status == 200 and len(second["envelopes"]) == 1


# --- malformed cursors --------------------------------------------------------------------------------


def _b64(data: bytes | str) -> str:
    return base64.urlsafe_b64encode(data.encode() if isinstance(data, str) else data).decode()


def _forged_key(gsi: str, partition: str, sort: str) -> dict[str, Any]:
    return {
        "pk": {"S": "ENV#env_x"},
        "sk": {"S": "LEDGER"},
        f"{gsi}pk": {"S": partition},
        f"{gsi}sk": {"S": sort},
    }


MALFORMED_CURSORS = {
    "not base64": "not base64 at all!!",
    "non-ascii": "カーソル",
    "base64 of garbage": _b64(b"\xff\xfe\x00\x01garbage"),
    "base64 of a JSON list": _b64("[1, 2, 3]"),
    "base64 of a JSON string": _b64('"LEDGER"'),
    "deeply nested JSON": _b64("[" * 1500 + "]" * 1500),
    "raw DynamoDB key (the old form)": json.dumps({"pk": {"S": "ENV#x"}, "sk": {"S": "META"}}),
    "wrong keys": _b64(json.dumps({"index": "gsi2", "partitions": ["LEDGER"], "low": "0", "high": "9"})),
    "wrong types": _b64(json.dumps({"v": 2, "q": 1, "partitions": "LEDGER", "key": [], "seen": {}})),
    "key of numbers": _b64(json.dumps({"key": {"pk": {"N": "1"}, "sk": {"S": "x"}}})),
    "key with a list value": _b64(json.dumps({"key": {"pk": {"S": ["x"]}, "sk": 3, "gsi1pk": None}})),
}


@pytest.mark.parametrize("cursor", MALFORMED_CURSORS.values(), ids=MALFORMED_CURSORS.keys())
@pytest.mark.parametrize("ledger", [False, True], ids=["list", "ledger"])
def test_a_malformed_cursor_is_a_400_invalid_cursor(app, cursor, ledger):
    query = {"cursor": cursor, **({"ledger": "true"} if ledger else {})}
    status, body = call(app, "GET", "/v1/envelopes", **query)
    assert status == 400 and body["error"]["code"] == "invalid_cursor"
    assert body["error"]["message"]["ja"] and body["error"]["message"]["en"]


def test_a_cursor_naming_the_whole_ledger_or_someone_elses_key_is_refused(app, taros_ledger):
    # Jiro forges cursors for his own search (its binding is no secret: he can compute it) that would
    # read the tenant-wide partitions or Taro's, or start from one of Taro's keys.
    bound = _query_fingerprint(LedgerQuery(owner_id=JIRO["sub"]))
    own_partition = owner_partitions(JIRO["sub"])[0]
    forged = [
        {"partitions": ["LEDGER"], "key": None},
        {"partitions": [owner_partitions(TARO["sub"])[0]], "key": None},
        {"partitions": [own_partition], "key": _forged_key("gsi2", "LEDGER", "2026-03-10#x")},
        {"partitions": [own_partition], "key": _forged_key("gsi2", own_partition, "not a date")},
        {"partitions": [own_partition], "key": _forged_key("gsi3", own_partition, "2026-03-10#x")},
    ]
    for value in forged:
        cursor = _b64(json.dumps({"v": 2, "q": bound, "seen": [], **value}))
        status, body = _search(app, JIRO, cursor=cursor)
        assert status == 400 and body["error"]["code"] == "invalid_cursor", value
    # A well-formed cursor of his own search is accepted (and finds nothing: he has no contracts).
    cursor = _b64(json.dumps({"v": 2, "q": bound, "seen": [], "partitions": [own_partition], "key": None}))
    assert _search(app, JIRO, cursor=cursor) == (200, {"contracts": [], "cursor": None})
    # The plain listing: a start key in Taro's envelopes.
    someone_else = {
        "key": {
            "pk": {"S": f"ENV#{taros_ledger[0]}"},
            "sk": {"S": "META"},
            "gsi1pk": {"S": "SENDER#sub-taro"},
            "gsi1sk": {"S": "draft#2026-01-01T00:00:00+00:00#x"},
        }
    }
    status, body = call(app, "GET", "/v1/envelopes", claims=JIRO, cursor=_b64(json.dumps(someone_else)))
    assert status == 400 and body["error"]["code"] == "invalid_cursor"
