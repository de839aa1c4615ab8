"""The one place a tenant configures its stack: the ``tachiai`` context key (cdk.json, or ``-c tachiai=...``).

A wrong value must stop ``cdk synth`` before anything is built, with one plain line per mistake naming
the setting — not a CloudFormation failure twenty minutes into a deploy, and not a pydantic traceback.
So every rule lives here, each field is checked on its own (all mistakes are reported at once), and
rules that relate two settings (the sender address is in the mail domain, the hosted zone is given
whole) run as soon as the setting they depend on is valid.

Example ``cdk.json`` context::

    "tachiai": {
      "domain": "sign.example.co.jp",
      "sender_address": "no-reply@sign.example.co.jp",
      "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
      "hosted_zone_name": "example.co.jp",
      "tsa_urls": ["https://tsa.example.net/tsa"],
      "allowed_ip_ranges": ["203.0.113.0/24"],
      "mfa": "required",
      "identity_providers": [
        {"type": "saml", "name": "EntraID",
         "metadata_url": "https://login.microsoftonline.com/<tenant>/federationmetadata/2007-06/federationmetadata.xml?appid=<app>"},
        {"type": "oidc", "name": "GoogleWorkspace", "issuer": "https://accounts.google.com",
         "client_id": "<id>.apps.googleusercontent.com", "client_secret_name": "tachiai/google-oidc"}
      ]
    }
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from tachiai.domain.errors import CertificateError
from tachiai.sealing.certificates import parse_subject

from infra import REPO_ROOT

CONTEXT_KEY = "tachiai"
"""The CDK context key holding the tenant configuration."""

DEFAULT_TSA_URLS: tuple[str, ...] = ("https://timestamp.digicert.com", "https://timestamp.sectigo.com")
"""Two free public RFC 3161 TSAs under public roots (in the Mozilla bundle the seal function trusts, and
on Adobe's AATL), so a fresh stack seals with no contract and no PKI work. They are not 総務大臣認定
time-stamping services: a tenant that needs 電子帳簿保存法's accredited timestamps sets ``tsa_urls`` to
its contracted TSA (and, if its root is private, ``tsa_roots_file``), with a second one for failover."""

_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_SSM_NAME = re.compile(r"^(/[a-zA-Z0-9_.\-]+)+$")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_ZONE_PROBLEM = "hosted_zone_id, hosted_zone_name: give both (to create the DNS records) or neither"
_TSA_PROBLEM = "tsa, tsa_urls: give one of the two (tsa when a TSA needs credentials)"

DEFAULT_ALERT_DAYS: tuple[int, ...] = (60, 30, 7)
"""Two months, one month and one week before a notice deadline or an expiry: time to decide, time to act."""

INFERENCE_PROFILE_PREFIXES: tuple[str, ...] = ("us", "us-gov", "eu", "apac", "jp", "au", "global")
"""The geography prefixes of Bedrock's cross-region (system-defined) inference profile ids
(``apac.anthropic.claude-...``, ``global.anthropic.claude-...``); a model id without one is a plain
foundation model, served in the stack's region only."""

_GEO = "(?:" + "|".join(re.escape(p) for p in INFERENCE_PROFILE_PREFIXES) + r")\."
_BEDROCK_MODEL_ID = re.compile(
    # An optional geography, then <provider>.<model>; a geography is never taken for a provider.
    rf"^(?:{_GEO})?(?!{_GEO})[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9][a-z0-9._:-]{{0,199}}$"
)
_BEDROCK_EXAMPLES = "anthropic.claude-3-haiku-20240307-v1:0 or apac.anthropic.claude-sonnet-4-20250514-v1:0"


def inference_profile_model(model_id: str) -> str | None:
    """The foundation model id a cross-region inference profile id routes to (``apac.amazon.nova-pro-v1:0``
    → ``amazon.nova-pro-v1:0``); None for a plain foundation model id."""
    prefix, dot, rest = model_id.partition(".")
    return rest if dot and prefix in INFERENCE_PROFILE_PREFIXES else None


class ConfigError(Exception):
    """The tenant configuration has mistakes; ``problems`` holds one plain-language line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _hostname(value: str, what: str) -> str:
    name = value.strip().rstrip(".").lower()
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a domain name like example.co.jp ({what})")
    return name


def _is_within(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        suggestion = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR like 203.0.113.0/24 or 2001:db8::/32") from None
    raise ValueError(f"{value!r} has host bits set (did you mean {suggestion}?)")


def _https_url(value: str, *, allow_path: bool) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{value!r} is not an https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} must not carry a query, fragment or credentials")
    if not allow_path and parts.path not in ("", "/"):
        raise ValueError(f"{value!r} must not have a path")
    return value.strip()


def _alert_day(value: int) -> int:
    if not 1 <= value <= 365:
        raise ValueError(f"{value} is not between 1 and 365 (days before the deadline)")
    return value


HttpsUrl = Annotated[str, AfterValidator(lambda value: _https_url(value, allow_path=True))]
AlertDay = Annotated[int, Strict(), AfterValidator(_alert_day)]
Cidr = Annotated[str, AfterValidator(_cidr)]

_IAM_PRINCIPAL_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov|-iso[a-z]*)?:iam::\d{12}:(?:role|user)/[\w+=,.@/-]{1,512}$"
)


def _iam_principal_arn(value: str) -> str:
    value = value.strip()
    if not _IAM_PRINCIPAL_ARN.match(value):
        raise ValueError(
            f"{value!r} is not the ARN of an IAM role or user like "
            "arn:aws:iam::123456789012:role/SecurityAdmin (no wildcards, not an assumed-role session)"
        )
    return value


IamPrincipalArn = Annotated[str, AfterValidator(_iam_principal_arn)]


# --- sign-in: federation with the tenant's own identity provider ---------------------------------

IDENTITY_PROVIDER_TYPES: tuple[str, ...] = ("saml", "oidc")
"""The ``type`` of an ``identity_providers`` entry."""
RESERVED_PROVIDER_NAMES = frozenset({"cognito", "google", "facebook", "loginwithamazon", "signinwithapple"})
"""Names Cognito keeps for its own user directory and its built-in social providers."""
SAML_EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
SAML_NAME_CLAIM = "http://schemas.microsoft.com/identity/claims/displayname"
"""The claims Entra ID (and AD FS) send the address and display name in by default."""
EMAIL_VERIFIED_CLAIM = "email_verified"
"""Cognito marks a federated user's email unverified unless a claim says otherwise, and tachiai sends
only from a verified address: OIDC providers (Google, Okta) send this claim; a SAML IdP is given a
claim of this name with the constant value ``true`` (Entra ID: Attributes & Claims, source "true")."""

# Cognito's ProviderName allows more, but a name with spaces or underscores breaks federated usernames
# (<name>_<subject>) and the managed login button; 3 to 32 characters is Cognito's SAML range.
_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{1,30}[A-Za-z0-9]$")
_CLAIM = re.compile(r"^[\x21-\x7e]{1,256}$")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,256}$")


def _claim(value: str) -> str:
    if not _CLAIM.match(value):
        raise ValueError(f"{value!r} is not a claim name (1 to 256 visible characters, no spaces)")
    return value


Claim = Annotated[str, AfterValidator(_claim)]


def _saml_metadata_url(value: str) -> str:
    # Unlike the other URLs, a metadata URL may carry a query: Entra ID's ends in ?appid=<application id>.
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{value!r} is not an https:// URL (Cognito fetches the metadata over HTTPS)")
    if parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} must not carry a fragment or credentials")
    return value.strip()


class ClaimNames(BaseModel):
    """Which claim of the identity provider fills each user attribute tachiai reads (unset: the default
    of the provider's type). Every envelope, seal and audit entry names its sender by these."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    email: Claim | None = None
    name: Claim | None = None
    email_verified: Claim | None = None


class _IdentityProvider(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    DEFAULT_CLAIMS: ClassVar[dict[str, str]]

    name: str
    """Shown on the sign-in button, and the prefix of its users' usernames (``EntraID_<subject>``):
    renaming a provider later makes every one of its users a new user."""
    attributes: ClaimNames = ClaimNames()
    """Claim names for ``email``, ``name`` and ``email_verified`` (see :attr:`claims` for the defaults)."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _PROVIDER_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a provider name like EntraID or Okta-Tokyo (3 to 32 letters, digits, "
                "dots or hyphens; no spaces or underscores)"
            )
        if value.lower() in RESERVED_PROVIDER_NAMES:
            raise ValueError(
                f"{value!r} is reserved by Cognito (its own directory and built-in social providers): "
                "choose another name, like GoogleWorkspace"
            )
        return value

    @property
    def claims(self) -> dict[str, str]:
        """``{user pool attribute: IdP claim}`` for email, name and email_verified, defaults filled in."""
        given = self.attributes.model_dump(exclude_none=True)
        return {attribute: given.get(attribute, claim) for attribute, claim in self.DEFAULT_CLAIMS.items()}


class SamlProvider(_IdentityProvider):
    """A SAML 2.0 identity provider (Entra ID, AD FS, Okta, HENNGE ...), from its metadata."""

    DEFAULT_CLAIMS: ClassVar[dict[str, str]] = {
        "email": SAML_EMAIL_CLAIM,
        "name": SAML_NAME_CLAIM,
        "email_verified": EMAIL_VERIFIED_CLAIM,
    }

    type: Literal["saml"]
    metadata_url: str | None = None
    """Where Cognito reads the IdP's metadata (and, later, its rolled-over signing certificates)."""
    metadata_file: str | None = None
    """The metadata XML (path relative to the repository root), for an IdP whose metadata URL Cognito
    cannot reach; renew it here when the IdP's signing certificate changes."""

    @field_validator("metadata_url")
    @classmethod
    def _metadata_url(cls, value: str | None) -> str | None:
        return None if value is None else _saml_metadata_url(value)

    @field_validator("metadata_file")
    @classmethod
    def _metadata_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            text = (REPO_ROOT / value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise ValueError(
                f"{value!r} cannot be read as an XML file (paths are relative to {REPO_ROOT})"
            ) from None
        if "EntityDescriptor" not in text:
            raise ValueError(f"{value!r} is not SAML metadata (no EntityDescriptor element)")
        return value

    @model_validator(mode="after")
    def _one_metadata_source(self) -> SamlProvider:
        if (self.metadata_url is None) == (self.metadata_file is None):
            raise ValueError(
                "give the IdP's SAML metadata as metadata_url (https://...) or metadata_file (a path), "
                "exactly one of the two"
            )
        return self

    @property
    def metadata(self) -> tuple[Literal["url", "file"], str]:
        """``("url", URL)``, or ``("file", the XML)`` read from :attr:`metadata_file`."""
        if self.metadata_url is not None:
            return "url", self.metadata_url
        assert self.metadata_file is not None  # one of the two, checked above
        return "file", (REPO_ROOT / self.metadata_file).read_text(encoding="utf-8")


class OidcProvider(_IdentityProvider):
    """An OpenID Connect identity provider (Google Workspace, Okta, Entra ID, Auth0 ...)."""

    DEFAULT_CLAIMS: ClassVar[dict[str, str]] = {
        "email": "email",
        "name": "name",
        "email_verified": EMAIL_VERIFIED_CLAIM,
    }

    type: Literal["oidc"]
    issuer: str
    """The issuer URL, exactly as the ``iss`` claim of its ID tokens (endpoints are discovered from it)."""
    client_id: str
    """The client id of the application registered in the IdP for this stack."""
    client_secret_name: str
    """Name (or ARN) of the Secrets Manager secret, in the stack's account and region, whose value is
    the client secret as plain text: the template holds a dynamic reference, never the secret."""
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    """The scopes Cognito asks the IdP for; ``openid`` is required."""
    client_secret: str | None = Field(default=None, exclude=True)
    """Refused when given: it names the mistake instead of calling it an unknown setting."""

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return _https_url(value, allow_path=True)

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not _CLIENT_ID.match(value):
            raise ValueError(f"{value!r} is not a client id (1 to 256 visible characters, no spaces)")
        return value

    @field_validator("client_secret_name")
    @classmethod
    def _client_secret_name(cls, value: str) -> str:
        if not (_SECRET_NAME.match(value) or _SECRET_ARN.match(value)):
            raise ValueError(
                f"{value!r} is not a Secrets Manager secret name like tachiai/google-oidc (letters, "
                "digits and /_+=.@- only) or a secret ARN"
            )
        return value

    @field_validator("client_secret")
    @classmethod
    def _no_client_secret(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(
                "secrets never go in the tenant config (cdk.json is committed and the template is "
                "readable): store the client secret in Secrets Manager and give its name as "
                "client_secret_name"
            )
        return None

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes_given(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and "openid" not in value:
            raise ValueError('must include "openid" (Cognito signs in with OpenID Connect)')
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [scope for scope in value if not _SCOPE_TOKEN.match(scope)]
        if bad:
            listed = ", ".join(map(repr, bad))
            raise ValueError(f"{listed} is not a scope (one word each, no spaces or quotes)")
        return tuple(dict.fromkeys(value))


IdentityProvider = Annotated[SamlProvider | OidcProvider, Field(discriminator="type")]


# --- time-stamping services with credentials (accredited TSAs) -----------------------------------

TSA_SECRET_FIELDS: tuple[tuple[str, ...], ...] = (
    ("username", "password"),
    ("client_certificate_pem", "client_key_pem"),
)
"""The two shapes of a TSA's credentials secret (JSON): HTTP basic authentication, or a TLS client
certificate and its private key (PEM). Read by the seal function (:mod:`tachiai.sealing.timestamping`)."""


def _secret_reference(value: str, example: str) -> str:
    if not (_SECRET_NAME.match(value) or _SECRET_ARN.match(value)):
        raise ValueError(
            f"{value!r} is not a Secrets Manager secret name like {example} (letters, digits and "
            "/_+=.@- only) or a secret ARN"
        )
    return value


class TsaService(BaseModel):
    """One RFC 3161 time-stamping service of the ``tsa`` list, with the credentials an accredited TSA
    (SEIKO, Amano, Cybertrust ...) issues to its subscribers."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    url: HttpsUrl
    """The TSA's RFC 3161 endpoint."""
    auth_secret: str | None = None
    """Name (or ARN) of the Secrets Manager secret, in the stack's account and region, holding the
    credentials as JSON: ``{"username": ..., "password": ...}`` (HTTP basic authentication) or
    ``{"client_certificate_pem": ..., "client_key_pem": ...}`` (a TLS client certificate). Only the
    seal function may read it; the template and the function's environment hold its name only."""
    password: str | None = Field(default=None, exclude=True)
    """Refused when given: it names the mistake instead of calling it an unknown setting."""

    @field_validator("auth_secret")
    @classmethod
    def _auth_secret(cls, value: str | None) -> str | None:
        return None if value is None else _secret_reference(value, "tachiai/tsa-seiko")

    @field_validator("password")
    @classmethod
    def _no_password(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(
                "secrets never go in the tenant config (cdk.json is committed and the template is "
                "readable): store the TSA's credentials in Secrets Manager and give its name as "
                "auth_secret"
            )
        return None


# --- the recipient links' custom domain ------------------------------------------------------------

_ACM_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")


class CustomDomain(BaseModel):
    """The name recipients' links, mails and the console use (``https://<name>/s/...``): an API Gateway
    REGIONAL custom domain over the API's stage (:mod:`infra.constructs.custom_domain`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str
    """The host name, e.g. ``sign.example.co.jp`` (it may be the mail domain itself)."""
    certificate_arn: str | None = None
    """An issued ACM certificate for :attr:`name` in the stack's region (a REGIONAL domain cannot use
    one from us-east-1). Optional when the hosted zone contains :attr:`name`: the stack then requests
    a DNS-validated certificate there itself."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _hostname(value, "the links' custom domain")

    @field_validator("certificate_arn")
    @classmethod
    def _certificate_arn(cls, value: str | None) -> str | None:
        if value is not None and not _ACM_CERTIFICATE_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an ACM certificate ARN like "
                "arn:aws:acm:ap-northeast-1:123456789012:certificate/<uuid>"
            )
        return value

    @property
    def certificate_region(self) -> str | None:
        """The region of :attr:`certificate_arn`, if one is given."""
        match = _ACM_CERTIFICATE_ARN.match(self.certificate_arn or "")
        return match.group(1) if match else None


# --- the seal key in AWS CloudHSM (PKCS#11 direct) ---------------------------------------------------

_CLUSTER_ID = re.compile(r"^cluster-[a-z2-7]{11}$")
_SUBNET_ID = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_SECURITY_GROUP_ID = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_LAYER_VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:layer:[A-Za-z0-9_-]{1,140}:[1-9]\d*$"
)
_PKCS11_LABEL = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,125}[\x21-\x7e])?$")
CLOUDHSM_PKCS11_LIBRARY = "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so"
"""Where the CloudHSM Client SDK 5 PKCS#11 library is when its package's ``/opt/cloudhsm`` tree is the
root of a Lambda layer (a layer is unpacked into ``/opt``)."""


class CloudHsm(BaseModel):
    """The seal key in the tenant's AWS CloudHSM cluster, used by the seal function through PKCS#11
    (:mod:`infra.constructs.hsm`; the operator's steps: docs/operations/cloudhsm.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    cluster_id: str
    """The cluster (``cluster-xxxxxxxxxxx``), for the operator and the stack's outputs: the PKCS#11
    library finds the HSMs from its own configuration file, in the client layer."""
    subnet_ids: tuple[str, ...]
    """Private subnets of the cluster's VPC, with a route to a NAT gateway, that the seal function joins
    (two or more Availability Zones): it reaches the HSMs there, and the TSAs, OCSP responders, S3,
    DynamoDB, SSM and Secrets Manager through the NAT."""
    security_group_ids: tuple[str, ...]
    """Security groups of the seal function's network interfaces (1 to 5); the cluster's security group
    must allow TCP 2223-2225 from them."""
    client_layer_arn: str
    """The Lambda layer version (in the stack's region) holding the CloudHSM Client SDK 5 PKCS#11 library
    under ``cloudhsm/``, configured for this cluster: AWS does not publish one, the tenant builds it."""
    key_label: str
    """``CKA_LABEL`` of the seal's private key in the cluster (RSA 2048 or EC P-256)."""
    pin_secret_name: str
    """Name (or ARN) of the Secrets Manager secret whose value is the crypto user's PIN,
    ``<crypto user>:<password>``. Only the seal function may read it."""
    token_label: str = "hsm1"  # noqa: S105 - a token's name, not a password
    """The PKCS#11 token's label (Client SDK 5 has one token, ``hsm1``)."""
    pin: str | None = Field(default=None, exclude=True)
    """Refused when given: it names the mistake instead of calling it an unknown setting."""

    @field_validator("cluster_id")
    @classmethod
    def _cluster_id(cls, value: str) -> str:
        if not _CLUSTER_ID.match(value):
            raise ValueError(f"{value!r} is not a CloudHSM cluster id like cluster-abcdefghijk")
        return value

    @field_validator("subnet_ids", mode="before")
    @classmethod
    def _subnet_ids_given(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            raise ValueError("must list the cluster VPC's private subnets the seal function joins")
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _subnet_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [subnet for subnet in value if not _SUBNET_ID.match(subnet)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not a subnet id like subnet-0123456789abcdef0")
        return tuple(dict.fromkeys(value))

    @field_validator("security_group_ids")
    @classmethod
    def _security_group_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not 1 <= len(value) <= 5:
            raise ValueError("must list 1 to 5 security groups (Lambda's limit)")
        bad = [group for group in value if not _SECURITY_GROUP_ID.match(group)]
        if bad:
            listed = ", ".join(map(repr, bad))
            raise ValueError(f"{listed} is not a security group id like sg-0123456789abcdef0")
        return tuple(dict.fromkeys(value))

    @field_validator("client_layer_arn")
    @classmethod
    def _client_layer_arn(cls, value: str) -> str:
        if not _LAYER_VERSION_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a Lambda layer version ARN like "
                "arn:aws:lambda:ap-northeast-1:123456789012:layer:cloudhsm-pkcs11:1 (with its version)"
            )
        return value

    @field_validator("key_label", "token_label")
    @classmethod
    def _label(cls, value: str) -> str:
        if not _PKCS11_LABEL.match(value):
            raise ValueError(f"{value!r} is not a PKCS#11 label (1 to 127 printable ASCII characters)")
        return value

    @field_validator("pin_secret_name")
    @classmethod
    def _pin_secret_name(cls, value: str) -> str:
        if not (_SECRET_NAME.match(value) or _SECRET_ARN.match(value)):
            raise ValueError(
                f"{value!r} is not a Secrets Manager secret name like tachiai/cloudhsm-pin (letters, "
                "digits and /_+=.@- only) or a secret ARN"
            )
        return value

    @field_validator("pin")
    @classmethod
    def _no_pin(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(
                "secrets never go in the tenant config (cdk.json is committed and the template is "
                "readable): store the crypto user's PIN in Secrets Manager and give its name as "
                "pin_secret_name"
            )
        return None

    @property
    def layer_region(self) -> str:
        """The region of :attr:`client_layer_arn`."""
        match = _LAYER_VERSION_ARN.match(self.client_layer_arn)
        assert match is not None  # validated above
        return match.group(1)


class TenantConfig(BaseModel):
    """One tenant's deployment settings, validated. Read with :func:`load_config`."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    domain: str
    """The mail domain tachiai sends from; verified in SES with Easy DKIM."""
    sender_address: str
    """The From address of every mail (must be in ``domain`` or one of its subdomains)."""
    hosted_zone_id: str | None = None
    """Route 53 public hosted zone that holds ``domain`` (with ``hosted_zone_name``): the DKIM records are
    created in it. Without it, the stack outputs the records for the tenant's own DNS."""
    hosted_zone_name: str | None = None
    """The hosted zone's domain name (``domain`` itself or a parent of it)."""
    mail_from_domain: str | None = None
    """Optional custom MAIL FROM domain, a subdomain of ``domain`` (e.g. ``bounce.sign.example.co.jp``), so
    SPF aligns with the From domain for DMARC."""
    mail_sandbox: Annotated[bool, Strict()] = False
    """``true`` while the account's SES is still in its sandbox (a new account, before production access):
    SES then also authorizes ``ses:SendEmail`` against each recipient's identity, so the mailing
    functions may send as any identity of the account and region (``identity/*``), which in the sandbox
    are only the addresses verified for testing (docs/operations/mail.md). Set it back to ``false`` (the
    default: the domain identity only) once production access is granted, and deploy again."""
    region: str = "ap-northeast-1"
    """The AWS region of the whole stack (SES, KMS key, bucket all live there)."""
    stack_name: str = "Tachiai"
    """CloudFormation stack name; change it to deploy a second tachiai into the same account and region."""
    tsa_urls: tuple[HttpsUrl, ...] = DEFAULT_TSA_URLS
    """RFC 3161 time-stamping services, tried in order (see :data:`DEFAULT_TSA_URLS`)."""
    tsa: tuple[TsaService, ...] | None = None
    """Instead of ``tsa_urls``: the time-stamping services, tried in order, each with the Secrets
    Manager secret of its credentials when it needs some (:class:`TsaService`); ``tsa_urls`` then
    holds their URLs. Give one of the two."""
    tsa_roots_file: str | None = None
    """PEM file (path relative to the repository root) with the root certificates of the TSAs in
    ``tsa_urls``. Deployed into the trust-roots parameter with the self-issued seal certificate: a seal
    whose timestamp does not chain to a trusted root fails its own check, so without it a fresh stack
    cannot seal until the roots are imported (``tachiai keys self-issue --tsa-root``)."""
    object_lock_retention_years: int = 10
    """Object Lock default retention of every stored PDF version (10 years covers the 7 (10 with loss
    carry-forward) years Japanese tax law asks contracts to be kept)."""
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    """GOVERNANCE (default): no tachiai role can delete or shorten a lock, but an administrator holding
    ``s3:BypassGovernanceRetention`` can, deliberately and visibly in CloudTrail — needed to honour a
    deletion obligation, remove a mistaken upload or retire a trial stack. COMPLIANCE: nobody, not even
    the root user, can delete a locked version before its retention ends; choose it only when a
    regulator requires WORM storage and you accept that a trial stack's bucket lives for the full term."""
    seal_certificate_parameter: str = Field(default="", validate_default=True)
    """SSM parameter with the seal certificate chain (PEM, seal certificate first); default
    ``/tachiai/<stack_name>/seal/certificate-chain``, so a second stack in the account has its own."""
    trust_roots_parameter: str = Field(default="", validate_default=True)
    """SSM parameter with the roots a fresh seal must chain to (PEM); default
    ``/tachiai/<stack_name>/seal/trust-roots``."""
    seal_key_administrators: tuple[IamPrincipalArn, ...] = ()
    """IAM roles or users that administer the seal key (its policy, enabling, deletion) but can never
    sign with it; empty (default): the account, through IAM policies. See docs/operations/seal-key.md."""
    seal_csr_signers: tuple[IamPrincipalArn, ...] = ()
    """IAM roles or users that may also sign with the seal key, for ``tachiai keys csr`` (a certificate
    request is signed by the key it certifies); empty (default): only the seal function and the
    certificate custom resource. Add the one role for the request, deploy, and remove it after."""
    service_name: str = "tachiai"
    """The service's name as people see it: mail, signature reasons, the certificate's organisation."""
    seal_certificate_subject: str = Field(default="", validate_default=True)
    """Subject of the self-issued seal certificate; default ``CN=tachiai seal,O=<service_name>,C=JP``."""
    allowed_ip_ranges: tuple[Cidr, ...] | None = None
    """CIDRs allowed to call the sender API (``/v1/...``); recipients' links stay reachable from anywhere.
    Omit to allow any address (Cognito still guards the sender API)."""
    time_zone: str = "Asia/Tokyo"
    """IANA time zone for times in mail and signature reasons."""
    seal_key_spec: Literal["RSA_2048", "ECC_NIST_P256"] = "RSA_2048"
    """KMS key spec of the seal key (RSA 2048 validates everywhere; P-256 gives smaller signatures)."""
    seal_backend: Literal["kms", "cloudhsm"] = "kms"
    """Where the seal key is: ``kms`` (default: the stack's KMS key, billed per request) or ``cloudhsm``
    (a key in the tenant's AWS CloudHSM cluster, used through PKCS#11 — KMS custom key stores hold no
    asymmetric keys — with ``cloudhsm`` saying where; the cluster is billed per HSM-hour)."""
    cloudhsm: CloudHsm | None = Field(default=None, validate_default=True)
    """With ``seal_backend: cloudhsm``: the cluster, the network the seal function joins, the client
    layer, the key's label and the PIN's secret (:class:`CloudHsm`). Required with it, refused without."""
    integration_email: str | None = None
    """Who receives the notices (completed, rejected ...) of envelopes an API integration sends with the
    client-credentials app client; without it, integrations are refused with a message saying so."""
    public_url: str | None = None
    """Base URL recipients' links start with, when the API is behind a front the tenant runs itself
    (e.g. ``https://sign.example.co.jp``); default: the API stage URL. For a custom domain the stack
    creates, use ``custom_domain`` instead."""
    custom_domain: CustomDomain | None = None
    """The API Gateway custom domain the stack creates for links, mails and the console
    (:class:`CustomDomain`); the API's execute-api address is then switched off. Not with
    ``public_url``."""
    alert_days: tuple[AlertDay, ...] = DEFAULT_ALERT_DAYS
    """Days before a contract's notice deadline (or, without one, its expiry) on which its owner is mailed
    by the daily alerts: each 1 to 365, no day twice (default 60, 30, 7)."""
    extraction_engine: Literal["rules", "bedrock"] = "rules"
    """How the contract ledger reads a completed or imported contract's metadata: ``rules`` (default:
    deterministic, no AWS call, no cost) or ``bedrock`` (a Bedrock model, ``bedrock_model_id``; the
    contract text is sent to Bedrock in the stack's region, or across the profile's regions)."""
    bedrock_model_id: str | None = Field(default=None, validate_default=True)
    """The Bedrock model (``anthropic.claude-3-haiku-20240307-v1:0``) or cross-region inference profile
    (``apac.anthropic.claude-sonnet-4-20250514-v1:0``) id of the ``bedrock`` engine; required with it,
    refused without it. The function may invoke exactly this model; the model must support forced tool
    use (Claude 3 and later, Amazon Nova, Mistral Large) and be enabled in the account."""
    mfa: Literal["off", "optional", "required"] = "optional"
    """Multi-factor authentication of the people who sign in with a password (TOTP authenticator apps;
    never SMS): ``required`` makes everyone set an authenticator up at their first sign-in on the
    managed login pages; ``optional`` (default) asks for a code only from those who have one set up,
    and the managed login pages do not offer that setup (Cognito's self-service API does, with a scope
    the login client does not grant), so a tenant that wants TOTP today chooses ``required``; ``off``
    leaves it to the tenant's own IdP. Cognito's MFA never applies to people who sign in through
    ``identity_providers``: their IdP's policy does."""
    identity_providers: tuple[IdentityProvider, ...] = ()
    """The tenant's own SAML or OIDC identity providers, offered on the sign-in page next to the
    password form (see :class:`SamlProvider`, :class:`OidcProvider`). Everyone the IdP lets through
    becomes a sender (group-less, so a member: an admin promotes them with ``tachiai users set-role``):
    register tachiai in the IdP for the tenant's own accounts only."""
    alarm_email: str | None = None
    """Who is subscribed to the alarm topic (``AlarmTopicArn`` output): failed executions, function
    errors, API 5xx, lost events, TSA failover, SES reputation, KMS throttling, SES sandbox refusals
    (docs/operations/monitoring.md). The address must confirm the subscription mail AWS sends. Omit it
    to subscribe people, chat or a pager to the topic yourself."""
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = "INFO"
    """The functions' application log level: lines below it are dropped by Lambda before they are stored
    (and billed). DEBUG only while investigating."""

    @field_validator("alarm_email")
    @classmethod
    def _alarm_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        local, at, host = value.rpartition("@")
        if not at or not local or not host or any(c.isspace() or c in "<>,;\"'" for c in value):
            raise ValueError(f"{value!r} is not a plain email address like ops@example.co.jp")
        return f"{local}@{_hostname(host, 'the alarm email domain')}"

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return _hostname(value, "the mail domain")

    @field_validator("sender_address")
    @classmethod
    def _sender_address(cls, value: str, info: ValidationInfo) -> str:
        local, at, host = value.rpartition("@")
        if not at or not local or not host or any(c.isspace() or c in "<>,;\"'" for c in value):
            raise ValueError(f"{value!r} is not a plain email address like no-reply@example.co.jp")
        host = _hostname(host, "the sender address's domain")
        domain = info.data.get("domain")
        if domain and not _is_within(host, domain):
            raise ValueError(f"{value!r} is not in the mail domain {domain} (SES only verifies that domain)")
        return f"{local}@{host}"

    @field_validator("integration_email")
    @classmethod
    def _integration_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        local, at, host = value.rpartition("@")
        if not at or not local or not host or any(c.isspace() or c in "<>,;\"'" for c in value):
            raise ValueError(f"{value!r} is not a plain email address like contracts@example.co.jp")
        return f"{local}@{_hostname(host, 'the integration email domain')}"

    @field_validator("hosted_zone_id")
    @classmethod
    def _hosted_zone_id(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTED_ZONE_ID.match(value):
            raise ValueError(f"{value!r} is not a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ")
        return value

    @field_validator("hosted_zone_name", mode="after")
    @classmethod
    def _hosted_zone_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            value = _hostname(value, "the hosted zone's domain name")
            domain = info.data.get("domain")
            if domain and not _is_within(domain, value):
                raise ValueError(f"the zone {value} does not contain the mail domain {domain}")
        return value

    @field_validator("mail_from_domain")
    @classmethod
    def _mail_from_domain(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        value = _hostname(value, "the MAIL FROM domain")
        domain = info.data.get("domain")
        if domain and (value == domain or not value.endswith("." + domain)):
            raise ValueError(f"{value} must be a subdomain of the mail domain {domain}")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name like ap-northeast-1")
        return value

    @field_validator("stack_name")
    @classmethod
    def _stack_name(cls, value: str) -> str:
        if not _STACK_NAME.match(value):
            raise ValueError(f"{value!r} must start with a letter and hold only letters, digits and hyphens")
        return value

    @field_validator("tsa_urls", mode="before")
    @classmethod
    def _tsa_urls(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            raise ValueError("must list at least one time-stamping service (a seal needs a timestamp)")
        return value

    @field_validator("object_lock_retention_years", mode="before")
    @classmethod
    def _retention(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a whole number of years")
        if not 1 <= value <= 100:
            raise ValueError(f"{value} must be between 1 and 100 years (S3 Object Lock's range)")
        return value

    @field_validator("seal_certificate_parameter", "trust_roots_parameter")
    @classmethod
    def _ssm_name(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            # Per stack: two stacks in one account must not overwrite each other's certificate.
            stack = info.data.get("stack_name", "Tachiai")
            leaf = "certificate-chain" if info.field_name == "seal_certificate_parameter" else "trust-roots"
            return f"/tachiai/{stack}/seal/{leaf}"
        if (
            not _SSM_NAME.match(value)
            or len(value) > 1011
            or value.count("/") > 15
            or value.lower().startswith(("/aws", "/ssm"))
        ):
            raise ValueError(
                f"{value!r} is not an SSM parameter name like /tachiai/seal/certificate-chain "
                "(starts with /, letters, digits, _ . - only, not under /aws or /ssm)"
            )
        return value

    @field_validator("seal_key_administrators")
    @classmethod
    def _seal_key_administrators(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("seal_csr_signers")
    @classmethod
    def _seal_csr_signers(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        both = [arn for arn in value if arn in info.data.get("seal_key_administrators", ())]
        if both:
            raise ValueError(
                f"{', '.join(both)} also administers the seal key (seal_key_administrators): whoever "
                "can change the key's policy must not also sign with it; request the certificate with "
                "another role"
            )
        return tuple(dict.fromkeys(value))

    @field_validator("service_name")
    @classmethod
    def _service_name(cls, value: str) -> str:
        if not value or len(value) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("must be 1 to 64 characters on one line")
        return value

    @field_validator("seal_certificate_subject")
    @classmethod
    def _subject(cls, value: str, info: ValidationInfo) -> str:
        given = bool(value)
        if not given:
            value = f"CN=tachiai seal,O={info.data.get('service_name', 'tachiai')},C=JP"
        try:
            # The very parser the certificate custom resource and `tachiai keys` use.
            parse_subject(value)
        except CertificateError as e:
            reason = e.params.get("reason", e.detail)
            if not given:
                raise ValueError(
                    f"the default {value!r} built from service_name is not a valid subject "
                    f"({reason}); set seal_certificate_subject yourself"
                ) from None
            raise ValueError(
                f"{value!r} is not a subject like CN=tachiai seal,O=Example K.K.,C=JP ({reason})"
            ) from None
        return value

    @field_validator("tsa_roots_file")
    @classmethod
    def _tsa_roots_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = REPO_ROOT / value
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise ValueError(
                f"{value!r} cannot be read as a PEM file (paths are relative to {REPO_ROOT})"
            ) from None
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError(f"{value!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        return value

    @field_validator("allowed_ip_ranges", mode="before")
    @classmethod
    def _ip_ranges(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            raise ValueError("is empty, which would lock every sender out; omit it to allow any address")
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone like Asia/Tokyo") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else _https_url(value, allow_path=True).rstrip("/")

    @field_validator("custom_domain")
    @classmethod
    def _custom_domain(cls, value: CustomDomain | None, info: ValidationInfo) -> CustomDomain | None:
        if value is None:
            return None
        if info.data.get("public_url"):
            raise ValueError(
                "give custom_domain (the stack creates the domain) or public_url (a front you run "
                "yourself), not both"
            )
        region = info.data.get("region")
        if value.certificate_region and region and value.certificate_region != region:
            raise ValueError(
                f"the certificate is in {value.certificate_region}, but a REGIONAL custom domain needs "
                f"one in the stack's region {region}: request or import it there"
            )
        zone = info.data.get("hosted_zone_name")
        if value.certificate_arn is None and not (zone and _is_within(value.name, zone)):
            where = f"the hosted zone {zone} does not contain {value.name}" if zone else "no hosted zone"
            raise ValueError(
                f"certificate_arn is required ({where}, so the stack cannot validate a certificate "
                f"itself): request one for {value.name} in ACM in {region} and give its ARN"
            )
        return value

    @field_validator("tsa", mode="before")
    @classmethod
    def _tsa_given(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            raise ValueError("must list at least one time-stamping service (a seal needs a timestamp)")
        return value

    @field_validator("tsa")
    @classmethod
    def _tsa(cls, value: tuple[TsaService, ...] | None) -> tuple[TsaService, ...] | None:
        urls = [service.url for service in (value or ())]
        repeated = sorted({url for url in urls if urls.count(url) > 1})
        if repeated:
            listed = ", ".join(repeated)
            raise ValueError(f"{listed} listed more than once (each TSA once, in failover order)")
        return value

    @field_validator("alert_days", mode="before")
    @classmethod
    def _alert_days_given(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and not value:
            days = ", ".join(map(str, DEFAULT_ALERT_DAYS))
            raise ValueError(f"must list at least one day (omit it for the default {days})")
        return value

    @field_validator("alert_days")
    @classmethod
    def _alert_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        repeated = sorted({day for day in value if value.count(day) > 1})
        if repeated:
            raise ValueError(f"{', '.join(map(str, repeated))} listed more than once (each day alerts once)")
        return tuple(sorted(value, reverse=True))

    @field_validator("bedrock_model_id")
    @classmethod
    def _bedrock_model_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        engine = info.data.get("extraction_engine")
        if value is None:
            if engine == "bedrock":
                raise ValueError(
                    'is required when extraction_engine is "bedrock": the Bedrock model or inference '
                    f"profile id to use, like {_BEDROCK_EXAMPLES}"
                )
            return None
        if not _BEDROCK_MODEL_ID.match(value):
            raise ValueError(
                f"{value!r} is not a Bedrock model or inference profile id like {_BEDROCK_EXAMPLES} "
                "(the id, not an ARN)"
            )
        if engine == "rules":
            raise ValueError(
                'is only used when extraction_engine is "bedrock" (it is "rules"): set '
                "extraction_engine to bedrock, or remove bedrock_model_id"
            )
        return value

    @field_validator("cloudhsm")
    @classmethod
    def _cloudhsm(cls, value: CloudHsm | None, info: ValidationInfo) -> CloudHsm | None:
        backend = info.data.get("seal_backend")
        if value is None:
            if backend == "cloudhsm":
                raise ValueError(
                    'is required when seal_backend is "cloudhsm": cluster_id, subnet_ids, '
                    "security_group_ids, client_layer_arn, key_label and pin_secret_name"
                )
            return None
        if backend == "kms":
            raise ValueError(
                'is only used when seal_backend is "cloudhsm" (it is "kms"): set seal_backend to '
                "cloudhsm, or remove cloudhsm"
            )
        region = info.data.get("region")
        if region and value.layer_region != region:
            raise ValueError(
                f"client_layer_arn is in {value.layer_region}, the stack in {region}: Lambda uses layers "
                "of its own region only (publish the layer there)"
            )
        return value

    @field_validator("identity_providers")
    @classmethod
    def _identity_providers(cls, value: tuple[SamlProvider | OidcProvider, ...]) -> tuple[Any, ...]:
        names = [provider.name.lower() for provider in value]
        repeated = sorted({provider.name for provider in value if names.count(provider.name.lower()) > 1})
        if repeated:
            raise ValueError(
                f"{', '.join(repeated)} named more than once (each provider needs its own name; "
                "case does not count)"
            )
        return value

    @property
    def bedrock_model(self) -> str | None:
        """The Bedrock model or inference profile id when the tenant extracts with Bedrock, else None."""
        return self.bedrock_model_id if self.extraction_engine == "bedrock" else None

    @model_validator(mode="after")
    def _zone_given_whole(self) -> TenantConfig:
        if (self.hosted_zone_id is None) != (self.hosted_zone_name is None):
            raise ValueError(_ZONE_PROBLEM)
        return self

    @model_validator(mode="after")
    def _tsa_urls_from_tsa(self) -> TenantConfig:
        # One list of URLs for everything that reads tsa_urls, whichever of the two settings was given.
        if self.tsa is None:
            return self
        if "tsa_urls" in self.model_fields_set:
            raise ValueError(_TSA_PROBLEM)
        return self.model_copy(update={"tsa_urls": tuple(service.url for service in self.tsa)})

    @property
    def tsa_auth_secrets(self) -> dict[str, str]:
        """``{TSA URL: credentials secret}`` of the TSAs that need credentials (in failover order)."""
        return {s.url: s.auth_secret for s in self.tsa or () if s.auth_secret is not None}

    @property
    def public_base_url(self) -> str | None:
        """What links start with when the tenant gave a domain (``custom_domain`` or ``public_url``), or
        None for the API's own stage URL."""
        if self.custom_domain is not None:
            return f"https://{self.custom_domain.name}"
        return self.public_url

    @property
    def hosted_zone(self) -> tuple[str, str] | None:
        """``(zone id, zone name)`` when DNS records are to be created, else None."""
        if self.hosted_zone_id and self.hosted_zone_name:
            return self.hosted_zone_id, self.hosted_zone_name
        return None


_PLAIN_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a setting tachiai knows (check the spelling)",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be an object of settings",
    "model_attributes_type": "must be an object of settings",
    "union_tag_not_found": 'needs a "type": "saml" or "oidc"',
}


def _location(loc: tuple[Any, ...]) -> str:
    """``identity_providers[0].name``: pydantic puts the provider's type after the index; drop it."""
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif not (index and isinstance(loc[index - 1], int) and part in IDENTITY_PROVIDER_TYPES):
            parts.append(f".{part}")
    return "".join(parts)[1:]


def _plain(error: Any) -> str:
    field = _location(tuple(error["loc"]))
    kind = error["type"]
    if kind == "value_error":
        message = str(error["ctx"]["error"])
    elif kind == "literal_error":
        message = f"{error['input']!r} must be one of {error['ctx']['expected']}"
    elif kind == "union_tag_invalid":
        message = f'type {error["ctx"]["tag"]!r} must be "saml" or "oidc"'
    else:
        message = _PLAIN_MESSAGES.get(kind, error["msg"])
    return message if not error["loc"] else f"{field}: {message}"


def load_config(raw: Mapping[str, Any] | str | None) -> TenantConfig:
    """The validated tenant configuration from the context value (a mapping, or JSON text from ``-c``).

    :raises ConfigError: one line per mistake, each naming the setting in plain words.
    """
    if raw is None:
        raise ConfigError(
            [f"the {CONTEXT_KEY!r} context is missing: set it in cdk.json or with -c {CONTEXT_KEY}='{{...}}'"]
        )
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as e:
            raise ConfigError([f"the {CONTEXT_KEY!r} context is not valid JSON: {e}"]) from None
    if not isinstance(raw, Mapping):
        raise ConfigError([f"the {CONTEXT_KEY!r} context must be an object of settings"])
    try:
        return TenantConfig.model_validate(dict(raw))
    except ValidationError as e:
        problems = [_plain(error) for error in e.errors()]
    # The whole-model rule runs only once every field is valid; say it now too, so one run lists all.
    if (raw.get("hosted_zone_id") is None) != (raw.get("hosted_zone_name") is None):
        problems.append(_ZONE_PROBLEM)
    if raw.get("tsa") is not None and "tsa_urls" in raw:
        problems.append(_TSA_PROBLEM)
    raise ConfigError(list(dict.fromkeys(problems)))
