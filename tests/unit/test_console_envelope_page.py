"""The envelope's page in the console, through the console's routes on the in-memory fakes: what it
shows in each state, the sender's actions and their refusals, the downloads, who may see it."""

from __future__ import annotations

import csv
import io

from tachiai.domain.envelope import EnvelopeStatus
from tachiai.mail.templates import MailKind

from tests.console_browser import ConsoleBrowser, Page, StaffPerson
from tests.envelope_stories import (
    HANAKO,
    ICHIRO,
    JIRO,
    KEIKO,
    TARO,
    completed,
    lock_link,
    rejected,
    sent,
    story_world,
    waiting_for,
)
from tests.fakes import FakeWorld

TARO_SIGNS_IN = StaffPerson("taro", TARO.email, TARO.name)
"""The member who sent the envelopes of these tests (the same ``sub``: ``sub-taro``)."""
JIRO_SIGNS_IN = StaffPerson("jiro", JIRO.email, JIRO.name)
KEIKO_SIGNS_IN = StaffPerson("keiko", KEIKO.email, KEIKO.name, "admin")


def browser(world: FakeWorld, person: StaffPerson = TARO_SIGNS_IN) -> ConsoleBrowser:
    return ConsoleBrowser(world, person, language="ja")


def string(page: Page, expression: str) -> str:
    """The text of what ``expression`` selects (empty: nothing)."""
    return str(page.xpath(f"string({expression})")[0])


def page_of(envelope_id: str) -> str:
    return f"/app/envelopes/{envelope_id}"


# --- what the page shows ----------------------------------------------------------------------------


def test_a_completed_envelope_shows_participants_documents_timeline_and_downloads():
    world = story_world()
    envelope_id = completed(world, ICHIRO, HANAKO)
    page = browser(world).get(page_of(envelope_id))
    assert page.status == 200
    text = page.text()
    assert "秘密保持契約書" in text and "締結済み" in text and TARO.email in text
    states = [" ".join(row.text_content().split()) for row in page.xpath("//tr[@data-participant]")]
    assert len(states) == 2 and all("合意" in s for s in states)
    assert ICHIRO in states[0] and HANAKO in states[1]
    document = world.envelopes.get(envelope_id).documents[0]
    assert document.current_sha256 in text and "1 ページ" in text
    events = page.xpath("//ol[@class='timeline']/li")
    assert len(events) == len(world.envelopes.audit_trail(envelope_id))
    assert "合意" in [" ".join(str(e.xpath("string(.//span[@class='what'])")).split()) for e in events]
    assert "改ざんなし" in string(page, "//*[@id='chain']")
    links = page.links()
    assert f"{page_of(envelope_id)}/files/1" in links and f"{page_of(envelope_id)}/files/2" in links
    assert f"{page_of(envelope_id)}/audit.csv" in links and f"{page_of(envelope_id)}/signatures" in links
    assert not page.xpath("//form[contains(@action, '/remind') or contains(@action, '/cancel')]")


def test_the_page_speaks_the_visitors_language():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    page = browser(world).get(page_of(envelope_id) + "?lang=en")
    text = page.text()
    assert "Completed" in text and "Chain intact" in text and "Agreed" in text


def test_an_envelope_in_progress_names_whose_turn_it_is_and_their_deadline():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    page = browser(world).get(page_of(envelope_id))
    assert "現在の手番: hanako" in page.text() and "期限" in page.text()
    current = page.xpath("//tr[contains(@class, 'current')]")
    assert len(current) == 1 and HANAKO in current[0].text_content()
    assert "確認待ち" in current[0].text_content()


def test_a_tampered_audit_trail_is_shown_broken_where_it_breaks():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    # Given someone with database access rewrites the fifth entry's actor
    trail = world.envelopes.audit_trail(envelope_id)
    stored = world.envelopes.audit[envelope_id]
    stored[4] = trail[4].model_copy(update={"actor": "mallory@example.com"})
    page = browser(world).get(page_of(envelope_id))
    chain = string(page, "//*[@id='chain']")
    assert "#5" in chain and "改ざんなし" not in chain


# --- correct and resend -------------------------------------------------------------------------------


def test_a_rejected_envelope_is_resent_as_a_new_draft_linked_both_ways():
    world = story_world()
    envelope_id = rejected(world, ICHIRO)
    me = browser(world)
    page = me.get(page_of(envelope_id))
    assert "差し戻し" in page.text() and "金額が違います" in page.text()
    answer = me.post(f"{page_of(envelope_id)}/resend", {})
    assert answer.status == 303
    draft = me.follow()
    new_id = world.envelopes.get(envelope_id).resent_as
    assert new_id and draft.path == page_of(new_id)
    assert world.envelopes.get(new_id).status == EnvelopeStatus.DRAFT
    assert draft.notice() and "新しい下書き" in draft.notice()
    assert string(draft, "//a[@id='resent-from']/@href") == page_of(envelope_id)
    assert string(draft, "//a[@id='edit-draft']/@href") == f"/app/new?from={new_id}"
    original = me.get(page_of(envelope_id))
    assert string(original, "//a[@id='resent-as']/@href") == page_of(new_id)
    assert not original.xpath("//form[contains(@action, '/resend')]")  # once is enough


def test_resending_twice_shows_the_refusal_on_the_envelope_page():
    world = story_world()
    envelope_id = rejected(world, ICHIRO)
    me = browser(world)
    me.post(f"{page_of(envelope_id)}/resend", {})
    again = me.post(f"{page_of(envelope_id)}/resend", {})
    assert again.status == 409
    assert "すでに再送されています" in string(again, "//*[@id='problem']")
    assert again.xpath("//h1[@id='envelope-title']")  # still the envelope's page


# --- remind, cancel, reissue ----------------------------------------------------------------------------


def test_remind_mails_the_participant_whose_turn_it_is_and_says_so():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    me = browser(world)
    me.get(page_of(envelope_id))
    before = len(world.mailer.to(HANAKO))
    answer = me.post(f"{page_of(envelope_id)}/remind", {})
    assert answer.status == 303 and answer.location == page_of(envelope_id)
    assert [m.kind for m in world.mailer.to(HANAKO)[before:]] == [MailKind.REMINDER]
    assert "リマインドを送信しました" in (me.follow().notice() or "")


def test_a_reminder_before_any_link_is_out_is_refused_with_its_message():
    world = story_world()
    envelope_id = sent(world, ICHIRO)  # the chain has not mailed anyone yet
    page = browser(world).post(f"{page_of(envelope_id)}/remind", {})
    assert page.status == 409
    assert "まだリマインドできません" in string(page, "//*[@id='problem']")


def test_a_reminder_to_a_locked_link_is_refused_and_the_page_offers_the_reissue():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO, access_code_for=HANAKO)
    lock_link(world, HANAKO)
    me = browser(world)
    page = me.get(page_of(envelope_id))
    row = page.xpath("//tr[contains(@class, 'state-locked')]")
    assert len(row) == 1 and "ロック" in row[0].text_content()
    refused = me.post(f"{page_of(envelope_id)}/remind", {})
    assert refused.status == 409 and "ロック解除と再発行" in string(refused, "//*[@id='problem']")
    participant_id = row[0].get("data-participant")
    before = len(world.mailer.to(HANAKO))
    answer = me.post(f"{page_of(envelope_id)}/participants/{participant_id}/reissue", {})
    assert answer.status == 303
    assert not world.envelopes.get(envelope_id).participant(participant_id).locked
    assert [m.kind for m in world.mailer.to(HANAKO)[before:]] == [MailKind.SIGNING_REQUEST]
    assert "新しいリンクを送信しました" in (me.follow().notice() or "")


def test_reissuing_a_link_that_is_not_locked_is_refused_with_its_message():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    participant_id = world.envelopes.get(envelope_id).current().id  # type: ignore[union-attr]
    page = browser(world).post(f"{page_of(envelope_id)}/participants/{participant_id}/reissue", {})
    assert page.status == 409 and "ロックされていません" in string(page, "//*[@id='problem']")


def test_cancel_asks_for_a_reason_on_a_confirmation_page_then_cancels():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    me = browser(world)
    confirm = me.get(f"{page_of(envelope_id)}/cancel")
    assert confirm.status == 200 and confirm.xpath("//textarea[@name='reason']")
    assert world.envelopes.get(envelope_id).status == EnvelopeStatus.IN_PROGRESS  # nothing happened yet
    answer = me.post(f"{page_of(envelope_id)}/cancel", {"reason": "条件を見直します"})
    assert answer.status == 303
    envelope = world.envelopes.get(envelope_id)
    assert envelope.status == EnvelopeStatus.CANCELLED and envelope.outcome_reason == "条件を見直します"
    page = me.follow()
    assert "取り消しました" in (page.notice() or "") and "条件を見直します" in page.text()


def test_cancelling_a_cancelled_envelope_shows_envelope_already_cancelled():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    me = browser(world)
    me.post(f"{page_of(envelope_id)}/cancel", {"reason": ""})
    again = me.post(f"{page_of(envelope_id)}/cancel", {"reason": ""})
    assert again.status == 409
    assert "取り消されています" in string(again, "//*[@id='problem']") or again.xpath(
        "string(//*[@id='problem'])"
    )


def test_a_cancel_without_the_forms_token_is_refused_and_changes_nothing():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    page = browser(world).post(f"{page_of(envelope_id)}/cancel", {"reason": "x"}, csrf=False)
    assert page.status == 403
    assert world.envelopes.get(envelope_id).status == EnvelopeStatus.IN_PROGRESS


# --- downloads ----------------------------------------------------------------------------------------------


def test_a_file_link_goes_to_a_fresh_short_lived_url():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    answer = browser(world).get(f"{page_of(envelope_id)}/files/1")
    assert answer.status == 303 and answer.location and envelope_id in answer.location
    missing = browser(world).get(f"{page_of(envelope_id)}/files/9")
    assert missing.status == 404


def test_the_audit_csv_is_for_excel_and_every_cell_is_neutralized():
    world = story_world()
    formula = "=1+1@takahashizaki.example"
    envelope_id = completed(world, formula)
    answer = browser(world).get(f"{page_of(envelope_id)}/audit.csv")
    assert answer.status == 200
    assert (answer.header("content-type") or "").startswith("text/csv")
    assert "attachment" in (answer.header("content-disposition") or "")
    assert answer.body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(answer.body[1:])))
    assert len(rows) == len(world.envelopes.audit_trail(envelope_id)) + 1
    assert any(cell == "'" + formula for row in rows for cell in row)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- who may see it ---------------------------------------------------------------------------------------------


def test_a_member_cannot_see_another_members_envelope():
    world = story_world()
    envelope_id = completed(world, ICHIRO)
    other = browser(world, JIRO_SIGNS_IN)
    for path in ("", "/audit.csv", "/files/1", "/signatures", "/cancel"):
        page = other.get(page_of(envelope_id) + path)
        assert page.status == 404, path
        assert "秘密保持契約書" not in page.body
    refused = other.post(f"{page_of(envelope_id)}/remind", {})
    assert refused.status == 404 and "秘密保持契約書" not in refused.body


def test_an_administrator_sees_every_envelope_without_the_owners_actions():
    world = story_world()
    envelope_id = waiting_for(world, HANAKO, ICHIRO)
    admin = browser(world, KEIKO_SIGNS_IN)
    page = admin.get(page_of(envelope_id))
    assert page.status == 200 and "秘密保持契約書" in page.text()
    assert not page.xpath("//form[contains(@action, '/remind')]")
    assert admin.get(f"{page_of(envelope_id)}/audit.csv").status == 200
