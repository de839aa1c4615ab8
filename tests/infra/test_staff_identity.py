"""S-security, in the stack: staff cannot rewrite who they are, and a new email waits for verification.

Every envelope, seal and audit entry names the sender by the pool's ``email`` and ``name``. A user's
own access token may call ``UpdateUserAttributes`` on every attribute its app client may write, and a
client without an explicit list may write every standard attribute — so each client lists what a
user may change (preferences only), and a changed email keeps the verified original until the new one
is verified.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.app import build_app
from tests.infra.helpers import cdk_context, resources

IDENTITY_ATTRIBUTES = {"email", "email_verified", "name", "given_name", "family_name", "preferred_username"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app, stack = build_app(cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return dict(app.synth().get_stack_by_name(stack.stack_name).template)


def test_a_changed_email_keeps_the_verified_original_until_the_new_one_is_verified(template):
    (pool,) = resources(template, "AWS::Cognito::UserPool").values()
    settings = pool["Properties"]["UserAttributeUpdateSettings"]
    assert settings == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert "email" in pool["Properties"]["AutoVerifiedAttributes"]


def test_every_app_client_lists_what_users_may_write_and_it_is_not_who_they_are(template):
    clients = resources(template, "AWS::Cognito::UserPoolClient")
    assert len(clients) == 2
    for logical_id, client in clients.items():
        writable = client["Properties"].get("WriteAttributes")
        # Absent (or empty) means "every standard attribute" to Cognito.
        assert writable, f"{logical_id} lets users write every standard attribute"
        assert not IDENTITY_ATTRIBUTES & set(writable), f"{logical_id} may write {writable}"
