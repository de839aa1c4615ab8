"""The senders' user pool: who a staff member's access token belongs to.

The sender API takes Cognito **access tokens** (scoped methods; see :data:`tachiai.names.USER_SCOPE`),
which carry ``sub``, ``username`` and ``cognito:groups`` but not the email or the name the envelope
needs. :class:`UserDirectory` reads them with ``AdminGetUser`` once per user and warm container, and
only for a verified email: the address every envelope, seal and audit entry names as the sender.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.domain.errors import (
    DirectoryRefused,
    DirectoryUnavailable,
    EmailNotVerified,
    Forbidden,
    UnknownUser,
    UserExists,
)
from tachiai.domain.users import ROLES, DirectoryUser, Role, role_of
from tachiai.domain.users import StaffMember as StaffMember

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import AttributeTypeTypeDef

T = TypeVar("T")


MEMBER_CACHE_SECONDS = 300.0
"""How long a warm container trusts what it read of a staff member: an administrator's
``tachiai users disable`` (made in another container) is refused here within this time, while an
access token stays valid for up to an hour (API Gateway's authorizer does not see a disabled user)."""


class UserDirectory:
    def __init__(
        self,
        client: CognitoIdentityProviderClient,
        user_pool_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._pool = user_pool_id
        self._clock = clock
        self._known: dict[str, tuple[float, StaffMember]] = {}

    def member(self, username: str) -> StaffMember:
        """The staff member signed in as ``username``.

        :raises Forbidden: no such user, disabled, or without an email address.
        :raises EmailNotVerified: the user's email is not verified (``email_verified`` is not true).
        :raises DirectoryUnavailable: Cognito did not answer.
        """
        known = self._known.get(username)
        if known is not None and self._clock() - known[0] < MEMBER_CACHE_SECONDS:
            return known[1]
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=username)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "UserNotFoundException":
                raise Forbidden("user not in the pool") from e
            raise DirectoryUnavailable(e.response.get("Error", {}).get("Code", "")) from e
        except BotoCoreError as e:
            raise DirectoryUnavailable(type(e).__name__) from e
        if not user.get("Enabled", True):
            raise Forbidden("user disabled")
        attributes = {a["Name"]: a.get("Value", "") for a in user.get("UserAttributes", [])}
        email = attributes.get("email", "")
        if not email:
            raise Forbidden("user without an email")
        if attributes.get("email_verified", "").lower() != "true":
            # Not remembered: once the address is verified, the next request goes through.
            raise EmailNotVerified(f"{username}: email not verified")
        member = StaffMember(username=username, email=email, name=attributes.get("name") or email)
        self._known[username] = (self._clock(), member)
        return member

    # --- user management (``tachiai users``; the send function's role has these actions on its pool) ---

    def users(self) -> list[DirectoryUser]:
        """Every user of the pool (``ListUsers``), with their role groups (``ListUsersInGroup``).

        :raises DirectoryUnavailable: Cognito did not answer.
        """
        groups: dict[str, list[str]] = {}
        for role in ROLES:
            for member in self._pages("list_users_in_group", "Users", GroupName=role):
                groups.setdefault(member["Username"], []).append(role)
        return [
            _directory_user(user, user.get("Attributes", []), groups.get(user["Username"], []))
            for user in self._pages("list_users", "Users")
        ]

    def user(self, user: str) -> DirectoryUser:
        """The user named ``user`` (username or email).

        :raises UnknownUser: no such user. :raises DirectoryUnavailable: Cognito did not answer.
        """
        found = self._call(lambda: self._client.admin_get_user(UserPoolId=self._pool, Username=user), user)
        username = found["Username"]
        groups = [
            g["GroupName"]
            for g in self._pages("admin_list_groups_for_user", "Groups", Username=username)
            if "GroupName" in g
        ]
        return _directory_user(found, found.get("UserAttributes", []), groups)

    def invite(self, email: str, name: str, role: Role) -> DirectoryUser:
        """``AdminCreateUser`` with the pool's invitation mail (a temporary password), then the role group.

        The address is created verified: only its owner receives the temporary password, and nobody
        signs in without it (the pool then makes them choose their own).

        :raises UserExists: the address has an account. :raises DirectoryRefused: Cognito refused a value.
        :raises DirectoryUnavailable: Cognito did not answer.
        """
        attributes: list[AttributeTypeTypeDef] = [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
        ]
        created = self._call(
            lambda: self._client.admin_create_user(
                UserPoolId=self._pool,
                Username=email,
                UserAttributes=attributes,
                DesiredDeliveryMediums=["EMAIL"],
            ),
            email,
        )["User"]
        username = created["Username"]
        self._call(
            lambda: self._client.admin_add_user_to_group(
                UserPoolId=self._pool, Username=username, GroupName=role
            ),
            username,
        )
        return _directory_user(created, created.get("Attributes", []), [role])

    def set_enabled(self, user: str, enabled: bool) -> DirectoryUser:
        """``AdminEnableUser`` / ``AdminDisableUser`` (which also ends the user's sessions).

        :raises UnknownUser: no such user. :raises DirectoryUnavailable: Cognito did not answer.
        """
        if enabled:
            self._call(lambda: self._client.admin_enable_user(UserPoolId=self._pool, Username=user), user)
        else:
            self._call(lambda: self._client.admin_disable_user(UserPoolId=self._pool, Username=user), user)
        changed = self.user(user)
        # This warm container must not keep serving a disabled member from its memory.
        self._known.pop(changed.username, None)
        return changed

    def set_role(self, user: str, role: Role) -> DirectoryUser:
        """Add the user to ``role``'s group first, then remove them from the other role groups (never a
        moment without a role).

        :raises UnknownUser: no such user. :raises DirectoryUnavailable: Cognito did not answer.
        """
        current = self.user(user)
        username = current.username
        self._call(
            lambda: self._client.admin_add_user_to_group(
                UserPoolId=self._pool, Username=username, GroupName=role
            ),
            username,
        )
        for other in (r for r in ROLES if r != role and r in current.groups):
            self._call(
                lambda group=other: self._client.admin_remove_user_from_group(  # type: ignore[misc]
                    UserPoolId=self._pool, Username=username, GroupName=group
                ),
                username,
            )
        return self.user(username)

    def _call(self, call: Callable[[], T], user: str) -> T:
        try:
            return call()
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code == "UserNotFoundException":
                raise UnknownUser(f"no user {user}", user=user) from e
            if code in ("UsernameExistsException", "AliasExistsException"):
                raise UserExists(f"{user}: {code}", email=user) from e
            if code == "InvalidParameterException":
                raise DirectoryRefused(f"{code}: {e.response.get('Error', {}).get('Message', '')}") from e
            raise DirectoryUnavailable(code) from e
        except BotoCoreError as e:
            raise DirectoryUnavailable(type(e).__name__) from e

    def _pages(self, operation: str, key: str, **parameters: Any) -> Iterator[Any]:
        paginator = self._client.get_paginator(operation)  # type: ignore[call-overload]
        pages = self._call(lambda: list(paginator.paginate(UserPoolId=self._pool, **parameters)), "")
        for page in pages:
            yield from page.get(key, [])


def _directory_user(user: Mapping[str, Any], attributes: Any, groups: list[str]) -> DirectoryUser:
    values = {a["Name"]: a.get("Value", "") for a in attributes}
    email = values.get("email", "")
    created = user.get("UserCreateDate")
    return DirectoryUser(
        username=user["Username"],
        email=email,
        name=values.get("name") or email,
        role=role_of(groups),
        enabled=bool(user.get("Enabled", True)),
        status=str(user.get("UserStatus", "")),
        created_at=created,
        groups=tuple(groups),
    )
