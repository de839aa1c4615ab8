"""The signature panel of a completed envelope: the seal function's ``verify`` task judges the stored
files with the real verifier (the one ``tachiai verify`` uses), and the send side gets it through the
synchronous invoker without loading pyHanko, once per process."""

from __future__ import annotations

import pytest
from tachiai.domain.documents import current_key
from tachiai.domain.errors import EnvelopeNotCompleted
from tachiai.services import signature_panel
from tachiai.services.signature_panel import SignaturePanel

from tests.console_browser import ConsoleBrowser, StaffPerson
from tests.envelope_stories import HANAKO, ICHIRO, SEAL_HANDLER, TARO, completed, story_world, waiting_for
from tests.fakes import FakeWorld


@pytest.fixture(scope="module")
def finished(kit) -> tuple[FakeWorld, str]:
    """One envelope two people agreed to, sealed and finalized by the real sealing engine."""
    world = story_world(sealer=kit.sealer)
    return world, completed(world, ICHIRO, HANAKO)


def verify(world: FakeWorld, envelope_id: str) -> SignaturePanel:
    return SignaturePanel.model_validate(
        SEAL_HANDLER.run(world.svc, {"task": "verify", "envelopeId": envelope_id})
    )


def test_the_verify_task_gives_a_completed_envelope_the_verdict_valid(finished):
    world, envelope_id = finished
    panel = verify(world, envelope_id)
    assert panel.verdict == "valid"
    assert [f.kind for f in panel.files] == ["document", "certificate"]
    for file in panel.files:
        assert file.verdict == "valid", file.reasons
        assert file.matches_record and file.ltv_complete and not file.modified_after_last_signature
        assert file.signatures[-1].kind == "document_timestamp"
        for sig in file.signatures:
            assert sig.intact and sig.valid and sig.trusted and sig.ltv
        assert all(sig.by_seal for sig in file.signatures if sig.kind == "signature")
    assert panel.files[0].headline["ja"] and panel.files[0].headline["en"] != panel.files[0].headline["ja"]


def test_the_panel_names_each_agreement_with_its_reason_and_timestamp(finished):
    world, envelope_id = finished
    document = verify(world, envelope_id).files[0]
    reasons = [sig.reason or "" for sig in document.signatures if sig.kind == "signature"]
    assert any(TARO.email in r for r in reasons)  # sent
    assert any(ICHIRO in r for r in reasons) and any(HANAKO in r for r in reasons)  # each agreement
    assert all(sig.timestamp_time is not None for sig in document.signatures)


def test_a_tampered_sealed_pdf_gives_the_verdict_invalid(finished):
    world, envelope_id = finished
    envelope = world.envelopes.get(envelope_id)
    key = current_key(envelope_id, envelope.documents[0])
    original = world.documents.objects[key]
    # Given one digit of the page size is changed inside what every signature covers
    at = original.index(b"/MediaBox")
    digit = next(
        i for i in range(at, at + 60) if original[i : i + 1].isdigit() and original[i : i + 1] != b"0"
    )
    tampered = (
        original[:digit] + (b"1" if original[digit : digit + 1] != b"1" else b"2") + original[digit + 1 :]
    )
    world.documents.objects[key] = tampered
    try:
        panel = verify(world, envelope_id)
    finally:
        world.documents.objects[key] = original
    document = panel.files[0]
    assert document.verdict == "invalid"
    assert not document.matches_record
    assert "altered" in {f.code for f in document.reasons}
    assert panel.verdict == "invalid"


def test_the_send_side_gets_the_panel_once_through_the_invoker(finished):
    world, envelope_id = finished
    signature_panel.forget_panels()
    first = signature_panel.signature_panel(world.svc, TARO, envelope_id)
    calls = world.faults.calls["functions.call"]
    again = signature_panel.signature_panel(world.svc, TARO, envelope_id)
    assert again == first and first.verdict == "valid"
    assert world.faults.calls["functions.call"] == calls  # answered from the process's cache


def test_an_envelope_not_completed_has_no_panel(kit):
    world = story_world(sealer=kit.sealer)
    envelope_id = waiting_for(world, ICHIRO)
    with pytest.raises(EnvelopeNotCompleted):
        signature_panel.signature_panel(world.svc, TARO, envelope_id)
    answer = SEAL_HANDLER.run(world.svc, {"task": "verify", "envelopeId": envelope_id})
    assert answer["error"]["type"] == "EnvelopeNotCompleted"


def test_the_console_shows_the_panel_in_the_visitors_language(finished):
    world, envelope_id = finished
    signature_panel.forget_panels()
    browser = ConsoleBrowser(world, StaffPerson("taro", TARO.email, TARO.name), language="ja")
    page = browser.get(f"/app/envelopes/{envelope_id}/signatures")
    assert page.status == 200
    assert " ".join(page.xpath("string(//*[@id='verdict'])")[0].split()) == "判定: 有効"
    assert len(page.xpath("//section[@class='panel-file']")) == 2
    rows = page.xpath("//tr[contains(@class, 'kind-signature')]")
    assert any(ICHIRO in row.text_content() for row in rows)
    english = browser.get(f"/app/envelopes/{envelope_id}/signatures?lang=en")
    assert " ".join(english.xpath("string(//*[@id='verdict'])")[0].split()) == "Verdict: valid"
