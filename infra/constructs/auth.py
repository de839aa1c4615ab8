"""Who may use the sender API: a Cognito user pool of the tenant's own staff, and how they sign in.

People sign in on Cognito's **managed login** pages (the domain's newer managed login, default
branding) with OAuth 2.0 authorization code + PKCE, through one public app client
(:class:`LoginClient`): ``tachiai login`` (a loopback redirect, :data:`tachiai.names.CLI_CALLBACK_URL`)
and the console to come (``<public URL>/app/callback``). The pages offer the pool's own password sign-in
(with TOTP MFA as the tenant configured) and a button per identity provider of the tenant config (SAML
or OIDC). Programs use the integration client (client credentials). There is no SRP or password API
client: one door for people, where MFA, threat protection and federation all apply, and which the
CLI's no-browser fallback uses too (the URL is printed, the redirected URL pasted back: Cognito has no
device flow).

Token type: every sender method lists OAuth scopes (:attr:`tachiai.names.Route.scopes`), so API
Gateway's Cognito authorizer takes **access tokens**: a person's (:data:`tachiai.names.LOGIN_SCOPES`,
which include ``tachiai-api/envelopes.read`` and ``envelopes.write``) or an integration's. An access
token carries ``username`` and ``cognito:groups`` but no email: the send function reads a staff member's
email and name from the pool (``cognito-idp:AdminGetUser``), and an integration's envelopes send their
notices to the tenant's ``integration_email`` (:mod:`tachiai.services.identity`).

Who a staff member is — the email and name every envelope they send, every seal and every audit entry
carries — is the administrator's (or the tenant's IdP's) to set, not the staff member's. A user's own
access token may call ``UpdateUserAttributes`` on every attribute its app client may write, but only
with Cognito's self-service scope ``aws.cognito.signin.user.admin``, which every token of Cognito's
sign-in APIs (SRP, password) carries. Cognito makes a client that federates list the mapped attributes
(email, name, email_verified) as writable, so the login client never issues that scope: it allows no
sign-in API flow and does not offer the scope. The integration client writes preferences only
(``SELF_WRITABLE``). A changed email stays the old one until the new one is verified
(``keep_original``), and the send function acts only on a verified email.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, SecretValue
from aws_cdk import aws_cognito as cognito
from constructs import Construct
from tachiai import names

from infra.config import OidcProvider, SamlProvider, TenantConfig

GROUPS = {
    "admin": "Manages the tenant's users and sees every envelope",
    "approver": "Approves envelopes before external signers receive them",
    "member": "Sends envelopes and sees their own",
}
"""Cognito groups; their names reach the sender API in the ``cognito:groups`` claim. A user in none of
them (a federated user on first sign-in) has a member's rights: only ``admin`` grants more."""

RESOURCE_SERVER_ID = names.RESOURCE_SERVER_ID
SELF_WRITABLE = cognito.ClientAttributes().with_standard_attributes(locale=True, timezone=True)
"""What a signed-in user may change about themselves: preferences only, never who they are. (A client
without an explicit list may write every standard attribute, and an empty list counts as none given.)"""
FEDERATION_WRITABLE = cognito.ClientAttributes().with_standard_attributes(
    locale=True, timezone=True, email=True, email_verified=True, fullname=True
)
"""The login client's list when the tenant federates: Cognito updates the mapped attributes at every
federated sign-in, through the client, and fails the sign-in unless the client may write them."""
SCOPES = names.API_SCOPES
MFA = {"off": cognito.Mfa.OFF, "optional": cognito.Mfa.OPTIONAL, "required": cognito.Mfa.REQUIRED}

TOKEN_VALIDITY = {"id": Duration.hours(1), "access": Duration.hours(1), "refresh": Duration.days(30)}
REFRESH_GRACE = Duration.seconds(60)
"""Refresh tokens rotate (each refresh returns a new one and retires the old): a refresh token on a
laptop's disk is good for one refresh. The old one stays usable this long, so two CLI commands
refreshing at the same moment both succeed. Rotation also shuts the sign-in API's REFRESH_TOKEN_AUTH,
the one API flow a login-client refresh token could use."""


def login_domain_prefix(stack_name: str) -> str:
    """The managed login domain's prefix for this stack (the account id follows it): per stack.

    Cognito refuses "aws", "amazon" and "cognito" in a prefix and allows 63 characters with the
    account id's 13: a stack name that had to be changed to fit (words dropped, cut) gets a digest of
    the whole name, so two stacks whose names differ only there still get two domains.
    """
    lowered = stack_name.lower()
    prefix = re.sub(r"aws|amazon|cognito", "", lowered)[:30].strip("-") or "tachiai"
    if prefix != lowered:
        prefix = f"{prefix}-{hashlib.sha256(stack_name.encode()).hexdigest()[:8]}"
    return prefix


class Auth(Construct):
    """User pool (no self sign-up, TOTP MFA per config, Plus threat protection), groups, the managed
    login domain, the tenant's identity providers and the integration client."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TenantConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
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
            # TOTP authenticator apps only (SMS costs money and is phishable); optional by default, as
            # the tenant's own IdP policy may already require MFA (config ``mfa``).
            mfa=MFA[config.mfa],
            mfa_second_factor=None if config.mfa == "off" else cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Plus: threat protection (compromised credentials, adaptive authentication) enforced, and
            # the managed login pages.
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
            # RETAIN even on a failed create: deletion protection would fail the rollback's delete. Its
            # name is generated, so a pool left by a failed first deploy never blocks the retry.
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
        self.api_scopes = [
            cognito.OAuthScope.resource_server(
                self.resource_server, cognito.ResourceServerScope(scope_name=n, scope_description=d)
            )
            for n, d in SCOPES.items()
        ]
        # The managed login pages and the token endpoint: per account and stack.
        prefix = login_domain_prefix(config.stack_name)
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=Fn.join("-", [prefix, Aws.ACCOUNT_ID])),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )

        self.identity_providers: list[cognito.IUserPoolIdentityProvider] = [
            self._identity_provider(provider) for provider in config.identity_providers
        ]

        # API integrations (the company's own systems): client credentials with a secret, scoped.
        self.integration_client = self.user_pool.add_client(
            "IntegrationClient",
            write_attributes=SELF_WRITABLE,
            generate_secret=True,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True), scopes=list(self.api_scopes)
            ),
            access_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            # Explicit: without a list, CDK offers every identity provider of the pool to the client.
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        )

    @property
    def login_url(self) -> str:
        """``https://<prefix>-<account>.auth.<region>.amazoncognito.com``: the managed login pages and
        the OAuth endpoints (``/oauth2/authorize``, ``/oauth2/token``, ``/oauth2/revoke``, ``/logout``)."""
        return self.domain.base_url()

    def _identity_provider(self, provider: SamlProvider | OidcProvider) -> cognito.IUserPoolIdentityProvider:
        """The tenant's IdP, its claims mapped to the attributes tachiai reads (email, name, verified)."""
        claims = provider.claims
        mapping = cognito.AttributeMapping(
            email=cognito.ProviderAttribute.other(claims["email"]),
            fullname=cognito.ProviderAttribute.other(claims["name"]),
            email_verified=cognito.ProviderAttribute.other(claims["email_verified"]),
        )
        construct_id = f"Idp{provider.name}"
        if isinstance(provider, SamlProvider):
            kind, value = provider.metadata
            metadata = (
                cognito.UserPoolIdentityProviderSamlMetadata.url(value)
                if kind == "url"
                else cognito.UserPoolIdentityProviderSamlMetadata.file(value)
            )
            return cognito.UserPoolIdentityProviderSaml(
                self,
                construct_id,
                user_pool=self.user_pool,
                name=provider.name,
                metadata=metadata,
                attribute_mapping=mapping,
            )
        return cognito.UserPoolIdentityProviderOidc(
            self,
            construct_id,
            user_pool=self.user_pool,
            name=provider.name,
            issuer_url=provider.issuer,
            client_id=provider.client_id,
            # A dynamic reference ({{resolve:secretsmanager:...}}), resolved by CloudFormation at deploy
            # time: the secret is in neither cdk.json nor the template.
            client_secret=SecretValue.secrets_manager(provider.client_secret_name).unsafe_unwrap(),
            scopes=list(provider.scopes),
            attribute_request_method=cognito.OidcAttributeRequestMethod.GET,
            attribute_mapping=mapping,
        )


class LoginClient(Construct):
    """The people's app client: managed login, authorization code + PKCE, no secret, exact callbacks.

    Built after the API (its callbacks start with the API's URL when no ``public_url`` is configured),
    with the managed login branding the newer pages need per client (Cognito's default style).
    """

    def __init__(self, scope: Construct, construct_id: str, *, auth: Auth, base_url: str) -> None:
        super().__init__(scope, construct_id)
        self.callback_urls = [Fn.join("", [base_url, names.CONSOLE_CALLBACK_PATH]), names.CLI_CALLBACK_URL]
        self.logout_urls = [Fn.join("", [base_url, names.CONSOLE_SIGNED_OUT_PATH])]
        self.client = cognito.UserPoolClient(
            self,
            "Client",
            user_pool=auth.user_pool,
            # A public client (a CLI on a laptop, a browser): no secret it could keep, so PKCE instead.
            generate_secret=False,
            # No sign-in API flow (SRP, password): their tokens always carry the self-service scope (see
            # the module docstring). With rotation on, CDK adds no REFRESH_TOKEN_AUTH either.
            auth_flows=cognito.AuthFlow(user_srp=False),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                    *auth.api_scopes,
                ],
                callback_urls=self.callback_urls,
                logout_urls=self.logout_urls,
            ),
            supported_identity_providers=[
                cognito.UserPoolClientIdentityProvider.COGNITO,
                *(
                    cognito.UserPoolClientIdentityProvider.custom(provider.provider_name)
                    for provider in auth.identity_providers
                ),
            ],
            write_attributes=FEDERATION_WRITABLE if auth.identity_providers else SELF_WRITABLE,
            prevent_user_existence_errors=True,
            id_token_validity=TOKEN_VALIDITY["id"],
            access_token_validity=TOKEN_VALIDITY["access"],
            refresh_token_validity=TOKEN_VALIDITY["refresh"],
            refresh_token_rotation_grace_period=REFRESH_GRACE,
            enable_token_revocation=True,
        )
        # The newer managed login shows an error page for a client without a style: Cognito's default.
        self.branding = cognito.CfnManagedLoginBranding(
            self,
            "Branding",
            user_pool_id=auth.user_pool.user_pool_id,
            client_id=self.client.user_pool_client_id,
            use_cognito_provided_values=True,
        )
