"""S7 templates: a PDF set, roles, message and settings saved once and used for many envelopes;
personal templates for their owner, team templates managed by administrators.

On the in-memory fakes, with the real seal handler's preflight (``tests/unit/test_fault_injection.py``'s
world): what a template records is what preflight saw.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from tachiai.domain.documents import original_key, template_document_key
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.errors import (
    DocumentNotUploaded,
    InvalidDocument,
    NotFound,
    TemplateAccessCodeMissing,
    TemplateAdminOnly,
    TemplateRoleUnfilled,
    TemplateRoleUnknown,
)
from tachiai.domain.events import AuthMethod
from tachiai.domain.templates import TemplateScope
from tachiai.services import sending, templates
from tachiai.services.sending import CreateEnvelopeRequest, SenderIdentity
from tachiai.services.templates import TemplateRequest

from tests.fakes import FakeWorld
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_fault_injection import HANAKO, ICHIRO, SENDER, new_world, send

PDF = simple_pdf(text="Service Agreement")
ADMIN = SenderIdentity(sub="sub-admin", email="admin@tachiai-tech.example", name="管理者", groups=("admin",))
MEMBER = SenderIdentity(
    sub="sub-member", email="member@tachiai-tech.example", name="メンバー", groups=("member",)
)


def _template(world: FakeWorld, who: SenderIdentity = SENDER, **fields: object) -> templates.SavedTemplate:
    body: dict[str, object] = {
        "name": "業務委託契約",
        "title": "業務委託契約書",
        "message": "ご確認ください。",
        "roles": [
            {"label": "委託者", "name": "高橋一郎", "email": ICHIRO},
            {"label": "受託者"},
        ],
        "documents": [{"name": "業務委託契約書.pdf", "content_base64": base64.b64encode(PDF).decode()}],
        **fields,
    }
    return templates.create_template(world.svc, who, TemplateRequest.model_validate(body))


def _from_template(world: FakeWorld, template_id: str, who: SenderIdentity = SENDER, **fields: object):
    request = CreateEnvelopeRequest.model_validate({"template_id": template_id, **fields})
    return sending.create_envelope(world.svc, who, request)


# --- saving ---------------------------------------------------------------------------------------


def test_a_template_saved_with_a_pdf_is_preflighted_and_records_its_hash():
    world = new_world()
    saved = _template(world).template
    document = saved.documents[0]
    assert saved.ready and document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.pages == 1 and document.size == len(PDF)
    assert world.documents.objects[template_document_key(saved.id, document.id)] == PDF


def test_a_template_whose_pdf_fails_preflight_is_not_saved():
    world = new_world()
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    with pytest.raises(InvalidDocument):
        _template(
            world, documents=[{"name": "壊れた.pdf", "content_base64": base64.b64encode(broken).decode()}]
        )
    assert world.templates.templates == {}


def test_a_template_never_stores_an_access_code_only_that_a_role_needs_one():
    world = new_world()
    saved = _template(world, roles=[{"label": "受託者", "access_code_required": True}]).template
    assert saved.roles[0].access_code_required
    with pytest.raises(ValueError, match="access_code"):
        TemplateRequest.model_validate(
            {"name": "x", "title": "x", "roles": [{"label": "甲", "access_code": "1234"}], "documents": []}
        )


def test_a_template_upload_through_a_presigned_post_is_checked_on_first_use():
    world = new_world()
    saved = _template(world, documents=[{"name": "大きな契約書.pdf"}])
    assert not saved.template.ready and len(saved.uploads) == 1
    with pytest.raises(DocumentNotUploaded):
        _from_template(world, saved.template.id, participants=[{"name": "山﨑花子", "email": HANAKO}])
    world.documents.objects[saved.uploads[0].fields["key"]] = PDF  # the client's POST to S3
    created = _from_template(world, saved.template.id, participants=[{"name": "山﨑花子", "email": HANAKO}])
    assert world.templates.templates[saved.template.id].ready
    assert world.documents.objects[original_key(created.envelope.id, "d1")] == PDF


# --- who may do what ------------------------------------------------------------------------------


def test_a_member_cannot_create_a_team_template():
    world = new_world()
    with pytest.raises(TemplateAdminOnly):
        _template(world, MEMBER, scope="team")


def test_a_member_uses_a_team_template_but_cannot_edit_or_delete_it():
    world = new_world()
    team = _template(world, ADMIN, scope="team").template
    assert [t.id for t in templates.list_templates(world.svc, MEMBER)] == [team.id]
    created = _from_template(world, team.id, MEMBER, participants=[{"name": "山﨑花子", "email": HANAKO}])
    assert created.envelope.sender_id == MEMBER.sub
    change = TemplateRequest(name="変更", scope=TemplateScope.TEAM, title="変更後")
    with pytest.raises(TemplateAdminOnly):
        templates.update_template(world.svc, MEMBER, team.id, change)
    with pytest.raises(TemplateAdminOnly):
        templates.delete_template(world.svc, MEMBER, team.id)
    updated = templates.update_template(world.svc, ADMIN, team.id, change).template
    assert updated.title == "変更後" and updated.documents == team.documents
    templates.delete_template(world.svc, ADMIN, team.id)
    assert templates.list_templates(world.svc, MEMBER) == []


def test_a_personal_template_is_invisible_to_everyone_else():
    world = new_world()
    mine = _template(world).template
    assert templates.list_templates(world.svc, MEMBER) == []
    with pytest.raises(NotFound):
        templates.get_template(world.svc, MEMBER, mine.id)
    with pytest.raises(NotFound):
        _from_template(world, mine.id, MEMBER, participants=[{"name": "山﨑花子", "email": HANAKO}])


# --- using ----------------------------------------------------------------------------------------


def test_an_envelope_from_a_template_fills_roles_in_order_and_copies_the_documents():
    world = new_world()
    saved = _template(world, auto_remind_every_days=3).template
    created = _from_template(world, saved.id, participants=[{"name": "山﨑花子", "email": HANAKO}])
    envelope = created.envelope
    assert [(p.order, p.person.email) for p in envelope.participants] == [(1, ICHIRO), (2, HANAKO)]
    assert (envelope.title, envelope.message, envelope.template_id) == (
        "業務委託契約書",
        "ご確認ください。",
        saved.id,
    )
    assert envelope.auto_remind_every_days == 3 and created.uploads == []
    assert world.documents.objects[original_key(envelope.id, "d1")] == PDF
    sending.send_envelope(world.svc, SENDER, envelope.id)
    assert world.envelopes.envelopes[envelope.id].status == EnvelopeStatus.SENT


def test_fields_given_with_the_template_override_it_and_a_named_role_replaces_its_default():
    world = new_world()
    saved = _template(world).template
    created = _from_template(
        world,
        saved.id,
        title="業務委託契約書（第2版）",
        auto_remind_every_days=None,
        participants=[
            {"name": "山﨑花子", "email": HANAKO},
            {"name": "佐藤次郎", "email": "jiro@takahashizaki.example", "role": "委託者"},
        ],
    )
    envelope = created.envelope
    assert envelope.title == "業務委託契約書（第2版）"
    assert [p.person.email for p in envelope.participants] == ["jiro@takahashizaki.example", HANAKO]


def test_a_role_without_a_default_left_unfilled_is_refused():
    world = new_world()
    saved = _template(world).template
    with pytest.raises(TemplateRoleUnfilled) as refused:
        _from_template(world, saved.id)
    assert refused.value.code == "template_role_unfilled" and "受託者" in refused.value.message("ja")


def test_a_role_the_template_lacks_or_a_person_too_many_is_refused():
    world = new_world()
    saved = _template(world).template
    with pytest.raises(TemplateRoleUnknown):
        _from_template(world, saved.id, participants=[{"name": "花子", "email": HANAKO, "role": "乙"}])
    with pytest.raises(TemplateRoleUnknown):
        _from_template(
            world,
            saved.id,
            participants=[{"name": "花子", "email": HANAKO}, {"name": "次郎", "email": "jiro@x.example"}],
        )


def test_a_role_that_requires_an_access_code_needs_one_for_every_envelope():
    world = new_world()
    saved = _template(world, roles=[{"label": "受託者", "access_code_required": True}]).template
    with pytest.raises(TemplateAccessCodeMissing):
        _from_template(world, saved.id, participants=[{"name": "山﨑花子", "email": HANAKO}])
    created = _from_template(
        world, saved.id, participants=[{"name": "山﨑花子", "email": HANAKO, "access_code": "4729"}]
    )
    assert created.envelope.participants[0].auth_methods == [AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE]


def test_documents_given_with_a_template_are_refused():
    with pytest.raises(ValueError, match="documents come from the template"):
        CreateEnvelopeRequest.model_validate(
            {"template_id": "tpl_" + "0" * 24, "documents": [{"name": "x.pdf"}]}
        )


def test_an_envelope_saved_as_a_template_keeps_its_original_pdf_never_a_sealed_one():
    world = new_world()
    envelope_id = send(world, ICHIRO, HANAKO)  # sent: its stored document carries the "sent" seal
    envelope = world.envelopes.envelopes[envelope_id]
    saved = templates.create_template(
        world.svc, SENDER, TemplateRequest(name="NDA", from_envelope_id=envelope_id)
    ).template
    assert [r.default.email for r in saved.roles if r.default] == [ICHIRO, HANAKO]
    assert saved.title == envelope.title and saved.ready
    stored = world.documents.objects[template_document_key(saved.id, saved.documents[0].id)]
    assert stored == world.documents.objects[original_key(envelope_id, "d1")]
    assert saved.documents[0].sha256 == envelope.documents[0].original_sha256
