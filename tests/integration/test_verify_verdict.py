"""E5 / Evidence rules: the verdict is never kinder than the truth.

`tachiai verify` and `Sealer.finalize` decide with one function (`VerificationReport.judge`): a
stranger's signature, a wrong root, a missing --trust, a change after a signature, or a signer other
than the expected seal each give a non-zero exit and a headline that says which signature and why.
Every input gets a panel or one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import pem
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from tachiai.domain.errors import SealValidationFailed
from tachiai.sealing.preflight import preflight
from tachiai.sealing.verify import Verdict, format_panel, verify_pdf

from tests.command import tachiai
from tests.fixtures.events import event
from tests.fixtures.odd_pdfs import corpus_identity, make_throwaway_identity, odd_pdf
from tests.fixtures.pdfs import simple_pdf

# A stranger copies our reason wording and our field naming.
FORGED_REASON = (
    "山田太郎 (taro@example.com) が 2026-11-22 10:15:03 +09:00 に承認しました（メール認証＋アクセスコード）"
)


def _pem(certificate) -> bytes:
    return bytes(pem.armor("CERTIFICATE", certificate.dump()))


def _sign_as(pdf: bytes, identity, field_name: str, reason: str | None = None) -> bytes:
    metadata = signers.PdfSignatureMetadata(field_name=field_name, reason=reason)
    signer = signers.PdfSigner(metadata, signer=identity.signer)
    return bytes(signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf))).getvalue())


def _add_note(pdf: bytes) -> bytes:
    """An incremental update that adds a sticky note to page 1: a change, not a signature."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    note = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Text"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (400, 700, 420, 720)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("amount changed to 9,000,000"),
            }
        )
    )
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    writer.register_annotation(page_ref, note)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _fill_field(pdf: bytes, name: str, value: str) -> bytes:
    """An incremental update that changes the value of the text field ``name``."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") == name:
            field[generic.NameObject("/V")] = generic.TextStringObject(value)
            writer.mark_update(ref)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def files(kit, tmp_path_factory) -> dict[str, Path]:
    """A sealed + finalized contract, the same with a stranger's signature appended, the test root,
    the seal certificate, a wrong root and the stranger's certificate."""
    work = tmp_path_factory.mktemp("verdict")
    seal = kit.sealer.seal_event(simple_pdf(), event())
    sealed = kit.sealer.finalize(seal)
    # Without the completion lock, so that who signed and trust are what decide, not the lock
    unlocked = kit.sealer.finalize(seal, lock=False)
    stranger = make_throwaway_identity("Mallory")
    paths = {
        "sealed": sealed,
        "stranger": _sign_as(unlocked, stranger, "TachiaiSeal3", FORGED_REASON),
        "stranger_after_completion": _sign_as(sealed, stranger, "TachiaiSeal9", FORGED_REASON),
        "noted": _add_note(sealed),
        "root": _pem(kit.pki.root_cert),
        "seal": _pem(kit.pki.seal_cert),
        "wrong_root": _pem(make_throwaway_identity("Wrong Root CA").certificate),
        "stranger_cert": _pem(stranger.certificate),
        "unsigned": simple_pdf(),
        "signed_elsewhere": odd_pdf("already_signed_approval").data,
    }
    out = {}
    for name, data in paths.items():
        out[name] = (
            work / f"{name}.{'pem' if name in ('root', 'seal', 'wrong_root', 'stranger_cert') else 'pdf'}"
        )
        out[name].write_bytes(data)
    return out


# --- who signed, and trust ------------------------------------------------------------------------


def test_a_strangers_signature_named_like_a_seal_is_not_valid(files):
    # Given a sealed contract to which a stranger appended "TachiaiSeal3" with our reason wording
    result = tachiai("verify", str(files["stranger"]), "--trust", str(files["root"]))
    # Then the verdict is untrusted (3), names the signature and the signer, and never says valid
    assert result.returncode == 3, result.stdout
    headline = result.stdout.splitlines()[:3]
    assert "NOT trusted" in headline[0]
    assert "TachiaiSeal3: signed by Mallory, which does NOT chain to the trusted roots" in headline[1]
    assert "すべての署名が有効です" not in result.stdout
    assert "Traceback" not in result.stderr


def test_a_strangers_signature_after_completion_breaks_the_completion_lock(files):
    # Given a completed (locked) contract to which a stranger appended a signature
    result = tachiai("verify", str(files["stranger_after_completion"]), "--trust", str(files["root"]))
    # Then the verdict is invalid (1): the document was changed after the completion seal locked it
    assert result.returncode == 1, result.stdout
    assert "changed after" in result.stdout.splitlines()[0]
    assert "すべての署名が有効です" not in result.stdout


def test_with_seal_cert_a_trusted_signer_other_than_the_seal_is_named(files):
    # Given the stranger's certificate is even trusted, but only our seal may sign
    result = tachiai(
        "verify",
        str(files["stranger"]),
        "--trust",
        str(files["root"]),
        "--trust",
        str(files["stranger_cert"]),
        "--seal-cert",
        str(files["seal"]),
    )
    # Then the verdict is 3 and says who signed instead of the seal
    assert result.returncode == 3, result.stdout
    assert "TachiaiSeal3: signed by Mallory, NOT by the expected seal certificate" in result.stdout
    assert "by the seal:        NO" in result.stdout


def test_with_seal_cert_our_own_sealed_contract_is_valid(files):
    result = tachiai(
        "verify", str(files["sealed"]), "--trust", str(files["root"]), "--seal-cert", str(files["seal"])
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("Signed and all signatures are valid.")  # the terminal's language (C: en)
    assert "by the seal:        yes" in result.stdout


def test_the_wrong_root_is_untrusted_not_valid(files):
    result = tachiai("verify", str(files["sealed"]), "--trust", str(files["wrong_root"]))
    assert result.returncode == 3, result.stdout
    assert "NOT trusted" in result.stdout.splitlines()[0]
    assert "TachiaiSeal1: signed by tachiai Local Test Seal" in result.stdout
    assert "TachiaiDocumentTimestamp: document timestamp by tachiai Local Test Time Stamping Authority" in (
        result.stdout
    )


def test_without_trust_the_verdict_is_never_valid_and_says_to_pass_trust(files):
    result = tachiai("verify", str(files["sealed"]))
    assert result.returncode == 3, result.stdout
    assert "pass --trust ROOT.pem" in result.stdout.splitlines()[0]
    assert "Signed and all signatures are valid" not in result.stdout


# --- changes after a signature ------------------------------------------------------------------


def test_a_change_after_the_last_signature_says_intact_but_changed_and_exits_1(files):
    # Given a sticky note added after the document timestamp
    result = tachiai("verify", str(files["noted"]), "--trust", str(files["root"]))
    # Then exit 1, and the headline says what is true: intact, but changed after signing
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert "The signatures are intact, but the document was changed after signing." in lines[0]
    assert "At least one signature is INVALID" not in result.stdout
    assert (
        "  - TachiaiDocumentTimestamp: intact, but the document was changed after the last signature: "
        in (result.stdout)
    )
    assert "intact:             yes" in result.stdout
    assert "Changed after the last signature: YES" in result.stdout


def test_a_form_field_filled_between_seals_is_named(kit):
    # Given a form sealed, then a field changed, then sealed again
    form = preflight(odd_pdf("acroform_text_fields").data).pdf
    first = kit.sealer.seal_event(form, event())
    second = kit.sealer.seal_event(_fill_field(first, "party_a", "Mallory"), event())
    # When verified
    report = verify_pdf(second, [kit.pki.root_cert])
    judgement = report.judge()
    # Then the first seal is intact but the change after it is named, and the verdict is invalid
    assert judgement.verdict is Verdict.INVALID
    (reason,) = judgement.reasons
    assert reason.code == "changed_after" and reason.field_name == report.signatures[0].field_name
    assert report.signatures[0].intact and "form field(s) changed: party_a" in reason.en


# --- JSON -----------------------------------------------------------------------------------------


def test_json_carries_the_verdict_exit_code_and_per_signature_reasons(files):
    result = tachiai("verify", str(files["stranger"]), "--trust", str(files["root"]), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 3
    assert report["verdict"] == "incomplete" and report["exit_code"] == 3 and report["ok"] is False
    assert report["exit_meaning"]["en"].startswith("untrusted or incomplete")
    assert report["headline"]["en"] and report["headline"]["ja"]
    assert [(r["field"], r["code"]) for r in report["reasons"]] == [("TachiaiSeal3", "untrusted")]
    by_field = {s["field_name"]: s for s in report["signatures"]}
    assert by_field["TachiaiSeal1"]["findings"] == []
    assert [f["code"] for f in by_field["TachiaiSeal3"]["findings"]] == ["untrusted"]


def test_json_of_a_valid_file_says_valid_and_exit_0(files):
    result = tachiai("verify", str(files["sealed"]), "--trust", str(files["root"]), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["verdict"] == "valid" and report["exit_code"] == 0 and report["reasons"] == []


# --- every input gets a panel or one line ---------------------------------------------------------


def test_an_unsigned_pdf_gets_a_panel_saying_it_has_no_signatures(files):
    result = tachiai("verify", str(files["unsigned"]), "--trust", str(files["root"]))
    assert result.returncode == 3
    assert result.stdout.startswith("The document has no signatures.")
    assert "Traceback" not in result.stderr and result.stderr == ""


def test_a_pdf_signed_elsewhere_without_a_dss_gets_a_panel(files):
    # Given a file signed by another tool, with no DSS (validation data) at all
    result = tachiai("verify", str(files["signed_elsewhere"]), "--trust", str(files["root"]))
    # Then its signature is reported (intact, valid, not trusted), never a traceback
    assert result.returncode == 3, result.stderr
    assert "Approver: signed by tachiai odd-pdf corpus (throwaway)" in result.stdout
    assert "intact:             yes" in result.stdout and "valid:              yes" in result.stdout
    assert result.stderr == ""


def test_a_closed_output_pipe_is_quiet_and_keeps_the_verdict(files):
    # Given a reader that went away before anything was written (`tachiai verify x.pdf | head -0`)
    process = subprocess.Popen(
        [sys.executable, "-m", "tachiai.cli", "verify", str(files["sealed"]), "--trust", str(files["root"])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    # Then no traceback nor "Exception ignored", and the exit status is still the verdict
    assert process.wait(timeout=120) == 0, stderr
    assert stderr == ""


def test_a_bad_flag_is_a_usage_line_and_exit_2():
    result = tachiai("verify", "--no-such-flag", "x.pdf")
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_a_directory_instead_of_a_file_is_one_line(tmp_path):
    result = tachiai("verify", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: cannot read {tmp_path}: Is a directory"


def test_an_unreadable_trust_file_is_one_line(files):
    result = tachiai("verify", str(files["sealed"]), "--trust", str(files["sealed"]))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "unreadable certificate" in result.stderr


def test_a_missing_aws_region_is_one_line_saying_what_to_set(tmp_path):
    environment = {
        k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")
    }
    environment["AWS_CONFIG_FILE"] = str(tmp_path / "no-config")
    result = tachiai("keys", "csr", "--key-id", "alias/seal", "--subject", "CN=x", env=environment)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=ap-northeast-1"
    )


def test_an_unexpected_failure_is_one_line_and_the_traceback_only_with_verbose(monkeypatch, capsys, files):
    from tachiai import cli
    from tachiai.sealing import verify

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(verify, "verify_pdf", broken)
    assert cli.main(["verify", str(files["sealed"])]) == 2
    quiet = capsys.readouterr().err
    assert quiet.splitlines()[0] == "error: unexpected RuntimeError: boom"
    assert "Traceback" not in quiet
    assert cli.main(["verify", str(files["sealed"]), "--verbose"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_verify_help_documents_the_exit_codes():
    result = tachiai("verify", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for line in ("0 valid:", "1 invalid:", "2 could not verify:", "3 untrusted or incomplete:"):
        assert line in text


# --- the same verdict inside the service: finalize ------------------------------------------------


def test_finalize_accepts_a_pdf_signed_elsewhere_and_keeps_that_signature_intact(kit):
    # Given a PDF another party signed before upload, accepted by preflight and sealed twice
    uploaded = preflight(odd_pdf("already_signed_approval").data).pdf
    sealed = kit.sealer.seal_event(kit.sealer.seal_event(uploaded, event()), event())
    # When it is finalized
    finalized = kit.sealer.finalize(sealed)
    # Then the other party's signature is intact and valid, and reported as what it is
    report = verify_pdf(finalized, [kit.pki.root_cert], seal_certificates=[kit.pki.seal_cert])
    approver, *ours = report.signatures
    assert approver.field_name == "Approver" and approver.intact and approver.valid
    assert approver.by_seal is False and approver.signer == "tachiai odd-pdf corpus (throwaway)"
    assert all(s.trusted and s.ltv for s in ours)
    assert all(s.by_seal for s in ours if s.kind == "signature") and ours[-1].kind == "document_timestamp"
    accepted = report.judge(accept_earlier_signers=True)
    assert accepted.verdict is Verdict.VALID
    assert [f.code for f in accepted.for_signature("Approver")] == ["other_signer"]
    # And `tachiai verify --seal-cert` (tachiai seals only) names it as a foreign signature
    strict = report.judge()
    assert strict.verdict is Verdict.INCOMPLETE
    assert [(f.field_name, f.code) for f in strict.reasons] == [
        ("Approver", "not_by_seal"),
        ("Approver", "untrusted"),
    ]
    assert "by the seal:        NO" in format_panel(report)


def test_finalize_refuses_a_strangers_signature_after_a_seal(kit):
    # Given a stranger signed after our first seal (not part of the uploaded document)
    sealed = kit.sealer.seal_event(simple_pdf(), event())
    tampered = _sign_as(sealed, corpus_identity(), "TachiaiSeal2", FORGED_REASON)
    # Then finalize refuses, naming the signature
    with pytest.raises(SealValidationFailed) as raised:
        kit.sealer.finalize(tampered)
    assert "TachiaiSeal2: signed by tachiai odd-pdf corpus (throwaway), NOT by the expected seal" in str(
        raised.value.detail
    )


def test_finalize_refuses_a_form_changed_after_a_seal(kit):
    # Given a form field changed between two seals (a later seal signs the changed document)
    form = preflight(odd_pdf("acroform_text_fields").data).pdf
    first = kit.sealer.seal_event(form, event())
    second = kit.sealer.seal_event(_fill_field(first, "party_a", "Mallory"), event())
    # Then finalize refuses: what the first party agreed to is not what is in the file
    with pytest.raises(SealValidationFailed) as raised:
        kit.sealer.finalize(second)
    first_seal = verify_pdf(first).signatures[0].field_name
    assert f"{first_seal}: intact, but the document was changed after it: form field(s) changed: party_a" in (
        raised.value.detail
    )


def test_a_strangers_reason_and_name_reach_the_panel_without_control_characters(kit):
    # Given a stranger whose certificate name and reason carry terminal escapes and an RTL override
    stranger = make_throwaway_identity("Mallory\x1b[2J")
    sealed = kit.sealer.finalize(kit.sealer.seal_event(simple_pdf(), event()))
    forged = _sign_as(sealed, stranger, "Tachiai\x07Seal9", "approved\u202e\x1b]0;pwned\x07 by us\u2028")
    # When the panel is printed
    panel = format_panel(verify_pdf(forged, [kit.pki.root_cert]))
    # Then nothing in it can move the cursor, ring the bell or reverse the text
    assert not any(ch in panel for ch in ("\x1b", "\x07", "\u202e", "\u2028")), repr(panel)
    assert "Mallory" in panel and "by us" in panel
