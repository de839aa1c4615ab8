"""Deploy blockers a fresh account meets: a failed first deploy must not block the retry, and a second
stack in the same account must not collide with (or overwrite) the first.

Three stacks of ONE app, synthesized once, in one account and region: the default tenant config, the
same config under another stack name, and a stack with the optional features switched on (hosted zone,
MAIL FROM, allowlist, custom public URL, TSA roots, Bedrock, identity providers, named seal-key
administrators and a CSR signer). Every resource of every template is walked: a check written for
today's resources must also hold for tomorrow's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack

from infra.config import ConfigError, load_config
from infra.constructs.auth import login_domain_prefix
from infra.constructs.signing_chain import state_machine_name
from infra.nag import apply_nag
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context, walk

TSA_ROOT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
ACCOUNT = "123456789012"

NAME_PROPERTIES = {
    "AWS::Cognito::UserPoolDomain": "Domain",
    "AWS::SES::EmailIdentity": "EmailIdentity",
    "AWS::ApiGateway::DomainName": "DomainName",
    "AWS::Route53::RecordSet": "Name",
}
"""Physical-name properties not spelled ``<Type>Name`` or ``Name``."""
NAME_QUALIFIERS = {"AWS::Route53::RecordSet": "Type"}
"""A DNS record is its name AND its type (a MAIL FROM domain has an MX and a TXT record)."""

SCOPED_NAMES = {
    "AWS::Cognito::UserPoolGroup",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::Cognito::UserPoolIdentityProvider",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::IAM::Policy",
}
"""Types whose name is unique only inside another resource of the same stack (a pool, an API, a role)."""

RETAINED = "Retain"
"""``RemovalPolicy.RETAIN``: kept even when the deploy that created the resource rolls back.
(``RETAIN_ON_UPDATE_OR_DELETE`` synthesizes ``RetainExceptOnCreate``: deleted by that rollback.)"""

_PSEUDO_SHARED = {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix"}
"""Pseudo parameters two stacks of one account and region share."""


def physical_name(resource: dict[str, Any]) -> tuple[str, Any] | None:
    """``(property, value)`` of the name a resource is given explicitly, or None when CloudFormation
    generates it. A bare reference to another resource (a Lambda permission's ``FunctionName``) names
    that resource, not this one."""
    kind = resource["Type"]
    properties = resource.get("Properties", {})
    for key in (NAME_PROPERTIES.get(kind), f"{kind.rsplit('::', 1)[-1]}Name", "Name"):
        if key and key in properties:
            value = properties[key]
            if isinstance(value, dict) and set(value) <= {"Ref", "Fn::GetAtt"}:
                return None
            return key, value
    return None


def in_account(value: Any, stack_name: str) -> str:
    """A template value as it would read in the account: references to the stack's own resources and
    to its identity qualified by the stack (they differ between stacks), shared pseudo parameters not."""
    if isinstance(value, dict):
        if "Ref" in value and value["Ref"] not in _PSEUDO_SHARED:
            return f"<{stack_name}:{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{stack_name}:{'.'.join(value['Fn::GetAtt'])}>"
        return json.dumps({k: in_account(v, stack_name) for k, v in value.items()}, sort_keys=True)
    if isinstance(value, list):
        return json.dumps([in_account(v, stack_name) for v in value])
    return json.dumps(value)


@pytest.fixture(scope="module")
def tsa_roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tsa") / "tsa-roots.pem"
    path.write_text(TSA_ROOT, encoding="ascii")
    return path


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory, tsa_roots: Path) -> dict[str, dict[str, Any]]:
    trial = {
        **BASE_CONFIG,
        "stack_name": "TachiaiTrial",
        # SES identities are per account and region: a second stack sends from its own (sub)domain.
        "domain": "trial.sign.example.co.jp",
        "sender_address": "no-reply@trial.sign.example.co.jp",
    }
    options = {
        "stack_name": "TachiaiOptions",
        "domain": "options.example.co.jp",
        "sender_address": "no-reply@options.example.co.jp",
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "hosted_zone_name": "example.co.jp",
        "mail_from_domain": "bounce.options.example.co.jp",
        "allowed_ip_ranges": ["203.0.113.0/24"],
        "public_url": "https://options.example.co.jp",
        "tsa_roots_file": str(tsa_roots),
        "extraction_engine": "bedrock",
        "bedrock_model_id": "apac.anthropic.claude-sonnet-4-20250514-v1:0",
        "mfa": "required",
        "identity_providers": [
            {"type": "saml", "name": "EntraID", "metadata_url": "https://login.example.com/metadata.xml"},
            {
                "type": "oidc",
                "name": "GoogleWorkspace",
                "issuer": "https://accounts.google.com",
                "client_id": "id.apps.googleusercontent.com",
                "client_secret_name": "tachiai/google-oidc",
            },
        ],
        "seal_key_administrators": [f"arn:aws:iam::{ACCOUNT}:role/SecurityAdmin"],
        "seal_csr_signers": [f"arn:aws:iam::{ACCOUNT}:role/CertificateOperator"],
    }
    app = App(context=cdk_context(BASE_CONFIG), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = []
    for raw in (BASE_CONFIG, trial, options):
        config = load_config(raw)
        env = Environment(account=ACCOUNT, region=config.region)
        stacks.append(TachiaiStack(app, config.stack_name, config, env=env))
    apply_nag(app, *stacks)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding in any of them
    return {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}


# --- blocker 1: a failed first deploy must not block the retry ------------------------------------


def test_no_resource_with_a_fixed_name_is_kept_when_its_first_deploy_fails(
    templates: dict[str, dict[str, Any]],
) -> None:
    blocking = [
        (stack_name, logical_id, name[0])
        for stack_name, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        if (name := physical_name(resource)) is not None and resource.get("DeletionPolicy") == RETAINED
    ]

    assert blocking == []


def test_only_records_and_account_settings_are_kept_when_a_first_deploy_fails(
    templates: dict[str, dict[str, Any]],
) -> None:
    for template in templates.values():
        kept_on_failed_create = {
            resource["Type"]
            for resource in template["Resources"].values()
            if resource.get("DeletionPolicy") == RETAINED
        }

        # deletion protection (table, pool), delivered access logs, the account's API Gateway role
        assert kept_on_failed_create <= {
            "AWS::DynamoDB::Table",
            "AWS::Cognito::UserPool",
            "AWS::S3::Bucket",
            "AWS::IAM::Role",
            "AWS::ApiGateway::Account",
        }


def test_no_log_group_or_key_outlives_a_failed_first_deploy(templates: dict[str, dict[str, Any]]) -> None:
    # an orphaned key costs USD 1 a month; an orphaned log group is clutter with nothing in it
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] in ("AWS::Logs::LogGroup", "AWS::KMS::Key"):
                assert resource.get("DeletionPolicy") != RETAINED


@pytest.mark.parametrize("stack_name", ["Tachiai", "TachiaiOptions"])
def test_function_logs_and_the_keys_of_records_survive_updates_and_deletion(
    templates: dict[str, dict[str, Any]], stack_name: str
) -> None:
    kept = {
        logical_id: resource
        for logical_id, resource in templates[stack_name]["Resources"].items()
        if logical_id.startswith(("Functions", "SigningChainLogs", "StorageDocumentsKey", "SealingKey"))
        and resource["Type"] in ("AWS::Logs::LogGroup", "AWS::KMS::Key")
    }

    assert len(kept) >= 9  # 4 functions, certificate function + provider, chain logs; 2 keys
    for resource in kept.values():
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (
            "RetainExceptOnCreate",
            "Retain",
        )


def test_state_machine_logs_are_vended_and_named_per_stack_instance(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["Tachiai"]
    (log_group,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in r["Properties"]
    ]
    name = log_group["Properties"]["LogGroupName"]

    # the prefix keeps the account's CloudWatch Logs resource policy under its size limit
    assert name["Fn::Join"][1][0] == "/aws/vendedlogs/states/Tachiai-SigningChain-"
    # the stack's UUID: a group kept from an earlier stack of the same name never collides
    assert {"Ref": "AWS::StackId"} in list(walk(name))


# --- blocker 2: a second stack in the same account ------------------------------------------------


def test_two_stacks_in_one_account_share_no_physical_name(templates: dict[str, dict[str, Any]]) -> None:
    owners: dict[str, set[str]] = {}
    for stack_name, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"].startswith("Custom::"):
                # SSM parameters a custom resource writes (the seal certificate's) are names too
                for key, value in resource["Properties"].items():
                    if key.endswith("Parameter"):
                        owners.setdefault(f"AWS::SSM::Parameter {value}", set()).add(f"{stack_name}/{key}")
            name = physical_name(resource)
            if name is not None and resource["Type"] not in SCOPED_NAMES:
                qualifier = resource["Properties"].get(NAME_QUALIFIERS.get(resource["Type"], ""))
                key = f"{resource['Type']} {in_account([name[1], qualifier], stack_name)}"
                owners.setdefault(key, set()).add(f"{stack_name}/{logical_id}")

    assert {key: found for key, found in owners.items() if len(found) > 1} == {}


def test_two_stacks_in_one_account_keep_their_certificates_in_their_own_parameters(
    templates: dict[str, dict[str, Any]],
) -> None:
    parameters: list[str] = []
    for template in templates.values():
        (custom,) = [
            r for r in template["Resources"].values() if r["Type"] == "Custom::TachiaiSealCertificate"
        ]
        parameters += [custom["Properties"]["ChainParameter"], custom["Properties"]["RootsParameter"]]

    assert len(set(parameters)) == len(parameters) == 6
    assert "/tachiai/TachiaiTrial/seal/certificate-chain" in parameters


def test_certificate_parameters_default_to_the_stack_name() -> None:
    config = load_config({**BASE_CONFIG, "stack_name": "Trial-2"})

    assert config.seal_certificate_parameter == "/tachiai/Trial-2/seal/certificate-chain"
    assert config.trust_roots_parameter == "/tachiai/Trial-2/seal/trust-roots"


def test_certificate_parameters_given_in_the_config_are_kept() -> None:
    config = load_config(
        {
            **BASE_CONFIG,
            "stack_name": "Trial",
            "seal_certificate_parameter": "/tachiai/seal/certificate-chain",
            "trust_roots_parameter": "/tachiai/seal/trust-roots",
        }
    )

    assert config.seal_certificate_parameter == "/tachiai/seal/certificate-chain"
    assert config.trust_roots_parameter == "/tachiai/seal/trust-roots"


def test_a_wrong_parameter_name_is_still_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**BASE_CONFIG, "seal_certificate_parameter": "/aws/seal"})

    assert raised.value.problems[0].startswith("seal_certificate_parameter: '/aws/seal' is not")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Tachiai", "TachiaiAws"),  # Cognito refuses "aws" in a prefix: dropped, the names met
        ("TachiaiCognito", "Tachiai-cognito"),
        ("ContractsForTheKansaiBranchOffice1", "ContractsForTheKansaiBranchOffice2"),  # cut at 30
    ],
)
def test_login_domain_prefixes_of_two_stacks_differ(first: str, second: str) -> None:
    prefixes = {login_domain_prefix(first), login_domain_prefix(second)}

    assert len(prefixes) == 2
    for prefix in prefixes:
        # Cognito: lowercase letters, digits, hyphens; 63 with "-<account id>"; no reserved word
        assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", prefix)
        assert len(f"{prefix}-{ACCOUNT}") <= 63
        assert not re.search("aws|amazon|cognito", prefix)


def test_login_domain_prefix_of_a_plain_stack_name_is_the_name() -> None:
    # an existing stack's sign-in URL must not move
    assert login_domain_prefix("Tachiai") == "tachiai"


def test_state_machine_names_of_two_long_stack_names_differ() -> None:
    app = App()
    common = "Contracts-" + "x" * 60
    first, second = (state_machine_name(Stack(app, common + suffix)) for suffix in ("-tokyo", "-osaka"))

    assert first != second
    assert len(first) <= 80 and len(second) <= 80
    assert state_machine_name(Stack(app, "Tachiai")) == "Tachiai-SigningChain"


def test_the_stack_outputs_its_certificate_parameters(templates: dict[str, dict[str, Any]]) -> None:
    outputs = templates["TachiaiTrial"]["Outputs"]

    assert outputs["SealCertificateParameter"]["Value"] == "/tachiai/TachiaiTrial/seal/certificate-chain"
    assert outputs["TrustRootsParameter"]["Value"] == "/tachiai/TachiaiTrial/seal/trust-roots"
