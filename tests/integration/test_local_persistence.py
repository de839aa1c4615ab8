"""``tachiai local`` keeps its data across a restart (issue 10 §6).

Given an envelope half-way (the first party agreed, the second was mailed their link), when the
runtime stops and starts again on the same state directory, then the envelope, its audit trail, its
documents and the mails are still there, the link mailed before the restart still works, the second
party agrees, and the envelope completes with seals that verify.
"""

from __future__ import annotations

import json
from pathlib import Path

import requests
from tachiai.adapters.dynamodb import EnvelopeRepository
from tachiai.domain.audit import verify_chain
from tachiai.local.client import Party, Recipient, SenderClient
from tachiai.local.runtime import TABLE, LocalRuntime
from tachiai.local.samples import sample_nda_pdf
from tachiai.sealing.verify import verify_pdf

from tests.integration.test_envelope_workflow import link_in, wait_for_mail

SENDER = ("山田太郎", "taro.restart@tachiai-tech.example")
ICHIRO = Party("髙橋一郎", "ichiro.restart@takahashizaki.example")
HANAKO = Party("山﨑花子", "hanako.restart@takahashizaki.example", access_code="4729")
TITLE = "秘密保持契約書（再起動）"


def test_an_envelope_waiting_for_a_party_is_still_waiting_after_a_restart_and_completes(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "local"
    # Given an envelope whose first party agreed and whose second party was mailed their link
    with LocalRuntime(state_dir) as runtime:
        sender = SenderClient(runtime.url, runtime.token(SENDER[1], SENDER[0]))
        created = sender.create(TITLE, [ICHIRO, HANAKO], [("nda.pdf", sample_nda_pdf())])
        envelope_id = created["id"]
        sender.send(envelope_id)
        first = Recipient(link_in(wait_for_mail(runtime, ICHIRO.email, TITLE)[0]))
        first.open()
        first.agree()
        hanako_mail = wait_for_mail(runtime, HANAKO.email, TITLE)[0]
        before = sender.get(envelope_id)
        url_before = runtime.url
    mails_before = json.loads((state_dir / "data" / "state.json").read_text())["mails"]
    assert hanako_mail.message_id in [m["id"] for m in mails_before]

    # When the runtime starts again on the same state directory
    with LocalRuntime(state_dir) as runtime:
        assert runtime.restored and runtime.resumed == [envelope_id]
        assert runtime.url == url_before  # the links mailed before still reach it
        sender = SenderClient(runtime.url, runtime.token(SENDER[1], SENDER[0]))
        # Then the envelope, its events and the outbox are as they were
        after = sender.get(envelope_id)
        assert after["status"] == "in_progress"
        assert (
            after["sealed_events"]
            == before["sealed_events"]
            == ["sent", f"agreed:{before['participants'][0]['id']}"]
        )
        assert after["documents"] == before["documents"]
        assert [m.message_id for m in runtime.outbox.mails()] == [m["id"] for m in mails_before]
        assert len(runtime.outbox.to(HANAKO.email)) == 1  # no second link mailed by the restart
        # And the link mailed before the restart still works, without a second mail
        second = Recipient(link_in(hanako_mail))
        second.open(access_code=HANAKO.access_code)
        second.agree()
        completed = sender.wait_for(envelope_id, "completed", timeout=300)
        assert len(wait_for_mail(runtime, HANAKO.email, TITLE, count=2)) == 2  # the request, the completion
        # And the contract's seals verify, LTV included, and its audit chain is whole
        assert runtime.aws is not None and runtime.pki is not None
        pdf = requests.get(sender.downloads(envelope_id)[0]["url"], timeout=60).content
        report = verify_pdf(pdf, [runtime.pki.root_cert])
        assert report.ok and report.ltv_complete
        assert (
            len(report.signatures) == 5
        )  # sent, two agreements, the completion lock, the document timestamp
        trail = EnvelopeRepository(runtime.aws.client("dynamodb"), TABLE).audit_trail(envelope_id)
        verify_chain(trail)
        assert [e.kind for e in trail].count("participant.agreed") == 2
        assert completed["sealed_events"][-1] == f"agreed:{completed['participants'][1]['id']}"


def test_without_persistence_a_restart_starts_empty(tmp_path: Path) -> None:
    with LocalRuntime(tmp_path, persist=False) as runtime:
        sender = SenderClient(runtime.url, runtime.token(SENDER[1], SENDER[0]))
        sender.create(TITLE, [ICHIRO], [("nda.pdf", sample_nda_pdf())])
    assert not (tmp_path / "data").exists()
    with LocalRuntime(tmp_path, persist=False) as runtime:
        sender = SenderClient(runtime.url, runtime.token(SENDER[1], SENDER[0]))
        assert sender.list_envelopes()["envelopes"] == []
