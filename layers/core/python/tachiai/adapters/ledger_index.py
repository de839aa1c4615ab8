"""Searching the contract ledger, and the due dates of the deadline alerts (the items are described,
with their keys and why, in :mod:`tachiai.adapters.dynamodb`).

A search picks ONE driving query — the counterparty (directory, then one indexed query per matching
name, date range in the key), else the date range (gsi2 ``LEDGER``), else the amount range (gsi3), else
the whole ledger newest first — and filters the rest server-side. A member's search runs the same
queries in their own partitions (the owner in the key: nothing another member stored is read, counted
or timed for them); an administrator's in the tenant's. :attr:`LedgerPage.items_read` says what it
cost, so a test can show that a combined query at 10,000+ contracts reads a bounded number of items
(it is never returned by the API).

A cursor is base64 JSON bound to its query and caller (a hash of the conditions and the owner): it
carries only the partitions still to read, which must lie in the caller's scope, and a start key that
must lie inside them — anything else is :class:`~tachiai.domain.errors.InvalidCursor` (400), never a
DynamoDB error.

Full text: each contract's text, folded as names are (:func:`normalize_name`: width, case and spaces
do not matter, so a phrase a PDF wrapped over two lines is still found), is one item ``ENV#<id>`` /
``TEXT`` in no index. A search with ``text`` reads the texts of the driving query's candidates (batch
gets) and keeps those containing it — at most :data:`MAX_TEXTS_PER_SEARCH` texts per request: past
that it answers what it found with a cursor, so a rare phrase over a large ledger costs several
requests instead of one that times out. Give a date range or a counterparty with it to read less.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.adapters import cursors
from tachiai.adapters.dynamodb import GSI2, GSI3, owner_partitions, storage_error
from tachiai.domain.errors import InvalidCursor, InvalidRequest, StorageUnavailable
from tachiai.domain.ledger import DueItem as DueItem
from tachiai.domain.ledger import LedgerEntry, normalize_name
from tachiai.domain.ledger import LedgerPage as LedgerPage
from tachiai.domain.ledger import LedgerQuery as LedgerQuery

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


class TooVague(InvalidRequest):
    code = "search_too_vague"


@dataclass
class _Plan:
    index: str
    partitions: list[str]
    """gsi pk values still to read, in order (several for a counterparty matching several names)."""
    low: str
    high: str
    start_key: dict[str, Any] | None = None
    seen: set[str] = field(default_factory=set)
    from_cursor: bool = False
    """``start_key`` came from the caller (a cursor): DynamoDB refusing it is the caller's mistake."""


@dataclass(frozen=True)
class _Scope:
    """Where one query's contracts live: the tenant's partitions or one owner's (see
    :mod:`tachiai.adapters.dynamodb`)."""

    by_date: str
    by_amount: str
    counterparty: str
    """Prefix of a counterparty's partition (the normalized name follows)."""
    directory: str

    @classmethod
    def of(cls, query: LedgerQuery) -> _Scope:
        if query.owner_id is None:
            return cls("LEDGER", "AMOUNT", "CPTY#", "CPTYDIR")
        return cls(*owner_partitions(query.owner_id))


_CURSOR_VERSION = 2
_MAX_SEEN = 500


def _query_fingerprint(query: LedgerQuery) -> str:
    """What a cursor is bound to: the conditions and the caller's scope (the owner)."""
    return hashlib.sha256(query.model_dump_json().encode()).hexdigest()[:32]


class LedgerIndex:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- search ---------------------------------------------------------------------------------

    def search(self, query: LedgerQuery, limit: int = 50, cursor: str | None = None) -> LedgerPage:
        """Contracts matching every condition of ``query``, ``limit`` at most, and where to go on.

        Order: newest transaction date first; for a counterparty search, by matching name, then date.
        A query with an ``owner_id`` reads only that owner's partitions.

        :raises InvalidRequest: a range upside down.
        :raises InvalidCursor: a cursor this query did not hand out (malformed, edited, or another
            query's or another caller's).
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
        plan = self._resume(query, cursors.decode(cursor)) if cursor else self._plan(query, page)
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
                # Without a filter every item read is an answer: read what the page still lacks, and
                # one more to know whether there is a next page (not READ_PAGE items for a page of 20:
                # the console's home lists the whole ledger this way, and the reads were its cost).
                "Limit": READ_PAGE
                if filters or wanted_text
                else min(READ_PAGE, limit - len(page.entries) + 1),
            }
            if filters:
                request["FilterExpression"] = " AND ".join(filters)
            if plan.start_key:
                request["ExclusiveStartKey"] = plan.start_key
            response = self._query(request, page, caller_key=plan.from_cursor)
            plan.from_cursor = False
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
            # Only what cannot be recomputed from the query: the names still to read, where to start,
            # what was answered already. Bound to the query (and so to the caller's scope).
            page.cursor = cursors.encode(
                {
                    "v": _CURSOR_VERSION,
                    "q": _query_fingerprint(query),
                    "partitions": plan.partitions,
                    "key": plan.start_key,
                    "seen": sorted(plan.seen)[-_MAX_SEEN:],
                }
            )
        return page

    def _bounds(self, query: LedgerQuery) -> tuple[str, str, str]:
        """(index, low, high) of the driving query: the date index unless only an amount range is given."""
        if (
            query.counterparty
            or query.date_from
            or query.date_to
            or (query.amount_min is None and query.amount_max is None)
        ):
            low = query.date_from.isoformat() if query.date_from else "0000-00-00"
            high = (query.date_to.isoformat() if query.date_to else "9999-99-99") + "#~"
            return GSI2, low, high
        low = f"{query.amount_min or 0:015d}"
        high = f"{query.amount_max:015d}#~" if query.amount_max is not None else "~"
        return GSI3, low, high

    def _plan(self, query: LedgerQuery, page: LedgerPage) -> _Plan:
        scope = _Scope.of(query)
        index, low, high = self._bounds(query)
        if query.counterparty:
            names = self._matching_names(scope.directory, normalize_name(query.counterparty), page)
            return _Plan(index, [f"{scope.counterparty}{n}" for n in names], low, high)
        return _Plan(index, [scope.by_date if index == GSI2 else scope.by_amount], low, high)

    def _resume(self, query: LedgerQuery, cursor: dict[str, Any]) -> _Plan:
        """The plan a cursor goes on with, checked against ``query``: a member's cursor can only ever
        name that member's own partitions, and its start key must lie inside them.

        :raises InvalidCursor: anything this search would not have handed out.
        """
        if set(cursor) != {"v", "q", "partitions", "key", "seen"} or cursor["v"] != _CURSOR_VERSION:
            raise InvalidCursor("not a ledger cursor", field="cursor")
        if cursor["q"] != _query_fingerprint(query):
            raise InvalidCursor("a cursor of another search or caller", field="cursor")
        scope = _Scope.of(query)
        index, low, high = self._bounds(query)
        partitions, seen = cursor["partitions"], cursor["seen"]
        if not (
            isinstance(partitions, list)
            and 0 < len(partitions) <= MAX_MATCHING_NAMES
            and all(isinstance(p, str) and len(p) <= cursors.MAX_KEY_CHARS for p in partitions)
        ):
            raise InvalidCursor("partitions", field="cursor")
        if query.counterparty:
            allowed = all(p.startswith(scope.counterparty) for p in partitions)
        else:
            allowed = partitions == [scope.by_date if index == GSI2 else scope.by_amount]
        if not allowed:
            raise InvalidCursor("partitions outside the caller's scope", field="cursor")
        if not (isinstance(seen, list) and len(seen) <= _MAX_SEEN and all(isinstance(i, str) for i in seen)):
            raise InvalidCursor("seen", field="cursor")
        start_key = None
        if cursor["key"] is not None:
            start_key = cursors.string_key(cursor["key"], ("pk", "sk", f"{index}pk", f"{index}sk"))
            sort = start_key[f"{index}sk"]["S"]
            if start_key[f"{index}pk"]["S"] != partitions[0] or not low <= sort <= high:
                raise InvalidCursor("start key outside the query", field="cursor")
        return _Plan(
            index, list(partitions), low, high, start_key, set(seen), from_cursor=start_key is not None
        )

    @staticmethod
    def _filters(query: LedgerQuery, index: str) -> tuple[list[str], dict[str, Any], dict[str, str]]:
        # The owner is never a filter: it is in the partition key (see _Scope).
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

    def _matching_names(self, directory: str, fragment: str, page: LedgerPage) -> list[str]:
        """The names in ``directory`` (the tenant's, or one owner's) that contain ``fragment``."""
        names: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :dir",
            "FilterExpression": "contains(sk, :fragment)",
            "ExpressionAttributeValues": {":dir": {"S": directory}, ":fragment": {"S": fragment}},
        }
        while True:
            response = self._query(request, page)
            names.extend(item["sk"]["S"] for item in response.get("Items", []))
            if len(names) > MAX_MATCHING_NAMES:
                raise TooVague(f"{len(names)} names contain {fragment!r}")
            if "LastEvaluatedKey" not in response:
                return names
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query(self, request: dict[str, Any], page: LedgerPage, *, caller_key: bool = False) -> Any:
        try:
            response = self._client.query(**request)
        except ClientError as e:
            if caller_key and e.response.get("Error", {}).get("Code") == "ValidationException":
                # DynamoDB refused the start key a cursor carried: the cursor is wrong, not the storage.
                raise InvalidCursor("start key refused by DynamoDB", field="cursor") from e
            raise storage_error(e, "search the ledger") from e
        except BotoCoreError as e:
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
