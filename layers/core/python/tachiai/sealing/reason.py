"""The reason text of a seal: who, which email, what, when (tenant's time zone), how authenticated.

This is what a validator shows as 理由 / Reason in its signature panel, so it must read well on its own:
``山田太郎 (taro@example.com) が 2026-11-22 10:15:03 +09:00 に承認しました（メール認証＋アクセスコード）``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tachiai.domain.events import EventKind, Language, Person, SealEvent, describe_auth
from tachiai.domain.text import single_line

_VERB_JA = {EventKind.SENT: "送信しました", EventKind.AGREED: "承認しました"}
_VERB_EN = {EventKind.SENT: "sent the document", EventKind.AGREED: "approved"}


def format_local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-22 10:15:03 +09:00``: whole seconds, offset with a colon."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _who(person: Person) -> str:
    return f"{person.name} ({person.email})"


def seal_reason(event: SealEvent, language: Language, zone: ZoneInfo) -> str:
    """The reason text for ``event`` in ``language``: one clean line (:mod:`tachiai.domain.text`), so
    no name can reorder it (U+202E), break it (U+2028) or hide part of it in a validator's panel."""
    return single_line(_reason(event, language, zone))


def _reason(event: SealEvent, language: Language, zone: ZoneInfo) -> str:
    when = format_local_time(event.at, zone)
    auth = describe_auth(event.auth_methods, language)
    if language == "ja":
        if event.kind == EventKind.FORWARDED and event.forwarded_to is not None:
            verb = f"{_who(event.forwarded_to)} へ転送しました"
        else:
            verb = _VERB_JA.get(event.kind, event.kind.value)
        return f"{_who(event.actor)} が {when} に{verb}（{auth}）"
    if event.kind == EventKind.FORWARDED and event.forwarded_to is not None:
        verb = f"forwarded the document to {_who(event.forwarded_to)}"
    else:
        verb = _VERB_EN.get(event.kind, event.kind.value)
    return f"{_who(event.actor)} {verb} at {when} ({auth})"
