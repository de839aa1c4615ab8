"""The seal key (KMS, asymmetric, SIGN_VERIFY) and its certificate, issued on first deploy.

The private key never leaves KMS: the seal function asks KMS to ``Sign`` (MessageType RAW) and
embeds the signature. Its certificate chain and the roots a seal must chain to live in two SSM
parameters named in the tenant config.

Those parameters are NOT CloudFormation resources. A deploy-time custom resource
(:data:`tachiai.names.CERTIFICATE_FUNCTION`) writes a self-issued certificate over the key into them
when they hold no usable certificate, and leaves a CA-issued chain the tenant imported
(``tachiai keys csr`` → CA → import) alone; on stack deletion it keeps them. Were they
``AWS::SSM::Parameter`` resources, any template change to them would overwrite the imported chain
with a placeholder, and deleting the stack would delete it.

CloudHSM instead of KMS: KMS custom key stores backed by CloudHSM hold only symmetric keys, so an
HSM-held seal key is used directly through PKCS#11 (:mod:`tachiai.sealing.pkcs11_signer`): a seal
function attached to the CloudHSM cluster's VPC, with the CloudHSM Client SDK 5 PKCS#11 library in a
layer and the crypto-user PIN in Secrets Manager. That variant is documented, not built here: it
trades KMS's per-request price for an HSM cluster (two HSMs for availability) billed by the hour.
"""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct
from tachiai import names

from infra import REPO_ROOT
from infra.config import TenantConfig
from infra.constructs.functions import Layers, PythonFunction, Sizing

_KEY_SPECS = {"RSA_2048": kms.KeySpec.RSA_2048, "ECC_NIST_P256": kms.KeySpec.ECC_NIST_P256}

SIGNING_ACTIONS = ("kms:Sign", "kms:GetPublicKey")
"""What sealing (and issuing the self-signed certificate) needs from the key — nothing else."""


class SealingKey(Construct):
    """The KMS seal key, the certificate custom resource, and the SSM parameter ARNs for grants."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TenantConfig, layers: Layers) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.chain_parameter = config.seal_certificate_parameter
        self.trust_roots_parameter = config.trust_roots_parameter

        # Asymmetric keys cannot rotate: a new seal key means a new certificate, done deliberately.
        # RETAIN: documents sealed by it are verified with the certificate, not the key, but a deleted
        # key would end sealing for envelopes still in flight.
        self.key = kms.Key(
            self,
            "Key",
            key_spec=_KEY_SPECS[config.seal_key_spec],
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            description=f"tachiai seal key ({config.service_name}): witness signatures on contract PDFs",
            alias=f"alias/{config.stack_name}/seal",
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )

        self.parameter_arns = [
            stack.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))
            for name in (self.chain_parameter, self.trust_roots_parameter)
        ]

        self.certificate_function = PythonFunction(
            self,
            "Certificate",
            code_dir=names.CERTIFICATE_FUNCTION.code_dir,
            handler=names.CERTIFICATE_FUNCTION.handler,
            layers=layers,
            sizing=Sizing(256, Duration.seconds(60)),
            environment={},
            description="tachiai deploy time: self-issued seal certificate into SSM when none is usable",
        )
        self.grant_signing(self.certificate_function)
        self.certificate_function.allow(["ssm:GetParameter", "ssm:PutParameter"], self.parameter_arns)

        provider_logs = logs.LogGroup(
            self, "ProviderLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        # The framework's own role writes only its log group (instead of AWSLambdaBasicExecutionRole).
        self.framework_role = framework_role = iam.Role(
            self,
            "ProviderRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="tachiai seal-certificate custom resource framework",
        )
        framework_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[provider_logs.log_group_arn]
            )
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.certificate_function.function,
            framework_on_event_role=framework_role,
            log_group=provider_logs,
        )
        properties = {
            "KeyId": self.key.key_arn,
            "ChainParameter": self.chain_parameter,
            "RootsParameter": self.trust_roots_parameter,
            "Subject": config.seal_certificate_subject,
        }
        if config.tsa_roots_file:
            properties["TsaRoots"] = (REPO_ROOT / config.tsa_roots_file).read_text(encoding="ascii")
        self.certificate = CustomResource(
            self,
            "SealCertificate",
            service_token=self.provider.service_token,
            resource_type="Custom::TachiaiSealCertificate",
            properties=properties,
        )

    def grant_signing(self, function: PythonFunction) -> None:
        """``kms:Sign`` and ``kms:GetPublicKey`` on this key only."""
        function.allow(SIGNING_ACTIONS, [self.key.key_arn])

    def grant_read_certificates(self, function: PythonFunction) -> None:
        """``ssm:GetParameter`` on the chain and trust-roots parameters only (plain String: no KMS)."""
        function.allow(["ssm:GetParameter"], self.parameter_arns)
