"""E1–E3: witness-type seals with the KMS key, timestamped, LTV, tamper-evident — proven by validators
we did not write (pyhanko's validation, poppler's pdfsig, qpdf)."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.fields import FieldMDPAction, MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from tachiai.domain.errors import PdfTooComplex
from tachiai.domain.events import AuthMethod, EventKind, Person, SealEvent
from tachiai.sealing.incremental import completion_reason
from tachiai.sealing.verify import verify_pdf

from tests.conftest import require_tool
from tests.fixtures.bombs import object_stream_bomb
from tests.fixtures.events import event
from tests.fixtures.pdfs import simple_pdf


@pytest.fixture(scope="module")
def sealed_contract(kit) -> bytes:
    """A 2-page contract sealed for sent + two agreements, then finalized (completion lock + document
    timestamp)."""
    pdf = simple_pdf(pages=2)
    pdf = kit.sealer.seal_event(
        pdf, event(EventKind.SENT, "山田太郎", "taro@example.com", (AuthMethod.SENDER_LOGIN,))
    )
    pdf = kit.sealer.seal_event(pdf, event(EventKind.AGREED, "髙橋一郎", "ichiro@example.jp"))
    pdf = kit.sealer.seal_event(
        pdf,
        event(
            EventKind.AGREED, "山﨑花子", "hanako@example.jp", (AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE)
        ),
    )
    return kit.sealer.finalize(pdf)


def _signatures(pdf: bytes):
    return PdfFileReader(BytesIO(pdf), strict=True).embedded_signatures


def test_each_event_appends_one_signature_and_keeps_earlier_bytes(kit):
    # Given a contract with one seal
    first = kit.sealer.seal_event(simple_pdf(), event(EventKind.SENT))
    # When a second event is sealed
    second = kit.sealer.seal_event(first, event(EventKind.AGREED))
    # Then the first file is an exact prefix of the second and there is exactly one more signature
    assert second.startswith(first)
    assert [s.field_name for s in _signatures(second)] == ["TachiaiSeal1", "TachiaiSeal2"]


def test_seal_is_intact_valid_and_trusted_by_pyhanko(kit):
    sealed = kit.sealer.seal_event(simple_pdf(), event())
    sig = _signatures(sealed)[0]
    status = validate_pdf_signature(
        sig, ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.dump() == kit.pki.seal_cert.dump()


def test_seal_reason_names_person_email_time_zone_and_authentication(kit):
    sealed = kit.sealer.seal_event(
        simple_pdf(),
        event(
            name="山﨑花子", email="hanako@example.jp", auth=(AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE)
        ),
    )
    reason = str(_signatures(sealed)[0].sig_object["/Reason"])
    assert reason.startswith("山﨑花子 (hanako@example.jp) が ")
    assert "+09:00 に承認しました（メール認証＋アクセスコード）" in reason


def test_seal_carries_signature_timestamp_and_dss_validation_data(kit):
    sealed = kit.sealer.seal_event(simple_pdf(), event())
    sig = _signatures(sealed)[0]
    status = validate_pdf_signature(
        sig, ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    )
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    dss = PdfFileReader(BytesIO(sealed)).root["/DSS"]
    assert len(dss["/Certs"]) >= 3 and len(dss["/OCSPs"]) >= 1 and len(dss["/CRLs"]) >= 1


def test_finalized_contract_has_three_seals_a_completion_lock_and_a_document_timestamp(sealed_contract):
    sigs = _signatures(sealed_contract)
    assert [s.sig_object_type for s in sigs] == ["/Sig", "/Sig", "/Sig", "/Sig", "/DocTimeStamp"]
    assert str(sigs[3].sig_object["/Reason"]) == completion_reason()
    assert sigs[3].docmdp_level == MDPPerm.NO_CHANGES
    assert sigs[3].fieldmdp is not None and sigs[3].fieldmdp.action == FieldMDPAction.ALL


def _lta_spec(root) -> PdfSignatureValidationSpec:
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[root]),
                revinfo_policy=CertRevTrustPolicy(revocation_checking_policy=REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(RevinfoOnlineFetchingRule.LOCAL_ONLY),
        )
    )


def test_every_seal_passes_ades_lta_validation_with_fetching_disabled(kit, sealed_contract):
    for sig in _signatures(sealed_contract)[:4]:
        result = asyncio.run(ades_lta_validation(sig, _lta_spec(kit.pki.root_cert)))
        assert result.ades_subindic == AdESPassed.OK, sig.field_name


def test_verify_reports_ltv_complete_and_nothing_changed(kit, sealed_contract):
    report = verify_pdf(sealed_contract, [kit.pki.root_cert])
    assert report.ok and report.ltv_complete and not report.modified_after_last_signature
    assert all(s.trusted for s in report.signatures)
    assert report.signatures[-1].kind == "document_timestamp"


def test_pdfsig_reports_every_signature_valid(tmp_path, sealed_contract):
    # pdfsig (poppler 22.x, NSS) cannot validate document timestamps ("Unimplemented Feature"), and our
    # test root is not in its NSS database; we assert what it can check: each seal's signature value.
    pdfsig = require_tool("pdfsig", "poppler-utils")
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed_contract)
    output = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False).stdout
    blocks = output.split("Signature #")[1:]
    assert len(blocks) == 5
    for block in blocks[:4]:
        assert "Signature Validation: Signature is Valid." in block
        assert "tachiai Local Test Seal" in block


def test_qpdf_check_is_clean(tmp_path, sealed_contract):
    qpdf = require_tool("qpdf", "qpdf")
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed_contract)
    result = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_changing_one_byte_breaks_verification_and_names_the_signature(kit, sealed_contract):
    # Given a byte changed inside the last seal's revision (after the 2nd seal, before the 3rd)
    sigs = _signatures(sealed_contract)
    second_end = sigs[1].byte_range[2] + sigs[1].byte_range[3]
    tampered = bytearray(sealed_contract)
    position = second_end + 40
    tampered[position] = ord("x") if tampered[position] != ord("x") else ord("y")
    # When verified
    report = verify_pdf(bytes(tampered), [kit.pki.root_cert])
    # Then it fails, the first two seals are intact and the later ones are named as broken
    assert not report.ok
    broken = [s.field_name for s in report.signatures if not s.intact]
    assert broken == ["TachiaiSeal3", "TachiaiSeal4", "TachiaiDocumentTimestamp"]
    assert all(s.intact for s in report.signatures[:2])


def test_forward_event_reason_names_both_people(kit):
    forward = SealEvent(
        kind=EventKind.FORWARDED,
        actor=Person(name="髙橋一郎", email="ichiro@example.jp"),
        at=event().at,
        auth_methods=[AuthMethod.EMAIL_LINK],
        forwarded_to=Person(name="山﨑花子", email="hanako@example.jp"),
    )
    sealed = kit.sealer.seal_event(simple_pdf(), forward, language="en")
    reason = str(_signatures(sealed)[0].sig_object["/Reason"])
    assert reason.startswith(
        "髙橋一郎 (ichiro@example.jp) forwarded the document to 山﨑花子 (hanako@example.jp) at "
    )


def test_seal_refuses_a_pdf_that_is_not_the_one_the_previous_event_produced(kit):
    from tachiai.domain.errors import DocumentChangedSinceLastSeal

    # Given the hash of the file the previous seal produced
    first = kit.sealer.seal_event(simple_pdf(), event(EventKind.SENT))
    expected = hashlib.sha256(first).hexdigest()
    # When the stored file was replaced by something else
    replaced = simple_pdf(text="A different contract")
    # Then the next seal refuses it, and accepts the genuine one
    with pytest.raises(DocumentChangedSinceLastSeal):
        kit.sealer.seal_event(replaced, event(), expected_sha256=expected)
    assert kit.sealer.seal_event(first, event(), expected_sha256=expected).startswith(first)


def test_a_timestamp_from_an_untrusted_authority_is_a_setup_error_not_a_retry(kit, pki_dir):
    from dataclasses import replace

    from tachiai.domain.errors import UntrustedChain

    # Given a sealer that trusts only the seal certificate itself, not the TSA's root
    sealer = replace(kit.sealer, trust_roots=[kit.pki.seal_cert])
    with pytest.raises(UntrustedChain):
        sealer.seal_event(simple_pdf(), event(EventKind.SENT))


# --- fields of its own, the completion lock, metadata, no builtin escaping ---------------------------


def _fill_field(pdf: bytes, name: str, value: str) -> bytes:
    """An incremental update that sets form field ``name`` to ``value`` (what a reader's form does)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=True)
    fields = writer.root["/AcroForm"]["/Fields"]
    for index in range(len(fields)):
        reference = fields.raw_get(index)
        field = reference.get_object()
        if str(field.get("/T")) == name:
            field["/V"] = generic.TextStringObject(value)
            writer.mark_update(reference)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _status(kit, signature):
    return validate_pdf_signature(
        signature, ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    )


def test_a_seal_never_goes_into_an_uploaded_empty_field_named_like_tachiais(kit):
    from tests.fixtures.odd_pdfs import odd_pdf

    # Given an upload with an empty, visible, locking signature field named TachiaiSeal1
    upload = odd_pdf("empty_fields_named_like_tachiais_own").data
    # When it is sealed
    sealed = kit.sealer.seal_event(upload, event(EventKind.SENT))
    # Then the seal is in a new field of its own, the uploaded field stays empty, and nothing is locked
    (seal,) = _signatures(sealed)
    assert seal.field_name == "TachiaiSeal2"
    assert "/Lock" not in seal.sig_field
    assert [float(x) for x in seal.sig_field["/Rect"]] == [0.0, 0.0, 0.0, 0.0]  # invisible, not theirs
    assert seal.docmdp_level is None and seal.fieldmdp is None
    uploaded = next(
        field
        for field in (f.get_object() for f in PdfFileReader(BytesIO(sealed)).root["/AcroForm"]["/Fields"])
        if field["/T"] == "TachiaiSeal1"
    )
    assert "/V" not in uploaded
    assert _status(kit, seal).bottom_line


def test_the_document_timestamp_goes_into_a_field_of_its_own_when_the_name_is_taken(kit):
    from tests.fixtures.odd_pdfs import odd_pdf

    upload = odd_pdf("empty_fields_named_like_tachiais_own").data
    final = kit.sealer.finalize(kit.sealer.seal_event(upload, event(EventKind.SENT)))
    names = [s.field_name for s in _signatures(final)]
    assert names == ["TachiaiSeal2", "TachiaiSeal3", "TachiaiDocumentTimestamp2"]


def test_filling_a_form_field_after_completion_breaks_the_completion_seal(kit):
    from tests.fixtures.odd_pdfs import odd_pdf

    # Given a form contract sealed by its parties and finalized
    form = odd_pdf("acroform_text_fields").data
    final = kit.sealer.finalize(kit.sealer.seal_event(form, event(EventKind.SENT)))
    # When someone changes a filled-in field afterwards
    changed = _fill_field(final, "party_b", "Mallory K.K.")
    # Then pyhanko's validation reports the completion seal as broken by the change
    lock = next(s for s in _signatures(changed) if str(s.sig_object["/Reason"]) == completion_reason())
    status = _status(kit, lock)
    assert status.intact and status.valid
    assert status.docmdp_ok is False and not status.bottom_line


def test_without_the_lock_the_same_change_would_pass_as_form_filling(kit):
    # The reason the completion lock exists: an unlocked seal accepts form filling after it.
    from tests.fixtures.odd_pdfs import odd_pdf

    form = odd_pdf("acroform_text_fields").data
    final = kit.sealer.finalize(kit.sealer.seal_event(form, event(EventKind.SENT)), lock=False)
    changed = _fill_field(final, "party_b", "Mallory K.K.")
    status = _status(kit, _signatures(changed)[0])
    assert status.bottom_line and status.docmdp_ok


def test_sealing_a_pdfa_file_keeps_info_and_xmp_metadata_in_agreement(kit):
    import pikepdf

    from tests.fixtures.odd_pdfs import odd_pdf

    # Given a PDF/A-2b-like upload whose /Info and XMP agree
    upload = odd_pdf("pdfa_2b_with_matching_info_and_xmp").data
    # When it is sealed and finalized
    final = kit.sealer.finalize(kit.sealer.seal_event(upload, event(EventKind.SENT)))
    # Then Producer and ModDate still agree between /Info and XMP (both as uploaded), and XMP still
    # says PDF/A-2b
    with pikepdf.open(BytesIO(upload)) as original:
        uploaded_mod_date = str(original.docinfo["/ModDate"])
    with pikepdf.open(BytesIO(final)) as pdf:
        producer, mod_date = str(pdf.docinfo["/Producer"]), str(pdf.docinfo["/ModDate"])
        xmp = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        assert producer == xmp["pdf:Producer"] == "LibreOffice 7.6"
        assert xmp["pdfaid:part"] == "2" and xmp["pdfaid:conformance"] == "B"
        assert xmp["xmp:ModifyDate"] == "2024-04-01T09:00:00+09:00"
        assert mod_date == uploaded_mod_date


def test_a_library_failure_while_sealing_is_a_sealing_error_not_a_builtin(kit, monkeypatch):
    from pyhanko.sign import signers
    from tachiai.domain.errors import SealingError

    def explode(*args, **kwargs):
        raise AttributeError("'TextStringObject' object has no attribute 'get'")

    monkeypatch.setattr(signers.PdfSigner, "sign_pdf", explode)
    with pytest.raises(SealingError) as caught:
        kit.sealer.seal_event(simple_pdf(), event())
    assert "AttributeError" in caught.value.detail


@pytest.mark.parametrize(
    "raised", [KeyError("/Fields"), AttributeError("'NullObject' has no attribute 'get'")]
)
def test_an_unexpected_failure_while_judging_the_finalized_file_is_a_seal_validation_failure(
    kit, monkeypatch, raised
):
    from tachiai.domain.errors import SealValidationFailed
    from tachiai.sealing import seal as module

    # Given verify raises something it did not foresee (a builtin from deep inside pyHanko)
    def explode(*args, **kwargs):
        raise raised

    sealed = kit.sealer.seal_event(simple_pdf(), event())
    monkeypatch.setattr(module, "verify_pdf", explode)
    # Then finalize fails as sealing fails -- typed, never stored -- and no builtin escapes it
    with pytest.raises(SealValidationFailed) as caught:
        kit.sealer.finalize(sealed)
    assert type(raised).__name__ in caught.value.detail


def test_an_unexpected_failure_reading_the_seals_before_finalizing_is_a_sealing_error(kit, monkeypatch):
    from tachiai.domain.errors import SealingError

    sealed = kit.sealer.seal_event(simple_pdf(), event())

    def explode(self, reader):
        raise TypeError("'IndirectObject' object is not subscriptable")

    monkeypatch.setattr(type(kit.sealer), "_locked_by_last_seal", explode)
    with pytest.raises(SealingError) as caught:
        kit.sealer.finalize(sealed)
    assert "TypeError" in caught.value.detail


def test_a_bomb_that_reaches_the_sealer_without_preflight_is_refused_as_too_complex(kit):
    # Given an object stream that inflates to 1 GiB, handed to the sealer directly (preflight skipped)
    # When it is sealed, Then pyHanko's own decode bound is the same typed refusal preflight gives
    with pytest.raises(PdfTooComplex):
        kit.sealer.seal_event(object_stream_bomb(1 << 30), event())
