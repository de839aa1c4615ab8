"""A test PKI on loopback: root → issuing CA → seal certificate, a TSA, an OCSP responder and CRLs.

Built with certomancer so that the local runtime and the tests exercise the same PAdES machinery as
production (timestamps from a TSA over HTTP, OCSP and CRL fetched and embedded in the DSS). The seal
certificate is issued over a *public* key only — the private half stays in KMS (moto locally) or the
HSM, exactly as in production.

Certificates carry the server's URL, so the server binds its port first and the architecture is built
for that port. Keys are kept in ``directory`` and reused, so the root certificate is the same across
runs and can be trusted once (``root.pem``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import pem, x509
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import BaseWSGIServer

from tachiai.local.http_server import serve_in_thread, stop_server

ARCH = "tachiai-local"
_ISSUING_KEYS = ("root", "ca", "tsa", "ocsp")
_VALID_FROM = "2025-01-01T00:00:00+0000"
_VALID_TO = "2045-01-01T00:00:00+0000"
_SEAL_VALID_TO = "2040-01-01T00:00:00+0000"


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
        dispatcher.app = _WholeSecondAnimator(
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


class _WholeSecondAnimator(Animator):
    def at_time(self, request: Any) -> datetime:
        # NSS (pdfsig, Firefox) rejects OCSP responses whose GeneralizedTime has fractional seconds.
        return datetime.now(tz=UTC).replace(microsecond=0)
