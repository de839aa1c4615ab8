"""The automatic reminders' schedule (FEATURES.md S5): an EventBridge rule that sends
:data:`tachiai.names.REMINDERS_EVENT` to the ``send`` function every
:data:`tachiai.names.REMINDERS_SCHEDULE_MINUTES` minutes (hourly: why, see there).

The send function already holds what a reminder needs (the table and its indexes, mail). An event
EventBridge cannot hand to Lambda after its retries goes to the rule's own failures queue (kept 14
days), so a lost run is visible; the next run catches up anyway (a due reminder stays due until sent).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct
from tachiai import names

from infra.constructs.functions import PythonFunction
from infra.constructs.ledger import RETRY_ATTEMPTS, failures_queue


class Reminders(Construct):
    """The hourly rule invoking ``function`` (``send``) with the reminders task."""

    def __init__(self, scope: Construct, construct_id: str, *, function: PythonFunction) -> None:
        super().__init__(scope, construct_id)
        self.failures = failures_queue(self)  # a message holds only the schedule's event
        self.schedule = events.Rule(
            self,
            "Hourly",
            description="tachiai: the automatic reminders that are due, every hour",
            schedule=events.Schedule.rate(Duration.minutes(names.REMINDERS_SCHEDULE_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    function.function,
                    event=events.RuleTargetInput.from_object(names.REMINDERS_EVENT),
                    retry_attempts=RETRY_ATTEMPTS,
                    dead_letter_queue=self.failures,
                )
            ],
        )
