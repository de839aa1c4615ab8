"""Templates (FEATURES.md S7; CloudStamp's テンプレート): a PDF set, the participants' roles in order, the
title, message, language, link validity and automatic reminders, saved once and used for many envelopes.

A template is *personal* (its owner uses and manages it) or *team* (every staff member uses it; only
administrators create, change or delete it — CloudStamp's テンプレート管理). A role may name a default
person; the roles without one are filled when an envelope is created from the template. A role may
require an access code, but a template never stores one: a code belongs to one envelope, and the sender
sets it each time.

The documents are stored once, under the template's own keys, each preflighted before the template
can be used (its SHA-256, size and pages recorded); an envelope created from the template gets a copy.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tachiai.domain.envelope import AUTO_REMIND_DAYS, DEFAULT_LINK_VALIDITY
from tachiai.domain.events import Language, Person
from tachiai.domain.text import Line, Lines

MAX_ROLES = 20
MAX_DOCUMENTS = 10
TEMPLATE_DOCUMENT_KEY_PATTERN = (
    r"^envelopes/templates/tpl_[0-9a-f]{24}/documents/[A-Za-z0-9_-]{1,64}/original\.pdf$"
)
"""The stored key of a template's PDF (:func:`tachiai.domain.documents.template_document_key`): the seal
function preflights only keys of this form for the send API."""


class TemplateScope(StrEnum):
    PERSONAL = "personal"
    """The owner's own: only they see, use and manage it."""
    TEAM = "team"
    """The tenant's: everyone uses it, administrators manage it."""


class TemplateRole(BaseModel):
    """One participant's place in the template's signing order."""

    model_config = ConfigDict(frozen=True)

    label: Line = Field(min_length=1, max_length=100)
    """What the role is (「甲」, 「借主」, "Supplier"): unique within the template."""
    default: Person | None = None
    """Who fills the role unless the sender names someone else."""
    language: Language = "ja"
    """Language of the role's mails and signing page."""
    access_code_required: bool = False
    """The sender must set an access code for this role on every envelope (never stored here)."""


class TemplateDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: Line = Field(min_length=1, max_length=255)
    sha256: str | None = None
    """SHA-256 of the stored PDF once it passed preflight (None: its upload has not been checked)."""
    size: int | None = Field(default=None, ge=1)
    pages: int | None = Field(default=None, ge=1)
    upload_key: str | None = None
    """Where a presigned upload of the PDF lands, until it is accepted (checked and stored)."""

    @property
    def checked(self) -> bool:
        return self.sha256 is not None


class Template(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: Line = Field(min_length=1, max_length=100)
    """How people find it (``tachiai send --template NAME``)."""
    scope: TemplateScope = TemplateScope.PERSONAL
    owner_id: str
    """Who created it (Cognito ``sub``): the one who manages a personal template."""
    title: Line = Field(min_length=1, max_length=200)
    message: Lines = Field(default="", max_length=2000)
    language: Language = "ja"
    link_validity: timedelta = DEFAULT_LINK_VALIDITY
    auto_remind_every_days: int | None = Field(default=None, ge=AUTO_REMIND_DAYS[0], le=AUTO_REMIND_DAYS[1])
    roles: list[TemplateRole] = Field(min_length=1, max_length=MAX_ROLES)
    """In signing order."""
    documents: list[TemplateDocument] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    version: int = 0
    """Incremented by every change; writes are conditional on it."""

    @model_validator(mode="after")
    def _roles_are_distinct(self) -> Template:
        labels = [r.label for r in self.roles]
        if len(labels) != len(set(labels)):
            raise ValueError("the same role label appears twice")
        defaults = [r.default.email.lower() for r in self.roles if r.default is not None]
        if len(defaults) != len(set(defaults)):
            raise ValueError("the same email address is the default of two roles")
        return self

    @property
    def ready(self) -> bool:
        """Every document was checked: the template can be used."""
        return all(d.checked for d in self.documents)


def new_template_id() -> str:
    """``tpl_`` + 24 hex digits."""
    return f"tpl_{secrets.token_hex(12)}"
