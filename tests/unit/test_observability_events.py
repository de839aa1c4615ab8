"""The business events an operator counts are counted where they happen: envelopes sent, completed,
rejected, cancelled and expired (the signing chain on the in-memory fakes), each seal and its latency,
a TSA failover, KMS throttling, a failed extraction, a mail SES refused (and a sandbox refusal on its
own); and the expensive calls of the seal function
(KMS, TSA, S3) are X-Ray subsegments.
"""

from __future__ import annotations

import asyncio
import hashlib

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from tachiai import observability
from tachiai.adapters.kms_api import kms_sign
from tachiai.adapters.s3 import DocumentStore
from tachiai.domain.errors import (
    DocumentStoreUnavailable,
    KeyServiceThrottled,
    MailRejected,
    MailSandboxRefused,
)
from tachiai.sealing.timestamping import FailoverTimeStamper
from tachiai.services import ledger, sending

from tests.fixtures.pdfs import simple_pdf
from tests.unit.observability_helpers import RecordingTracer, metric_values, on_lambda
from tests.unit.test_fault_injection import HANAKO, ICHIRO, SENDER, People, new_world, run, send


@pytest.fixture
def counted(monkeypatch, capsys):
    """Run as a deployed function (metrics on); call it to flush and get ``{metric: values}``."""
    with on_lambda(monkeypatch):

        def flushed() -> dict[str, list[float]]:
            observability.flush_metrics()
            return metric_values(capsys.readouterr().out)

        capsys.readouterr()
        yield flushed


@pytest.fixture
def tracer(monkeypatch):
    recording = RecordingTracer()
    monkeypatch.setattr(observability, "_tracer", recording)
    return recording


def total(values: dict[str, list[float]], metric: observability.Metric) -> float:
    return sum(values.get(metric.value, []))


# --- envelopes -----------------------------------------------------------------------------------


def test_a_sent_envelope_is_counted_once(counted):
    send(new_world(), ICHIRO)
    assert total(counted(), observability.Metric.ENVELOPES_SENT) == 1


def test_a_completed_envelope_is_counted_once(counted):
    world = new_world()
    run(world, send(world, ICHIRO, HANAKO))
    values = counted()
    assert total(values, observability.Metric.ENVELOPES_COMPLETED) == 1
    assert total(values, observability.Metric.ENVELOPES_REJECTED) == 0


def test_a_rejected_envelope_is_counted_once(counted):
    world = new_world()
    run(world, send(world, ICHIRO, HANAKO), People(world, {HANAKO: "reject"}))
    values = counted()
    assert total(values, observability.Metric.ENVELOPES_REJECTED) == 1
    assert total(values, observability.Metric.ENVELOPES_COMPLETED) == 0


def test_a_cancelled_envelope_is_counted_once(counted):
    world = new_world()
    envelope_id = send(world, ICHIRO)
    sending.cancel(world.svc, SENDER, envelope_id, "取り消し")
    assert total(counted(), observability.Metric.ENVELOPES_CANCELLED) == 1


def test_an_expired_envelope_is_counted_once(counted):
    world = new_world()
    run(world, send(world, ICHIRO), People(world, {ICHIRO: "ignore"}))
    assert total(counted(), observability.Metric.ENVELOPES_EXPIRED) == 1


def test_each_sealing_event_is_counted_and_timed(counted):
    # Given two signers: the "sent" seal and one per agreement, one document
    world = new_world()
    run(world, send(world, ICHIRO, HANAKO))
    values = counted()
    assert total(values, observability.Metric.SEALS) == 3
    latencies = values[observability.Metric.SEAL_LATENCY.value]
    assert len(latencies) == 3 and all(value >= 0 for value in latencies)


def test_a_failed_extraction_is_counted(counted):
    world = new_world()
    envelope_id = send(world, ICHIRO)
    world.faults.always("ledger.store_text", DocumentStoreUnavailable)
    with pytest.raises(DocumentStoreUnavailable):
        ledger.extract_envelope(world.svc, envelope_id)
    assert total(counted(), observability.Metric.EXTRACTION_FAILURES) == 1


# --- mail ----------------------------------------------------------------------------------------


def test_a_mail_ses_refuses_is_counted_as_a_mail_failure(counted):
    from tests.integration.test_ses_sandbox import _refusing, _request

    with pytest.raises(MailRejected):
        _refusing("MessageRejected", "Email address is on the suppression list").send(_request())
    values = counted()
    assert total(values, observability.Metric.MAIL_FAILURES) == 1
    assert total(values, observability.Metric.MAIL_SANDBOX_REFUSALS) == 0


def test_a_sandbox_refusal_of_ses_is_counted_for_its_own_alarm(counted):
    from tests.integration.test_ses_sandbox import NOT_VERIFIED, _refusing, _request

    with pytest.raises(MailSandboxRefused):
        _refusing("MessageRejected", NOT_VERIFIED).send(_request())
    values = counted()
    assert total(values, observability.Metric.MAIL_FAILURES) == 1
    assert total(values, observability.Metric.MAIL_SANDBOX_REFUSALS) == 1


# --- the seal function's calls -------------------------------------------------------------------


def _throttling_kms():
    client = boto3.client(
        "kms", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_client_error("sign", service_error_code="ThrottlingException", http_status_code=400)
    stubber.activate()
    return client


def test_kms_throttling_of_the_seal_key_is_counted(counted):
    with pytest.raises(KeyServiceThrottled):
        kms_sign(_throttling_kms(), "key-1", b"signed attributes", "RSASSA_PKCS1_V1_5_SHA_256")
    assert total(counted(), observability.Metric.KMS_THROTTLES) == 1


def test_a_timestamp_from_the_second_tsa_counts_as_a_failover(kit, counted, tracer):
    # Given a first TSA that refuses connections and the working local one second
    stamper = FailoverTimeStamper(["http://127.0.0.1:9/tsa", kit.pki.tsa_url], timeout=2)
    asyncio.run(stamper.async_timestamp(hashlib.sha256(b"contract").digest(), "sha256"))
    assert total(counted(), observability.Metric.TSA_FAILOVERS) == 1
    # and each TSA asked is a subsegment of the trace
    assert tracer.names == ["TSA", "TSA"]


def test_a_timestamp_from_the_first_tsa_is_no_failover(kit, counted):
    stamper = FailoverTimeStamper([kit.pki.tsa_url])
    asyncio.run(stamper.async_timestamp(hashlib.sha256(b"contract").digest(), "sha256"))
    assert total(counted(), observability.Metric.TSA_FAILOVERS) == 0


def test_a_real_seal_traces_its_kms_signature_and_its_timestamp(kit, tracer):
    kit.sealer.seal(simple_pdf(), "山田太郎が承認しました")
    assert "KMS Sign" in tracer.names
    assert "TSA" in tracer.names


def test_s3_reads_and_writes_of_documents_are_subsegments(tracer):
    with mock_aws():
        client = boto3.client("s3", region_name="ap-northeast-1")
        client.create_bucket(
            Bucket="documents", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        store = DocumentStore(client, "documents")
        store.put("envelopes/e1/original.pdf", b"%PDF-1.7")
        assert store.get("envelopes/e1/original.pdf") == b"%PDF-1.7"
    assert tracer.names == ["S3 PutObject", "S3 GetObject"]
