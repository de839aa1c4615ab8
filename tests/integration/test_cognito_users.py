"""The Cognito user directory's user management (moto): what `tachiai users` does to the pool — invite
with the pool's invitation mail, list with roles, disable and enable, change the role group — and the
pool's refusals as their own codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.cognito import MEMBER_CACHE_SECONDS, UserDirectory
from tachiai.domain.errors import Forbidden, UnknownUser, UserExists

REGION = "ap-northeast-1"


@pytest.fixture
def pool() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("cognito-idp", region_name=REGION)
        # As infra/constructs/auth.py: the email is a sign-in alias, the username a generated id.
        pool_id = client.create_user_pool(PoolName="senders", UsernameAttributes=["email"])["UserPool"]["Id"]
        for group in ("member", "approver", "admin"):
            client.create_group(UserPoolId=pool_id, GroupName=group)
        yield client, pool_id


def test_an_invitation_creates_a_verified_user_in_the_role_group_with_the_pools_invitation(
    pool: tuple[Any, str],
) -> None:
    client, pool_id = pool
    user = UserDirectory(client, pool_id).invite("hanako@example.co.jp", "担当 花子", "approver")

    assert (user.email, user.name, user.role) == ("hanako@example.co.jp", "担当 花子", "approver")
    assert user.status == "FORCE_CHANGE_PASSWORD"  # the mailed temporary password, to be replaced
    stored = client.admin_get_user(UserPoolId=pool_id, Username=user.username)
    attributes = {a["Name"]: a["Value"] for a in stored["UserAttributes"]}
    assert attributes["email_verified"] == "true"
    groups = client.admin_list_groups_for_user(UserPoolId=pool_id, Username=user.username)["Groups"]
    assert [g["GroupName"] for g in groups] == ["approver"]


def test_inviting_an_address_twice_is_refused_as_user_exists(pool: tuple[Any, str]) -> None:
    client, pool_id = pool
    directory = UserDirectory(client, pool_id)
    directory.invite("hanako@example.co.jp", "担当 花子", "member")
    with pytest.raises(UserExists):
        directory.invite("hanako@example.co.jp", "again", "member")


def test_every_user_is_listed_with_the_role_of_their_groups(pool: tuple[Any, str]) -> None:
    client, pool_id = pool
    directory = UserDirectory(client, pool_id)
    directory.invite("admin@example.co.jp", "管理 太郎", "admin")
    directory.invite("hanako@example.co.jp", "担当 花子", "member")

    roles = {u.email: u.role for u in directory.users()}

    assert roles == {"admin@example.co.jp": "admin", "hanako@example.co.jp": "member"}


def test_a_user_is_found_by_email_as_by_username(pool: tuple[Any, str]) -> None:
    client, pool_id = pool
    directory = UserDirectory(client, pool_id)
    invited = directory.invite("hanako@example.co.jp", "担当 花子", "member")
    assert directory.user("hanako@example.co.jp").username == invited.username
    assert directory.user(invited.username).email == "hanako@example.co.jp"


def test_an_unknown_user_is_refused_as_user_not_found(pool: tuple[Any, str]) -> None:
    client, pool_id = pool
    with pytest.raises(UnknownUser):
        UserDirectory(client, pool_id).user("nobody@example.co.jp")
    with pytest.raises(UnknownUser):
        UserDirectory(client, pool_id).set_enabled("nobody@example.co.jp", False)


def test_a_disabled_user_is_no_longer_a_sender_even_in_a_warm_container(pool: tuple[Any, str]) -> None:
    client, pool_id = pool
    directory = UserDirectory(client, pool_id)
    invited = directory.invite("hanako@example.co.jp", "担当 花子", "member")
    assert directory.member(invited.username).email == "hanako@example.co.jp"  # now remembered

    assert directory.set_enabled(invited.username, False).enabled is False
    with pytest.raises(Forbidden):
        directory.member(invited.username)
    assert directory.set_enabled(invited.username, True).enabled is True


def test_setting_a_role_leaves_the_user_in_that_role_group_only(pool: tuple[Any, str]) -> None:
    client, pool_id = pool
    directory = UserDirectory(client, pool_id)
    invited = directory.invite("hanako@example.co.jp", "担当 花子", "member")

    changed = directory.set_role("hanako@example.co.jp", "admin")

    assert changed.role == "admin"
    groups = client.admin_list_groups_for_user(UserPoolId=pool_id, Username=invited.username)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]


def test_a_user_disabled_by_another_container_is_refused_here_once_the_cache_ages_out(
    pool: tuple[Any, str],
) -> None:
    client, pool_id = pool
    now = [1000.0]
    here = UserDirectory(client, pool_id, clock=lambda: now[0])
    invited = UserDirectory(client, pool_id).invite("hanako@example.co.jp", "担当 花子", "member")
    here.member(invited.username)  # remembered by this warm container

    UserDirectory(client, pool_id).set_enabled(invited.username, False)  # another container
    now[0] += MEMBER_CACHE_SECONDS + 1

    with pytest.raises(Forbidden):
        here.member(invited.username)
