"""The in-memory envelope store answers get_many and the sender list as the DynamoDB adapter does
(tests/integration/test_envelope_get_many.py), so page tests on the fakes meet the same world."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import StorageUnavailable
from tachiai.domain.storage import SENDER_LIST_ORDER

from tests.fakes import FakeEnvelopeStore, Faults
from tests.integration.test_storage_adapters import T0, _envelope


@pytest.fixture
def store() -> FakeEnvelopeStore:
    store = FakeEnvelopeStore(Faults())
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
        store.save(envelope, [], create=True)
    return store


def test_get_many_answers_in_the_order_asked_each_once_skipping_missing_ids(store):
    found = store.get_many(["env2", "gone", "env0", "env2"])

    assert [e.id for e in found] == ["env2", "env0"]


def test_get_many_is_one_call_that_a_fault_can_fail(store):
    store.faults.inject("envelopes.get_many", StorageUnavailable)

    with pytest.raises(StorageUnavailable):
        store.get_many(["env0"])
    assert store.faults.calls["envelopes.get_many"] == 1 and store.faults.calls["envelopes.get"] == 0


def test_the_unfiltered_sender_list_is_grouped_by_status_newest_first_within_each(store):
    listed = store.list_for_sender("sub-1").envelopes

    assert [e.id for e in listed] == ["env3", "env1", "env2", "env0"]
    rank = {status: n for n, status in enumerate(SENDER_LIST_ORDER)}
    assert [rank[e.status] for e in listed] == sorted(rank[e.status] for e in listed)
