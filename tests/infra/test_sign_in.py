"""Sign-in on a deployed stack: managed login, the people's PKCE client, MFA per config, federation.

Three stacks of ONE app, synthesized once with the AwsSolutions checks registered (a finding would make
the synth raise): the smallest config (MFA optional, no IdP, links on the API's own URL), a federating
tenant (a SAML IdP by metadata URL, one by metadata file, an OIDC IdP; MFA required; a public URL) and a
tenant with MFA off. The same templates then go through cfn-lint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, CfnElement, Environment, Stack, Validations
from cfnlint.api import ManualArgs, lint
from tachiai import names

from infra import REPO_ROOT
from infra.config import SAML_EMAIL_CLAIM, SAML_NAME_CLAIM, load_config
from infra.nag import apply_nag
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context, references, resources

ENTRA_METADATA = (
    "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/federationmetadata/"
    "2007-06/federationmetadata.xml?appid=11111111-1111-1111-1111-111111111111"
)
METADATA_XML = """<?xml version="1.0" encoding="UTF-8"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://adfs.example.co.jp/adfs">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
      Location="https://adfs.example.co.jp/adfs/ls/"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""
SECRET_NAME = "tachiai/google-oidc"
IDENTITY_ATTRIBUTES = {"email", "email_verified", "name", "given_name", "family_name", "preferred_username"}

Synthesized = dict[str, tuple[TachiaiStack, dict[str, Any]]]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    metadata = tmp_path_factory.mktemp("saml") / "adfs-metadata.xml"
    metadata.write_text(METADATA_XML, encoding="utf-8")
    federated = {
        **BASE_CONFIG,
        "stack_name": "TachiaiFederated",
        "public_url": "https://sign.example.co.jp",
        "mfa": "required",
        "identity_providers": [
            {"type": "saml", "name": "EntraID", "metadata_url": ENTRA_METADATA},
            {
                "type": "saml",
                "name": "AdFs",
                "metadata_file": str(metadata),
                "attributes": {"name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"},
            },
            {
                "type": "oidc",
                "name": "GoogleWorkspace",
                "issuer": "https://accounts.google.com",
                "client_id": "1234-abcd.apps.googleusercontent.com",
                "client_secret_name": SECRET_NAME,
            },
        ],
    }
    configs = {
        "default": {**BASE_CONFIG, "stack_name": "TachiaiDefault"},
        "federated": federated,
        "mfa_off": {**BASE_CONFIG, "stack_name": "TachiaiMfaOff", "mfa": "off"},
    }
    app = App(context=cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = {}
    for key, raw in configs.items():
        config = load_config(raw)
        stacks[key] = TachiaiStack(app, config.stack_name, config, env=Environment(region=config.region))
    apply_nag(app, *stacks.values())
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding in any of the stacks
    return {
        key: (stack, dict(assembly.get_stack_by_name(stack.stack_name).template))
        for key, stack in stacks.items()
    }


@pytest.fixture(scope="module")
def default(synthesized: Synthesized) -> tuple[TachiaiStack, dict[str, Any]]:
    return synthesized["default"]


@pytest.fixture(scope="module")
def federated(synthesized: Synthesized) -> tuple[TachiaiStack, dict[str, Any]]:
    return synthesized["federated"]


def lid(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    return str(Stack.of(element).resolve(element.logical_id))


def login_client(stack: TachiaiStack, template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][lid(stack.login.client)]["Properties"]
    return properties


def scope_names(scopes: list[Any]) -> list[str]:
    """``openid`` stays; a resource-server scope ``{Fn::Join: [<server Ref>, "/envelopes.read"]}`` reads
    as ``tachiai-api/envelopes.read`` (the server's Ref is its identifier)."""
    found = []
    for scope in scopes:
        if isinstance(scope, str):
            found.append(scope)
        else:
            (server, suffix) = scope["Fn::Join"][1]
            assert "Ref" in server
            found.append(names.RESOURCE_SERVER_ID + suffix)
    return found


def user_pool(template: dict[str, Any]) -> dict[str, Any]:
    (pool,) = resources(template, "AWS::Cognito::UserPool").values()
    properties: dict[str, Any] = pool["Properties"]
    return properties


def identity_providers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ProviderName"]: r["Properties"]
        for r in resources(template, "AWS::Cognito::UserPoolIdentityProvider").values()
    }


# --- the managed login pages ----------------------------------------------------------------------


def test_the_domain_serves_the_newer_managed_login(default: tuple[TachiaiStack, dict[str, Any]]) -> None:
    _, template = default
    (domain,) = resources(template, "AWS::Cognito::UserPoolDomain").values()

    assert domain["Properties"]["ManagedLoginVersion"] == 2
    assert user_pool(template)["UserPoolTier"] == "PLUS"


def test_the_login_client_has_cognitos_default_managed_login_style(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = default
    (branding,) = resources(template, "AWS::Cognito::ManagedLoginBranding").values()

    assert branding["Properties"] == {
        "ClientId": {"Ref": lid(stack.login.client)},
        "UseCognitoProvidedValues": True,
        "UserPoolId": {"Ref": lid(stack.auth.user_pool)},
    }


# --- the people's app client ----------------------------------------------------------------------


def test_people_sign_in_with_the_authorization_code_flow_only_on_a_public_client(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    client = login_client(*default)

    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False


def test_the_login_client_allows_no_sign_in_api_flow(default: tuple[TachiaiStack, dict[str, Any]]) -> None:
    # Tokens of SRP or password sign-in always carry the self-service scope: none of them here, and no
    # REFRESH_TOKEN_AUTH (refresh tokens rotate at the token endpoint instead).
    assert login_client(*default)["ExplicitAuthFlows"] == []


def test_the_login_client_asks_for_login_scopes_and_never_the_self_service_scope(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    scopes = scope_names(login_client(*default)["AllowedOAuthScopes"])

    assert scopes == list(names.LOGIN_SCOPES)
    assert names.USER_SCOPE not in scopes


def test_the_api_accepts_the_login_scopes_on_every_sender_route() -> None:
    granted = set(names.LOGIN_SCOPES)

    for route in names.ROUTES:
        if not route.public:
            assert granted & set(route.scopes), route


def test_callbacks_are_exactly_the_console_on_the_api_url_and_the_cli_loopback(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = default
    console, cli = login_client(stack, template)["CallbackURLs"]

    assert cli == names.CLI_CALLBACK_URL == "http://localhost:8976/callback"
    # No public_url: the console lives under the API stage URL, <api id>.execute-api...</prod>/app/callback.
    parts = console["Fn::Join"][1]
    assert references(parts) == {lid(stack.api.rest_api), "AWS::Region", "AWS::URLSuffix"}
    assert parts[-1] == "/prod" + names.CONSOLE_CALLBACK_PATH


def test_callbacks_and_sign_out_use_the_public_url_when_one_is_configured(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    client = login_client(*federated)

    assert client["CallbackURLs"] == ["https://sign.example.co.jp/app/callback", names.CLI_CALLBACK_URL]
    assert client["LogoutURLs"] == ["https://sign.example.co.jp/app/signed-out"]


def test_tokens_last_as_before_refresh_tokens_rotate_and_can_be_revoked(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    client = login_client(*default)

    assert (client["IdTokenValidity"], client["AccessTokenValidity"]) == (60, 60)
    assert client["RefreshTokenValidity"] == 30 * 24 * 60
    assert set(client["TokenValidityUnits"].values()) == {"minutes"}
    assert client["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 60}
    assert client["EnableTokenRevocation"] is True
    assert client["PreventUserExistenceErrors"] == "ENABLED"


def test_there_is_no_password_api_client_any_more(default: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = default
    clients = resources(template, "AWS::Cognito::UserPoolClient")

    assert set(clients) == {lid(stack.login.client), lid(stack.auth.integration_client)}
    for client in clients.values():
        assert not {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"} & set(
            client["Properties"].get("ExplicitAuthFlows", [])
        )


def test_without_identity_providers_people_sign_in_with_the_pool_only(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = default

    assert login_client(stack, template)["SupportedIdentityProviders"] == ["COGNITO"]
    assert not identity_providers(template)


# --- MFA ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "configuration", "methods"),
    [
        ("default", "OPTIONAL", ["SOFTWARE_TOKEN_MFA"]),
        ("federated", "ON", ["SOFTWARE_TOKEN_MFA"]),
        ("mfa_off", "OFF", None),
    ],
)
def test_mfa_follows_the_tenant_config_with_totp_only(
    synthesized: Synthesized, which: str, configuration: str, methods: list[str] | None
) -> None:
    _, template = synthesized[which]
    pool = user_pool(template)

    assert pool["MfaConfiguration"] == configuration
    assert pool.get("EnabledMfas") == methods


def test_required_mfa_needs_no_acknowledgement_and_the_others_give_their_own_reason(
    synthesized: Synthesized,
) -> None:
    reasons = {}
    for which, (stack, _) in synthesized.items():
        acknowledged: dict[str, Any] = {}
        for entry in stack.auth.user_pool.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                acknowledged.update(entry.data)
        reasons[which] = [str(r) for rule, r in acknowledged.items() if rule.endswith("AwsSolutions-COG2")]

    assert reasons["federated"] == []
    assert len(reasons["default"]) == len(reasons["mfa_off"]) == 1
    assert "mfa: off" in reasons["mfa_off"][0]
    assert reasons["default"] != reasons["mfa_off"]


# --- federation -----------------------------------------------------------------------------------


def test_a_saml_provider_by_metadata_url_maps_email_name_and_verification(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = federated
    entra = identity_providers(template)["EntraID"]

    assert entra["ProviderType"] == "SAML"
    assert entra["ProviderDetails"]["MetadataURL"] == ENTRA_METADATA
    assert entra["AttributeMapping"] == {
        "email": SAML_EMAIL_CLAIM,
        "name": SAML_NAME_CLAIM,
        "email_verified": "email_verified",
    }


def test_a_saml_provider_by_metadata_file_carries_the_xml_and_the_tenants_claim_names(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = federated
    adfs = identity_providers(template)["AdFs"]

    assert adfs["ProviderDetails"]["MetadataFile"] == METADATA_XML
    assert "MetadataURL" not in adfs["ProviderDetails"]
    assert adfs["AttributeMapping"]["name"] == "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
    assert adfs["AttributeMapping"]["email"] == SAML_EMAIL_CLAIM


def test_an_oidc_provider_reads_its_client_secret_from_secrets_manager_at_deploy_time(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = federated
    google = identity_providers(template)["GoogleWorkspace"]

    assert google["ProviderType"] == "OIDC"
    assert google["ProviderDetails"] == {
        "client_id": "1234-abcd.apps.googleusercontent.com",
        "client_secret": "{{resolve:secretsmanager:" + SECRET_NAME + ":SecretString:::}}",
        "authorize_scopes": "openid email profile",
        "attributes_request_method": "GET",
        "oidc_issuer": "https://accounts.google.com",
    }
    assert google["AttributeMapping"] == {
        "email": "email",
        "name": "name",
        "email_verified": "email_verified",
    }


def test_every_identity_provider_is_offered_on_the_login_page_next_to_the_password_form(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = federated
    offered = login_client(stack, template)["SupportedIdentityProviders"]
    idp_ids = {lid(provider) for provider in stack.auth.identity_providers}

    assert offered[0] == "COGNITO"
    # Refs: CloudFormation creates each provider before the client that names it.
    assert offered[1:] and all(set(item) == {"Ref"} for item in offered[1:])
    assert {item["Ref"] for item in offered[1:]} == idp_ids
    assert {template["Resources"][i]["Properties"]["ProviderName"] for i in idp_ids} == {
        "EntraID",
        "AdFs",
        "GoogleWorkspace",
    }


def test_the_integration_client_is_offered_no_identity_provider(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = federated
    integration = template["Resources"][lid(stack.auth.integration_client)]["Properties"]

    assert integration["SupportedIdentityProviders"] == ["COGNITO"]
    assert integration["AllowedOAuthFlows"] == ["client_credentials"]


def test_a_federating_login_client_may_write_the_mapped_attributes_as_cognito_requires(
    federated: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = federated
    writable = set(login_client(stack, template)["WriteAttributes"])

    for provider in identity_providers(template).values():
        assert set(provider["AttributeMapping"]) <= writable


def test_no_client_that_may_write_who_a_user_is_can_issue_a_self_service_token(
    synthesized: Synthesized,
) -> None:
    for which, (_, template) in synthesized.items():
        for logical_id, client in resources(template, "AWS::Cognito::UserPoolClient").items():
            properties = client["Properties"]
            writable = set(properties.get("WriteAttributes") or [])
            # Absent (or empty) means "every standard attribute" to Cognito.
            writes_identity = not writable or bool(IDENTITY_ATTRIBUTES & writable)
            self_service = "ExplicitAuthFlows" not in properties or bool(properties["ExplicitAuthFlows"])
            self_service = self_service or names.USER_SCOPE in json.dumps(
                properties.get("AllowedOAuthScopes")
            )
            if writes_identity:
                # Only the login client may, and it has neither a sign-in API flow nor the scope.
                assert not self_service, (which, logical_id)


# --- outputs --------------------------------------------------------------------------------------


def test_outputs_give_tachiai_login_everything_it_needs(default: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = default
    outputs = {key: value["Value"] for key, value in template["Outputs"].items()}

    assert outputs["LoginClientId"] == {"Ref": lid(stack.login.client)}
    assert outputs["UserPoolId"] == {"Ref": lid(stack.auth.user_pool)}
    assert outputs["Region"] == "ap-northeast-1"
    login = outputs["LoginDomainUrl"]["Fn::Join"][1]
    assert login == ["https://", {"Ref": lid(stack.auth.domain)}, ".auth.ap-northeast-1.amazoncognito.com"]
    assert outputs["TokenEndpoint"]["Fn::Join"][1] == [*login[:2], login[2] + "/oauth2/token"]
    assert lid(stack.api.rest_api) in references(outputs["ApiUrl"])
    assert "WebClientId" not in outputs


def test_outputs_give_the_idp_administrator_what_to_register(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = default
    outputs = {key: value["Value"] for key, value in template["Outputs"].items()}
    domain = {"Ref": lid(stack.auth.domain)}

    assert outputs["SamlEntityId"]["Fn::Join"][1] == [
        "urn:amazon:cognito:sp:",
        {"Ref": lid(stack.auth.user_pool)},
    ]
    assert outputs["SamlReplyUrl"]["Fn::Join"][1] == [
        "https://",
        domain,
        ".auth.ap-northeast-1.amazoncognito.com/saml2/idpresponse",
    ]
    assert outputs["OidcRedirectUrl"]["Fn::Join"][1] == [
        "https://",
        domain,
        ".auth.ap-northeast-1.amazoncognito.com/oauth2/idpresponse",
    ]


# --- the templates are valid CloudFormation --------------------------------------------------------


def test_cfn_lint_finds_nothing_in_any_of_the_templates(
    synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The repository's settings (.cfnlintrc.yaml: region, ignored checks), but not its template glob
    # (cdk.out/, which `make synth` fills): cfn-lint reads the file of the working directory, so lint
    # from elsewhere. Errors and warnings both fail.
    settings = yaml.safe_load((REPO_ROOT / ".cfnlintrc.yaml").read_text(encoding="utf-8"))
    config = ManualArgs(regions=settings["regions"], ignore_checks=settings["ignore_checks"])
    monkeypatch.chdir(tmp_path)

    for which, (_, template) in synthesized.items():
        matches = lint(json.dumps(template), config=config)

        assert [str(match) for match in matches] == [], which
