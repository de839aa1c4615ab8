"""The signing chain: the Step Functions state machine from the ONE definition file.

The ASL file (:data:`tachiai.names.STATE_MACHINE_DEFINITION`) is what the local runtime runs too; CDK
only fills its ``${...}`` placeholders (:data:`tachiai.names.STATE_MACHINE_SUBSTITUTIONS`) with the
functions' ARNs. Nothing about the workflow is written here.

The state machine has a fixed name, so its ARN is known before it exists (:func:`state_machine_arn`):
the send function needs that ARN (to start executions) while the state machine needs the send
function's ARN (to call it) — referencing the resource both ways would be a CloudFormation cycle.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from tachiai import names

from infra import REPO_ROOT
from infra.constructs.functions import PythonFunction


def state_machine_name(stack: Stack) -> str:
    """The chain's name: per stack (two tachiai stacks can share an account), at most 80 characters."""
    return f"{stack.stack_name[:67]}-SigningChain"


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
        # /aws/vendedlogs/ keeps Step Functions from growing the account's log resource policy per group.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
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
