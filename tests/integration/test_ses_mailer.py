"""R1: mails leave through SES v2 as raw MIME; SES failures become errors Step Functions can route."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime
from email.policy import default
from email.utils import getaddresses

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import RawMessage, ses_backends
from tachiai.adapters import aws
from tachiai.adapters.ses import SesMailer
from tachiai.domain.errors import MailRejected, MailServiceError, MailServiceThrottled
from tachiai.domain.events import Person
from tachiai.mail import templates
from tachiai.mail.templates import MailMessage, MailSettings

REGION = "ap-northeast-1"
FROM = "noreply@sign.example.co.jp"
SETTINGS = MailSettings(from_address=FROM)
SENDER = Person(name="佐藤一郎", email="ichiro@example.co.jp", organization="株式会社サンプル")
SIGNER = Person(name="山田花子", email="hanako@example.jp", organization="株式会社例")


def _request(to: Person = SIGNER) -> MailMessage:
    return templates.signing_request(
        SETTINGS,
        to=to,
        language="ja",
        sender=SENDER,
        title="秘密保持契約書",
        link="https://sign.example.co.jp/s/token",
        expires_at=datetime(2026, 11, 29, 14, 59, tzinfo=UTC),
    )


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity="sign.example.co.jp")  # SES sends only from verified
        yield client


def _sent() -> list[RawMessage]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _recipients(raw: RawMessage) -> set[str]:
    return {address for _, address in getaddresses(raw.destinations)}


def test_mail_goes_to_its_one_recipient(ses):
    SesMailer(ses).send(_request())
    (sent,) = _sent()
    assert _recipients(sent) == {"hanako@example.jp"}


def test_mail_is_sent_from_the_verified_service_address(ses):
    SesMailer(ses).send(_request())
    (sent,) = _sent()
    assert sent.source == FROM


def test_sent_subject_is_the_templates(ses):
    message = _request()
    SesMailer(ses).send(message)
    (sent,) = _sent()
    assert email.message_from_string(sent.raw_data, policy=default)["Subject"] == message.subject


def test_send_returns_the_message_id_ses_assigned(ses):
    message_id = SesMailer(ses).send(_request())
    assert message_id == _sent()[0].id


def test_injected_bcc_in_a_name_reaches_nobody(ses):
    evil = Person(name="Evil\r\nBcc: attacker@example.com", email="victim@example.jp")
    SesMailer(ses).send(_request(to=evil))
    (sent,) = _sent()
    assert _recipients(sent) == {"victim@example.jp"}


def test_default_client_comes_from_the_cached_factory(ses):
    aws.reset_clients()
    try:
        SesMailer().send(_request())
    finally:
        aws.reset_clients()
    assert len(_sent()) == 1


def test_unverified_sender_is_rejected_for_good(ses):
    other = SETTINGS.model_copy(update={"from_address": "noreply@unverified.example"})
    message = templates.cancelled(
        other, to=SIGNER, language="ja", sender=SENDER, title="NDA", cancelled_at=datetime.now(UTC)
    )
    with pytest.raises(MailRejected):
        SesMailer(ses).send(message)


def _stubbed(code: str, status: int) -> tuple[SesMailer, Stubber]:
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("send_email", service_error_code=code, http_status_code=status)
    stubber.activate()
    return SesMailer(client), stubber


def test_throttling_is_a_retryable_error():
    mailer, _ = _stubbed("TooManyRequestsException", 429)
    with pytest.raises(MailServiceThrottled) as caught:
        mailer.send(_request())
    assert caught.value.detail == "SES SendEmail: TooManyRequestsException"


def test_exceeded_sending_quota_is_a_retryable_error():
    mailer, _ = _stubbed("LimitExceededException", 400)
    with pytest.raises(MailServiceThrottled):
        mailer.send(_request())


@pytest.mark.parametrize("code", ["MessageRejected", "SendingPausedException", "AccountSuspendedException"])
def test_rejected_message_or_paused_account_is_not_retryable(code):
    mailer, _ = _stubbed(code, 400)
    with pytest.raises(MailRejected):
        mailer.send(_request())


def test_ses_failing_is_a_retryable_error():
    mailer, _ = _stubbed("InternalFailure", 500)
    with pytest.raises(MailServiceThrottled):
        mailer.send(_request())


def test_unknown_refusal_is_a_mail_service_error_and_not_retryable():
    mailer, _ = _stubbed("SomethingNew", 400)
    with pytest.raises(MailServiceError) as caught:
        mailer.send(_request())
    assert type(caught.value) is MailServiceError


def test_configuration_set_and_envelope_recipient_are_given_to_ses():
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response(
            "send_email",
            {"MessageId": "0100-abc"},
            {
                "FromEmailAddress": FROM,
                "Destination": {"ToAddresses": ["hanako@example.jp"]},
                "Content": ANY,
                "EmailTags": [{"Name": "kind", "Value": "signing_request"}],
                "ConfigurationSetName": "tachiai-mail",
            },
        )
        assert SesMailer(client, configuration_set="tachiai-mail").send(_request()) == "0100-abc"
        stubber.assert_no_pending_responses()
