"""The KMS calls of the seal key — its public key and raw signatures — without any PDF library.

The sealing signer (:mod:`tachiai.adapters.kms`) and the deploy-time certificate issuer
(:mod:`tachiai.sealing.self_issued`, which must stay light) both sign through these.
``MessageType=RAW``: KMS hashes the message itself (moto ignores ``DIGEST``, so RAW keeps real KMS and
the local runtime identical).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asn1crypto import keys
from botocore.exceptions import BotoCoreError, ClientError

from tachiai import observability
from tachiai.domain.errors import KeyServiceError, KeyServiceThrottled

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_kms.literals import SigningAlgorithmSpecType

_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "LimitExceededException", "KMSInternalException", "KeyUnavailableException"}
)


def _translate(error: ClientError | BotoCoreError, action: str) -> KeyServiceError:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in _THROTTLING_CODES:
            return KeyServiceThrottled(f"KMS {action}: {code}")
        return KeyServiceError(f"KMS {action}: {code}")
    return KeyServiceError(f"KMS {action}: {type(error).__name__}")


def kms_public_key(client: KMSClient, key_id: str) -> keys.PublicKeyInfo:
    """The public half of the KMS key, as a SubjectPublicKeyInfo.

    :raises KeyServiceError: KMS refused or failed.
    """
    try:
        response = client.get_public_key(KeyId=key_id)
    except (ClientError, BotoCoreError) as e:
        raise _translate(e, "GetPublicKey") from e
    return keys.PublicKeyInfo.load(response["PublicKey"])


def kms_sign(client: KMSClient, key_id: str, message: bytes, algorithm: SigningAlgorithmSpecType) -> bytes:
    """A raw signature by KMS over ``message`` (KMS hashes it).

    :raises KeyServiceThrottled: KMS is throttling or briefly unavailable (retry).
    :raises KeyServiceError: any other refusal.
    """
    try:
        with observability.subsegment("KMS Sign"):
            response = client.sign(
                KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm=algorithm
            )
    except (ClientError, BotoCoreError) as e:
        error = _translate(e, "Sign")
        if isinstance(error, KeyServiceThrottled):
            observability.count(observability.Metric.KMS_THROTTLES)
        raise error from e
    return response["Signature"]
