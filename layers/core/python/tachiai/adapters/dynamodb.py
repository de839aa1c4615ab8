"""Envelopes, their audit trails, link tokens and task tokens in one DynamoDB table.

Access patterns (partition key ``pk``, sort key ``sk``; GSIs ``gsi1``, ``gsi2``, ``gsi3``):

* envelope — ``ENV#<id>`` / ``META``; gsi1 ``SENDER#<sub>`` / ``<status>#<updated_at>#<id>``.
  Read by id (a list of ids: BatchGetItem), and a sender's envelopes of one status, newest change
  first (one query). Unfiltered, the same query lists them grouped by status in
  :data:`SENDER_LIST_ORDER` (the sort key starts with the status), newest change first within each.
* audit entry — ``ENV#<id>`` / ``EVT#<seq, 8 digits>``. The whole trail in order (one query).
* link — ``LINK#<sha256 of token>`` / ``LINK``. A recipient's click: token hash → envelope and
  participant (one get); expired items are removed by the table's TTL.
* task token — ``ENV#<id>`` / ``TASK#<participant id>``. Agree/reject resumes the waiting execution.
* automatic reminder due — on the envelope item itself, only while one is due (automatic reminders on,
  someone waiting for their link, unlocked, bound not reached, before the deadline): gsi2 ``REMIND`` /
  ``<due, UTC, second precision>#<id>``. The hourly reminders run reads what is due with one query
  (``gsi2sk <= now``), never a scan; an envelope leaves the index on the save after which nothing is
  due. (Layout change of issue 11: older envelopes have automatic reminders off, so nothing to backfill,
  and the ledger items are untouched: :data:`LEDGER_LAYOUT` stays.)
* template — ``TPL#<id>`` / ``META``; gsi1 ``TEMPLATES#<owner, hex>`` (personal) or ``TEMPLATES#TEAM``
  / ``<name>#<id>``: the templates a sender may use are two queries (theirs, the team's).

The contract ledger (:mod:`tachiai.domain.ledger`; searched by :class:`LedgerIndex`) is written in the
same transaction as its envelope, as small items that carry the :class:`LedgerEntry` and only the
attributes the searches need:

* ledger — ``ENV#<id>`` / ``LEDGER``; gsi2 ``LEDGER`` / ``<transaction date>#<id>`` (every contract by
  date: a date range is one key condition) and, when it has an amount, gsi3 ``AMOUNT`` /
  ``<amount, 15 digits>#<id>`` (an amount range is one key condition).
* counterparty — ``ENV#<id>`` / ``CPTY#<n>`` per party (at most :data:`MAX_COUNTERPARTIES`); gsi2
  ``CPTY#<normalized name>`` / ``<transaction date>#<id>``: one counterparty's contracts by date.
* directory — ``CPTYDIR`` / ``<normalized name>``: every counterparty name ever indexed, a few bytes
  each. A partial-match search ("サンプル" in 株式会社サンプル商事) reads the directory (thousands of
  names, not hundreds of thousands of contracts), then queries gsi2 once per matching name with the date
  range as key condition.
* the owner's copies — the same three, with the owner (Cognito ``sub``) in the partition key:
  ``ENV#<id>`` / ``OWNED`` (gsi2 ``OLEDGER#<owner>``, gsi3 ``OAMOUNT#<owner>``), ``ENV#<id>`` /
  ``OCPTY#<n>`` (gsi2 ``OCPTY#<owner>#<normalized name>``) and ``CPTYDIR#<owner>`` / ``<normalized
  name>``. A member searches only these: their own contracts are the key condition, never a filter,
  so nothing DynamoDB counts or reads for them (ScannedCount, a LastEvaluatedKey, the time it takes,
  the number of names a fragment matches) depends on anyone else's contracts. Administrators search
  the tenant-wide partitions.
* due date — ``ENV#<id>`` / ``DUE#notice|end``; gsi2 ``DUE`` / ``<date>#<id>#<kind>``: the deadline
  alerts read the next N days in one query.
* alert sent — ``ALERT#<envelope>#<kind>#<date>#<days>`` / ``ALERT``: written once (conditional), so
  an alert is never mailed twice.

Every other condition of a combined search (status, title, amount when the date range drives the
query ...) is a FilterExpression on the driving query, so the items read are bounded by the most
selective indexed condition, never by the size of the ledger.

The ledger side is written only when the contract's ledger entry changed (a status, its metadata, a
forwarded party): the envelope item keeps ``ledger_fp``, the fingerprint of the entry its ledger items
were written from, and an envelope read at version v is saved conditional on v — so when the new entry
has the same fingerprint, the ledger items are known to be current and an agreement's or a seal's save
is just the envelope, its audit entries and links. Beside it, ``ledger_shape`` says which counterparty and
due-date slots exist (:func:`ledger_shape`), so a rewrite deletes only slots that are there (a delete of
a missing item still costs a write unit: clearing every unused slot was 28 % of an envelope's units);
an envelope item without it (saved before it was kept) has every unused slot deleted, as before.

The envelope is stored as its JSON document plus the few attributes indexes need. Every change is
ONE transaction: the envelope put conditional on the version it was read at, its audit entries
(each conditional on not existing), and the link items it creates or kills — so a change, its audit
trail and its links are never out of step. A lost race surfaces as :class:`Conflict`.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.adapters import cursors
from tachiai.domain.audit import AuditEntry
from tachiai.domain.console import ConsoleSession
from tachiai.domain.envelope import Envelope, EnvelopeStatus, next_auto_reminder
from tachiai.domain.errors import Conflict, InvalidCursor, NotFound, StorageUnavailable, TachiaiError
from tachiai.domain.ledger import LedgerEntry, ledger_entry, normalize_name
from tachiai.domain.storage import SENDER_LIST_ORDER as SENDER_LIST_ORDER
from tachiai.domain.storage import EnvelopePage as EnvelopePage
from tachiai.domain.storage import LinkRecord as LinkRecord
from tachiai.domain.templates import Template, TemplateScope

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

GSI1 = "gsi1"
GSI2 = "gsi2"
"""Ledger by date (``LEDGER``), a counterparty's contracts by date (``CPTY#<name>``), due dates (``DUE``)."""
GSI3 = "gsi3"
"""Ledger by amount."""
REMIND_PARTITION = "REMIND"
"""gsi2 partition of the envelopes with an automatic reminder due (see the module's docstring)."""
TEAM_TEMPLATES = "TEMPLATES#TEAM"
MAX_COUNTERPARTIES = 8
"""Parties indexed per contract (the counterparty items have fixed keys, so stale ones are deleted)."""
_AMOUNT_DIGITS = 15
BATCH_GET_KEYS = 100
"""Keys per BatchGetItem call (DynamoDB's limit)."""
_BATCH_GET_ATTEMPTS = 6
_BATCH_GET_BACKOFF_S = 0.05
_FINGERPRINTS_KEPT = 1024
LEDGER_LAYOUT = "2"
"""Version of the ledger items' layout, part of :func:`ledger_fingerprint`: when it changes, the next
save of each envelope rewrites its ledger items (2: the owner's copies were added)."""


def owner_partitions(owner_id: str) -> tuple[str, str, str, str]:
    """The owner-scoped partitions of ``owner_id``: (by date, by amount, counterparty prefix, directory).

    The owner id (a Cognito ``sub``) is hex-encoded so that no id can end where another partition's
    name begins: ``OCPTY#<hex>#<name>`` is unambiguous whatever the id or the name contain.
    """
    tag = owner_id.encode().hex()
    return f"OLEDGER#{tag}", f"OAMOUNT#{tag}", f"OCPTY#{tag}#", f"CPTYDIR#{tag}"


def _env_key(envelope_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ENV#{envelope_id}"}, "sk": {"S": "META"}}


def _link_key(token_sha256: str) -> dict[str, Any]:
    return {"pk": {"S": f"LINK#{token_sha256}"}, "sk": {"S": "LINK"}}


def storage_error(error: ClientError | BotoCoreError, what: str) -> TachiaiError:
    """The tachiai error for a failed DynamoDB call: a failed condition is :class:`Conflict`,
    anything else :class:`StorageUnavailable` (``what`` names the operation, for the logs)."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in reasons:
                return Conflict(f"{what}: changed concurrently")
        return StorageUnavailable(f"{what}: {code}")
    return StorageUnavailable(f"{what}: {type(error).__name__}")


def _ledger_attributes(entry: LedgerEntry) -> dict[str, Any]:
    """What a FilterExpression of a combined search looks at, on every ledger-side item."""
    attributes: dict[str, Any] = {
        "entry": {"S": entry.model_dump_json()},
        "tdate": {"S": entry.transaction_date.isoformat()},
        "status": {"S": entry.status.value},
        "owner": {"S": entry.owner_id},
        "title_norm": {"S": normalize_name(entry.title)},
        "cpty_norm": {"S": "|".join(normalize_name(c) for c in entry.counterparties)},
    }
    if entry.amount is not None:
        attributes["amount"] = {"N": str(entry.amount)}
    return attributes


def ledger_shape(entry: LedgerEntry) -> str:
    """Which of the entry's slot items exist: ``<counterparty items>:<notice due 0|1>:<end due 0|1>``.

    Kept on the envelope item beside ``ledger_fp``, so the next ledger write deletes only the slots that
    exist and are no longer wanted (a delete of an item that is not there still costs a write unit, and
    there are 2 x :data:`MAX_COUNTERPARTIES` + 2 slots).
    """
    names = list(dict.fromkeys(normalize_name(c) for c in entry.counterparties if normalize_name(c)))
    parties = min(len(names), MAX_COUNTERPARTIES)
    return f"{parties}:{int(entry.notice_deadline is not None)}:{int(entry.end_date is not None)}"


def ledger_writes(
    table: str, entry: LedgerEntry, previous_shape: str | None = None
) -> list[TransactWriteItemTypeDef]:
    """The ledger items of one envelope (put what exists, delete what no longer does).

    ``previous_shape``: the :func:`ledger_shape` of the items stored now (``0:0:0`` for a new
    envelope), so that only slots which exist are deleted; None when unknown: every unused slot is.
    """
    had_parties, had_notice, had_end = _shape(previous_shape)
    pk = {"S": f"ENV#{entry.envelope_id}"}
    by_date = f"{entry.transaction_date.isoformat()}#{entry.envelope_id}"
    common = _ledger_attributes(entry)
    ledger: dict[str, Any] = {
        "pk": pk,
        "sk": {"S": "LEDGER"},
        "gsi2pk": {"S": "LEDGER"},
        "gsi2sk": {"S": by_date},
    }
    by_owner, amount_of_owner, owner_cpty, _ = owner_partitions(entry.owner_id)
    owned: dict[str, Any] = {
        "pk": pk,
        "sk": {"S": "OWNED"},
        "gsi2pk": {"S": by_owner},
        "gsi2sk": {"S": by_date},
    }
    if entry.amount is not None:
        ledger["gsi3pk"] = {"S": "AMOUNT"}
        owned["gsi3pk"] = {"S": amount_of_owner}
        ledger["gsi3sk"] = owned["gsi3sk"] = {"S": f"{entry.amount:0{_AMOUNT_DIGITS}d}#{entry.envelope_id}"}
    writes: list[Any] = [
        {"Put": {"TableName": table, "Item": {**ledger, **common}}},
        {"Put": {"TableName": table, "Item": {**owned, **common}}},
    ]
    names = list(dict.fromkeys(normalize_name(c) for c in entry.counterparties if normalize_name(c)))
    for n in range(MAX_COUNTERPARTIES):
        for prefix, partition in (("CPTY", "CPTY#"), ("OCPTY", owner_cpty)):
            key = {"pk": pk, "sk": {"S": f"{prefix}#{n:02d}"}}
            if n < len(names):
                item = {**key, "gsi2pk": {"S": f"{partition}{names[n]}"}, "gsi2sk": {"S": by_date}, **common}
                writes.append({"Put": {"TableName": table, "Item": item}})
            elif n < had_parties:
                writes.append({"Delete": {"TableName": table, "Key": key}})
    for kind, due, had in (("notice", entry.notice_deadline, had_notice), ("end", entry.end_date, had_end)):
        key = {"pk": pk, "sk": {"S": f"DUE#{kind}"}}
        if due is not None:
            sort = f"{due.isoformat()}#{entry.envelope_id}#{kind}"
            item = {**key, "gsi2pk": {"S": "DUE"}, "gsi2sk": {"S": sort}, "kind": {"S": kind}, **common}
            writes.append({"Put": {"TableName": table, "Item": item}})
        elif had:
            writes.append({"Delete": {"TableName": table, "Key": key}})
    return writes


def _shape(shape: str | None) -> tuple[int, bool, bool]:
    """(counterparty slots, notice due, end due) that may exist: all of them when unknown."""
    parts = (shape or "").split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return MAX_COUNTERPARTIES, True, True
    return min(int(parts[0]), MAX_COUNTERPARTIES), parts[1] == "1", parts[2] == "1"


def ledger_fingerprint(entry: LedgerEntry) -> str:
    """What the ledger items of ``entry`` hold, as a short hash (its ``updated_at`` aside: it moves on
    every save; the ledger's says when the entry last changed)."""
    content = LEDGER_LAYOUT + entry.model_dump_json(exclude={"updated_at"})
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def directory_items(entry: LedgerEntry) -> list[dict[str, Any]]:
    """The counterparty directory items of an entry, the tenant's and its owner's (written before the
    transaction; idempotent)."""
    names = [c for c in dict.fromkeys(entry.counterparties) if normalize_name(c)][:MAX_COUNTERPARTIES]
    owner_directory = owner_partitions(entry.owner_id)[3]
    return [
        {"pk": {"S": directory}, "sk": {"S": normalize_name(c)}, "name": {"S": c}}
        for directory in ("CPTYDIR", owner_directory)
        for c in names
    ]


class EnvelopeRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, zone: ZoneInfo | None = None) -> None:
        self._client = client
        self._table = table_name
        self._zone = zone or ZoneInfo("Asia/Tokyo")
        # envelope id → (version, fingerprint of the ledger entry stored with that version, the shape of
        # its items or None), from the envelopes this repository read or wrote: a save from that version
        # skips unchanged ledger items, and deletes only the slots that exist.
        self._ledger_fingerprints: OrderedDict[str, tuple[int, str, str | None]] = OrderedDict()

    # --- envelopes --------------------------------------------------------------------------

    def get(self, envelope_id: str) -> Envelope:
        """:raises NotFound: no such envelope."""
        try:
            item = self._client.get_item(
                TableName=self._table, Key=_env_key(envelope_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "get envelope") from e
        if "Item" not in item:
            raise NotFound(f"envelope {envelope_id}")
        envelope = Envelope.model_validate_json(item["Item"]["doc"]["S"])
        self._remember_stored_ledger(envelope, item["Item"])
        return envelope

    def get_many(self, envelope_ids: Sequence[str]) -> list[Envelope]:
        """The envelopes of ``envelope_ids``, in that order, each once; ids with no envelope skipped.

        BatchGetItem, :data:`BATCH_GET_KEYS` keys a call, strongly consistent as :meth:`get`: a list
        of N envelopes costs N / 100 round trips instead of N. DynamoDB may leave keys unprocessed
        (throttling, the 16 MB response cap); those are asked for again with exponential backoff.

        :raises StorageUnavailable: DynamoDB failed, or keys stayed unprocessed after the retries.
        """
        wanted = list(dict.fromkeys(envelope_ids))
        found: dict[str, Envelope] = {}
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            keys = [_env_key(i) for i in wanted[start : start + BATCH_GET_KEYS]]
            for attempt in range(_BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(_BATCH_GET_BACKOFF_S * 2 ** (attempt - 1))  # the table is busy: back off
                try:
                    response = self._client.batch_get_item(
                        RequestItems={
                            self._table: {
                                "Keys": keys,
                                "ConsistentRead": True,
                                "ProjectionExpression": "doc, ledger_fp, ledger_shape",
                            }
                        }
                    )
                except (ClientError, BotoCoreError) as e:
                    raise storage_error(e, "get envelopes") from e
                for item in response.get("Responses", {}).get(self._table, []):
                    envelope = Envelope.model_validate_json(item["doc"]["S"])
                    found[envelope.id] = envelope
                    self._remember_stored_ledger(envelope, item)
                unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
                keys = list(unprocessed["Keys"]) if unprocessed else []
                if not keys:
                    break
            if keys:
                raise StorageUnavailable(f"get envelopes: {len(keys)} keys left unprocessed")
        # BatchGetItem answers in no particular order: the caller's order is the list's.
        return [found[i] for i in wanted if i in found]

    def _remember_stored_ledger(self, envelope: Envelope, item: dict[str, Any]) -> None:
        if "ledger_fp" in item:
            shape = item["ledger_shape"]["S"] if "ledger_shape" in item else None
            self._remember_ledger(envelope.id, envelope.version, item["ledger_fp"]["S"], shape)

    def _remember_ledger(self, envelope_id: str, version: int, fingerprint: str, shape: str | None) -> None:
        self._ledger_fingerprints[envelope_id] = (version, fingerprint, shape)
        self._ledger_fingerprints.move_to_end(envelope_id)
        while len(self._ledger_fingerprints) > _FINGERPRINTS_KEPT:
            self._ledger_fingerprints.popitem(last=False)

    def save(
        self,
        envelope: Envelope,
        entries: Sequence[AuditEntry],
        *,
        create: bool = False,
        links_added: Sequence[LinkRecord] = (),
        links_removed: Sequence[str] = (),
    ) -> Envelope:
        """Write ``envelope`` with its new audit entries and link changes, atomically; return it as stored.

        The write succeeds only if the stored envelope still has ``envelope.version`` (the version the
        change was computed from) — or, with ``create``, if there is none yet. The stored copy gets
        the next version.

        :raises Conflict: someone else changed the envelope since it was read (or it already exists).
        """
        stored = envelope.model_copy(update={"version": envelope.version + 1})
        ledger = ledger_entry(stored, self._zone)
        fingerprint = ledger_fingerprint(ledger)
        shape = ledger_shape(ledger)
        remembered = self._ledger_fingerprints.get(envelope.id)
        read_here = remembered is not None and remembered[0] == envelope.version
        ledger_current = not create and read_here and remembered is not None and remembered[1] == fingerprint
        # What the ledger items stored now are: none for a new envelope; else the shape stored with the
        # version this change was computed from (the save is conditional on that version).
        previous_shape = "0:0:0" if create else (remembered[2] if read_here and remembered else None)
        item = {
            **_env_key(stored.id),
            "doc": {"S": stored.model_dump_json()},
            "status": {"S": stored.status.value},
            "version": {"N": str(stored.version)},
            "gsi1pk": {"S": f"SENDER#{stored.sender_id}"},
            "gsi1sk": {"S": f"{stored.status.value}#{stored.updated_at.isoformat()}#{stored.id}"},
            "ledger_fp": {"S": fingerprint},
            # the items' shape: when the ledger side is current it is this entry's too (same fingerprint)
            "ledger_shape": {"S": shape},
            **_reminder_index(stored),
        }
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if create:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(envelope.version)}}
        writes: list[TransactWriteItemTypeDef] = [{"Put": put}]  # type: ignore[typeddict-item]
        for entry in entries:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": f"ENV#{entry.envelope_id}"},
                            "sk": {"S": f"EVT#{entry.seq:08d}"},
                            "doc": {"S": entry.model_dump_json()},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for link in links_added:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_link_key(link.token_sha256),
                            "envelope_id": {"S": link.envelope_id},
                            "participant_id": {"S": link.participant_id},
                            "expires_at": {"S": link.expires_at.isoformat()},
                            "purpose": {"S": link.purpose},
                            # DynamoDB TTL removes dead links a day after they expire.
                            "ttl": {"N": str(int(link.expires_at.timestamp()) + 86400)},
                        },
                    }
                }
            )
        for token_sha256 in links_removed:
            writes.append({"Delete": {"TableName": self._table, "Key": _link_key(token_sha256)}})
        if not ledger_current:
            writes.extend(ledger_writes(self._table, ledger, previous_shape))
        try:
            if not ledger_current:
                # Before the transaction: once it stands, ledger_fp says the ledger side is written.
                # (A name left in the directory by a failed transaction only costs a query finding nothing.)
                for item in directory_items(ledger):
                    self._client.put_item(TableName=self._table, Item=item)
            self._client.transact_write_items(TransactItems=writes)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, f"save envelope {envelope.id}") from e
        self._remember_ledger(stored.id, stored.version, fingerprint, shape)
        return stored

    def list_for_sender(
        self, sender_id: str, status: EnvelopeStatus | None = None, limit: int = 50, cursor: str | None = None
    ) -> EnvelopePage:
        """A sender's envelopes of ``status``, newest change first; without it, all of them grouped
        by status in :data:`SENDER_LIST_ORDER`, newest change first within each status.

        :raises InvalidCursor: a cursor this listing did not hand out to this sender (malformed, or a
            start key outside the sender's own envelopes of that status).
        """
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :pk"
            + (" AND begins_with(gsi1sk, :status)" if status else ""),
            "ExpressionAttributeValues": {
                ":pk": {"S": f"SENDER#{sender_id}"},
                **({":status": {"S": f"{status.value}#"}} if status else {}),
            },
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            start = cursors.string_key(cursors.decode(cursor).get("key"), ("pk", "sk", "gsi1pk", "gsi1sk"))
            prefix = f"{status.value}#" if status else ""
            if start["gsi1pk"]["S"] != f"SENDER#{sender_id}" or not start["gsi1sk"]["S"].startswith(prefix):
                raise InvalidCursor("start key outside the sender's envelopes", field="cursor")
            query["ExclusiveStartKey"] = start
        try:
            response = self._client.query(**query)
        except ClientError as e:
            if cursor and e.response.get("Error", {}).get("Code") == "ValidationException":
                raise InvalidCursor("start key refused by DynamoDB", field="cursor") from e
            raise storage_error(e, "list envelopes") from e
        except BotoCoreError as e:
            raise storage_error(e, "list envelopes") from e
        envelopes = [Envelope.model_validate_json(item["doc"]["S"]) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return EnvelopePage(envelopes=envelopes, cursor=cursors.encode({"key": last}) if last else None)

    # --- audit --------------------------------------------------------------------------------

    def audit_trail(self, envelope_id: str) -> list[AuditEntry]:
        """Every audit entry of an envelope, in order."""
        entries: list[AuditEntry] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :evt)",
            "ExpressionAttributeValues": {":pk": {"S": f"ENV#{envelope_id}"}, ":evt": {"S": "EVT#"}},
            "ConsistentRead": True,
        }
        try:
            while True:
                response = self._client.query(**query)
                entries.extend(
                    AuditEntry.model_validate_json(i["doc"]["S"]) for i in response.get("Items", [])
                )
                if "LastEvaluatedKey" not in response:
                    return entries
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "read audit trail") from e

    # --- links and task tokens ------------------------------------------------------------------

    def find_link(self, token_sha256: str) -> LinkRecord:
        """:raises NotFound: unknown or dead link."""
        try:
            item = self._client.get_item(
                TableName=self._table, Key=_link_key(token_sha256), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "find link") from e
        if "Item" not in item:
            raise NotFound("link")
        found = item["Item"]
        return LinkRecord(
            token_sha256=token_sha256,
            envelope_id=found["envelope_id"]["S"],
            participant_id=found["participant_id"]["S"],
            expires_at=datetime.fromisoformat(found["expires_at"]["S"]),
            purpose="download" if found.get("purpose", {}).get("S") == "download" else "sign",
        )

    def delete_draft(self, envelope: Envelope, entry: AuditEntry) -> None:
        """Remove a draft's envelope item and its ledger items, and append ``entry`` to its audit trail
        (which stays), in one transaction conditional on ``envelope.version``.

        :raises Conflict: someone else changed the envelope since it was read.
        """
        pk = {"S": f"ENV#{envelope.id}"}
        writes: list[Any] = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _env_key(envelope.id),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(envelope.version)}},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": pk,
                        "sk": {"S": f"EVT#{entry.seq:08d}"},
                        "doc": {"S": entry.model_dump_json()},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        # Every ledger-side item a save may have written (a draft's: at most these, fixed keys).
        ledger_keys = ["LEDGER", "OWNED", "DUE#notice", "DUE#end"]
        ledger_keys += [
            f"{prefix}#{n:02d}" for prefix in ("CPTY", "OCPTY") for n in range(MAX_COUNTERPARTIES)
        ]
        writes += [
            {"Delete": {"TableName": self._table, "Key": {"pk": pk, "sk": {"S": sk}}}} for sk in ledger_keys
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, f"delete draft {envelope.id}") from e
        self._ledger_fingerprints.pop(envelope.id, None)

    def due_reminders(self, at: datetime, limit: int = 100) -> list[str]:
        """Ids of the envelopes with an automatic reminder due at or before ``at``, earliest first
        (one query of the ``REMIND`` partition of gsi2; the index may lag a save)."""
        try:
            response = self._client.query(
                TableName=self._table,
                IndexName=GSI2,
                KeyConditionExpression="gsi2pk = :pk AND gsi2sk <= :at",
                ExpressionAttributeValues={
                    ":pk": {"S": REMIND_PARTITION},
                    # "~" sorts after every envelope id: everything due at this very second is included.
                    ":at": {"S": f"{_utc_key(at)}#~"},
                },
                ProjectionExpression="pk",
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "query due reminders") from e
        return [item["pk"]["S"].removeprefix("ENV#") for item in response.get("Items", [])]

    def put_task_token(self, envelope_id: str, participant_id: str, task_token: str) -> None:
        """Remember the Step Functions task token waiting for this participant."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"ENV#{envelope_id}"},
                    "sk": {"S": f"TASK#{participant_id}"},
                    "task_token": {"S": task_token},
                },
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "store task token") from e

    def task_token(self, envelope_id: str, participant_id: str) -> str:
        """:raises NotFound: no execution is waiting for this participant."""
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": f"ENV#{envelope_id}"}, "sk": {"S": f"TASK#{participant_id}"}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "read task token") from e
        if "Item" not in item:
            raise NotFound(f"task token for {participant_id}")
        return item["Item"]["task_token"]["S"]


def _utc_key(at: datetime) -> str:
    """A sortable UTC timestamp (second precision: a reminder's due time needs no more)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reminder_index(envelope: Envelope) -> dict[str, Any]:
    """The gsi2 keys of an envelope with an automatic reminder due, or nothing (not in the index)."""
    due = next_auto_reminder(envelope)
    if due is None:
        return {}
    return {"gsi2pk": {"S": REMIND_PARTITION}, "gsi2sk": {"S": f"{_utc_key(due)}#{envelope.id}"}}


class TemplateRepository:
    """Templates (:class:`tachiai.domain.templates.Template`) in the envelopes' table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(template_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"TPL#{template_id}"}, "sk": {"S": "META"}}

    def get(self, template_id: str) -> Template:
        """:raises NotFound: no such template. :raises StorageUnavailable: DynamoDB failed."""
        try:
            item = self._client.get_item(
                TableName=self._table, Key=self._key(template_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "get template") from e
        if "Item" not in item:
            raise NotFound(f"template {template_id}")
        return Template.model_validate_json(item["Item"]["doc"]["S"])

    def save(self, template: Template, *, create: bool = False) -> Template:
        """Write conditional on ``template.version`` (``create``: none exists); the stored copy.

        :raises Conflict: changed concurrently (or exists). :raises StorageUnavailable: DynamoDB failed.
        """
        stored = template.model_copy(update={"version": template.version + 1})
        partition = (
            TEAM_TEMPLATES
            if stored.scope == TemplateScope.TEAM
            else f"TEMPLATES#{stored.owner_id.encode().hex()}"
        )
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                **self._key(stored.id),
                "doc": {"S": stored.model_dump_json()},
                "version": {"N": str(stored.version)},
                "gsi1pk": {"S": partition},
                "gsi1sk": {"S": f"{normalize_name(stored.name)}#{stored.id}"},
            },
        }
        if create:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(template.version)}}
        try:
            self._client.put_item(**put)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, f"save template {template.id}") from e
        return stored

    def delete(self, template: Template) -> None:
        """:raises Conflict: changed concurrently. :raises StorageUnavailable: DynamoDB failed."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(template.id),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(template.version)}},
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, f"delete template {template.id}") from e

    def list_for(self, owner_id: str) -> list[Template]:
        """The owner's personal templates and the team's, by name (two queries of gsi1).

        :raises StorageUnavailable: DynamoDB failed.
        """
        found: list[Template] = []
        for partition in (f"TEMPLATES#{owner_id.encode().hex()}", TEAM_TEMPLATES):
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": GSI1,
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": partition}},
            }
            try:
                while True:
                    response = self._client.query(**query)
                    found += [Template.model_validate_json(i["doc"]["S"]) for i in response.get("Items", [])]
                    if "LastEvaluatedKey" not in response:
                        break
                    query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            except (ClientError, BotoCoreError) as e:
                raise storage_error(e, "list templates") from e
        return sorted(found, key=lambda t: (normalize_name(t.name), t.id))


class ConsoleSessionRepository:
    """The console's sessions (:class:`tachiai.console.session.ConsoleSession`) in the envelopes' table.

    ``CONSOLE#<sha256 of the session id>`` / ``SESSION``, gsi1 ``CONSOLEUSER#<username, hex>`` /
    ``<sha256>`` (a person's sessions, for "sign out everywhere"); the table's TTL removes a session a
    day after it could last have been used.
    """

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"CONSOLE#{key}"}, "sk": {"S": "SESSION"}}

    def create(self, session: ConsoleSession) -> None:
        """:raises StorageUnavailable: DynamoDB failed."""
        self._put(session)

    def _put(self, session: ConsoleSession) -> None:
        item = {
            **self._key(session.key),
            "doc": {"S": session.to_json()},
            "gsi1pk": {"S": f"CONSOLEUSER#{session.username.encode().hex()}"},
            "gsi1sk": {"S": session.key},
            "ttl": {"N": str(int(session.expires_at.timestamp()) + 86400)},
        }
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "save console session") from e

    def get(self, key: str) -> ConsoleSession | None:
        """:raises StorageUnavailable: DynamoDB failed."""
        try:
            item = self._client.get_item(TableName=self._table, Key=self._key(key), ConsistentRead=True)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "get console session") from e
        if "Item" not in item:
            return None
        return ConsoleSession.from_json(item["Item"]["doc"]["S"])

    def touch(self, key: str, seen_at: datetime, groups: tuple[str, ...]) -> None:
        """:raises StorageUnavailable: DynamoDB failed."""
        session = self.get(key)
        if session is not None:
            self._put(replace(session, last_seen_at=seen_at, groups=groups))

    def delete(self, key: str) -> None:
        """:raises StorageUnavailable: DynamoDB failed."""
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(key))
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "delete console session") from e

    def for_user(self, username: str) -> list[ConsoleSession]:
        """:raises StorageUnavailable: DynamoDB failed."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"CONSOLEUSER#{username.encode().hex()}"}},
        }
        found: list[ConsoleSession] = []
        try:
            while True:
                response = self._client.query(**query)
                found += [ConsoleSession.from_json(i["doc"]["S"]) for i in response.get("Items", [])]
                if "LastEvaluatedKey" not in response:
                    return found
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, "list console sessions") from e


TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "gsi1sk", "AttributeType": "S"},
        {"AttributeName": "gsi2pk", "AttributeType": "S"},
        {"AttributeName": "gsi2sk", "AttributeType": "S"},
        {"AttributeName": "gsi3pk", "AttributeType": "S"},
        {"AttributeName": "gsi3sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": GSI1,
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        # The ledger indexes hold only the small ledger-side items (sparse: envelopes, audit entries and
        # links have no gsi2/gsi3 keys), projected whole: a search never reads the table.
        {
            "IndexName": GSI2,
            "KeySchema": [
                {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": GSI3,
            "KeySchema": [
                {"AttributeName": "gsi3pk", "KeyType": "HASH"},
                {"AttributeName": "gsi3sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
"""The table's keys and index: the one definition the local runtime creates and CDK mirrors."""
