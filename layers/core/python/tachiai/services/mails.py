"""Which mail goes to whom, built from an envelope: the glue between the workflow and the templates."""

from __future__ import annotations

from datetime import datetime

from tachiai.domain.envelope import Envelope, Participant, ParticipantStatus
from tachiai.domain.events import Language, Person
from tachiai.mail import templates
from tachiai.mail.templates import DownloadLink, MailMessage
from tachiai.services.context import Services


def signing_request_mail(
    svc: Services, envelope: Envelope, participant: Participant, token: str, *, is_reminder: bool = False
) -> MailMessage:
    assert participant.link_expires_at is not None  # a link was issued
    return templates.signing_request(
        svc.mail_settings,
        to=participant.person,
        language=participant.language,
        sender=envelope.sender,
        title=envelope.title,
        link=svc.link_url(token),
        expires_at=participant.link_expires_at,
        access_code_required=participant.requires_access_code,
        message=envelope.message or None,
        document_names=[d.name for d in envelope.documents],
        is_reminder=is_reminder,
    )


def forwarded_mail(svc: Services, envelope: Envelope, newcomer: Participant) -> MailMessage:
    """To the sender: someone handed their place to ``newcomer``."""
    forwarder = envelope.participant(newcomer.forwarded_from or "")
    assert forwarder.acted_at is not None
    return templates.forwarded(
        svc.mail_settings,
        to=envelope.sender,
        language=envelope.language,
        title=envelope.title,
        forwarded_by=forwarder.person,
        forwarded_to=newcomer.person,
        forwarded_at=forwarder.acted_at,
        reason=forwarder.reason,
    )


def completion_mails(
    svc: Services, envelope: Envelope, links: dict[str, str], expires_at: datetime
) -> list[MailMessage]:
    """One mail per party (the sender, every signer who agreed), each with their own download link.

    ``links`` maps a party's email to the base URL of their download link.
    """
    parties = completion_parties(envelope)
    assert envelope.completed_at is not None
    mails = []
    for person, language in parties:
        base = links[person.email.lower()]
        mails.append(
            templates.completed(
                svc.mail_settings,
                to=person,
                language=language,
                sender=envelope.sender,
                title=envelope.title,
                parties=[p for p, _ in parties],
                completed_at=envelope.completed_at,
                documents=[
                    DownloadLink(name=d.name, url=f"{base}/documents/{d.id}") for d in envelope.documents
                ],
                certificate_url=f"{base}/certificate",
                downloads_expire_at=expires_at,
            )
        )
    return mails


def completion_parties(envelope: Envelope) -> list[tuple[Person, Language]]:
    """The sender first, then every signer who agreed, in order."""
    signers = [
        (p.person, p.language) for p in envelope.signers_in_order() if p.status == ParticipantStatus.AGREED
    ]
    sender = (envelope.sender, envelope.language)
    return [sender, *[s for s in signers if s[0].email.lower() != envelope.sender.email.lower()]]


def rejected_mail(svc: Services, envelope: Envelope) -> MailMessage:
    """To the sender, with the rejecter's reason. Nobody after the rejecter hears of the envelope."""
    rejecter = next(p for p in envelope.participants if p.status == ParticipantStatus.REJECTED)
    assert rejecter.acted_at is not None
    return templates.rejected(
        svc.mail_settings,
        to=envelope.sender,
        language=envelope.language,
        title=envelope.title,
        rejected_by=rejecter.person,
        rejected_at=rejecter.acted_at,
        reason=rejecter.reason or envelope.outcome_reason or "-",
    )


def told_participants(envelope: Envelope) -> list[Participant]:
    """Participants who have received a link (everyone after them never heard of the envelope)."""
    return [p for p in envelope.participants if p.status != ParticipantStatus.WAITING]


def expired_mails(
    svc: Services, envelope: Envelope, participant: Participant, at: datetime
) -> list[MailMessage]:
    """To the sender, and to the participant whose link expired."""
    return [
        templates.expired(
            svc.mail_settings,
            to=to,
            language=language,
            sender=envelope.sender,
            title=envelope.title,
            participant=participant.person,
            expired_at=at,
        )
        for to, language in ((envelope.sender, envelope.language), (participant.person, participant.language))
    ]


def cancelled_mails(svc: Services, envelope: Envelope, at: datetime) -> list[MailMessage]:
    """To every participant who had been told about the envelope."""
    return [
        templates.cancelled(
            svc.mail_settings,
            to=p.person,
            language=p.language,
            sender=envelope.sender,
            title=envelope.title,
            cancelled_at=at,
            reason=envelope.outcome_reason,
        )
        for p in told_participants(envelope)
    ]


def failed_mail(svc: Services, envelope: Envelope, error_code: str, at: datetime) -> MailMessage:
    return templates.failed(
        svc.mail_settings,
        to=envelope.sender,
        language=envelope.language,
        title=envelope.title,
        failed_at=at,
        error_code=error_code,
    )


def locked_mail(svc: Services, envelope: Envelope, participant: Participant, at: datetime) -> MailMessage:
    return templates.link_locked(
        svc.mail_settings,
        to=envelope.sender,
        language=envelope.language,
        title=envelope.title,
        participant=participant.person,
        locked_at=at,
    )
