"""A template's PDFs and automatic reminders on its edit page (issue 12): PDFs added, removed or
replaced, and "remind every N days" set or turned off (off by default), over the templates service."""

from __future__ import annotations

import pytest
from tachiai.domain.envelope import AUTO_REMIND_DAYS
from tachiai.domain.templates import TemplateDocument, TemplateScope

from tests.console_browser import MEMBER, ConsoleBrowser
from tests.fakes import SEAL_FUNCTION, FakeWorld, fake_world
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_console_templates import SEAL, field_error, stored

ORDER = simple_pdf(3, "Purchase Order")
TWO = [
    TemplateDocument(id="doc_1", name="本契約.pdf", sha256="0" * 64, size=100, pages=2),
    TemplateDocument(id="doc_2", name="別紙.pdf", sha256="1" * 64, size=100, pages=1),
]


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    world.functions.routes[SEAL_FUNCTION] = lambda event: SEAL.run(world.svc, event)  # the real preflight
    return world


def _edit(browser: ConsoleBrowser, template_id: str) -> tuple[str, dict[str, object]]:
    path = f"/app/templates/{template_id}/edit"
    values: dict[str, object] = dict(browser.get(path).form_values(path))
    values.pop("keep_document", None)  # one value per name there: each test says which stay
    return path, values


def test_the_edit_form_offers_reminders_off_by_default_and_each_pdf_to_keep(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER, documents=TWO)
    page = ConsoleBrowser(world, MEMBER).get(f"/app/templates/{template.id}/edit")
    assert [str(v) for v in page.xpath("//input[@name='remind_days']/@value")] == [""]
    assert [str(v) for v in page.xpath("//input[@name='keep_document' and @checked]/@value")] == [
        "doc_1",
        "doc_2",
    ]
    assert page.xpath("//input[@type='file' and @name='documents']")


def test_reminders_every_n_days_are_saved_and_shown_again(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(path, {**values, "remind_days": "3", "keep_document": ["doc_1"], "action": "save"})
    assert page.status == 303, page.text()
    assert world.templates.get(template.id).auto_remind_every_days == 3
    shown = browser.get(path).xpath("//input[@name='remind_days']/@value")
    assert [str(v) for v in shown] == ["3"]


def test_an_empty_reminder_field_turns_reminders_off(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER, auto_remind_every_days=5)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(path, {**values, "remind_days": "", "keep_document": ["doc_1"], "action": "save"})
    assert page.status == 303, page.text()
    assert world.templates.get(template.id).auto_remind_every_days is None


def test_a_reminder_interval_outside_the_bound_is_refused_at_its_field(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    too_many = str(AUTO_REMIND_DAYS[1] + 1)
    page = browser.post(
        path, {**values, "remind_days": too_many, "keep_document": ["doc_1"], "action": "save"}
    )
    assert page.status == 422 and field_error(page, "remind_days")
    assert world.templates.get(template.id).auto_remind_every_days is None


def test_an_unticked_pdf_leaves_the_template_and_the_others_stay(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER, documents=TWO)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(path, {**values, "keep_document": ["doc_2"], "action": "save"})
    assert page.status == 303, page.text()
    assert world.templates.get(template.id).documents == [TWO[1]]


def test_a_pdf_added_on_the_edit_page_joins_the_kept_ones_after_preflight(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(
        path,
        {**values, "keep_document": ["doc_1"], "action": "save"},
        files={"documents": [("発注書.pdf", ORDER)]},
    )
    assert page.status == 303, page.text()
    documents = world.templates.get(template.id).documents
    assert [d.name for d in documents] == ["秘密保持.pdf", "発注書.pdf"] and documents[1].pages == 3


def test_a_pdf_is_replaced_by_unticking_it_and_adding_the_new_one(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(path, {**values, "action": "save"}, files={"documents": [("改訂版.pdf", ORDER)]})
    assert page.status == 303, page.text()
    assert [d.name for d in world.templates.get(template.id).documents] == ["改訂版.pdf"]


def test_removing_every_pdf_without_adding_one_is_refused_and_changes_nothing(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(path, {**values, "action": "save"})
    assert page.status == 422 and field_error(page, "documents")
    assert world.templates.get(template.id).documents == template.documents


def test_an_added_file_that_is_no_pdf_is_refused_and_named(world: FakeWorld) -> None:
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path, values = _edit(browser, template.id)
    page = browser.post(
        path,
        {**values, "keep_document": ["doc_1"], "action": "save"},
        files={"documents": [("メモ.pdf", b"hello")]},
    )
    assert page.status == 422 and "メモ.pdf" in field_error(page, "documents")
    assert world.templates.get(template.id).documents == template.documents
