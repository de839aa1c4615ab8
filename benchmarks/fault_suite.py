"""The fault-injection suite's results for `make bench` (issue 10: "make bench reports ... the fault
suite's results").

The suite (tests/unit/test_fault_injection.py) runs in its own pytest process, with this module loaded
as a plugin (``-p fault_suite``): the benchmark reports exactly what the tests assert, not a copy of
their scenarios that could drift from them. Besides pass/fail per test case, the plugin counts, around
each test, the envelopes run (each a fresh world of fakes), the faults that actually fired in them, and
how often the suite's invariants were checked and held (each call of ``assert_nothing_lost`` checks all
of them on one envelope; it raises on the first that does not hold, so a call that returns is one
envelope for which every invariant held).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "unit" / "test_fault_injection.py"
SUITE_ENV = "TACHIAI_FAULT_SUITE"
"""The suite's file, for the plugin in the child pytest (set by :func:`bench_faults`)."""
REPORT_ENV = "TACHIAI_FAULT_SUITE_REPORT"
"""Where the plugin writes its counts (set by :func:`bench_faults`)."""

INVARIANTS = [
    "no agreement lost (every agreement on record sealed into every final document exactly once)",
    "no event sealed twice",
    "every envelope ends in a terminal state and its sender is told (a mail, or the notice recorded)",
    "each stored document is the head of the envelope's hash chain, and the audit trail verifies",
]
"""What ``assert_nothing_lost`` in the suite asserts on every envelope it checks."""


# --- the plugin (runs inside the child pytest) ----------------------------------------------------

_outcomes: dict[str, str] = {}
_counts = {"envelope_runs": 0, "faults_injected": 0, "invariant_checks_held": 0}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    module = getattr(item, "module", None)
    suite = os.environ.get(SUITE_ENV)
    if module is None or suite is None or Path(module.__file__).resolve() != Path(suite).resolve():
        yield
        return
    worlds: list[Any] = []
    new_world, nothing_lost = module.new_world, module.assert_nothing_lost

    def counting_world(*args: Any, **kwargs: Any) -> Any:
        world = new_world(*args, **kwargs)
        worlds.append(world)
        return world

    def counting_check(*args: Any, **kwargs: Any) -> None:
        nothing_lost(*args, **kwargs)
        _counts["invariant_checks_held"] += 1

    # The suite's helpers call these through the module's globals, so replacing them there counts
    # every call, including those made by assert_completed.
    module.new_world, module.assert_nothing_lost = counting_world, counting_check
    try:
        yield
    finally:
        module.new_world, module.assert_nothing_lost = new_world, nothing_lost
        _counts["envelope_runs"] += len(worlds)
        _counts["faults_injected"] += sum(len(world.faults.injected) for world in worlds)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _outcomes[report.nodeid] = "skipped"
    elif report.when == "call":
        _outcomes[report.nodeid] = report.outcome
    elif report.failed:  # setup or teardown broke: the test did not pass, whatever its call said
        _outcomes[report.nodeid] = f"error in {report.when}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(REPORT_ENV)
    if target:
        Path(target).write_text(json.dumps({"outcomes": _outcomes, **_counts}))


# --- the benchmark section (runs in `make bench`) -------------------------------------------------


def bench_faults(suite: Path = SUITE) -> dict[str, Any]:
    """Run the fault-injection suite in a fresh pytest process and summarize it (``suite`` is another
    file only in this module's own test).

    :raises RuntimeError: pytest ran no test of the suite (not found, or it failed to import).
    """
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "faults.json"
        env = {
            **os.environ,
            SUITE_ENV: str(suite),
            REPORT_ENV: str(report_path),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
            ),
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "fault_suite",
            str(suite),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        # No outcome at all: the suite was not collected (missing, or failing to import) — a broken
        # benchmark, not a suite with zero failures.
        if not report.get("outcomes"):
            raise RuntimeError(
                f"the fault suite did not run (pytest exit {done.returncode}):\n{done.stdout[-2000:]}"
            )
    outcomes: dict[str, str] = report["outcomes"]
    failed = sorted(nodeid for nodeid, outcome in outcomes.items() if outcome not in ("passed", "skipped"))
    return {
        "scenarios": len(outcomes),
        "passed": sum(1 for outcome in outcomes.values() if outcome == "passed"),
        "failed": len(failed),
        "skipped": sum(1 for outcome in outcomes.values() if outcome == "skipped"),
        "failures": failed,
        "envelope_runs": report["envelope_runs"],
        "faults_injected": report["faults_injected"],
        "invariant_checks_held": report["invariant_checks_held"],
        "invariants": INVARIANTS,
        "pytest_exit_code": done.returncode,
        "wall_s": round(wall, 1),
    }


def print_table(faults: dict[str, Any]) -> None:
    """The fault suite's line (and its failures, if any) in the `make bench` table."""
    verdict = "all passed" if faults["failed"] == 0 and faults["passed"] else f"{faults['failed']} FAILED"
    print(
        f"\nFault injection ({SUITE.relative_to(REPO)}): {faults['scenarios']} scenarios,"
        f" {faults['passed']} passed, {faults['failed']} failed, {faults['skipped']} skipped ({verdict})"
        f" in {faults['wall_s']}s;"
        f" {faults['envelope_runs']} envelopes run, {faults['faults_injected']} faults injected,"
        f" invariants held on {faults['invariant_checks_held']} envelopes checked:"
    )
    for invariant in faults["invariants"]:
        print(f"  - {invariant}")
    for nodeid in faults["failures"]:
        print(f"  FAILED {nodeid}")
