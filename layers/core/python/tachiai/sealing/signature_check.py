"""Verify a raw signature from a key service before it goes into a PDF.

A key service (KMS, an HSM) that signs with the wrong key, the wrong algorithm or garbage must never
produce a stored seal: every raw signature is checked against the seal certificate's public key first.
"""

from __future__ import annotations

from asn1crypto import algos, x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator, SignatureValidationContext

from tachiai.domain.errors import SignatureMismatch

_validator = DefaultSignatureValidator()


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
