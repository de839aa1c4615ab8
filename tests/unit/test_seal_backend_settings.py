"""The seal function's choice of key (TACHIAI_SEAL_BACKEND): a mistake in its settings is a
ConfigurationError naming the variable, found before any AWS call or HSM session."""

from __future__ import annotations

import pytest
from tachiai import names
from tachiai.config import settings_from
from tachiai.domain.errors import ConfigurationError
from tachiai.sealing.certificates import SealCertificateChain
from tachiai.services.sealer_factory import build_signer


@pytest.fixture(scope="module")
def chain() -> SealCertificateChain:
    """A self-signed P-256 certificate: what it is over does not matter before a signature."""
    import datetime

    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seal")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return SealCertificateChain(seal=asn1_x509.Certificate.load(der), chain=[])


def test_an_unknown_seal_backend_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings_from({names.ENV_SEAL_BACKEND: "cloudhsm"})  # the tenant config's word, not the runtime's

    assert raised.value.params["name"] == names.ENV_SEAL_BACKEND


def test_the_default_backend_is_kms_and_needs_the_key_id(chain: SealCertificateChain) -> None:
    settings = settings_from({})

    assert settings.seal_backend == "kms"
    with pytest.raises(ConfigurationError, match=names.ENV_SEAL_KEY_ID):
        build_signer(settings, chain)


@pytest.mark.parametrize(
    "missing",
    [
        names.ENV_PKCS11_LIBRARY,
        names.ENV_PKCS11_TOKEN_LABEL,
        names.ENV_PKCS11_KEY_LABEL,
        names.ENV_PKCS11_PIN_SECRET,
    ],
)
def test_the_pkcs11_backend_names_each_missing_setting(missing: str, chain: SealCertificateChain) -> None:
    environment = {
        names.ENV_SEAL_BACKEND: "pkcs11",
        names.ENV_PKCS11_LIBRARY: "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so",
        names.ENV_PKCS11_TOKEN_LABEL: "hsm1",
        names.ENV_PKCS11_KEY_LABEL: "tachiai-seal",
        names.ENV_PKCS11_PIN_SECRET: "tachiai/cloudhsm-pin",
    }
    del environment[missing]

    with pytest.raises(ConfigurationError, match=missing):
        build_signer(settings_from(environment), chain)
