"""One tenant's tachiai: every AWS resource, wired with least privilege.

What each function may do is decided here, next to what its code calls (``tachiai.adapters.*``):

==========  ===================================================================================
send        table items + queries (the ledger indexes, audit trail); PUT/GET envelope PDFs
            (inline upload, presigned POST and GET); start the chain; fail a waiting task (cancel);
            invoke seal (``prepare``, an import's timestamp) and ai_extract (an import's
            extraction, asynchronously); send mail
agree       table items; GET envelope PDFs (presigned); resume / fail a waiting task; send mail
            (lock notice to the sender)
seal        table items + audit-trail query; GET/PUT envelope PDFs (and list them, so a missing
            upload is a 404, not a 403); ``kms:Sign`` / ``kms:GetPublicKey`` on the seal key;
            read the two certificate parameters; HTTPS to the TSAs and OCSP (no VPC: direct egress);
            ``secretsmanager:GetSecretValue`` on exactly the secrets of the TSAs that need credentials;
            with ``seal_backend: cloudhsm`` instead of ``kms:Sign``: the cluster's VPC (egress through
            the tenant's NAT), the client layer and the PIN's secret (:mod:`infra.constructs.hsm`)
ai_extract  table items + queries (the ledger indexes); GET envelope PDFs (the finished contract);
            send mail (the deadline alerts, to the owner); with ``extraction_engine: bedrock``,
            ``bedrock:InvokeModel`` on the one configured model; its failed asynchronous runs to
            the ledger's failures queue (:mod:`infra.constructs.ledger`)
==========  ===================================================================================

No function may delete a PDF, touch another bucket, or use the seal key except ``seal``. Only
``ai_extract`` may call Bedrock, and only when the tenant chose it.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, CfnOutput, Environment, Fn, Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct
from tachiai import names

from infra.config import TenantConfig, inference_profile_model
from infra.constructs.api import Api
from infra.constructs.auth import Auth, LoginClient
from infra.constructs.custom_domain import CustomDomain
from infra.constructs.functions import Functions, Layers, PythonFunction
from infra.constructs.hsm import HsmSealing
from infra.constructs.ledger import Ledger
from infra.constructs.mail import Mail
from infra.constructs.monitoring import Monitoring
from infra.constructs.reminders import Reminders
from infra.constructs.sealing_key import SealingKey
from infra.constructs.signing_chain import SigningChain, state_machine_arn
from infra.constructs.storage import DOCUMENTS_PREFIX, Storage

TABLE_ITEM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
"""What :class:`tachiai.adapters.dynamodb.EnvelopeRepository` writes: GetItem, PutItem, and
TransactWriteItems made of Put and Delete (IAM authorizes each part as PutItem / DeleteItem)."""
TASK_RESPONSE_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure")
SEND_MAIL_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
BEDROCK_ACTIONS = ("bedrock:InvokeModel",)
"""What the Bedrock engine calls: ``Converse`` (authorized as ``bedrock:InvokeModel``), never streaming."""


class TachiaiStack(Stack):
    """The whole service for one tenant, from its validated :class:`~infra.config.TenantConfig`."""

    def __init__(
        self, scope: Construct, construct_id: str, config: TenantConfig, *, env: Environment
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=f"tachiai electronic contracts ({config.service_name})",
        )
        self.config = config
        Tags.of(self).add("application", "tachiai")

        self.storage = Storage(self, "Storage", config=config)
        self.layers = Layers(self, "Layers")
        self.sealing_key = SealingKey(self, "SealingKey", config=config, layers=self.layers)
        self.mail = Mail(self, "Mail", config=config)
        self.auth = Auth(self, "Auth", config=config)
        self.api = Api(self, "Api", config=config, user_pool=self.auth.user_pool)

        self.custom_domain = (
            CustomDomain(
                self, "CustomDomain", config=config, domain=config.custom_domain, rest_api=self.api.rest_api
            )
            if config.custom_domain is not None
            else None
        )

        # Both are strings that reference nothing downstream of the functions (see Api.stage_url and
        # signing_chain.state_machine_arn): the functions can carry them without a dependency cycle.
        self.public_url = config.public_base_url or self.api.stage_url
        self.storage.allow_console_uploads(self.api.console_origins(config.public_base_url))
        self.state_machine_arn = state_machine_arn(self)
        self.login = LoginClient(self, "Login", auth=self.auth, base_url=self.public_url)

        common = {
            names.ENV_TABLE: self.storage.table.table_name,
            names.ENV_BUCKET: self.storage.documents_bucket.bucket_name,
            names.ENV_PUBLIC_URL: self.public_url,
            names.ENV_TIME_ZONE: config.time_zone,
            names.ENV_SERVICE_NAME: config.service_name,
        }
        mail = {
            names.ENV_MAIL_FROM: config.sender_address,
            names.ENV_MAIL_CONFIGURATION_SET: self.mail.configuration_set.configuration_set_name,
        }
        self.functions = Functions(
            self,
            "Functions",
            layers=self.layers,
            log_level=config.log_level,
            environment={
                # agree resumes and fails tasks by token alone, but its Services builds the chain
                # adapter from the ARN (tachiai.services.context), so it needs the variable too.
                "send": {
                    **common,
                    **mail,
                    names.ENV_STATE_MACHINE_ARN: self.state_machine_arn,
                    names.ENV_USER_POOL_ID: self.auth.user_pool.user_pool_id,
                    # the OAuth endpoints the public API document names (/v1/openapi.json)
                    names.ENV_LOGIN_URL: self.auth.login_url,
                    # the console signs people in with the people's app client (authorization code + PKCE)
                    names.ENV_LOGIN_CLIENT_ID: self.login.client.user_pool_client_id,
                    **(
                        {names.ENV_INTEGRATION_EMAIL: config.integration_email}
                        if config.integration_email
                        else {}
                    ),
                },
                "agree": {**common, **mail, names.ENV_STATE_MACHINE_ARN: self.state_machine_arn},
                "seal": {
                    **common,
                    names.ENV_SEAL_KEY_ID: self.sealing_key.key.key_arn,
                    names.ENV_SEAL_CHAIN_PARAMETER: config.seal_certificate_parameter,
                    names.ENV_TRUST_ROOTS_PARAMETER: config.trust_roots_parameter,
                    names.ENV_TSA_URLS: ",".join(config.tsa_urls),
                    **(
                        {names.ENV_TSA_AUTH_SECRETS: json.dumps(config.tsa_auth_secrets)}
                        if config.tsa_auth_secrets
                        else {}
                    ),
                },
                "ai_extract": {
                    **common,
                    **mail,
                    names.ENV_ALERT_DAYS: ",".join(str(day) for day in config.alert_days),
                    names.ENV_EXTRACTION_ENGINE: config.extraction_engine,
                    **({names.ENV_BEDROCK_MODEL_ID: config.bedrock_model} if config.bedrock_model else {}),
                },
            },
        )
        send, agree, seal = self.functions["send"], self.functions["agree"], self.functions["seal"]
        extract = self.functions["ai_extract"]
        send.function.add_environment(names.ENV_SEAL_FUNCTION, seal.function.function_name)
        send.function.add_environment(names.ENV_EXTRACT_FUNCTION, extract.function.function_name)

        # BatchGetItem: the full-text search reads the candidates' TEXT items (tachiai.adapters.ledger_index).
        self._grant_table(send, query_index=True, batch_get=True)
        self._grant_table(agree, query_table=False)
        self._grant_table(seal)
        self._grant_table(extract, query_index=True)

        self._grant_documents(send, read=True, write=True)
        self._grant_documents(agree, read=True)
        self._grant_documents(seal, read=True, write=True, list_keys=True)
        self._grant_documents(extract, read=True)

        # The seal key is the KMS key, or a key in the tenant's CloudHSM cluster (then the KMS key signs
        # nothing: no function may use it).
        self.hsm: HsmSealing | None = None
        if config.cloudhsm is not None:
            self.hsm = HsmSealing(self, "Hsm", hsm=config.cloudhsm, function=seal)
        else:
            self.sealing_key.grant_signing(seal)
        self.sealing_key.grant_read_certificates(seal)
        if config.tsa_auth_secrets:
            seal.allow(["secretsmanager:GetSecretValue"], self.tsa_secret_arns)

        for function in (send, agree, extract):
            function.allow(SEND_MAIL_ACTIONS, self.mail.sending_resources)
        for function in (send, agree):
            # A task token is the capability; these two actions accept no resource narrower than "*".
            function.allow(TASK_RESPONSE_ACTIONS, ["*"])
        send.allow(["states:StartExecution"], [self.state_machine_arn])
        send.allow(["lambda:InvokeFunction"], [seal.function.function_arn, extract.function.function_arn])
        self.bedrock_any_region_model_arn: str | None = None
        """The foundation model a cross-region inference profile routes to, in any region (cdk-nag)."""
        if config.bedrock_model:
            self._grant_bedrock(extract, config.bedrock_model)
        # A staff member's access token has no email: the sender API reads it from the pool. And
        # administrators manage the staff over the API (`tachiai users`): on this pool only.
        send.allow(
            [
                "cognito-idp:AdminGetUser",
                "cognito-idp:ListUsers",
                "cognito-idp:ListUsersInGroup",
                "cognito-idp:AdminListGroupsForUser",
                "cognito-idp:AdminCreateUser",
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminRemoveUserFromGroup",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminEnableUser",
                # the console's "sign out everywhere": every refresh token of the user, the CLI's too
                "cognito-idp:AdminUserGlobalSignOut",
            ],
            [self.auth.user_pool.user_pool_arn],
        )

        self.signing_chain = SigningChain(self, "SigningChain", functions=self.functions.by_name)
        self.ledger = Ledger(self, "Ledger", function=extract)
        self.reminders = Reminders(self, "Reminders", function=send)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=self.functions.by_name,
            state_machine=self.signing_chain.state_machine,
            rest_api=self.api.rest_api,
            failure_queues={"Ledger": self.ledger.failures, "Reminders": self.reminders.failures},
            alarm_email=config.alarm_email,
        )
        self.api.add_routes({name: f.function for name, f in self.functions.by_name.items()})
        self._outputs()

    def _grant_table(
        self,
        function: PythonFunction,
        *,
        query_table: bool = True,
        query_index: bool = False,
        batch_get: bool = False,
    ) -> None:
        table = self.storage.table
        function.allow(TABLE_ITEM_ACTIONS, [table.table_arn])
        if batch_get:
            function.allow(["dynamodb:BatchGetItem"], [table.table_arn])
        query = [table.table_arn] if query_table else []
        if query_index:
            query += [f"{table.table_arn}/index/{index}" for index in self.storage.index_names]
        if query:
            function.allow(["dynamodb:Query"], query)

    def _grant_bedrock(self, function: PythonFunction, model_id: str) -> None:
        """``bedrock:InvokeModel`` on the one configured model, in the only places it can run.

        A plain model id runs in the stack's region: its foundation-model ARN. A cross-region inference
        profile id (``apac.``, ``global.`` ...) is authorized twice: on the profile (in the stack's region
        and account), and on the foundation model in whichever region the profile routes the request to,
        which Bedrock chooses per request (``global.`` profiles route to a region-less ARN, which ``*``
        matches too). The second grant holds only through that profile (``bedrock:InferenceProfileArn``),
        so the function still cannot call the model directly in another region, nor any other model.
        """
        base_model = inference_profile_model(model_id)
        if base_model is None:
            function.allow(BEDROCK_ACTIONS, [self._bedrock_arn("foundation-model", model_id)])
            return
        profile = self._bedrock_arn("inference-profile", model_id, account=self.account)
        function.allow(BEDROCK_ACTIONS, [profile])
        self.bedrock_any_region_model_arn = self._bedrock_arn("foundation-model", base_model, region="*")
        function.role.add_to_policy(
            iam.PolicyStatement(
                actions=list(BEDROCK_ACTIONS),
                resources=[self.bedrock_any_region_model_arn],
                conditions={"ArnLike": {"bedrock:InferenceProfileArn": profile}},
            )
        )

    @property
    def tsa_secret_arns(self) -> list[str]:
        """The ARNs of the TSAs' credentials secrets: as given, or from the name with the six random
        characters Secrets Manager appends (``-??????``: that secret, not ``<name>-anything``)."""
        return [
            secret
            if secret.startswith("arn:")
            else self.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{secret}-??????",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for secret in self.config.tsa_auth_secrets.values()
        ]

    def _bedrock_arn(self, resource: str, name: str, *, region: str | None = None, account: str = "") -> str:
        return self.format_arn(
            service="bedrock",
            region=region,
            account=account,
            resource=resource,
            resource_name=name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _grant_documents(
        self, function: PythonFunction, *, read: bool = False, write: bool = False, list_keys: bool = False
    ) -> None:
        """Objects under ``envelopes/`` only; the KMS key only for the data keys S3 asks for."""
        objects = [self.storage.documents_arn]
        key = [self.storage.documents_key.key_arn]
        if read:
            function.allow(["s3:GetObject"], objects)
            function.allow(["kms:Decrypt"], key)
        if write:
            function.allow(["s3:PutObject"], objects)
            function.allow(["kms:GenerateDataKey"], key)
        if list_keys:
            # Without ListBucket, S3 answers 403 instead of 404 for a missing key, and a document not yet
            # uploaded would look like an outage (retried) instead of DocumentNotUploaded.
            function.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.storage.documents_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [DOCUMENTS_PREFIX + "*"]}},
                )
            )

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.public_url, "Base URL of the API (recipient links start with it)"),
            "UserPoolId": (self.auth.user_pool.user_pool_id, "Cognito user pool of the senders"),
            "Region": (self.region, "AWS region of the stack (and of its user pool)"),
            "LoginDomainUrl": (
                self.auth.login_url,
                "Managed login pages and OAuth2 endpoints (tachiai login --login-url)",
            ),
            "LoginClientId": (
                self.login.client.user_pool_client_id,
                "App client for people: authorization code + PKCE (tachiai login --client-id)",
            ),
            "SamlEntityId": (
                Fn.join("", ["urn:amazon:cognito:sp:", self.auth.user_pool.user_pool_id]),
                "Audience (Entity ID) to register in a SAML identity provider",
            ),
            "SamlReplyUrl": (
                self.auth.login_url + "/saml2/idpresponse",
                "Reply (ACS) URL to register in a SAML identity provider",
            ),
            "OidcRedirectUrl": (
                self.auth.login_url + "/oauth2/idpresponse",
                "Redirect URI to register in an OIDC identity provider",
            ),
            "IntegrationClientId": (
                self.auth.integration_client.user_pool_client_id,
                "Client-credentials app client (secret: Cognito console)",
            ),
            "TokenEndpoint": (
                self.auth.login_url + "/oauth2/token",
                "OAuth2 token endpoint for the integration client",
            ),
            "DocumentsBucket": (self.storage.documents_bucket.bucket_name, "S3 bucket of contract PDFs"),
            "EnvelopesTable": (self.storage.table.table_name, "DynamoDB table of envelopes"),
            "SealKeyId": (self.sealing_key.key.key_id, "KMS seal key (tachiai keys csr --key-id ...)"),
            "SealCertificateParameter": (
                self.sealing_key.chain_parameter,
                "SSM parameter of the seal certificate chain (import a CA-issued chain here)",
            ),
            "TrustRootsParameter": (
                self.sealing_key.trust_roots_parameter,
                "SSM parameter of the seal's trust roots",
            ),
            "StateMachineArn": (self.state_machine_arn, "Signing chain state machine"),
            "AlarmTopicArn": (
                self.monitoring.topic.topic_arn,
                "SNS topic of the alarms: subscribe the people on call (docs/operations/monitoring.md)",
            ),
            "MailConfigurationSet": (
                self.mail.configuration_set.configuration_set_name,
                "SES configuration set (bounces and complaints to EventBridge)",
            ),
        }
        for number, (name, kind, value) in enumerate(self.mail.dns_records, start=1):
            outputs[f"DnsRecord{number}"] = (f"{name} {kind} {value}", "Add this record to your DNS")
        if self.custom_domain is not None and self.custom_domain.dns_record is not None:
            name, kind, value = self.custom_domain.dns_record
            outputs["CustomDomainDnsRecord"] = (
                Fn.join(" ", [name, kind, value]),
                "Add this record to your DNS: the links' custom domain (or an ALIAS/ANAME at a zone apex)",
            )
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)
