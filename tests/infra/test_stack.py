"""The synthesized stack (smallest tenant config): each resource, its security settings, and who may do what."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Annotations, Match
from constructs import IConstruct
from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA

from infra import REPO_ROOT
from infra.app import build_app
from infra.constructs.api import BINARY_MEDIA_TYPES, STAGE_NAME
from infra.constructs.functions import DEPLOYED
from infra.stack import TachiaiStack
from tests.infra.helpers import (
    actions_of_role,
    as_list,
    cdk_context,
    grants,
    references,
    resources,
    same,
    statements_of_role,
    walk,
)

ALL_ENV_NAMES = {value for key, value in vars(names).items() if key.startswith("ENV_")}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any], Path]:
    app, stack = build_app(cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    assembly = app.synth()  # runs cdk-nag too: any unacknowledged finding fails here
    return stack, assembly.get_stack_by_name(stack.stack_name).template, Path(assembly.directory)


@pytest.fixture(scope="module")
def stack(synthesized: tuple[TachiaiStack, dict[str, Any], Path]) -> TachiaiStack:
    return synthesized[0]


@pytest.fixture(scope="module")
def template(synthesized: tuple[TachiaiStack, dict[str, Any], Path]) -> dict[str, Any]:
    return synthesized[1]


def lid(construct: IConstruct | None) -> str:
    """The logical id of an L2's CloudFormation resource (or of a CfnElement itself)."""
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child  # type: ignore[union-attr]
    assert isinstance(element, CfnElement)
    return str(Stack.of(element).resolve(element.logical_id))


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, kind)
    assert len(found) == 1, f"{len(found)} {kind}"
    return next(iter(found.items()))


def function_id(stack: TachiaiStack, name: names.FunctionName) -> str:
    return lid(stack.functions[name].function)


def role_id(stack: TachiaiStack, name: names.FunctionName) -> str:
    return lid(stack.functions[name].role)


def variables(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    return found


# --- storage --------------------------------------------------------------------------------------


def test_table_keys_and_index_are_the_runtime_table_schema(template: dict[str, Any]) -> None:
    _, table = only(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]

    assert properties["KeySchema"] == TABLE_SCHEMA["KeySchema"]
    assert sorted(properties["AttributeDefinitions"], key=str) == sorted(
        TABLE_SCHEMA["AttributeDefinitions"], key=str
    )
    assert properties["GlobalSecondaryIndexes"] == TABLE_SCHEMA["GlobalSecondaryIndexes"]
    assert properties["BillingMode"] == TABLE_SCHEMA["BillingMode"] == "PAY_PER_REQUEST"


def test_table_has_pitr_stream_ttl_and_survives_stack_deletion(template: dict[str, Any]) -> None:
    _, table = only(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]

    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_documents_bucket_is_versioned_kms_encrypted_private_and_retained(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    bucket = template["Resources"][lid(stack.storage.documents_bucket)]
    properties = bucket["Properties"]

    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [lid(stack.storage.documents_key), "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"


def test_documents_key_is_the_buckets_own_and_rotates(stack: TachiaiStack, template: dict[str, Any]) -> None:
    key = template["Resources"][lid(stack.storage.documents_key)]

    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "RetainExceptOnCreate"


def test_documents_bucket_locks_every_version_for_the_configured_years(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    properties = template["Resources"][lid(stack.storage.documents_bucket)]["Properties"]

    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 10}},
    }


def test_documents_bucket_logs_access_to_a_separate_bucket(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    documents = template["Resources"][lid(stack.storage.documents_bucket)]["Properties"]
    logs_id = lid(stack.storage.access_logs_bucket)
    log_bucket = template["Resources"][logs_id]["Properties"]

    assert documents["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    # Server access logs cannot be delivered to SSE-KMS: the log bucket is SSE-S3, private, TLS-only.
    assert log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert all(log_bucket["PublicAccessBlockConfiguration"].values())
    assert "AccessControl" not in log_bucket  # delivery by bucket policy, not the legacy ACL


@pytest.mark.parametrize("which", ["documents_bucket", "access_logs_bucket"])
def test_buckets_refuse_requests_without_tls(
    stack: TachiaiStack, template: dict[str, Any], which: str
) -> None:
    bucket_id = lid(getattr(stack.storage, which))
    (policy,) = [
        p
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    denials = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]

    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*"
        for s in denials
    )


# --- the seal key and its certificate -------------------------------------------------------------


def test_seal_key_is_an_asymmetric_signing_key_that_is_kept(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    key = template["Resources"][lid(stack.sealing_key.key)]

    assert key["Properties"]["KeySpec"] == "RSA_2048"
    assert key["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    assert key["DeletionPolicy"] == "RetainExceptOnCreate"


def test_certificate_custom_resource_issues_into_the_configured_parameters(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    (custom,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::TachiaiSealCertificate"]
    properties = custom["Properties"]

    assert properties["KeyId"] == {"Fn::GetAtt": [lid(stack.sealing_key.key), "Arn"]}
    assert properties["ChainParameter"] == "/tachiai/Tachiai/seal/certificate-chain"
    assert properties["RootsParameter"] == "/tachiai/Tachiai/seal/trust-roots"
    assert properties["Subject"] == "CN=tachiai seal,O=tachiai,C=JP"
    # The parameters belong to the custom resource (an imported CA chain must survive any deploy).
    assert not resources(template, "AWS::SSM::Parameter")


# --- the signing chain ----------------------------------------------------------------------------


def test_state_machine_is_standard_logged_and_traced(stack: TachiaiStack, template: dict[str, Any]) -> None:
    properties = template["Resources"][lid(stack.signing_chain.state_machine)]["Properties"]

    assert properties["StateMachineType"] == "STANDARD"
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert properties["TracingConfiguration"] == {"Enabled": True}


def test_state_machine_runs_the_one_asl_file_with_every_placeholder_filled_by_its_function(
    synthesized: tuple[TachiaiStack, dict[str, Any], Path],
) -> None:
    stack, template, assembly = synthesized
    properties = template["Resources"][lid(stack.signing_chain.state_machine)]["Properties"]

    # The definition shipped is the repository's ASL file, byte for byte.
    definition = (assembly / f"asset.{properties['DefinitionS3Location']['Key']}").read_text(encoding="utf-8")
    assert definition == (REPO_ROOT / names.STATE_MACHINE_DEFINITION).read_text(encoding="utf-8")

    substitutions = properties["DefinitionSubstitutions"]
    assert substitutions == {
        placeholder: {"Fn::GetAtt": [function_id(stack, function), "Arn"]}
        for placeholder, function in names.STATE_MACHINE_SUBSTITUTIONS.items()
    }
    filled = definition
    for placeholder, value in substitutions.items():
        filled = filled.replace("${" + placeholder + "}", json.dumps(value)[1:-1])
    assert "${" not in filled
    for name in ("send", "seal", "ai_extract"):
        assert function_id(stack, name) in filled, name
    assert substitutions["ExtractFunctionArn"] == {"Fn::GetAtt": [function_id(stack, "ai_extract"), "Arn"]}


def test_state_machine_may_invoke_exactly_the_functions_it_calls(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    (role,) = references(
        template["Resources"][lid(stack.signing_chain.state_machine)]["Properties"]["RoleArn"]
    )

    assert same(
        grants(template, role, "lambda:InvokeFunction"),
        [
            {"Fn::GetAtt": [function_id(stack, "send"), "Arn"]},
            {"Fn::GetAtt": [function_id(stack, "seal"), "Arn"]},
            {"Fn::GetAtt": [function_id(stack, "ai_extract"), "Arn"]},
        ],
    )


# --- the API --------------------------------------------------------------------------------------


def api_methods(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(HTTP method, path): Method properties}``, the path rebuilt from the Resource tree."""
    api_resources = resources(template, "AWS::ApiGateway::Resource")

    def path_of(resource_id: Any) -> str:
        if "Fn::GetAtt" in resource_id:  # the root resource
            return ""
        resource = api_resources[resource_id["Ref"]]["Properties"]
        return path_of(resource["ParentId"]) + "/" + str(resource["PathPart"])

    return {
        (method["Properties"]["HttpMethod"], path_of(method["Properties"]["ResourceId"])): method[
            "Properties"
        ]
        for method in resources(template, "AWS::ApiGateway::Method").values()
    }


def test_every_route_of_the_route_table_is_a_method_and_nothing_else(template: dict[str, Any]) -> None:
    assert set(api_methods(template)) == {(route.method, route.path) for route in names.ROUTES}


def test_each_route_is_proxied_to_its_function(stack: TachiaiStack, template: dict[str, Any]) -> None:
    methods = api_methods(template)
    for route in names.ROUTES:
        integration = methods[route.method, route.path]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert function_id(stack, route.function) in references(integration["Uri"]), route


def test_sender_routes_require_the_cognito_authorizer(stack: TachiaiStack, template: dict[str, Any]) -> None:
    authorizer_id, authorizer = only(template, "AWS::ApiGateway::Authorizer")
    methods = api_methods(template)

    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [lid(stack.auth.user_pool), "Arn"]}]
    for route in names.ROUTES:
        if not route.public:
            method = methods[route.method, route.path]
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route


def test_sender_routes_take_staff_access_tokens_and_integration_tokens_scoped_by_method(
    template: dict[str, Any],
) -> None:
    methods = api_methods(template)
    for route in names.ROUTES:
        scopes = methods[route.method, route.path].get("AuthorizationScopes")
        if route.public:
            assert scopes is None, route
            continue
        needed = "tachiai-api/envelopes.read" if route.method == "GET" else "tachiai-api/envelopes.write"
        assert scopes == [needed, "aws.cognito.signin.user.admin"], route


def test_public_routes_are_exactly_the_recipient_routes_the_console_pages_and_the_api_document(
    template: dict[str, Any],
) -> None:
    open_methods = {
        key for key, method in api_methods(template).items() if method["AuthorizationType"] == "NONE"
    }

    assert open_methods == {(route.method, route.path) for route in names.ROUTES if route.public}
    assert ("GET", "/v1/openapi.json") in open_methods  # the API's contract, for anyone to read
    # The console's pages check their own session cookie (a browser has no bearer token).
    assert all(
        path.startswith("/s/{token}") or path == "/app" or path.startswith("/app/")
        for _, path in open_methods - {("GET", "/v1/openapi.json")}
    )
    assert not [path for _, path in open_methods if path.startswith("/v1/") and path != "/v1/openapi.json"]
    assert "AuthorizerId" not in api_methods(template)["GET", "/v1/openapi.json"]


def test_path_parameters_are_required_and_validated(template: dict[str, Any]) -> None:
    validator_id, validator = only(template, "AWS::ApiGateway::RequestValidator")

    assert validator["Properties"]["ValidateRequestParameters"] is True
    for (_, path), method in api_methods(template).items():
        assert method["RequestValidatorId"] == {"Ref": validator_id}
        for parameter in re.findall(r"{(\w+)}", path):
            assert method["RequestParameters"][f"method.request.path.{parameter}"] is True


def test_api_carries_pdf_and_form_bodies_as_binary(template: dict[str, Any]) -> None:
    _, api = only(template, "AWS::ApiGateway::RestApi")

    assert api["Properties"]["BinaryMediaTypes"] == BINARY_MEDIA_TYPES
    assert "Policy" not in api["Properties"]  # no allowlist configured: no resource policy


def test_stage_throttles_and_logs_without_logging_link_tokens(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    _, stage = only(template, "AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    (settings,) = properties["MethodSettings"]

    assert properties["StageName"] == STAGE_NAME
    # Not traced: X-Ray records the full URL, a link token with it (tests/infra/test_monitoring.py).
    assert properties.get("TracingEnabled", False) is False
    assert settings["HttpMethod"] == "*" and settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    access_log = properties["AccessLogSetting"]
    assert lid(stack.api.access_logs) in references(access_log["DestinationArn"])
    fields = json.loads(access_log["Format"])
    assert fields["resource"] == "$context.resourcePath"
    assert "$context.path" not in access_log["Format"]  # a recipient path holds the link token


def test_api_gateway_can_write_its_logs(template: dict[str, Any]) -> None:
    _, account = only(template, "AWS::ApiGateway::Account")

    assert "CloudWatchRoleArn" in account["Properties"]


def test_waf_with_managed_rules_and_a_rate_rule_guards_the_stage(template: dict[str, Any]) -> None:
    acl_id, acl = only(template, "AWS::WAFv2::WebACL")
    _, association = only(template, "AWS::WAFv2::WebACLAssociation")
    stage_id, _ = only(template, "AWS::ApiGateway::Stage")
    api_id, _ = only(template, "AWS::ApiGateway::RestApi")
    rules = acl["Properties"]["Rules"]

    assert acl["Properties"]["Scope"] == "REGIONAL"
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    (rate,) = [r for r in rules if "RateBasedStatement" in r["Statement"]]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert {stage_id, api_id} <= references(association["Properties"]["ResourceArn"])


def test_common_rule_set_lets_inline_pdf_uploads_through(template: dict[str, Any]) -> None:
    _, acl = only(template, "AWS::WAFv2::WebACL")
    (common,) = [r for r in acl["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]

    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


# --- mail -----------------------------------------------------------------------------------------


def test_ses_identity_is_the_mail_domain_with_easy_dkim_and_the_configuration_set(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    _, identity = only(template, "AWS::SES::EmailIdentity")
    properties = identity["Properties"]

    assert properties["EmailIdentity"] == "sign.example.co.jp"
    assert properties["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert properties["ConfigurationSetAttributes"] == {
        "ConfigurationSetName": {"Ref": lid(stack.mail.configuration_set)}
    }


def test_bounces_complaints_rejects_and_delays_go_to_eventbridge(template: dict[str, Any]) -> None:
    _, destination = only(template, "AWS::SES::ConfigurationSetEventDestination")
    properties = destination["Properties"]["EventDestination"]

    assert properties["Enabled"] is True
    assert set(properties["MatchingEventTypes"]) == {"bounce", "complaint", "reject", "deliveryDelay"}
    assert "event-bus/default" in json.dumps(properties["EventBridgeDestination"])
    _, configuration_set = only(template, "AWS::SES::ConfigurationSet")
    assert set(configuration_set["Properties"]["SuppressionOptions"]["SuppressedReasons"]) == {
        "BOUNCE",
        "COMPLAINT",
    }


def test_without_a_hosted_zone_the_dkim_records_are_outputs(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    identity_id = lid(stack.mail.identity)
    records = {k: v for k, v in template["Outputs"].items() if k.startswith("DnsRecord")}

    assert not resources(template, "AWS::Route53::RecordSet")
    assert len(records) == 3
    for number, output in enumerate(records.values(), start=1):
        parts = output["Value"]["Fn::Join"][1]
        assert {"Fn::GetAtt": [identity_id, f"DkimDNSTokenName{number}"]} in parts
        assert {"Fn::GetAtt": [identity_id, f"DkimDNSTokenValue{number}"]} in parts
        assert " CNAME " in parts


# --- auth -----------------------------------------------------------------------------------------


def test_user_pool_is_invite_only_with_optional_totp_and_enforced_threat_protection(
    template: dict[str, Any],
) -> None:
    _, pool = only(template, "AWS::Cognito::UserPool")
    properties = pool["Properties"]

    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert properties["MfaConfiguration"] == "OPTIONAL"
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert properties["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert all(
        properties["Policies"]["PasswordPolicy"][k]
        for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert properties["UserPoolTier"] == "PLUS"
    assert properties["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["DeletionPolicy"] == "Retain"


def test_groups_admin_approver_member(template: dict[str, Any]) -> None:
    groups = {
        g["Properties"]["GroupName"] for g in resources(template, "AWS::Cognito::UserPoolGroup").values()
    }

    assert groups == {"admin", "approver", "member"}


def test_integration_client_uses_client_credentials(stack: TachiaiStack, template: dict[str, Any]) -> None:
    # The people's client (managed login, PKCE): tests/infra/test_sign_in.py.
    integration = template["Resources"][lid(stack.auth.integration_client)]["Properties"]

    assert integration["GenerateSecret"] is True
    assert integration["AllowedOAuthFlows"] == ["client_credentials"]
    scopes = json.dumps(integration["AllowedOAuthScopes"])
    assert "/envelopes.read" in scopes and "/envelopes.write" in scopes
    _, server = only(template, "AWS::Cognito::UserPoolResourceServer")
    assert {s["ScopeName"] for s in server["Properties"]["Scopes"]} == {"envelopes.read", "envelopes.write"}
    only(template, "AWS::Cognito::UserPoolDomain")  # the token endpoint exists


# --- functions ------------------------------------------------------------------------------------


def test_deployed_functions_are_every_runtime_function_plus_the_certificate_resource(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    python = {
        k
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"].get("Runtime") == "python3.12"
    }

    assert DEPLOYED == ("send", "agree", "seal", "ai_extract") == tuple(names.FUNCTIONS)
    assert python == {function_id(stack, n) for n in DEPLOYED} | {
        lid(stack.sealing_key.certificate_function.function)
    }


@pytest.mark.parametrize(
    ("name", "memory", "timeout"),
    [("send", 512, 29), ("agree", 512, 29), ("seal", 1024, 120), ("ai_extract", 1024, 300)],
)
def test_function_runtime_sizing_layers_and_tracing(
    stack: TachiaiStack, template: dict[str, Any], name: names.FunctionName, memory: int, timeout: int
) -> None:
    properties = template["Resources"][function_id(stack, name)]["Properties"]

    assert properties["Handler"] == names.FUNCTIONS[name].handler
    assert properties["Runtime"] == "python3.12"
    assert properties["Architectures"] == ["x86_64"]
    assert (properties["MemorySize"], properties["Timeout"]) == (memory, timeout)
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Layers"] == [{"Ref": lid(stack.layers.core)}, {"Ref": lid(stack.layers.dependencies)}]
    log_group = template["Resources"][lid(stack.functions[name].log_group)]["Properties"]
    assert log_group["RetentionInDays"] == 365


def test_function_environment_uses_only_the_shared_names(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    required: dict[names.FunctionName, set[str]] = {
        "send": {
            names.ENV_TABLE,
            names.ENV_BUCKET,
            names.ENV_MAIL_FROM,
            names.ENV_MAIL_CONFIGURATION_SET,
            names.ENV_STATE_MACHINE_ARN,
            names.ENV_SEAL_FUNCTION,
            names.ENV_EXTRACT_FUNCTION,
            names.ENV_LOGIN_URL,  # the OAuth endpoints named by the public API document
            names.ENV_LOGIN_CLIENT_ID,  # the console's sign-in
        },
        "agree": {
            names.ENV_TABLE,
            names.ENV_BUCKET,
            names.ENV_MAIL_FROM,
            names.ENV_MAIL_CONFIGURATION_SET,
            names.ENV_STATE_MACHINE_ARN,
        },
        "seal": {
            names.ENV_TABLE,
            names.ENV_BUCKET,
            names.ENV_SEAL_KEY_ID,
            names.ENV_SEAL_CHAIN_PARAMETER,
            names.ENV_TRUST_ROOTS_PARAMETER,
            names.ENV_TSA_URLS,
        },
        "ai_extract": {
            names.ENV_TABLE,
            names.ENV_BUCKET,
            names.ENV_MAIL_FROM,
            names.ENV_MAIL_CONFIGURATION_SET,
            names.ENV_ALERT_DAYS,
            names.ENV_EXTRACTION_ENGINE,
        },
    }
    for name in DEPLOYED:
        present = set(variables(template, function_id(stack, name)))
        assert present <= ALL_ENV_NAMES, name
        assert (
            required[name] | {names.ENV_PUBLIC_URL, names.ENV_TIME_ZONE, names.ENV_SERVICE_NAME} <= present
        ), name


def test_every_function_links_to_the_api_stage_url_without_a_cycle(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    api_id, _ = only(template, "AWS::ApiGateway::RestApi")
    for name in DEPLOYED:
        url = variables(template, function_id(stack, name))[names.ENV_PUBLIC_URL]
        # Built from the RestApi id only: the Stage (which depends on every method) is not referenced.
        assert references(url) == {api_id, "AWS::Region", "AWS::URLSuffix"}
        assert url["Fn::Join"][1][-1] == f"/{STAGE_NAME}"


def test_send_knows_the_chain_and_the_seal_and_extract_functions(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    send = variables(template, function_id(stack, "send"))
    machine_name = template["Resources"][lid(stack.signing_chain.state_machine)]["Properties"][
        "StateMachineName"
    ]

    assert send[names.ENV_SEAL_FUNCTION] == {"Ref": function_id(stack, "seal")}
    assert send[names.ENV_EXTRACT_FUNCTION] == {"Ref": function_id(stack, "ai_extract")}
    assert json.dumps(send[names.ENV_STATE_MACHINE_ARN]).endswith(f':stateMachine:{machine_name}"]]}}')


def test_ai_extract_gets_the_alert_days_and_the_rules_engine_by_default(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    extract = variables(template, function_id(stack, "ai_extract"))

    assert extract[names.ENV_ALERT_DAYS] == "60,30,7"
    assert extract[names.ENV_EXTRACTION_ENGINE] == "rules"
    assert names.ENV_BEDROCK_MODEL_ID not in extract
    # The alerts mail the owner: From and configuration set as every other mail.
    send = variables(template, function_id(stack, "send"))
    for variable in (names.ENV_MAIL_FROM, names.ENV_MAIL_CONFIGURATION_SET, names.ENV_PUBLIC_URL):
        assert extract[variable] == send[variable], variable


def test_seal_gets_its_key_parameters_and_tsas(stack: TachiaiStack, template: dict[str, Any]) -> None:
    seal = variables(template, function_id(stack, "seal"))

    assert seal[names.ENV_SEAL_KEY_ID] == {"Fn::GetAtt": [lid(stack.sealing_key.key), "Arn"]}
    assert seal[names.ENV_SEAL_CHAIN_PARAMETER] == "/tachiai/Tachiai/seal/certificate-chain"
    assert seal[names.ENV_TRUST_ROOTS_PARAMETER] == "/tachiai/Tachiai/seal/trust-roots"
    assert seal[names.ENV_TSA_URLS] == ",".join(stack.config.tsa_urls)
    assert stack.config.tsa_urls  # the default public TSAs unless the tenant names its own


# --- least privilege ------------------------------------------------------------------------------


def roles_allowing(template: dict[str, Any], action: str) -> set[str]:
    return {
        role for role in resources(template, "AWS::IAM::Role") if action in actions_of_role(template, role)
    }


def test_only_seal_and_the_certificate_resource_may_sign_with_the_seal_key(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    signers = roles_allowing(template, "kms:Sign")

    assert signers == {role_id(stack, "seal"), lid(stack.sealing_key.certificate_function.role)}
    for role in signers:
        assert grants(template, role, "kms:Sign") == [{"Fn::GetAtt": [lid(stack.sealing_key.key), "Arn"]}]
    assert not {"kms:Sign", "kms:GetPublicKey"} & actions_of_role(template, role_id(stack, "agree"))
    assert not {"kms:Sign", "kms:GetPublicKey"} & actions_of_role(template, role_id(stack, "send"))


def test_no_role_may_delete_or_unlock_documents_or_use_wildcard_actions(template: dict[str, Any]) -> None:
    for role in resources(template, "AWS::IAM::Role"):
        actions = actions_of_role(template, role)
        assert not [a for a in actions if "*" in a], role
        assert not {
            a for a in actions if a.startswith("s3:") and ("Delete" in a or "Retention" in a or "Bypass" in a)
        }
        assert not actions & {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:UpdateTable"}


def test_object_grants_are_limited_to_the_envelopes_prefix(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    objects = {
        "Fn::Join": ["", [{"Fn::GetAtt": [lid(stack.storage.documents_bucket), "Arn"]}, "/envelopes/*"]]
    }
    key = {"Fn::GetAtt": [lid(stack.storage.documents_key), "Arn"]}
    for name in DEPLOYED:
        role = role_id(stack, name)
        for action in ("s3:GetObject", "s3:PutObject"):
            assert grants(template, role, action) in ([], [objects]), (name, action)
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            assert grants(template, role, action) in ([], [key]), (name, action)


def test_each_function_may_do_what_its_code_calls_and_no_more(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    send, agree, seal, extract = (
        actions_of_role(template, role_id(stack, n)) for n in ("send", "agree", "seal", "ai_extract")
    )
    logs = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    items = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}

    assert send - logs == items | {
        "dynamodb:Query", "s3:GetObject", "s3:PutObject", "kms:Decrypt", "kms:GenerateDataKey",
        "ses:SendEmail", "ses:SendRawEmail", "states:SendTaskSuccess", "states:SendTaskFailure",
        "states:StartExecution", "lambda:InvokeFunction", "dynamodb:BatchGetItem", *USER_ADMIN_ACTIONS,
    }  # fmt: skip
    assert agree - logs == items | {
        "s3:GetObject", "kms:Decrypt", "ses:SendEmail", "ses:SendRawEmail",
        "states:SendTaskSuccess", "states:SendTaskFailure",
    }  # fmt: skip
    assert seal - logs == items | {
        "dynamodb:Query", "s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt",
        "kms:GenerateDataKey", "kms:Sign", "kms:GetPublicKey", "ssm:GetParameter",
    }  # fmt: skip
    assert extract - logs == items | {
        "dynamodb:Query", "s3:GetObject", "kms:Decrypt", "ses:SendEmail", "ses:SendRawEmail",
        "sqs:SendMessage",
    }  # fmt: skip


USER_ADMIN_ACTIONS = {
    "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:ListUsersInGroup",
    "cognito-idp:AdminListGroupsForUser", "cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminDisableUser", "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
}  # fmt: skip
"""What the users API (``tachiai users``), the sender's identity and the console's "sign out everywhere"
need of the user pool."""


def test_the_console_signs_people_in_with_the_people_app_client(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    client_id = variables(template, function_id(stack, "send"))[names.ENV_LOGIN_CLIENT_ID]

    assert client_id == {"Ref": lid(stack.login.client)}


def test_only_send_manages_users_and_only_in_its_own_user_pool(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    pool = {"Fn::GetAtt": [lid(stack.auth.user_pool), "Arn"]}
    send = role_id(stack, "send")
    for action in USER_ADMIN_ACTIONS:
        assert grants(template, send, action) == [pool], action
    for name in DEPLOYED:
        if name != "send":
            assert not {a for a in actions_of_role(template, role_id(stack, name)) if a.startswith("cognito")}


def test_send_may_invoke_only_seal_and_ai_extract_and_start_only_the_chain(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    send = role_id(stack, "send")
    chain_arn = variables(template, function_id(stack, "send"))[names.ENV_STATE_MACHINE_ARN]

    assert same(
        grants(template, send, "lambda:InvokeFunction"),
        [
            {"Fn::GetAtt": [function_id(stack, "seal"), "Arn"]},
            {"Fn::GetAtt": [function_id(stack, "ai_extract"), "Arn"]},
        ],
    )
    assert grants(template, send, "states:StartExecution") == [chain_arn]
    # No other function invokes a function (the chain and the schedule are not roles of functions).
    invokers = roles_allowing(template, "lambda:InvokeFunction")
    assert not invokers & {role_id(stack, n) for n in DEPLOYED if n != "send"}


@pytest.mark.parametrize("name", ["send", "ai_extract"])
def test_ledger_readers_may_query_the_table_and_each_of_its_indexes_by_name(
    stack: TachiaiStack, template: dict[str, Any], name: names.FunctionName
) -> None:
    table = {"Fn::GetAtt": [lid(stack.storage.table), "Arn"]}
    indexes = [index["IndexName"] for index in TABLE_SCHEMA["GlobalSecondaryIndexes"]]

    assert "gsi1" in indexes
    assert same(
        grants(template, role_id(stack, name), "dynamodb:Query"),
        [table] + [{"Fn::Join": ["", [table, f"/index/{index}"]]} for index in indexes],
    )
    assert grants(template, role_id(stack, name), "dynamodb:GetItem") == [table]


def test_only_the_sender_api_may_batch_read_the_table_for_full_text_search(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    table = {"Fn::GetAtt": [lid(stack.storage.table), "Arn"]}

    assert roles_allowing(template, "dynamodb:BatchGetItem") == {role_id(stack, "send")}
    assert grants(template, role_id(stack, "send"), "dynamodb:BatchGetItem") == [table]


def test_no_function_may_call_bedrock_unless_the_tenant_chooses_it(template: dict[str, Any]) -> None:
    for role in resources(template, "AWS::IAM::Role"):
        assert not [a for a in actions_of_role(template, role) if a.startswith("bedrock:")], role


def test_task_responses_are_for_send_and_agree_only(stack: TachiaiStack, template: dict[str, Any]) -> None:
    # SendTaskSuccess/Failure support no resource narrower than "*" (the task token is the capability).
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
        assert roles_allowing(template, action) == {role_id(stack, "send"), role_id(stack, "agree")}
    assert grants(template, role_id(stack, "agree"), "states:SendTaskSuccess") == ["*"]


def test_mail_may_be_sent_only_as_the_identity_through_the_configuration_set(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    mailers = {"send", "agree", "ai_extract"}  # ai_extract: the deadline alerts to the owner

    assert roles_allowing(template, "ses:SendEmail") == {role_id(stack, n) for n in mailers}
    for name in sorted(mailers):
        targets = grants(template, role_id(stack, name), "ses:SendEmail")
        assert same(targets, grants(template, role_id(stack, name), "ses:SendRawEmail"))
        (identity,) = [t for t in targets if ":identity/" in json.dumps(t)]
        (configuration_set,) = [t for t in targets if ":configuration-set/" in json.dumps(t)]
        assert len(targets) == 2
        assert lid(stack.mail.identity) in references(identity)
        assert lid(stack.mail.configuration_set) in references(configuration_set)


def test_seal_reads_only_the_two_certificate_parameters(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    targets = grants(template, role_id(stack, "seal"), "ssm:GetParameter")
    text = json.dumps(targets)

    assert len(targets) == 2
    assert ":parameter/tachiai/Tachiai/seal/certificate-chain" in text
    assert ":parameter/tachiai/Tachiai/seal/trust-roots" in text


def test_seal_may_list_only_the_envelopes_prefix(stack: TachiaiStack, template: dict[str, Any]) -> None:
    (statement,) = [
        s
        for s in statements_of_role(template, role_id(stack, "seal"))
        if "s3:ListBucket" in as_list(s["Action"])
    ]

    assert statement["Resource"] == {"Fn::GetAtt": [lid(stack.storage.documents_bucket), "Arn"]}
    assert statement["Condition"] == {"StringLike": {"s3:prefix": ["envelopes/*"]}}


# --- the contract ledger: daily alerts and the failures queue --------------------------------------


def test_a_daily_rule_sends_the_alerts_event_to_ai_extract(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    rule = template["Resources"][lid(stack.ledger.schedule)]["Properties"]
    cron = {"minute": "*", "hour": "*", "day": "*", "month": "*", "week_day": "?", "year": "*"}
    cron.update(names.ALERTS_SCHEDULE_CRON)
    (target,) = rule["Targets"]

    assert rule["ScheduleExpression"] == (
        f"cron({cron['minute']} {cron['hour']} {cron['day']} {cron['month']} {cron['week_day']} {cron['year']})"
    )
    assert rule["ScheduleExpression"] == "cron(0 0 * * ? *)"  # 09:00 in Japan, once a day
    assert rule["State"] == "ENABLED"
    assert target["Arn"] == {"Fn::GetAtt": [function_id(stack, "ai_extract"), "Arn"]}
    assert json.loads(target["Input"]) == names.ALERTS_EVENT == {"task": "alerts"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [lid(stack.ledger.failures), "Arn"]}}


def test_only_the_daily_rule_may_invoke_ai_extract_from_outside(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    extract = {"Fn::GetAtt": [function_id(stack, "ai_extract"), "Arn"]}
    (permission,) = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] in (extract, {"Ref": function_id(stack, "ai_extract")})
    ]

    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": [lid(stack.ledger.schedule), "Arn"]}


def test_failures_queue_is_encrypted_tls_only_and_written_only_by_the_rule_and_ai_extract(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    queue_id = lid(stack.ledger.failures)
    queue = template["Resources"][queue_id]["Properties"]
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    (deny,) = [s for s in policy if s["Effect"] == "Deny"]
    (allow,) = [s for s in policy if s["Effect"] == "Allow"]

    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [lid(stack.ledger.schedule), "Arn"]}}
    }
    assert roles_allowing(template, "sqs:SendMessage") == {role_id(stack, "ai_extract")}
    assert grants(template, role_id(stack, "ai_extract"), "sqs:SendMessage") == [
        {"Fn::GetAtt": [queue_id, "Arn"]}
    ]


def test_failed_asynchronous_runs_of_ai_extract_go_to_the_failures_queue(
    stack: TachiaiStack, template: dict[str, Any]
) -> None:
    _, config = only(template, "AWS::Lambda::EventInvokeConfig")

    assert config["Properties"] == {
        "FunctionName": {"Ref": function_id(stack, "ai_extract")},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "DestinationConfig": {
            "OnFailure": {"Destination": {"Fn::GetAtt": [lid(stack.ledger.failures), "Arn"]}}
        },
    }
    # Lambda checks the role may send to the destination when the config is created.
    assert lid(stack.functions["ai_extract"].role.node.find_child("DefaultPolicy")) in config["DependsOn"]


# --- outputs and hygiene --------------------------------------------------------------------------


def test_outputs_name_what_the_tenant_needs(template: dict[str, Any]) -> None:
    assert {
        "ApiUrl", "UserPoolId", "Region", "LoginDomainUrl", "LoginClientId", "IntegrationClientId", "TokenEndpoint",
        "DocumentsBucket", "EnvelopesTable", "SealKeyId", "StateMachineArn", "MailConfigurationSet",
    } <= set(template["Outputs"])  # fmt: skip


def test_cdk_reports_no_error_or_warning(stack: TachiaiStack) -> None:
    annotations = Annotations.from_stack(stack)

    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


def test_no_secret_material_is_in_the_template(template: dict[str, Any]) -> None:
    text = json.dumps(template)

    assert "PRIVATE KEY" not in text
    assert not any(isinstance(v, str) and v.startswith("AKIA") for v in walk(template))


def test_without_mail_from_domain_ses_keeps_its_own_mail_from(template: dict[str, Any]) -> None:
    _, identity = only(template, "AWS::SES::EmailIdentity")

    assert "MailFromAttributes" not in identity["Properties"]
