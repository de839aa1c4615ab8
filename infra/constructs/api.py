"""The REST API: every route of :data:`tachiai.names.ROUTES`, the Cognito authorizer, the WAF.

The route table is the one the local runtime's API adapter serves, so the cloud and local APIs cannot
drift. Sender routes (``public=False``) need a Cognito ID token (see :mod:`infra.constructs.auth`);
recipient routes (``public=True``) are open, because the 256-bit token in their path is the
credential (DESIGN, "Security rules").

Built in two steps because of a dependency loop: the functions need the API's URL (links in mail) and
the API's methods need the functions. :class:`Api` creates the RestApi first and exposes
:attr:`Api.stage_url`, assembled from the RestApi id and the stage's literal name — a reference to the
RestApi alone, which depends on nothing of the functions. (The L2's ``url`` references the Stage
resource, which depends on the Deployment, which depends on every Method, which depends on the
functions: a cycle.) :meth:`Api.add_routes` then adds the methods.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from aws_cdk import Aws, Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from tachiai import names

from infra.config import TenantConfig

STAGE_NAME = "prod"
BINARY_MEDIA_TYPES = ["application/pdf", "application/octet-stream", "multipart/form-data", "image/*"]
"""Bodies API Gateway passes base64-encoded (as the local adapter does); JSON, forms and text stay text.

Responses: a function answers binary content base64-encoded (``isBase64Encoded``: the console's page
previews, PNGs), and API Gateway decodes it to bytes only when the FIRST media type of the request's
``Accept`` matches one of these. A browser asks for an ``<img>`` with ``image/avif,image/webp,...``
(Chrome, Firefox) or ``image/webp,...`` (Safari): ``image/*`` covers them all; without it the browser
would get the base64 text and show a broken image. A text answer (``isBase64Encoded`` false: pages,
CSS, scripts, SVG) passes through unchanged whatever the ``Accept``, so the wildcard costs them nothing.
(Not ``*/*``: every request body, JSON included, would then reach the functions base64-encoded.)"""

THROTTLE_RATE = 50
THROTTLE_BURST = 100
"""Requests per second for the whole stage: far above a company's sending and signing, far below what
would let a runaway integration exhaust the account's Lambda concurrency."""
WAF_RATE_LIMIT = 1000
"""Requests per IP per 5 minutes before the WAF blocks it: a person never comes close; a scanner does."""

_SENDER_PREFIXES = ("/v1", "/app")
"""The sender side lives under these (the API and the console); the optional IP allowlist applies to
exactly these."""

# Access log: no request path — a recipient route's path carries the link token, so log the resource
# template (/s/{token}) instead; no headers or bodies.
_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "time": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "method": "$context.httpMethod",
        "resource": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "sender": "$context.authorizer.claims.sub",
        "waf": "$context.waf.status",
        "error": "$context.error.message",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    # No sampled requests: WAF keeps each sample's full URI for three hours, readable in the console, and
    # a recipient route's URI carries its link token (the access log rule above). Metrics stay on.
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=False
    )


def _managed_rule(
    name: str, priority: int, overrides: list[str] | None = None
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in overrides or []
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


class Api(Construct):
    """The RestApi, its stage (logs, throttling, tracing), authorizer, validator and WAF."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TenantConfig,
        user_pool: cognito.IUserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.execute_api_enabled = config.custom_domain is None
        """False when a custom domain replaces the execute-api address."""
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.stack_name}-api",
            description=f"{config.service_name}: sender API and recipient links",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=BINARY_MEDIA_TYPES,
            policy=self._resource_policy(config.allowed_ip_ranges),
            # With a custom domain, links, mails and the console go out with that one address only
            # (infra.constructs.custom_domain); the execute-api address would be a second door.
            disable_execute_api_endpoint=config.custom_domain is not None,
            # Execution logs need the account-level CloudWatch role. RETAIN: it is the account's setting,
            # shared with every other REST API there; deleting this stack must not break their logging.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(_ACCESS_LOG_FORMAT),
                # ERROR, not INFO, and never data trace: INFO execution logs include request parameters,
                # and a recipient route's parameter is its link token.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                # No X-Ray on the stage: its segments record the full request URL, and a recipient
                # route's URL carries the link token. The functions trace themselves (their segments
                # hold no URL).
                tracing_enabled=False,
            ),
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            identity_source="method.request.header.Authorization",
        )
        # Parameters are checked by API Gateway; bodies by the functions (Powertools validates them
        # against the same pydantic models that generate /v1/openapi.json — a second JSON-schema copy
        # here would drift). Body validation switches on by itself for any method given a model.
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        self.methods: dict[names.Route, apigw.Method] = {}

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{config.stack_name}-api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=WAF_RATE_LIMIT, aggregate_key_type="IP", evaluation_window_sec=300
                        )
                    ),
                    visibility_config=_visibility("RatePerIp"),
                ),
                _managed_rule("AWSManagedRulesAmazonIpReputationList", 1),
                # SizeRestrictions_BODY blocks bodies over 8 KB: a contract PDF is uploaded inline
                # (base64 JSON, up to 4 MiB), so that rule only counts; the function enforces the limit.
                _managed_rule("AWSManagedRulesCommonRuleSet", 2, overrides=["SizeRestrictions_BODY"]),
                _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )
        self.web_acl_association = wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

    @property
    def stage_url(self) -> str:
        """``https://<id>.execute-api.<region>.<suffix>/prod``, built without referencing the Stage."""
        return Fn.join(
            "",
            [
                "https://",
                self.rest_api.rest_api_id,
                ".execute-api.",
                Aws.REGION,
                ".",
                Aws.URL_SUFFIX,
                f"/{STAGE_NAME}",
            ],
        )

    @property
    def stage_origin(self) -> str:
        """``https://<id>.execute-api.<region>.<suffix>``: the origin of pages served at :attr:`stage_url`
        (the console's, when no custom domain is configured)."""
        return Fn.join(
            "", ["https://", self.rest_api.rest_api_id, ".execute-api.", Aws.REGION, ".", Aws.URL_SUFFIX]
        )

    def console_origins(self, public_url: str | None) -> list[str]:
        """The origins the console's pages are served from: the custom domain's (``public_url``, when
        configured) and the stage's own, by which the same pages can still be reached (unless a custom
        domain of the stack switched it off)."""
        origins = [self.stage_origin] if self.execute_api_enabled else []
        if public_url:
            url = urlsplit(public_url)
            origins.insert(0, f"{url.scheme}://{url.netloc}")
        return origins

    @staticmethod
    def _resource_policy(allowed: tuple[str, ...] | None) -> iam.PolicyDocument | None:
        """Without an allowlist, no resource policy; with one, sender routes only from those ranges."""
        if allowed is None:
            return None
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=["execute-api:/*"],
                ),
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=[
                        resource
                        for prefix in _SENDER_PREFIXES
                        for resource in (f"execute-api:/*/*{prefix}", f"execute-api:/*/*{prefix}/*")
                    ],
                    conditions={"NotIpAddress": {"aws:SourceIp": list(allowed)}},
                ),
            ]
        )

    def add_routes(self, functions: Mapping[names.FunctionName, lambda_.IFunction]) -> None:
        """One method per :data:`tachiai.names.ROUTES` entry, proxied to the route's function."""
        integrations = {
            name: apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False)
            for name, function in functions.items()
        }
        for route in names.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            parameters = {f"method.request.path.{p}": True for p in re.findall(r"{(\w+)}", route.path)}
            self.methods[route] = resource.add_method(
                route.method,
                integrations[route.function],
                authorization_type=(
                    apigw.AuthorizationType.NONE if route.public else apigw.AuthorizationType.COGNITO
                ),
                authorizer=None if route.public else self.authorizer,
                # Scopes make the authorizer take access tokens: a staff member's (USER_SCOPE) or an
                # integration's (client credentials, tachiai-api/envelopes.read|write).
                authorization_scopes=list(route.scopes) or None,
                request_validator=self.validator,
                request_parameters=parameters or None,
            )

    @property
    def public_methods(self) -> list[apigw.Method]:
        """The methods without an authorizer: exactly the routes declared ``public=True``."""
        return [method for route, method in self.methods.items() if route.public]
