"""Who may use the sender API: a Cognito user pool of the tenant's own staff.

Token type: every sender method lists OAuth scopes (:attr:`tachiai.names.Route.scopes`), so API
Gateway's Cognito authorizer takes **access tokens**: a staff member's, from signing in with the web
client (scope ``aws.cognito.signin.user.admin``, accepted on every sender route), or an integration's,
from the client-credentials grant of the integration client (``tachiai-api/envelopes.read`` for GET
routes, ``tachiai-api/envelopes.write`` for the others). An access token carries ``username`` and
``cognito:groups`` but no email: the send function reads a staff member's email and name from the pool
(``cognito-idp:AdminGetUser``), and an integration's envelopes send their notices to the tenant's
``integration_email`` (:mod:`tachiai.services.identity`).

Who a staff member is — the email and name every envelope they send, every seal and every audit entry
carries — is the administrator's to set, not the staff member's: no app client may write ``email`` or
``name`` (a user's own access token could otherwise rename them, ``UpdateUserAttributes``), a changed
email stays the old one until the new one is verified (``keep_original``), and the send function acts
only on a verified email.
"""

from __future__ import annotations

import re

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct
from tachiai import names

from infra.config import TenantConfig

GROUPS = {
    "admin": "Manages the tenant's users and sees every envelope",
    "approver": "Approves envelopes before external signers receive them",
    "member": "Sends envelopes and sees their own",
}
"""Cognito groups; their names reach the sender API in the ``cognito:groups`` claim."""

RESOURCE_SERVER_ID = names.RESOURCE_SERVER_ID
SELF_WRITABLE = cognito.ClientAttributes().with_standard_attributes(locale=True, timezone=True)
"""What a signed-in user may change about themselves: preferences only, never who they are. (A client
without an explicit list may write every standard attribute, and an empty list counts as none given.)"""
SCOPES = names.API_SCOPES


class Auth(Construct):
    """User pool (no self sign-up, optional TOTP MFA, Plus threat protection), groups and two clients."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TenantConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            # Senders are the tenant's staff, invited by an administrator: nobody signs themselves up.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # A new address takes effect only once its owner proves it (a code sent to it): until then
            # the verified original stays, for sign-in and for whatever the user sends.
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            # Optional, as the tenant's own IdP policy may already require MFA (and SMS costs money and
            # is phishable): TOTP authenticator apps only.
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Plus: threat protection (compromised credentials, adaptive authentication) enforced.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            user_invitation=cognito.UserInvitationConfig(
                email_subject=f"{config.service_name} へのご招待 / Your {config.service_name} account",
                email_body=(
                    f"{config.service_name} の送信者として登録されました。ユーザー名: {{username}} "
                    "仮パスワード: {####}<br>"
                    f"You can now send contracts with {config.service_name}. User name: {{username}} "
                    "Temporary password: {####}"
                ),
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.groups = {
            name: self.user_pool.add_group(name.capitalize(), group_name=name, description=description)
            for name, description in GROUPS.items()
        }

        self.resource_server = self.user_pool.add_resource_server(
            "Api",
            identifier=RESOURCE_SERVER_ID,
            scopes=[
                cognito.ResourceServerScope(scope_name=n, scope_description=d) for n, d in SCOPES.items()
            ],
        )
        # The token endpoint (client credentials) needs a domain: per account and stack, without the
        # words Cognito reserves ("aws", "amazon", "cognito").
        prefix = re.sub(r"aws|amazon|cognito", "", config.stack_name.lower())[:30].strip("-") or "tachiai"
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=Fn.join("-", [prefix, Aws.ACCOUNT_ID])),
        )

        # The web (and CLI) client: SRP sign-in from a public client, so no secret; no hosted-UI OAuth
        # flows until a web front end exists to register callback URLs.
        self.web_client = self.user_pool.add_client(
            "WebClient",
            write_attributes=SELF_WRITABLE,
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            enable_token_revocation=True,
        )
        # API integrations (the company's own systems): client credentials with a secret, scoped.
        self.integration_client = self.user_pool.add_client(
            "IntegrationClient",
            write_attributes=SELF_WRITABLE,
            generate_secret=True,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[
                    cognito.OAuthScope.resource_server(
                        self.resource_server, cognito.ResourceServerScope(scope_name=n, scope_description=d)
                    )
                    for n, d in SCOPES.items()
                ],
            ),
            access_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
        )
