"""Every odd upload of the corpus gets exactly its expected outcome from preflight -- and every
accepted one is really sealed AND finalized by tachiai's engine (KMS signer, TSA, validation data,
the completion lock, the document timestamp and finalize's own verdict), with earlier signatures left
intact. No third outcome: what preflight accepts, finalize can finish."""

from __future__ import annotations

import io
import traceback

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tachiai.domain.errors import TachiaiError
from tachiai.local.sealing_kit import LocalSealingKit
from tachiai.sealing.preflight import DEFAULT_MAX_BYTES, PreparedDocument, preflight

from tests.fixtures.events import event
from tests.fixtures.odd_pdfs import (
    ACCEPT,
    OddPdf,
    build_corpus,
    corpus_identity,
)

CORPUS = build_corpus()


def run_preflight(odd: OddPdf) -> PreparedDocument | TachiaiError:
    """The outcome of preflight: a document or a typed error; anything else fails the test."""
    try:
        return preflight(odd.data, max_bytes=odd.max_bytes or DEFAULT_MAX_BYTES)
    except TachiaiError as e:
        return e
    except Exception:
        pytest.fail(f"{odd.name}: preflight let a non-tachiai exception escape:\n{traceback.format_exc()}")


def test_corpus_is_big_and_names_are_unique():
    names = [odd.name for odd in CORPUS]
    assert len(names) >= 40
    assert len(set(names)) == len(names)
    assert all(odd.why for odd in CORPUS), "every case explains its expectation"


@pytest.mark.parametrize("odd", CORPUS, ids=lambda odd: odd.name)
def test_preflight_gives_exactly_the_expected_outcome(odd: OddPdf, kit: LocalSealingKit):
    outcome = run_preflight(odd)

    if odd.expected != ACCEPT:
        assert isinstance(outcome, TachiaiError), (
            f"{odd.name} was accepted; expected {odd.expected}: {odd.why}"
        )
        assert outcome.code == odd.expected, f"{odd.name}: {outcome!r}; expected {odd.expected}: {odd.why}"
        assert outcome.message("ja") and outcome.message("en")
        return

    assert isinstance(outcome, PreparedDocument), f"{odd.name} refused: {outcome!r}; {odd.why}"
    assert outcome.pages >= 1
    earlier = len(PdfFileReader(io.BytesIO(outcome.pdf), strict=True).embedded_signatures)
    if earlier:
        assert not outcome.normalized and outcome.pdf == odd.data, "a signed file must never be rewritten"

    signed = kit.sealer.seal_event(outcome.pdf, event())

    reader = PdfFileReader(io.BytesIO(signed), strict=True)
    signatures = reader.embedded_signatures
    assert len(signatures) == earlier + 1
    new = signatures[-1]
    assert new.field_name.startswith("TachiaiSeal")
    status = validate_pdf_signature(
        new, ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    for signature in signatures[:-1]:
        before = validate_pdf_signature(
            signature, ValidationContext(trust_roots=[corpus_identity().certificate])
        )
        assert before.intact and before.valid, f"{signature.field_name}: {before.pretty_print_details()}"
        assert before.docmdp_ok is not False, f"{signature.field_name}: {before.pretty_print_details()}"

    # finalize judges the whole file (every seal intact, valid, trusted, LTV; nothing but signing
    # after each) and raises otherwise: accepted at upload means the envelope can complete
    final = kit.sealer.finalize(signed)
    assert final.startswith(signed)
