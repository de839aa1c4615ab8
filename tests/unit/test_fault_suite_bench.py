"""`make bench` reports the fault suite's results: what passed, what failed, how many envelopes ran,
how many faults fired and how often the invariants held (benchmarks/fault_suite.py).

A small stand-in suite with the real one's two hooks (``new_world``, ``assert_nothing_lost``) runs in a
child pytest, as `make bench` runs the real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fault_suite import INVARIANTS, SUITE, bench_faults

STAND_IN = """
import pytest


class Faults:
    def __init__(self, fired):
        self.injected = [("mailer.send", n, "MailServiceThrottled") for n in range(fired)]


class World:
    def __init__(self, fired):
        self.faults = Faults(fired)


def new_world(fired=1):
    return World(fired)


def assert_nothing_lost(world, held=True):
    assert held, "an agreement was lost"


def test_a_fault_that_is_survived():
    assert_nothing_lost(new_world(fired=2))


@pytest.mark.parametrize("calls", [1, 2])
def test_every_call_of_a_method(calls):
    for _ in range(calls):
        assert_nothing_lost(new_world())


def test_an_agreement_lost():
    assert_nothing_lost(new_world(), held=False)


@pytest.fixture
def broken():
    raise RuntimeError("the fixture broke")


def test_a_scenario_whose_setup_breaks(broken):
    pass
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    suite: Path = tmp_path_factory.mktemp("suite") / "test_stand_in.py"
    suite.write_text(STAND_IN)
    return bench_faults(suite)


def test_the_report_counts_scenarios_passed_and_failed(report):
    assert (report["scenarios"], report["passed"], report["failed"], report["skipped"]) == (5, 3, 2, 0)
    assert report["pytest_exit_code"] == 1


def test_the_report_names_each_failed_scenario(report):
    assert [nodeid.split("::")[-1] for nodeid in report["failures"]] == [
        "test_a_scenario_whose_setup_breaks",
        "test_an_agreement_lost",
    ]


def test_the_report_counts_envelopes_faults_and_invariant_checks_that_held(report):
    # worlds: 1 + (1 + 2) + 1; faults: 2 + 3 x 1 + 1; held: every check but the lost agreement
    assert (report["envelope_runs"], report["faults_injected"], report["invariant_checks_held"]) == (5, 6, 4)


def test_the_report_lists_the_invariants_the_suite_asserts(report):
    assert report["invariants"] == INVARIANTS
    assert any("no agreement lost" in invariant for invariant in INVARIANTS)
    assert any("sealed twice" in invariant for invariant in INVARIANTS)
    assert any("sender is told" in invariant for invariant in INVARIANTS)


def test_the_invariants_reported_are_the_ones_the_real_suite_asserts():
    suite = SUITE.read_text()
    assert "def assert_nothing_lost(" in suite and "def new_world(" in suite
    for asserted in ("sealed twice", "is not sealed", "envelope.is_terminal", "told", "verify_chain("):
        assert asserted in suite, asserted


def test_a_suite_that_cannot_run_is_an_error_not_a_report(tmp_path):
    with pytest.raises(RuntimeError, match="did not run"):
        bench_faults(tmp_path / "missing" / "test_nothing.py")
