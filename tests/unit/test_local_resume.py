"""After ``tachiai local`` restarts, each envelope's chain starts again where the envelope says it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.events import Person
from tachiai.local.lambda_dispatch import LocalFunction
from tachiai.local.resume import ChainResumer, ResumePlan, resume_plan

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def envelope(*statuses: ParticipantStatus, sealed: tuple[str, ...] = ("sent",), **changes: Any) -> Envelope:
    participants = [
        Participant(id=f"p{i}", order=i, person=Person(name=f"署名者{i}", email=f"p{i}@example.jp"), status=s)
        for i, s in enumerate(statuses, start=1)
    ]
    document = Document(id="d1", name="nda.pdf", original_sha256="a" * 64, current_sha256="a" * 64)
    values: dict[str, Any] = {
        "id": "env1",
        "title": "秘密保持契約書",
        "sender": Person(name="山田太郎", email="taro@example.jp"),
        "sender_id": "sub-1",
        "status": EnvelopeStatus.IN_PROGRESS,
        "participants": participants,
        "documents": [document],
        "sealed_events": list(sealed),
        "created_at": T0,
        "updated_at": T0,
    }
    return Envelope(**{**values, **changes})


A, N, OPENED, W, F = (
    ParticipantStatus.AGREED,
    ParticipantStatus.NOTIFIED,
    ParticipantStatus.OPENED,
    ParticipantStatus.WAITING,
    ParticipantStatus.FORWARDED,
)


def test_a_participant_waiting_for_their_link_keeps_waiting_without_a_second_mail() -> None:
    plan = resume_plan(envelope(A, N, W, sealed=("sent", "agreed:p1")))
    assert plan == ResumePlan(["p2", "p3"], {"p2": None})


def test_a_participant_who_opened_keeps_waiting_too() -> None:
    assert resume_plan(envelope(OPENED, W)) == ResumePlan(["p1", "p2"], {"p1": None})


def test_an_agreement_whose_seal_did_not_happen_is_handed_to_the_chain_again() -> None:
    plan = resume_plan(envelope(A, W, sealed=("sent",)))
    assert plan == ResumePlan(["p1", "p2"], {"p1": {"outcome": "agreed", "participantId": "p1"}})


def test_a_participant_not_yet_notified_is_notified_as_usual() -> None:
    assert resume_plan(envelope(A, W, sealed=("sent", "agreed:p1"))) == ResumePlan(["p2"])


def test_an_unsealed_forward_is_handed_over_with_the_newcomer() -> None:
    base = envelope(F, W, sealed=("sent",))
    newcomer = Participant(
        id="p3", order=1, person=Person(name="代理", email="p3@example.jp"), forwarded_from="p1"
    )
    forwarded = base.model_copy(update={"participants": [*base.participants, newcomer]})
    plan = resume_plan(forwarded)
    assert plan == ResumePlan(
        ["p1", "p2"], {"p1": {"outcome": "forwarded", "participantId": "p1", "forwardedTo": "p3"}}
    )


def test_after_a_sealed_forward_the_newcomer_is_whose_turn_it_is() -> None:
    base = envelope(F, W, sealed=("sent", "forwarded:p1"))
    newcomer = Participant(
        id="p3", order=1, person=Person(name="代理", email="p3@example.jp"), forwarded_from="p1", status=N
    )
    plan = resume_plan(base.model_copy(update={"participants": [*base.participants, newcomer]}))
    assert plan == ResumePlan(["p3", "p2"], {"p3": None})


def test_everyone_sealed_goes_straight_to_finalize() -> None:
    assert resume_plan(envelope(A, A, sealed=("sent", "agreed:p1", "agreed:p2"))) == ResumePlan([])


def test_ended_and_draft_envelopes_have_no_chain() -> None:
    for status in (
        EnvelopeStatus.COMPLETED,
        EnvelopeStatus.REJECTED,
        EnvelopeStatus.DRAFT,
        EnvelopeStatus.FAILED,
    ):
        assert resume_plan(envelope(A, A, status=status)) is None


SEND = LocalFunction("tachiai-send", __import__("pathlib").Path("."), "handler.send")


class Tokens:
    def __init__(self) -> None:
        self.stored: list[tuple[str, str, str]] = []

    def put_task_token(self, envelope_id: str, participant_id: str, token: str) -> None:
        self.stored.append((envelope_id, participant_id, token))


def test_the_resumed_notify_stores_the_new_task_token_instead_of_mailing() -> None:
    tokens = Tokens()
    answered: list[Any] = []
    resumer = ChainResumer("tachiai-send", lambda: tokens, lambda t, o: answered.append((t, o)))  # type: ignore[arg-type,return-value]
    resumer.expect("env1", ResumePlan(["p2"], {"p2": None}))
    event = {"task": "notify", "envelopeId": "env1", "participantId": "p2", "taskToken": "T"}
    assert resumer(SEND, event) == {"notified": "p2", "resumed": "true"}
    assert tokens.stored == [("env1", "p2", "T")] and answered == []
    # Only once: a later Notify of the same participant (after a forward back, say) runs the handler.
    assert resumer(SEND, event) is None


def test_other_invocations_run_their_handler() -> None:
    resumer = ChainResumer("tachiai-send", Tokens, lambda t, o: None)  # type: ignore[arg-type]
    resumer.expect("env1", ResumePlan(["p2"], {"p2": None}))
    assert (
        resumer(SEND, {"task": "notify", "envelopeId": "env2", "participantId": "p2", "taskToken": "T"})
        is None
    )
    assert resumer(SEND, {"task": "announce", "envelopeId": "env1"}) is None
