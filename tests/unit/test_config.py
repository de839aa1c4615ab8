"""Configuration from the environment: required values named when missing, malformed values refused."""

from __future__ import annotations

import pytest
from tachiai import names
from tachiai.config import settings_from
from tachiai.domain.errors import ConfigurationError, DocumentTooLarge, TachiaiError, error_from_report


def test_values_are_read_from_the_shared_variable_names():
    settings = settings_from(
        {
            names.ENV_TABLE: "envelopes",
            names.ENV_TSA_URLS: "https://tsa1.example/tsa, https://tsa2.example/tsa",
            names.ENV_PUBLIC_URL: "https://sign.example.co.jp/prod/",
        }
    )
    assert settings.require("table") == "envelopes"
    assert settings.tsa_urls == ("https://tsa1.example/tsa", "https://tsa2.example/tsa")
    assert settings.public_url == "https://sign.example.co.jp/prod"


def test_a_missing_required_value_names_its_variable():
    with pytest.raises(ConfigurationError) as missing:
        settings_from({}).require("bucket")
    assert names.ENV_BUCKET in missing.value.message("en")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (names.ENV_TIME_ZONE, "Mars/Olympus"),
        (names.ENV_MAX_DOCUMENT_BYTES, "lots"),
        (names.ENV_DOWNLOAD_LINK_DAYS, "0"),
    ],
)
def test_a_malformed_value_is_refused_naming_its_variable(variable, value):
    with pytest.raises(ConfigurationError) as bad:
        settings_from({variable: value})
    assert variable in bad.value.message("en")


def test_a_typed_error_survives_the_trip_between_functions():
    original = DocumentTooLarge("60 MB", size_mb="60", limit_mb="50")
    again = error_from_report(original.report())
    assert type(again) is DocumentTooLarge
    assert again.message("ja") == original.message("ja") and again.detail == "60 MB"


def test_an_unknown_error_type_becomes_a_plain_internal_error():
    again = error_from_report({"type": "NoSuchError", "detail": "x"})
    assert type(again) is TachiaiError and again.http_status == 500
