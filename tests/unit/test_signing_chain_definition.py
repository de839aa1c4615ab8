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


LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",  # a killed invocation (timeout, out of memory): every task is safe to run again
}
FINAL_MAIL_TASKS = ["NotifyCompleted", "NotifyRejected", "NotifyCancelled", "NotifyExpired", "NotifyFailed"]


def _lambda_tasks() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, state)
        for name, state in _states(DEFINITION["States"])
        if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke")
    ]


@pytest.mark.parametrize("name", [name for name, _ in _lambda_tasks()])
def test_every_lambda_task_retries_the_lambda_service_errors_and_a_killed_invocation(name):
    state = dict(_lambda_tasks())[name]
    retried = {e for clause in state.get("Retry", []) for e in clause["ErrorEquals"]}
    assert retried >= LAMBDA_SERVICE_ERRORS


@pytest.mark.parametrize("name", [name for name, _ in _lambda_tasks()])
def test_no_task_retries_everything(name):
    # States.ALL in a Retry would repeat refusals (a rejected mail, a changed document) for nothing.
    state = dict(_lambda_tasks())[name]
    assert all("States.ALL" not in c["ErrorEquals"] for c in state.get("Retry", []))


@pytest.mark.parametrize("name", FINAL_MAIL_TASKS)
def test_a_final_mail_that_cannot_be_sent_is_recorded_on_the_envelope(name):
    # Given the task announcing how an envelope ended
    state = DEFINITION["States"][name]
    retried = {e for clause in state["Retry"] for e in clause["ErrorEquals"]}
    assert "MailServiceThrottled" in retried and "MailRejected" not in retried
    # Then any failure left after the retries goes to the task that records the undelivered notice
    (catch,) = state["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    outcome = DEFINITION["States"][catch["Next"]]
    assert outcome["Type"] == "Pass" and outcome["ResultPath"] == "$.outcome"
    assert outcome["Result"] == state["Parameters"]["Payload"]["outcome"]
    record = DEFINITION["States"][outcome["Next"]]
    assert record["Parameters"]["Payload"]["task"] == "notice_undelivered"
    assert record["Parameters"]["Payload"]["error.$"] == catch["ResultPath"]
    # And the original error ($.error, the Fail state's cause) is kept
    assert catch["ResultPath"] != "$.error"


def test_after_an_undelivered_notice_a_failed_envelope_still_ends_the_execution_as_failed():
    choice = DEFINITION["States"][DEFINITION["States"]["RecordUndeliveredNotice"]["Next"]]
    (rule,) = choice["Choices"]
    assert (rule["Variable"], rule["StringEquals"], rule["Next"]) == ("$.outcome", "failed", "Failed")
    assert DEFINITION["States"][choice["Default"]]["Type"] == "Succeed"


def test_when_the_wait_times_out_the_chain_takes_an_answer_the_envelope_recorded():
    states = DEFINITION["States"]["Participants"]["ItemProcessor"]["States"]
    (timeout,) = [c for c in states["Notify"]["Catch"] if "States.Timeout" in c["ErrorEquals"]]
    after = states[timeout["Next"]]
    assert after["Parameters"]["Payload"]["task"] == "recorded_answer"
    assert after["ResultPath"] == states["Notify"]["ResultPath"] == "$.answer"
    assert after["Next"] == states["Notify"]["Next"] == "Seal"
    (expired,) = after["Catch"]
    assert (
        expired["ErrorEquals"] == [LinkExpired.__name__] and states[expired["Next"]]["Error"] == "LinkExpired"
    )


def test_every_task_event_the_definition_sends_parses_as_the_typed_task_of_its_function():
    from pydantic import TypeAdapter
    from tachiai.domain import tasks

    by_function = {
        "${SendFunctionArn}": tasks.SEND_TASKS,
        "${SealFunctionArn}": tasks.SEAL_TASKS,
        "${ExtractFunctionArn}": tasks.EXTRACT_TASKS,
    }
    for name, state in _lambda_tasks():
        payload = state["Parameters"]["Payload"]
        # JSONPath fields get a sample value of the shape the path yields
        sample = {
            key.removesuffix(".$"): _sample(key.removesuffix(".$")) if key.endswith(".$") else value
            for key, value in payload.items()
        }
        adapter: TypeAdapter[Any] = by_function[state["Parameters"]["FunctionName"]]
        assert tasks.parse_task(adapter, sample), name


def _sample(field: str) -> Any:
    if field in ("error",):
        return {"Error": "SealFailed", "Cause": "{}"}
    if field == "answer":
        return {"outcome": "agreed", "participantId": "p1"}
    if field == "outcome":
        return "completed"
    return "x"


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
