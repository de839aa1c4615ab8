"""S5: the automatic reminders' hourly EventBridge rule invokes the send function with the reminders
task, retries, keeps what it cannot deliver, and nothing else may invoke send from outside but API
Gateway and this rule (cdk-nag clean: the synth raises on any unacknowledged finding)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tachiai import names

from infra.app import build_app
from infra.stack import TachiaiStack
from tests.infra.helpers import cdk_context, resources
from tests.infra.test_stack import function_id, lid


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any]]:
    app, stack = build_app(cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    assembly = app.synth()  # runs cdk-nag too
    return stack, assembly.get_stack_by_name(stack.stack_name).template


def test_an_hourly_rule_sends_the_reminders_event_to_the_send_function(synthesized):
    stack, template = synthesized
    rule = template["Resources"][lid(stack.reminders.schedule)]["Properties"]
    (target,) = rule["Targets"]

    assert rule["ScheduleExpression"] == "rate(1 hour)" and names.REMINDERS_SCHEDULE_MINUTES == 60
    assert rule["State"] == "ENABLED"
    assert target["Arn"] == {"Fn::GetAtt": [function_id(stack, "send"), "Arn"]}
    assert json.loads(target["Input"]) == names.REMINDERS_EVENT == {"task": "reminders"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [lid(stack.reminders.failures), "Arn"]}}


def test_only_the_reminders_rule_is_granted_to_invoke_send_from_eventbridge(synthesized):
    stack, template = synthesized
    send = {"Fn::GetAtt": [function_id(stack, "send"), "Arn"]}
    from_events = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] in (send, {"Ref": function_id(stack, "send")})
        and p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert [p["SourceArn"] for p in from_events] == [{"Fn::GetAtt": [lid(stack.reminders.schedule), "Arn"]}]


def test_the_reminders_failures_queue_is_encrypted_and_tls_only(synthesized):
    stack, template = synthesized
    queue_id = lid(stack.reminders.failures)
    queue = template["Resources"][queue_id]["Properties"]
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    (allow,) = [s for s in policy if s["Effect"] == "Allow"]
    assert queue["SqsManagedSseEnabled"] is True
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::GetAtt": [lid(stack.reminders.schedule), "Arn"]
    }
