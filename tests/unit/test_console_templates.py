"""テンプレート in the console (issue 12 item 5), on the in-memory fakes through the console browser: the
personal and team templates, a new one from a PDF, its page, editing its roles, deleting it, using it,
and who may do what (a member uses a team template but cannot change it, whatever they post)."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from tachiai.domain.events import Person
from tachiai.domain.templates import Template, TemplateDocument, TemplateRole, TemplateScope

from tests.console_browser import ADMIN, MEMBER, OTHER_MEMBER, ConsoleBrowser, Page, StaffPerson
from tests.fakes import SEAL_FUNCTION, FakeWorld, fake_world
from tests.fixtures.pdfs import padded_pdf, simple_pdf

ROOT = Path(__file__).resolve().parents[2]


def _seal_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tachiai_test_console_templates_seal", ROOT / "functions/seal/handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEAL = _seal_handler()
NDA = simple_pdf(2, "Mutual Non-Disclosure Agreement")


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    # The seal function in process: the real preflight of every template document.
    world.functions.routes[SEAL_FUNCTION] = lambda event: SEAL.run(world.svc, event)
    return world


def sub_of(person: StaffPerson) -> str:
    return f"sub-{person.username}"  # what the console browser's sign-in gives as the identity's sub


def stored(
    world: FakeWorld, name: str, scope: TemplateScope, owner: StaffPerson, **changes: object
) -> Template:
    """A template saved straight into the store (a test's starting point)."""
    now = world.clock()
    template = Template(
        id=f"tpl_{abs(hash((name, scope))) % 16**24:024x}",
        name=name,
        scope=scope,
        owner_id=sub_of(owner),
        title=f"{name}契約書",
        message="ご確認をお願いします。\n期日までにご対応ください。",
        link_validity=timedelta(days=10),
        roles=[
            TemplateRole(label="受託者"),
            TemplateRole(
                label="承認者",
                default=Person(name="山﨑 花子", email="hanako@example.co.jp", organization="髙橋﨑商事"),
                language="en",
                access_code_required=True,
            ),
        ],
        documents=[TemplateDocument(id="doc_1", name=f"{name}.pdf", sha256="0" * 64, size=100, pages=2)],
        created_at=now,
        updated_at=now,
    )
    return world.templates.save(template.model_copy(update=changes), create=True)


def new_template_form(**overrides: str) -> dict[str, str]:
    fields = {
        "name": "業務委託",
        "scope": "personal",
        "title": "業務委託契約書",
        "message": "ご確認ください。",
        "expiry_days": "14",
        "roles-0-label": "受託者",
        "roles-0-language": "ja",
        "roles-1-label": "承認者",
        "roles-1-name": "山﨑 花子",
        "roles-1-email": "hanako@example.co.jp",
        "roles-1-language": "en",
        "roles-1-code": "1",
        "roles-2-label": "",
        "roles-2-language": "ja",
    }
    return {**fields, **overrides}


def rows(page: Page, scope: str) -> list[str]:
    return [
        str(r.get("data-template")) for r in page.xpath(f"//table[@data-scope='{scope}']//tr[@data-template]")
    ]


def actions(page: Page, template_id: str) -> set[str]:
    return {str(a) for a in page.xpath(f"//tr[@data-template='{template_id}']//a/@data-action")}


def field_error(page: Page, name: str) -> str:
    found = page.xpath(f"//*[@id='{name}-error']")
    return " ".join(found[0].text_content().split()) if found else ""


def error_page_text(page: Page) -> str:
    return " ".join(page.xpath("//div[contains(@class,'error')]")[0].text_content().split())


# --- the list -------------------------------------------------------------------------------------------


def test_the_list_shows_my_personal_templates_and_the_teams_but_not_another_members(world):
    mine = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    team = stored(world, "業務委託", TemplateScope.TEAM, ADMIN)
    stored(world, "他人の", TemplateScope.PERSONAL, OTHER_MEMBER)
    page = ConsoleBrowser(world, MEMBER).get("/app/templates")
    assert page.status == 200
    assert rows(page, "personal") == [mine.id] and rows(page, "team") == [team.id]
    assert "他人の" not in page.text()
    # scope badges, roles in order, documents, ready
    row = " ".join(page.xpath(f"//tr[@data-template='{team.id}']")[0].text_content().split())
    assert "チーム" in row and "業務委託.pdf" in row and "使用できます" in row
    assert [li.text_content() for li in page.xpath(f"//tr[@data-template='{team.id}']//ol/li")] == [
        "受託者",
        "承認者",
    ]


def test_use_opens_the_new_envelope_page_started_from_the_template(world):
    team = stored(world, "業務委託", TemplateScope.TEAM, ADMIN)
    browser = ConsoleBrowser(world, MEMBER)
    page = browser.get("/app/templates")
    use = page.xpath(f"//tr[@data-template='{team.id}']//a[@data-action='use']/@href")
    assert use == [f"/app/new?template={team.id}"]
    started = browser.get(str(use[0]))
    assert started.status == 200 and "承認者" in started.text()
    assert [str(v) for v in started.xpath("//input[@name='title']/@value")] == ["業務委託契約書"]


def test_the_list_speaks_the_visitors_language(world):
    stored(world, "NDA", TemplateScope.TEAM, ADMIN)
    browser = ConsoleBrowser(world, MEMBER, language="en")
    text = browser.get("/app/templates").text()
    assert "Personal templates" in text and "Team templates" in text and "Use" in text


# --- one template ---------------------------------------------------------------------------------------


def test_the_template_page_shows_roles_in_order_with_defaults_access_codes_message_expiry_and_documents(
    world,
):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    page = ConsoleBrowser(world, MEMBER).get(f"/app/templates/{template.id}")
    assert page.status == 200
    roles = [" ".join(li.text_content().split()) for li in page.xpath("//ol[@class='roles']/li")]
    assert roles[0].startswith("受託者") and "送信時に指定" in roles[0] and "アクセスコード" not in roles[0]
    assert roles[1].startswith("承認者") and "髙橋﨑商事 山﨑 花子 <hanako@example.co.jp>" in roles[1]
    assert "アクセスコード必須" in roles[1] and "English" in roles[1]
    text = page.text()
    assert "ご確認をお願いします。期日までにご対応ください。" in text and "10 日" in text
    assert "秘密保持.pdf 2 ページ" in text


def test_another_members_personal_template_does_not_exist_for_me(world):
    theirs = stored(world, "他人の", TemplateScope.PERSONAL, OTHER_MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    for path in (f"/app/templates/{theirs.id}", f"/app/templates/{theirs.id}/edit"):
        assert browser.get(path).status == 404
    assert browser.post(f"/app/templates/{theirs.id}/delete", {}).status == 404
    assert world.templates.get(theirs.id) is not None


# --- a new template from PDFs ---------------------------------------------------------------------------


def test_a_new_template_is_saved_from_a_pdf_with_its_roles_and_shown(world):
    browser = ConsoleBrowser(world, MEMBER)
    assert browser.get("/app/templates/new").status == 200
    # When the form is posted with a PDF
    answer = browser.post(
        "/app/templates", new_template_form(), files={"documents": ("業務委託契約書.pdf", NDA)}
    )
    # Then the template is saved, checked by the preflight, and its page says so
    assert answer.status == 303
    [template] = world.templates.list_for(sub_of(MEMBER))
    assert answer.location == f"/app/templates/{template.id}"
    assert template.scope == TemplateScope.PERSONAL and template.ready and template.documents[0].pages == 2
    assert [
        (r.label, r.default.email if r.default else None, r.access_code_required) for r in template.roles
    ] == [
        ("受託者", None, False),
        ("承認者", "hanako@example.co.jp", True),
    ]
    assert template.link_validity == timedelta(days=14) and template.message == "ご確認ください。"
    page = browser.follow()
    assert page.notice() == "テンプレートを保存しました。" and "業務委託契約書.pdf" in page.text()


def test_a_new_template_without_a_pdf_comes_back_with_everything_typed(world):
    browser = ConsoleBrowser(world, MEMBER)
    page = browser.post(
        "/app/templates", new_template_form(), files={"documents": ("", b"", "application/octet-stream")}
    )
    assert page.status == 422
    assert field_error(page, "documents") == "PDF ファイルを 1 つ以上選んでください。"
    values = page.form_values("/app/templates")
    assert values["name"] == "業務委託" and values["roles-1-email"] == "hanako@example.co.jp"
    assert world.templates.list_for(sub_of(MEMBER)) == []


def test_a_file_that_is_not_a_pdf_is_named_in_the_refusal(world):
    browser = ConsoleBrowser(world, MEMBER, language="en")
    files = {"documents": [("契約書.pdf", NDA), ("写真.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")]}
    page = browser.post("/app/templates", new_template_form(), files=files)
    assert page.status == 422
    assert field_error(page, "documents").startswith("写真.png: ")
    assert world.templates.list_for(sub_of(MEMBER)) == []


def test_pdfs_too_large_together_for_one_request_are_refused_before_anything_is_stored(world):
    # Two PDFs of 2.5 MiB: each fine alone, too much together for Lambda's request once base64-encoded.
    big = padded_pdf(5 * 512 * 1024)
    browser = ConsoleBrowser(world, MEMBER)
    page = browser.post(
        "/app/templates", new_template_form(), files={"documents": [("a.pdf", big), ("b.pdf", big)]}
    )
    assert page.status == 422
    assert field_error(page, "documents").startswith("選んだ PDF ファイルは合計 4 MB までです。")
    assert world.templates.list_for(sub_of(MEMBER)) == [] and world.documents.objects == {}


def test_a_refused_files_name_is_shown_cleaned_like_every_stored_name(world):
    browser = ConsoleBrowser(world, MEMBER)
    # A right-to-left override would show "写真\u202egnp.pdf" as "写真fdp.png" in the message.
    page = browser.post(
        "/app/templates",
        new_template_form(),
        files={"documents": ("写真\u202egnp.pdf", b"GIF89a" + b"0" * 64)},
    )
    assert page.status == 422
    assert field_error(page, "documents").startswith("写真gnp.pdf: ")


def test_form_mistakes_are_shown_at_their_fields_and_nothing_is_saved(world):
    browser = ConsoleBrowser(world, MEMBER)
    fields = new_template_form(**{"name": "", "roles-1-email": "hanako@", "expiry_days": "999"})
    page = browser.post("/app/templates", fields, files={"documents": ("契約書.pdf", NDA)})
    assert page.status == 422
    assert field_error(page, "name") == "入力してください。"
    assert field_error(page, "roles-1-email") == "メールアドレスの形式が正しくありません。"
    assert field_error(page, "expiry_days").startswith("有効期限は")
    assert page.xpath("//*[@role='alert']")
    assert world.templates.list_for(sub_of(MEMBER)) == []


def test_a_member_is_offered_no_team_scope_and_a_forged_team_template_is_refused_with_403(world):
    browser = ConsoleBrowser(world, MEMBER)
    assert browser.get("/app/templates/new").xpath("//select[@name='scope']") == []
    page = browser.post(
        "/app/templates", new_template_form(scope="team"), files={"documents": ("契約書.pdf", NDA)}
    )
    assert page.status == 403
    assert "チームのテンプレートを作成・変更・削除できるのは管理者だけです。" in error_page_text(page)
    assert world.templates.list_for(sub_of(MEMBER)) == []


def test_an_admin_saves_a_team_template(world):
    browser = ConsoleBrowser(world, ADMIN)
    assert browser.get("/app/templates/new").xpath("//select[@name='scope']/option/@value") == [
        "personal",
        "team",
    ]
    answer = browser.post(
        "/app/templates", new_template_form(scope="team"), files={"documents": ("契約書.pdf", NDA)}
    )
    assert answer.status == 303
    [template] = world.templates.list_for(sub_of(MEMBER))  # the team's: every member sees it
    assert template.scope == TemplateScope.TEAM and template.owner_id == sub_of(ADMIN)


# --- editing --------------------------------------------------------------------------------------------


def test_the_edit_form_starts_with_the_templates_values(world):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    page = ConsoleBrowser(world, MEMBER).get(f"/app/templates/{template.id}/edit")
    values = page.form_values(f"/app/templates/{template.id}/edit")
    assert values["name"] == "秘密保持" and values["expiry_days"] == "10"
    assert values["roles-0-label"] == "受託者" and values["roles-1-email"] == "hanako@example.co.jp"
    assert (
        values["roles-1-code"] == "1" and "roles-0-code" not in values and values["roles-1-language"] == "en"
    )


def test_adding_and_moving_roles_changes_the_form_only_until_it_is_saved(world):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path = f"/app/templates/{template.id}/edit"
    values = browser.get(path).form_values(path)
    # When a role is added: the form comes back with an empty third row, nothing saved
    page = browser.post(path, {**values, "action": "add"})
    assert page.status == 200 and len(page.xpath("//fieldset[@data-row]")) == 3
    assert len(world.templates.get(template.id).roles) == 2
    # And the new role is filled in and moved up to the top
    values = {**page.form_values(path), "roles-2-label": "連帯保証人"}
    page = browser.post(path, {**values, "action": "up-2"})
    page = browser.post(path, {**page.form_values(path), "action": "up-1"})
    values = page.form_values(path)
    assert [values[f"roles-{i}-label"] for i in range(3)] == ["連帯保証人", "受託者", "承認者"]
    assert values["roles-2-code"] == "1"  # the access code requirement moved with its role
    # When saved: the template has the roles in that order
    answer = browser.post(path, {**values, "action": "save", "name": "秘密保持（保証人付き）"})
    assert answer.status == 303 and answer.location == f"/app/templates/{template.id}"
    saved = world.templates.get(template.id)
    assert [r.label for r in saved.roles] == ["連帯保証人", "受託者", "承認者"]
    assert saved.roles[2].access_code_required and saved.name == "秘密保持（保証人付き）"
    assert browser.follow().notice() == "テンプレートの変更を保存しました。"


def test_removing_a_role_and_saving_keeps_the_others_and_the_documents(world):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path = f"/app/templates/{template.id}/edit"
    page = browser.post(path, {**browser.get(path).form_values(path), "action": "remove-0"})
    assert [str(v) for v in page.xpath("//input[@name='roles-0-label']/@value")] == ["承認者"]
    assert browser.post(path, {**page.form_values(path), "action": "save"}).status == 303
    saved = world.templates.get(template.id)
    assert [r.label for r in saved.roles] == ["承認者"] and saved.documents == template.documents


def test_pressing_enter_in_a_field_saves_rather_than_pressing_a_row_button(world):
    # The first submit button of the form is the one a browser presses on Enter.
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    page = ConsoleBrowser(world, MEMBER).get(f"/app/templates/{template.id}/edit")
    first = page.xpath("//form[contains(@action,'/edit')]//button[@type='submit']")[0]
    assert (first.get("name"), first.get("value")) == ("action", "save")


def test_an_invalid_edit_comes_back_with_the_problem_and_changes_nothing(world):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER, language="zh")
    path = f"/app/templates/{template.id}/edit"
    values = {**browser.get(path).form_values(path), "roles-1-label": "受託者", "action": "save"}
    page = browser.post(path, values)
    assert page.status == 422
    assert field_error(page, "roles-1-label") == "其他行中有相同的角色名称。角色名称不能重复。"
    assert world.templates.get(template.id).roles == template.roles


# --- deleting -------------------------------------------------------------------------------------------


def test_deleting_asks_first_then_deletes(world):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    confirm = browser.get(f"/app/templates/{template.id}/delete")
    assert confirm.status == 200 and "テンプレート「秘密保持」を削除しますか？" in confirm.text()
    assert world.templates.list_for(sub_of(MEMBER)) == [template]  # asking deletes nothing
    answer = browser.post(f"/app/templates/{template.id}/delete", {})
    assert answer.status == 303 and answer.location == "/app/templates"
    assert world.templates.list_for(sub_of(MEMBER)) == []
    assert browser.follow().notice() == "テンプレートを削除しました。"


# --- a member and the team's templates -------------------------------------------------------------------


def test_a_member_sees_no_edit_or_delete_for_a_team_template_an_admin_does(world):
    team = stored(world, "業務委託", TemplateScope.TEAM, ADMIN)
    mine = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    member_list = ConsoleBrowser(world, MEMBER).get("/app/templates")
    assert actions(member_list, team.id) == {"use"}
    assert actions(member_list, mine.id) == {"use", "edit", "delete"}
    member_page = ConsoleBrowser(world, MEMBER).get(f"/app/templates/{team.id}")
    assert {str(a) for a in member_page.xpath("//a/@data-action")} == {"use"}
    assert actions(ConsoleBrowser(world, ADMIN).get("/app/templates"), team.id) == {"use", "edit", "delete"}


@pytest.mark.parametrize(
    ("method", "suffix", "fields"),
    [
        ("GET", "/edit", None),
        ("GET", "/delete", None),
        (
            "POST",
            "/edit",
            {"action": "save", "name": "乗っ取り", "title": "x", "expiry_days": "7", "roles-0-label": "甲"},
        ),
        (
            "POST",
            "/edit",
            {"action": "add", "name": "x", "title": "x", "expiry_days": "7", "roles-0-label": "甲"},
        ),
        ("POST", "/edit", {"action": "save", "name": "", "title": "", "expiry_days": "x"}),  # invalid too
        ("POST", "/delete", {}),
    ],
)
def test_a_member_cannot_change_a_team_template_by_any_request(world, method, suffix, fields):
    team = stored(world, "業務委託", TemplateScope.TEAM, ADMIN)
    browser = ConsoleBrowser(world, MEMBER)
    path = f"/app/templates/{team.id}{suffix}"
    page = browser.get(path) if method == "GET" else browser.post(path, fields)
    assert page.status == 403
    assert "チームのテンプレートを作成・変更・削除できるのは管理者だけです。" in error_page_text(page)
    assert world.templates.get(team.id) == team


def test_an_admin_edits_a_team_template(world):
    team = stored(world, "業務委託", TemplateScope.TEAM, ADMIN)
    browser = ConsoleBrowser(world, ADMIN)
    path = f"/app/templates/{team.id}/edit"
    values = browser.get(path).form_values(path)
    assert values["scope"] == "team"
    assert (
        browser.post(path, {**values, "title": "業務委託契約書（2025年版）", "action": "save"}).status == 303
    )
    assert world.templates.get(team.id).title == "業務委託契約書（2025年版）"


# --- CSRF -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/edit", "/delete"])
@pytest.mark.parametrize("forgery", ["no token", "other site"])
def test_every_template_form_refuses_a_post_without_the_token_or_from_another_site(world, suffix, forgery):
    template = stored(world, "秘密保持", TemplateScope.PERSONAL, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)
    path = "/app/templates" + (f"/{template.id}{suffix}" if suffix else "")
    fields = {**new_template_form(), "action": "save"}
    files = {"documents": ("契約書.pdf", NDA)} if not suffix else None
    if forgery == "other site":
        browser.origin = "https://evil.example"
    page = browser.post(path, fields, files=files, csrf=forgery != "no token")
    assert page.status == 403
    assert world.templates.list_for(sub_of(MEMBER)) == [template]
