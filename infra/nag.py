"""cdk-nag (AwsSolutions) on the stack, and the findings tachiai acknowledges — each with its reason.

cdk-nag 3 is a CDK policy-validation plugin: ``Validations.of(app).add_plugins(AwsSolutionsChecks(app))``
makes every synth fail on an unacknowledged finding, and an acknowledgement is
``Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))`` on the construct or an
ancestor (cdk-nag 2's ``NagSuppressions`` is gone). Findings with a detail (IAM wildcards) are
acknowledged finding by finding (``AwsSolutions-IAM5[Resource::*]``), on the one role that has it,
so a new wildcard anywhere else still fails the synth.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct
from tachiai.names import FunctionName

from infra.constructs.functions import PythonFunction
from infra.constructs.storage import DOCUMENTS_PREFIX
from infra.stack import TachiaiStack

XRAY = (
    "X-Ray tracing is on (AwsSolutions asks for it); xray:PutTraceSegments and xray:PutTelemetryRecords "
    "support no resource-level permission, so their Resource must be *."
)
TASK_RESPONSE = (
    "states:SendTaskSuccess / SendTaskFailure accept only Resource * (no state machine or execution ARN "
    "is evaluated); the task token itself is the capability, kept in DynamoDB and never mailed. Also "
    "X-Ray: " + XRAY
)
DOCUMENTS = (
    "Object keys are envelopes/<envelope id>/..., created per envelope at run time; the grant is limited to "
    "that prefix of tachiai's own bucket and to the exact object actions the function calls (no delete)."
)
RUNTIME = (
    "Python 3.12 on purpose: the dependency layer is built from cp312 manylinux2014_x86_64 wheels and "
    "byte-compiled for 3.12 (DESIGN, infra/bundling.py); moving to a newer runtime means rebuilding and "
    "re-measuring the layer, tracked as its own change, not a silent bump."
)
PUBLIC_ROUTE = (
    "Recipient route: signers are outside the tenant and have no account. The credential is the 256-bit "
    "link token in the path (only its SHA-256 stored, single participant, expires, dies after use; OTP or "
    "access code on top), checked by the agree function; WAF and stage throttling still apply. These are "
    "exactly the routes tachiai.names.ROUTES declares public=True."
)

HSM_NETWORK = (
    "seal_backend is cloudhsm, so the seal function runs in the CloudHSM cluster's VPC: Lambda manages its "
    "network interfaces with the role's ec2:CreateNetworkInterface, DeleteNetworkInterface, "
    "Describe(NetworkInterfaces|Subnets) and (Un)AssignPrivateIpAddresses, on interfaces that do not exist "
    "before Lambda creates them (the actions of AWSLambdaVPCAccessExecutionRole, without its logs grant)."
)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _logical_id(element: IConstruct | None) -> str:
    assert isinstance(element, CfnElement)
    return str(Stack.of(element).resolve(element.logical_id))


def _acknowledge_runtime(function: PythonFunction) -> None:
    acknowledge(function.function, "AwsSolutions-L1", RUNTIME)


def _acknowledge_bedrock(stack: TachiaiStack) -> None:
    """A cross-region inference profile's foundation model, in whichever region the profile routes to."""
    if stack.bedrock_any_region_model_arn is None:
        return
    acknowledge(
        stack.functions["ai_extract"].role,
        f"AwsSolutions-IAM5[Resource::{stack.resolve(stack.bedrock_any_region_model_arn)}]",
        f"The tenant chose the cross-region inference profile {stack.config.bedrock_model}: Bedrock "
        "serves each request in a destination region it picks (global profiles: any commercial region) and "
        "authorizes the foundation model there, so the region must be *. It is that one model only, and "
        "only through that profile (condition bedrock:InferenceProfileArn), never called directly.",
    )


MAILING_FUNCTIONS: tuple[FunctionName, ...] = ("send", "agree", "ai_extract")
"""The functions granted ``ses:SendEmail`` (infra/stack.py), each with the sandbox's grant when it is on."""


def _as_finding(resolved: object) -> str:
    """A resolved ARN as cdk-nag names it in a finding: ``Fn::Join`` parts joined, ``Ref`` s as ``<Ref>``."""
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        return str(separator).join(_as_finding(part) for part in parts)
    raise ValueError(f"no cdk-nag rendering for {resolved!r}")


def _acknowledge_mail_sandbox(stack: TachiaiStack) -> None:
    """``mail_sandbox``: SES's sandbox authorizes a send against the recipient's identity too."""
    if stack.mail.sandbox_identities_arn is None:
        return
    identities = _as_finding(stack.resolve(stack.mail.sandbox_identities_arn))
    for name in MAILING_FUNCTIONS:
        acknowledge(
            stack.functions[name].role,
            f"AwsSolutions-IAM5[Resource::{identities}]",
            "The tenant set mail_sandbox: its SES account is still in the sandbox, which authorizes "
            "ses:SendEmail against every recipient's identity as well as the sender's. Recipients are not "
            "known at deploy time, and in the sandbox the account's identities are only the domain and the "
            "addresses verified for testing, so identity/* of this account and region grants no more than "
            "those; the default (production access) grants the domain identity only.",
        )


def _wildcard_reason(stack: TachiaiStack, name: str) -> str:
    """Why the seal or ai_extract role has ``Resource *``: X-Ray, and for the seal function in the
    CloudHSM cluster's VPC, its network interfaces."""
    return f"{XRAY} {HSM_NETWORK}" if name == "seal" and stack.hsm is not None else XRAY


def apply_nag(app: App, *stacks: TachiaiStack) -> None:
    """Register the AwsSolutions checks on ``app``; acknowledge tachiai's accepted findings on ``stacks``."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    for stack in stacks:
        acknowledge_findings(stack)


def acknowledge_findings(stack: TachiaiStack) -> None:
    """The findings tachiai accepts, each on the one construct that has it, each with its reason."""
    bucket = _logical_id(stack.storage.documents_bucket.node.default_child)
    bucket_objects = f"Resource::<{bucket}.Arn>/{DOCUMENTS_PREFIX}*"
    for name, function in stack.functions.by_name.items():
        _acknowledge_runtime(function)
        acknowledge(
            function.role,
            "AwsSolutions-IAM5[Resource::*]",
            TASK_RESPONSE if name in ("send", "agree") else _wildcard_reason(stack, name),
        )
        acknowledge(function.role, f"AwsSolutions-IAM5[{bucket_objects}]", DOCUMENTS)

    certificate = stack.sealing_key.certificate_function
    _acknowledge_runtime(certificate)
    acknowledge(certificate.role, "AwsSolutions-IAM5[Resource::*]", XRAY)
    acknowledge(
        stack.sealing_key.framework_role,
        f"AwsSolutions-IAM5[Resource::<{_logical_id(certificate.function.node.default_child)}.Arn>:*]",
        "The custom-resource framework (aws-cdk-lib custom_resources.Provider) grants itself invoke on the "
        "certificate function and its versions; it only ever calls that one function, at deploy time.",
    )

    _acknowledge_bedrock(stack)
    _acknowledge_mail_sandbox(stack)
    acknowledge(
        stack.ledger.failures,
        "AwsSolutions-SQS3",
        "This queue IS a dead-letter queue: of the daily alerts rule's Lambda target (EventBridge "
        "DeadLetterConfig) and of ai_extract's failed asynchronous invocations (Lambda OnFailure "
        "destination). cdk-nag only recognizes queues named in another queue's RedrivePolicy; nothing "
        "consumes this one, so it needs no dead-letter queue of its own.",
    )
    acknowledge(
        stack.reminders.failures,
        "AwsSolutions-SQS3",
        "This queue IS a dead-letter queue: of the hourly reminders rule's Lambda target (EventBridge "
        "DeadLetterConfig). cdk-nag only recognizes queues named in another queue's RedrivePolicy; nothing "
        "consumes this one, so it needs no dead-letter queue of its own.",
    )

    acknowledge(
        stack.signing_chain.state_machine,
        "AwsSolutions-IAM5[Resource::*]",
        "Logging to CloudWatch Logs (level ALL, as AwsSolutions asks) needs logs:CreateLogDelivery and its "
        "siblings, which take only Resource *; so do the X-Ray actions of tracing. Lambda invoke is "
        "granted on the ARNs of the functions the definition calls only.",
    )

    acknowledge(
        stack.api.rest_api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level role API Gateway uses to write execution and access logs (AwsSolutions "
        "APIG1/APIG6 ask for both); AWS maintains this policy for exactly that purpose and it grants "
        "nothing else.",
    )
    for method in stack.api.public_methods:
        acknowledge(method, "AwsSolutions-APIG4", PUBLIC_ROUTE)
        acknowledge(method, "AwsSolutions-COG4", PUBLIC_ROUTE)

    _acknowledge_mfa(stack)


MFA_NOT_REQUIRED = {
    "optional": (
        "MFA is optional (TOTP) by default: many tenants federate or enforce MFA in their own IdP policy, "
        "and forcing it here would lock out staff on day one; a tenant requires it with mfa: required. "
        "Plus-tier threat protection is enforced, self sign-up is off and passwords need 12 characters of "
        "four kinds."
    ),
    "off": (
        "The tenant's configuration turns Cognito MFA off (mfa: off), a choice for tenants whose staff "
        "sign in through their own identity provider, whose MFA policy applies (Cognito's MFA never does "
        "to federated users). Plus-tier threat protection is still enforced on password sign-ins, self "
        "sign-up is off and passwords need 12 characters of four kinds."
    ),
}
"""Why AwsSolutions-COG2 (MFA not required) is accepted, per ``mfa`` setting; ``required`` has no finding."""


def _acknowledge_mfa(stack: TachiaiStack) -> None:
    reason = MFA_NOT_REQUIRED.get(stack.config.mfa)
    if reason is not None:
        acknowledge(stack.auth.user_pool, "AwsSolutions-COG2", reason)
