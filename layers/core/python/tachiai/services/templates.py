"""Templates (FEATURES.md S7): save a PDF set, roles, message and settings once; create envelopes from it.

Who may do what: a personal template is its owner's alone (anyone else is told it does not exist);
a team template is used by every staff member and created, changed and deleted by administrators
only (:class:`TemplateAdminOnly` for a member). A template's documents are checked by the same
preflight as an envelope's (in the seal function: this module must not load the PDF libraries)
before the template is used: inline documents when the template is saved, presigned uploads when
the template is first used or saved again after they arrived.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from tachiai.domain.documents import original_key, template_document_key, template_upload_key
from tachiai.domain.envelope import AUTO_REMIND_DAYS, MAX_LINK_VALIDITY_SECONDS, Document, Envelope
from tachiai.domain.errors import (
    DocumentNotUploaded,
    InvalidRequest,
    NotFound,
    TemplateAccessCodeMissing,
    TemplateAdminOnly,
    TemplateRoleUnfilled,
    TemplateRoleUnknown,
)
from tachiai.domain.events import Language, Person
from tachiai.domain.templates import (
    MAX_DOCUMENTS,
    MAX_ROLES,
    Template,
    TemplateDocument,
    TemplateRole,
    TemplateScope,
    new_template_id,
)
from tachiai.domain.text import Line, Lines
from tachiai.services import sending
from tachiai.services.context import Services
from tachiai.services.sending import (
    ADMIN_GROUP,
    CreatedEnvelope,
    CreateEnvelopeRequest,
    DocumentRequest,
    ParticipantRequest,
    SenderIdentity,
    Upload,
)

# --- requests -----------------------------------------------------------------------------------


class TemplateRoleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Line = Field(min_length=1, max_length=100)
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    """The default person's name (with ``email``), or none: the sender names someone each time."""
    email: EmailStr | None = None
    organization: Line | None = Field(default=None, max_length=200)
    language: Language = "ja"
    access_code_required: bool = False
    """Every envelope from this template needs an access code for this role (given then, never here)."""

    @model_validator(mode="after")
    def _default_is_whole(self) -> TemplateRoleRequest:
        if (self.name is None) != (self.email is None):
            raise ValueError("a default person needs both name and email")
        return self

    def role(self) -> TemplateRole:
        default = None
        if self.name is not None and self.email is not None:
            default = Person(name=self.name, email=self.email, organization=self.organization)
        return TemplateRole(
            label=self.label,
            default=default,
            language=self.language,
            access_code_required=self.access_code_required,
        )


class TemplateRequest(BaseModel):
    """A template to save (``POST /v1/templates``) or the new content of one (``PUT``)."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=100)
    scope: TemplateScope = TemplateScope.PERSONAL
    """``team``: for everyone (administrators only)."""
    title: Line | None = Field(default=None, min_length=1, max_length=200)
    """The envelopes' title (required unless ``from_envelope_id`` gives it)."""
    message: Lines | None = Field(default=None, max_length=2000)
    language: Language | None = None
    link_validity_seconds: int | None = Field(default=None, ge=1, le=MAX_LINK_VALIDITY_SECONDS)
    auto_remind_every_days: int | None = Field(default=None, ge=AUTO_REMIND_DAYS[0], le=AUTO_REMIND_DAYS[1])
    roles: list[TemplateRoleRequest] | None = Field(default=None, min_length=1, max_length=MAX_ROLES)
    """In signing order."""
    documents: list[DocumentRequest] | None = Field(default=None, min_length=1, max_length=MAX_DOCUMENTS)
    """New documents (inline up to 4 MiB, else presigned uploads). On ``PUT``, omit to keep them."""
    from_envelope_id: str | None = Field(default=None, min_length=1, max_length=64)
    """Save an envelope as a template: its original documents, participants (as roles with them as
    default people), title, message and settings, each overridable here (``POST`` only)."""

    @model_validator(mode="after")
    def _roles_and_documents_from_one_place(self) -> TemplateRequest:
        if self.from_envelope_id is not None and (self.roles is not None or self.documents is not None):
            raise ValueError("roles and documents come from the envelope: give none with from_envelope_id")
        return self


@dataclass(frozen=True)
class SavedTemplate:
    template: Template
    uploads: list[Upload]


# --- who may see and change what ------------------------------------------------------------------


def _visible(template: Template, sender: SenderIdentity) -> bool:
    return template.scope == TemplateScope.TEAM or template.owner_id == sender.sub


def _require_manager(scope: TemplateScope, sender: SenderIdentity) -> None:
    if scope == TemplateScope.TEAM and ADMIN_GROUP not in sender.groups:
        raise TemplateAdminOnly(f"{sender.sub} is not an administrator")


def get_template(svc: Services, sender: SenderIdentity, template_id: str) -> Template:
    """A template the caller may use. :raises NotFound: none, or another person's personal one."""
    template = svc.templates.get(template_id)
    if not _visible(template, sender):
        raise NotFound(f"template {template_id}")
    return template


def list_templates(svc: Services, sender: SenderIdentity) -> list[Template]:
    """The caller's personal templates and the team's, by name."""
    return svc.templates.list_for(sender.sub)


# --- saving ---------------------------------------------------------------------------------------


def create_template(svc: Services, sender: SenderIdentity, request: TemplateRequest) -> SavedTemplate:
    """Save a new template (or an envelope as one, ``from_envelope_id``).

    :raises TemplateAdminOnly: a team template asked for by a member.
    :raises InvalidRequest: no title, roles or documents; a role label or default address twice.
    :raises NotFound: ``from_envelope_id`` is not an envelope the caller may read.
    :raises InvalidDocument: an inline document failed preflight.
    :raises DocumentNotUploaded: the envelope's documents were never uploaded.
    """
    _require_manager(request.scope, sender)
    template_id = new_template_id()
    now = svc.now()
    base: dict[str, object] = {}
    copies: dict[str, tuple[str, str]] = {}
    inline: dict[str, bytes] = {}
    if request.from_envelope_id is not None:
        envelope = sending.readable_envelope(svc, sender, request.from_envelope_id)
        base = _from_envelope(envelope)
        # The ORIGINAL uploads (never a sealed version: a template starts unsigned).
        copies = {
            f"doc_{secrets.token_hex(8)}": (d.name, original_key(envelope.id, d.id))
            for d in envelope.documents
        }
        documents = [TemplateDocument(id=doc_id, name=name) for doc_id, (name, _) in copies.items()]
    else:
        documents, inline = _new_documents(svc, template_id, request.documents or [])
    values = {**base, **_given(request)}
    if "roles" not in values:
        raise InvalidRequest("a template needs roles", field="roles")
    template = _build(
        values,
        id=template_id,
        name=request.name,
        scope=request.scope,
        owner_id=sender.sub,
        documents=documents,
        created_at=now,
        updated_at=now,
    )
    for doc_id, (name, source) in copies.items():
        try:
            svc.documents.accept_upload(source, template_document_key(template_id, doc_id))  # a copy
        except NotFound as e:
            raise DocumentNotUploaded(doc_id, name=name) from e
    for doc_id, data in inline.items():
        svc.documents.put(template_document_key(template_id, doc_id), data)
    template = _check_documents(svc, template, stored_only=True)
    stored = svc.templates.save(template, create=True)
    return SavedTemplate(stored, _uploads(svc, stored))


def update_template(
    svc: Services,
    sender: SenderIdentity,
    template_id: str,
    request: TemplateRequest,
    *,
    kept_documents: Sequence[str] | None = None,
) -> SavedTemplate:
    """Replace a template's content (``documents`` omitted: the documents stay).

    ``kept_documents`` (the console's edit form): the ids of the template's documents that stay, in
    their order, followed by the request's new ``documents`` (if any); the others leave the template.
    Without it, ``documents`` given replace them all.

    :raises NotFound: not a template the caller may use.
    :raises TemplateAdminOnly: a team template (or making one team) and the caller is a member.
    :raises InvalidRequest: ``from_envelope_id`` given, or the new content is not valid.
    :raises InvalidDocument: an inline document failed preflight.
    :raises Conflict: changed concurrently.
    """
    template = get_template(svc, sender, template_id)
    _require_manager(template.scope, sender)
    _require_manager(request.scope, sender)
    if request.from_envelope_id is not None:
        raise InvalidRequest("from_envelope_id only when creating a template", field="from_envelope_id")
    inline: dict[str, bytes] = {}
    documents = list(template.documents)
    if request.documents is not None:
        documents, inline = _new_documents(svc, template_id, request.documents)
    if kept_documents is not None:
        # a kept document keeps its id and stored file: a stored key is never rewritten
        kept = [d for d in template.documents if d.id in set(kept_documents)]
        documents = kept + (documents if request.documents is not None else [])
    values = {**_current(template), **_given(request)}
    changed = _build(
        values,
        id=template.id,
        name=request.name,
        scope=request.scope,
        owner_id=template.owner_id,
        documents=documents,
        created_at=template.created_at,
        updated_at=svc.now(),
        version=template.version,
    )
    for doc_id, data in inline.items():
        svc.documents.put(template_document_key(template_id, doc_id), data)
    # New documents: their presigned uploads have not happened yet. Saved again without documents:
    # the uploads that arrived since are checked now.
    changed = _check_documents(svc, changed, stored_only=request.documents is not None)
    stored = svc.templates.save(changed)
    return SavedTemplate(stored, _uploads(svc, stored))


def delete_template(svc: Services, sender: SenderIdentity, template_id: str) -> None:
    """Delete a template (envelopes created from it keep their copies).

    :raises NotFound: not a template the caller may use.
    :raises TemplateAdminOnly: a team template and the caller is a member.
    :raises Conflict: changed concurrently.
    """
    template = get_template(svc, sender, template_id)
    _require_manager(template.scope, sender)
    svc.templates.delete(template)


# --- using ----------------------------------------------------------------------------------------


def create_envelope_from_template(
    svc: Services, sender: SenderIdentity, request: CreateEnvelopeRequest
) -> CreatedEnvelope:
    """A draft from ``request.template_id``: the template's documents (copied), its roles filled with
    their default people or the request's participants, and its title, message and settings unless
    the request gives them.

    A participant naming a ``role`` fills that role (a default person included); the others fill, in
    order, the roles without a default person.

    :raises NotFound: not a template the caller may use.
    :raises TemplateRoleUnknown: a participant names a role the template lacks, names one twice, or
        is left over once every role is filled.
    :raises TemplateRoleUnfilled: a role without a default person got nobody.
    :raises TemplateAccessCodeMissing: a role requires an access code and none was given.
    :raises DocumentNotUploaded / InvalidDocument: a document of the template never arrived or
        failed preflight.
    """
    assert request.template_id is not None
    template = get_template(svc, sender, request.template_id)
    if not template.ready:
        template = svc.templates.save(_check_documents(svc, template))
    given = request.model_fields_set
    full = CreateEnvelopeRequest(
        title=request.title if "title" in given else template.title,
        message=request.message if "message" in given else template.message,
        language=request.language if "language" in given else template.language,
        link_validity_seconds=request.link_validity_seconds
        if "link_validity_seconds" in given
        else int(template.link_validity.total_seconds()),
        auto_remind_every_days=request.auto_remind_every_days
        if "auto_remind_every_days" in given
        else template.auto_remind_every_days,
        participants=_fill_roles(template, request.participants),
        documents=[DocumentRequest(name=d.name) for d in template.documents],
    )
    return sending.create_envelope(
        svc,
        sender,
        full,
        copy_from=[template_document_key(template.id, d.id) for d in template.documents],
        template_id=template.id,
    )


def _fill_roles(template: Template, people: list[ParticipantRequest]) -> list[ParticipantRequest]:
    labels = {r.label for r in template.roles}
    named: dict[str, ParticipantRequest] = {}
    for person in people:
        if person.role is not None:
            if person.role not in labels or person.role in named:
                raise TemplateRoleUnknown(person.role, role=person.role, field="participants")
            named[person.role] = person
    unnamed = [p for p in people if p.role is None]
    filled: list[ParticipantRequest] = []
    for role in template.roles:
        if role.label in named:
            person = named[role.label]
        elif role.default is None:
            if not unnamed:
                raise TemplateRoleUnfilled(role.label, role=role.label, field="participants")
            person = unnamed.pop(0)
        else:
            person = ParticipantRequest(
                name=role.default.name,
                email=role.default.email,
                organization=role.default.organization,
                language=role.language,
            )
        if role.access_code_required and person.access_code is None:
            raise TemplateAccessCodeMissing(role.label, role=role.label, field="participants")
        filled.append(person.model_copy(update={"role": None}))
    if unnamed:
        extra = str(unnamed[0].email)
        raise TemplateRoleUnknown(f"{extra}: every role is filled", role=extra, field="participants")
    return filled


# --- internals --------------------------------------------------------------------------------------


def _from_envelope(envelope: Envelope) -> dict[str, object]:
    """What a template keeps of an envelope: its people as roles (the forwarded-to people aside: the
    template keeps the places, as the sender set them), title, message and settings."""
    originals = sorted((p for p in envelope.participants if p.forwarded_from is None), key=lambda p: p.order)
    roles = [
        TemplateRole(
            label=str(i),
            default=p.person,
            language=p.language,
            access_code_required=p.requires_access_code,
        )
        for i, p in enumerate(originals, start=1)
    ]
    return {
        "title": envelope.title,
        "message": envelope.message,
        "language": envelope.language,
        "link_validity": envelope.link_validity,
        "auto_remind_every_days": envelope.auto_remind_every_days,
        "roles": roles,
    }


def _current(template: Template) -> dict[str, object]:
    return {
        "title": template.title,
        "message": template.message,
        "language": template.language,
        "link_validity": template.link_validity,
        "auto_remind_every_days": template.auto_remind_every_days,
        "roles": list(template.roles),
    }


def _given(request: TemplateRequest) -> dict[str, object]:
    """The fields the request sets (a field left out keeps the envelope's or the template's value)."""
    given = request.model_fields_set
    values: dict[str, object] = {}
    for name in ("title", "message", "language", "auto_remind_every_days"):
        if name in given and (getattr(request, name) is not None or name == "auto_remind_every_days"):
            values[name] = getattr(request, name)
    if request.link_validity_seconds is not None:
        values["link_validity"] = timedelta(seconds=request.link_validity_seconds)
    if request.roles is not None:
        values["roles"] = [r.role() for r in request.roles]
    return values


def _build(values: dict[str, object], **fixed: object) -> Template:
    if "title" not in values:
        raise InvalidRequest("a template needs a title", field="title")
    try:
        return Template.model_validate({**values, **fixed})
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise InvalidRequest(str(e).splitlines()[0], field="roles") from e


def _new_documents(
    svc: Services, template_id: str, requests: list[DocumentRequest]
) -> tuple[list[TemplateDocument], dict[str, bytes]]:
    """Fresh documents (new ids: a stored key is never rewritten) and the inline ones' bytes.

    :raises InvalidRequest: bad base64. :raises InvalidDocument: plainly not an acceptable PDF.
    """
    documents: list[TemplateDocument] = []
    inline: dict[str, bytes] = {}
    for i, d in enumerate(requests):
        doc_id = f"doc_{secrets.token_hex(8)}"
        upload = None
        if d.content_base64 is not None:
            inline[doc_id] = sending.inline_document(svc, d.content_base64, f"documents[{i}].content_base64")
        else:
            upload = template_upload_key(template_id, doc_id, secrets.token_hex(16))
        documents.append(TemplateDocument(id=doc_id, name=d.name, upload_key=upload))
    return documents, inline


def _check_documents(svc: Services, template: Template, *, stored_only: bool = False) -> Template:
    """The template with every unchecked document preflighted (a presigned upload first copied to the
    document's key, unless ``stored_only``: a new template's uploads have not happened yet).

    :raises DocumentNotUploaded: a presigned upload has not arrived.
    :raises InvalidDocument: a document failed preflight.
    """
    documents: list[TemplateDocument] = []
    for document in template.documents:
        if document.checked or (stored_only and document.upload_key is not None):
            documents.append(document)
            continue
        key = template_document_key(template.id, document.id)
        if document.upload_key is not None:
            try:
                svc.documents.accept_upload(document.upload_key, key)
            except NotFound as e:
                raise DocumentNotUploaded(document.id, name=document.name) from e
        found = svc.functions.call(svc.settings.require("seal_function"), {"task": "preflight", "key": key})
        documents.append(
            document.model_copy(
                update={
                    "sha256": str(found["sha256"]),
                    "size": int(found["size"]),
                    "pages": int(found["pages"]),
                    "upload_key": None,
                }
            )
        )
    return template.model_copy(update={"documents": documents})


def _uploads(svc: Services, template: Template) -> list[Upload]:
    """Presigned POSTs for the documents still waiting for their upload."""
    return [
        sending.presigned_upload(svc, Document(id=d.id, name=d.name, upload_key=d.upload_key))
        for d in template.documents
        if d.upload_key is not None
    ]
