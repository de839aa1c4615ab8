"""The tenant configuration: every rule, and what a tenant reads when they get it wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.app import main
from infra.config import (
    DEFAULT_TSA_URLS,
    ConfigError,
    OidcProvider,
    SamlProvider,
    TenantConfig,
    inference_profile_model,
    load_config,
)
from tests.infra.helpers import BASE_CONFIG


def config(**changes: Any) -> dict[str, Any]:
    return {**BASE_CONFIG, **changes}


def problems(raw: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return caught.value.problems


def only_problem(raw: Any) -> str:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


# --- the smallest config and its defaults -------------------------------------------------------


def test_smallest_config_takes_documented_defaults() -> None:
    loaded = load_config(BASE_CONFIG)

    assert loaded.region == "ap-northeast-1"
    assert loaded.tsa_urls == DEFAULT_TSA_URLS
    assert loaded.object_lock_retention_years == 10
    assert loaded.object_lock_mode == "GOVERNANCE"
    assert loaded.seal_certificate_parameter == "/tachiai/Tachiai/seal/certificate-chain"
    assert loaded.trust_roots_parameter == "/tachiai/Tachiai/seal/trust-roots"
    assert loaded.seal_key_administrators == loaded.seal_csr_signers == ()
    assert loaded.seal_certificate_subject == "CN=tachiai seal,O=tachiai,C=JP"
    assert loaded.seal_key_spec == "RSA_2048"
    assert loaded.time_zone == "Asia/Tokyo"
    assert loaded.allowed_ip_ranges is None
    assert loaded.hosted_zone is None
    assert loaded.public_url is None
    assert loaded.alert_days == (60, 30, 7)
    assert loaded.extraction_engine == "rules"
    assert loaded.bedrock_model_id is None
    assert loaded.bedrock_model is None


def test_config_is_frozen() -> None:
    loaded = load_config(BASE_CONFIG)

    with pytest.raises(ValueError, match="frozen"):
        loaded.domain = "other.example"


def test_default_subject_names_the_service() -> None:
    assert load_config(config(service_name="Example K.K.")).seal_certificate_subject == (
        "CN=tachiai seal,O=Example K.K.,C=JP"
    )


def test_context_given_as_json_text_with_dash_c_is_read() -> None:
    assert load_config(json.dumps(BASE_CONFIG)) == TenantConfig.model_validate(BASE_CONFIG)


# --- domain and sender ------------------------------------------------------------------------


def test_domain_is_normalised_to_lower_case_without_trailing_dot() -> None:
    assert load_config(config(domain="Sign.Example.CO.JP.")).domain == "sign.example.co.jp"


@pytest.mark.parametrize("domain", ["localhost", "exa mple.com", "-bad.example.com", "a..b.com"])
def test_domain_must_be_a_domain_name(domain: str) -> None:
    assert only_problem(config(domain=domain)).startswith("domain: ")


def test_sender_address_must_be_in_the_mail_domain() -> None:
    message = only_problem(config(sender_address="no-reply@other.example.com"))

    assert message.startswith("sender_address: ")
    assert "not in the mail domain sign.example.co.jp" in message


def test_sender_address_in_a_subdomain_of_the_mail_domain_is_accepted() -> None:
    assert load_config(config(sender_address="a@mail.sign.example.co.jp")).sender_address


@pytest.mark.parametrize("address", ["no-reply", "Name <a@sign.example.co.jp>", "a b@sign.example.co.jp"])
def test_sender_address_must_be_a_plain_address(address: str) -> None:
    assert "is not a plain email address" in only_problem(config(sender_address=address))


def test_mail_from_domain_must_be_a_subdomain_of_the_mail_domain() -> None:
    assert load_config(config(mail_from_domain="bounce.sign.example.co.jp")).mail_from_domain
    message = only_problem(config(mail_from_domain="sign.example.co.jp"))
    assert message.startswith("mail_from_domain: ") and "subdomain" in message


# --- hosted zone ---------------------------------------------------------------------------------


def test_hosted_zone_given_whole_is_read() -> None:
    loaded = load_config(config(hosted_zone_id="Z0123456789ABC", hosted_zone_name="example.co.jp"))

    assert loaded.hosted_zone == ("Z0123456789ABC", "example.co.jp")


@pytest.mark.parametrize(
    "half", [{"hosted_zone_id": "Z0123456789ABC"}, {"hosted_zone_name": "example.co.jp"}]
)
def test_hosted_zone_needs_both_id_and_name(half: dict[str, str]) -> None:
    assert only_problem(config(**half)) == (
        "hosted_zone_id, hosted_zone_name: give both (to create the DNS records) or neither"
    )


def test_hosted_zone_must_contain_the_mail_domain() -> None:
    message = only_problem(config(hosted_zone_id="Z0123456789ABC", hosted_zone_name="other.co.jp"))

    assert message.startswith("hosted_zone_name: ") and "does not contain" in message


def test_hosted_zone_id_must_look_like_one() -> None:
    message = only_problem(config(hosted_zone_id="zone-1", hosted_zone_name="example.co.jp"))

    assert message.startswith("hosted_zone_id: ")


# --- region, TSA, retention, parameters ----------------------------------------------------------


def test_region_must_be_an_aws_region_name() -> None:
    assert only_problem(config(region="tokyo")).startswith("region: ")


def test_tsa_urls_must_not_be_empty() -> None:
    assert only_problem(config(tsa_urls=[])) == (
        "tsa_urls: must list at least one time-stamping service (a seal needs a timestamp)"
    )


def test_each_bad_tsa_url_is_its_own_line() -> None:
    found = problems(config(tsa_urls=["http://tsa.example/", "https://ok.example/tsr", "https://x/?q=1"]))

    assert found == [
        "tsa_urls[0]: 'http://tsa.example/' is not an https:// URL",
        "tsa_urls[2]: 'https://x/?q=1' must not carry a query, fragment or credentials",
    ]


def test_tsa_urls_must_be_a_list() -> None:
    assert only_problem(config(tsa_urls="https://tsa.example/")) == "tsa_urls: must be a list"


def test_tsa_roots_file_must_hold_a_pem_certificate(tmp_path: Path) -> None:
    not_pem = tmp_path / "roots.txt"
    not_pem.write_text("hello", encoding="ascii")

    assert "holds no PEM certificate" in only_problem(config(tsa_roots_file=str(not_pem)))
    assert "cannot be read" in only_problem(config(tsa_roots_file="no/such/file.pem"))


@pytest.mark.parametrize("years", [0, 101, -1])
def test_retention_years_between_1_and_100(years: int) -> None:
    assert only_problem(config(object_lock_retention_years=years)).startswith("object_lock_retention_years: ")


@pytest.mark.parametrize("years", ["10", 10.5, True])
def test_retention_years_must_be_a_whole_number(years: object) -> None:
    assert "is not a whole number of years" in only_problem(config(object_lock_retention_years=years))


def test_object_lock_mode_is_governance_or_compliance() -> None:
    assert load_config(config(object_lock_mode="COMPLIANCE")).object_lock_mode == "COMPLIANCE"
    assert only_problem(config(object_lock_mode="LEGAL_HOLD")) == (
        "object_lock_mode: 'LEGAL_HOLD' must be one of 'GOVERNANCE' or 'COMPLIANCE'"
    )


@pytest.mark.parametrize("name", ["tachiai/chain", "/aws/seal", "/tachiai/seal chain", "/ssm/x"])
def test_parameter_names_must_be_valid_ssm_names(name: str) -> None:
    assert only_problem(config(seal_certificate_parameter=name)).startswith("seal_certificate_parameter: ")
    assert only_problem(config(trust_roots_parameter=name)).startswith("trust_roots_parameter: ")


# --- subject, key, names -------------------------------------------------------------------------


def test_subject_must_have_a_common_name() -> None:
    assert "subject needs CN=" in only_problem(config(seal_certificate_subject="O=Example,C=JP"))


def test_subject_with_an_unknown_attribute_is_refused() -> None:
    assert "FOO=bar" in only_problem(config(seal_certificate_subject="CN=seal,FOO=bar"))


def test_service_name_that_breaks_the_default_subject_asks_for_an_explicit_subject() -> None:
    message = only_problem(config(service_name="Example, Inc."))

    assert message.startswith("seal_certificate_subject: ")
    assert "set seal_certificate_subject yourself" in message
    assert load_config(config(service_name="Example, Inc.", seal_certificate_subject="CN=Example seal"))


def test_service_name_is_one_short_line() -> None:
    assert only_problem(config(service_name="a\nb")).startswith("service_name: ")
    assert problems(config(service_name="x" * 65))[0].startswith("service_name: ")


def test_seal_key_spec_is_rsa_2048_or_p256() -> None:
    assert load_config(config(seal_key_spec="ECC_NIST_P256")).seal_key_spec == "ECC_NIST_P256"
    assert only_problem(config(seal_key_spec="RSA_4096")).startswith("seal_key_spec: ")


def test_time_zone_must_be_an_iana_zone() -> None:
    assert only_problem(config(time_zone="Mars/Olympus")) == (
        "time_zone: 'Mars/Olympus' is not an IANA time zone like Asia/Tokyo"
    )


@pytest.mark.parametrize("name", ["1tachiai", "tachiai_prod", ""])
def test_stack_name_is_a_cloudformation_name(name: str) -> None:
    assert only_problem(config(stack_name=name)).startswith("stack_name: ")


# --- IP allowlist and public URL -----------------------------------------------------------------


def test_ip_ranges_are_normalised_ipv4_and_ipv6() -> None:
    loaded = load_config(config(allowed_ip_ranges=["203.0.113.0/24", "2001:DB8::/32"]))

    assert loaded.allowed_ip_ranges == ("203.0.113.0/24", "2001:db8::/32")


def test_ip_range_with_host_bits_suggests_the_network() -> None:
    assert only_problem(config(allowed_ip_ranges=["203.0.113.7/24"])) == (
        "allowed_ip_ranges[0]: '203.0.113.7/24' has host bits set (did you mean 203.0.113.0/24?)"
    )


def test_ip_range_that_is_not_a_cidr_is_refused() -> None:
    assert "is not a CIDR" in only_problem(config(allowed_ip_ranges=["office"]))


def test_empty_ip_allowlist_is_refused_rather_than_locking_everyone_out() -> None:
    assert "lock every sender out" in only_problem(config(allowed_ip_ranges=[]))


def test_public_url_must_be_https_and_loses_its_trailing_slash() -> None:
    assert load_config(config(public_url="https://sign.example.co.jp/")).public_url == (
        "https://sign.example.co.jp"
    )
    assert only_problem(config(public_url="http://sign.example.co.jp")).startswith("public_url: ")


# --- the contract ledger: alert days and the extraction engine -----------------------------------


def test_alert_days_are_kept_longest_first() -> None:
    assert load_config(config(alert_days=[7, 90, 30])).alert_days == (90, 30, 7)
    assert load_config(config(alert_days=[1])).alert_days == (1,)
    assert load_config(config(alert_days=[365, 1])).alert_days == (365, 1)


def test_each_alert_day_out_of_range_is_its_own_line() -> None:
    assert problems(config(alert_days=[0, 30, 366])) == [
        "alert_days[0]: 0 is not between 1 and 365 (days before the deadline)",
        "alert_days[2]: 366 is not between 1 and 365 (days before the deadline)",
    ]


@pytest.mark.parametrize("day", ["30", 7.5, True])
def test_alert_days_must_be_whole_numbers(day: object) -> None:
    assert only_problem(config(alert_days=[60, day])) == "alert_days[1]: must be a whole number"


def test_an_alert_day_listed_twice_is_refused() -> None:
    assert only_problem(config(alert_days=[30, 7, 30])) == (
        "alert_days: 30 listed more than once (each day alerts once)"
    )


def test_alert_days_must_be_a_non_empty_list() -> None:
    assert only_problem(config(alert_days=[])) == (
        "alert_days: must list at least one day (omit it for the default 60, 30, 7)"
    )
    assert only_problem(config(alert_days=30)) == "alert_days: must be a list"


def test_extraction_engine_is_rules_or_bedrock() -> None:
    assert only_problem(config(extraction_engine="openai")) == (
        "extraction_engine: 'openai' must be one of 'rules' or 'bedrock'"
    )


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "amazon.nova-pro-v1:0",
        "apac.anthropic.claude-sonnet-4-20250514-v1:0",
        "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ],
)
def test_bedrock_engine_takes_a_model_or_inference_profile_id(model_id: str) -> None:
    loaded = load_config(config(extraction_engine="bedrock", bedrock_model_id=model_id))

    assert loaded.bedrock_model == loaded.bedrock_model_id == model_id


def test_bedrock_engine_without_a_model_names_both_settings() -> None:
    message = only_problem(config(extraction_engine="bedrock"))

    assert message.startswith('bedrock_model_id: is required when extraction_engine is "bedrock"')
    assert "apac.anthropic.claude-sonnet-4-20250514-v1:0" in message  # an example of what to write


def test_a_model_id_without_the_bedrock_engine_is_refused_not_ignored() -> None:
    assert only_problem(config(bedrock_model_id="anthropic.claude-3-haiku-20240307-v1:0")) == (
        'bedrock_model_id: is only used when extraction_engine is "bedrock" (it is "rules"): '
        "set extraction_engine to bedrock, or remove bedrock_model_id"
    )


@pytest.mark.parametrize(
    "model_id",
    [
        "claude",
        "Anthropic.Claude-3",
        "us.claude-3",  # a geography, then no provider
        "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude 3",
    ],
)
def test_bedrock_model_id_must_look_like_one(model_id: str) -> None:
    message = only_problem(config(extraction_engine="bedrock", bedrock_model_id=model_id))

    assert message.startswith(
        f"bedrock_model_id: {model_id!r} is not a Bedrock model or inference profile id"
    )


def test_inference_profile_ids_name_their_foundation_model() -> None:
    assert inference_profile_model("apac.amazon.nova-pro-v1:0") == "amazon.nova-pro-v1:0"
    assert inference_profile_model("global.anthropic.claude-sonnet-4-5-20250929-v1:0") == (
        "anthropic.claude-sonnet-4-5-20250929-v1:0"
    )
    assert inference_profile_model("us-gov.anthropic.claude-3-haiku-20240307-v1:0") == (
        "anthropic.claude-3-haiku-20240307-v1:0"
    )
    assert inference_profile_model("anthropic.claude-3-haiku-20240307-v1:0") is None


# --- sign-in: MFA and identity providers ---------------------------------------------------------

SAML = {"type": "saml", "name": "EntraID", "metadata_url": "https://login.example.net/metadata.xml?appid=1"}
OIDC = {
    "type": "oidc",
    "name": "GoogleWorkspace",
    "issuer": "https://accounts.google.com",
    "client_id": "1234-abcd.apps.googleusercontent.com",
    "client_secret_name": "tachiai/google-oidc",
}


def idp_problems(*providers: Any) -> list[str]:
    return problems(config(identity_providers=list(providers)))


def test_mfa_is_optional_and_no_identity_provider_by_default() -> None:
    loaded = load_config(BASE_CONFIG)

    assert loaded.mfa == "optional"
    assert loaded.identity_providers == ()


@pytest.mark.parametrize("mfa", ["off", "optional", "required"])
def test_mfa_takes_off_optional_or_required(mfa: str) -> None:
    assert load_config(config(mfa=mfa)).mfa == mfa


def test_mfa_names_its_three_values() -> None:
    assert only_problem(config(mfa="on")) == "mfa: 'on' must be one of 'off', 'optional' or 'required'"


def test_a_saml_and_an_oidc_provider_are_read_with_default_claims() -> None:
    saml, oidc = load_config(config(identity_providers=[SAML, OIDC])).identity_providers

    assert isinstance(saml, SamlProvider) and isinstance(oidc, OidcProvider)
    assert saml.metadata == ("url", SAML["metadata_url"])
    assert saml.claims == {
        "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "name": "http://schemas.microsoft.com/identity/claims/displayname",
        "email_verified": "email_verified",
    }
    assert oidc.claims == {"email": "email", "name": "name", "email_verified": "email_verified"}
    assert oidc.scopes == ("openid", "email", "profile")


def test_claim_names_given_replace_only_their_own_default() -> None:
    (oidc,) = load_config(
        config(identity_providers=[{**OIDC, "attributes": {"name": "displayName"}}])
    ).identity_providers

    assert oidc.claims == {"email": "email", "name": "displayName", "email_verified": "email_verified"}


def test_saml_metadata_from_a_file_is_read_from_it(tmp_path: Path) -> None:
    metadata = tmp_path / "idp.xml"
    metadata.write_text('<EntityDescriptor entityID="https://idp.example.co.jp"/>', encoding="utf-8")
    saml = {"type": "saml", "name": "AdFs", "metadata_file": str(metadata)}

    (loaded,) = load_config(config(identity_providers=[saml])).identity_providers

    assert isinstance(loaded, SamlProvider)
    assert loaded.metadata == ("file", '<EntityDescriptor entityID="https://idp.example.co.jp"/>')


def test_a_provider_without_a_type_or_with_an_unknown_one_is_named_by_its_position() -> None:
    assert idp_problems({"name": "Okta"}, {**SAML, "type": "ldap"}, "EntraID") == [
        'identity_providers[0]: needs a "type": "saml" or "oidc"',
        'identity_providers[1]: type \'ldap\' must be "saml" or "oidc"',
        "identity_providers[2]: must be an object of settings",
    ]


@pytest.mark.parametrize("name", ["Entra ID", "Entra_ID", "ID", "-Okta", "a" * 33, "エントラ"])
def test_provider_name_is_3_to_32_letters_digits_dots_or_hyphens(name: str) -> None:
    assert only_problem(config(identity_providers=[{**SAML, "name": name}])).startswith(
        f"identity_providers[0].name: {name!r} is not a provider name like EntraID"
    )


@pytest.mark.parametrize("name", ["Google", "COGNITO", "Facebook", "SignInWithApple", "LoginWithAmazon"])
def test_provider_names_cognito_keeps_for_itself_are_refused_with_an_alternative(name: str) -> None:
    message = only_problem(config(identity_providers=[{**OIDC, "name": name}]))

    assert message.startswith(f"identity_providers[0].name: {name!r} is reserved by Cognito")
    assert "GoogleWorkspace" in message


def test_two_providers_of_one_name_are_refused_whatever_the_case() -> None:
    assert idp_problems(SAML, {**OIDC, "name": "entraid"}) == [
        "identity_providers: EntraID, entraid named more than once (each provider needs its own name; "
        "case does not count)"
    ]


def test_saml_needs_exactly_one_of_metadata_url_and_metadata_file(tmp_path: Path) -> None:
    metadata = tmp_path / "idp.xml"
    metadata.write_text("<EntityDescriptor/>", encoding="utf-8")
    neither = {"type": "saml", "name": "EntraID"}
    both = {**SAML, "metadata_file": str(metadata)}

    found = idp_problems(neither, both)

    assert found == [
        "identity_providers[0]: give the IdP's SAML metadata as metadata_url (https://...) or metadata_file "
        "(a path), exactly one of the two",
        "identity_providers[1]: give the IdP's SAML metadata as metadata_url (https://...) or metadata_file "
        "(a path), exactly one of the two",
    ]


def test_saml_metadata_url_must_be_https_but_may_carry_a_query() -> None:
    assert only_problem(
        config(identity_providers=[{**SAML, "metadata_url": "http://idp.example/m.xml"}])
    ) == (
        "identity_providers[0].metadata_url: 'http://idp.example/m.xml' is not an https:// URL "
        "(Cognito fetches the metadata over HTTPS)"
    )


def test_saml_metadata_file_must_be_saml_metadata(tmp_path: Path) -> None:
    not_metadata = tmp_path / "notes.xml"
    not_metadata.write_text("<notes/>", encoding="utf-8")
    saml = {"type": "saml", "name": "AdFs", "metadata_file": str(not_metadata)}
    missing = {**saml, "name": "AdFs2", "metadata_file": str(tmp_path / "absent.xml")}

    first, second = idp_problems(saml, missing)

    assert first == f"identity_providers[0].metadata_file: {str(not_metadata)!r} is not SAML metadata " + (
        "(no EntityDescriptor element)"
    )
    assert second.startswith(
        f"identity_providers[1].metadata_file: {str(tmp_path / 'absent.xml')!r} cannot be read"
    )


def test_oidc_provider_needs_issuer_client_id_and_secret_name() -> None:
    assert idp_problems({"type": "oidc", "name": "Okta"}) == [
        "identity_providers[0].issuer: is required",
        "identity_providers[0].client_id: is required",
        "identity_providers[0].client_secret_name: is required",
    ]


def test_an_oidc_client_secret_in_the_config_is_refused_and_told_where_it_goes() -> None:
    message = only_problem(config(identity_providers=[{**OIDC, "client_secret": "GOCSPX-not-here"}]))

    assert message.startswith("identity_providers[0].client_secret: secrets never go in the tenant config")
    assert "Secrets Manager" in message and "client_secret_name" in message
    assert "GOCSPX-not-here" not in message


@pytest.mark.parametrize("name", ["tachiai google", "", "tachiai/google#1"])
def test_oidc_client_secret_name_must_be_a_secrets_manager_name(name: str) -> None:
    assert only_problem(config(identity_providers=[{**OIDC, "client_secret_name": name}])).startswith(
        f"identity_providers[0].client_secret_name: {name!r} is not a Secrets Manager secret name"
    )


def test_oidc_client_secret_may_be_named_by_its_arn() -> None:
    arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:tachiai/google-oidc-AbCdEf"

    (oidc,) = load_config(config(identity_providers=[{**OIDC, "client_secret_name": arn}])).identity_providers

    assert isinstance(oidc, OidcProvider) and oidc.client_secret_name == arn


def test_oidc_issuer_must_be_https_without_a_query() -> None:
    found = idp_problems(
        {**OIDC, "issuer": "http://accounts.google.com"},
        {**OIDC, "name": "Okta", "issuer": "https://x.example/?a=1"},
    )

    assert found == [
        "identity_providers[0].issuer: 'http://accounts.google.com' is not an https:// URL",
        "identity_providers[1].issuer: 'https://x.example/?a=1' must not carry a query, fragment or credentials",
    ]


def test_oidc_scopes_must_include_openid_and_be_single_words() -> None:
    found = idp_problems(
        {**OIDC, "scopes": ["email", "profile"]}, {**OIDC, "name": "Okta", "scopes": ["openid", "a b"]}
    )

    assert found == [
        'identity_providers[0].scopes: must include "openid" (Cognito signs in with OpenID Connect)',
        "identity_providers[1].scopes: 'a b' is not a scope (one word each, no spaces or quotes)",
    ]


def test_claim_names_are_checked_and_unknown_attributes_refused() -> None:
    found = idp_problems({**OIDC, "attributes": {"email": "mail address", "phone_number": "phone"}})

    assert found == [
        "identity_providers[0].attributes.email: 'mail address' is not a claim name (1 to 256 visible "
        "characters, no spaces)",
        "identity_providers[0].attributes.phone_number: is not a setting tachiai knows (check the spelling)",
    ]


def test_every_identity_provider_mistake_is_reported_at_once() -> None:
    found = idp_problems({**SAML, "name": "Entra ID"}, {**OIDC, "client_id": "", "scopes": ["email"]})

    assert [line.split(":")[0] for line in found] == [
        "identity_providers[0].name",
        "identity_providers[1].client_id",
        "identity_providers[1].scopes",
    ]


# --- how mistakes are reported -------------------------------------------------------------------


def test_every_mistake_is_reported_at_once_one_line_each() -> None:
    found = problems(
        {
            "domain": "example.com",
            "sender_address": "a@other.com",
            "region": "tokyo",
            "time_zone": "Nowhere",
            "object_lock_retention_years": 0,
            "colour": "blue",
        }
    )

    assert [line.split(":")[0] for line in found] == [
        "sender_address",
        "region",
        "object_lock_retention_years",
        "time_zone",
        "colour",
    ]
    assert found[-1] == "colour: is not a setting tachiai knows (check the spelling)"


def test_missing_required_settings_are_named() -> None:
    assert problems({}) == ["domain: is required", "sender_address: is required"]


def test_missing_context_says_where_to_set_it() -> None:
    assert "set it in cdk.json" in only_problem(None)


def test_context_that_is_not_json_says_so() -> None:
    assert only_problem('{"domain": ').startswith("the 'tachiai' context is not valid JSON")


def test_app_prints_each_mistake_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tenant context with two mistakes
    bad = {**BASE_CONFIG, "region": "tokyo", "time_zone": "Nowhere"}

    # When the app runs
    status = main({"tachiai": bad})

    # Then it stops before building anything, one line per mistake
    assert status == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "tachiai: the 'tachiai' configuration has mistakes:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["- region", "- time_zone"]
