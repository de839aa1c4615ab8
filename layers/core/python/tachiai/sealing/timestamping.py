"""RFC 3161 time-stamping with failover across a list of TSA URLs, with or without credentials.

Each TSA is asked in the configured order with its own timeout; the first valid token wins. When none
answers, :class:`TimestampUnavailable` is raised — its class name is what a Step Functions ``Retry``
matches — listing why each one failed.

Accredited TSAs (認定タイムスタンプ: SEIKO, Amano, Cybertrust ...) serve their subscribers only: with
HTTP basic authentication or a TLS client certificate (:class:`BasicAuth`, :class:`ClientCertificate`,
read from a Secrets Manager secret by :func:`tsa_credentials`). Each TSA has its own HTTP session, so
one TSA's credentials are never sent to another, and a session keeps its connection (and TLS handshake)
for the next seal of the same container. Credentials never appear in a log line, an error or a repr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from asn1crypto import cms, tsp
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, handle_tsp_response
from requests.adapters import HTTPAdapter

from tachiai import observability
from tachiai.domain.errors import ConfigurationError, TimestampUnavailable

logger = logging.getLogger(__name__)

DEFAULT_TSA_TIMEOUT_SECONDS = 10.0
TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"


@dataclass(frozen=True)
class BasicAuth:
    """HTTP basic authentication at a TSA."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ClientCertificate:
    """A TLS client certificate (PEM, with its chain if the TSA wants one) and its private key (PEM)."""

    certificate_pem: str = field(repr=False)
    key_pem: str = field(repr=False)


TsaCredentials = BasicAuth | ClientCertificate


def tsa_credentials(secret: str, *, secret_name: str) -> TsaCredentials:
    """The credentials in a TSA's secret: JSON ``{"username", "password"}`` or
    ``{"client_certificate_pem", "client_key_pem"}``.

    :raises ConfigurationError: the secret is not one of the two shapes (the message names the secret
        and the fields it has, never a value).
    """
    try:
        values: Any = json.loads(secret)
    except ValueError:
        values = None
    if isinstance(values, dict) and all(isinstance(v, str) and v for v in values.values()):
        if set(values) == {"username", "password"}:
            return BasicAuth(values["username"], values["password"])
        if set(values) == {"client_certificate_pem", "client_key_pem"}:
            return ClientCertificate(values["client_certificate_pem"], values["client_key_pem"])
    fields = sorted(values) if isinstance(values, dict) else "not a JSON object"
    raise ConfigurationError(
        f"TSA credentials secret {secret_name}: expected JSON with username and password, or with "
        f"client_certificate_pem and client_key_pem (non-empty text); found {fields}",
        name=secret_name,
    )


def _client_certificate_context(credentials: ClientCertificate, *, url: str) -> ssl.SSLContext:
    """A TLS context that verifies the server as requests does and presents the client certificate.

    :raises ConfigurationError: the certificate or key is not PEM, or they do not match.
    """
    context = ssl.create_default_context(cafile=requests.utils.DEFAULT_CA_BUNDLE_PATH)
    # ssl loads a certificate and key from files only: they exist for the moment of loading, in a
    # directory only this process's user can read, and live on in memory inside the context.
    with tempfile.TemporaryDirectory(prefix="tsa-") as directory:
        certificate, key = Path(directory) / "certificate.pem", Path(directory) / "key.pem"
        certificate.write_text(credentials.certificate_pem, encoding="ascii")
        key.touch(mode=0o600)
        key.write_text(credentials.key_pem, encoding="ascii")
        try:
            context.load_cert_chain(certificate, key)
        except (ssl.SSLError, ValueError) as e:
            # Not str(e): OpenSSL's reasons name no key material, but stay with the class to be sure.
            raise ConfigurationError(
                f"TSA {url}: the client certificate or key is unusable ({type(e).__name__})", name=url
            ) from None
    return context


class _ClientCertificateAdapter(HTTPAdapter):
    """Connections to one TSA made with a given TLS context (its client certificate in it)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


class TsaClient:
    """One TSA's RFC 3161 HTTP endpoint, asked through its own session with its own credentials."""

    def __init__(self, url: str, *, timeout: float, credentials: TsaCredentials | None = None) -> None:
        """:raises ConfigurationError: a client certificate that cannot be loaded."""
        self.url = url
        self.timeout = timeout
        self.authenticated = credentials is not None
        self.session = requests.Session()
        if isinstance(credentials, BasicAuth):
            self.session.auth = (credentials.username, credentials.password)
        elif isinstance(credentials, ClientCertificate):
            parts = urlsplit(url)
            # Mounted on this TSA's origin only: a redirect to another host does not present it.
            self.session.mount(
                f"{parts.scheme}://{parts.netloc}/",
                _ClientCertificateAdapter(_client_certificate_context(credentials, url=url)),
            )

    def request(self, request: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """The TSA's reply to ``request``.

        :raises TimestampRequestError: no answer, an HTTP error (401/403: the credentials were refused or
            are missing), or an answer that is not a timestamp reply.
        """
        try:
            answer = self.session.post(
                self.url,
                data=request.dump(),
                headers={"Content-Type": TIMESTAMP_QUERY},
                timeout=self.timeout,
            )
        except (requests.RequestException, OSError) as e:
            raise TimestampRequestError(f"no answer ({type(e).__name__})") from e
        if answer.status_code in (401, 403):
            raise TimestampRequestError(
                f"HTTP {answer.status_code}: the TSA refused the configured credentials"
                if self.authenticated
                else f"HTTP {answer.status_code}: the TSA requires credentials (auth_secret)"
            )
        if answer.status_code != 200:
            raise TimestampRequestError(f"HTTP {answer.status_code}")
        if answer.headers.get("Content-Type") != TIMESTAMP_REPLY:
            raise TimestampRequestError("the answer is not a timestamp reply")
        return tsp.TimeStampResp.load(answer.content)


class FailoverTimeStamper(TimeStamper):
    """A pyhanko time stamper that tries several TSAs in order."""

    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = DEFAULT_TSA_TIMEOUT_SECONDS,
        *,
        credentials: Mapping[str, TsaCredentials] | None = None,
    ) -> None:
        """``credentials`` holds, by URL, those of the TSAs that need some.

        :raises ConfigurationError: no URL, a URL that is not http(s), credentials for a URL not in the
            list, or a client certificate that cannot be loaded.
        """
        if not urls:
            raise ConfigurationError("no TSA URL configured", name="TSA URLs")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"TSA URL {url!r} is not http(s)", name="TSA URLs")
        credentials = dict(credentials or {})
        unknown = sorted(set(credentials) - set(urls))
        if unknown:
            raise ConfigurationError(f"credentials for {unknown}, not in the TSA URLs", name="TSA URLs")
        super().__init__()
        self.urls = list(urls)
        self._clients = [TsaClient(url, timeout=timeout, credentials=credentials.get(url)) for url in urls]

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        """A token for ``message_digest`` from the first TSA that gives a valid one.

        :raises TimestampUnavailable: every TSA failed (connection, HTTP status, credentials refused,
            refusal or invalid reply); the detail says why, per TSA.
        """
        failures: list[str] = []
        for index, client in enumerate(self._clients):
            nonce, request = self.request_cms(message_digest, md_algorithm)
            try:
                with observability.subsegment("TSA"):
                    response = await asyncio.to_thread(client.request, request)
                token: cms.ContentInfo = handle_tsp_response(response, nonce)
                if index:  # an earlier TSA of the list failed
                    observability.count(observability.Metric.TSA_FAILOVERS)
                return token
            except (TimestampRequestError, OSError, ValueError) as e:
                logger.warning("TSA %s failed: %s", client.url, e)
                failures.append(f"{client.url}: {type(e).__name__}: {e}")
        raise TimestampUnavailable("; ".join(failures))

    def __repr__(self) -> str:
        return f"FailoverTimeStamper({self.urls!r})"
