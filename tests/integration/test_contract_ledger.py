"""L1–L4: the contract ledger over the local runtime, as a sender uses it over HTTP.

Extraction after Finalize (the chain's Extract step), corrections kept with their history, imports
timestamped on arrival and extracted, and search over what the ledger holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
import requests
from asn1crypto import cms, tsp
from tachiai.local.client import Party, Recipient, SenderClient
from tachiai.local.runtime import BUCKET, LocalRuntime
from tachiai.local.samples import sample_nda_pdf

from tests.fixtures.contracts import contract_pdf, expected

SENDER_EMAIL = "keiyaku@tachiai-tech.example"
ICHIRO = Party("髙橋一郎", "ichiro@takahashizaki.example", "髙橋﨑商事株式会社")
SIGNED_ON = dt.date(2026, 4, 1)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("ledger")) as running:
        yield running


@pytest.fixture(scope="module")
def sender(runtime: LocalRuntime) -> SenderClient:
    return SenderClient(runtime.url, runtime.token(SENDER_EMAIL, "契約 担当"))


@pytest.fixture(scope="module")
def completed_nda(runtime: LocalRuntime, sender: SenderClient) -> str:
    """One NDA dated 令和8年4月1日, sent and agreed: the ledger's first contract."""
    nda = sample_nda_pdf(date=SIGNED_ON)
    created = sender.create("秘密保持契約書（台帳）", [ICHIRO], [("秘密保持契約書.pdf", nda)])
    sender.send(created["id"])
    mail = _wait(lambda: [m for m in runtime.outbox.to(ICHIRO.email) if "台帳" in m.subject])[0]
    link = next(link for link in mail.links if "/s/" in link)
    person = Recipient(link)
    person.open()
    person.agree()
    sender.wait_for(created["id"], "completed")
    # The Extract step runs after Finalize (which completes the envelope), before the completion mails.
    _wait(lambda: sender.get(created["id"])["metadata_status"] != "pending")
    return str(created["id"])


def _wait(probe, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return found


def _session(sender: SenderClient) -> requests.Session:
    return sender.session


# --- the Extract step ---------------------------------------------------------------------------


def test_a_completed_envelope_gets_its_metadata_extracted_after_finalize(sender, completed_nda):
    envelope = sender.get(completed_nda)
    assert envelope["metadata_status"] == "extracted"
    metadata = envelope["metadata"]
    assert metadata["contract_date"] == "2026-04-01"
    assert metadata["parties"] == ["株式会社立会テクノロジー", "髙橋﨑商事株式会社"]
    assert (metadata["start_date"], metadata["end_date"]) == ("2026-04-01", "2027-03-31")
    assert metadata["auto_renewal"] is True
    assert (metadata["notice_period"], metadata["notice_deadline"]) == ("1 months", "2027-02-28")
    kinds = [e["kind"] for e in envelope["events"]]
    assert kinds.index("metadata.extracted") > kinds.index("envelope.completed")


# --- corrections ----------------------------------------------------------------------------------


def test_a_correction_is_kept_with_who_when_old_and_new_and_moves_the_notice_deadline(sender, completed_nda):
    response = _session(sender).patch(
        f"{sender.base_url}/v1/envelopes/{completed_nda}/metadata",
        json={"amount": 450000, "currency": "JPY", "end_date": "2027-06-30"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    envelope = sender.get(completed_nda)
    assert envelope["metadata"]["amount"] == 450000
    assert envelope["metadata"]["notice_deadline"] == "2027-05-30"  # follows the corrected end date
    assert set(envelope["corrected_fields"]) == {"amount", "currency", "end_date"}
    corrections = {e["data"]["field"]: e for e in envelope["events"] if e["kind"] == "metadata.corrected"}
    assert corrections["end_date"]["data"]["old"] == "2027-03-31"
    assert corrections["end_date"]["data"]["new"] == "2027-06-30"
    assert corrections["amount"]["data"] == {
        "field": "amount",
        "old": None,
        "new": "450000",
        "by": SENDER_EMAIL,
    }
    assert corrections["amount"]["actor"] == SENDER_EMAIL and corrections["amount"]["at"]
    assert "notice_deadline" in corrections  # the computed change is audited too


def test_a_correction_of_an_unknown_field_or_a_bad_value_is_refused(sender, completed_nda):
    url = f"{sender.base_url}/v1/envelopes/{completed_nda}/metadata"
    assert _session(sender).patch(url, json={"price": 1}, timeout=10).status_code == 400
    assert _session(sender).patch(url, json={"notice_period": "soon"}, timeout=10).status_code == 400
    assert _session(sender).patch(url, json={}, timeout=10).status_code == 400


# --- import ---------------------------------------------------------------------------------------


def test_an_imported_contract_is_stored_unchanged_timestamped_extracted_and_searchable(runtime, sender):
    pdf = contract_pdf("ja_01_gyomu_itaku")
    gold = expected("ja_01_gyomu_itaku")
    response = _session(sender).post(
        f"{sender.base_url}/v1/imports",
        json={
            "title": "業務委託契約書（紙で締結）",
            "file_name": "業務委託契約書.pdf",
            "content_base64": base64.b64encode(pdf).decode(),
        },
        timeout=60,
    )
    assert response.status_code == 201, response.text
    imported = response.json()
    assert imported["origin"] == "imported" and imported["status"] == "completed"
    assert imported["metadata_status"] == "extracted"
    assert imported["metadata"]["contract_date"] == gold["contract_date"]
    # The stored file is the upload, byte for byte; the token beside it is over exactly those bytes.
    s3 = runtime.aws.client("s3")  # type: ignore[union-attr]
    prefix = f"envelopes/{imported['id']}/documents/d1/"
    stored = s3.get_object(Bucket=BUCKET, Key=prefix + "original.pdf")["Body"].read()
    assert stored == pdf
    token = cms.ContentInfo.load(s3.get_object(Bucket=BUCKET, Key=prefix + "original.tsr")["Body"].read())
    info: tsp.TSTInfo = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(pdf).digest()
    imported_event = next(e for e in sender.get(imported["id"])["events"] if e["kind"] == "envelope.imported")
    assert imported_event["data"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    # And the ledger finds it by its counterparty
    party = gold["parties"][-1]
    found = (
        _session(sender)
        .get(f"{sender.base_url}/v1/envelopes", params={"counterparty": party[2:6]}, timeout=10)
        .json()
    )
    assert imported["id"] in [c["envelope_id"] for c in found["contracts"]]


def test_an_import_keeps_what_the_importer_says_over_the_extraction(sender):
    pdf = contract_pdf("ja_01_gyomu_itaku")
    response = _session(sender).post(
        f"{sender.base_url}/v1/imports",
        json={
            "title": "業務委託契約書（金額訂正）",
            "file_name": "itaku.pdf",
            "content_base64": base64.b64encode(pdf).decode(),
            "metadata": {"amount": 1, "currency": "JPY"},
        },
        timeout=60,
    )
    assert response.status_code == 201, response.text
    assert response.json()["metadata"]["amount"] == 1
    assert set(response.json()["corrected_fields"]) == {"amount", "currency"}


def test_an_import_that_is_not_a_pdf_is_refused(sender):
    response = _session(sender).post(
        f"{sender.base_url}/v1/imports",
        json={
            "title": "x",
            "file_name": "x.pdf",
            "content_base64": base64.b64encode(b"hello world").decode(),
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_document"


# --- search over HTTP -----------------------------------------------------------------------------


def test_search_combines_date_range_counterparty_and_title(sender, completed_nda):
    def ids(**params: str) -> list[str]:
        response = _session(sender).get(f"{sender.base_url}/v1/envelopes", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return [c["envelope_id"] for c in response.json()["contracts"]]

    assert completed_nda in ids(counterparty="ＴＡＫＡＨＡＳＨＩ") or completed_nda in ids(
        counterparty="髙橋﨑"
    )
    assert completed_nda in ids(date_from="2026-04-01", date_to="2026-04-01", counterparty="立会")
    assert completed_nda not in ids(date_from="2026-04-02", counterparty="立会")
    assert completed_nda in ids(title="台帳", amount_min="400000", amount_max="500000")
    assert completed_nda not in ids(title="台帳", amount_min="500001")
