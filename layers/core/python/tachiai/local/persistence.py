"""The local runtime's data on disk: what a restart of ``tachiai local`` keeps.

moto keeps everything in memory. The local runtime copies the state that is tachiai's data into its
state directory and puts it back when it starts again:

* every item of the DynamoDB table (envelopes, participants, audit trail, links, task tokens, the
  ledger), in DynamoDB's JSON;
* every object of the bucket (documents at each seal, certificates, imports), one file per content
  (``data/objects/<sha256>``), with its content type and metadata;
* every mail sent (the outbox), raw as SES received it, with its message id;
* the seal key (``kms-seal-key.pem``): KMS keys cannot be exported from AWS, but moto's can, and a
  new key would mean a new seal certificate for the same envelopes.

A snapshot (``data/state.json``) is written a few seconds after a change and when the runtime stops;
it is read under the service locks of :class:`~tachiai.local.guard.ServiceLocks`, so it never holds
half of one API call. What a restart does *not* keep is the Step Functions executions (threads of
moto's interpreter): :mod:`tachiai.local.runtime` starts them again from the envelopes' recorded
progress. A crash (``kill -9``, power loss) loses what changed since the last snapshot.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives import serialization

from tachiai.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from tachiai.local.aws import LocalAws

__all__ = ["Snapshot", "Snapshotter", "StoredObject", "capture", "load", "restore", "seal_key", "write"]

FORMAT: Final = 1
"""Version of ``state.json``; a runtime refuses a state it does not know rather than guess."""
DATA_DIR: Final = "data"
STATE_FILE: Final = "state.json"
OBJECTS_DIR: Final = "objects"
SEAL_KEY_FILE: Final = "kms-seal-key.pem"
_USER_METADATA: Final = "x-amz-meta-"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    """One object of the bucket, its content kept in ``objects/<sha256>``."""

    key: str
    sha256: str
    metadata: dict[str, str] = field(default_factory=dict)
    """moto's metadata of the object: ``Content-Type`` and the user's ``x-amz-meta-*``."""


@dataclass
class Snapshot:
    """tachiai's data in moto at one moment."""

    items: list[dict[str, Any]] = field(default_factory=list)
    """The table's items, as DynamoDB's wire JSON (``{"pk": {"S": ...}, ...}``)."""
    objects: list[StoredObject] = field(default_factory=list)
    mails: list[dict[str, Any]] = field(default_factory=list)
    """``{"id", "source", "destinations", "raw_data"}`` of each mail, in sending order."""


def _attribute(value: Any) -> dict[str, Any]:
    """A moto ``DynamoType`` as wire JSON (moto keeps nested maps and lists as ``DynamoType`` too)."""
    kind, content = value.type, value.value
    if kind == "M":
        return {"M": {name: _attribute(nested) for name, nested in content.items()}}
    if kind == "L":
        return {"L": [_attribute(nested) for nested in content]}
    if kind == "B" and isinstance(content, bytes):
        return {"B": base64.b64encode(content).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") if isinstance(b, bytes) else b for b in content]}
    return {kind: content}


def capture(aws: LocalAws, table: str, bucket: str) -> tuple[Snapshot, dict[str, bytes]]:
    """The table, the bucket and the mails as they are now; with the objects' contents by sha256.

    Read from moto's backends while no request to DynamoDB, S3 or SES runs, so the snapshot is
    consistent (a seal writes the new document before the envelope that points at it).
    """
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import FakeKey, s3_backends
    from moto.ses.models import RawMessage, ses_backends

    snapshot = Snapshot()
    contents: dict[str, bytes] = {}
    with aws.locks.exclusive("dynamodb", "s3", "ses"):
        dynamodb = dynamodb_backends[aws.account_id][aws.region]
        if table in dynamodb.tables:
            snapshot.items = [
                {name: _attribute(value) for name, value in item.attrs.items()}
                for item in dynamodb.get_table(table).all_items()
            ]
        s3 = s3_backends[aws.account_id]["aws"]
        if bucket in s3.buckets:
            keys = s3.get_bucket(bucket).keys
            for name in list(keys):
                key = keys[name]
                if not isinstance(key, FakeKey):  # a delete marker
                    continue
                data = key.value
                digest = hashlib.sha256(data).hexdigest()
                contents[digest] = data
                metadata = {str(k): str(v) for k, v in dict(key.metadata).items()}
                snapshot.objects.append(StoredObject(name, digest, metadata))
        sent = list(ses_backends[aws.account_id][aws.region].sent_messages)
    snapshot.mails = [
        {"id": m.id, "source": m.source, "destinations": list(m.destinations), "raw_data": m.raw_data}
        for m in sent
        if isinstance(m, RawMessage)
    ]
    return snapshot, contents


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write(state_dir: Path, snapshot: Snapshot, contents: dict[str, bytes]) -> None:
    """Write the snapshot: new object files first, then ``state.json`` in one rename, then remove
    object files nothing refers to any more. A crash at any point leaves the previous snapshot whole."""
    data_dir = state_dir / DATA_DIR
    objects_dir = data_dir / OBJECTS_DIR
    objects_dir.mkdir(parents=True, exist_ok=True)
    for digest, data in contents.items():
        path = objects_dir / digest
        if not path.exists():
            _atomic_write(path, data)
    document = {
        "format": FORMAT,
        "items": snapshot.items,
        "objects": [asdict(o) for o in snapshot.objects],
        "mails": snapshot.mails,
    }
    _atomic_write(data_dir / STATE_FILE, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    referenced = {o.sha256 for o in snapshot.objects}
    for path in objects_dir.iterdir():
        if path.name not in referenced and not path.name.startswith("."):
            path.unlink(missing_ok=True)


def load(state_dir: Path) -> Snapshot | None:
    """The last snapshot in ``state_dir``, or ``None`` when there is none (a first start).

    :raises ConfigurationError: the state file is unreadable or of another format.
    """
    path = state_dir / DATA_DIR / STATE_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text("utf-8"))
        if document.get("format") != FORMAT:
            raise ConfigurationError(
                f"{path}: format {document.get('format')!r}, expected {FORMAT}", name=str(path)
            )
        return Snapshot(
            items=list(document["items"]),
            objects=[StoredObject(**o) for o in document["objects"]],
            mails=list(document["mails"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigurationError(f"{path}: {e}", name=str(path)) from e


def restore(aws: LocalAws, state_dir: Path, snapshot: Snapshot, table: str, bucket: str) -> None:
    """Put a snapshot back into a fresh moto (the table and the bucket exist, empty).

    :raises ConfigurationError: an object's file is missing or does not match its hash.
    """
    from moto.dynamodb.models import dynamodb_backends
    from moto.ses.models import RawMessage, ses_backends

    objects_dir = state_dir / DATA_DIR / OBJECTS_DIR
    s3 = aws.client("s3")
    for stored in snapshot.objects:
        path = objects_dir / stored.sha256
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigurationError(f"{path}: {e}", name=str(path)) from e
        if hashlib.sha256(data).hexdigest() != stored.sha256:
            raise ConfigurationError(f"{path} does not match its sha256", name=str(path))
        headers = {name.lower(): value for name, value in stored.metadata.items()}
        user = {
            name.removeprefix(_USER_METADATA): value
            for name, value in headers.items()
            if name.startswith(_USER_METADATA)
        }
        extra: dict[str, Any] = {"Metadata": user}
        if "content-type" in headers:
            extra["ContentType"] = headers["content-type"]
        s3.put_object(Bucket=bucket, Key=stored.key, Body=data, **extra)
    with aws.locks.exclusive("dynamodb", "ses"):
        dynamodb = dynamodb_backends[aws.account_id][aws.region]
        for item in snapshot.items:
            dynamodb.put_item(table, item)
        ses = ses_backends[aws.account_id][aws.region]
        # moto's state outlives a runtime in the same process (tests): a mail still there stays once.
        present = {getattr(m, "id", None) for m in ses.sent_messages}
        for mail in snapshot.mails:
            if mail["id"] in present:
                continue
            ses.sent_messages.append(
                RawMessage(mail["id"], mail["source"], list(mail["destinations"]), mail["raw_data"])
            )


def seal_key(aws: LocalAws, state_dir: Path, key_id: str) -> None:
    """Keep the KMS seal key across restarts: the first run saves its private key, later runs load it
    into the freshly created key (same public key, so the same seal certificate)."""
    from moto.kms.models import kms_backends

    path = state_dir / SEAL_KEY_FILE
    # moto's RSAPrivateKey wraps a `cryptography` key in `.private_key` (not in its abstract base).
    wrapper: Any = kms_backends[aws.account_id][aws.region].keys[key_id].private_key
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if type(loaded).__name__ != type(wrapper.private_key).__name__:
            raise ConfigurationError(f"{path} is not a key of the seal key's type", name=str(path))
        wrapper.private_key = loaded
        return
    pem = wrapper.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)


class Snapshotter:
    """Writes a snapshot ``delay`` seconds after the first change since the last one, and at stop."""

    def __init__(self, take: Callable[[], None], delay: float = 2.0) -> None:
        self._take = take
        self._delay = delay
        self._changed = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def changed(self, _service: str = "") -> None:
        """Something that belongs in the snapshot changed (called by the moto guard)."""
        self._changed.set()

    def start(self) -> Snapshotter:
        self._thread = threading.Thread(target=self._loop, name="tachiai-local-snapshot", daemon=True)
        self._thread.start()
        return self

    def snapshot_now(self) -> None:
        """Write a snapshot now (one at a time)."""
        with self._lock:
            self._changed.clear()
            self._take()

    def stop(self) -> None:
        """Stop the thread; the caller writes the final snapshot when the runtime is quiet."""
        self._stopped.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while True:
            self._changed.wait()
            if self._stopped.wait(self._delay):
                return
            try:
                self.snapshot_now()
            except Exception:  # a failed snapshot must not end the runtime; the next one retries
                logger.exception("writing the local runtime's snapshot failed")
                self._changed.set()
