"""Security rule: a presigned upload key is used once and closed when its document is accepted, and
every download is checked against the hash the envelope records.

The services run on the in-memory fakes (tests/fakes.py): what a presigned POST does is a write to the
key its fields name, which the test does by hand — as anyone holding the (still valid) URL could.
"""

from __future__ import annotations

import hashlib

import pytest
from tachiai.domain.documents import current_key, original_key
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import DocumentIntegrityError, DocumentNotUploaded
from tachiai.services import ledger, recipient, sending
from tachiai.services.ledger import ImportRequest
from tachiai.services.sending import CreateEnvelopeRequest, SenderIdentity

from tests.fakes import EXTRACT_FUNCTION, SEAL_FUNCTION, FakeWorld, fake_world, import_arrival
from tests.fixtures.pdfs import simple_pdf

TARO = SenderIdentity(sub="sub-taro", email="taro@example.co.jp", name="山田太郎")
SIGNED_ON_PAPER = simple_pdf()
FORGERY = simple_pdf() + b"\n% the amount is now 0 yen\n"


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    world.functions.routes[SEAL_FUNCTION] = lambda payload: import_arrival(world, payload)
    world.functions.routes[EXTRACT_FUNCTION] = lambda payload: {"fields": []}
    return world


def _upload(world: FakeWorld, upload: sending.Upload, data: bytes) -> None:
    """A presigned POST: the bytes land on the key its form fields name."""
    world.documents.objects[str(upload.fields["key"])] = data


def _served(world: FakeWorld, envelope_id: str) -> bytes:
    """The bytes behind the first download URL (its key is the last path part before the query)."""
    url = sending.downloads(world.svc, TARO, envelope_id)[0].url
    return world.documents.objects[url.removeprefix("https://documents.invalid/").split("?")[0]]


def test_an_upload_url_never_names_where_a_document_is_kept(world):
    imported = ledger.import_contract(world.svc, TARO, ImportRequest(title="紙の契約", file_name="scan.pdf"))
    assert imported.upload is not None
    key = str(imported.upload.fields["key"])
    assert key.startswith(f"envelopes/{imported.envelope.id}/uploads/d1/")
    assert key != original_key(imported.envelope.id, "d1")
    again = ledger.import_contract(world.svc, TARO, ImportRequest(title="紙の契約", file_name="scan.pdf"))
    assert again.upload is not None and again.upload.fields["key"] != key  # never reused


def test_a_completed_imports_upload_url_can_no_longer_replace_its_file(world):
    # Given an import completed through its presigned upload
    imported = ledger.import_contract(world.svc, TARO, ImportRequest(title="紙の契約", file_name="scan.pdf"))
    assert imported.upload is not None
    _upload(world, imported.upload, SIGNED_ON_PAPER)
    done = ledger.complete_import(world.svc, TARO, imported.envelope.id)
    assert done.status == EnvelopeStatus.COMPLETED
    # When someone with the still-valid upload URL uploads another file
    _upload(world, imported.upload, FORGERY)
    # Then the import's file, as served and as stored, is the one that was timestamped
    assert _served(world, done.id) == SIGNED_ON_PAPER
    assert world.documents.get(current_key(done.id, done.documents[0])) == SIGNED_ON_PAPER
    assert done.documents[0].current_sha256 == hashlib.sha256(SIGNED_ON_PAPER).hexdigest()
    # And completing again answers the import as it was: the late upload is never picked up
    assert ledger.complete_import(world.svc, TARO, done.id).documents == done.documents


def test_completing_an_import_before_anything_was_uploaded_says_so(world):
    imported = ledger.import_contract(world.svc, TARO, ImportRequest(title="紙の契約", file_name="scan.pdf"))
    with pytest.raises(DocumentNotUploaded):
        ledger.complete_import(world.svc, TARO, imported.envelope.id)


def test_a_draft_envelopes_documents_are_uploaded_to_keys_of_their_own(world):
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": "業務委託契約書",
            "participants": [{"name": "髙橋一郎", "email": "ichiro@example.jp"}],
            "documents": [{"name": "a.pdf"}, {"name": "b.pdf"}],
        }
    )
    created = sending.create_envelope(world.svc, TARO, request)
    keys = [str(u.fields["key"]) for u in created.uploads]
    assert len(set(keys)) == 2 and all(
        k.startswith(f"envelopes/{created.envelope.id}/uploads/") for k in keys
    )
    assert [d.upload_key for d in created.envelope.documents] == keys
    # Accepting copies each upload to the document's own key (what preflight and the seal read next)
    for upload in created.uploads:
        _upload(world, upload, SIGNED_ON_PAPER)
    sending.accept_uploads(world.svc, created.envelope)
    for document in created.envelope.documents:
        assert world.documents.get(original_key(created.envelope.id, document.id)) == SIGNED_ON_PAPER


def test_a_stored_file_that_is_not_the_recorded_one_is_refused_not_served(world):
    imported = ledger.import_contract(world.svc, TARO, ImportRequest(title="紙の契約", file_name="scan.pdf"))
    assert imported.upload is not None
    _upload(world, imported.upload, SIGNED_ON_PAPER)
    done = ledger.complete_import(world.svc, TARO, imported.envelope.id)
    # Whatever the way (an operator, a bug, a key reused), the stored bytes change
    world.documents.objects[current_key(done.id, done.documents[0])] = FORGERY
    with pytest.raises(DocumentIntegrityError) as refused:
        sending.downloads(world.svc, TARO, done.id)
    assert refused.value.http_status == 500 and "scan.pdf" in refused.value.message("en")


def test_a_recipients_download_is_checked_against_the_recorded_hash_too(world, monkeypatch):
    imported = ledger.import_contract(world.svc, TARO, ImportRequest(title="紙の契約", file_name="scan.pdf"))
    assert imported.upload is not None
    _upload(world, imported.upload, SIGNED_ON_PAPER)
    done = ledger.complete_import(world.svc, TARO, imported.envelope.id)
    world.documents.objects[current_key(done.id, done.documents[0])] = FORGERY
    monkeypatch.setattr(recipient, "_reader", lambda *_, **__: (done, "someone@example.jp"))
    with pytest.raises(DocumentIntegrityError):
        recipient.document_url(world.svc, "t" * 43, "d1", recipient.Visit())
