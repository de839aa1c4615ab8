"""The sender API's staff routes: ``GET /v1/me`` for anyone signed in, and the administrators' users
(``GET/POST /v1/users``, ``POST /v1/users/{username}/disable|enable``, ``PUT /v1/users/{username}/role``).

Thin handlers over :mod:`tachiai.services.users`; who may do what is decided there (a member gets 403
``forbidden_admin_only``). ``{username}`` is the user's username or email address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from tachiai.api.models import MeView, UserList, UserView
from tachiai.api.routing import RestResolver, RouteKey, model_response
from tachiai.domain.users import DirectoryUser
from tachiai.services import users
from tachiai.services.context import services
from tachiai.services.identity import sender_from_claims
from tachiai.services.sending import SenderIdentity
from tachiai.services.users import InviteRequest, RoleRequest


def user_view(user: DirectoryUser) -> UserView:
    """A staff member as the API shows them (never a password or anything about one)."""
    return UserView(
        username=user.username,
        email=user.email,
        name=user.name,
        role=user.role,
        enabled=user.enabled,
        status=user.status,
        created_at=user.created_at,
    )


def user_routes(app: RestResolver) -> dict[RouteKey, Callable[..., Any]]:
    """The handlers of the staff routes, for :func:`tachiai.api.routing.register_routes`."""

    def claims() -> dict[str, Any]:
        return dict(app.current_event.request_context.authorizer.claims or {})

    def caller() -> SenderIdentity:
        return sender_from_claims(services(), claims())

    def me() -> Response[MeView]:
        identity = caller()
        found = users.me(identity, str(claims().get("username") or ""))
        body = MeView(username=found.username, email=found.email, name=found.name, groups=list(found.groups))
        return model_response(200, body)

    def list_() -> Response[UserList]:
        return model_response(
            200, UserList(users=[user_view(u) for u in users.list_users(services(), caller())])
        )

    def invite(request: Annotated[InviteRequest, Body()]) -> Response[UserView]:
        user = users.invite(services(), caller(), request)
        return model_response(201, user_view(user), {"Location": f"/v1/users/{user.username}"})

    def disable(username: str) -> Response[UserView]:
        return model_response(
            200, user_view(users.set_enabled(services(), caller(), username, enabled=False))
        )

    def enable(username: str) -> Response[UserView]:
        return model_response(200, user_view(users.set_enabled(services(), caller(), username, enabled=True)))

    def set_role(username: str, request: Annotated[RoleRequest, Body()]) -> Response[UserView]:
        return model_response(200, user_view(users.set_role(services(), caller(), username, request.role)))

    return {
        ("GET", "/v1/me"): me,
        ("GET", "/v1/users"): list_,
        ("POST", "/v1/users"): invite,
        ("POST", "/v1/users/{username}/disable"): disable,
        ("POST", "/v1/users/{username}/enable"): enable,
        ("PUT", "/v1/users/{username}/role"): set_role,
    }
