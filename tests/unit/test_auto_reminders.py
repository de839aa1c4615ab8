"""S5 automatic reminders: every N days until the link's deadline, to the participant whose turn it
is, bounded, default off, once per due time, never to a locked link.

On the in-memory fakes; the clock moves by hand. The envelope store's ``due_reminders`` is the index
query of the adapter (tests/integration covers DynamoDB's).
"""

from __future__ import annotations

import base64
import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from tachiai.domain import envelope as rules
from tachiai.domain.audit import AuditKind
from tachiai.domain.envelope import MAX_ACCESS_CODE_ATTEMPTS, MAX_AUTO_REMINDERS, next_auto_reminder
from tachiai.domain.errors import LinkLocked, WrongAccessCode
from tachiai.mail.templates import MailKind
from tachiai.services import recipient, reminders, sending, workflow
from tachiai.services.recipient import Visit
from tachiai.services.sending import CreateEnvelopeRequest

from tests.fakes import FakeWorld
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_fault_injection import HANAKO, SENDER, link_of, new_world

PDF = simple_pdf(text="Lease Agreement")
DAY = timedelta(days=1)


def _in_progress(world: FakeWorld, every: int | None, validity_days: int = 7, code: str | None = None) -> str:
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": "賃貸借契約書",
            "auto_remind_every_days": every,
            "link_validity_seconds": validity_days * 86400,
            "participants": [{"name": "山﨑花子", "email": HANAKO, "access_code": code}],
            "documents": [{"name": "賃貸借契約書.pdf", "content_base64": base64.b64encode(PDF).decode()}],
        }
    )
    envelope_id = sending.create_envelope(world.svc, SENDER, request).envelope.id
    sending.send_envelope(world.svc, SENDER, envelope_id)
    workflow.notify(world.svc, envelope_id, "p1", world.chain.open_task())
    return envelope_id


def _reminders(world: FakeWorld) -> list[str]:
    return [m.kind for m in world.mailer.to(HANAKO) if m.kind == MailKind.REMINDER]


def _run_every_hour(world: FakeWorld, days: int) -> None:
    for _ in range(days * 24):
        world.clock.advance(timedelta(hours=1))
        reminders.send_due_reminders(world.svc)


def test_automatic_reminders_are_off_by_default():
    world = new_world()
    envelope_id = _in_progress(world, every=None)
    assert next_auto_reminder(world.envelopes.envelopes[envelope_id]) is None
    _run_every_hour(world, 6)
    assert _reminders(world) == []


def test_a_reminder_falls_due_n_days_after_the_last_mail():
    world = new_world()
    notified = world.clock()
    envelope_id = _in_progress(world, every=2)
    assert next_auto_reminder(world.envelopes.envelopes[envelope_id]) == notified + 2 * DAY
    world.clock.advance(2 * DAY - timedelta(seconds=1))
    assert reminders.send_due_reminders(world.svc)["sent"] == []
    world.clock.advance(timedelta(seconds=1))
    assert reminders.send_due_reminders(world.svc)["sent"] == [{"envelope": envelope_id, "participant": "p1"}]
    assert next_auto_reminder(world.envelopes.envelopes[envelope_id]) == notified + 4 * DAY


def test_the_reminder_carries_a_fresh_link_and_the_old_one_dies():
    world = new_world()
    envelope_id = _in_progress(world, every=1)
    first = link_of(world, HANAKO)
    world.clock.advance(DAY)
    reminders.send_due_reminders(world.svc)
    fresh = link_of(world, HANAKO)
    assert fresh != first and world.mailer.to(HANAKO)[-1].kind == MailKind.REMINDER
    participant = world.envelopes.envelopes[envelope_id].participant("p1")
    assert participant.auto_reminders == 1 and participant.reminders == 0  # the sender's own limit untouched
    trail = world.envelopes.audit_trail(envelope_id)
    assert trail[-1].kind == AuditKind.PARTICIPANT_REMINDED and trail[-1].data["automatic"] is True


def test_a_schedule_that_fires_twice_sends_one_reminder_per_due_time():
    world = new_world()
    _in_progress(world, every=1)
    world.clock.advance(DAY)
    reminders.send_due_reminders(world.svc)
    reminders.send_due_reminders(world.svc)
    assert len(_reminders(world)) == 1


def test_a_run_that_loses_the_write_to_another_sends_nothing():
    world = new_world()
    envelope_id = _in_progress(world, every=1)
    world.clock.advance(DAY)
    # Another run records the same reminder between this run's read and its write.
    next_save = world.faults.calls["envelopes.save"] + 1
    world.faults.inject("envelopes.save", lambda: _race(world, envelope_id), call=next_save)
    assert reminders.send_due_reminders(world.svc)["skipped"] == 1
    assert _reminders(world) == []


def _race(world: FakeWorld, envelope_id: str) -> Exception:
    from tachiai.domain.errors import Conflict

    envelope = world.envelopes.envelopes[envelope_id]
    world.envelopes.envelopes[envelope_id] = envelope.model_copy(update={"version": envelope.version + 1})
    return Conflict("changed concurrently")


def test_reminders_stop_before_the_links_deadline():
    world = new_world()
    _in_progress(world, every=1, validity_days=7)
    _run_every_hour(world, 8)
    assert len(_reminders(world)) == 6  # days 1..6; day 7 is the deadline itself


def test_reminders_are_bounded_per_turn():
    world = new_world()
    _in_progress(world, every=1, validity_days=30)
    _run_every_hour(world, 20)
    assert len(_reminders(world)) == MAX_AUTO_REMINDERS


def test_a_manual_reminder_pushes_the_next_automatic_one_back():
    world = new_world()
    envelope_id = _in_progress(world, every=3)
    world.clock.advance(2 * DAY)
    sending.remind(world.svc, SENDER, envelope_id)
    assert next_auto_reminder(world.envelopes.envelopes[envelope_id]) == world.clock() + 3 * DAY


def test_a_locked_participant_is_not_reminded_automatically():
    world = new_world()
    envelope_id = _in_progress(world, every=1, code="4729")
    token = link_of(world, HANAKO)
    for _ in range(MAX_ACCESS_CODE_ATTEMPTS):
        with pytest.raises((WrongAccessCode, LinkLocked)):
            recipient.open_documents(world.svc, token, accept_terms=True, access_code="0000", visit=Visit())
    assert next_auto_reminder(world.envelopes.envelopes[envelope_id]) is None
    _run_every_hour(world, 3)
    assert _reminders(world) == []


def test_an_envelope_that_ended_is_not_reminded():
    world = new_world()
    envelope_id = _in_progress(world, every=1)
    sending.cancel(world.svc, SENDER, envelope_id, None)
    _run_every_hour(world, 2)
    assert _reminders(world) == []


def test_auto_remind_every_days_is_bounded_from_1_to_30():
    for wrong in (0, 31):
        with pytest.raises(ValueError, match="auto_remind_every_days"):
            CreateEnvelopeRequest.model_validate(
                {"title": "x", "auto_remind_every_days": wrong, "participants": [], "documents": []}
            )
    assert rules.AUTO_REMIND_DAYS == (1, 30)


def test_the_send_function_runs_the_reminders_task_of_the_schedule():
    path = Path(__file__).resolve().parents[2] / "functions" / "send" / "handler.py"
    spec = importlib.util.spec_from_file_location("tachiai_test_send_handler", path)
    assert spec is not None and spec.loader is not None
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    world = new_world()
    envelope_id = _in_progress(world, every=1)
    world.clock.advance(DAY)
    result = handler.run(world.svc, {"task": "reminders"})
    assert result["sent"] == [{"envelope": envelope_id, "participant": "p1"}]
    later = (world.clock() + DAY).isoformat()
    assert handler.run(world.svc, {"task": "reminders", "now": later})["sent"] == [
        {"envelope": envelope_id, "participant": "p1"}
    ]
