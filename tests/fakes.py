"""In-memory implementations of the service ports (:mod:`tachiai.services.ports`), with fault hooks.

Each fake keeps the contract of the adapter it stands for — the same typed errors, the envelope store's
conditional write on the version (:class:`Conflict` when it moved, nothing written), a task token that
can be answered once — so a service tested on them meets the world it meets in AWS, in milliseconds.

Faults (:class:`Faults`) are planned per port method (``"documents.put"``, ``"envelopes.save"``,
``"mailer.send"``, ``"sealer.seal_event"`` ...), on the n-th call: raise an error *before* the call
takes effect (the service refused, nothing happened) or *after* it (the call took effect and the task
died before it could go on: a Lambda killed after its S3 write, before its DynamoDB update).
:class:`TaskKilled` stands for the process dying; it is a ``BaseException`` so no ``except Exception``
in the code under test can swallow it, as nothing catches a SIGKILL.

The fake sealer appends one readable marker per seal instead of signing (the real sealing is tested
with the ``kit`` fixture); :func:`seals_in` reads them back, so a test can count how often each event
was sealed into the final document.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tachiai.config import Settings
from tachiai.domain.audit import AuditEntry
from tachiai.domain.console import ConsoleSession, TokenSet
from tachiai.domain.documents import original_key
from tachiai.domain.envelope import Envelope, EnvelopeStatus, next_auto_reminder
from tachiai.domain.errors import (
    ConfigurationError,
    Conflict,
    DocumentChangedSinceLastSeal,
    DocumentIntegrityError,
    Forbidden,
    FunctionUnavailable,
    InvalidRequest,
    LoginFailed,
    NotFound,
    SealingError,
    TachiaiError,
    UnknownUser,
    UserExists,
    error_from_report,
)
from tachiai.domain.events import AgreementRecord, Language, SealEvent
from tachiai.domain.ledger import DueItem, LedgerEntry, LedgerPage, LedgerQuery, ledger_entry, normalize_name
from tachiai.domain.storage import EnvelopePage, LinkRecord
from tachiai.domain.templates import Template, TemplateScope
from tachiai.domain.users import DirectoryUser, Role, StaffMember
from tachiai.mail.mime import build_mime
from tachiai.mail.templates import MailMessage
from tachiai.services.context import Services
from tachiai.services.ports import Timestamper

# --- faults ---------------------------------------------------------------------------------------


class TaskKilled(BaseException):
    """The process running a task died (timeout, out of memory, the host): nothing after this ran.

    Step Functions sees ``Lambda.Unknown``."""


ErrorFactory = type[BaseException] | BaseException | Callable[[], BaseException]


@dataclass
class _Planned:
    method: str
    first: int
    last: int
    error: ErrorFactory
    after: bool

    def make(self) -> BaseException:
        if isinstance(self.error, BaseException):
            return self.error
        if isinstance(self.error, type):
            return self.error(f"injected into {self.method}")
        return self.error()


class Faults:
    """Planned failures of port methods, and a count of every call (``calls["envelopes.save"]``)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.injected: list[tuple[str, int, str]] = []
        """(method, call number, error name) of every fault that fired."""
        self._planned: list[_Planned] = []

    def inject(
        self,
        method: str,
        error: ErrorFactory,
        *,
        call: int = 1,
        times: int = 1,
        after: bool = False,
    ) -> Faults:
        """Raise ``error`` on calls ``call`` .. ``call + times - 1`` of ``method``; with ``after``, once
        the call took effect (its write stands)."""
        self._planned.append(_Planned(method, call, call + times - 1, error, after))
        return self

    def always(self, method: str, error: ErrorFactory, *, after: bool = False) -> Faults:
        """Every call of ``method`` from now on fails."""
        return self.inject(method, error, call=self.calls[method] + 1, times=10**9, after=after)

    def clear(self) -> None:
        """The outside world recovers: nothing planned fails any more."""
        self._planned.clear()

    @contextmanager
    def call(self, method: str) -> Iterator[None]:
        """Wrap one call of ``method``: planned faults fire before the body runs, or after it."""
        self.calls[method] += 1
        number = self.calls[method]
        self._fire(method, number, after=False)
        yield
        self._fire(method, number, after=True)

    def _fire(self, method: str, number: int, *, after: bool) -> None:
        for planned in self._planned:
            if (
                planned.method == method
                and planned.after == after
                and planned.first <= number <= planned.last
            ):
                error = planned.make()
                self.injected.append((method, number, type(error).__name__))
                raise error


# --- the envelope store ---------------------------------------------------------------------------


class FakeEnvelopeStore:
    """:class:`~tachiai.services.ports.EnvelopeStore` in memory: one atomic, conditional write per save."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.envelopes: dict[str, Envelope] = {}
        self.audit: dict[str, list[AuditEntry]] = {}
        self.links: dict[str, LinkRecord] = {}
        self.task_tokens: dict[tuple[str, str], str] = {}

    def get(self, envelope_id: str) -> Envelope:
        with self.faults.call("envelopes.get"):
            if envelope_id not in self.envelopes:
                raise NotFound(f"envelope {envelope_id}")
            return self.envelopes[envelope_id]

    def get_many(self, envelope_ids: Sequence[str]) -> list[Envelope]:
        with self.faults.call("envelopes.get_many"):
            wanted = dict.fromkeys(envelope_ids)
            return [self.envelopes[i] for i in wanted if i in self.envelopes]

    def save(
        self,
        envelope: Envelope,
        entries: Sequence[AuditEntry],
        *,
        create: bool = False,
        links_added: Sequence[LinkRecord] = (),
        links_removed: Sequence[str] = (),
    ) -> Envelope:
        with self.faults.call("envelopes.save"):
            stored = self.envelopes.get(envelope.id)
            if create and stored is not None:
                raise Conflict(f"save envelope {envelope.id}: changed concurrently")
            if not create and (stored is None or stored.version != envelope.version):
                raise Conflict(f"save envelope {envelope.id}: changed concurrently")
            trail = self.audit.setdefault(envelope.id, [])
            known = {e.seq for e in trail}
            if any(e.seq in known for e in entries):
                raise Conflict(f"save envelope {envelope.id}: changed concurrently")
            # Everything below happens together, as in the DynamoDB transaction.
            new = envelope.model_copy(update={"version": envelope.version + 1})
            self.envelopes[envelope.id] = new
            trail.extend(entries)
            for link in links_added:
                self.links[link.token_sha256] = link
            for token_sha256 in links_removed:
                self.links.pop(token_sha256, None)
            return new

    def list_for_sender(
        self, sender_id: str, status: EnvelopeStatus | None = None, limit: int = 50, cursor: str | None = None
    ) -> EnvelopePage:
        with self.faults.call("envelopes.list_for_sender"):
            mine = sorted(
                (
                    e
                    for e in self.envelopes.values()
                    if e.sender_id == sender_id and (status is None or e.status == status)
                ),
                # DynamoDB's order (gsi1 sort key ``<status>#<updated>#<id>`` read backwards): by
                # status in SENDER_LIST_ORDER, newest change first within each.
                key=lambda e: f"{e.status.value}#{e.updated_at.isoformat()}#{e.id}",
                reverse=True,
            )
            start = _offset(cursor)
            page = mine[start : start + limit]
            more = start + limit < len(mine)
            return EnvelopePage(envelopes=page, cursor=str(start + limit) if more else None)

    def audit_trail(self, envelope_id: str) -> list[AuditEntry]:
        with self.faults.call("envelopes.audit_trail"):
            return sorted(self.audit.get(envelope_id, []), key=lambda e: e.seq)

    def find_link(self, token_sha256: str) -> LinkRecord:
        with self.faults.call("envelopes.find_link"):
            if token_sha256 not in self.links:
                raise NotFound("link")
            return self.links[token_sha256]

    def put_task_token(self, envelope_id: str, participant_id: str, task_token: str) -> None:
        with self.faults.call("envelopes.put_task_token"):
            self.task_tokens[(envelope_id, participant_id)] = task_token

    def task_token(self, envelope_id: str, participant_id: str) -> str:
        with self.faults.call("envelopes.task_token"):
            if (envelope_id, participant_id) not in self.task_tokens:
                raise NotFound(f"task token for {participant_id}")
            return self.task_tokens[(envelope_id, participant_id)]

    def delete_draft(self, envelope: Envelope, entry: AuditEntry) -> None:
        with self.faults.call("envelopes.delete_draft"):
            stored = self.envelopes.get(envelope.id)
            if stored is None or stored.version != envelope.version:
                raise Conflict(f"delete envelope {envelope.id}: changed concurrently")
            trail = self.audit.setdefault(envelope.id, [])
            if any(e.seq == entry.seq for e in trail):
                raise Conflict(f"delete envelope {envelope.id}: changed concurrently")
            del self.envelopes[envelope.id]
            trail.append(entry)

    def due_reminders(self, at: datetime, limit: int = 100) -> list[str]:
        with self.faults.call("envelopes.due_reminders"):
            due = [
                (when, e.id)
                for e in self.envelopes.values()
                if (when := next_auto_reminder(e)) is not None and when <= at
            ]
            return [envelope_id for _, envelope_id in sorted(due)[:limit]]


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise InvalidRequest("bad cursor", field="cursor")
    return int(cursor)


# --- templates ------------------------------------------------------------------------------------


class FakeTemplateStore:
    """:class:`~tachiai.services.ports.TemplateStore` in memory: conditional writes on the version."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.templates: dict[str, Template] = {}

    def get(self, template_id: str) -> Template:
        with self.faults.call("templates.get"):
            if template_id not in self.templates:
                raise NotFound(f"template {template_id}")
            return self.templates[template_id]

    def save(self, template: Template, *, create: bool = False) -> Template:
        with self.faults.call("templates.save"):
            stored = self.templates.get(template.id)
            if (create and stored is not None) or (
                not create and (stored is None or stored.version != template.version)
            ):
                raise Conflict(f"save template {template.id}: changed concurrently")
            new = template.model_copy(update={"version": template.version + 1})
            self.templates[template.id] = new
            return new

    def delete(self, template: Template) -> None:
        with self.faults.call("templates.delete"):
            stored = self.templates.get(template.id)
            if stored is None or stored.version != template.version:
                raise Conflict(f"delete template {template.id}: changed concurrently")
            del self.templates[template.id]

    def list_for(self, owner_id: str) -> list[Template]:
        with self.faults.call("templates.list_for"):
            usable = [
                t for t in self.templates.values() if t.scope == TemplateScope.TEAM or t.owner_id == owner_id
            ]
            return sorted(usable, key=lambda t: (t.name, t.id))


# --- documents ------------------------------------------------------------------------------------


class FakeDocumentStore:
    """:class:`~tachiai.services.ports.DocumentStore` in memory (every key keeps its latest bytes)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.objects: dict[str, bytes] = {}
        self.writes: list[str] = []
        """Every key written, in order (a key written twice appears twice)."""

    def put(self, key: str, data: bytes) -> None:
        with self.faults.call("documents.put"):
            self.objects[key] = bytes(data)
            self.writes.append(key)

    def get(self, key: str) -> bytes:
        with self.faults.call("documents.get"):
            if key not in self.objects:
                raise NotFound(f"document {key}")
            return self.objects[key]

    def download_url(
        self, key: str, filename: str, expires_in: int, expected_sha256: str | None = None
    ) -> str:
        with self.faults.call("documents.download_url"):
            if expected_sha256 is not None:
                if key not in self.objects:
                    raise NotFound(f"document {key}")
                if hashlib.sha256(self.objects[key]).hexdigest() != expected_sha256:
                    raise DocumentIntegrityError(key, name=filename)
            return f"https://documents.invalid/{key}?filename={filename}&expires_in={expires_in}"

    def accept_upload(self, upload: str, key: str) -> None:
        with self.faults.call("documents.accept_upload"):
            if upload not in self.objects:
                raise NotFound(f"upload {upload}")
            self.objects[key] = self.objects[upload]
            self.writes.append(key)

    def upload_url(self, key: str, expires_in: int, max_bytes: int) -> dict[str, object]:
        with self.faults.call("documents.upload_url"):
            return {
                "url": "https://documents.invalid/",
                "fields": {"key": key, "Content-Type": "application/pdf", "max_bytes": str(max_bytes)},
            }


# --- the signing chain ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskAnswer:
    """How a waiting task was answered: ``output`` (success) or ``error``/``cause`` (failure)."""

    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None


class FakeChain:
    """:class:`~tachiai.services.ports.SigningChain`: executions by name, task tokens answered once.

    The test driver opens a token per attempt of a waiting task and closes it when the attempt ends
    (answered, failed, timed out); answering a closed or answered token is :class:`Conflict`, as
    ``TaskDoesNotExist`` / ``TaskTimedOut`` / ``InvalidToken`` are for the adapter.
    """

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.executions: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, TaskAnswer] = {}
        self._open: set[str] = set()
        self._numbers = itertools.count(1)

    def start(self, envelope_id: str, execution_input: dict[str, Any]) -> str:
        with self.faults.call("chain.start"):
            if envelope_id in self.executions:
                raise Conflict(f"start chain for {envelope_id}: ExecutionAlreadyExists")
            self.executions[envelope_id] = execution_input
            return f"arn:aws:states:ap-northeast-1:123456789012:execution:chain:{envelope_id}"

    def open_task(self) -> str:
        token = f"task-token-{next(self._numbers)}"
        self._open.add(token)
        return token

    def close_task(self, token: str) -> None:
        self._open.discard(token)

    def _answer(self, token: str, answer: TaskAnswer) -> None:
        if token not in self._open or token in self.answers:
            raise Conflict("TaskDoesNotExist")
        self.answers[token] = answer

    def resume(self, task_token: str, output: dict[str, Any]) -> None:
        with self.faults.call("chain.resume"):
            json.dumps(output)  # it travels as JSON
            self._answer(task_token, TaskAnswer(output=output))

    def fail(self, task_token: str, error: str, cause: str) -> None:
        with self.faults.call("chain.fail"):
            self._answer(task_token, TaskAnswer(error=error, cause=cause[:32768]))


# --- mail -----------------------------------------------------------------------------------------


class FakeMailer:
    """:class:`~tachiai.services.ports.Mailer`: the outbox. Builds the MIME message as the SES adapter
    does, so an address SES would refuse raises the same :class:`InvalidMailAddress`."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.outbox: list[MailMessage] = []

    def send(self, message: MailMessage) -> str:
        with self.faults.call("mailer.send"):
            build_mime(message)
            self.outbox.append(message)
            return f"<fake-{len(self.outbox)}@mail.invalid>"

    def to(self, address: str) -> list[MailMessage]:
        return [m for m in self.outbox if m.to.email.lower() == address.lower()]


# --- sealing --------------------------------------------------------------------------------------

SEAL_MARK = b"\n%tachiai-fake-seal "
TIMESTAMP_MARK = b"\n%tachiai-fake-document-timestamp\n"
LOCK = "completion lock"
"""What the fake sealer writes for the completion seal that locks the document."""


def seals_in(pdf: bytes) -> list[str]:
    """The seals a :class:`FakeSealer` appended to ``pdf``, in order (``"agreed hanako@example.com"``)."""
    return [part.split(b"\n", 1)[0].decode() for part in pdf.split(SEAL_MARK)[1:]]


class FakeSealer:
    """:class:`~tachiai.services.ports.Sealer` that appends a marker per seal instead of signing; it
    keeps the real one's hash-chain check (:class:`DocumentChangedSinceLastSeal`)."""

    def __init__(self, faults: Faults, timestamper: Timestamper | None = None) -> None:
        self.faults = faults
        self._timestamper = timestamper

    @property
    def timestamper(self) -> Timestamper:
        if self._timestamper is None:
            raise ConfigurationError("this FakeSealer was given no timestamper", name="timestamper")
        return self._timestamper

    def seal_event(
        self, pdf: bytes, event: SealEvent, language: Language = "ja", *, expected_sha256: str | None = None
    ) -> bytes:
        with self.faults.call("sealer.seal_event"):
            return self._append(pdf, f"{event.kind.value} {event.actor.email}", expected_sha256)

    def seal(
        self, pdf: bytes, reason: str, *, expected_sha256: str | None = None, lock: bool = False
    ) -> bytes:
        with self.faults.call("sealer.seal"):
            return self._append(pdf, LOCK if lock else reason.replace("\n", " "), expected_sha256)

    def finalize(self, pdf: bytes, *, lock: bool = True) -> bytes:
        with self.faults.call("sealer.finalize"):
            if SEAL_MARK not in pdf:
                raise SealingError("finalize needs at least one seal")
            if lock and seals_in(pdf)[-1] != LOCK:
                pdf = self._append(pdf, LOCK, None)
            return pdf + TIMESTAMP_MARK

    @staticmethod
    def _append(pdf: bytes, what: str, expected_sha256: str | None) -> bytes:
        if expected_sha256 is not None and hashlib.sha256(pdf).hexdigest() != expected_sha256:
            raise DocumentChangedSinceLastSeal(f"expected SHA-256 {expected_sha256}")
        return pdf + SEAL_MARK + what.encode() + b"\n"


def fake_certificate(record: AgreementRecord) -> bytes:
    """A stand-in for the rendered certificate: the record, readable, in a minimal PDF shell."""
    return b"%PDF-1.7\n%fake agreement certificate\n" + record.model_dump_json().encode() + b"\n%%EOF\n"


# --- functions, ledger, directory -------------------------------------------------------------------


class FakeFunctions:
    """:class:`~tachiai.services.ports.FunctionInvoker`: each function is a callable taking the payload.

    As the adapter does: ``{"error": report}`` in a result raises that error; a function that raises
    anything else is :class:`FunctionUnavailable` (the Lambda crashed)."""

    def __init__(self, faults: Faults, routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        self.faults = faults
        self.routes = routes
        self.started: list[tuple[str, dict[str, Any]]] = []
        """Events handed to :meth:`start` and not run yet."""
        self.failed: list[tuple[str, dict[str, Any], str]] = []
        """Events whose every run failed (function, payload, error type): the failures queue."""

    def call(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self.faults.call("functions.call"):
            route = self.routes.get(function)
            if route is None:
                raise FunctionUnavailable(f"invoke {function}: ResourceNotFoundException")
            try:
                result = route(json.loads(json.dumps(payload)))
            except TachiaiError as e:
                raise FunctionUnavailable(f"{function} failed: {type(e).__name__}") from e
            if "error" in result:
                raise error_from_report(result["error"])
            return result

    def start(self, function: str, payload: dict[str, Any]) -> None:
        """Queued, as Lambda queues an event: nothing runs until :meth:`run_started`."""
        with self.faults.call("functions.start"):
            if function not in self.routes:
                raise FunctionUnavailable(f"invoke {function}: ResourceNotFoundException")
            self.started.append((function, json.loads(json.dumps(payload))))

    def run_started(self) -> None:
        """Run the queued events as Lambda does: a run that raises is retried
        (:data:`~tachiai.names.ASYNC_RETRY_ATTEMPTS`), then lands in :attr:`failed` (the failures queue)."""
        from tachiai.names import ASYNC_RETRY_ATTEMPTS

        queued, self.started = self.started, []
        for function, payload in queued:
            for attempt in range(ASYNC_RETRY_ATTEMPTS + 1):
                try:
                    self.routes[function](payload)
                    break
                except Exception as e:  # Lambda records any failure of an event's run
                    if attempt == ASYNC_RETRY_ATTEMPTS:
                        self.failed.append((function, payload, type(e).__name__))


class FakeLedgerIndex:
    """:class:`~tachiai.services.ports.LedgerIndex` over the fake envelope store's envelopes."""

    def __init__(self, faults: Faults, envelopes: FakeEnvelopeStore, zone: ZoneInfo) -> None:
        self.faults = faults
        self._envelopes = envelopes
        self._zone = zone
        self.texts: dict[str, str] = {}
        self.alerts: set[str] = set()

    def _entries(self) -> list[LedgerEntry]:
        return [ledger_entry(e, self._zone) for e in self._envelopes.envelopes.values()]

    def search(self, query: LedgerQuery, limit: int = 50, cursor: str | None = None) -> LedgerPage:
        with self.faults.call("ledger.search"):
            found = [e for e in self._entries() if _matches(e, query, self.texts)]
            found.sort(key=lambda e: (e.transaction_date, e.envelope_id), reverse=True)
            start = _offset(cursor)
            more = start + limit < len(found)
            return LedgerPage(
                entries=found[start : start + limit],
                cursor=str(start + limit) if more else None,
                items_read=len(found),
                calls=1,
            )

    def store_text(self, envelope_id: str, text: str) -> None:
        with self.faults.call("ledger.store_text"):
            self.texts[envelope_id] = normalize_name(text)

    def due_between(self, first: date, last: date) -> list[DueItem]:
        with self.faults.call("ledger.due_between"):
            due: list[DueItem] = []
            for entry in self._entries():
                for kind, day in (("notice", entry.notice_deadline), ("end", entry.end_date)):
                    if day is not None and first <= day <= last:
                        due.append(DueItem(entry=entry, kind=kind, due=day))  # type: ignore[arg-type]
            return sorted(due, key=lambda d: (d.due, d.entry.envelope_id, d.kind))

    def claim_alert(self, key: str) -> bool:
        with self.faults.call("ledger.claim_alert"):
            if key in self.alerts:
                return False
            self.alerts.add(key)
            return True

    def release_alert(self, key: str) -> None:
        with self.faults.call("ledger.release_alert"):
            self.alerts.discard(key)


def _matches(entry: LedgerEntry, query: LedgerQuery, texts: dict[str, str]) -> bool:
    checks = [
        query.date_from is None or entry.transaction_date >= query.date_from,
        query.date_to is None or entry.transaction_date <= query.date_to,
        query.counterparty is None
        or any(normalize_name(query.counterparty) in normalize_name(c) for c in entry.counterparties),
        query.amount_min is None or (entry.amount is not None and entry.amount >= query.amount_min),
        query.amount_max is None or (entry.amount is not None and entry.amount <= query.amount_max),
        query.title is None or normalize_name(query.title) in normalize_name(entry.title),
        query.text is None or normalize_name(query.text) in texts.get(entry.envelope_id, ""),
        query.status is None or entry.status == query.status,
        query.owner_id is None or entry.owner_id == query.owner_id,
    ]
    return all(checks)


class FakeDirectory:
    """:class:`~tachiai.services.ports.UserDirectory`: the staff members by username."""

    def __init__(self, faults: Faults, members: Sequence[StaffMember] = ()) -> None:
        self.faults = faults
        self.members = {m.username: m for m in members}
        self.accounts: dict[str, DirectoryUser] = {}
        self.invited: list[str] = []
        """Addresses an invitation was mailed to, in order."""

    def member(self, username: str) -> StaffMember:
        with self.faults.call("directory.member"):
            if username not in self.members:
                raise Forbidden("user not in the pool")
            return self.members[username]

    # --- user management (the accounts, by username; an email finds its user as Cognito's alias does)

    def add(self, user: DirectoryUser) -> DirectoryUser:
        """An existing account (a test's starting point)."""
        self.accounts[user.username] = user
        return user

    def _find(self, user: str) -> DirectoryUser:
        found = self.accounts.get(user) or next(
            (u for u in self.accounts.values() if u.email.lower() == user.lower()), None
        )
        if found is None:
            raise UnknownUser(f"no user {user}", user=user)
        return found

    def users(self) -> list[DirectoryUser]:
        with self.faults.call("directory.users"):
            return list(self.accounts.values())

    def user(self, user: str) -> DirectoryUser:
        with self.faults.call("directory.user"):
            return self._find(user)

    def invite(self, email: str, name: str, role: Role) -> DirectoryUser:
        with self.faults.call("directory.invite"):
            if any(u.email.lower() == email.lower() for u in self.accounts.values()):
                raise UserExists(f"{email} exists", email=email)
            user = DirectoryUser(
                username=f"user-{len(self.accounts) + 1}",
                email=email,
                name=name,
                role=role,
                status="FORCE_CHANGE_PASSWORD",
                groups=(role,),
            )
            self.invited.append(email)
            return self.add(user)

    def set_enabled(self, user: str, enabled: bool) -> DirectoryUser:
        with self.faults.call("directory.set_enabled"):
            return self.add(dataclasses.replace(self._find(user), enabled=enabled))

    def set_role(self, user: str, role: Role) -> DirectoryUser:
        with self.faults.call("directory.set_role"):
            return self.add(dataclasses.replace(self._find(user), role=role, groups=(role,)))


class FakeConsoleSessions:
    """:class:`~tachiai.services.ports.ConsoleSessions`: the console's sessions by key."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.sessions: dict[str, ConsoleSession] = {}

    def create(self, session: ConsoleSession) -> None:
        with self.faults.call("console_sessions.create"):
            self.sessions[session.key] = session

    def get(self, key: str) -> ConsoleSession | None:
        with self.faults.call("console_sessions.get"):
            return self.sessions.get(key)

    def touch(self, key: str, seen_at: datetime, groups: tuple[str, ...]) -> None:
        with self.faults.call("console_sessions.touch"):
            if key in self.sessions:
                self.sessions[key] = dataclasses.replace(
                    self.sessions[key], last_seen_at=seen_at, groups=groups
                )

    def delete(self, key: str) -> None:
        with self.faults.call("console_sessions.delete"):
            self.sessions.pop(key, None)

    def for_user(self, username: str) -> list[ConsoleSession]:
        with self.faults.call("console_sessions.for_user"):
            return [s for s in self.sessions.values() if s.username == username]


class FakeLogin:
    """:class:`~tachiai.services.ports.LoginService`: an authorization server that hands out the codes a
    test gives it (``codes[code] = (claims, refresh_token)``) and remembers revocations."""

    BASE = "https://login.example.co.jp"

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.codes: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.exchanged: list[dict[str, str]] = []
        self.revoked: list[str] = []
        self.signed_out_everywhere: list[str] = []

    def authorize_url(self, *, state: str, challenge: str, redirect_uri: str, language: Language) -> str:
        from urllib.parse import urlencode

        query = {"state": state, "code_challenge": challenge, "redirect_uri": redirect_uri, "lang": language}
        return f"{self.BASE}/oauth2/authorize?{urlencode(query)}"

    def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        with self.faults.call("login.exchange"):
            self.exchanged.append({"code": code, "verifier": verifier, "redirect_uri": redirect_uri})
            if code not in self.codes:
                raise LoginFailed("unknown code", error="invalid_grant")
            claims, refresh = self.codes.pop(code)
            return TokenSet(id_claims=claims, refresh_token=refresh)

    def revoke(self, refresh_token: str) -> None:
        with self.faults.call("login.revoke"):
            self.revoked.append(refresh_token)

    def logout_url(self, *, logout_uri: str) -> str:
        from urllib.parse import urlencode

        return f"{self.BASE}/logout?{urlencode({'client_id': 'console', 'logout_uri': logout_uri})}"

    def sign_out_everywhere(self, username: str) -> None:
        with self.faults.call("login.sign_out_everywhere"):
            self.signed_out_everywhere.append(username)


# --- all of them ----------------------------------------------------------------------------------

SEAL_FUNCTION = "tachiai-seal"
EXTRACT_FUNCTION = "tachiai-extract"


@dataclass
class Clock:
    """A clock a test moves by hand (timezone-aware)."""

    now: datetime = field(default_factory=lambda: datetime(2025, 4, 1, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class FakeWorld:
    """Every fake, the services built on them, the faults and the clock."""

    svc: Services
    faults: Faults
    clock: Clock
    envelopes: FakeEnvelopeStore
    documents: FakeDocumentStore
    chain: FakeChain
    mailer: FakeMailer
    sealer: FakeSealer
    functions: FakeFunctions
    ledger: FakeLedgerIndex
    directory: FakeDirectory
    templates: FakeTemplateStore = field(default_factory=lambda: FakeTemplateStore(Faults()))
    console_sessions: FakeConsoleSessions = field(default_factory=lambda: FakeConsoleSessions(Faults()))
    login: FakeLogin = field(default_factory=lambda: FakeLogin(Faults()))


def fake_world(*, sealer: Any = None, settings: Settings | None = None) -> FakeWorld:
    """Services on in-memory fakes. ``sealer`` replaces the fake sealer (the ``kit``'s real one)."""
    faults, clock = Faults(), Clock()
    settings = settings or Settings(
        table="envelopes",
        bucket="documents",
        state_machine_arn="arn:aws:states:ap-northeast-1:123456789012:stateMachine:chain",
        seal_function=SEAL_FUNCTION,
        extract_function=EXTRACT_FUNCTION,
        mail_from="noreply@sign.example.co.jp",
        public_url="https://sign.example.co.jp",
    )
    envelopes = FakeEnvelopeStore(faults)
    documents = FakeDocumentStore(faults)
    chain = FakeChain(faults)
    mailer = FakeMailer(faults)
    fake_sealer = FakeSealer(faults)
    functions = FakeFunctions(faults, {})
    ledger = FakeLedgerIndex(faults, envelopes, settings.zone)
    directory = FakeDirectory(faults)
    templates = FakeTemplateStore(faults)
    console_sessions = FakeConsoleSessions(faults)
    login = FakeLogin(faults)
    svc = Services(
        settings,
        clock,
        envelopes=envelopes,
        documents=documents,
        chain=chain,
        functions=functions,
        ledger=ledger,
        directory=directory,
        mailer=mailer,
        sealer=sealer or fake_sealer,
        render_certificate=fake_certificate if sealer is None else None,
        templates=templates,
        console_sessions=console_sessions,
        login=login,
    )
    return FakeWorld(
        svc,
        faults,
        clock,
        envelopes,
        documents,
        chain,
        mailer,
        fake_sealer,
        functions,
        ledger,
        directory,
        templates=templates,
        console_sessions=console_sessions,
        login=login,
    )


def import_arrival(world: FakeWorld, payload: dict[str, Any]) -> dict[str, Any]:
    """What the seal function answers for an import's arrival (the real one is tested with the sealing
    kit): the hash and size of the bytes it found under the document's key, and a time."""
    data = world.documents.get(original_key(payload["envelopeId"], payload["documentId"]))
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "time": "2025-04-01T00:00:00Z"}
