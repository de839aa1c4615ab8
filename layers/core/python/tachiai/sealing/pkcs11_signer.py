"""The seal key in a PKCS#11 token (AWS CloudHSM, or SoftHSM2 in tests): a pyhanko signer built on it.

:func:`open_pkcs11_signer` loads the PKCS#11 module, logs in to the token, finds the private key and
yields a pyhanko :class:`~pyhanko.sign.signers.pdf_cms.Signer`; the session is closed when the block
ends, whatever happens inside it. The seal certificate normally comes from tachiai's configuration
(PEM), not from the token.

* RSA keys sign with ``CKM_SHA256_RSA_PKCS`` (PKCS#1 v1.5, the token hashes).
* EC P-256 keys sign with ``CKM_ECDSA`` over a SHA-256 digest computed here, because not every token
  offers ``CKM_ECDSA_SHA256`` (Debian's SoftHSM 2.6 does not; CloudHSM has both); the token's raw
  ``r || s`` is DER-encoded for CMS.
* Every raw signature is verified against the seal certificate before pyhanko embeds it
  (:func:`~tachiai.sealing.signature_check.verify_raw_signature`): a key that does not match the
  certificate raises :class:`SignatureMismatch` and no seal is produced.

PKCS#11 login state belongs to the whole process (every session of a token shares it, and closing a
logged-in session logs all of them out), so only one signer per PKCS#11 module is open at a time in a
process; another :func:`open_pkcs11_signer` waits for it (``lock_timeout`` seconds at most).

``python-pkcs11`` is optional (only CloudHSM deployments need it): it is imported when a signer is
opened, never when this module is imported.

The seal function does not hold a session open between invocations: :class:`Pkcs11SessionSigner` is
the long-lived pyhanko signer of :class:`~tachiai.sealing.seal.Sealer`, and opens, logs in, signs and
closes for every signature. A frozen Lambda sandbox keeps no connection to the HSMs alive, and a
session left open would hold the process-wide login (above) across invocations; one login per seal
costs a round trip to the cluster, small next to the TSA and OCSP requests of the same seal.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from asn1crypto import algos, x509
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tachiai.domain.errors import (
    CertificateError,
    ConfigurationError,
    KeyServiceError,
    KeyServiceThrottled,
    SignatureMismatch,
)
from tachiai.sealing.signature_check import seal_key_algorithm, verify_raw_signature

if TYPE_CHECKING:
    from types import ModuleType

    from pyhanko.sign.pkcs11 import PKCS11Signer

logger = logging.getLogger(__name__)

# Everything python-pkcs11 or pyhanko's PKCS#11 glue raises that is not a PKCS11Error (which is a
# RuntimeError) — translated too, so no library or builtin exception leaves this module.
_LIBRARY_ERRORS: tuple[type[Exception], ...] = (
    RuntimeError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    SigningError,
)

# certificate key algorithm -> (CMS signature mechanism, hash locally and use the raw mechanism)
_MECHANISMS: dict[str, tuple[str, bool]] = {
    "rsa": ("sha256_rsa", False),
    "ec": ("sha256_ecdsa", True),
}

_library_locks: dict[str, threading.Lock] = {}
_library_locks_guard = threading.Lock()


class Pkcs11Config(BaseModel):
    """Where the seal key lives in a PKCS#11 token."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    library_path: str = Field(min_length=1)
    """The PKCS#11 module: ``/opt/cloudhsm/lib/libcloudhsm_pkcs11.so`` for CloudHSM,
    ``/usr/lib/softhsm/libsofthsm2.so`` for SoftHSM2."""
    token_label: str = Field(min_length=1)
    """Label of the token holding the key (CloudHSM Client SDK 5 names its token ``hsm1``)."""
    key_label: str = Field(min_length=1)
    """``CKA_LABEL`` of the seal's private key; exactly one signing private key must carry it."""
    pin: SecretStr
    """The user PIN; CloudHSM takes ``"<crypto user>:<password>"``. Never logged."""
    cert_label: str | None = None
    """``CKA_LABEL`` of the seal certificate on the token, used only when no certificate is given
    to :func:`open_pkcs11_signer` (tachiai normally configures the certificate as PEM)."""


@contextmanager
def open_pkcs11_signer(
    config: Pkcs11Config,
    signing_cert: x509.Certificate | None,
    chain: Sequence[x509.Certificate] = (),
    *,
    lock_timeout: float = 60.0,
) -> Iterator[Signer]:
    """Open a session on the token and yield a pyhanko signer using the seal key; close it afterwards.

    :param signing_cert: the seal certificate; ``None`` reads it from the token by ``config.cert_label``.
    :param chain: the certificates between the seal certificate and the root, embedded in every seal.
    :param lock_timeout: how long to wait for another signer on the same PKCS#11 module in this process.
    :raises ConfigurationError: python-pkcs11 is not installed, the module cannot be loaded, no
        certificate is given or configured, or the certificate's key is not RSA or EC P-256.
    :raises KeyServiceThrottled: another signer on the same module stayed open for ``lock_timeout``.
    :raises KeyServiceError: the token is not found, refuses the PIN, holds no (or several) signing
        keys labelled ``config.key_label``, or fails otherwise.
    :raises SignatureMismatch: the token's key is of another type than the certificate's.

    Signing with the yielded signer raises :class:`KeyServiceError` when the token fails and
    :class:`SignatureMismatch` when its signature does not verify against the certificate.
    """
    if signing_cert is None and config.cert_label is None:
        raise ConfigurationError(
            "no seal certificate given and no cert_label configured", name="PKCS#11 seal certificate"
        )
    if signing_cert is not None:
        _mechanism_for(signing_cert)  # refuse an unsupported key before touching the token
    pkcs11 = _import_pkcs11()
    lock = _library_lock(config.library_path)
    if not lock.acquire(timeout=lock_timeout):
        raise KeyServiceThrottled(f"another PKCS#11 signer on {config.library_path} is still open")
    try:
        lib = _load_library(pkcs11, config.library_path)
        session = _log_in(pkcs11, lib, config)
        signer = None
        try:
            signer = _build_signer(pkcs11, session, config, signing_cert, chain)
            logger.info(
                "PKCS#11 session opened on token %r with key %r", config.token_label, config.key_label
            )
            yield signer
        finally:
            if signer is not None:
                signer.closed = True
            _close_session(lib, session)
    finally:
        lock.release()


def _import_pkcs11() -> ModuleType:
    try:
        import pkcs11
    except ImportError as e:
        raise ConfigurationError(
            "python-pkcs11 is not installed (pip install python-pkcs11)", name="PKCS#11 support"
        ) from e
    return pkcs11


def _library_lock(library_path: str) -> threading.Lock:
    with _library_locks_guard:
        return _library_locks.setdefault(library_path, threading.Lock())


def _load_library(pkcs11: ModuleType, library_path: str) -> Any:
    try:
        return pkcs11.lib(library_path)
    except pkcs11.PKCS11Error as e:
        if type(e) is pkcs11.PKCS11Error:
            # python-pkcs11 raises the bare base class only when dlopen/dlsym fail: a wrong path, not a
            # PKCS#11 module, or a missing dependency of it. The message names the path and the reason.
            raise ConfigurationError(f"cannot load PKCS#11 module: {e}", name="PKCS#11 library_path") from e
        raise KeyServiceError(f"PKCS#11 C_Initialize failed: {type(e).__name__}") from e
    except _LIBRARY_ERRORS as e:
        raise KeyServiceError(f"loading PKCS#11 module {library_path}: {type(e).__name__}") from e


def _log_in(pkcs11: ModuleType, lib: Any, config: Pkcs11Config) -> Any:
    try:
        token = lib.get_token(token_label=config.token_label)
    except pkcs11.NoSuchToken as e:
        raise KeyServiceError(f"no PKCS#11 token labelled {config.token_label!r}") from e
    except pkcs11.MultipleTokensReturned as e:
        raise KeyServiceError(f"more than one PKCS#11 token labelled {config.token_label!r}") from e
    except _LIBRARY_ERRORS as e:
        raise KeyServiceError(f"listing PKCS#11 tokens: {type(e).__name__}") from e
    try:
        return token.open(user_pin=config.pin.get_secret_value())
    except _LIBRARY_ERRORS as e:
        # python-pkcs11 opens the session before C_Login and drops its handle when the login fails;
        # only C_Finalize releases it. No other session of this module is open (we hold its lock).
        _finalize(lib)
        if isinstance(e, (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange)):
            detail = f"the token {config.token_label!r} refused the PIN ({type(e).__name__})"
        elif isinstance(e, (pkcs11.PinLocked, pkcs11.PinExpired)):
            detail = f"the PIN of token {config.token_label!r} is locked or expired ({type(e).__name__})"
        else:
            detail = f"logging in to token {config.token_label!r}: {type(e).__name__}"
        raise KeyServiceError(detail) from e


def _build_signer(
    pkcs11: ModuleType,
    session: Any,
    config: Pkcs11Config,
    signing_cert: x509.Certificate | None,
    chain: Sequence[x509.Certificate],
) -> Any:
    try:
        if signing_cert is None:
            assert config.cert_label is not None  # checked before opening anything
            signing_cert = _certificate_on_token(pkcs11, session, config.cert_label)
        mechanism, use_raw_mechanism = _mechanism_for(signing_cert)
        key = _private_key(pkcs11, session, config.key_label)
        expected_type = (
            pkcs11.KeyType.RSA if signing_cert.public_key.algorithm == "rsa" else pkcs11.KeyType.EC
        )
        if key.key_type != expected_type:
            raise SignatureMismatch(
                f"key {config.key_label!r} is {key.key_type.name}, "
                f"the certificate's key is {signing_cert.public_key.algorithm}"
            )
        return _verified_signer_class()(
            pkcs11_session=session,
            key_label=config.key_label,
            signing_cert=signing_cert,
            ca_chain=list(chain),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
            use_raw_mechanism=use_raw_mechanism,
            embed_roots=True,
        )
    except _LIBRARY_ERRORS as e:
        raise KeyServiceError(f"looking up the seal key on the token: {type(e).__name__}") from e


def _certificate_on_token(pkcs11: ModuleType, session: Any, label: str) -> x509.Certificate:
    found = list(
        session.get_objects(
            {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE, pkcs11.Attribute.LABEL: label}
        )
    )
    if len(found) != 1:
        raise KeyServiceError(f"{len(found)} certificates labelled {label!r} on the token (need exactly 1)")
    try:
        return x509.Certificate.load(found[0][pkcs11.Attribute.VALUE])
    except ValueError as e:
        reason = f"the token's certificate {label!r} is not DER X.509"
        raise CertificateError(reason, reason=reason) from e


def _mechanism_for(signing_cert: x509.Certificate) -> tuple[str, bool]:
    return _MECHANISMS[seal_key_algorithm(signing_cert.public_key)]


def _private_key(pkcs11: ModuleType, session: Any, label: str) -> Any:
    found = list(
        session.get_objects(
            {
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                pkcs11.Attribute.SIGN: True,
                pkcs11.Attribute.LABEL: label,
            }
        )
    )
    if not found:
        raise KeyServiceError(f"no private key labelled {label!r} that may sign on the token")
    if len(found) > 1:
        raise KeyServiceError(f"{len(found)} private keys labelled {label!r} on the token (need exactly 1)")
    return found[0]


def _close_session(lib: Any, session: Any) -> None:
    try:
        session.close()
    except _LIBRARY_ERRORS as e:
        # Session.close() skips C_CloseSession when C_Logout fails; C_Finalize closes it for sure.
        logger.warning("closing the PKCS#11 session failed (%s); finalizing the module", type(e).__name__)
        _finalize(lib)


def _finalize(lib: Any) -> None:
    try:
        lib.finalize()  # python-pkcs11 initializes it again on the next pkcs11.lib(path)
    except _LIBRARY_ERRORS as e:
        logger.warning("finalizing the PKCS#11 module failed (%s)", type(e).__name__)


@functools.cache
def _verified_signer_class() -> type[PKCS11Signer]:
    from pyhanko.sign.pkcs11 import PKCS11Signer

    class VerifiedPkcs11Signer(PKCS11Signer):
        """A pyhanko PKCS#11 signer that checks every raw signature against the seal certificate."""

        closed = False
        """Set when the session is closed; signing afterwards raises KeyServiceError."""

        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
            """Sign ``data`` on the token and check the result against the seal certificate.

            :raises KeyServiceError: the token failed, or the session is already closed.
            :raises SignatureMismatch: the token's key does not match the certificate.
            """
            if dry_run:
                signature: bytes = await super().async_sign_raw(data, digest_algorithm, dry_run=True)
                return signature
            if self.closed:
                raise KeyServiceError("the PKCS#11 signer was used after its session was closed")
            try:
                mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
                signature = await super().async_sign_raw(data, digest_algorithm)
            except _LIBRARY_ERRORS as e:
                raise KeyServiceError(f"PKCS#11 sign: {type(e).__name__}") from e
            verify_raw_signature(self.signing_cert, data, signature, mechanism, digest_algorithm)
            return signature

    return VerifiedPkcs11Signer


_EC_P256_MAX_DER_SIGNATURE = 72
"""An ECDSA P-256 signature, DER-encoded: two INTEGERs of at most 33 bytes, with their headers."""


class Pkcs11SessionSigner(Signer):
    """The seal key in a PKCS#11 token as a long-lived pyhanko signer: one session per signature.

    Every raw signature opens the token with :func:`open_pkcs11_signer` (log in, find the key, sign,
    check the signature against the seal certificate, close). Nothing touches the token until the
    first signature, so building a :class:`~tachiai.sealing.seal.Sealer` with it never fails on the
    HSM; a wrong PIN, label or library fails the first seal with a :class:`KeyServiceError` or
    :class:`ConfigurationError` that names it.
    """

    def __init__(
        self,
        config: Pkcs11Config,
        signing_cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        """:raises ConfigurationError: the certificate's key is not RSA or EC P-256."""
        mechanism, _ = _mechanism_for(signing_cert)
        self.config = config
        self._chain = list(chain)
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=SimpleCertificateStore.from_certs(self._chain),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=True,
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Sign ``data`` with the token's key in a session of its own, checked against the certificate.

        :raises ConfigurationError: python-pkcs11 or the PKCS#11 module cannot be loaded.
        :raises KeyServiceThrottled: another signature of this process held the module too long.
        :raises KeyServiceError: the token is not found, refuses the PIN, lacks the key, or fails.
        :raises SignatureMismatch: the token's key does not match the seal certificate.
        """
        certificate = self.signing_cert
        assert certificate is not None  # given to the constructor
        if dry_run:
            # pyhanko sizes the signature's placeholder first: no reason to log in for that.
            if certificate.public_key.algorithm == "rsa":
                return bytes(certificate.public_key.bit_size // 8)
            return bytes(_EC_P256_MAX_DER_SIGNATURE)
        with open_pkcs11_signer(self.config, certificate, self._chain) as signer:
            signature: bytes = await signer.async_sign_raw(data, digest_algorithm)
        return signature
