"""The local runtime's S3 answers the console's direct uploads as the deployed documents bucket's CORS
rule does (infra/constructs/storage.py): a preflight from the console's own page for a presigned POST
is allowed, with that origin echoed; anything else is refused as before (issue 12, K7 §3).

A script that reads an upload's progress (``XMLHttpRequest.upload.onprogress``) makes the browser send
that preflight first, unsigned: without this answer upload.js could only post blind (``no-cors``).
"""

from __future__ import annotations

import json
from typing import Any

from tachiai import names
from tachiai.local.guard import MotoGuard, ServiceLocks
from werkzeug.test import Client
from werkzeug.wrappers import Response

PORT = 8080
CONSOLE = f"http://127.0.0.1:{PORT + 1}"
"""The local API's origin: the console's pages are served from it."""


def moto_app(environ: dict[str, Any], start_response: Any) -> Any:
    """Stands in for moto: it would answer anything, with ``Access-Control-Allow-Origin: *``."""
    return Response("reached", headers={"Access-Control-Allow-Origin": "*"})(environ, start_response)


def preflight(origin: str = CONSOLE, method: str = "POST", asked_headers: str | None = None) -> Any:
    guard = MotoGuard(moto_app, ServiceLocks())
    guard.port = PORT
    guard.origins = {CONSOLE}
    headers = {"Host": f"127.0.0.1:{PORT}", "Origin": origin, "Access-Control-Request-Method": method}
    if asked_headers is not None:
        headers["Access-Control-Request-Headers"] = asked_headers
    return Client(guard).open("/tachiai-documents", method="OPTIONS", headers=headers)


def test_the_consoles_upload_preflight_is_allowed_for_its_own_origin() -> None:
    response = preflight()

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Max-Age"] == str(names.UPLOAD_CORS_MAX_AGE_S)
    assert "Origin" in response.headers["Vary"]
    assert response.data == b""  # answered by the guard: moto never saw an unsigned request


def test_an_upload_preflight_from_a_foreign_page_is_refused() -> None:
    response = preflight(origin="https://attacker.example")

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert json.loads(response.data)["error"]["code"] == "foreign_origin"


def test_a_preflight_for_another_method_than_the_rules_post_is_refused() -> None:
    for method in ("PUT", "DELETE", "GET"):
        response = preflight(method=method)

        assert response.status_code == 403, method
        assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_asking_to_send_extra_headers_is_refused() -> None:
    # An Authorization header would let a page make SDK calls of its own: the rule allows no header.
    response = preflight(asked_headers="authorization")

    assert response.status_code == 403
    assert json.loads(response.data)["error"]["code"] == "unsigned_request"


def test_a_plain_options_request_without_a_preflights_method_is_refused() -> None:
    guard = MotoGuard(moto_app, ServiceLocks())
    guard.port = PORT
    guard.origins = {CONSOLE}

    response = Client(guard).open(
        "/tachiai-documents", method="OPTIONS", headers={"Host": f"127.0.0.1:{PORT}", "Origin": CONSOLE}
    )

    assert response.status_code == 403
