"""cdk-nag AwsSolutions: the app synthesizes with no unacknowledged finding, and every acknowledgement
answers a real finding with a reason of its own.

cdk-nag 3 reports through CDK's policy-validation plugins, not annotations: a finding makes
``app.synth()`` raise, and ``AwsSolutionsChecks().validate_scope(app)`` lists the findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.app import build_app
from infra.config import load_config
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context


def findings(app: App) -> list[tuple[str, str, str]]:
    """(severity, rule id, construct path) of every unacknowledged AwsSolutions finding in ``app``."""
    report = AwsSolutionsChecks().validate_scope(app)
    return [
        (str(violation.severity), violation.rule_name, str(resource.construct_path))
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def acknowledgements(app: App) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgement recorded in ``app``."""
    found = []
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                data: dict[str, Any] = entry.data
                for rule, reason in data.items():
                    found.append((construct.node.path, rule.split("::", 1)[-1], str(reason)))
    return found


@pytest.fixture(scope="module")
def checked_app(tmp_path_factory: pytest.TempPathFactory) -> App:
    app, _ = build_app(cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return app


@pytest.fixture(scope="module")
def unchecked_app() -> App:
    """The same stack without a single acknowledgement (and without the plugin)."""
    app = App(context=cdk_context())
    config = load_config(BASE_CONFIG)
    TachiaiStack(app, config.stack_name, config, env=Environment(region=config.region))
    return app


def test_app_has_no_unacknowledged_error_or_warning(checked_app: App) -> None:
    assert findings(checked_app) == []


def test_app_synthesizes_with_the_checks_registered(checked_app: App) -> None:
    # A finding would make synth raise "Validation failed"; the report names no failing plugin.
    assembly = checked_app.synth()

    report = (Path(assembly.directory) / "validation-report.json").read_text(encoding="utf-8")
    assert '"pluginReports": []' in report


def test_checks_do_find_what_tachiai_acknowledges(unchecked_app: App) -> None:
    rules = {rule for _, rule, _ in findings(unchecked_app)}

    assert {"AwsSolutions-L1", "AwsSolutions-APIG4", "AwsSolutions-COG4", "AwsSolutions-COG2"} <= rules


def test_every_acknowledgement_answers_a_real_finding(checked_app: App, unchecked_app: App) -> None:
    raw = {(rule, path) for _, rule, path in findings(unchecked_app)}
    acknowledged = acknowledgements(checked_app)

    assert acknowledged
    for path, rule, _ in acknowledged:
        assert any(r == rule and (p == path or p.startswith(path + "/")) for r, p in raw), (path, rule)


def test_every_finding_without_acknowledgements_is_acknowledged_in_the_app(
    checked_app: App, unchecked_app: App
) -> None:
    acknowledged = acknowledgements(checked_app)

    for _, rule, path in findings(unchecked_app):
        assert any(r == rule and (path == p or path.startswith(p + "/")) for p, r, _ in acknowledged), (
            rule,
            path,
        )


def test_every_acknowledgement_gives_a_specific_reason(checked_app: App) -> None:
    reasons_by_rule: dict[str, set[str]] = {}
    for _, rule, reason in acknowledgements(checked_app):
        assert len(reason) >= 80, (rule, reason)
        reasons_by_rule.setdefault(rule.split("[")[0], set()).add(reason)

    # No blanket reason pasted everywhere: different rules are answered differently.
    distinct = {reason for reasons in reasons_by_rule.values() for reason in reasons}
    assert len(distinct) >= len(reasons_by_rule)
