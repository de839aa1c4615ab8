"""Helpers for the infrastructure tests: build the real app offline, with the dependency layer stubbed.

Every test module synthesizes once (module-scoped fixtures): a synth costs seconds, an assertion none.
The app gets cdk.json's context (feature flags), so tests see the stack ``cdk synth`` would build,
plus the tenant config under test and ``tachiai:skipBundling`` (infra.bundling then returns a
placeholder asset instead of pip-installing the dependency layer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from infra import REPO_ROOT
from infra.bundling import SKIP_BUNDLING_CONTEXT

BASE_CONFIG: dict[str, Any] = {
    "domain": "sign.example.co.jp",
    "sender_address": "no-reply@sign.example.co.jp",
}
"""The smallest valid tenant config: no hosted zone, no allowlist, every default."""


def cdk_context(config: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """cdk.json's context (if the file exists), the tenant config under test, bundling skipped."""
    cdk_json = REPO_ROOT / "cdk.json"
    context: dict[str, Any] = {}
    if cdk_json.is_file():
        context.update(json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {}))
    context["tachiai"] = dict(config if config is not None else BASE_CONFIG)
    context[SKIP_BUNDLING_CONTEXT] = True
    context.update(extra)
    return context


def resources(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """``{logical id: resource}`` of one CloudFormation type."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def walk(value: Any) -> Iterator[Any]:
    """Every nested value of a template fragment (to look for a reference anywhere inside it)."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def references(value: Any) -> set[str]:
    """Logical ids a fragment points at (Ref / Fn::GetAtt)."""
    found: set[str] = set()
    for item in walk(value):
        if isinstance(item, dict):
            if "Ref" in item:
                found.add(item["Ref"])
            if "Fn::GetAtt" in item:
                found.add(item["Fn::GetAtt"][0])
    return found


def statements_of_role(template: Mapping[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every Allow/Deny statement of the inline policies attached to ``role_id``."""
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of_role(template: Mapping[str, Any], role_id: str) -> set[str]:
    return {a for s in statements_of_role(template, role_id) for a in as_list(s["Action"])}


def grants(template: Mapping[str, Any], role_id: str, action: str) -> list[Any]:
    """Every resource ``role_id`` may apply ``action`` to (Allow), however the statements were merged.

    CDK's ``@aws-cdk/aws-iam:minimizePolicies`` (cdk.json) merges and reorders statements, so tests
    ask "what may this role do to what", never "what does statement N say".
    """
    found: list[Any] = []
    for statement in statements_of_role(template, role_id):
        if statement["Effect"] == "Allow" and action in as_list(statement["Action"]):
            found += [r for r in as_list(statement["Resource"]) if r not in found]
    return found


def same(left: list[Any], right: list[Any]) -> bool:
    """Two lists of template values hold the same items, in any order."""
    return sorted(json.dumps(v, sort_keys=True) for v in left) == sorted(
        json.dumps(v, sort_keys=True) for v in right
    )
