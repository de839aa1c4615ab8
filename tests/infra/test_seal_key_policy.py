"""The seal key's own policy: separation of duties between who administers the key and who signs with it.

CDK's default key policy gives the account root ``kms:*``, so any principal with a broad IAM policy
could sign as the company seal outside tachiai. These tests read the synthesized key policy: nobody
but the seal function and the certificate custom resource may sign, and administrators manage the key
without being able to use it. Two stacks of one app: the default config (the account administers,
through IAM) and one naming its administrators and a certificate-request signer.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest
from aws_cdk import App, CfnElement, Environment, Stack

from infra.config import ConfigError, load_config
from infra.nag import apply_nag
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, as_list, cdk_context, grants

ACCOUNT = "123456789012"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/SecurityAdmin"
CSR_SIGNER = f"arn:aws:iam::{ACCOUNT}:role/CertificateOperator"

USE_ACTIONS = (
    "kms:Sign",
    "kms:Verify",
    "kms:GetPublicKey",
    "kms:CreateGrant",  # a grant would hand out Sign without a policy change
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateMac",
    "kms:DeriveSharedSecret",
)
"""Every use of a key's material; an administrator may do none of them."""


def lid(construct: Any) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    assert isinstance(element, CfnElement)
    return str(Stack.of(element).resolve(element.logical_id))


def allows(statement: dict[str, Any], action: str) -> bool:
    """The statement allows ``action``, wildcards (``kms:*``, ``kms:Get*``) included."""
    return statement["Effect"] == "Allow" and any(
        fnmatchcase(action, pattern) for pattern in as_list(statement["Action"])
    )


def principals(statement: dict[str, Any]) -> list[Any]:
    principal = statement["Principal"]
    return ["*"] if principal == "*" else as_list(principal.get("AWS", []))


def is_account_or_anyone(principal: Any) -> bool:
    """``*``, or the account root (a literal ARN, or joined from ``AWS::AccountId``)."""
    return principal == "*" or ":root" in json.dumps(principal)


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[TachiaiStack, dict[str, Any]]]:
    named = {
        **BASE_CONFIG,
        "stack_name": "TachiaiNamedAdmins",
        "domain": "named.sign.example.co.jp",
        "sender_address": "no-reply@named.sign.example.co.jp",
        "seal_key_administrators": [ADMIN],
        "seal_csr_signers": [CSR_SIGNER],
    }
    app = App(context=cdk_context(BASE_CONFIG), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    built = []
    for raw in (BASE_CONFIG, named):
        config = load_config(raw)
        built.append(
            TachiaiStack(
                app, config.stack_name, config, env=Environment(account=ACCOUNT, region=config.region)
            )
        )
    apply_nag(app, *built)
    assembly = app.synth()  # cdk-nag stays clean with either policy
    return {s.stack_name: (s, assembly.get_stack_by_name(s.stack_name).template) for s in built}


def key_policy(stack: TachiaiStack, template: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = template["Resources"][lid(stack.sealing_key.key)]["Properties"][
        "KeyPolicy"
    ]["Statement"]
    return statements


def role_arn(stack: TachiaiStack, role: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [lid(role), "Arn"]}


@pytest.fixture(scope="module")
def default(stacks: dict[str, tuple[TachiaiStack, dict[str, Any]]]) -> tuple[TachiaiStack, dict[str, Any]]:
    return stacks["Tachiai"]


@pytest.fixture(scope="module")
def named(stacks: dict[str, tuple[TachiaiStack, dict[str, Any]]]) -> tuple[TachiaiStack, dict[str, Any]]:
    return stacks["TachiaiNamedAdmins"]


@pytest.mark.parametrize("which", ["Tachiai", "TachiaiNamedAdmins"])
@pytest.mark.parametrize("action", ["kms:Sign", "kms:GetPublicKey"])
def test_neither_the_account_nor_anyone_may_use_the_key(
    stacks: dict[str, tuple[TachiaiStack, dict[str, Any]]], which: str, action: str
) -> None:
    statements = key_policy(*stacks[which])

    assert [
        s for s in statements if allows(s, action) and any(map(is_account_or_anyone, principals(s)))
    ] == []


def test_only_the_seal_function_and_the_certificate_resource_may_sign(
    default: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = default
    signers = [p for s in key_policy(stack, template) if allows(s, "kms:Sign") for p in principals(s)]

    assert sorted(map(json.dumps, signers)) == sorted(
        json.dumps(role_arn(stack, role))
        for role in (stack.functions["seal"].role, stack.sealing_key.certificate_function.role)
    )


def test_signing_roles_need_no_account_delegation(default: tuple[TachiaiStack, dict[str, Any]]) -> None:
    stack, template = default
    seal_role = stack.functions["seal"].role
    (signing,) = [s for s in key_policy(stack, template) if role_arn(stack, seal_role) in principals(s)]

    # the key policy itself names the role (the account is given no use it could delegate) ...
    assert allows(signing, "kms:Sign") and allows(signing, "kms:GetPublicKey")
    # ... and the role's own policy still shows what it may do, on this key only
    assert grants(template, lid(seal_role), "kms:Sign") == [
        {"Fn::GetAtt": [lid(stack.sealing_key.key), "Arn"]}
    ]


@pytest.mark.parametrize("which", ["Tachiai", "TachiaiNamedAdmins"])
def test_administrators_manage_the_key_but_cannot_use_it(
    stacks: dict[str, tuple[TachiaiStack, dict[str, Any]]], which: str
) -> None:
    statements = key_policy(*stacks[which])
    administering = [s for s in statements if allows(s, "kms:PutKeyPolicy")]

    assert administering, "KMS refuses a key policy nobody may change (lockout check)"
    for statement in administering:
        assert [action for action in USE_ACTIONS if allows(statement, action)] == []
        for action in ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DescribeKey", "kms:GetKeyPolicy"):
            assert allows(statement, action)


def test_by_default_the_account_administers_through_iam(default: tuple[TachiaiStack, dict[str, Any]]) -> None:
    (administering,) = [s for s in key_policy(*default) if allows(s, "kms:PutKeyPolicy")]

    assert [is_account_or_anyone(p) for p in principals(administering)] == [True]


def test_named_administrators_replace_the_account_and_the_deploy_role_stays_one(
    named: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    statements = key_policy(*named)
    (administering,) = [s for s in statements if allows(s, "kms:PutKeyPolicy")]
    admins = principals(administering)

    assert ADMIN in admins
    # CloudFormation's execution role creates the key and updates its policy at every deploy
    (deploy_role,) = [p for p in admins if p != ADMIN]
    assert "cfn-exec-role" in json.dumps(deploy_role)
    assert not any(is_account_or_anyone(p) for s in statements for p in principals(s))


def test_a_csr_signer_may_sign_but_not_administer(named: tuple[TachiaiStack, dict[str, Any]]) -> None:
    statements = key_policy(*named)

    assert any(allows(s, "kms:Sign") and CSR_SIGNER in principals(s) for s in statements)
    assert not any(allows(s, "kms:PutKeyPolicy") and CSR_SIGNER in principals(s) for s in statements)


def test_an_administrator_cannot_also_sign_certificate_requests() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**BASE_CONFIG, "seal_key_administrators": [ADMIN], "seal_csr_signers": [ADMIN]})

    assert raised.value.problems == [
        f"seal_csr_signers: {ADMIN} also administers the seal key (seal_key_administrators): whoever can "
        "change the key's policy must not also sign with it; request the certificate with "
        "another role"
    ]


@pytest.mark.parametrize(
    "arn",
    [
        "*",
        f"arn:aws:iam::{ACCOUNT}:root",
        f"arn:aws:iam::{ACCOUNT}:role/*",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/session",
        "SecurityAdmin",
    ],
)
def test_a_key_administrator_is_a_named_role_or_user(arn: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**BASE_CONFIG, "seal_key_administrators": [arn]})

    assert raised.value.problems[0].startswith("seal_key_administrators[0]: ")
