"""Secrets kept in AWS Secrets Manager: an accredited TSA's credentials, the HSM's user PIN.

Both are read once per container (the sealer is cached), never put in the environment, and never
named by value in a log line or an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from tachiai.domain.errors import ConfigurationError, KeyServiceThrottled, TachiaiError, TimestampUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SETUP_ERRORS = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidRequestException",
        "InvalidParameterException",
    }
)
"""Answers that name a setup mistake (no such secret, no permission, its KMS key refused, deleted):
retrying cannot fix them. Anything else (throttling, an AWS or network error) may pass."""


def read_secret_text(
    client: SecretsManagerClient, name: str, *, what: str, unavailable: type[TachiaiError]
) -> str:
    """The current text value of secret ``name`` (a name or an ARN); ``what`` names it in errors.

    :raises ConfigurationError: it does not exist, cannot be read (permission, KMS key), holds binary
        data or nothing; the message names the secret and AWS's error code, never a value.
    :raises unavailable: Secrets Manager could not answer now (throttled, an AWS or network error): the
        caller's retryable failure, so the task using the secret is retried.
    """
    try:
        answer = client.get_secret_value(SecretId=name)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "unknown")
        if code in SETUP_ERRORS:
            raise ConfigurationError(f"{what} {name}: {code}", name=name) from e
        raise unavailable(f"{what} {name}: {code}") from e
    except BotoCoreError as e:
        raise unavailable(f"{what} {name}: {type(e).__name__}") from e
    text = answer.get("SecretString", "")
    if not text.strip():
        raise ConfigurationError(f"{what} {name}: no text value (binary or empty)", name=name)
    return text


def read_tsa_secret(client: SecretsManagerClient, name: str) -> str:
    """The JSON text of a TSA's credentials secret.

    :raises ConfigurationError: see :func:`read_secret_text`.
    :raises TimestampUnavailable: Secrets Manager could not answer now: like a TSA that does not
        answer, the seal is retried.
    """
    return read_secret_text(client, name, what="TSA credentials secret", unavailable=TimestampUnavailable)


def read_pin(client: SecretsManagerClient, name: str) -> SecretStr:
    """The HSM user PIN held as the text value of secret ``name``, surrounding blanks removed.

    :raises ConfigurationError: see :func:`read_secret_text`.
    :raises KeyServiceThrottled: Secrets Manager could not answer now: the seal is retried, as when the
        key service is throttled.
    """
    text = read_secret_text(client, name, what="PKCS#11 PIN secret", unavailable=KeyServiceThrottled)
    return SecretStr(text.strip())
