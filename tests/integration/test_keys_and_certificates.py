"""Certificates: the chain as configuration, and CSRs signed through the KMS key (for a CA / AATL)."""

from __future__ import annotations

import boto3
import pytest
from cryptography import x509 as cx509
from tachiai.adapters.kms import kms_public_key, kms_sign, signing_algorithm_for
from tachiai.cli import main
from tachiai.domain.errors import CertificateError
from tachiai.sealing.certificates import (
    build_csr,
    load_certificate_chain,
    parse_subject,
    require_matching_key,
)


@pytest.mark.parametrize("key_spec", ["RSA_2048", "ECC_NIST_P256"])
def test_csr_is_signed_by_the_kms_key_and_verifies(kit, key_spec):
    kms = boto3.client("kms")
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=key_spec)["KeyMetadata"]["KeyId"]
    public_key = kms_public_key(kms, key_id)
    algorithm = signing_algorithm_for(public_key)[0]
    pem = build_csr(
        parse_subject("CN=Example Seal,O=株式会社例,C=JP"),
        public_key,
        lambda d: kms_sign(kms, key_id, d, algorithm),
    )
    request = cx509.load_pem_x509_csr(pem)
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=Example Seal,O=株式会社例,C=JP"


def test_keys_csr_command_writes_a_request(kit, tmp_path, capsys):
    out = tmp_path / "seal.csr"
    assert (
        main(["keys", "csr", "--key-id", kit.key_id, "--subject", "CN=Tenant Seal,C=JP", "-o", str(out)]) == 0
    )
    assert cx509.load_pem_x509_csr(out.read_bytes()).is_signature_valid


def test_subject_without_common_name_is_refused():
    with pytest.raises(CertificateError):
        parse_subject("O=No Name")


def test_chain_loads_seal_certificate_first_then_issuers(kit):
    bundle = load_certificate_chain(kit.pki.chain_pem())
    assert bundle.seal.dump() == kit.pki.seal_cert.dump()
    assert [c.subject.native["common_name"] for c in bundle.chain] == [
        "tachiai Local Test Issuing CA",
        "tachiai Local Test Root CA",
    ]


def test_chain_missing_its_issuing_ca_is_refused(kit):
    from asn1crypto import pem as asn1_pem

    seal_and_root = b"".join(
        bytes(asn1_pem.armor("CERTIFICATE", c.dump())) for c in (kit.pki.seal_cert, kit.pki.root_cert)
    )
    with pytest.raises(CertificateError) as caught:
        load_certificate_chain(seal_and_root)
    assert "Issuing CA" in caught.value.detail


def test_garbage_is_not_a_certificate():
    with pytest.raises(CertificateError):
        load_certificate_chain(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_certificate_for_another_key_is_refused(kit):
    with pytest.raises(CertificateError):
        require_matching_key(kit.pki.root_cert, kit.pki.seal_cert.public_key)
