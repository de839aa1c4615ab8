"""Run Lambda handlers in this process, resolved from the same handler strings as in the cloud.

A :class:`LocalFunction` names a deployed function (``tachiai-seal``), the directory its code is
packaged from (``functions/seal``) and its handler string (``handler.seal``). The handler string is
resolved the way the Lambda Python runtime resolves it: everything before the last dot is the module
(``/`` or ``.`` separating sub-directories), the last part is the attribute. The module is loaded from
its *file* with :mod:`importlib` under a name unique to the function (``tachiai_local_fn_<name>``), so
two functions built from the same file get two module instances, exactly as two Lambda functions get
two processes; and, as each execution environment runs one invocation at a time, invocations of one
function that run at the same time each get their own instance of its module (``<name>__<n>``; see
:meth:`LambdaDispatcher.run_here`), reused afterwards as warm environments are. Nothing is added
to ``sys.path``: a handler module imports installed packages only (the ``tachiai`` layer, boto3...),
never a sibling file.

:meth:`LambdaDispatcher.invoke` calls ``handler(event, context)`` and returns what Lambda's Invoke
API would return: the JSON result, or — when the handler raises — the error payload the Python
runtime produces (``{"errorMessage", "errorType", "requestId", "stackTrace"}``) with
``FunctionError: Unhandled``. ``errorType`` is the exception's class name, which is what Step
Functions ``Retry``/``Catch`` match on.

:meth:`LambdaDispatcher.invoke_event` is the asynchronous invocation (``InvocationType=Event``, what an
import's extraction uses): it returns at once and runs the handler on a thread of its own, as Lambda
queues the event and answers 202 before any code runs. A run that fails is run again
(:data:`tachiai.names.ASYNC_RETRY_ATTEMPTS` times, after :attr:`LambdaDispatcher.event_retry_delays`),
and an event that failed every time is kept in :attr:`LambdaDispatcher.failed_events` and logged: the
local counterpart of the stack's failures queue (the on-failure destination). The runs count as
running invocations (:meth:`LambdaDispatcher.wait_idle` waits for them, retries included).

Concurrency: in Lambda each invocation has an execution environment (a process) to itself; here the
invocations of most functions share one process, on threads. Most handlers are thread-safe, but the
PDF libraries are not (asn1crypto parses shared certificate objects lazily — concurrent seals raised
``KeyError: No field numbered 2 ... x509.Extension`` — and PDFium is not thread-safe at all). Functions
given an :attr:`LocalFunction.exclusive_group` are therefore either

* run in worker processes (:meth:`LambdaDispatcher.start_workers`, :mod:`tachiai.local.workers`): one
  invocation per process at a time, so they run in parallel on as many cores as there are workers; a
  worker that dies or times out answers ``Lambda.Unknown`` (what the signing chain retries); or
* without workers, run in this process one at a time per group (a function that synchronously invokes
  another of its own group would then wait forever: none does).

Interceptors (:meth:`LambdaDispatcher.intercept`) are asked first, in this process, whichever way the
function would run: an intercepted invocation never reaches a worker.

Environment variables are *not* handled here: the process environment is set once by whoever starts
the local runtime, and never swapped per call (handlers run on several threads at once); workers get
that environment as it is when they start. In this process function timeouts are not enforced (a
Python thread cannot be killed); ``get_remaining_time_in_millis`` still counts down from
``timeout_seconds`` so code that budgets its time behaves as in Lambda. A worker is killed at its
invocation's timeout.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal

from tachiai.names import ASYNC_RETRY_ATTEMPTS, handler_module_file

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tachiai.local.workers import WorkerPool

DEFAULT_REGION: Final = "ap-northeast-1"
DEFAULT_ACCOUNT_ID: Final = "123456789012"
"""moto's default account: every ARN the local runtime hands out uses it."""

MODULE_PREFIX: Final = "tachiai_local_fn_"
EVENT_RETRY_DELAYS: Final = (2.0, 4.0)
"""Seconds before each retry of a failed asynchronous run (Lambda waits about 1 and 2 minutes; a local
runtime has no reason to make a person wait that long for a passing failure)."""

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
Interceptor = Callable[["LocalFunction", Any], Any]

_ARN_RE: Final = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[^:]*):(?P<account>\d*):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)


class LocalFunctionError(Exception):
    """The dispatcher cannot find or load a function (not an error raised *by* a handler)."""


class HandlerNotFound(LocalFunctionError):
    """The module loaded but has no callable of the handler's name (Lambda: Runtime.HandlerNotFound)."""


@dataclass(frozen=True)
class LocalFunction:
    """One Lambda function: its name, the directory its code comes from and its handler string."""

    name: str
    code_dir: Path
    handler: str
    timeout_seconds: int = 60
    memory_mb: int = 512
    exclusive_group: str | None = None
    """Functions whose libraries are not thread-safe: run in worker processes when the dispatcher has
    them, else one at a time per group in this process (see :class:`LambdaDispatcher`)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.name):
            raise ValueError(f"invalid Lambda function name: {self.name!r}")
        module, dot, attribute = self.handler.rpartition(".")
        if not dot or not module or not attribute:
            raise ValueError(f"handler must look like 'module.function', got {self.handler!r}")

    @property
    def module_name(self) -> str:
        """The unique name the handler module is loaded under (``sys.modules`` key)."""
        return MODULE_PREFIX + self.name.replace("-", "_")

    @property
    def module_path(self) -> Path:
        """The file Lambda would import for this handler string."""
        return Path(self.code_dir) / handler_module_file(self.handler)

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]

    def arn(self, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
        return f"arn:aws:lambda:{region}:{account_id}:function:{self.name}"


@dataclass
class LambdaContext:
    """The subset of the Lambda context object handlers use."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int
    deadline_monotonic: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FailedEvent:
    """An asynchronous invocation whose every run failed: what Lambda sends its on-failure destination
    (the request's payload, the function, the last error), in short."""

    function: str
    event: Any
    error_type: str
    attempts: int
    request_id: str


@dataclass(frozen=True)
class Invocation:
    """What Lambda's Invoke API returns: the payload and, when the handler failed, ``FunctionError``."""

    payload: Any
    function_error: Literal["Unhandled"] | None = None
    request_id: str = field(default="")

    @property
    def payload_bytes(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def function_name_from(name_or_arn: str) -> tuple[str, str | None]:
    """``(name, qualifier)`` from a function name, a function ARN or a partial ``name:qualifier``."""
    match = _ARN_RE.match(name_or_arn)
    if match:
        return match["name"], match["qualifier"]
    name, _, qualifier = name_or_arn.partition(":")
    return name, qualifier or None


def error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The error document the Lambda Python runtime returns for an unhandled exception."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename != __file__]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


class LambdaDispatcher:
    """A registry of :class:`LocalFunction` by name; loads the handlers and invokes them."""

    def __init__(self, functions: Iterable[LocalFunction] = ()) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._interceptors: list[Interceptor] = []
        self._group_locks: dict[str, threading.Lock] = {}
        self._running = 0
        self._idle = threading.Condition()
        self._workers: WorkerPool | None = None
        self._idle_instances: dict[str, list[Handler]] = {}
        self._instance_locks: dict[str, threading.Lock] = {}
        self._instances_loaded = 0
        self.event_retry_delays: tuple[float, ...] = EVENT_RETRY_DELAYS[:ASYNC_RETRY_ATTEMPTS]
        """Seconds before each retry of a failed asynchronous run; as many as Lambda retries."""
        self.failed_events: list[FailedEvent] = []
        """Asynchronous invocations that failed every run (the local failures queue)."""
        for function in functions:
            self.register(function)

    def register(self, function: LocalFunction) -> None:
        with self._lock:
            existing = self._functions.get(function.name)
            if existing is not None and existing != function:
                raise LocalFunctionError(f"function {function.name!r} is already registered differently")
            for other in self._functions.values():
                if other.name != function.name and other.module_name == function.module_name:
                    clash = f"{function.name!r} and {other.name!r} would share a module name"
                    raise LocalFunctionError(clash)
            self._functions[function.name] = function

    def intercept(self, interceptor: Interceptor) -> None:
        """Answer some invocations without running the handler.

        ``interceptor(function, event)`` returns the result to give instead, or ``None`` to let the
        handler run. The local runtime uses it to resume a signing chain after a restart without
        mailing a participant a second link (:mod:`tachiai.local.runtime`).
        """
        with self._lock:
            self._interceptors.append(interceptor)

    def start_workers(self, count: int, environment: Mapping[str, str]) -> WorkerPool | None:
        """Run the functions of every exclusive group in ``count`` worker processes from now on.

        ``environment`` is the workers' whole environment, set when each starts (the runtime's, once
        complete). The workers start at once and import their handlers in the background. ``count`` 0
        starts none: those functions keep running here, one at a time per group.

        :raises LocalFunctionError: workers are running already.
        """
        if count <= 0:
            return None
        from tachiai.local.workers import WorkerPool

        isolated = [function for function in self._functions.values() if function.exclusive_group]
        if not isolated:
            return None
        with self._lock:
            if self._workers is not None:
                raise LocalFunctionError("the worker processes are running already")
            self._workers = WorkerPool(isolated, count, environment).start()
            return self._workers

    def stop_workers(self, grace: float = 5.0) -> None:
        """Stop the worker processes (a busy one gets ``grace`` seconds to finish, then is killed)."""
        with self._lock:
            pool, self._workers = self._workers, None
        if pool is not None:
            pool.close(grace)

    @property
    def workers(self) -> WorkerPool | None:
        """The worker processes of the exclusive groups' functions, if started."""
        return self._workers

    @property
    def running(self) -> int:
        """How many invocations are running now."""
        return self._running

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no invocation runs; whether that happened within ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    @property
    def functions(self) -> list[LocalFunction]:
        return list(self._functions.values())

    def get(self, name_or_arn: str) -> LocalFunction | None:
        """The registered function for a name or ARN (qualifiers are ignored), or ``None``."""
        return self._functions.get(function_name_from(name_or_arn)[0])

    def registered(self, name_or_arn: str) -> LocalFunction:
        """The registered function for a name or ARN.

        :raises LocalFunctionError: no such function.
        """
        function = self.get(name_or_arn)
        if function is None:
            raise LocalFunctionError(f"no local function registered for {name_or_arn!r}")
        return function

    def __contains__(self, name_or_arn: object) -> bool:
        return isinstance(name_or_arn, str) and self.get(name_or_arn) is not None

    def handler(self, name_or_arn: str) -> Handler:
        """The handler callable, importing its module on first use (cached afterwards)."""
        function = self.registered(name_or_arn)
        cached = self._handlers.get(function.name)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._handlers.get(function.name)
            if cached is None:
                cached = self._load(function)
                self._handlers[function.name] = cached
            return cached

    def module(self, name_or_arn: str) -> ModuleType:
        """The function's own (first) instance of its handler module, loaded on first use."""
        function = self.registered(name_or_arn)
        self.handler(function.name)
        return sys.modules[function.module_name]

    def invoke(
        self,
        name_or_arn: str,
        event: Any,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> Invocation:
        """Call the handler with ``event`` and a context; never raises for a handler's own error."""
        function = self.registered(name_or_arn)
        request_id = str(uuid.uuid4())
        invoked_arn = name_or_arn if name_or_arn.startswith("arn:") else function.arn(region, account_id)
        context = LambdaContext(
            function_name=function.name,
            invoked_function_arn=invoked_arn,
            aws_request_id=request_id,
            memory_limit_in_mb=function.memory_mb,
            deadline_monotonic=time.monotonic() + function.timeout_seconds,
            log_group_name=f"/aws/lambda/{function.name}",
        )
        with self._idle:
            self._running += 1
        try:
            for interceptor in list(self._interceptors):
                answer = interceptor(function, event)
                if answer is not None:
                    return Invocation(answer, None, request_id)
            if function.exclusive_group is None:
                return self.run_here(function, event, context)
            workers = self._workers
            if workers is not None and workers.runs(function.name):
                return workers.invoke(context, event)
            with self._lock:
                group = self._group_locks.setdefault(function.exclusive_group, threading.Lock())
            with group:
                return self.run_here(function, event, context)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def invoke_event(
        self,
        name_or_arn: str,
        event: Any,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> str:
        """Queue ``event`` for the function and return at once (Lambda's ``Event`` invocation): it runs
        on a thread of its own, is retried when it fails, and lands in :attr:`failed_events` when every
        run failed. The request id of the first run.

        :raises LocalFunctionError: no such function (Lambda refuses the Invoke call then too).
        """
        function = self.registered(name_or_arn)
        request_id = str(uuid.uuid4())
        with self._idle:
            self._running += 1  # from now: wait_idle waits for the queued run and its retries

        def runs() -> None:
            try:
                delays = [0.0, *self.event_retry_delays]
                for attempt, delay in enumerate(delays, start=1):
                    time.sleep(delay)
                    invocation = self.invoke(name_or_arn, event, region=region, account_id=account_id)
                    if invocation.function_error is None:
                        return
                    payload = invocation.payload if isinstance(invocation.payload, dict) else {}
                    error_type = str(payload.get("errorType", "Unhandled"))
                    logger.warning(
                        "asynchronous run failed",
                        extra={"function": function.name, "attempt": attempt, "error": error_type},
                    )
                failed = FailedEvent(function.name, event, error_type, len(delays), request_id)
                with self._lock:
                    self.failed_events.append(failed)
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        threading.Thread(target=runs, name=f"event-{function.name}-{request_id[:8]}", daemon=True).start()
        return request_id

    def run_here(self, function: LocalFunction, event: Any, context: LambdaContext) -> Invocation:
        """Run the handler in this process and thread, now (no interceptor, no group lock, no worker),
        on an instance of its module no other invocation is using; Lambda's answer for it. A worker
        process runs its invocations through this."""
        request_id = context.aws_request_id
        try:
            handler = self._check_out(function)
        except HandlerNotFound as exc:
            return self._runtime_error("Runtime.HandlerNotFound", str(exc), request_id)
        except Exception as exc:  # noqa: BLE001 - Lambda reports a failed import as an invocation error
            message = f"Unable to import module '{function.handler.rpartition('.')[0]}': {exc}"
            return self._runtime_error("Runtime.ImportModuleError", message, request_id)
        try:
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - every handler error becomes Lambda's error payload
            return Invocation(error_payload(exc, request_id), "Unhandled", request_id)
        finally:
            with self._lock:
                self._idle_instances.setdefault(function.name, []).append(handler)
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            message = f"Unable to marshal response: {exc}"
            return self._runtime_error("Runtime.MarshalError", message, request_id)
        return Invocation(result, None, request_id)

    def _check_out(self, function: LocalFunction) -> Handler:
        """A handler no other invocation is running: an idle instance of the function's module, or a
        new one (the first is the cached :meth:`handler`).

        In Lambda an execution environment runs one invocation at a time, so a handler module may keep
        per-request state in its globals — the API functions' resolver holds the current event, and
        two requests sharing it answered each other (one sender's create ran with another's body).
        Here every concurrent invocation gets its own instance of the module, as it would its own
        environment; instances are reused, as warm environments are.

        :raises HandlerNotFound, LocalFunctionError, Exception: the module cannot be loaded.
        """
        with self._lock:
            idle = self._idle_instances.get(function.name)
            if idle:
                return idle.pop()
            lock = self._instance_locks.setdefault(function.name, threading.Lock())
        with lock:  # one load at a time per function: the first instance is loaded only once
            if function.name not in self._handlers:
                return self.handler(function.name)
            with self._lock:
                self._instances_loaded += 1
                module_name = f"{function.module_name}__{self._instances_loaded}"
            return self._load(function, module_name)

    @staticmethod
    def _runtime_error(error_type: str, message: str, request_id: str) -> Invocation:
        payload = {"errorMessage": message, "errorType": error_type, "requestId": request_id}
        return Invocation(payload, "Unhandled", request_id)

    @staticmethod
    def _load(function: LocalFunction, module_name: str | None = None) -> Handler:
        """Load a new instance of the handler module (under ``module_name``, default the function's).

        :raises HandlerNotFound, LocalFunctionError, Exception: whatever the module's import raises.
        """
        module_name = module_name or function.module_name
        path = function.module_path
        if not path.is_file():
            raise LocalFunctionError(f"{function.name}: handler module {path} does not exist")
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise LocalFunctionError(f"{function.name}: cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, as `import` does (dataclasses and pickling look modules up here).
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        handler = getattr(module, function.attribute, None)
        if not callable(handler):
            module_name = function.handler.rpartition(".")[0]
            raise HandlerNotFound(f"Handler '{function.attribute}' missing on module '{module_name}'")
        return handler  # type: ignore[no-any-return]
