"""Issue 13, deploy blockers 5 and 6 on the synthesized stack: the links' custom domain, and the
credentials of accredited TSAs.

Two stacks of ONE app, synthesized once with the AwsSolutions checks registered (a finding would make
the synth raise), then linted with cfn-lint:

* ``zoned``: the custom domain is in the tenant's hosted zone, so the stack requests a DNS-validated
  certificate and creates the alias record itself; the TSAs are an accredited one with basic
  authentication (secret by name), one with a client certificate (secret by ARN) and a public one;
* ``external``: no hosted zone, an ACM certificate the tenant issued, the record as an output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, CfnElement, Environment, Stack
from cfnlint.api import ManualArgs, lint
from tachiai import names

from infra import REPO_ROOT
from infra.config import ConfigError, load_config
from infra.constructs.functions import DEPLOYED
from infra.nag import apply_nag
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context, grants, references, resources, statements_of_role

LINKS = "sign.example.co.jp"
ZONE = {"hosted_zone_id": "Z0123456789ABCDEFGHIJ", "hosted_zone_name": "example.co.jp"}
CERTIFICATE = "arn:aws:acm:ap-northeast-1:123456789012:certificate/12345678-90ab-cdef-1234-567890abcdef"
SEIKO = "https://tsa.seiko.example.jp/tsa"
AMANO = "https://tsa.amano.example.jp/rfc3161"
PUBLIC_TSA = "https://timestamp.digicert.com"
AMANO_SECRET_ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:tachiai/tsa-amano-AbCdEf"

Synthesized = dict[str, tuple[TachiaiStack, dict[str, Any]]]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    zoned = {
        **BASE_CONFIG,
        **ZONE,
        "stack_name": "TachiaiZonedDomain",
        "custom_domain": {"name": LINKS},
        "tsa": [
            {"url": SEIKO, "auth_secret": "tachiai/tsa-seiko"},
            {"url": AMANO, "auth_secret": AMANO_SECRET_ARN},
            {"url": PUBLIC_TSA},
        ],
    }
    external = {
        **BASE_CONFIG,
        "stack_name": "TachiaiExternalDomain",
        "custom_domain": {"name": LINKS, "certificate_arn": CERTIFICATE},
    }
    app = App(context=cdk_context(zoned), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = []
    for raw in (zoned, external):
        config = load_config(raw)
        stacks.append(TachiaiStack(app, config.stack_name, config, env=Environment(region=config.region)))
    apply_nag(app, *stacks)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding in either stack
    return {s.stack_name: (s, assembly.get_stack_by_name(s.stack_name).template) for s in stacks}


@pytest.fixture(scope="module")
def zoned(synthesized: Synthesized) -> tuple[TachiaiStack, dict[str, Any]]:
    return synthesized["TachiaiZonedDomain"]


@pytest.fixture(scope="module")
def external(synthesized: Synthesized) -> tuple[TachiaiStack, dict[str, Any]]:
    return synthesized["TachiaiExternalDomain"]


def lid(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    return str(Stack.of(element).resolve(element.logical_id))


def the(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = resources(template, kind).values()
    properties: dict[str, Any] = found["Properties"]
    return properties


def variables(stack: TachiaiStack, template: dict[str, Any], name: names.FunctionName) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][lid(stack.functions[name].function)]["Properties"][
        "Environment"
    ]["Variables"]
    return found


both = pytest.mark.parametrize("which", ["TachiaiZonedDomain", "TachiaiExternalDomain"])


# --- the domain -------------------------------------------------------------------------------------


@both
def test_the_links_domain_is_a_regional_api_gateway_domain_with_tls_1_2(
    synthesized: Synthesized, which: str
) -> None:
    _, template = synthesized[which]
    domain = the(template, "AWS::ApiGateway::DomainName")

    assert domain["DomainName"] == LINKS
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["SecurityPolicy"] == "TLS_1_2"


@both
def test_the_whole_domain_maps_to_the_apis_stage_without_a_base_path(
    synthesized: Synthesized, which: str
) -> None:
    stack, template = synthesized[which]
    mapping = the(template, "AWS::ApiGateway::BasePathMapping")
    (domain_id,) = resources(template, "AWS::ApiGateway::DomainName")

    assert mapping["DomainName"] == {"Ref": domain_id}
    assert mapping["RestApiId"] == {"Ref": lid(stack.api.rest_api)}
    assert mapping["Stage"] == {"Ref": lid(stack.api.rest_api.deployment_stage)}
    assert "BasePath" not in mapping


def test_in_the_hosted_zone_the_stack_requests_a_dns_validated_certificate(
    zoned: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = zoned
    certificate = resources(template, "AWS::CertificateManager::Certificate")
    ((certificate_id, resource),) = certificate.items()

    assert resource["Properties"]["DomainName"] == LINKS
    assert resource["Properties"]["ValidationMethod"] == "DNS"
    assert resource["Properties"]["DomainValidationOptions"] == [
        {"DomainName": LINKS, "HostedZoneId": ZONE["hosted_zone_id"]}
    ]
    assert the(template, "AWS::ApiGateway::DomainName")["RegionalCertificateArn"] == {"Ref": certificate_id}


def test_in_the_hosted_zone_an_alias_record_points_the_name_at_the_domain(
    zoned: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = zoned
    (domain_id,) = resources(template, "AWS::ApiGateway::DomainName")
    aliases = [
        r["Properties"]
        for r in resources(template, "AWS::Route53::RecordSet").values()
        if r["Properties"]["Type"] == "A"
    ]

    assert len(aliases) == 1
    assert aliases[0]["Name"] == LINKS + "."
    assert aliases[0]["HostedZoneId"] == ZONE["hosted_zone_id"]
    assert aliases[0]["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
    assert aliases[0]["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": [domain_id, "RegionalHostedZoneId"]}
    assert "CustomDomainDnsRecord" not in template["Outputs"]


def test_without_a_zone_the_tenants_certificate_is_used_and_the_record_is_an_output(
    external: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    _, template = external
    (domain_id,) = resources(template, "AWS::ApiGateway::DomainName")

    assert the(template, "AWS::ApiGateway::DomainName")["RegionalCertificateArn"] == CERTIFICATE
    assert resources(template, "AWS::CertificateManager::Certificate") == {}
    assert resources(template, "AWS::Route53::RecordSet") == {}
    assert template["Outputs"]["CustomDomainDnsRecord"]["Value"] == {
        "Fn::Join": [" ", [f"{LINKS} CNAME", {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}]]
    }


# --- everything goes out with the domain ---------------------------------------------------------------


@both
def test_every_function_puts_the_custom_domain_in_links(synthesized: Synthesized, which: str) -> None:
    stack, template = synthesized[which]

    for name in DEPLOYED:
        assert variables(stack, template, name)[names.ENV_PUBLIC_URL] == f"https://{LINKS}", name
    assert template["Outputs"]["ApiUrl"]["Value"] == f"https://{LINKS}"


@both
def test_the_console_signs_in_and_out_on_the_custom_domain(synthesized: Synthesized, which: str) -> None:
    stack, template = synthesized[which]
    client = template["Resources"][lid(stack.login.client)]["Properties"]

    assert client["CallbackURLs"] == [f"https://{LINKS}{names.CONSOLE_CALLBACK_PATH}", names.CLI_CALLBACK_URL]
    assert client["LogoutURLs"] == [f"https://{LINKS}{names.CONSOLE_SIGNED_OUT_PATH}"]


@both
def test_console_uploads_are_allowed_from_the_custom_domain_only(
    synthesized: Synthesized, which: str
) -> None:
    stack, template = synthesized[which]
    bucket = template["Resources"][lid(stack.storage.documents_bucket)]["Properties"]

    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [f"https://{LINKS}"]


@both
def test_the_execute_api_address_is_switched_off(synthesized: Synthesized, which: str) -> None:
    _, template = synthesized[which]
    (rest_api,) = resources(template, "AWS::ApiGateway::RestApi").values()

    assert rest_api["Properties"]["DisableExecuteApiEndpoint"] is True


@both
def test_the_waf_still_guards_the_stage_the_domain_maps_to(synthesized: Synthesized, which: str) -> None:
    stack, template = synthesized[which]
    association = the(template, "AWS::WAFv2::WebACLAssociation")

    assert lid(stack.api.rest_api.deployment_stage) in references(association["ResourceArn"])


# --- TSA credentials -----------------------------------------------------------------------------------


def test_the_seal_function_is_told_which_tsa_has_which_secret(
    zoned: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = zoned
    seal = variables(stack, template, "seal")

    assert seal[names.ENV_TSA_URLS] == f"{SEIKO},{AMANO},{PUBLIC_TSA}"
    assert json.loads(seal[names.ENV_TSA_AUTH_SECRETS]) == {
        SEIKO: "tachiai/tsa-seiko",
        AMANO: AMANO_SECRET_ARN,
    }


def test_the_seal_function_may_read_exactly_the_tsa_secrets(
    zoned: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = zoned
    # The name's ARN with the six characters Secrets Manager appends: that secret, not tsa-seiko-anything.
    by_name = {
        "Fn::Join": [
            "",
            [
                "arn:aws:secretsmanager:ap-northeast-1:",
                {"Ref": "AWS::AccountId"},
                ":secret:tachiai/tsa-seiko-??????",
            ],
        ]
    }

    found = grants(template, lid(stack.functions["seal"].role), "secretsmanager:GetSecretValue")

    assert sorted(found, key=json.dumps) == sorted([by_name, AMANO_SECRET_ARN], key=json.dumps)


def test_no_other_function_may_read_a_secret(synthesized: Synthesized) -> None:
    for stack, template in synthesized.values():
        for name, function in stack.functions.by_name.items():
            if (name, stack.stack_name) == ("seal", "TachiaiZonedDomain"):
                continue
            actions = {
                action
                for statement in statements_of_role(template, lid(function.role))
                for action in (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
            }
            assert not any(a.startswith("secretsmanager:") for a in actions), (stack.stack_name, name)


def test_without_tsa_credentials_the_seal_function_gets_no_secrets_variable(
    external: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = external

    assert names.ENV_TSA_AUTH_SECRETS not in variables(stack, template, "seal")


# --- the templates as a whole ---------------------------------------------------------------------------


def test_cfn_lint_finds_nothing_in_either_template(
    synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = yaml.safe_load((REPO_ROOT / ".cfnlintrc.yaml").read_text(encoding="utf-8"))
    config = ManualArgs(regions=settings["regions"], ignore_checks=settings["ignore_checks"])
    monkeypatch.chdir(tmp_path)  # not the repository's template glob (cdk.out/)

    for which, (_, template) in synthesized.items():
        assert [str(match) for match in lint(json.dumps(template), config=config)] == [], which


# --- the configuration ------------------------------------------------------------------------------------


def problems(**settings: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config({**BASE_CONFIG, **settings})
    return caught.value.problems


def test_public_url_alone_stays_valid_and_is_used_as_given() -> None:
    config = load_config({**BASE_CONFIG, "public_url": "https://front.example.co.jp/"})

    assert config.public_base_url == "https://front.example.co.jp" and config.custom_domain is None


def test_a_custom_domain_and_a_public_url_together_are_refused() -> None:
    assert problems(
        public_url="https://front.example.co.jp",
        custom_domain={"name": LINKS, "certificate_arn": CERTIFICATE},
    ) == [
        "custom_domain: give custom_domain (the stack creates the domain) or public_url (a front you run "
        "yourself), not both"
    ]


def test_a_custom_domain_outside_any_zone_needs_a_certificate() -> None:
    (problem,) = problems(custom_domain={"name": LINKS})

    assert problem.startswith("custom_domain: certificate_arn is required (no hosted zone")


def test_a_custom_domain_outside_the_zone_needs_a_certificate() -> None:
    (problem,) = problems(
        **ZONE,
        custom_domain={"name": "sign.example.com"},
        domain="example.co.jp",
        sender_address="no-reply@example.co.jp",
    )

    assert "the hosted zone example.co.jp does not contain sign.example.com" in problem


def test_a_certificate_from_another_region_is_refused() -> None:
    (problem,) = problems(
        custom_domain={"name": LINKS, "certificate_arn": CERTIFICATE.replace("ap-northeast-1", "us-east-1")}
    )

    assert "the certificate is in us-east-1" in problem and "ap-northeast-1" in problem


@pytest.mark.parametrize(
    ("custom_domain", "field"),
    [
        ({"name": "not a host", "certificate_arn": CERTIFICATE}, "custom_domain.name"),
        (
            {"name": LINKS, "certificate_arn": "arn:aws:iam::123456789012:role/x"},
            "custom_domain.certificate_arn",
        ),
        ({"name": LINKS, "certificate_arn": CERTIFICATE, "base_path": "x"}, "custom_domain.base_path"),
    ],
)
def test_a_malformed_custom_domain_names_its_setting(custom_domain: dict[str, Any], field: str) -> None:
    (problem,) = problems(custom_domain=custom_domain)

    assert problem.startswith(field + ": ")


def test_plain_tsa_urls_stay_valid_without_credentials() -> None:
    config = load_config({**BASE_CONFIG, "tsa_urls": [SEIKO]})

    assert config.tsa_urls == (SEIKO,) and config.tsa_auth_secrets == {}


def test_tsa_entries_give_the_urls_in_order_and_the_secrets_of_those_that_need_them() -> None:
    config = load_config(
        {**BASE_CONFIG, "tsa": [{"url": SEIKO, "auth_secret": "tachiai/tsa-seiko"}, {"url": AMANO}]}
    )

    assert config.tsa_urls == (SEIKO, AMANO)
    assert config.tsa_auth_secrets == {SEIKO: "tachiai/tsa-seiko"}


def test_tsa_and_tsa_urls_together_are_refused() -> None:
    assert problems(tsa=[{"url": SEIKO}], tsa_urls=[AMANO]) == [
        "tsa, tsa_urls: give one of the two (tsa when a TSA needs credentials)"
    ]


@pytest.mark.parametrize(
    ("tsa", "expected"),
    [
        ([], "tsa: must list at least one time-stamping service"),
        ([{"url": SEIKO}, {"url": SEIKO}], f"tsa: {SEIKO} listed more than once"),
        ([{"url": "http://tsa.example.jp"}], "tsa[0].url: 'http://tsa.example.jp' is not an https:// URL"),
        (
            [{"url": SEIKO, "auth_secret": "tachiai tsa"}],
            "tsa[0].auth_secret: 'tachiai tsa' is not a Secrets",
        ),
        ([{"url": SEIKO, "password": "hunter2"}], "tsa[0].password: secrets never go in the tenant config"),
    ],
)
def test_a_mistake_in_tsa_names_its_entry(tsa: list[dict[str, Any]], expected: str) -> None:
    (problem,) = problems(tsa=tsa)

    assert problem.startswith(expected)
    assert "hunter2" not in problem
