"""The console's members page (issue 12 item 5; administrators only): every staff member with their
email, name, role and state; invite, change a role, disable and enable.

The same service as ``tachiai users`` and ``/v1/users`` (:mod:`tachiai.services.users`, over the
:class:`~tachiai.services.ports.UserDirectory`): it refuses a member (``forbidden_admin_only``, 403,
shown as a page), an address that has an account, disabling oneself and leaving the tenant without an
enabled administrator. Those refusals come back on this page, in the visitor's language, with the
invitation's values kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from tachiai import i18n
from tachiai.domain.errors import AdminOnly, TachiaiError
from tachiai.domain.users import DEFAULT_ROLE, ROLES, DirectoryUser, Role
from tachiai.services import users
from tachiai.services.users import InviteRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

    from tachiai.api.routing import RouteKey
    from tachiai.console.framework import Console, Visitor

__all__ = ["InviteForm", "MemberRow", "member_rows", "page_routes"]

MEMBERS_PATH: Final = "/app/members"
INVITED_STATUS: Final = "FORCE_CHANGE_PASSWORD"
"""The directory's status of an invited person who has not signed in (and set a password) yet."""


@dataclass(frozen=True)
class MemberRow:
    """A staff member as the page lists them."""

    user: DirectoryUser
    state: str
    """``enabled``, ``disabled`` or ``invited`` (enabled, but not signed in yet)."""
    is_visitor: bool
    """The signed-in administrator's own row: no disable button (the service refuses it anyway)."""


def _state(user: DirectoryUser) -> str:
    if not user.enabled:
        return "disabled"
    return "invited" if user.status == INVITED_STATUS else "enabled"


def member_rows(found: list[DirectoryUser], visitor: Visitor) -> list[MemberRow]:
    """The page's rows, in the service's order (by email)."""
    email = visitor.identity.email.lower()
    return [
        MemberRow(
            user=u,
            state=_state(u),
            # As the service recognizes the caller: the username, or the email a local token carries.
            is_visitor=u.username in {visitor.username, visitor.identity.sub} or u.email.lower() == email,
        )
        for u in found
    ]


@dataclass
class InviteForm:
    """The invitation form: its values, and the problem of each field once refused."""

    email: str = ""
    name: str = ""
    role: str = DEFAULT_ROLE
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, fields: Mapping[str, list[str]]) -> InviteForm:
        def one(name: str) -> str:
            return (fields.get(name) or [""])[0].strip()

        return cls(email=one("email"), name=one("name"), role=one("role") or DEFAULT_ROLE)

    def request(self, language: i18n.Language) -> InviteRequest:
        """The service's request. :raises ValidationError: (``self.errors`` set) a field is missing or
        malformed."""
        try:
            return InviteRequest.model_validate({"email": self.email, "name": self.name, "role": self.role})
        except ValidationError as e:
            for error in e.errors():
                where = str(error["loc"][0]) if error["loc"] else "email"
                if error["type"] in {"missing", "string_too_short"}:
                    msgid = "console.members.invite.required"
                elif where == "role":
                    msgid = "console.members.invite.role_invalid"
                elif where == "name":
                    msgid = "console.members.invite.name_too_long"
                else:
                    msgid = "console.members.invite.email_invalid"
                self.errors.setdefault(where, i18n.text(msgid, language))
            raise


def _role(fields: Mapping[str, list[str]]) -> Role | None:
    wanted = (fields.get("role") or [""])[0]
    return next((r for r in ROLES if r == wanted), None)


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    """The members page and its forms, for :func:`tachiai.console.console_routes`."""

    def page(
        *, status: int = 200, invite: InviteForm | None = None, problem: str | None = None
    ) -> Response[str]:
        visitor = console.visitor()
        # AdminOnly for a member: the framework shows it as a 403 page.
        found = users.list_users(console.services(), visitor.identity)
        return console.render(
            "console/members.html.j2",
            status=status,
            members=member_rows(found, visitor),
            roles=ROLES,
            invite=invite or InviteForm(),
            problem=problem,
        )

    def list_() -> Response[str]:
        return page()

    def refused(error: TachiaiError, invite: InviteForm | None = None) -> Response[str]:
        """The page again with the service's refusal (its status), or the refusal itself as the error page
        when the visitor is no administrator (there is no list to show them)."""
        if isinstance(error, AdminOnly):
            raise error
        return page(
            status=error.http_status, invite=invite, problem=error.message(console.visitor().language)
        )

    def invite() -> Response[str]:
        visitor = console.visitor()
        form = InviteForm.parse(console.form())
        try:
            request = form.request(visitor.language)
        except ValidationError:
            return page(status=422, invite=form)
        try:
            users.invite(console.services(), visitor.identity, request)
        except TachiaiError as e:
            return refused(e, form)
        return console.redirect(MEMBERS_PATH, notice="console.members.invited")

    def set_role(username: str) -> Response[str]:
        visitor = console.visitor()
        role = _role(console.form())
        if role is None:
            return page(
                status=422, problem=i18n.text("console.members.invite.role_invalid", visitor.language)
            )
        try:
            users.set_role(console.services(), visitor.identity, username, role)
        except TachiaiError as e:
            return refused(e)
        return console.redirect(MEMBERS_PATH, notice="console.members.role_changed")

    def set_enabled(username: str, enabled: bool) -> Response[str]:
        visitor = console.visitor()
        console.form()  # the CSRF check: nothing else is posted
        try:
            users.set_enabled(console.services(), visitor.identity, username, enabled)
        except TachiaiError as e:
            return refused(e)
        return console.redirect(
            MEMBERS_PATH, notice="console.members.enabled" if enabled else "console.members.disabled"
        )

    def disable(username: str) -> Response[str]:
        return set_enabled(username, False)

    def enable(username: str) -> Response[str]:
        return set_enabled(username, True)

    return {
        ("GET", MEMBERS_PATH): list_,
        ("POST", MEMBERS_PATH): invite,
        ("POST", f"{MEMBERS_PATH}/{{username}}/role"): set_role,
        ("POST", f"{MEMBERS_PATH}/{{username}}/disable"): disable,
        ("POST", f"{MEMBERS_PATH}/{{username}}/enable"): enable,
    }
