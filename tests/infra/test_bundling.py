"""The dependency layer build (infra.bundling): pip for Lambda's platform, no Docker, a hash that follows it.

The real builds here install tiny wheels made by the test into a local folder (``PIP_NO_INDEX``), so
they run offline in a second and still go through pip's real wheel selection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from infra import bundling
from infra.bundling import (
    BUILD_INFO,
    PLACEHOLDER_DIR,
    SKIP_BUNDLING_CONTEXT,
    LayerBuildError,
    LayerTooLargeError,
    asset_hash,
    build_dependency_layer,
    check_size,
    dependency_layer_code,
    find_python312,
    layer_size,
    pip_command,
)

# --- helpers ------------------------------------------------------------------------------------------


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path, name: str, tag: str, files: dict[str, str], *, scripts: Sequence[str] = ()
) -> Path:
    """A minimal valid wheel ``name-1.0-<tag>.whl`` holding ``files`` (path -> text)."""
    dist_info = f"{name}-1.0.dist-info"
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
    purelib = "true" if tag.endswith("-none-any") else "false"
    contents[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n".encode()
    )
    if scripts:
        lines = "".join(f"{script} = {name}:main\n" for script in scripts)
        contents[f"{dist_info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    record = [_record_line(path, data) for path, data in contents.items()] + [f"{dist_info}/RECORD,,"]
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local package index pip must use alone: a pure wheel, and one project built for several platforms."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    make_wheel(
        folder,
        "tinypure",
        "py3-none-any",
        {
            "tinypure/__init__.py": "def main() -> None:\n    print('hi')\n",
            "tinypure/tests/test_tinypure.py": "def test_nothing() -> None:\n    pass\n",
            "tinypure/_speedups.c": "/* C source: not needed at run time */\n",
        },
        scripts=["tinypure-cli"],
    )
    for tag in (
        "cp312-cp312-manylinux_2_28_x86_64",
        "cp312-cp312-macosx_11_0_arm64",
        "cp312-cp312-manylinux_2_28_aarch64",
        "cp311-cp311-manylinux_2_28_x86_64",
    ):
        make_wheel(folder, "tinyplat", tag, {"tinyplat/__init__.py": f"TAG = {tag!r}\n"})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def requirements_file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Build:
    out_dir: Path
    size: int
    commands: list[list[str]]


@pytest.fixture
def recorded_commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every command the build runs, recorded and then really run."""
    commands: list[list[str]] = []
    real_run = bundling._run

    def record(command: Sequence[str], what: str) -> None:
        commands.append(list(command))
        real_run(command, what)

    monkeypatch.setattr(bundling, "_run", record)
    return commands


def build(tmp_path: Path, requirements: Path, commands: list[list[str]], **options: Any) -> Build:
    out_dir = tmp_path / "layer"
    size = build_dependency_layer(out_dir, requirements=requirements, **options)
    return Build(out_dir, size, commands)


def synth_layer_key(requirements: Path, *, python312: str | None = None, **context: Any) -> Any:
    """The S3 key CDK gives the dependency layer's asset (bundling skipped by CDK: nothing is built)."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **context})
    stack = cdk.Stack(app, "Layer")
    lambda_.LayerVersion(stack, "Deps", code=dependency_layer_code(stack, requirements))
    template = app.synth().get_stack_by_name("Layer").template
    (layer,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion")
    return layer["Properties"]["Content"]["S3Key"]


# --- the pip command ----------------------------------------------------------------------------------


def test_pip_installs_cpython_312_manylinux_wheels_only(tmp_path: Path) -> None:
    # Given a target folder and the requirements
    requirements = requirements_file(tmp_path, "six==1.17.0\n")

    # When the pip command is built
    command = pip_command(tmp_path / "python", requirements)

    # Then it installs wheels only, for CPython 3.12 on manylinux x86_64, without compiling for this Python
    joined = " ".join(command)
    assert command[1:4] == ["-m", "pip", "install"]
    assert f"--target {tmp_path / 'python'}" in joined
    assert f"--requirement {requirements}" in joined
    assert "--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64" in joined
    assert "--implementation cp --python-version 3.12" in joined
    assert "--only-binary=:all:" in command
    assert "--no-compile" in command


# --- a real build ---------------------------------------------------------------------------------------


def test_build_installs_into_python_folder_with_the_platform_flags_passed(
    tmp_path: Path, wheelhouse: Path, recorded_commands: list[list[str]]
) -> None:
    # Given a tiny requirements file
    requirements = requirements_file(tmp_path, "tinypure==1.0  # a comment\ntinyplat==1.0\n")

    # When the layer is built (without byte-compiling)
    result = build(tmp_path, requirements, recorded_commands, byte_compile=False)

    # Then pip ran with Lambda's platform flags and the packages are in python/ (the layer's import root)
    (pip,) = recorded_commands
    assert pip == pip_command(result.out_dir / "python", requirements)
    assert (result.out_dir / "python" / "tinypure" / "__init__.py").is_file()
    assert (result.out_dir / "python" / "tinypure-1.0.dist-info" / "METADATA").is_file()
    assert result.size == layer_size(result.out_dir)


def test_build_picks_the_cpython_312_x86_64_wheel_not_this_machines(
    tmp_path: Path, wheelhouse: Path, recorded_commands: list[list[str]]
) -> None:
    # Given a project with wheels for cp311 and cp312, x86_64, aarch64 and macOS
    requirements = requirements_file(tmp_path, "tinyplat==1.0\n")

    # When the layer is built
    result = build(tmp_path, requirements, recorded_commands, byte_compile=False)

    # Then the wheel Lambda's python3.12 on x86_64 can load was installed
    installed = (result.out_dir / "python" / "tinyplat" / "__init__.py").read_text()
    assert installed == "TAG = 'cp312-cp312-manylinux_2_28_x86_64'\n"


def test_build_never_builds_from_source(tmp_path: Path, wheelhouse: Path) -> None:
    # Given a requirement with only a source distribution
    (wheelhouse / "sdistonly-1.0.tar.gz").write_bytes(b"not even a real sdist")
    requirements = requirements_file(tmp_path, "sdistonly==1.0\n")

    # When / Then the build fails instead of compiling for this machine
    with pytest.raises(LayerBuildError, match="pip install of the dependency layer failed"):
        build_dependency_layer(tmp_path / "layer", requirements=requirements, byte_compile=False)


def test_build_removes_what_lambda_never_reads(tmp_path: Path, wheelhouse: Path) -> None:
    # Given a package with tests, a C source and a console script
    requirements = requirements_file(tmp_path, "tinypure==1.0\n")

    # When the layer is built
    build_dependency_layer(tmp_path / "layer", requirements=requirements, byte_compile=False)

    # Then they are gone, and the distribution's metadata stays (importlib.metadata reads it)
    python = tmp_path / "layer" / "python"
    assert not (python / "bin").exists()
    assert not (python / "tinypure" / "tests").exists()
    assert not (python / "tinypure" / "_speedups.c").exists()
    assert (python / "tinypure-1.0.dist-info" / "RECORD").is_file()


def test_build_records_what_it_built(tmp_path: Path, wheelhouse: Path) -> None:
    # Given a tiny requirements file
    requirements = requirements_file(tmp_path, "tinypure==1.0\n")

    # When the layer is built
    build_dependency_layer(tmp_path / "layer", requirements=requirements, byte_compile=False)

    # Then its build info names the inputs and the installed distributions
    info = json.loads((tmp_path / "layer" / BUILD_INFO).read_text())
    assert info["python"] == "3.12"
    assert info["platforms"] == ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]
    assert info["byte_compiled"] is False
    assert info["distributions"] == ["tinypure-1.0"]
    assert info["requirements_sha256"] == hashlib.sha256(requirements.read_bytes()).hexdigest()


def test_build_byte_compiles_for_python_312_with_unchecked_hashes(
    tmp_path: Path, wheelhouse: Path, recorded_commands: list[list[str]]
) -> None:
    # Given a CPython 3.12 interpreter on this machine
    python312 = find_python312()
    if python312 is None:
        message = f"no CPython 3.12 here (set {bundling.PYTHON_ENV_VAR}): the layer would ship uncompiled"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    requirements = requirements_file(tmp_path, "tinypure==1.0\n")

    # When the layer is built
    result = build(tmp_path, requirements, recorded_commands, python312=python312)

    # Then every module has a 3.12 .pyc that Python loads without looking at the source's timestamp
    assert recorded_commands[1][0] == python312
    pyc = result.out_dir / "python" / "tinypure" / "__pycache__" / "__init__.cpython-312.pyc"
    header = pyc.read_bytes()[:16]
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, check_source off
    assert json.loads((result.out_dir / BUILD_INFO).read_text())["byte_compiled"] is True


def test_python312_from_the_environment_must_be_312(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given TACHIAI_LAYER_PYTHON naming an interpreter of another version (the one running the tests)
    if sys.version_info[:2] == (3, 12):
        pytest.skip("the test interpreter is 3.12")
    monkeypatch.setenv(bundling.PYTHON_ENV_VAR, sys.executable)

    # When / Then it is refused rather than compiling .pyc files Lambda would ignore
    with pytest.raises(LayerBuildError, match=r"is not a CPython 3\.12 interpreter"):
        find_python312()


# --- size ----------------------------------------------------------------------------------------------


def test_size_over_the_limit_fails_the_build(tmp_path: Path, wheelhouse: Path) -> None:
    # Given a limit smaller than the layer
    requirements = requirements_file(tmp_path, "tinypure==1.0\n")

    # When / Then the build fails, saying how big the layer is
    with pytest.raises(LayerTooLargeError, match=r"dependency layer is 0\.0 MB unzipped, over the 0 MB"):
        build_dependency_layer(
            tmp_path / "layer", requirements=requirements, byte_compile=False, size_limit=10
        )


def test_size_counts_every_file_unzipped(tmp_path: Path) -> None:
    # Given a layer of two files
    (tmp_path / "python" / "pkg").mkdir(parents=True)
    (tmp_path / "python" / "pkg" / "a.py").write_bytes(b"x" * 300)
    (tmp_path / "python" / "b.py").write_bytes(b"y" * 700)

    # When / Then its size is their total, and a smaller limit raises
    assert layer_size(tmp_path) == 1000
    assert check_size(tmp_path, limit=1000) == 1000
    with pytest.raises(LayerTooLargeError) as raised:
        check_size(tmp_path, limit=999)
    assert (raised.value.size, raised.value.limit) == (1000, 999)


def test_report_prints_the_layer_size_from_a_synthesized_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cloud assembly whose asset manifest lists a built layer
    asset = tmp_path / "asset.abc"
    (asset / "python").mkdir(parents=True)
    (asset / "python" / "m.py").write_bytes(b"z" * (3 * 1024 * 1024))
    (asset / BUILD_INFO).write_text(json.dumps({"byte_compiled": True}))
    manifest = {"files": {"abc": {"source": {"path": "asset.abc", "packaging": "zip"}}}}
    (tmp_path / "Tachiai.assets.json").write_text(json.dumps(manifest))

    # When the report runs
    status = bundling.main(["report", str(tmp_path)])

    # Then it prints the size line
    assert status == 0
    assert capsys.readouterr().out.startswith("dependency layer: 3.0 MB unzipped (Lambda limit 250 MB")


def _assembly_with_layer(cdk_out: Path, *, byte_compiled: bool) -> None:
    asset = cdk_out / "asset.abc"
    (asset / "python").mkdir(parents=True)
    (asset / "python" / "m.py").write_bytes(b"z" * 1024)
    (asset / BUILD_INFO).write_text(json.dumps({"byte_compiled": byte_compiled}))
    manifest = {"files": {"abc": {"source": {"path": "asset.abc", "packaging": "zip"}}}}
    (cdk_out / "Tachiai.assets.json").write_text(json.dumps(manifest))


def test_report_requiring_compilation_fails_on_an_uncompiled_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an assembly whose layer was built without a CPython 3.12 (CI's `make synth` must not pass)
    _assembly_with_layer(tmp_path, byte_compiled=False)

    # When the report runs as CI runs it
    status = bundling.main(["report", str(tmp_path), "--require-compiled"])

    # Then it fails, saying why
    assert status == 1
    assert "not byte-compiled" in capsys.readouterr().err


def test_report_requiring_compilation_passes_a_compiled_layer(tmp_path: Path) -> None:
    _assembly_with_layer(tmp_path, byte_compiled=True)

    assert bundling.main(["report", str(tmp_path), "--require-compiled"]) == 0


# --- the asset hash -----------------------------------------------------------------------------------


def test_asset_hash_ignores_comments_and_blank_lines(tmp_path: Path) -> None:
    # Given the same requirements, once annotated
    plain = requirements_file(tmp_path / "plain", "six==1.17.0\n")
    annotated = requirements_file(tmp_path / "annotated", "# pinned\n\nsix==1.17.0  # why\n")

    # When / Then their hashes are equal
    assert asset_hash(plain, byte_compiled=True) == asset_hash(annotated, byte_compiled=True)


def test_asset_hash_changes_with_the_requirements_and_the_byte_compilation(tmp_path: Path) -> None:
    # Given a requirements file
    requirements = requirements_file(tmp_path, "six==1.17.0\n")
    before = asset_hash(requirements, byte_compiled=True)

    # When a pin changes / compilation is off
    requirements.write_text("six==1.16.0\n")
    after = asset_hash(requirements, byte_compiled=True)
    uncompiled = asset_hash(requirements, byte_compiled=False)

    # Then each gives a new hash
    assert len({before, after, uncompiled}) == 3


def test_asset_hash_changes_with_the_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a hash for the current platforms
    requirements = requirements_file(tmp_path, "six==1.17.0\n")
    before = asset_hash(requirements, byte_compiled=True)

    # When the platform tags change
    monkeypatch.setattr(bundling, "PLATFORMS", ("manylinux_2_28_aarch64",))

    # Then the hash changes
    assert asset_hash(requirements, byte_compiled=True) != before


def test_requirements_including_another_file_are_refused(tmp_path: Path) -> None:
    # Given a requirements file that includes another one (whose changes the hash could not see)
    requirements = requirements_file(tmp_path, "-r base.txt\nsix==1.17.0\n")

    # When / Then
    with pytest.raises(LayerBuildError, match="includes another file"):
        asset_hash(requirements, byte_compiled=True)


def test_cdk_asset_key_follows_the_requirements(tmp_path: Path) -> None:
    # Given two folders with the same requirements and one with another pin
    folders = [tmp_path / name for name in ("one", "same", "other")]
    for folder, text in zip(folders, ("six==1.17.0\n", "six==1.17.0\n", "six==1.16.0\n"), strict=True):
        requirements_file(folder, text)

    # When CDK stages each (CDK itself skips the bundling: nothing is installed)
    one, same, other = (synth_layer_key(folder / "requirements.txt") for folder in folders)

    # Then the uploaded object changes exactly when the requirements do
    assert one == same
    assert one != other


# --- skipping ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [True, "true"], ids=["from cdk.json", "from -c on the command line"])
def test_skip_bundling_uses_the_placeholder(flag: object) -> None:
    # Given the skip flag in the context
    stack = cdk.Stack(cdk.App(context={SKIP_BUNDLING_CONTEXT: flag}), "Layer")

    # When the layer code is asked for
    code = dependency_layer_code(stack)

    # Then it is the committed placeholder folder, and nothing is installed
    assert isinstance(code, lambda_.AssetCode)
    assert Path(code.path) == PLACEHOLDER_DIR
    assert (PLACEHOLDER_DIR / "python" / "README.txt").is_file()


def test_without_the_flag_the_layer_is_bundled_locally() -> None:
    # Given no skip flag
    stack = cdk.Stack(cdk.App(), "Layer")

    # When the layer code is asked for
    code = dependency_layer_code(stack)

    # Then it is built from layers/deps (by the local bundler, at synth)
    assert isinstance(code, lambda_.AssetCode)
    assert Path(code.path) == bundling.REQUIREMENTS.parent
