"""The contract ledger's wiring around the ``ai_extract`` function: the daily deadline alerts and the
queue where its lost work ends up.

* The schedule: an EventBridge rule (:data:`tachiai.names.ALERTS_SCHEDULE_CRON`, UTC) sends
  :data:`tachiai.names.ALERTS_EVENT` to the function once a day.
* The failures queue: what would otherwise be dropped in silence. EventBridge puts a schedule event
  there when it cannot hand it to Lambda after its retries (throttled, function missing, no
  permission); Lambda puts an asynchronous invocation there (a scheduled alert run, or an import's
  extraction the send function started) that still failed after its own retries. Each message is
  the original event with the reason, kept 14 days to replay by hand; nothing consumes it.

The Extract step of the signing chain invokes the function synchronously and handles its failure
itself (the envelope completes; the failure is recorded), so none of that reaches the queue. An import's
extraction is asynchronous (the import request answers at once, ``metadata_status: extracting``): a
failure the function could still record shows as ``failed`` with its reason; one it could not (killed at
its timeout) leaves ``extracting`` and its event here, to replay
(docs/operations/signing-chain-and-imports.md).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from tachiai import names

from infra.constructs.functions import PythonFunction

RETRY_ATTEMPTS = names.ASYNC_RETRY_ATTEMPTS
"""EventBridge's and Lambda's retries before an event goes to the failures queue."""
FAILURE_RETENTION = Duration.days(14)
"""SQS's longest: two weeks to notice and replay a lost alert run or import extraction."""


def failures_queue(scope: Construct) -> sqs.Queue:
    """The queue a schedule's (or an asynchronous invocation's) lost events go to, ``Failures`` in
    ``scope``. SQS-managed keys: EventBridge and Lambda can deliver to it with no key policy to
    maintain, and the messages (an event, an envelope id, an error) hold no contract content."""
    return sqs.Queue(
        scope,
        "Failures",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=FAILURE_RETENTION,
    )


class Ledger(Construct):
    """The daily alerts schedule of ``function`` (``ai_extract``) and its failures queue."""

    def __init__(self, scope: Construct, construct_id: str, *, function: PythonFunction) -> None:
        super().__init__(scope, construct_id)
        self.failures = failures_queue(self)
        self.schedule = events.Rule(
            self,
            "DailyAlerts",
            description="tachiai: the contract ledger's deadline alerts, once a day",
            schedule=events.Schedule.cron(**names.ALERTS_SCHEDULE_CRON),
            targets=[
                targets.LambdaFunction(
                    function.function,
                    event=events.RuleTargetInput.from_object(names.ALERTS_EVENT),
                    retry_attempts=RETRY_ATTEMPTS,
                    dead_letter_queue=self.failures,
                )
            ],
        )
        # Asynchronous invocations (the schedule's, an import's) that fail after Lambda's retries. Written
        # as the L1 so the role gets exactly sqs:SendMessage (the L2 destination grants more).
        self.async_config = lambda_.CfnEventInvokeConfig(
            self,
            "AsyncFailures",
            function_name=function.function.function_name,
            qualifier="$LATEST",
            maximum_retry_attempts=RETRY_ATTEMPTS,
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=self.failures.queue_arn)
            ),
        )
        function.allow(["sqs:SendMessage"], [self.failures.queue_arn])
        # Lambda checks the destination permission when the config is created: the policy first.
        policy = function.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.async_config.node.add_dependency(policy)
