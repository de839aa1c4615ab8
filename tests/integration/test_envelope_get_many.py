"""EnvelopeStore.get_many on DynamoDB (moto): a list's envelopes in a few BatchGetItem calls — in the
order asked, missing ones skipped, 100 keys a call, unprocessed keys asked for again — and the sender
list's documented order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from tachiai.adapters import dynamodb
from tachiai.adapters.dynamodb import BATCH_GET_KEYS, TABLE_SCHEMA, EnvelopeRepository
from tachiai.domain.envelope import Envelope, EnvelopeStatus
from tachiai.domain.errors import StorageUnavailable
from tachiai.domain.storage import SENDER_LIST_ORDER

from tests.integration.test_storage_adapters import T0, _create, _envelope


class SpyClient:
    """The moto client, with every BatchGetItem call's keys recorded; ``unprocessed`` plans answers
    that leave keys unprocessed: (how many keys of the call to keep back) per call, in order."""

    def __init__(self, client: Any, unprocessed: list[int] | None = None) -> None:
        self._client = client
        self.unprocessed = list(unprocessed or [])
        self.batches: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, **kwargs: Any) -> Any:
        ((table, request),) = kwargs["RequestItems"].items()
        self.batches.append([key["pk"]["S"].removeprefix("ENV#") for key in request["Keys"]])
        keep = self.unprocessed.pop(0) if self.unprocessed else 0
        if not keep:
            return self._client.batch_get_item(**kwargs)
        served, held = request["Keys"][:-keep], request["Keys"][-keep:]
        answer = self._client.batch_get_item(RequestItems={table: {**request, "Keys": served}})
        answer["UnprocessedKeys"] = {table: {**request, "Keys": held}}
        return answer


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(TableName="envelopes", **TABLE_SCHEMA)
        yield client


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The backoff sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(dynamodb.time, "sleep", slept.append)
    return slept


def stored(repository: EnvelopeRepository, count: int) -> list[Envelope]:
    return [_create(repository, _envelope(f"env{n:03d}")) for n in range(count)]


def test_envelopes_come_back_in_the_order_asked(client):
    repository = EnvelopeRepository(client, "envelopes")
    a, b, c = stored(repository, 3)

    assert repository.get_many([c.id, a.id, b.id]) == [c, a, b]


def test_an_id_with_no_envelope_is_skipped(client):
    repository = EnvelopeRepository(client, "envelopes")
    a, b = stored(repository, 2)

    assert repository.get_many([a.id, "gone", b.id]) == [a, b]


def test_an_id_asked_twice_comes_back_once(client):
    repository = EnvelopeRepository(client, "envelopes")
    (a,) = stored(repository, 1)

    assert repository.get_many([a.id, a.id]) == [a]


def test_no_ids_is_no_call(client):
    spy = SpyClient(client)

    assert EnvelopeRepository(spy, "envelopes").get_many([]) == []  # type: ignore[arg-type]
    assert spy.batches == []


def written_directly(client: Any, count: int) -> list[Envelope]:
    """``count`` envelope items as a save writes them (the item get_many reads), without the saves'
    ledger items: quicker to make a few hundred of."""
    envelopes = [_envelope(f"env{n:03d}").model_copy(update={"version": 1}) for n in range(count)]
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                "envelopes": [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": f"ENV#{e.id}"},
                                "sk": {"S": "META"},
                                "doc": {"S": e.model_dump_json()},
                            }
                        }
                    }
                    for e in envelopes[start : start + 25]
                ]
            }
        )
    return envelopes


def test_more_ids_than_one_call_takes_are_read_in_calls_of_a_hundred(client):
    envelopes = written_directly(client, BATCH_GET_KEYS + 5)
    spy = SpyClient(client)
    wanted = [e.id for e in reversed(envelopes)]

    found = EnvelopeRepository(spy, "envelopes").get_many(wanted)  # type: ignore[arg-type]

    assert [e.id for e in found] == wanted
    assert [len(batch) for batch in spy.batches] == [BATCH_GET_KEYS, 5]


def test_unprocessed_keys_are_asked_for_again_after_a_pause(client, waits):
    envelopes = stored(EnvelopeRepository(client, "envelopes"), 4)
    spy = SpyClient(client, unprocessed=[3, 1])
    wanted = [e.id for e in envelopes]

    found = EnvelopeRepository(spy, "envelopes").get_many(wanted)  # type: ignore[arg-type]

    assert found == envelopes
    assert spy.batches == [wanted, wanted[1:], wanted[3:]]
    assert len(waits) == 2 and waits[0] < waits[1]


def test_keys_left_unprocessed_through_every_retry_are_a_storage_failure(client, waits):
    envelopes = stored(EnvelopeRepository(client, "envelopes"), 2)
    spy = SpyClient(client, unprocessed=[1] * 100)

    with pytest.raises(StorageUnavailable):
        EnvelopeRepository(spy, "envelopes").get_many([e.id for e in envelopes])  # type: ignore[arg-type]
    assert len(spy.batches) == len(waits) + 1


def test_a_failed_call_is_a_storage_failure(client):
    class Failing(SpyClient):
        def batch_get_item(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchGetItem")

    with pytest.raises(StorageUnavailable):
        EnvelopeRepository(Failing(client), "envelopes").get_many(["env1"])  # type: ignore[arg-type]


def test_an_envelope_read_in_a_batch_is_saved_without_rewriting_its_unchanged_ledger(client):
    (a,) = stored(EnvelopeRepository(client, "envelopes"), 1)
    spy = SpyClient(client)
    repository = EnvelopeRepository(spy, "envelopes")  # type: ignore[arg-type]
    (read,) = repository.get_many([a.id])
    written: list[int] = []
    original = client.transact_write_items
    spy.transact_write_items = lambda **kw: written.append(len(kw["TransactItems"])) or original(**kw)  # type: ignore[attr-defined]

    changed = read.model_copy(update={"updated_at": T0 + timedelta(minutes=1)})
    repository.save(changed, [])

    assert written == [1]  # the envelope only: its ledger items are known current


def test_the_unfiltered_sender_list_is_grouped_by_status_newest_first_within_each(client):
    repository = EnvelopeRepository(client, "envelopes")
    statuses = [
        EnvelopeStatus.DRAFT,
        EnvelopeStatus.IN_PROGRESS,
        EnvelopeStatus.DRAFT,
        EnvelopeStatus.REJECTED,
    ]
    for n, status in enumerate(statuses):
        envelope = _envelope(f"env{n}").model_copy(
            update={"status": status, "updated_at": T0 + timedelta(minutes=n)}
        )
        _create(repository, envelope)

    listed = repository.list_for_sender("sub-1").envelopes

    assert [e.id for e in listed] == ["env3", "env1", "env2", "env0"]
    rank = {status: n for n, status in enumerate(SENDER_LIST_ORDER)}
    assert [rank[e.status] for e in listed] == sorted(rank[e.status] for e in listed)
