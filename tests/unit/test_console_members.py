"""メンバー in the console (issue 12 item 5; administrators only), on the in-memory fakes through the
console browser: the staff with their role and state, invite, change a role, disable and enable, and
the service's refusals (last administrator, oneself, an address with an account) in the visitor's
language. A member gets a 403 page and no navigation entry."""

from __future__ import annotations

import dataclasses

import pytest
from tachiai.domain.errors import LastAdmin, UserExists
from tachiai.domain.users import DirectoryUser

from tests.console_browser import ADMIN, MEMBER, ConsoleBrowser, Page
from tests.fakes import FakeWorld, fake_world

HANAKO = DirectoryUser(
    username="user-hanako", email="hanako@example.co.jp", name="山﨑 花子", role="approver"
)
INVITED = DirectoryUser(
    username="user-new",
    email="new@example.co.jp",
    name="新人 三郎",
    role="member",
    status="FORCE_CHANGE_PASSWORD",
)
GONE = DirectoryUser(
    username="user-gone", email="gone@example.co.jp", name="退職 四郎", role="member", enabled=False
)


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    for user in (HANAKO, INVITED, GONE):
        world.directory.add(user)
    return world


@pytest.fixture
def admin(world: FakeWorld) -> ConsoleBrowser:
    return ConsoleBrowser(world, ADMIN)


def row(page: Page, email: str) -> dict[str, str]:
    """One member's row: its cells' words by column, and the actions it offers."""
    [tr] = page.xpath(f"//tr[@data-email='{email}']")
    cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
    return {
        "name": cells[0],
        "email": cells[1],
        "role": str(tr.xpath(".//select[@name='role']/option[@selected]/@value")[0]),
        "state": cells[3],
        "actions": " ".join(str(a) for a in tr.xpath(".//button/@data-action")),
    }


def problem(page: Page) -> str:
    found = page.xpath("//*[@id='problem']")
    return " ".join(found[0].text_content().split()) if found else ""


def test_an_admin_sees_every_member_with_email_name_role_and_state(world, admin):
    page = admin.get("/app/members")
    assert page.status == 200
    emails = [str(e) for e in page.xpath("//tr/@data-email")]
    assert emails == sorted(emails) and set(emails) == {ADMIN.email, HANAKO.email, INVITED.email, GONE.email}
    assert row(page, HANAKO.email) == {
        "name": "山﨑 花子",
        "email": "hanako@example.co.jp",
        "role": "approver",
        "state": "有効",
        "actions": "role disable",
    }
    assert row(page, INVITED.email)["state"] == "招待中（未サインイン）"
    assert row(page, GONE.email)["state"] == "無効" and row(page, GONE.email)["actions"] == "role enable"
    # the admin's own row: marked, and no disable button
    assert "あなた" in row(page, ADMIN.email)["name"] and row(page, ADMIN.email)["actions"] == "role"


def test_inviting_creates_the_account_and_mails_the_invitation(world, admin):
    answer = admin.post(
        "/app/members", {"email": "shiro@example.co.jp", "name": "新井 四郎", "role": "approver"}
    )
    assert answer.status == 303 and answer.location == "/app/members"
    assert world.directory.invited == ["shiro@example.co.jp"]
    page = admin.follow()
    assert page.notice() == "招待メールを送りました。"
    assert row(page, "shiro@example.co.jp")["role"] == "approver"
    assert row(page, "shiro@example.co.jp")["state"] == "招待中（未サインイン）"


def test_inviting_an_address_that_has_an_account_says_so_and_keeps_the_form(world, admin):
    admin.language = "en"
    page = admin.post("/app/members", {"email": HANAKO.email, "name": "別人", "role": "member"})
    assert page.status == 409
    assert (
        problem(page)
        == UserExists(email=HANAKO.email).message("en")
        == "hanako@example.co.jp already has an account."
    )
    values = page.form_values("/app/members")
    assert values["email"] == HANAKO.email and values["name"] == "別人"
    assert world.directory.invited == []


def test_an_invitation_with_a_malformed_address_is_refused_at_the_field(world, admin):
    page = admin.post("/app/members", {"email": "shiro@", "name": "新井 四郎", "role": "member"})
    assert page.status == 422
    assert " ".join(page.xpath("//*[@id='email-error']")[0].text_content().split()) == (
        "メールアドレスの形式が正しくありません。"
    )
    assert page.form_values("/app/members")["name"] == "新井 四郎"
    assert world.directory.invited == []


def test_changing_a_role(world, admin):
    answer = admin.post(f"/app/members/{HANAKO.username}/role", {"role": "admin"})
    assert answer.status == 303
    assert world.directory.accounts[HANAKO.username].role == "admin"
    assert admin.follow().notice() == "役割を変更しました。"


def test_disabling_and_enabling_a_member(world, admin):
    assert admin.post(f"/app/members/{HANAKO.username}/disable", {}).status == 303
    assert not world.directory.accounts[HANAKO.username].enabled
    assert admin.follow().notice() == "メンバーを無効にしました。このメンバーはサインインできなくなります。"
    assert admin.post(f"/app/members/{HANAKO.username}/enable", {}).status == 303
    assert world.directory.accounts[HANAKO.username].enabled


def test_the_last_admin_cannot_step_down_and_is_told_why_in_their_language(world, admin):
    admin.language = "zh"
    page = admin.post(f"/app/members/{ADMIN.username}/role", {"role": "member"})
    assert page.status == 409
    assert problem(page) == LastAdmin(user=ADMIN.email).message("zh")
    assert problem(page).startswith("admin@example.co.jp 是唯一启用的管理员")
    assert world.directory.accounts[ADMIN.username].role == "admin"
    # the list is still there under the refusal
    assert row(page, ADMIN.email)["role"] == "admin"


def test_an_admin_cannot_disable_themselves(world, admin):
    page = admin.post(f"/app/members/{ADMIN.username}/disable", {})  # no button: a forged post
    assert page.status == 409
    assert problem(page) == "自分自身のアカウントは無効にできません。他の管理者に依頼してください。"
    assert world.directory.accounts[ADMIN.username].enabled


def test_an_unknown_member_is_said_to_be_unknown(world, admin):
    page = admin.post("/app/members/nobody/disable", {})
    assert page.status == 404 and "nobody" in problem(page)


def test_an_invalid_role_changes_nothing(world, admin):
    page = admin.post(f"/app/members/{HANAKO.username}/role", {"role": "owner"})
    assert page.status == 422 and problem(page) == "役割を一覧から選んでください。"
    assert world.directory.accounts[HANAKO.username] == HANAKO


def test_a_member_gets_403_and_no_navigation_entry(world):
    browser = ConsoleBrowser(world, MEMBER)
    home = browser.get("/app/templates")
    assert "/app/members" not in home.links()
    page = browser.get("/app/members")
    assert page.status == 403 and "管理者のみ" in page.text()
    assert "/app/members" in ConsoleBrowser(world, ADMIN).get("/app/templates").links()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/app/members", {"email": "shiro@example.co.jp", "name": "新井 四郎", "role": "admin"}),
        (f"/app/members/{HANAKO.username}/role", {"role": "admin"}),
        (f"/app/members/{HANAKO.username}/disable", {}),
        (f"/app/members/{GONE.username}/enable", {}),
    ],
)
def test_a_member_cannot_manage_members_by_a_forged_post(world, path, fields):
    before = dict(world.directory.accounts)
    page = ConsoleBrowser(world, MEMBER).post(path, fields)
    assert page.status == 403
    assert {k: v for k, v in world.directory.accounts.items() if k in before} == before
    assert world.directory.invited == []


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/app/members", {"email": "shiro@example.co.jp", "name": "新井 四郎", "role": "admin"}),
        (f"/app/members/{HANAKO.username}/role", {"role": "admin"}),
        (f"/app/members/{HANAKO.username}/disable", {}),
        (f"/app/members/{GONE.username}/enable", {}),
    ],
)
@pytest.mark.parametrize("forgery", ["no token", "other site"])
def test_every_members_form_refuses_a_post_without_the_token_or_from_another_site(
    world, path, fields, forgery
):
    browser = ConsoleBrowser(world, ADMIN)
    before = dataclasses.replace(world.directory.accounts[HANAKO.username])
    if forgery == "other site":
        browser.origin = "https://evil.example"
    page = browser.post(path, fields, csrf=forgery != "no token")
    assert page.status == 403
    assert world.directory.accounts[HANAKO.username] == before
    assert world.directory.accounts[GONE.username] == GONE and world.directory.invited == []
