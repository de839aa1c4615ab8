"""A :class:`~tachiai.mail.templates.MailMessage` as RFC 5322 bytes, ready for SES ``Raw`` content.

``multipart/alternative`` with ``text/plain`` then ``text/html`` (UTF-8, base64, so the message is
7-bit clean and no line is too long), From/To/Reply-To with display names, an RFC 2047 subject, Date
and Message-ID (SES replaces both with its own; other transports keep them).

SES does not support SMTPUTF8: every address must be 7-bit ASCII, with an internationalized domain in
Punycode, and non-ASCII display names as encoded words. So the policy is ``SMTP`` (CRLF, encoded
words), never ``SMTPUTF8``.

Header injection: display names and the subject are flattened to one line and stripped of control
characters before they reach a header, addresses are checked against a conservative ASCII grammar, and
the finished header block is parsed back and refused unless it has exactly the headers and the one
recipient this module wrote (so a bug here, or in the ``email`` package, fails closed).

Each address header (From, To, Reply-To) is built by :func:`mail_address`, which also parses the header
back and refuses a display name that does not read back as exactly that one address (quotes, angle
brackets, backslashes and encoded-word look-alikes can fold into something else, or into a second
address). :func:`require_mailable` applies the same rule where a name and an address come in — envelope
creation, a forward — so what can never be mailed is refused there (a 400 naming the participant and
the field), not found at the first mail after the envelope was sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from tachiai.domain.errors import InvalidDisplayName, InvalidMailAddress, MailError, UnmailableParticipant
from tachiai.mail.templates import MailMessage, single_line

__all__ = ["build_mime", "mail_address", "normalize_address", "require_mailable"]

_POLICY = email_policy.SMTP
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_MAX_DISPLAY_NAME = 150
_HEADERS = frozenset(
    {
        "from",
        "to",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-language",
        "auto-submitted",
        "x-auto-response-suppress",
    }
)


def normalize_address(address: str) -> str:
    """``address`` as SES accepts it: ASCII local part, Punycode domain (``例え.jp`` → ``xn--r8jz45g.jp``).

    :raises InvalidMailAddress: not a plain ``local@domain`` address, a non-ASCII local part (SES has
        no SMTPUTF8), or a domain that cannot be encoded.
    """
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or len(local) > 64:
        raise InvalidMailAddress(f"bad local part in {address!r}", address=address)
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise InvalidMailAddress(f"bad domain in {address!r}", address=address) from e
    if not _DOMAIN.fullmatch(ascii_domain) or len(ascii_domain) > 253:
        raise InvalidMailAddress(f"bad domain in {address!r}", address=address)
    return f"{local}@{ascii_domain.lower()}"


def _display_name(name: str) -> str:
    # One line, no controls, bounded: what is left can only be a (quoted or encoded) phrase.
    return single_line(name)[:_MAX_DISPLAY_NAME]


def mail_address(name: str, address: str) -> Address:
    """``name <address>`` as every mail header carries it (From, To, Reply-To).

    The address is normalized (:func:`normalize_address`); the display name is flattened to one line
    and shortened, and the header is written and parsed back: it must read back as exactly this one
    address, or it is refused.

    :raises InvalidMailAddress: the address cannot be mailed (see :func:`normalize_address`).
    :raises InvalidDisplayName: the name does not survive a header as a name for this one address.
    """
    addr_spec = normalize_address(address)
    local, _, domain = addr_spec.partition("@")
    result = Address(display_name=_display_name(name), username=local, domain=domain)
    probe = EmailMessage(policy=_POLICY)
    try:
        probe["To"] = result
        head = probe.as_bytes()
    except (ValueError, TypeError, IndexError) as e:  # the email package refuses to fold it at all
        raise InvalidDisplayName(f"{type(e).__name__} writing the name", address=addr_spec) from e
    parsed = message_from_bytes(head, policy=email_policy.compat32)
    read_back = [addr for _, addr in getaddresses([str(v) for v in parsed.get_all("To", [])])]
    if read_back != [addr_spec]:
        raise InvalidDisplayName(f"reads back as {len(read_back)} address(es)", address=addr_spec)
    return result


def require_mailable(name: str, address: str, *, participant: str, field_prefix: str = "") -> None:
    """Refuse a person no mail could ever reach as given, with the rule the mailer itself uses
    (:func:`mail_address`).

    ``participant`` names the person in the error (their position or address as the request gave
    it); ``field_prefix`` goes before ``name`` / ``email`` in the error's field (``participants[0].``).

    :raises UnmailableParticipant: the address or the name cannot be put in a mail header.
    """
    try:
        mail_address(name, address)
    except InvalidMailAddress as e:
        raise UnmailableParticipant(e.detail, participant=participant, field=f"{field_prefix}email") from e
    except InvalidDisplayName as e:
        raise UnmailableParticipant(e.detail, participant=participant, field=f"{field_prefix}name") from e


def _check_headers(raw: bytes, recipient: str) -> None:
    head = raw.split(b"\r\n\r\n", 1)[0]
    parsed = message_from_bytes(head + b"\r\n\r\n", policy=email_policy.compat32)
    names = [key.lower() for key in parsed]
    addresses = [addr for _, addr in getaddresses([str(v) for v in parsed.get_all("To", [])])]
    if len(names) != len(set(names)) or not set(names) <= _HEADERS or addresses != [recipient]:
        raise MailError(f"unexpected headers {sorted(names)} or recipients {len(addresses)}")


def build_mime(message: MailMessage, *, now: datetime | None = None) -> bytes:
    """``message`` as an RFC 5322 ``multipart/alternative`` message (CRLF line ends, 7-bit clean).

    From shows :attr:`~MailMessage.from_name` (``{sender} via {service}`` or the service name) with the
    service's address; Reply-To is :attr:`~MailMessage.reply_to` (the sender, so replies reach a person).

    :raises InvalidMailAddress: an address that is malformed or not 7-bit ASCII.
    :raises MailError: the header block came out different from what was written (never expected).
    """
    sender = mail_address(message.from_name, message.from_address)
    recipient = mail_address(message.to.name, message.to.email)
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = sender
    mail["To"] = recipient
    if message.reply_to is not None:
        mail["Reply-To"] = mail_address(message.reply_to.name, message.reply_to.email)
    mail["Subject"] = single_line(message.subject)
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=sender.domain)
    # Notifications: ask vacation responders (RFC 3834, and Exchange/Outlook) not to answer them,
    # since Reply-To would carry their replies to the sender.
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.text, subtype="plain", charset="utf-8", cte="base64")
    mail.add_alternative(message.html, subtype="html", charset="utf-8", cte="base64")
    for part in mail.iter_parts():
        del part["MIME-Version"]  # only the top level carries it
    # After the content: set_content() clears every Content-* header set before it.
    mail["Content-Language"] = message.language
    raw = mail.as_bytes()
    _check_headers(raw, recipient.addr_spec)
    return raw
