"""A self-issued seal certificate over the KMS key, so a freshly deployed stack can seal at once.

The certificate is self-signed by the seal key itself: the TBSCertificate is signed by KMS ``Sign``
(``MessageType=RAW``, RSASSA-PKCS1-v1_5 or ECDSA with SHA-256) and checked locally before it is
returned, exactly as ``tachiai keys csr`` signs a request. The private key never leaves KMS.

It is an end-entity certificate that is also its own trust anchor. pyhanko-certvalidator puts no
requirement on a trust anchor beyond its validity period (a path whose leaf *is* the anchor has no
certificate to process), and pyhanko requires ``nonRepudiation`` of a signer, so the profile is:

* basicConstraints ``cA=FALSE`` (critical): the seal key signs documents, never certificates;
* keyUsage ``digitalSignature, nonRepudiation`` (critical): no ``keyCertSign`` — the one signature the
  key makes over a certificate is its own, which is checked as a trust anchor, not as an issuer's;
* subjectKeyIdentifier and an equal authorityKeyIdentifier, so tools that look for a self-signed
  certificate (asn1crypto's ``self_signed``, the verifier's embedded-root search) recognise it;
* no extendedKeyUsage: absent means any purpose, and Acrobat refuses signers whose EKU lacks one of
  the purposes it knows (``id-kp-documentSigning`` is too new to rely on).

Both SSM parameters hold plain ``String`` values: certificates are public, and a ``SecureString``
would only add a KMS decrypt grant for every reader without protecting anything.

Wiring for the CDK app (the deploy-time custom resource in ``functions/certificate/handler.py``)::

    FunctionSpec("certificate", "functions/certificate", "handler.handler")
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from asn1crypto import algos, core, keys, pem, x509
from botocore.exceptions import BotoCoreError, ClientError
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from tachiai.adapters.kms_api import kms_public_key, kms_sign
from tachiai.domain.errors import (
    CertificateError,
    ConfigurationError,
    SignatureMismatch,
)
from tachiai.sealing.certificates import load_certificate_chain, parse_subject

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_kms.literals import SigningAlgorithmSpecType
    from mypy_boto3_ssm import SSMClient

DEFAULT_VALID_YEARS = 10
CLOCK_SKEW = timedelta(minutes=5)
"""notBefore is set this far in the past, so a validator whose clock runs behind still accepts it."""

# The KMS calls are made here rather than through ``tachiai.adapters.kms``, which imports pyhanko:
# the deploy-time custom resource must load without it. Same calls, same error translation.


def self_issued_certificate(
    client: KMSClient,
    key_id: str,
    subject: str,
    *,
    valid_years: int = DEFAULT_VALID_YEARS,
    now: datetime | None = None,
) -> x509.Certificate:
    """A self-signed X.509 v3 seal certificate over the KMS key, signed by that key.

    ``subject`` is given as for ``tachiai keys csr`` (``CN=Example Seal,O=Example K.K.,C=JP``).

    :raises CertificateError: the subject is malformed.
    :raises ConfigurationError: the key is not RSA or EC P-256.
    :raises KeyServiceError: KMS failed (``KeyServiceThrottled`` when retryable).
    :raises SignatureMismatch: KMS's signature does not verify against the key's public half.
    """
    name = parse_subject(subject)
    return _issue(client, key_id, kms_public_key(client, key_id), name, valid_years=valid_years, now=now)


def self_issued_chain_pem(certificate: x509.Certificate) -> str:
    """The PEM of ``certificate`` alone: the whole chain, and (with the TSA's roots) the trust roots."""
    return bytes(pem.armor("CERTIFICATE", certificate.dump())).decode("ascii")


def replacement_reason(
    current_chain: str | None,
    public_key: keys.PublicKeyInfo,
    subject: str,
    *,
    now: datetime | None = None,
) -> str | None:
    """Why the chain parameter's value ``current_chain`` needs a new self-issued certificate, or
    ``None`` to keep it.

    A chain over the key is kept — above all one a CA issued and the tenant imported — unless it is
    tachiai's own self-issued certificate (a lone self-signed one) for another subject or expired.

    :raises CertificateError: ``subject`` is malformed.
    """
    wanted = parse_subject(subject)
    if not current_chain or not current_chain.strip():
        return "no certificate yet"
    try:
        chain = load_certificate_chain(current_chain.encode())
    except CertificateError as e:
        return f"the current value is not a usable chain ({e.detail})"
    if chain.seal.public_key.dump() != public_key.dump():
        return "the current certificate is for another key"
    if chain.chain or not chain.seal.self_issued:
        return None  # a CA-issued chain: never replaced
    if chain.seal.subject != wanted:
        return f"the self-issued certificate names {chain.seal.subject.human_friendly}"
    if chain.seal.not_valid_after <= (now or datetime.now(UTC)):
        return "the self-issued certificate has expired"
    return None


def write_seal_certificate(
    ssm: SSMClient,
    certificate: x509.Certificate,
    chain_parameter: str,
    roots_parameter: str,
    *,
    extra_roots: Sequence[x509.Certificate] = (),
) -> None:
    """Store ``certificate`` as the seal chain and, with ``extra_roots``, as the trust roots.

    The roots are written first: if the second write fails, the chain parameter still holds the old
    value, so the next run issues again instead of leaving a chain whose roots were never stored.
    Earlier values stay in each parameter's history (``aws ssm get-parameter-history``).

    :raises ConfigurationError: SSM refused a write.
    """
    own = self_issued_chain_pem(certificate)
    roots = own + "".join(self_issued_chain_pem(c) for c in extra_roots)
    _put_parameter(
        ssm, roots_parameter, roots, "tachiai trust roots (self-issued seal certificate + TSA roots)"
    )
    _put_parameter(ssm, chain_parameter, own, "tachiai seal certificate chain (self-issued)")


def ensure_seal_certificate(
    kms: KMSClient,
    ssm: SSMClient,
    key_id: str,
    chain_parameter: str,
    roots_parameter: str,
    subject: str,
    *,
    extra_roots: Sequence[x509.Certificate] = (),
    now: datetime | None = None,
) -> bool:
    """Make sure the chain parameter holds a certificate over the KMS key; issue one if not.

    Issues (and writes both parameters) when the chain parameter is missing, unreadable, over another
    key, or tachiai's own self-issued certificate for another subject or expired; see
    :func:`replacement_reason`. An imported CA chain over the key is never touched. ``extra_roots``
    (the TSA's roots) are stored with the new certificate in the roots parameter: a seal's timestamp
    must be trusted too, or the check after sealing refuses it.

    :return: whether a certificate was issued.
    :raises CertificateError: ``subject`` is malformed.
    :raises ConfigurationError: an SSM parameter could not be read or written, or the key type is unsupported.
    :raises KeyServiceError: KMS failed (``KeyServiceThrottled`` when retryable).
    :raises SignatureMismatch: KMS's signature did not verify.
    """
    public_key = kms_public_key(kms, key_id)
    if replacement_reason(read_chain_parameter(ssm, chain_parameter), public_key, subject, now=now) is None:
        return False
    certificate = _issue(
        kms, key_id, public_key, parse_subject(subject), valid_years=DEFAULT_VALID_YEARS, now=now
    )
    write_seal_certificate(ssm, certificate, chain_parameter, roots_parameter, extra_roots=extra_roots)
    return True


def read_chain_parameter(ssm: SSMClient, name: str) -> str | None:
    """The value of parameter ``name``, or ``None`` when it does not exist.

    :raises ConfigurationError: it exists but cannot be read.
    """
    try:
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise ConfigurationError(f"SSM GetParameter {name}: {_code(e)}", name=name) from e
    except BotoCoreError as e:
        raise ConfigurationError(f"SSM GetParameter {name}: {type(e).__name__}", name=name) from e


# --- internals ------------------------------------------------------------------------------------


def _issue(
    client: KMSClient,
    key_id: str,
    public_key: keys.PublicKeyInfo,
    name: x509.Name,
    *,
    valid_years: int,
    now: datetime | None,
) -> x509.Certificate:
    if valid_years < 1:
        raise ConfigurationError(f"valid_years={valid_years}", name="validity in years")
    kms_algorithm, mechanism = _algorithm_for(public_key)
    not_before = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0) - CLOCK_SKEW
    key_identifier = public_key.sha1  # RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            # Positive, at most 20 octets (RFC 5280 4.1.2.2), unpredictable.
            "serial_number": secrets.randbelow(2**159 - 1) + 1,
            "signature": mechanism,
            "issuer": name,
            "validity": {
                "not_before": _time(not_before),
                "not_after": _time(_add_years(not_before, valid_years)),
            },
            "subject": name,
            "subject_public_key_info": public_key,
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {
                    "extn_id": "key_usage",
                    "critical": True,
                    "extn_value": {"digital_signature", "non_repudiation"},
                },
                {"extn_id": "key_identifier", "critical": False, "extn_value": key_identifier},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": key_identifier},
                },
            ],
        }
    )
    signature = kms_sign(client, key_id, tbs.dump(), kms_algorithm)
    certificate = x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": mechanism, "signature_value": signature}
    )
    _require_self_signature(certificate)
    return certificate


def _algorithm_for(
    public_key: keys.PublicKeyInfo,
) -> tuple[SigningAlgorithmSpecType, algos.SignedDigestAlgorithm]:
    if public_key.algorithm == "rsa":
        # RFC 4055: the parameters of sha256WithRSAEncryption are an explicit NULL.
        return "RSASSA_PKCS1_V1_5_SHA_256", algos.SignedDigestAlgorithm(
            {"algorithm": "sha256_rsa", "parameters": core.Null()}
        )
    if public_key.algorithm == "ec" and public_key.curve[1] == "secp256r1":
        # RFC 5758: ecdsa-with-SHA256 has no parameters; KMS returns the DER ECDSA-Sig-Value X.509 wants.
        return "ECDSA_SHA_256", algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    raise ConfigurationError(f"unsupported seal key algorithm {public_key.algorithm}", name="seal key")


def _require_self_signature(certificate: x509.Certificate) -> None:
    # cryptography's strict DER parser re-reads the encoding, then checks KMS's signature with the
    # certificate's own public key: a wrong key, algorithm or garbage never leaves this module.
    try:
        parsed = cx509.load_der_x509_certificate(certificate.dump())
        parsed.verify_directly_issued_by(parsed)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as e:
        raise SignatureMismatch(f"self-issued certificate does not verify: {type(e).__name__}") from e


def _time(moment: datetime) -> x509.Time:
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    return x509.Time({"utc_time": moment} if moment.year < 2050 else {"general_time": moment})


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _put_parameter(ssm: SSMClient, name: str, value: str, description: str) -> None:
    try:
        # Intelligent-Tiering: Standard (4 KB) while it fits, Advanced (8 KB) when roots make it larger.
        ssm.put_parameter(
            Name=name,
            Value=value,
            Type="String",
            Overwrite=True,
            Tier="Intelligent-Tiering",
            Description=description,
        )
    except ClientError as e:
        raise ConfigurationError(f"SSM PutParameter {name}: {_code(e)}", name=name) from e
    except BotoCoreError as e:
        raise ConfigurationError(f"SSM PutParameter {name}: {type(e).__name__}", name=name) from e
