"""The local AWS runtime's core: a moto server on loopback that executes Step Functions state machines
and runs Lambda functions in this process.

:class:`LocalAws` starts moto's server (the application ``ThreadedMotoServer`` runs, behind
:class:`~tachiai.local.guard.MotoGuard`: loopback ``Host`` only, no foreign ``Origin``, no CORS,
SDK-signed requests only, one lock per service because moto's backends are not thread-safe) on
``127.0.0.1`` (a free port; loopback only), points every boto3
client of the process at it (``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``/``AWS_REGION``, dummy
credentials and ``MOTO_PORT`` in ``os.environ``, all restored by :meth:`LocalAws.stop`) and turns on
moto's Step Functions interpreter (the ASL engine vendored from LocalStack). The state machine is the
same ASL file CDK deploys; :func:`substitute_definition` fills its ``${Name}`` placeholders the way
``DefinitionSubstitutions`` does.

moto configuration (for the life of the server, restored afterwards)
    ``{"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}``. moto reads it
    from the module-level dict ``moto.core.config.default_user_config``: ``mock_aws(config=...)`` patches
    that dict, and a separate ``moto_server`` process takes it from ``POST /moto-api/config``. Our server
    is a thread of *this* process, so the dict is patched directly (``mock.patch.dict``).
    ``execute_state_machine`` makes the Step Functions API use ``stepfunctions_parser_backends`` (the
    interpreter) instead of the stub that only records executions. ``use_docker: False`` selects
    ``LambdaSimpleBackend``, and with patch 1 below no code path can reach Docker.

moto patches (installed by :meth:`LocalAws.start`, removed by :meth:`LocalAws.stop`)

1. ``moto.awslambda.models.LambdaFunction.invoke`` — the one method through which moto runs a
   function's *code*: ``LambdaBackend.invoke`` (the Invoke API), ``InvokeAsync`` and every event source
   (DynamoDB streams, SQS, SNS, Kinesis, S3 notifications, log subscriptions) end there, and it is what
   calls ``_invoke_lambda``, which starts a Docker container. Replaced by: functions registered in the
   :class:`~tachiai.local.lambda_dispatch.LambdaDispatcher` run from the same handler string as in
   the cloud (in process, or in the dispatcher's worker processes), and the answer is Lambda's — the
   JSON result, or the runtime's error payload (``errorType`` = exception class name) with
   ``X-Amz-Function-Error: Unhandled``. ``Event`` invocations answer 202 at once and run on a thread
   of their own, retried, as in Lambda (:meth:`LambdaDispatcher.invoke_event`). An unregistered
   function gets an
   ``Unhandled`` error payload (``Runtime.LocalFunctionNotRegistered``) instead of a Docker attempt.
2. ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke`` — with ``use_docker: False`` the Invoke
   API, and so Step Functions' ``arn:aws:states:::lambda:invoke``, lands here, and moto's version
   never looks at the function: it echoes the request payload (or a canned answer queued through
   ``/moto-api/static/lambda-simple/response``), even for a function that does not exist. For a
   registered function the patch delegates to ``LambdaBackend.invoke``: look the function up by name
   or ARN and qualifier, then patch 1. An unregistered function that exists keeps moto's behaviour
   (the canned-answer API still works for it); one that does not exist now raises
   ``ResourceNotFoundException``, as in AWS, instead of answering.
3. Known moto gaps, patched (``fix_known_gaps=True``, the default). Each has a test that turns the
   patch off and shows the gap, so a moto upgrade that fixes one makes that test fail and the patch
   can go:

   a. ``StepFunctionResponse.send_task_failure`` reads ``taskToken`` and ``error`` but drops
      ``cause``: a ``Catch`` sees ``"Cause": ""`` where AWS gives the caller's cause (the reason a
      signer rejected). Replaced by a version that passes ``cause`` to the interpreter backend,
      which already accepts it.
   b. ``SendTaskSuccess``/``SendTaskFailure`` with the token of a task that is no longer waiting
      (already answered, timed out) are accepted and dropped; AWS answers ``TaskTimedOut``
      ("Provided task does not exist anymore"), which is what a double-clicked "agree" or a link used
      after expiry meets in the cloud. ``send_task_success``/``send_task_failure`` check the task's
      callback endpoint first (:func:`_refuse_finished_task`).
   c. ``SendTaskSuccess`` with an ``output`` that is not JSON is accepted, and the execution later
      dies with ``States.Runtime``; AWS refuses the call with ``InvalidOutput``. Checked first.
   d. ``StepFunctionsParserBackend.start_execution`` skips the name check the stub backend does
      (AWS: 1 to 80 characters, no whitespace, brackets, wildcards or special characters such as
      ``#%$:/``) and, given no name, names the execution ``None``, so every unnamed execution shares
      one ARN. The patch runs
      the stub's ``_validate_name`` (``InvalidName``) and, like AWS, generates a UUID name.
   e. ``DynamoDBBackend.transact_write_items`` backs up every table a transaction touches with
      ``copy.deepcopy(table)`` before it starts, to roll back on failure: each transaction costs time
      in proportion to the *whole table*, so the local runtime slowed down with every envelope it held
      (a fifth of its process's time with ten envelopes under way, more with each one). The patch backs
      up only the items the transaction names and puts them back when it fails; the guard runs one
      DynamoDB request at a time, so nothing else changes the table meanwhile. A table with a stream
      keeps moto's whole-table backup (its stream records would need rolling back too).
4. Cost (always): moto's interpreter parses the state machine's ASL with its ANTLR parser again for
   every execution (``ExecutionWorker._get_evaluation_entrypoint``), the costliest step of starting one
   and the same work each time. The patch keeps the parse tree per definition text and builds each
   execution's evaluation components from it afresh (moto's ``Preprocessor``), so executions share no
   state: only the read-only syntax tree is reused.
5. Cosmetic (``quiet=True``): no werkzeug access-log line per request, and the interpreter's ERROR
   record for every *handled* ASL failure (a rejection, a timeout routed by ``Catch``) is filtered out —
   failures stay visible in the execution history and in ``DescribeExecution``.

Known moto gap, *not* patched (the portable workaround is the design anyway): ``StopExecution`` on an
execution whose task waits for a token returns 200 but changes nothing: the execution stays
``RUNNING``, the task keeps waiting and still takes its token, and the execution then ends ``FAILED``
with ``States.Runtime`` instead of having been ``ABORTED``. Cancel with
``SendTaskFailure(error="Cancelled")`` on the current task token, which also lets the state machine run
``NotifyCancelled`` (``StopExecution`` would run nothing, in AWS too).

ASL portability: moto's interpreter resolves ``$$.Map.Item.Value``/``Index`` in *any* state of a Map
iteration; AWS documents them for the Map's ``ItemSelector``. Read them there and pass them on in the
iteration's input, which works in both.

Nothing starts at import time; moto is imported by :meth:`LocalAws.start`. ``LocalAws`` shares moto's
in-process backends with any ``moto.mock_aws`` active in the same process: it never resets them, and on
stop it removes only what it created (it stops its executions, waking the tasks that wait for a token,
and deletes its state machines, functions and role). A ``mock_aws`` *started* while a ``LocalAws``
runs resets every backend, the server's included — do not interleave them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self
from unittest import mock

from tachiai.local.guard import MotoGuard, ServiceLocks, is_loopback
from tachiai.local.lambda_dispatch import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    LambdaDispatcher,
    LocalFunction,
)

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

LOCAL_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
LAMBDA_ROLE_ARN: Final = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/tachiai-local-lambda"
STATES_ROLE_ARN: Final = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/tachiai-local-states"
LAMBDA_RUNTIME: Final = "python3.12"

MOTO_CONFIG: Final[dict[str, Any]] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

_PLACEHOLDER_RE: Final = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_TERMINAL: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


class LocalAwsError(RuntimeError):
    """The local runtime was misused (started twice, used while stopped, bad definition...)."""


def substitute_definition(definition: str, substitutions: Mapping[str, str | int | float | bool]) -> str:
    """Replace ``${Name}`` placeholders as CloudFormation does for ``DefinitionSubstitutions``.

    Values are inserted as text (a placeholder sits inside a JSON string for an ARN, or bare for a
    number). A placeholder left without a value is an error: ASL in JSONPath has no other use for
    ``${...}``, so it can only be a forgotten substitution.
    """

    def text(value: str | int | float | bool) -> str:
        return json.dumps(value) if isinstance(value, bool) else str(value)

    missing = sorted({m for m in _PLACEHOLDER_RE.findall(definition) if m not in substitutions})
    if missing:
        raise LocalAwsError(f"no substitution for placeholder(s): {', '.join(missing)}")
    return _PLACEHOLDER_RE.sub(lambda m: text(substitutions[m.group(1)]), definition)


def _placeholder_zip(function: LocalFunction) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "LOCAL.txt",
            f"tachiai local runtime: {function.name} runs in process from "
            f"{function.module_path} ({function.handler}).\n",
        )
    return buffer.getvalue()


def _header(headers: Any, name: str) -> str | None:
    """A request header, whatever mapping moto hands over (case-insensitive or plain dict)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name.lower():
                return str(candidate)
        return None
    return str(value)


class LocalAws:
    """moto server + Step Functions interpreter + in-process Lambda, as a context manager.

    ``with LocalAws(dispatcher) as aws:`` starts everything; ``aws.client("stepfunctions")`` (or any
    boto3 client created while it runs, thanks to ``AWS_ENDPOINT_URL``) talks to it.
    """

    _active_lock: Final = threading.Lock()
    _active: LocalAws | None = None

    def __init__(
        self,
        dispatcher: LambdaDispatcher | None = None,
        *,
        region: str = DEFAULT_REGION,
        host: str = "127.0.0.1",
        port: int = 0,
        environment: Mapping[str, str] | None = None,
        quiet: bool = True,
        fix_known_gaps: bool = True,
    ) -> None:
        self.dispatcher = dispatcher if dispatcher is not None else LambdaDispatcher()
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self._host = host
        self._requested_port = port
        self._environment = dict(environment or {})
        self._quiet = quiet
        self._fix_known_gaps = fix_known_gaps
        if not is_loopback(host):
            raise LocalAwsError(f"the local AWS stand-in listens on loopback only, not {host}")
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._port: int | None = None
        self.locks = ServiceLocks()
        """moto is not thread-safe: one lock per service (:class:`~tachiai.local.guard.MotoGuard`)."""
        self.guard: MotoGuard | None = None
        self._patches = contextlib.ExitStack()
        self._saved_env: dict[str, str | None] = {}
        self._created_functions: set[str] = set()
        self._created_state_machines: set[str] = set()
        self._created_roles: set[str] = set()
        self.startup_seconds: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise LocalAwsError("LocalAws is not running")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> Self:
        with LocalAws._active_lock:
            if LocalAws._active is not None:
                raise LocalAwsError("a LocalAws is already running in this process (moto's state is global)")
            LocalAws._active = self
        began = time.perf_counter()
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server

            self._install_moto_patches()
            # moto's own ThreadedMotoServer, with the guard in front of its application.
            self.guard = MotoGuard(DomainDispatcherApplication(create_backend_app), self.locks)
            server = make_server(
                self._host,
                self._requested_port,
                self.guard,
                threaded=True,
                request_handler=MotoRequestHandler,
            )
            self._server = server
            self._port = self.guard.port = int(server.server_port)
            self._server_thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
            self._server_thread.start()
            self._set_environment()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop executions and remove what this instance created, stop the server, undo every patch."""
        try:
            # Worker processes were started with this server's endpoint in their environment.
            self.dispatcher.stop_workers()
            if self._server is not None:
                self._cleanup_created()
                with contextlib.suppress(Exception):
                    self._server.shutdown()
                    self._server.server_close()
                if self._server_thread is not None:
                    self._server_thread.join(timeout=5)
        finally:
            self._server_thread = None
            self._server = None
            self._port = None
            self._restore_environment()
            self._patches.close()
            self._patches = contextlib.ExitStack()
            with LocalAws._active_lock:
                if LocalAws._active is self:
                    LocalAws._active = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clients and resources ---------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client bound to this server (independent of later ``os.environ`` changes)."""
        import boto3
        from botocore.config import Config

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}),
        )

    def sfn(self) -> SFNClient:
        client: SFNClient = self.client("stepfunctions")
        return client

    def create_functions(self, functions: Iterable[LocalFunction] | None = None) -> dict[str, str]:
        """Create the Lambda functions in moto (registering them with the dispatcher); name → ARN.

        moto only needs the function to exist (ARN, Invoke's lookup); the zip holds a note saying where
        the code really runs from.
        """
        to_create = list(functions) if functions is not None else self.dispatcher.functions
        self._ensure_lambda_role()
        client = self.client("lambda")
        arns: dict[str, str] = {}
        for function in to_create:
            self.dispatcher.register(function)
            response = client.create_function(
                FunctionName=function.name,
                Runtime=LAMBDA_RUNTIME,
                Role=LAMBDA_ROLE_ARN,
                Handler=function.handler,
                Code={"ZipFile": _placeholder_zip(function)},
                Timeout=function.timeout_seconds,
                MemorySize=function.memory_mb,
                Publish=False,
            )
            self._created_functions.add(function.name)
            arns[function.name] = str(response["FunctionArn"])
        return arns

    def _ensure_lambda_role(self) -> None:
        """moto's CreateFunction checks that the execution role exists in IAM, as AWS does."""
        iam = self.client("iam")
        role_name = LAMBDA_ROLE_ARN.rpartition("/")[2]
        try:
            iam.get_role(RoleName=role_name)
        except iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
            self._created_roles.add(role_name)

    def create_state_machine(
        self,
        name: str,
        definition_path: Path,
        substitutions: Mapping[str, str | int | float | bool] | None = None,
        *,
        role_arn: str = STATES_ROLE_ARN,
    ) -> str:
        """Create a STANDARD state machine from an ASL file with ``${Name}`` placeholders; its ARN."""
        definition = substitute_definition(Path(definition_path).read_text("utf-8"), substitutions or {})
        try:
            json.loads(definition)
        except json.JSONDecodeError as exc:
            raise LocalAwsError(f"{definition_path}: not JSON after substitution: {exc}") from exc
        response = self.sfn().create_state_machine(
            name=name, definition=definition, roleArn=role_arn, type="STANDARD"
        )
        arn = response["stateMachineArn"]
        self._created_state_machines.add(arn)
        return arn

    def wait_for_execution(self, execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll ``DescribeExecution`` until the execution has ended; its description."""
        client = self.sfn()
        deadline = time.monotonic() + timeout
        while True:
            description = dict(client.describe_execution(executionArn=execution_arn))
            if description["status"] in _TERMINAL:
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still {description['status']} after {timeout}s")
            time.sleep(0.02)

    # -- internals ---------------------------------------------------------------------------------

    def _set_environment(self) -> None:
        values = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # The Step Functions interpreter builds its Lambda client on http://localhost:$MOTO_PORT.
            "MOTO_PORT": str(self.port),
            **LOCAL_CREDENTIALS,
            **self._environment,
        }
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", *values):
            self._saved_env.setdefault(name, os.environ.get(name))
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(values)
        self._forget_cached_clients()

    def update_environment(self, values: Mapping[str, str]) -> None:
        """Set more environment variables for the functions (e.g. names of resources created after
        start); like the ones set at start, they are restored by :meth:`stop`."""
        for name in values:
            self._saved_env.setdefault(name, os.environ.get(name))
        os.environ.update(values)
        self._forget_cached_clients()

    def _restore_environment(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        self._forget_cached_clients()

    @staticmethod
    def _forget_cached_clients() -> None:
        from tachiai.adapters.aws import reset_clients

        reset_clients()

    def _install_moto_patches(self) -> None:
        from moto.awslambda.models import LambdaBackend, LambdaFunction
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.core.config import default_user_config
        from moto.core.exceptions import AWSError
        from moto.core.responses import EmptyResult
        from moto.dynamodb import models as dynamodb_models
        from moto.moto_server import werkzeug_app
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend
        from moto.stepfunctions.responses import StepFunctionResponse

        dispatcher = self.dispatcher
        locks = self.locks
        original_simple_invoke = LambdaSimpleBackend.invoke

        def function_invoke(fn: Any, body: str | None, request_headers: Any, response_headers: Any) -> bytes:
            invocation_type = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
            if fn.function_name not in dispatcher:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(
                    {
                        "errorType": "Runtime.LocalFunctionNotRegistered",
                        "errorMessage": f"{fn.function_name} has no in-process handler in the local runtime",
                    }
                ).encode("utf-8")
            if invocation_type == "DryRun":
                return b""
            event = json.loads(body) if body else {}
            if invocation_type == "Event":
                # Queued: the caller (an API request) must not wait for the run, as in Lambda.
                dispatcher.invoke_event(fn.function_arn, event, region=fn.region, account_id=fn.account_id)
                response_headers["x-amz-executed-version"] = str(fn.version)
                return b""
            # The function's own AWS calls come back to this server on other threads: while its code
            # runs, the Lambda service's lock is not ours to hold.
            with locks.released():
                invocation = dispatcher.invoke(
                    fn.function_arn, event, region=fn.region, account_id=fn.account_id
                )
            response_headers["x-amz-executed-version"] = str(fn.version)
            if invocation.function_error:
                response_headers["x-amz-function-error"] = invocation.function_error
            return invocation.payload_bytes

        def simple_backend_invoke(
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> str | bytes | None:
            args = (function_name, qualifier, body, headers, response_headers)
            if function_name in dispatcher:
                return LambdaBackend.invoke(backend, *args)
            backend.get_function(function_name, qualifier)  # ResourceNotFoundException, as in AWS
            return original_simple_invoke(backend, *args)

        original_start_execution = StepFunctionsParserBackend.start_execution

        def start_execution(
            backend: Any,
            state_machine_arn: str,
            name: str | None = None,
            execution_input: Any = None,
            trace_header: Any = None,
        ) -> Any:
            if name:
                backend._validate_name(name)  # the stub backend's check: characters, length <= 80
            name = name or str(uuid.uuid4())
            return original_start_execution(backend, state_machine_arn, name, execution_input, trace_header)

        original_send_task_success = StepFunctionResponse.send_task_success

        def send_task_success(response: Any) -> Any:
            output = response._get_param("output")
            try:
                json.loads(output)
            except (TypeError, ValueError) as exc:
                raise AWSError(f"Invalid Output: {exc}", exception_type="InvalidOutput") from exc
            _refuse_finished_task(response.stepfunction_backend, response._get_param("taskToken"))
            return original_send_task_success(response)

        def send_task_failure(response: Any) -> Any:
            token = response._get_param("taskToken")
            _refuse_finished_task(response.stepfunction_backend, token)
            response.stepfunction_backend.send_task_failure(
                token, error=response._get_param("error"), cause=response._get_param("cause")
            )
            return EmptyResult()

        original_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items

        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            saved = _items_named(backend, transact_items)
            if saved is None:
                return original_transact_write_items(backend, transact_items)
            _TABLE_BACKUP.skip = True
            try:
                return original_transact_write_items(backend, transact_items)
            except BaseException:
                _put_back(saved)
                raise
            finally:
                _TABLE_BACKUP.skip = False

        parse_trees: dict[str, Any] = {}

        def evaluation_entrypoint(worker: Any) -> Any:
            definition: str = worker._evaluation_details.state_machine_details.definition
            tree = parse_trees.get(definition)
            if tree is None:
                tree = AmazonStateLanguageParser.parse(definition)[1]
                parse_trees[definition] = tree  # a race parses twice, harmlessly
            return Preprocessor().visit(tree)

        patches = self._patches
        patches.enter_context(
            mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", evaluation_entrypoint)
        )
        # moto answers every origin (Access-Control-Allow-Origin: *); the guard strips it as well.
        patches.enter_context(mock.patch.object(werkzeug_app, "DISABLE_GLOBAL_CORS", True))
        patches.enter_context(
            mock.patch.dict(default_user_config, {key: dict(value) for key, value in MOTO_CONFIG.items()})
        )
        patches.enter_context(mock.patch.object(LambdaFunction, "invoke", function_invoke))
        patches.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", simple_backend_invoke))
        if self._fix_known_gaps:
            patches.enter_context(
                mock.patch.object(StepFunctionResponse, "send_task_failure", send_task_failure)
            )
            patches.enter_context(
                mock.patch.object(StepFunctionResponse, "send_task_success", send_task_success)
            )
            patches.enter_context(
                mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution)
            )
            # moto.dynamodb.models calls copy.deepcopy(table) for its backup: it gets the table itself
            # back while our transact_write_items has saved the named items instead.
            patches.enter_context(mock.patch.object(dynamodb_models, "copy", _CopyUnlessTableBackup()))
            patches.enter_context(
                mock.patch.object(
                    dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items
                )
            )
        if self._quiet:
            from moto.moto_server.werkzeug_app import MotoRequestHandler

            # werkzeug's access log prints one line per API call.
            patches.enter_context(mock.patch.object(MotoRequestHandler, "log_request", _no_log))
            # The interpreter logs every *handled* task failure (a rejection, a timeout caught by
            # Catch) at ERROR with the whole state's repr; the failures stay in the execution history.
            interpreter_log = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
            log_filter = _HandledFailureFilter()
            interpreter_log.addFilter(log_filter)
            patches.callback(interpreter_log.removeFilter, log_filter)

    def _cleanup_created(self) -> None:
        """Stop this instance's executions (waiting tasks included) and delete its resources."""
        from moto.awslambda.utils import get_backend as lambda_backend
        from moto.iam.models import iam_backends
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        sfn_backend = stepfunctions_parser_backends[self.account_id][self.region]
        for arn in sorted(self._created_state_machines):
            with contextlib.suppress(Exception):
                machine = sfn_backend.describe_state_machine(arn)
                for execution in list(machine.executions):
                    _abort_execution(execution)
                sfn_backend.delete_state_machine(arn)
        self._created_state_machines.clear()
        _join_interpreter_threads(timeout=2.0)
        functions = lambda_backend(self.account_id, self.region)
        for name in sorted(self._created_functions):
            with contextlib.suppress(Exception):
                functions.delete_function(name, None)
        self._created_functions.clear()
        iam = iam_backends[self.account_id]["aws"]
        for role_name in sorted(self._created_roles):
            with contextlib.suppress(Exception):
                iam.delete_role(role_name)
        self._created_roles.clear()


def _no_log(*args: Any, **kwargs: Any) -> None:
    return None


class _HandledFailureFilter(logging.Filter):
    """Drop the interpreter's ``Exception=FailureEventException ...`` records (ASL-level failures)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        first = args[0] if isinstance(args, tuple) and args else ""
        return not (isinstance(first, str) and first.startswith("Exception=FailureEventException"))


class _TableBackupSwitch(threading.local):
    skip = False
    """True while a transaction's named items are saved: moto's whole-table copy is not needed."""


_TABLE_BACKUP: Final = _TableBackupSwitch()


class _CopyUnlessTableBackup:
    """Stands in for the :mod:`copy` module inside ``moto.dynamodb.models`` (patch 3e)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if _TABLE_BACKUP.skip and isinstance(value, Table):
            return value  # moto's "rollback" then puts the same table back: a no-op; _put_back restores
        return copy.deepcopy(value, memo)


_SavedItem = tuple[Any, Any, Any, Any]
"""(table, hash key, range key or None, a deep copy of the item before the transaction or None)."""


def _items_named(backend: Any, transact_items: list[dict[str, Any]]) -> list[_SavedItem] | None:
    """A copy of every item a TransactWriteItems request names, as it is now; ``None`` when the
    transaction touches a table with a stream (moto's own whole-table backup then applies)."""
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: list[_SavedItem] = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # moto refuses it before changing anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        if table.stream_shard is not None:
            return None
        attributes = op.get("Item" if op_type == "Put" else "Key") or {}
        try:
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_key, range_key)
        except (LookupError, TypeError, ValueError, AttributeError, MockValidationException):
            continue  # a malformed key: moto refuses the request before it changes anything
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _put_back(saved: list[_SavedItem]) -> None:
    """Restore the items :func:`_items_named` saved (a failed transaction leaves no trace)."""
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item


def _refuse_finished_task(backend: Any, token: str | None) -> None:
    """Raise ``TaskTimedOut`` as AWS does when a token's task is no longer waiting for it.

    The task's callback endpoint is set (``_notify_event``) once it has been answered, has timed out
    or has been interrupted; moto's vendored interpreter never reports that back to the API, so it
    accepts a second answer, or a late one, and drops it. An unknown token is left to moto
    (``InvalidToken``).
    """
    from moto.core.exceptions import AWSError

    for execution in backend._get_executions():
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        endpoint = env.callback_pool_manager.get(token) if env is not None and token else None
        if endpoint is None:
            continue
        answered = getattr(endpoint, "_notify_event", None)
        if execution.status != "RUNNING" or (answered is not None and answered.is_set()):
            raise AWSError(
                "Task Timed Out: 'Provided task does not exist anymore'", exception_type="TaskTimedOut"
            )
        return


def _abort_execution(execution: Any) -> None:
    """Stop an interpreter execution and answer every task waiting for a token, so its threads end.

    The answer is a failure (``Aborted``): the interpreter unwinds through its ordinary error path, and
    as the execution is already stopped no later state runs (no ``Catch`` target, no Lambda call).
    """
    import datetime

    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeFailure

    worker = getattr(execution, "exec_worker", None)
    env = getattr(worker, "env", None)
    if env is None or not env.is_running():
        return
    env.set_stop(stop_date=datetime.datetime.now(datetime.UTC), cause="local runtime stopped", error=None)
    pool = getattr(env.callback_pool_manager, "_pool", {})
    for token, endpoint in list(pool.items()):
        endpoint.notify(CallbackOutcomeFailure(token, error="Aborted", cause="local runtime stopped"))


def _join_interpreter_threads(timeout: float) -> None:
    """Give the interpreter's worker threads (all daemons) a moment to unwind after an abort."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    deadline = time.monotonic() + timeout
    for thread in list(TMP_THREADS):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if thread.is_alive() and thread is not threading.current_thread():
            thread.join(remaining)


@contextlib.contextmanager
def local_aws(
    functions: Iterable[LocalFunction] = (),
    *,
    region: str = DEFAULT_REGION,
    environment: Mapping[str, str] | None = None,
) -> Iterator[LocalAws]:
    """``LocalAws`` with ``functions`` registered and created in moto."""
    with LocalAws(LambdaDispatcher(functions), region=region, environment=environment) as aws:
        aws.create_functions()
        yield aws
