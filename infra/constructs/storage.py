"""Where envelopes and contracts live: the DynamoDB table and the S3 bucket of PDFs.

Both hold the tenant's legal records, so both are kept when the stack is deleted and the table has
deletion protection: removing tachiai must never remove the contracts it witnessed. None of them has a
fixed name (a kept resource with a fixed name would fail the next deploy of the stack on "already
exists"). What a failed FIRST deploy leaves behind: the bucket and its key hold nothing yet and are
deleted (``RETAIN_ON_UPDATE_OR_DELETE``); the table (deletion protection refuses a rollback's delete) and
the access-log bucket (S3 may have delivered logs of the create into it) are kept, under generated
names that never block the retry (docs/operations/stack-lifecycle.md says how to remove them).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA

from infra.config import TenantConfig

TTL_ATTRIBUTE = "ttl"
"""Link items carry their expiry here (epoch seconds); DynamoDB deletes them after it."""

DOCUMENTS_PREFIX = "envelopes/"
"""Every object tachiai stores is under it (:mod:`tachiai.adapters.s3`); object grants are scoped to it."""

SERVER_ACCESS_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _key_schema(
    schema: dict[str, Any], key_schema: list[dict[str, str]]
) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    """(partition key, sort key) for a CDK table or index, from a boto3-style key schema."""
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["AttributeDefinitions"]}
    keys = {
        key["KeyType"]: dynamodb.Attribute(
            name=key["AttributeName"], type=_ATTRIBUTE_TYPES[types[key["AttributeName"]]]
        )
        for key in key_schema
    }
    return keys["HASH"], keys.get("RANGE")


class Storage(Construct):
    """The ``envelopes`` table (from :data:`tachiai.adapters.dynamodb.TABLE_SCHEMA`) and the documents bucket.

    Object Lock mode: GOVERNANCE by default (``object_lock_mode`` in the tenant config). No tachiai role
    can delete a locked version or shorten its lock — sealed PDFs are tamper-evident by signature and
    undeletable by the application — while an administrator who is explicitly granted
    ``s3:BypassGovernanceRetention`` can still remove a mistaken upload, honour a legal deletion duty
    or retire a trial stack, every such act recorded in CloudTrail. COMPLIANCE would make even that
    impossible (root included) for the full term, which suits a regulator-mandated WORM archive but
    turns every test deployment into a ten-year bill; the tenant opts into it knowingly.

    Default retention applies to every PDF version as it is written (originals, each sealed version,
    the final document, the certificate), which is why every version is its own key.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: TenantConfig) -> None:
        super().__init__(scope, construct_id)
        # Deliver access logs under a bucket policy, not the legacy LogDeliveryWrite ACL (which would
        # contradict BucketOwnerEnforced). Pinned here, whatever cdk.json's feature flags say.
        self.node.set_context(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, True)

        partition_key, sort_key = _key_schema(TABLE_SCHEMA, TABLE_SCHEMA["KeySchema"])
        self.table = dynamodb.Table(
            self,
            "Envelopes",
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The stream is the change feed for events, reminders and the ledger (EventBridge Pipes later).
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=True,
            # RETAIN even on a failed create: with deletion protection on, the rollback's DeleteTable
            # would fail and leave the stack in ROLLBACK_FAILED instead of an empty table behind.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in TABLE_SCHEMA.get("GlobalSecondaryIndexes", []):
            projection = index["Projection"]
            partition_key, sort_key = _key_schema(TABLE_SCHEMA, index["KeySchema"])
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=partition_key,
                sort_key=sort_key,
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
        self.index_names: tuple[str, ...] = tuple(
            index["IndexName"] for index in TABLE_SCHEMA.get("GlobalSecondaryIndexes", [])
        )

        # Contracts are confidential: a key of the tenant's own (auditable in CloudTrail, revocable),
        # with an S3 Bucket Key so each object does not cost a KMS request.
        self.documents_key = kms.Key(
            self,
            "DocumentsKey",
            description="tachiai: encrypts the contract PDFs in the documents bucket",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

        # Server access logs cannot be delivered to an SSE-KMS bucket, so the log bucket uses SSE-S3.
        # They record who fetched which contract (presigned downloads included): kept as long as the PDFs.
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(366 * config.object_lock_retention_years),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            # RETAIN even on a failed create: the create's own requests to the documents bucket are
            # logged here, and a bucket holding objects cannot be deleted by the rollback.
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.documents_bucket = s3.Bucket(
            self,
            "Documents",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.documents_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_lock_enabled=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="documents/",
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1))],
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        # The L2 only takes the retention as days; S3 also takes whole years, which is what the tenant
        # configured (a "10 year" lock must not end a few leap days early).
        cfn_bucket = self.documents_bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.object_lock_configuration = s3.CfnBucket.ObjectLockConfigurationProperty(
            object_lock_enabled="Enabled",
            rule=s3.CfnBucket.ObjectLockRuleProperty(
                default_retention=s3.CfnBucket.DefaultRetentionProperty(
                    mode=config.object_lock_mode, years=config.object_lock_retention_years
                )
            ),
        )

    def allow_console_uploads(self, origins: list[str]) -> None:
        """Let the console's pages at ``origins`` POST presigned forms to the documents bucket from script.

        The new-envelope page uploads each PDF straight to S3 with its presigned POST, and reads the
        upload's progress (``XMLHttpRequest.upload``): a listener on it makes the browser ask the bucket
        first (a CORS preflight), and without this rule the bucket answers none. Only POST, only the
        console's own origins, no extra request headers: the form carries its signature and policy, so
        the rule lets a page send what the presigned policy already allows and nothing else (no GET: a
        download is a navigation to a presigned URL, which needs no CORS).
        """
        self.documents_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods(method) for method in names.UPLOAD_CORS_METHODS],
            allowed_origins=origins,
            max_age=names.UPLOAD_CORS_MAX_AGE_S,
        )

    @property
    def documents_arn(self) -> str:
        """ARN pattern of every object tachiai stores (the only objects any function may touch)."""
        return self.documents_bucket.arn_for_objects(DOCUMENTS_PREFIX + "*")
