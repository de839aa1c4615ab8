"""Cached boto3 clients: created on first use, never at import time.

boto3 honours ``AWS_ENDPOINT_URL`` itself, which is how the local runtime points every client at moto
without any change to the code that uses them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient


def client_config(service: str) -> Any:
    """Per-service botocore settings, shared by the cached factories and the tests."""
    from botocore.config import Config

    if service == "s3":
        # Presigned URLs for SSE-KMS objects must be SigV4; virtual-host addressing as AWS recommends,
        # except against a local endpoint (moto on 127.0.0.1), where a bucket cannot be a host name.
        import os

        if os.environ.get("AWS_ENDPOINT_URL"):
            return Config(signature_version="s3v4", s3={"addressing_style": "path"})
        return Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    if service == "bedrock-runtime":
        # A model reading a long contract can take longer than botocore's 60 s read timeout; throttling
        # is retried a few times here before it becomes ExtractionUnavailable for the caller to retry.
        return Config(read_timeout=300, retries={"mode": "standard", "max_attempts": 4})
    return Config()


@functools.cache
def _client(service: str) -> Any:
    import boto3

    return boto3.client(service, config=client_config(service))  # type: ignore[call-overload]


def dynamodb_client() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def s3_client() -> S3Client:
    client: S3Client = _client("s3")
    return client


def sfn_client() -> SFNClient:
    client: SFNClient = _client("stepfunctions")
    return client


def lambda_client() -> LambdaClient:
    client: LambdaClient = _client("lambda")
    return client


def ssm_client() -> SSMClient:
    client: SSMClient = _client("ssm")
    return client


def kms_client() -> KMSClient:
    client: KMSClient = _client("kms")
    return client


def sesv2_client() -> SESV2Client:
    client: SESV2Client = _client("sesv2")
    return client


def cognito_client() -> CognitoIdentityProviderClient:
    client: CognitoIdentityProviderClient = _client("cognito-idp")
    return client


def bedrock_runtime_client() -> BedrockRuntimeClient:
    client: BedrockRuntimeClient = _client("bedrock-runtime")
    return client


def secretsmanager_client() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints or credentials)."""
    _client.cache_clear()
