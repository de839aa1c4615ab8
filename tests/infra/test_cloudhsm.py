"""``seal_backend: cloudhsm``: the seal function (and only it) joins the cluster's VPC with the client
layer, reads the PIN's secret and selects the PKCS#11 signer; the KMS seal key signs nothing.

One app, two stacks (the same tenant with the default KMS key, and with CloudHSM), synthesized once with
the AwsSolutions checks registered: the synth itself fails on an unacknowledged cdk-nag finding.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, CfnElement, Environment, Stack
from tachiai import names

from infra.config import CLOUDHSM_PKCS11_LIBRARY, ConfigError, load_config
from infra.constructs.functions import DEPLOYED
from infra.constructs.hsm import NETWORK_INTERFACE_ACTIONS
from infra.nag import apply_nag
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, actions_of_role, cdk_context, grants, resources

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SECURITY_GROUP = "sg-0123456789abcdef0"
LAYER = "arn:aws:lambda:ap-northeast-1:123456789012:layer:cloudhsm-pkcs11:4"
HSM = {
    "cluster_id": "cluster-abcdefghijk",
    "subnet_ids": SUBNETS,
    "security_group_ids": [SECURITY_GROUP],
    "client_layer_arn": LAYER,
    "key_label": "tachiai-seal",
    "pin_secret_name": "tachiai/cloudhsm-pin",
}
StackAndTemplate = tuple[TachiaiStack, dict[str, Any]]


@pytest.fixture(scope="module")
def templates() -> dict[str, StackAndTemplate]:
    configs = {
        "TachiaiKms": {**BASE_CONFIG, "stack_name": "TachiaiKms"},
        "TachiaiHsm": {
            **BASE_CONFIG,
            "stack_name": "TachiaiHsm",
            "seal_backend": "cloudhsm",
            "cloudhsm": HSM,
        },
    }
    app = App(context=cdk_context())
    stacks = []
    for raw in configs.values():
        config = load_config(raw)
        stacks.append(TachiaiStack(app, config.stack_name, config, env=Environment(region=config.region)))
    apply_nag(app, *stacks)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding in either stack
    return {s.stack_name: (s, assembly.get_stack_by_name(s.stack_name).template) for s in stacks}


@pytest.fixture(scope="module")
def hsm(templates: dict[str, StackAndTemplate]) -> StackAndTemplate:
    return templates["TachiaiHsm"]


@pytest.fixture(scope="module")
def kms(templates: dict[str, StackAndTemplate]) -> StackAndTemplate:
    return templates["TachiaiKms"]


def lid(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    return str(Stack.of(element).resolve(element.logical_id))


def function_properties(stack_and_template: StackAndTemplate, name: names.FunctionName) -> dict[str, Any]:
    stack, template = stack_and_template
    found: dict[str, Any] = template["Resources"][lid(stack.functions[name].function)]["Properties"]
    return found


def role_of(stack: TachiaiStack, name: names.FunctionName) -> str:
    return lid(stack.functions[name].role)


# --- the network ---------------------------------------------------------------------------------------


def test_cloudhsm_puts_the_seal_function_into_the_given_subnets_and_security_groups(
    hsm: StackAndTemplate,
) -> None:
    vpc_config = function_properties(hsm, "seal")["VpcConfig"]

    assert vpc_config == {"SubnetIds": SUBNETS, "SecurityGroupIds": [SECURITY_GROUP]}


def test_cloudhsm_leaves_every_other_function_outside_any_vpc(hsm: StackAndTemplate) -> None:
    _, template = hsm
    in_a_vpc = [
        logical_id
        for logical_id, resource in resources(template, "AWS::Lambda::Function").items()
        if "VpcConfig" in resource["Properties"]
    ]

    assert in_a_vpc == [lid(hsm[0].functions["seal"].function)]


def test_cloudhsm_lets_lambda_manage_the_seal_functions_network_interfaces(hsm: StackAndTemplate) -> None:
    stack, template = hsm

    assert set(NETWORK_INTERFACE_ACTIONS) <= actions_of_role(template, role_of(stack, "seal"))
    for name in DEPLOYED:
        if name != "seal":
            assert not {a for a in actions_of_role(template, role_of(stack, name)) if a.startswith("ec2:")}


def test_the_kms_backend_puts_no_function_into_a_vpc(kms: StackAndTemplate) -> None:
    _, template = kms

    assert not [
        r for r in resources(template, "AWS::Lambda::Function").values() if "VpcConfig" in r["Properties"]
    ]


# --- the client library, the PIN, the environment --------------------------------------------------------


def test_cloudhsm_adds_the_client_layer_to_the_seal_function_only(hsm: StackAndTemplate) -> None:
    stack, template = hsm
    with_layer = [
        logical_id
        for logical_id, resource in resources(template, "AWS::Lambda::Function").items()
        if LAYER in resource["Properties"].get("Layers", [])
    ]

    assert with_layer == [lid(stack.functions["seal"].function)]


def test_cloudhsm_lets_only_the_seal_function_read_the_pin_secret(hsm: StackAndTemplate) -> None:
    stack, template = hsm
    expected = [
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:secretsmanager:ap-northeast-1:",
                    {"Ref": "AWS::AccountId"},
                    ":secret:tachiai/cloudhsm-pin-??????",
                ],
            ]
        }
    ]

    assert grants(template, role_of(stack, "seal"), "secretsmanager:GetSecretValue") == expected
    for name in DEPLOYED:
        if name != "seal":
            assert not grants(template, role_of(stack, name), "secretsmanager:GetSecretValue")


def test_cloudhsm_sets_the_pkcs11_signer_environment_with_the_pin_secret_name_only(
    hsm: StackAndTemplate,
) -> None:
    variables = function_properties(hsm, "seal")["Environment"]["Variables"]

    assert {key: variables[key] for key in variables if "PKCS11" in key or key == names.ENV_SEAL_BACKEND} == {
        names.ENV_SEAL_BACKEND: "pkcs11",
        names.ENV_PKCS11_LIBRARY: CLOUDHSM_PKCS11_LIBRARY,
        names.ENV_PKCS11_TOKEN_LABEL: "hsm1",
        names.ENV_PKCS11_KEY_LABEL: "tachiai-seal",
        names.ENV_PKCS11_PIN_SECRET: "tachiai/cloudhsm-pin",
    }


# --- the KMS seal key is not used ----------------------------------------------------------------------


def test_cloudhsm_gives_no_function_kms_sign(hsm: StackAndTemplate) -> None:
    stack, template = hsm

    for name in DEPLOYED:
        assert not grants(template, role_of(stack, name), "kms:Sign"), name


def test_cloudhsm_deploys_no_self_issued_certificate_over_the_kms_key(
    hsm: StackAndTemplate, kms: StackAndTemplate
) -> None:
    # The custom resource would replace the HSM key's imported chain with one over the unused KMS key.
    assert resources(kms[1], "Custom::TachiaiSealCertificate")
    assert not resources(hsm[1], "Custom::TachiaiSealCertificate")


def test_cloudhsm_outputs_the_cluster_and_key_label(hsm: StackAndTemplate) -> None:
    _, template = hsm
    values = [output["Value"] for output in template["Outputs"].values()]

    assert "cluster-abcdefghijk" in values
    assert "tachiai-seal" in values


# --- the tenant config ---------------------------------------------------------------------------------


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(raw)
    return raised.value.problems


def test_config_cloudhsm_backend_requires_the_cloudhsm_settings() -> None:
    assert problems({**BASE_CONFIG, "seal_backend": "cloudhsm"}) == [
        'cloudhsm: is required when seal_backend is "cloudhsm": cluster_id, subnet_ids, security_group_ids, '
        "client_layer_arn, key_label and pin_secret_name"
    ]


def test_config_cloudhsm_settings_without_the_backend_are_refused() -> None:
    assert problems({**BASE_CONFIG, "cloudhsm": HSM}) == [
        'cloudhsm: is only used when seal_backend is "cloudhsm" (it is "kms"): set seal_backend to cloudhsm, '
        "or remove cloudhsm"
    ]


def test_config_cloudhsm_refuses_a_pin_in_the_config() -> None:
    found = problems({**BASE_CONFIG, "seal_backend": "cloudhsm", "cloudhsm": {**HSM, "pin": "cu:secret"}})

    assert len(found) == 1
    assert found[0].startswith("cloudhsm.pin: secrets never go in the tenant config")


def test_config_cloudhsm_client_layer_must_be_in_the_stacks_region() -> None:
    layer = "arn:aws:lambda:us-east-1:123456789012:layer:cloudhsm-pkcs11:4"

    assert problems(
        {**BASE_CONFIG, "seal_backend": "cloudhsm", "cloudhsm": {**HSM, "client_layer_arn": layer}}
    ) == [
        "cloudhsm: client_layer_arn is in us-east-1, the stack in ap-northeast-1: Lambda uses layers of its "
        "own region only (publish the layer there)"
    ]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("cluster_id", "cluster-1", "is not a CloudHSM cluster id"),
        ("subnet_ids", [], "must list the cluster VPC's private subnets"),
        ("subnet_ids", ["subnet-xyz"], "is not a subnet id"),
        ("security_group_ids", [], "must list 1 to 5 security groups"),
        ("security_group_ids", ["default"], "is not a security group id"),
        ("client_layer_arn", "arn:aws:lambda:ap-northeast-1:123456789012:layer:cloudhsm", "with its version"),
        ("key_label", "", "is not a PKCS#11 label"),
        ("pin_secret_name", "tachiai cloudhsm pin", "is not a Secrets Manager secret name"),
    ],
)
def test_config_cloudhsm_names_each_malformed_setting(setting: str, value: Any, message: str) -> None:
    found = problems({**BASE_CONFIG, "seal_backend": "cloudhsm", "cloudhsm": {**HSM, setting: value}})

    assert len(found) == 1
    assert found[0].startswith(f"cloudhsm.{setting}: ")
    assert message in found[0]
