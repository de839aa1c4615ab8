"""The mails the local runtime "sent": read back from moto's SES, for people and for tests.

Every mail leaves through SES v2 ``SendEmail`` with raw MIME content (:mod:`tachiai.adapters.ses`);
moto, running in this process, keeps each one as a ``RawMessage`` (``id``, ``source``,
``destinations``, ``raw_data``) in ``ses_backends[account][region].sent_messages`` (SES v2 shares the
v1 backend). :class:`Outbox` decodes them — RFC 2047 subjects and names, base64 UTF-8 bodies — into
:class:`OutboxMail`, and :func:`outbox_app` shows them at ``/_local/outbox`` (HTML) and
``/_local/outbox.json``, so a person running ``tachiai local`` can click the link in the mail as a
recipient would.
"""

from __future__ import annotations

import email
import html
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any, Final

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Outbox", "OutboxMail", "outbox_app"]

HTML_PATH: Final = "/_local/outbox"
JSON_PATH: Final = "/_local/outbox.json"

# An http(s) URL up to the first character a URL cannot hold unescaped (space, quotes, brackets,
# Japanese punctuation...); sentence punctuation right after it is not part of it.
_URL: Final = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+")
_TRAILING: Final = ".,;:!?"


@dataclass(frozen=True)
class OutboxMail:
    """One mail as its recipient reads it."""

    index: int
    """Position in sending order, from 0."""
    message_id: str
    """The Message-ID SES returned for it."""
    to: list[str]
    """The envelope recipients (addresses only)."""
    from_: str
    """The From header, decoded (``佐藤一郎 via tachiai <noreply@...>``)."""
    reply_to: str | None
    subject: str
    text: str
    """The text/plain part, decoded, with ``\\n`` line ends."""
    html: str
    """The text/html part, decoded ("" when there is none)."""
    links: list[str]
    """Every http(s) URL in the text part, in order, each once."""
    language: str | None
    """The Content-Language header."""
    date: datetime | None
    """The Date header (SES in the cloud replaces it with its own)."""


def _links(text: str) -> list[str]:
    found = [match.group().rstrip(_TRAILING) for match in _URL.finditer(text)]
    return list(dict.fromkeys(found))


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    content = part.get_content()
    # Line ends as the template wrote them, not as SMTP carries them.
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def _recipients(destinations: Iterable[str]) -> list[str]:
    # moto lists the envelope recipients and again the To header's ("Name <address>"): one each.
    unique = {address.lower(): address for _, address in getaddresses(list(destinations)) if address}
    return list(unique.values())


def _decode(index: int, message_id: str, destinations: Iterable[str], raw: str) -> OutboxMail:
    message = email.message_from_string(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)  # what the default policy always builds
    text = _part(message, "plain")
    date_header = message["Date"]
    return OutboxMail(
        index=index,
        message_id=message_id,
        to=_recipients(destinations),
        from_=str(message["From"] or ""),
        reply_to=str(message["Reply-To"]) if message["Reply-To"] is not None else None,
        subject=str(message["Subject"] or ""),
        text=text,
        html=_part(message, "html"),
        links=_links(text),
        language=str(message["Content-Language"]) if message["Content-Language"] is not None else None,
        date=getattr(date_header, "datetime", None),
    )


class Outbox:
    """The mails moto's SES holds for one account and region, decoded."""

    def __init__(self, account_id: str = "123456789012", region: str = "ap-northeast-1") -> None:
        self.account_id = account_id
        self.region = region
        # Decoded once per message: tests and the demo poll the outbox many times a second, and
        # decoding every mail each time competed with the service for the interpreter.
        self._decoded: dict[tuple[int, str], OutboxMail] = {}

    def mails(self) -> list[OutboxMail]:
        """Every mail sent so far, oldest first."""
        from moto.ses.models import RawMessage, ses_backends  # moto only when someone looks

        sent = list(ses_backends[self.account_id][self.region].sent_messages)
        raw = [message for message in sent if isinstance(message, RawMessage)]
        mails = []
        for index, message in enumerate(raw):
            key = (index, message.id)
            if key not in self._decoded:
                self._decoded[key] = _decode(index, message.id, message.destinations, message.raw_data)
            mails.append(self._decoded[key])
        return mails

    def to(self, address: str) -> list[OutboxMail]:
        """The mails sent to ``address`` (compared without regard to case), oldest first."""
        wanted = address.lower()
        return [mail for mail in self.mails() if wanted in (a.lower() for a in mail.to)]


def _as_json(mail: OutboxMail) -> dict[str, Any]:
    data = asdict(mail)
    data["date"] = mail.date.isoformat() if mail.date else None
    return data


def _mail_html(mail: OutboxMail) -> str:
    e = html.escape
    links = "".join(f'<li><a href="{e(link)}">{e(link)}</a></li>' for link in mail.links)
    when = e(mail.date.isoformat()) if mail.date else ""
    return (
        f'<article id="mail-{mail.index}">'
        f"<h2>#{mail.index} {e(mail.subject)}</h2>"
        "<dl>"
        f"<dt>Date</dt><dd>{when}</dd>"
        f"<dt>To</dt><dd>{e(', '.join(mail.to))}</dd>"
        f"<dt>From</dt><dd>{e(mail.from_)}</dd>"
        f"<dt>Reply-To</dt><dd>{e(mail.reply_to or '')}</dd>"
        "</dl>"
        f"<ul>{links}</ul>"
        f"<pre>{e(mail.text)}</pre>"
        "</article>"
    )


_PAGE: Final = """<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>tachiai local — outbox</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; }}
article {{ border-top: 1px solid #ccc; padding: 1rem 0; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0 1rem; }}
dt {{ color: #666; }} dd {{ margin: 0; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: 1rem; }}
</style>
</head>
<body>
<h1>Outbox ({count})</h1>
<p>Mails sent by the local runtime, newest first. <a href="outbox.json">JSON</a></p>
{mails}
</body>
</html>
"""


def outbox_app(outbox: Outbox) -> WSGIApplication:
    """A WSGI application serving ``GET /_local/outbox`` (HTML) and ``GET /_local/outbox.json``.

    Anything else is 404. Mount it at ``/_local/`` with the full path left as it is.
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if request.method not in ("GET", "HEAD") or request.path not in (HTML_PATH, JSON_PATH):
            response = Response("Not Found", status=404, content_type="text/plain; charset=utf-8")
        elif request.path == JSON_PATH:
            body = json.dumps([_as_json(m) for m in outbox.mails()], ensure_ascii=False, indent=1)
            response = Response(body, content_type="application/json; charset=utf-8", headers=headers)
        else:
            mails = outbox.mails()
            page = _PAGE.format(count=len(mails), mails="\n".join(_mail_html(m) for m in reversed(mails)))
            headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
            response = Response(page, content_type="text/html; charset=utf-8", headers=headers)
        return response(environ, start_response)

    return app
