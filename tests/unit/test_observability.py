"""Logs, metrics and traces of the functions (tachiai.observability): JSON log lines with the function,
the request and the envelope on Lambda; business metrics flushed once per invocation as EMF; X-Ray
subsegments only in a traced function; and nothing of it in the local runtime or in tests.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tachiai import observability
from tachiai.domain.errors import MailRejected, MailSandboxRefused
from tachiai.observability import Metric

from tests.unit.observability_helpers import (
    STACK,
    LambdaContext,
    RecordingTracer,
    emf_documents,
    metric_values,
    on_lambda,
    printed_json,
)

workflow_log = logging.getLogger("tachiai.services.workflow")


def handler_that(action: Any, *, service: str = "send", tracing: bool = False) -> Any:
    """A function's handler that does ``action(event)``, decorated as the real ones are."""

    @observability.lambda_handler(service, tracing=tracing)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        action(event)
        return {"ok": True}

    return handler


def announce(event: dict[str, Any]) -> None:
    observability.bind_envelope(event.get("envelopeId"))
    workflow_log.info("announced", extra={"outcome": "completed", "mails": 2})


# --- logs ----------------------------------------------------------------------------------------


def test_on_lambda_a_module_log_line_is_json_naming_the_function_request_and_envelope(monkeypatch, capsys):
    # Given a function on Lambda whose task names its envelope
    with on_lambda(monkeypatch):
        handler = handler_that(announce, service="send-logs")
        # When a service logs at INFO through its module logger
        handler({"task": "announce", "envelopeId": "env-42"}, LambdaContext(aws_request_id="req-7"))
        lines = [line for line in printed_json(capsys.readouterr().out) if line.get("message") == "announced"]
    # Then the line is JSON with the function, the Lambda request id, the envelope and the logger
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO"
    assert line["service"] == "send-logs"
    assert line["function_request_id"] == "req-7"
    assert line["envelope_id"] == "env-42"
    assert line["name"] == "tachiai.services.workflow"


def test_the_extra_fields_of_a_log_call_reach_the_json_line(monkeypatch, capsys):
    with on_lambda(monkeypatch):
        handler_that(announce, service="send-extra")({"envelopeId": "env-1"}, LambdaContext())
        (line,) = [x for x in printed_json(capsys.readouterr().out) if x.get("message") == "announced"]
    assert (line["outcome"], line["mails"]) == ("completed", 2)


def test_an_api_request_carries_the_api_gateway_request_id_of_the_access_log(monkeypatch, capsys):
    event = {"httpMethod": "GET", "path": "/v1/envelopes", "requestContext": {"requestId": "api-req-9"}}
    with on_lambda(monkeypatch):
        handler_that(announce, service="send-api")(event, LambdaContext())
        (line,) = [x for x in printed_json(capsys.readouterr().out) if x.get("message") == "announced"]
    assert line["correlation_id"] == "api-req-9"


def test_lines_below_the_functions_application_log_level_are_not_written(monkeypatch, capsys):
    # Given the function's log level WARN (Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL)
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")

    def both(event: dict[str, Any]) -> None:
        workflow_log.info("routine")
        workflow_log.warning("announcement not sent")

    with on_lambda(monkeypatch):
        handler_that(both, service="send-level")({}, LambdaContext())
        messages = [x.get("message") for x in printed_json(capsys.readouterr().out)]
    assert "announcement not sent" in messages
    assert "routine" not in messages


def test_a_warm_invocation_does_not_carry_the_previous_envelope(monkeypatch, capsys):
    def log_only(event: dict[str, Any]) -> None:
        workflow_log.info("no envelope here")

    with on_lambda(monkeypatch):
        handler_that(announce, service="send-warm")({"envelopeId": "env-1"}, LambdaContext())
        handler_that(log_only, service="send-warm")({}, LambdaContext(aws_request_id="req-2"))
        (line,) = [x for x in printed_json(capsys.readouterr().out) if x.get("message") == "no envelope here"]
    assert "envelope_id" not in line
    assert line["function_request_id"] == "req-2"


def test_the_event_is_never_logged_even_when_powertools_is_told_to(monkeypatch, capsys):
    # A recipient route's event carries the link token in its path.
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    event = {"path": "/s/SECRET-LINK-TOKEN", "requestContext": {"requestId": "api-req-1"}}
    with on_lambda(monkeypatch):
        handler_that(announce, service="agree-event")(event, LambdaContext())
        printed = capsys.readouterr().out
    assert "announced" in printed
    assert "SECRET-LINK-TOKEN" not in printed


def test_off_lambda_the_handler_leaves_logging_alone_and_prints_nothing(monkeypatch, capsys, caplog):
    # Given the local runtime (or a test): no LAMBDA_TASK_ROOT
    monkeypatch.delenv(observability.LAMBDA_TASK_ROOT, raising=False)
    package = logging.getLogger(observability.PACKAGE_LOGGER)
    before = (list(package.handlers), package.propagate)
    caplog.set_level(logging.INFO, logger="tachiai")

    def count_and_log(event: dict[str, Any]) -> None:
        announce(event)
        observability.count(Metric.ENVELOPES_SENT)

    handler_that(count_and_log, service="send-local")({"envelopeId": "env-1"}, LambdaContext())
    # Then the readable logs of the process are untouched, and no JSON or EMF reaches stdout
    assert (list(package.handlers), package.propagate) == before
    assert "announced" in caplog.messages
    assert capsys.readouterr().out == ""


def test_a_chain_task_of_the_seal_function_names_its_envelope(monkeypatch):
    import importlib.util

    from tachiai.domain.errors import NotFound

    from tests.fakes import fake_world
    from tests.unit.test_fault_injection import ROOT

    spec = importlib.util.spec_from_file_location("seal_handler_obs", ROOT / "functions/seal/handler.py")
    assert spec and spec.loader
    seal = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seal)
    observability.bind_envelope(None)
    with pytest.raises(NotFound):
        seal.run(fake_world().svc, {"task": "finalize", "envelopeId": "env-77"})
    assert observability.current_envelope() == "env-77"
    observability.bind_envelope(None)


# --- metrics -------------------------------------------------------------------------------------


def test_counted_events_are_flushed_once_per_invocation_as_emf_in_the_tachiai_namespace(monkeypatch, capsys):
    def two_sends(event: dict[str, Any]) -> None:
        observability.count(Metric.ENVELOPES_SENT)
        observability.count(Metric.ENVELOPES_SENT)
        observability.seconds(Metric.SEAL_LATENCY, 1.25)

    with on_lambda(monkeypatch):
        handler_that(two_sends, service="seal-metrics")({}, LambdaContext())
        (document,) = emf_documents(capsys.readouterr().out)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "tachiai"
    assert directive["Dimensions"] == [["stack"]]
    assert document["stack"] == STACK
    assert document["EnvelopesSent"] == [1.0, 1.0]
    assert document["SealLatency"] == [1250.0]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"EnvelopesSent": "Count", "SealLatency": "Milliseconds"}


def test_an_invocation_without_events_prints_no_metrics(monkeypatch, capsys):
    with on_lambda(monkeypatch):
        handler_that(lambda event: None, service="seal-quiet")({}, LambdaContext())
        assert emf_documents(capsys.readouterr().out) == []


def test_metrics_disabled_by_powertools_switch_print_no_emf(monkeypatch, capsys):
    with on_lambda(monkeypatch):
        monkeypatch.setenv(observability.METRICS_DISABLED, "true")
        handler_that(lambda event: observability.count(Metric.SEALS), service="seal-off")({}, LambdaContext())
        assert emf_documents(capsys.readouterr().out) == []


def test_without_the_stack_name_no_metric_is_emitted(monkeypatch, capsys):
    with on_lambda(monkeypatch, stack=None):
        handler_that(lambda event: observability.count(Metric.SEALS), service="seal-nostack")(
            {}, LambdaContext()
        )
        assert emf_documents(capsys.readouterr().out) == []


def test_a_sandbox_refusal_is_a_mail_failure_and_is_counted_on_its_own(monkeypatch, capsys):
    with on_lambda(monkeypatch):
        observability.mail_failed(MailSandboxRefused("SES SendEmail: MessageRejected"))
        observability.mail_failed(MailRejected("SES SendEmail: MessageRejected"))
        observability.flush_metrics()
        values = metric_values(capsys.readouterr().out)
    assert values == {"MailFailures": [1.0, 1.0], "MailSandboxRefusals": [1.0]}


# --- traces --------------------------------------------------------------------------------------


def test_a_subsegment_in_a_traced_function_is_annotated_with_the_envelope(monkeypatch):
    tracer = RecordingTracer()
    monkeypatch.setattr(observability, "_tracer", tracer)
    observability.bind_envelope("env-5")
    with observability.subsegment("KMS Sign"):
        pass
    observability.bind_envelope(None)
    assert tracer.subsegments == [("KMS Sign", {"envelope_id": "env-5"})]


def test_a_subsegment_outside_a_traced_function_does_nothing_and_lets_errors_through():
    assert observability._tracer is None
    with pytest.raises(ValueError, match="passes through"), observability.subsegment("S3 GetObject"):
        raise ValueError("passes through")


def test_only_a_traced_handler_on_lambda_builds_a_tracer(monkeypatch, capsys):
    with on_lambda(monkeypatch):
        handler_that(lambda event: None, service="agree-untraced")({}, LambdaContext())
        assert observability._tracer is None
        handler_that(lambda event: None, service="seal-traced", tracing=True)({}, LambdaContext())
        assert observability._tracer is not None


def test_off_lambda_a_traced_handler_builds_no_tracer(monkeypatch):
    monkeypatch.delenv(observability.LAMBDA_TASK_ROOT, raising=False)
    handler_that(lambda event: None, service="seal-local", tracing=True)({}, LambdaContext())
    assert observability._tracer is None
