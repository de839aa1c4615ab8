"""The seal certificate chain as configuration, and certificate signing requests for the seal key.

A tenant starts with a self-issued chain and later imports a CA-issued one (ideally from a CA on
Adobe's AATL, so Acrobat trusts the seal out of the box): ``tachiai keys csr`` produces the request,
signed by the KMS key itself, so the private key never leaves KMS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import csr, keys, pem, x509

from tachiai.domain.errors import CertificateError

_SUBJECT_KEYS = {
    "CN": "common_name",
    "O": "organization_name",
    "OU": "organizational_unit_name",
    "C": "country_name",
    "ST": "state_or_province_name",
    "L": "locality_name",
    "EMAILADDRESS": "email_address",
    "SERIALNUMBER": "serial_number",
}


@dataclass(frozen=True)
class SealCertificateChain:
    seal: x509.Certificate
    """The certificate over the seal key."""
    chain: list[x509.Certificate]
    """Issuing CAs up to (and possibly including) the root."""


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (or one DER certificate), in order, each parsed now.

    :raises CertificateError: none, or unreadable.
    """
    certificates: list[x509.Certificate] = []
    try:
        if pem.detect(data):
            for kind, _headers, der in pem.unarmor(data, multiple=True):
                if kind == "CERTIFICATE":
                    certificates.append(x509.Certificate.load(der))
        elif data:
            certificates.append(x509.Certificate.load(data))
        for certificate in certificates:
            _ = certificate.subject.human_friendly, certificate.public_key.algorithm  # parse now
    except (ValueError, TypeError, KeyError) as e:
        raise CertificateError(f"unreadable certificate: {e}", reason="unreadable") from e
    if not certificates:
        raise CertificateError("no certificate in the bundle", reason="no certificate")
    return certificates


def load_certificate_chain(data: bytes) -> SealCertificateChain:
    """Parse a PEM bundle: the seal certificate first, then its issuers.

    :raises CertificateError: no certificate, unreadable PEM/DER, or an issuer missing from the chain.
    """
    certs = load_certificates(data)
    seal, chain = certs[0], certs[1:]
    subjects = {c.subject.dump() for c in chain}
    current = seal
    while current.issuer.dump() != current.subject.dump() and current.issuer.dump() in subjects:
        current = next(c for c in chain if c.subject.dump() == current.issuer.dump())
    if current.issuer.dump() != current.subject.dump() and chain:
        raise CertificateError(
            f"issuer {current.issuer.human_friendly} of {current.subject.human_friendly} is missing",
            reason="incomplete chain",
        )
    return SealCertificateChain(seal=seal, chain=chain)


def require_matching_key(certificate: x509.Certificate, public_key: keys.PublicKeyInfo) -> None:
    """:raises CertificateError: ``certificate`` is not over ``public_key``."""
    if certificate.public_key.dump() != public_key.dump():
        raise CertificateError(
            "the seal certificate is not issued for the configured key", reason="key mismatch"
        )


def parse_subject(subject: str) -> x509.Name:
    """``CN=Example Seal,O=Example K.K.,C=JP`` → an X.509 name.

    :raises CertificateError: an unknown attribute or an empty subject.
    """
    values: dict[str, str] = {}
    for part in (p.strip() for p in subject.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        attribute = _SUBJECT_KEYS.get(key.strip().upper())
        if not sep or attribute is None or not value.strip():
            raise CertificateError(f"bad subject part {part!r}", reason=f"subject: {part}")
        values[attribute] = value.strip()
    if "common_name" not in values:
        raise CertificateError("subject needs CN=", reason="subject needs CN=")
    return x509.Name.build(values, use_printable=False)


def build_csr(
    subject: x509.Name,
    public_key: keys.PublicKeyInfo,
    sign: Callable[[bytes], bytes],
) -> bytes:
    """A PEM certificate signing request over ``public_key``, signed through ``sign`` (e.g. KMS).

    ``sign`` receives the DER of the request info and returns the raw signature
    (RSASSA-PKCS1-v1_5 or ECDSA, both with SHA-256).
    """
    info = csr.CertificationRequestInfo(
        {"version": "v1", "subject": subject, "subject_pk_info": public_key, "attributes": []}
    )
    algorithm = "sha256_rsa" if public_key.algorithm == "rsa" else "sha256_ecdsa"
    request = csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": sign(info.dump()),
        }
    )
    return bytes(pem.armor("CERTIFICATE REQUEST", request.dump()))
