"""新規作成, the new-envelope page (issue 12 item 2; FEATURES.md S1, S6, S7).

``GET /app/new`` is the form: title, message, language, expiry, automatic reminders, documents and the
participants in signing order. ``?template=ID`` starts it from a template (its documents, its roles as
the rows, its defaults filled in); ``?from=ENV_ID`` edits a draft (its documents stay; the rest can be
changed, sent, saved as a template or the draft deleted; a document can be removed, and new PDFs
added, each preflighted and refused on its own file).

Without JavaScript the form is one multipart/form-data POST to ``/app/new``: the PDFs travel in it (up
to :data:`FORM_UPLOAD_LIMIT` together: Lambda takes a 6 MB request, which API Gateway hands over in
base64), and the row buttons (add, remove, up, down) submit it and come back with the change made and
everything typed kept. With JavaScript (``static/upload.js``), the rows move in the page, and the
files go straight to S3: the script posts the form with only the files' names and sizes
(``upload=presigned``), gets the draft's presigned POSTs, uploads each file with its progress, and
then posts ``/app/new/complete`` with the same fields.

Every document is preflighted (by the seal function, :func:`tachiai.services.sealing_tasks.
preflight_stored`) as soon as it is stored, one by one, so a refusal is shown on the file it concerns,
in the visitor's language, with what to do (the error's catalog message). A draft whose file is
refused is deleted again at once: the form comes back, not a draft with a file that can never be sent.
Sending preflights again (the seal function's ``prepare``), on exactly the bytes it seals.

Page previews: ``GET /app/envelopes/{id}/preview`` (every page of every document) and the PNGs
``/app/envelopes/{id}/documents/{doc}/pages/{n}.png`` (:mod:`tachiai.console.preview`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from tachiai import i18n
from tachiai.api.routing import json_response
from tachiai.console import preview
from tachiai.console.row_editor import edit_rows
from tachiai.domain.documents import current_key, original_key
from tachiai.domain.envelope import AUTO_REMIND_DAYS, MAX_LINK_VALIDITY, Envelope, EnvelopeStatus
from tachiai.domain.errors import (
    DocumentNotUploaded,
    DuplicateParticipant,
    InvalidDocument,
    InvalidRequest,
    NotFound,
    TachiaiError,
    TooManyDocuments,
)
from tachiai.domain.templates import Template, TemplateScope
from tachiai.domain.uploads import check_size, check_upload
from tachiai.services import drafts, sending, templates
from tachiai.services.drafts import DraftChanges
from tachiai.services.sending import (
    ADMIN_GROUP,
    INLINE_DOCUMENT_LIMIT,
    CreateEnvelopeRequest,
    DocumentRequest,
)
from tachiai.services.templates import TemplateRequest

if TYPE_CHECKING:
    from tachiai.api.routing import RouteKey
    from tachiai.console.framework import Console, UploadedFile, Visitor
    from tachiai.services.context import Services

__all__ = ["EnvelopeForm", "ParticipantRow", "apply_row_action", "page_routes"]

NEW_PATH: Final = "/app/new"
COMPLETE_PATH: Final = "/app/new/complete"
PREVIEW_PATH: Final = "/app/envelopes/{envelope_id}/preview"
PAGE_PATH: Final = "/app/envelopes/{envelope_id}/documents/{document_id}/pages/{page}"
"""``{page}`` is ``2.png``: API Gateway takes a parameter only as a whole path segment."""
ENVELOPE_PATH: Final = "/app/envelopes/{envelope_id}"
"""K3's envelope page: where a sent envelope goes."""
HOME_PATH: Final = "/app"
REMOVE_DOCUMENT: Final = "document-remove:"
"""The action of a draft's 'remove' button, followed by the document's id (not ``remove-``: that is
a participant row's, which the script handles in the page)."""

FORM_UPLOAD_LIMIT: Final = INLINE_DOCUMENT_LIMIT
"""The PDFs of one form POST together (without JavaScript): Lambda's 6 MB request payload holds this
much once API Gateway has base64-encoded the body (4:3), with the fields beside it."""
DEFAULT_ROWS: Final = 2
MAX_ROWS: Final = 20
"""As many participants as an envelope may have."""
MAX_DOCUMENTS: Final = 10
MAX_EXPIRY_DAYS: Final = MAX_LINK_VALIDITY.days
DEFAULT_EXPIRY_DAYS: Final = 7

_ROW_FIELD = re.compile(r"^participants-(\d{1,2})-(organization|name|email|code|language|role)$")
_PAGE = re.compile(r"^([1-9]\d{0,3})\.png$")


# --- the form (pure: no request, no service) ---------------------------------------------------------


@dataclass
class ParticipantRow:
    """One participant as typed (strings as typed, so a refused form comes back unchanged)."""

    organization: str = ""
    name: str = ""
    email: str = ""
    code: str = ""
    language: str = i18n.DEFAULT_LANGUAGE
    role: str = ""
    """The template role this row fills (a form started from a template); empty otherwise."""
    code_required: bool = False
    """The template role requires an access code."""
    code_kept: bool = False
    """Editing a draft: this person has an access code already (left empty, it is kept)."""

    def blank(self) -> bool:
        """Nothing typed: the row is ignored (the form offers empty rows)."""
        return not (self.organization.strip() or self.name.strip() or self.email.strip() or self.code.strip())


@dataclass
class EnvelopeForm:
    """The new-envelope form: its values and, once refused, the problem of each field."""

    title: str = ""
    message: str = ""
    language: str = i18n.DEFAULT_LANGUAGE
    expiry_days: str = str(DEFAULT_EXPIRY_DAYS)
    remind_days: str = ""
    """Empty: no automatic reminders."""
    rows: list[ParticipantRow] = field(default_factory=list)
    template_id: str = ""
    draft_id: str = ""
    template_name: str = ""
    template_team: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    """Field (``title``, ``participants-2-email``, ``documents``, ``form``) → message in the visitor's
    language."""
    file_errors: list[tuple[str, str]] = field(default_factory=list)
    """(file name, message) of each refused file, in the order chosen."""
    chosen_files: list[str] = field(default_factory=list)
    """Names of the files the refused POST carried (a browser cannot be given them back)."""

    @property
    def fixed_rows(self) -> bool:
        """Rows are a template's roles: their number and order are the template's."""
        return bool(self.template_id)

    @classmethod
    def blank_form(cls) -> EnvelopeForm:
        return cls(rows=[ParticipantRow() for _ in range(DEFAULT_ROWS)])

    @classmethod
    def of_draft(cls, envelope: Envelope) -> EnvelopeForm:
        """The form filled with a draft's values (an access code is never shown: only its hash exists)."""
        return cls(
            title=envelope.title,
            message=envelope.message,
            language=envelope.language,
            expiry_days=str(max(1, round(envelope.link_validity / timedelta(days=1)))),
            remind_days=str(envelope.auto_remind_every_days or ""),
            rows=[
                ParticipantRow(
                    organization=p.person.organization or "",
                    name=p.person.name,
                    email=str(p.person.email),
                    language=p.language,
                    code_kept=p.requires_access_code,
                )
                for p in envelope.signers_in_order()
            ],
            draft_id=envelope.id,
        )

    @classmethod
    def of_template(cls, template: Template) -> EnvelopeForm:
        """The form started from a template: one row per role, the default people filled in."""
        return cls(
            title=template.title,
            message=template.message,
            language=template.language,
            expiry_days=str(max(1, round(template.link_validity / timedelta(days=1)))),
            remind_days=str(template.auto_remind_every_days or ""),
            rows=[
                ParticipantRow(
                    organization=(r.default.organization or "") if r.default else "",
                    name=r.default.name if r.default else "",
                    email=str(r.default.email) if r.default else "",
                    language=r.language,
                    role=r.label,
                    code_required=r.access_code_required,
                )
                for r in template.roles
            ],
            template_id=template.id,
        )

    @classmethod
    def parse(cls, fields: Mapping[str, list[str]]) -> EnvelopeForm:
        """The form as POSTed. Row fields are read by their index (``participants-3-email``); at most
        :data:`MAX_ROWS` rows, anything else ignored."""

        def one(name: str) -> str:
            return (fields.get(name) or [""])[0]

        rows: dict[int, ParticipantRow] = {}
        for key, values in fields.items():
            match = _ROW_FIELD.match(key)
            if match is None or int(match.group(1)) >= MAX_ROWS or not values:
                continue
            setattr(rows.setdefault(int(match.group(1)), ParticipantRow()), match.group(2), values[0])
        kept = set(fields.get("code_kept") or [])
        required = set(fields.get("code_required") or [])
        ordered = [rows[i] for i in sorted(rows)]
        for row in ordered:
            # which rows had a code, or need one, is said by their email / role (rows move in the page)
            row.code_kept = bool(row.email.strip()) and row.email.strip().lower() in kept
            row.code_required = bool(row.role) and row.role in required
        return cls(
            title=one("title"),
            message=one("message"),
            language=one("language") or i18n.DEFAULT_LANGUAGE,
            expiry_days=one("expiry_days"),
            remind_days=one("remind_days"),
            rows=ordered,
            template_id=one("template_id"),
            draft_id=one("draft_id"),
            template_name=one("template_name"),
            template_team=bool(one("template_team")),
        )

    # --- into requests --------------------------------------------------------------------------

    def _settings(self, problem: Callable[..., None]) -> dict[str, Any]:
        values: dict[str, Any] = {"title": self.title.strip(), "message": self.message}
        values["language"] = self.language if self.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        days = self.expiry_days.strip()
        if not days.isdigit() or not 1 <= int(days) <= MAX_EXPIRY_DAYS:
            problem("expiry_days", "console.new.invalid.expiry", max=MAX_EXPIRY_DAYS)
        else:
            values["link_validity_seconds"] = int(days) * 86400
        remind = self.remind_days.strip()
        low, high = AUTO_REMIND_DAYS
        if not remind:
            values["auto_remind_every_days"] = None
        elif not remind.isdigit() or not low <= int(remind) <= high:
            problem("remind_days", "console.new.invalid.remind", min=low, max=high)
        else:
            values["auto_remind_every_days"] = int(remind)
        return values

    def _participants(self, problem: Callable[..., None]) -> tuple[list[dict[str, Any]], list[int]]:
        """The rows as participant requests, and the row index of each. A blank row is left out: an
        empty row of a plain form, or a template role the template's default person fills (a role with
        none is refused by the service, on its row)."""
        people: list[dict[str, Any]] = []
        places: list[int] = []
        for i, row in enumerate(self.rows):
            if row.blank():
                continue
            person: dict[str, Any] = {
                "name": row.name.strip(),
                "email": row.email.strip(),
                "organization": row.organization.strip() or None,
                "language": row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE,
                "access_code": row.code.strip() or None,
            }
            if row.role:
                person["role"] = row.role
            if row.code_required and person["access_code"] is None:
                problem(f"participants-{i}-code", "console.new.invalid.code_required")
            people.append(person)
            places.append(i)
        return people, places

    def _problems(self, language: i18n.Language) -> Callable[..., None]:
        def problem(where: str, msgid: str, **values: object) -> None:
            self.errors.setdefault(where, i18n.text(msgid, language, **values))

        return problem

    def _refuse_if_errors(self) -> None:
        if self.errors:
            raise InvalidRequest(f"envelope form: {sorted(self.errors)}", field=next(iter(self.errors)))

    def create_request(
        self, language: i18n.Language, documents: list[DocumentRequest]
    ) -> CreateEnvelopeRequest:
        """The service's request for a new envelope from this form (and ``documents``).

        :raises InvalidRequest: (with ``self.errors`` set, in ``language``) a field is missing, too long
            or malformed.
        """
        problem = self._problems(language)
        values = self._settings(problem)
        people, places = self._participants(problem)
        if self.template_id:
            values["template_id"] = self.template_id
            if not values["title"]:
                del values["title"]
        else:
            if not people:
                problem("participants", "console.new.invalid.participants_required")
            if not documents:
                problem("documents", "console.new.invalid.documents_required")
            values["documents"] = documents
        values["participants"] = people
        request = None
        try:
            request = CreateEnvelopeRequest.model_validate(values)
        except ValidationError as e:
            self._validation_problems(e, places, problem)
        self._refuse_if_errors()
        assert request is not None  # a validation error always leaves a problem
        return request

    def draft_changes(self, language: i18n.Language) -> DraftChanges:
        """The changes this form makes to its draft.

        :raises InvalidRequest: as :meth:`create_request`.
        """
        problem = self._problems(language)
        values = self._settings(problem)
        people, places = self._participants(problem)
        if not people:
            problem("participants", "console.new.invalid.participants_required")
        values["participants"] = people
        changes = None
        try:
            changes = DraftChanges.model_validate(values)
        except ValidationError as e:
            self._validation_problems(e, places, problem)
        self._refuse_if_errors()
        assert changes is not None
        return changes

    def _validation_problems(
        self, error: ValidationError, places: list[int], problem: Callable[..., None]
    ) -> None:
        for detail in error.errors():
            loc = [str(part) for part in detail["loc"]]
            if loc and loc[0] == "participants" and len(loc) >= 3 and loc[1].isdigit():
                part = {"access_code": "code"}.get(loc[2], loc[2])
                problem(f"participants-{places[int(loc[1])]}-{part}", f"console.new.invalid.{_kind(part)}")
            elif loc and loc[0] in {"title", "message", "documents"}:
                problem(loc[0], f"console.new.invalid.{loc[0]}")
            elif loc and loc[0] == "participants":
                problem("participants", "console.new.invalid.participants_required")
            else:
                problem("form", "console.new.invalid.form")

    def refuse_service_error(self, error: TachiaiError, places: list[int], language: i18n.Language) -> None:
        """Put a refusal of the service on the field(s) it concerns (a duplicate address on both rows)."""
        message = error.message(language)
        if isinstance(error, DuplicateParticipant):
            for place in (error.params.get("first"), error.params.get("second")):
                if isinstance(place, int) and 1 <= place <= len(places):
                    self.errors.setdefault(f"participants-{places[place - 1]}-email", message)
            return
        role = error.params.get("role")
        rows_of_role = [i for i, row in enumerate(self.rows) if role and row.role == role]
        if rows_of_role:
            part = "code" if error.code == "template_access_code_missing" else "name"
            self.errors.setdefault(f"participants-{rows_of_role[0]}-{part}", message)
            return
        where = str(error.params.get("field") or "form")
        match = re.match(r"^participants\[(\d+)\]\.(\w+)", where)
        if match and int(match.group(1)) < len(places):
            part = {"access_code": "code"}.get(match.group(2), match.group(2))
            if part not in {"name", "email", "organization", "code", "language"}:
                part = "email"
            self.errors.setdefault(f"participants-{places[int(match.group(1))]}-{part}", message)
        elif isinstance(error, InvalidDocument | DocumentNotUploaded):
            self.errors.setdefault("documents", message)
        else:
            self.errors.setdefault("form", message)

    def row_places(self) -> list[int]:
        """The row index of each participant the requests carry (blank rows skipped)."""
        _, places = self._participants(lambda *_, **__: None)
        return places


def _kind(part: str) -> str:
    return part if part in {"name", "email", "organization", "code"} else "form"


def apply_row_action(form: EnvelopeForm, action: str) -> bool:
    """Add, remove or move a participant row (``add``, ``remove-2``, ``up-1``, ``down-0``); False when
    ``action`` is no row action (or a template's fixed rows). The last row removed leaves an empty one."""
    if form.fixed_rows:
        return False
    edited = edit_rows(form.rows, action, ParticipantRow, MAX_ROWS)
    if edited is None:
        return False
    form.rows[:] = edited or [ParticipantRow()]
    return True


def file_name(name: str) -> str:
    """The last part of an uploaded file's name (a browser may send a Windows path), at most 255
    characters; ``document.pdf`` when nothing is left."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    return base[:255] or "document.pdf"


# --- the pages ----------------------------------------------------------------------------------------


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    """The new-envelope form, its completion after direct uploads, and the page previews."""

    def render_form(visitor: Visitor, form: EnvelopeForm, *, status: int = 200) -> Response[str]:
        svc = console.services()
        documents: list[dict[str, str]] = []
        if form.draft_id:
            envelope = sending.owned_envelope(svc, visitor.identity, form.draft_id)
            documents = [{"id": d.id, "name": d.name} for d in envelope.documents]
        elif form.template_id:
            template = templates.get_template(svc, visitor.identity, form.template_id)
            documents = [{"id": d.id, "name": d.name} for d in template.documents]
        return console.render(
            "console/new_envelope.html.j2",
            status=status,
            connect_src=[_upload_origin(svc)],
            form=form,
            documents=documents,
            is_admin=visitor.is_admin,
            remind_range=AUTO_REMIND_DAYS,
            max_expiry=MAX_EXPIRY_DAYS,
            upload_limit_mb=FORM_UPLOAD_LIMIT // (1024 * 1024),
            direct_limit_mb=svc.settings.max_document_bytes // (1024 * 1024),
            max_documents=MAX_DOCUMENTS,
            max_rows=MAX_ROWS,
        )

    def new() -> Response[str]:
        """The form: empty, from a template (``?template=``) or a draft (``?from=``)."""
        visitor = console.visitor()
        svc = console.services()
        template_id, draft_id = console.query("template"), console.query("from")
        if draft_id:
            envelope = sending.owned_envelope(svc, visitor.identity, draft_id)
            if envelope.status != EnvelopeStatus.DRAFT:
                return console.redirect(ENVELOPE_PATH.format(envelope_id=envelope.id))
            form = EnvelopeForm.of_draft(envelope)
        elif template_id:
            form = EnvelopeForm.of_template(templates.get_template(svc, visitor.identity, template_id))
        else:
            form = EnvelopeForm.blank_form()
        return render_form(visitor, form)

    def submit() -> Response[str]:
        """The form POSTed: a row button, or save / send / save as template / delete."""
        visitor = console.visitor()
        fields = console.form()
        form = EnvelopeForm.parse(fields)
        action = (fields.get("action") or ["draft"])[0]
        if apply_row_action(form, action):
            form.chosen_files = [
                file_name(f.name) for f in console.form_files().get("documents", []) if f.data
            ]
            return render_form(visitor, form)
        if form.draft_id:
            presigned = (fields.get("upload") or [""])[0] == "presigned"
            return _submit_draft(visitor, form, action, fields, presigned=presigned)
        presigned = (fields.get("upload") or [""])[0] == "presigned"
        return _submit_new(visitor, form, action, fields, presigned=presigned)

    def _submit_draft(
        visitor: Visitor, form: EnvelopeForm, action: str, fields: Mapping[str, list[str]], *, presigned: bool
    ) -> Response[str]:
        """A draft's form: its changes saved, a document removed or new ones added (inline, or with
        ``upload=presigned`` the draft's presigned POSTs for the script), then the action."""
        svc = console.services()
        language = visitor.language
        if action == "delete":
            drafts.delete_draft(svc, visitor.identity, form.draft_id)
            return console.redirect(HOME_PATH, notice="console.new.notice.deleted")
        files = (
            [] if presigned else [f for f in console.form_files().get("documents", []) if f.data or f.name]
        )
        try:
            changes = form.draft_changes(language)
            drafts.edit_draft(svc, visitor.identity, form.draft_id, changes, keep_access_codes=True)
        except InvalidRequest as e:
            if not form.errors:
                form.refuse_service_error(e, form.row_places(), language)
            form.chosen_files = [file_name(f.name) for f in files if f.data]
            return render_form(visitor, form, status=422)
        if action.startswith(REMOVE_DOCUMENT):
            drafts.remove_draft_document(svc, visitor.identity, form.draft_id, action[len(REMOVE_DOCUMENT) :])
            return console.redirect(_edit_path(form.draft_id), notice="console.new.notice.document_removed")
        if presigned:
            names = _presigned_names(form, fields, svc.settings.max_document_bytes, language)
            if form.file_errors:
                return render_form(visitor, form, status=422)
            if names:
                try:
                    added = drafts.add_draft_documents(
                        svc, visitor.identity, form.draft_id, [DocumentRequest(name=n) for n in names]
                    )
                except TooManyDocuments as e:
                    form.errors["documents"] = e.message(language)
                    return render_form(visitor, form, status=422)
                new_ids = ",".join(u.document_id for u in added.uploads)
                body = {
                    "envelope_id": form.draft_id,
                    "complete": f"{COMPLETE_PATH}?added={new_ids}",
                    "uploads": [
                        {"document_id": u.document_id, "url": u.url, "fields": u.fields}
                        for u in added.uploads
                    ],
                }
                return json_response(201, body)
            return _act(visitor, form, action, form.draft_id, created_now=False)
        inline = _checked_files(form, files, language)
        if form.file_errors or form.errors:
            form.chosen_files = [name for name, _ in inline] if not form.file_errors else []
            return render_form(visitor, form, status=422)
        if inline:
            try:
                added = drafts.add_draft_documents(
                    svc,
                    visitor.identity,
                    form.draft_id,
                    [DocumentRequest(name=n, content_base64=_b64(d)) for n, d in inline],
                )
            except (TooManyDocuments, InvalidDocument) as e:
                form.errors["documents"] = e.message(language)
                return render_form(visitor, form, status=422)
            stored = added.envelope.documents
            fresh = {d.id for d in stored[len(stored) - len(inline) :]}  # appended after the draft's
            if not _preflight_added(svc, visitor, form, added.envelope, fresh, language):
                return render_form(visitor, form, status=422)
        return _act(visitor, form, action, form.draft_id, created_now=False)

    def _submit_new(
        visitor: Visitor, form: EnvelopeForm, action: str, fields: Mapping[str, list[str]], *, presigned: bool
    ) -> Response[str]:
        svc = console.services()
        language = visitor.language
        inline: list[tuple[str, bytes]] = []
        if presigned:
            names = _presigned_names(form, fields, svc.settings.max_document_bytes, language)
            documents = [DocumentRequest(name=n) for n in names]
        else:
            files = [f for f in console.form_files().get("documents", []) if f.data or f.name]
            inline = _checked_files(form, files, language)
            documents = [DocumentRequest(name=n, content_base64=_b64(d)) for n, d in inline]
        if not form.template_id and len(documents) > MAX_DOCUMENTS:
            form.errors["documents"] = i18n.text(
                "console.new.invalid.too_many_documents", language, max=MAX_DOCUMENTS
            )
        if form.template_id and documents:
            form.errors["documents"] = i18n.text("console.new.invalid.documents_with_template", language)
        try:
            request = form.create_request(language, [] if form.template_id else documents)
        except InvalidRequest:
            request = None
        if request is None or form.file_errors:
            form.chosen_files = [name for name, _ in inline] if not form.file_errors else []
            return render_form(visitor, form, status=422)
        try:
            created = sending.create_envelope(svc, visitor.identity, request)
        except TachiaiError as e:
            if e.http_status >= 500:
                raise
            form.refuse_service_error(e, form.row_places(), language)
            return render_form(visitor, form, status=422)
        envelope = created.envelope
        if presigned:
            body = {
                "envelope_id": envelope.id,
                "complete": COMPLETE_PATH,
                "uploads": [
                    {"document_id": u.document_id, "url": u.url, "fields": u.fields} for u in created.uploads
                ],
            }
            return json_response(201, body)
        if not form.template_id and not _preflight(svc, visitor, form, envelope, language):
            return render_form(visitor, form, status=422)
        return _act(visitor, form, action, envelope.id, created_now=True)

    def complete() -> Response[str]:
        """After the script uploaded the files of a draft it created: check them, then act."""
        visitor = console.visitor()
        svc = console.services()
        fields = console.form()
        form = EnvelopeForm.parse(fields)
        action = (fields.get("action") or ["draft"])[0]
        envelope_id = (fields.get("envelope_id") or [""])[0]
        envelope = sending.owned_envelope(svc, visitor.identity, envelope_id)
        editing = bool(form.draft_id) and form.draft_id == envelope.id
        if not editing:
            form.draft_id = ""  # the draft was made by this very submission: refused, the form is new again
        if envelope.status != EnvelopeStatus.DRAFT:
            return _script_redirect(ENVELOPE_PATH.format(envelope_id=envelope.id), None)
        if editing:
            # documents added to an existing draft: only they are checked, and only they go if refused
            added = set((console.query("added") or "").split(",")) - {""}
            if not _preflight_added(svc, visitor, form, envelope, added, visitor.language):
                return render_form(visitor, form, status=422)
        elif not _preflight(svc, visitor, form, envelope, visitor.language):
            return render_form(visitor, form, status=422)
        response = _act(visitor, form, action, envelope.id, created_now=not editing)
        location = response.headers.get("Location")
        if response.status_code == 303 and isinstance(location, str):
            return _script_redirect(location, response)
        return response

    def _preflight(
        svc: Services, visitor: Visitor, form: EnvelopeForm, envelope: Envelope, language: i18n.Language
    ) -> bool:
        """Preflight each document of a draft this submission created; on any refusal, the refusals on
        their files and the draft deleted again. False when refused."""
        for document in envelope.documents:
            key = document.upload_key or original_key(envelope.id, document.id)
            try:
                svc.functions.call(svc.settings.require("seal_function"), {"task": "preflight", "key": key})
            except (InvalidDocument, DocumentNotUploaded) as e:
                form.file_errors.append((document.name, e.message(language)))
        if form.file_errors:
            drafts.delete_draft(svc, visitor.identity, envelope.id)
            return False
        return True

    def _preflight_added(
        svc: Services,
        visitor: Visitor,
        form: EnvelopeForm,
        envelope: Envelope,
        added: set[str],
        language: i18n.Language,
    ) -> bool:
        """Preflight the documents ``added`` to an existing draft; each refused one is shown on its file
        and taken out of the draft again (the rest of the draft stays). False when any was refused."""
        for document in envelope.documents:
            if document.id not in added:
                continue
            key = document.upload_key or original_key(envelope.id, document.id)
            try:
                svc.functions.call(svc.settings.require("seal_function"), {"task": "preflight", "key": key})
            except (InvalidDocument, DocumentNotUploaded) as e:
                form.file_errors.append((document.name, e.message(language)))
                drafts.remove_draft_document(svc, visitor.identity, envelope.id, document.id)
        return not form.file_errors

    def _act(
        visitor: Visitor, form: EnvelopeForm, action: str, envelope_id: str, *, created_now: bool
    ) -> Response[str]:
        """Save, send or save as template the draft ``envelope_id`` (stored and checked)."""
        svc = console.services()
        if action == "send":
            try:
                sending.send_envelope(svc, visitor.identity, envelope_id)
            except (InvalidDocument, DocumentNotUploaded, InvalidRequest) as e:
                # the draft stays (a second preflight on the bytes being sealed, or no document left):
                # shown on its form
                return _refused_send(visitor, envelope_id, e)
            return console.redirect(
                ENVELOPE_PATH.format(envelope_id=envelope_id), notice="console.new.notice.sent"
            )
        if action == "template":
            envelope = sending.owned_envelope(svc, visitor.identity, envelope_id)
            sending.accept_uploads(svc, envelope)  # a template copies the stored originals
            scope = (
                TemplateScope.TEAM
                if form.template_team and ADMIN_GROUP in visitor.identity.groups
                else TemplateScope.PERSONAL
            )
            name = (form.template_name.strip() or envelope.title)[:100]
            saved = templates.create_template(
                svc,
                visitor.identity,
                TemplateRequest(name=name, scope=scope, from_envelope_id=envelope_id),
            )
            if created_now:
                drafts.delete_draft(svc, visitor.identity, envelope_id)  # only the template was asked for
            return console.redirect(
                f"{NEW_PATH}?template={saved.template.id}", notice="console.new.notice.template_saved"
            )
        return console.redirect(_edit_path(envelope_id), notice="console.new.notice.saved")

    def _refused_send(visitor: Visitor, envelope_id: str, error: TachiaiError) -> Response[str]:
        envelope = sending.owned_envelope(console.services(), visitor.identity, envelope_id)
        form = EnvelopeForm.of_draft(envelope)
        form.errors["documents"] = error.message(visitor.language)
        return render_form(visitor, form, status=422)

    def preview_page(envelope_id: str) -> Response[str]:
        """Every page of every document of an envelope the visitor may read (a draft: as uploaded)."""
        visitor = console.visitor()
        svc = console.services()
        envelope = sending.readable_envelope(svc, visitor.identity, envelope_id)
        shown: list[dict[str, Any]] = []
        for document in envelope.documents:
            entry: dict[str, Any] = {"id": document.id, "name": document.name, "pages": 0, "error": None}
            try:
                entry["pages"] = preview.page_count(_document_bytes(svc, envelope, document.id))
            except TachiaiError as e:
                if e.http_status >= 500:
                    raise
                entry["error"] = e.message(visitor.language)
            entry["shown"] = min(entry["pages"], preview.MAX_PREVIEW_PAGES)
            shown.append(entry)
        return console.render(
            "console/new_envelope_preview.html.j2",
            envelope=envelope,
            documents=shown,
            editable=envelope.status == EnvelopeStatus.DRAFT and envelope.sender_id == visitor.identity.sub,
            edit_path=_edit_path(envelope.id),
            width=preview.PREVIEW_WIDTH,
        )

    def page_image(envelope_id: str, document_id: str, page: str) -> Response[Any]:
        """One page as a PNG (``2.png``), cached here and revalidated by the browser with its ETag."""
        visitor = console.visitor()
        svc = console.services()
        match = _PAGE.match(page)
        if match is None:
            raise NotFound(f"page {page!r}")
        envelope = sending.readable_envelope(svc, visitor.identity, envelope_id)
        rendered = preview.render(_document_bytes(svc, envelope, document_id), int(match.group(1)))
        headers = {"ETag": rendered.etag, "Cache-Control": "private, no-cache"}
        if rendered.etag in _if_none_match(console.header("if-none-match")):
            return Response(status_code=304, body="", headers=headers)
        return Response(status_code=200, content_type="image/png", body=rendered.png, headers=headers)

    return {
        ("GET", NEW_PATH): new,
        ("POST", NEW_PATH): submit,
        ("POST", COMPLETE_PATH): complete,
        ("GET", PREVIEW_PATH): preview_page,
        ("GET", PAGE_PATH): page_image,
    }


def _document_bytes(svc: Services, envelope: Envelope, document_id: str) -> bytes:
    """A document's PDF as it is now: a draft's upload where it waits to be accepted, else the stored
    version (the original, then each sealed one).

    :raises NotFound: no such document, or nothing stored for it yet.
    """
    document = next((d for d in envelope.documents if d.id == document_id), None)
    if document is None:
        raise NotFound(f"document {document_id} of {envelope.id}")
    if envelope.status == EnvelopeStatus.DRAFT and document.upload_key:
        return svc.documents.get(document.upload_key)
    return svc.documents.get(current_key(envelope.id, document))


def _upload_origin(svc: Services) -> str:
    """The origin the script posts files to (the page's CSP ``connect-src``): the documents bucket's,
    read from a presigned POST made for it. Presigning is computed locally, without a call to S3; the
    URL made here is never handed out."""
    url = urlsplit(str(svc.documents.upload_url("envelopes/console-origin.pdf", 60, 1)["url"]))
    return f"{url.scheme}://{url.netloc}"


def _if_none_match(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}


def _edit_path(envelope_id: str) -> str:
    return f"{NEW_PATH}?from={envelope_id}"


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def _presigned_names(
    form: EnvelopeForm, fields: Mapping[str, list[str]], max_bytes: int, language: i18n.Language
) -> list[str]:
    """The names of the files the script is about to upload directly (``document_name`` /
    ``document_size``); a file larger than ``max_bytes`` refused on it."""
    names = [file_name(n) for n in fields.get("document_name", [])]
    sizes = fields.get("document_size", [])
    for name, size in zip(names, sizes, strict=False):
        try:
            check_size(int(size) if size.isdigit() else 0, max_bytes)
        except InvalidDocument as e:
            form.file_errors.append((name, e.message(language)))
    return names


def _checked_files(
    form: EnvelopeForm, files: list[UploadedFile], language: i18n.Language
) -> list[tuple[str, bytes]]:
    """The uploaded files that pass the cheap first look (:func:`check_upload`); each refusal on its
    file, and one on the whole when they are more than one POST can carry together."""
    accepted: list[tuple[str, bytes]] = []
    for upload in files:
        name = file_name(upload.name)
        try:
            check_upload(upload.data, FORM_UPLOAD_LIMIT)
        except InvalidDocument as e:
            form.file_errors.append((name, e.message(language)))
            continue
        accepted.append((name, upload.data))
    if sum(len(data) for _, data in accepted) > FORM_UPLOAD_LIMIT:
        form.errors["documents"] = i18n.text(
            "console.new.invalid.files_too_large_together",
            language,
            limit_mb=FORM_UPLOAD_LIMIT // (1024 * 1024),
        )
    return accepted


def _script_redirect(location: str, response: Response[str] | None) -> Response[str]:
    """Where the script goes next (it asked with fetch, which would follow a 303 itself and use up the
    notice): the redirect's headers (the notice's cookie) with the place in a JSON body."""
    headers: dict[str, Any] = dict(response.headers) if response is not None else {}
    headers.pop("Location", None)
    answer = json_response(200, {"redirect": location})
    answer.headers.update(headers)
    answer.headers["Cache-Control"] = "no-store"
    if response is not None:
        answer.cookies.extend(response.cookies)
    return answer
