"""L3 (issue 13): an import's metadata extraction runs on its own, after the import is answered.

Bedrock can take a minute and API Gateway answers within 29 seconds: the import request stores,
timestamps and answers (``metadata_status: extracting``); the extract function runs from a queued
event (Lambda ``InvocationType=Event``), retried, its last failure sent to the failures queue; the
import shows ``failed`` with the reason when the extraction failed, and can start it again.

Services on the in-memory fakes: the fake invoker queues started events until ``run_started``, which
runs them as Lambda does (retries, then the failures queue); the ai_extract handler is the real one.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from tachiai import names
from tachiai.adapters.functions import FunctionInvoker
from tachiai.domain.audit import AuditKind
from tachiai.domain.errors import ExtractionNotRetryable, FunctionUnavailable, StorageUnavailable
from tachiai.services import ledger
from tachiai.services.ledger import ImportRequest

from tests.fakes import EXTRACT_FUNCTION, SEAL_FUNCTION, FakeWorld, fake_world, import_arrival
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_fault_injection import SENDER

ROOT = Path(__file__).resolve().parents[2]


def _extract_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "h_ai_extract_async", ROOT / "functions/ai_extract/handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXTRACT = _extract_handler()


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    world.functions.routes[SEAL_FUNCTION] = lambda payload: import_arrival(world, payload)
    world.functions.routes[EXTRACT_FUNCTION] = lambda payload: EXTRACT.run(world.svc, payload)
    return world


def _import(world: FakeWorld) -> str:
    request = ImportRequest(
        title="業務委託契約書（紙で締結）",
        file_name="scan.pdf",
        content_base64=base64.b64encode(simple_pdf()).decode(),
    )
    imported = ledger.import_contract(world.svc, SENDER, request)
    assert imported.envelope.metadata_status == "extracting"
    return imported.envelope.id


def test_an_import_is_answered_extracting_before_its_extraction_runs(world: FakeWorld) -> None:
    envelope_id = _import(world)
    # The extraction was queued for the extract function, not called within the request.
    assert world.functions.started == [(EXTRACT_FUNCTION, {"task": "extract", "envelopeId": envelope_id})]
    assert world.faults.calls["functions.call"] == 1  # the timestamp only
    stored = world.envelopes.envelopes[envelope_id]
    assert stored.status == "completed" and stored.metadata_status == "extracting"


def test_the_queued_extraction_stores_the_metadata_when_it_runs(world: FakeWorld) -> None:
    envelope_id = _import(world)
    world.functions.run_started()
    stored = world.envelopes.envelopes[envelope_id]
    assert stored.metadata_status == "extracted" and stored.metadata_error is None
    assert world.functions.failed == []


def test_a_failed_extraction_shows_failed_with_its_reason_and_goes_to_the_failures_queue(
    world: FakeWorld,
) -> None:
    envelope_id = _import(world)
    world.faults.always("documents.get", StorageUnavailable)  # the document cannot be read any more
    world.functions.run_started()
    stored = world.envelopes.envelopes[envelope_id]
    assert stored.status == "completed"  # the import stands
    assert (stored.metadata_status, stored.metadata_error) == ("failed", "storage_unavailable")
    # Lambda ran it 1 + ASYNC_RETRY_ATTEMPTS times, then handed the event to the failures queue.
    assert world.functions.failed == [
        (EXTRACT_FUNCTION, {"task": "extract", "envelopeId": envelope_id}, "StorageUnavailable")
    ]
    trail = world.envelopes.audit[envelope_id]
    failures = [e for e in trail if e.kind == AuditKind.METADATA_EXTRACTION_FAILED]
    assert len(failures) == 1 + names.ASYNC_RETRY_ATTEMPTS
    assert failures[-1].data["reason"] == "storage_unavailable"


def test_an_extraction_lambda_would_not_queue_leaves_the_import_failed_not_extracting(
    world: FakeWorld,
) -> None:
    world.faults.always("functions.start", FunctionUnavailable)
    request = ImportRequest(
        title="覚書", file_name="memo.pdf", content_base64=base64.b64encode(simple_pdf()).decode()
    )
    imported = ledger.import_contract(world.svc, SENDER, request).envelope
    assert imported.status == "completed"
    assert (imported.metadata_status, imported.metadata_error) == ("failed", "function_unavailable")


def test_a_failed_extraction_can_be_started_again_by_its_sender(world: FakeWorld) -> None:
    envelope_id = _import(world)
    world.faults.always("documents.get", StorageUnavailable)
    world.functions.run_started()
    world.faults.clear()
    again = ledger.retry_extraction(world.svc, SENDER, envelope_id)
    assert again.metadata_status == "extracting"
    assert world.envelopes.audit[envelope_id][-1].kind == AuditKind.METADATA_EXTRACTION_RETRIED
    world.functions.run_started()
    assert world.envelopes.envelopes[envelope_id].metadata_status == "extracted"


def test_an_extracted_contract_is_not_extracted_again_on_request(world: FakeWorld) -> None:
    envelope_id = _import(world)
    world.functions.run_started()
    with pytest.raises(ExtractionNotRetryable) as refused:
        ledger.retry_extraction(world.svc, SENDER, envelope_id)
    assert refused.value.http_status == 409 and refused.value.params["status"] == "extracted"
    assert world.functions.started == []


def test_the_lambda_adapter_starts_an_event_invocation_and_waits_for_nothing() -> None:
    import boto3

    client = boto3.client(
        "lambda", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    payload = {"task": "extract", "envelopeId": "imp_1"}
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)},
            {
                "FunctionName": "tachiai-extract",
                "InvocationType": "Event",
                "Payload": json.dumps(payload).encode(),
            },
        )
        FunctionInvoker(client).start("tachiai-extract", payload)
        stub.assert_no_pending_responses()


def test_the_lambda_adapter_says_when_lambda_would_not_queue_the_event() -> None:
    import boto3

    client = boto3.client(
        "lambda", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
        with pytest.raises(FunctionUnavailable):
            FunctionInvoker(client).start("tachiai-extract", {"task": "extract", "envelopeId": "imp_1"})
