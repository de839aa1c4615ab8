"""R5 and the security rules: a completion (download) link past its validity offers nothing and says
so — that it expired, and whom to ask (the sender, by name and address) — in Japanese and English.

The agree function's app is called with API Gateway events against moto's DynamoDB and S3, with its
clock moved past the link's expiry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA, EnvelopeRepository
from tachiai.api.recipient import build_recipient_app
from tachiai.config import settings_from
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.events import Person
from tachiai.domain.storage import LinkRecord
from tachiai.domain.tokens import new_link_token
from tachiai.services.context import Services

REGION = "ap-northeast-1"
COMPLETED_AT = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
VALID_UNTIL = COMPLETED_AT + timedelta(days=30)
SENDER = Person(name="佐藤一郎", email="ichiro.sato@sample.co.jp", organization="株式会社サンプル")


@pytest.fixture
def completion_link(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Callable[[datetime], None]]]:
    """A completed envelope and Hanako's completion link; and a way to set the service's clock."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from tachiai.adapters.aws import reset_clients

    reset_clients()
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(TableName="envelopes", **TABLE_SCHEMA)
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket="documents", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        clock = {"now": COMPLETED_AT}
        svc = Services(
            settings_from(
                {
                    names.ENV_TABLE: "envelopes",
                    names.ENV_BUCKET: "documents",
                    names.ENV_PUBLIC_URL: "https://sign.example.co.jp/prod",
                    names.ENV_MAIL_FROM: "noreply@sign.example.co.jp",
                }
            ),
            now=lambda: clock["now"],
        )
        hanako = Person(name="山﨑花子", email="hanako@example.jp")
        envelope = Envelope(
            id="env_done",
            title="業務委託契約書",
            sender=SENDER,
            sender_id="sub-sato",
            status=EnvelopeStatus.COMPLETED,
            participants=[
                Participant(
                    id="p1", order=1, person=hanako, status=ParticipantStatus.AGREED, acted_at=COMPLETED_AT
                )
            ],
            documents=[Document(id="d1", name="業務委託契約書.pdf", pages=2, seals=2, finalized=True)],
            created_at=COMPLETED_AT,
            updated_at=COMPLETED_AT,
            completed_at=COMPLETED_AT,
        )
        token, token_sha256 = new_link_token()
        link = LinkRecord(token_sha256, envelope.id, "p1", VALID_UNTIL, purpose="download")
        assert isinstance(svc.envelopes, EnvelopeRepository)
        svc.envelopes.save(envelope, [], create=True, links_added=[link])
        monkeypatch.setattr("tachiai.api.recipient.services", lambda: svc)

        def set_clock(moment: datetime) -> None:
            clock["now"] = moment

        yield token, set_clock
    reset_clients()


def _get(path: str, **query: str) -> tuple[int, str, dict[str, Any]]:
    event = {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Accept-Language": "ja"},
        "multiValueHeaders": {"Accept-Language": ["ja"]},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": None,
        "requestContext": {
            "httpMethod": "GET",
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "r1",
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "pytest"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    response = build_recipient_app().resolve(event, None)
    return response["statusCode"], response.get("body") or "", response.get("headers") or {}


def test_a_completion_link_within_its_validity_offers_the_signed_documents(completion_link):
    token, set_clock = completion_link
    set_clock(VALID_UNTIL - timedelta(seconds=1))
    status, page, _ = _get(f"/s/{token}")
    assert status == 200 and "締結が完了しました" in page and f"/s/{token}/documents/d1" in page


@pytest.mark.parametrize(
    ("lang", "expired", "ask"),
    [
        (
            "ja",
            "ダウンロード用リンクの有効期限が切れています",
            "送信者の株式会社サンプル 佐藤一郎 様にお問い合わせください",
        ),
        ("en", "This download link has expired", "please ask the sender, 佐藤一郎 of 株式会社サンプル."),
    ],
)
def test_an_expired_completion_link_says_it_expired_and_whom_to_ask(completion_link, lang, expired, ask):
    token, set_clock = completion_link
    set_clock(VALID_UNTIL + timedelta(days=1))
    status, page, _ = _get(f"/s/{token}", lang=lang)
    assert status == 410
    assert expired in page and ask in page
    assert "mailto:ichiro.sato@sample.co.jp" in page  # the sender's address, to write to
    assert "締結が完了しました" not in page and f"/s/{token}/documents/d1" not in page


def test_an_expired_completion_links_document_and_certificate_are_the_expired_page(completion_link):
    token, set_clock = completion_link
    set_clock(VALID_UNTIL)
    for path in (f"/s/{token}/documents/d1", f"/s/{token}/certificate"):
        status, page, headers = _get(path)
        assert status == 410 and "Location" not in headers
        assert "ダウンロード用リンクの有効期限が切れています" in page
