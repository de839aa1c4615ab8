"""The Lambda functions, their two layers, and how every tachiai function is built.

Each function is a thin handler folder (``functions/<name>``, its own asset) over two layers: the
``tachiai`` package itself (``layers/core``: the layer layout IS the source layout) and the pinned
third-party dependencies, built without Docker by :mod:`infra.bundling`. Both are built for CPython
3.12 on x86_64 (pip ``--platform manylinux2014_x86_64``), so the functions run exactly there.

Every function gets its own role with only what its code calls (see :class:`Functions`), its own log
group with a retention, JSON logs at the tenant's application log level (Lambda's advanced logging
controls: the lines :mod:`tachiai.observability` writes, filtered by level before they are stored), the
stack's name for its metrics, and X-Ray tracing. Roles are written by hand rather than from the L2 grants
where those grant more than the code uses (``table.grant_read_write_data`` includes BatchWrite and
Scan; ``bucket.grant_put`` includes ``kms:ReEncrypt*``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from tachiai import names

from infra import REPO_ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_12
"""The dependency layer's wheels are cp312 and byte-compiled for 3.12: the runtime must match."""
ARCHITECTURE = lambda_.Architecture.X86_64
"""The dependency layer is built for manylinux2014_x86_64."""
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
"""Long enough to investigate a dispute about last year's envelope; logs carry no secrets (DESIGN)."""

_ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "*.egg-info", "**/*.egg-info"]

LOG_LEVELS: Mapping[str, lambda_.ApplicationLogLevel] = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARN": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}
"""The application log levels a tenant may choose (``log_level`` in :mod:`infra.config`)."""
DEFAULT_LOG_LEVEL = "INFO"


@dataclass(frozen=True)
class Sizing:
    memory_mb: int
    timeout: Duration


DEPLOYED: tuple[names.FunctionName, ...] = ("send", "agree", "seal", "ai_extract")
"""The functions this stack deploys (every one in :data:`tachiai.names.FUNCTIONS`). Listed, not
discovered from the folders, so a renamed handler fails the synth instead of silently dropping a
function."""

SIZING: Mapping[names.FunctionName, Sizing] = {
    # API Gateway ends a request at 29 s, so the API functions never need longer.
    "send": Sizing(512, Duration.seconds(29)),
    "agree": Sizing(512, Duration.seconds(29)),
    # pyhanko + a PDF up to the upload limit, a KMS signature, a TSA and OCSP round trip each.
    "seal": Sizing(1024, Duration.seconds(120)),
    # pypdfium2 text of a contract up to the upload limit (memory is also CPU), and a Bedrock answer
    # that can take a minute; the chain's Extract step gives up at the same five minutes.
    "ai_extract": Sizing(1024, Duration.minutes(5)),
}


class Layers(Construct):
    """The ``tachiai`` package layer and the third-party dependency layer, shared by every function."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Imported here: infra.bundling builds (or, under the context flag ``tachiai:skipBundling``,
        # stubs) the dependency layer, and only a synth that deploys functions should need it.
        from infra.bundling import dependency_layer_code

        self.core = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(str(REPO_ROOT / "layers" / "core"), exclude=_ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="tachiai: the tachiai package (layers/core/python)",
        )
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=dependency_layer_code(self),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="tachiai: pinned runtime dependencies (layers/deps/requirements.txt)",
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.core, self.dependencies]


class PythonFunction(Construct):
    """One tachiai function: handler asset, both layers, its own role, log group and tracing.

    The role starts with nothing but writing to its own log group (no ``AWSLambdaBasicExecutionRole``,
    which allows every log group in the account); callers add exactly what the code calls.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: str,
        handler: str,
        layers: Layers,
        sizing: Sizing,
        environment: Mapping[str, str],
        description: str,
        log_level: str = DEFAULT_LOG_LEVEL,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (REPO_ROOT / code_dir / names.handler_module_file(handler)).is_file():
            raise FileNotFoundError(f"{code_dir}: no handler file for {handler!r}")
        # Kept on update and deletion, deleted when the deploy that created it fails (nothing logged yet).
        self.log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"tachiai {construct_id} function",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            code=lambda_.Code.from_asset(str(REPO_ROOT / code_dir), exclude=_ASSET_EXCLUDES),
            handler=handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=layers.all,
            memory_size=sizing.memory_mb,
            timeout=sizing.timeout,
            environment={**environment, names.ENV_STACK_NAME: Stack.of(self).stack_name},
            role=self.role,
            log_group=self.log_group,
            # JSON: Lambda filters the JSON lines by their level; the platform's own lines at WARN only.
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=LOG_LEVELS[log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            description=description,
        )

    def allow(self, actions: Sequence[str], resources: Sequence[str]) -> None:
        """Let this function call ``actions`` on ``resources`` (and nothing broader)."""
        self.role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))


_DESCRIPTIONS: Mapping[names.FunctionName, str] = {
    "send": "tachiai sender API; notifies the next signer; completion mail",
    "agree": "tachiai recipient links: signing page, open, agree, reject, forward",
    "seal": "tachiai sealing: prepare, seal each event, finalize",
    "ai_extract": "tachiai contract ledger: extract contract metadata; daily deadline alerts",
}


def _construct_id_of(name: names.FunctionName) -> str:
    """The function's construct id: ``send`` → ``Send``, ``ai_extract`` → ``AiExtract``."""
    return "".join(part.capitalize() for part in name.split("_"))


class Functions(Construct):
    """The deployed functions (:data:`DEPLOYED`) by name, each from its :class:`tachiai.names.FunctionSpec`.

    ``environment`` maps each function name to its variables (names from :mod:`tachiai.names`); the
    stack decides them, because they reference resources this construct does not own. ``log_level``:
    the application log level of every function (one of :data:`LOG_LEVELS`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layers: Layers,
        environment: Mapping[names.FunctionName, Mapping[str, str]],
        log_level: str = DEFAULT_LOG_LEVEL,
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[names.FunctionName, PythonFunction] = {}
        for name in DEPLOYED:
            spec = names.FUNCTIONS[name]
            self.by_name[name] = PythonFunction(
                self,
                _construct_id_of(name),
                code_dir=spec.code_dir,
                handler=spec.handler,
                layers=layers,
                sizing=SIZING[name],
                environment=environment[name],
                description=_DESCRIPTIONS[name],
                log_level=log_level,
            )

    def __getitem__(self, name: names.FunctionName) -> PythonFunction:
        return self.by_name[name]
