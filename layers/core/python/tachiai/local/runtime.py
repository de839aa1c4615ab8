"""``tachiai local``: the whole service on one machine, with no AWS account.

:class:`LocalRuntime` starts, in this process:

* :class:`~tachiai.local.aws.LocalAws` — moto's server on loopback, with the Step Functions interpreter
  and the Lambda functions of :data:`tachiai.names.FUNCTIONS` dispatched to the same handler files
  and strings as in the cloud — in this process, or, for the PDF functions, in worker processes started
  once the environment is complete (:mod:`tachiai.local.workers`; ``workers``);
* the resources, created by API calls from the same definitions CDK uses: the DynamoDB table
  (:data:`~tachiai.adapters.dynamodb.TABLE_SCHEMA`), the bucket, an asymmetric KMS key, the seal
  certificate chain and trust roots in SSM, a verified SES identity, the state machine from
  ``infra/statemachine/signing_chain.asl.json``;
* the test PKI (:class:`~tachiai.local.pki.LocalPki`: CA, OCSP, CRL, TSA) on loopback, its seal
  certificate issued over the KMS key's public key;
* an HTTP server: the API Gateway adapter over the route table, plus the outbox at ``/_local/outbox``
  and ``POST /_local/alerts`` (run the deadline alerts now);
* with ``schedule_alerts``, the daily schedule of the deadline alerts and the hourly one of the
  automatic reminders (:mod:`tachiai.local.schedule`); ``POST /_local/reminders`` runs them now.

The environment the functions read (``TACHIAI_*``) is set once, before the first request.

Everything listens on loopback only, behind :mod:`tachiai.local.guard` (no foreign ``Host`` or
``Origin``; moto only for SDK-signed requests, one lock per service). With ``persist`` (the default)
the data is kept in ``state_dir`` (:mod:`tachiai.local.persistence`): a restart on the same state
directory finds every envelope, document, audit entry and mail, and the signing chains of envelopes
under way start again where they were (:mod:`tachiai.local.resume`). The ports the PKI's URLs and
the mailed links carry are kept too (the API's when ``port`` is 0, the PKI's always).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA
from tachiai.adapters.kms import kms_public_key
from tachiai.local import persistence
from tachiai.local.api_gateway import ApiGatewayAdapter
from tachiai.local.aws import LocalAws, LocalAwsError
from tachiai.local.guard import LoopbackGuard, is_loopback, loopback_origins
from tachiai.local.http_server import LateBoundApp, serve_in_thread, stop_server
from tachiai.local.lambda_dispatch import LambdaDispatcher, LocalFunction
from tachiai.local.local_auth import LocalTokens, authorize_header, load_or_create_secret
from tachiai.local.login_server import CLI_CLIENT_ID, LOGIN_PATHS, LocalLogin, local_clients
from tachiai.local.outbox import Outbox, outbox_app
from tachiai.local.pki import LocalPki
from tachiai.local.resume import ChainResumer, resume_plan
from tachiai.local.schedule import (
    ALERTS_PATH,
    REMINDERS_PATH,
    DailySchedule,
    IntervalSchedule,
    alerts_app,
    cron_time,
    reminders_app,
)
from tachiai.local.user_store import LocalUserStore, generate_password

REPO_ROOT = Path(__file__).resolve().parents[5]
"""The repository (``functions/``, ``infra/``): tachiai's local runtime runs from a checkout."""

TABLE = "tachiai-envelopes"
BUCKET = "tachiai-documents"
MAIL_DOMAIN = "sign.tachiai.example"
MAIL_FROM = f"noreply@{MAIL_DOMAIN}"
INTEGRATION_EMAIL = f"integrations@{MAIL_DOMAIN}"
"""Where the notices of envelopes sent by a local API integration go (the outbox shows them)."""
CHAIN_PARAMETER = "/tachiai/seal/certificate-chain"
ROOTS_PARAMETER = "/tachiai/seal/trust-roots"
STATE_MACHINE = "tachiai-signing-chain"
PDF_FUNCTIONS = frozenset({"seal", "certificate", "ai_extract"})
"""Functions whose PDF libraries are not thread-safe: they run in worker processes
(:mod:`tachiai.local.workers`), or one at a time in this one with ``workers=0``."""
PORTS_FILE = "ports.json"
"""The API's and the PKI's ports of the last run (mailed links and certificates carry them)."""
QUIET_SECONDS = 60.0
"""How long :meth:`LocalRuntime.stop` waits for running functions to finish before the last snapshot."""

logger = logging.getLogger(__name__)


def function_name(name: names.FunctionName) -> str:
    return f"tachiai-{name.replace('_', '-')}"


def local_functions(root: Path = REPO_ROOT) -> list[LocalFunction]:
    """The functions of :data:`tachiai.names.FUNCTIONS` whose code exists in this checkout."""
    functions = [
        LocalFunction(
            function_name(spec.name),
            root / spec.code_dir,
            spec.handler,
            timeout_seconds=900,
            exclusive_group="pdf" if spec.name in PDF_FUNCTIONS else None,
        )
        for spec in names.FUNCTIONS.values()
    ]
    return [function for function in functions if function.module_path.is_file()]


@dataclass
class LocalRuntime:
    """The running local service. Use as a context manager, or :meth:`start` / :meth:`stop`."""

    state_dir: Path
    """Keeps the test PKI's keys (``pki/root.pem`` is the root to trust), the token secret, the seal
    key and, with ``persist``, the data (``data/``)."""
    host: str = "127.0.0.1"
    """Loopback only: the local runtime is not a server for a network."""
    port: int = 0
    """HTTP port of the API (0: the port of the last run on this state directory, else any free one)."""
    persist: bool = True
    """Keep the data in ``state_dir`` across restarts (:mod:`tachiai.local.persistence`)."""
    snapshot_delay: float = 2.0
    """Seconds between a change and the snapshot that keeps it."""
    schedule_alerts: bool = False
    """Run the deadline alerts daily, at the time the EventBridge rule does (``tachiai local``: on)."""
    workers: int | None = None
    """Worker processes for the PDF functions (``None``: ``$TACHIAI_LOCAL_WORKERS``, else one per CPU,
    at most 4; ``0``: they run in this process, one at a time). See :mod:`tachiai.local.workers`."""
    aws: LocalAws | None = field(default=None, init=False)
    pki: LocalPki | None = field(default=None, init=False)
    tokens: LocalTokens | None = field(default=None, init=False)
    login_redirect_uris: tuple[str, ...] = (names.CLI_CALLBACK_URL,)
    """The redirect URIs of the local CLI client (``tachiai login``'s loopback listener)."""
    users: LocalUserStore | None = field(default=None, init=False)
    """The local user pool (``users.json``): the sign-in's accounts and the users API's directory."""
    login: LocalLogin | None = field(default=None, init=False)
    """The local sign-in (:mod:`tachiai.local.login_server`)."""
    outbox: Outbox = field(default_factory=Outbox, init=False)
    state_machine_arn: str = field(default="", init=False)
    startup_seconds: float = field(default=0.0, init=False)
    restored: bool = field(default=False, init=False)
    """Whether this run started from the data of an earlier one."""
    resumed: list[str] = field(default_factory=list, init=False)
    """Envelopes whose signing chain was started again at start-up."""
    _snapshots: persistence.Snapshotter | None = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)
    _server: Any = field(default=None, init=False, repr=False)
    _app_slot: LateBoundApp | None = field(default=None, init=False, repr=False)
    _schedule: DailySchedule | None = field(default=None, init=False, repr=False)
    _reminders: IntervalSchedule | None = field(default=None, init=False, repr=False)

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        began = time.perf_counter()
        if not is_loopback(self.host):
            raise LocalAwsError(f"tachiai local listens on loopback only, not {self.host}")
        self.state_dir = self.state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            snapshot = persistence.load(self.state_dir) if self.persist else None
            self.aws = LocalAws(LambdaDispatcher(local_functions()), host=self.host).start()
            self.outbox = Outbox(self.aws.account_id, self.aws.region)
            self.tokens = LocalTokens(load_or_create_secret(self.state_dir / "token-secret"))
            self.users = LocalUserStore(self.state_dir / "users.json")
            self._serve_http()
            # After the port is known: the console's callback and sign-out pages are on this server.
            self.login = LocalLogin(
                self.users,
                self.tokens,
                self.state_dir / "sessions.json",
                local_clients(
                    self.state_dir,
                    (*self.login_redirect_uris, self.url + names.CONSOLE_CALLBACK_PATH),
                    logout_uris=(self.url + names.CONSOLE_SIGNED_OUT_PATH,),
                ),
            )
            environment = self._create_resources()
            if snapshot is not None:
                persistence.restore(self.aws, self.state_dir, snapshot, TABLE, BUCKET)
                self.restored = True
            self._set_environment(environment)
            # After the environment is complete: a worker keeps the one it started with.
            self.aws.dispatcher.start_workers(self._worker_count(), dict(os.environ))
            self._ready = True
            if self.persist:
                self._snapshots = persistence.Snapshotter(self._write_snapshot, self.snapshot_delay).start()
                assert self.aws.guard is not None
                self.aws.guard.on_change = self._snapshots.changed
            if snapshot is not None:
                self._resume_chains(snapshot)
            if self.schedule_alerts:
                self._schedule = DailySchedule(cron_time(names.ALERTS_SCHEDULE_CRON), self.run_alerts).start()
                every = timedelta(minutes=names.REMINDERS_SCHEDULE_MINUTES)
                self._reminders = IntervalSchedule(every, self.run_reminders).start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        if self._schedule is not None:
            self._schedule.stop()
            self._schedule = None
        if self._reminders is not None:
            self._reminders.stop()
            self._reminders = None
        stop_server(self._server)
        self._server = None
        if self._snapshots is not None:
            self._snapshots.stop()
            self._snapshots = None
            # Only a runtime that got its data back may write it (a failed start must not overwrite it).
            if self._ready:
                self._wait_until_quiet()
                self._write_snapshot()
        self._ready = False
        if self.aws is not None:
            self.aws.dispatcher.stop_workers()
            self._delete_resources()
            self.aws.stop()
            self.aws = None
        from tachiai.services.context import reset_services

        reset_services()
        if self.pki is not None:
            self.pki.stop()
            self.pki = None

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what a user of the runtime needs ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The API's base URL (recipient links and sender routes)."""
        if self._server is None:
            raise RuntimeError("the local runtime is not running")
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def root_pem(self) -> Path:
        """The test root certificate: trust it to see the seals as trusted."""
        return self.state_dir / "pki" / "root.pem"

    def token(
        self, email: str = "sender@tachiai.example", name: str = "送信者", sub: str | None = None
    ) -> str:
        """A sender token as the Cognito authorizer would accept it (``Authorization: Bearer ...``)."""
        assert self.tokens is not None
        return self.tokens.issue(sub=sub or f"local-{email}", email=email, name=name, groups=("member",))

    def integration_token(self, client_id: str = "local-integration") -> str:
        """An API integration's token (client credentials), as the token endpoint would issue it."""
        assert self.tokens is not None
        return self.tokens.issue_integration(client_id)

    def ensure_first_admin(self, email: str, name: str) -> str | None:
        """Create the first administrator when the user store is empty; their password (printed once by
        ``tachiai local``), or ``None`` when there are users already."""
        assert self.users is not None
        if not self.users.is_empty():
            return None
        password = generate_password()
        self.users.create(email, name, "admin", password)
        return password

    @property
    def console_url(self) -> str:
        """The sender console (sign in with a user of the local user store)."""
        return self.url + "/app"

    def console_admin(self, email: str, name: str) -> str:
        """An administrator ``email`` who can sign in to the console now: created if missing, given a
        fresh password either way (returned; the demo prints it once)."""
        assert self.users is not None
        password = generate_password()
        known = next((u for u in self.users.users() if u.email.lower() == email.lower()), None)
        if known is None:
            self.users.create(email, name, "admin", password)
        else:
            self.users.change_password(known.username, password)
            if not known.enabled:
                self.users.set_enabled(known.username, True)
        return password

    def run_alerts(self, today: date | None = None) -> dict[str, Any]:
        """What the daily EventBridge rule does: invoke ``ai_extract`` with the alerts event.

        ``today``: the day to alert for (default: today in the tenant's time zone).

        :raises RuntimeError: the function failed (its error type and message).
        """
        event: dict[str, Any] = dict(names.ALERTS_EVENT)
        if today is not None:
            event["today"] = today.isoformat()
        return self._invoke("ai_extract", event)

    def run_reminders(self, now: datetime | None = None) -> dict[str, Any]:
        """What the hourly EventBridge rule does: invoke ``send`` with the reminders event.

        ``now``: send what is due at that moment (default: now).

        :raises RuntimeError: the function failed (its error type and message).
        """
        event: dict[str, Any] = dict(names.REMINDERS_EVENT)
        if now is not None:
            event["now"] = now.isoformat()
        return self._invoke("send", event)

    def app(self) -> ApiGatewayAdapter:
        """The WSGI application (for in-process clients such as ``werkzeug.test.Client``)."""
        assert self.tokens is not None and self.login is not None
        return ApiGatewayAdapter(
            routes=names.ROUTES,
            invoke=self._invoke,
            authorize=authorize_header(self.tokens, self.login.refused),
            stage="local",
            extra_apps={
                **dict.fromkeys(LOGIN_PATHS, self.login),
                ALERTS_PATH: alerts_app(self.run_alerts),
                REMINDERS_PATH: reminders_app(self.run_reminders),
                "/_local/": outbox_app(self.outbox),
            },
        )

    # --- internals ----------------------------------------------------------------------------------

    def _worker_count(self) -> int:
        """:raises ConfigurationError: ``$TACHIAI_LOCAL_WORKERS`` is not a whole number >= 0."""
        from tachiai.local.workers import worker_count

        return self.workers if self.workers is not None else worker_count()

    def _invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        assert self.aws is not None
        invocation = self.aws.dispatcher.invoke(function_name(function), event)  # type: ignore[arg-type]
        if invocation.function_error:
            error = invocation.payload
            raise RuntimeError(f"{function}: {error.get('errorType')}: {error.get('errorMessage')}")
        result: dict[str, Any] = invocation.payload
        return result

    def _serve_http(self) -> None:
        ports = self._last_ports()
        port = self.port or ports.get("api", 0)
        try:
            self._server, self._app_slot = serve_in_thread(self.host, port, "tachiai-local-api")
        except OSError:
            if self.port:
                raise
            # The last run's port is taken: links mailed then will not reach this run.
            logger.warning("port %s is in use; the API listens on another port", port)
            self._server, self._app_slot = serve_in_thread(self.host, 0, "tachiai-local-api")

    def _last_ports(self) -> dict[str, int]:
        path = self.state_dir / PORTS_FILE
        if not self.persist or not path.exists():
            return {}
        try:
            ports = json.loads(path.read_text())
            return {name: int(ports[name]) for name in ("api", "pki") if name in ports}
        except (OSError, ValueError, TypeError):
            return {}

    def _start_pki(self, public_key: Any) -> LocalPki:
        wanted = self._last_ports().get("pki", 0)
        try:
            pki = LocalPki(self.state_dir / "pki", public_key, port=wanted).start()
        except OSError:
            logger.warning(
                "the PKI's port %s is in use; earlier seals' OCSP/CRL URLs do not reach it", wanted
            )
            pki = LocalPki(self.state_dir / "pki", public_key).start()
        if self.persist:
            assert self._server is not None and pki._server is not None
            ports = {"api": self._server.server_port, "pki": pki._server.server_port}
            (self.state_dir / PORTS_FILE).write_text(json.dumps(ports))
        return pki

    def _write_snapshot(self) -> None:
        assert self.aws is not None
        snapshot, contents = persistence.capture(self.aws, TABLE, BUCKET)
        persistence.write(self.state_dir, snapshot, contents)

    def _wait_until_quiet(self) -> None:
        """Let running functions (a seal, a finalize) finish, so the last snapshot has no half step."""
        if self.aws is None:
            return
        deadline = time.monotonic() + QUIET_SECONDS
        dispatcher = self.aws.dispatcher
        while time.monotonic() < deadline:
            if dispatcher.wait_idle(max(0.0, deadline - time.monotonic())):
                time.sleep(0.3)  # the chain's next state starts within moments of the last one
                if dispatcher.running == 0:
                    return
        logger.warning(
            "functions still running after %ss; the last snapshot may miss their work", QUIET_SECONDS
        )

    def _resume_chains(self, snapshot: persistence.Snapshot) -> None:
        """Start the chain of every envelope under way again (:mod:`tachiai.local.resume`)."""
        from tachiai.adapters.dynamodb import EnvelopeRepository

        assert self.aws is not None
        aws = self.aws
        repository = EnvelopeRepository(aws.client("dynamodb"), TABLE)
        sfn = aws.sfn()

        def answer(token: str, output: dict[str, str]) -> None:
            sfn.send_task_success(taskToken=token, output=json.dumps(output))

        resumer = ChainResumer(function_name("send"), lambda: repository, answer)
        aws.dispatcher.intercept(resumer)
        envelope_ids = [
            item["pk"]["S"].removeprefix("ENV#")
            for item in snapshot.items
            if item.get("sk", {}).get("S") == "META" and item.get("pk", {}).get("S", "").startswith("ENV#")
        ]
        for envelope_id in envelope_ids:
            envelope = repository.get(envelope_id)
            plan = resume_plan(envelope)
            if plan is None:
                continue
            resumer.expect(envelope_id, plan)
            execution_input = {
                "envelopeId": envelope_id,
                "participantIds": plan.participant_ids,
                "linkTimeoutSeconds": int(envelope.link_validity.total_seconds()),
            }
            sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=envelope_id, input=json.dumps(execution_input)
            )
            self.resumed.append(envelope_id)

    def _create_resources(self) -> dict[str, str]:
        assert self.aws is not None
        aws = self.aws
        kms = aws.client("kms")
        key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048", Description="tachiai local seal")[
            "KeyMetadata"
        ]["KeyId"]
        if self.persist:
            persistence.seal_key(aws, self.state_dir, key_id)
        self.pki = self._start_pki(kms_public_key(kms, key_id))
        roots = (self.state_dir / "pki" / "root.pem").read_text()
        ssm = aws.client("ssm")
        ssm.put_parameter(
            Name=CHAIN_PARAMETER, Value=self.pki.chain_pem().decode(), Type="String", Overwrite=True
        )
        ssm.put_parameter(Name=ROOTS_PARAMETER, Value=roots, Type="String", Overwrite=True)
        aws.client("dynamodb").create_table(TableName=TABLE, **TABLE_SCHEMA)
        aws.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region}
        )
        aws.client("sesv2").create_email_identity(EmailIdentity=MAIL_DOMAIN)
        arns = aws.create_functions()
        self.state_machine_arn = aws.create_state_machine(
            STATE_MACHINE,
            REPO_ROOT / names.STATE_MACHINE_DEFINITION,
            {
                placeholder: arns[function_name(function)]
                for placeholder, function in names.STATE_MACHINE_SUBSTITUTIONS.items()
            },
        )
        return {
            names.ENV_TABLE: TABLE,
            names.ENV_BUCKET: BUCKET,
            names.ENV_STATE_MACHINE_ARN: self.state_machine_arn,
            names.ENV_SEAL_FUNCTION: function_name("seal"),
            names.ENV_EXTRACT_FUNCTION: function_name("ai_extract"),
            names.ENV_SEAL_KEY_ID: key_id,
            names.ENV_SEAL_CHAIN_PARAMETER: CHAIN_PARAMETER,
            names.ENV_TRUST_ROOTS_PARAMETER: ROOTS_PARAMETER,
            names.ENV_TSA_URLS: self.pki.tsa_url,
            names.ENV_MAIL_FROM: MAIL_FROM,
            names.ENV_PUBLIC_URL: self.url,
            names.ENV_TIME_ZONE: "Asia/Tokyo",
            names.ENV_SERVICE_NAME: "tachiai (local)",
            names.ENV_INTEGRATION_EMAIL: INTEGRATION_EMAIL,
            names.ENV_LOCAL_USER_STORE: str(self.state_dir / "users.json"),
            # The console signs in at this server's own /oauth2/* (TACHIAI_LOGIN_URL unset: the public
            # URL's origin), with the CLI's client, whose redirect URIs include the console's callback.
            names.ENV_LOGIN_CLIENT_ID: CLI_CLIENT_ID,
        }

    def _delete_resources(self) -> None:
        """moto's state lives as long as the process: leave it as found, so another runtime (the next
        test module, a second demo) can create the same resources."""
        assert self.aws is not None
        aws = self.aws
        with contextlib.suppress(Exception):
            aws.client("dynamodb").delete_table(TableName=TABLE)
        with contextlib.suppress(Exception):
            s3 = aws.client("s3")
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
                for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
            s3.delete_bucket(Bucket=BUCKET)
        with contextlib.suppress(Exception):
            aws.client("ssm").delete_parameters(Names=[CHAIN_PARAMETER, ROOTS_PARAMETER])
        with contextlib.suppress(Exception):
            aws.client("sesv2").delete_email_identity(EmailIdentity=MAIL_DOMAIN)

    def _set_environment(self, values: dict[str, str]) -> None:
        from tachiai.services.context import reset_services

        assert self.aws is not None and self._app_slot is not None
        self.aws.update_environment(values)  # restored by LocalAws.stop()
        reset_services()
        assert self._server is not None and self.aws.guard is not None
        port = self._server.server_port
        # Pages of the API may call moto (a browser's direct upload); no other page may.
        self.aws.guard.origins = set(loopback_origins(port))
        self._app_slot.app = LoopbackGuard(self.app(), port)
