"""Accredited TSAs ask for credentials (issue 13, blocker 6): HTTP basic authentication or a TLS client
certificate, read by the seal function from Secrets Manager.

The local test TSA asks for nothing, so each test puts a small gate in front of it on loopback: an HTTP
server that demands basic authentication, or an HTTPS server that demands a client certificate of a
test CA; either forwards what it lets through to the test TSA, so the timestamps are real.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import logging
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tachiai import names
from tachiai.adapters.aws import reset_clients
from tachiai.config import settings_from
from tachiai.domain.errors import ConfigurationError, TimestampUnavailable
from tachiai.local.sealing_kit import LocalSealingKit
from tachiai.sealing.seal import Sealer
from tachiai.sealing.timestamping import BasicAuth, ClientCertificate, FailoverTimeStamper
from tachiai.services.sealer_factory import build_timestamper

from tests.fixtures.events import event
from tests.fixtures.pdfs import simple_pdf

USERNAME, PASSWORD = "tachiai-subscriber", "correct horse battery staple"
WRONG_PASSWORD = "Tr0ub4dor&3-not-it"


class _Gate(BaseHTTPRequestHandler):
    """Forwards a timestamp query to the test TSA, if the request passes the server's check."""

    server: _GateServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not self.server.admits(self.headers.get("Authorization")):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="tsa"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = requests.post(
            self.server.upstream,
            data=body,
            headers={"Content-Type": "application/timestamp-query"},
            timeout=10,
        )
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers["Content-Type"])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *_: Any) -> None:
        pass


class _GateServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, basic: tuple[str, str] | None) -> None:
        super().__init__(("127.0.0.1", 0), _Gate)
        self.upstream = upstream
        self.expected = (
            None if basic is None else "Basic " + base64.b64encode(":".join(basic).encode()).decode()
        )

    def admits(self, authorization: str | None) -> bool:
        return self.expected is None or authorization == self.expected


@contextmanager
def _serve(server: _GateServer) -> Iterator[_GateServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def basic_auth_tsa(kit: LocalSealingKit) -> Iterator[str]:
    """The test TSA behind HTTP basic authentication (USERNAME / PASSWORD)."""
    with _serve(_GateServer(kit.pki.tsa_url, (USERNAME, PASSWORD))) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"


# --- a TLS gate that demands a client certificate ----------------------------------------------------


@dataclass(frozen=True)
class _Tls:
    ca_file: Path
    server_cert: Path
    server_key: Path
    client: ClientCertificate
    stranger: ClientCertificate
    """A client certificate the gate does not trust (issued by another CA)."""


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    **kw: Any,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if kw.get("ip"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(kw["ip"]))]), critical=False
        )
    if kw.get("usage"):
        builder = builder.add_extension(x509.ExtendedKeyUsage([kw["usage"]]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> _Tls:
    directory = tmp_path_factory.mktemp("tsa-tls")
    ca_key, stranger_ca_key = _key(), _key()
    ca = _certificate("tachiai test TSA gate CA", ca_key, None)
    stranger_ca = _certificate("someone else's CA", stranger_ca_key, None)
    server_key, client_key, stranger_key = _key(), _key(), _key()
    server = _certificate(
        "127.0.0.1", server_key, (ca.subject, ca_key), ip="127.0.0.1", usage=ExtendedKeyUsageOID.SERVER_AUTH
    )
    client = _certificate(
        "subscriber", client_key, (ca.subject, ca_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    stranger = _certificate(
        "subscriber",
        stranger_key,
        (stranger_ca.subject, stranger_ca_key),
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    files = {"ca.pem": _pem(ca), "server.pem": _pem(server), "server-key.pem": _key_pem(server_key)}
    for file, text in files.items():
        (directory / file).write_text(text, encoding="ascii")
    return _Tls(
        ca_file=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        client=ClientCertificate(_pem(client), _key_pem(client_key)),
        stranger=ClientCertificate(_pem(stranger), _key_pem(stranger_key)),
    )


@pytest.fixture(scope="module")
def client_certificate_tsa(kit: LocalSealingKit, tls: _Tls) -> Iterator[str]:
    """The test TSA behind HTTPS that demands a client certificate issued by the gate's CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(tls.ca_file)
    gate = _GateServer(kit.pki.tsa_url, None)
    gate.socket = context.wrap_socket(gate.socket, server_side=True)
    with _serve(gate) as server:
        yield f"https://127.0.0.1:{server.server_address[1]}/tsa"


@pytest.fixture
def trusts_the_gate(tls: _Tls, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client trusts the gate's server certificate as it trusts a public TSA's (requests' CA bundle)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))


# --- helpers ---------------------------------------------------------------------------------------


def _seal(kit: LocalSealingKit, timestamper: FailoverTimeStamper) -> Any:
    sealer = Sealer(signer=kit.sealer.signer, timestamper=timestamper, trust_roots=kit.sealer.trust_roots)
    sealed = sealer.seal_event(simple_pdf(), event())
    signature = PdfFileReader(BytesIO(sealed)).embedded_signatures[-1]
    return validate_pdf_signature(
        signature, ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    )


def _timestamped(status: Any) -> bool:
    return status.timestamp_validity is not None and status.timestamp_validity.intact


# --- basic authentication ---------------------------------------------------------------------------


def test_a_tsa_behind_basic_auth_timestamps_the_seal_with_its_credentials(kit, basic_auth_tsa):
    timestamper = FailoverTimeStamper(
        [basic_auth_tsa], credentials={basic_auth_tsa: BasicAuth(USERNAME, PASSWORD)}
    )

    assert _timestamped(_seal(kit, timestamper))


def test_a_refused_password_is_timestamp_unavailable_saying_http_401_and_never_the_password(
    kit, basic_auth_tsa, caplog
):
    timestamper = FailoverTimeStamper(
        [basic_auth_tsa], timeout=2, credentials={basic_auth_tsa: BasicAuth(USERNAME, WRONG_PASSWORD)}
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(TimestampUnavailable) as caught:
        _seal(kit, timestamper)

    assert "HTTP 401: the TSA refused the configured credentials" in caught.value.detail
    assert basic_auth_tsa in caught.value.detail
    said = (
        caught.value.detail + str(caught.value) + caplog.text + repr(timestamper) + repr(timestamper._clients)
    )
    assert (
        WRONG_PASSWORD not in said
        and base64.b64encode(f"{USERNAME}:{WRONG_PASSWORD}".encode()).decode() not in said
    )


def test_a_refused_password_fails_over_to_the_next_tsa(kit, basic_auth_tsa):
    timestamper = FailoverTimeStamper(
        [basic_auth_tsa, kit.pki.tsa_url], credentials={basic_auth_tsa: BasicAuth(USERNAME, WRONG_PASSWORD)}
    )

    assert _timestamped(_seal(kit, timestamper))


def test_a_tsa_that_wants_credentials_and_gets_none_says_so(kit, basic_auth_tsa):
    with pytest.raises(TimestampUnavailable) as caught:
        _seal(kit, FailoverTimeStamper([basic_auth_tsa], timeout=2))

    assert "HTTP 401: the TSA requires credentials (auth_secret)" in caught.value.detail


def test_one_tsas_credentials_are_never_sent_to_another(kit, basic_auth_tsa):
    # Given the credentials of a TSA that fails, and a second TSA that would log what it receives
    seen: list[str | None] = []

    class _Recording(_GateServer):
        def admits(self, authorization: str | None) -> bool:
            seen.append(authorization)
            return True

    with _serve(_Recording(kit.pki.tsa_url, None)) as second:
        other = f"http://127.0.0.1:{second.server_address[1]}/tsa"
        timestamper = FailoverTimeStamper(
            [basic_auth_tsa, other], credentials={basic_auth_tsa: BasicAuth(USERNAME, WRONG_PASSWORD)}
        )
        assert _timestamped(_seal(kit, timestamper))

    assert seen and all(authorization is None for authorization in seen)


# --- TLS client certificate --------------------------------------------------------------------------


@pytest.mark.usefixtures("trusts_the_gate")
def test_a_tsa_behind_a_client_certificate_timestamps_the_seal(kit, client_certificate_tsa, tls):
    timestamper = FailoverTimeStamper(
        [client_certificate_tsa], credentials={client_certificate_tsa: tls.client}
    )

    assert _timestamped(_seal(kit, timestamper))


@pytest.mark.usefixtures("trusts_the_gate")
@pytest.mark.parametrize("which", ["none", "stranger"])
def test_without_the_tsas_client_certificate_the_tsa_is_unavailable(kit, client_certificate_tsa, tls, which):
    credentials = {} if which == "none" else {client_certificate_tsa: tls.stranger}
    timestamper = FailoverTimeStamper([client_certificate_tsa], timeout=2, credentials=credentials)

    with pytest.raises(TimestampUnavailable) as caught:
        _seal(kit, timestamper)

    assert client_certificate_tsa in caught.value.detail


def test_a_client_key_that_is_not_pem_is_a_configuration_error_without_the_key(tls):
    broken = ClientCertificate(
        tls.client.certificate_pem, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"
    )

    with pytest.raises(ConfigurationError) as caught:
        FailoverTimeStamper(
            ["https://tsa.example.net/tsa"], credentials={"https://tsa.example.net/tsa": broken}
        )

    assert "client certificate or key is unusable" in caught.value.detail
    assert "c2VjcmV0" not in caught.value.detail


# --- from Secrets Manager, as the seal function reads them -------------------------------------------


@pytest.fixture
def secrets(kit: LocalSealingKit) -> Iterator[Any]:
    """Secrets Manager of the kit's moto account (a fresh client: cached ones may predate the mock)."""
    reset_clients()
    yield boto3.client("secretsmanager")
    reset_clients()


def _settings(urls: list[str], secrets: dict[str, str]) -> Any:
    return settings_from(
        {names.ENV_TSA_URLS: ",".join(urls), names.ENV_TSA_AUTH_SECRETS: json.dumps(secrets)}
    )


def test_the_seal_function_asks_a_tsa_with_the_credentials_of_its_secret(kit, basic_auth_tsa, secrets):
    secrets.create_secret(
        Name="tachiai/tsa-basic", SecretString=json.dumps({"username": USERNAME, "password": PASSWORD})
    )

    timestamper = build_timestamper(_settings([basic_auth_tsa], {basic_auth_tsa: "tachiai/tsa-basic"}))

    assert _timestamped(_seal(kit, timestamper))


def test_a_missing_tsa_secret_is_a_configuration_error_naming_it(kit, secrets):
    url = "https://tsa.example.net/tsa"

    with pytest.raises(ConfigurationError) as caught:
        build_timestamper(_settings([url], {url: "tachiai/tsa-nowhere"}))

    assert "tachiai/tsa-nowhere" in caught.value.detail and "ResourceNotFoundException" in caught.value.detail


def test_a_tsa_secret_of_the_wrong_shape_is_named_without_its_value(kit, secrets):
    url = "https://tsa.example.net/tsa"
    secrets.create_secret(Name="tachiai/tsa-shape", SecretString=json.dumps({"user": "x", "pass": PASSWORD}))

    with pytest.raises(ConfigurationError) as caught:
        build_timestamper(_settings([url], {url: "tachiai/tsa-shape"}))

    assert "tachiai/tsa-shape" in caught.value.detail and "['pass', 'user']" in caught.value.detail
    assert PASSWORD not in str(caught.value) + caught.value.detail


def test_a_secret_for_a_url_that_is_not_a_tsa_is_a_configuration_error(kit, secrets):
    with pytest.raises(ConfigurationError) as caught:
        build_timestamper(_settings(["https://tsa.example.net/tsa"], {"https://elsewhere.example/tsa": "x"}))

    assert caught.value.params["name"] == names.ENV_TSA_AUTH_SECRETS
