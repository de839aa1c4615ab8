"""Issue 11 §4: a client generated from the OpenAPI document drives an envelope on the local runtime.

``openapi-python-client`` (a dev dependency; generation is local, no network) writes a Python client
from the document the running API serves — fetched without a token, as any newcomer would. That client,
over httpx's WSGI transport into the local runtime's API Gateway adapter (the same authorizer, routes
and functions as over HTTP), creates an envelope with an inline PDF, sends it, reads it and lists it;
a refusal comes back parsed as the documented error model. ``raise_on_unexpected_status`` makes every
answer whose status the document does not list a failure.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf
from werkzeug.test import Client

SENDER = "generated.client@tachiai.example"
PACKAGE = "tachiai_generated_client"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("generated-client")) as running:
        yield running


@pytest.fixture(scope="module")
def served_document(runtime: LocalRuntime) -> dict[str, Any]:
    response = Client(runtime.app()).get("/v1/openapi.json")  # no Authorization header
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())


@pytest.fixture(scope="module")
def generated(served_document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package, generated into a temporary folder and imported."""
    folder = tmp_path_factory.mktemp("client")
    document = folder / "openapi.json"
    document.write_text(json.dumps(served_document), encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    generator = bin_dir / "openapi-python-client"
    assert generator.exists(), "openapi-python-client is a dev dependency: pip install -e '.[dev]'"
    # Its post-generation hooks run ruff, which is in the same environment.
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


@pytest.fixture(scope="module")
def client(generated: ModuleType, runtime: LocalRuntime) -> Any:
    return generated.AuthenticatedClient(
        base_url="http://tachiai.local",
        token=runtime.token(SENDER, "Generated Client"),
        raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.WSGITransport(app=runtime.app())},
    )


def create_request(generated: ModuleType, title: str) -> Any:
    models = module(generated, "models")
    return models.CreateEnvelopeRequest(
        title=title,
        participants=[models.ParticipantRequest(name="Ichiro Takahashi", email="ichiro@example.jp")],
        documents=[
            models.DocumentRequest(name="nda.pdf", content_base64=base64.b64encode(sample_nda_pdf()).decode())
        ],
    )


def test_the_api_document_is_served_without_a_token_while_the_api_needs_one(runtime, served_document):
    assert served_document["info"]["title"] == "tachiai sender API"
    assert Client(runtime.app()).get("/v1/envelopes").status_code == 401


def test_a_generated_client_creates_sends_reads_and_lists_an_envelope(generated, client):
    models = module(generated, "models")
    create = module(generated, "api.envelopes.create_envelope")
    send = module(generated, "api.envelopes.send_envelope")
    get = module(generated, "api.envelopes.get_envelope")
    listing = module(generated, "api.envelopes.list_envelopes")

    created = create.sync_detailed(client=client, body=create_request(generated, "Generated client NDA"))
    assert created.status_code == 201
    assert isinstance(created.parsed, models.CreatedEnvelope)
    assert created.parsed.status == models.EnvelopeStatus.DRAFT
    assert created.parsed.uploads == []  # the PDF came inline
    envelope_id = created.parsed.id

    sent = send.sync_detailed(envelope_id, client=client)
    assert sent.status_code == 202
    assert isinstance(sent.parsed, models.EnvelopeView)
    assert sent.parsed.status != models.EnvelopeStatus.DRAFT

    detail = get.sync(envelope_id, client=client)
    assert isinstance(detail, models.EnvelopeDetail)
    assert [p.email for p in detail.participants] == ["ichiro@example.jp"]
    assert detail.events and detail.events[0].seq == 1

    page = listing.sync(client=client)
    assert isinstance(page, models.EnvelopeList)
    assert envelope_id in [e.id for e in page.envelopes]


def test_a_refusal_is_parsed_as_the_documented_error_model(generated, client):
    models = module(generated, "models")
    create = module(generated, "api.envelopes.create_envelope")
    remind = module(generated, "api.envelopes.remind_envelope")
    get = module(generated, "api.envelopes.get_envelope")

    draft = create.sync(client=client, body=create_request(generated, "Never sent"))
    refused = remind.sync_detailed(draft.id, client=client)
    assert refused.status_code == 409
    assert isinstance(refused.parsed, models.ErrorBody)
    assert refused.parsed.error.code == "envelope_not_sent"
    assert refused.parsed.error.message.zh and refused.parsed.error.message.ja

    missing = get.sync_detailed("env_" + "0" * 24, client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorBody)


def test_a_request_the_api_finds_invalid_is_a_400_with_its_problems(generated, client):
    models = module(generated, "models")
    create = module(generated, "api.envelopes.create_envelope")
    request = create_request(generated, "Bad address")
    request.participants[0].email = "not an address"

    refused = create.sync_detailed(client=client, body=request)
    assert refused.status_code == 400
    assert isinstance(refused.parsed, models.ErrorBody)
    assert refused.parsed.error.code == "invalid_request"
    assert any("email" in p.location for p in refused.parsed.error.problems)
