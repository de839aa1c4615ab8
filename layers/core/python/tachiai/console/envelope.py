"""The envelope's page in the console: progress, the audit trail as a timeline, the sender's actions,
downloads, and the signature panel of a completed envelope.

* ``GET /app/envelopes/{id}``: title, status, sender, dates and deadline; the participants in order
  with their state and whose turn it is; the documents (name, pages, SHA-256); the hash-chained audit
  trail as a timeline, the chain checked here again (each entry's hash recomputed as the service
  computes it, and the last one compared with the head the envelope records, so an entry edited,
  removed or cut off the end is named); the links between a resent envelope and its original.
* Actions are forms (CSRF, post/redirect/get with a notice): remind the participant whose turn it is,
  cancel with a reason (a confirmation page first: no JavaScript needed), correct and resend (the new
  draft's page, from where 新規作成 edits it), unlock and reissue a locked participant's link. A refusal
  (``envelope_already_cancelled``, ``reminder_not_ready`` ...) shows the envelope's page again with
  the refusal's catalog message, under the refusal's own HTTP status.
* ``GET /app/envelopes/{id}/files/{number}``: a file (a document's current version, an import's
  arrival token, the agreement certificate), through a short-lived URL made at the click (a page left
  open must not hold links that expired); the service checks the file's hash before it hands it out.
* ``GET /app/envelopes/{id}/audit.csv``: the audit trail for Excel (UTF-8 with a BOM, CRLF), every
  cell neutralized against formula injection (:func:`~tachiai.domain.text.csv_cell`).
* ``GET /app/envelopes/{id}/signatures``: the signature panel (:mod:`tachiai.services.signature_panel`),
  on its own page so the envelope's page never waits for a verification.

Who may see what is the services' rule: the owner and the administrators read an envelope (anyone else
gets the not-found page, never a hint that it exists); only the owner changes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aws_lambda_powertools.event_handler import Response

from tachiai import i18n
from tachiai.domain.audit import GENESIS_HASH, AuditEntry, AuditKind
from tachiai.domain.envelope import Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.errors import InvalidRequest, NotFound, TachiaiError
from tachiai.domain.text import csv_cell, single_line
from tachiai.services import drafts, sending, signature_panel
from tachiai.services.drafts import ResendRequest
from tachiai.services.sending import SenderIdentity

if TYPE_CHECKING:
    from tachiai.api.routing import RouteKey
    from tachiai.console.framework import Console

BASE: Final = "/app/envelopes/{envelope_id}"
CANCEL_REASON_MAX: Final = 1000
"""As the API's ``CancelRequest.reason``."""
RESENDABLE: Final = frozenset({EnvelopeStatus.REJECTED, EnvelopeStatus.EXPIRED, EnvelopeStatus.CANCELLED})
CSV_COLUMNS: Final = ("seq", "at", "kind", "event", "actor", "details", "prev_hash", "hash")


# --- what the page shows (pure functions of the envelope and its trail) ------------------------------


@dataclass(frozen=True)
class ChainCheck:
    """The audit trail's hash chain, checked as the service writes it."""

    entries: int
    broken_at: int | None
    """The sequence number of the first entry that does not hold (edited, missing, out of order), or
    ``entries + 1`` when the trail stops before the head the envelope records; None when intact."""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def check_chain(envelope: Envelope, trail: Sequence[AuditEntry]) -> ChainCheck:
    """Recompute each entry's hash and its link to the previous one, from the genesis, and compare the
    last with the envelope's head (:attr:`Envelope.audit_seq` / :attr:`Envelope.audit_head`): an entry
    removed from the end leaves a chain that holds in itself but stops short of the head."""
    prev_hash, expected_seq = GENESIS_HASH, 1
    for entry in trail:
        if entry.seq != expected_seq or entry.prev_hash != prev_hash or entry.hash != entry.expected_hash():
            return ChainCheck(len(trail), expected_seq)
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    if expected_seq - 1 != envelope.audit_seq or prev_hash != envelope.audit_head:
        return ChainCheck(len(trail), expected_seq)
    return ChainCheck(len(trail), None)


def participant_state(participant: Participant) -> str:
    """The participant's state as the page names it (``console.envelope.participant.<state>``):
    ``locked`` over their turn's state, since a locked link is what the sender must act on."""
    if participant.locked and participant.status in (ParticipantStatus.NOTIFIED, ParticipantStatus.OPENED):
        return "locked"
    return participant.status.value


def whose_turn(envelope: Envelope) -> Participant | None:
    """The participant the envelope waits for (None once it ended, or while still a draft)."""
    if envelope.status not in (EnvelopeStatus.SENT, EnvelopeStatus.IN_PROGRESS):
        return None
    return envelope.current()


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """``2025-04-01 18:00:05 JST``: seconds (an audit trail's order matters), in the tenant's zone."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    name = local.tzname() or ""
    label = name if name.isalpha() else f"UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]}"
    return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {label}"


def event_label(kind: AuditKind, language: i18n.Language) -> str:
    """An audit entry's kind in ``language`` (``console.envelope.event.<kind>``)."""
    return i18n.text(f"console.envelope.event.{kind.value}", language)


def event_details(entry: AuditEntry, envelope: Envelope) -> str:
    """The entry's facts on one line, a participant id named as the person (``p2`` → 花子 <…>)."""
    people = {p.id: f"{p.person.name} <{p.person.email}>" for p in envelope.participants}
    parts = []
    for key, value in entry.data.items():
        if value is None or value == "":
            continue
        shown = people.get(value, value) if key == "participant" and isinstance(value, str) else value
        parts.append(f"{key}={shown}")
    return single_line("; ".join(str(part) for part in parts))


@dataclass(frozen=True)
class FileLink:
    number: int
    """Its place in :func:`tachiai.services.sending.downloads`' answer, counted from 1."""
    name: str


def file_links(envelope: Envelope) -> list[FileLink]:
    """The files :func:`tachiai.services.sending.downloads` hands out, in its order, without making
    their URLs (each is made when clicked): documents, an import's arrival tokens, the certificate."""
    names: list[str] = []
    for document in envelope.documents:
        names.append(document.name)
        if envelope.origin == "imported" and envelope.status == EnvelopeStatus.COMPLETED:
            names.append(f"{document.name}.tsr")
    if envelope.certificate_sha256:
        names.append(sending.certificate_file_name(envelope))
    return [FileLink(number, name) for number, name in enumerate(names, start=1)]


def audit_csv(
    envelope: Envelope, trail: Sequence[AuditEntry], zone: ZoneInfo, language: i18n.Language
) -> str:
    """The audit trail as CSV for Excel: a BOM, a header in ``language``, one row per entry, CRLF;
    every cell neutralized (:func:`csv_cell`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [csv_cell(i18n.text(f"console.envelope.csv.{column}", language)) for column in CSV_COLUMNS]
    )
    for entry in trail:
        writer.writerow(
            [
                csv_cell(entry.seq),
                csv_cell(local_time(entry.at, zone)),
                csv_cell(entry.kind.value),
                csv_cell(event_label(entry.kind, language)),
                csv_cell(entry.actor),
                csv_cell(event_details(entry, envelope)),
                csv_cell(entry.prev_hash),
                csv_cell(entry.hash),
            ]
        )
    return "\ufeff" + out.getvalue()


def csv_file_name(envelope: Envelope) -> str:
    return f"audit-{envelope.id}.csv"


# --- the pages ---------------------------------------------------------------------------------------


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    """The envelope's pages and actions (see the module docstring).

    :raises NotFound: (each page) the envelope is not readable by the visitor: the not-found page.
    """

    def detail_page(
        envelope_id: str, *, status: int = 200, problem: str | None = None, reason: str = ""
    ) -> Response[str]:
        visitor = console.visitor()
        svc = console.services()
        envelope, trail = sending.get_envelope(svc, visitor.identity, envelope_id)
        zone = svc.settings.zone
        return console.render(
            "console/envelope.html.j2",
            status=status,
            envelope=envelope,
            events=[
                {
                    "seq": e.seq,
                    "at": local_time(e.at, zone),
                    "label": event_label(e.kind, visitor.language),
                    "kind": e.kind.value,
                    "actor": e.actor,
                    "details": event_details(e, envelope),
                }
                for e in trail
            ],
            chain=check_chain(envelope, trail),
            participants=sorted(envelope.participants, key=lambda p: (p.order, p.forwarded_from is not None)),
            state_of=participant_state,
            turn=whose_turn(envelope),
            time=lambda moment: local_time(moment, zone),
            owner=envelope.sender_id == visitor.identity.sub,
            can_cancel=envelope.status in (EnvelopeStatus.SENT, EnvelopeStatus.IN_PROGRESS),
            can_resend=envelope.status in RESENDABLE and envelope.resent_as is None,
            files=file_links(envelope) if envelope.status != EnvelopeStatus.DRAFT else [],
            problem=problem,
            reason=reason,
        )

    def act(envelope_id: str, action: Callable[[SenderIdentity], tuple[str, str]]) -> Response[str]:
        """Run a sender's action, then go where it leads with its notice; a refusal shows the page
        again with the refusal's message, under its HTTP status."""
        visitor = console.visitor()
        try:
            path, notice = action(visitor.identity)
            return console.redirect(path, notice=notice)
        except NotFound:
            raise  # the not-found page, as for the page itself
        except TachiaiError as e:
            return detail_page(envelope_id, status=e.http_status, problem=e.message(visitor.language))

    def envelope_page(envelope_id: str) -> Response[str]:
        return detail_page(envelope_id)

    def remind(envelope_id: str) -> Response[str]:
        console.form()  # checks the CSRF token and the origin

        def run(identity: SenderIdentity) -> tuple[str, str]:
            sending.remind(console.services(), identity, envelope_id)
            return _path(envelope_id), "console.envelope.notice.reminded"

        return act(envelope_id, run)

    def cancel_confirm(envelope_id: str) -> Response[str]:
        visitor = console.visitor()
        envelope = sending.readable_envelope(console.services(), visitor.identity, envelope_id)
        return console.render("console/envelope_cancel.html.j2", envelope=envelope, reason="", problem=None)

    def cancel(envelope_id: str) -> Response[str]:
        form = console.form()
        reason = (form.get("reason") or [""])[0].strip()
        visitor = console.visitor()
        if len(reason) > CANCEL_REASON_MAX:
            envelope = sending.readable_envelope(console.services(), visitor.identity, envelope_id)
            problem = InvalidRequest("reason too long", field="reason").message(visitor.language)
            return console.render(
                "console/envelope_cancel.html.j2",
                status=400,
                envelope=envelope,
                reason=reason,
                problem=problem,
            )

        def run(identity: SenderIdentity) -> tuple[str, str]:
            sending.cancel(console.services(), identity, envelope_id, reason or None)
            return _path(envelope_id), "console.envelope.notice.cancelled"

        return act(envelope_id, run)

    def resend(envelope_id: str) -> Response[str]:
        console.form()

        def run(identity: SenderIdentity) -> tuple[str, str]:
            new = drafts.resend(console.services(), identity, envelope_id, ResendRequest())
            return _path(new.id), "console.envelope.notice.resent"

        return act(envelope_id, run)

    def reissue(envelope_id: str, participant_id: str) -> Response[str]:
        console.form()

        def run(identity: SenderIdentity) -> tuple[str, str]:
            drafts.reissue(console.services(), identity, envelope_id, participant_id)
            return _path(envelope_id), "console.envelope.notice.reissued"

        return act(envelope_id, run)

    def file(envelope_id: str, number: str) -> Response[str]:
        visitor = console.visitor()
        files = sending.downloads(console.services(), visitor.identity, envelope_id)
        if not number.isdigit() or not 1 <= int(number) <= len(files):
            raise NotFound(f"file {number} of {envelope_id}")
        return console.redirect_away(files[int(number) - 1].url)

    def audit_download(envelope_id: str) -> Response[str]:
        visitor = console.visitor()
        svc = console.services()
        envelope, trail = sending.get_envelope(svc, visitor.identity, envelope_id)
        text = audit_csv(envelope, trail, svc.settings.zone, visitor.language)
        name = csv_file_name(envelope)
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=text,
            headers={
                **console.security_headers(),
                "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
            },
        )

    def signatures(envelope_id: str) -> Response[str]:
        visitor = console.visitor()
        svc = console.services()
        envelope = sending.readable_envelope(svc, visitor.identity, envelope_id)
        if envelope.status != EnvelopeStatus.COMPLETED:
            return console.redirect(_path(envelope_id))
        try:
            panel = signature_panel.signature_panel(svc, visitor.identity, envelope_id)
        except NotFound:
            raise
        except TachiaiError as e:
            return console.render(
                "console/envelope_signatures.html.j2",
                status=e.http_status,
                envelope=envelope,
                panel=None,
                problem=e.message(visitor.language),
                time=lambda moment: local_time(moment, svc.settings.zone),
            )
        return console.render(
            "console/envelope_signatures.html.j2",
            envelope=envelope,
            panel=panel,
            problem=None,
            time=lambda moment: local_time(moment, svc.settings.zone),
        )

    return {
        ("GET", BASE): envelope_page,
        ("POST", f"{BASE}/remind"): remind,
        ("GET", f"{BASE}/cancel"): cancel_confirm,
        ("POST", f"{BASE}/cancel"): cancel,
        ("POST", f"{BASE}/resend"): resend,
        ("POST", f"{BASE}/participants/{{participant_id}}/reissue"): reissue,
        ("GET", f"{BASE}/files/{{number}}"): file,
        ("GET", f"{BASE}/audit.csv"): audit_download,
        ("GET", f"{BASE}/signatures"): signatures,
    }


def _path(envelope_id: str) -> str:
    return f"/app/envelopes/{quote(envelope_id, safe='')}"


__all__ = [
    "ChainCheck",
    "FileLink",
    "audit_csv",
    "check_chain",
    "event_details",
    "event_label",
    "file_links",
    "page_routes",
    "participant_state",
    "whose_turn",
]
