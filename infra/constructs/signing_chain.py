"""The signing chain: the Step Functions state machine from the ONE definition file.

The ASL file (:data:`tachiai.names.STATE_MACHINE_DEFINITION`) is what the local runtime runs too; CDK
only fills its ``${...}`` placeholders (:data:`tachiai.names.STATE_MACHINE_SUBSTITUTIONS`) with the
functions' ARNs. Nothing about the workflow is written here.

The state machine has a fixed name, so its ARN is known before it exists (:func:`state_machine_arn`):
the send function needs that ARN (to start executions) while the state machine needs the send
function's ARN (to call it) — referencing the resource both ways would be a CloudFormation cycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from aws_cdk import ArnFormat, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from tachiai import names

from infra import REPO_ROOT
from infra.constructs.functions import PythonFunction


def state_machine_name(stack: Stack) -> str:
    """The chain's name: per stack (two tachiai stacks can share an account), at most 80 characters.

    A stack name too long to fit is cut and given a digest of the whole name, so two long names that
    share their first characters still name two state machines.
    """
    name = stack.stack_name
    if len(name) > 67:
        name = f"{name[:58]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return f"{name}-SigningChain"


def stack_instance_id(stack: Stack) -> str:
    """The UUID CloudFormation gives this stack when it creates it (the last part of ``AWS::StackId``).

    A physical name carrying it is unique per stack *instance*: when a failed first deploy leaves a
    resource behind, or a deleted stack leaves its retained logs, the next stack of the same name
    gets new names and never collides with them.
    """
    return Fn.select(2, Fn.split("/", stack.stack_id))


def state_machine_arn(stack: Stack) -> str:
    """The chain's ARN, built from its name, without referencing the resource."""
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=state_machine_name(stack),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class SigningChain(Construct):
    """A STANDARD state machine: executions last as long as signers take (days), each step audited.

    Logging: level ALL to a vended-logs group, WITHOUT execution data. Inputs and outputs carry task
    tokens and participants' answers; they stay in the execution history (kept by Step Functions for
    90 days, access-controlled) instead of being copied into CloudWatch Logs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[names.FunctionName, PythonFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        name = state_machine_name(stack)
        # /aws/vendedlogs/: enabling logging makes Step Functions add the log group to the account's
        # CloudWatch Logs resource policy, which holds at most 5,120 characters; once it nears that,
        # CloudWatch Logs admits groups under this prefix without an entry each (Step Functions guide,
        # "Avoiding CloudWatch Logs resource policy size restrictions"). The name ends with the stack's
        # UUID, not just its name: the group is kept on update and deletion, and a fixed name would make
        # the next stack of that name fail on "already exists". A failed first deploy deletes it
        # (RETAIN_ON_UPDATE_OR_DELETE = DeletionPolicy RetainExceptOnCreate).
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}-{stack_instance_id(stack)}",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        substitutions = {
            placeholder: functions[function].function.function_arn
            for placeholder, function in names.STATE_MACHINE_SUBSTITUTIONS.items()
        }
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(REPO_ROOT / names.STATE_MACHINE_DEFINITION)),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
        )
        # DefinitionBody.from_file cannot see which functions the file calls: grant exactly those, on
        # their unqualified ARNs (the definition never calls a version or alias).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=list(dict.fromkeys(substitutions.values())),
            )
        )
