"""S6: a sender's request that cannot be done says what is wrong, with its own code — never the
generic ``conflict`` ("please try again"), which is kept for a concurrent write that a retry can fix.

Envelopes run on the in-memory fakes (the fault suite's helpers, without faults).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from tachiai.domain import envelope as rules
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import (
    Conflict,
    DuplicateParticipant,
    EnvelopeAlreadyCancelled,
    EnvelopeAlreadyEnded,
    EnvelopeNotSendable,
    EnvelopeNotSent,
    EveryoneAgreed,
    ReminderNotReady,
    TachiaiError,
)
from tachiai.services import sending
from tachiai.services.sending import CreateEnvelopeRequest

from tests.unit.test_envelope_rules import _in_progress
from tests.unit.test_fault_injection import HANAKO, ICHIRO, SENDER, People, new_world, run, send

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def _draft(world, *emails: str) -> str:
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": "秘密保持契約書",
            "participants": [{"name": e.split("@")[0], "email": e} for e in emails],
            "documents": [{"name": "契約書.pdf"}],
        }
    )
    return sending.create_envelope(world.svc, SENDER, request).envelope.id


def _refusal(call) -> TachiaiError:
    with pytest.raises(TachiaiError) as refused:
        call()
    assert refused.value.code != "conflict"
    assert refused.value.http_status in (400, 409)
    return refused.value


def test_cancelling_twice_says_the_envelope_is_already_cancelled():
    world = new_world()
    envelope_id = _draft(world, ICHIRO)
    sending.cancel(world.svc, SENDER, envelope_id, "誤送信")
    error = _refusal(lambda: sending.cancel(world.svc, SENDER, envelope_id, None))
    assert isinstance(error, EnvelopeAlreadyCancelled)
    assert error.code == "envelope_already_cancelled"
    assert "既に取り消されています" in error.message("ja")


def test_cancelling_a_completed_envelope_says_it_has_ended_and_how():
    world = new_world()
    envelope_id = send(world, ICHIRO)
    run(world, envelope_id)
    assert world.envelopes.envelopes[envelope_id].status == EnvelopeStatus.COMPLETED
    error = _refusal(lambda: sending.cancel(world.svc, SENDER, envelope_id, None))
    assert isinstance(error, EnvelopeAlreadyEnded) and error.code == "envelope_already_ended"
    assert "completed" in error.message("en") and "completed" in error.message("ja")


def test_cancelling_once_everyone_agreed_says_the_contract_is_being_finished():
    everyone_agreed = rules.act(_in_progress("a@example.jp"), "p1", "agreed", T0)
    with pytest.raises(EveryoneAgreed) as refused:
        rules.end(everyone_agreed, "cancelled", T0)
    assert refused.value.code == "envelope_everyone_agreed"


def test_sending_a_rejected_envelope_names_its_status_and_the_way_to_resend():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    run(world, envelope_id, People(world, {ICHIRO: "reject"}))
    error = _refusal(lambda: sending.send_envelope(world.svc, SENDER, envelope_id))
    assert isinstance(error, EnvelopeNotSendable) and error.code == "envelope_not_sendable"
    assert "rejected" in error.message("en") and "resend" in error.message("en")


def test_sending_a_cancelled_draft_is_refused_with_its_status():
    world = new_world()
    envelope_id = _draft(world, ICHIRO)
    sending.cancel(world.svc, SENDER, envelope_id, None)
    error = _refusal(lambda: sending.send_envelope(world.svc, SENDER, envelope_id))
    assert isinstance(error, EnvelopeNotSendable) and error.params["status"] == "cancelled"


def test_sending_twice_still_sends_once_without_an_error():
    world = new_world()
    envelope_id = send(world, ICHIRO)
    assert sending.send_envelope(world.svc, SENDER, envelope_id).status == EnvelopeStatus.SENT


def test_reminding_a_draft_says_it_has_not_been_sent():
    world = new_world()
    envelope_id = _draft(world, ICHIRO)
    error = _refusal(lambda: sending.remind(world.svc, SENDER, envelope_id))
    assert isinstance(error, EnvelopeNotSent) and error.code == "envelope_not_sent"


def test_reminding_before_the_first_link_is_mailed_asks_to_try_again_shortly():
    world = new_world()
    envelope_id = send(world, ICHIRO)  # sent; the chain has not mailed the first link yet
    error = _refusal(lambda: sending.remind(world.svc, SENDER, envelope_id))
    assert isinstance(error, ReminderNotReady) and error.code == "reminder_not_ready"


def test_reminding_an_ended_envelope_says_it_has_ended():
    world = new_world()
    envelope_id = send(world, ICHIRO)
    run(world, envelope_id)
    error = _refusal(lambda: sending.remind(world.svc, SENDER, envelope_id))
    assert isinstance(error, EnvelopeAlreadyEnded) and error.params["status"] == "completed"


def test_a_duplicate_participant_address_names_both_participants_and_the_address():
    world = new_world()
    with pytest.raises(DuplicateParticipant) as refused:
        _draft(world, ICHIRO, HANAKO, ICHIRO.capitalize())  # addresses compare case-insensitively
    error = refused.value
    assert error.code == "duplicate_participant" and error.http_status == 400
    assert error.message("en") == f"Participants 1 and 3 have the same email address ({ICHIRO.capitalize()})."
    assert "1番目と3番目" in error.message("ja")


def test_the_refusals_stay_state_conflicts_for_callers_that_catch_conflict():
    # The chain and the recipient services catch Conflict around these rules: the new codes keep it.
    for cls in (EnvelopeAlreadyCancelled, EnvelopeAlreadyEnded, EveryoneAgreed, EnvelopeNotSendable):
        assert issubclass(cls, Conflict) and cls.http_status == 409


def _chain_writes_right_after_the_next_read(world, envelope_id: str) -> None:
    """The chain (mailing a link, recording a seal) saves the envelope between the sender's read and
    the sender's save: the sender's conditional save loses the race once."""
    store = world.envelopes
    read = store.get

    def get_then_the_chain_writes(wanted: str):
        envelope = read(wanted)
        if wanted == envelope_id and store.get is get_then_the_chain_writes:
            store.get = read
            store.envelopes[wanted] = envelope.model_copy(update={"version": envelope.version + 1})
        return envelope

    store.get = get_then_the_chain_writes


def test_a_cancel_that_meets_the_chain_writing_the_envelope_is_done_not_refused():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    _chain_writes_right_after_the_next_read(world, envelope_id)
    cancelled = sending.cancel(world.svc, SENDER, envelope_id, "誤送信")
    assert cancelled.status == EnvelopeStatus.CANCELLED


def test_a_reminder_that_meets_the_chain_writing_the_envelope_is_sent_not_refused():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    store = world.envelopes.envelopes
    store[envelope_id] = rules.issue_link(store[envelope_id], "p1", "h" * 64, T0)  # the first link is out
    _chain_writes_right_after_the_next_read(world, envelope_id)
    reminded = sending.remind(world.svc, SENDER, envelope_id)
    assert reminded.participant("p1").reminders == 1


def test_a_refusal_is_never_retried():
    world = new_world()
    envelope_id = _draft(world, ICHIRO)
    sending.cancel(world.svc, SENDER, envelope_id, None)
    reads = world.faults.calls["envelopes.get"]
    with pytest.raises(EnvelopeAlreadyCancelled):
        sending.cancel(world.svc, SENDER, envelope_id, None)
    assert world.faults.calls["envelopes.get"] == reads + 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"template_id": "tpl_" + "0" * 24, "documents": [{"name": "a.pdf"}]}, "documents_with_template"),
        ({"title": "x"}, "participants_documents_required_without_template"),
    ],
)
def test_an_incomplete_or_contradictory_request_names_its_problem(body, problem):
    # a 400 shows each problem's type (never its message): the type says what is wrong
    with pytest.raises(ValidationError) as invalid:
        CreateEnvelopeRequest.model_validate(body)
    assert [e["type"] for e in invalid.value.errors()] == [problem]
