"""The local runtime's Lambda dispatch treats an ``Event`` invocation as Lambda does (issue 13).

An import's extraction is started with ``InvocationType=Event`` so the API request does not wait for
it: the dispatcher must answer at once and run the handler on its own, retry a failed run, and keep an
event whose every run failed (the local counterpart of the failures queue).
"""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

from tachiai import names
from tachiai.local.lambda_dispatch import LambdaDispatcher, LocalFunction

HANDLER = textwrap.dedent(
    """
    import pathlib

    def handler(event, context):
        here = pathlib.Path(event["dir"])
        runs = len(list(here.glob("run-*")))
        (here / f"run-{runs + 1}").touch()
        if event.get("fail"):
            raise RuntimeError("the engine did not answer")
        return {"ok": True}
    """
)


def _dispatcher(tmp_path: Path) -> LambdaDispatcher:
    (tmp_path / "handler.py").write_text(HANDLER)
    dispatcher = LambdaDispatcher([LocalFunction("ai_extract", tmp_path, "handler.handler")])
    dispatcher.event_retry_delays = (0.0,) * names.ASYNC_RETRY_ATTEMPTS
    return dispatcher


def test_an_event_invocation_returns_before_its_handler_runs(tmp_path: Path) -> None:
    dispatcher = _dispatcher(tmp_path)
    entered, release = threading.Event(), threading.Event()

    def hold(function: LocalFunction, event: object) -> None:
        entered.set()
        release.wait(30)
        return None  # then the handler runs

    dispatcher.intercept(hold)
    dispatcher.invoke_event("ai_extract", {"dir": str(tmp_path)})
    # The caller has its answer while the run is still held before the handler.
    assert entered.wait(30)
    assert list(tmp_path.glob("run-*")) == []
    release.set()
    assert dispatcher.wait_idle(30)
    assert len(list(tmp_path.glob("run-*"))) == 1
    assert dispatcher.failed_events == []


def test_a_failing_event_is_retried_then_kept_as_failed(tmp_path: Path) -> None:
    dispatcher = _dispatcher(tmp_path)
    dispatcher.invoke_event("ai_extract", {"dir": str(tmp_path), "fail": True})
    assert dispatcher.wait_idle(30)
    assert len(list(tmp_path.glob("run-*"))) == 1 + names.ASYNC_RETRY_ATTEMPTS
    (failed,) = dispatcher.failed_events
    assert (failed.function, failed.error_type) == ("ai_extract", "RuntimeError")
    assert failed.attempts == 1 + names.ASYNC_RETRY_ATTEMPTS
