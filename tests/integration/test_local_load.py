"""``tachiai local`` holds a small team's load (issue 10 §5 and §6).

Many envelopes at once over HTTP, and many double clicks at once on agree. Before the moto guard,
moto's DynamoDB raced under concurrent requests (``dictionary changed size during iteration``), which
moto logged and answered with errors the service turned into ``503 storage_unavailable``. The PDF
functions run in worker processes (:mod:`tachiai.local.workers`), so envelopes seal in parallel. ``make
bench`` runs the larger case (25 envelopes; 200 clicks on 50 envelopes) and reports the time ratio.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tachiai.local.load import double_clicks, run_envelopes
from tachiai.local.runtime import LocalRuntime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("load")) as running:
        yield running


def test_ten_two_party_envelopes_at_once_all_complete_with_valid_evidence(runtime: LocalRuntime) -> None:
    assert runtime.aws is not None and runtime.aws.dispatcher.workers is not None
    workers = runtime.aws.dispatcher.workers
    before = workers.invocations
    result = run_envelopes(runtime, 10, parties=2)
    # Their PDF work (at least each one's prepare and two agreement seals) ran in worker processes.
    assert workers.invocations - before >= 10 * 3 and workers.replaced == 0
    assert result.failures == []
    assert result.server_errors == []  # no 5xx on any request
    assert result.moto_errors == 0  # moto never raced
    assert [e.status for e in result.envelopes] == ["completed"] * 10
    for envelope in result.envelopes:
        assert envelope.seals_valid and envelope.audit_chain_valid
        assert envelope.agreements == 2
        assert envelope.sealed_events == ["sent", "agreed:p1", "agreed:p2"]


def test_forty_simultaneous_clicks_on_agree_across_ten_envelopes_agree_and_seal_once_each(
    runtime: LocalRuntime,
) -> None:
    result = double_clicks(runtime, envelopes=10, clicks=40)
    assert result.failures == []
    assert result.server_errors == [] and not [s for s in result.answers if s >= 500]
    assert result.moto_errors == 0
    for envelope in result.envelopes:
        assert envelope.status == "completed"
        assert envelope.agreements == 1  # one agreement on record
        assert envelope.sealed_events == ["sent", "agreed:p1"]  # and one seal of it
        assert envelope.seals_valid and envelope.audit_chain_valid
