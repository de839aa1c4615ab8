"""Home / 書類一覧: the visitor's envelopes, what needs their action first.

Members see the envelopes they sent (the sender API's list, one query per page); administrators see
everyone's by default (the ledger index, which holds every envelope, then each envelope by id), or
only theirs. A title search goes through the ledger search, which keeps a member to their own
envelopes as the API does. "Needs my action" (drafts to send, rejected or expired envelopes not yet
resent) is read only on the first page without filters: three small queries of the visitor's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response

from tachiai.adapters.ledger_index import LedgerQuery
from tachiai.console.framework import Console, RouteKey, Visitor
from tachiai.domain.envelope import Envelope, EnvelopeStatus, ParticipantStatus
from tachiai.domain.errors import NotFound
from tachiai.mail.templates import format_mail_time
from tachiai.services import ledger, sending
from tachiai.services.context import Services

PAGE_SIZE = 20
TODO_SIZE = 5
TODO_STATUSES = (EnvelopeStatus.DRAFT, EnvelopeStatus.REJECTED, EnvelopeStatus.EXPIRED)
"""What the sender must act on: send a draft, correct and resend a rejected or expired envelope."""
FILTER_STATUSES = (
    EnvelopeStatus.DRAFT,
    EnvelopeStatus.IN_PROGRESS,
    EnvelopeStatus.COMPLETED,
    EnvelopeStatus.REJECTED,
    EnvelopeStatus.CANCELLED,
    EnvelopeStatus.EXPIRED,
)
_ACTIVE = frozenset({ParticipantStatus.NOTIFIED, ParticipantStatus.OPENED})


@dataclass(frozen=True)
class Row:
    """One envelope as the list shows it."""

    id: str
    title: str
    status: str
    turn: tuple[str, ...]
    """Who is to act now (their names)."""
    deadline: str | None
    updated: str
    sender: str
    todo: str | None = None
    """Why it needs the visitor's action (a catalog id), for the "needs my action" rows."""


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    def home() -> Response[str]:
        """The list, with the filters of the query: ``status``, ``q`` (title), ``scope`` (administrators:
        ``all`` or ``mine``), ``cursor``."""
        visitor = console.visitor()
        svc = console.services()
        status = _status(console.query("status"))
        title = " ".join((console.query("q") or "").split())[:200] or None
        scope = "all" if visitor.is_admin and console.query("scope") != "mine" else "mine"
        cursor = console.query("cursor") or None
        envelopes, next_cursor = _listing(
            svc, visitor, status=status, title=title, scope=scope, cursor=cursor
        )
        filtered = bool(status or title or cursor)
        todo = [] if filtered else _todo(svc, visitor)
        todo_ids = {row.id for row in todo}
        rows = [_row(svc, e, visitor) for e in envelopes if e.id not in todo_ids]
        filters = {
            "status": status.value if status else "",
            "q": title or "",
            "scope": scope if visitor.is_admin else "",
        }
        next_url = None
        if next_cursor:
            next_url = "/app?" + urlencode(
                [*((k, v) for k, v in filters.items() if v), ("cursor", next_cursor)]
            )
        return console.render(
            "console/home.html.j2",
            visitor=visitor,
            rows=rows,
            todo=todo,
            filters=filters,
            filtered=bool(status or title),
            statuses=[s.value for s in FILTER_STATUSES],
            next_url=next_url,
            paged=cursor is not None,
        )

    return {("GET", "/app"): home}


def _status(value: str | None) -> EnvelopeStatus | None:
    try:
        return EnvelopeStatus(value) if value else None
    except ValueError:
        return None  # an unknown status in the URL: the list unfiltered, not an error


def _listing(
    svc: Services,
    visitor: Visitor,
    *,
    status: EnvelopeStatus | None,
    title: str | None,
    scope: str,
    cursor: str | None,
) -> tuple[list[Envelope], str | None]:
    """A page of envelopes and the cursor of the next.

    :raises InvalidCursor: a cursor this listing did not hand out.
    :raises StorageUnavailable: the store failed.
    """
    if scope == "mine" and title is None:
        page = sending.list_envelopes(svc, visitor.identity, status, PAGE_SIZE, cursor)
        return page.envelopes, page.cursor
    # Members are kept to their own contracts by ledger.search itself; an administrator asking for
    # only theirs says so.
    owner = visitor.identity.sub if scope == "mine" else None
    query = LedgerQuery(title=title, status=status, owner_id=owner)
    found = ledger.search(svc, visitor.identity, query, PAGE_SIZE, cursor)
    return list(_envelopes(svc, (entry.envelope_id for entry in found.entries))), found.cursor


def _envelopes(svc: Services, ids: Iterable[str]) -> Iterable[Envelope]:
    for envelope_id in ids:
        try:
            yield svc.envelopes.get(envelope_id)
        except NotFound:
            continue  # deleted (a discarded draft) between the index and now


def _todo(svc: Services, visitor: Visitor) -> list[Row]:
    rows: list[Row] = []
    for status in TODO_STATUSES:
        page = sending.list_envelopes(svc, visitor.identity, status, TODO_SIZE, None)
        for envelope in page.envelopes:
            if envelope.resent_as is None and envelope.origin == "signed":
                rows.append(_row(svc, envelope, visitor, todo=f"console.home.todo.{status.value}"))
    return rows


def _row(svc: Services, envelope: Envelope, visitor: Visitor, todo: str | None = None) -> Row:
    active = [p for p in envelope.participants if p.status in _ACTIVE]
    deadlines = [p.link_expires_at for p in active if p.link_expires_at is not None]
    return Row(
        id=envelope.id,
        title=envelope.title,
        status=envelope.status.value,
        turn=tuple(p.person.name for p in active),
        deadline=_when(svc, min(deadlines), visitor) if deadlines else None,
        updated=_when(svc, envelope.updated_at, visitor),
        sender=envelope.sender.name or str(envelope.sender.email),
        todo=todo,
    )


def _when(svc: Services, moment: datetime, visitor: Visitor) -> str:
    return format_mail_time(moment, svc.settings.zone, visitor.language)
