"""A web page in the developer's browser cannot reach ``tachiai local`` (issue 10 §4 item 9).

Over real HTTP to a running local runtime: the API and the outbox refuse a foreign ``Host`` (DNS
rebinding) and a foreign ``Origin``; moto answers only SDK-signed requests, never with CORS headers.
Before the guards, moto answered ``Access-Control-Allow-Origin: *`` to anyone and the API served any
``Host``, so a page could read every mailed link from ``/_local/outbox.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError
from tachiai.local.aws import LocalAwsError
from tachiai.local.runtime import LocalRuntime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("security"), persist=False) as running:
        yield running


def outbox(runtime: LocalRuntime, **headers: str) -> requests.Response:
    return requests.get(f"{runtime.url}/_local/outbox.json", headers=headers, timeout=30)


def moto_url(runtime: LocalRuntime) -> str:
    assert runtime.aws is not None
    return runtime.aws.endpoint_url


def test_the_outbox_is_refused_to_a_rebound_host_name(runtime: LocalRuntime) -> None:
    response = outbox(runtime, Host="attacker.example")
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "misdirected_request"


def test_the_outbox_is_refused_to_a_foreign_page(runtime: LocalRuntime) -> None:
    response = outbox(runtime, Origin="https://attacker.example")
    assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


def test_the_outbox_still_opens_for_the_developer(runtime: LocalRuntime) -> None:
    assert outbox(runtime).status_code == 200
    port = runtime.url.rsplit(":", 1)[1]
    assert outbox(runtime, Host=f"localhost:{port}", Origin=f"http://localhost:{port}").status_code == 200


def test_a_cross_site_form_post_to_the_api_is_refused(runtime: LocalRuntime) -> None:
    response = requests.post(
        f"{runtime.url}/v1/envelopes",
        data="title=x",
        headers={"Origin": "https://attacker.example", "Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 403


def test_moto_refuses_an_unsigned_read_of_its_state(runtime: LocalRuntime) -> None:
    response = requests.get(f"{moto_url(runtime)}/moto-api/data.json", timeout=30)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_moto_answers_a_cors_preflight_from_a_page_with_a_refusal(runtime: LocalRuntime) -> None:
    response = requests.options(
        f"{moto_url(runtime)}/",
        headers={
            "Origin": "https://attacker.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-target",
        },
        timeout=30,
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_moto_serves_the_sdk_without_cors_headers(runtime: LocalRuntime) -> None:
    assert runtime.aws is not None
    client = runtime.aws.client("dynamodb")
    captured: list[dict[str, str]] = []
    client.meta.events.register(
        "after-call.dynamodb", lambda http_response, **_: captured.append(dict(http_response.headers))
    )
    assert client.list_tables()["TableNames"]
    assert captured and not [name for name in captured[0] if name.lower().startswith("access-control-")]


def test_moto_refuses_a_rebound_host_name_even_signed(runtime: LocalRuntime) -> None:
    assert runtime.aws is not None
    client = runtime.aws.client("dynamodb")
    client.meta.events.register(
        "before-send.dynamodb", lambda request, **_: request.headers.__setitem__("Host", "attacker.example")
    )
    with pytest.raises(ClientError) as refused:
        client.list_tables()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 421


def test_the_runtime_listens_on_loopback_only(tmp_path: Path) -> None:
    with pytest.raises(LocalAwsError):
        LocalRuntime(tmp_path, host="0.0.0.0").start()
