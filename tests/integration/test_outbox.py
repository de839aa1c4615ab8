"""Local runtime: the mails sent through SES (moto) read back decoded, as a page and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.ses import SesMailer
from tachiai.domain.events import Person
from tachiai.local.outbox import Outbox, OutboxMail, outbox_app
from tachiai.mail import templates
from tachiai.mail.templates import MailMessage, MailSettings
from werkzeug.test import Client

REGION = "ap-northeast-1"
SETTINGS = MailSettings(from_address="noreply@sign.example.co.jp")
SENDER = Person(name="佐藤一郎", email="ichiro@example.co.jp", organization="株式会社サンプル")
HANAKO = Person(name="山田花子", email="hanako@example.jp", organization="株式会社例")
JIRO = Person(name="鈴木次郎", email="Jiro@Example.jp")
HANAKO_LINK = "https://sign.example.co.jp/s/hanako-token"
JIRO_LINK = "https://sign.example.co.jp/s/jiro-token?lang=en"
HOSTILE_TITLE = "契約書<script>alert(1)</script>"


def _request(to: Person, link: str, title: str = "秘密保持契約書", language: str = "ja") -> MailMessage:
    return templates.signing_request(
        SETTINGS,
        to=to,
        language=language,  # type: ignore[arg-type]
        sender=SENDER,
        title=title,
        link=link,
        expires_at=datetime(2026, 11, 29, 14, 59, tzinfo=UTC),
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MailMessage]]:
    """Two real mails sent through SES v2 (moto): to Hanako in Japanese, then to Jiro in English."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity="sign.example.co.jp")  # SES sends only from verified
        messages = [_request(HANAKO, HANAKO_LINK), _request(JIRO, JIRO_LINK, HOSTILE_TITLE, "en")]
        mailer = SesMailer(client)
        for message in messages:
            mailer.send(message)
        yield messages


def _mails() -> list[OutboxMail]:
    return Outbox().mails()


def test_mails_are_listed_in_sending_order(sent):
    assert [(m.index, m.to) for m in _mails()] == [(0, ["hanako@example.jp"]), (1, ["Jiro@example.jp"])]


def test_japanese_subject_is_decoded(sent):
    assert _mails()[0].subject == sent[0].subject
    assert "秘密保持契約書" in _mails()[0].subject


def test_text_and_html_parts_are_decoded(sent):
    hanako = _mails()[0]
    assert hanako.text.strip() == sent[0].text.strip()
    assert "山田花子" in hanako.text
    assert "<html" in hanako.html.lower()
    assert "山田花子" in hanako.html


def test_from_and_reply_to_are_decoded(sent):
    hanako = _mails()[0]
    assert hanako.from_ == "佐藤一郎 via tachiai <noreply@sign.example.co.jp>"
    assert hanako.reply_to == "佐藤一郎 <ichiro@example.co.jp>"


def test_language_is_the_content_language_header(sent):
    raw = (
        "From: noreply@sign.example.co.jp\r\nTo: hanako@example.jp\r\nSubject: =?utf-8?b?5aWR57SE?=\r\n"
        "Content-Language: en\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "See https://sign.example.co.jp/s/x.\r\n"
    )
    boto3.client("sesv2", region_name=REGION).send_email(
        FromEmailAddress="noreply@sign.example.co.jp",
        Destination={"ToAddresses": ["hanako@example.jp"]},
        Content={"Raw": {"Data": raw.encode()}},
    )
    mail = _mails()[2]
    assert (mail.language, mail.subject, mail.links, mail.html) == (
        "en",
        "契約",
        ["https://sign.example.co.jp/s/x"],
        "",
    )


def test_links_are_the_urls_of_the_text_in_order_once_each(sent):
    hanako, jiro = _mails()
    assert hanako.links[0] == HANAKO_LINK
    assert JIRO_LINK in jiro.links
    assert len(jiro.links) == len(set(jiro.links))


def test_message_id_is_the_one_ses_returned(sent):
    assert all(mail.message_id for mail in _mails())
    assert len({mail.message_id for mail in _mails()}) == 2


def test_mails_to_an_address_ignore_case(sent):
    assert [m.index for m in Outbox().to("JIRO@example.JP")] == [1]
    assert [m.index for m in Outbox().to("hanako@example.jp")] == [0]
    assert Outbox().to("nobody@example.jp") == []


def test_another_region_has_its_own_empty_outbox(sent):
    assert Outbox(region="us-east-1").mails() == []


# --- the pages ---------------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.fixture
def client() -> Client:
    return Client(outbox_app(Outbox()))


def test_page_lists_every_mail_newest_first_with_clickable_links(sent, client):
    response = client.get("/_local/outbox")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = _Page()
    page.feed(response.get_data(as_text=True))
    assert HANAKO_LINK in page.hrefs
    assert JIRO_LINK in page.hrefs
    assert page.hrefs.index(JIRO_LINK) < page.hrefs.index(HANAKO_LINK)
    assert "Jiro@example.jp" in page.text
    assert "秘密保持契約書" in page.text


def test_page_escapes_what_the_mails_contain(sent, client):
    body = client.get("/_local/outbox").get_data(as_text=True)
    page = _Page()
    page.feed(body)
    assert "script" not in page.tags
    assert "<script>" not in body
    assert HOSTILE_TITLE in page.text  # shown as text, not run


def test_json_lists_every_mail_with_its_fields(sent, client):
    response = client.get("/_local/outbox.json")
    assert response.mimetype == "application/json"
    mails = json.loads(response.get_data(as_text=True))
    assert [m["to"] for m in mails] == [["hanako@example.jp"], ["Jiro@example.jp"]]
    assert mails[0]["subject"] == sent[0].subject
    assert mails[0]["links"][0] == HANAKO_LINK
    assert set(mails[0]) >= {
        "index",
        "to",
        "from_",
        "reply_to",
        "subject",
        "text",
        "html",
        "links",
        "language",
    }


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/_local/other"), ("GET", "/_local/"), ("POST", "/_local/outbox")]
)
def test_anything_else_is_404(sent, client, method, path):
    assert client.open(path, method=method).status_code == 404


def test_empty_outbox_page_says_so(monkeypatch, client):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        assert "Outbox (0)" in client.get("/_local/outbox").get_data(as_text=True)
        assert json.loads(client.get("/_local/outbox.json").get_data(as_text=True)) == []


def test_outbox_does_not_import_moto_until_read():
    import subprocess
    import sys

    code = "import sys, tachiai.local.outbox; print('moto' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
