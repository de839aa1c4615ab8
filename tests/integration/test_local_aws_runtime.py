"""The local AWS runtime's core: moto server + Step Functions interpreter + in-process Lambda.

A toy signer chain (tests/fixtures/statemachine/toy_chain.asl.json, the shape of the real one) runs
on moto's interpreter; its Lambda tasks are dispatched in process to the toy handlers under
tests/fixtures/toy_functions, which append every call to one JSON-lines log. The test plays the
signers: it reads each task token from Notify's record and answers with SendTaskSuccess/Failure.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from tachiai.local.aws import LocalAws, LocalAwsError, substitute_definition
from tachiai.local.lambda_dispatch import LambdaDispatcher, LocalFunction

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TOY_CHAIN = FIXTURES / "statemachine" / "toy_chain.asl.json"
TOY_FUNCTIONS = FIXTURES / "toy_functions"
POLL_LIMIT = 30.0

NOTIFY = "toy-notify"
NOTIFY_OUTCOME = "toy-notify-outcome"
SEAL = "toy-seal"
FINALIZE = "toy-finalize"


def toy_functions() -> list[LocalFunction]:
    return [
        LocalFunction(NOTIFY, TOY_FUNCTIONS / "send", "handler.notify"),
        LocalFunction(NOTIFY_OUTCOME, TOY_FUNCTIONS / "send", "handler.notify_outcome"),
        LocalFunction(SEAL, TOY_FUNCTIONS / "seal", "handler.seal"),
        LocalFunction(FINALIZE, TOY_FUNCTIONS / "seal", "handler.finalize"),
    ]


def poll(condition: Callable[[], Any], what: str, limit: float = POLL_LIMIT) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit}s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Envelope:
    id: str
    execution_arn: str


@dataclass
class Chain:
    aws: LocalAws
    state_machine_arn: str
    call_log: Path

    @property
    def sfn(self) -> Any:
        return self.aws.sfn()

    def start(self, *participants: dict[str, Any], link_timeout: int = 3600) -> Envelope:
        envelope_id = f"env-{uuid.uuid4().hex}"
        document = {
            "envelopeId": envelope_id,
            "linkTimeoutSeconds": link_timeout,
            "participants": list(participants),
        }
        response = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=envelope_id, input=json.dumps(document)
        )
        return Envelope(envelope_id, response["executionArn"])

    def calls(self, envelope: Envelope, function: str | None = None) -> list[dict[str, Any]]:
        """Calls recorded for this envelope, in order (optionally of one function)."""
        if not self.call_log.exists():
            return []
        records = []
        for line in self.call_log.read_text("utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line still being written
                break
        return [
            r
            for r in records
            if r["event"].get("envelopeId") == envelope.id and function in (None, r["function"])
        ]

    def token_for(self, envelope: Envelope, participant_id: str) -> str:
        """Wait for Notify to reach the participant; the task token it was given."""

        def find() -> str | None:
            for record in self.calls(envelope, NOTIFY):
                if record["event"]["participant"]["id"] == participant_id:
                    return str(record["event"]["token"])
            return None

        token: str = poll(find, f"Notify for {participant_id}")
        return token

    def agree(self, envelope: Envelope, participant_id: str) -> float:
        token = self.token_for(envelope, participant_id)
        answered_at = time.time()
        self.sfn.send_task_success(taskToken=token, output=json.dumps({"agreedBy": participant_id}))
        return answered_at

    def notified(self, envelope: Envelope) -> list[str]:
        return [r["event"]["participant"]["id"] for r in self.calls(envelope, NOTIFY)]

    def outcome_calls(self, envelope: Envelope) -> list[dict[str, Any]]:
        return [r["event"] for r in self.calls(envelope, NOTIFY_OUTCOME)]


def start_toy_chain(call_log: Path, **options: Any) -> Chain:
    """Start the runtime with the toy functions and the toy chain (one runtime per process at a time)."""
    aws = LocalAws(LambdaDispatcher(toy_functions()), environment={"TOY_CALL_LOG": str(call_log)}, **options)
    aws.start()
    try:
        arns = aws.create_functions()
        state_machine_arn = aws.create_state_machine(
            "toy-chain",
            TOY_CHAIN,
            {
                "NotifyFunctionArn": arns[NOTIFY],
                "NotifyOutcomeFunctionArn": arns[NOTIFY_OUTCOME],
                "SealFunctionArn": arns[SEAL],
                "FinalizeFunctionArn": arns[FINALIZE],
            },
        )
    except BaseException:
        aws.stop()
        raise
    return Chain(aws, state_machine_arn, call_log)


@pytest.fixture
def start_chain(tmp_path: Path) -> Iterator[Callable[..., Chain]]:
    """For tests about the runtime's own life cycle: each call starts a runtime, all stop at the end."""
    started: list[Chain] = []

    def start(**options: Any) -> Chain:
        started.append(start_toy_chain(tmp_path / f"calls-{len(started)}.jsonl", **options))
        return started[-1]

    yield start
    for chain in started:
        chain.aws.stop()


@pytest.fixture(scope="class")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """The runtime as tachiai uses it, one per class (each test has its own envelope and execution)."""
    chain = start_toy_chain(tmp_path_factory.mktemp("toy-chain") / "calls.jsonl")
    yield chain
    chain.aws.stop()


@pytest.fixture(scope="class")
def raw_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """The runtime without its workarounds for moto's known gaps."""
    chain = start_toy_chain(tmp_path_factory.mktemp("raw-chain") / "calls.jsonl", fix_known_gaps=False)
    yield chain
    chain.aws.stop()


class TestSignerChain:
    def test_two_participants_agree_in_order_then_finalize_and_complete(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"}, {"id": "p2"})

        first_answered_at = chain.agree(envelope, "p1")
        second_answered_at = chain.agree(envelope, "p2")
        result = chain.aws.wait_for_execution(envelope.execution_arn)

        assert result["status"] == "SUCCEEDED"
        assert json.loads(result["output"]) == {"outcome": "completed"}
        calls = chain.calls(envelope)
        assert [(c["function"], c["event"].get("participant", {}).get("id")) for c in calls] == [
            (NOTIFY, "p1"),
            (SEAL, "p1"),
            (NOTIFY, "p2"),
            (SEAL, "p2"),
            (FINALIZE, None),
            (NOTIFY_OUTCOME, None),
        ]
        notify_p2 = calls[2]
        assert notify_p2["at"] > first_answered_at, "p2 was notified before p1 agreed"
        assert calls[3]["at"] > second_answered_at
        assert [c["event"]["agreement"] for c in calls if c["function"] == SEAL] == [
            {"agreedBy": "p1"},
            {"agreedBy": "p2"},
        ]
        assert calls[4]["event"]["participantResults"][1]["seal"]["sealed"]["sealedFor"] == "p2"
        assert calls[5]["event"] == {"envelopeId": envelope.id, "outcome": "completed"}

    def test_reject_notifies_rejection_with_error_and_cause_and_nobody_after(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"}, {"id": "p2"}, {"id": "p3"})
        chain.agree(envelope, "p1")
        token = chain.token_for(envelope, "p2")

        chain.sfn.send_task_failure(taskToken=token, error="Rejected", cause="理由")
        result = chain.aws.wait_for_execution(envelope.execution_arn)

        assert result["status"] == "SUCCEEDED"  # a rejection is an outcome the chain handles, not a failure
        assert json.loads(result["output"]) == {"outcome": "rejected"}
        assert chain.outcome_calls(envelope) == [
            {
                "envelopeId": envelope.id,
                "outcome": "rejected",
                "error": {"Error": "Rejected", "Cause": "理由"},
            }
        ]
        assert chain.notified(envelope) == ["p1", "p2"]
        assert [c["event"]["participant"]["id"] for c in chain.calls(envelope, SEAL)] == ["p1"]
        assert not chain.calls(envelope, FINALIZE)

    def test_link_expiry_times_out_into_notify_expired(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"}, {"id": "p2"}, link_timeout=2)

        result = chain.aws.wait_for_execution(envelope.execution_arn)

        assert result["status"] == "SUCCEEDED"
        assert json.loads(result["output"]) == {"outcome": "expired"}
        (outcome,) = chain.outcome_calls(envelope)
        assert outcome["outcome"] == "expired"
        # States.Timeout was caught inside the iteration and re-raised as the custom `Expired`.
        assert outcome["error"] == {
            "Error": "Expired",
            "Cause": "participant p1 did not answer before the link expired",
        }
        assert chain.notified(envelope) == ["p1"]
        waited = chain.calls(envelope, NOTIFY_OUTCOME)[0]["at"] - chain.calls(envelope, NOTIFY)[0]["at"]
        assert 1.9 <= waited < 10

    def test_cancel_mid_chain_notifies_cancellation(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"}, {"id": "p2"}, {"id": "p3"})
        chain.agree(envelope, "p1")
        token = chain.token_for(envelope, "p2")

        chain.sfn.send_task_failure(taskToken=token, error="Cancelled", cause="送信者が取り消しました")
        result = chain.aws.wait_for_execution(envelope.execution_arn)

        assert result["status"] == "SUCCEEDED"
        assert chain.outcome_calls(envelope) == [
            {
                "envelopeId": envelope.id,
                "outcome": "cancelled",
                "error": {"Error": "Cancelled", "Cause": "送信者が取り消しました"},
            }
        ]
        assert chain.notified(envelope) == ["p1", "p2"]

    def test_moto_stop_execution_does_not_stop_a_waiting_task(self, chain: Chain) -> None:
        """Known moto gap (why cancel is SendTaskFailure): AWS would report ABORTED and refuse the token."""
        envelope = chain.start({"id": "p1"})
        token = chain.token_for(envelope, "p1")

        chain.sfn.stop_execution(executionArn=envelope.execution_arn, error="Cancelled", cause="stop")
        time.sleep(0.3)
        status_after_stop = chain.sfn.describe_execution(executionArn=envelope.execution_arn)["status"]
        chain.sfn.send_task_success(taskToken=token, output="{}")  # AWS: TaskTimedOut (execution closed)
        result = chain.aws.wait_for_execution(envelope.execution_arn)

        assert status_after_stop == "RUNNING"
        assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")  # AWS: ABORTED at once
        assert not chain.outcome_calls(envelope)

    def test_sealing_error_is_retried_by_class_name_then_caught(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1", "sealFails": True}, {"id": "p2"})
        chain.agree(envelope, "p1")

        result = chain.aws.wait_for_execution(envelope.execution_arn)

        seal_attempts = [c["at"] for c in chain.calls(envelope, SEAL)]
        assert len(seal_attempts) == 3  # the first try + Retry MaxAttempts 2 on ErrorEquals ["SealingError"]
        assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(seal_attempts))
        (outcome,) = chain.outcome_calls(envelope)
        assert outcome["outcome"] == "seal_failed"
        assert outcome["error"]["Error"] == "SealFailed"
        lambda_error = json.loads(outcome["error"]["Cause"])
        assert lambda_error["errorType"] == "SealingError"
        assert lambda_error["errorMessage"] == "cannot seal the agreement of p1"
        assert result["status"] == "FAILED"
        assert result["error"] == "SealFailed"
        assert chain.notified(envelope) == ["p1"]

    def test_execution_is_named_after_the_envelope_and_the_name_cannot_be_reused(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"})
        description = chain.sfn.describe_execution(executionArn=envelope.execution_arn)
        document = json.loads(description["input"])

        # As in AWS (STANDARD): the same name and input while running is the same execution...
        again = chain.sfn.start_execution(
            stateMachineArn=chain.state_machine_arn, name=envelope.id, input=description["input"]
        )
        # ...a different input under that name is refused...
        with pytest.raises(chain.sfn.exceptions.ExecutionAlreadyExists):
            chain.sfn.start_execution(
                stateMachineArn=chain.state_machine_arn,
                name=envelope.id,
                input=json.dumps({**document, "participants": [{"id": "someone-else"}]}),
            )
        chain.agree(envelope, "p1")
        chain.aws.wait_for_execution(envelope.execution_arn)
        # ...and so is any start once the execution has ended.
        with pytest.raises(chain.sfn.exceptions.ExecutionAlreadyExists):
            chain.sfn.start_execution(
                stateMachineArn=chain.state_machine_arn, name=envelope.id, input=description["input"]
            )

        assert description["name"] == envelope.id
        assert envelope.execution_arn.endswith(f":execution:toy-chain:{envelope.id}")
        assert again["executionArn"] == envelope.execution_arn
        assert chain.notified(envelope) == ["p1"]

    def test_the_definition_is_parsed_once_not_per_execution(self, chain: Chain) -> None:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        with mock.patch.object(
            AmazonStateLanguageParser, "parse", side_effect=AmazonStateLanguageParser.parse
        ) as parse:
            envelopes = [chain.start({"id": "p1"}) for _ in range(3)]
            for envelope in envelopes:
                chain.agree(envelope, "p1")
            results = [chain.aws.wait_for_execution(e.execution_arn) for e in envelopes]

        # Each execution ran on components of its own, built from one parse of the definition
        assert [json.loads(r["output"]) for r in results] == [{"outcome": "completed"}] * 3
        assert parse.call_count <= 1

    def test_lambda_invoke_runs_the_handler_in_process_by_name_or_arn(self, chain: Chain) -> None:
        client = chain.aws.client("lambda")
        arn = client.get_function(FunctionName=SEAL)["Configuration"]["FunctionArn"]
        event = {"envelopeId": "env-direct", "participant": {"id": "p1"}, "agreement": {}}

        by_name = client.invoke(FunctionName=SEAL, Payload=json.dumps(event).encode())
        by_arn = client.invoke(FunctionName=arn, Payload=json.dumps(event).encode())
        failing = client.invoke(
            FunctionName=SEAL, Payload=json.dumps({**event, "participant": {"id": "p1", "sealFails": True}})
        )

        assert "FunctionError" not in by_name
        assert json.loads(by_name["Payload"].read())["sealedFor"] == "p1"
        assert json.loads(by_arn["Payload"].read())["sealedFor"] == "p1"
        assert failing["FunctionError"] == "Unhandled"
        error = json.loads(failing["Payload"].read())
        assert error["errorType"] == "SealingError"
        assert error["errorMessage"] == "cannot seal the agreement of p1"
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.invoke(FunctionName="not-created", Payload=b"{}")

    def test_a_token_whose_task_has_ended_is_refused(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"}, {"id": "p2"})
        chain.agree(envelope, "p1")
        used = chain.token_for(envelope, "p1")

        with pytest.raises(chain.sfn.exceptions.TaskTimedOut):  # a double-clicked "agree"
            chain.sfn.send_task_success(taskToken=used, output="{}")
        with pytest.raises(chain.sfn.exceptions.TaskTimedOut):
            chain.sfn.send_task_failure(taskToken=used, error="Rejected", cause="late")
        chain.agree(envelope, "p2")

        assert chain.aws.wait_for_execution(envelope.execution_arn)["status"] == "SUCCEEDED"
        assert [c["event"]["agreement"] for c in chain.calls(envelope, SEAL)] == [
            {"agreedBy": "p1"},
            {"agreedBy": "p2"},
        ]

    def test_task_output_must_be_json(self, chain: Chain) -> None:
        envelope = chain.start({"id": "p1"})
        token = chain.token_for(envelope, "p1")

        with pytest.raises(chain.sfn.exceptions.InvalidOutput):
            chain.sfn.send_task_success(taskToken=token, output="agreed")
        chain.agree(envelope, "p1")

        assert chain.aws.wait_for_execution(envelope.execution_arn)["status"] == "SUCCEEDED"

    def test_execution_names_are_checked_and_generated_when_missing(self, chain: Chain) -> None:
        document = json.dumps({"envelopeId": "unnamed", "linkTimeoutSeconds": 60, "participants": []})

        with pytest.raises(chain.sfn.exceptions.InvalidName):
            chain.sfn.start_execution(stateMachineArn=chain.state_machine_arn, name="env 1", input=document)
        unnamed = chain.sfn.start_execution(stateMachineArn=chain.state_machine_arn, input=document)

        name = unnamed["executionArn"].rpartition(":")[2]
        assert uuid.UUID(name)
        assert chain.aws.wait_for_execution(unnamed["executionArn"])["status"] == "SUCCEEDED"


class TestKnownMotoGaps:
    """What moto does without the workarounds. A failure here means moto fixed the gap: drop the patch."""

    def test_send_task_failure_drops_the_cause(self, raw_chain: Chain) -> None:
        envelope = raw_chain.start({"id": "p1"})
        token = raw_chain.token_for(envelope, "p1")

        raw_chain.sfn.send_task_failure(taskToken=token, error="Rejected", cause="理由")
        raw_chain.aws.wait_for_execution(envelope.execution_arn)

        assert raw_chain.outcome_calls(envelope)[0]["error"] == {"Error": "Rejected", "Cause": ""}

    def test_a_token_whose_task_has_ended_is_accepted(self, raw_chain: Chain) -> None:
        envelope = raw_chain.start({"id": "p1"}, {"id": "p2"})
        raw_chain.agree(envelope, "p1")
        used = raw_chain.token_for(envelope, "p1")

        raw_chain.sfn.send_task_success(taskToken=used, output="{}")  # AWS: TaskTimedOut
        raw_chain.sfn.send_task_failure(taskToken=used, error="Rejected")  # AWS: TaskTimedOut
        raw_chain.agree(envelope, "p2")

        assert raw_chain.aws.wait_for_execution(envelope.execution_arn)["status"] == "SUCCEEDED"

    def test_task_output_that_is_not_json_is_accepted(self, raw_chain: Chain) -> None:
        envelope = raw_chain.start({"id": "p1"})
        token = raw_chain.token_for(envelope, "p1")

        raw_chain.sfn.send_task_success(taskToken=token, output="agreed")  # AWS: InvalidOutput
        result = raw_chain.aws.wait_for_execution(envelope.execution_arn)

        assert result["status"] == "FAILED"
        assert result["error"] == "States.Runtime"

    def test_execution_names_are_not_checked_and_a_missing_one_becomes_none(self, raw_chain: Chain) -> None:
        document = json.dumps({"envelopeId": "unnamed", "linkTimeoutSeconds": 60, "participants": []})

        invalid = raw_chain.sfn.start_execution(  # AWS: InvalidName
            stateMachineArn=raw_chain.state_machine_arn, name="env 1", input=document
        )
        unnamed = raw_chain.sfn.start_execution(stateMachineArn=raw_chain.state_machine_arn, input=document)

        assert invalid["executionArn"].endswith(":env 1")
        assert unnamed["executionArn"].endswith(":None")


def test_stop_restores_the_environment_and_removes_what_it_created(
    start_chain: Callable[..., Chain],
) -> None:
    names = (
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MOTO_PORT",
    )
    before = {name: os.environ.get(name) for name in names}

    first = start_chain()
    endpoint, during = first.aws.endpoint_url, os.environ["AWS_ENDPOINT_URL"]
    waiting = first.start({"id": "p1"})
    first.token_for(waiting, "p1")  # an execution left waiting for its token
    first.aws.stop()
    after = {name: os.environ.get(name) for name in names}
    second = start_chain()  # same function and state machine names: the first runtime cleaned up

    assert during == endpoint
    assert after == before
    assert second.aws.running
    assert second.aws.sfn().list_executions(stateMachineArn=second.state_machine_arn)["executions"] == []


def test_importing_the_runtime_starts_nothing() -> None:
    code = (
        "import sys, threading\n"
        "import tachiai.local.aws, tachiai.local.lambda_dispatch\n"
        "assert 'moto' not in sys.modules, 'moto imported'\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_definition_substitution_fills_every_placeholder() -> None:
    definition = '{"Resource": "${SealFunctionArn}", "TimeoutSeconds": ${Timeout}}'

    filled = substitute_definition(definition, {"SealFunctionArn": "arn:aws:lambda:x", "Timeout": 30})

    assert json.loads(filled) == {"Resource": "arn:aws:lambda:x", "TimeoutSeconds": 30}
    with pytest.raises(LocalAwsError, match="Timeout"):
        substitute_definition(definition, {"SealFunctionArn": "arn"})
