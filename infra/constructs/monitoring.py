"""What an operator watches: alarms to one SNS topic the tenant subscribes to, and a dashboard.

Every alarm fires on something a person must look at (docs/operations/monitoring.md says what each
means and what to do); none fires on a quiet stack (missing data is "not breaching"):

* the signing chain: an execution failed, timed out or was aborted;
* each function: an error or a throttle;
* the API: a 5xx answer;
* a failures queue (lost schedule events, failed asynchronous invocations) holds a message;
* tachiai's own metrics (:mod:`tachiai.observability`, namespace ``tachiai``, dimension ``stack``):
  a seal needed the second TSA, KMS throttled the seal key, SES refused a mail because the account
  is still in the sandbox;
* SES reputation (account-wide, ``AWS/SES``): the bounce or complaint rate nears the level at which
  SES puts the account under review. KMS publishes no throttling metric of its own, so the seal
  function counts its ``ThrottlingException`` (``KmsThrottles``).

The topic is encrypted with its own key (CloudWatch must be allowed to use it: the AWS-managed SNS key
cannot be shared with CloudWatch) and accepts TLS publishers only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from tachiai import names
from tachiai.observability import NAMESPACE, STACK_DIMENSION, Metric

from infra.constructs.functions import PythonFunction

PERIOD = Duration.minutes(5)
SES_BOUNCE_RATE = 0.04
SES_COMPLAINT_RATE = 0.0008
"""Alarm thresholds below the rates at which SES puts an account under review (5 % bounces, 0.1 %
complaints): time to act before sending is paused."""


class Monitoring(Construct):
    """The alarm topic, every alarm on it, and the dashboard of one tenant's stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[names.FunctionName, PythonFunction],
        state_machine: sfn.IStateMachine,
        rest_api: apigw.RestApi,
        failure_queues: Mapping[str, sqs.IQueue],
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack_name = Stack.of(self).stack_name
        self.key = kms.Key(
            self,
            "TopicKey",
            description="tachiai: encrypts the alarm topic (CloudWatch alarms publish with it)",
            enable_key_rotation=True,
            # Holds no data at rest beyond messages in flight: nothing to keep when the stack goes.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.topic = sns.Topic(
            self, "Alarms", display_name="tachiai alarms", master_key=self.key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        chain = {
            "ExecutionsFailed": state_machine.metric_failed(period=PERIOD),
            "ExecutionsTimedOut": state_machine.metric_timed_out(period=PERIOD),
            "ExecutionsAborted": state_machine.metric_aborted(period=PERIOD),
        }
        for name, metric in chain.items():
            self._alarm(f"Chain{name}", metric, f"signing chain: {name} (an envelope stopped)")
        for name, function in functions.items():
            label = "".join(part.capitalize() for part in name.split("_"))
            self._alarm(
                f"{label}Errors", function.function.metric_errors(period=PERIOD), f"{name} function: errors"
            )
            self._alarm(
                f"{label}Throttles",
                function.function.metric_throttles(period=PERIOD),
                f"{name} function: throttled invocations",
            )
        self._alarm("Api5xx", rest_api.metric_server_error(period=PERIOD), "API: 5xx answers")
        for name, queue in failure_queues.items():
            self._alarm(
                f"{name}FailuresQueue",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=PERIOD),
                f"{name}: lost events wait in the failures queue (runbook: redrive)",
            )
        own = {
            Metric.TSA_FAILOVERS: "a seal needed a later TSA of the list (the first one failed)",
            Metric.KMS_THROTTLES: "KMS throttled the seal key",
            Metric.MAIL_SANDBOX_REFUSALS: "SES refused a mail: the account is in the SES sandbox",
        }
        for metric_name, description in own.items():
            self._alarm(metric_name.value, self.metric(metric_name), description)
        self._alarm(
            "SesBounceRate",
            self._ses("Reputation.BounceRate"),
            f"SES bounce rate at {SES_BOUNCE_RATE:.0%} (SES reviews the account at 5%)",
            threshold=SES_BOUNCE_RATE,
        )
        self._alarm(
            "SesComplaintRate",
            self._ses("Reputation.ComplaintRate"),
            f"SES complaint rate at {SES_COMPLAINT_RATE:.2%} (SES reviews the account at 0.1%)",
            threshold=SES_COMPLAINT_RATE,
        )
        self.dashboard = self._dashboard(functions, state_machine, rest_api, failure_queues)

    def metric(self, metric: Metric, statistic: str = "Sum") -> cloudwatch.Metric:
        """One of tachiai's own metrics (:class:`tachiai.observability.Metric`) of this stack."""
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric.value,
            dimensions_map={STACK_DIMENSION: self._stack_name},
            statistic=statistic,
            period=PERIOD,
        )

    @staticmethod
    def _ses(name: str) -> cloudwatch.Metric:
        # Account-wide (no dimension): SES computes reputation over the account's recent sending.
        return cloudwatch.Metric(namespace="AWS/SES", metric_name=name, statistic="Maximum", period=PERIOD)

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str, *, threshold: float = 1
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"tachiai ({self._stack_name}): {description}",
        )
        alarm.add_alarm_action(self._action)
        self.alarms[construct_id] = alarm

    def _dashboard(
        self,
        functions: Mapping[names.FunctionName, PythonFunction],
        state_machine: sfn.IStateMachine,
        rest_api: apigw.RestApi,
        failure_queues: Mapping[str, sqs.IQueue],
    ) -> cloudwatch.Dashboard:
        def graph(
            title: str, left: Sequence[cloudwatch.IMetric], right: Sequence[cloudwatch.IMetric] = ()
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(left), right=list(right), width=8)

        envelopes = [
            self.metric(m)
            for m in (
                Metric.ENVELOPES_SENT,
                Metric.ENVELOPES_COMPLETED,
                Metric.ENVELOPES_REJECTED,
                Metric.ENVELOPES_CANCELLED,
                Metric.ENVELOPES_EXPIRED,
            )
        ]
        troubles = [
            self.metric(m)
            for m in (
                Metric.TSA_FAILOVERS,
                Metric.KMS_THROTTLES,
                Metric.MAIL_FAILURES,
                Metric.MAIL_SANDBOX_REFUSALS,
                Metric.EXTRACTION_FAILURES,
            )
        ]
        fns = [f.function for f in functions.values()]
        dashboard = cloudwatch.Dashboard(self, "Dashboard", period_override=cloudwatch.PeriodOverride.AUTO)
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24, height=4
            )
        )
        dashboard.add_widgets(
            graph("Envelopes", envelopes),
            graph(
                "Seals",
                [self.metric(Metric.SEALS)],
                right=[
                    self.metric(Metric.SEAL_LATENCY, "p50"),
                    self.metric(Metric.SEAL_LATENCY, "p99"),
                ],
            ),
            graph("Troubles", troubles),
        )
        dashboard.add_widgets(
            graph("Function errors", [f.metric_errors(period=PERIOD) for f in fns]),
            graph("Function throttles", [f.metric_throttles(period=PERIOD) for f in fns]),
            graph("Function duration p99", [f.metric_duration(statistic="p99", period=PERIOD) for f in fns]),
        )
        dashboard.add_widgets(
            graph(
                "Signing chain",
                [
                    state_machine.metric_started(period=PERIOD),
                    state_machine.metric_succeeded(period=PERIOD),
                    state_machine.metric_failed(period=PERIOD),
                    state_machine.metric_timed_out(period=PERIOD),
                    state_machine.metric_aborted(period=PERIOD),
                ],
            ),
            graph(
                "API",
                [rest_api.metric_client_error(period=PERIOD), rest_api.metric_server_error(period=PERIOD)],
                right=[rest_api.metric_latency(statistic="p99", period=PERIOD)],
            ),
            graph(
                "Failures queues and SES reputation",
                [
                    q.metric_approximate_number_of_messages_visible(statistic="Maximum", period=PERIOD)
                    for q in failure_queues.values()
                ],
                right=[self._ses("Reputation.BounceRate"), self._ses("Reputation.ComplaintRate")],
            ),
        )
        return dashboard
