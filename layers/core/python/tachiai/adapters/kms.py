"""The seal key in AWS KMS: public key, raw signatures, and a pyhanko signer built on them.

KMS ``Sign`` is called with ``MessageType=RAW`` over the DER-encoded signed attributes (always far
below KMS's 4096-byte limit), so KMS hashes the message itself. ``DIGEST`` would save nothing and moto
ignores it, so RAW keeps real KMS and the local runtime identical. Every signature is verified against
the seal certificate before pyhanko embeds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asn1crypto import algos, keys, x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tachiai.adapters.kms_api import kms_public_key, kms_sign
from tachiai.domain.errors import ConfigurationError
from tachiai.sealing.signature_check import seal_key_algorithm, verify_raw_signature

__all__ = ["KmsSigner", "kms_public_key", "kms_sign", "signing_algorithm_for"]

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_kms.literals import SigningAlgorithmSpecType

# (KMS signing algorithm, CMS signature mechanism, size of a dummy signature for pyhanko's dry run)
_ALGORITHMS: dict[str, tuple[SigningAlgorithmSpecType, str, int]] = {
    "rsa": ("RSASSA_PKCS1_V1_5_SHA_256", "sha256_rsa", 256),
    "ec": ("ECDSA_SHA_256", "sha256_ecdsa", 72),
}


def signing_algorithm_for(public_key: keys.PublicKeyInfo) -> tuple[SigningAlgorithmSpecType, str, int]:
    """KMS algorithm, CMS mechanism and dummy size for a key.

    :raises ConfigurationError: a key type tachiai does not seal with.
    """
    return _ALGORITHMS[seal_key_algorithm(public_key)]


class KmsSigner(Signer):
    """A pyhanko signer whose raw signatures come from a KMS asymmetric key (RSA 2048 or P-256)."""

    def __init__(
        self,
        client: KMSClient,
        key_id: str,
        signing_cert: x509.Certificate,
        chain: list[x509.Certificate],
    ) -> None:
        self._client = client
        self._key_id = key_id
        self._kms_algorithm, mechanism, self._dummy_size = signing_algorithm_for(signing_cert.public_key)
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=SimpleCertificateStore.from_certs(chain),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=True,
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Sign ``data`` in KMS and check the result against the seal certificate.

        :raises KeyServiceError: KMS failed (``KeyServiceThrottled`` when retryable).
        :raises SignatureMismatch: the KMS key does not match the certificate.
        """
        if digest_algorithm != "sha256":
            raise ConfigurationError(f"digest {digest_algorithm} with KMS", name="digest algorithm")
        if dry_run:
            return bytes(self._dummy_size)
        signature = kms_sign(self._client, self._key_id, data, self._kms_algorithm)
        mechanism = self.signature_mechanism
        assert mechanism is not None
        assert self.signing_cert is not None
        verify_raw_signature(self.signing_cert, data, signature, mechanism, digest_algorithm)
        return signature
