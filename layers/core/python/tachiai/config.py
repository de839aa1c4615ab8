"""The runtime configuration of every function, read once from the environment.

CDK sets these variables on each function; the local runtime sets them once in its process. Values a
function needs are checked when it first needs them (:meth:`Settings.require`), so the send function
does not fail for want of the seal key it never uses, and a missing value is a clear
:class:`ConfigurationError` naming the variable — never a silent default.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tachiai import names
from tachiai.domain.errors import ConfigurationError
from tachiai.domain.uploads import DEFAULT_MAX_BYTES


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: str | None = None
    bucket: str | None = None
    state_machine_arn: str | None = None
    seal_function: str | None = None
    """Name or ARN of the seal function, which the send API calls to prepare documents."""
    seal_key_id: str | None = None
    seal_backend: Literal["kms", "pkcs11"] = "kms"
    """Where the seal key is (:data:`tachiai.names.ENV_SEAL_BACKEND`)."""
    pkcs11_library: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_pin_secret: str | None = None
    seal_chain_parameter: str | None = None
    trust_roots_parameter: str | None = None
    tsa_urls: tuple[str, ...] = ()
    tsa_auth_secrets: tuple[tuple[str, str], ...] = ()
    """``(TSA URL, secret name)`` pairs: the Secrets Manager secret of each TSA that needs credentials
    (pairs, not a dict: the settings stay hashable)."""
    mail_from: str | None = None
    mail_configuration_set: str | None = None
    public_url: str | None = None
    """Base URL recipients' links start with (the API's stage URL), without a trailing slash."""
    time_zone: str = "Asia/Tokyo"
    service_name: str = "tachiai"
    max_document_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    download_link_days: int = Field(default=30, ge=1, le=365)
    """How long the completion mail's download links work."""
    user_pool_id: str | None = None
    extract_function: str | None = None
    alert_days: tuple[Annotated[int, Field(ge=1, le=3650)], ...] = ()
    """Days before a notice deadline or expiry on which owners are mailed (empty: 60, 30, 7)."""
    integration_email: str | None = None
    """Who receives the notices of envelopes an API integration sends."""
    local_user_store: str | None = None
    """``tachiai local``: the local user store's file, the user directory in place of a user pool."""
    extraction_engine: Literal["rules", "bedrock"] = "rules"
    """The contract metadata extraction engine (:func:`tachiai.extract.engine_from_settings`)."""
    bedrock_model_id: str | None = None
    login_url: str | None = None
    """The login service's base URL (Cognito managed login domain); unset, the public URL's origin
    (``tachiai local`` serves ``/oauth2/*`` there)."""
    login_client_id: str | None = None
    """The people's app client (authorization code + PKCE) the console signs in with."""

    def require(self, name: str) -> str:
        """The value of a required string setting.

        :raises ConfigurationError: it is not set (names the environment variable).
        """
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"{_ENV_OF[name]} is not set", name=_ENV_OF[name])
        return str(value)

    def login_base_url(self) -> str:
        """Where the login service's ``/oauth2/*`` and ``/logout`` are.

        :raises ConfigurationError: neither the login URL nor the public URL is set.
        """
        if self.login_url:
            return self.login_url
        parts = urlsplit(self.require("public_url"))
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


_ENV_OF = {
    "table": names.ENV_TABLE,
    "bucket": names.ENV_BUCKET,
    "state_machine_arn": names.ENV_STATE_MACHINE_ARN,
    "seal_function": names.ENV_SEAL_FUNCTION,
    "seal_key_id": names.ENV_SEAL_KEY_ID,
    "seal_backend": names.ENV_SEAL_BACKEND,
    "pkcs11_library": names.ENV_PKCS11_LIBRARY,
    "pkcs11_token_label": names.ENV_PKCS11_TOKEN_LABEL,
    "pkcs11_key_label": names.ENV_PKCS11_KEY_LABEL,
    "pkcs11_pin_secret": names.ENV_PKCS11_PIN_SECRET,
    "seal_chain_parameter": names.ENV_SEAL_CHAIN_PARAMETER,
    "trust_roots_parameter": names.ENV_TRUST_ROOTS_PARAMETER,
    "tsa_urls": names.ENV_TSA_URLS,
    "tsa_auth_secrets": names.ENV_TSA_AUTH_SECRETS,
    "mail_from": names.ENV_MAIL_FROM,
    "mail_configuration_set": names.ENV_MAIL_CONFIGURATION_SET,
    "public_url": names.ENV_PUBLIC_URL,
    "time_zone": names.ENV_TIME_ZONE,
    "service_name": names.ENV_SERVICE_NAME,
    "max_document_bytes": names.ENV_MAX_DOCUMENT_BYTES,
    "download_link_days": names.ENV_DOWNLOAD_LINK_DAYS,
    "extraction_engine": names.ENV_EXTRACTION_ENGINE,
    "bedrock_model_id": names.ENV_BEDROCK_MODEL_ID,
    "user_pool_id": names.ENV_USER_POOL_ID,
    "extract_function": names.ENV_EXTRACT_FUNCTION,
    "alert_days": names.ENV_ALERT_DAYS,
    "integration_email": names.ENV_INTEGRATION_EMAIL,
    "local_user_store": names.ENV_LOCAL_USER_STORE,
    "login_url": names.ENV_LOGIN_URL,
    "login_client_id": names.ENV_LOGIN_CLIENT_ID,
}


def settings_from(environ: Mapping[str, str]) -> Settings:
    """Settings from environment variables.

    :raises ConfigurationError: a value is malformed (the message names the variable).
    """
    values: dict[str, object] = {}
    for field, variable in _ENV_OF.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        if field in ("tsa_urls", "alert_days"):
            values[field] = tuple(u.strip() for u in raw.split(",") if u.strip())
        elif field == "tsa_auth_secrets":
            try:
                secrets = json.loads(raw)
            except ValueError as e:
                raise ConfigurationError(f"not JSON: {e}", name=variable) from e
            if not isinstance(secrets, dict):
                raise ConfigurationError("not a JSON object {TSA URL: secret name}", name=variable)
            values[field] = tuple(secrets.items())
        elif field in ("public_url", "login_url"):
            values[field] = raw.rstrip("/")
        else:
            values[field] = raw
    try:
        settings = Settings.model_validate(values)
    except ValidationError as e:
        field = str(e.errors()[0]["loc"][0])
        raise ConfigurationError(str(e), name=_ENV_OF.get(field, field)) from e
    try:
        ZoneInfo(settings.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigurationError(f"unknown time zone {settings.time_zone}", name=names.ENV_TIME_ZONE) from e
    return settings


@functools.cache
def settings() -> Settings:
    """The process's settings, read on first use (never at import)."""
    return settings_from(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (the local runtime after setting the environment; tests)."""
    settings.cache_clear()
