"""What happened to an envelope, as sealed into the PDF and listed on the agreement certificate."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from tachiai import i18n
from tachiai.domain.text import Line
from tachiai.i18n import Language as Language  # re-exported: a participant may choose any catalog language


class AuthMethod(StrEnum):
    """How a person proved who they are before acting."""

    SENDER_LOGIN = "sender_login"
    EMAIL_LINK = "email_link"
    ACCESS_CODE = "access_code"
    EMAIL_OTP = "email_otp"
    TOTP = "totp"


def auth_method_label(method: AuthMethod, language: Language) -> str:
    """The name of ``method`` in ``language`` (catalog ``auth.method.<value>``), e.g. ``メール認証``."""
    return i18n.text(f"auth.method.{method.value}", language)


class EventKind(StrEnum):
    SENT = "sent"
    OPENED = "opened"
    FORWARDED = "forwarded"
    AGREED = "agreed"
    REJECTED = "rejected"


SEALED_EVENT_KINDS = frozenset({EventKind.SENT, EventKind.FORWARDED, EventKind.AGREED})
"""Events that add a signature to the PDF (opening or rejecting does not)."""


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Line = Field(min_length=1, max_length=200)
    """Display name as the person or the sender wrote it (one line, :mod:`tachiai.domain.text`)."""
    email: EmailStr
    organization: Line | None = Field(default=None, max_length=200)
    """Company name, when known."""


def describe_auth(methods: list[AuthMethod], language: Language) -> str:
    """Human label of authentication methods, e.g. ``メール認証＋アクセスコード`` (the catalog's
    ``auth.method.*``, joined by its ``auth.method.joiner``)."""
    return i18n.text("auth.method.joiner", language).join(auth_method_label(m, language) for m in methods)


class SealEvent(BaseModel):
    """One event that is sealed into the PDF as its own signature."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    actor: Person
    at: AwareDatetime
    """When it happened; rendered in the tenant's time zone."""
    auth_methods: list[AuthMethod] = Field(min_length=1)
    forwarded_to: Person | None = None
    """The new participant, for a forward."""
    reason: Line | None = Field(default=None, max_length=500)
    """The forwarder's stated reason, for a forward."""


class ParticipantEvent(BaseModel):
    """One line of a participant's history on the agreement certificate."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    at: AwareDatetime
    auth_methods: list[AuthMethod] = Field(default_factory=list)
    ip_address: str | None = None
    user_agent: str | None = None
    note: Line | None = None
    """Free text, e.g. to whom a forward went."""


class ParticipantRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: int = Field(ge=0)
    """0 is the sender; signers count from 1 in sending order."""
    role: Literal["sender", "signer", "approver"]
    person: Person
    events: list[ParticipantEvent] = Field(default_factory=list)


class DocumentRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Line
    pages: int = Field(ge=1)
    original_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the file exactly as uploaded."""
    normalized_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """SHA-256 after normalization, when the upload had to be rewritten before sealing."""
    sealed_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the finished, sealed and timestamped PDF."""


class AgreementRecord(BaseModel):
    """Everything the agreement certificate (合意締結証明書) states."""

    model_config = ConfigDict(frozen=True)

    envelope_id: str
    title: Line
    documents: list[DocumentRecord] = Field(min_length=1)
    participants: list[ParticipantRecord] = Field(min_length=1)
    completed_at: datetime
    timezone: str = "Asia/Tokyo"
    """IANA zone the times are shown in."""
    issuer: str = "tachiai"
    """Name of the service (tenant) issuing the certificate."""
