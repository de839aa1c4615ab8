"""S5–S7 on the local runtime, as a sender and their counterparties do it: a template saved with its PDF
(preflighted by the seal function), an envelope made from it, rejected, corrected and resent; an
envelope with automatic reminders whose reminder the hourly schedule mails once per due time.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from tachiai.local.client import Party, Recipient, SenderClient
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf

from tests.integration.test_envelope_workflow import link_in, signature_kinds, wait_for_mail

SENDER_EMAIL = "keiko.sato@tachiai-tech.example"
ICHIRO = Party("髙橋一郎", "ichiro.t@takahashizaki.example", "髙橋﨑商事株式会社")
JIRO = Party("鈴木次郎", "jiro.s@takahashizaki.example", "髙橋﨑商事株式会社")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("local")) as running:
        yield running


@pytest.fixture
def sender(runtime: LocalRuntime) -> SenderClient:
    return SenderClient(runtime.url, runtime.token(SENDER_EMAIL, "佐藤恵子"))


def test_a_template_becomes_an_envelope_that_is_rejected_corrected_and_resent(runtime, sender):
    pdf = sample_nda_pdf()
    title = "業務委託契約書（テンプレート）"
    # Given a template with the contract and one role without a default person
    template = sender.create_template(
        {
            "name": "業務委託",
            "title": title,
            "message": "ご確認をお願いします。",
            "roles": [{"label": "受託者"}],
            "documents": [{"name": "業務委託契約書.pdf", "content_base64": base64.b64encode(pdf).decode()}],
        }
    )
    assert template["ready"] and template["documents"][0]["pages"] >= 1
    assert [t["id"] for t in sender.templates()] == [template["id"]]
    # When an envelope is made from it for Ichiro, sent, and Ichiro rejects it
    created = sender.create_raw({"template_id": template["id"], "participants": [ICHIRO.request()]})
    assert created["title"] == title and created["template_id"] == template["id"]
    sender.send(created["id"])
    ichiro = Recipient(link_in(wait_for_mail(runtime, ICHIRO.email, title)[0]))
    ichiro.open()
    ichiro.reject("第3条の金額が違います。")
    sender.wait_for(created["id"], "rejected")
    # Then the sender corrects the message, gives it to Jiro instead and resends it at once
    resent = sender.resend(
        created["id"], send=True, message="金額を直しました。", participants=[JIRO.request()]
    )
    assert resent["resent_from"] == created["id"] and resent["message"] == "金額を直しました。"
    assert sender.get(created["id"])["resent_as"] == resent["id"]
    # And Jiro is asked to sign the corrected envelope, sealed once (sent) over the template's original
    # PDF: the first envelope's seals are not carried over
    jiro = Recipient(link_in(wait_for_mail(runtime, JIRO.email, title)[0]))
    jiro.open()
    document = jiro.document("d1")
    assert document.startswith(pdf) and len(signature_kinds(document)) == 1


def test_a_due_automatic_reminder_is_mailed_once_even_if_the_schedule_runs_twice(runtime, sender):
    title = "秘密保持契約書（自動リマインド）"
    created = sender.create_raw(
        {
            "title": title,
            "participants": [ICHIRO.request()],
            "documents": [
                {"name": "秘密保持契約書.pdf", "content_base64": base64.b64encode(sample_nda_pdf()).decode()}
            ],
            "auto_remind_every_days": 2,
        }
    )
    sender.send(created["id"])
    first = wait_for_mail(runtime, ICHIRO.email, title)[0]
    # One day later nothing is due; two days later the reminder is, and a second run sends nothing more
    run = f"{runtime.url}/_local/reminders"
    a_day = datetime.now(UTC) + timedelta(days=1)
    two_days = a_day + timedelta(days=1, minutes=5)
    early = requests.post(run, params={"now": a_day.isoformat()}, timeout=60).json()
    due = requests.post(run, params={"now": two_days.isoformat()}, timeout=60).json()
    again = requests.post(run, params={"now": two_days.isoformat()}, timeout=60).json()

    assert [s["envelope"] for s in early["sent"]] == []
    assert due["sent"] == [{"envelope": created["id"], "participant": "p1"}]
    assert again["sent"] == []
    reminder = wait_for_mail(runtime, ICHIRO.email, title, 2)[1]
    assert link_in(reminder) != link_in(first)
    assert sender.get(created["id"])["participants"][0]["auto_reminders"] == 1
