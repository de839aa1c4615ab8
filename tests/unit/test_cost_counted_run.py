"""`make bench`'s cost section counts what a 2-signer envelope really makes AWS do (benchmarks/metering.py
on the local runtime): the calls an envelope must make are seen, once each, and nothing of the warm-up
envelope or of the meter's own reads is counted."""

from __future__ import annotations

from collections import Counter

import pytest
from tachiai.adapters.dynamodb import TABLE_SCHEMA

from benchmarks.cost import TableDefinition, dynamodb_capacity, item_size, write_units
from benchmarks.metering import Counted, count_envelope, item_kind

SIGNERS = 2


@pytest.fixture(scope="module")
def counted() -> Counted:
    return count_envelope(SIGNERS)


def _operations(counted: Counted) -> Counter[tuple[str, str]]:
    return counted.operations()


def test_each_seal_is_one_kms_signature(counted: Counted) -> None:
    # the "sent" seal, one per signer, the completion seal that locks the document, the certificate's
    assert _operations(counted)[("kms", "Sign")] == 1 + SIGNERS + 1 + 1


def test_a_warm_seal_function_does_not_fetch_its_key_or_chain_again(counted: Counted) -> None:
    operations = _operations(counted)
    assert operations[("kms", "GetPublicKey")] == 0
    assert operations[("ssm", "GetParameter")] == 0


def test_the_mails_are_one_invitation_per_signer_and_a_completion_notice_to_everyone(
    counted: Counted,
) -> None:
    assert _operations(counted)[("sesv2", "SendEmail")] == SIGNERS + (1 + SIGNERS)


def test_one_execution_of_the_signing_chain_is_started(counted: Counted) -> None:
    assert _operations(counted)[("stepfunctions", "StartExecution")] == 1
    assert _operations(counted)[("stepfunctions", "SendTaskSuccess")] == SIGNERS


def test_the_state_transitions_are_four_per_signer_and_four_for_the_envelope(counted: Counted) -> None:
    # Participants (Map), then per signer Notify, Seal, Forwarded?, ParticipantDone; Finalize, Extract,
    # NotifyCompleted
    assert counted.state_transitions == 1 + 4 * SIGNERS + 3


def test_every_api_request_is_one_lambda_invocation(counted: Counted) -> None:
    api = [h for h in counted.http if h.target == "api"]
    # create, send, the download list; each signer: page, open, document, agree
    assert len(api) == 3 + 4 * SIGNERS
    assert sum(1 for i in counted.invocations if i.trigger == "api") == len(api)


def test_the_seal_function_runs_once_per_seal_event_and_once_to_finalize(counted: Counted) -> None:
    seals = [i for i in counted.invocations if i.function == "tachiai-seal"]
    assert len(seals) == 1 + SIGNERS + 1


def test_s3_keeps_the_original_each_sealed_revision_the_final_and_the_certificate(counted: Counted) -> None:
    names = sorted(o.key.split("/")[-1] for o in counted.stored)
    sealed = [f"sealed-{n}.pdf" for n in range(1, SIGNERS + 2)]
    assert names == sorted(["certificate.pdf", "final.pdf", "original.pdf", *sealed])


def test_every_earlier_revision_is_a_byte_prefix_of_the_final_pdf(counted: Counted) -> None:
    final = next(o.key for o in counted.stored if o.key.endswith("/final.pdf"))
    revisions = [
        o for o in counted.stored if o.key.endswith(("original.pdf", *(f"sealed-{n}.pdf" for n in range(9))))
    ]
    assert revisions
    assert all(o.inside is not None for o in revisions)
    assert {o.inside for o in revisions} <= {final, *(o.key for o in revisions)}


def test_every_envelope_save_is_a_transaction_billed_twice_for_its_items(counted: Counted) -> None:
    table = TableDefinition.from_schema(TABLE_SCHEMA)
    transactions = [c for c in counted.calls if c.operation == "TransactWriteItems"]
    assert transactions
    capacity = dynamodb_capacity(transactions, table, item_kind)
    envelope_puts = [
        entry["Put"]["Item"]
        for call in transactions
        for entry in call.params["TransactItems"]
        if "Put" in entry and item_kind(entry["Put"]["Item"]) == "META"
    ]
    assert max(item_size(item) for item in envelope_puts) > 1024  # the envelope's JSON: several KB
    assert capacity.by_item["META"] >= sum(
        write_units(item_size(i), transactional=True) for i in envelope_puts
    )


def test_nothing_outside_the_counted_envelope_is_counted(counted: Counted) -> None:
    # the warm-up envelope's calls and the meter's own reads (ListExecutions, ListObjectVersions) are not
    operations = _operations(counted)
    assert operations[("stepfunctions", "ListExecutions")] == 0
    assert operations[("s3", "ListObjectVersions")] == 0
    assert {c.function for c in counted.calls} <= {
        "tachiai-send",
        "tachiai-agree",
        "tachiai-seal",
        "tachiai-ai-extract",
    }
