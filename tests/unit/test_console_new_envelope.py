"""新規作成 in the console (issue 12 item 2), page by page on the in-memory fakes: the form, what it
sends, what it refuses (on the file or the row it concerns, in the visitor's language, values kept),
templates, drafts, the page previews and the CSRF check of every POST."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tachiai.console import preview
from tachiai.console.new_envelope import EnvelopeForm, ParticipantRow, apply_row_action
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import DamagedPdf, NotFound
from tachiai.domain.templates import TemplateScope
from tachiai.domain.tokens import access_code_matches

from tests.console_browser import ADMIN, MEMBER, OTHER_MEMBER, ConsoleBrowser, Page
from tests.fakes import SEAL_FUNCTION, FakeWorld, fake_world
from tests.fixtures.pdfs import simple_pdf

ROOT = Path(__file__).resolve().parents[2]


def _seal_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tachiai_test_console_seal", ROOT / "functions/seal/handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEAL = _seal_handler()
NDA = simple_pdf(1, "Mutual Non-Disclosure Agreement")
ORDER = simple_pdf(3, "Purchase Order")
DAMAGED = NDA[: len(NDA) // 2]  # a download cut off in the middle: no trailer, content lost


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    # the seal function, in process: the real preflight on every stored document
    world.functions.routes[SEAL_FUNCTION] = lambda event: SEAL.run(world.svc, event)
    return world


def _form(**overrides: str) -> dict[str, str]:
    fields = {
        "title": "業務委託契約書",
        "message": "ご確認ください。",
        "language": "ja",
        "expiry_days": "14",
        "remind_days": "",
        "participants-0-organization": "髙橋商事",
        "participants-0-name": "髙橋 一郎",
        "participants-0-email": "ichiro@takahashi.example.jp",
        "participants-0-language": "ja",
        "participants-1-organization": "Acme Inc.",
        "participants-1-name": "Alice Smith",
        "participants-1-email": "alice@acme.example.com",
        "participants-1-language": "en",
        "participants-1-code": "blue-42",
        "participants-2-name": "山﨑 花子",
        "participants-2-email": "hanako@example.co.jp",
        "participants-2-language": "ja",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def _value(page: Page, name: str) -> str:
    found = page.xpath(f"//*[@name='{name}']")
    assert found, f"no field {name}"
    element = found[0]
    if element.tag == "textarea":
        return str(element.text or "")
    if element.tag == "select":
        selected = element.xpath("option[@selected]/@value")
        return str(selected[0]) if selected else ""
    return str(element.get("value") or "")


def _errors_near(page: Page, field: str) -> str:
    return " ".join(e.text_content() for e in page.xpath(f"//*[@id='{field}-error']"))


def _file_errors(page: Page) -> dict[str, str]:
    return {
        " ".join(item.xpath(".//*[@class='file-name']")[0].text_content().split()): " ".join(
            item.xpath(".//*[@class='field-error']")[0].text_content().split()
        )
        for item in page.xpath("//li[contains(@class, 'refused')]")
    }


def _only_envelope(world: FakeWorld) -> Any:
    assert len(world.envelopes.envelopes) == 1, world.envelopes.envelopes.keys()
    return next(iter(world.envelopes.envelopes.values()))


# --- the form ---------------------------------------------------------------------------------------


def test_the_form_offers_title_message_language_expiry_reminders_files_and_signer_rows(
    world: FakeWorld,
) -> None:
    page = ConsoleBrowser(world, MEMBER).get("/app/new")
    assert page.status == 200
    for name in ("title", "message", "language", "expiry_days", "remind_days", "documents"):
        assert page.xpath(f"//*[@name='{name}']"), name
    for part in ("organization", "name", "email", "code", "language"):
        assert page.xpath(f"//*[@name='participants-0-{part}']"), part
    assert _value(page, "expiry_days") == "7" and _value(page, "remind_days") == ""
    # the size limit of the form without JavaScript is said on the page
    assert "4 MB" in page.text()
    # the script is the console's own file, never inline
    assert page.xpath("//script[@src and contains(@src, 'upload.js')]")
    assert not [s for s in page.xpath("//script") if (s.text or "").strip()]


def test_a_two_document_three_party_envelope_is_created_and_sent_from_the_form(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post(
        "/app/new",
        {**_form(), "action": "send"},
        files={"documents": [("業務委託契約書.pdf", NDA), ("発注書.pdf", ORDER)]},
    )
    assert page.status == 303, page.text()
    envelope = _only_envelope(world)
    assert page.location and page.location.endswith(f"/app/envelopes/{envelope.id}")
    assert envelope.status == EnvelopeStatus.SENT
    assert [d.name for d in envelope.documents] == ["業務委託契約書.pdf", "発注書.pdf"]
    assert [d.pages for d in envelope.documents] == [1, 3]
    people = envelope.signers_in_order()
    assert [(p.person.name, p.person.organization, p.language) for p in people] == [
        ("髙橋 一郎", "髙橋商事", "ja"),
        ("Alice Smith", "Acme Inc.", "en"),
        ("山﨑 花子", None, "ja"),
    ]
    assert [p.requires_access_code for p in people] == [False, True, False]
    assert people[1].access_code_hash and access_code_matches("blue-42", people[1].access_code_hash)
    assert envelope.link_validity.days == 14 and envelope.auto_remind_every_days is None
    assert envelope.id in world.chain.executions, "the signing chain was not started"


def test_automatic_reminders_are_off_unless_a_number_of_days_is_given(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post(
        "/app/new", {**_form(remind_days="3"), "action": "draft"}, files={"documents": [("a.pdf", NDA)]}
    )
    assert page.status == 303
    assert _only_envelope(world).auto_remind_every_days == 3


def test_every_value_typed_is_kept_when_the_form_comes_back_with_errors(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    fields = _form(**{"participants-1-email": "not-an-address", "expiry_days": "400"})
    page = browser.post("/app/new", {**fields, "action": "send"}, files={"documents": [("a.pdf", NDA)]})
    assert page.status == 422
    assert not world.envelopes.envelopes
    for name, value in fields.items():
        assert _value(page, name) == value, name
    assert _errors_near(page, "participants-1-email") and _errors_near(page, "expiry_days")
    # a browser cannot be handed its files back: the page names them to choose again
    assert "a.pdf" in page.text()


def test_a_damaged_pdf_is_refused_on_its_own_file_in_japanese_and_nothing_is_kept(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post(
        "/app/new",
        {**_form(), "action": "send"},
        files={"documents": [("ok.pdf", NDA), ("壊れた.pdf", DAMAGED)]},
    )
    assert page.status == 422
    assert _file_errors(page) == {"壊れた.pdf": DamagedPdf().message("ja")}
    assert not world.envelopes.envelopes, "the draft of a refused file stays"
    assert _value(page, "title") == "業務委託契約書"


def test_a_damaged_pdf_is_refused_in_english_for_an_english_speaking_visitor(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER, language="en")
    browser.get("/app/new")
    page = browser.post(
        "/app/new", {**_form(), "action": "draft"}, files={"documents": [("broken.pdf", DAMAGED)]}
    )
    assert page.status == 422
    assert _file_errors(page) == {"broken.pdf": DamagedPdf().message("en")}


def test_a_file_that_is_no_pdf_is_refused_on_that_file_before_anything_is_stored(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post(
        "/app/new", {**_form(), "action": "draft"}, files={"documents": [("memo.docx", b"PK\x03\x04 word")]}
    )
    assert page.status == 422
    assert list(_file_errors(page)) == ["memo.docx"]
    assert not world.documents.objects


def test_duplicate_addresses_are_refused_on_both_rows_before_sending(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    fields = _form(**{"participants-2-email": "ICHIRO@takahashi.example.jp"})
    page = browser.post("/app/new", {**fields, "action": "send"}, files={"documents": [("a.pdf", NDA)]})
    assert page.status == 422
    assert not world.envelopes.envelopes and not world.mailer.outbox
    first, second = _errors_near(page, "participants-0-email"), _errors_near(page, "participants-2-email")
    assert first and first == second
    assert not _errors_near(page, "participants-1-email")


# --- rows without JavaScript ------------------------------------------------------------------------


def test_add_a_row_comes_back_with_one_more_row_and_everything_kept(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post("/app/new", {**_form(), "action": "add"})
    assert page.status == 200
    assert page.xpath("//*[@name='participants-3-email']")
    assert _value(page, "participants-2-email") == "hanako@example.co.jp"
    assert not world.envelopes.envelopes


def test_rows_move_up_and_down_and_are_removed_in_pure_form_logic() -> None:
    form = EnvelopeForm(rows=[ParticipantRow(name="A"), ParticipantRow(name="B"), ParticipantRow(name="C")])
    assert apply_row_action(form, "down-0") and [r.name for r in form.rows] == ["B", "A", "C"]
    assert apply_row_action(form, "up-2") and [r.name for r in form.rows] == ["B", "C", "A"]
    assert apply_row_action(form, "remove-1") and [r.name for r in form.rows] == ["B", "A"]
    assert not apply_row_action(form, "send")


def test_a_moved_row_is_sent_in_its_new_place(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post("/app/new", {**_form(), "action": "up-2"})
    assert _value(page, "participants-0-email") == "ichiro@takahashi.example.jp"
    assert _value(page, "participants-1-email") == "hanako@example.co.jp"
    values = page.form_values("/app/new")
    values.pop("action", None)
    page = browser.post("/app/new", {**values, "action": "draft"}, files={"documents": [("a.pdf", NDA)]})
    assert page.status == 303
    envelope = _only_envelope(world)
    assert [p.person.email for p in envelope.signers_in_order()] == [
        "ichiro@takahashi.example.jp",
        "hanako@example.co.jp",
        "alice@acme.example.com",
    ]


# --- drafts ---------------------------------------------------------------------------------------


def _save_draft(browser: ConsoleBrowser, world: FakeWorld) -> str:
    browser.get("/app/new")
    page = browser.post("/app/new", {**_form(), "action": "draft"}, files={"documents": [("a.pdf", NDA)]})
    assert page.status == 303, page.text()
    envelope = _only_envelope(world)
    assert page.location and page.location.endswith(f"/app/new?from={envelope.id}")
    return str(envelope.id)


def test_a_draft_is_edited_keeping_its_access_code_and_then_deleted(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id = _save_draft(browser, world)
    page = browser.follow()
    assert page.status == 200 and _value(page, "title") == "業務委託契約書"
    assert _value(page, "participants-1-code") == "", "an access code is never shown again"
    values = page.form_values("/app/new")
    values.pop("action", None)
    page = browser.post("/app/new", {**values, "title": "業務委託契約書（改訂）", "action": "draft"})
    assert page.status == 303
    edited = world.envelopes.envelopes[envelope_id]
    assert edited.title == "業務委託契約書（改訂）"
    alice = edited.signers_in_order()[1]
    assert alice.access_code_hash and access_code_matches("blue-42", alice.access_code_hash)
    page = browser.post("/app/new", {**values, "action": "delete"})
    assert page.status == 303 and envelope_id not in world.envelopes.envelopes


def test_a_member_cannot_open_another_members_draft(world: FakeWorld) -> None:
    envelope_id = _save_draft(ConsoleBrowser(world, MEMBER), world)
    other = ConsoleBrowser(world, OTHER_MEMBER)
    assert other.get(f"/app/new?from={envelope_id}").status == 404
    assert other.get(f"/app/envelopes/{envelope_id}/preview").status == 404
    assert _fetch(other, f"/app/envelopes/{envelope_id}/documents/d1/pages/1.png")["statusCode"] == 404


# --- templates ------------------------------------------------------------------------------------


def test_the_form_is_saved_as_a_personal_template_and_an_envelope_is_started_from_it(
    world: FakeWorld,
) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post(
        "/app/new",
        {**_form(), "template_name": "業務委託（標準）", "template_team": "1", "action": "template"},
        files={"documents": [("a.pdf", NDA), ("b.pdf", ORDER)]},
    )
    assert page.status == 303, page.text()
    template = next(iter(world.templates.templates.values()))
    assert template.name == "業務委託（標準）"
    assert template.scope == TemplateScope.PERSONAL, "a member's template is personal, whatever the box says"
    assert [d.name for d in template.documents] == ["a.pdf", "b.pdf"]
    assert not world.envelopes.envelopes, "only the template was asked for"
    page = browser.follow()
    assert page.status == 200 and _value(page, "template_id") == template.id
    assert _value(page, "participants-0-email") == "ichiro@takahashi.example.jp"
    values = page.form_values("/app/new")
    values.pop("action", None)
    page = browser.post("/app/new", {**values, "participants-1-code": "red-77", "action": "send"})
    assert page.status == 303, page.text()
    envelope = _only_envelope(world)
    assert envelope.template_id == template.id and envelope.status == EnvelopeStatus.SENT
    assert [d.name for d in envelope.documents] == ["a.pdf", "b.pdf"]


def test_an_admin_saves_a_team_template_with_the_checkbox(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, ADMIN)
    browser.get("/app/new")
    page = browser.post(
        "/app/new",
        {**_form(), "template_team": "1", "action": "template"},
        files={"documents": [("a.pdf", NDA)]},
    )
    assert page.status == 303
    assert next(iter(world.templates.templates.values())).scope == TemplateScope.TEAM


# --- previews ----------------------------------------------------------------------------------------


def _fetch(browser: ConsoleBrowser, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The raw proxy answer (a PNG body stays base64, as API Gateway receives it)."""
    captured: dict[str, Any] = {}
    resolve = browser.app.resolve

    def capture(event: Any, context: Any) -> dict[str, Any]:
        answer = resolve(event, context)
        captured.update(answer)
        return {**answer, "body": "", "isBase64Encoded": False}

    browser.app.resolve = capture  # type: ignore[method-assign]
    try:
        browser.get(path, headers=headers)
    finally:
        del browser.app.resolve
    return captured


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def test_page_two_of_the_second_document_is_previewed_as_a_png_with_an_etag(world: FakeWorld) -> None:
    import base64

    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    browser.post(
        "/app/new", {**_form(), "action": "draft"}, files={"documents": [("a.pdf", NDA), ("b.pdf", ORDER)]}
    )
    envelope_id = _only_envelope(world).id
    page = browser.get(f"/app/envelopes/{envelope_id}/preview")
    assert page.status == 200
    images = page.xpath("//img/@src")
    assert len(images) == 1 + 3
    answer = _fetch(browser, f"/app/envelopes/{envelope_id}/documents/d2/pages/2.png")
    assert answer["statusCode"] == 200 and answer["isBase64Encoded"]
    width, height = _png_size(base64.b64decode(answer["body"]))
    assert width == preview.PREVIEW_WIDTH and 1.3 < height / width < 1.5  # A4, portrait
    etag = answer["multiValueHeaders"]["ETag"][0]
    again = _fetch(browser, f"/app/envelopes/{envelope_id}/documents/d2/pages/2.png", {"If-None-Match": etag})
    assert again["statusCode"] == 304
    assert _fetch(browser, f"/app/envelopes/{envelope_id}/documents/d2/pages/4.png")["statusCode"] == 404


def test_a_page_past_the_preview_limit_is_not_rendered() -> None:
    with pytest.raises(NotFound):
        preview.render(NDA, preview.MAX_PREVIEW_PAGES + 1, cache=preview.PageCache())


def test_a_page_whose_bitmap_would_pass_the_pixel_cap_is_drawn_smaller() -> None:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 14400))  # a receipt roll: 72 times as tall as wide
    from io import BytesIO

    out = BytesIO()
    pdf.save(out)
    rendered = preview.render(out.getvalue(), 1, cache=preview.PageCache())
    width, height = _png_size(rendered.png)
    assert width * height <= preview.MAX_PIXELS * 1.01
    assert width < preview.PREVIEW_WIDTH


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/app/new", "/app/new/complete"])
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(world: FakeWorld, path: str) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    page = browser.post(
        path, {**_form(), "action": "send"}, files={"documents": [("a.pdf", NDA)]}, csrf=False
    )
    assert page.status == 403
    assert not world.envelopes.envelopes and not world.documents.objects


def test_a_post_from_another_site_is_refused(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER, origin="https://evil.example")
    browser.get("/app/new")
    page = browser.post("/app/new", {**_form(), "action": "send"}, files={"documents": [("a.pdf", NDA)]})
    assert page.status == 403 and not world.envelopes.envelopes


# --- the direct upload path (what upload.js does) --------------------------------------------------------


def test_the_script_path_creates_the_draft_gets_presigned_posts_and_completes_after_the_upload(
    world: FakeWorld,
) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    fields = {
        **_form(),
        "action": "send",
        "upload": "presigned",
        "document_name": ["a.pdf", "b.pdf"],
        "document_size": [str(len(NDA)), str(len(ORDER))],
    }
    page = browser.post("/app/new", fields)
    assert page.status == 201, page.text()
    created = browser.json(page)
    assert [u["document_id"] for u in created["uploads"]] == ["d1", "d2"]
    # the browser posts each file to its presigned POST (here: straight into the fake bucket)
    for upload, data in zip(created["uploads"], (NDA, ORDER), strict=True):
        world.documents.objects[upload["fields"]["key"]] = data
    done = browser.post(
        created["complete"].removeprefix(browser.base),
        {**_form(), "action": "send", "envelope_id": created["envelope_id"]},
    )
    assert done.status == 200, done.text()
    assert browser.json(done)["redirect"].endswith(f"/app/envelopes/{created['envelope_id']}")
    assert world.envelopes.envelopes[created["envelope_id"]].status == EnvelopeStatus.SENT


def test_the_script_path_refuses_a_damaged_upload_on_its_file_and_drops_the_draft(world: FakeWorld) -> None:
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app/new")
    fields = {
        **_form(),
        "action": "send",
        "upload": "presigned",
        "document_name": ["x.pdf"],
        "document_size": ["99"],
    }
    created = browser.json(browser.post("/app/new", fields))
    world.documents.objects[created["uploads"][0]["fields"]["key"]] = DAMAGED
    done = browser.post(
        "/app/new/complete", {**_form(), "action": "send", "envelope_id": created["envelope_id"]}
    )
    assert done.status == 422
    assert _file_errors(done) == {"x.pdf": DamagedPdf().message("ja")}
    assert not world.envelopes.envelopes
