"""Uploads already signed by another party: preflight decides with finalize's own verdict, so what it
accepts goes through every seal and finalize, and what it refuses for its signatures is exactly what
finalize would have refused -- after every party had agreed (issue 10, section 2)."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from tachiai.domain.errors import SealValidationFailed
from tachiai.local.sealing_kit import LocalSealingKit
from tachiai.sealing.preflight import preflight
from tachiai.sealing.verify import Verdict, verify_pdf

from tests.fixtures.events import event
from tests.fixtures.odd_pdfs import ACCEPT, OddPdf, build_corpus

SIGNED = [odd for odd in build_corpus() if b"/ByteRange" in odd.data]
ACCEPTED = [odd for odd in SIGNED if odd.expected == ACCEPT]
REFUSED_FOR_THEIR_SIGNATURES = [
    odd
    for odd in SIGNED
    if odd.expected in ("signed_pdf_modified", "existing_signature_invalid")
    or odd.name == "signed_with_a_document_timestamp_of_another_service"
]


def _two_seals_and_finalize(kit: LocalSealingKit, pdf: bytes) -> bytes:
    """The envelope's path after upload: sent, agreed, finalized (completion lock, document timestamp)."""
    sealed = kit.sealer.seal_event(pdf, event())
    sealed = kit.sealer.seal_event(sealed, event())
    return kit.sealer.finalize(sealed)


def test_the_corpus_has_signed_uploads_of_both_outcomes():
    assert len(ACCEPTED) >= 5
    assert {odd.expected for odd in REFUSED_FOR_THEIR_SIGNATURES} == {
        "signed_pdf_modified",
        "existing_signature_invalid",
        "pdf_signing_forbidden",
    }


@pytest.mark.parametrize("odd", ACCEPTED, ids=lambda odd: odd.name)
def test_a_signed_upload_preflight_accepts_goes_through_two_seals_and_finalize(
    odd: OddPdf, kit: LocalSealingKit
):
    prepared = preflight(odd.data)
    final = _two_seals_and_finalize(kit, prepared.pdf)
    # the verdict `tachiai verify --trust ROOT --seal-cert SEAL` gives, with the earlier signatures
    # accepted as what they are, intact and unchanged
    report = verify_pdf(final, [kit.pki.root_cert], seal_certificates=[kit.pki.seal_cert])
    assert report.judge(accept_earlier_signers=True).verdict is Verdict.VALID
    earlier = len(PdfFileReader(io.BytesIO(odd.data), strict=False).embedded_signatures)
    assert all(
        not sig.by_seal and sig.ok and sig.changed_after is None for sig in report.signatures[:earlier]
    )
    assert final.startswith(odd.data)


@pytest.mark.parametrize("odd", REFUSED_FOR_THEIR_SIGNATURES, ids=lambda odd: odd.name)
def test_a_signed_upload_refused_for_its_signatures_would_have_failed_at_finalize(
    odd: OddPdf, kit: LocalSealingKit
):
    # Before preflight judged existing signatures these passed it; sealed anyway, they fail only at
    # the very end -- so the refusal at upload is the same verdict, not a stricter one.
    with pytest.raises(SealValidationFailed):
        _two_seals_and_finalize(kit, odd.data)
