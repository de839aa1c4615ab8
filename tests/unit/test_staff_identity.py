"""S-security: a staff member sends, seals and audits only under a verified email.

The sender's identity comes from the access token's claims (the local runtime's tokens carry the
email, as a pool with a pre-token-generation trigger would) or from the user pool (``AdminGetUser``,
:class:`~tachiai.adapters.cognito.UserDirectory`). Either way an email nobody proved to own is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.cognito import UserDirectory
from tachiai.config import Settings
from tachiai.domain.errors import EmailNotVerified
from tachiai.local.local_auth import LocalTokens
from tachiai.services.context import Services
from tachiai.services.identity import sender_from_claims

REGION = "ap-northeast-1"
STAFF = {"sub": "sub-jiro", "username": "sub-jiro", "email": "jiro@example.co.jp", "name": "鈴木次郎"}


@pytest.fixture
def pool() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("cognito-idp", region_name=REGION)
        pool_id = client.create_user_pool(PoolName="senders")["UserPool"]["Id"]
        yield client, pool_id


def _member(client: Any, pool_id: str, username: str, email: str, verified: str | None) -> None:
    attributes = [{"Name": "email", "Value": email}, {"Name": "name", "Value": "山田太郎"}]
    if verified is not None:
        attributes.append({"Name": "email_verified", "Value": verified})
    client.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=attributes)


def _services(client: Any, pool_id: str) -> Services:
    return Services(Settings(user_pool_id=pool_id), directory=UserDirectory(client, pool_id))


def test_claims_with_an_email_but_no_email_verified_are_refused():
    with pytest.raises(EmailNotVerified):
        sender_from_claims(Services(Settings()), STAFF)


def test_claims_with_an_unverified_email_are_refused():
    with pytest.raises(EmailNotVerified):
        sender_from_claims(Services(Settings()), {**STAFF, "email_verified": "false"})


def test_claims_with_a_verified_email_name_the_sender():
    sender = sender_from_claims(Services(Settings()), {**STAFF, "email_verified": "true"})
    assert (sender.email, sender.name) == ("jiro@example.co.jp", "鈴木次郎")


def test_a_pool_member_whose_email_is_not_verified_is_refused(pool):
    client, pool_id = pool
    _member(client, pool_id, "sub-taro", "taro@example.co.jp", verified="false")
    claims = {"sub": "sub-taro", "username": "sub-taro", "cognito:groups": "member"}
    with pytest.raises(EmailNotVerified) as refused:
        sender_from_claims(_services(client, pool_id), claims)
    assert refused.value.http_status == 403 and refused.value.code == "email_not_verified"


def test_a_pool_member_without_an_email_verified_attribute_is_refused(pool):
    client, pool_id = pool
    _member(client, pool_id, "sub-taro", "taro@example.co.jp", verified=None)
    claims = {"sub": "sub-taro", "username": "sub-taro", "cognito:groups": "member"}
    with pytest.raises(EmailNotVerified):
        sender_from_claims(_services(client, pool_id), claims)


def test_a_pool_member_with_a_verified_email_sends_under_it(pool):
    client, pool_id = pool
    _member(client, pool_id, "sub-taro", "taro@example.co.jp", verified="true")
    claims = {"sub": "sub-taro", "username": "sub-taro", "cognito:groups": "member"}
    sender = sender_from_claims(_services(client, pool_id), claims)
    assert (sender.email, sender.name) == ("taro@example.co.jp", "山田太郎")


def test_a_member_refused_for_an_unverified_email_is_accepted_once_it_is_verified(pool):
    client, pool_id = pool
    _member(client, pool_id, "sub-taro", "taro@example.co.jp", verified="false")
    svc = _services(client, pool_id)
    claims = {"sub": "sub-taro", "username": "sub-taro", "cognito:groups": "member"}
    with pytest.raises(EmailNotVerified):
        sender_from_claims(svc, claims)
    client.admin_update_user_attributes(
        UserPoolId=pool_id, Username="sub-taro", UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    assert sender_from_claims(svc, claims).email == "taro@example.co.jp"


def test_local_staff_tokens_carry_a_verified_email():
    tokens = LocalTokens(b"k" * 32)
    claims = tokens.verify(tokens.issue("sub-1", "ichiro@example.co.jp", "佐藤一郎"))
    assert claims is not None and claims["email_verified"] == "true"
    assert sender_from_claims(Services(Settings()), claims).email == "ichiro@example.co.jp"
