"""Mail: the SES domain identity with Easy DKIM, and the configuration set that reports bounces.

DNS: with hosted zone attributes in the config, the DKIM CNAMEs (and the MAIL FROM MX/SPF records)
are created in that Route 53 zone; the zone is referenced from its attributes, never looked up, so
``cdk synth`` stays offline. Without a zone, the stack outputs the records for the tenant's DNS
administrator (:attr:`Mail.dns_records`).

Events: bounces, complaints, rejects and delivery delays go to the account's default EventBridge bus
(SES can only publish there), from which the event rules of later issues tell the sender. Bounced and
complaining addresses also land on the configuration set's suppression list, so a mistyped signer
address does not keep hurting the tenant's sending reputation.

Sandbox: a new account's SES sends only to verified addresses, and it authorizes ``ses:SendEmail``
against every identity in the mail (the recipient's too), so a grant on the domain identity alone
ends in AccessDenied for the first test mail. With ``mail_sandbox: true`` the mailing functions may
also send as any identity of the account in the stack's region (:attr:`Mail.sandbox_identities_arn`),
which in the sandbox are just the domain and the addresses verified for testing; the default
(production access) grants the domain identity only (docs/operations/mail.md).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.config import TenantConfig

REPORTED_EVENTS = [
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
]


class Mail(Construct):
    """The SES identity for ``config.domain``, its configuration set, and (without a zone) the DNS records."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TenantConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.sandbox_identities_arn: str | None = (
            stack.format_arn(service="ses", resource="identity", resource_name="*")
            if config.mail_sandbox
            else None
        )
        """``identity/*`` of the account and region when ``mail_sandbox`` is on (the recipients'
        identities, which SES's sandbox authorizes the send against), else ``None``."""

        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.configuration_set.add_event_destination(
            "ToEventBridge",
            destination=ses.EventDestination.event_bus(
                events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
            ),
            events=REPORTED_EVENTS,
        )

        zone = None
        if config.hosted_zone is not None:
            zone_id, zone_name = config.hosted_zone
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=zone_id, zone_name=zone_name
            )
        # Identity.public_hosted_zone verifies the zone's own name, so it fits only when the mail domain
        # IS the zone; a subdomain (sign.example.co.jp in example.co.jp) gets its records made here.
        at_apex = (
            zone is not None and config.hosted_zone is not None and config.hosted_zone[1] == config.domain
        )
        identity = (
            ses.Identity.public_hosted_zone(zone) if zone and at_apex else ses.Identity.domain(config.domain)
        )
        self.identity = ses.EmailIdentity(
            self,
            "Identity",
            identity=identity,
            dkim_identity=ses.DkimIdentity.easy_dkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
            configuration_set=self.configuration_set,
            mail_from_domain=config.mail_from_domain,
            # If the MAIL FROM MX record goes missing, fall back to amazonses.com rather than refuse to send.
            mail_from_behavior_on_mx_failure=(
                ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE if config.mail_from_domain else None
            ),
        )

        dkim = [
            (self.identity.dkim_dns_token_name1, self.identity.dkim_dns_token_value1),
            (self.identity.dkim_dns_token_name2, self.identity.dkim_dns_token_value2),
            (self.identity.dkim_dns_token_name3, self.identity.dkim_dns_token_value3),
        ]
        mail_from: list[tuple[str, str, str]] = []
        if config.mail_from_domain:
            mail_from = [
                (config.mail_from_domain, "MX", f"10 feedback-smtp.{config.region}.amazonses.com"),
                (config.mail_from_domain, "TXT", '"v=spf1 include:amazonses.com ~all"'),
            ]

        self.dns_records: list[tuple[str, str, str]] = []
        """(name, type, value) the tenant must add to its DNS: empty when the zone was given."""
        if zone is None:
            self.dns_records = [(name, "CNAME", value) for name, value in dkim] + mail_from
        elif not at_apex:
            for number, (name, value) in enumerate(dkim, start=1):
                route53.CnameRecord(self, f"Dkim{number}", zone=zone, record_name=name, domain_name=value)
            if config.mail_from_domain:
                route53.MxRecord(
                    self,
                    "MailFromMx",
                    zone=zone,
                    record_name=config.mail_from_domain,
                    values=[
                        route53.MxRecordValue(
                            host_name=f"feedback-smtp.{config.region}.amazonses.com", priority=10
                        )
                    ],
                )
                route53.TxtRecord(
                    self,
                    "MailFromSpf",
                    zone=zone,
                    record_name=config.mail_from_domain,
                    values=["v=spf1 include:amazonses.com ~all"],
                )

        self.configuration_set_arn = stack.format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )

    @property
    def sending_resources(self) -> list[str]:
        """What ``ses:SendEmail`` is authorized against: the identity and the configuration set used, and
        in the sandbox (``mail_sandbox``) the recipients' identities."""
        sandbox = [self.sandbox_identities_arn] if self.sandbox_identities_arn else []
        return [self.identity.email_identity_arn, self.configuration_set_arn, *sandbox]
