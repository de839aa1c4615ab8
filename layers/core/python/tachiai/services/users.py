"""Who am I, and the administrators' management of the staff: invite, list, disable, enable, set a role.

Members manage nothing in the user pool by hand: an administrator invites the others over the API
(``tachiai users ...``), and the directory (:class:`~tachiai.services.ports.UserDirectory`: Cognito, or
the local user store) mails the invitation. Two rules keep the tenant manageable whatever an
administrator types: nobody disables their own account (:class:`CannotDisableSelf`), and the last
enabled administrator can be neither disabled nor demoted (:class:`LastAdmin`). Two administrators
demoting each other at the same instant could still both pass the second rule (the directory has no
transactions); the pool's own administrators can always repair that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from tachiai.domain.errors import AdminOnly, CannotDisableSelf, LastAdmin
from tachiai.domain.text import Line
from tachiai.domain.users import ADMIN, DEFAULT_ROLE, DirectoryUser, Role
from tachiai.services.context import Services
from tachiai.services.sending import SenderIdentity

logger = logging.getLogger(__name__)


class InviteRequest(BaseModel):
    """``POST /v1/users``: who to invite, and as what."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: Line = Field(min_length=1, max_length=200)
    role: Role = DEFAULT_ROLE


class RoleRequest(BaseModel):
    """``PUT /v1/users/{username}/role``."""

    model_config = ConfigDict(extra="forbid")

    role: Role


@dataclass(frozen=True)
class Me:
    """The caller as the token says (``GET /v1/me``)."""

    username: str
    email: str
    name: str
    groups: tuple[str, ...]


def me(caller: SenderIdentity, username: str) -> Me:
    """The caller: a staff member's username, or an integration's ``client:<id>``."""
    return Me(username=username or caller.sub, email=caller.email, name=caller.name, groups=caller.groups)


def _require_admin(caller: SenderIdentity) -> None:
    if ADMIN not in caller.groups:
        raise AdminOnly(f"{caller.sub} is not in group {ADMIN}")


def _is_caller(caller: SenderIdentity, user: DirectoryUser) -> bool:
    # The token's sub is the pool user's username (a UUID); a token of `tachiai local token` names the
    # user only by email: either way it is the same person.
    return caller.sub == user.username or caller.email.lower() == user.email.lower()


def _other_enabled_admins(svc: Services, user: DirectoryUser) -> int:
    return sum(
        1 for u in svc.directory.users() if u.enabled and u.role == ADMIN and u.username != user.username
    )


def list_users(svc: Services, caller: SenderIdentity) -> list[DirectoryUser]:
    """Every staff member, by email.

    :raises AdminOnly: the caller is not an administrator. :raises DirectoryUnavailable:
    """
    _require_admin(caller)
    return sorted(svc.directory.users(), key=lambda u: u.email.lower())


def invite(svc: Services, caller: SenderIdentity, request: InviteRequest) -> DirectoryUser:
    """Create the account and have the directory mail the invitation.

    :raises AdminOnly: the caller is not an administrator.
    :raises UserExists: the address has an account already.
    :raises DirectoryRefused: the directory refused a value. :raises DirectoryUnavailable:
    """
    _require_admin(caller)
    user = svc.directory.invite(str(request.email), request.name, request.role)
    logger.info("user %s invited as %s by %s", user.username, user.role, caller.sub)
    return user


def set_enabled(svc: Services, caller: SenderIdentity, username: str, enabled: bool) -> DirectoryUser:
    """Disable a staff member (they can no longer sign in) or enable them again.

    :raises AdminOnly: the caller is not an administrator.
    :raises UnknownUser: no such user.
    :raises CannotDisableSelf: the caller's own account.
    :raises LastAdmin: the only enabled administrator. :raises DirectoryUnavailable:
    """
    _require_admin(caller)
    user = svc.directory.user(username)
    if not enabled:
        if _is_caller(caller, user):
            raise CannotDisableSelf(f"{caller.sub} disabling themselves")
        if user.enabled and user.role == ADMIN and _other_enabled_admins(svc, user) == 0:
            raise LastAdmin(f"{user.username} is the last enabled admin", user=user.email)
    changed = svc.directory.set_enabled(user.username, enabled)
    logger.info("user %s %s by %s", user.username, "enabled" if enabled else "disabled", caller.sub)
    return changed


def set_role(svc: Services, caller: SenderIdentity, username: str, role: Role) -> DirectoryUser:
    """Make ``role`` the staff member's role.

    :raises AdminOnly: the caller is not an administrator.
    :raises UnknownUser: no such user.
    :raises LastAdmin: demoting the only enabled administrator (the caller included).
    :raises DirectoryUnavailable:
    """
    _require_admin(caller)
    user = svc.directory.user(username)
    if user.role == ADMIN and role != ADMIN and user.enabled and _other_enabled_admins(svc, user) == 0:
        raise LastAdmin(f"{user.username} is the last enabled admin", user=user.email)
    changed = svc.directory.set_role(user.username, role)
    logger.info("user %s: role %s -> %s by %s", user.username, user.role, role, caller.sub)
    return changed
