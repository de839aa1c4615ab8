"""The dependency layer (``layers/deps/requirements.txt``), built with pip on this machine: no Docker.

Lambda runs CPython 3.12 on x86_64 Amazon Linux 2023 (glibc 2.34), whatever machine runs ``cdk synth``.
So pip is told which interpreter and platform to install for, and to take wheels only (it cannot run a
build for another platform)::

    python -m pip install --target <out>/python -r layers/deps/requirements.txt
        --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64
        --implementation cp --python-version 3.12 --only-binary=:all: --no-compile

``manylinux2014`` alone is not enough: pikepdf 10 and Pillow 12+ publish only ``manylinux_2_28``
wheels (and a ``2_28`` wheel needs glibc 2.28, which Lambda's 2.34 has). pip does not widen a
``manylinux_2_28`` tag to the older ones, so both are listed; earlier tags are preferred when a
project publishes both.

Then what Lambda never reads is removed (console scripts with this machine's shebang, ``tests``
folders, C sources and headers; the ``*.dist-info`` folders stay: ``importlib.metadata`` reads them),
and every module is byte-compiled **with a CPython 3.12 interpreter** (a 3.11 ``.pyc`` would be
ignored by 3.12 and only take space). The ``.pyc`` files use ``unchecked-hash`` invalidation: the
asset zip stores every file with a fixed 1980 timestamp, so timestamp-checked ``.pyc`` files would all
look stale, and the layer under ``/opt`` is read-only, so Python would recompile in memory on every
cold start. Code objects name ``/opt/python/...`` so tracebacks show the paths Lambda has.

The 3.12 interpreter is the one named by ``TACHIAI_LAYER_PYTHON``, else ``python3.12`` on the PATH,
else a pyenv or uv managed 3.12 (see :func:`find_python312`). Without one the layer is still built,
uncompiled (imports then compile in memory at every cold start, slower), with a warning; the asset hash
records whether it was compiled, so a later build on a machine with 3.12 replaces it.

The asset hash is computed from what decides the layer's content (the requirements without comments,
the platform tags, Python version, pip options, byte-compilation, :data:`BUNDLER_VERSION`), so
``cdk synth`` reuses ``cdk.out/asset.<hash>`` and ``cdk deploy`` publishes a new layer version exactly
when one of them changes. Transitive dependencies are whatever pip resolves from the pinned top-level
requirements at build time: pin them in ``requirements.txt`` too to make the build reproducible.

Tests (and a quick synth) set the context flag ``tachiai:skipBundling`` to use a tiny placeholder
asset instead; nothing is then installed.

Run outside CDK: ``python -m infra.bundling build build/layer`` (``make layer``), and
``python -m infra.bundling report cdk.out`` prints the size of the layer in a synthesized assembly.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra import REPO_ROOT

if TYPE_CHECKING:
    from aws_cdk import ILocalBundling
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

SKIP_BUNDLING_CONTEXT = "tachiai:skipBundling"
"""CDK context flag: when true, the dependency layer is a placeholder and nothing is installed."""

REQUIREMENTS = REPO_ROOT / "layers" / "deps" / "requirements.txt"
"""The pinned runtime dependencies the layer is built from."""

PLACEHOLDER_DIR = Path(__file__).resolve().parent / "placeholder_layer"
"""The asset used instead of the real layer under :data:`SKIP_BUNDLING_CONTEXT`."""

BUNDLER_VERSION = "1"
"""Part of the asset hash: bump it whenever this module changes what ends up in the layer."""

PYTHON_VERSION = "3.12"
"""The Lambda runtime's Python (``infra.constructs.functions.RUNTIME``)."""

PLATFORMS: tuple[str, ...] = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
"""Wheel platform tags pip may choose, most preferred first (see the module docstring)."""

PIP_OPTIONS: tuple[str, ...] = (
    *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
    "--no-compile",
)
"""Everything pip is told besides where to install and from which file."""

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
"""Lambda's limit on a function's unzipped code plus all its layers, in bytes."""

PYTHON_ENV_VAR = "TACHIAI_LAYER_PYTHON"
"""Names the CPython 3.12 interpreter that byte-compiles the layer (when it is not found by itself)."""

BUILD_INFO = "tachiai-deps-layer.json"
"""Written at the layer's root (``/opt`` in Lambda): what was built, how, and its size."""

_PRUNED_DIRS = frozenset({"__pycache__", "tests"})
_PRUNED_SUFFIXES = (".c", ".cpp", ".h", ".pyx", ".pxd", ".pxi")
_MB = 1024 * 1024
_COMMENT = re.compile(r"(^|\s)#.*$")  # as pip reads requirement files


class LayerBuildError(Exception):
    """The dependency layer could not be built (pip, byte-compilation or the requirements file)."""


class LayerTooLargeError(LayerBuildError):
    """The built layer is over the size limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"dependency layer is {size / _MB:.1f} MB unzipped, over the {limit / _MB:.0f} MB Lambda "
            f"allows for a function and its layers: drop dependencies from "
            f"{REQUIREMENTS.relative_to(REPO_ROOT)}"
        )


# --- what decides the layer's content --------------------------------------------------------------


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of ``requirements`` without comments and blank lines.

    :raises LayerBuildError: the file is missing or includes another file (``-r``/``-c``), whose
        changes the asset hash would not see.
    """
    try:
        text = requirements.read_text(encoding="utf-8")
    except OSError as e:
        raise LayerBuildError(f"cannot read {requirements}: {e.strerror}") from e
    lines = []
    for raw in text.splitlines():
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        if line.startswith(("-r", "-c", "--requirement", "--constraint")):
            raise LayerBuildError(
                f"{requirements}: {line!r} includes another file; list every requirement in this one"
            )
        lines.append(line)
    return lines


def asset_hash(requirements: Path = REQUIREMENTS, *, byte_compiled: bool) -> str:
    """SHA-256 of everything that decides the layer's content (see the module docstring).

    :raises LayerBuildError: the requirements file cannot be read or includes another file.
    """
    inputs = {
        "bundler": BUNDLER_VERSION,
        "requirements": requirement_lines(requirements),
        "platforms": list(PLATFORMS),
        "python": PYTHON_VERSION,
        "pip": list(PIP_OPTIONS),
        "byte_compiled": byte_compiled,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


# --- the build --------------------------------------------------------------------------------------


def pip_command(target: Path, requirements: Path = REQUIREMENTS) -> list[str]:
    """The pip command line that installs ``requirements`` for Lambda into ``target``."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(target),
        "--requirement",
        str(requirements),
        *PIP_OPTIONS,
    ]


def compile_command(python: str, python_dir: Path) -> list[str]:
    """The command that byte-compiles ``python_dir`` (the layer's ``python/``) with ``python``."""
    return [
        python,
        "-m",
        "compileall",
        "-q",
        "-j0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(python_dir),
        "-p",
        "/opt/python",
        str(python_dir),
    ]


def _cache_tag(python: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - an interpreter path we chose, no shell
            [python, "-c", "import sys; print(sys.implementation.cache_tag)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _candidates() -> Iterable[str]:
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        yield on_path  # may be a pyenv shim that refuses to run: checked by the caller
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for version_dir in sorted((pyenv_root / "versions").glob(f"{PYTHON_VERSION}.*"), reverse=True):
        yield str(version_dir / "bin" / f"python{PYTHON_VERSION}")
    uv = shutil.which("uv")
    if uv:
        try:
            found = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [uv, "python", "find", "--no-python-downloads", PYTHON_VERSION],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return
        if found.returncode == 0 and found.stdout.strip():
            yield found.stdout.strip()


def find_python312() -> str | None:
    """A CPython 3.12 interpreter to byte-compile with, or None when this machine has none.

    Looks at ``TACHIAI_LAYER_PYTHON``, ``python3.12`` on the PATH, pyenv's versions, then
    ``uv python find`` (never downloads). Each candidate is run to check that it really is 3.12.

    :raises LayerBuildError: ``TACHIAI_LAYER_PYTHON`` is set but is not a CPython 3.12.
    """
    wanted = "cpython-" + PYTHON_VERSION.replace(".", "")
    explicit = os.environ.get(PYTHON_ENV_VAR)
    if explicit:
        if _cache_tag(explicit) != wanted:
            raise LayerBuildError(
                f"{PYTHON_ENV_VAR}={explicit} is not a CPython {PYTHON_VERSION} interpreter"
            )
        return explicit
    for candidate in _candidates():
        if _cache_tag(candidate) == wanted:
            return candidate
    return None


def _prune(python_dir: Path) -> None:
    # Console scripts: their shebang names this machine's interpreter, and Lambda runs none of them.
    shutil.rmtree(python_dir / "bin", ignore_errors=True)
    for path in sorted(python_dir.rglob("*"), reverse=True):  # children before their parents
        if path.is_symlink() or not path.exists():
            continue
        if path.is_dir() and path.name in _PRUNED_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and (path.suffix in _PRUNED_SUFFIXES or path.suffix == ".pyc"):
            path.unlink()


def _run(command: Sequence[str], what: str) -> None:
    try:
        result = subprocess.run(command, check=False)  # noqa: S603 - our own argument list, no shell
    except OSError as e:
        raise LayerBuildError(f"{what}: cannot run {command[0]}: {e.strerror}") from e
    if result.returncode != 0:
        raise LayerBuildError(f"{what} failed (exit {result.returncode}): {' '.join(command)}")


def layer_size(directory: Path) -> int:
    """Bytes of every file under ``directory``: the layer's unzipped size as Lambda counts it.

    A symbolic link counts as the file it points to: the CDK CLI zips the target's content.
    """
    return sum(path.stat().st_size for path in Path(directory).rglob("*") if path.is_file())


def size_line(size: int, *, byte_compiled: bool | None = None) -> str:
    """The one-line report printed after every build."""
    note = "" if byte_compiled is not False else ", NOT byte-compiled: no Python 3.12 found"
    return (
        f"dependency layer: {size / _MB:.1f} MB unzipped{note} "
        f"(Lambda limit {LAMBDA_UNZIPPED_LIMIT // _MB} MB for function + layers)"
    )


def check_size(directory: Path, limit: int = LAMBDA_UNZIPPED_LIMIT) -> int:
    """The layer's unzipped size in bytes.

    :raises LayerTooLargeError: it is over ``limit``.
    """
    size = layer_size(directory)
    if size > limit:
        raise LayerTooLargeError(size, limit)
    return size


def _warn_not_compiled() -> None:
    print(
        f"WARNING: no CPython {PYTHON_VERSION} found (set {PYTHON_ENV_VAR}): the dependency layer is not "
        "byte-compiled, so every cold start compiles its imports",
        file=sys.stderr,
    )


def _installed_distributions(python_dir: Path) -> list[str]:
    return sorted(path.name.removesuffix(".dist-info") for path in python_dir.glob("*.dist-info"))


def build_dependency_layer(
    out_dir: Path,
    *,
    requirements: Path = REQUIREMENTS,
    size_limit: int = LAMBDA_UNZIPPED_LIMIT,
    python312: str | None = None,
    byte_compile: bool = True,
) -> int:
    """Build the layer into ``out_dir`` (``out_dir/python/...``), print its size, return it in bytes.

    ``out_dir/python`` is replaced. ``python312`` is the interpreter that byte-compiles (found with
    :func:`find_python312` when not given); ``byte_compile=False`` skips compilation.

    :raises LayerBuildError: pip or the byte-compilation failed, or the requirements file is unusable.
    :raises LayerTooLargeError: the layer is over ``size_limit`` bytes unzipped.
    """
    out_dir = Path(out_dir)
    python_dir = out_dir / "python"
    requirement_lines(requirements)  # fail on an unusable file before pip does something else
    shutil.rmtree(python_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    _run(pip_command(python_dir, requirements), "pip install of the dependency layer")
    _prune(python_dir)

    compiler = (python312 or find_python312()) if byte_compile else None
    if compiler:
        _run(compile_command(compiler, python_dir), f"byte-compiling the dependency layer with {compiler}")
    elif byte_compile:
        _warn_not_compiled()

    info: dict[str, Any] = {
        "bundler": BUNDLER_VERSION,
        "requirements_sha256": hashlib.sha256(requirements.read_bytes()).hexdigest(),
        "python": PYTHON_VERSION,
        "platforms": list(PLATFORMS),
        "byte_compiled": compiler is not None,
        "distributions": _installed_distributions(python_dir),
    }
    (out_dir / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    size = check_size(out_dir, size_limit)
    print(size_line(size, byte_compiled=compiler is not None), file=sys.stderr, flush=True)
    return size


# --- CDK ----------------------------------------------------------------------------------------------


# aws_cdk is imported only where CDK is used: importing it starts the jsii runtime (a node process),
# which `make layer` and `infra.bundling report` do not need.
@functools.cache
def _local_bundling_class() -> type[Any]:
    import jsii
    from aws_cdk import ILocalBundling

    @jsii.implements(ILocalBundling)
    class LocalPipBundling:
        """Builds the layer on this machine. It never returns False: that would make CDK try Docker."""

        def __init__(self, requirements: Path, python312: str | None) -> None:
            self._requirements = requirements
            self._python312 = python312

        # jsii calls back with the bundling options as one positional struct (unused: they are ours).
        def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
            if self._python312 is None:
                _warn_not_compiled()
            build_dependency_layer(
                Path(output_dir),
                requirements=self._requirements,
                python312=self._python312,
                byte_compile=self._python312 is not None,
            )
            return True

    return LocalPipBundling


def local_bundling(requirements: Path, python312: str | None) -> ILocalBundling:
    """The CDK local bundler that runs :func:`build_dependency_layer` (byte-compiling with ``python312``)."""
    bundler: ILocalBundling = _local_bundling_class()(requirements, python312)
    return bundler


def skip_bundling(scope: Construct) -> bool:
    """Whether the context flag :data:`SKIP_BUNDLING_CONTEXT` is set (``true``, also as a string)."""
    value = scope.node.try_get_context(SKIP_BUNDLING_CONTEXT)
    return value is True or str(value).lower() in {"true", "1"}


def dependency_layer_code(scope: Construct, requirements: Path = REQUIREMENTS) -> lambda_.Code:
    """The dependency layer's code: built locally by pip, or the placeholder under ``tachiai:skipBundling``.

    :raises LayerBuildError: the requirements file is unusable (the build itself fails during synth).
    """
    from aws_cdk import AssetHashType, BundlingOptions, DockerImage
    from aws_cdk import aws_lambda as lambda_

    if skip_bundling(scope):
        return lambda_.Code.from_asset(str(PLACEHOLDER_DIR))
    python312 = find_python312()
    return lambda_.Code.from_asset(
        str(requirements.parent),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(requirements, byte_compiled=python312 is not None),
        bundling=BundlingOptions(
            # Never pulled: the local bundler always builds (or raises).
            image=DockerImage.from_registry("tachiai-local-bundling-only"),
            local=local_bundling(requirements, python312),
        ),
    )


# --- command line (make layer / make synth) ------------------------------------------------------------


def _layer_in_assembly(cdk_out: Path) -> Path | None:
    """The dependency layer's staged folder among the assets the synthesized templates use."""
    for manifest in sorted(cdk_out.glob("*.assets.json")):
        files: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        for entry in files.values():
            source_path = str(entry.get("source", {}).get("path", ""))
            if source_path and (cdk_out / source_path / BUILD_INFO).is_file():
                return cdk_out / source_path
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bundling", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the dependency layer into a folder")
    build.add_argument("out_dir", type=Path)
    report = commands.add_parser("report", help="print the size of the layer in a synthesized cdk.out")
    report.add_argument("cdk_out", type=Path)
    report.add_argument(
        "--require-compiled",
        action="store_true",
        help="fail when the layer was not byte-compiled for Python 3.12 (CI: `make synth` must ship "
        "the layer a deploy would)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build_dependency_layer(args.out_dir)
            return 0
        layer = _layer_in_assembly(args.cdk_out)
        if layer is None:
            print(
                f"{args.cdk_out}: no dependency layer built (was {SKIP_BUNDLING_CONTEXT} set?)",
                file=sys.stderr,
            )
            return 1
        info = json.loads((layer / BUILD_INFO).read_text(encoding="utf-8"))
        compiled = bool(info.get("byte_compiled"))
        print(size_line(check_size(layer), byte_compiled=compiled))
        if args.require_compiled and not compiled:
            print(
                f"error: the dependency layer in {args.cdk_out} is not byte-compiled: no CPython 3.12 was "
                f"found (install python3.12 or set {PYTHON_ENV_VAR})",
                file=sys.stderr,
            )
            return 1
        return 0
    except LayerBuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
