"""L1–L4: the contract ledger over the local runtime, as a sender uses it over HTTP.

Extraction after Finalize (the chain's Extract step), corrections kept with their history, imports
timestamped on arrival and extracted, and search over what the ledger holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator

import pytest
import requests
from asn1crypto import cms, tsp
from tachiai.cli import main
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
    answered = response.json()
    assert answered["origin"] == "imported" and answered["status"] == "completed"
    # Answered before the extraction ran (issue 13: it runs from a queued event, not in the request).
    assert answered["metadata_status"] == "extracting"
    imported = _wait(lambda: (e := sender.get(answered["id"]))["metadata_status"] != "extracting" and e)
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
    envelope_id = response.json()["id"]
    extracted = _wait(lambda: (e := sender.get(envelope_id))["metadata_status"] != "extracting" and e)
    assert extracted["metadata_status"] == "extracted"
    assert extracted["metadata"]["amount"] == 1
    assert set(extracted["corrected_fields"]) == {"amount", "currency"}


def test_reading_a_contract_again_is_refused_once_its_extraction_succeeded(sender):
    response = _session(sender).post(
        f"{sender.base_url}/v1/imports",
        json={
            "title": "業務委託契約書（再読取）",
            "file_name": "itaku.pdf",
            "content_base64": base64.b64encode(contract_pdf("ja_01_gyomu_itaku")).decode(),
        },
        timeout=60,
    )
    envelope_id = response.json()["id"]
    _wait(lambda: sender.get(envelope_id)["metadata_status"] == "extracted")

    again = _session(sender).post(
        f"{sender.base_url}/v1/envelopes/{envelope_id}/metadata/extract", timeout=10
    )

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "extraction_not_retryable"


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
    assert response.json()["error"]["code"] == "not_pdf"


# --- search over HTTP -----------------------------------------------------------------------------


def test_search_combines_date_range_counterparty_and_title(sender, completed_nda):
    def ids(**params: str) -> list[str]:
        response = _session(sender).get(f"{sender.base_url}/v1/envelopes", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return [c["envelope_id"] for c in response.json()["contracts"]]

    sender.correct_metadata(completed_nda, {"amount": 450000, "currency": "JPY"})  # as the test above did
    assert completed_nda in ids(counterparty="ＴＡＫＡＨＡＳＨＩ") or completed_nda in ids(
        counterparty="髙橋﨑"
    )
    assert completed_nda in ids(date_from="2026-04-01", date_to="2026-04-01", counterparty="立会")
    assert completed_nda not in ids(date_from="2026-04-02", counterparty="立会")
    assert completed_nda in ids(title="台帳", amount_min="400000", amount_max="500000")
    assert completed_nda not in ids(title="台帳", amount_min="500001")


# --- the command line: tachiai import / search -----------------------------------------------------


@pytest.fixture
def cli_env(runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACHIAI_URL", runtime.url)
    monkeypatch.setenv("TACHIAI_TOKEN", runtime.token(SENDER_EMAIL, "契約 担当"))
    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")  # the CLI's words asserted below, whatever the host's locale


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_tachiai_import_adds_a_pdf_with_what_the_importer_knows(cli_env, tmp_path, capsys):
    path = tmp_path / "Bluefin services agreement.pdf"
    path.write_bytes(contract_pdf("en_02_services_agreement"))
    status, out, err = _run(
        capsys, "import", str(path), "--metadata", '{"amount": 135000, "currency": "USD"}', "--json"
    )
    assert status == 0, err
    imported = json.loads(out)
    assert imported["title"] == "Bluefin services agreement"  # the file name without .pdf
    assert imported["origin"] == "imported" and imported["metadata_status"] == "extracted"
    assert imported["metadata"]["amount"] == 135000  # given, kept over the extracted 120000
    assert imported["metadata"]["parties"] == expected("en_02_services_agreement")["parties"]
    arrival = next(e for e in imported["events"] if e["kind"] == "envelope.imported")
    assert arrival["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_tachiai_search_prints_the_ledger_as_a_table_csv_or_json(cli_env, tmp_path, capsys, monkeypatch):
    path = tmp_path / "kaiun.pdf"
    path.write_bytes(contract_pdf("en_03_software_license"))
    status, out, err = _run(capsys, "import", str(path), "--title", "ソフトウェア使用許諾契約書（CLI）")
    assert status == 0, err
    assert "imported:" in out and "timestamped:" in out and "Aurora Data Systems GmbH" in out

    conditions = ["--counterparty", "aurora data", "--from", "2023-07-01", "--to", "2023-07-01"]
    status, out, err = _run(capsys, "search", *conditions, "--format", "json")
    assert status == 0, err
    found = json.loads(out)["contracts"]
    assert [c["title"] for c in found] == ["ソフトウェア使用許諾契約書（CLI）"]

    with monkeypatch.context() as japanese:
        japanese.setenv("TACHIAI_LANGUAGE", "ja")  # the table speaks the terminal's language
        status, out, _ = _run(capsys, "search", *conditions)
    header, rule, row = out.splitlines()[:3]
    assert header.startswith("取引日") and set(rule) <= {"-", " "}
    assert row.startswith("2023-07-01") and "Aurora Data Systems GmbH" in row
    # The columns line up in a terminal: wide characters count twice
    from tachiai.ledger_listing import display_width

    assert display_width(header[: header.index("件名")]) == display_width(row[: row.index("ソフト")])

    status, _, err = _run(capsys, "search", *conditions, "--format", "csv", "-o", str(tmp_path / "l.csv"))
    assert status == 0 and "1 contracts written" in err
    written = (tmp_path / "l.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf")  # so a spreadsheet reads the Japanese as UTF-8
    lines = written.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("envelope_id,title,transaction_date,counterparties,amount")
    assert "ソフトウェア使用許諾契約書（CLI）" in lines[1] and len(lines) == 2

    # No condition at all: the whole ledger, one page at a time
    status, out, _ = _run(capsys, "search", "--limit", "1", "--format", "json")
    page = json.loads(out)
    assert status == 0 and len(page["contracts"]) == 1 and page["cursor"]
    status, out, _ = _run(capsys, "search", "--all", "--format", "json")
    assert len(json.loads(out)["contracts"]) >= 3


def test_tachiai_search_and_import_say_what_is_missing_or_refused(cli_env, tmp_path, capsys, monkeypatch):
    status, _, err = _run(capsys, "search", "--amount-min", "10", "--amount-max", "1")
    assert status == 2 and "invalid_request" in err
    text = tmp_path / "memo.pdf"
    text.write_text("not a pdf")
    status, _, err = _run(capsys, "import", str(text))
    assert status == 2 and "not_pdf" in err
    status, _, err = _run(capsys, "import", str(text), "--metadata", '{"amount": -1}')
    assert status == 2 and "metadata.amount" in err  # where the problem is
    status, _, err = _run(capsys, "import", str(text), "--metadata", "[1]")
    assert status == 2 and "JSON object" in err
    monkeypatch.delenv("TACHIAI_URL")
    status, _, err = _run(capsys, "search")
    assert status == 2 and "TACHIAI_URL" in err


# --- deadline alerts, locally ------------------------------------------------------------------------


def test_the_local_alerts_job_mails_the_owner_before_an_expiry_once(runtime, sender, capsys):
    # A contract ending far enough ahead that no other contract of this runtime is due near it
    imported = sender.import_contract(
        "保守契約書（期限通知）",
        "hoshu.pdf",
        contract_pdf("ja_01_gyomu_itaku"),
        {"end_date": "2041-03-31", "auto_renewal": False, "notice_period": None, "notice_deadline": None},
    )

    def alerts() -> list[str]:
        return [m.subject for m in runtime.outbox.to(SENDER_EMAIL) if m.subject.startswith("【期限通知】")]

    before = len(alerts())
    response = requests.post(f"{runtime.url}/_local/alerts", params={"today": "2041-03-26"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == {"date": "2041-03-26", "sent": [f"{imported['id']}#end#2041-03-31#7"]}
    assert alerts()[before:] == ["【期限通知】「保守契約書（期限通知）」の契約期間の満了日まであと5日です"]
    # The same day again (here through the command line): nothing twice
    status, out, err = _run(capsys, "local", "alerts", "--url", runtime.url, "--today", "2041-03-26")
    assert status == 0, err
    assert "0 alert(s) sent" in out
    assert len(alerts()) == before + 1


def test_the_local_alerts_endpoint_refuses_a_bad_day_and_a_get(runtime):
    assert (
        requests.post(f"{runtime.url}/_local/alerts", params={"today": "tomorrow"}, timeout=10).status_code
        == 400
    )
    assert requests.get(f"{runtime.url}/_local/alerts", timeout=10).status_code == 405


# --- a large scan: imported through the presigned upload ------------------------------------------


def _scan_pdf(name: str) -> bytes:
    """The contract's pages plus a page of noise: over 4 MiB, as a scanned contract easily is."""
    import io
    import random

    from fpdf import FPDF
    from PIL import Image
    from pypdf import PdfReader, PdfWriter

    rng = random.Random(7)
    noise = Image.frombytes("RGB", (1300, 1300), bytes(rng.getrandbits(8) for _ in range(1300 * 1300 * 3)))
    scan = FPDF()
    scan.add_page()
    scan.image(noise, x=10, y=10, w=190)
    writer = PdfWriter()
    for source in (contract_pdf(name), bytes(scan.output())):
        for page in PdfReader(io.BytesIO(source)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_scan_over_4_mib_is_imported_through_the_upload_url(runtime, cli_env, tmp_path, capsys):
    path = tmp_path / "業務委託契約書（スキャン）.pdf"
    path.write_bytes(_scan_pdf("ja_01_gyomu_itaku"))
    assert path.stat().st_size > 4 * 1024 * 1024
    status, out, err = _run(capsys, "import", str(path), "--json")
    assert status == 0, err
    imported = json.loads(out)
    assert imported["status"] == "completed" and imported["metadata_status"] == "extracted"
    assert imported["metadata"]["contract_date"] == expected("ja_01_gyomu_itaku")["contract_date"]
    assert imported["documents"][0]["size"] == path.stat().st_size
    kinds = [e["kind"] for e in imported["events"]]
    assert kinds[:2] == ["envelope.import_started", "envelope.imported"]
    s3 = runtime.aws.client("s3")  # type: ignore[union-attr]
    stored = s3.get_object(Bucket=BUCKET, Key=f"envelopes/{imported['id']}/documents/d1/original.pdf")
    assert stored["Body"].read() == path.read_bytes()


def test_an_import_is_completed_only_once_something_that_is_a_pdf_was_uploaded(sender):
    created = _session(sender).post(
        f"{sender.base_url}/v1/imports",
        json={"title": "売買基本契約書", "file_name": "baibai.pdf"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    # The upload lands on a key of its own (never where the import's file is kept)
    upload_key = draft["upload"]["fields"]["key"]
    assert draft["status"] == "draft" and f"/{draft['id']}/uploads/d1/" in upload_key
    complete = f"{sender.base_url}/v1/imports/{draft['id']}/complete"
    early = _session(sender).post(complete, timeout=10)
    assert early.status_code == 400 and early.json()["error"]["code"] == "document_not_uploaded"
    sender.upload(draft["upload"], "baibai.pdf", b"GIF89a not a contract")
    refused = _session(sender).post(complete, timeout=30)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "not_pdf"
    assert sender.get(draft["id"])["status"] == "draft"  # nothing was received
    sender.upload(draft["upload"], "baibai.pdf", contract_pdf("ja_01_gyomu_itaku"))
    done = _session(sender).post(complete, timeout=30)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    again = _session(sender).post(complete, timeout=30)  # completing twice answers the completed import
    assert again.status_code == 200 and again.json()["documents"] == done.json()["documents"]
    # The upload URL is still valid for a while: what it takes now never becomes the import's file
    sender.upload(draft["upload"], "baibai.pdf", contract_pdf("ja_02_himitsu_hoji"))
    served = requests.get(sender.downloads(draft["id"])[0]["url"], timeout=10).content
    assert hashlib.sha256(served).hexdigest() == done.json()["documents"][0]["current_sha256"]
    assert _session(sender).post(complete, timeout=30).json()["documents"] == done.json()["documents"]


def test_words_anywhere_in_a_signed_contract_find_it(sender, completed_nda, cli_env, capsys):
    found = sender.search({"text": "秘密情報の定義"})["contracts"]
    assert completed_nda in [c["envelope_id"] for c in found]
    assert completed_nda not in [
        c["envelope_id"] for c in sender.search({"text": "反社会的勢力"})["contracts"]
    ]
    status, out, err = _run(
        capsys, "search", "--text", "秘密情報 の 定義", "--title", "台帳", "--format", "json"
    )
    assert status == 0, err
    assert [c["envelope_id"] for c in json.loads(out)["contracts"]] == [completed_nda]


# --- export all before leaving (L5) ----------------------------------------------------------------


def test_tachiai_export_copies_every_contract_with_its_evidence_and_goes_on_after_an_interruption(
    runtime, sender, completed_nda, cli_env, tmp_path, capsys
):
    imported = sender.import_contract("輸出用の取込契約", "export.pdf", contract_pdf("ja_02_himitsu_hoji"))
    out = tmp_path / "export"
    status, printed, err = _run(capsys, "export", str(out))
    assert status == 0, err
    contracts = list(sender.search_all({}))
    assert f"exported {len(contracts)} contracts" in printed
    ledger_rows = (out / "ledger.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(ledger_rows) == len(contracts) + 1
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = {c["envelope_id"]: {f["name"]: f for f in c["files"]} for c in manifest["contracts"]}

    # The signed contract: its finished PDF exactly as stored, the certificate, the audit trail
    s3 = runtime.aws.client("s3")  # type: ignore[union-attr]
    final = s3.get_object(Bucket=BUCKET, Key=f"envelopes/{completed_nda}/documents/d1/final.pdf")[
        "Body"
    ].read()
    assert (out / completed_nda / "秘密保持契約書.pdf").read_bytes() == final
    assert files[completed_nda]["秘密保持契約書.pdf"]["sha256"] == hashlib.sha256(final).hexdigest()
    assert (out / completed_nda / "合意締結証明書.pdf").read_bytes().startswith(b"%PDF-")
    trail = json.loads((out / completed_nda / "envelope.json").read_text(encoding="utf-8"))["events"]
    assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1))
    # The import: the file as it arrived and its RFC 3161 token
    token = (out / imported["id"] / "export.pdf.tsr").read_bytes()
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    arrived = (out / imported["id"] / "export.pdf").read_bytes()
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(arrived).digest()

    # Interrupted and run again: nothing is downloaded twice, a damaged copy is fetched again
    (out / completed_nda / "秘密保持契約書.pdf").write_bytes(b"half a file")
    status, printed, _ = _run(capsys, "export", str(out))
    total = sum(len(f) for f in files.values())
    assert status == 0 and f"{total - 1} already there" in printed
    assert (out / completed_nda / "秘密保持契約書.pdf").read_bytes() == final


def test_tachiai_export_names_a_file_that_is_not_the_one_the_envelope_records(
    runtime, completed_nda, cli_env, tmp_path, capsys
):
    s3 = runtime.aws.client("s3")  # type: ignore[union-attr]
    key = f"envelopes/{completed_nda}/documents/d1/final.pdf"
    final = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=final + b"%changed")
    try:
        status, _, err = _run(capsys, "export", str(tmp_path / "export"))
    finally:
        s3.put_object(Bucket=BUCKET, Key=key, Body=final)  # the newest version is the sealed one again
    # The service refuses to hand the file out, the export says which and goes on; nothing is written
    # that could pass for the signed file.
    assert status == 1
    refused = next(line for line in err.splitlines() if "NOT the file the envelope records" in line)
    assert completed_nda in refused and "秘密保持契約書.pdf" in refused
    assert not (tmp_path / "export" / completed_nda / "秘密保持契約書.pdf").exists()
