"""An accredited TSA's credentials: the two shapes of its secret, and how the seal function is told
which TSA has one (``TACHIAI_TSA_AUTH_SECRETS``)."""

from __future__ import annotations

import json

import pytest
from tachiai import names
from tachiai.config import settings_from
from tachiai.domain.errors import ConfigurationError
from tachiai.sealing.timestamping import BasicAuth, ClientCertificate, tsa_credentials

SECRET = "tachiai/tsa-seiko"


def test_a_username_and_password_secret_is_basic_auth() -> None:
    credentials = tsa_credentials(json.dumps({"username": "u", "password": "p4ss"}), secret_name=SECRET)

    assert credentials == BasicAuth("u", "p4ss")


def test_a_certificate_and_key_secret_is_a_client_certificate() -> None:
    secret = json.dumps({"client_certificate_pem": "CERT", "client_key_pem": "KEY"})

    assert tsa_credentials(secret, secret_name=SECRET) == ClientCertificate("CERT", "KEY")


@pytest.mark.parametrize(
    "secret",
    [
        "p4ss-word",
        json.dumps(["p4ss-word"]),
        json.dumps({"username": "u"}),
        json.dumps({"username": "u", "password": ""}),
        json.dumps({"username": "u", "password": "p4ss-word", "client_key_pem": "p4ss-word"}),
    ],
)
def test_any_other_secret_is_a_configuration_error_naming_the_secret_not_its_value(secret: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        tsa_credentials(secret, secret_name=SECRET)

    assert SECRET in caught.value.detail
    assert "p4ss-word" not in caught.value.detail + str(caught.value)


def test_credentials_never_show_their_secrets_in_a_repr() -> None:
    shown = repr(BasicAuth("u", "p4ss-word")) + repr(ClientCertificate("CERT", "KEY-p4ss-word"))

    assert "p4ss-word" not in shown


def test_the_seal_function_is_told_each_tsas_secret_by_url() -> None:
    settings = settings_from(
        {
            names.ENV_TSA_URLS: "https://a.example/tsa,https://b.example/tsa",
            names.ENV_TSA_AUTH_SECRETS: json.dumps({"https://a.example/tsa": SECRET}),
        }
    )

    assert settings.tsa_auth_secrets == (("https://a.example/tsa", SECRET),)


@pytest.mark.parametrize(
    "value", ["tachiai/tsa-seiko", '["tachiai/tsa-seiko"]', '{"https://a.example/tsa": 1}']
)
def test_a_malformed_secrets_variable_is_a_configuration_error_naming_it(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_from({names.ENV_TSA_AUTH_SECRETS: value})

    assert caught.value.params["name"] == names.ENV_TSA_AUTH_SECRETS
