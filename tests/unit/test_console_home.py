"""S4: the home page / 書類一覧 — whose envelopes, their status, whose turn, filters, paging, and what
needs my action first."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from tachiai.console import home
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.services import sending, workflow
from tachiai.services.sending import CreateEnvelopeRequest

from tests.console_browser import ADMIN, MEMBER, OTHER_MEMBER, ConsoleBrowser, StaffPerson, identity_of
from tests.fakes import FakeWorld
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_fault_injection import new_world

PDF = base64.b64encode(simple_pdf()).decode()


@pytest.fixture
def world() -> FakeWorld:
    return new_world()  # sending prepares the documents through the seal function's real handler


def draft(world: FakeWorld, person: StaffPerson, title: str) -> str:
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": title,
            "participants": [{"name": "髙橋一郎", "email": "ichiro@example.jp"}],
            "documents": [{"name": "nda.pdf", "content_base64": PDF}],
        }
    )
    world.clock.advance(timedelta(seconds=1))
    return sending.create_envelope(world.svc, identity_of(person), request).envelope.id


def waiting(world: FakeWorld, person: StaffPerson, title: str) -> str:
    """Sent, and 髙橋一郎's link mailed: his turn."""
    envelope_id = draft(world, person, title)
    sending.send_envelope(world.svc, identity_of(person), envelope_id)
    workflow.notify(world.svc, envelope_id, "p1", world.chain.open_task())
    return envelope_id


def with_status(world: FakeWorld, envelope_id: str, status: EnvelopeStatus) -> None:
    stored = world.envelopes.envelopes[envelope_id]
    world.envelopes.envelopes[envelope_id] = stored.model_copy(update={"status": status})


def titles(page) -> list[str]:
    return [" ".join(a.text_content().split()) for a in page.xpath("//table[@class='list']//td/a")]


def test_a_member_sees_only_the_envelopes_they_sent(world):
    draft(world, MEMBER, "太郎の契約")
    draft(world, OTHER_MEMBER, "次郎の契約")

    page = ConsoleBrowser(world, MEMBER).get("/app")

    assert page.status == 200
    assert "太郎の契約" in page.text() and "次郎の契約" not in page.text()


def test_a_member_cannot_see_another_members_envelope_even_by_title_search(world):
    draft(world, OTHER_MEMBER, "次郎の秘密契約")

    page = ConsoleBrowser(world, MEMBER).get("/app?q=秘密")

    assert "次郎の秘密契約" not in page.text()


def test_an_administrator_sees_everyones_envelopes_with_their_sender(world):
    draft(world, MEMBER, "太郎の契約")
    draft(world, OTHER_MEMBER, "次郎の契約")

    page = ConsoleBrowser(world, ADMIN).get("/app?scope=all")

    assert "太郎の契約" in page.text() and "次郎の契約" in page.text()
    assert MEMBER.name in page.text() and OTHER_MEMBER.name in page.text()


def test_an_administrators_home_is_their_own_work(world):
    draft(world, ADMIN, "管理者の契約")
    draft(world, MEMBER, "太郎の契約")

    page = ConsoleBrowser(world, ADMIN).get("/app")

    assert "管理者の契約" in page.text() and "太郎の契約" not in page.text()


def test_an_administrator_may_narrow_everyones_list_by_status_to_their_own(world):
    draft(world, ADMIN, "管理者の契約")
    draft(world, MEMBER, "太郎の契約")

    page = ConsoleBrowser(world, ADMIN).get("/app?scope=mine&status=draft")

    assert titles(page) == ["管理者の契約"]


def test_the_everyone_list_offers_its_next_page_with_the_scope_kept(world, monkeypatch):
    monkeypatch.setattr(home, "PAGE_SIZE", 2)
    for n in range(3):
        draft(world, MEMBER if n % 2 else OTHER_MEMBER, f"契約{n}")

    page = ConsoleBrowser(world, ADMIN).get("/app?scope=all")

    [next_link] = page.xpath("//a[@rel='next']/@href")
    assert "scope=all" in next_link and "cursor=" in next_link


def test_each_row_shows_status_whose_turn_and_deadline_and_links_to_the_envelope(world):
    envelope_id = waiting(world, MEMBER, "売買契約書")

    page = ConsoleBrowser(world, MEMBER).get("/app")

    row = page.xpath("//table[@class='list']//tr[td]")[0]
    text = " ".join(row.text_content().split())
    assert "確認待ち" in text and "髙橋一郎" in text and "年" in text
    assert row.xpath(".//a/@href") == [f"/app/envelopes/{envelope_id}"]


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (EnvelopeStatus.COMPLETED, "締結済み"),
        (EnvelopeStatus.CANCELLED, "取消"),
        (EnvelopeStatus.REJECTED, "差し戻し"),
        (EnvelopeStatus.EXPIRED, "期限切れ"),
    ],
)
def test_each_status_has_its_badge(world, status, label):
    with_status(world, draft(world, MEMBER, "契約"), status)

    page = ConsoleBrowser(world, MEMBER).get(f"/app?status={status.value}")

    assert [" ".join(b.text_content().split()) for b in page.xpath("//span[contains(@class,'badge')]")] == [
        label
    ]


def test_the_status_filter_lists_only_that_status(world):
    draft(world, MEMBER, "下書きの契約")
    waiting(world, MEMBER, "送信した契約")

    page = ConsoleBrowser(world, MEMBER).get("/app?status=draft")

    assert titles(page) == ["下書きの契約"]


def test_the_title_search_finds_the_envelopes_whose_title_has_the_words(world):
    draft(world, MEMBER, "秘密保持契約書")
    draft(world, MEMBER, "業務委託契約書")

    page = ConsoleBrowser(world, MEMBER).get("/app?q=秘密")

    assert titles(page) == ["秘密保持契約書"]


def test_an_unknown_status_in_the_url_lists_everything(world):
    draft(world, MEMBER, "契約")

    page = ConsoleBrowser(world, MEMBER).get("/app?status=bogus")

    assert page.status == 200 and "契約" in titles(page)


def test_the_list_is_paged_with_the_lists_cursor(world, monkeypatch):
    monkeypatch.setattr(home, "PAGE_SIZE", 2)
    for n in range(3):
        waiting(world, MEMBER, f"契約{n}")
    browser = ConsoleBrowser(world, MEMBER)

    first = browser.get("/app")
    following = first.xpath("//a[@rel='next']/@href")
    second = browser.get(following[0])

    assert len(titles(first)) == 2 and len(titles(second)) == 1
    assert set(titles(first)) | set(titles(second)) == {"契約0", "契約1", "契約2"}
    assert not second.xpath("//a[@rel='next']")


def test_what_needs_my_action_comes_first(world):
    waiting(world, MEMBER, "進行中の契約")
    draft(world, MEMBER, "送っていない契約")
    with_status(world, waiting(world, MEMBER, "差し戻された契約"), EnvelopeStatus.REJECTED)

    page = ConsoleBrowser(world, MEMBER).get("/app")

    todo = [
        " ".join(a.text_content().split())
        for a in page.xpath("//section[@aria-labelledby='todo-heading']//td/a")
    ]
    assert set(todo) == {"送っていない契約", "差し戻された契約"}
    assert titles(page)[: len(todo)] == todo and titles(page)[len(todo) :] == ["進行中の契約"]
    assert "差し戻されました。内容を直して再送信できます。" in page.text()


def test_an_envelope_already_resent_needs_no_action(world):
    rejected = waiting(world, MEMBER, "直して再送した契約")
    stored = world.envelopes.envelopes[rejected]
    world.envelopes.envelopes[rejected] = stored.model_copy(
        update={"status": EnvelopeStatus.REJECTED, "resent_as": "env_new"}
    )

    page = ConsoleBrowser(world, MEMBER).get("/app")

    assert not page.xpath("//section[@aria-labelledby='todo-heading']")


def test_an_empty_list_says_so(world):
    page = ConsoleBrowser(world, MEMBER).get("/app")

    assert "表示する書類はありません。" in page.text()


def test_the_home_page_is_the_current_navigation_entry(world):
    page = ConsoleBrowser(world, MEMBER).get("/app")

    assert page.xpath("//nav[@class='nav']//a[@aria-current='page']/@href") == ["/app"]
