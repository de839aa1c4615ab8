"""A draft's documents in the console (issue 12): on ``/app/new?from=ID`` a document is removed from
the draft and new PDFs are added to it (in the form, or by the script's direct uploads), each new
file preflighted and a refusal shown on that file."""

from __future__ import annotations

from typing import Any

import pytest
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import DamagedPdf

from tests.console_browser import MEMBER, ConsoleBrowser
from tests.fakes import SEAL_FUNCTION, FakeWorld, fake_world
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_console_new_envelope import SEAL, _file_errors, _form

NDA = simple_pdf(1, "Mutual Non-Disclosure Agreement")
ORDER = simple_pdf(3, "Purchase Order")
DAMAGED = NDA[: len(NDA) // 2]


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    world.functions.routes[SEAL_FUNCTION] = lambda event: SEAL.run(world.svc, event)
    return world


def _draft(
    browser: ConsoleBrowser, world: FakeWorld, files: list[tuple[str, bytes]]
) -> tuple[str, dict[str, Any]]:
    """A draft saved from the form; its id and the edit form's values (without the action)."""
    browser.get("/app/new")
    page = browser.post("/app/new", {**_form(), "action": "draft"}, files={"documents": files})
    assert page.status == 303, page.text()
    (envelope_id,) = world.envelopes.envelopes
    values: dict[str, Any] = browser.follow().form_values("/app/new")
    values.pop("action", None)
    return envelope_id, values


def test_the_draft_form_offers_a_remove_button_per_document_and_a_file_input(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, _ = _draft(browser, world, [("a.pdf", NDA), ("b.pdf", ORDER)])
    page = browser.get(f"/app/new?from={envelope_id}")
    assert page.xpath("//button[@value='document-remove:d1']") and page.xpath(
        "//button[@value='document-remove:d2']"
    )
    assert page.xpath("//input[@type='file' and @name='documents']")


def test_a_document_is_removed_from_a_draft_with_its_button(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, values = _draft(browser, world, [("a.pdf", NDA), ("b.pdf", ORDER)])
    page = browser.post("/app/new", {**values, "action": "document-remove:d1"})
    assert page.status == 303 and page.location and page.location.endswith(f"/app/new?from={envelope_id}")
    assert [d.name for d in world.envelopes.envelopes[envelope_id].documents] == ["b.pdf"]


def test_a_pdf_added_to_a_draft_in_the_form_is_kept_and_the_draft_sent_with_it(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, values = _draft(browser, world, [("a.pdf", NDA)])
    page = browser.post(
        "/app/new", {**values, "action": "send"}, files={"documents": [("発注書.pdf", ORDER)]}
    )
    assert page.status == 303, page.text()
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.SENT
    assert [(d.name, d.pages) for d in envelope.documents] == [("a.pdf", 1), ("発注書.pdf", 3)]


def test_a_damaged_pdf_added_to_a_draft_is_refused_on_its_file_and_the_draft_stays(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, values = _draft(browser, world, [("a.pdf", NDA)])
    page = browser.post(
        "/app/new", {**values, "action": "draft"}, files={"documents": [("壊れた.pdf", DAMAGED)]}
    )
    assert page.status == 422
    assert _file_errors(page) == {"壊れた.pdf": DamagedPdf().message("ja")}
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.DRAFT and [d.name for d in envelope.documents] == ["a.pdf"]


def test_the_script_adds_pdfs_to_a_draft_through_presigned_posts(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, values = _draft(browser, world, [("a.pdf", NDA)])
    fields = {**values, "action": "draft", "upload": "presigned", "document_name": ["b.pdf"]}
    fields["document_size"] = [str(len(ORDER))]
    page = browser.post("/app/new", fields)
    assert page.status == 201, page.text()
    created = browser.json(page)
    assert created["envelope_id"] == envelope_id and len(created["uploads"]) == 1
    world.documents.objects[created["uploads"][0]["fields"]["key"]] = ORDER
    done = browser.post(
        created["complete"].removeprefix(browser.base),
        {**values, "action": "draft", "envelope_id": envelope_id},
    )
    assert done.status == 200, done.text()
    assert [d.name for d in world.envelopes.envelopes[envelope_id].documents] == ["a.pdf", "b.pdf"]


def test_a_damaged_direct_upload_to_a_draft_is_refused_on_its_file_and_only_it_leaves(
    world: FakeWorld,
) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, values = _draft(browser, world, [("a.pdf", NDA)])
    fields = {
        **values,
        "action": "send",
        "upload": "presigned",
        "document_name": ["x.pdf"],
        "document_size": ["99"],
    }
    created = browser.json(browser.post("/app/new", fields))
    world.documents.objects[created["uploads"][0]["fields"]["key"]] = DAMAGED
    done = browser.post(
        created["complete"].removeprefix(browser.base),
        {**values, "action": "send", "envelope_id": envelope_id},
    )
    assert done.status == 422
    assert _file_errors(done) == {"x.pdf": DamagedPdf().message("ja")}
    envelope = world.envelopes.envelopes[envelope_id]
    assert envelope.status == EnvelopeStatus.DRAFT and [d.name for d in envelope.documents] == ["a.pdf"]


def test_sending_a_draft_left_without_documents_says_so_on_its_form(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id, values = _draft(browser, world, [("a.pdf", NDA)])
    browser.post("/app/new", {**values, "action": "document-remove:d1"})
    page = browser.post("/app/new", {**values, "action": "send"})
    assert page.status == 422, page.text()
    assert page.xpath("//form"), "the draft's form comes back, not the error page"
    assert world.envelopes.envelopes[envelope_id].status == EnvelopeStatus.DRAFT
