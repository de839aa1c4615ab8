"""RFC 3161 time-stamping with failover across a list of TSA URLs.

Each TSA is asked in the configured order with its own timeout; the first valid token wins. When none
answers, :class:`TimestampUnavailable` is raised — its class name is what a Step Functions ``Retry``
matches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from asn1crypto import cms
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, handle_tsp_response
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

from tachiai.domain.errors import ConfigurationError, TimestampUnavailable

logger = logging.getLogger(__name__)

DEFAULT_TSA_TIMEOUT_SECONDS = 10.0


class FailoverTimeStamper(TimeStamper):
    """A pyhanko time stamper that tries several TSAs in order."""

    def __init__(self, urls: Sequence[str], timeout: float = DEFAULT_TSA_TIMEOUT_SECONDS) -> None:
        """:raises ConfigurationError: no URL, or a URL that is not http(s)."""
        if not urls:
            raise ConfigurationError("no TSA URL configured", name="TSA URLs")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"TSA URL {url!r} is not http(s)", name="TSA URLs")
        super().__init__()
        self.urls = list(urls)
        self._clients = [RequestsHTTPTimeStamper(url, timeout=timeout) for url in urls]

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        """A token for ``message_digest`` from the first TSA that gives a valid one.

        :raises TimestampUnavailable: every TSA failed (connection, HTTP, refusal or invalid reply).
        """
        failures: list[str] = []
        for url, client in zip(self.urls, self._clients, strict=True):
            nonce, request = self.request_cms(message_digest, md_algorithm)
            try:
                response = await client.async_request_tsa_response(request)
                token: cms.ContentInfo = handle_tsp_response(response, nonce)
                return token
            except (TimestampRequestError, OSError, ValueError) as e:
                logger.warning("TSA %s failed: %s", url, type(e).__name__)
                failures.append(f"{url}: {type(e).__name__}: {e}")
        raise TimestampUnavailable("; ".join(failures))

    def __repr__(self) -> str:
        return f"FailoverTimeStamper({self.urls!r})"
