"""The staff: who am I, and what administrators (only) may do to users, with its two safety rules."""

from __future__ import annotations

import pytest
from tachiai.domain.errors import AdminOnly, CannotDisableSelf, LastAdmin, UnknownUser, UserExists
from tachiai.domain.users import DirectoryUser, role_of
from tachiai.services import users
from tachiai.services.identity import INTEGRATION_GROUP
from tachiai.services.sending import SenderIdentity
from tachiai.services.users import InviteRequest

from tests.fakes import FakeWorld, fake_world

ADMIN = DirectoryUser("u-admin", "admin@example.co.jp", "管理 太郎", "admin", groups=("admin",))
MEMBER = DirectoryUser("u-member", "member@example.co.jp", "担当 花子", "member", groups=("member",))


def identity(user: DirectoryUser) -> SenderIdentity:
    return SenderIdentity(sub=user.username, email=user.email, name=user.name, groups=user.groups)


@pytest.fixture
def world() -> FakeWorld:
    w = fake_world()
    w.directory.add(ADMIN)
    w.directory.add(MEMBER)
    return w


def test_me_is_the_caller_as_the_token_names_them() -> None:
    found = users.me(identity(MEMBER), "u-member")
    assert (found.username, found.email, found.name, found.groups) == (
        "u-member",
        "member@example.co.jp",
        "担当 花子",
        ("member",),
    )


def test_an_administrator_lists_every_user_by_email(world: FakeWorld) -> None:
    listed = users.list_users(world.svc, identity(ADMIN))
    assert [u.email for u in listed] == ["admin@example.co.jp", "member@example.co.jp"]


@pytest.mark.parametrize(
    "action",
    [
        lambda svc, who: users.list_users(svc, who),
        lambda svc, who: users.invite(svc, who, InviteRequest(email="new@example.co.jp", name="新人")),
        lambda svc, who: users.set_enabled(svc, who, "u-admin", enabled=False),
        lambda svc, who: users.set_role(svc, who, "u-member", "admin"),
    ],
    ids=["list", "invite", "disable", "set-role"],
)
def test_a_member_may_not_manage_users(world: FakeWorld, action) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AdminOnly) as raised:
        action(world.svc, identity(MEMBER))
    assert raised.value.code == "forbidden_admin_only"
    assert raised.value.http_status == 403
    assert world.directory.accounts["u-admin"].enabled


def test_an_integration_may_not_manage_users(world: FakeWorld) -> None:
    integration = SenderIdentity(
        sub="client:abc", email="i@example.co.jp", name="API", groups=(INTEGRATION_GROUP,)
    )
    with pytest.raises(AdminOnly):
        users.list_users(world.svc, integration)


def test_an_invitation_creates_the_account_with_its_role_and_mails_it(world: FakeWorld) -> None:
    invited = users.invite(
        world.svc,
        identity(ADMIN),
        InviteRequest(email="new@example.co.jp", name="新人 一郎", role="approver"),
    )
    assert (invited.email, invited.name, invited.role) == ("new@example.co.jp", "新人 一郎", "approver")
    assert world.directory.invited == ["new@example.co.jp"]


def test_inviting_an_address_that_has_an_account_is_refused_as_user_exists(world: FakeWorld) -> None:
    with pytest.raises(UserExists) as raised:
        users.invite(world.svc, identity(ADMIN), InviteRequest(email="MEMBER@example.co.jp", name="x"))
    assert raised.value.http_status == 409
    assert world.directory.invited == []


def test_an_administrator_disables_and_enables_a_member(world: FakeWorld) -> None:
    assert not users.set_enabled(world.svc, identity(ADMIN), "member@example.co.jp", enabled=False).enabled
    assert not world.directory.accounts["u-member"].enabled
    assert users.set_enabled(world.svc, identity(ADMIN), "u-member", enabled=True).enabled


def test_disabling_yourself_is_refused(world: FakeWorld) -> None:
    world.directory.add(DirectoryUser("u-admin2", "admin2@example.co.jp", "副", "admin", groups=("admin",)))
    with pytest.raises(CannotDisableSelf) as raised:
        users.set_enabled(world.svc, identity(ADMIN), "u-admin", enabled=False)
    assert raised.value.code == "cannot_disable_self"
    assert world.directory.accounts["u-admin"].enabled


def test_disabling_yourself_is_refused_when_the_token_names_you_by_email_only(world: FakeWorld) -> None:
    local_token = SenderIdentity(
        sub="local-admin@example.co.jp", email="Admin@example.co.jp", name="x", groups=("admin",)
    )
    with pytest.raises(CannotDisableSelf):
        users.set_enabled(world.svc, local_token, "u-admin", enabled=False)


def test_disabling_the_last_enabled_administrator_is_refused(world: FakeWorld) -> None:
    other = SenderIdentity(sub="someone", email="x@example.co.jp", name="x", groups=("admin",))
    with pytest.raises(LastAdmin) as raised:
        users.set_enabled(world.svc, other, "u-admin", enabled=False)
    assert raised.value.code == "last_admin"
    assert "admin@example.co.jp" in raised.value.message("en")


def test_demoting_the_last_enabled_administrator_is_refused_even_by_themselves(world: FakeWorld) -> None:
    with pytest.raises(LastAdmin):
        users.set_role(world.svc, identity(ADMIN), "u-admin", "member")
    assert world.directory.accounts["u-admin"].role == "admin"


def test_a_disabled_administrator_does_not_count_as_the_other_administrator(world: FakeWorld) -> None:
    world.directory.add(
        DirectoryUser("u-old", "old@example.co.jp", "旧", "admin", enabled=False, groups=("admin",))
    )
    with pytest.raises(LastAdmin):
        users.set_role(world.svc, identity(ADMIN), "u-admin", "member")


def test_an_administrator_can_be_demoted_when_another_is_enabled(world: FakeWorld) -> None:
    users.set_role(world.svc, identity(ADMIN), "u-member", "admin")
    assert users.set_role(world.svc, identity(ADMIN), "u-admin", "member").role == "member"


def test_an_unknown_user_is_refused_as_user_not_found(world: FakeWorld) -> None:
    with pytest.raises(UnknownUser) as raised:
        users.set_role(world.svc, identity(ADMIN), "nobody@example.co.jp", "member")
    assert raised.value.http_status == 404
    assert "nobody@example.co.jp" in raised.value.message("ja")


def test_role_of_picks_the_strongest_group_and_defaults_to_member() -> None:
    assert role_of(("member", "admin")) == "admin"
    assert role_of(("approver",)) == "approver"
    assert role_of(("integration",)) == "member"
