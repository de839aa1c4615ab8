"""The signing chain's definition (infra/statemachine/signing_chain.asl.json) against the code it calls.

Step Functions matches errors by name, so a typo in a Retry or Catch silently disables it: every error
name the definition routes on must be a Step Functions name or one of tachiai's error classes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tachiai import names
from tachiai.adapters import sfn
from tachiai.domain.errors import LinkExpired, TachiaiError

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = json.loads((ROOT / names.STATE_MACHINE_DEFINITION).read_text("utf-8"))
OWN_FAIL_NAMES = {"SealFailed", "EnvelopeFailed"}


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"]["States"])


def _error_classes() -> set[str]:
    found, pending = set(), [TachiaiError]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_name_routed_on_is_a_step_functions_name_or_a_tachiai_error_class():
    import tachiai.adapters.dynamodb
    import tachiai.adapters.s3  # noqa: F401  (their error classes join the hierarchy)

    known = _error_classes() | OWN_FAIL_NAMES
    for name, state in _states(DEFINITION["States"]):
        for clause in state.get("Retry", []) + state.get("Catch", []):
            for error in clause["ErrorEquals"]:
                if error.startswith(("States.", "Lambda.")):
                    continue
                assert error in known, f"{name}: {error} is not an error tachiai raises"


def test_the_names_a_recipient_ends_the_wait_with_are_caught_by_the_chain():
    catches = {e for c in DEFINITION["States"]["Participants"]["Catch"] for e in c["ErrorEquals"]}
    assert {sfn.REJECTED, sfn.CANCELLED, LinkExpired.__name__} <= catches


def test_the_placeholders_are_exactly_the_shared_substitutions():
    text = (ROOT / names.STATE_MACHINE_DEFINITION).read_text("utf-8")
    assert set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)) == set(names.STATE_MACHINE_SUBSTITUTIONS)


def test_participants_are_taken_one_at_a_time_and_each_wait_expires_with_the_link():
    participants = DEFINITION["States"]["Participants"]
    assert participants["MaxConcurrency"] == 1
    notify = participants["ItemProcessor"]["States"]["Notify"]
    assert notify["Resource"].endswith("waitForTaskToken")
    assert notify["TimeoutSecondsPath"] == "$.linkTimeoutSeconds"
    # the mail carries an opaque link token; the task token goes to the function, never into a URL
    assert notify["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"


@pytest.mark.parametrize("function", ["send", "agree"])
def test_the_send_and_agree_handlers_do_not_load_pyhanko(function):
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('h', {str(ROOT / 'functions' / function / 'handler.py')!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyhanko', 'pikepdf', 'fpdf'}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
