"""Worker processes for the local runtime's PDF functions, as Lambda runs them: one invocation per
process at a time, the environment set once when the process starts, warm processes reused.

Why processes: the PDF libraries cannot share one interpreter between threads (asn1crypto parses shared
certificate objects lazily and raced — ``KeyError: No field numbered 2 ... x509.Extension`` — and PDFium
is not thread-safe at all), and threads of one process would share the GIL anyway. So the local
runtime's :class:`~tachiai.local.lambda_dispatch.LambdaDispatcher` hands the invocations of such
functions (those of an :attr:`~tachiai.local.lambda_dispatch.LocalFunction.exclusive_group`) to a
:class:`WorkerPool`, and N envelopes seal on N cores.

A worker is ``python -m tachiai.local.workers``, started with :class:`subprocess.Popen` (fork + exec:
nothing of the threaded parent is inherited but the environment it is given). It reads the functions it
serves, imports their handler modules (Lambda's init phase), then answers invocations one at a time.
The handler code reaches everything over HTTP — moto (``AWS_ENDPOINT_URL``), the TSA, OCSP and CRL of
the test PKI — so it needs nothing from the runtime's process but its environment. Frames on the
worker's stdin/stdout are a 4-byte big-endian length and UTF-8 JSON; the worker moves its own
``print``/logging output to stderr, which it shares with the runtime (Lambda's log stream).

What the caller gets is what :meth:`LambdaDispatcher.invoke <tachiai.local.lambda_dispatch.
LambdaDispatcher.invoke>` gives for an in-process call — the result, or the runtime's error payload
(``errorType`` = the exception's class name) with ``FunctionError: Unhandled`` — because the worker runs
the same code (:meth:`~tachiai.local.lambda_dispatch.LambdaDispatcher.run_here`). When the worker's
process dies during an invocation (a crash, ``os._exit``, the OOM killer) or the invocation outlives its
``timeout_seconds`` (the worker is then killed), the answer is ``errorType: Lambda.Unknown`` — the error
Step Functions reports for a killed Lambda invocation, which every task of the signing chain retries —
and a new worker takes the dead one's place. A worker found dead while idle is replaced before it is
given an invocation.

No orphans: :meth:`WorkerPool.close` closes each worker's stdin (it exits at end of input) and kills
what does not exit; a worker ignores Ctrl-C (the runtime decides when it stops) and exits when its
stdin ends, so it also goes when the runtime's process dies without closing it (``kill -9``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

from tachiai.domain.errors import ConfigurationError
from tachiai.local.lambda_dispatch import (
    Invocation,
    LambdaContext,
    LambdaDispatcher,
    LocalFunction,
    LocalFunctionError,
)

__all__ = ["WORKERS_VARIABLE", "WorkerPool", "worker_count"]

WORKERS_VARIABLE: Final = "TACHIAI_LOCAL_WORKERS"
"""How many worker processes run the PDF functions; ``0`` runs them in the runtime's process, one at a
time (unset: one per CPU, at most :data:`DEFAULT_MAX_WORKERS`)."""
DEFAULT_MAX_WORKERS: Final = 4
"""A sealing worker holds about 150 MB: more than this many is a choice to make, not a default."""
KILLED_ERROR: Final = "Lambda.Unknown"
STOP_GRACE_SECONDS: Final = 5.0
"""How long a worker may take to exit after its stdin closes before it is killed."""

logger = logging.getLogger(__name__)

_HEADER: Final = 4
_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parents[2])
"""The directory ``tachiai`` is imported from here: the worker imports the same code."""


def worker_count(environ: Mapping[str, str] | None = None) -> int:
    """How many worker processes ``environ`` (default ``os.environ``) asks for (:data:`WORKERS_VARIABLE`).

    :raises ConfigurationError: the variable is set but is not a whole number >= 0.
    """
    raw = (os.environ if environ is None else environ).get(WORKERS_VARIABLE, "").strip()
    if not raw:
        try:
            cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use (taskset, containers)
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        return max(1, min(cpus, DEFAULT_MAX_WORKERS))
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigurationError(
            f"{WORKERS_VARIABLE}={raw!r}: expected a whole number >= 0", name=WORKERS_VARIABLE
        )
    return count


# --- framing ---------------------------------------------------------------------------------------


def _frame(message: Any) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return len(data).to_bytes(_HEADER, "big") + data


class _Reader:
    """Reads frames from a pipe with a deadline (``select`` on the raw descriptor)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()

    def message(self, deadline: float | None) -> Any:
        """The next message.

        :raises EOFError: the other end closed the pipe (the worker's process ended).
        :raises TimeoutError: ``deadline`` (monotonic) passed first.
        """
        while True:
            if len(self._buffer) >= _HEADER:
                size = int.from_bytes(self._buffer[:_HEADER], "big")
                if len(self._buffer) >= _HEADER + size:
                    data = bytes(self._buffer[_HEADER : _HEADER + size])
                    del self._buffer[: _HEADER + size]
                    return json.loads(data)
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                raise TimeoutError
            readable, _, _ = select.select([self._fd], [], [], timeout)
            if not readable:
                continue
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _receive(stream: IO[bytes]) -> Any:
    """The worker's side: the next message on stdin, or ``None`` at end of input."""
    header = _read_exactly(stream, _HEADER)
    if header is None:
        return None
    data = _read_exactly(stream, int.from_bytes(header, "big"))
    return None if data is None else json.loads(data)


# --- the runtime's side ------------------------------------------------------------------------------


def _describe(function: LocalFunction) -> dict[str, Any]:
    return {
        "name": function.name,
        "code_dir": str(function.code_dir),
        "handler": function.handler,
        "timeout_seconds": function.timeout_seconds,
        "memory_mb": function.memory_mb,
        "exclusive_group": function.exclusive_group,
    }


class _Worker:
    """One worker process and its two pipes (its stdin, its stdout)."""

    def __init__(self, functions: Sequence[LocalFunction], environment: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tachiai.local.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(environment),
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin = self.process.stdin
        self._reader = _Reader(self.process.stdout.fileno())
        self.ready = False
        """Whether the worker said it finished its init phase."""
        self.busy = False
        """An invocation's thread is reading this worker's answers (only that thread closes its pipes)."""
        setup = {
            "functions": [_describe(function) for function in functions],
            # Records below this level would be dropped here anyway: the worker does not send them.
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        self._send(_frame(setup))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _send(self, frame: bytes) -> None:
        self._stdin.write(frame)
        self._stdin.flush()

    def _next(self, deadline: float | None, until_ready: bool = False) -> Any:
        """The next answer (or, ``until_ready``, the init phase's end), passing the worker's log records
        on to this process's logging on the way. :raises EOFError, TimeoutError:"""
        while True:
            message = self._reader.message(deadline)
            if isinstance(message, dict) and "log" in message:
                _log_here(message["log"], self.pid)
                continue
            if isinstance(message, dict) and "ready" in message:
                self.ready = True
                if until_ready:
                    return message
                continue
            return message

    def wait_ready(self, deadline: float) -> bool:
        """Wait (an idle worker) for the end of its init phase; whether it came before ``deadline``."""
        if not self.ready:
            with contextlib.suppress(EOFError, TimeoutError, OSError, ValueError):
                self._next(deadline, until_ready=True)
        return self.ready

    def call(self, frame: bytes, deadline: float) -> Any:
        """Send one invocation and wait for its answer.

        :raises EOFError, OSError, ValueError: the worker died. :raises TimeoutError: ``deadline`` passed.
        """
        self._send(frame)
        return self._next(deadline)

    def end_input(self, grace: float) -> None:
        """Close its stdin (it exits after its current invocation), then kill it if it lingers."""
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_GRACE_SECONDS)

    def close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def exit_description(self) -> str:
        code = self.process.poll()
        if code is None:
            return "still running"
        if code >= 0:
            return f"exit status {code}"
        try:
            return f"signal: {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"


_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _close_pools() -> None:
    """A runtime that was never stopped (a test that failed in its set-up) leaves no process behind."""
    for pool in list(_POOLS):
        pool.close(grace=1.0)


class WorkerPool:
    """``size`` warm worker processes serving ``functions``; :meth:`invoke` runs one invocation on one.

    ``environment`` is every worker's whole environment (the runtime's, once it is complete): it is set
    when a worker starts and never changes. Workers are started by :meth:`start` (their init phase runs
    in the background), and a dead one is replaced as soon as that is noticed.
    """

    def __init__(self, functions: Sequence[LocalFunction], size: int, environment: Mapping[str, str]) -> None:
        if size < 1:
            raise LocalFunctionError("a worker pool needs at least one worker")
        self.functions = {function.name: function for function in functions}
        self.size = size
        python_path = os.pathsep.join(p for p in (_PACKAGE_ROOT, environment.get("PYTHONPATH", "")) if p)
        self._environment = {**environment, "PYTHONPATH": python_path}
        self._idle: deque[_Worker] = deque()
        self._all: list[_Worker] = []
        self._condition = threading.Condition()
        self._closed = False
        self.invocations = 0
        """Invocations answered by a worker (their handler ran in another process)."""
        self.replaced = 0
        """Workers that died and were replaced."""

    def start(self) -> WorkerPool:
        """Start every worker (returns at once: their imports run while the runtime goes on)."""
        with self._condition:
            for _ in range(self.size):
                worker = self._spawn()
                self._idle.append(worker)
        _POOLS.add(self)
        return self

    def runs(self, name: str) -> bool:
        """Whether invocations of the function ``name`` go to this pool."""
        return name in self.functions

    @property
    def pids(self) -> list[int]:
        """The process ids of the current workers."""
        with self._condition:
            return [worker.pid for worker in self._all]

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every worker has finished its init phase; whether all did within ``timeout`` s.

        (For measurements and tests: an invocation never needs it, it simply waits its turn.)
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            workers = list(self._idle)
            self._idle.clear()
            for worker in workers:
                worker.busy = True
        try:
            return all([worker.wait_ready(deadline) for worker in workers])
        finally:
            for worker in workers:
                self._release(worker)

    def invoke(self, context: LambdaContext, event: Any) -> Invocation:
        """Run one invocation of ``context.function_name`` on a free worker (waiting for one).

        Never raises for what happens to the worker: a handler's error is its error payload; a worker
        that dies or outlives the function's timeout answers ``Lambda.Unknown`` and is replaced; a
        closed pool answers ``Lambda.Unknown`` too.
        """
        request_id = context.aws_request_id
        timeout = self.functions[context.function_name].timeout_seconds
        request = {
            "function": context.function_name,
            "event": event,
            "context": {
                "invoked_function_arn": context.invoked_function_arn,
                "aws_request_id": request_id,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                # Lambda's clock starts when an environment takes the invocation, not while it queues.
                "remaining_ms": timeout * 1000,
                "log_group_name": context.log_group_name,
            },
        }
        try:
            frame = _frame(request)
        except (TypeError, ValueError) as exc:
            # Lambda's Invoke API refuses a payload that is not JSON before any code runs.
            return _unhandled("InvalidRequestContentException", f"the event is not JSON: {exc}", request_id)
        worker = self._acquire()
        if worker is None:
            message = f"RequestId: {request_id} Error: the local runtime is stopping"
            return _unhandled(KILLED_ERROR, message, request_id)
        try:
            answer = worker.call(frame, time.monotonic() + timeout)
        except TimeoutError:
            self._replace(worker)
            message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            logger.warning("%s: worker %s killed: %s", context.function_name, worker.pid, message)
            return _unhandled(KILLED_ERROR, message, request_id)
        except (EOFError, OSError, ValueError):
            # OSError: its stdin was already closed; ValueError: a frame cut short when it died.
            how = worker.exit_description() if _reaped(worker) else "its answer was unreadable"
            self._replace(worker)
            message = f"RequestId: {request_id} Error: Runtime exited with error: {how}"
            if not self._closed:
                logger.warning("%s: worker %s died: %s", context.function_name, worker.pid, message)
            return _unhandled(KILLED_ERROR, message, request_id)
        self._release(worker)
        with self._condition:
            self.invocations += 1
        return Invocation(answer["payload"], answer["function_error"], request_id)

    def close(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop every worker: idle ones at once; a busy one may finish its invocation within ``grace``
        seconds, else it is killed (its invocation answers ``Lambda.Unknown``). Every process is reaped."""
        with self._condition:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._condition.notify_all()
        for worker in workers:
            worker.end_input(grace)
            if not worker.busy:
                worker.close_pipes()  # a busy one's thread closes them once it has its answer
        _POOLS.discard(self)

    # -- internals ---------------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        """A new worker, counted in the pool. :raises OSError: the process cannot be started."""
        worker = _Worker(list(self.functions.values()), self._environment)
        self._all.append(worker)
        return worker

    def _acquire(self) -> _Worker | None:
        """A free, live worker (waiting for one), or ``None`` when the pool is closed or cannot start one."""
        with self._condition:
            while True:
                if self._closed:
                    return None
                if self._idle:
                    worker = self._idle.popleft()
                    if worker.alive:
                        break
                    # It died while idle: the invocation has not started, so a fresh worker takes it.
                    worker.kill()  # reaps it
                    self._retire(worker)
                if len(self._all) < self.size:  # a place left by a dead worker (or a failed start)
                    try:
                        worker = self._spawn()
                    except OSError as exc:
                        logger.warning("cannot start a worker process: %s", exc)
                        return None
                    break
                self._condition.wait()
            worker.busy = True
            return worker

    def _release(self, worker: _Worker) -> None:
        with self._condition:
            worker.busy = False
            if self._closed or worker not in self._all:
                worker.close_pipes()
                return
            self._idle.append(worker)
            self._condition.notify()

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start its successor (or leave its place for the next invocation to fill)."""
        worker.kill()
        with self._condition:
            worker.busy = False
            if worker not in self._all:  # the pool was closed meanwhile
                worker.close_pipes()
                return
            self._retire(worker)
            try:
                self._idle.append(self._spawn())
            except OSError as exc:
                logger.warning("cannot start a worker process: %s", exc)
            self._condition.notify()

    def _retire(self, worker: _Worker) -> None:
        """Forget a dead worker (the caller starts its successor)."""
        worker.close_pipes()
        self._all.remove(worker)
        self.replaced += 1


def _log_here(fields: dict[str, Any], pid: int) -> None:
    """A worker's log record, handled by this process's logging as if it had been logged here."""
    record = logging.makeLogRecord({**fields, "args": None, "exc_info": None, "process": pid})
    source = logging.getLogger(record.name)
    if source.isEnabledFor(record.levelno):
        source.handle(record)


def _reaped(worker: _Worker) -> bool:
    """Give a worker whose pipe closed a moment to end, so its exit status can be told."""
    try:
        worker.process.wait(1.0)
    except subprocess.TimeoutExpired:
        return False
    return True


def _unhandled(error_type: str, message: str, request_id: str) -> Invocation:
    payload = {"errorMessage": message, "errorType": error_type, "requestId": request_id}
    return Invocation(payload, "Unhandled", request_id)


# --- the worker's side ---------------------------------------------------------------------------------


class _Answers:
    """The worker's side of its stdout: whole frames, one writer at a time (handlers log from threads)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: Any) -> None:
        frame = _frame(message)
        with self._lock:
            self._stream.write(frame)
            self._stream.flush()


class _ForwardedLogs(logging.Handler):
    """Sends every log record to the runtime's process, whose logging decides what to do with it (as
    Lambda's runtime hands a function's log lines to CloudWatch)."""

    def __init__(self, answers: _Answers) -> None:
        super().__init__()
        self._answers = answers
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "msg": record.getMessage(),
                "pathname": record.pathname,
                "filename": record.filename,
                "module": record.module,
                "lineno": record.lineno,
                "funcName": record.funcName,
                "created": record.created,
                "msecs": record.msecs,
                "threadName": record.threadName,
                "exc_text": self._formatter.formatException(record.exc_info) if record.exc_info else None,
            }
            self._answers.send({"log": fields})
        except Exception:  # noqa: BLE001 - logging must never break the invocation (logging's own rule)
            self.handleError(record)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """The worker's loop: read the functions, import their handlers, answer invocations until stdin ends."""
    setup = _receive(stdin)
    if setup is None:
        return 0
    answers = _Answers(stdout)
    root = logging.getLogger()
    root.handlers[:] = [_ForwardedLogs(answers)]
    root.setLevel(int(setup.get("log_level", logging.WARNING)))
    logging.captureWarnings(True)  # a library's warning is a log record too: the runtime's level decides
    functions = [LocalFunction(code_dir=Path(spec.pop("code_dir")), **spec) for spec in setup["functions"]]
    dispatcher = LambdaDispatcher(functions)
    for function in functions:
        # Lambda's init phase; a module that fails to import fails each invocation (as in Lambda).
        with contextlib.suppress(Exception):
            dispatcher.handler(function.name)
    try:
        answers.send({"ready": True, "pid": os.getpid()})
        while (request := _receive(stdin)) is not None:
            answers.send(_answer(dispatcher, request))
    except BrokenPipeError:
        return 0  # the runtime is gone
    return 0


def _answer(dispatcher: LambdaDispatcher, request: dict[str, Any]) -> dict[str, Any]:
    """Run one invocation here; the answer frame for it."""
    wanted = dispatcher.get(request["function"])
    details = request["context"]
    request_id = details["aws_request_id"]
    if wanted is None:
        invocation = _unhandled("Runtime.LocalFunctionNotRegistered", request["function"], request_id)
    else:
        context = LambdaContext(
            function_name=wanted.name,
            invoked_function_arn=details["invoked_function_arn"],
            aws_request_id=request_id,
            memory_limit_in_mb=details["memory_limit_in_mb"],
            deadline_monotonic=time.monotonic() + details["remaining_ms"] / 1000,
            log_group_name=details["log_group_name"],
        )
        invocation = dispatcher.run_here(wanted, request["event"], context)
    return {"payload": invocation.payload, "function_error": invocation.function_error}


def main() -> int:
    """``python -m tachiai.local.workers``: the frames go over a private copy of stdout."""
    # The runtime stops its workers itself (Ctrl-C reaches the whole process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # A handler's print() or log line must not land in the frames: stdout becomes stderr.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    sys.exit(main())
