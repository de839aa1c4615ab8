"""The ports the use cases depend on: what each outside system must do, never how.

The adapters (:mod:`tachiai.adapters`) implement them against AWS; ``tests/fakes.py`` implements them
in memory, with fault hooks, so service behaviour — and what happens when a task dies halfway — is
tested in milliseconds. :class:`~tachiai.services.context.Services` is typed to these protocols and
accepts any implementation.

Each method's contract includes the errors it raises: a fake that raised something else would test a
world the services never meet. In particular, :meth:`EnvelopeStore.save` is a conditional write that
raises :class:`~tachiai.domain.errors.Conflict` when the stored version moved, and every store raises
its ``...Unavailable`` error (a class name the state machine retries on) when the service fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from asn1crypto import cms

    from tachiai.domain.audit import AuditEntry
    from tachiai.domain.console import ConsoleSession, TokenSet
    from tachiai.domain.envelope import Envelope, EnvelopeStatus
    from tachiai.domain.events import AgreementRecord, Language, SealEvent
    from tachiai.domain.ledger import DueItem, LedgerPage, LedgerQuery
    from tachiai.domain.storage import EnvelopePage, LinkRecord
    from tachiai.domain.templates import Template
    from tachiai.domain.users import DirectoryUser, Role, StaffMember
    from tachiai.mail.templates import MailMessage


class EnvelopeStore(Protocol):
    """Envelopes, their audit trails, link tokens and task tokens (DynamoDB)."""

    def get(self, envelope_id: str) -> Envelope:
        """:raises NotFound: no such envelope. :raises StorageUnavailable: the store failed."""
        ...

    def get_many(self, envelope_ids: Sequence[str]) -> list[Envelope]:
        """The envelopes of ``envelope_ids`` in that order (each once), read as :meth:`get` reads
        them but in a few batched calls instead of one per id — for lists (an index's page of ids).
        An id with no envelope (a draft discarded since the index was read) is skipped, not an error.

        :raises StorageUnavailable: the store failed (or kept some keys unprocessed through retries).
        """
        ...

    def save(
        self,
        envelope: Envelope,
        entries: Sequence[AuditEntry],
        *,
        create: bool = False,
        links_added: Sequence[LinkRecord] = (),
        links_removed: Sequence[str] = (),
    ) -> Envelope:
        """Write the envelope (conditional on ``envelope.version``), its new audit entries and link
        changes atomically; return the stored envelope (version + 1).

        :raises Conflict: the stored version is not ``envelope.version`` (or, with ``create``, it exists).
        :raises StorageUnavailable: the store failed (nothing was written).
        """
        ...

    def list_for_sender(
        self, sender_id: str, status: EnvelopeStatus | None = None, limit: int = 50, cursor: str | None = None
    ) -> EnvelopePage:
        """A sender's envelopes of ``status``, newest change first; without it, all of them grouped by
        status in :data:`tachiai.domain.storage.SENDER_LIST_ORDER`, newest change first within each
        (the index's sort key begins with the status), so a first page is every envelope of the
        statuses before the last one it reaches."""
        ...

    def audit_trail(self, envelope_id: str) -> list[AuditEntry]:
        """Every audit entry of an envelope, in order."""
        ...

    def find_link(self, token_sha256: str) -> LinkRecord:
        """:raises NotFound: unknown or dead link."""
        ...

    def put_task_token(self, envelope_id: str, participant_id: str, task_token: str) -> None:
        """Remember the task token waiting for this participant (replacing an older one)."""
        ...

    def task_token(self, envelope_id: str, participant_id: str) -> str:
        """:raises NotFound: no execution is waiting for this participant."""
        ...

    def delete_draft(self, envelope: Envelope, entry: AuditEntry) -> None:
        """Remove a draft (conditional on ``envelope.version``) from every listing and the ledger, and
        append ``entry`` (its deletion) to its audit trail, which stays.

        :raises Conflict: the stored version is not ``envelope.version``.
        :raises StorageUnavailable: the store failed (nothing was written).
        """
        ...

    def due_reminders(self, at: datetime, limit: int = 100) -> list[str]:
        """Ids of the envelopes whose next automatic reminder
        (:func:`tachiai.domain.envelope.next_auto_reminder`) is due at or before ``at``, earliest
        first: one query of an index kept by :meth:`save`, never a scan. The index may lag a write:
        callers read each envelope again before acting.

        :raises StorageUnavailable: the store failed.
        """
        ...


class TemplateStore(Protocol):
    """Templates (DynamoDB, beside the envelopes)."""

    def get(self, template_id: str) -> Template:
        """:raises NotFound: no such template. :raises StorageUnavailable: the store failed."""
        ...

    def save(self, template: Template, *, create: bool = False) -> Template:
        """Write the template conditional on ``template.version`` (with ``create``: that none exists);
        return it as stored (version + 1).

        :raises Conflict: the stored version moved (or, with ``create``, it exists).
        :raises StorageUnavailable: the store failed.
        """
        ...

    def delete(self, template: Template) -> None:
        """Remove the template, conditional on ``template.version``. :raises Conflict: it changed."""
        ...

    def list_for(self, owner_id: str) -> list[Template]:
        """The templates ``owner_id`` may use: their personal ones and the team's, by name.

        :raises StorageUnavailable: the store failed.
        """
        ...


class DocumentStore(Protocol):
    """Contract files (S3): every version under its own key."""

    def put(self, key: str, data: bytes) -> None:
        """:raises DocumentStoreUnavailable: the store failed."""
        ...

    def get(self, key: str) -> bytes:
        """:raises NotFound: no such file. :raises DocumentStoreUnavailable: the store failed."""
        ...

    def download_url(
        self, key: str, filename: str, expires_in: int, expected_sha256: str | None = None
    ) -> str:
        """A short-lived URL that downloads ``key`` as ``filename``; with ``expected_sha256``, only
        after the stored bytes were checked against it.

        :raises DocumentIntegrityError: the stored file's SHA-256 is not ``expected_sha256``.
        """
        ...

    def upload_url(self, key: str, expires_in: int, max_bytes: int) -> dict[str, object]:
        """A presigned upload (form fields and URL) for ``key``, size-limited."""
        ...

    def accept_upload(self, upload: str, key: str) -> None:
        """Copy the presigned upload at ``upload`` to the document's own ``key``.

        :raises NotFound: nothing was uploaded there.
        """
        ...


class SigningChain(Protocol):
    """The signing chain's executions (Step Functions)."""

    def start(self, envelope_id: str, execution_input: dict[str, Any]) -> str:
        """Start the envelope's execution (once). :raises Conflict: it already exists."""
        ...

    def resume(self, task_token: str, output: dict[str, Any]) -> None:
        """Answer a waiting task. :raises Conflict: the task is gone (answered, timed out)."""
        ...

    def fail(self, task_token: str, error: str, cause: str) -> None:
        """End a waiting task with ``error``. :raises Conflict: the task is gone."""
        ...


class Mailer(Protocol):
    """Outgoing mail (SES)."""

    def send(self, message: MailMessage) -> str:
        """Send one message; returns its Message-ID.

        :raises InvalidMailAddress: an address the mail service cannot take.
        :raises MailServiceThrottled: throttled or briefly failing (retry later).
        :raises MailRejected: refused for good (do not retry).
        :raises MailServiceError: any other failure.
        """
        ...


class Timestamper(Protocol):
    """An RFC 3161 time-stamping authority (with failover)."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        """:raises TimestampUnavailable: no TSA gave a valid token."""
        ...


class Sealer(Protocol):
    """The sealing engine (:class:`tachiai.sealing.seal.Sealer`): seals, document timestamps."""

    @property
    def timestamper(self) -> Timestamper: ...

    def seal_event(
        self, pdf: bytes, event: SealEvent, language: Language = "ja", *, expected_sha256: str | None = None
    ) -> bytes:
        """``pdf`` with one more seal, for ``event``. Raises as :meth:`seal`."""
        ...

    def seal(
        self, pdf: bytes, reason: str, *, expected_sha256: str | None = None, lock: bool = False
    ) -> bytes:
        """``pdf`` with one more seal (``lock``: the completion seal that locks fields and document).

        :raises DocumentChangedSinceLastSeal: ``pdf`` is not the file ``expected_sha256`` names.
        :raises TimestampUnavailable / KeyServiceThrottled / RevocationInfoUnavailable: retryable.
        :raises SealValidationFailed / SealingError: not retryable.
        """
        ...

    def finalize(self, pdf: bytes, *, lock: bool = True) -> bytes:
        """``pdf`` with the document timestamp (PAdES B-LTA), after a completion seal that locks it
        (``lock``, unless its last seal already does). Raises as :meth:`seal`."""
        ...


RenderCertificate = Callable[["AgreementRecord"], bytes]
"""The agreement certificate (an unsealed PDF) of a record
(:func:`tachiai.sealing.certificate.render_agreement_certificate`).

:raises CertificateRenderError: the record cannot be laid out.
"""


class FunctionInvoker(Protocol):
    """Calls to tachiai's own functions (Lambda): synchronous, or started to run on their own."""

    def call(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The function's result.

        :raises TachiaiError: the error the function reported.
        :raises FunctionUnavailable: the call failed or the function crashed.
        """
        ...

    def start(self, function: str, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for ``function`` (an asynchronous invocation: retried, its last failure
        sent to the function's failure destination); returns without waiting for it to run.

        :raises FunctionUnavailable: the event was not accepted.
        """
        ...


class LedgerIndex(Protocol):
    """The contract ledger's searches, texts and deadline alerts (DynamoDB)."""

    def search(self, query: LedgerQuery, limit: int = 50, cursor: str | None = None) -> LedgerPage: ...

    def store_text(self, envelope_id: str, text: str) -> None: ...

    def due_between(self, first: date, last: date) -> list[DueItem]: ...

    def claim_alert(self, key: str) -> bool:
        """Whether this alert was not claimed before (claimed now, once)."""
        ...

    def release_alert(self, key: str) -> None: ...


class UserDirectory(Protocol):
    """The senders' user pool (Cognito; the local user store of ``tachiai local``).

    ``user`` is a username or an email address (the pool signs in with the email as an alias). Every
    method raises :class:`~tachiai.domain.errors.DirectoryUnavailable` when the directory failed.
    """

    def member(self, username: str) -> StaffMember:
        """:raises Forbidden: unknown or disabled. :raises DirectoryUnavailable: the pool failed."""
        ...

    def users(self) -> list[DirectoryUser]:
        """Every staff member, enabled or not, by email."""
        ...

    def user(self, user: str) -> DirectoryUser:
        """:raises UnknownUser: no such user."""
        ...

    def invite(self, email: str, name: str, role: Role) -> DirectoryUser:
        """Create the account and mail the invitation (a temporary password).

        :raises UserExists: the address has an account. :raises DirectoryRefused: a value refused.
        """
        ...

    def set_enabled(self, user: str, enabled: bool) -> DirectoryUser:
        """Let the user sign in again, or no longer (a disabled user's sessions end).

        :raises UnknownUser: no such user.
        """
        ...

    def set_role(self, user: str, role: Role) -> DirectoryUser:
        """Make ``role`` the user's only role group. :raises UnknownUser: no such user."""
        ...


class ConsoleSessions(Protocol):
    """The sender console's server-side sessions (DynamoDB; the browser holds only a random id).

    Keyed by the SHA-256 of the session id, so a copy of the table opens no session. Expired sessions
    are also removed by the table's TTL; :mod:`tachiai.console.session` checks expiry itself.
    """

    def create(self, session: ConsoleSession) -> None:
        """:raises StorageUnavailable: the store failed."""
        ...

    def get(self, key: str) -> ConsoleSession | None:
        """The session stored under ``key`` (None: none). :raises StorageUnavailable: the store failed."""
        ...

    def touch(self, key: str, seen_at: datetime, groups: tuple[str, ...]) -> None:
        """Record activity (the idle timeout restarts) and the user's groups as the directory now has
        them; a session gone meanwhile stays gone. :raises StorageUnavailable: the store failed."""
        ...

    def delete(self, key: str) -> None:
        """End one session (nothing if it is gone). :raises StorageUnavailable: the store failed."""
        ...

    def for_user(self, username: str) -> list[ConsoleSession]:
        """Every session of ``username``. :raises StorageUnavailable: the store failed."""
        ...


class LoginService(Protocol):
    """The OAuth 2.0 authorization server people sign in at (Cognito managed login; ``tachiai local``'s
    own ``/oauth2/*``): the console's side of the authorization code + PKCE flow."""

    def authorize_url(self, *, state: str, challenge: str, redirect_uri: str, language: Language) -> str:
        """Where the browser goes to sign in (``/oauth2/authorize`` with the console's parameters)."""
        ...

    def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        """The tokens for an authorization code (``/oauth2/token``).

        :raises LoginFailed: the server refused the code (used, expired, wrong verifier).
        :raises LoginUnavailable: the server did not answer.
        """
        ...

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token (``/oauth2/revoke``). :raises LoginUnavailable: no answer."""
        ...

    def logout_url(self, *, logout_uri: str) -> str:
        """Where the browser goes to end its sign-in at the login service (``/logout``), coming back
        to ``logout_uri``."""
        ...

    def sign_out_everywhere(self, username: str) -> None:
        """End every sign-in of ``username`` at the login service (Cognito: AdminUserGlobalSignOut;
        the local login has none beyond the revocations). :raises LoginUnavailable: no answer."""
        ...
