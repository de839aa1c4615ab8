"""The console's templates (FEATURES.md S7; issue 12 item 5): the personal and team templates, one
template's roles, message and documents, a new template from PDFs, editing, deleting, and "use" (K2's
new-envelope page started from the template).

Who may do what is the service's (:mod:`tachiai.services.templates`): everyone uses a team template,
only administrators create, change or delete one (``template_admin_only``, 403). The pages only hide
the buttons a visitor could not use; a forged POST still meets the service's refusal.

The role editor works without JavaScript: each role is a row of indexed fields (``roles-0-label`` ...),
and the add / remove / up / down buttons submit the form, which comes back with the change made and
everything typed kept; only "save" saves. A new template is saved with its PDFs in one
multipart/form-data POST (inline documents, checked by the same preflight as an envelope's); its roles
are given in a few rows there, and more can be added, removed or reordered on the edit page (a file
input cannot be filled again by a server, so the new-template form is never sent back for a row).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tachiai import i18n
from tachiai.console.row_editor import edit_rows
from tachiai.domain.envelope import AUTO_REMIND_DAYS, MAX_LINK_VALIDITY
from tachiai.domain.errors import Conflict, InvalidDocument, InvalidRequest, TemplateAdminOnly
from tachiai.domain.templates import MAX_DOCUMENTS, MAX_ROLES, Template, TemplateScope
from tachiai.domain.text import single_line
from tachiai.domain.uploads import check_upload
from tachiai.services import templates
from tachiai.services.sending import INLINE_DOCUMENT_LIMIT, DocumentRequest
from tachiai.services.templates import TemplateRequest, TemplateRoleRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

    from tachiai.api.routing import RouteKey
    from tachiai.console.framework import Console, UploadedFile, Visitor

__all__ = ["RoleRow", "TemplateForm", "apply_role_action", "can_manage", "page_routes"]

LIST_PATH: Final = "/app/templates"
NEW_ENVELOPE_PATH: Final = "/app/new"
"""K2's new-envelope page; ``?template=ID`` starts it from a template."""
NEW_TEMPLATE_ROWS: Final = 3
"""Role rows on the new-template form (blank rows are ignored; more on the edit page)."""
MAX_EXPIRY_DAYS: Final = MAX_LINK_VALIDITY.days

_ROW_FIELD = re.compile(r"^roles-(\d{1,2})-(label|name|email|organization|language|code)$")


# --- the form (pure: no request, no service) ---------------------------------------------------------


@dataclass
class RoleRow:
    """One role as typed in the form (strings as typed, so a refused form comes back unchanged)."""

    label: str = ""
    name: str = ""
    email: str = ""
    organization: str = ""
    language: str = i18n.DEFAULT_LANGUAGE
    code_required: bool = False

    def blank(self) -> bool:
        """Nothing typed: the row is ignored (the new-template form offers a few empty rows)."""
        return not (
            self.label.strip() or self.name.strip() or self.email.strip() or self.organization.strip()
        )


@dataclass
class TemplateForm:
    """The new-template or edit form: its values and, once refused, the problem of each field."""

    name: str = ""
    scope: str = TemplateScope.PERSONAL.value
    title: str = ""
    message: str = ""
    expiry_days: str = "7"
    remind_days: str = ""
    """Remind every N days; empty: no automatic reminders (the default)."""
    roles: list[RoleRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """Field name (``name``, ``roles-2-email``, ``documents``, ``form``) → message in the visitor's
    language."""
    kept_documents: set[str] | None = None
    """Editing: the ids of the template's documents ticked to stay (``None``: all of them, as shown
    first)."""

    @classmethod
    def of(cls, template: Template) -> TemplateForm:
        """The edit form filled with ``template``'s values."""
        return cls(
            name=template.name,
            scope=template.scope.value,
            title=template.title,
            message=template.message,
            expiry_days=str(max(1, round(template.link_validity / timedelta(days=1)))),
            remind_days=str(template.auto_remind_every_days or ""),
            roles=[
                RoleRow(
                    label=r.label,
                    name=r.default.name if r.default else "",
                    email=str(r.default.email) if r.default else "",
                    organization=(r.default.organization or "") if r.default else "",
                    language=r.language,
                    code_required=r.access_code_required,
                )
                for r in template.roles
            ],
        )

    @classmethod
    def parse(cls, fields: Mapping[str, list[str]]) -> TemplateForm:
        """The form as POSTed. Row fields are read by their index (``roles-3-label``), so a row whose
        checkbox is unticked still lines up; at most :data:`MAX_ROLES` rows, anything else ignored."""

        def one(name: str) -> str:
            return (fields.get(name) or [""])[0]

        rows: dict[int, RoleRow] = {}
        for key, values in fields.items():
            match = _ROW_FIELD.match(key)
            if match is None or int(match.group(1)) >= MAX_ROLES or not values:
                continue
            row = rows.setdefault(int(match.group(1)), RoleRow())
            part = match.group(2)
            if part == "code":
                row.code_required = True
            else:
                setattr(row, part, values[0])
        return cls(
            name=one("name"),
            scope=one("scope") or TemplateScope.PERSONAL.value,
            title=one("title"),
            message=one("message"),
            expiry_days=one("expiry_days"),
            remind_days=one("remind_days"),
            roles=[rows[i] for i in sorted(rows)],
        )

    def request(self, language: i18n.Language) -> TemplateRequest:
        """The service's request for this form; ``self.errors`` filled (in ``language``) when the form
        cannot be one.

        :raises InvalidRequest: (with ``self.errors`` set) a field is missing, too long or malformed.
        """
        errors: dict[str, str] = {}

        def problem(where: str, msgid: str, **values: object) -> None:
            errors.setdefault(where, i18n.text(msgid, language, **values))

        roles: list[TemplateRoleRequest] = []
        labels: dict[str, int] = {}
        emails: dict[str, int] = {}
        for i, row in enumerate(self.roles):
            if row.blank():
                continue
            roles.append(self._role(i, row, problem))
            label, email = row.label.strip(), row.email.strip().lower()
            if label and labels.setdefault(label, i) != i:
                problem(f"roles-{i}-label", "console.templates.form.label_twice")
            if email and emails.setdefault(email, i) != i:
                problem(f"roles-{i}-email", "console.templates.form.email_twice")
        if not roles:
            problem("roles", "console.templates.form.roles_required")
        days = self.expiry_days.strip()
        if not days.isdigit() or not 1 <= int(days) <= MAX_EXPIRY_DAYS:
            problem("expiry_days", "console.templates.form.expiry_invalid", max=MAX_EXPIRY_DAYS)
        remind = self.remind_days.strip()
        low, high = AUTO_REMIND_DAYS
        if remind and (not remind.isdigit() or not low <= int(remind) <= high):
            problem("remind_days", "console.templates.form.remind_invalid", min=low, max=high)
        scope = self.scope if self.scope in {s.value for s in TemplateScope} else TemplateScope.PERSONAL
        try:
            request = TemplateRequest(
                name=self.name,
                scope=TemplateScope(scope),
                title=self.title,
                message=self.message,
                link_validity_seconds=int(days) * 86400 if "expiry_days" not in errors else None,
                # always given: empty turns reminders off (left out, the service would keep them)
                auto_remind_every_days=int(remind) if remind and "remind_days" not in errors else None,
                roles=roles or None,
            )
        except ValidationError as e:
            for error in e.errors():
                where = str(error["loc"][0]) if error["loc"] else "form"
                msgid, values = _field_problem(error)
                problem(where, msgid, **values)
            request = None
        self.errors = errors
        if errors or request is None:
            raise InvalidRequest(f"template form: {sorted(errors)}", field=next(iter(errors), "form"))
        return request

    @staticmethod
    def _role(i: int, row: RoleRow, problem: Callable[..., None]) -> TemplateRoleRequest:
        name, email, organization = row.name.strip(), row.email.strip(), row.organization.strip()
        # A language the catalogs do not have (a forged form): the default, as everywhere else.
        language = next((code for code in i18n.LANGUAGES if code == row.language), i18n.DEFAULT_LANGUAGE)
        if bool(name) != bool(email):
            problem(f"roles-{i}-{'email' if name else 'name'}", "console.templates.form.default_incomplete")
        whole = bool(name and email)  # half a default person is reported above, and left out here
        try:
            return TemplateRoleRequest(
                label=row.label,
                name=name if whole else None,
                email=email if whole else None,
                organization=organization or None if whole else None,
                language=language,
                access_code_required=row.code_required,
            )
        except ValidationError as e:
            for error in e.errors():
                part = str(error["loc"][0]) if error["loc"] else "label"
                msgid, values = _field_problem(error)
                problem(f"roles-{i}-{part}", msgid, **values)
            # A placeholder keeps the other rows' checks going; the form is refused anyway.
            return TemplateRoleRequest(label=f"#{i}")


def _field_problem(error: ErrorDetails) -> tuple[str, dict[str, object]]:
    """The catalog id and values of one pydantic error, as the form shows it."""
    kind = error["type"]
    if kind in {"missing", "string_too_short"}:
        return "console.templates.form.required", {}
    if kind == "string_too_long":
        return "console.templates.form.too_long", {"max": error.get("ctx", {}).get("max_length", "")}
    if kind == "value_error" and error["loc"][-1:] == ("email",):
        return "console.templates.form.email_invalid", {}
    return "console.templates.form.invalid", {}


def apply_role_action(roles: list[RoleRow], action: str) -> list[RoleRow]:
    """The rows after an editor button: ``add`` (an empty row at the end), ``remove-N``, ``up-N``,
    ``down-N``. An unknown action or an index out of range changes nothing (a stale form)."""
    rows = [replace(r) for r in roles]
    edited = edit_rows(rows, action, RoleRow, MAX_ROLES)
    return rows if edited is None else edited


def can_manage(template: Template, visitor: Visitor) -> bool:
    """Whether the visitor may change or delete the template (the service decides; this only hides
    the buttons): a personal template is its owner's, a team template the administrators'."""
    if template.scope == TemplateScope.TEAM:
        return visitor.is_admin
    return template.owner_id == visitor.identity.sub


def document_requests(
    files: list[UploadedFile], language: i18n.Language, max_bytes: int
) -> tuple[list[DocumentRequest], list[str]]:
    """The chosen PDFs as inline documents, and the problems found in them, each naming its file (the
    same upload check as the service, run per file so the message says which file it is about).

    ``max_bytes`` holds for the files together: they travel in one request, which Lambda takes up to
    6 MB of once API Gateway has base64-encoded it.
    """
    chosen = [f for f in files if f.name or f.data]  # an empty file input still sends one empty part
    problems: list[str] = []
    if not chosen:
        problems.append(i18n.text("console.templates.form.documents_required", language))
    if len(chosen) > MAX_DOCUMENTS:
        problems.append(i18n.text("console.templates.form.too_many_documents", language, max=MAX_DOCUMENTS))
    if sum(len(f.data) for f in chosen) > max_bytes:
        problems.append(
            i18n.text("console.templates.form.documents_too_large", language, mib=max_bytes // (1024 * 1024))
        )
        return [], problems
    documents: list[DocumentRequest] = []
    for f in chosen:
        # Cleaned as every stored name is (a bidi override must not turn "exe.pdf" around in a message).
        name = single_line(f.name)[:255] or "document.pdf"
        try:
            check_upload(f.data, max_bytes)
        except InvalidDocument as e:
            problem = e.message(language)
            problems.append(
                i18n.text("console.templates.form.file_problem", language, name=name, problem=problem)
            )
            continue
        documents.append(DocumentRequest(name=name, content_base64=base64.b64encode(f.data).decode()))
    return documents, problems


# --- the pages ----------------------------------------------------------------------------------------


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    """The template pages, for :func:`tachiai.console.console_routes`."""

    def list_() -> Response[str]:
        visitor = console.visitor()
        found = templates.list_templates(console.services(), visitor.identity)
        return console.render(
            "console/templates_list.html.j2",
            personal=[t for t in found if t.scope == TemplateScope.PERSONAL],
            team=[t for t in found if t.scope == TemplateScope.TEAM],
            manageable={t.id for t in found if can_manage(t, visitor)},
            new_envelope=NEW_ENVELOPE_PATH,
        )

    def view(template_id: str) -> Response[str]:
        visitor = console.visitor()
        template = templates.get_template(console.services(), visitor.identity, template_id)
        return console.render(
            "console/template_view.html.j2",
            tpl=template,
            manage=can_manage(template, visitor),
            expiry_days=round(template.link_validity / timedelta(days=1)),
            new_envelope=NEW_ENVELOPE_PATH,
        )

    def form_page(form: TemplateForm, *, template: Template | None, status: int = 200) -> Response[str]:
        visitor = console.visitor()
        return console.render(
            "console/template_form.html.j2",
            status=status,
            form=form,
            tpl=template,
            team_allowed=visitor.is_admin,
            max_roles=MAX_ROLES,
            max_documents=MAX_DOCUMENTS,
            remind_range=AUTO_REMIND_DAYS,
            max_mib=_upload_limit(console) // (1024 * 1024),
        )

    def new() -> Response[str]:
        console.visitor()
        form = TemplateForm(roles=[RoleRow() for _ in range(NEW_TEMPLATE_ROWS)])
        if console.query("scope") == TemplateScope.TEAM.value:
            form.scope = TemplateScope.TEAM.value
        return form_page(form, template=None)

    def create() -> Response[str]:
        visitor = console.visitor()
        fields = console.form()
        form = TemplateForm.parse(fields)
        form.roles += [RoleRow() for _ in range(NEW_TEMPLATE_ROWS - len(form.roles))]
        svc = console.services()
        documents, problems = document_requests(
            console.form_files().get("documents", []), visitor.language, _upload_limit(console)
        )
        try:
            request = form.request(visitor.language)
        except InvalidRequest:
            request = None
        if problems:
            form.errors["documents"] = " ".join(problems)
        if request is None or problems:
            return form_page(form, template=None, status=422)
        try:
            # The template's own language (its senders' mails): the visitor's, as the new-envelope page.
            saved = templates.create_template(
                svc,
                visitor.identity,
                request.model_copy(update={"documents": documents, "language": visitor.language}),
            )
        except (InvalidRequest, InvalidDocument, Conflict) as e:
            # The form's own problems come back on it; anything else (a forged team scope's
            # template_admin_only) is the framework's error page with its status.
            form.errors["documents" if isinstance(e, InvalidDocument) else "form"] = e.message(
                visitor.language
            )
            return form_page(form, template=None, status=e.http_status)
        return console.redirect(f"{LIST_PATH}/{saved.template.id}", notice="console.templates.created")

    def edit(template_id: str) -> Response[str]:
        visitor = console.visitor()
        template = _manageable(console, visitor, template_id)
        return form_page(TemplateForm.of(template), template=template)

    def save(template_id: str) -> Response[str]:
        visitor = console.visitor()
        fields = console.form()
        svc = console.services()
        form = TemplateForm.parse(fields)
        form.kept_documents = set(fields.get("keep_document") or [])
        action = (fields.get("action") or ["save"])[0]
        template = templates.get_template(svc, visitor.identity, template_id)
        if action != "save":
            _require_manager(template, visitor)
            form.roles = apply_role_action(form.roles, action)
            return form_page(form, template=template)
        try:
            request = form.request(visitor.language)
        except InvalidRequest:
            _require_manager(template, visitor)  # no form for someone who could not save it
            return form_page(form, template=template, status=422)
        kept = [d.id for d in template.documents if d.id in set(fields.get("keep_document") or [])]
        chosen = [f for f in console.form_files().get("documents", []) if f.name or f.data]
        added: list[DocumentRequest] = []
        problems: list[str] = []
        if chosen:
            added, problems = document_requests(chosen, visitor.language, _upload_limit(console))
        if not kept and not chosen:
            problems.append(i18n.text("console.templates.form.documents_required", visitor.language))
        elif len(kept) + len(chosen) > MAX_DOCUMENTS:
            problems.append(
                i18n.text("console.templates.form.too_many_documents", visitor.language, max=MAX_DOCUMENTS)
            )
        if problems:
            _require_manager(template, visitor)
            form.errors["documents"] = " ".join(problems)
            return form_page(form, template=template, status=422)
        # A valid form: the service decides who may save it (a forged POST gets its refusal).
        try:
            templates.update_template(
                svc,
                visitor.identity,
                template_id,
                request.model_copy(update={"documents": added or None}),
                kept_documents=kept,
            )
        except (InvalidRequest, InvalidDocument, Conflict) as e:
            form.errors["documents" if isinstance(e, InvalidDocument) else "form"] = e.message(
                visitor.language
            )
            return form_page(form, template=template, status=e.http_status)
        return console.redirect(f"{LIST_PATH}/{template_id}", notice="console.templates.saved")

    def confirm_delete(template_id: str) -> Response[str]:
        visitor = console.visitor()
        template = _manageable(console, visitor, template_id)
        return console.render("console/template_delete.html.j2", tpl=template)

    def delete(template_id: str) -> Response[str]:
        visitor = console.visitor()
        console.form()  # the CSRF check: nothing else is posted
        templates.delete_template(console.services(), visitor.identity, template_id)
        return console.redirect(LIST_PATH, notice="console.templates.deleted")

    return {
        ("GET", LIST_PATH): list_,
        ("GET", f"{LIST_PATH}/new"): new,
        ("POST", LIST_PATH): create,
        ("GET", f"{LIST_PATH}/{{template_id}}"): view,
        ("GET", f"{LIST_PATH}/{{template_id}}/edit"): edit,
        ("POST", f"{LIST_PATH}/{{template_id}}/edit"): save,
        ("GET", f"{LIST_PATH}/{{template_id}}/delete"): confirm_delete,
        ("POST", f"{LIST_PATH}/{{template_id}}/delete"): delete,
    }


def _upload_limit(console: Console) -> int:
    """What the PDFs of one new-template form may weigh together: the service's inline limit (the
    request must fit Lambda's payload once base64-encoded), or the tenant's smaller document limit."""
    return min(INLINE_DOCUMENT_LIMIT, console.services().settings.max_document_bytes)


def _manageable(console: Console, visitor: Visitor, template_id: str) -> Template:
    """A template the visitor may change (the edit and delete pages).

    :raises NotFound: not a template the visitor may use.
    :raises TemplateAdminOnly: a team template and the visitor is no administrator (the service's own
        refusal, raised before a form it would refuse is shown).
    """
    template = templates.get_template(console.services(), visitor.identity, template_id)
    _require_manager(template, visitor)
    return template


def _require_manager(template: Template, visitor: Visitor) -> None:
    """:raises TemplateAdminOnly: the visitor may not change ``template`` (the service's own refusal)."""
    if not can_manage(template, visitor):
        raise TemplateAdminOnly(f"{visitor.identity.sub} may not manage {template.id}")
