"""The local runtime's user pool: staff accounts with passwords, kept in the state directory.

``tachiai local`` stands in for the Cognito user pool with this store: the sign-in page
(:mod:`tachiai.local.login_server`) checks passwords against it, the send function reads and manages
users through it (it implements :class:`~tachiai.services.ports.UserDirectory`, selected by
``TACHIAI_LOCAL_USER_STORE``), and ``tachiai users add --local`` writes to it directly. As in the pool,
a username is a generated UUID, the email is a sign-in alias, a user has role groups, can be disabled,
and an invited user signs in first with a temporary password they must then replace
(``FORCE_CHANGE_PASSWORD``).

Passwords are stored as scrypt hashes (RFC 7914; n=2^14, r=8, p=1, 16-byte salt), never as text. The
file is owner-only (0600) and replaced whole on every change, under an advisory lock so that the
runtime and a ``tachiai users add --local`` of another process never lose each other's change.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import json
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tachiai import i18n
from tachiai.domain.errors import Forbidden, UnknownUser, UserExists
from tachiai.domain.users import ROLES, DirectoryUser, Role, StaffMember

if TYPE_CHECKING:
    from tachiai.services.context import Services

try:  # POSIX; elsewhere the in-process lock alone guards the file
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["FORCE_CHANGE_PASSWORD", "LocalUserStore", "generate_password"]

FORCE_CHANGE_PASSWORD: Final = "FORCE_CHANGE_PASSWORD"  # noqa: S105 -- Cognito's account status
CONFIRMED: Final = "CONFIRMED"
MIN_PASSWORD_LENGTH: Final = 12
"""As the user pool's password policy (``infra/constructs/auth.py``)."""
_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}
_LOCK = threading.Lock()

Invitation = Callable[[DirectoryUser, str], None]
"""Mails an invited user their temporary password (the user, the password)."""


def generate_password() -> str:
    """A password the pool's policy accepts: 20 characters with lower, upper, digit and symbol."""
    return f"{secrets.token_urlsafe(15)}aA1!"


def _hash(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + "$".join(base64.b64encode(part).decode("ascii") for part in (salt, digest))


def _matches(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = base64.b64decode(_hash(password, base64.b64decode(salt)).split("$")[2])
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


_NOBODY: Final = _hash(secrets.token_urlsafe(16))
"""Checked against when the account does not exist: an unknown address takes as long as a wrong
password, so the sign-in page does not tell which addresses have an account."""


@dataclass
class _Account:
    username: str
    email: str
    name: str
    groups: list[str]
    password: str
    enabled: bool = True
    status: str = CONFIRMED
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def view(self) -> DirectoryUser:
        from tachiai.domain.users import role_of

        return DirectoryUser(
            username=self.username,
            email=self.email,
            name=self.name,
            role=role_of(self.groups),
            enabled=self.enabled,
            status=self.status,
            created_at=datetime.fromisoformat(self.created_at),
            groups=tuple(self.groups),
        )


class LocalUserStore:
    """Staff accounts in ``path`` (JSON, 0600). Implements :class:`~tachiai.services.ports.UserDirectory`."""

    def __init__(self, path: Path, invitation: Invitation | None = None) -> None:
        self.path = path
        self._invitation = invitation

    # --- the file -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK:
            fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self) -> dict[str, _Account]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {name: _Account(**values) for name, values in data.get("users", {}).items()}

    def _write(self, accounts: dict[str, _Account]) -> None:
        draft = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(
                {"users": {n: asdict(a) for n, a in accounts.items()}}, file, ensure_ascii=False, indent=1
            )
        os.replace(draft, self.path)

    @staticmethod
    def _find(accounts: dict[str, _Account], user: str) -> _Account | None:
        if user in accounts:
            return accounts[user]
        wanted = user.strip().lower()
        return next((a for a in accounts.values() if a.email.lower() == wanted), None)

    def _change(self, user: str, change: Callable[[_Account], _Account]) -> DirectoryUser:
        with self._locked():
            accounts = self._read()
            account = self._find(accounts, user)
            if account is None:
                raise UnknownUser(f"no user {user}", user=user)
            accounts[account.username] = change(account)
            self._write(accounts)
            return accounts[account.username].view()

    # --- UserDirectory -----------------------------------------------------------------------------

    def member(self, username: str) -> StaffMember:
        """:raises Forbidden: unknown or disabled."""
        account = self._find(self._read(), username)
        if account is None or not account.enabled:
            raise Forbidden("user unknown or disabled")
        return StaffMember(username=account.username, email=account.email, name=account.name)

    def users(self) -> list[DirectoryUser]:
        return [account.view() for account in self._read().values()]

    def user(self, user: str) -> DirectoryUser:
        """:raises UnknownUser: no such user."""
        account = self._find(self._read(), user)
        if account is None:
            raise UnknownUser(f"no user {user}", user=user)
        return account.view()

    def invite(self, email: str, name: str, role: Role) -> DirectoryUser:
        """The account, with a temporary password mailed to ``email`` (to the local outbox).

        :raises UserExists: the address has an account.
        """
        password = generate_password()
        user = self.create(email, name, role, password, status=FORCE_CHANGE_PASSWORD)
        if self._invitation is not None:
            self._invitation(user, password)
        return user

    def set_enabled(self, user: str, enabled: bool) -> DirectoryUser:
        """:raises UnknownUser: no such user."""
        return self._change(user, lambda a: replace(a, enabled=enabled))

    def set_role(self, user: str, role: Role) -> DirectoryUser:
        """:raises UnknownUser: no such user."""
        return self._change(
            user, lambda a: replace(a, groups=[g for g in a.groups if g not in ROLES] + [role])
        )

    # --- what the sign-in page and ``tachiai local`` need ---------------------------------------------

    def create(
        self, email: str, name: str, role: Role, password: str, *, status: str = CONFIRMED
    ) -> DirectoryUser:
        """A new account with ``password`` (hashed).

        :raises UserExists: the address has an account.
        """
        with self._locked():
            accounts = self._read()
            if self._find(accounts, email) is not None:
                raise UserExists(f"{email} exists", email=email)
            account = _Account(
                username=str(uuid.uuid4()),
                email=email.strip(),
                name=name.strip() or email.strip(),
                groups=[role],
                password=_hash(password),
                status=status,
            )
            accounts[account.username] = account
            self._write(accounts)
            return account.view()

    def is_empty(self) -> bool:
        return not self._read()

    def authenticate(self, login: str, password: str) -> DirectoryUser | None:
        """The enabled user whose username or email is ``login`` and whose password is ``password``."""
        account = self._find(self._read(), login)
        if not _matches(password, account.password if account else _NOBODY) or account is None:
            return None
        return account.view() if account.enabled else None

    def change_password(self, username: str, password: str) -> DirectoryUser:
        """Replace the password (the first sign-in's temporary one): the account is confirmed.

        :raises UnknownUser: no such user.
        """
        return self._change(username, lambda a: replace(a, password=_hash(password), status=CONFIRMED))


def invitation_mail_text(user: DirectoryUser, password: str, url: str, service: str) -> dict[str, Any]:
    """The invitation's subject, text and HTML in Japanese and English (as the pool's invitation)."""
    values = {"service": service, "email": user.email, "name": user.name, "password": password, "url": url}
    subject = " / ".join(i18n.text("users.invitation.subject", lang, **values) for lang in ("ja", "en"))
    paragraphs = [i18n.text("users.invitation.body", lang, **values) for lang in ("ja", "en")]
    return {
        "subject": subject,
        "text": "\n\n".join(paragraphs) + "\n",
        "html": "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs),
    }


def local_directory(svc: Services) -> LocalUserStore:
    """The store named by ``TACHIAI_LOCAL_USER_STORE``, mailing invitations through ``svc``'s mailer
    (the local outbox)."""
    from tachiai.domain.events import Person
    from tachiai.mail.templates import MailKind, MailMessage

    settings = svc.settings

    def invite(user: DirectoryUser, password: str) -> None:
        mail = invitation_mail_text(user, password, settings.require("public_url"), settings.service_name)
        svc.mailer.send(
            MailMessage(
                kind=MailKind.INVITATION,
                language="ja",
                to=Person(name=user.name, email=user.email),
                from_name=settings.service_name,
                from_address=settings.require("mail_from"),
                reply_to=None,
                subject=mail["subject"],
                text=mail["text"],
                html=mail["html"],
                links=[],
            )
        )

    return LocalUserStore(Path(settings.require("local_user_store")), invitation=invite)
