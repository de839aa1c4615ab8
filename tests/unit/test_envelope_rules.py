"""S2, R3, E6: the envelope's life — order, turns, agree / reject / forward, cancel, expiry, audit chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tachiai.domain import envelope as rules
from tachiai.domain.audit import GENESIS_HASH, AuditChainBroken, AuditKind, verify_chain
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.errors import Conflict, InvalidRequest, NotYourTurn, TooManyReminders
from tachiai.domain.events import AuthMethod, Person
from tachiai.domain.tokens import access_code_matches, hash_access_code, link_token_sha256, new_link_token

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
SENDER = Person(name="山田太郎", email="taro@example.com")


def _envelope(*emails: str) -> Envelope:
    participants = [
        Participant(id=f"p{i}", order=i, person=Person(name=f"署名者{i}", email=email))
        for i, email in enumerate(emails, start=1)
    ]
    document = Document(
        id="d1", name="nda.pdf", pages=2, size=1000, original_sha256="a" * 64, current_sha256="a" * 64
    )
    return Envelope(
        id="env1",
        title="秘密保持契約書",
        sender=SENDER,
        sender_id="sub-1",
        participants=participants,
        documents=[document],
        sealed_events=["sent"],
        created_at=T0,
        updated_at=T0,
    )


def _in_progress(*emails: str) -> Envelope:
    env = rules.send(_envelope(*emails), T0)
    return rules.issue_link(env, "p1", "h" * 64, T0)


def test_the_same_address_twice_is_refused():
    with pytest.raises(ValueError, match="same email address"):
        _envelope("a@example.jp", "A@example.jp")


def test_names_and_titles_cannot_carry_line_breaks_into_headers():
    participant = Participant(
        id="p", order=1, person=Person(name="Eve\r\nBcc: x@evil.example", email="e@example.jp")
    )
    assert "\n" not in participant.person.name and "\r" not in participant.person.name


def test_sending_needs_a_draft_with_a_document():
    env = _envelope("a@example.jp")
    with pytest.raises(InvalidRequest):
        rules.send(env.model_copy(update={"documents": []}), T0)
    sent = rules.send(env, T0)
    assert sent.status == EnvelopeStatus.SENT
    with pytest.raises(Conflict):
        rules.send(sent, T0)


def test_sending_needs_the_sent_seal_on_every_document():
    env = _envelope("a@example.jp")
    with pytest.raises(InvalidRequest):
        rules.send(env.model_copy(update={"sealed_events": []}), T0)


def test_each_event_is_sealed_once():
    env = _in_progress("a@example.jp")
    marked = rules.mark_sealed(env, "agreed:p1", T0)
    with pytest.raises(Conflict):
        rules.mark_sealed(marked, "agreed:p1", T0)


def test_wrong_access_codes_lock_the_link_at_five():
    env = _in_progress("a@example.jp")
    for _ in range(4):
        env = rules.wrong_access_code(env, "p1", T0)
    assert not env.participant("p1").locked
    assert rules.wrong_access_code(env, "p1", T0).participant("p1").locked


def test_a_reminder_replaces_the_link_and_is_bounded():
    env = _in_progress("a@example.jp", "b@example.jp")
    reminded = rules.remind(env, "p1", "r" * 64, T0)
    assert reminded.participant("p1").link_token_sha256 == "r" * 64
    assert reminded.participant("p1").link_expires_at == env.participant("p1").link_expires_at
    with pytest.raises(NotYourTurn):
        rules.remind(env, "p2", "r" * 64, T0)
    for _ in range(rules.MAX_REMINDERS - 1):
        reminded = rules.remind(reminded, "p1", "r" * 64, T0)
    with pytest.raises(TooManyReminders):
        rules.remind(reminded, "p1", "r" * 64, T0)


def test_the_first_participant_gets_the_first_link_and_expiry():
    env = _in_progress("a@example.jp", "b@example.jp")
    first = env.participant("p1")
    assert env.status == EnvelopeStatus.IN_PROGRESS
    assert first.status == ParticipantStatus.NOTIFIED
    assert first.link_expires_at == T0 + timedelta(days=7)


def test_no_link_is_issued_out_of_turn():
    env = rules.send(_envelope("a@example.jp", "b@example.jp"), T0)
    with pytest.raises(NotYourTurn):
        rules.issue_link(env, "p2", "h" * 64, T0)


def test_a_participant_cannot_act_before_their_turn():
    env = _in_progress("a@example.jp", "b@example.jp")
    with pytest.raises(NotYourTurn):
        rules.act(env, "p2", "agreed", T0)


def test_agreeing_passes_the_turn_to_the_next_in_order_and_kills_the_link():
    env = rules.act(_in_progress("a@example.jp", "b@example.jp"), "p1", "agreed", T0)
    assert env.participant("p1").status == ParticipantStatus.AGREED
    assert env.participant("p1").link_token_sha256 is None
    current = env.current()
    assert current is not None
    assert current.id == "p2"


def test_agreeing_twice_is_a_conflict_not_a_second_agreement():
    env = rules.act(_in_progress("a@example.jp", "b@example.jp"), "p1", "agreed", T0)
    with pytest.raises(Conflict):
        rules.act(env, "p1", "agreed", T0)


def test_rejecting_needs_a_reason_and_ends_the_envelope():
    env = _in_progress("a@example.jp", "b@example.jp")
    with pytest.raises(InvalidRequest):
        rules.act(env, "p1", "rejected", T0, reason="  ")
    rejected = rules.act(env, "p1", "rejected", T0, reason="金額が違います")
    assert rejected.status == EnvelopeStatus.REJECTED
    assert rejected.outcome_reason == "金額が違います"


def test_forward_hands_the_same_place_to_a_new_person_without_the_access_code():
    env = _in_progress("a@example.jp", "b@example.jp")
    env = env.model_copy(
        update={
            "participants": [
                env.participant("p1").model_copy(
                    update={"auth_methods": [AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE]}
                ),
                env.participant("p2"),
            ]
        }
    )
    boss = Person(name="部長", email="boss@example.jp")
    forwarded = rules.forward(env, "p1", boss, "p3", "決裁権者のため", T0)
    assert forwarded.participant("p1").status == ParticipantStatus.FORWARDED
    newcomer = forwarded.participant("p3")
    assert newcomer.order == 1
    assert newcomer.forwarded_from == "p1"
    assert AuthMethod.ACCESS_CODE not in newcomer.auth_methods
    current = forwarded.current()
    assert current is not None
    assert current.id == "p3"


def test_forwarding_to_someone_already_in_the_envelope_is_refused():
    env = _in_progress("a@example.jp", "b@example.jp")
    with pytest.raises(InvalidRequest):
        rules.forward(env, "p1", Person(name="B", email="b@example.jp"), "p3", "reason", T0)


def test_completion_needs_everyone_to_have_agreed():
    env = _in_progress("a@example.jp")
    with pytest.raises(Conflict):
        rules.complete(env, T0)
    done = rules.complete(rules.act(env, "p1", "agreed", T0), T0)
    assert done.status == EnvelopeStatus.COMPLETED
    assert done.completed_at == T0


def test_cancelling_kills_every_link_and_cannot_be_undone():
    env = rules.end(_in_progress("a@example.jp"), "cancelled", T0, reason="宛先誤り")
    assert env.status == EnvelopeStatus.CANCELLED
    assert all(p.link_token_sha256 is None for p in env.participants)
    with pytest.raises(Conflict):
        rules.end(env, "expired", T0)


def test_audit_entries_chain_from_the_genesis():
    env = _envelope("a@example.jp")
    env, first = env.audited("envelope.created", "sub-1", T0, {"title": env.title})
    env, second = env.audited("envelope.sent", "sub-1", T0)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert env.audit_head == second.hash
    verify_chain([first, second])


def test_an_edited_audit_entry_breaks_the_chain():
    env = _envelope("a@example.jp")
    env, first = env.audited("participant.agreed", "a@example.jp", T0, {"ip": "203.0.113.1"})
    _, second = env.audited("envelope.completed", "system", T0)
    edited = first.model_copy(update={"data": {"ip": "198.51.100.1"}})
    with pytest.raises(AuditChainBroken):
        verify_chain([edited, second])


def test_a_missing_audit_entry_breaks_the_chain():
    env = _envelope("a@example.jp")
    env, _first = env.audited(AuditKind.ENVELOPE_CREATED, "x", T0)
    _, second = env.audited(AuditKind.ENVELOPE_SENT, "x", T0)
    with pytest.raises(AuditChainBroken):
        verify_chain([second])


def test_link_tokens_are_256_bit_and_only_their_hash_is_kept():
    token, digest = new_link_token()
    assert len(token) >= 43
    assert digest == link_token_sha256(token)
    assert token not in digest


def test_access_codes_are_hashed_with_salt_and_checked():
    stored = hash_access_code("7391")
    assert "7391" not in stored
    assert stored != hash_access_code("7391")
    assert access_code_matches("7391", stored)
    assert not access_code_matches("7392", stored)
    assert not access_code_matches("7391", "garbage")
