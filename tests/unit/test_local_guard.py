"""``tachiai local`` out of a foreign web page's reach, and moto serialized per service (issue 10 §4.9, §6).

The guards are WSGI middlewares; here they sit in front of small applications that record what
reaches them, so each rule is seen on its own. ``tests/integration/test_local_security.py`` checks
the same rules on a running local runtime.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from tachiai.local.guard import LoopbackGuard, MotoGuard, ServiceLocks
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

PORT = 8080
SIGNED = "AWS4-HMAC-SHA256 Credential=local/20260101/ap-northeast-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"


def echo_app(environ: dict[str, Any], start_response: Any) -> Any:
    """Answers like moto does: with a CORS header for everyone."""
    response = Response("reached", headers={"Access-Control-Allow-Origin": "*"})
    return response(environ, start_response)


def api(**headers: str) -> Any:
    return Client(LoopbackGuard(echo_app, PORT)).get("/s/token", headers=headers)


def _moto_guard() -> MotoGuard:
    guard = MotoGuard(echo_app, ServiceLocks())
    guard.port = PORT
    guard.origins = {f"http://127.0.0.1:{PORT + 1}"}
    return guard


def moto(method: str = "POST", path: str = "/", query: str = "", **headers: str) -> Any:
    return Client(_moto_guard()).open(path, method=method, query_string=query, headers=headers)


# --- the API (recipient pages, sender API, outbox) ------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"])
def test_api_answers_its_own_loopback_host(host: str) -> None:
    assert api(Host=host).status_code == 200


@pytest.mark.parametrize(
    "host", ["attacker.example:8080", "127.0.0.1:9999", "localhost", "evil.localhost:8080"]
)
def test_api_refuses_any_other_host_with_421_as_dns_rebinding_would_send(host: str) -> None:
    response = api(Host=host)
    assert response.status_code == 421
    assert json.loads(response.data)["error"]["code"] == "misdirected_request"
    assert response.data != b"reached"


def test_api_refuses_a_request_sent_by_a_foreign_page_with_403() -> None:
    response = api(Host="127.0.0.1:8080", Origin="https://attacker.example")
    assert response.status_code == 403
    assert json.loads(response.data)["error"]["code"] == "foreign_origin"


def test_api_refuses_an_opaque_null_origin() -> None:
    assert api(Host="127.0.0.1:8080", Origin="null").status_code == 403


def test_api_accepts_its_own_pages_and_a_link_clicked_in_a_mail() -> None:
    assert api(Host="127.0.0.1:8080", Origin="http://127.0.0.1:8080").status_code == 200
    assert api(Host="localhost:8080", Origin="http://localhost:8080").status_code == 200
    assert api(Host="127.0.0.1:8080").status_code == 200  # a navigation carries no Origin


def test_api_refusal_is_a_bilingual_page_for_a_browser() -> None:
    response = api(Host="attacker.example", Accept="text/html")
    assert response.status_code == 421
    page = response.get_data(as_text=True)
    assert "attacker.example" in page and "このサーバー" in page and "This server" in page
    assert "<script" not in page and response.headers["Content-Security-Policy"] == "default-src 'none'"


# --- moto --------------------------------------------------------------------------------------


def test_moto_answers_an_sdk_signed_request_without_any_cors_header() -> None:
    response = moto(Host="127.0.0.1:8080", Authorization=SIGNED)
    assert response.status_code == 200 and response.data == b"reached"
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]


def test_moto_refuses_an_unsigned_request_such_as_a_browsers() -> None:
    response = moto("GET", "/moto-api/data.json", Host="127.0.0.1:8080")
    assert response.status_code == 403
    assert json.loads(response.data)["error"]["code"] == "unsigned_request"


def test_moto_accepts_presigned_urls_and_presigned_posts() -> None:
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=local%2F20260101%2Fap-northeast-1%2Fs3%2Faws4_request&X-Amz-Signature=ab"
    assert moto("GET", "/bucket/key", query, Host="127.0.0.1:8080").status_code == 200
    # With the Content-MD5 field every upload must carry (tests/unit/test_upload_checksum.py).
    body = b'--x\r\nContent-Disposition: form-data; name="Content-MD5"\r\n\r\n1B2M2Y8AsgTpgAmY7PhCfg==\r\n--x--\r\n'
    form = Client(_moto_guard()).post(
        "/bucket",
        data=body,
        headers={"Host": "127.0.0.1:8080", "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert form.status_code == 200


def test_moto_refuses_a_foreign_origin_even_when_signed() -> None:
    response = moto(Host="127.0.0.1:8080", Authorization=SIGNED, Origin="https://attacker.example")
    assert response.status_code == 403 and response.data != b"reached"


def test_moto_refuses_its_own_origin_no_page_is_served_from_it() -> None:
    response = moto(Host="127.0.0.1:8080", Authorization=SIGNED, Origin="http://127.0.0.1:8080")
    assert response.status_code == 403


def test_moto_lets_the_apis_own_pages_call_it_with_their_origin_only() -> None:
    response = moto(Host="127.0.0.1:8080", Authorization=SIGNED, Origin="http://127.0.0.1:8081")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8081"


def test_moto_refuses_a_foreign_host() -> None:
    assert moto(Host="attacker.example:8080", Authorization=SIGNED).status_code == 421


def test_moto_accepts_s3_virtual_host_addressing_on_localhost() -> None:
    assert moto(Host="tachiai-documents.localhost:8080", Authorization=SIGNED).status_code == 200


# --- one lock per service ------------------------------------------------------------------------


def _signed_for(service: str) -> str:
    return SIGNED.replace("/dynamodb/", f"/{service}/")


def _slow_app(inside: dict[str, int], peak: dict[str, int], lock: threading.Lock) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        service = Request(environ).headers["Authorization"].split("/")[3]
        with lock:
            inside[service] = inside.get(service, 0) + 1
            peak[service] = max(peak.get(service, 0), inside[service])
        time.sleep(0.05)
        with lock:
            inside[service] -= 1
        return Response("ok")(environ, start_response)

    return app


def _hammer(guard: MotoGuard, services: list[str]) -> None:
    def call(service: str) -> None:
        Client(guard).post("/", headers={"Host": "127.0.0.1:8080", "Authorization": _signed_for(service)})

    threads = [threading.Thread(target=call, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_requests_to_one_service_never_run_in_moto_at_the_same_time() -> None:
    inside: dict[str, int] = {}
    peak: dict[str, int] = {}
    guard = MotoGuard(_slow_app(inside, peak, threading.Lock()), ServiceLocks())
    guard.port = PORT
    _hammer(guard, ["dynamodb"] * 8)
    assert peak["dynamodb"] == 1


def test_requests_to_different_services_still_run_side_by_side() -> None:
    inside: dict[str, int] = {}
    peak: dict[str, int] = {}
    overall = {"now": 0, "max": 0}
    lock = threading.Lock()
    inner = _slow_app(inside, peak, lock)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            overall["now"] += 1
            overall["max"] = max(overall["max"], overall["now"])
        try:
            return inner(environ, start_response)
        finally:
            with lock:
                overall["now"] -= 1

    guard = MotoGuard(app, ServiceLocks())
    guard.port = PORT
    _hammer(guard, ["dynamodb", "s3", "kms", "ses"] * 3)
    assert max(peak.values()) == 1
    assert overall["max"] > 1


def test_a_released_lock_lets_the_same_service_in_while_a_function_runs() -> None:
    # Given a Lambda Invoke holding the lambda lock, whose function calls Lambda again on another thread
    locks = ServiceLocks()
    reached = threading.Event()

    def nested() -> None:
        with locks.serving("lambda"):
            reached.set()

    with locks.serving("lambda"), locks.released():
        thread = threading.Thread(target=nested)
        thread.start()
        thread.join(timeout=5)
    assert reached.is_set()


def test_a_change_to_stateful_services_is_reported_and_a_read_is_not() -> None:
    changes: list[str] = []
    guard = MotoGuard(echo_app, ServiceLocks(), on_change=changes.append)
    guard.port = PORT
    client = Client(guard)
    headers = {"Host": "127.0.0.1:8080", "Authorization": SIGNED}
    client.post("/", headers={**headers, "X-Amz-Target": "DynamoDB_20120810.Query"})
    client.post("/", headers={**headers, "X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"})
    client.post("/", headers={**headers, "Authorization": _signed_for("kms")})
    assert changes == ["dynamodb"]


# --- functions whose libraries are not thread-safe ------------------------------------------------


def test_functions_of_one_exclusive_group_never_run_at_the_same_time(tmp_path: Any) -> None:
    from tachiai.local.lambda_dispatch import LambdaDispatcher, LocalFunction

    # Given two functions of the "pdf" group (one handler file, as seal and ai_extract share libraries)
    (tmp_path / "handler.py").write_text(
        "import threading, time\n"
        "state = {'now': 0, 'max': 0}\n"
        "lock = threading.Lock()\n"
        "def handler(event, context):\n"
        "    with lock:\n"
        "        state['now'] += 1; state['max'] = max(state['max'], state['now'])\n"
        "    time.sleep(0.02)\n"
        "    with lock:\n"
        "        state['now'] -= 1\n"
        "    return dict(state)\n"
    )
    seal = LocalFunction("seal", tmp_path, "handler.handler", exclusive_group="pdf")
    dispatcher = LambdaDispatcher([seal])
    # When eight invocations arrive at once
    answers: list[Any] = []
    threads = [
        threading.Thread(target=lambda: answers.append(dispatcher.invoke("seal", {}))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then they ran one after another
    assert max(a.payload["max"] for a in answers) == 1 and dispatcher.running == 0
