"""The seal key in the tenant's AWS CloudHSM cluster (``seal_backend: cloudhsm``): the seal function's side.

KMS custom key stores backed by CloudHSM hold only symmetric encryption keys, so the seal function signs
through PKCS#11 itself (:class:`tachiai.sealing.pkcs11_signer.Pkcs11SessionSigner`). What that needs,
and what this construct adds to the seal function — to it alone:

* the cluster's network: its network interfaces in the tenant's private subnets and security groups
  (``AWS::Lambda::Function`` ``VpcConfig``), with the EC2 actions Lambda needs to manage them. The
  subnets route to a NAT gateway (the tenant's): the seal function also calls the TSAs and OCSP
  responders, S3, DynamoDB, SSM and Secrets Manager, and that NAT gives the TSAs one fixed source
  address. No VPC is created here: the cluster's VPC is the tenant's.
* the CloudHSM Client SDK 5 PKCS#11 library: a layer the tenant builds and publishes (AWS publishes
  none, and its configuration names the cluster's HSMs), unpacked to ``/opt/cloudhsm``.
* the crypto user's PIN: ``secretsmanager:GetSecretValue`` on that one secret; the environment holds
  the secret's name only.
* the environment that selects the PKCS#11 signer (:data:`tachiai.names.ENV_SEAL_BACKEND` and the
  ``TACHIAI_PKCS11_*`` variables).

Every other function stays outside any VPC. The operator's steps (cluster, key, layer, certificate,
cost) are docs/operations/cloudhsm.md.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from tachiai import names

from infra.config import CLOUDHSM_PKCS11_LIBRARY, CloudHsm
from infra.constructs.functions import PythonFunction

NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
"""What Lambda needs from a VPC function's role to manage its network interfaces (the actions of the
managed policy AWSLambdaVPCAccessExecutionRole, without its account-wide CloudWatch Logs grant)."""

PIN_ACTIONS = ("secretsmanager:GetSecretValue",)
"""What reading the PIN calls (:func:`tachiai.adapters.secrets.read_pin`)."""


class HsmSealing(Construct):
    """Puts ``function`` (the seal function) into the cluster's VPC, with the client layer, the PIN's
    secret and the environment of the PKCS#11 signer."""

    def __init__(
        self, scope: Construct, construct_id: str, *, hsm: CloudHsm, function: PythonFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.hsm = hsm
        self.function = function

        # The L2 Function takes a VPC only when it is created, from an IVpc; the tenant gives subnet and
        # security group ids, which is all CloudFormation needs.
        cfn_function = function.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=list(hsm.subnet_ids), security_group_ids=list(hsm.security_group_ids)
        )
        # Describe* and the network-interface actions Lambda calls take no narrower resource here (the
        # interfaces do not exist before Lambda creates them): Resource "*", acknowledged in infra.nag.
        function.role.add_to_policy(
            iam.PolicyStatement(actions=list(NETWORK_INTERFACE_ACTIONS), resources=["*"])
        )

        function.function.add_layers(
            lambda_.LayerVersion.from_layer_version_arn(self, "ClientLayer", hsm.client_layer_arn)
        )

        self.pin_secret_arn = self._secret_arn(hsm.pin_secret_name)
        function.allow(PIN_ACTIONS, [self.pin_secret_arn])

        for variable, value in self.environment.items():
            function.function.add_environment(variable, value)

        CfnOutput(self, "ClusterId", value=hsm.cluster_id, description="CloudHSM cluster of the seal key")
        CfnOutput(
            self, "KeyLabel", value=hsm.key_label, description="PKCS#11 label of the seal key in CloudHSM"
        )

    @property
    def environment(self) -> dict[str, str]:
        """The seal function's variables that select the PKCS#11 signer (:mod:`tachiai.config`)."""
        return {
            names.ENV_SEAL_BACKEND: "pkcs11",
            names.ENV_PKCS11_LIBRARY: CLOUDHSM_PKCS11_LIBRARY,
            names.ENV_PKCS11_TOKEN_LABEL: self.hsm.token_label,
            names.ENV_PKCS11_KEY_LABEL: self.hsm.key_label,
            names.ENV_PKCS11_PIN_SECRET: self.hsm.pin_secret_name,
        }

    def _secret_arn(self, name_or_arn: str) -> str:
        """The secret's ARN; for a name, with Secrets Manager's random six-character suffix matched."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{name_or_arn}-??????",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
