"""Operating the stack: JSON logs at the tenant's level, alarms to an encrypted SNS topic the tenant
subscribes to, a dashboard, and link tokens kept out of X-Ray and WAF (the access log rule).

One synth, of a tenant that set ``alarm_email`` and ``log_level``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnElement, Stack
from tachiai import names
from tachiai.observability import NAMESPACE, STACK_DIMENSION, Metric

from infra.app import build_app
from infra.config import ConfigError, load_config
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context, references, resources, walk

CONFIG = {**BASE_CONFIG, "alarm_email": "ops@example.co.jp", "log_level": "WARN"}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any]]:
    app, stack = build_app(cdk_context(CONFIG), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    assembly = app.synth()  # cdk-nag runs here: the topic, its key and the alarms pass AwsSolutions
    return stack, assembly.get_stack_by_name(stack.stack_name).template


@pytest.fixture(scope="module")
def stack(synthesized: tuple[TachiaiStack, dict[str, Any]]) -> TachiaiStack:
    return synthesized[0]


@pytest.fixture(scope="module")
def template(synthesized: tuple[TachiaiStack, dict[str, Any]]) -> dict[str, Any]:
    return synthesized[1]


def lid(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    assert isinstance(element, CfnElement)
    return str(Stack.of(element).resolve(element.logical_id))


def tachiai_functions(stack: TachiaiStack) -> dict[str, str]:
    """``{name: logical id}`` of tachiai's own functions (the four, and the certificate resource's)."""
    found = {name: lid(f.function) for name, f in stack.functions.by_name.items()}
    found["certificate"] = lid(stack.sealing_key.certificate_function.function)
    return found


def alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in resources(template, "AWS::CloudWatch::Alarm").values()]


def alarms_on(template: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [a for a in alarms(template) if a.get("Namespace") == namespace and a.get("MetricName") == metric]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    return next(d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name)


# --- logs ----------------------------------------------------------------------------------------


def test_every_tachiai_function_logs_json_at_the_tenants_level_and_platform_lines_at_warn(stack, template):
    for name, function_id in tachiai_functions(stack).items():
        logging = template["Resources"][function_id]["Properties"]["LoggingConfig"]
        level = "INFO" if name == "certificate" else "WARN"  # the deploy-time resource keeps INFO
        assert (logging["LogFormat"], logging["ApplicationLogLevel"], logging["SystemLogLevel"]) == (
            "JSON",
            level,
            "WARN",
        ), name


def test_the_application_log_level_is_info_unless_the_tenant_sets_one():
    assert load_config(BASE_CONFIG).log_level == "INFO"


def test_a_log_level_lambda_does_not_know_is_refused_by_name():
    with pytest.raises(ConfigError) as refused:
        load_config({**BASE_CONFIG, "log_level": "VERBOSE"})
    assert any(problem.startswith("log_level: ") for problem in refused.value.problems)


def test_every_function_knows_its_stack_the_dimension_of_its_metrics(stack, template):
    for name, function_id in tachiai_functions(stack).items():
        variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert variables[names.ENV_STACK_NAME] == stack.stack_name, name


# --- link tokens stay out of X-Ray and WAF -------------------------------------------------------


def test_the_api_stage_records_no_xray_trace_of_the_urls_with_link_tokens(template):
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"].get("TracingEnabled", False) is False


def test_waf_keeps_no_sampled_request_of_any_rule(template):
    (acl,) = resources(template, "AWS::WAFv2::WebACL").values()
    configs = [acl["Properties"]["VisibilityConfig"]] + [
        rule["VisibilityConfig"] for rule in acl["Properties"]["Rules"]
    ]
    assert len(configs) > 1
    for config in configs:
        assert config["SampledRequestsEnabled"] is False, config["MetricName"]
        assert config["CloudWatchMetricsEnabled"] is True, config["MetricName"]


def test_no_waf_log_records_the_uri_path_unredacted(template):
    for logging in resources(template, "AWS::WAFv2::LoggingConfiguration").values():
        redacted = logging["Properties"].get("RedactedFields", [])
        assert {"UriPath": {}} in redacted


# --- the alarm topic -----------------------------------------------------------------------------


def test_the_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(stack, template):
    topic = template["Resources"][lid(stack.monitoring.topic)]["Properties"]
    key_id = lid(stack.monitoring.key)
    assert references(topic["KmsMasterKeyId"]) == {key_id}
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])


def test_the_alarm_topic_accepts_tls_publishers_only(stack, template):
    topic_id = lid(stack.monitoring.topic)
    (policy,) = [
        p
        for p in resources(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_the_tenants_alarm_email_is_subscribed_to_the_topic(stack, template):
    (subscription,) = resources(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.co.jp"
    assert subscription["Properties"]["TopicArn"] == {"Ref": lid(stack.monitoring.topic)}


def test_an_alarm_email_that_is_no_address_is_refused_by_name():
    with pytest.raises(ConfigError) as refused:
        load_config({**BASE_CONFIG, "alarm_email": "ops at example"})
    assert any(problem.startswith("alarm_email: ") for problem in refused.value.problems)


def test_the_topic_is_an_output_to_subscribe_to(stack, template):
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": lid(stack.monitoring.topic)}


# --- the alarms ----------------------------------------------------------------------------------


def test_every_alarm_notifies_the_topic_and_stays_quiet_without_data(stack, template):
    found = alarms(template)
    assert found
    for alarm in found:
        assert alarm["AlarmActions"] == [{"Ref": lid(stack.monitoring.topic)}], alarm.get("MetricName")
        assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
def test_a_stopped_signing_chain_execution_raises_an_alarm(stack, template, metric):
    (alarm,) = alarms_on(template, "AWS/States", metric)
    assert dimension(alarm, "StateMachineArn") == {"Ref": lid(stack.signing_chain.state_machine)}
    assert alarm["Threshold"] == 1


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_each_functions_errors_and_throttles_raise_an_alarm(stack, template, metric):
    watched = {json.dumps(dimension(a, "FunctionName")) for a in alarms_on(template, "AWS/Lambda", metric)}
    expected = {json.dumps({"Ref": lid(f.function)}) for f in stack.functions.by_name.values()}
    assert expected <= watched


def test_an_api_5xx_raises_an_alarm(stack, template):
    (alarm,) = alarms_on(template, "AWS/ApiGateway", "5XXError")
    assert dimension(alarm, "ApiName") == f"{stack.config.stack_name}-api"


def test_a_message_in_a_failures_queue_raises_an_alarm(stack, template):
    watched = [
        references(dimension(a, "QueueName"))
        for a in alarms_on(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    ]
    for queue in (stack.ledger.failures, stack.reminders.failures):
        assert {lid(queue)} in watched


@pytest.mark.parametrize("metric", [Metric.TSA_FAILOVERS, Metric.KMS_THROTTLES, Metric.MAIL_SANDBOX_REFUSALS])
def test_tachiais_own_trouble_metrics_raise_an_alarm_in_the_namespace_and_stack_the_functions_write(
    stack, template, metric
):
    (alarm,) = alarms_on(template, NAMESPACE, metric.value)
    assert dimension(alarm, STACK_DIMENSION) == stack.stack_name
    assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1


@pytest.mark.parametrize("metric", ["Reputation.BounceRate", "Reputation.ComplaintRate"])
def test_ses_reputation_raises_an_alarm_before_ses_reviews_the_account(template, metric):
    (alarm,) = alarms_on(template, "AWS/SES", metric)
    review_level = {"Reputation.BounceRate": 0.05, "Reputation.ComplaintRate": 0.001}[metric]
    assert 0 < alarm["Threshold"] < review_level


def test_the_dashboard_shows_every_alarm_and_the_business_metrics(template):
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    referenced = references(body)
    for alarm_id in resources(template, "AWS::CloudWatch::Alarm"):
        assert alarm_id in referenced
    text = "".join(item for item in walk(body) if isinstance(item, str))
    for metric in Metric:
        assert f'"{metric.value}"' in text, metric


def test_the_alarm_topic_key_is_not_kept_after_a_failed_create(stack, template):
    key = template["Resources"][lid(stack.monitoring.key)]
    assert key.get("DeletionPolicy", "Delete") == "Delete"


def test_alarms_carry_no_fixed_names(template):
    # Fixed names collide when a second stack deploys into the account (per-stack names only).
    for alarm in alarms(template):
        assert "AlarmName" not in alarm
    for dashboard in resources(template, "AWS::CloudWatch::Dashboard").values():
        assert "DashboardName" not in dashboard["Properties"]


def test_runbook_names_every_alarm_kind():
    runbook = (Path(__file__).resolve().parents[2] / "docs/operations/monitoring.md").read_text(
        encoding="utf-8"
    )
    for term in (
        "ExecutionsFailed",
        "Errors",
        "Throttles",
        "5XXError",
        "requestPayload",
        *(m.value for m in (Metric.TSA_FAILOVERS, Metric.KMS_THROTTLES, Metric.MAIL_SANDBOX_REFUSALS)),
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
    ):
        assert term in runbook, term
