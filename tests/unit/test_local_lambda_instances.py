"""Invocations of one function that run at the same time do not share its handler module's globals.

In Lambda an execution environment runs one invocation at a time, so a handler module may keep the
current request in a global: the API functions' resolver does (``app.current_event``). The local
runtime runs concurrent invocations on threads of one process; sharing one module instance, two
concurrent creates answered with each other's body (one sender's envelope created from another's
request). Each concurrent invocation now gets its own instance of the module, reused afterwards.
"""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path
from typing import Any

from tachiai.local.lambda_dispatch import LambdaDispatcher, LocalFunction

HANDLER = textwrap.dedent(
    """
    import pathlib, time

    current = {}  # per-request state in a global, as a web framework's app object keeps it

    def handler(event, context):
        current["request"] = event["request"]
        # Both invocations are inside the handler at once before either reads its state back.
        here = pathlib.Path(event["meeting"])
        (here / event["request"]).touch()
        deadline = time.monotonic() + 30
        while len(list(here.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"request": current["request"], "instance": id(current)}
    """
)


def _at_once(dispatcher: LambdaDispatcher, meeting: Path, requests: list[str]) -> list[Any]:
    answers: dict[str, Any] = {}

    def call(request: str) -> None:
        answers[request] = dispatcher.invoke("send", {"request": request, "meeting": str(meeting)}).payload

    threads = [threading.Thread(target=call, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [answers[request] for request in requests]


def test_two_invocations_at_once_each_see_their_own_request(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    dispatcher = LambdaDispatcher([LocalFunction("send", tmp_path, "handler.handler")])
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    first, second = _at_once(dispatcher, meeting, ["from-alice", "from-bob"])
    assert (first["request"], second["request"]) == ("from-alice", "from-bob")
    assert first["instance"] != second["instance"]  # two instances of the module, as two environments


def test_module_instances_are_reused_once_their_invocation_ended(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    dispatcher = LambdaDispatcher([LocalFunction("send", tmp_path, "handler.handler")])
    instances = set()
    for round_ in range(3):
        meeting = tmp_path / f"meeting-{round_}"
        meeting.mkdir()
        instances |= {answer["instance"] for answer in _at_once(dispatcher, meeting, ["a", "b"])}
    assert len(instances) == 2  # warm instances, not a new module per request
    assert dispatcher.module("send").current is not None  # the first instance stays the function's module
