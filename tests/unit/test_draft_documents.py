"""A draft's documents change (FEATURES.md S6, issue 12): a document is removed from a draft or new
PDFs added to it, each change in the audit trail; only a draft, anything else refused with its own
code."""

from __future__ import annotations

import base64

import pytest
from tachiai.domain.audit import AuditKind
from tachiai.domain.documents import original_key
from tachiai.domain.errors import DraftDocumentUnknown, EnvelopeNotDraft, InvalidDocument, TooManyDocuments
from tachiai.services import drafts, sending
from tachiai.services.sending import CreateEnvelopeRequest, DocumentRequest

from tests.fakes import FakeWorld
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_fault_injection import HANAKO, ICHIRO, SENDER, new_world, send

NDA = simple_pdf(text="Mutual Non-Disclosure Agreement")
ORDER = simple_pdf(2, "Purchase Order")


def _inline(name: str, data: bytes) -> DocumentRequest:
    return DocumentRequest(name=name, content_base64=base64.b64encode(data).decode())


def _draft(world: FakeWorld, documents: int = 1) -> str:
    request = CreateEnvelopeRequest(
        title="秘密保持契約書",
        participants=[{"name": "山﨑花子", "email": HANAKO}],  # type: ignore[list-item]
        documents=[_inline(f"{i}.pdf", NDA) for i in range(1, documents + 1)],
    )
    return sending.create_envelope(world.svc, SENDER, request).envelope.id


def test_a_pdf_added_to_a_draft_is_stored_after_its_documents_and_audited() -> None:
    world = new_world()
    envelope_id = _draft(world)
    added = drafts.add_draft_documents(world.svc, SENDER, envelope_id, [_inline("発注書.pdf", ORDER)])
    documents = added.envelope.documents
    assert [d.name for d in documents] == ["1.pdf", "発注書.pdf"]
    assert world.documents.objects[original_key(envelope_id, documents[1].id)] == ORDER
    last = world.envelopes.audit_trail(envelope_id)[-1]
    assert last.kind == AuditKind.ENVELOPE_EDITED and "発注書.pdf" in str(last.data)


def test_a_pdf_added_without_content_gets_a_presigned_upload_of_its_own() -> None:
    world = new_world()
    envelope_id = _draft(world)
    added = drafts.add_draft_documents(world.svc, SENDER, envelope_id, [DocumentRequest(name="大きな.pdf")])
    new = added.envelope.documents[1]
    assert [u.document_id for u in added.uploads] == [new.id]
    assert new.upload_key and added.uploads[0].fields["key"] == new.upload_key


def test_a_removed_document_leaves_the_draft_and_the_trail_says_which() -> None:
    world = new_world()
    envelope_id = _draft(world, documents=2)
    edited = drafts.remove_draft_document(world.svc, SENDER, envelope_id, "d1")
    assert [d.id for d in edited.documents] == ["d2"]
    last = world.envelopes.audit_trail(envelope_id)[-1]
    assert last.kind == AuditKind.ENVELOPE_EDITED and "d1" in str(last.data)


def test_a_document_added_after_a_removal_never_takes_the_removed_ones_id() -> None:
    world = new_world()
    envelope_id = _draft(world, documents=2)
    drafts.remove_draft_document(world.svc, SENDER, envelope_id, "d2")
    added = drafts.add_draft_documents(world.svc, SENDER, envelope_id, [_inline("b.pdf", ORDER)])
    assert added.envelope.documents[1].id != "d2"
    assert world.documents.objects[original_key(envelope_id, "d2")] == NDA, "the removed file was rewritten"


def test_removing_a_document_the_draft_does_not_have_is_refused_with_its_own_code() -> None:
    world = new_world()
    envelope_id = _draft(world)
    with pytest.raises(DraftDocumentUnknown) as refused:
        drafts.remove_draft_document(world.svc, SENDER, envelope_id, "d9")
    assert refused.value.code == "draft_document_unknown" and refused.value.http_status == 404


def test_documents_of_a_sent_envelope_cannot_be_added_or_removed() -> None:
    world = new_world()
    envelope_id = send(world, ICHIRO)
    with pytest.raises(EnvelopeNotDraft):
        drafts.add_draft_documents(world.svc, SENDER, envelope_id, [_inline("b.pdf", ORDER)])
    with pytest.raises(EnvelopeNotDraft):
        drafts.remove_draft_document(world.svc, SENDER, envelope_id, "d1")


def test_more_documents_than_an_envelope_may_hold_are_refused_with_their_own_code() -> None:
    world = new_world()
    envelope_id = _draft(world, documents=9)
    with pytest.raises(TooManyDocuments) as refused:
        drafts.add_draft_documents(
            world.svc, SENDER, envelope_id, [_inline("a.pdf", NDA), _inline("b.pdf", NDA)]
        )
    assert refused.value.code == "too_many_documents"
    assert len(world.envelopes.get(envelope_id).documents) == 9


def test_an_added_file_that_is_no_pdf_is_refused_and_the_draft_unchanged() -> None:
    world = new_world()
    envelope_id = _draft(world)
    with pytest.raises(InvalidDocument):
        drafts.add_draft_documents(world.svc, SENDER, envelope_id, [_inline("a.pdf", b"hello")])
    assert len(world.envelopes.get(envelope_id).documents) == 1
