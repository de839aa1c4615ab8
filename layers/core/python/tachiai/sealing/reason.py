"""The reason text of a seal: who, which email, what, when (tenant's time zone), how authenticated.

This is what a validator shows as 理由 / Reason in its signature panel, so it must read well on its own:
``山田太郎 (taro@example.com) が 2026-11-22 10:15:03 +09:00 に承認しました（メール認証＋アクセスコード）``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tachiai import i18n
from tachiai.domain.events import EventKind, Language, Person, SealEvent, describe_auth
from tachiai.domain.text import single_line

_REASONS = {
    EventKind.SENT: "seal.reason.sent",
    EventKind.AGREED: "seal.reason.agreed",
    EventKind.FORWARDED: "seal.reason.forwarded",
}
"""The catalog's sentence for each sealed event; any other kind says its name (``event.kind.*``)."""


def format_local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-22 10:15:03 +09:00``: whole seconds, offset with a colon."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _who(person: Person) -> str:
    return f"{person.name} ({person.email})"


def seal_reason(event: SealEvent, language: Language, zone: ZoneInfo) -> str:
    """The reason text for ``event`` in ``language`` (the catalog's ``seal.reason.*``): one clean line
    (:mod:`tachiai.domain.text`), so no name can reorder it (U+202E), break it (U+2028) or hide part
    of it in a validator's panel."""
    return single_line(_reason(event, language, zone))


def _reason(event: SealEvent, language: Language, zone: ZoneInfo) -> str:
    values = {
        "actor": _who(event.actor),
        "when": format_local_time(event.at, zone),
        "auth": describe_auth(event.auth_methods, language),
    }
    message = _REASONS.get(event.kind)
    if event.kind == EventKind.FORWARDED:
        if event.forwarded_to is None:
            message = None
        else:
            values["to"] = _who(event.forwarded_to)
    if message is None:
        return i18n.text(
            "seal.reason.event", language, action=i18n.text(f"event.kind.{event.kind}", language), **values
        )
    return i18n.text(message, language, **values)
