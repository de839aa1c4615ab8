"""The recipient links' own address: an API Gateway custom domain (``https://sign.example.co.jp/s/...``).

A REGIONAL domain name (TLS 1.2 security policy) with the ACM certificate of the tenant config, or one
the stack requests and validates in the tenant's hosted zone; a base path mapping of the whole domain
to the API's stage, so links carry no stage path; and the DNS record that points the name at the
domain (an alias A record in the hosted zone when it holds the name, otherwise a stack output for the
tenant's own DNS).

With a custom domain, the API's execute-api address is switched off (:class:`~infra.constructs.api.Api`
``disable_execute_api_endpoint``): links, mails, the console and its sign-in callbacks all go out with
one address, the one recipients were told to trust. The WAF is associated with the stage, so it covers
requests through the domain as it did through execute-api.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from infra.config import CustomDomain as CustomDomainConfig
from infra.config import TenantConfig

SECURITY_POLICY = apigw.SecurityPolicy.TLS_1_2
"""TLS 1.2 and later: every browser and mail client of the last decade; no TLS 1.0/1.1."""


class CustomDomain(Construct):
    """The domain name, its certificate, the mapping to the stage and its DNS record."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TenantConfig,
        domain: CustomDomainConfig,
        rest_api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = domain.name
        zone = self._zone(config, domain.name)
        if domain.certificate_arn is not None:
            self.certificate: acm.ICertificate = acm.Certificate.from_certificate_arn(
                self, "Certificate", domain.certificate_arn
            )
        else:
            # Config guarantees a zone holding the name when no certificate is given.
            assert zone is not None
            self.certificate = acm.Certificate(
                self,
                "Certificate",
                domain_name=domain.name,
                validation=acm.CertificateValidation.from_dns(zone),
            )
        self.domain_name = apigw.DomainName(
            self,
            "DomainName",
            domain_name=domain.name,
            certificate=self.certificate,
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=SECURITY_POLICY,
        )
        # The whole domain is the stage: https://<name>/s/<token>, not https://<name>/prod/s/<token>.
        self.mapping = self.domain_name.add_base_path_mapping(rest_api, stage=rest_api.deployment_stage)
        # Switching the execute-api address off takes effect with a new deployment of the stage.
        rest_api.latest_deployment.add_to_logical_id({"customDomain": domain.name})  # type: ignore[union-attr]

        self.record: route53.ARecord | None = None
        self.dns_record: tuple[str, str, str] | None = None
        """``(name, type, value)`` for the tenant's own DNS when the stack does not create the record."""
        if zone is not None:
            self.record = route53.ARecord(
                self,
                "Alias",
                zone=zone,
                record_name=domain.name + ".",
                target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(self.domain_name)),
            )
        else:
            self.dns_record = (domain.name, "CNAME", self.domain_name.domain_name_alias_domain_name)

    def _zone(self, config: TenantConfig, name: str) -> route53.IHostedZone | None:
        """The tenant's hosted zone, if it holds ``name`` (from its attributes: no lookup at synth)."""
        given = config.hosted_zone
        if given is None:
            return None
        zone_id, zone_name = given
        if name != zone_name and not name.endswith("." + zone_name):
            return None
        return route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=zone_id, zone_name=zone_name
        )

    @property
    def url(self) -> str:
        """``https://<name>``: what every link starts with."""
        return f"https://{self.name}"
