"""Issue 13, blocker 3: with ``mail_sandbox`` the mailing functions may send to the sandbox's verified
recipients (SES authorizes against the recipient's identity there), cdk-nag clean with its reason;
without it, the domain identity only."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app import build_app
from infra.config import load_config
from infra.nag import MAILING_FUNCTIONS
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context, grants
from tests.infra.test_stack import role_id


def _identities(stack: TachiaiStack) -> Any:
    """``identity/*`` of the stack's account and region, as the template writes it."""
    arn = f"arn:{stack.partition}:ses:{stack.region}:{stack.account}:identity/*"
    return stack.resolve(arn)


def _synth(config: dict[str, Any], tmp: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any]]:
    app, stack = build_app(cdk_context(config), outdir=str(tmp.mktemp("cdk.out")))
    assembly = app.synth()  # cdk-nag runs here: an unacknowledged finding raises
    return stack, assembly.get_stack_by_name(stack.stack_name).template


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any]]:
    return _synth({**BASE_CONFIG, "mail_sandbox": True}, tmp_path_factory)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any]]:
    return _synth(BASE_CONFIG, tmp_path_factory)


def test_in_the_sandbox_every_mailing_function_may_send_to_the_accounts_verified_identities(sandbox):
    stack, template = sandbox
    assert _identities(stack)["Fn::Join"][1][-1].endswith(":identity/*")
    for name in MAILING_FUNCTIONS:
        assert _identities(stack) in grants(template, role_id(stack, name), "ses:SendEmail"), name


def test_with_production_access_no_function_may_send_as_any_identity_but_the_domain(production):
    stack, template = production
    for name in MAILING_FUNCTIONS:
        sendable = grants(template, role_id(stack, name), "ses:SendEmail")
        assert _identities(stack) not in sendable, name
        assert len(sendable) == 2, (name, sendable)  # the domain identity and the configuration set


def test_only_the_mailing_functions_get_the_sandbox_grant(sandbox):
    stack, template = sandbox
    for name in stack.functions.by_name:
        if name not in MAILING_FUNCTIONS:
            assert _identities(stack) not in grants(template, role_id(stack, name), "ses:SendEmail"), name


def test_mail_sandbox_is_off_by_default_and_takes_only_a_boolean():
    assert load_config(BASE_CONFIG).mail_sandbox is False
    with pytest.raises(Exception, match="mail_sandbox"):
        load_config({**BASE_CONFIG, "mail_sandbox": "yes"})
