"""The PKCS#11 (CloudHSM) signer against a throwaway SoftHSM2 token.

The keys are generated inside the token; a throwaway CA (outside it) issues a certificate over each
token key's public half, so the private keys never leave SoftHSM.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, NoReturn

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tachiai.domain.errors import (
    ConfigurationError,
    KeyServiceError,
    KeyServiceThrottled,
    SignatureMismatch,
)
from tachiai.sealing.pkcs11_signer import Pkcs11Config, open_pkcs11_signer

from tests.conftest import require_tool
from tests.fixtures.pdfs import simple_pdf

TOKEN_LABEL = "tachiai-test"
USER_PIN = "1234"
SO_PIN = "5678"
LIBRARY_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class SoftHsm:
    library_path: str
    ca_cert: asn1_x509.Certificate
    rsa_cert: asn1_x509.Certificate
    ec_cert: asn1_x509.Certificate
    foreign_ec_cert: asn1_x509.Certificate
    """Issued over an EC key that is NOT in the token."""

    def config(self, key_label: str, **overrides: Any) -> Pkcs11Config:
        values: dict[str, Any] = {
            "library_path": self.library_path,
            "token_label": TOKEN_LABEL,
            "key_label": key_label,
            "pin": SecretStr(USER_PIN),
        }
        return Pkcs11Config(**{**values, **overrides})


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    common_name: str,
    *,
    is_ca: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = {
        "digital_signature": not is_ca,
        "content_commitment": not is_ca,
        "key_encipherment": False,
        "data_encipherment": False,
        "key_agreement": False,
        "key_cert_sign": is_ca,
        "crl_sign": is_ca,
        "encipher_only": False,
        "decipher_only": False,
    }
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if is_ca else ca_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .sign(ca_key, hashes.SHA256())
    )


def _to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _generate_keys_in_token(library_path: str) -> tuple[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]:
    """RSA 2048 and EC P-256 key pairs generated in the token; their public halves for cryptography."""
    import pkcs11
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    token = pkcs11.lib(library_path).get_token(token_label=TOKEN_LABEL)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        rsa_public, _ = session.generate_keypair(pkcs11.KeyType.RSA, 2048, store=True, label="seal-rsa")
        # SoftHSM wants CKA_EC_PARAMS as the DER OID of a named curve (no explicit curve parameters).
        curve = session.create_domain_parameters(
            pkcs11.KeyType.EC,
            {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        ec_public, _ = curve.generate_keypair(store=True, label="seal-ec")
        # RSA: CKA_MODULUS / CKA_PUBLIC_EXPONENT; EC: CKA_EC_POINT is a DER OCTET STRING around the
        # uncompressed point, which encode_ec_public_key turns into a SubjectPublicKeyInfo.
        rsa_key = rsa.RSAPublicNumbers(
            int.from_bytes(rsa_public[pkcs11.Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(rsa_public[pkcs11.Attribute.MODULUS], "big"),
        ).public_key()
        ec_key = serialization.load_der_public_key(encode_ec_public_key(ec_public))
    assert isinstance(ec_key, ec.EllipticCurvePublicKey)
    return rsa_key, ec_key


def _fail_in_ci_else_skip(message: str) -> NoReturn:
    """Like :func:`require_tool` for what is not an executable."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    softhsm2_util = require_tool("softhsm2-util", "softhsm2")
    library_path = next((p for p in LIBRARY_CANDIDATES if Path(p).exists()), None)
    if library_path is None:
        _fail_in_ci_else_skip(
            f"libsofthsm2.so is not in any of {LIBRARY_CANDIDATES}: apt-get install -y softhsm2"
        )
    try:
        import pkcs11
    except ImportError:
        _fail_in_ci_else_skip("python-pkcs11 is not installed: pip install -e '.[local]'")

    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        # SoftHSM reads SOFTHSM2_CONF in C_Initialize: set it before the library is first initialized.
        patch.setenv("SOFTHSM2_CONF", str(conf))
        init_token = ["--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN]
        subprocess.run(
            [softhsm2_util, *init_token],
            check=True,
            capture_output=True,
        )
        rsa_public, ec_public = _generate_keys_in_token(library_path)

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _issue(ca_key, x509.Name([]), ca_key.public_key(), "tachiai test CA", is_ca=True)
        foreign_public = ec.generate_private_key(ec.SECP256R1()).public_key()
        yield SoftHsm(
            library_path=library_path,
            ca_cert=_to_asn1(ca_cert),
            rsa_cert=_to_asn1(_issue(ca_key, ca_cert.subject, rsa_public, "tachiai test seal (RSA)")),
            ec_cert=_to_asn1(_issue(ca_key, ca_cert.subject, ec_public, "tachiai test seal (EC)")),
            foreign_ec_cert=_to_asn1(_issue(ca_key, ca_cert.subject, foreign_public, "not in the token")),
        )
        # Forget this token directory: a later C_Initialize reads whatever SOFTHSM2_CONF says then.
        pkcs11.lib(library_path).finalize()


def _seal(signer: Signer) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(simple_pdf()))
    output = PdfSigner(PdfSignatureMetadata(field_name="Seal1"), signer=signer).sign_pdf(writer)
    return bytes(output.getvalue())


def _assert_trusted_seal(pdf: bytes, ca_cert: asn1_x509.Certificate) -> None:
    embedded = PdfFileReader(BytesIO(pdf)).embedded_signatures[0]
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[ca_cert]))
    assert status.intact
    assert status.valid
    assert status.trusted


def _user_can_log_in(softhsm: SoftHsm) -> bool:
    """Whether a fresh login works, i.e. no session of ours is still logged in to the token."""
    import pkcs11

    token = pkcs11.lib(softhsm.library_path).get_token(token_label=TOKEN_LABEL)
    try:
        token.open(user_pin=USER_PIN).close()
    except pkcs11.UserAlreadyLoggedIn:
        return False
    return True


@pytest.mark.tools
def test_seals_pdf_with_rsa_key_in_softhsm(softhsm: SoftHsm) -> None:
    with open_pkcs11_signer(softhsm.config("seal-rsa"), softhsm.rsa_cert, [softhsm.ca_cert]) as signer:
        sealed = _seal(signer)

    _assert_trusted_seal(sealed, softhsm.ca_cert)


@pytest.mark.tools
def test_seals_pdf_with_ec_key_in_softhsm(softhsm: SoftHsm) -> None:
    with open_pkcs11_signer(softhsm.config("seal-ec"), softhsm.ec_cert, [softhsm.ca_cert]) as signer:
        sealed = _seal(signer)

    _assert_trusted_seal(sealed, softhsm.ca_cert)


@pytest.mark.tools
def test_poppler_accepts_the_rsa_seal(softhsm: SoftHsm, tmp_path: Path) -> None:
    pdfsig = require_tool("pdfsig", "poppler-utils")
    with open_pkcs11_signer(softhsm.config("seal-rsa"), softhsm.rsa_cert, [softhsm.ca_cert]) as signer:
        sealed = tmp_path / "sealed.pdf"
        sealed.write_bytes(_seal(signer))

    result = subprocess.run([pdfsig, str(sealed)], capture_output=True, text=True, check=False)

    assert "Signature is Valid." in result.stdout, result.stdout + result.stderr


@pytest.mark.tools
def test_refuses_key_that_does_not_match_certificate(softhsm: SoftHsm) -> None:
    sealed: bytes | None = None
    with (
        pytest.raises(SignatureMismatch),
        open_pkcs11_signer(softhsm.config("seal-ec"), softhsm.foreign_ec_cert, [softhsm.ca_cert]) as signer,
    ):
        sealed = _seal(signer)

    assert sealed is None


@pytest.mark.tools
def test_refuses_key_of_another_type_than_the_certificate(softhsm: SoftHsm) -> None:
    with (
        pytest.raises(SignatureMismatch, match="RSA"),
        open_pkcs11_signer(softhsm.config("seal-rsa"), softhsm.ec_cert, [softhsm.ca_cert]),
    ):
        pytest.fail("opened a signer whose key type differs from the certificate's")


@pytest.mark.tools
def test_wrong_pin_is_a_key_service_error(softhsm: SoftHsm) -> None:
    config = softhsm.config("seal-rsa", pin=SecretStr("0000"))

    with (
        pytest.raises(KeyServiceError, match="refused the PIN"),
        open_pkcs11_signer(config, softhsm.rsa_cert),
    ):
        pytest.fail("opened a signer with a wrong PIN")


@pytest.mark.tools
def test_pin_never_appears_in_errors_or_logs(softhsm: SoftHsm, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = softhsm.config("seal-rsa", pin=SecretStr("9876"))

    with pytest.raises(KeyServiceError) as raised, open_pkcs11_signer(config, softhsm.rsa_cert):
        pass

    assert "9876" not in str(raised.value)
    assert "9876" not in repr(raised.value.to_dict())
    assert "9876" not in repr(config)
    assert "9876" not in caplog.text


@pytest.mark.tools
def test_missing_token_is_reported(softhsm: SoftHsm) -> None:
    config = softhsm.config("seal-rsa", token_label="no-such-token")

    with pytest.raises(KeyServiceError, match="no-such-token"), open_pkcs11_signer(config, softhsm.rsa_cert):
        pytest.fail("opened a signer on a missing token")


@pytest.mark.tools
def test_missing_key_is_reported(softhsm: SoftHsm) -> None:
    config = softhsm.config("no-such-key")

    with pytest.raises(KeyServiceError, match="no-such-key"), open_pkcs11_signer(config, softhsm.rsa_cert):
        pytest.fail("opened a signer without its key")


@pytest.mark.tools
def test_missing_library_is_reported(softhsm: SoftHsm, tmp_path: Path) -> None:
    config = softhsm.config("seal-rsa", library_path=str(tmp_path / "libcloudhsm_pkcs11.so"))

    with (
        pytest.raises(ConfigurationError, match=r"libcloudhsm_pkcs11\.so"),
        open_pkcs11_signer(config, softhsm.rsa_cert),
    ):
        pytest.fail("opened a signer without a PKCS#11 module")


@pytest.mark.tools
def test_closes_its_session_after_sealing(softhsm: SoftHsm) -> None:
    with open_pkcs11_signer(softhsm.config("seal-ec"), softhsm.ec_cert, [softhsm.ca_cert]) as signer:
        _seal(signer)

    assert _user_can_log_in(softhsm)


@pytest.mark.tools
def test_closes_its_session_when_sealing_fails(softhsm: SoftHsm) -> None:
    with (
        pytest.raises(SignatureMismatch),
        open_pkcs11_signer(softhsm.config("seal-ec"), softhsm.foreign_ec_cert) as signer,
    ):
        _seal(signer)

    assert _user_can_log_in(softhsm)


@pytest.mark.tools
def test_a_second_signer_waits_for_the_first_to_close(softhsm: SoftHsm) -> None:
    with (
        open_pkcs11_signer(softhsm.config("seal-rsa"), softhsm.rsa_cert),
        pytest.raises(KeyServiceThrottled, match="still open"),
        open_pkcs11_signer(softhsm.config("seal-ec"), softhsm.ec_cert, lock_timeout=0.05),
    ):
        pytest.fail("opened two signers on one PKCS#11 module at once")


@pytest.mark.tools
def test_signer_cannot_be_used_after_its_session_is_closed(softhsm: SoftHsm) -> None:
    with open_pkcs11_signer(softhsm.config("seal-rsa"), softhsm.rsa_cert) as signer:
        pass

    with pytest.raises(KeyServiceError, match="closed"):
        asyncio.run(signer.async_sign_raw(b"data", "sha256"))


def test_importing_the_module_does_not_import_pkcs11() -> None:
    code = "import sys, tachiai.sealing.pkcs11_signer; print('pkcs11' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_hsm_key_seals_through_the_sealing_engine_to_an_ltv_enabled_pdf(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    # Given the local test PKI issuing the seal certificate over the token's RSA key
    from tachiai.local.pki import LocalPki
    from tachiai.sealing.seal import Sealer
    from tachiai.sealing.timestamping import FailoverTimeStamper
    from tachiai.sealing.verify import verify_pdf

    from tests.fixtures.events import event

    with (
        LocalPki(tmp_path / "pki", softhsm.rsa_cert.public_key) as pki,
        open_pkcs11_signer(softhsm.config("seal-rsa"), pki.seal_cert, pki.seal_chain) as signer,
    ):
        sealer = Sealer(
            signer=signer, timestamper=FailoverTimeStamper([pki.tsa_url]), trust_roots=[pki.root_cert]
        )
        # When an event is sealed and the document finalized
        sealed = sealer.finalize(sealer.seal_event(simple_pdf(), event()))
        # Then every signature is intact, trusted and LTV-enabled
        report = verify_pdf(sealed, [pki.root_cert])
    assert report.ok
    assert report.ltv_complete
    assert all(s.trusted for s in report.signatures)


# --- the seal function's backend choice: TACHIAI_SEAL_BACKEND=pkcs11 (seal_backend "cloudhsm") -------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's SSM and Secrets Manager, with the clients tachiai caches forgotten before and after."""
    from moto import mock_aws
    from tachiai.adapters.aws import reset_clients

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    reset_clients()
    with mock_aws():
        yield
    reset_clients()


def _pkcs11_environment(library_path: str, key_label: str, tsa_url: str) -> dict[str, str]:
    """What the stack sets on the seal function with ``seal_backend: cloudhsm`` (no KMS key id)."""
    from tachiai import names

    return {
        names.ENV_SEAL_BACKEND: "pkcs11",
        names.ENV_PKCS11_LIBRARY: library_path,
        names.ENV_PKCS11_TOKEN_LABEL: TOKEN_LABEL,
        names.ENV_PKCS11_KEY_LABEL: key_label,
        names.ENV_PKCS11_PIN_SECRET: "tachiai/hsm-pin",
        names.ENV_SEAL_CHAIN_PARAMETER: "/tachiai/seal/certificate-chain",
        names.ENV_TRUST_ROOTS_PARAMETER: "/tachiai/seal/trust-roots",
        names.ENV_TSA_URLS: tsa_url,
    }


def _store_seal_configuration(chain_pem: bytes, roots_pem: bytes, pin: str | None) -> None:
    from tachiai.adapters.aws import secretsmanager_client, ssm_client

    ssm_client().put_parameter(
        Name="/tachiai/seal/certificate-chain", Value=chain_pem.decode(), Type="String"
    )
    ssm_client().put_parameter(Name="/tachiai/seal/trust-roots", Value=roots_pem.decode(), Type="String")
    if pin is not None:
        secretsmanager_client().create_secret(Name="tachiai/hsm-pin", SecretString=pin)


@pytest.mark.tools
def test_seal_backend_pkcs11_seals_with_the_token_key_and_never_asks_kms(
    softhsm: SoftHsm, aws: None, tmp_path: Path
) -> None:
    # Given the seal function's environment for an HSM key: no KMS key id at all, the chain over the
    # token's RSA key in SSM, and the PIN in Secrets Manager
    from asn1crypto import pem
    from tachiai.config import settings_from
    from tachiai.local.pki import LocalPki
    from tachiai.sealing.pkcs11_signer import Pkcs11SessionSigner
    from tachiai.sealing.verify import verify_pdf
    from tachiai.services.sealer_factory import build_sealer

    from tests.fixtures.events import event

    with LocalPki(tmp_path / "pki", softhsm.rsa_cert.public_key) as pki:
        _store_seal_configuration(pki.chain_pem(), pem.armor("CERTIFICATE", pki.root_cert.dump()), USER_PIN)
        settings = settings_from(_pkcs11_environment(softhsm.library_path, "seal-rsa", pki.tsa_url))
        # When the seal function builds its sealer
        sealer = build_sealer(settings)
        # Then its signer is the token's key, and an envelope seals and finalizes to a trusted LTV PDF
        assert isinstance(sealer.signer, Pkcs11SessionSigner)
        sealed = sealer.finalize(sealer.seal_event(simple_pdf(), event()))
        report = verify_pdf(sealed, [pki.root_cert])
    assert report.ok
    assert report.ltv_complete
    assert report.signatures
    assert all(s.trusted for s in report.signatures)


@pytest.mark.tools
def test_seal_backend_pkcs11_leaves_no_session_logged_in_between_seals(
    softhsm: SoftHsm, aws: None, tmp_path: Path
) -> None:
    # Given a sealer built for the token's EC key (certificate from the throwaway CA)
    from asn1crypto import pem
    from tachiai.config import settings_from
    from tachiai.services.sealer_factory import build_sealer

    chain = pem.armor("CERTIFICATE", softhsm.ec_cert.dump()) + pem.armor(
        "CERTIFICATE", softhsm.ca_cert.dump()
    )
    _store_seal_configuration(chain, pem.armor("CERTIFICATE", softhsm.ca_cert.dump()), USER_PIN)
    sealer = build_sealer(
        settings_from(_pkcs11_environment(softhsm.library_path, "seal-ec", "https://tsa.invalid/"))
    )
    # When it signs a PDF (pyhanko alone: no TSA needed for what is checked here)
    sealed = _seal(sealer.signer)
    # Then the seal is trusted, and the signature's session is closed again (a frozen Lambda keeps none)
    _assert_trusted_seal(sealed, softhsm.ca_cert)
    assert _user_can_log_in(softhsm)


@pytest.mark.tools
def test_seal_backend_pkcs11_with_a_wrong_pin_fails_the_seal_as_a_key_service_error(
    softhsm: SoftHsm, aws: None
) -> None:
    from asn1crypto import pem
    from tachiai.config import settings_from
    from tachiai.services.sealer_factory import build_sealer

    chain = pem.armor("CERTIFICATE", softhsm.rsa_cert.dump()) + pem.armor(
        "CERTIFICATE", softhsm.ca_cert.dump()
    )
    _store_seal_configuration(chain, pem.armor("CERTIFICATE", softhsm.ca_cert.dump()), "0000")
    sealer = build_sealer(
        settings_from(_pkcs11_environment(softhsm.library_path, "seal-rsa", "https://tsa.invalid/"))
    )

    with pytest.raises(KeyServiceError, match="refused the PIN"):
        _seal(sealer.signer)


def test_seal_backend_pkcs11_without_its_pin_secret_is_a_configuration_error_naming_the_secret(
    aws: None,
) -> None:
    # Given a seal certificate in SSM but no PIN secret (no token needed: the PIN is read first)
    from asn1crypto import pem
    from tachiai.config import settings_from
    from tachiai.services.sealer_factory import build_sealer

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue(ca_key, x509.Name([]), ca_key.public_key(), "tachiai test CA", is_ca=True)
    seal = _issue(ca_key, ca.subject, ec.generate_private_key(ec.SECP256R1()).public_key(), "seal")
    roots = pem.armor("CERTIFICATE", _to_asn1(ca).dump())
    _store_seal_configuration(pem.armor("CERTIFICATE", _to_asn1(seal).dump()) + roots, roots, None)
    settings = settings_from(_pkcs11_environment("/no/such/libpkcs11.so", "seal", "https://tsa.invalid/"))

    # When the sealer is built, Then the missing secret is named
    with pytest.raises(ConfigurationError, match="tachiai/hsm-pin: ResourceNotFoundException"):
        build_sealer(settings)
