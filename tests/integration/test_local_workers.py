"""The local runtime's PDF functions run in worker processes, as Lambda runs them (issue 10 §6).

One invocation per process at a time, the environment set when the process starts, warm processes
reused; a worker that dies or outlives its timeout answers ``Lambda.Unknown`` (what the signing chain
retries) and is replaced; no process outlives the runtime. The handlers here are small files written
per test; the real functions run in workers in test_local_load.py.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tachiai.domain.errors import ConfigurationError
from tachiai.local.lambda_dispatch import LambdaContext, LambdaDispatcher, LocalFunction
from tachiai.local.workers import worker_count

HANDLER = textwrap.dedent(
    """
    import os, pathlib, time

    class SealFailed(Exception):
        pass

    def handler(event, context):
        action = event.get("action")
        if action == "fail":
            raise SealFailed("the TSA said no")
        if action == "crash":
            os._exit(3)
        if action == "log":
            import logging
            logging.getLogger("toy.seal").warning("sealed %s of %s", 1, 2)
        if action == "print":
            print("\\x00\\x00\\x00\\x05 a handler's own output is not a frame")
        if action == "sleep":
            time.sleep(event["seconds"])
        if action == "meet":
            # Rendezvous of `count` invocations: each leaves a file, then waits to see the others'.
            here = pathlib.Path(event["dir"])
            (here / str(os.getpid())).touch()
            deadline = time.monotonic() + 30
            while len(list(here.iterdir())) < event["count"] and time.monotonic() < deadline:
                time.sleep(0.01)
            return {"met": len(list(here.iterdir()))}
        if action == "wait_for":
            pathlib.Path(event["started"]).touch()
            while not pathlib.Path(event["file"]).exists():
                time.sleep(0.01)
        return {
            "pid": os.getpid(),
            "variable": os.environ.get("TACHIAI_TEST_VARIABLE"),
            "request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
    """
)


def ended(pid: int, reaped: bool = True, within: float = 30.0) -> bool:
    """Whether process ``pid`` has ended within ``within`` seconds (and, if asked, been reaped: a
    zombie counts as ended only for an orphan, whose reaping is init's business)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text(errors="replace")
        except FileNotFoundError:
            return True
        if not reaped and "State:\tZ" in status:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def seal(tmp_path: Path) -> LocalFunction:
    (tmp_path / "handler.py").write_text(HANDLER)
    return LocalFunction("seal", tmp_path, "handler.handler", timeout_seconds=60, exclusive_group="pdf")


@pytest.fixture
def dispatcher(seal: LocalFunction) -> Iterator[LambdaDispatcher]:
    dispatcher = LambdaDispatcher([seal])
    dispatcher.start_workers(2, {**os.environ, "TACHIAI_TEST_VARIABLE": "set at start"})
    yield dispatcher
    dispatcher.stop_workers()


def test_a_pdf_function_runs_in_a_worker_process_with_the_environment_it_started_with(
    dispatcher: LambdaDispatcher,
) -> None:
    answer = dispatcher.invoke("seal", {})
    assert answer.function_error is None
    assert answer.payload["pid"] != os.getpid() and answer.payload["pid"] in dispatcher.workers.pids  # type: ignore[union-attr]
    assert answer.payload["variable"] == "set at start"  # not this process's environment
    assert "TACHIAI_TEST_VARIABLE" not in os.environ


def test_the_worker_gets_the_request_id_and_the_remaining_time_of_the_invocation(
    dispatcher: LambdaDispatcher,
) -> None:
    answer = dispatcher.invoke("seal", {})
    assert answer.payload["request_id"] == answer.request_id
    assert 0 < answer.payload["remaining_ms"] <= 60_000


def test_a_worker_log_record_reaches_the_runtime_logging(
    dispatcher: LambdaDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="toy.seal"):
        answer = dispatcher.invoke("seal", {"action": "log"})
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("toy.seal", "WARNING", "sealed 1 of 2")
    ]
    assert caplog.records[0].process == answer.payload["pid"]


def test_what_a_handler_prints_does_not_disturb_its_answer(dispatcher: LambdaDispatcher) -> None:
    answer = dispatcher.invoke("seal", {"action": "print"})
    assert answer.function_error is None and answer.payload["variable"] == "set at start"
    assert dispatcher.workers is not None and dispatcher.workers.replaced == 0


def test_warm_workers_are_reused(dispatcher: LambdaDispatcher) -> None:
    pids = {dispatcher.invoke("seal", {}).payload["pid"] for _ in range(6)}
    assert pids <= set(dispatcher.workers.pids) and len(dispatcher.workers.pids) == 2  # type: ignore[union-attr]


def test_invocations_of_the_pdf_group_run_at_the_same_time_on_two_workers(
    dispatcher: LambdaDispatcher, tmp_path: Path
) -> None:
    # Given a rendezvous that each of two invocations passes only once it sees the other one running
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    event = {"action": "meet", "dir": str(meeting), "count": 2}
    # When both are invoked at once
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: dispatcher.invoke("seal", event), range(2)))
    # Then each saw the other (one at a time, the first would have waited alone until its deadline)
    assert [a.payload["met"] for a in answers] == [2, 2]


def test_a_handler_error_comes_back_as_the_runtime_error_payload_named_by_its_class(
    dispatcher: LambdaDispatcher,
) -> None:
    answer = dispatcher.invoke("seal", {"action": "fail"})
    assert answer.function_error == "Unhandled"
    assert answer.payload["errorType"] == "SealFailed"  # what Step Functions Retry/Catch match on
    assert answer.payload["errorMessage"] == "the TSA said no"
    assert answer.payload["requestId"] == answer.request_id
    assert any("handler.py" in frame for frame in answer.payload["stackTrace"])


def test_a_worker_that_dies_answers_lambda_unknown_and_is_replaced(dispatcher: LambdaDispatcher) -> None:
    assert dispatcher.workers is not None
    before = set(dispatcher.workers.pids)
    crashed = dispatcher.invoke("seal", {"action": "crash"})
    assert crashed.function_error == "Unhandled"
    assert crashed.payload["errorType"] == "Lambda.Unknown"  # the signing chain retries it
    assert "exit status 3" in crashed.payload["errorMessage"]
    after = set(dispatcher.workers.pids)
    assert len(after) == 2 and len(after - before) == 1  # a new worker took the dead one's place
    assert all(dispatcher.invoke("seal", {}).function_error is None for _ in range(4))


def test_a_worker_killed_while_idle_is_replaced_before_it_gets_an_invocation(
    dispatcher: LambdaDispatcher,
) -> None:
    assert dispatcher.workers is not None
    killed = dispatcher.workers.pids
    for pid in killed:
        os.kill(pid, 9)
    assert all(ended(pid, reaped=False) for pid in killed)  # dead (not yet reaped) before any invocation
    answers = [dispatcher.invoke("seal", {}) for _ in range(3)]
    assert [a.function_error for a in answers] == [None, None, None]  # no invocation met a dead one
    assert dispatcher.workers.replaced == 2 and all(ended(pid) for pid in killed)


def test_an_invocation_past_its_timeout_is_killed_and_answered_lambda_unknown(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    slow = LocalFunction("seal", tmp_path, "handler.handler", timeout_seconds=1, exclusive_group="pdf")
    dispatcher = LambdaDispatcher([slow])
    dispatcher.start_workers(1, os.environ)
    try:
        assert dispatcher.workers is not None
        (stuck,) = dispatcher.workers.pids
        answer = dispatcher.invoke("seal", {"action": "sleep", "seconds": 600})
        assert answer.function_error == "Unhandled" and answer.payload["errorType"] == "Lambda.Unknown"
        assert "timed out after 1.00 seconds" in answer.payload["errorMessage"]
        assert ended(stuck)
        assert dispatcher.invoke("seal", {}).function_error is None
    finally:
        dispatcher.stop_workers()


def test_running_counts_an_invocation_while_its_worker_runs_it(
    dispatcher: LambdaDispatcher, tmp_path: Path
) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    event = {"action": "wait_for", "started": str(started), "file": str(release)}
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(dispatcher.invoke, "seal", event)
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dispatcher.running == 1 and not dispatcher.wait_idle(0.05)
        release.touch()
        assert future.result(timeout=30).function_error is None
    assert dispatcher.running == 0 and dispatcher.wait_idle(1)


def test_an_interceptor_answers_a_pdf_function_without_a_worker(dispatcher: LambdaDispatcher) -> None:
    assert dispatcher.workers is not None
    dispatcher.intercept(lambda function, event: {"intercepted": True} if event.get("resume") else None)
    assert dispatcher.invoke("seal", {"resume": True}).payload == {"intercepted": True}
    assert dispatcher.workers.invocations == 0
    assert dispatcher.invoke("seal", {}).payload["pid"] in dispatcher.workers.pids


def test_functions_outside_any_exclusive_group_run_in_this_process(
    tmp_path: Path, seal: LocalFunction
) -> None:
    send = LocalFunction("send", seal.code_dir, "handler.handler")
    dispatcher = LambdaDispatcher([seal, send])
    dispatcher.start_workers(1, os.environ)
    try:
        assert dispatcher.invoke("send", {}).payload["pid"] == os.getpid()
        assert dispatcher.invoke("seal", {}).payload["pid"] != os.getpid()
    finally:
        dispatcher.stop_workers()


def test_stopping_the_workers_leaves_no_process_and_later_invocations_answer_lambda_unknown(
    dispatcher: LambdaDispatcher,
) -> None:
    assert dispatcher.workers is not None
    pool = dispatcher.workers
    pids = pool.pids
    dispatcher.invoke("seal", {})
    pool.close()
    assert all(ended(pid) for pid in pids)
    answer = pool.invoke(_context(), {})
    assert answer.function_error == "Unhandled" and answer.payload["errorType"] == "Lambda.Unknown"


def test_workers_end_when_the_process_that_started_them_dies_without_stopping_them(
    seal: LocalFunction,
) -> None:
    # Given a process that starts two workers and is then killed (no stop, no atexit)
    script = textwrap.dedent(
        f"""
        import json, os, sys
        from pathlib import Path
        from tachiai.local.lambda_dispatch import LambdaDispatcher, LocalFunction
        seal = LocalFunction("seal", Path({str(seal.code_dir)!r}), "handler.handler", exclusive_group="pdf")
        dispatcher = LambdaDispatcher([seal])
        pool = dispatcher.start_workers(2, os.environ)
        pool.wait_ready(60)
        print(json.dumps(pool.pids), flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    pids = json.loads(run.stdout)
    # Then its workers end too (their stdin closed with it)
    assert len(pids) == 2 and all(ended(pid, reaped=False) for pid in pids)


def test_the_worker_count_comes_from_the_environment_or_the_cpus() -> None:
    assert worker_count({"TACHIAI_LOCAL_WORKERS": "0"}) == 0  # in-process mode
    assert worker_count({"TACHIAI_LOCAL_WORKERS": " 3 "}) == 3
    assert 1 <= worker_count({}) <= 4
    for bad in ("-1", "two", "1.5"):
        with pytest.raises(ConfigurationError):
            worker_count({"TACHIAI_LOCAL_WORKERS": bad})


def _context() -> LambdaContext:
    return LambdaContext(
        "seal", "arn:aws:lambda:ap-northeast-1:123456789012:function:seal", "r-1", 512, time.monotonic() + 60
    )


def test_without_workers_a_pdf_function_runs_in_this_process(seal: LocalFunction) -> None:
    dispatcher = LambdaDispatcher([seal])
    assert dispatcher.start_workers(0, os.environ) is None  # TACHIAI_LOCAL_WORKERS=0
    assert dispatcher.invoke("seal", {}).payload["pid"] == os.getpid()


def test_a_worker_ignores_ctrl_c_and_keeps_serving_until_the_runtime_stops_it(
    dispatcher: LambdaDispatcher,
) -> None:
    assert dispatcher.workers is not None
    pid = dispatcher.invoke("seal", {}).payload["pid"]
    os.kill(pid, signal.SIGINT)  # the terminal sends it to the whole process group
    assert all(dispatcher.invoke("seal", {}).function_error is None for _ in range(4))
    assert pid in dispatcher.workers.pids and dispatcher.workers.replaced == 0


CRASH_ONCE = textwrap.dedent(
    """
    import os, pathlib

    def handler(event, context):
        marker = pathlib.Path(event["marker"])
        if not marker.exists():
            marker.touch()
            os._exit(1)  # the first attempt's process dies (out of memory, a segfault...)
        return {"sealed": True, "pid": os.getpid()}
    """
)


def test_the_chain_retries_an_invocation_whose_worker_died_and_then_succeeds(tmp_path: Path) -> None:
    from tachiai.local.aws import local_aws

    # Given a task that retries Lambda.Unknown, as every task of the signing chain does
    (tmp_path / "handler.py").write_text(CRASH_ONCE)
    seal = LocalFunction("toy-crashing-seal", tmp_path, "handler.handler", exclusive_group="pdf")
    definition = {
        "StartAt": "Seal",
        "States": {
            "Seal": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${SealArn}", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": [{"ErrorEquals": ["Lambda.Unknown"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    (tmp_path / "chain.asl.json").write_text(json.dumps(definition))
    with local_aws([seal]) as aws:
        aws.dispatcher.start_workers(1, dict(os.environ))
        try:
            arn = aws.create_state_machine(
                "toy-crash-chain", tmp_path / "chain.asl.json", {"SealArn": seal.arn(aws.region)}
            )
            # When its first attempt's worker dies
            started = aws.sfn().start_execution(
                stateMachineArn=arn, input=json.dumps({"marker": str(tmp_path / "crashed-once")})
            )
            ended = aws.wait_for_execution(started["executionArn"], timeout=120)
        finally:
            aws.dispatcher.stop_workers()
    # Then the retry ran on a fresh worker and the execution succeeded
    assert ended["status"] == "SUCCEEDED", ended
    assert json.loads(ended["output"])["sealed"] is True


def test_the_local_runtime_runs_its_pdf_functions_in_workers_and_stops_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tachiai.local.runtime import LocalRuntime

    monkeypatch.setenv("TACHIAI_LOCAL_WORKERS", "1")
    runtime = LocalRuntime(tmp_path, persist=False).start()
    try:
        assert runtime.aws is not None and runtime.aws.dispatcher.workers is not None
        pool = runtime.aws.dispatcher.workers
        assert sorted(pool.functions) == ["tachiai-ai-extract", "tachiai-seal"]
        pids = pool.pids
        assert len(pids) == 1
        # The daily alerts job is the ai_extract function: it runs in the worker, over moto's HTTP API
        assert runtime.run_alerts() is not None and pool.invocations == 1
    finally:
        runtime.stop()
    assert all(ended(pid) for pid in pids)
