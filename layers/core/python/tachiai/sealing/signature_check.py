"""Verify a raw signature from a key service before it goes into a PDF.

A key service (KMS, an HSM) that signs with the wrong key, the wrong algorithm or garbage must never
produce a stored seal: every raw signature is checked against the seal certificate's public key first.
"""

from __future__ import annotations

from typing import Literal

from asn1crypto import algos, keys, x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator, SignatureValidationContext

from tachiai.domain.errors import ConfigurationError, SignatureMismatch

_validator = DefaultSignatureValidator()

SealKeyAlgorithm = Literal["rsa", "ec"]


def seal_key_algorithm(public_key: keys.PublicKeyInfo) -> SealKeyAlgorithm:
    """The algorithm of a seal key: RSA (any size KMS or the HSM offers) or EC on P-256.

    :raises ConfigurationError: any other key type or curve.
    """
    algorithm = public_key.algorithm
    if algorithm == "rsa":
        return "rsa"
    if algorithm == "ec" and public_key.curve[1] == "secp256r1":
        return "ec"
    detail = f"curve {public_key.curve[1]}" if algorithm == "ec" else f"algorithm {algorithm}"
    raise ConfigurationError(f"unsupported seal key {detail}", name="seal key")


def verify_raw_signature(
    certificate: x509.Certificate,
    data: bytes,
    signature: bytes,
    mechanism: algos.SignedDigestAlgorithm,
    digest_algorithm: str,
) -> None:
    """Check ``signature`` over ``data`` with ``certificate``'s public key.

    :raises SignatureMismatch: the signature does not verify (wrong key, algorithm or bytes).
    """
    try:
        _validator.validate_signature(
            signature,
            data,
            certificate.public_key,
            mechanism,
            SignatureValidationContext(contextual_md_algorithm=digest_algorithm),
        )
    except (InvalidSignature, AlgorithmNotSupported, ValueError) as e:
        raise SignatureMismatch(f"raw signature does not verify: {type(e).__name__}") from e
