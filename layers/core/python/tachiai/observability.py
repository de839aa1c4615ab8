"""Logs, metrics and traces of the Lambda functions: the one module that knows Powertools.

* Logs: on Lambda, every ``tachiai.*`` logger (the ``logging.getLogger(__name__)`` of each module)
  writes through one Powertools Logger: JSON lines carrying ``service`` (the function), the Lambda
  request id and cold start, the API Gateway request id (``correlation_id``, the access log's
  ``requestId``), the logger's name, the ``extra=`` fields, and the envelope the invocation works on
  (``envelope_id``, see :func:`bind_envelope`). The level is the function's application log level
  (Lambda's advanced logging controls, ``AWS_LAMBDA_LOG_LEVEL``). Elsewhere (the local runtime, tests)
  nothing is reconfigured: logs stay the readable ones of the process.
* Metrics: :func:`count` and :func:`seconds` record business events where they happen (the
  services); the handler's wrapper flushes them once per invocation as CloudWatch EMF (namespace
  :data:`NAMESPACE`, dimension ``stack``). Emitted only on Lambda with :data:`tachiai.names.ENV_STACK_NAME`
  set, and never under ``POWERTOOLS_METRICS_DISABLED``: the local runtime and tests print no EMF.
* Traces: :func:`subsegment` wraps an expensive call (KMS, TSA, S3) in an X-Ray subsegment, in a
  function whose handler asked for tracing (the seal function only: the X-Ray SDK costs its import
  time, which the send and agree functions' cold start must not pay). Elsewhere it does nothing.

Nothing is imported or built at import time: Powertools is loaded on a handler's first invocation on
Lambda, and the X-Ray SDK only there in a traced function.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from tachiai import names

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "tachiai"
"""The CloudWatch namespace of every tachiai metric (the stack is their ``stack`` dimension)."""
STACK_DIMENSION = "stack"
PACKAGE_LOGGER = "tachiai"
"""The logger every module's ``logging.getLogger(__name__)`` propagates to."""
LAMBDA_TASK_ROOT = "LAMBDA_TASK_ROOT"
"""Set by the Lambda runtime in every function (and never by the local runtime): "we are on Lambda"."""
METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"
TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
API_REQUEST_ID = "requestContext.requestId"
"""Where an API Gateway proxy event carries its request id (the access log's ``requestId``)."""


class Metric(StrEnum):
    """The business events tachiai counts (names as they appear in CloudWatch)."""

    ENVELOPES_SENT = "EnvelopesSent"
    ENVELOPES_COMPLETED = "EnvelopesCompleted"
    ENVELOPES_REJECTED = "EnvelopesRejected"
    ENVELOPES_CANCELLED = "EnvelopesCancelled"
    ENVELOPES_EXPIRED = "EnvelopesExpired"
    SEALS = "Seals"
    """One sealing event (one signature into one document)."""
    SEAL_LATENCY = "SealLatency"
    """Milliseconds one sealing event took (KMS, TSA, validation data and the PDF work)."""
    TSA_FAILOVERS = "TsaFailovers"
    """A timestamp that needed a later TSA of the list because an earlier one failed."""
    KMS_THROTTLES = "KmsThrottles"
    """A KMS call refused for throttling or brief unavailability (the seal is retried)."""
    MAIL_FAILURES = "MailFailures"
    """A mail SES did not take (any reason)."""
    MAIL_SANDBOX_REFUSALS = "MailSandboxRefusals"
    """A mail SES refused because the account is in the SES sandbox (``MailSandboxRefused``)."""
    EXTRACTION_FAILURES = "ExtractionFailures"
    """A contract's metadata extraction that failed or could not be started (imports included)."""


MAIL_SANDBOX_ERROR = "MailSandboxRefused"
"""The class name of the mail error that means "the account is still in the SES sandbox"."""

_envelope: ContextVar[str | None] = ContextVar("tachiai_envelope", default=None)
_tracer: Tracer | None = None
"""The X-Ray tracer of a traced function on Lambda, set on its first invocation; None elsewhere."""

Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])


def on_lambda() -> bool:
    """Whether this process is a Lambda function (and not the local runtime or a test)."""
    return bool(os.environ.get(LAMBDA_TASK_ROOT))


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def metrics_enabled() -> bool:
    """Whether metrics are emitted: on Lambda, with the stack's name set, not disabled."""
    return (
        on_lambda()
        and bool(os.environ.get(names.ENV_STACK_NAME))
        and not _is_true(os.environ.get(METRICS_DISABLED))
    )


# --- the envelope of the invocation --------------------------------------------------------------


def bind_envelope(envelope_id: str | None) -> None:
    """Name the envelope this invocation works on: every later log line carries it (``envelope_id``),
    and so does every X-Ray subsegment (an annotation, to find an envelope's traces)."""
    _envelope.set(envelope_id)


def current_envelope() -> str | None:
    """The envelope :func:`bind_envelope` named in this invocation, if any."""
    return _envelope.get()


class _EnvelopeField(logging.Filter):
    """Puts the invocation's envelope id on each record (the JSON formatter writes record attributes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        envelope_id = _envelope.get()
        if envelope_id is not None:
            record.envelope_id = envelope_id
        return True


# --- metrics -------------------------------------------------------------------------------------


@functools.cache
def _metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    metrics = Metrics(namespace=NAMESPACE)
    metrics.set_default_dimensions(**{STACK_DIMENSION: os.environ[names.ENV_STACK_NAME]})
    return metrics


def count(metric: Metric, value: int = 1) -> None:
    """Count ``value`` occurrences of a business event (flushed at the end of the invocation)."""
    if metrics_enabled():
        _metrics().add_metric(name=metric.value, unit="Count", value=value)


def seconds(metric: Metric, elapsed: float) -> None:
    """Record a duration (given in seconds, published in milliseconds)."""
    if metrics_enabled():
        _metrics().add_metric(name=metric.value, unit="Milliseconds", value=round(elapsed * 1000, 1))


def mail_failed(error: Exception) -> None:
    """Count a mail SES did not take; a sandbox refusal is also counted on its own (its alarm)."""
    count(Metric.MAIL_FAILURES)
    if any(cls.__name__ == MAIL_SANDBOX_ERROR for cls in type(error).__mro__):
        count(Metric.MAIL_SANDBOX_REFUSALS)


def flush_metrics() -> None:
    """Publish the invocation's metrics as one EMF document on stdout (CloudWatch reads it from the
    function's log), if any were recorded."""
    if metrics_enabled():
        metrics = _metrics()
        if metrics.metric_set:
            metrics.flush_metrics()


# --- traces --------------------------------------------------------------------------------------


@contextlib.contextmanager
def subsegment(name: str) -> Iterator[None]:
    """An X-Ray subsegment named ``name`` around the block, in a traced function on Lambda; otherwise
    nothing. The block's own exceptions pass through unchanged (X-Ray records them)."""
    tracer = _tracer
    if tracer is None:
        yield
        return
    with tracer.provider.in_subsegment(name=name) as segment:
        envelope_id = _envelope.get()
        if envelope_id is not None:
            segment.put_annotation("envelope_id", envelope_id)
        yield


# --- the handler wrapper -------------------------------------------------------------------------


def _logger(service: str) -> Logger:
    """The Powertools Logger of ``service``, with every ``tachiai.*`` logger routed into it."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    logger = Logger(service=service)
    logger.registered_handler.addFilter(_EnvelopeField())
    # The package logger exists before any module logs (each module's getLogger(__name__) registers it);
    # created here all the same, so a handler whose modules have not been imported yet is covered too.
    logging.getLogger(PACKAGE_LOGGER)
    copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})
    return logger


def _start_tracing(service: str) -> None:
    global _tracer
    if _tracer is None and not _is_true(os.environ.get(TRACE_DISABLED)):
        from aws_lambda_powertools import Tracer

        # No patching: the subsegments tachiai opens itself (KMS, TSA, S3) are the ones worth their cost.
        _tracer = Tracer(service=service, auto_patch=False)


def lambda_handler(service: str, *, tracing: bool = False) -> Callable[[Handler], Handler]:
    """Decorate a function's handler: JSON logs with the request and envelope ids, metrics flushed per
    invocation, and (``tracing``) X-Ray subsegments. Everything is set up on the first invocation on
    Lambda; elsewhere the handler runs as it is (only the envelope binding is reset per invocation).
    """

    def decorate(handler: Handler) -> Handler:
        built: list[Callable[[Any, Any], Any]] = []

        def lambda_wrapped() -> Callable[[Any, Any], Any]:
            if not built:
                if tracing:
                    _start_tracing(service)
                logger = _logger(service)
                # Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: a recipient route's
                # event holds the link token (its path) and request bodies hold personal data.
                built.append(
                    logger.inject_lambda_context(handler, log_event=False, correlation_id_path=API_REQUEST_ID)
                )
            return built[0]

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            _envelope.set(None)  # a warm container's next invocation starts with no envelope
            if not on_lambda():
                return handler(event, context)
            try:
                return lambda_wrapped()(event, context)
            finally:
                flush_metrics()

        return run  # type: ignore[return-value]

    return decorate
