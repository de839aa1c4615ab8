"""Helpers of the observability tests: a Lambda-like environment, and what the functions printed.

On Lambda (``LAMBDA_TASK_ROOT`` set) :mod:`tachiai.observability` reconfigures the ``tachiai`` logger
and may build an X-Ray tracer; :func:`on_lambda` puts everything back afterwards, so no other test
sees JSON logs or a tracer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from tachiai import names, observability

STACK = "TestStack"


@dataclass
class LambdaContext:
    """What Lambda hands a handler (the attributes Powertools reads)."""

    aws_request_id: str = "req-0001"
    function_name: str = "Tachiai-Seal"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:ap-northeast-1:123456789012:function:Tachiai-Seal"


@contextmanager
def on_lambda(monkeypatch: pytest.MonkeyPatch, *, stack: str | None = STACK) -> Iterator[None]:
    """Run as a deployed function does: ``LAMBDA_TASK_ROOT`` and (unless None) the stack's name set."""
    package = logging.getLogger(observability.PACKAGE_LOGGER)
    saved = (list(package.handlers), package.propagate, package.level)
    monkeypatch.setenv(observability.LAMBDA_TASK_ROOT, "/var/task")
    monkeypatch.delenv(observability.METRICS_DISABLED, raising=False)
    if stack is None:
        monkeypatch.delenv(names.ENV_STACK_NAME, raising=False)
    else:
        monkeypatch.setenv(names.ENV_STACK_NAME, stack)
    try:
        yield
    finally:
        package.handlers[:], package.propagate, package.level = saved[0], saved[1], saved[2]
        observability._tracer = None
        if observability._metrics.cache_info().currsize:
            observability._metrics().clear_metrics()
        observability._metrics.cache_clear()
        observability.bind_envelope(None)


def printed_json(text: str) -> list[dict[str, Any]]:
    """Every JSON object printed, one per line (log lines and EMF documents)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def emf_documents(text: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format documents among the printed lines."""
    return [document for document in printed_json(text) if "_aws" in document]


def metric_values(text: str) -> dict[str, list[float]]:
    """``{metric name: values}`` over every EMF document printed (a single value as a list of one)."""
    values: dict[str, list[float]] = {}
    for document in emf_documents(text):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


class RecordingTracer:
    """Stands in for the Powertools Tracer of a traced function: records the subsegments opened."""

    def __init__(self) -> None:
        self.subsegments: list[tuple[str, dict[str, str]]] = []
        self.provider = self

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[RecordingTracer._Segment]:
        segment = RecordingTracer._Segment()
        self.subsegments.append((name, segment.annotations))
        yield segment

    class _Segment:
        def __init__(self) -> None:
            self.annotations: dict[str, str] = {}

        def put_annotation(self, key: str, value: str) -> None:
            self.annotations[key] = value

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.subsegments]
