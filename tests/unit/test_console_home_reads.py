"""K8: the home page / 書類一覧 reads no more than it must — "needs my action" from the first page the
list already read where that page holds it, an administrator's page of everyone's envelopes in one
batched read — and still shows the same rows."""

from __future__ import annotations

import pytest
from tachiai.console import home
from tachiai.domain.envelope import EnvelopeStatus

from tests.console_browser import ADMIN, MEMBER, OTHER_MEMBER, ConsoleBrowser
from tests.unit.test_console_home import draft, titles, waiting, with_status, world

__all__ = ["world"]


def todo_titles(page) -> list[str]:
    return [
        " ".join(a.text_content().split())
        for a in page.xpath("//section[@aria-labelledby='todo-heading']//td/a")
    ]


def home_reads(world, browser: ConsoleBrowser, path: str = "/app"):
    """The page, and the envelope store's calls it made."""
    world.faults.calls.clear()
    page = browser.get(path)
    assert page.status == 200
    return page, {k: v for k, v in world.faults.calls.items() if k.startswith("envelopes.")}


def test_a_member_whose_whole_list_fits_one_page_costs_one_query(world):
    waiting(world, MEMBER, "進行中の契約")
    draft(world, MEMBER, "送っていない契約")
    with_status(world, waiting(world, MEMBER, "差し戻された契約"), EnvelopeStatus.REJECTED)
    browser = ConsoleBrowser(world, MEMBER)

    page, reads = home_reads(world, browser)

    assert reads == {"envelopes.list_for_sender": 1}
    assert set(todo_titles(page)) == {"送っていない契約", "差し戻された契約"}


def test_statuses_the_first_page_passes_in_the_lists_order_need_no_query(world, monkeypatch):
    # The list is grouped by status (rejected, in_progress, ..., draft): a page that reaches the drafts
    # holds every rejected and expired envelope, and here five drafts.
    monkeypatch.setattr(home, "PAGE_SIZE", 7)
    monkeypatch.setattr(home, "TODO_SIZE", 5)
    with_status(world, waiting(world, MEMBER, "差し戻された契約"), EnvelopeStatus.REJECTED)
    for n in range(7):
        draft(world, MEMBER, f"下書き{n}")
    browser = ConsoleBrowser(world, MEMBER)

    page, reads = home_reads(world, browser)

    assert reads == {"envelopes.list_for_sender": 1}
    assert todo_titles(page) == ["下書き6", "下書き5", "下書き4", "下書き3", "下書き2", "差し戻された契約"]


def test_a_status_the_first_page_does_not_reach_is_queried(world, monkeypatch):
    monkeypatch.setattr(home, "PAGE_SIZE", 2)
    draft(world, MEMBER, "送っていない契約")
    for n in range(3):
        waiting(world, MEMBER, f"進行中{n}")  # in progress comes before the drafts in the list
    browser = ConsoleBrowser(world, MEMBER)

    page, reads = home_reads(world, browser)

    # The page (two in progress) holds every rejected envelope, not the drafts nor the expired ones.
    assert reads == {"envelopes.list_for_sender": 3}
    assert todo_titles(page) == ["送っていない契約"]
    assert titles(page)[1:] == ["進行中2", "進行中1"]


def test_the_newest_of_each_status_need_action_when_there_are_many(world, monkeypatch):
    monkeypatch.setattr(home, "TODO_SIZE", 2)
    for n in range(4):
        draft(world, MEMBER, f"下書き{n}")

    page = ConsoleBrowser(world, MEMBER).get("/app")

    assert todo_titles(page) == ["下書き3", "下書き2"]
    assert titles(page)[2:] == ["下書き1", "下書き0"]


def test_an_administrators_page_of_everyones_envelopes_is_one_batched_read(world):
    draft(world, MEMBER, "太郎の契約")
    draft(world, OTHER_MEMBER, "次郎の契約")
    waiting(world, ADMIN, "管理者の契約")
    browser = ConsoleBrowser(world, ADMIN)

    page, reads = home_reads(world, browser, "/app?scope=all")

    assert reads == {"envelopes.get_many": 1}
    assert set(titles(page)) == {"太郎の契約", "次郎の契約", "管理者の契約"}


def test_an_administrators_own_drafts_need_their_action_on_their_home(world):
    draft(world, ADMIN, "管理者の下書き")
    draft(world, MEMBER, "太郎の下書き")
    browser = ConsoleBrowser(world, ADMIN)

    page, reads = home_reads(world, browser)

    assert todo_titles(page) == ["管理者の下書き"]
    assert titles(page) == ["管理者の下書き"]
    assert reads == {"envelopes.list_for_sender": 1}


def test_the_everyone_list_carries_no_needs_my_action(world):
    draft(world, ADMIN, "管理者の下書き")

    page = ConsoleBrowser(world, ADMIN).get("/app?scope=all")

    assert not todo_titles(page) and titles(page) == ["管理者の下書き"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/app?status=draft", {"envelopes.list_for_sender": 1}),
        ("/app?q=契約", {"envelopes.get_many": 1}),
    ],
)
def test_a_filtered_list_reads_nothing_for_needs_my_action(world, path, expected):
    draft(world, MEMBER, "送っていない契約")
    browser = ConsoleBrowser(world, MEMBER)

    page, reads = home_reads(world, browser, path)

    assert not todo_titles(page) and titles(page) == ["送っていない契約"]
    assert reads == expected
