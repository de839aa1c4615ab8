"""A test PKI on loopback: root → issuing CA → seal certificate, a TSA, an OCSP responder and CRLs.

Built with certomancer so that the local runtime and the tests exercise the same PAdES machinery as
production (timestamps from a TSA over HTTP, OCSP and CRL fetched and embedded in the DSS). The seal
certificate is issued over a *public* key only — the private half stays in KMS (moto locally) or the
HSM, exactly as in production.

Certificates carry the server's URL, so the server binds its port first and the architecture is built
for that port. Keys are kept in ``directory`` and reused, so the root certificate is the same across
runs and can be trusted once (``root.pem``).

The responders do what real ones do to stay cheap, and nothing that changes what a seal proves:

* each private key is parsed once (certomancer re-reads the DER key, with OpenSSL's full RSA key check,
  for every signature: that was most of the PKI's CPU under load);
* a CRL is signed once per update period: its content (number, thisUpdate, nextUpdate, entries) is a
  function of the period alone, so every fetch within it gets the same bytes, as from a real CRL
  distribution point;
* an OCSP response for the same certificates is pre-produced and reused for :data:`OCSP_REUSE_SECONDS`
  (RFC 5019's profile: no nonce, which pyHanko accepts), well inside its 10-minute validity, so a seal's
  response is always current at its signing time;
* time-stamp tokens are signed per request: each binds the request's own message imprint and nonce.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from asn1crypto import algos, ocsp, pem, x509
from asn1crypto import keys as asn1_keys
from certomancer import crypto_utils
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, ServiceLabel
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.serving import BaseWSGIServer
from werkzeug.wrappers import Request, Response

from tachiai.local.http_server import serve_in_thread, stop_server

ARCH = "tachiai-local"
_ISSUING_KEYS = ("root", "ca", "tsa", "ocsp")
_VALID_FROM = "2025-01-01T00:00:00+0000"
_VALID_TO = "2045-01-01T00:00:00+0000"
_SEAL_VALID_TO = "2040-01-01T00:00:00+0000"

OCSP_REUSE_SECONDS: Final = 60
"""How long the responder serves the same pre-produced OCSP response for the same certificates.
certomancer's responses are valid for 10 minutes (nextUpdate), so a reused one is always current."""


def _key_usage(*usages: str) -> dict[str, Any]:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


def _crl_from(repo: str) -> dict[str, Any]:
    return {
        "id": "crl_distribution_points",
        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [repo]}},
    }


def _architecture_config(url_prefix: str, key_dir: Path, organization: str) -> dict[str, Any]:
    validity = {"valid-from": _VALID_FROM, "valid-to": _VALID_TO}
    keys: dict[str, dict[str, Any]] = {name: {"path": f"{name}.key.pem"} for name in _ISSUING_KEYS}
    keys["seal"] = {"path": "seal.pub.pem", "public-only": True}
    return {
        "external-url-prefix": url_prefix,
        "keysets": {ARCH: {"path-prefix": str(key_dir), "keys": keys}},
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "JP", "organization-name": organization},
                "entities": {
                    "root": {"common-name": "tachiai Local Test Root CA"},
                    "ca": {"common-name": "tachiai Local Test Issuing CA"},
                    "tsa": {"common-name": "tachiai Local Test Time Stamping Authority"},
                    "ocsp": {"common-name": "tachiai Local Test OCSP Responder"},
                    "seal": {"common-name": "tachiai Local Test Seal"},
                },
                "certs": {
                    "root": {
                        "subject": "root",
                        "subject-key": "root",
                        "issuer": "root",
                        "authority-key": "root",
                        "validity": validity,
                        "extensions": [
                            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                            _key_usage("digital_signature", "key_cert_sign", "crl_sign"),
                        ],
                    },
                    "ca": {
                        "issuer": "root",
                        "validity": validity,
                        "extensions": [
                            {
                                "id": "basic_constraints",
                                "critical": True,
                                "value": {"ca": True, "path-len-constraint": 0},
                            },
                            _key_usage("digital_signature", "key_cert_sign", "crl_sign"),
                            _crl_from("root"),
                        ],
                    },
                    "ocsp": {
                        "issuer": "ca",
                        "validity": validity,
                        "extensions": [
                            _key_usage("digital_signature"),
                            {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                            {"id": "ocsp_no_check"},
                        ],
                    },
                    "tsa": {
                        "issuer": "root",
                        "validity": validity,
                        "extensions": [
                            _key_usage("digital_signature"),
                            {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                            _crl_from("root"),
                        ],
                    },
                    "seal": {
                        "issuer": "ca",
                        "validity": {"valid-from": _VALID_FROM, "valid-to": _SEAL_VALID_TO},
                        "extensions": [
                            _key_usage("digital_signature", "non_repudiation"),
                            _crl_from("ca"),
                            {
                                "id": "authority_information_access",
                                "smart-value": {
                                    "schema": "aia-urls",
                                    "params": {"ocsp-responder-names": ["ca"]},
                                },
                            },
                        ],
                    },
                },
                "services": {
                    "ocsp": {"ca": {"for-issuer": "ca", "responder-cert": "ocsp", "signing-key": "ocsp"}},
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P90D",
                        },
                        "ca": {"for-issuer": "ca", "signing-key": "ca", "simulated-update-schedule": "P7D"},
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


def _ensure_issuing_keys(key_dir: Path) -> None:
    key_dir.mkdir(parents=True, exist_ok=True)
    for name in _ISSUING_KEYS:
        path = key_dir / f"{name}.key.pem"
        if path.exists():
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)


def _to_pem(cert: x509.Certificate) -> bytes:
    return bytes(pem.armor("CERTIFICATE", cert.dump()))


@dataclass
class LocalPki:
    """A running test PKI. Use :meth:`start`, or as a context manager."""

    directory: Path
    seal_public_key: asn1_keys.PublicKeyInfo
    organization: str = "tachiai local test PKI"
    port: int = 0
    """Loopback port to serve on (0: any free port). Certificates carry the URL, so a runtime that
    keeps its data across restarts asks for the same port again."""
    _server: BaseWSGIServer | None = field(default=None, init=False, repr=False)
    _arch: Any = field(default=None, init=False, repr=False)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> LocalPki:
        """Bind a free loopback port, issue the certificates for it and serve OCSP, CRL and TSA."""
        _install_key_cache()
        # certomancer joins its search dir and the key set's path prefix: both must be absolute.
        self.directory = self.directory.resolve()
        key_dir = self.directory / "keys"
        _ensure_issuing_keys(key_dir)
        (key_dir / "seal.pub.pem").write_bytes(bytes(pem.armor("PUBLIC KEY", self.seal_public_key.dump())))

        self._server, dispatcher = serve_in_thread("127.0.0.1", self.port, "local-pki")
        url = f"http://127.0.0.1:{self._server.server_port}"
        config = CertomancerConfig(
            _architecture_config(url, key_dir, self.organization), key_search_dir=str(key_dir)
        )
        self._arch = config.get_pki_arch(ArchLabel(ARCH))
        dispatcher.app = _LocalAnimator(
            AnimatorArchStore({self._arch.arch_label: self._arch}), with_web_ui=False
        )
        self.write_pem_files()
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None

    def __enter__(self) -> LocalPki:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what the sealing engine needs ------------------------------------------------------

    def _cert(self, label: str) -> x509.Certificate:
        if self._arch is None:
            raise RuntimeError("LocalPki is not started")
        cert: x509.Certificate = self._arch.get_cert(CertLabel(label))
        return cert

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"

    @property
    def root_cert(self) -> x509.Certificate:
        return self._cert("root")

    @property
    def seal_cert(self) -> x509.Certificate:
        return self._cert("seal")

    @property
    def seal_chain(self) -> list[x509.Certificate]:
        """Issuing CA and root, the certificates a validator needs beside the seal certificate."""
        return [self._cert("ca"), self._cert("root")]

    @property
    def tsa_cert(self) -> x509.Certificate:
        return self._cert("tsa")

    def chain_pem(self) -> bytes:
        """Seal certificate followed by its chain, as tachiai's certificate configuration expects."""
        return b"".join(_to_pem(c) for c in [self.seal_cert, *self.seal_chain])

    def write_pem_files(self) -> None:
        """Write ``root.pem`` (to trust) and ``seal-chain.pem`` into the PKI directory."""
        (self.directory / "root.pem").write_bytes(_to_pem(self.root_cert))
        (self.directory / "seal-chain.pem").write_bytes(self.chain_pem())


class _KeyCachingBackend(crypto_utils.PycaCryptographyBackend):
    """certomancer's signing backend, parsing each private key once instead of once per signature."""

    def generic_sign(
        self, private_key: asn1_keys.PrivateKeyInfo, tbs_bytes: bytes, sd_algo: algos.SignedDigestAlgorithm
    ) -> bytes:
        if sd_algo.signature_algo != "rsassa_pkcs1v15":
            return super().generic_sign(private_key, tbs_bytes, sd_algo)  # not used by this PKI
        key = _private_key(private_key.dump())
        if not isinstance(key, rsa.RSAPrivateKey):
            return super().generic_sign(private_key, tbs_bytes, sd_algo)
        hash_algo = getattr(hashes, sd_algo.hash_algo.upper())()
        return key.sign(tbs_bytes, padding.PKCS1v15(), hash_algo)


@functools.lru_cache(maxsize=32)
def _private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, password=None)


def _install_key_cache() -> None:
    # certomancer signs through the module-level backend (certificates, CRLs, OCSP, time stamps); it is
    # used only by this test PKI, and the cached backend signs the same bytes.
    if not isinstance(crypto_utils.CRYPTO_BACKEND, _KeyCachingBackend):
        crypto_utils.CRYPTO_BACKEND = _KeyCachingBackend()


@dataclass(frozen=True)
class _PreProduced:
    produced_at: datetime
    body: bytes


class _LocalAnimator(Animator):
    """certomancer's responder app, at whole seconds, with CRLs per update period and pre-produced OCSP."""

    def __init__(self, architectures: AnimatorArchStore, **kwargs: Any) -> None:
        super().__init__(architectures, **kwargs)
        self._lock = threading.Lock()
        self._crls: dict[tuple[str, str, int], bytes] = {}
        self._ocsp: dict[tuple[str, str, bytes], _PreProduced] = {}

    def at_time(self, request: Any) -> datetime:
        # NSS (pdfsig, Firefox) rejects OCSP responses whose GeneralizedTime has fractional seconds.
        return datetime.now(tz=UTC).replace(microsecond=0)

    def serve_crl(
        self, request: Request, *, label: ServiceLabel, arch: str, crl_no: int | None, use_pem: bool
    ) -> Response:
        """The CRL of the update period (or the archived ``crl_no``), signed once per period."""
        registry = self.architectures[ArchLabel(arch)].service_registry
        number = crl_no if crl_no is not None else _crl_number(registry, label, self.at_time(request))
        if number is None:  # before the issuer's validity: certomancer's own error answer
            answer: Response = super().serve_crl(
                request, label=label, arch=arch, crl_no=crl_no, use_pem=use_pem
            )
            return answer
        key = (arch, str(label), number)
        with self._lock:
            data = self._crls.get(key)
            if data is None:
                data = registry.get_crl(label, number=number).dump()
                self._crls[key] = data
        if use_pem:
            return Response(pem.armor("X509 CRL", data), mimetype="application/x-pem-file")
        return Response(data, mimetype="application/pkix-crl")

    def serve_ocsp_response(self, request: Request, *, label: str, arch: str) -> Response:
        """A pre-produced response for the requested certificates, made afresh after
        :data:`OCSP_REUSE_SECONDS`; the request's nonce is not echoed (RFC 5019 §2.2.1)."""
        now = self.at_time(request)
        asked: ocsp.OCSPRequest = ocsp.OCSPRequest.load(request.stream.read())
        request_list = asked["tbs_request"]["request_list"]
        key = (arch, label, request_list.dump())
        reuse = timedelta(seconds=OCSP_REUSE_SECONDS)
        with self._lock:
            kept = self._ocsp.get(key)
            if kept is None or not timedelta(0) <= now - kept.produced_at < reuse:
                responder = self.architectures[ArchLabel(arch)].service_registry.summon_responder(
                    ServiceLabel(label), now
                )
                without_nonce = ocsp.OCSPRequest({"tbs_request": {"request_list": request_list}})
                response = responder.build_ocsp_response(without_nonce)
                kept = _PreProduced(now, response.dump())
                # Only good answers are kept: an error answer (unknown issuer) is made per request.
                if response["response_status"].native == "successful":
                    self._ocsp[key] = kept
        return Response(kept.body, mimetype="application/ocsp-response")


def _crl_number(registry: Any, label: ServiceLabel, at_time: datetime) -> int | None:
    """certomancer's CRL number for ``at_time``: whole update periods since the issuer's notBefore."""
    info = registry.get_crl_repo_info(label)
    issuer = info.issuer_cert or info.resolve_issuer_cert(registry.pki_arch)
    origin: datetime = registry.pki_arch.get_cert(issuer).not_valid_before
    elapsed = at_time - origin
    if elapsed < timedelta(0):
        return None
    return int(elapsed // info.simulated_update_schedule)
