"""Configuration values kept in SSM Parameter Store (the seal certificate chain, trust roots)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


def read_parameter(client: SSMClient, name: str) -> str:
    """The value of parameter ``name`` (decrypted).

    :raises ConfigurationError: it does not exist or cannot be read.
    """
    try:
        return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except (ClientError, BotoCoreError) as e:
        raise ConfigurationError(f"SSM parameter {name}: {e}", name=name) from e
