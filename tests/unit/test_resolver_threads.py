"""Two requests resolved at once in one process (``tachiai local`` serves each in a thread, with a
resolver per handler-module instance) each see their own event. Powertools keeps the event on the
BaseRouter class, shared by every resolver: without tachiai's per-thread event, one sender's create ran
with another's body and answered the wrong caller (found by the local load test)."""

from __future__ import annotations

import threading
from typing import Any

from tachiai.api.routing import RestResolver


def _event(path: str) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"resourcePath": path, "httpMethod": "GET", "stage": "test", "identity": {}},
        "body": None,
        "isBase64Encoded": False,
    }


def _resolver(both_inside: threading.Barrier) -> RestResolver:
    app = RestResolver()

    def which() -> dict[str, str]:
        both_inside.wait(timeout=10)  # the other request has been read in by now
        return {"path": app.current_event.path}

    app.get("/a")(which)
    app.get("/b")(which)
    return app


def test_two_requests_resolved_at_once_each_see_their_own_event() -> None:
    both_inside = threading.Barrier(2)
    answers: dict[str, str] = {}

    def call(app: RestResolver, path: str) -> None:
        answers[path] = app.resolve(_event(path), None)["body"]  # type: ignore[arg-type]

    threads = [threading.Thread(target=call, args=(_resolver(both_inside), path)) for path in ("/a", "/b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert answers == {"/a": '{"path":"/a"}', "/b": '{"path":"/b"}'}
