"""Sending mail through Amazon SES (API v2) as raw MIME.

The message is built by :func:`tachiai.mail.mime.build_mime`; SES only carries it. The envelope
recipient is given explicitly (``Destination``) as the one address the mail is for, so what SES
delivers to never depends on what ended up in the headers. SES replaces Message-ID and Date with its
own; the Message-ID it returns is the one bounces and complaints will refer to.

Failures are translated for Step Functions' Retry/Catch, which match by class name:
``MailServiceThrottled`` is worth retrying, ``MailRejected`` is not.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from tachiai.adapters.aws import sesv2_client
from tachiai.domain.errors import MailRejected, MailServiceError, MailServiceThrottled
from tachiai.mail.mime import build_mime, normalize_address

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sesv2.type_defs import SendEmailRequestTypeDef

    from tachiai.mail.templates import MailMessage

logger = logging.getLogger(__name__)

# Temporary: throttling, sending quota (it refills), SES itself failing.
_RETRYABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
    }
)
# Permanent for this message or this account until a person acts.
_REJECTED_CODES = frozenset(
    {
        "MessageRejected",
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
        "BadRequestException",
    }
)


def _translate(error: ClientError | BotoCoreError) -> MailServiceError:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _RETRYABLE_CODES or status >= 500:
            return MailServiceThrottled(f"SES SendEmail: {code}")
        if code in _REJECTED_CODES:
            return MailRejected(f"SES SendEmail: {code}")
        return MailServiceError(f"SES SendEmail: {code}")
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        # The request never reached SES (botocore has already retried): sending again is safe.
        return MailServiceThrottled(f"SES SendEmail: {type(error).__name__}")
    return MailServiceError(f"SES SendEmail: {type(error).__name__}")


class SesMailer:
    """Sends :class:`~tachiai.mail.templates.MailMessage` s through SES v2.

    ``client`` defaults to the cached ``sesv2`` client, created on the first send (never at import).
    ``configuration_set`` names the SES configuration set that records bounces and complaints.
    """

    def __init__(self, client: SESV2Client | None = None, configuration_set: str | None = None) -> None:
        self._given_client = client
        self._configuration_set = configuration_set

    @property
    def _client(self) -> SESV2Client:
        return self._given_client if self._given_client is not None else sesv2_client()

    def send(self, message: MailMessage) -> str:
        """Send ``message`` to its one recipient; returns the Message-ID SES assigned.

        :raises InvalidMailAddress: an address SES cannot take (malformed, non-ASCII local part).
        :raises MailServiceThrottled: SES is throttling, over quota or briefly failing (retry later).
        :raises MailRejected: SES refused the message or the account cannot send (do not retry).
        :raises MailServiceError: any other SES failure.
        """
        raw = build_mime(message)
        request: SendEmailRequestTypeDef = {
            "FromEmailAddress": normalize_address(message.from_address),
            "Destination": {"ToAddresses": [normalize_address(message.to.email)]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": "kind", "Value": message.kind.value}],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_email(**request)
        except (ClientError, BotoCoreError) as e:
            raise _translate(e) from e
        message_id = response["MessageId"]
        logger.info("mail sent", extra={"kind": message.kind.value, "message_id": message_id})
        return message_id
