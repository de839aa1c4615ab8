"""S1–S6, R1–R5, E1, E6: the envelope workflow end to end on the local runtime.

Everything runs as in the cloud, on one machine: the sender API and the recipient routes through the
API Gateway adapter (over HTTP), the signing chain on moto's Step Functions interpreter, each Lambda
task dispatched in process to the real handler, KMS/S3/DynamoDB/SES/SSM in moto, the seals from the
test PKI's TSA. The tests act as people do: read the mail in the outbox, click its link.

(The issue asked for moto ``mock_aws``; the Step Functions interpreter calls Lambda over HTTP, so the
runtime's in-process ``ThreadedMotoServer`` plays that role — the same moto backends, reached over
loopback.)
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from io import BytesIO

import pytest
import requests
from pyhanko.pdf_utils.reader import PdfFileReader
from tachiai.local.client import ApiError, Party, Recipient, SenderClient, upload_fields
from tachiai.local.outbox import OutboxMail
from tachiai.local.runtime import BUCKET, LocalRuntime
from tachiai.local.samples import sample_nda_pdf
from tachiai.sealing.verify import verify_pdf

from tests.conftest import require_tool

SENDER_EMAIL = "taro.yamada@tachiai-tech.example"
ICHIRO = Party("髙橋一郎", "ichiro@takahashizaki.example", "髙橋﨑商事株式会社")
HANAKO = Party("山﨑花子", "hanako@takahashizaki.example", "髙橋﨑商事株式会社", access_code="4729")
ALICE = Party("Alice Smith", "alice@example.com", "Example Inc.", language="en")
BOB = Party("Bob Jones", "bob@example.com", "Example Inc.", language="en")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("local")) as running:
        yield running


@pytest.fixture(scope="module")
def nda() -> bytes:
    return sample_nda_pdf()


@pytest.fixture
def sender(runtime: LocalRuntime) -> SenderClient:
    return SenderClient(runtime.url, runtime.token(SENDER_EMAIL, "山田太郎"))


def mails_to(runtime: LocalRuntime, address: str, envelope_title: str | None = None) -> list[OutboxMail]:
    mails = runtime.outbox.to(address)
    return [m for m in mails if envelope_title is None or envelope_title in m.subject + m.text]


def link_in(mail: OutboxMail) -> str:
    links = [link for link in mail.links if "/s/" in link]
    assert links, f"no tachiai link in {mail.subject!r}: {mail.links}"
    return links[0].split("/documents/")[0].split("/certificate")[0]


def wait_for_mail(
    runtime: LocalRuntime, address: str, title: str, count: int = 1, timeout: float = 30.0
) -> list[OutboxMail]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        mails = mails_to(runtime, address, title)
        if len(mails) >= count:
            return mails
        if time.monotonic() > deadline:
            raise AssertionError(f"{address} got {len(mails)} mails about {title!r}, expected {count}")
        time.sleep(0.05)


def start(sender: SenderClient, nda: bytes, title: str, *parties: Party, **options: object) -> str:
    created = sender.create(
        title, parties, [("秘密保持契約書.pdf", nda)], message="ご確認をお願いします。", **options
    )  # type: ignore[arg-type]
    sender.send(created["id"])
    return str(created["id"])


def agree(runtime: LocalRuntime, party: Party, title: str, nth_mail: int = 1) -> Recipient:
    mail = wait_for_mail(runtime, party.email, title, nth_mail)[nth_mail - 1]
    person = Recipient(link_in(mail))
    person.open(access_code=party.access_code)
    person.agree()
    return person


def sealed_pdf(sender: SenderClient, envelope_id: str) -> bytes:
    downloads = sender.downloads(envelope_id)
    return requests.get(downloads[0]["url"], timeout=10).content


def signature_kinds(pdf: bytes) -> list[str]:
    reader = PdfFileReader(BytesIO(pdf), strict=True)
    return [s.sig_object.get("/Type") for s in reader.embedded_signatures]  # type: ignore[misc]


# --- the happy path ---------------------------------------------------------------------------


def test_two_parties_in_order_agree_and_everyone_gets_the_sealed_contract(runtime, sender, nda):
    # Given an NDA sent to two parties in order, the second with an access code
    title = "秘密保持契約書（二者）"
    envelope_id = start(sender, nda, title, ICHIRO, HANAKO)
    # Then only the first party is asked, in Japanese, in the seeds' subject style
    first = wait_for_mail(runtime, ICHIRO.email, title)[0]
    assert first.subject == f"【山田太郎】様より{title}への署名依頼が届いています"
    assert mails_to(runtime, HANAKO.email, title) == []
    # When the first agrees, the second is asked, and the mail says an access code is needed
    agree(runtime, ICHIRO, title)
    second = wait_for_mail(runtime, HANAKO.email, title)[0]
    assert "アクセスコード" in second.text and HANAKO.access_code not in second.text
    agree(runtime, HANAKO, title)
    # Then the envelope completes and every party gets the completion mail with their own links
    envelope = sender.wait_for(envelope_id, "completed")
    assert envelope["sealed_events"] == ["sent", "agreed:p1", "agreed:p2"]
    wait_for_mail(runtime, HANAKO.email, title, 2)  # the completion mails go out last, Hanako's last of all
    for address in (SENDER_EMAIL, ICHIRO.email, HANAKO.email):
        done = [
            m for m in mails_to(runtime, address, title) if "締結が完了" in m.subject or "完了" in m.subject
        ]
        assert len(done) == 1, address
        contract = Recipient(link_in(done[0]))
        pdf = contract.document("d1")
        assert verify_pdf(pdf, [runtime.pki.root_cert]).ok  # type: ignore[union-attr]
        assert contract.certificate().startswith(b"%PDF-")
    # And the sealed PDF carries sent + two agreements + the document timestamp, LTV complete
    report = verify_pdf(sealed_pdf(sender, envelope_id), [runtime.pki.root_cert])  # type: ignore[union-attr]
    assert report.ok and report.ltv_complete
    assert len(report.signatures) == 5  # sent, two agreements, the completion lock, the document timestamp
    assert "山﨑花子 (hanako@takahashizaki.example)" in (report.signatures[2].reason or "")
    assert "アクセスコード" in (report.signatures[2].reason or "")


def test_three_parties_validate_with_five_seals_and_a_document_timestamp_in_pyhanko_and_pdfsig(
    runtime, sender, nda, tmp_path
):
    title = "業務委託契約書（三者）"
    envelope_id = start(sender, nda, title, ICHIRO, ALICE, BOB)
    for party in (ICHIRO, ALICE, BOB):
        agree(runtime, party, title)
    sender.wait_for(envelope_id, "completed")
    pdf = sealed_pdf(sender, envelope_id)
    report = verify_pdf(pdf, [runtime.pki.root_cert])  # type: ignore[union-attr]
    assert report.ok and report.ltv_complete and not report.modified_after_last_signature
    assert [s.kind for s in report.signatures] == ["signature"] * 5 + ["document_timestamp"]
    assert len(report.signatures) == 6
    # An English participant's mails are in English (the seals' reasons in the envelope's language)
    request = mails_to(runtime, ALICE.email, title)[0]
    assert request.language == "en" and request.subject == f"Signature request from 山田太郎: {title}"
    pdfsig = require_tool("pdfsig", "poppler-utils")
    path = tmp_path / "three.pdf"
    path.write_bytes(pdf)
    output = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False).stdout
    assert output.count("Signature is Valid.") >= 4, output


# --- rejection, forward, cancel, expiry -----------------------------------------------------------------


def test_a_rejection_with_its_reason_goes_to_the_sender_and_nobody_after_is_mailed(runtime, sender, nda):
    title = "売買契約書（却下）"
    envelope_id = start(sender, nda, title, ICHIRO, ALICE, BOB)
    agree(runtime, ICHIRO, title)
    alice = Recipient(link_in(wait_for_mail(runtime, ALICE.email, title)[0]))
    alice.open()
    with pytest.raises(ApiError) as no_reason:
        alice.reject("  ")
    assert no_reason.value.status == 400
    alice.reject("Clause 5 must name the governing law.")
    envelope = sender.wait_for(envelope_id, "rejected")
    assert envelope["outcome_reason"] == "Clause 5 must name the governing law."
    notice = wait_for_mail(runtime, SENDER_EMAIL, title)[-1]
    assert "Clause 5 must name the governing law." in notice.text
    assert mails_to(runtime, BOB.email, title) == []
    # The rejecter's link now says what they did
    assert alice.page().status_code == 200


def test_a_forward_is_sealed_and_the_new_person_signs_with_their_own_link(runtime, sender, nda):
    title = "ライセンス契約書（転送）"
    envelope_id = start(sender, nda, title, ICHIRO)
    ichiro = Recipient(link_in(wait_for_mail(runtime, ICHIRO.email, title)[0]))
    ichiro.open()
    ichiro.forward("佐藤部長", "sato@takahashizaki.example", "契約締結権限者のため")
    # The new person gets their own request; the sender is told; the old link is dead
    newcomer = Recipient(link_in(wait_for_mail(runtime, "sato@takahashizaki.example", title)[0]))
    assert newcomer.link != ichiro.link
    assert any("転送" in m.subject for m in mails_to(runtime, SENDER_EMAIL, title))
    with pytest.raises(ApiError) as dead:
        ichiro.agree()
    assert dead.value.status == 409
    newcomer.open()
    newcomer.agree()
    envelope = sender.wait_for(envelope_id, "completed")
    assert envelope["sealed_events"] == ["sent", "forwarded:p1", "agreed:p2"]
    reasons = [s.reason or "" for s in verify_pdf(sealed_pdf(sender, envelope_id), []).signatures]
    assert "佐藤部長 (sato@takahashizaki.example) へ転送しました" in reasons[1]


def test_cancel_mid_chain_ends_it_and_tells_those_already_asked(runtime, sender, nda):
    title = "賃貸借契約書（取消）"
    envelope_id = start(sender, nda, title, ICHIRO, ALICE, BOB)
    agree(runtime, ICHIRO, title)
    alice = Recipient(link_in(wait_for_mail(runtime, ALICE.email, title)[0]))
    sender.cancel(envelope_id, "条件を見直します")
    sender.wait_for(envelope_id, "cancelled")
    for party in (ICHIRO, ALICE):
        assert any(
            "取り消" in m.subject or "Cancelled" in m.subject
            for m in wait_for_mail(runtime, party.email, title, 2)
        )
    assert mails_to(runtime, BOB.email, title) == []
    with pytest.raises(ApiError) as after:
        alice.open()
    assert after.value.code == "envelope_cancelled"
    assert "取り消" in alice.page().text or "cancel" in alice.page().text.lower()


def test_an_expired_link_ends_the_envelope_and_tells_the_sender_and_the_participant(runtime, sender, nda):
    title = "覚書（期限切れ）"
    envelope_id = start(sender, nda, title, ALICE, link_validity_seconds=2)
    alice = Recipient(link_in(wait_for_mail(runtime, ALICE.email, title)[0]))
    sender.wait_for(envelope_id, "expired", timeout=30)
    assert any("期限" in m.subject for m in wait_for_mail(runtime, SENDER_EMAIL, title))
    assert any(m.subject.startswith("Expired") for m in wait_for_mail(runtime, ALICE.email, title, 2))
    with pytest.raises(ApiError) as late:
        alice.open()
    assert late.value.code == "link_expired"


# --- links and authentication --------------------------------------------------------------------------


def test_a_wrong_access_code_is_refused_and_five_lock_the_link_and_tell_the_sender(runtime, sender, nda):
    title = "秘密保持契約書（コード）"
    envelope_id = start(sender, nda, title, HANAKO)
    hanako = Recipient(link_in(wait_for_mail(runtime, HANAKO.email, title)[0]))
    with pytest.raises(ApiError) as wrong:
        hanako.open(access_code="0000")
    assert wrong.value.status == 403 and wrong.value.code == "access_code_wrong"
    with pytest.raises(ApiError) as not_opened:
        hanako.agree()
    assert not_opened.value.code == "not_opened"
    for _ in range(4):
        with pytest.raises(ApiError) as last:
            hanako.open(access_code="0000")
    assert last.value.code == "link_locked"
    with pytest.raises(ApiError) as locked:
        hanako.open(access_code=HANAKO.access_code)
    assert locked.value.code == "link_locked"
    assert any("ロック" in m.subject for m in mails_to(runtime, SENDER_EMAIL, title))
    events = [e["kind"] for e in sender.get(envelope_id)["events"]]
    assert events.count("participant.access_code_wrong") == 5 and "participant.locked" in events


def test_agreeing_twice_agrees_once_and_seals_once(runtime, sender, nda):
    from concurrent.futures import ThreadPoolExecutor

    title = "秘密保持契約書（二重クリック）"
    envelope_id = start(sender, nda, title, ICHIRO)
    link = link_in(wait_for_mail(runtime, ICHIRO.email, title)[0])
    Recipient(link).open()
    # When the agree button is clicked twice at once, and once more later
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: Recipient(link).agree(), range(2)))
    answers.append(Recipient(link).agree())
    # Then every click answers "agreed", and there is one agreement and one seal
    assert all(a["participant"] == "agreed" for a in answers)
    sender.wait_for(envelope_id, "completed")
    envelope = sender.get(envelope_id)
    assert [e["kind"] for e in envelope["events"]].count("participant.agreed") == 1
    assert envelope["sealed_events"] == ["sent", "agreed:p1"]
    assert envelope["documents"][0]["seals"] == 2


def test_a_link_used_before_its_turn_is_refused(runtime, sender, nda):
    # Given a leaked link record for the second participant while the first has not agreed
    title = "秘密保持契約書（順番）"
    envelope_id = start(sender, nda, title, ICHIRO, ALICE)
    wait_for_mail(runtime, ICHIRO.email, title)
    token = "A" * 43
    runtime.aws.client("dynamodb").put_item(  # type: ignore[union-attr]
        TableName="tachiai-envelopes",
        Item={
            "pk": {"S": f"LINK#{hashlib.sha256(token.encode()).hexdigest()}"},
            "sk": {"S": "LINK"},
            "envelope_id": {"S": envelope_id},
            "participant_id": {"S": "p2"},
            "expires_at": {"S": "2099-01-01T00:00:00+00:00"},
            "purpose": {"S": "sign"},
        },
    )
    alice = Recipient(f"{runtime.url}/s/{token}")
    # Then it cannot open or agree, and the page explains instead of failing
    with pytest.raises(ApiError) as early:
        alice.open()
    assert early.value.status in (404, 409)
    page = alice.page()
    assert page.status_code in (404, 409) and "Traceback" not in page.text


def test_unknown_and_malformed_links_get_a_clear_page(runtime):
    for token in ("x" * 43, "short", "%3Cscript%3E"):
        page = requests.get(f"{runtime.url}/s/{token}", timeout=10)
        assert page.status_code == 404
        assert "text/html" in page.headers["Content-Type"]
        assert "Traceback" not in page.text and "<script>" not in page.text


# --- the evidence chain ----------------------------------------------------------------------------


def test_a_sealed_pdf_changed_in_s3_between_two_events_stops_the_envelope(runtime, sender, nda):
    title = "秘密保持契約書（改ざん）"
    envelope_id = start(sender, nda, title, ICHIRO, ALICE)
    agree(runtime, ICHIRO, title)
    wait_for_mail(runtime, ALICE.email, title)
    # Someone with bucket access replaces the last sealed version
    s3 = runtime.aws.client("s3")  # type: ignore[union-attr]
    key = f"envelopes/{envelope_id}/documents/d1/sealed-2.pdf"
    tampered = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().replace(b"/Producer", b"/Producex", 1)
    s3.put_object(Bucket=BUCKET, Key=key, Body=tampered)
    agree(runtime, ALICE, title)
    # Then the seal refuses: the envelope fails (it is never completed) and the sender is told
    envelope = sender.wait_for(envelope_id, "failed", "completed")
    assert envelope["status"] == "failed"
    assert "agreed:p2" not in envelope["sealed_events"]
    notice = wait_for_mail(runtime, SENDER_EMAIL, title)[-1]
    assert "DocumentChangedSinceLastSeal" in notice.text


# --- the audit trail --------------------------------------------------------------------------------


def test_every_change_is_in_a_hash_chained_audit_trail(runtime, sender, nda):
    title = "秘密保持契約書（監査）"
    envelope_id = start(sender, nda, title, ICHIRO)
    agree(runtime, ICHIRO, title)
    sender.wait_for(envelope_id, "completed")
    wait_for_mail(runtime, SENDER_EMAIL, title)  # the completion mails are the chain's last step
    envelope = sender.get(envelope_id)
    events = envelope["events"]
    kinds = [e["kind"] for e in events]
    for kind in (
        "envelope.created",
        "document.prepared",
        "document.sealed",
        "envelope.sent",
        "participant.notified",
        "participant.opened",
        "participant.agreed",
        "document.timestamped",
        "envelope.completed",
        "envelope.completion_mailed",
    ):
        assert kind in kinds, kind
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    opened = next(e for e in events if e["kind"] == "participant.opened")
    assert opened["data"]["ip"] == "127.0.0.1" and opened["data"]["user_agent"]
    assert envelope["status"] == "completed"


# --- the plain HTML page, as a browser uses it ------------------------------------------------------


def test_the_link_page_works_in_a_browser_with_forms_and_redirects(runtime, sender, nda):
    title = "秘密保持契約書（ブラウザ）"
    envelope_id = start(sender, nda, title, HANAKO)
    link = link_in(wait_for_mail(runtime, HANAKO.email, title)[0])
    browser = requests.Session()
    # The first visit shows the terms and asks for the access code, in Japanese
    first = browser.get(link, timeout=10)
    assert first.status_code == 200 and 'lang="ja"' in first.text and 'name="access_code"' in first.text
    assert first.headers["Referrer-Policy"] == "same-origin" and "no-store" in first.headers["Cache-Control"]
    # A wrong code comes back as the same page with a notice, not an error page
    wrong = browser.post(f"{link}/open", data={"accept_terms": "yes", "access_code": "0000"}, timeout=10)
    assert wrong.status_code == 403 and "アクセスコードが違います" in wrong.text
    # The right code opens the documents: 303 back to the page, which now offers agree / reject / forward
    opened = browser.post(f"{link}/open", data={"accept_terms": "yes", "access_code": "4729"}, timeout=10)
    assert opened.history[0].status_code == 303 and opened.url == link
    assert f"{link_path(link)}/agree" in opened.text and f"{link_path(link)}/documents/d1" in opened.text
    document = browser.get(f"{link}/documents/d1", timeout=10)
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
    agreed = browser.post(f"{link}/agree", data={}, timeout=10)
    assert agreed.status_code == 200 and "同意が完了しました" in agreed.text
    sender.wait_for(envelope_id, "completed")
    # The English switch keeps working on the finished link
    assert 'lang="en"' in browser.get(link, params={"lang": "en"}, timeout=10).text


def link_path(link: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(link).path


# --- reminders and the mails themselves -------------------------------------------------------------


def test_a_reminder_mails_a_fresh_link_and_the_old_one_stops_working(runtime, sender, nda):
    title = "秘密保持契約書（リマインド）"
    envelope_id = start(sender, nda, title, ICHIRO)
    old = Recipient(link_in(wait_for_mail(runtime, ICHIRO.email, title)[0]))
    sender.remind(envelope_id)
    reminder = wait_for_mail(runtime, ICHIRO.email, title, 2)[1]
    assert reminder.subject.startswith("【リマインド】")
    with pytest.raises(ApiError) as dead:
        old.open()
    assert dead.value.code == "link_invalid"
    fresh = Recipient(link_in(reminder))
    fresh.open()
    fresh.agree()
    sender.wait_for(envelope_id, "completed")


def test_each_mail_goes_to_the_right_people_in_their_language_with_links_that_work(runtime, sender, nda):
    title = "共同研究契約書（メール）"
    envelope_id = start(sender, nda, title, ICHIRO, ALICE)
    agree(runtime, ICHIRO, title)
    agree(runtime, ALICE, title)
    sender.wait_for(envelope_id, "completed")
    wait_for_mail(runtime, ALICE.email, title, 2)
    mails = [m for m in runtime.outbox.mails() if title in m.subject + m.text]
    by_person = {(m.to[0], m.language, m.subject) for m in mails}
    assert by_person == {
        (ICHIRO.email, "ja", f"【山田太郎】様より{title}への署名依頼が届いています"),
        (ALICE.email, "en", f"Signature request from 山田太郎: {title}"),
        (SENDER_EMAIL, "ja", next(m.subject for m in mails if m.to == [SENDER_EMAIL])),
        (
            ICHIRO.email,
            "ja",
            next(m.subject for m in mails if m.to == [ICHIRO.email] and "完了" in m.subject),
        ),
        (
            ALICE.email,
            "en",
            next(m.subject for m in mails if m.to == [ALICE.email] and "request" not in m.subject),
        ),
    }
    for mail in mails:
        assert mail.from_.endswith("<noreply@sign.tachiai.example>")
        assert mail.links and all(link.startswith(runtime.url) for link in mail.links)
        # every link a mail carries opens something (a page, a document, the certificate)
        for link in mail.links:
            response = requests.get(link, timeout=10)
            assert response.status_code == 200, (mail.subject, link, response.status_code)
    completion = [m for m in mails if "完了" in m.subject or "Completed" in m.subject]
    assert {m.to[0] for m in completion} == {SENDER_EMAIL, ICHIRO.email, ALICE.email}
    # each party has their own download link
    assert len({link_in(m) for m in completion}) == 3


def test_a_large_document_is_uploaded_with_the_presigned_post_and_then_sent(runtime, sender, nda):
    title = "業務委託基本契約書（アップロード）"
    session = sender.session
    request = {
        "title": title,
        "participants": [ICHIRO.request()],
        "documents": [{"name": "基本契約書.pdf"}],
    }
    created = session.post(f"{runtime.url}/v1/envelopes", json=request, timeout=10).json()
    # Sending before the upload is refused, naming the document
    with pytest.raises(ApiError) as early:
        sender.send(created["id"])
    assert early.value.status == 400 and early.value.code == "document_not_uploaded"
    assert "基本契約書.pdf" in early.value.body["error"]["message"]["ja"]
    upload = created["uploads"][0]
    answer = requests.post(
        upload["url"],
        data=upload_fields(upload, nda),  # the fields given, and the file's Content-MD5
        files={"file": ("基本契約書.pdf", nda, "application/pdf")},
        timeout=10,
    )
    assert answer.status_code in (200, 204), answer.text
    sender.send(created["id"])
    envelope = sender.get(created["id"])
    assert envelope["status"] in ("sent", "in_progress")
    assert envelope["documents"][0]["original_sha256"] == hashlib.sha256(nda).hexdigest()
    agree(runtime, ICHIRO, title)
    sender.wait_for(created["id"], "completed")


def test_an_api_integration_sends_with_client_credentials_and_its_notices_go_to_the_integration_email(
    runtime, nda
):
    # Given the company's own system holding a client-credentials token (scopes read + write)
    from tachiai.local.runtime import INTEGRATION_EMAIL

    integration = SenderClient(runtime.url, runtime.integration_token("erp-system"))
    title = "売買契約書（システム連携）"
    # When it sends an envelope and the party agrees
    envelope_id = start(integration, nda, title, ICHIRO)
    agree(runtime, ICHIRO, title)
    envelope = integration.wait_for(envelope_id, "completed")
    # Then the envelope is the integration's, and its completion notice reached the integration email
    assert envelope["sender"]["email"] == INTEGRATION_EMAIL
    assert [e["id"] for e in integration.list_envelopes()["envelopes"]] == [envelope_id]
    wait_for_mail(runtime, INTEGRATION_EMAIL, title)
    # And a read-only integration token cannot send
    reader = runtime.tokens.issue_integration("reporting", scopes=["tachiai-api/envelopes.read"])  # type: ignore[union-attr]
    refused = requests.post(
        f"{runtime.url}/v1/envelopes/{envelope_id}/remind",
        headers={"Authorization": f"Bearer {reader}"},
        timeout=10,
    )
    assert refused.status_code == 401
