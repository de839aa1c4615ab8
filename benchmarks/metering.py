"""Count what one envelope makes AWS do, on the local runtime (``make bench``'s ``cost`` section).

The service runs on :class:`tachiai.local.runtime.LocalRuntime` with its PDF functions in this process
(``workers=0``: every function's boto3 client then lives here, where the hooks can see it) and the
envelope is driven over HTTP as people drive it. Counted, each from where it happens:

* every AWS API call of the service — botocore hooks (``before-parameter-build`` for the parameters,
  ``before-call``, ``after-call`` for the answer) on the default boto3 session, which every client of
  :mod:`tachiai.adapters.aws` comes from (the clients are dropped once when the hooks go in, so each is
  created again with them): service, operation, parameters and answer, and the function that made it.
  DynamoDB writes also record the item they replace or delete (read from moto's table just before the
  call): DynamoDB bills a write for the larger of the old and the new item;
* Lambda invocations with their durations, at the local runtime's dispatcher (API requests and the
  state machine's tasks both end there);
* API Gateway requests (= WAF requests) and the browser's own S3 requests (presigned downloads), at
  the HTTP client that plays the sender and the signers;
* Step Functions state transitions, from the execution's history;
* what stays in S3: every object version under the envelope's prefix, with its size.

A warm-up envelope runs first, uncounted: the count is one more envelope on a running service (its
functions' imports and caches warm, as in a warm Lambda). Excluded: moto's own Step Functions
interpreter calling Lambda (that is the Lambda invocation, counted at the dispatcher), the meter's own
reads (a boto3 session of its own), and the runtime's set-up and snapshot calls (counting starts after
start-up; the runtime runs without persistence).

The PDF functions run in this process for the count (``workers=0``); a deployed seal function has
its own CPU share (about 0.6 vCPU at 1 GB), so durations here are only an indication: the Lambda
line of the bill is the least certain, and among the smallest.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

INTERPRETER_ACCESS_KEY = "ak"
"""moto's Step Functions interpreter signs its own Lambda calls with this key (its boto_client_for)."""

_CONTEXT_KEY = "tachiai_meter_call"
"""Where the call being counted rides in botocore's per-request context, from hook to hook."""
DYNAMODB_WRITES = frozenset({"PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"})


@dataclass
class AwsCall:
    """One API call the service made."""

    function: str
    """The Lambda function that made it (``-`` outside any function)."""
    service: str
    """botocore's service name: ``dynamodb``, ``kms``, ``s3``, ``sesv2``, ``stepfunctions``..."""
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None
    prior: list[dict[str, Any] | None] = field(default_factory=list)
    """DynamoDB writes: for each item written or deleted, the item it replaces (``None``: none)."""


@dataclass
class Invocation:
    """One Lambda invocation, as the dispatcher ran it."""

    function: str
    seconds: float
    trigger: str
    """``api`` (an API Gateway request) or ``chain`` (a state machine task, or another function)."""


@dataclass
class HttpRequest:
    """A request the people's browsers (here: requests sessions) made."""

    target: str
    """``api`` (the API Gateway stage) or ``s3`` (a presigned URL)."""
    method: str
    path: str
    status: int
    response_bytes: int


@dataclass
class StoredObject:
    key: str
    bytes: int
    inside: str | None = None
    """The key of another object of the envelope that begins with this one's bytes (a later revision
    written as an incremental update contains it whole), or ``None``."""


@dataclass
class Counted:
    """Everything one envelope made AWS do."""

    signers: int
    calls: list[AwsCall]
    invocations: list[Invocation]
    http: list[HttpRequest]
    state_transitions: int
    stored: list[StoredObject]
    seconds: float

    def operations(self) -> Counter[tuple[str, str]]:
        return Counter((c.service, c.operation) for c in self.calls)


class Meter:
    """Hooks on a running :class:`LocalRuntime` (started with ``workers=0, persist=False``)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.calls: list[AwsCall] = []
        self.invocations: list[Invocation] = []
        self.http: list[HttpRequest] = []
        self._lock = threading.Lock()
        self._running = threading.local()
        """The function running on this thread: the dispatcher runs a function's code on the thread
        that invoked it (``workers=0``), so its AWS calls are made from there."""
        self.active = False

    # --- botocore --------------------------------------------------------------------------------

    def _parameters(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``before-parameter-build``: the call's parameters as the caller gave them."""
        if not self.active:
            return
        service = model.service_model.service_name
        # A body (an S3 PUT's PDF) is kept as its length: what the bill needs, not the bytes.
        kept = {k: (len(v) if isinstance(v, bytes | bytearray) else v) for k, v in params.items()}
        function = getattr(self._running, "function", "-")
        context[_CONTEXT_KEY] = AwsCall(function, service, model.name, copy.deepcopy(kept))

    def _before(self, model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> None:
        """``before-call``: drop moto's own calls; read what a DynamoDB write is about to replace."""
        call: AwsCall | None = context.get(_CONTEXT_KEY)
        if call is None:
            return
        credentials = getattr(request_signer, "_credentials", None)
        if credentials is not None and credentials.access_key == INTERPRETER_ACCESS_KEY:
            context.pop(_CONTEXT_KEY)
            return
        if call.service == "dynamodb" and call.operation in DYNAMODB_WRITES:
            call.prior = self._prior_items(call.operation, call.params)

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``after-call``: the answer, without its streamed body (``ContentLength`` says its size)."""
        call: AwsCall | None = context.pop(_CONTEXT_KEY, None)
        if call is None:
            return
        call.response = {k: v for k, v in parsed.items() if k not in ("Body", "Payload", "ResponseMetadata")}
        with self._lock:
            self.calls.append(call)

    def _prior_items(self, operation: str, params: dict[str, Any]) -> list[dict[str, Any] | None]:
        """The items a write replaces or deletes, as moto holds them now (before the call)."""
        from moto.dynamodb.models import dynamodb_backends

        aws = self.runtime.aws
        backend = dynamodb_backends[aws.account_id][aws.region]
        if operation == "TransactWriteItems":
            targets = []
            for entry in params.get("TransactItems", []):
                ((kind, op),) = entry.items()
                targets.append((op["TableName"], op["Item"] if kind == "Put" else op["Key"]))
        elif operation == "PutItem":
            targets = [(params["TableName"], params["Item"])]
        elif operation in ("DeleteItem", "UpdateItem"):
            targets = [(params["TableName"], params["Key"])]
        else:
            targets = []
        found: list[dict[str, Any] | None] = []
        for table_name, attributes in targets:
            table = backend.get_table(table_name)
            keys = {table.hash_key_attr: attributes[table.hash_key_attr]}
            if table.range_key_attr:
                keys[table.range_key_attr] = attributes[table.range_key_attr]
            item = backend.get_item(table_name, keys)
            found.append(copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None)
        return found

    # --- Lambda --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _timed_invocations(self) -> Iterator[None]:
        dispatcher = self.runtime.aws.dispatcher
        original = dispatcher.invoke

        def invoke(name_or_arn: str, event: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            outer = getattr(self._running, "function", "-")
            function = dispatcher.get(name_or_arn)
            self._running.function = function.name if function is not None else "?"
            try:
                return original(name_or_arn, event, **kwargs)
            finally:
                self._running.function = outer
                if self.active and function is not None:
                    trigger = "api" if isinstance(event, dict) and "httpMethod" in event else "chain"
                    with self._lock:
                        self.invocations.append(
                            Invocation(function.name, time.perf_counter() - began, trigger)
                        )

        dispatcher.invoke = invoke  # the instance's attribute: every caller looks it up there
        try:
            yield
        finally:
            del dispatcher.invoke

    # --- HTTP (the people) -----------------------------------------------------------------------------

    def session(self) -> requests.Session:
        """A browser: every response it gets is counted (redirects included)."""
        api = urlsplit(self.runtime.url).netloc
        session = requests.Session()

        def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            if not self.active:
                return
            parts = urlsplit(response.url)
            if parts.path.startswith("/_local/"):
                return
            target = "api" if parts.netloc == api else "s3"
            with self._lock:
                self.http.append(
                    HttpRequest(
                        target,
                        response.request.method or "GET",
                        parts.path,
                        response.status_code,
                        len(response.content),
                    )
                )

        session.hooks["response"].append(count)
        return session

    # --- the whole --------------------------------------------------------------------------------------

    def _handlers(self) -> list[tuple[str, Any]]:
        return [
            ("before-parameter-build", self._parameters),
            ("before-call", self._before),
            ("after-call", self._after),
        ]

    @contextlib.contextmanager
    def installed(self) -> Iterator[Meter]:
        """The hooks in place (nothing counted until :meth:`counting`).

        The clients :mod:`tachiai.adapters.aws` cached before are dropped once, with the services
        holding them, so that every client is created again from the hooked session; from then on the
        functions keep their clients and caches as a warm Lambda does (the seal key's public key, the
        certificate chain), so a count after a warm-up envelope has no cold-start calls in it.
        """
        import boto3
        from tachiai.adapters.aws import reset_clients
        from tachiai.services.context import reset_services

        session = boto3._get_default_session()
        for event, handler in self._handlers():
            session.events.register(event, handler, unique_id=f"tachiai-meter-{event}")
        reset_clients()
        reset_services()
        try:
            with self._timed_invocations():
                yield self
        finally:
            self.active = False
            for event, _handler in self._handlers():
                session.events.unregister(event, unique_id=f"tachiai-meter-{event}")
            reset_clients()
            reset_services()

    @contextlib.contextmanager
    def counting(self) -> Iterator[Meter]:
        """Count what happens meanwhile (inside :meth:`installed`)."""
        self.active = True
        try:
            yield self
        finally:
            self.active = False


def count_envelope(signers: int = 2) -> Counted:
    """Run one envelope of ``signers`` signers on a fresh local runtime and count it.

    The people: the sender creates the envelope with one PDF (inline, as the API takes a small one)
    and sends it; each signer, in order, follows the mailed link, loads the signing page, opens the
    envelope, views the document and agrees; after the completion mail the sender fetches the
    download list and downloads each file (the final PDF and the agreement certificate) once.
    """
    from tachiai.local.client import Party, SenderClient
    from tachiai.local.runtime import LocalRuntime
    from tachiai.local.samples import sample_nda_pdf

    nda = sample_nda_pdf()
    parties = [Party(f"署名者{n}", f"signer{n}@example.jp") for n in range(1, signers + 1)]
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime(Path(tmp), workers=0, persist=False) as runtime:
        sender_token = runtime.token("taro@example.co.jp", "山田太郎")
        reader = _Reader(runtime)
        meter = Meter(runtime)
        # Titles unique to this run: moto keeps the mails of an earlier runtime in the same process.
        run = uuid.uuid4().hex[:8]
        with meter.installed():
            # A first envelope, not counted, warms every function (its first invocation imports its
            # handler and fills its caches): the count is what a running service does for one more
            # envelope, as `make bench`'s envelope section measures it.
            _drive(runtime, reader, meter, sender_token, parties, nda, f"計測 {run} (準備)", SenderClient)
            with meter.counting():
                began = time.perf_counter()
                envelope_id = _drive(
                    runtime,
                    reader,
                    meter,
                    sender_token,
                    parties,
                    nda,
                    f"秘密保持契約書 {run} ({signers} 名)",
                    SenderClient,
                )
                seconds = time.perf_counter() - began
        return Counted(
            signers,
            meter.calls,
            meter.invocations,
            meter.http,
            reader.state_transitions(envelope_id),
            reader.stored_objects(envelope_id),
            seconds,
        )


def _drive(
    runtime: Any,
    reader: _Reader,
    meter: Meter,
    token: str,
    parties: list[Any],
    pdf: bytes,
    title: str,
    client: Any,
) -> str:
    """One envelope from create to the sender's downloads (see :func:`count_envelope`); its id. Each
    person has a browser of their own (:meth:`Meter.session`: counted while the meter counts)."""
    from tachiai.local.client import Recipient

    sender_browser = meter.session()
    sender = client(runtime.url, token, session=sender_browser)
    created = sender.create(title, parties, [("nda.pdf", pdf)])
    envelope_id = str(created["id"])
    sender.send(envelope_id)
    for party in parties:
        person = Recipient(_wait_for_link(runtime, party.email, title), session=meter.session())
        person.page()
        person.open()
        for document in created["documents"]:
            person.document(document["id"])
        person.agree()
    _wait_for_link(runtime, "taro@example.co.jp", title, completed=True)
    ended = reader.wait_until_done(envelope_id)
    if ended != "SUCCEEDED":
        raise RuntimeError(f"the signing chain of {envelope_id} ended {ended}")
    for download in sender.downloads(envelope_id):
        answer = sender_browser.get(download["url"], timeout=60)
        if answer.status_code != 200:
            raise RuntimeError(f"download {download.get('name')}: {answer.status_code}")
    return envelope_id


def _wait_for_link(runtime: Any, address: str, title: str, completed: bool = False) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for mail in runtime.outbox.to(address):
            if title in mail.subject and ("完了" in mail.subject) == completed:
                return str(next(link for link in mail.links if "/s/" in link))
        time.sleep(0.05)
    raise TimeoutError(f"no mail for {address} about {title}")


class _Reader:
    """The meter's own look at moto, through a boto3 session of its own: the hooks are on the default
    session, so nothing read here is counted as the service's."""

    def __init__(self, runtime: Any) -> None:
        import boto3

        self.runtime = runtime
        session = boto3.session.Session()
        self.sfn = session.client("stepfunctions")
        self.s3 = session.client("s3", config=_s3_config())

    def _execution_arn(self, envelope_id: str) -> str:
        executions = self.sfn.list_executions(stateMachineArn=self.runtime.state_machine_arn)["executions"]
        return str(next(e["executionArn"] for e in executions if e["name"] == envelope_id))

    def wait_until_done(self, envelope_id: str, seconds: float = 120) -> str:
        """Until the envelope's execution has ended (its last tasks, the other completion mails, run
        after the sender's mail is in the outbox); how it ended (``SUCCEEDED``...)."""
        arn = self._execution_arn(envelope_id)
        deadline = time.monotonic() + seconds
        while (status := str(self.sfn.describe_execution(executionArn=arn)["status"])) == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the execution of {envelope_id} is still running")
            time.sleep(0.1)
        self.runtime.aws.dispatcher.wait_idle(seconds)
        return status

    def state_transitions(self, envelope_id: str) -> int:
        """States entered (Step Functions Standard bills each), the Map's iterations included."""
        pages = self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=self._execution_arn(envelope_id)
        )
        return sum(1 for page in pages for e in page["events"] if e["type"].endswith("StateEntered"))

    def stored_objects(self, envelope_id: str) -> list[StoredObject]:
        """Every object version the envelope left in the bucket (Object Lock keeps them all)."""
        from tachiai.local.runtime import BUCKET

        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=BUCKET, Prefix=f"envelopes/{envelope_id}/"
        )
        versions = [(v["Key"], v["VersionId"]) for page in pages for v in page.get("Versions", [])]
        contents = {
            key: self.s3.get_object(Bucket=BUCKET, Key=key, VersionId=version)["Body"].read()
            for key, version in versions
        }
        stored = []
        for key, data in contents.items():
            inside = next(
                (other for other, bigger in contents.items() if other != key and bigger.startswith(data)),
                None,
            )
            stored.append(StoredObject(key, len(data), inside))
        return stored


def _s3_config() -> Any:
    from tachiai.adapters.aws import client_config

    return client_config("s3")


def item_kind(item: Any) -> str:
    """What a tachiai item is, from its key: the envelope's items by sort key (``META``, ``EVT``,
    ``LEDGER``, ``CPTY``...), links, the counterparty directories (``CPTYDIR``)."""
    pk, sk = item["pk"]["S"], item["sk"]["S"]
    if pk.startswith("ENV#"):
        return str(sk.split("#")[0])
    return str(pk.split("#")[0])
