"""Issue 13, blocker 3: SES's sandbox refusal is a named failure, not retried, logged for the alarm."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from tachiai import i18n
from tachiai.adapters.ses import SANDBOX_REFUSAL_MARKER, SesMailer
from tachiai.domain.errors import MailRejected, MailSandboxRefused, MailServiceError, MailServiceThrottled
from tachiai.domain.events import Person
from tachiai.mail import templates
from tachiai.mail.templates import MailMessage, MailSettings

REGION = "ap-northeast-1"
FROM = "noreply@sign.example.co.jp"
SIGNER = Person(name="山田花子", email="Hanako@example.jp", organization="株式会社例")
SENDER = Person(name="佐藤一郎", email="ichiro@example.co.jp")


def _request() -> MailMessage:
    return templates.signing_request(
        MailSettings(from_address=FROM),
        to=SIGNER,
        language="ja",
        sender=SENDER,
        title="秘密保持契約書",
        link="https://sign.example.co.jp/s/token",
        expires_at=datetime(2026, 11, 29, 14, 59, tzinfo=UTC),
    )


def _refusing(code: str, message: str, status: int = 400) -> SesMailer:
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error(
        "send_email", service_error_code=code, service_message=message, http_status_code=status
    )
    stubber.activate()
    return SesMailer(client)


NOT_VERIFIED = (
    "Email address is not verified. The following identities failed the check in region "
    "AP-NORTHEAST-1: hanako@example.jp"
)
DENIED = (
    "User `arn:aws:sts::123456789012:assumed-role/Tachiai-Send/fn' is not authorized to perform "
    "`ses:SendEmail' on resource `arn:aws:ses:ap-northeast-1:123456789012:identity/hanako@example.jp'"
)


def test_an_unverified_recipient_in_the_sandbox_is_a_sandbox_refusal():
    with pytest.raises(MailSandboxRefused) as caught:
        _refusing("MessageRejected", NOT_VERIFIED).send(_request())
    assert caught.value.code == "mail_sandbox_refused"
    assert isinstance(caught.value, MailRejected)  # permanent: the chain's Retry never matches it
    assert not isinstance(caught.value, MailServiceThrottled)


def test_access_denied_on_the_recipients_identity_is_a_sandbox_refusal():
    with pytest.raises(MailSandboxRefused):
        _refusing("AccessDeniedException", DENIED, status=403).send(_request())


def test_a_refusal_listing_the_recipient_among_others_is_a_sandbox_refusal():
    message = NOT_VERIFIED.replace("hanako@example.jp", "noreply@sign.example.co.jp, HANAKO@example.jp")
    with pytest.raises(MailSandboxRefused):
        _refusing("MessageRejected", message).send(_request())


def test_an_unverified_sender_is_still_a_plain_rejection():
    message = NOT_VERIFIED.replace("hanako@example.jp", "noreply@sign.example.co.jp")
    with pytest.raises(MailRejected) as caught:
        _refusing("MessageRejected", message).send(_request())
    assert type(caught.value) is MailRejected


def test_access_denied_on_the_sending_domain_is_not_a_sandbox_refusal():
    message = DENIED.replace("identity/hanako@example.jp", "identity/sign.example.co.jp")
    with pytest.raises(MailServiceError) as caught:
        _refusing("AccessDeniedException", message, status=403).send(_request())
    assert type(caught.value) is MailServiceError


def test_a_sandbox_refusal_is_logged_as_an_error_with_the_alarms_marker(caplog):
    with caplog.at_level(logging.INFO, logger="tachiai.adapters.ses"), pytest.raises(MailSandboxRefused):
        _refusing("MessageRejected", NOT_VERIFIED).send(_request())
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith(SANDBOX_REFUSAL_MARKER)
    assert "hanako" not in record.getMessage().lower()  # the address stays out of the logs


def test_the_sandbox_refusal_says_what_to_do_in_every_language():
    for language in i18n.LANGUAGES:
        assert "SES" in MailSandboxRefused("x").message(language)
