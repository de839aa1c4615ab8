"""Fault injection: whatever fails, and wherever a task dies, no agreement is lost.

Each test runs envelopes through the signing chain on the in-memory fakes (``tests/fakes.py``), with
Step Functions' retry and catch semantics read from the real definition (``tests/chain_driver.py``),
and asserts every time (:func:`assert_nothing_lost`):

* no agreement lost — every agreement on record is sealed into the final documents exactly once;
* no event sealed twice;
* the envelope ends in a terminal state its sender is told about (a mail, or a notice recorded on the
  envelope when the mail could not be delivered);
* the stored documents are the ones the envelope's hash chain names, and the audit trail verifies.

People act as people do: a request that fails (an error page) is tried again, a few times.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tachiai.domain.audit import AuditEntry, verify_chain
from tachiai.domain.documents import current_key
from tachiai.domain.envelope import Envelope, EnvelopeStatus, ParticipantStatus
from tachiai.domain.errors import (
    DocumentStoreUnavailable,
    KeyServiceThrottled,
    MailRejected,
    MailServiceThrottled,
    StorageUnavailable,
    TachiaiError,
    TimestampUnavailable,
    WorkflowUnavailable,
)
from tachiai.domain.ledger import record_extraction_failure
from tachiai.mail.templates import MailKind
from tachiai.services import recipient, sending
from tachiai.services.changes import save_change
from tachiai.services.recipient import ForwardRequest, Visit
from tachiai.services.sending import CreateEnvelopeRequest, SenderIdentity

from tests.chain_driver import ChainDriver
from tests.fakes import EXTRACT_FUNCTION, LOCK, SEAL_FUNCTION, FakeWorld, TaskKilled, fake_world, seals_in
from tests.fixtures.pdfs import simple_pdf

ROOT = Path(__file__).resolve().parents[2]
SENDER = SenderIdentity(sub="sub-taro", email="taro.yamada@tachiai-tech.example", name="山田太郎")
ICHIRO = "ichiro@takahashizaki.example"
HANAKO = "hanako@takahashizaki.example"
JIRO = "jiro@takahashizaki.example"
_TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{43})")
_PDF = simple_pdf(text="Mutual Non-Disclosure Agreement")
TOLD_BY_MAIL = {
    EnvelopeStatus.COMPLETED: MailKind.COMPLETED,
    EnvelopeStatus.REJECTED: MailKind.REJECTED,
    EnvelopeStatus.EXPIRED: MailKind.EXPIRED,
    EnvelopeStatus.FAILED: MailKind.FAILED,
}


def _handler(function: str) -> ModuleType:
    path = ROOT / "functions" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"tachiai_test_handler_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEAL_HANDLER = _handler("seal")
EXTRACT_HANDLER = _handler("ai_extract")


def new_world(sealer: Any = None, render_certificate: bool = False) -> FakeWorld:
    world = fake_world(sealer=sealer)
    # The synchronous calls go through the real handlers' task parsing, on the same fakes.
    world.functions.routes[SEAL_FUNCTION] = lambda event: SEAL_HANDLER.run(world.svc, event)
    world.functions.routes[EXTRACT_FUNCTION] = lambda event: EXTRACT_HANDLER.run(world.svc, event)
    return world


def again(action: Callable[[], Any], tries: int = 4) -> Any:
    """A person (or a client) trying again after an error page."""
    for attempt in range(tries):
        try:
            return action()
        except (TachiaiError, TaskKilled):
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def send(world: FakeWorld, *emails: str, documents: int = 1) -> str:
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": "秘密保持契約書",
            "participants": [{"name": e.split("@")[0], "email": e} for e in emails],
            "documents": [
                {"name": f"契約書{i}.pdf", "content_base64": base64.b64encode(_PDF).decode()}
                for i in range(1, documents + 1)
            ],
        }
    )
    created = again(lambda: sending.create_envelope(world.svc, SENDER, request))
    envelope_id: str = created.envelope.id
    again(lambda: sending.send_envelope(world.svc, SENDER, envelope_id))
    return envelope_id


def link_of(world: FakeWorld, email: str) -> str:
    """The token of the last signing link mailed to ``email`` (the earlier ones are dead)."""
    mails = [m for m in world.mailer.to(email) if m.kind in (MailKind.SIGNING_REQUEST, MailKind.REMINDER)]
    assert mails, f"no signing link was mailed to {email}"
    found = _TOKEN.search(mails[-1].text)
    assert found, mails[-1].text
    return found.group(1)


class People:
    """What each participant does when it is their turn (by default: open and agree)."""

    def __init__(self, world: FakeWorld, plan: dict[str, str] | None = None, tries: int = 4) -> None:
        self.world, self.plan, self.tries = world, plan or {}, tries

    def __call__(self, envelope_id: str, participant_id: str) -> None:
        svc = self.world.svc
        email = self.world.envelopes.envelopes[envelope_id].participant(participant_id).person.email
        action = self.plan.get(email, "agree")
        if action == "ignore":
            return

        def act() -> None:
            token = link_of(self.world, email)
            recipient.open_documents(svc, token, accept_terms=True, access_code=None, visit=Visit())
            if action == "agree":
                recipient.agree(svc, token, Visit())
            elif action == "reject":
                recipient.reject(svc, token, "金額が違います", Visit())
            elif action.startswith("forward:"):
                to = action.removeprefix("forward:")
                request = ForwardRequest(name=to.split("@")[0], email=to, reason="担当者が替わりました")
                recipient.forward(svc, token, request, Visit())

        with contextlib.suppress(TachiaiError, TaskKilled):  # they gave up: the chain must cope
            again(act, self.tries)


def quick_extraction(world: FakeWorld) -> Callable[[str], Any]:
    """The Extract task's write without reading the PDFs (the real one reads them in a child process,
    which would make each run of a fault matrix slow; its failures never touch the agreement)."""

    def extract(envelope_id: str) -> dict[str, Any]:
        def change(envelope: Envelope) -> tuple[Envelope, list[AuditEntry]]:
            changed, entry = record_extraction_failure(envelope, "not_read_in_this_test", world.clock())
            return changed, [entry]

        save_change(world.svc, world.envelopes.get(envelope_id), change)
        return {"envelopeId": envelope_id, "fields": []}

    return extract


def run(world: FakeWorld, envelope_id: str, people: People | None = None, **driver: Any) -> ChainDriver:
    driver.setdefault("extract", quick_extraction(world))
    chain = ChainDriver(world, people or People(world), **driver)
    chain.run(envelope_id)
    return chain


def assert_nothing_lost(world: FakeWorld, envelope_id: str, *, sealed_agreements: bool = True) -> None:
    envelope = world.envelopes.envelopes[envelope_id]
    # the envelope ended, and its sender was told (a mail, or the notice recorded on the envelope)
    assert envelope.is_terminal, envelope.status
    mailed = [m.kind for m in world.mailer.to(SENDER.email)]
    told = (
        envelope.status == EnvelopeStatus.CANCELLED  # the sender did it
        or TOLD_BY_MAIL[envelope.status] in mailed
        or envelope.undelivered_notice == envelope.status.value
    )
    assert told, f"{envelope.status}: the sender got {mailed}"
    agreed = [p.person.email for p in envelope.participants if p.status == ParticipantStatus.AGREED]
    for document in envelope.documents:
        final = world.documents.objects[current_key(envelope_id, document)]
        # the stored file is the head of the envelope's hash chain
        assert hashlib.sha256(final).hexdigest() == document.current_sha256
        seals = seals_in(final)
        assert len(seals) == len(set(seals)), f"an event was sealed twice: {seals}"
        for email in agreed if sealed_agreements else []:
            assert seals.count(f"agreed {email}") == 1, f"the agreement of {email} is not sealed: {seals}"
        assert seals.count(f"sent {SENDER.email}") == 1
    verify_chain(world.envelopes.audit_trail(envelope_id))


def assert_completed(world: FakeWorld, envelope_id: str) -> None:
    assert_nothing_lost(world, envelope_id)
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.COMPLETED
    assert all(p.status == ParticipantStatus.AGREED for p in envelope.signers_in_order())
    assert envelope.certificate_sha256 is not None
    assert all(d.finalized for d in envelope.documents)
    completion = [m.to.email for m in world.mailer.outbox if m.kind == MailKind.COMPLETED]
    assert sorted(set(completion)) == sorted(
        {SENDER.email, *(p.person.email for p in envelope.signers_in_order())}
    )


# --- without faults ---------------------------------------------------------------------------------


def test_two_parties_agree_and_each_event_is_sealed_once_into_every_document():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO, documents=2)
    chain = run(world, envelope_id, extract=None)  # the real extraction, once
    assert_completed(world, envelope_id)
    assert chain.retries == []
    final = world.documents.objects[
        current_key(envelope_id, world.envelopes.envelopes[envelope_id].documents[0])
    ]
    assert seals_in(final) == [f"sent {SENDER.email}", f"agreed {ICHIRO}", f"agreed {HANAKO}", LOCK]


def _baseline_calls() -> dict[str, int]:
    world = new_world()
    run(world, send(world, ICHIRO, HANAKO, documents=2))
    return dict(world.faults.calls)


BASELINE = _baseline_calls()
"""How often each port method is called when nothing fails (two parties, two documents)."""


# --- every task (and every request) killed at every step -----------------------------------------

KILLED_AT = [
    "documents.put",
    "documents.get",
    "envelopes.save",
    "envelopes.put_task_token",
    "envelopes.task_token",
    "mailer.send",
    "chain.start",
    "chain.resume",
    "sealer.seal_event",
    "sealer.seal",
    "sealer.finalize",
    "functions.call",
]


@pytest.mark.parametrize("after", [False, True], ids=["before the call", "after the call took effect"])
@pytest.mark.parametrize("method", KILLED_AT)
def test_a_process_killed_at_any_call_loses_no_agreement_and_completes(method, after):
    assert BASELINE.get(method), f"{method} is never called: the matrix is stale"
    for call in range(1, BASELINE[method] + 1):
        # Given the process doing the n-th call of this method dies (before it, or once it took effect)
        world = new_world()
        world.faults.inject(method, TaskKilled, call=call, after=after)
        # When the envelope goes through the chain (tasks retried as the definition says, people
        # clicking again after an error page)
        envelope_id = send(world, ICHIRO, HANAKO, documents=2)
        run(world, envelope_id)
        # Then the contract still completes with every agreement sealed exactly once
        assert world.faults.injected, f"call {call} of {method} was never made"
        assert_completed(world, envelope_id)


# --- the outside world failing for a while -------------------------------------------------------

PASSING_FAULTS = [
    ("envelopes.save", StorageUnavailable),
    ("envelopes.get", StorageUnavailable),
    ("documents.put", DocumentStoreUnavailable),
    ("documents.get", DocumentStoreUnavailable),
    ("mailer.send", MailServiceThrottled),
    ("sealer.seal_event", TimestampUnavailable),
    ("sealer.seal_event", KeyServiceThrottled),
    ("sealer.finalize", TimestampUnavailable),
    ("sealer.seal", KeyServiceThrottled),
    ("chain.resume", WorkflowUnavailable),
]


@pytest.mark.parametrize(
    ("method", "error"), PASSING_FAULTS, ids=[f"{m}-{e.__name__}" for m, e in PASSING_FAULTS]
)
def test_a_service_failing_twice_in_a_row_at_any_call_is_retried_and_the_envelope_completes(method, error):
    for call in range(1, BASELINE[method] + 1):
        world = new_world()
        world.faults.inject(method, error, call=call, times=2)
        envelope_id = send(world, ICHIRO, HANAKO, documents=2)
        run(world, envelope_id)
        assert_completed(world, envelope_id)


def test_the_tsa_down_for_good_fails_the_envelope_after_the_retries_and_tells_the_sender():
    world = new_world()
    envelope_id = send(world, ICHIRO)
    world.faults.always("sealer.seal_event", TimestampUnavailable)
    chain = run(world, envelope_id)
    # the seal could not be made: the envelope fails, the agreement stays on record (not in the PDF)
    assert_nothing_lost(world, envelope_id, sealed_agreements=False)
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.FAILED and envelope.outcome_reason == "TimestampUnavailable"
    assert envelope.participant("p1").status == ParticipantStatus.AGREED
    assert "participant.agreed" in [e.kind for e in world.envelopes.audit_trail(envelope_id)]
    assert [m.kind for m in world.mailer.to(SENDER.email)] == [MailKind.FAILED]
    # every retry the definition allows was made before giving up
    assert len([r for r in chain.retries if r == ("Seal", "TimestampUnavailable")]) >= 10


# --- mail that cannot be delivered ----------------------------------------------------------------


def _refuse_completion_mails(world: FakeWorld, error: type[Exception]) -> None:
    world.faults.always("mailer.send", error)


@pytest.mark.parametrize("error", [MailRejected, MailServiceThrottled])
def test_a_completion_mail_that_cannot_be_sent_is_recorded_on_the_envelope_for_the_sender(error):
    world = new_world()
    envelope_id = send(world, ICHIRO)
    driver = ChainDriver(world, People(world), extract=quick_extraction(world))
    # SES refuses (for good, or throttles past every retry) once the agreement is in
    original = driver._announce

    def announce(*args: Any) -> str:
        world.faults.always("mailer.send", error)
        return original(*args)

    driver._announce = announce  # type: ignore[method-assign]
    ended_in = driver.run(envelope_id)
    assert ended_in == "RecordUndeliveredNotice"
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.COMPLETED and envelope.undelivered_notice == "completed"
    trail = world.envelopes.audit_trail(envelope_id)
    assert trail[-1].kind == "envelope.notice_undelivered"
    assert trail[-1].data == {"outcome": "completed", "error": error.__name__}
    assert_nothing_lost(world, envelope_id)


def test_one_refused_completion_mail_does_not_keep_the_others_from_being_sent():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    driver = ChainDriver(world, People(world), extract=quick_extraction(world))
    original = driver._announce

    def announce(*args: Any) -> str:
        # the first completion mail (to the sender) is refused for good
        world.faults.inject("mailer.send", MailRejected, call=world.faults.calls["mailer.send"] + 1)
        return original(*args)

    driver._announce = announce  # type: ignore[method-assign]
    driver.run(envelope_id)
    completion = [m.to.email for m in world.mailer.outbox if m.kind == MailKind.COMPLETED]
    assert sorted(completion) == sorted([ICHIRO, HANAKO])
    assert world.envelopes.envelopes[envelope_id].undelivered_notice == "completed"
    assert_nothing_lost(world, envelope_id)


def test_a_rejection_whose_mail_is_refused_ends_rejected_with_the_notice_recorded():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    people = People(world, {HANAKO: "reject"})
    original_reject = recipient.reject

    def reject_then_refuse_mail(*args: Any, **kwargs: Any) -> Any:
        world.faults.always("mailer.send", MailRejected)
        return original_reject(*args, **kwargs)

    recipient.reject = reject_then_refuse_mail  # type: ignore[assignment]
    try:
        run(world, envelope_id, people)
    finally:
        recipient.reject = original_reject  # type: ignore[assignment]
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.REJECTED and envelope.undelivered_notice == "rejected"
    assert_nothing_lost(world, envelope_id)


# --- duplicate delivery and lost answers ----------------------------------------------------------


@pytest.mark.parametrize("state", ["Notify", "Seal", "Finalize", "NotifyCompleted", "AnswerAfterWait"])
def test_a_task_delivered_twice_changes_nothing_twice(state):
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    people = People(world, {HANAKO: "ignore"} if state == "AnswerAfterWait" else None)
    if state == "AnswerAfterWait":
        # Hanako's agreement reaches the envelope but never the chain: the wait times out
        world.faults.always("chain.resume", WorkflowUnavailable)
        people = _agree_without_resuming(world, people)
    run(world, envelope_id, people, duplicate={state})
    assert_completed(world, envelope_id)


@pytest.mark.parametrize("state", ["Seal", "Finalize", "NotifyCompleted"])
def test_a_task_whose_answer_is_lost_after_it_finished_is_run_again_without_harm(state):
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    chain = run(world, envelope_id, lose_answer={state})
    assert (state, "Lambda.Unknown") in chain.retries
    assert_completed(world, envelope_id)


def _agree_without_resuming(world: FakeWorld, people: People) -> People:
    def act(envelope_id: str, participant_id: str) -> None:
        email = world.envelopes.envelopes[envelope_id].participant(participant_id).person.email
        if email != HANAKO:
            return people(envelope_id, participant_id)
        token = link_of(world, HANAKO)
        recipient.open_documents(world.svc, token, accept_terms=True, access_code=None, visit=Visit())
        with pytest.raises(WorkflowUnavailable):
            recipient.agree(world.svc, token, Visit())  # recorded, then resuming the chain failed
        return None  # and Hanako closes the page

    return act  # type: ignore[return-value]


def test_an_agreement_recorded_but_never_heard_by_the_chain_is_taken_when_the_wait_ends():
    # Given Hanako agrees, but resuming the waiting chain fails and she never clicks again
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    world.faults.always("chain.resume", WorkflowUnavailable)
    people = _agree_without_resuming(world, People(world, {HANAKO: "ignore"}))
    # When the wait runs out
    chain = run(world, envelope_id, people)
    # Then the chain takes the recorded agreement and the contract completes
    assert "AnswerAfterWait" in chain.path
    assert_completed(world, envelope_id)


def test_a_notify_retried_after_the_participant_answered_passes_their_answer_on():
    # Given Ichiro agrees while the chain retries his Notify (the task he resumed was replaced)
    world = new_world()
    envelope_id = send(world, ICHIRO)
    people = People(world)
    first = {"done": False}

    def agree_then_die(envelope_id: str, participant_id: str) -> None:
        people(envelope_id, participant_id)
        if not first["done"]:
            first["done"] = True
            raise TaskKilled("the Notify invocation died after the agreement was recorded")

    chain = run(world, envelope_id, agree_then_die)  # type: ignore[arg-type]
    # Then the retried Notify answers with the recorded agreement instead of failing the envelope
    assert ("Notify", "Lambda.Unknown") in chain.retries
    assert_completed(world, envelope_id)


# --- the other ends ----------------------------------------------------------------------------------


def test_a_rejection_ends_the_envelope_and_the_sender_is_told():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    run(world, envelope_id, People(world, {HANAKO: "reject"}))
    assert world.envelopes.envelopes[envelope_id].status == EnvelopeStatus.REJECTED
    assert_nothing_lost(world, envelope_id)


def test_a_link_that_runs_out_expires_the_envelope_and_the_sender_is_told():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    run(world, envelope_id, People(world, {HANAKO: "ignore"}))
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.EXPIRED
    assert_nothing_lost(world, envelope_id)  # Ichiro's agreement stays sealed in the documents


def test_a_forward_is_sealed_once_and_the_newcomer_agrees():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)
    run(world, envelope_id, People(world, {ICHIRO: f"forward:{JIRO}"}))
    assert_completed(world, envelope_id)
    document = world.envelopes.envelopes[envelope_id].documents[0]
    seals = seals_in(world.documents.objects[current_key(envelope_id, document)])
    assert seals == [
        f"sent {SENDER.email}",
        f"forwarded {ICHIRO}",
        f"agreed {JIRO}",
        f"agreed {HANAKO}",
        LOCK,
    ]


def test_the_sender_cannot_cancel_once_every_party_has_agreed():
    world = new_world()
    envelope_id = send(world, ICHIRO)
    driver = ChainDriver(world, People(world), extract=quick_extraction(world))
    cancelled: list[BaseException] = []

    def people_then_cancel(envelope_id: str, participant_id: str) -> None:
        People(world)(envelope_id, participant_id)
        try:
            sending.cancel(world.svc, SENDER, envelope_id, "やっぱり取り消し")
        except TachiaiError as e:
            cancelled.append(e)

    driver.people = people_then_cancel
    driver.run(envelope_id)
    assert [e.code for e in cancelled if isinstance(e, TachiaiError)] == ["envelope_everyone_agreed"]
    assert_completed(world, envelope_id)


# --- the real sealer -------------------------------------------------------------------------------


def test_with_the_real_sealer_a_tsa_down_fails_over_and_every_seal_validates(kit):
    from tachiai.sealing.seal import Sealer
    from tachiai.sealing.timestamping import FailoverTimeStamper
    from tachiai.sealing.verify import verify_pdf

    # Given the first TSA refuses connections (nothing listens on port 9) and the second answers
    sealer = Sealer(
        signer=kit.sealer.signer,
        timestamper=FailoverTimeStamper(["http://127.0.0.1:9/tsa", kit.pki.tsa_url], timeout=2),
        trust_roots=kit.sealer.trust_roots,
    )
    world = new_world(sealer=sealer)
    envelope_id = send(world, ICHIRO)
    # and the seal of the agreement is killed once after it was stored
    world.faults.inject("documents.put", TaskKilled, call=world.faults.calls["documents.put"] + 1, after=True)
    run(world, envelope_id)
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.COMPLETED
    final = world.documents.objects[current_key(envelope_id, envelope.documents[0])]
    assert hashlib.sha256(final).hexdigest() == envelope.documents[0].current_sha256
    report = verify_pdf(final, [kit.pki.root_cert])
    assert report.ok and report.ltv_complete
    reasons = [s.reason or "" for s in report.signatures]
    # the agreement is sealed once, despite the killed task
    assert len([r for r in reasons if ICHIRO in r]) == 1, reasons
    assert report.signatures[-1].kind == "document_timestamp"
    certificate = world.documents.objects[f"envelopes/{envelope_id}/certificate.pdf"]
    assert hashlib.sha256(certificate).hexdigest() == envelope.certificate_sha256
    assert verify_pdf(certificate, [kit.pki.root_cert]).ok
