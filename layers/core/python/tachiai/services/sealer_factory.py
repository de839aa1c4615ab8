"""The production :class:`Sealer`: the KMS key, its certificate chain and trust roots from SSM, the TSAs.

The roots a fresh seal must chain to are the trust-roots parameter (the self-issued seal certificate,
or the tenant's CA) **plus the public roots of the Mozilla bundle** (``certifi``, in the layer through
``requests``): a timestamp from a public TSA (DigiCert, Sectigo — the defaults) then validates with no
setup, as it does in Acrobat. A TSA under a private root needs its root in the parameter.
"""

from __future__ import annotations

import functools

from asn1crypto import x509

from tachiai.adapters.aws import kms_client, ssm_client
from tachiai.adapters.kms import KmsSigner, kms_public_key
from tachiai.adapters.ssm import read_parameter
from tachiai.config import Settings
from tachiai.domain.errors import CertificateError, ConfigurationError
from tachiai.sealing.certificates import load_certificate_chain, load_certificates, require_matching_key
from tachiai.sealing.seal import Sealer
from tachiai.sealing.timestamping import FailoverTimeStamper


def build_sealer(settings: Settings) -> Sealer:
    """:raises ConfigurationError: a setting or parameter is missing or unusable.
    :raises CertificateError: the certificate is not over the KMS key, or its chain is incomplete."""
    key_id = settings.require("seal_key_id")
    if not settings.tsa_urls:
        raise ConfigurationError("no TSA URL", name="TACHIAI_TSA_URLS")
    client = kms_client()
    chain = load_certificate_chain(
        read_parameter(ssm_client(), settings.require("seal_chain_parameter")).encode()
    )
    require_matching_key(chain.seal, kms_public_key(client, key_id))
    roots_parameter = settings.require("trust_roots_parameter")
    try:
        roots = load_certificates(read_parameter(ssm_client(), roots_parameter).encode())
    except CertificateError as e:
        raise ConfigurationError(
            f"trust roots parameter {roots_parameter}: {e.detail}", name="TACHIAI_TRUST_ROOTS_PARAMETER"
        ) from e
    return Sealer(
        signer=KmsSigner(client, key_id, chain.seal, chain.chain),
        timestamper=FailoverTimeStamper(list(settings.tsa_urls)),
        trust_roots=[*roots, *public_roots()],
        time_zone=settings.zone,
    )


@functools.cache
def public_roots() -> tuple[x509.Certificate, ...]:
    """The Mozilla root bundle shipped with ``certifi`` (empty if it is not installed)."""
    try:
        import certifi
    except ImportError:
        return ()
    with open(certifi.where(), "rb") as bundle:
        return tuple(load_certificates(bundle.read()))
