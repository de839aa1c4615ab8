"""The response bodies of the sender API, as pydantic models: Powertools validates and serializes each
handler's answer against its model and writes the same models into ``/v1/openapi.json``.

The field descriptions of the document are the attribute docstrings below (``use_attribute_docstrings``),
so the contract a client reads is written once, next to the field. The constructors from domain objects
(:func:`envelope_view` and the others in :mod:`tachiai.api.views`) decide what is shown: never the hash of
an access code, a link token or a session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from tachiai.domain.audit import AuditKind
from tachiai.domain.envelope import EnvelopeStatus, ParticipantStatus
from tachiai.domain.events import AuthMethod, Language
from tachiai.domain.ledger import LedgerEntry
from tachiai.domain.templates import TemplateScope
from tachiai.domain.users import Role
from tachiai.extract.model import ContractMetadata

Timestamp = Annotated[
    datetime,
    # isoformat() keeps the offset as "+00:00" (pydantic writes "Z"): the form the API has always used.
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An aware date and time, ISO 8601 with its UTC offset."""


class View(BaseModel):
    """Base of the response models: documented from attribute docstrings, unknown fields refused."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")


# --- errors --------------------------------------------------------------------------------------


class Messages(View):
    """One human message in every language of the catalogs."""

    ja: str
    en: str
    zh: str


class Problem(View):
    """Where a request is invalid (the submitted value itself is never echoed: it may be a secret)."""

    location: str
    """The place in the request: ``body.participants.0.email``, ``query.limit``."""
    problem: str
    """What is wrong there, as a stable word (pydantic's error type: ``missing``, ``string_too_long``)."""


class ErrorDetail(View):
    """A refusal: a stable code to act on and a message to show."""

    code: str
    """Stable machine-readable code (``envelope_not_sendable``, ``invalid_request``); the HTTP status groups
    codes, the code says which situation it is."""
    message: Messages
    """What went wrong and what to do, for a person."""
    problems: list[Problem] | None = None
    """Only for ``invalid_request`` from request validation: each invalid place."""


class ErrorBody(View):
    """The body of every refusal of the API (4xx) and of its own failures (5xx)."""

    error: ErrorDetail


class GatewayError(View):
    """A refusal by API Gateway before tachiai runs (no or a wrong token, an unknown path, a body over
    the gateway's limit): ``{"message": "Unauthorized"}``."""

    message: str


# --- envelopes -----------------------------------------------------------------------------------


class PersonView(View):
    """A person: the sender of an envelope."""

    name: str
    email: str
    organization: str | None


class ParticipantView(View):
    """A participant, in signing order (a forwarded participant right after the one who forwarded)."""

    id: str
    order: int
    """Signing order, from 1; participants with the same order sign in parallel."""
    name: str
    email: str
    organization: str | None
    language: Language
    """The language of their mails and signing page."""
    status: ParticipantStatus
    auth_methods: list[AuthMethod]
    """How they prove who they are: the emailed link, and an access code the sender gave them apart."""
    link_expires_at: Timestamp | None
    acted_at: Timestamp | None
    """When they agreed, rejected or forwarded."""
    reason: str | None
    """Their reason to reject or forward."""
    forwarded_from: str | None
    """The participant who forwarded their turn to this one."""
    reminders: int
    """Reminders the sender sent them."""
    auto_reminders: int
    """Automatic reminders sent to them."""
    locked: bool
    """Their link is locked after too many wrong access codes: the sender reissues it (``reissue``)."""


class DocumentView(View):
    """A PDF of an envelope and its hashes: as uploaded, as normalized for sealing, as it is now."""

    id: str
    name: str
    pages: int | None
    size: int | None
    """Bytes of the PDF as uploaded."""
    original_sha256: str | None
    normalized_sha256: str | None
    current_sha256: str | None
    """The hash of the document as it is now (after the last seal)."""
    seals: int
    """Seals applied so far (one per agreement, and the completion seal)."""
    finalized: bool
    """The completion seal is on it: the document is final."""


class EventView(View):
    """One entry of the envelope's audit trail, hash-chained to the one before."""

    seq: int
    at: Timestamp
    kind: AuditKind
    actor: str
    data: dict[str, str | int | bool | None]
    hash: str


class EnvelopeView(View):
    """An envelope: documents to sign, the people who sign them in order, and where it stands."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "env_3f9c1e0a6b2d4c8e9f0a1b2c",
                    "title": "Mutual NDA",
                    "message": "",
                    "language": "ja",
                    "status": "sent",
                    "sender": {"name": "Taro Yamada", "email": "taro@example.co.jp", "organization": None},
                    "link_validity_seconds": 604800,
                    "auto_remind_every_days": None,
                    "template_id": None,
                    "resent_from": None,
                    "resent_as": None,
                    "created_at": "2026-04-01T09:00:00+00:00",
                    "updated_at": "2026-04-01T09:00:05+00:00",
                    "sent_at": "2026-04-01T09:00:05+00:00",
                    "completed_at": None,
                    "outcome_reason": None,
                    "undelivered_notice": None,
                    "origin": "signed",
                    "metadata": None,
                    "metadata_status": "pending",
                    "metadata_error": None,
                    "corrected_fields": [],
                    "participants": [
                        {
                            "id": "p1",
                            "order": 1,
                            "name": "Ichiro Takahashi",
                            "email": "ichiro@example.jp",
                            "organization": None,
                            "language": "ja",
                            "status": "notified",
                            "auth_methods": ["email_link"],
                            "link_expires_at": "2026-04-08T09:00:05+00:00",
                            "acted_at": None,
                            "reason": None,
                            "forwarded_from": None,
                            "reminders": 0,
                            "auto_reminders": 0,
                            "locked": False,
                        }
                    ],
                    "documents": [
                        {
                            "id": "d1",
                            "name": "nda.pdf",
                            "pages": 2,
                            "size": 48213,
                            "original_sha256": "9f2c" + "0" * 60,
                            "normalized_sha256": "41aa" + "0" * 60,
                            "current_sha256": "41aa" + "0" * 60,
                            "seals": 0,
                            "finalized": False,
                        }
                    ],
                    "sealed_events": [],
                    "certificate_sha256": None,
                }
            ]
        }
    )

    id: str
    title: str
    message: str
    """The sender's message to the participants (in their mails)."""
    language: Language
    status: EnvelopeStatus
    sender: PersonView
    link_validity_seconds: int
    """How long each participant's link is valid once mailed."""
    auto_remind_every_days: int | None
    """Automatic reminders every N days until the deadline (none when null)."""
    template_id: str | None
    """The template the envelope was created from."""
    resent_from: str | None
    """The envelope this one corrects and resends."""
    resent_as: str | None
    """The envelope that corrected and resent this one."""
    created_at: Timestamp
    updated_at: Timestamp
    sent_at: Timestamp | None
    completed_at: Timestamp | None
    outcome_reason: str | None
    """Why it ended (a rejection's or cancellation's reason)."""
    undelivered_notice: Literal["completed", "rejected", "expired", "cancelled", "failed"] | None
    """The outcome whose final mail could not be delivered after the chain's retries (``completed``:
    the completion mail failed, the sealed documents are kept and downloadable), else ``null``."""
    origin: Literal["signed", "imported"]
    """``imported``: a contract signed elsewhere, added to the ledger (no participants, no seals)."""
    metadata: ContractMetadata | None
    """The contract's ledger metadata (extracted, then corrected by people)."""
    metadata_status: Literal["pending", "extracting", "extracted", "failed"]
    """``pending``: not completed yet; ``extracting``: the extraction runs on its own (an import is
    answered before it ends); ``extracted``; ``failed`` (``metadata_error`` says why)."""
    metadata_error: str | None
    """The error code of the failed extraction (``metadata_status`` ``failed``), else ``null``."""
    corrected_fields: list[str]
    """Metadata fields a person corrected (they win over a new extraction)."""
    participants: list[ParticipantView]
    documents: list[DocumentView]
    sealed_events: list[str]
    """The events whose seal is on the documents."""
    certificate_sha256: str | None
    """The hash of the completion certificate, once there is one."""


class EnvelopeDetail(EnvelopeView):
    """An envelope with its audit trail."""

    events: list[EventView]
    """The audit trail, oldest first."""


class UploadView(View):
    """A presigned upload: POST ``fields``, the field ``Content-MD5`` (the file's MD5, base64: the
    storage keeps every file under Object Lock and takes none without it) and then the file
    (multipart/form-data, the field ``file`` last) to ``url`` before ``expires_at``."""

    document_id: str
    url: str
    fields: dict[str, Any]
    expires_at: Timestamp


class CreatedEnvelope(EnvelopeView):
    """A new draft envelope, with a presigned upload for each document not sent inline."""

    uploads: list[UploadView]


class ImportedContract(EnvelopeView):
    """An imported contract: completed at once when the PDF came inline, else a draft waiting for its
    upload (then ``POST /v1/imports/{envelope_id}/complete``)."""

    upload: UploadView | None
    """The presigned upload for the PDF, when it was not sent inline."""


class EnvelopeList(View):
    """A page of the caller's envelopes, grouped by status, newest change first within each."""

    envelopes: list[EnvelopeView]
    cursor: str | None
    """Pass it back as ``cursor`` for the next page; null on the last page."""


class LedgerSearch(View):
    """A page of a ledger search, newest transaction first (possibly fewer than ``limit``, even none,
    with a cursor: a full-text search reads a bounded amount per call; go on with the cursor)."""

    contracts: list[LedgerEntry]
    cursor: str | None
    """Pass it back as ``cursor`` for the next page; null when the search is done."""


class DownloadView(View):
    """A presigned link to one file of a completed envelope (a sealed PDF or the certificate)."""

    name: str
    url: str
    expires_at: Timestamp
    sha256: str | None
    """The file's SHA-256 as the envelope records it, to check the download against."""


class Downloads(View):
    """The files of a completed envelope."""

    downloads: list[DownloadView]


# --- templates -----------------------------------------------------------------------------------


class TemplateRoleView(View):
    """A role of a template: who signs in this place, with an optional default person."""

    label: str
    default: PersonView | None
    """The person who takes the role unless the envelope names another."""
    language: Language
    access_code_required: bool
    """The envelope must give this role an access code (a template never stores one)."""


class TemplateDocumentView(View):
    """A PDF of a template: ``sha256`` is set once it was uploaded and checked."""

    id: str
    name: str
    sha256: str | None
    size: int | None
    pages: int | None
    checked: bool


class TemplateView(View):
    """A template: documents, roles in signing order, message and expiry, saved to send again."""

    id: str
    name: str
    scope: TemplateScope
    """``personal`` (its owner's) or ``team`` (everyone's; administrators manage it)."""
    owner_id: str
    title: str
    message: str
    language: Language
    link_validity_seconds: int
    auto_remind_every_days: int | None
    roles: list[TemplateRoleView]
    documents: list[TemplateDocumentView]
    ready: bool
    """Every document arrived and was checked: envelopes can be created from it."""
    created_at: Timestamp
    updated_at: Timestamp


class SavedTemplate(TemplateView):
    """A template as saved, with a presigned upload for each document not sent inline."""

    uploads: list[UploadView]


class TemplateList(View):
    """The templates the caller may use: their own and the team's."""

    templates: list[TemplateView]


# --- staff ---------------------------------------------------------------------------------------


class MeView(View):
    """The caller, as the access token says."""

    username: str
    """The directory's username, or ``client:<id>`` for an integration."""
    email: str
    name: str
    groups: list[str]


class UserView(View):
    """A staff member of the user directory (never anything about a password)."""

    username: str
    email: str
    name: str
    role: Role
    enabled: bool
    status: str
    """The directory's account status: ``FORCE_CHANGE_PASSWORD`` until an invited user first signs in."""
    created_at: Timestamp | None


class UserList(View):
    """Every staff member (administrators only)."""

    users: list[UserView]
