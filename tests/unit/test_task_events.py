"""What crosses processes is typed: the chain's task events and the recipient's answer are parsed once,
in the handlers, and a malformed one is refused with InvalidRequest (never a KeyError from deep inside).
Also: the in-memory fakes keep the ports' method signatures, and every state change goes through the
domain rules (the certificate's hash, an import's completion)."""

from __future__ import annotations

import importlib.util
import inspect
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from tachiai.domain import envelope as rules
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant
from tachiai.domain.errors import Conflict, InvalidRequest
from tachiai.domain.events import Person
from tachiai.domain.tasks import (
    PARTICIPANT_ANSWER,
    SEAL_TASKS,
    SEND_TASKS,
    AnnounceTask,
    ParticipantAnswer,
    SealTask,
    parse_task,
)
from tachiai.services import ports

from tests import fakes

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
SHA = "a" * 64


def _handler(function: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"h_{function}", ROOT / "functions" / function / "handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- task events --------------------------------------------------------------------------------


def test_a_seal_task_carries_the_participants_answer_typed():
    task = parse_task(
        SEAL_TASKS,
        {
            "task": "seal",
            "envelopeId": "env_1",
            "answer": {"outcome": "forwarded", "participantId": "p1", "forwardedTo": "p3"},
        },
    )
    assert isinstance(task, SealTask)
    assert task.answer == ParticipantAnswer(outcome="forwarded", participant_id="p1", forwarded_to="p3")


def test_the_answer_travels_with_the_names_the_state_machine_reads():
    answer = ParticipantAnswer(outcome="forwarded", participant_id="p1", forwarded_to="p3")
    assert answer.payload() == {"outcome": "forwarded", "participantId": "p1", "forwardedTo": "p3"}
    assert parse_task(PARTICIPANT_ANSWER, answer.payload()) == answer


@pytest.mark.parametrize(
    "answer",
    [
        {"outcome": "forwarded", "participantId": "p1"},  # a forward names the newcomer
        {"outcome": "agreed", "participantId": "p1", "forwardedTo": "p3"},
        {"outcome": "rejected", "participantId": "p1"},  # a rejection fails the task, it is no answer
        {"outcome": "agreed"},
    ],
)
def test_an_answer_that_does_not_make_sense_is_refused(answer):
    with pytest.raises(InvalidRequest):
        parse_task(PARTICIPANT_ANSWER, answer)


def test_an_announcement_reads_step_functions_error_output():
    task = parse_task(
        SEND_TASKS,
        {
            "task": "announce",
            "envelopeId": "env_1",
            "outcome": "failed",
            "error": {"Error": "SealFailed", "Cause": "{}"},
        },
    )
    assert isinstance(task, AnnounceTask)
    assert (task.error.error, task.error.cause) == ("SealFailed", "{}")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("function", "event"),
    [
        ("seal", {"task": "seal", "envelopeId": "env_1"}),  # no answer
        ("seal", {"task": "seal", "envelopeId": "env_1", "answer": {"participantId": "p1"}}),
        ("seal", {"task": "unknown", "envelopeId": "env_1"}),
        ("send", {"task": "notify", "envelopeId": "env_1", "participantId": "p1"}),  # no task token
        ("send", {"task": "announce", "envelopeId": "env_1", "outcome": "won"}),
        ("ai_extract", {"task": "extract"}),
        ("seal", ["not", "an", "object"]),
    ],
)
def test_a_malformed_task_event_is_refused_with_invalid_request_before_any_work(function, event):
    handler = _handler(function)
    with pytest.raises(InvalidRequest) as refused:
        handler.run(object(), event)  # nothing may be touched: the services are not even real
    assert "field" in refused.value.params


# --- the fakes keep the ports' signatures ------------------------------------------------------------

PORTS = [
    (ports.EnvelopeStore, fakes.FakeEnvelopeStore),
    (ports.DocumentStore, fakes.FakeDocumentStore),
    (ports.SigningChain, fakes.FakeChain),
    (ports.Mailer, fakes.FakeMailer),
    (ports.Sealer, fakes.FakeSealer),
    (ports.FunctionInvoker, fakes.FakeFunctions),
    (ports.LedgerIndex, fakes.FakeLedgerIndex),
    (ports.UserDirectory, fakes.FakeDirectory),
]


def _adapter_classes() -> list[tuple[type, type]]:
    from tachiai.adapters.cognito import UserDirectory
    from tachiai.adapters.dynamodb import EnvelopeRepository
    from tachiai.adapters.functions import FunctionInvoker
    from tachiai.adapters.ledger_index import LedgerIndex
    from tachiai.adapters.s3 import DocumentStore
    from tachiai.adapters.ses import SesMailer
    from tachiai.adapters.sfn import SigningChain
    from tachiai.sealing.seal import Sealer

    return [
        (ports.EnvelopeStore, EnvelopeRepository),
        (ports.DocumentStore, DocumentStore),
        (ports.SigningChain, SigningChain),
        (ports.Mailer, SesMailer),
        (ports.Sealer, Sealer),
        (ports.FunctionInvoker, FunctionInvoker),
        (ports.LedgerIndex, LedgerIndex),
        (ports.UserDirectory, UserDirectory),
    ]


def _methods(protocol: type) -> list[str]:
    return [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]


@pytest.mark.parametrize(("port", "implementation"), PORTS + _adapter_classes(), ids=lambda c: c.__name__)
def test_every_implementation_of_a_port_has_its_methods_with_the_same_parameters(port, implementation):
    for name in _methods(port):
        expected = list(inspect.signature(getattr(port, name)).parameters)
        actual = list(inspect.signature(getattr(implementation, name)).parameters)
        assert actual == expected, f"{implementation.__name__}.{name}"


# --- state changes through the rules -----------------------------------------------------------------


def _envelope(**changes: object) -> Envelope:
    envelope = Envelope(
        id="env_1",
        title="秘密保持契約書",
        sender=Person(name="山田太郎", email="taro@example.com"),
        sender_id="sub",
        documents=[Document(id="d1", name="nda.pdf")],
        participants=[Participant(id="p1", order=1, person=Person(name="A", email="a@example.com"))],
        created_at=NOW,
        updated_at=NOW,
    )
    return envelope.model_copy(update=changes)


def test_the_certificate_hash_is_recorded_only_on_a_completed_envelope():
    with pytest.raises(Conflict):
        rules.record_certificate(_envelope(status=EnvelopeStatus.IN_PROGRESS), SHA, NOW)
    recorded = rules.record_certificate(_envelope(status=EnvelopeStatus.COMPLETED), SHA, NOW)
    assert recorded.certificate_sha256 == SHA


def test_an_issued_certificate_is_never_replaced_by_another():
    completed = _envelope(status=EnvelopeStatus.COMPLETED, certificate_sha256=SHA)
    assert rules.record_certificate(completed, SHA, NOW).certificate_sha256 == SHA  # the same again: fine
    with pytest.raises(Conflict):
        rules.record_certificate(completed, "b" * 64, NOW)


def test_a_certificate_hash_must_be_a_sha256():
    with pytest.raises(InvalidRequest):
        rules.record_certificate(_envelope(status=EnvelopeStatus.COMPLETED), "not-a-hash", NOW)


def test_an_import_completes_once_from_a_draft_with_its_files_hash():
    draft = _envelope(origin="imported", participants=[])
    completed = rules.complete_import(draft, SHA, 1234, NOW)
    assert completed.status == EnvelopeStatus.COMPLETED and completed.completed_at == NOW
    assert (completed.documents[0].original_sha256, completed.documents[0].size) == (SHA, 1234)
    with pytest.raises(Conflict):
        rules.complete_import(completed, SHA, 1234, NOW)


def test_only_an_import_completes_as_an_import():
    with pytest.raises(Conflict):
        rules.complete_import(_envelope(), SHA, 1234, NOW)


def test_an_undelivered_notice_ends_an_expiry_the_announcement_could_not_record():
    running = _envelope(status=EnvelopeStatus.IN_PROGRESS)
    ended = rules.record_undelivered_notice(running, "expired", NOW)
    assert ended.status == EnvelopeStatus.EXPIRED and ended.undelivered_notice == "expired"


def test_an_undelivered_completion_notice_needs_a_completed_envelope():
    with pytest.raises(Conflict):
        rules.record_undelivered_notice(_envelope(status=EnvelopeStatus.IN_PROGRESS), "completed", NOW)
