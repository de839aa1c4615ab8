"""The tenant options that change the stack: a hosted zone (mail domain below its apex, or at it), the
IP allowlist, a custom public URL, MAIL FROM, the P-256 seal key, COMPLIANCE mode, TSA roots, the alert
days, and the Bedrock extraction engine (a cross-region inference profile below the apex, a plain
foundation model at it).

Both variants are stacks of ONE app, synthesized once, with the AwsSolutions checks registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnElement, Environment, Stack
from tachiai import names

from infra.config import load_config
from infra.constructs.functions import DEPLOYED
from infra.nag import apply_nag
from infra.stack import TachiaiStack
from tests.infra.helpers import actions_of_role, cdk_context, grants, references, resources, same

ZONE = {"hosted_zone_id": "Z0123456789ABCDEFGHIJ", "hosted_zone_name": "example.co.jp"}
TSA_ROOT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PROFILE = "apac.anthropic.claude-sonnet-4-20250514-v1:0"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="module")
def tsa_roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tsa") / "tsa-roots.pem"
    path.write_text(TSA_ROOT, encoding="ascii")
    return path


@pytest.fixture(scope="module")
def templates(
    tmp_path_factory: pytest.TempPathFactory, tsa_roots: Path
) -> dict[str, tuple[TachiaiStack, dict[str, Any]]]:
    below_apex = {
        "stack_name": "TachiaiBelowApex",
        "domain": "sign.example.co.jp",
        "sender_address": "no-reply@sign.example.co.jp",
        **ZONE,
        "mail_from_domain": "bounce.sign.example.co.jp",
        "allowed_ip_ranges": ["203.0.113.0/24", "2001:db8::/32"],
        "public_url": "https://sign.example.co.jp/",
        "seal_key_spec": "ECC_NIST_P256",
        "object_lock_mode": "COMPLIANCE",
        "object_lock_retention_years": 7,
        "tsa_urls": ["https://tsa1.example.net/tsa", "https://tsa2.example.net/"],
        "tsa_roots_file": str(tsa_roots),
        "seal_certificate_subject": "CN=Example Seal,O=Example K.K.,C=JP",
        "alert_days": [14, 90, 1],
        "extraction_engine": "bedrock",
        "bedrock_model_id": PROFILE,
    }
    at_apex = {
        "stack_name": "TachiaiAtApex",
        "domain": "example.co.jp",
        "sender_address": "contracts@example.co.jp",
        **ZONE,
        "mail_from_domain": "bounce.example.co.jp",
        "extraction_engine": "bedrock",
        "bedrock_model_id": MODEL,
    }
    app = App(context=cdk_context(below_apex), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = []
    for raw in (below_apex, at_apex):
        config = load_config(raw)
        stacks.append(TachiaiStack(app, config.stack_name, config, env=Environment(region=config.region)))
    apply_nag(app, *stacks)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding in either stack
    return {s.stack_name: (s, assembly.get_stack_by_name(s.stack_name).template) for s in stacks}


@pytest.fixture(scope="module")
def below_apex(
    templates: dict[str, tuple[TachiaiStack, dict[str, Any]]],
) -> tuple[TachiaiStack, dict[str, Any]]:
    return templates["TachiaiBelowApex"]


@pytest.fixture(scope="module")
def at_apex(templates: dict[str, tuple[TachiaiStack, dict[str, Any]]]) -> tuple[TachiaiStack, dict[str, Any]]:
    return templates["TachiaiAtApex"]


def lid(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    return str(Stack.of(element).resolve(element.logical_id))


def variables(stack: TachiaiStack, template: dict[str, Any], name: names.FunctionName) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][lid(stack.functions[name].function)]["Properties"][
        "Environment"
    ]["Variables"]
    return found


def records(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in resources(template, "AWS::Route53::RecordSet").values()
        if r["Properties"]["Type"] == kind
    ]


# --- DNS in the given zone ------------------------------------------------------------------------


def test_below_apex_dkim_records_are_created_in_the_given_zone(
    below_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = below_apex
    identity = lid(stack.mail.identity)
    cnames = records(template, "CNAME")

    assert len(cnames) == 3
    assert all(r["HostedZoneId"] == ZONE["hosted_zone_id"] for r in cnames)
    for number, record in enumerate(cnames, start=1):
        assert {"Fn::GetAtt": [identity, f"DkimDNSTokenName{number}"]} in json.loads(
            json.dumps(record["Name"])
        )["Fn::Join"][1]
        assert record["ResourceRecords"] == [{"Fn::GetAtt": [identity, f"DkimDNSTokenValue{number}"]}]
    assert not [k for k in template["Outputs"] if k.startswith("DnsRecord")]


def test_below_apex_identity_is_the_mail_domain_not_the_zone(
    below_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = below_apex
    (identity,) = resources(template, "AWS::SES::EmailIdentity").values()

    assert identity["Properties"]["EmailIdentity"] == "sign.example.co.jp"
    assert identity["Properties"]["MailFromAttributes"]["MailFromDomain"] == "bounce.sign.example.co.jp"


def test_below_apex_mail_from_gets_its_mx_and_spf_records(
    below_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = below_apex
    (mx,) = records(template, "MX")
    (spf,) = records(template, "TXT")

    assert mx["Name"] == "bounce.sign.example.co.jp."
    assert mx["ResourceRecords"] == ["10 feedback-smtp.ap-northeast-1.amazonses.com"]
    assert spf["ResourceRecords"] == ['"v=spf1 include:amazonses.com ~all"']


def test_at_apex_the_zone_itself_is_the_verified_identity_with_its_records(
    at_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = at_apex
    (identity,) = resources(template, "AWS::SES::EmailIdentity").values()

    assert identity["Properties"]["EmailIdentity"] == "example.co.jp"
    assert len(records(template, "CNAME")) == 3
    assert len(records(template, "MX")) == 1
    assert not [k for k in template["Outputs"] if k.startswith("DnsRecord")]


# --- access and URLs ------------------------------------------------------------------------------


def test_ip_allowlist_limits_only_the_sender_routes(below_apex: tuple[TachiaiStack, dict[str, Any]]) -> None:
    _, template = below_apex
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    statements = api["Properties"]["Policy"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]

    assert allow["Resource"] == "execute-api:/*"
    assert sorted(deny["Resource"]) == [
        "execute-api:/*/*/app",
        "execute-api:/*/*/app/*",
        "execute-api:/*/*/v1",
        "execute-api:/*/*/v1/*",
    ]
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}
    # Every sender route (the API, its public document, the console) is under /v1 or /app, and no
    # recipient route is.
    assert all(
        (route.path.startswith("/v1/") or route.path == "/app" or route.path.startswith("/app/"))
        == (route.function == "send")
        for route in names.ROUTES
    )


def test_custom_public_url_is_what_functions_put_in_links(
    below_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = below_apex
    for name in DEPLOYED:
        assert variables(stack, template, name)[names.ENV_PUBLIC_URL] == "https://sign.example.co.jp", name
    assert template["Outputs"]["ApiUrl"]["Value"] == "https://sign.example.co.jp"


def test_tsa_urls_reach_the_seal_function_in_order(below_apex: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = below_apex
    variables = template["Resources"][lid(stack.functions["seal"].function)]["Properties"]["Environment"][
        "Variables"
    ]

    assert variables[names.ENV_TSA_URLS] == "https://tsa1.example.net/tsa,https://tsa2.example.net/"


# --- key, lock, certificate -----------------------------------------------------------------------


def test_p256_seal_key(below_apex: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = below_apex

    assert template["Resources"][lid(stack.sealing_key.key)]["Properties"]["KeySpec"] == "ECC_NIST_P256"


def test_compliance_mode_and_years_reach_the_bucket(below_apex: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = below_apex
    properties = template["Resources"][lid(stack.storage.documents_bucket)]["Properties"]

    assert properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Years": 7,
    }


def test_certificate_resource_gets_the_subject_and_the_tsa_roots(
    below_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = below_apex
    (custom,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::TachiaiSealCertificate"]

    assert custom["Properties"]["Subject"] == "CN=Example Seal,O=Example K.K.,C=JP"
    assert custom["Properties"]["TsaRoots"] == TSA_ROOT


def test_two_stacks_in_one_account_do_not_collide(
    templates: dict[str, tuple[TachiaiStack, dict[str, Any]]],
) -> None:
    machine_names, aliases = set(), set()
    for _, template in templates.values():
        (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
        machine_names.add(machine["Properties"]["StateMachineName"])
        (alias,) = resources(template, "AWS::KMS::Alias").values()
        aliases.add(alias["Properties"]["AliasName"])
        (domain,) = resources(template, "AWS::Cognito::UserPoolDomain").values()
        assert references(domain["Properties"]["Domain"]) == {"AWS::AccountId"}

    assert len(machine_names) == len(aliases) == 2


# --- the contract ledger: alert days and the Bedrock engine ---------------------------------------


def test_alert_days_reach_ai_extract_longest_first(below_apex: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = below_apex

    assert variables(stack, template, "ai_extract")[names.ENV_ALERT_DAYS] == "90,14,1"


@pytest.mark.parametrize(("which", "model_id"), [("TachiaiBelowApex", PROFILE), ("TachiaiAtApex", MODEL)])
def test_bedrock_engine_and_model_reach_ai_extract_only(
    templates: dict[str, tuple[TachiaiStack, dict[str, Any]]], which: str, model_id: str
) -> None:
    stack, template = templates[which]
    extract = variables(stack, template, "ai_extract")

    assert extract[names.ENV_EXTRACTION_ENGINE] == "bedrock"
    assert extract[names.ENV_BEDROCK_MODEL_ID] == model_id
    for name in ("send", "agree", "seal"):
        assert names.ENV_BEDROCK_MODEL_ID not in variables(stack, template, name), name


@pytest.mark.parametrize("which", ["TachiaiBelowApex", "TachiaiAtApex"])
def test_only_ai_extract_may_invoke_a_model_and_nothing_else_of_bedrock(
    templates: dict[str, tuple[TachiaiStack, dict[str, Any]]], which: str
) -> None:
    stack, template = templates[which]
    callers = {
        role
        for role in resources(template, "AWS::IAM::Role")
        if any(a.startswith("bedrock:") for a in actions_of_role(template, role))
    }
    extract_role = lid(stack.functions["ai_extract"].role)

    assert callers == {extract_role}
    assert {a for a in actions_of_role(template, extract_role) if a.startswith("bedrock:")} == {
        "bedrock:InvokeModel"
    }


def test_a_plain_model_may_be_invoked_in_the_stacks_region_only(
    at_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = at_apex
    role = lid(stack.functions["ai_extract"].role)

    assert grants(template, role, "bedrock:InvokeModel") == [
        f"arn:aws:bedrock:ap-northeast-1::foundation-model/{MODEL}"
    ]
    assert stack.bedrock_any_region_model_arn is None


def test_an_inference_profile_and_its_model_anywhere_but_only_through_the_profile(
    below_apex: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = below_apex
    role = lid(stack.functions["ai_extract"].role)
    profile = {
        "Fn::Join": [
            "",
            ["arn:aws:bedrock:ap-northeast-1:", {"Ref": "AWS::AccountId"}, f":inference-profile/{PROFILE}"],
        ]
    }
    any_region_model = "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0"
    statements = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "bedrock:InvokeModel" in json.dumps(s["Action"])
    ]
    (direct,) = [s for s in statements if "Condition" not in s]
    (routed,) = [s for s in statements if "Condition" in s]

    assert same(grants(template, role, "bedrock:InvokeModel"), [profile, any_region_model])
    assert direct["Resource"] == profile
    assert routed["Resource"] == any_region_model
    assert routed["Condition"] == {"ArnLike": {"bedrock:InferenceProfileArn": profile}}
