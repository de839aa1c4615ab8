"""The production :class:`Sealer`: the KMS key, its certificate chain and trust roots from SSM, the TSAs.

The roots a fresh seal must chain to are the trust-roots parameter (the self-issued seal certificate,
or the tenant's CA) **plus the public roots of the Mozilla bundle** (``certifi``, in the layer through
``requests``): a timestamp from a public TSA (DigiCert, Sectigo — the defaults) then validates with no
setup, as it does in Acrobat. A TSA under a private root needs its root in the parameter.

An accredited TSA's credentials are read from Secrets Manager when the sealer is built, that is once
per container (:attr:`tachiai.services.context.Services.sealer` is cached): a rotated secret reaches
the seal function at its next cold start.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from asn1crypto import x509

from tachiai import names
from tachiai.adapters.aws import kms_client, secretsmanager_client, ssm_client
from tachiai.adapters.kms import KmsSigner, kms_public_key
from tachiai.adapters.secrets import read_tsa_secret
from tachiai.adapters.ssm import read_parameter
from tachiai.config import Settings
from tachiai.domain.errors import CertificateError, ConfigurationError
from tachiai.sealing.certificates import (
    SealCertificateChain,
    load_certificate_chain,
    load_certificates,
    require_matching_key,
)
from tachiai.sealing.seal import Sealer
from tachiai.sealing.timestamping import FailoverTimeStamper, tsa_credentials

if TYPE_CHECKING:
    from pyhanko.sign.signers.pdf_cms import Signer


def build_sealer(settings: Settings) -> Sealer:
    """:raises ConfigurationError: a setting or parameter is missing or unusable.
    :raises CertificateError: the certificate is not over the KMS key, or its chain is incomplete.
    :raises KeyServiceThrottled: (``pkcs11``) Secrets Manager could not answer for the PIN now."""
    timestamper = build_timestamper(settings)
    chain = load_certificate_chain(
        read_parameter(ssm_client(), settings.require("seal_chain_parameter")).encode()
    )
    signer = build_signer(settings, chain)
    roots_parameter = settings.require("trust_roots_parameter")
    try:
        roots = load_certificates(read_parameter(ssm_client(), roots_parameter).encode())
    except CertificateError as e:
        raise ConfigurationError(
            f"trust roots parameter {roots_parameter}: {e.detail}", name="TACHIAI_TRUST_ROOTS_PARAMETER"
        ) from e
    return Sealer(
        signer=signer,
        timestamper=timestamper,
        trust_roots=[*roots, *public_roots()],
        time_zone=settings.zone,
    )


def build_timestamper(settings: Settings) -> FailoverTimeStamper:
    """The TSAs in order, each that needs credentials with those of its secret.

    :raises ConfigurationError: no TSA URL, a secret for a URL not in the list, or a secret that is
        missing, unreadable or not TSA credentials (the message names the secret, never its value).
    :raises TimestampUnavailable: Secrets Manager could not answer now (retried like a silent TSA).
    """
    if not settings.tsa_urls:
        raise ConfigurationError("no TSA URL", name=names.ENV_TSA_URLS)
    secrets = dict(settings.tsa_auth_secrets)
    unknown = sorted(set(secrets) - set(settings.tsa_urls))
    if unknown:
        raise ConfigurationError(
            f"{names.ENV_TSA_AUTH_SECRETS} names {unknown}, not in {names.ENV_TSA_URLS}",
            name=names.ENV_TSA_AUTH_SECRETS,
        )
    credentials = {
        url: tsa_credentials(read_tsa_secret(secretsmanager_client(), name), secret_name=name)
        for url, name in secrets.items()
    }
    return FailoverTimeStamper(list(settings.tsa_urls), credentials=credentials)


def build_signer(settings: Settings, chain: SealCertificateChain) -> Signer:
    """The seal key as a pyhanko signer: the KMS key (``seal_backend`` ``kms``, the default) or the key
    in a PKCS#11 token (``pkcs11``: AWS CloudHSM, whose asymmetric keys KMS cannot hold).

    :raises ConfigurationError: a setting of the chosen backend is missing, or the PIN's secret is
        missing or unreadable.
    :raises CertificateError: (``kms``) the certificate is not over the KMS key.
    :raises KeyServiceError: (``kms``) KMS failed; (``pkcs11``) ``KeyServiceThrottled`` when Secrets
        Manager could not answer for the PIN now.
    """
    if settings.seal_backend == "pkcs11":
        from tachiai.adapters.secrets import read_pin
        from tachiai.sealing.pkcs11_signer import Pkcs11Config, Pkcs11SessionSigner

        # Checked here, not at the first seal: a missing setting is a deploy mistake, not an HSM failure;
        # every setting before the first AWS call.
        library, token, key = (
            settings.require(f"pkcs11_{name}") for name in ("library", "token_label", "key_label")
        )
        pin_secret = settings.require("pkcs11_pin_secret")
        config = Pkcs11Config(
            library_path=library,
            token_label=token,
            key_label=key,
            pin=read_pin(secretsmanager_client(), pin_secret),
        )
        # The token's key is checked against the certificate at every signature (a public key object
        # is not guaranteed to be on the token), so a chain over another key fails the first seal.
        return Pkcs11SessionSigner(config, chain.seal, chain.chain)
    key_id = settings.require("seal_key_id")
    client = kms_client()
    require_matching_key(chain.seal, kms_public_key(client, key_id))
    return KmsSigner(client, key_id, chain.seal, chain.chain)


@functools.cache
def public_roots() -> tuple[x509.Certificate, ...]:
    """The Mozilla root bundle shipped with ``certifi`` (empty if it is not installed)."""
    try:
        import certifi
    except ImportError:
        return ()
    with open(certifi.where(), "rb") as bundle:
        return tuple(load_certificates(bundle.read()))
