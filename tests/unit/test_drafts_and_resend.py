"""S6: a draft can be edited and deleted; an envelope that ended unsigned is corrected and resent as a
new one, linked both ways; a locked link is never reminded, only unlocked and reissued by the sender.

On the in-memory fakes with the real seal handler (``tests/unit/test_fault_injection.py``'s world).
"""

from __future__ import annotations

import base64

import pytest
from tachiai.domain.audit import AuditKind, verify_chain
from tachiai.domain.documents import original_key
from tachiai.domain.envelope import MAX_ACCESS_CODE_ATTEMPTS, EnvelopeStatus
from tachiai.domain.errors import (
    DuplicateParticipant,
    EnvelopeAlreadyResent,
    EnvelopeNotDraft,
    EnvelopeNotResendable,
    LinkInvalid,
    LinkLocked,
    NotFound,
    ParticipantLocked,
    ParticipantNotLocked,
    WrongAccessCode,
)
from tachiai.domain.events import AuthMethod
from tachiai.mail.templates import MailKind
from tachiai.services import drafts, recipient, sending, workflow
from tachiai.services.drafts import DraftChanges, ResendRequest
from tachiai.services.recipient import Visit
from tachiai.services.sending import CreateEnvelopeRequest

from tests.fakes import FakeWorld
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_fault_injection import HANAKO, ICHIRO, SENDER, link_of, new_world, send

PDF = simple_pdf(text="Purchase Agreement")
CODE = "4729"


def _draft(world: FakeWorld, access_code: str | None = None) -> str:
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": "売買契約書",
            "participants": [{"name": "山﨑花子", "email": HANAKO, "access_code": access_code}],
            "documents": [{"name": "売買契約書.pdf", "content_base64": base64.b64encode(PDF).decode()}],
        }
    )
    return sending.create_envelope(world.svc, SENDER, request).envelope.id


def _in_progress(world: FakeWorld, access_code: str | None = None) -> str:
    """Sent, and the first participant's link mailed (the chain's Notify)."""
    envelope_id = _draft(world, access_code)
    sending.send_envelope(world.svc, SENDER, envelope_id)
    workflow.notify(world.svc, envelope_id, "p1", world.chain.open_task())
    return envelope_id


def _rejected(world: FakeWorld, access_code: str | None = None) -> str:
    envelope_id = _in_progress(world, access_code)
    token = link_of(world, HANAKO)
    opened = recipient.open_documents(
        world.svc, token, accept_terms=True, access_code=access_code, visit=Visit()
    )
    session = (opened.session.token,) if opened.session else ()
    recipient.reject(world.svc, token, "金額が違います", Visit(sessions=session))
    return envelope_id


def _lock(world: FakeWorld) -> str:
    token = link_of(world, HANAKO)
    for _ in range(MAX_ACCESS_CODE_ATTEMPTS):
        with pytest.raises((WrongAccessCode, LinkLocked)):
            recipient.open_documents(world.svc, token, accept_terms=True, access_code="0000", visit=Visit())
    return token


def _kinds(world: FakeWorld, envelope_id: str) -> list[AuditKind]:
    return [e.kind for e in world.envelopes.audit_trail(envelope_id)]


# --- drafts ---------------------------------------------------------------------------------------


def test_a_draft_is_edited_and_the_change_is_audited():
    world = new_world()
    envelope_id = _draft(world)
    changes = DraftChanges.model_validate(
        {
            "title": "売買契約書（修正）",
            "auto_remind_every_days": 2,
            "participants": [{"name": "高橋一郎", "email": ICHIRO}],
        }
    )
    edited = drafts.edit_draft(world.svc, SENDER, envelope_id, changes)
    assert edited.title == "売買契約書（修正）" and edited.auto_remind_every_days == 2
    assert [p.person.email for p in edited.participants] == [ICHIRO]
    assert _kinds(world, envelope_id)[-1] == AuditKind.ENVELOPE_EDITED


def test_a_sent_envelope_cannot_be_edited_or_deleted():
    world = new_world()
    envelope_id = send(world, ICHIRO)
    with pytest.raises(EnvelopeNotDraft) as refused:
        drafts.edit_draft(world.svc, SENDER, envelope_id, DraftChanges(title="x"))
    assert refused.value.code == "envelope_not_draft" and refused.value.http_status == 409
    with pytest.raises(EnvelopeNotDraft):
        drafts.delete_draft(world.svc, SENDER, envelope_id)


def test_an_edit_with_the_same_address_twice_is_refused():
    world = new_world()
    envelope_id = _draft(world)
    twice = DraftChanges.model_validate(
        {"participants": [{"name": "花子", "email": HANAKO}, {"name": "花子", "email": HANAKO.upper()}]}
    )
    with pytest.raises(DuplicateParticipant):
        drafts.edit_draft(world.svc, SENDER, envelope_id, twice)


def test_a_deleted_draft_is_gone_and_its_trail_ends_with_the_deletion():
    world = new_world()
    envelope_id = _draft(world)
    drafts.delete_draft(world.svc, SENDER, envelope_id)
    with pytest.raises(NotFound):
        sending.get_envelope(world.svc, SENDER, envelope_id)
    assert sending.list_envelopes(world.svc, SENDER, None, 50, None).envelopes == []
    trail = world.envelopes.audit_trail(envelope_id)
    assert trail[-1].kind == AuditKind.ENVELOPE_DELETED
    verify_chain(trail)


def test_someone_elses_draft_cannot_be_deleted():
    world = new_world()
    envelope_id = _draft(world)
    other = sending.SenderIdentity(sub="sub-other", email="other@tachiai-tech.example", name="他人")
    with pytest.raises(NotFound):
        drafts.delete_draft(world.svc, other, envelope_id)


# --- correct and resend ---------------------------------------------------------------------------


def test_a_rejected_envelope_is_resent_as_a_draft_prefilled_from_it_and_linked_both_ways():
    world = new_world()
    old_id = _rejected(world)
    new = drafts.resend(world.svc, SENDER, old_id, ResendRequest(message="金額を修正しました。"))
    old = world.envelopes.envelopes[old_id]
    assert new.status == EnvelopeStatus.DRAFT and new.id != old_id
    assert (new.resent_from, old.resent_as) == (old_id, new.id)
    assert new.title == old.title and new.message == "金額を修正しました。"
    assert [p.person.email for p in new.participants] == [HANAKO]
    # the ORIGINAL upload, not the version sealed when it was sent
    assert world.documents.objects[original_key(new.id, "d1")] == PDF
    assert old.documents[0].seals >= 1
    assert _kinds(world, old_id)[-1] == AuditKind.ENVELOPE_RESENT
    created = world.envelopes.audit_trail(new.id)[0]
    assert created.kind == AuditKind.ENVELOPE_CREATED and created.data["resent_from"] == old_id


def test_resend_with_send_sends_the_corrected_envelope_at_once():
    world = new_world()
    old_id = _rejected(world)
    new = drafts.resend(world.svc, SENDER, old_id, ResendRequest(send=True))
    assert new.status == EnvelopeStatus.SENT and new.id in world.chain.executions


@pytest.mark.parametrize("state", ["draft", "in_progress", "completed"])
def test_only_a_rejected_expired_or_cancelled_envelope_can_be_resent(state):
    world = new_world()
    envelope_id = _draft(world) if state == "draft" else _in_progress(world)
    if state == "completed":
        envelope = world.envelopes.envelopes[envelope_id]
        world.envelopes.envelopes[envelope_id] = envelope.model_copy(
            update={"status": EnvelopeStatus.COMPLETED}
        )
    with pytest.raises(EnvelopeNotResendable) as refused:
        drafts.resend(world.svc, SENDER, envelope_id, ResendRequest())
    assert refused.value.code == "envelope_not_resendable"


def test_an_expired_envelope_is_resent_with_its_original_pdf():
    world = new_world()
    envelope_id = _in_progress(world)
    workflow.announce(world.svc, envelope_id, "expired")
    assert world.envelopes.envelopes[envelope_id].status == EnvelopeStatus.EXPIRED
    new = drafts.resend(world.svc, SENDER, envelope_id, ResendRequest())
    assert new.status == EnvelopeStatus.DRAFT and new.resent_from == envelope_id
    assert world.documents.get(original_key(new.id, "d1")) == PDF


def test_a_cancelled_envelope_can_be_resent_once():
    world = new_world()
    envelope_id = _in_progress(world)
    sending.cancel(world.svc, SENDER, envelope_id, "宛先の誤り")
    first = drafts.resend(world.svc, SENDER, envelope_id, ResendRequest())
    with pytest.raises(EnvelopeAlreadyResent) as refused:
        drafts.resend(world.svc, SENDER, envelope_id, ResendRequest())
    assert first.id in refused.value.message("en")


def test_resending_to_the_same_people_keeps_their_access_codes():
    world = new_world()
    old_id = _rejected(world, access_code=CODE)
    new = drafts.resend(world.svc, SENDER, old_id, ResendRequest())
    before = world.envelopes.envelopes[old_id].participant("p1")
    after = new.participant("p1")
    assert after.auth_methods == [AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE]
    assert after.access_code_hash == before.access_code_hash


# --- locked links: never reminded, reissued by the sender ------------------------------------------


def test_reminding_a_locked_participant_is_refused_and_mails_nothing():
    world = new_world()
    envelope_id = _in_progress(world, access_code=CODE)
    _lock(world)
    mailed = len(world.mailer.to(HANAKO))
    with pytest.raises(ParticipantLocked) as refused:
        sending.remind(world.svc, SENDER, envelope_id)
    assert refused.value.code == "participant_locked" and "山﨑花子" in refused.value.message("ja")
    assert len(world.mailer.to(HANAKO)) == mailed


def test_reissue_unlocks_the_participant_and_mails_a_fresh_link_and_the_old_one_is_dead():
    world = new_world()
    envelope_id = _in_progress(world, access_code=CODE)
    old_token = _lock(world)
    reissued = drafts.reissue(world.svc, SENDER, envelope_id, "p1")
    participant = reissued.participant("p1")
    assert not participant.locked and participant.failed_attempts == 0
    new_token = link_of(world, HANAKO)
    assert new_token != old_token and world.mailer.to(HANAKO)[-1].kind == MailKind.SIGNING_REQUEST
    with pytest.raises(LinkInvalid):
        recipient.open_documents(world.svc, old_token, accept_terms=True, access_code=CODE, visit=Visit())
    recipient.open_documents(world.svc, new_token, accept_terms=True, access_code=CODE, visit=Visit())
    assert _kinds(world, envelope_id).count(AuditKind.PARTICIPANT_REISSUED) == 1


def test_reissue_of_a_link_that_is_not_locked_is_refused():
    world = new_world()
    envelope_id = _in_progress(world, access_code=CODE)
    with pytest.raises(ParticipantNotLocked):
        drafts.reissue(world.svc, SENDER, envelope_id, "p1")
