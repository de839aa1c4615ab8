"""Staff members as the user directory knows them: who they are, their role, whether they may sign in.

A role is one of the user pool's groups (``cognito:groups`` in the token; the groups of
``infra/constructs/auth.py``). A staff member has exactly one: :func:`role_of` reads it from the groups,
so a user put in two groups by hand counts as the stronger one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, get_args

Role = Literal["member", "approver", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
"""Weakest first: :func:`role_of` picks the last one a user's groups name."""
ADMIN: Final[Role] = "admin"
DEFAULT_ROLE: Final[Role] = "member"


def role_of(groups: tuple[str, ...] | list[str]) -> Role:
    """The strongest role among ``groups`` (``member`` when none names a role)."""
    found = [role for role in ROLES if role in groups]
    return found[-1] if found else DEFAULT_ROLE


@dataclass(frozen=True)
class DirectoryUser:
    """One staff member of the user directory (a Cognito user, or a local user of ``tachiai local``)."""

    username: str
    """The directory's own name for the user (a Cognito-generated UUID; the access token's ``username``)."""
    email: str
    name: str
    role: Role
    enabled: bool = True
    status: str = "CONFIRMED"
    """Cognito's account status: ``FORCE_CHANGE_PASSWORD`` until an invited user first signs in."""
    created_at: datetime | None = None
    groups: tuple[str, ...] = field(default=())
    """Every group the user is in (the role's, and any other the pool knows)."""


@dataclass(frozen=True)
class StaffMember:
    username: str
    email: str
    name: str
