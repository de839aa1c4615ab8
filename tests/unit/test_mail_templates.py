"""R1, R4, R5, S4, S5, S6: the mails of the envelope workflow, in Japanese, English and Chinese, text and HTML."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pydantic
import pytest
from tachiai.domain.errors import InvalidMailContent
from tachiai.domain.events import Language, Person
from tachiai.mail import templates
from tachiai.mail.templates import DownloadLink, MailMessage, MailSettings

SETTINGS = MailSettings(from_address="noreply@sign.example.co.jp")
SENDER = Person(name="佐藤一郎", email="ichiro@example.co.jp", organization="株式会社サンプル")
SIGNER = Person(name="山田花子", email="hanako@example.jp", organization="株式会社例")
NEXT_SIGNER = Person(name="鈴木次郎", email="jiro@example.jp", organization="株式会社例")
LINK = "https://sign.example.co.jp/s/Zq3xV9kLmN0pQrStUvWxYz0123456789abcdefghi"
EXPIRES = datetime(2026, 11, 29, 14, 59, 30, tzinfo=UTC)  # 23:59 in Tokyo
AT = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)  # 10:15 in Tokyo
ENVELOPE_URL = "https://sign.example.co.jp/app/envelopes/env1"
PDF_URL = "https://sign.example.co.jp/d/env1/nda.pdf?t=abc"
CERTIFICATE_URL = "https://sign.example.co.jp/d/env1/certificate.pdf?t=def"


def _request(language: Language = "ja", **changes: object) -> MailMessage:
    values: dict[str, object] = {
        "to": SIGNER,
        "language": language,
        "sender": SENDER,
        "title": "秘密保持契約書",
        "link": LINK,
        "expires_at": EXPIRES,
    }
    values.update(changes)
    settings = values.pop("settings", SETTINGS)
    return templates.signing_request(settings, **values)  # type: ignore[arg-type]


def _completed(language: Language = "ja", title: str = "秘密保持契約書") -> MailMessage:
    return templates.completed(
        SETTINGS,
        to=SIGNER,
        language=language,
        sender=SENDER,
        title=title,
        parties=[SENDER, SIGNER],
        completed_at=AT,
        documents=[DownloadLink(name="秘密保持契約書.pdf", url=PDF_URL)],
        certificate_url=CERTIFICATE_URL,
        downloads_expire_at=EXPIRES,
    )


def _rejected(
    language: Language = "ja", title: str = "秘密保持契約書", reason: str = "第3条の期間が違います。"
) -> MailMessage:
    return templates.rejected(
        SETTINGS,
        to=SENDER,
        language=language,
        title=title,
        rejected_by=SIGNER,
        rejected_at=AT,
        reason=reason,
        envelope_url=ENVELOPE_URL,
    )


def _expired(language: Language = "ja", title: str = "秘密保持契約書", to: Person = SENDER) -> MailMessage:
    return templates.expired(
        SETTINGS,
        to=to,
        language=language,
        sender=SENDER,
        title=title,
        participant=SIGNER,
        expired_at=EXPIRES,
        envelope_url=ENVELOPE_URL,
    )


def _cancelled(
    language: Language = "ja", title: str = "秘密保持契約書", reason: str | None = "条件を見直すため"
) -> MailMessage:
    return templates.cancelled(
        SETTINGS, to=SIGNER, language=language, sender=SENDER, title=title, cancelled_at=AT, reason=reason
    )


def _forwarded(language: Language = "ja", title: str = "秘密保持契約書") -> MailMessage:
    return templates.forwarded(
        SETTINGS,
        to=SENDER,
        language=language,
        title=title,
        forwarded_by=SIGNER,
        forwarded_to=NEXT_SIGNER,
        forwarded_at=AT,
        reason="契約締結権限者が鈴木のため",
        envelope_url=ENVELOPE_URL,
    )


def _failed(language: Language = "ja", title: str = "秘密保持契約書") -> MailMessage:
    return templates.failed(
        SETTINGS,
        to=SENDER,
        language=language,
        title=title,
        failed_at=AT,
        error_code="seal_validation_failed",
        envelope_url=ENVELOPE_URL,
    )


def _locked(language: Language = "ja", title: str = "秘密保持契約書") -> MailMessage:
    return templates.link_locked(
        SETTINGS, to=SENDER, language=language, title=title, participant=SIGNER, locked_at=AT
    )


def _deadline(language: Language = "ja", title: str = "秘密保持契約書", kind: str = "notice") -> MailMessage:
    return templates.deadline_alert(
        SETTINGS,
        to=SENDER,
        language=language,
        title=title,
        kind=kind,
        due=date(2027, 1, 4),
        days_left=7,
        counterparties=["株式会社例", "Example Inc."],
        auto_renewal=True,
    )


LANGUAGES: tuple[Language, ...] = ("ja", "en", "zh")
ALL_MAILS: dict[str, Callable[..., MailMessage]] = {
    "signing_request": lambda language, title="秘密保持契約書": _request(language, title=title),
    "reminder": lambda language, title="秘密保持契約書": _request(language, title=title, is_reminder=True),
    "completed": _completed,
    "rejected": _rejected,
    "expired_to_sender": _expired,
    "expired_to_participant": lambda language, title="秘密保持契約書": _expired(language, title, to=SIGNER),
    "cancelled": _cancelled,
    "forwarded": _forwarded,
    "failed": _failed,
    "link_locked": _locked,
    "deadline_alert": _deadline,
}
EVERY_MAIL = pytest.mark.parametrize(
    ("kind", "language"), [(kind, language) for kind in ALL_MAILS for language in LANGUAGES]
)


class _Html(HTMLParser):
    """Collects hrefs and checks that every element is closed in order."""

    VOID = frozenset({"meta", "br", "img", "hr", "input", "link"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.open: list[str] = []
        self.errors: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    parser.close()
    return parser


def _text_links(text: str) -> set[str]:
    return set(re.findall(r"https?://[^\s<>\"）]+", text))


# --- the signing request (R1, S4) --------------------------------------------------------------


def test_signing_request_subject_in_japanese_follows_the_seed_style():
    assert _request("ja").subject == "【株式会社サンプル】様より秘密保持契約書への署名依頼が届いています"


def test_signing_request_subject_in_english():
    assert _request("en", title="NDA").subject == "Signature request from 株式会社サンプル: NDA"


def test_subject_names_the_sender_when_no_organization_is_known():
    sender = Person(name="佐藤一郎", email="ichiro@example.co.jp")
    assert (
        _request("ja", sender=sender).subject == "【佐藤一郎】様より秘密保持契約書への署名依頼が届いています"
    )


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("ja", "【リマインド】【株式会社サンプル】様より秘密保持契約書への署名依頼が届いています"),
        ("en", "Reminder: Signature request from 株式会社サンプル: 秘密保持契約書"),
        ("zh", "【提醒】【株式会社サンプル】邀请您签署《秘密保持契約書》"),
    ],
)
def test_reminder_subject_is_prefixed(language, subject):
    assert _request(language, is_reminder=True).subject == subject


@pytest.mark.parametrize("language", LANGUAGES)
def test_signing_link_is_in_the_text_and_in_the_html(language):
    message = _request(language)
    assert LINK in message.text
    assert LINK in _parse(message.html).hrefs


def test_expiry_is_shown_in_japanese_in_the_tenants_time_zone():
    message = _request("ja")
    assert "URL有効期限：2026年11月29日 23:59 (JST)" in message.text
    assert "2026年11月29日 23:59 (JST)" in _parse(message.html).text


def test_expiry_is_shown_in_english_in_the_tenants_time_zone():
    message = _request("en")
    assert "valid until 29 Nov 2026 23:59 JST" in message.text
    assert "29 Nov 2026 23:59 JST" in _parse(message.html).text


def test_expiry_follows_the_tenants_own_time_zone():
    london = MailSettings(from_address="noreply@sign.example.co.uk", timezone="Europe/London")
    assert "29 Nov 2026 14:59 GMT" in _request("en", settings=london).text


def test_zone_without_an_abbreviation_is_shown_as_an_offset():
    dubai = MailSettings(from_address="noreply@sign.example.ae", timezone="Asia/Dubai")
    assert "29 Nov 2026 18:59 UTC+04:00" in _request("en", settings=dubai).text


def test_expiry_says_to_ask_the_sender_once_it_has_passed():
    assert "有効期限を過ぎた場合は、送信者に再送信をご依頼ください。" in _request("ja").text


@pytest.mark.parametrize(
    ("language", "notice"),
    [("ja", "アクセスコードの入力が必要です"), ("en", "access code"), ("zh", "需要输入发件人设置的访问码")],
)
def test_required_access_code_is_announced_in_both_bodies(language, notice):
    message = _request(language, access_code_required=True)
    assert notice in message.text
    assert notice in _parse(message.html).text


def test_no_access_code_notice_when_none_is_required():
    assert "アクセスコード" not in _request("ja", access_code_required=False).text


def test_access_code_itself_can_never_reach_a_mail():
    # The sender tells the code separately; no mail function even accepts one.
    for build in (templates.signing_request, templates.completed, templates.cancelled, templates.expired):
        parameters = set(inspect.signature(build).parameters)
        assert {p for p in parameters if "code" in p} <= {"access_code_required"}


@pytest.mark.parametrize(
    ("language", "notice"),
    [("ja", "アカウント登録は不要です"), ("en", "do not need an account"), ("zh", "无需注册账号")],
)
def test_signing_request_says_no_account_is_needed(language, notice):
    assert notice in _request(language).text


@pytest.mark.parametrize(
    ("language", "notice"),
    [
        ("ja", "お心当たりがない場合は、URLを開かずにこのメールを破棄してください"),
        ("en", "not expecting this email"),
    ],
)
def test_signing_request_says_what_to_do_when_it_is_not_for_you(language, notice):
    assert notice in _request(language).text


def test_signing_request_names_the_sender_and_organization():
    text = _request("ja").text
    assert "株式会社サンプルの佐藤一郎様から" in text
    assert "ichiro@example.co.jp" in text


def test_sender_message_is_quoted_line_by_line():
    text = _request("ja", message="お世話になっております。\r\nご確認をお願いします。").text
    assert "> お世話になっております。\n> ご確認をお願いします。" in text


def test_replies_to_a_signing_request_reach_the_sender():
    message = _request("ja")
    assert message.reply_to == SENDER
    assert message.from_address == "noreply@sign.example.co.jp"


def test_from_shows_the_sender_via_the_service():
    assert _request("ja").from_name == "佐藤一郎 via tachiai"


def test_from_shows_only_the_service_when_the_tenant_prefers():
    settings = MailSettings(
        from_address="noreply@sign.example.co.jp", service_name="Example Sign", sender_in_from=False
    )
    assert _request("ja", settings=settings).from_name == "Example Sign"


def test_a_title_with_line_breaks_cannot_add_a_link_line_to_the_text_mail():
    message = _request("ja", title="NDA\n\n▼ 書類を確認する\nhttps://evil.example/s/x")
    assert "https://evil.example/s/x" not in message.text.splitlines()
    assert "\n" not in message.subject
    assert message.links == [LINK]


def test_a_link_that_is_not_http_is_refused():
    with pytest.raises(InvalidMailContent):
        _request("ja", link="javascript:alert(1)")


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(InvalidMailContent):
        _request("ja", expires_at=datetime(2026, 11, 29, 23, 59))


def test_an_unknown_time_zone_is_refused_when_settings_load():
    with pytest.raises(pydantic.ValidationError):
        MailSettings(from_address="noreply@sign.example.co.jp", timezone="Asia/Nowhere")


# --- completion (R5) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("ja", "「秘密保持契約書」の締結が完了しました"),
        ("en", "Completed: 秘密保持契約書"),
        ("zh", "《秘密保持契約書》已完成签署"),
    ],
)
def test_completed_subject(language, subject):
    assert _completed(language).subject == subject


@pytest.mark.parametrize(
    ("language", "notice"), [("ja", "すべての当事者が同意し"), ("en", "All parties have agreed")]
)
def test_completed_mail_says_every_party_agreed(language, notice):
    assert notice in _completed(language).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_completed_mail_links_the_sealed_pdf_and_the_certificate(language):
    message = _completed(language)
    assert message.links == [PDF_URL, CERTIFICATE_URL]
    assert set(_parse(message.html).hrefs) == {PDF_URL, CERTIFICATE_URL}


def test_completed_mail_names_the_agreement_certificate():
    assert "合意締結証明書をダウンロード" in _completed("ja").text


@pytest.mark.parametrize(
    ("language", "notice"),
    [("ja", "ダウンロード有効期限：2026年11月29日 23:59 (JST)"), ("en", "valid until 29 Nov 2026 23:59 JST")],
)
def test_completed_mail_says_until_when_the_downloads_work(language, notice):
    assert notice in _completed(language).text


@pytest.mark.parametrize(("language", "notice"), [("ja", "署名パネル"), ("en", "Signature Panel")])
def test_completed_mail_explains_how_to_verify_the_signatures(language, notice):
    message = _completed(language)
    assert notice in message.text
    assert "SHA-256" in message.text


def test_completed_mail_lists_the_parties():
    text = _completed("ja").text
    assert "佐藤一郎様（株式会社サンプル）\n山田花子様（株式会社例）" in text


# --- rejection, expiry, cancellation, forwarding (R3, S4, S6) ---------------------------------


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("ja", "「秘密保持契約書」が差し戻されました"),
        ("en", "Declined: 秘密保持契約書"),
        ("zh", "《秘密保持契約書》已被退回"),
    ],
)
def test_rejected_subject(language, subject):
    assert _rejected(language).subject == subject


def test_rejected_mail_names_who_rejected_and_when():
    text = _rejected("ja").text
    assert "株式会社例の山田花子様が、「秘密保持契約書」を差し戻しました" in text
    assert "2026年11月22日 10:15 (JST)" in text


def test_rejection_reason_is_quoted():
    assert "■ 差し戻し理由\n> 第3条の期間が違います。" in _rejected("ja").text


def test_rejection_reason_is_html_escaped():
    html = _rejected("en", reason='Clause 3 & <b onclick="x()">bold</b>').html
    assert "Clause 3 &amp; &lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt;" in html
    assert "<b " not in html


def test_rejection_without_a_reason_is_refused():
    with pytest.raises(InvalidMailContent):
        _rejected("ja", reason=" \n ")


def test_replies_to_a_rejection_reach_the_person_who_rejected():
    assert _rejected("ja").reply_to == SIGNER


def test_expired_mail_tells_the_sender_to_send_again():
    message = _expired("ja")
    assert message.subject == "「秘密保持契約書」の署名依頼が有効期限切れになりました"
    assert "あらためて書類を送信してください" in message.text
    assert ENVELOPE_URL in message.links


def test_expired_mail_tells_the_participant_the_link_no_longer_works():
    message = _expired("en", to=SIGNER)
    assert message.subject == "Expired: 秘密保持契約書"
    assert "no longer works" in message.text
    assert message.links == []  # the sender's envelope page is not for them


def test_expired_mail_shows_when_the_link_expired():
    assert "29 Nov 2026 23:59 JST" in _expired("en").text


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("ja", "「秘密保持契約書」の署名依頼が取り消されました"),
        ("en", "Cancelled: 秘密保持契約書"),
        ("zh", "《秘密保持契約書》的签署请求已撤销"),
    ],
)
def test_cancelled_subject(language, subject):
    assert _cancelled(language).subject == subject


def test_cancelled_mail_carries_the_senders_reason():
    assert "> 条件を見直すため" in _cancelled("ja").text


def test_cancelled_mail_without_a_reason_has_no_reason_section():
    assert "取り消しの理由" not in _cancelled("ja", reason=None).text


def test_cancelled_mail_says_nothing_more_is_needed():
    assert "no further action is needed" in _cancelled("en").text


def test_forwarded_mail_names_both_people_and_the_reason():
    text = _forwarded("ja").text
    assert (
        "株式会社例の山田花子様が、「秘密保持契約書」の署名依頼を株式会社例の鈴木次郎様へ転送しました" in text
    )
    assert "> 契約締結権限者が鈴木のため" in text


def test_forwarded_subject_in_english():
    assert _forwarded("en").subject == "Forwarded: 秘密保持契約書"


# --- every mail ---------------------------------------------------------------------------------


@EVERY_MAIL
def test_text_and_html_carry_the_same_links(kind, language):
    message = ALL_MAILS[kind](language)
    assert _text_links(message.text) == set(message.links)
    assert set(_parse(message.html).hrefs) == set(message.links)


@EVERY_MAIL
def test_title_is_html_escaped(kind, language):
    html = ALL_MAILS[kind](language, title="<script>alert(1)</script>").html
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@EVERY_MAIL
def test_html_is_well_formed(kind, language):
    parser = _parse(ALL_MAILS[kind](language).html)
    assert parser.errors == []
    assert parser.open == []


@EVERY_MAIL
def test_html_loads_nothing_from_elsewhere(kind, language):
    parser = _parse(ALL_MAILS[kind](language).html)
    assert not {"img", "link", "script", "style", "iframe"} & set(parser.tags)
    assert "url(" not in ALL_MAILS[kind](language).html


@EVERY_MAIL
def test_mail_is_in_the_recipients_language(kind, language):
    message = ALL_MAILS[kind](language)
    footer = {
        "ja": "このメールはtachiai",
        "en": "This email was sent automatically by tachiai",
        "zh": "此邮件由tachiai",
    }[language]
    assert message.language == language
    assert footer in message.text
    assert f'<html lang="{language}">' in message.html


@EVERY_MAIL
def test_html_says_what_the_text_says(kind, language):
    message = ALL_MAILS[kind](language)
    html_text = re.sub(r"\s+", "", _parse(message.html).text)
    for line in message.text.splitlines():
        words = re.sub(r"^(■|▼|・|• |- |> ?|【|\[)", "", line).rstrip("】]:").strip()
        if words and not set(words) <= {"-"}:
            assert re.sub(r"\s+", "", words.split(": ")[-1]) in html_text, line


# --- Chinese (R4) -------------------------------------------------------------------------------


def test_signing_request_subject_in_chinese():
    assert _request("zh").subject == "【株式会社サンプル】邀请您签署《秘密保持契約書》"


def test_a_chinese_mail_greets_the_company_then_the_person():
    assert _request("zh").text.startswith("株式会社例\n山田花子，您好：\n\n")


def test_a_chinese_mail_names_the_sender_and_the_document():
    text = _request("zh").text
    assert "株式会社サンプル的佐藤一郎向您发送了一份待签署的文件。" in text
    assert "■ 文件名称\n秘密保持契約書" in text
    assert "■ 发件人\n佐藤一郎（株式会社サンプル）\nichiro@example.co.jp" in text


def test_expiry_is_shown_in_chinese_in_the_tenants_time_zone():
    message = _request("zh")
    assert "链接有效期至：2026年11月29日 23:59（JST）" in message.text
    assert "2026年11月29日 23:59（JST）" in _parse(message.html).text


def test_a_chinese_mail_has_the_button_and_the_address_to_paste():
    message = _request("zh")
    assert f"▼ 查看文件\n{LINK}" in message.text
    assert "如果按钮无法打开，请将以下网址复制到浏览器中打开：" in _parse(message.html).text


def test_a_chinese_mail_says_the_link_is_for_the_recipient_only():
    assert "• 此链接仅供山田花子本人使用" in _request("zh").text


def test_the_chinese_footer_says_where_replies_go():
    assert "回复此邮件将发送给佐藤一郎（ichiro@example.co.jp）。" in _request("zh").text


def test_chinese_completion_mail_offers_the_downloads_until_when():
    message = _completed("zh")
    assert "下载有效期至：2026年11月29日 23:59（JST）" in message.text
    assert f"▼ 下载签署完成证明书\n{CERTIFICATE_URL}" in message.text


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "due"),
    [("ja", "2027年1月4日（あと7日）"), ("en", "4 Jan 2027 (in 7 days)"), ("zh", "2027年1月4日（还有7天）")],
)
def test_a_deadline_alert_shows_the_date_as_its_language_writes_it(language, due):
    assert due in _deadline(language).text


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("ja", "【期限通知】「秘密保持契約書」の契約期間の満了日まであと7日です"),
        ("en", "Reminder: the end of term of 秘密保持契約書 is in 7 days"),
        ("zh", "【期限提醒】《秘密保持契約書》距合同期满日还有7天"),
    ],
)
def test_deadline_alert_subject(language, subject):
    assert _deadline(language, kind="end").subject == subject


@pytest.mark.parametrize(
    ("language", "parties"), [("ja", "株式会社例、Example Inc."), ("en", "株式会社例, Example Inc.")]
)
def test_a_deadline_alert_lists_the_counterparties_in_the_languages_way(language, parties):
    assert parties in _deadline(language).text
