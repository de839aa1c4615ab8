"""R1: mails as RFC 5322 bytes — multipart text + HTML, encoded headers, and no header injection."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default

import pytest
from tachiai.domain.errors import InvalidMailAddress
from tachiai.domain.events import Language, Person
from tachiai.mail import templates
from tachiai.mail.mime import build_mime, normalize_address
from tachiai.mail.templates import MailMessage, MailSettings

SETTINGS = MailSettings(from_address="noreply@sign.example.co.jp")
SENDER = Person(name="佐藤一郎", email="ichiro@example.co.jp", organization="株式会社サンプル")
SIGNER = Person(name="山田花子", email="hanako@example.jp", organization="株式会社例")
LINK = "https://sign.example.co.jp/s/Zq3xV9kLmN0pQrStUvWxYz0123456789abcdefghi"
EXPIRES = datetime(2026, 11, 29, 14, 59, tzinfo=UTC)
INJECTION = "Evil\r\nBcc: attacker@example.com"


def _request(
    language: Language = "ja", to: Person = SIGNER, sender: Person = SENDER, title: str = "秘密保持契約書"
) -> MailMessage:
    return templates.signing_request(
        SETTINGS, to=to, language=language, sender=sender, title=title, link=LINK, expires_at=EXPIRES
    )


def _parsed(message: MailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(build_mime(message), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _all_addresses(parsed: EmailMessage) -> list[str]:
    return [
        address.addr_spec
        for name in ("From", "To", "Cc", "Bcc", "Reply-To", "Sender")
        for header in parsed.get_all(name, [])
        for address in header.addresses
    ]


def test_message_is_multipart_alternative_with_text_then_html():
    parsed = _parsed(_request())
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_both_parts_are_utf8_and_decode_to_the_templates_bodies():
    message = _request()
    text, html = _parsed(message).iter_parts()
    assert text.get_content_charset() == "utf-8"
    assert html.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == message.text
    assert html.get_content().replace("\r\n", "\n") == message.html


def test_decoded_subject_equals_the_templates():
    message = _request()
    assert _parsed(message)["Subject"] == message.subject


def test_subject_is_encoded_per_rfc_2047():
    raw = build_mime(_request())
    assert b"Subject: =?utf-8?" in raw


def test_reply_to_is_the_sender():
    (reply_to,) = _parsed(_request())["Reply-To"].addresses
    assert reply_to.addr_spec == "ichiro@example.co.jp"
    assert reply_to.display_name == "佐藤一郎"


def test_from_shows_the_sender_via_the_service_at_the_service_address():
    (sender,) = _parsed(_request())["From"].addresses
    assert sender.display_name == "佐藤一郎 via tachiai"
    assert sender.addr_spec == "noreply@sign.example.co.jp"


def test_to_carries_the_recipients_display_name():
    (recipient,) = _parsed(_request())["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == ("山田花子", "hanako@example.jp")


@pytest.mark.parametrize(
    "name", ["山田花子", "髙橋 﨑子", "José Müller", "O'Brien, Ann (Legal)", 'Ann "the Signer"']
)
def test_display_names_round_trip(name):
    to = Person(name=name, email="someone@example.jp")
    (recipient,) = _parsed(_request(to=to))["To"].addresses
    assert recipient.display_name == name


def test_long_non_ascii_display_name_is_folded_into_encoded_words_that_decode_to_it():
    # Python's own address parser inserts a space between adjacent encoded words (RFC 2047 §6.2 says
    # to ignore it), so this checks the header with the RFC 2047 decoder instead.
    name = "株式会社サンプルホールディングス 経営企画部 佐藤一郎"
    message = _request(to=Person(name=name, email="someone@example.jp"))
    raw_header = email.message_from_bytes(build_mime(message), policy=email.policy.compat32)["To"]
    assert str(make_header(decode_header(raw_header))) == f"{name} <someone@example.jp>"


def test_a_name_with_a_line_break_adds_no_bcc_header():
    parsed = _parsed(_request(to=Person(name=INJECTION, email="victim@example.jp")))
    assert "Bcc" not in parsed


@pytest.mark.parametrize("who", ["recipient", "sender"])
def test_a_name_with_a_line_break_adds_no_recipient(who):
    evil = Person(name=INJECTION, email="victim@example.jp", organization=INJECTION)
    message = _request(to=evil) if who == "recipient" else _request(sender=evil)
    parsed = _parsed(message)
    assert "attacker@example.com" not in _all_addresses(parsed)
    assert [a.addr_spec for a in parsed["To"].addresses] == [message.to.email]


def test_a_title_with_a_line_break_adds_no_header():
    parsed = _parsed(_request(title=f"NDA{INJECTION}"))
    assert "Bcc" not in parsed
    assert "\n" not in parsed["Subject"]


def test_a_subject_with_a_line_break_is_flattened_even_if_built_by_hand():
    message = _request().model_copy(update={"subject": "Hello\r\nBcc: attacker@example.com\r\n\r\nbody"})
    parsed = _parsed(message)
    assert "Bcc" not in parsed
    assert parsed["Subject"] == "Hello Bcc: attacker@example.com body"


def test_display_names_lose_control_characters():
    to = Person(name="山田\x00花子\u202e", email="someone@example.jp")
    (recipient,) = _parsed(_request(to=to))["To"].addresses
    assert recipient.display_name == "山田花子"


def test_malformed_sender_address_is_refused():
    message = _request().model_copy(update={"from_address": "noreply@sign.example.co.jp\r\nBcc: a@b.example"})
    with pytest.raises(InvalidMailAddress):
        build_mime(message)


def test_non_ascii_local_part_is_refused_because_ses_has_no_smtputf8():
    with pytest.raises(InvalidMailAddress):
        build_mime(_request(to=Person(name="山田", email="山田@example.jp")))


def test_internationalized_domain_is_sent_as_punycode():
    parsed = _parsed(_request(to=Person(name="山田", email="yamada@例え.jp")))
    assert parsed["To"].addresses[0].addr_spec == "yamada@xn--r8jz45g.jp"


@pytest.mark.parametrize(
    "address", ["", "plain", "a@b", "a..b@example.com", "a@-example.com", "a b@example.com"]
)
def test_address_normalization_refuses_malformed_addresses(address):
    with pytest.raises(InvalidMailAddress):
        normalize_address(address)


def test_message_has_a_message_id_and_the_given_date():
    parsed = _parsed(_request())
    assert parsed["Message-ID"].endswith("@sign.example.co.jp>")
    raw = build_mime(_request(), now=datetime(2026, 11, 22, 1, 15, tzinfo=UTC))
    assert b"Date: Sun, 22 Nov 2026 01:15:00 +0000" in raw


def test_message_is_7bit_clean_with_short_lines():
    raw = build_mime(_request(title="秘密保持契約書" * 20))
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_vacation_responders_are_asked_not_to_reply():
    assert _parsed(_request())["Auto-Submitted"] == "auto-generated"


def test_mail_to_the_sender_has_no_reply_to():
    message = templates.cancelled(
        SETTINGS, to=SENDER, language="en", sender=SENDER, title="NDA", cancelled_at=EXPIRES
    )
    assert "Reply-To" not in _parsed(message)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_mail_says_its_language(language):
    assert _parsed(_request(language))["Content-Language"] == language
