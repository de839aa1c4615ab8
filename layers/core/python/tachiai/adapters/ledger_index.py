"""Searching the contract ledger, and the due dates of the deadline alerts (the items are described,
with their keys and why, in :mod:`tachiai.adapters.dynamodb`).

A search picks ONE driving query — the counterparty (directory, then one indexed query per matching
name, date range in the key), else the date range (gsi2 ``LEDGER``), else the amount range (gsi3), else
the whole ledger newest first — and filters the rest server-side. :attr:`LedgerPage.items_read` says
what it cost, so a test can show that a combined query at 10,000+ contracts reads a bounded number of
items.

Full text: each contract's text, folded as names are (:func:`normalize_name`: width, case and spaces
do not matter, so a phrase a PDF wrapped over two lines is still found), is one item ``ENV#<id>`` /
``TEXT`` in no index. A search with ``text`` reads the texts of the driving query's candidates (batch
gets) and keeps those containing it — at most :data:`MAX_TEXTS_PER_SEARCH` texts per request: past
that it answers what it found with a cursor, so a rare phrase over a large ledger costs several
requests instead of one that times out. Give a date range or a counterparty with it to read less.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from tachiai.adapters.dynamodb import GSI2, GSI3, StorageUnavailable, storage_error
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import InvalidRequest
from tachiai.domain.ledger import LedgerEntry, normalize_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

READ_PAGE = 200
"""Items one query call reads at most; a search stops reading once it has a page of results."""
MAX_MATCHING_NAMES = 200
"""A counterparty text matching more names than this is too vague to page through: narrow it."""
MAX_TEXTS_PER_SEARCH = 1000
"""Contract texts one full-text search request reads at most (then it answers with a cursor)."""
MAX_TEXT_CHARS = 100_000
"""Folded characters of a contract's text kept for full-text search (a DynamoDB item holds 400 KB)."""
_BATCH_GET = 100


class LedgerQuery(BaseModel):
    """A combined ledger search: every condition given must hold."""

    model_config = ConfigDict(frozen=True)

    date_from: date | None = None
    """Transaction (contract) date on or after."""
    date_to: date | None = None
    counterparty: str | None = Field(default=None, min_length=1, max_length=200)
    """Part of a counterparty's name, Japanese or English (width, case and spaces do not matter)."""
    amount_min: int | None = Field(default=None, ge=0)
    amount_max: int | None = Field(default=None, ge=0)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    """Part of the title."""
    text: str | None = Field(default=None, min_length=2, max_length=200)
    """Words anywhere in the contract's text (full-text search)."""
    status: EnvelopeStatus | None = None
    owner_id: str | None = None
    """Only this sender's contracts (members); None: the whole ledger (administrators)."""


@dataclass
class LedgerPage:
    entries: list[LedgerEntry]
    cursor: str | None
    items_read: int = 0
    """Items DynamoDB read to answer (ScannedCount summed over every call, texts included)."""
    calls: int = 0
    texts_read: int = 0


@dataclass(frozen=True)
class DueItem:
    entry: LedgerEntry
    kind: Literal["notice", "end"]
    due: date


class TooVague(InvalidRequest):
    code = "search_too_vague"
    message_ja = "取引先の条件に一致する名前が多すぎます。もう少し詳しく入力してください。"
    message_en = "Too many counterparty names match. Please type more of the name."


@dataclass
class _Plan:
    index: str
    partitions: list[str]
    """gsi pk values still to read, in order (several for a counterparty matching several names)."""
    low: str
    high: str
    start_key: dict[str, Any] | None = None
    seen: set[str] = field(default_factory=set)


def _encode(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as e:
        raise InvalidRequest("bad cursor", field="cursor") from e
    if not isinstance(value, dict):
        raise InvalidRequest("bad cursor", field="cursor")
    return value


class LedgerIndex:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- search ---------------------------------------------------------------------------------

    def search(self, query: LedgerQuery, limit: int = 50, cursor: str | None = None) -> LedgerPage:
        """Contracts matching every condition of ``query``, ``limit`` at most, and where to go on.

        Order: newest transaction date first; for a counterparty search, by matching name, then date.

        :raises InvalidRequest: a range upside down, or a bad cursor.
        :raises TooVague: the counterparty text matches more than :data:`MAX_MATCHING_NAMES` names.
        :raises StorageUnavailable: DynamoDB did not answer.
        """
        if query.date_from and query.date_to and query.date_from > query.date_to:
            raise InvalidRequest("date_from is after date_to", field="date_from")
        if (
            query.amount_min is not None
            and query.amount_max is not None
            and query.amount_min > query.amount_max
        ):
            raise InvalidRequest("amount_min is above amount_max", field="amount_min")
        page = LedgerPage(entries=[], cursor=None)
        plan = self._resume(_decode(cursor)) if cursor else self._plan(query, page)
        filters, values, attribute_names = self._filters(query, plan.index)
        wanted_text = normalize_name(query.text) if query.text else None
        while plan.partitions and len(page.entries) < limit and page.texts_read < MAX_TEXTS_PER_SEARCH:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": plan.index,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
                "ExpressionAttributeNames": {
                    "#pk": f"{plan.index}pk",
                    "#sk": f"{plan.index}sk",
                    **attribute_names,
                },
                "ExpressionAttributeValues": {
                    ":pk": {"S": plan.partitions[0]},
                    ":low": {"S": plan.low},
                    ":high": {"S": plan.high},
                    **values,
                },
                "ScanIndexForward": False,  # newest (or largest) first
                "Limit": READ_PAGE,
            }
            if filters:
                request["FilterExpression"] = " AND ".join(filters)
            if plan.start_key:
                request["ExclusiveStartKey"] = plan.start_key
            response = self._query(request, page)
            items = response.get("Items", [])
            containing = self._containing(items, wanted_text, page) if wanted_text else None
            last_returned: dict[str, Any] | None = None
            for item in items:
                entry = LedgerEntry.model_validate_json(item["entry"]["S"])
                if entry.envelope_id in plan.seen:
                    continue  # one contract reached through two matching names
                if containing is not None and entry.envelope_id not in containing:
                    continue
                plan.seen.add(entry.envelope_id)
                page.entries.append(entry)
                last_returned = item
                if len(page.entries) == limit:
                    break
            if len(page.entries) == limit and last_returned is not None and last_returned is not items[-1]:
                # Stopped inside this call's items: go on right after the last one returned.
                plan.start_key = {
                    k: last_returned[k] for k in ("pk", "sk", f"{plan.index}pk", f"{plan.index}sk")
                }
            elif "LastEvaluatedKey" in response:
                plan.start_key = response["LastEvaluatedKey"]
            else:
                plan.partitions.pop(0)
                plan.start_key = None
        if plan.partitions:
            page.cursor = _encode(
                {
                    "index": plan.index,
                    "partitions": plan.partitions,
                    "low": plan.low,
                    "high": plan.high,
                    "key": plan.start_key,
                    "seen": sorted(plan.seen)[-500:],
                }
            )
        return page

    def _plan(self, query: LedgerQuery, page: LedgerPage) -> _Plan:
        low_date = query.date_from.isoformat() if query.date_from else "0000-00-00"
        high_date = (query.date_to.isoformat() if query.date_to else "9999-99-99") + "#~"
        if query.counterparty:
            names = self._matching_names(normalize_name(query.counterparty), page)
            return _Plan(GSI2, [f"CPTY#{n}" for n in names], low_date, high_date)
        if query.date_from or query.date_to or (query.amount_min is None and query.amount_max is None):
            return _Plan(GSI2, ["LEDGER"], low_date, high_date)
        low = f"{query.amount_min or 0:015d}"
        high = f"{query.amount_max:015d}#~" if query.amount_max is not None else "~"
        return _Plan(GSI3, ["AMOUNT"], low, high)

    @staticmethod
    def _resume(cursor: dict[str, Any]) -> _Plan:
        try:
            return _Plan(
                index=str(cursor["index"]),
                partitions=[str(p) for p in cursor["partitions"]],
                low=str(cursor["low"]),
                high=str(cursor["high"]),
                start_key=cursor.get("key"),
                seen=set(cursor.get("seen", [])),
            )
        except (KeyError, TypeError) as e:
            raise InvalidRequest("bad cursor", field="cursor") from e

    @staticmethod
    def _filters(query: LedgerQuery, index: str) -> tuple[list[str], dict[str, Any], dict[str, str]]:
        filters: list[str] = []
        values: dict[str, Any] = {}
        attribute_names: dict[str, str] = {}
        if index == GSI3 and (query.date_from or query.date_to):
            filters.append("tdate BETWEEN :dfrom AND :dto")
            values[":dfrom"] = {"S": query.date_from.isoformat() if query.date_from else "0000-00-00"}
            values[":dto"] = {"S": query.date_to.isoformat() if query.date_to else "9999-99-99"}
        if index == GSI2 and (query.amount_min is not None or query.amount_max is not None):
            filters.append("#amount BETWEEN :amin AND :amax")
            attribute_names["#amount"] = "amount"
            values[":amin"] = {"N": str(query.amount_min or 0)}
            values[":amax"] = {"N": str(query.amount_max if query.amount_max is not None else 10**15)}
        if query.title:
            filters.append("contains(title_norm, :title)")
            values[":title"] = {"S": normalize_name(query.title)}
        if query.status:
            filters.append("#status = :status")
            attribute_names["#status"] = "status"
            values[":status"] = {"S": query.status.value}
        if query.owner_id:
            filters.append("#owner = :owner")
            attribute_names["#owner"] = "owner"
            values[":owner"] = {"S": query.owner_id}
        return filters, values, attribute_names

    def _containing(self, items: list[dict[str, Any]], wanted: str, page: LedgerPage) -> set[str]:
        """The envelope ids among ``items`` whose stored text contains ``wanted`` (folded)."""
        ids = list(dict.fromkeys(item["pk"]["S"].removeprefix("ENV#") for item in items))
        found: set[str] = set()
        for start in range(0, len(ids), _BATCH_GET):
            keys: list[dict[str, Any]] = [
                {"pk": {"S": f"ENV#{i}"}, "sk": {"S": "TEXT"}} for i in ids[start : start + _BATCH_GET]
            ]
            for attempt in range(6):
                if not keys:
                    break
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # unprocessed keys: the table is busy, back off
                try:
                    response = self._client.batch_get_item(
                        RequestItems={
                            self._table: {
                                "Keys": keys,
                                "ProjectionExpression": "pk, #t",
                                "ExpressionAttributeNames": {"#t": "text"},
                            }
                        }
                    )
                except (ClientError, BotoCoreError) as e:
                    raise storage_error(e, "search the contracts' text") from e
                page.calls += 1
                for item in response.get("Responses", {}).get(self._table, []):
                    page.items_read += 1
                    page.texts_read += 1
                    if wanted in item["text"]["S"]:
                        found.add(item["pk"]["S"].removeprefix("ENV#"))
                unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
                keys = list(unprocessed["Keys"]) if unprocessed else []
            if keys:
                raise StorageUnavailable("search the contracts' text: keys left unprocessed")
        return found

    def store_text(self, envelope_id: str, text: str) -> None:
        """Keep a contract's text for full-text search (folded; the first :data:`MAX_TEXT_CHARS`)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"ENV#{envelope_id}"},
                    "sk": {"S": "TEXT"},
                    "text": {"S": normalize_name(text)[:MAX_TEXT_CHARS]},
                },
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "store the contract's text") from e

    def _matching_names(self, fragment: str, page: LedgerPage) -> list[str]:
        names: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :dir",
            "FilterExpression": "contains(sk, :fragment)",
            "ExpressionAttributeValues": {":dir": {"S": "CPTYDIR"}, ":fragment": {"S": fragment}},
        }
        while True:
            response = self._query(request, page)
            names.extend(item["sk"]["S"] for item in response.get("Items", []))
            if len(names) > MAX_MATCHING_NAMES:
                raise TooVague(f"{len(names)} names contain {fragment!r}")
            if "LastEvaluatedKey" not in response:
                return names
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query(self, request: dict[str, Any], page: LedgerPage) -> Any:
        try:
            response = self._client.query(**request)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "search the ledger") from e
        page.calls += 1
        page.items_read += int(response.get("ScannedCount", len(response.get("Items", []))))
        return response

    # --- deadline alerts -----------------------------------------------------------------------

    def due_between(self, first: date, last: date) -> list[DueItem]:
        """Notice deadlines and end dates from ``first`` to ``last`` (inclusive), soonest first."""
        due: list[DueItem] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI2,
            "KeyConditionExpression": "gsi2pk = :due AND gsi2sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":due": {"S": "DUE"},
                ":low": {"S": first.isoformat()},
                ":high": {"S": f"{last.isoformat()}#~"},
            },
        }
        page = LedgerPage(entries=[], cursor=None)
        while True:
            response = self._query(request, page)
            for item in response.get("Items", []):
                day = item["gsi2sk"]["S"].partition("#")[0]
                kind: Literal["notice", "end"] = "notice" if item["kind"]["S"] == "notice" else "end"
                due.append(
                    DueItem(
                        LedgerEntry.model_validate_json(item["entry"]["S"]), kind, date.fromisoformat(day)
                    )
                )
            if "LastEvaluatedKey" not in response:
                return due
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def claim_alert(self, key: str) -> bool:
        """Record that the alert ``key`` goes out now; False if it went out already (never twice)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"ALERT#{key}"}, "sk": {"S": "ALERT"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise storage_error(e, "record an alert") from e
        except BotoCoreError as e:
            raise storage_error(e, "record an alert") from e
        return True

    def release_alert(self, key: str) -> None:
        """Forget a claimed alert whose mail could not be sent, so the next run tries again."""
        try:
            self._client.delete_item(
                TableName=self._table, Key={"pk": {"S": f"ALERT#{key}"}, "sk": {"S": "ALERT"}}
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "release an alert") from e
