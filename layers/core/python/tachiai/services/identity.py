"""Who is calling the sender API, from the claims of the access token API Gateway checked.

Two kinds of caller reach the sender routes (each route names the scopes it accepts,
:attr:`tachiai.names.Route.scopes`):

* a staff member signed in to the user pool — ``username`` and ``cognito:groups`` are in the token; the
  email and name are too when the pool adds them (the local runtime does), else they are read from the
  user pool (:class:`tachiai.adapters.cognito.UserDirectory`, once per warm container). Either way the
  email must be verified (``email_verified``): it is who the envelope, its seals and its audit trail
  say sent it, so an address nobody proved to own is refused (:class:`EmailNotVerified`);
* an API integration (client credentials) — the token's subject is the app client. It acts as the
  sender ``client:<id>``; its envelopes' notices go to the tenant's configured integration address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tachiai.domain.errors import EmailNotVerified, Forbidden
from tachiai.services.context import Services
from tachiai.services.sending import SenderIdentity

INTEGRATION_GROUP = "integration"


class IntegrationNotConfigured(Forbidden):
    code = "integration_not_configured"


def sender_from_claims(svc: Services, claims: Mapping[str, Any] | None) -> SenderIdentity:
    """The caller of a sender route.

    :raises Forbidden: the claims name nobody usable (the authorizer should have refused them), or the
        user is unknown or disabled in the pool.
    :raises EmailNotVerified: the staff member's email is not verified (in the token's claims, or in
        the pool).
    :raises IntegrationNotConfigured: an integration called, and no integration email is configured.
    :raises DirectoryUnavailable: the user pool did not answer.
    """
    claims = claims or {}
    sub = str(claims.get("sub") or "")
    if not sub:
        raise Forbidden("no sub claim")
    # A REST API's Cognito authorizer passes lists comma-joined ("admin,member").
    groups = tuple(str(claims.get("cognito:groups") or "").strip("[]").replace(",", " ").split())
    username = str(claims.get("username") or claims.get("cognito:username") or "")
    if username:
        email, name = str(claims.get("email") or ""), str(claims.get("name") or "")
        if email:
            # A REST API's authorizer passes booleans as text ("true"); a token without the claim has
            # not shown the address was proved.
            if str(claims.get("email_verified", "")).lower() != "true":
                raise EmailNotVerified(f"{username}: email_verified is {claims.get('email_verified')!r}")
        else:
            member = svc.directory.member(username)  # only members with a verified email
            email, name = member.email, member.name
        return SenderIdentity(sub=sub, email=email, name=name or email, groups=groups)
    client_id = str(claims.get("client_id") or "")
    if client_id and client_id == sub:
        address = svc.settings.integration_email
        if not address:
            raise IntegrationNotConfigured(f"integration {client_id} without an integration email")
        return SenderIdentity(
            sub=f"client:{client_id}",
            email=address,
            name=f"API ({client_id})",
            groups=(INTEGRATION_GROUP,),
        )
    raise Forbidden("neither a user nor an integration")
