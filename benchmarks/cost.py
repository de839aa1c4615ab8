"""What an envelope costs on AWS, from counted calls (``make bench``'s ``cost`` section).

:mod:`metering` counts what one envelope makes AWS do on the local runtime; this module turns those
counts into what AWS bills, with Tokyo (ap-northeast-1) list prices:

* DynamoDB capacity units as on-demand mode bills them — :func:`item_size` (DynamoDB's item size
  rules), :func:`write_units` / :func:`read_units` (1 KB per write unit per item, 4 KB per read unit,
  half for an eventually consistent read, double inside a transaction) and :func:`index_writes` (every
  global secondary index whose keys an item carries is written too, from the table's own index
  definitions, :data:`tachiai.adapters.dynamodb.TABLE_SCHEMA`);
* the price table, :data:`PRICES`, each with its unit and source, read on :data:`PRICES_READ`;
* :func:`envelope_bill` — USD per envelope, by service, plus what the envelope keeps in storage for
  the retention years; :func:`fixed_monthly` — what the stack costs a month whatever it sends.

It is a benchmark's module, never imported by a function: prices change, the code does not.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# --- prices ------------------------------------------------------------------------------------------

PRICES_READ = "2025-06"
"""When the list prices below were read off the AWS pricing pages (ap-northeast-1, USD, on-demand,
before free tiers). The bench has no network: re-read them before quoting a customer."""

REGION = "ap-northeast-1"


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


_P = "https://aws.amazon.com/{}/pricing/"
PRICES: Mapping[str, Price] = {
    "lambda_gb_s": Price(0.0000166667, "GB-second (x86_64)", _P.format("lambda")),
    "lambda_request": Price(0.20 / 1e6, "request", _P.format("lambda")),
    # RSA_2048 (the default seal key) is priced like a symmetric request; other asymmetric specs
    # (ECC_NIST_P256, the other choice of seal_key_spec) five times that.
    "kms_request_rsa2048": Price(0.03 / 1e4, "request (symmetric or RSA 2048)", _P.format("kms")),
    "kms_request_asymmetric": Price(0.15 / 1e4, "request (asymmetric, not RSA 2048)", _P.format("kms")),
    "kms_key_month": Price(1.00, "key-month", _P.format("kms")),
    "kms_rotation_month": Price(
        1.00, "rotated key version-month (first two rotations; later ones free)", _P.format("kms")
    ),
    "ses_message": Price(0.10 / 1000, "message (each recipient counts)", _P.format("ses")),
    "ses_attachment_gb": Price(0.12, "GB of attachments", _P.format("ses")),
    "s3_put": Price(0.0047 / 1000, "PUT, COPY, POST or LIST request", _P.format("s3")),
    "s3_get": Price(0.00037 / 1000, "GET, HEAD or other request", _P.format("s3")),
    "s3_standard_gb_month": Price(0.025, "GB-month, S3 Standard (first 50 TB)", _P.format("s3")),
    "dynamodb_wru": Price(0.715 / 1e6, "write request unit, on-demand", _P.format("dynamodb")),
    "dynamodb_rru": Price(0.1425 / 1e6, "read request unit, on-demand", _P.format("dynamodb")),
    "dynamodb_gb_month": Price(0.285, "GB-month, Standard table class", _P.format("dynamodb")),
    "sfn_transition": Price(0.025 / 1000, "state transition, Standard workflow", _P.format("step-functions")),
    "apigw_rest_request": Price(4.25 / 1e6, "REST API request (first 333 M)", _P.format("api-gateway")),
    "waf_request": Price(0.60 / 1e6, "request inspected", _P.format("waf")),
    "waf_acl_month": Price(5.00, "web ACL-month", _P.format("waf")),
    "waf_rule_month": Price(1.00, "rule-month (a managed rule group counts as one)", _P.format("waf")),
    "xray_trace": Price(5.00 / 1e6, "trace recorded (first 100,000 a month free)", _P.format("xray")),
    "cognito_plus_mau": Price(0.020, "monthly active user, Plus plan (no free tier)", _P.format("cognito")),
    "cognito_essentials_mau": Price(
        0.015, "monthly active user, Essentials (10,000 free)", _P.format("cognito")
    ),
    "cognito_lite_mau": Price(0.0055, "monthly active user, Lite (10,000 free)", _P.format("cognito")),
    "cognito_m2m_client_month": Price(
        6.00, "M2M app client with token requests that month", _P.format("cognito")
    ),
    "cognito_m2m_token": Price(2.25 / 1000, "client-credentials token request", _P.format("cognito")),
    "cloudwatch_alarm_month": Price(0.10, "standard-resolution alarm-month", _P.format("cloudwatch")),
    "cloudwatch_dashboard_month": Price(
        3.00, "dashboard-month (first 3 an account free)", _P.format("cloudwatch")
    ),
    "cloudwatch_logs_gb": Price(0.76, "GB of logs ingested", _P.format("cloudwatch")),
    "secret_month": Price(0.40, "secret-month", _P.format("secrets-manager")),
    "secret_request": Price(0.05 / 1e4, "Secrets Manager API call", _P.format("secrets-manager")),
}


def price(name: str) -> float:
    return PRICES[name].usd


# --- DynamoDB: item sizes and capacity units ----------------------------------------------------------

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
INDEX_ENTRY_OVERHEAD = 100
"""Bytes DynamoDB adds to every index entry for storage (not to the write's size)."""


def _number_size(text: str) -> int:
    """A number: 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1."""
    digits = Decimal(text).normalize().as_tuple().digits
    return math.ceil(len(digits) / 2) + 1


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(base64.b64decode(value))  # moto's JSON, as the wire carries it


def attribute_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value (``{"S": ...}``, ``{"M": {...}}``...)."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        return _number_size(str(content))
    if kind == "B":
        return _binary_size(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in content)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in content)
    if kind == "BS":
        return sum(_binary_size(b) for b in content)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + attribute_size(v) for k, v in content.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """An item's size as DynamoDB bills it: each attribute's name (UTF-8) plus its value."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def write_units(size: int, *, transactional: bool = False) -> int:
    """Write request units for writing (or deleting) one item of ``size`` bytes: one per KB begun,
    at least one (a delete of a missing item too), two per KB inside a transaction."""
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    return 2 * units if transactional else units


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read request units for ``size`` bytes read at once: one per 4 KB begun (at least one) for a
    strongly consistent read, half that eventually consistent, two inside a transaction."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class IndexDefinition:
    name: str
    keys: tuple[str, ...]
    projection: str
    """``ALL``, ``KEYS_ONLY`` or ``INCLUDE``."""
    included: tuple[str, ...] = ()

    def carries(self, item: Mapping[str, Any] | None) -> bool:
        """A sparse index holds only the items that have all its key attributes."""
        return item is not None and all(key in item for key in self.keys)

    def entry(self, item: Mapping[str, Any], table_keys: Sequence[str]) -> dict[str, Any]:
        """What the index holds of ``item`` (its projection)."""
        if self.projection == "ALL":
            return dict(item)
        names = {*table_keys, *self.keys, *(self.included if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in names}


@dataclass(frozen=True)
class TableDefinition:
    keys: tuple[str, ...]
    indexes: tuple[IndexDefinition, ...]

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any]) -> TableDefinition:
        """From a boto3 ``create_table`` schema (:data:`tachiai.adapters.dynamodb.TABLE_SCHEMA`)."""
        indexes = tuple(
            IndexDefinition(
                index["IndexName"],
                tuple(key["AttributeName"] for key in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in schema.get("GlobalSecondaryIndexes", ())
        )
        return cls(tuple(key["AttributeName"] for key in schema["KeySchema"]), indexes)

    def key_of(self, item: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(repr(item[name]) for name in self.keys)


def index_writes(
    table: TableDefinition, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, int]:
    """Write units each global secondary index takes when ``old`` becomes ``new`` (``None``: no item).

    An item that gains the index's keys is put into it, one that loses them is deleted from it, one
    whose index key changes is both (two writes); an item that stays with the same index key is
    rewritten when what the index projects of it changed. Index writes are not doubled by a
    transaction (the transaction's two phases are on the table; indexes are updated after commit).
    """
    writes: dict[str, int] = {}
    for index in table.indexes:
        before = index.entry(old, table.keys) if old is not None and index.carries(old) else None
        after = index.entry(new, table.keys) if new is not None and index.carries(new) else None
        units = 0
        if before is not None and after is not None:
            same_key = all(before[k] == after[k] for k in index.keys)
            if not same_key:
                units = write_units(item_size(before)) + write_units(item_size(after))
            elif before != after:
                units = write_units(max(item_size(before), item_size(after)))
        elif before is not None:
            units = write_units(item_size(before))
        elif after is not None:
            units = write_units(item_size(after))
        if units:
            writes[index.name] = units
    return writes


@dataclass
class Capacity:
    """DynamoDB request units of a set of calls (on-demand billing)."""

    table_writes: int = 0
    index_writes: dict[str, int] = field(default_factory=dict)
    reads: float = 0.0
    by_operation: dict[str, float] = field(default_factory=dict)
    """Request units (writes + reads) by operation: where they come from."""
    by_item: dict[str, int] = field(default_factory=dict)
    """Write units (table + indexes) by kind of item (``kind_of``): what the writes are spent on."""
    item_sizes: list[int] = field(default_factory=list)
    """The size of every item written (table side)."""
    filtered_queries: int = 0
    """Queries whose filter dropped items (DynamoDB bills what it read before filtering, which the
    answer does not show: those reads are undercounted)."""

    @property
    def writes(self) -> int:
        return self.table_writes + sum(self.index_writes.values())

    def _add(self, operation: str, units: float) -> None:
        self.by_operation[operation] = self.by_operation.get(operation, 0.0) + units


def _write(
    capacity: Capacity,
    table: TableDefinition,
    operation: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    transactional: bool,
    kind: str,
) -> None:
    size = max(item_size(old), item_size(new))
    units = write_units(size, transactional=transactional)
    on_indexes = index_writes(table, old, new)
    capacity.table_writes += units
    for name, n in on_indexes.items():
        capacity.index_writes[name] = capacity.index_writes.get(name, 0) + n
    if new is not None:
        capacity.item_sizes.append(item_size(new))
    capacity._add(operation, units + sum(on_indexes.values()))
    capacity.by_item[kind] = capacity.by_item.get(kind, 0) + units + sum(on_indexes.values())


def dynamodb_capacity(
    calls: Iterable[Any], table: TableDefinition, kind_of: Callable[[Mapping[str, Any]], str] | None = None
) -> Capacity:
    """Request units of the DynamoDB calls among ``calls`` (objects with ``service``, ``operation``,
    ``params``, ``response`` and, for writes, ``prior``: the items replaced, in the order written).

    Writes: the larger of the old and the new item (a put over an existing item, a delete), plus the
    indexes (:func:`index_writes`); reads: what the answer returned. ``kind_of(key or item)`` names the
    kind of item a write is for (:attr:`Capacity.by_item`). ``UpdateItem`` is not counted
    (tachiai never updates in place; its new item is not in the request): it raises.

    :raises ValueError: an operation this arithmetic does not know.
    """
    capacity = Capacity()
    kind = kind_of or (lambda _item: "item")
    for call in calls:
        if call.service != "dynamodb":
            continue
        op, params, answer = call.operation, call.params, call.response or {}
        if op == "PutItem":
            item = params["Item"]
            _write(capacity, table, op, call.prior[0], item, transactional=False, kind=kind(item))
        elif op == "DeleteItem":
            _write(capacity, table, op, call.prior[0], None, transactional=False, kind=kind(params["Key"]))
        elif op == "TransactWriteItems":
            for entry, old in zip(params["TransactItems"], call.prior, strict=True):
                ((action_kind, action),) = entry.items()
                if action_kind == "Put":
                    item = action["Item"]
                    _write(capacity, table, op, old, item, transactional=True, kind=kind(item))
                elif action_kind == "Delete":
                    key = action["Key"]
                    _write(capacity, table, op, old, None, transactional=True, kind=kind(key))
                else:
                    raise ValueError(f"TransactWriteItems {action_kind} is not counted")
        elif op == "GetItem":
            units = read_units(item_size(answer.get("Item")), consistent=bool(params.get("ConsistentRead")))
            capacity.reads += units
            capacity._add(op, units)
        elif op == "BatchGetItem":
            for table_name, items in answer.get("Responses", {}).items():
                consistent = bool(params["RequestItems"][table_name].get("ConsistentRead"))
                for item in items:
                    units = read_units(item_size(item), consistent=consistent)
                    capacity.reads += units
                    capacity._add(op, units)
        elif op == "Query":
            size = sum(item_size(item) for item in answer.get("Items", []))
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            units = read_units(size, consistent=consistent)
            capacity.reads += units
            capacity._add(op, units)
            if answer.get("ScannedCount", 0) > answer.get("Count", 0):
                capacity.filtered_queries += 1
        else:
            raise ValueError(f"DynamoDB {op} is not counted")
    return capacity


def stored_items(calls: Iterable[Any], table: TableDefinition) -> dict[tuple[str, ...], Mapping[str, Any]]:
    """The items the calls leave in the table (the last write of each key wins; deletes remove)."""
    items: dict[tuple[str, ...], Mapping[str, Any]] = {}
    for call in calls:
        if call.service != "dynamodb":
            continue
        writes: list[tuple[str, Mapping[str, Any]]] = []
        if call.operation == "PutItem":
            writes = [("Put", call.params["Item"])]
        elif call.operation == "DeleteItem":
            writes = [("Delete", call.params["Key"])]
        elif call.operation == "TransactWriteItems":
            for entry in call.params["TransactItems"]:
                ((kind, action),) = entry.items()
                if kind in ("Put", "Delete"):
                    writes.append((kind, action["Item"] if kind == "Put" else action["Key"]))
        for kind, item in writes:
            if kind == "Put":
                items[table.key_of(item)] = item
            else:
                items.pop(table.key_of(item), None)
    return items


def table_bytes(items: Iterable[Mapping[str, Any]], table: TableDefinition) -> int:
    """Bytes DynamoDB stores for ``items``: each item, and each index entry with its 100 bytes."""
    total = 0
    for item in items:
        total += item_size(item)
        for index in table.indexes:
            if index.carries(item):
                total += item_size(index.entry(item, table.keys)) + INDEX_ENTRY_OVERHEAD
    return total


# --- the bill ------------------------------------------------------------------------------------------


@dataclass
class Line:
    """One service's part of an envelope's cost: what was counted and what it costs."""

    service: str
    usd: float
    counted: str


@dataclass
class Bill:
    lines: list[Line]
    storage_usd: float
    storage_counted: str
    capacity: Capacity

    @property
    def requests_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def total_usd(self) -> float:
        return self.requests_usd + self.storage_usd


S3_PUT_CLASS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "CreateMultipartUpload",
    }
)


def _ses_message_count(params: Mapping[str, Any]) -> int:
    destination = params.get("Destination", {})
    return max(1, sum(len(destination.get(f, [])) for f in ("ToAddresses", "CcAddresses", "BccAddresses")))


def envelope_bill(
    counted: Any,
    memory_mb: Mapping[str, int],
    table: TableDefinition,
    *,
    retention_years: int = 10,
    seal_key_spec: str = "RSA_2048",
    kind_of: Callable[[Mapping[str, Any]], str] | None = None,
) -> Bill:
    """USD for one envelope, by service, from a :class:`metering.Counted` run.

    ``memory_mb``: each function's configured memory, by its short name (``send``, ``seal``...: the
    stack's sizing); ``retention_years``: how long S3 keeps every PDF (the Object Lock retention, the
    lifecycle's expiry); ``seal_key_spec``: the seal key's KMS key spec (its request price).

    :raises ValueError: a DynamoDB operation :func:`dynamodb_capacity` does not count.
    """
    calls = counted.calls
    ops = [(c.service, c.operation) for c in calls]
    lines: list[Line] = []

    gb_s = sum(memory_mb[_short(i.function)] / 1024 * _billed_seconds(i.seconds) for i in counted.invocations)
    n_invocations = len(counted.invocations)
    lines.append(
        Line(
            "Lambda",
            gb_s * price("lambda_gb_s") + n_invocations * price("lambda_request"),
            f"{n_invocations} invocations, {gb_s:.2f} GB-s",
        )
    )

    kms_calls = [c for c in calls if c.service == "kms"]
    kms_price = price("kms_request_rsa2048" if seal_key_spec == "RSA_2048" else "kms_request_asymmetric")
    signs = sum(1 for c in kms_calls if c.operation == "Sign")
    lines.append(
        Line(
            "KMS",
            len(kms_calls) * kms_price,
            f"{signs} Sign, {len(kms_calls) - signs} other ({seal_key_spec})",
        )
    )

    capacity = dynamodb_capacity(calls, table, kind_of)
    lines.append(
        Line(
            "DynamoDB",
            capacity.writes * price("dynamodb_wru") + capacity.reads * price("dynamodb_rru"),
            f"{capacity.writes} WRU ({capacity.table_writes} table + {sum(capacity.index_writes.values())} index),"
            f" {capacity.reads:g} RRU",
        )
    )

    s3_calls = [c for c in calls if c.service == "s3"]
    browser_s3 = [h for h in counted.http if h.target == "s3"]
    puts = sum(1 for c in s3_calls if c.operation in S3_PUT_CLASS) + sum(
        1 for h in browser_s3 if h.method in ("PUT", "POST")
    )
    gets = len(s3_calls) + len(browser_s3) - puts
    lines.append(
        Line(
            "S3 requests",
            puts * price("s3_put") + gets * price("s3_get"),
            f"{puts} PUT-class, {gets} GET/HEAD",
        )
    )

    mails = [c for c in calls if (c.service, c.operation) in (("sesv2", "SendEmail"), ("ses", "SendEmail"))]
    messages = sum(_ses_message_count(c.params) for c in mails)
    lines.append(Line("SES", messages * price("ses_message"), f"{messages} messages"))

    lines.append(
        Line(
            "Step Functions",
            counted.state_transitions * price("sfn_transition"),
            f"{counted.state_transitions} state transitions",
        )
    )

    secrets = sum(1 for c in calls if c.service == "secretsmanager")
    lines.append(Line("Secrets Manager", secrets * price("secret_request"), f"{secrets} API calls"))

    api = sum(1 for h in counted.http if h.target == "api")
    lines.append(Line("API Gateway", api * price("apigw_rest_request"), f"{api} REST requests"))
    lines.append(Line("WAF", api * price("waf_request"), f"{api} requests inspected"))
    executions = sum(1 for s, o in ops if (s, o) == ("stepfunctions", "StartExecution"))
    traces = api + executions
    lines.append(Line("X-Ray", traces * price("xray_trace"), f"{traces} traces (beyond the free 100,000)"))

    stored = sum(o.bytes for o in counted.stored)
    items = stored_items(calls, table).values()
    item_bytes = table_bytes(items, table)
    months = 12 * retention_years
    storage_usd = (
        stored / 1e9 * price("s3_standard_gb_month") * months
        + item_bytes / 1e9 * price("dynamodb_gb_month") * months
    )
    storage_counted = (
        f"{len(counted.stored)} S3 objects, {stored / 1e6:.2f} MB, and {len(items)} DynamoDB items,"
        f" {item_bytes / 1e3:.1f} KB with their index entries, for {retention_years} years"
    )
    return Bill(lines, storage_usd, storage_counted, capacity)


def _short(function: str) -> str:
    """``tachiai-ai-extract`` -> ``ai_extract`` (the local runtime's function names)."""
    return function.removeprefix("tachiai-").replace("-", "_")


def _billed_seconds(seconds: float) -> float:
    """Lambda bills duration rounded up to the millisecond."""
    return math.ceil(seconds * 1000) / 1000


@dataclass
class Fixed:
    item: str
    usd_month: float
    note: str


def fixed_monthly(
    *, waf_rules: int = 4, alarms: int = 12, dashboards: int = 1, secrets: int = 0
) -> list[Fixed]:
    """What the stack costs a month whatever it sends (list prices; the free tiers aside).

    ``waf_rules``: the web ACL's rules (infra/constructs/api.py: a rate rule and three managed rule
    groups); ``alarms``/``dashboards``: the operator's CloudWatch alarms and dashboard (an estimate
    until they are in the stack); ``secrets``: Secrets Manager secrets the tenant configured (an OIDC
    client secret, TSA credentials).
    """
    return [
        Fixed("KMS seal key", price("kms_key_month"), "asymmetric: no automatic rotation"),
        Fixed(
            "KMS documents key",
            price("kms_key_month"),
            f"symmetric, yearly rotation: +${price('kms_rotation_month'):.2f} a month after each of the"
            " first two rotations (from the third year $3 a month)",
        ),
        Fixed(
            "WAF web ACL",
            price("waf_acl_month") + waf_rules * price("waf_rule_month"),
            f"the ACL and {waf_rules} rules",
        ),
        Fixed("CloudWatch alarms", alarms * price("cloudwatch_alarm_month"), f"{alarms} alarms (estimate)"),
        Fixed(
            "CloudWatch dashboard",
            dashboards * price("cloudwatch_dashboard_month"),
            "free if the account has fewer than three",
        ),
        Fixed("Secrets Manager", secrets * price("secret_month"), f"{secrets} secrets"),
    ]


def usd(value: float) -> str:
    """A small amount with enough digits to mean something ($0.000123)."""
    if value == 0:
        return "$0"
    if value >= 1:
        return f"${value:,.2f}"
    digits = max(2, 2 - math.floor(math.log10(value)) + 1)
    return f"${Decimal(value):.{digits}f}"


# --- the bench's report ----------------------------------------------------------------------------------


def report(counted: Any, bill: Bill) -> dict[str, Any]:
    """One counted envelope and its bill, as ``benchmarks/results.json`` keeps it."""
    invocations: dict[str, dict[str, Any]] = {}
    for i in counted.invocations:
        entry = invocations.setdefault(_short(i.function), {"count": 0, "seconds": 0.0, "from_api": 0})
        entry["count"] += 1
        entry["seconds"] = round(entry["seconds"] + i.seconds, 3)
        entry["from_api"] += i.trigger == "api"
    operations: dict[str, int] = {}
    for call in counted.calls:
        name = f"{call.service} {call.operation}"
        operations[name] = operations.get(name, 0) + 1
    final = {o.key for o in counted.stored if o.inside is None}
    capacity = bill.capacity
    return {
        "signers": counted.signers,
        "usd_per_envelope": round(bill.total_usd, 7),
        "usd_requests": round(bill.requests_usd, 7),
        "usd_storage": round(bill.storage_usd, 7),
        "by_service": {
            line.service: {"usd": round(line.usd, 8), "counted": line.counted} for line in bill.lines
        },
        "storage": bill.storage_counted,
        "aws_calls": dict(sorted(operations.items())),
        "lambda": invocations,
        "state_transitions": counted.state_transitions,
        "http": {
            "api_requests": sum(1 for h in counted.http if h.target == "api"),
            "browser_s3_requests": sum(1 for h in counted.http if h.target == "s3"),
        },
        "dynamodb": {
            "write_units": capacity.writes,
            "table_write_units": capacity.table_writes,
            "index_write_units": dict(sorted(capacity.index_writes.items())),
            "read_units": capacity.reads,
            "by_operation": dict(sorted(capacity.by_operation.items())),
            "write_units_by_item": dict(sorted(capacity.by_item.items(), key=lambda kv: -kv[1])),
            "largest_item_bytes": max(capacity.item_sizes, default=0),
            "filtered_queries": capacity.filtered_queries,
        },
        "s3_objects": [
            {
                "key": o.key.split("/", 2)[-1],
                "bytes": o.bytes,
                "inside": o.inside.split("/", 2)[-1] if o.inside else None,
            }
            for o in sorted(counted.stored, key=lambda o: o.key)
        ],
        "s3_bytes_kept": sum(o.bytes for o in counted.stored),
        "s3_bytes_if_each_revision_once": sum(o.bytes for o in counted.stored if o.key in final),
        "seconds": round(counted.seconds, 2),
    }


def print_report(results: Mapping[str, Any]) -> None:
    """The cost section's table (``make bench``, ``benchmarks/run.py --only cost``)."""
    envelopes = results["envelopes"]
    print(
        f"\nWhat an envelope costs, counted on the local runtime ({REGION} list prices read {PRICES_READ},"
        f" USD; {results['retention_years']} years of storage; seal key {results['seal_key_spec']})"
    )
    header = "".join(f"{str(e['signers']) + ' signers':>14}" for e in envelopes)
    print(f"  {'':16}{header}")
    for service in envelopes[0]["by_service"]:
        row = "".join(f"{usd(e['by_service'][service]['usd']):>14}" for e in envelopes)
        print(f"  {service:16}{row}   {envelopes[0]['by_service'][service]['counted']}")
    for label, key in (
        ("requests", "usd_requests"),
        ("storage", "usd_storage"),
        ("TOTAL", "usd_per_envelope"),
    ):
        print(f"  {label:16}{''.join(f'{usd(e[key]):>14}' for e in envelopes)}")
    for e in envelopes:
        d = e["dynamodb"]
        kept, once = e["s3_bytes_kept"], e["s3_bytes_if_each_revision_once"]
        print(
            f"  {e['signers']} signers: DynamoDB {d['write_units']} WRU (table {d['table_write_units']},"
            f" indexes {d['index_write_units']}), {d['read_units']:g} RRU; WRU by item {d['write_units_by_item']};"
            f" S3 keeps {len(e['s3_objects'])} objects, {kept / 1e3:.0f} KB ({once / 1e3:.0f} KB if each revision"
            f" were kept once: the others are byte prefixes of a later one); {e['storage']}"
        )
    print("  Fixed, a month:")
    for f in results["fixed_monthly"]:
        print(f"    {f['item']:22} {usd(f['usd_month']):>8}  {f['note']}")
    print(f"  Cognito: {results['cognito']}")
