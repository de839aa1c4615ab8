"""Home / 書類一覧: the visitor's envelopes, what needs their action first.

Home is the visitor's own work: the envelopes they sent (the sender API's list, one query per page),
with what needs their action first. Administrators switch to everyone's envelopes (``scope=all``: the
ledger index, which holds every envelope, then the envelopes of the page in one batched read: what
``GET /v1/envelopes?ledger=true`` reads) — a team's list is a place an administrator goes to look,
not what they act on, so it carries no "needs my action". A title search goes through the ledger
search, which keeps a member to their own envelopes as the API does. "Needs my action" (drafts to
send, rejected or expired envelopes not yet resent) is read only on the visitor's own first page
without filters, from that page where it provably holds them (see :func:`_todo`), else by a query per
status it does not.

The unfiltered list is not "newest change first" overall: the sender index sorts by status first
(:data:`~tachiai.domain.storage.SENDER_LIST_ORDER`), newest change first within each status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response

from tachiai.console.framework import Console, RouteKey, Visitor
from tachiai.domain.envelope import Envelope, EnvelopeStatus, ParticipantStatus
from tachiai.domain.ledger import LedgerQuery
from tachiai.domain.storage import SENDER_LIST_ORDER, EnvelopePage
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
        ``mine``, the default, or ``all``), ``cursor``."""
        visitor = console.visitor()
        svc = console.services()
        status = _status(console.query("status"))
        title = " ".join((console.query("q") or "").split())[:200] or None
        scope = "all" if visitor.is_admin and console.query("scope") == "all" else "mine"
        cursor = console.query("cursor") or None
        envelopes, next_cursor, todo = _listing_and_todo(
            svc, visitor, status=status, title=title, scope=scope, cursor=cursor
        )
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


def _listing_and_todo(
    svc: Services,
    visitor: Visitor,
    *,
    status: EnvelopeStatus | None,
    title: str | None,
    scope: str,
    cursor: str | None,
) -> tuple[list[Envelope], str | None, list[Row]]:
    """The page of :func:`_listing`, and "needs my action" when it is the first page without filters.

    :raises InvalidCursor: a cursor this listing did not hand out.
    :raises StorageUnavailable: the store failed.
    """
    if status or title or cursor or scope == "all":
        envelopes, next_cursor = _listing(
            svc, visitor, status=status, title=title, scope=scope, cursor=cursor
        )
        return envelopes, next_cursor, []
    own = sending.list_envelopes(svc, visitor.identity, None, PAGE_SIZE, None)
    return own.envelopes, own.cursor, _todo(svc, visitor, own)


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
    # One batched read for the page, not a read per row; an id whose envelope is gone (a draft
    # discarded between the index and now) is left out.
    envelopes = svc.envelopes.get_many([entry.envelope_id for entry in found.entries])
    return envelopes, found.cursor


def _todo(svc: Services, visitor: Visitor, own: EnvelopePage) -> list[Row]:
    """The visitor's newest :data:`TODO_SIZE` envelopes of each of :data:`TODO_STATUSES` that still
    need them (not resent, not imported), as rows.

    ``own`` is the visitor's unfiltered first page, which the home page lists. The statuses that page
    provably holds are
    taken from it — each read of DynamoDB is a round trip, and a query per status made the home page
    several times slower than the JSON list — and only the others are queried, concurrently.

    :raises StorageUnavailable: the store failed.
    """
    held = _statuses_held(own)
    missing = [status for status in TODO_STATUSES if status not in held]
    queried = dict(zip(missing, _concurrently(svc, visitor, missing), strict=True))
    rows: list[Row] = []
    for status in TODO_STATUSES:
        if status in queried:
            newest = queried[status]
        else:
            newest = [e for e in own.envelopes if e.status == status][:TODO_SIZE]
        for envelope in newest:
            if envelope.resent_as is None and envelope.origin == "signed":
                rows.append(_row(svc, envelope, visitor, todo=f"console.home.todo.{status.value}"))
    return rows


def _statuses_held(page: EnvelopePage) -> set[EnvelopeStatus]:
    """The statuses whose newest :data:`TODO_SIZE` envelopes are all in ``page``, the first page of
    the visitor's unfiltered list (:data:`SENDER_LIST_ORDER`, newest first within a status).

    A status is held when the page is the whole list (no cursor); when the page has TODO_SIZE of it
    (the newest, since each status is newest first); or when the page reaches a status that comes
    after it in the list's order (the list is grouped by status: everything of the earlier statuses
    came before).
    """
    if page.cursor is None:
        return set(EnvelopeStatus)
    rank = {status: n for n, status in enumerate(SENDER_LIST_ORDER)}
    last = max((rank[e.status] for e in page.envelopes), default=-1)
    counts = Counter(e.status for e in page.envelopes)
    return {s for s in EnvelopeStatus if rank[s] < last or counts[s] >= TODO_SIZE}


def _concurrently(svc: Services, visitor: Visitor, statuses: list[EnvelopeStatus]) -> list[list[Envelope]]:
    """The newest :data:`TODO_SIZE` of each status, one query each, run at once: on Lambda the
    round trips overlap (the store's client is thread-safe; the queries only read).

    :raises StorageUnavailable: a query failed.
    """

    def newest(status: EnvelopeStatus) -> list[Envelope]:
        return sending.list_envelopes(svc, visitor.identity, status, TODO_SIZE, None).envelopes

    if len(statuses) <= 1:
        return [newest(status) for status in statuses]
    with ThreadPoolExecutor(max_workers=len(statuses), thread_name_prefix="home-todo") as pool:
        return list(pool.map(newest, statuses))


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
