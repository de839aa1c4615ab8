"""A freshly deployed stack can seal: a self-issued certificate over the KMS key, signed by KMS itself.

Runs inside the module's sealing kit (moto ``mock_aws`` for KMS and SSM, the local test PKI's TSA).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from asn1crypto import pem
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from tachiai.adapters.aws import reset_clients
from tachiai.adapters.kms import KmsSigner, kms_public_key
from tachiai.cli import main
from tachiai.config import Settings
from tachiai.domain.errors import SealingError, SignatureMismatch
from tachiai.sealing.certificates import load_certificate_chain
from tachiai.sealing.seal import Sealer
from tachiai.sealing.self_issued import (
    ensure_seal_certificate,
    self_issued_certificate,
    self_issued_chain_pem,
)
from tachiai.sealing.verify import verify_pdf
from tachiai.services.sealer_factory import build_sealer

from tests.fixtures.events import event
from tests.fixtures.pdfs import simple_pdf

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "functions" / "certificate" / "handler.py"
SUBJECT = "CN=Example Seal,O=株式会社例,C=JP"


@pytest.fixture(autouse=True)
def _fresh_clients(kit) -> Iterator[None]:
    # The cached boto3 clients of tachiai.adapters.aws must be made inside this module's mock.
    reset_clients()
    yield
    reset_clients()


@pytest.fixture(scope="module")
def rsa_key(kit) -> str:
    return _new_key("RSA_2048")


@pytest.fixture(scope="module")
def ec_key(kit) -> str:
    return _new_key("ECC_NIST_P256")


@pytest.fixture
def parameters() -> tuple[str, str]:
    prefix = f"/tachiai-test/{uuid.uuid4().hex}"
    return f"{prefix}/seal-chain", f"{prefix}/trust-roots"


def _new_key(spec: str) -> str:
    return str(boto3.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"])


def _key(request: pytest.FixtureRequest, spec: str) -> str:
    return str(request.getfixturevalue("rsa_key" if spec == "RSA_2048" else "ec_key"))


def _parameter(name: str) -> dict[str, Any]:
    return dict(boto3.client("ssm").get_parameter(Name=name)["Parameter"])


def _certificates(pem_text: str) -> list[cx509.Certificate]:
    return cx509.load_pem_x509_certificates(pem_text.encode())


def _handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("certificate_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _event(request_type: str, key_id: str, parameters: tuple[str, str], **extra: str) -> dict[str, Any]:
    chain, roots = parameters
    return {
        "RequestType": request_type,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:ap-northeast-1:123456789012:function:provider",
            "KeyId": key_id,
            "ChainParameter": chain,
            "RootsParameter": roots,
            "Subject": SUBJECT,
            **extra,
        },
    }


# --- the certificate --------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_certificate_is_over_the_kms_key_and_its_signature_verifies(request, spec):
    # Given a KMS signing key
    key_id = _key(request, spec)
    kms = boto3.client("kms")
    # When a certificate is self-issued for it
    certificate = cx509.load_der_x509_certificate(self_issued_certificate(kms, key_id, SUBJECT).dump())
    # Then it carries the key's public half and KMS's signature over it verifies with that key
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == kms_public_key(kms, key_id).dump()
    certificate.verify_directly_issued_by(certificate)
    assert certificate.issuer == certificate.subject
    assert certificate.subject.rfc4514_string() == "CN=Example Seal,O=株式会社例,C=JP"
    assert certificate.version == cx509.Version.v3
    assert 0 < certificate.serial_number < 2**159


def test_certificate_is_a_sealing_end_entity_that_is_its_own_trust_anchor(rsa_key):
    now = datetime(2026, 11, 22, 1, 15, 3, tzinfo=UTC)
    certificate = cx509.load_der_x509_certificate(
        self_issued_certificate(boto3.client("kms"), rsa_key, SUBJECT, now=now).dump()
    )
    extensions = certificate.extensions
    basic = extensions.get_extension_for_class(cx509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    usage = extensions.get_extension_for_class(cx509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_cert_sign
    ski = extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value
    aki = extensions.get_extension_for_class(cx509.AuthorityKeyIdentifier).value
    assert ski == cx509.SubjectKeyIdentifier.from_public_key(certificate.public_key())  # RFC 5280 method 1
    assert aki.key_identifier == ski.digest
    with pytest.raises(cx509.ExtensionNotFound):
        extensions.get_extension_for_class(cx509.ExtendedKeyUsage)
    assert certificate.not_valid_before_utc == now - timedelta(minutes=5)
    assert certificate.not_valid_after_utc == datetime(2036, 11, 22, 1, 10, 3, tzinfo=UTC)


def test_two_certificates_for_the_same_key_have_different_serials(rsa_key):
    kms = boto3.client("kms")
    first = self_issued_certificate(kms, rsa_key, SUBJECT)
    second = self_issued_certificate(kms, rsa_key, SUBJECT)
    assert first.serial_number != second.serial_number


class _SignsWithAnotherKey:
    """KMS answering GetPublicKey for one key and Sign with another (a misconfigured key service)."""

    def __init__(self, public_key_id: str, signing_key_id: str) -> None:
        self._kms = boto3.client("kms")
        self._public, self._signing = public_key_id, signing_key_id

    def get_public_key(self, **_: Any) -> Any:
        return self._kms.get_public_key(KeyId=self._public)

    def sign(self, **kwargs: Any) -> Any:
        return self._kms.sign(**{**kwargs, "KeyId": self._signing})


def test_a_kms_signature_that_does_not_verify_never_becomes_a_certificate(rsa_key):
    kms = _SignsWithAnotherKey(rsa_key, _new_key("RSA_2048"))
    with pytest.raises(SignatureMismatch):
        self_issued_certificate(kms, rsa_key, SUBJECT)  # type: ignore[arg-type]


# --- sealing with it ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_sealer_with_the_self_issued_certificate_seals_a_trusted_pdf(kit, request, spec):
    # Given a sealer whose chain is the self-issued certificate and whose roots are it and the TSA's root
    key_id = _key(request, spec)
    kms = boto3.client("kms")
    certificate = self_issued_certificate(kms, key_id, SUBJECT)
    sealer = Sealer(
        signer=KmsSigner(kms, key_id, certificate, []),
        timestamper=kit.sealer.timestamper,
        trust_roots=[certificate, kit.pki.root_cert],
    )
    # When a PDF is sealed
    sealed = sealer.seal_event(simple_pdf(), event())
    # Then trusting only the certificate, the seal is intact, valid and trusted, and timestamped
    report = verify_pdf(sealed, [certificate])
    (seal,) = report.signatures
    assert seal.intact and seal.valid and seal.trusted
    # And the file is valid once the TSA's root is trusted too (its timestamp does not chain to the seal)
    assert not report.ok and verify_pdf(sealed, [certificate, kit.pki.root_cert]).ok
    assert seal.signer == "Example Seal, 株式会社例"
    assert seal.timestamp_authority == "tachiai Local Test Time Stamping Authority, tachiai local test PKI"


def test_the_tsa_root_must_be_trusted_beside_the_self_issued_certificate(kit, rsa_key):
    # Given roots holding the self-issued certificate alone
    kms = boto3.client("kms")
    certificate = self_issued_certificate(kms, rsa_key, SUBJECT)
    sealer = Sealer(
        signer=KmsSigner(kms, rsa_key, certificate, []),
        timestamper=kit.sealer.timestamper,
        trust_roots=[certificate],
    )
    # Then the seal's timestamp cannot be trusted, so no seal is returned
    with pytest.raises(SealingError):
        sealer.seal_event(simple_pdf(), event())


def test_a_fresh_stack_seals_from_the_parameters_the_custom_resource_wrote(kit, rsa_key, parameters):
    # Given the custom resource ran on first deploy, with the TSA's root
    root_pem = bytes(pem.armor("CERTIFICATE", kit.pki.root_cert.dump())).decode()
    result = _handler().handler(_event("Create", rsa_key, parameters, TsaRoots=root_pem), None)
    assert result["Data"] == {"Issued": "true"}
    # When the seal function builds its sealer from the environment CDK gives it
    chain, roots = parameters
    settings = Settings(
        seal_key_id=rsa_key,
        seal_chain_parameter=chain,
        trust_roots_parameter=roots,
        tsa_urls=(kit.pki.tsa_url,),
    )
    sealed = build_sealer(settings).seal_event(simple_pdf(), event())
    # Then the seal verifies against the certificate in the chain parameter
    certificate = load_certificate_chain(_parameter(chain)["Value"].encode()).seal
    (seal,) = verify_pdf(sealed, [certificate]).signatures
    assert seal.intact and seal.valid and seal.trusted


# --- ensure_seal_certificate ----------------------------------------------------------------------


def test_ensure_issues_a_certificate_and_writes_both_parameters(kit, rsa_key, parameters):
    chain, roots = parameters
    kms, ssm = boto3.client("kms"), boto3.client("ssm")
    assert ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, SUBJECT, extra_roots=[kit.pki.root_cert])
    (certificate,) = _certificates(_parameter(chain)["Value"])
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == kms_public_key(kms, rsa_key).dump()
    trusted = _certificates(_parameter(roots)["Value"])
    assert trusted[0] == certificate
    assert [c.subject.rfc4514_string() for c in trusted[1:]] == [
        "CN=tachiai Local Test Root CA,O=tachiai local test PKI,C=JP"
    ]
    assert _parameter(chain)["Type"] == "String"


def test_ensure_is_idempotent(rsa_key, parameters):
    chain, roots = parameters
    kms, ssm = boto3.client("kms"), boto3.client("ssm")
    assert ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, SUBJECT) is True
    first = _parameter(chain)
    assert ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, SUBJECT) is False
    assert _parameter(chain)["Version"] == first["Version"]
    assert _parameter(chain)["Value"] == first["Value"]


def test_ensure_never_replaces_an_imported_ca_chain_over_the_key(kit, parameters):
    # Given the tenant imported a CA-issued chain over the seal key (the local PKI's)
    chain, roots = parameters
    ssm = boto3.client("ssm")
    imported = kit.pki.chain_pem().decode()
    ssm.put_parameter(Name=chain, Value=imported, Type="String")
    ssm.put_parameter(Name=roots, Value=self_issued_chain_pem(kit.pki.root_cert), Type="String")
    # When the custom resource runs again (stack update), even with another subject
    issued = ensure_seal_certificate(boto3.client("kms"), ssm, kit.key_id, chain, roots, "CN=Something Else")
    # Then both parameters are untouched
    assert issued is False
    assert _parameter(chain)["Value"] == imported
    assert _parameter(roots)["Version"] == 1


def test_ensure_replaces_a_chain_for_another_key(kit, rsa_key, parameters):
    chain, roots = parameters
    boto3.client("ssm").put_parameter(Name=chain, Value=kit.pki.chain_pem().decode(), Type="String")
    assert ensure_seal_certificate(boto3.client("kms"), boto3.client("ssm"), rsa_key, chain, roots, SUBJECT)
    (certificate,) = _certificates(_parameter(chain)["Value"])
    assert certificate.issuer == certificate.subject


def test_ensure_replaces_an_unreadable_value(rsa_key, parameters):
    chain, roots = parameters
    boto3.client("ssm").put_parameter(Name=chain, Value="placeholder", Type="String")
    assert ensure_seal_certificate(boto3.client("kms"), boto3.client("ssm"), rsa_key, chain, roots, SUBJECT)
    assert len(_certificates(_parameter(chain)["Value"])) == 1


def test_ensure_reissues_its_own_certificate_when_the_subject_changes(rsa_key, parameters):
    chain, roots = parameters
    kms, ssm = boto3.client("kms"), boto3.client("ssm")
    ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, SUBJECT)
    assert ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, "CN=Renamed Seal,C=JP") is True
    (certificate,) = _certificates(_parameter(chain)["Value"])
    assert certificate.subject.rfc4514_string() == "CN=Renamed Seal,C=JP"


def test_ensure_reissues_its_own_certificate_once_expired(rsa_key, parameters):
    chain, roots = parameters
    kms, ssm = boto3.client("kms"), boto3.client("ssm")
    long_ago = datetime.now(UTC) - timedelta(days=11 * 366)
    ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, SUBJECT, now=long_ago)
    assert ensure_seal_certificate(kms, ssm, rsa_key, chain, roots, SUBJECT) is True
    (certificate,) = _certificates(_parameter(chain)["Value"])
    assert certificate.not_valid_after_utc > datetime.now(UTC)


# --- the custom resource handler ------------------------------------------------------------------


def test_handler_create_issues_and_update_keeps(rsa_key, parameters):
    handler = _handler().handler
    created = handler(_event("Create", rsa_key, parameters), None)
    assert created == {
        "PhysicalResourceId": f"tachiai-seal-certificate:{parameters[0]}",
        "Data": {"Issued": "true"},
    }
    value = _parameter(parameters[0])["Value"]
    updated = handler(
        {**_event("Update", rsa_key, parameters), "PhysicalResourceId": created["PhysicalResourceId"]}, None
    )
    assert updated == {**created, "Data": {"Issued": "false"}}
    assert _parameter(parameters[0])["Value"] == value


def test_handler_delete_keeps_the_parameters(rsa_key, parameters):
    handler = _handler().handler
    created = handler(_event("Create", rsa_key, parameters), None)
    deleted = handler(
        {**_event("Delete", rsa_key, parameters), "PhysicalResourceId": created["PhysicalResourceId"]}, None
    )
    assert deleted["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert _parameter(parameters[0])["Version"] == 1 and _parameter(parameters[1])["Version"] == 1


def test_handler_delete_never_fails_even_without_properties():
    # A Create that failed is rolled back with a Delete: it must not fail in turn.
    result = _handler().handler({"RequestType": "Delete", "PhysicalResourceId": "x"}, None)
    assert result["PhysicalResourceId"] == "x"


def test_handler_refuses_a_create_without_a_key(parameters):
    from tachiai.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        _handler().handler(_event("Create", "", parameters), None)
    assert caught.value.params["name"] == "KeyId"


def test_handler_does_not_load_pyhanko():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('h', {str(HANDLER)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyhanko', 'pyhanko_certvalidator', 'pikepdf'}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


# --- tachiai keys self-issue --------------------------------------------------------------------


def test_self_issue_command_writes_the_file_and_both_parameters(kit, rsa_key, parameters, tmp_path, capsys):
    chain, roots = parameters
    out = tmp_path / "seal.pem"
    tsa_root = tmp_path / "tsa-root.pem"
    tsa_root.write_text(self_issued_chain_pem(kit.pki.root_cert))
    args = ["keys", "self-issue", "--key-id", rsa_key, "--subject", SUBJECT]
    args += [
        "--chain-parameter",
        chain,
        "--roots-parameter",
        roots,
        "--tsa-root",
        str(tsa_root),
        "-o",
        str(out),
    ]
    assert main(args) == 0
    (certificate,) = _certificates(out.read_text())
    certificate.verify_directly_issued_by(certificate)
    assert _certificates(_parameter(chain)["Value"]) == [certificate]
    assert len(_certificates(_parameter(roots)["Value"])) == 2
    printed = capsys.readouterr().out
    assert "openssl x509" in printed and "verify SEALED.pdf --trust" in printed


def test_self_issue_command_keeps_a_chain_over_the_key_unless_forced(rsa_key, parameters, capsys):
    chain, roots = parameters
    args = ["keys", "self-issue", "--key-id", rsa_key, "--subject", SUBJECT]
    args += ["--chain-parameter", chain, "--roots-parameter", roots]
    assert main(args) == 0
    first = _parameter(chain)["Value"]
    assert main(args) == 0
    assert "kept:" in capsys.readouterr().out
    assert _parameter(chain)["Value"] == first
    assert main([*args, "--force"]) == 0
    assert _parameter(chain)["Value"] != first


def test_self_issue_command_needs_both_parameters(rsa_key, parameters, capsys):
    code = main(["keys", "self-issue", "--key-id", rsa_key, "--subject", SUBJECT, "--chain-parameter", "/x"])
    assert code == 2
    assert "--roots-parameter" in capsys.readouterr().err


def test_self_issue_command_reports_a_bad_subject_in_one_line(rsa_key, tmp_path, capsys):
    code = main(
        ["keys", "self-issue", "--key-id", rsa_key, "--subject", "O=No Name", "-o", str(tmp_path / "x")]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("error [certificate_error]")
