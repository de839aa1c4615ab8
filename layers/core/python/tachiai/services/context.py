"""Everything a use case needs, built lazily from the settings: one cached instance per process.

Handlers call :func:`services`; tests build a :class:`Services` with their own settings and clock,
and may hand it any implementation of a port (:mod:`tachiai.services.ports`) — the in-memory fakes of
``tests/fakes.py``. Nothing here creates a client at import, and each real adapter is created on first
use — the agree function never builds the Step Functions client until someone agrees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tachiai.config import Settings, reset_settings, settings

if TYPE_CHECKING:
    from tachiai.mail.templates import MailSettings
    from tachiai.services.ports import (
        ConsoleSessions,
        DocumentStore,
        EnvelopeStore,
        FunctionInvoker,
        LedgerIndex,
        LoginService,
        Mailer,
        RenderCertificate,
        Sealer,
        SigningChain,
        TemplateStore,
        UserDirectory,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """The ports a use case reaches through, each built on first use unless given.

    A port given to the constructor is used as is (a fake, a pre-built adapter); the others are built
    lazily from ``settings``.
    """

    def __init__(
        self,
        settings: Settings,
        now: Callable[[], datetime] = _utc_now,
        *,
        envelopes: EnvelopeStore | None = None,
        documents: DocumentStore | None = None,
        chain: SigningChain | None = None,
        functions: FunctionInvoker | None = None,
        ledger: LedgerIndex | None = None,
        directory: UserDirectory | None = None,
        mailer: Mailer | None = None,
        sealer: Sealer | None = None,
        render_certificate: RenderCertificate | None = None,
        templates: TemplateStore | None = None,
        console_sessions: ConsoleSessions | None = None,
        login: LoginService | None = None,
    ) -> None:
        self.settings = settings
        self.now = now
        """The clock: always timezone-aware."""
        given = {
            "envelopes": envelopes,
            "documents": documents,
            "chain": chain,
            "functions": functions,
            "ledger": ledger,
            "directory": directory,
            "mailer": mailer,
            "sealer": sealer,
            "render_certificate": render_certificate,
            "templates": templates,
            "console_sessions": console_sessions,
            "login": login,
        }
        for name, port in given.items():
            if port is not None:
                # functools.cached_property reads the instance dict first: a given port is "already built".
                self.__dict__[name] = port

    @functools.cached_property
    def envelopes(self) -> EnvelopeStore:
        from tachiai.adapters.aws import dynamodb_client
        from tachiai.adapters.dynamodb import EnvelopeRepository

        return EnvelopeRepository(dynamodb_client(), self.settings.require("table"), self.settings.zone)

    @functools.cached_property
    def templates(self) -> TemplateStore:
        from tachiai.adapters.aws import dynamodb_client
        from tachiai.adapters.dynamodb import TemplateRepository

        return TemplateRepository(dynamodb_client(), self.settings.require("table"))

    @functools.cached_property
    def console_sessions(self) -> ConsoleSessions:
        from tachiai.adapters.aws import dynamodb_client
        from tachiai.adapters.dynamodb import ConsoleSessionRepository

        return ConsoleSessionRepository(dynamodb_client(), self.settings.require("table"))

    @functools.cached_property
    def login(self) -> LoginService:
        """The login service the console signs people in at (its OAuth endpoints over HTTPS; with a
        user pool, Cognito's global sign-out too)."""
        from tachiai.adapters.oauth import OAuthLogin

        pool = None
        if self.settings.user_pool_id and not self.settings.local_user_store:
            from tachiai.adapters.aws import cognito_client

            pool = (cognito_client(), self.settings.user_pool_id)
        return OAuthLogin(self.settings.login_base_url(), self.settings.require("login_client_id"), pool)

    @functools.cached_property
    def documents(self) -> DocumentStore:
        from tachiai.adapters.aws import s3_client
        from tachiai.adapters.s3 import DocumentStore as Adapter

        return Adapter(s3_client(), self.settings.require("bucket"))

    @functools.cached_property
    def chain(self) -> SigningChain:
        from tachiai.adapters.aws import sfn_client
        from tachiai.adapters.sfn import SigningChain as Adapter

        return Adapter(sfn_client(), self.settings.require("state_machine_arn"))

    @functools.cached_property
    def functions(self) -> FunctionInvoker:
        from tachiai.adapters.aws import lambda_client
        from tachiai.adapters.functions import FunctionInvoker as Adapter

        return Adapter(lambda_client())

    @functools.cached_property
    def ledger(self) -> LedgerIndex:
        from tachiai.adapters.aws import dynamodb_client
        from tachiai.adapters.ledger_index import LedgerIndex as Adapter

        return Adapter(dynamodb_client(), self.settings.require("table"))

    @functools.cached_property
    def directory(self) -> UserDirectory:
        if self.settings.local_user_store:
            from tachiai.local.user_store import local_directory

            return local_directory(self)
        from tachiai.adapters.aws import cognito_client
        from tachiai.adapters.cognito import UserDirectory as Adapter

        return Adapter(cognito_client(), self.settings.require("user_pool_id"))

    @functools.cached_property
    def mailer(self) -> Mailer:
        from tachiai.adapters.ses import SesMailer

        return SesMailer(configuration_set=self.settings.mail_configuration_set)

    @functools.cached_property
    def mail_settings(self) -> MailSettings:
        from tachiai.mail.templates import MailSettings

        return MailSettings(
            from_address=self.settings.require("mail_from"),
            service_name=self.settings.service_name,
            timezone=self.settings.time_zone,
        )

    @functools.cached_property
    def sealer(self) -> Sealer:
        """The sealing engine (loads pyhanko: only the seal function gets here)."""
        from tachiai.services.sealer_factory import build_sealer

        return build_sealer(self.settings)

    @functools.cached_property
    def render_certificate(self) -> RenderCertificate:
        """Lays out the agreement certificate (loads fpdf and the fonts: only finalize gets here)."""
        from tachiai.sealing.certificate import render_agreement_certificate

        return render_agreement_certificate

    def link_url(self, token: str) -> str:
        """The URL of a recipient link, as mailed."""
        return f"{self.settings.require('public_url')}/s/{token}"


@functools.cache
def services() -> Services:
    """The process's services, built on first use from the environment."""
    return Services(settings())


def reset_services() -> None:
    """Forget settings, services and cached clients (after the local runtime set the environment)."""
    from tachiai.adapters.aws import reset_clients

    services.cache_clear()
    reset_settings()
    reset_clients()
