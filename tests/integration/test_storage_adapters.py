"""Storage: conditional writes with versions, audit entries in the same transaction, links, S3 layout."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.aws import client_config
from tachiai.adapters.dynamodb import MAX_COUNTERPARTIES, TABLE_SCHEMA, EnvelopeRepository
from tachiai.adapters.s3 import DocumentStore
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditKind, verify_chain
from tachiai.domain.documents import original_key, sealed_key
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant
from tachiai.domain.errors import Conflict, NotFound
from tachiai.domain.events import Person
from tachiai.domain.storage import LinkRecord
from tachiai.extract.model import ContractMetadata

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


@pytest.fixture
def repository() -> Iterator[EnvelopeRepository]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(TableName="envelopes", **TABLE_SCHEMA)
        yield EnvelopeRepository(client, "envelopes")


@pytest.fixture
def store() -> Iterator[DocumentStore]:
    with mock_aws():
        client = boto3.client("s3", region_name="ap-northeast-1", config=client_config("s3"))
        client.create_bucket(
            Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        yield DocumentStore(client, "docs")


def _envelope(envelope_id: str = "env1", sender_id: str = "sub-1") -> Envelope:
    return Envelope(
        id=envelope_id,
        title="秘密保持契約書",
        sender=Person(name="山田太郎", email="taro@example.com"),
        sender_id=sender_id,
        participants=[Participant(id="p1", order=1, person=Person(name="髙橋", email="t@example.jp"))],
        documents=[
            Document(
                id="d1", name="nda.pdf", pages=2, size=10, original_sha256="a" * 64, current_sha256="a" * 64
            )
        ],
        sealed_events=["sent"],
        created_at=T0,
        updated_at=T0,
    )


def _create(repository: EnvelopeRepository, envelope: Envelope) -> Envelope:
    audited, entry = envelope.audited("envelope.created", envelope.sender_id, T0)
    return repository.save(audited, [entry], create=True)


def test_an_envelope_reads_back_as_it_was_saved(repository):
    stored = _create(repository, _envelope())
    assert stored.version == 1
    assert repository.get("env1") == stored


def test_unknown_envelope_is_not_found(repository):
    with pytest.raises(NotFound):
        repository.get("nope")


def test_creating_the_same_envelope_twice_is_a_conflict(repository):
    _create(repository, _envelope())
    with pytest.raises(Conflict):
        _create(repository, _envelope())


def test_a_change_computed_from_a_stale_version_is_refused_and_writes_nothing(repository):
    # Given two readers of version 1
    first = _create(repository, _envelope())
    second = repository.get("env1")
    # When the first saves a change
    sent, entry = rules.send(first, T0).audited("envelope.sent", "sub-1", T0)
    repository.save(sent, [entry])
    # Then the second's change, from the same version, is refused, and its audit entry is not written
    cancelled, stale_entry = rules.end(second, "cancelled", T0).audited("envelope.cancelled", "sub-1", T0)
    with pytest.raises(Conflict):
        repository.save(cancelled, [stale_entry])
    assert repository.get("env1").status == EnvelopeStatus.SENT
    assert [e.kind for e in repository.audit_trail("env1")] == ["envelope.created", "envelope.sent"]


def test_the_audit_trail_reads_back_in_order_and_its_chain_verifies(repository):
    env = _create(repository, _envelope())
    for kind in ("envelope.sent", "participant.notified", "participant.opened"):
        changed, entry = env.audited(kind, "system", T0)
        env = repository.save(changed, [entry])
    trail = repository.audit_trail("env1")
    assert [e.seq for e in trail] == [1, 2, 3, 4]
    verify_chain(trail)


def test_a_link_points_at_its_participant_until_it_is_removed(repository):
    env = _create(repository, _envelope())
    link = LinkRecord("f" * 64, "env1", "p1", T0 + timedelta(days=7))
    env = repository.save(env, [], links_added=[link])
    assert repository.find_link("f" * 64) == link
    repository.save(env, [], links_removed=["f" * 64])
    with pytest.raises(NotFound):
        repository.find_link("f" * 64)


def test_a_sender_lists_their_envelopes_by_status(repository):
    for i in range(3):
        _create(repository, _envelope(f"env{i}"))
    _create(repository, _envelope("other", sender_id="sub-2"))
    sent, entry = rules.send(repository.get("env1"), T0 + timedelta(minutes=1)).audited(
        "envelope.sent", "s", T0
    )
    repository.save(sent, [entry])
    assert {e.id for e in repository.list_for_sender("sub-1").envelopes} == {"env0", "env1", "env2"}
    assert [e.id for e in repository.list_for_sender("sub-1", EnvelopeStatus.SENT).envelopes] == ["env1"]


def test_listing_pages_with_a_cursor(repository):
    for i in range(5):
        _create(repository, _envelope(f"env{i}"))
    first = repository.list_for_sender("sub-1", limit=3)
    second = repository.list_for_sender("sub-1", limit=3, cursor=first.cursor)
    assert len(first.envelopes) == 3
    assert len(second.envelopes) == 2
    assert {e.id for e in first.envelopes + second.envelopes} == {f"env{i}" for i in range(5)}


def test_task_tokens_are_kept_per_participant(repository):
    repository.put_task_token("env1", "p1", "token-abc")
    assert repository.task_token("env1", "p1") == "token-abc"
    with pytest.raises(NotFound):
        repository.task_token("env1", "p2")


# --- the ledger side of a save --------------------------------------------------------------------


class CountingClient:
    """The DynamoDB client, counting the items each write sends."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.transaction_sizes: list[int] = []
        self.single_puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transaction_sizes.append(len(kwargs["TransactItems"]))
        self.last_transaction = kwargs["TransactItems"]
        return self._client.transact_write_items(**kwargs)

    def deleted_keys(self) -> list[str]:
        """The sort keys the last transaction deleted."""
        return sorted(w["Delete"]["Key"]["sk"]["S"] for w in self.last_transaction if "Delete" in w)

    def put_item(self, **kwargs: Any) -> Any:
        self.single_puts += 1
        return self._client.put_item(**kwargs)


def _ledger_item(repository: EnvelopeRepository, envelope_id: str) -> dict[str, Any]:
    client = repository._client
    return client.get_item(
        TableName="envelopes", Key={"pk": {"S": f"ENV#{envelope_id}"}, "sk": {"S": "LEDGER"}}
    )["Item"]


def test_a_save_that_leaves_the_ledger_entry_as_it_was_writes_only_the_envelope_and_its_audit(repository):
    counting = CountingClient(repository._client)
    repository = EnvelopeRepository(counting, "envelopes")  # type: ignore[arg-type]
    created = _create(repository, _envelope())
    # envelope, audit, then the ledger: the tenant's and the owner's entry and its one counterparty
    assert counting.transaction_sizes[-1] == 1 + 1 + 2 * (1 + 1)
    opened, entry = repository.get("env1").audited(
        AuditKind.DOCUMENT_DOWNLOADED, "t@example.jp", T0 + timedelta(hours=1)
    )
    puts_before = counting.single_puts
    repository.save(opened, [entry])
    assert counting.transaction_sizes[-1] == 2  # the envelope and its audit entry
    assert counting.single_puts == puts_before  # nor the counterparty directory
    assert created.version + 1 == repository.get("env1").version


def _with_parties(envelope: Envelope, *parties: str) -> tuple[Envelope, list[Any]]:
    changed = envelope.model_copy(update={"metadata": ContractMetadata(parties=list(parties))})
    audited, entry = changed.audited(AuditKind.DOCUMENT_DOWNLOADED, "t@example.jp", T0)
    return audited, [entry]


def test_a_new_envelope_deletes_no_ledger_slot_it_never_had(repository):
    counting = CountingClient(repository._client)
    _create(EnvelopeRepository(counting, "envelopes"), _envelope())  # type: ignore[arg-type]

    assert counting.deleted_keys() == []


def test_a_change_deletes_only_the_ledger_slots_that_exist_and_are_no_longer_wanted(repository):
    counting = CountingClient(repository._client)
    repository = EnvelopeRepository(counting, "envelopes")  # type: ignore[arg-type]
    _create(repository, _envelope())
    repository.save(*_with_parties(repository.get("env1"), "甲株式会社", "乙株式会社", "丙株式会社"))
    assert counting.deleted_keys() == []

    repository.save(*_with_parties(repository.get("env1"), "甲株式会社"))

    assert counting.deleted_keys() == ["CPTY#01", "CPTY#02", "OCPTY#01", "OCPTY#02"]


def test_an_envelope_stored_without_its_ledger_shape_clears_every_unused_slot(repository):
    _create(repository, _envelope())
    # as an envelope saved before the shape was kept: which slots exist is unknown
    repository._client.update_item(
        TableName="envelopes",
        Key={"pk": {"S": "ENV#env1"}, "sk": {"S": "META"}},
        UpdateExpression="REMOVE ledger_shape",
    )
    counting = CountingClient(repository._client)
    fresh = EnvelopeRepository(counting, "envelopes")  # type: ignore[arg-type]

    fresh.save(*_with_parties(fresh.get("env1"), "甲株式会社"))

    unused = [f"{prefix}#{n:02d}" for prefix in ("CPTY", "OCPTY") for n in range(1, MAX_COUNTERPARTIES)]
    assert counting.deleted_keys() == sorted([*unused, "DUE#end", "DUE#notice"])


def test_a_save_that_changes_the_ledger_entry_rewrites_the_ledger_items(repository):
    _create(repository, _envelope())
    assert _ledger_item(repository, "env1")["status"]["S"] == "draft"
    sent, entry = rules.send(repository.get("env1"), T0).audited("envelope.sent", "sub-1", T0)
    repository.save(sent, [entry])
    assert _ledger_item(repository, "env1")["status"]["S"] == "sent"


def test_a_repository_that_did_not_read_the_envelope_writes_the_ledger_side_anyway(repository):
    _create(repository, _envelope())
    read = repository.get("env1")
    elsewhere = EnvelopeRepository(repository._client, "envelopes")  # another function's container
    counting = CountingClient(repository._client)
    blind = EnvelopeRepository(counting, "envelopes")  # type: ignore[arg-type]
    changed, entry = read.audited(AuditKind.DOCUMENT_DOWNLOADED, "t@example.jp", T0)
    blind.save(changed, [entry])
    assert counting.transaction_sizes[-1] > 2  # it could not know the ledger was current
    assert elsewhere.get("env1").version == read.version + 1


def test_each_sealed_version_is_its_own_object(store):
    store.put(original_key("env1", "d1"), b"%PDF-original")
    store.put(sealed_key("env1", "d1", 1), b"%PDF-sealed-1")
    assert store.get(original_key("env1", "d1")) == b"%PDF-original"
    assert store.get(sealed_key("env1", "d1", 1)) == b"%PDF-sealed-1"


def test_a_missing_document_is_not_found(store):
    with pytest.raises(NotFound):
        store.get(sealed_key("env1", "d1", 9))


def test_download_url_expires_and_names_the_file_in_japanese(store):
    store.put(original_key("env1", "d1"), b"%PDF-x")
    url = store.download_url(original_key("env1", "d1"), "秘密保持契約書.pdf", 600)
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["600"]
    assert query["response-content-disposition"] == [
        f"attachment; filename*=UTF-8''{quote('秘密保持契約書.pdf')}"
    ]


def test_upload_url_limits_type_and_size(store):
    post = store.upload_url(original_key("env1", "d2"), 600, max_bytes=50 * 1024 * 1024)
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))  # type: ignore[index]
    assert ["content-length-range", 1, 50 * 1024 * 1024] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
