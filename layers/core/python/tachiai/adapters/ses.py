"""Sending mail through Amazon SES (API v2) as raw MIME.

The message is built by :func:`tachiai.mail.mime.build_mime`; SES only carries it. The envelope
recipient is given explicitly (``Destination``) as the one address the mail is for, so what SES
delivers to never depends on what ended up in the headers. SES replaces Message-ID and Date with its
own; the Message-ID it returns is the one bounces and complaints will refer to.

Failures are translated for Step Functions' Retry/Catch, which match by class name:
``MailServiceThrottled`` is worth retrying, ``MailRejected`` is not, and neither is
``MailSandboxRefused``: SES is in its sandbox (a new account, or one without production access), where
it sends only to verified addresses. That refusal is logged at ERROR with the stable marker
:data:`SANDBOX_REFUSAL_MARKER` (what the operator's alarm matches) and reaches nobody by mail: every
mail would be refused the same way until the address is verified or production access is granted.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from tachiai import observability
from tachiai.adapters.aws import sesv2_client
from tachiai.domain.errors import MailRejected, MailSandboxRefused, MailServiceError, MailServiceThrottled
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

_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})

SANDBOX_REFUSAL_MARKER: Final = "MAIL_SANDBOX_REFUSED"
"""Starts the ERROR log line of every sandbox refusal: the metric filter of the operator's alarm matches
it (plain text or inside a JSON log line alike)."""

# "Email address is not verified. The following identities failed the check in region AP-NORTHEAST-1:
# a@example.jp, b@example.jp" (SES lists what it could, ending in "..." when it could not list all).
_NOT_VERIFIED = re.compile(r"not verified.*?:\s*(?P<identities>[^:]*)$", re.IGNORECASE | re.DOTALL)
# IAM in the sandbox: "... is not authorized to perform `ses:SendEmail' on resource
# `arn:aws:ses:<region>:<account>:identity/<recipient>'" (the recipient's identity is checked too).
_DENIED_IDENTITY = re.compile(r"identity/(?P<identity>[^\s'`\"]+)")


def _sandbox_refusal(code: str, message: str, recipient: str) -> bool:
    """Whether SES refused ``recipient`` because the account is in the sandbox: the refusal names the
    recipient (never the sender alone, which is a sender that is not verified: :class:`MailRejected`)."""
    recipient = recipient.lower()
    if code == "MessageRejected":
        found = _NOT_VERIFIED.search(message)
        if found is None:
            return False
        listed = {part.strip().rstrip(".").lower() for part in found["identities"].split(",")}
        return recipient in listed
    if code in _ACCESS_DENIED_CODES:
        return any(m["identity"].lower() == recipient for m in _DENIED_IDENTITY.finditer(message))
    return False


def _translate(error: ClientError | BotoCoreError, recipient: str = "") -> MailServiceError:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _RETRYABLE_CODES or status >= 500:
            return MailServiceThrottled(f"SES SendEmail: {code}")
        said = error.response.get("Error", {}).get("Message", "")
        if recipient and _sandbox_refusal(code, said, recipient):
            return MailSandboxRefused(f"SES SendEmail: {code} (sandbox)")
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
        :raises MailSandboxRefused: SES is in its sandbox and the recipient is not a verified address
            (do not retry; logged at ERROR with :data:`SANDBOX_REFUSAL_MARKER`).
        :raises MailRejected: SES refused the message or the account cannot send (do not retry).
        :raises MailServiceError: any other SES failure.
        """
        raw = build_mime(message)
        recipient = normalize_address(message.to.email)
        request: SendEmailRequestTypeDef = {
            "FromEmailAddress": normalize_address(message.from_address),
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": "kind", "Value": message.kind.value}],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_email(**request)
        except (ClientError, BotoCoreError) as e:
            failure = _translate(e, recipient)
            if isinstance(failure, MailSandboxRefused):
                # Never the address itself in the log: which mail it was is enough to find it.
                logger.error(
                    "%s: SES is in its sandbox and the recipient is not verified (%s mail)",
                    SANDBOX_REFUSAL_MARKER,
                    message.kind.value,
                    extra={"marker": SANDBOX_REFUSAL_MARKER, "kind": message.kind.value},
                )
            observability.mail_failed(failure)
            raise failure from e
        message_id = response["MessageId"]
        logger.info("mail sent", extra={"kind": message.kind.value, "message_id": message_id})
        return message_id
