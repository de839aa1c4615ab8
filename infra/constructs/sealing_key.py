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

CloudHSM instead of KMS (``seal_backend: cloudhsm``): KMS custom key stores backed by CloudHSM hold
only symmetric encryption keys (AWS KMS developer guide, "KMS keys in a CloudHSM key store"), so an
HSM-held seal key is used directly through PKCS#11 (:mod:`tachiai.sealing.pkcs11_signer`) by a seal
function attached to the CloudHSM cluster's VPC (:mod:`infra.constructs.hsm`). This key then signs
nothing: the seal function gets no ``kms:Sign`` on it and the certificate custom resource is not
deployed (its self-issued certificate over this key would replace the HSM key's imported chain). The
key stays (USD 1 a month) so that going back to ``kms`` replaces no retained key.

Who may do what with the key is written out in its own key policy (separation of duties; the
break-glass procedure is docs/operations/seal-key.md). CDK's default policy gives the account root
``kms:*``, which lets any principal whose IAM policy says ``kms:Sign`` on ``*`` sign as the company
seal, outside tachiai. Here the key administrators (``seal_key_administrators``, default: the account
through IAM) may manage the key and never use it, and only the seal function's and the certificate
custom resource's roles may sign, named in the key policy itself: an IAM policy elsewhere in the
account cannot add a signer.
"""

from __future__ import annotations

from aws_cdk import CustomResource, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack
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

ADMIN_ACTIONS = (
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
"""Managing the key without using it. Not ``kms:Create*``: it holds ``kms:CreateGrant``, and a grant
would let an administrator hand themselves ``Sign`` without touching the policy (and without a
``PutKeyPolicy`` event to alarm on). Not ``kms:Get*``: it holds ``GetPublicKey``. Changing the policy
(``kms:PutKeyPolicy``) stays theirs, which is the break-glass door: KMS refuses a policy that nobody
may change (its lockout check), and every such change is a CloudTrail management event."""


class SealingKey(Construct):
    """The KMS seal key, the certificate custom resource, and the SSM parameter ARNs for grants."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TenantConfig, layers: Layers) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.chain_parameter = config.seal_certificate_parameter
        self.trust_roots_parameter = config.trust_roots_parameter

        # Asymmetric keys cannot rotate: a new seal key means a new certificate, done deliberately.
        # Kept on update and deletion: documents sealed by it are verified with the certificate, not the
        # key, but a deleted key would end sealing for envelopes still in flight. A failed first deploy
        # schedules it for deletion instead (nothing was sealed with it yet).
        # An explicit policy, so CDK adds no account-root ``kms:*`` statement (with the v2 default
        # ``@aws-cdk/aws-kms:defaultKeyPolicies``, a given policy replaces the default one).
        self.key = kms.Key(
            self,
            "Key",
            key_spec=_KEY_SPECS[config.seal_key_spec],
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            description=f"tachiai seal key ({config.service_name}): witness signatures on contract PDFs",
            alias=f"alias/{config.stack_name}/seal",
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="KeyAdministration",
                        principals=self._administrators(config),
                        actions=list(ADMIN_ACTIONS),
                        resources=["*"],
                    )
                ]
            ),
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            pending_window=Duration.days(30),
        )
        if config.seal_csr_signers:
            self._allow_signing(
                "CertificateRequest", [iam.ArnPrincipal(arn) for arn in config.seal_csr_signers]
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
        if config.seal_backend == "kms":
            # with the seal key in CloudHSM nothing signs with this key (see above): no signer at all
            self.grant_signing(self.certificate_function)
        self.certificate_function.allow(["ssm:GetParameter", "ssm:PutParameter"], self.parameter_arns)

        provider_logs = logs.LogGroup(
            self,
            "ProviderLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
        # With the seal key in CloudHSM (infra.constructs.hsm) the chain parameter holds the HSM key's
        # certificate, imported by the tenant: a self-issued one over this KMS key would replace it.
        self.certificate: CustomResource | None = None
        if config.seal_backend == "kms":
            self.certificate = CustomResource(
                self,
                "SealCertificate",
                service_token=self.provider.service_token,
                resource_type="Custom::TachiaiSealCertificate",
                properties=properties,
            )

    def _administrators(self, config: TenantConfig) -> list[iam.IPrincipal]:
        """Who manages the key: the configured roles, or the account (through IAM policies) by default.

        With named administrators, the role CloudFormation deploys with (the CDK bootstrap's execution
        role) is one too: it creates the key, its alias and, at every later deploy, its policy, and
        KMS refuses a new policy that would not let the caller change it again.
        """
        if not config.seal_key_administrators:
            return [iam.AccountRootPrincipal()]
        principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in config.seal_key_administrators]
        synthesizer = Stack.of(self).synthesizer
        if isinstance(synthesizer, DefaultStackSynthesizer):
            # "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-...-cfn-exec-role-...": a Fn::Sub form.
            principals.append(iam.ArnPrincipal(Fn.sub(synthesizer.cloud_formation_execution_role_arn)))
        return principals

    def _allow_signing(self, sid: str, principals: list[iam.IPrincipal]) -> None:
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid, principals=principals, actions=list(SIGNING_ACTIONS), resources=["*"]
            )
        )

    def grant_signing(self, function: PythonFunction) -> None:
        """``kms:Sign`` and ``kms:GetPublicKey`` on this key, for ``function``'s role only.

        Granted in the key policy, by the role's ARN: the policy delegates nothing to the account, so
        an IAM statement alone would not suffice. The role's own policy says the same, on this key only,
        so reading a role shows everything it may do.
        """
        self._allow_signing(f"Sign{function.node.id}", [iam.ArnPrincipal(function.role.role_arn)])
        function.allow(SIGNING_ACTIONS, [self.key.key_arn])

    def grant_read_certificates(self, function: PythonFunction) -> None:
        """``ssm:GetParameter`` on the chain and trust-roots parameters only (plain String: no KMS)."""
        function.allow(["ssm:GetParameter"], self.parameter_arns)
