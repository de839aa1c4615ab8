"""The use cases and the domain do not depend on the AWS side.

``tachiai.services`` (the use cases) and ``tachiai.domain`` talk to storage, mail and the signing chain
through the ports of :mod:`tachiai.services.ports`; the value types those ports exchange and the
document key layout live in the domain. Only the composition roots build adapters: they are the one
place where a use case meets boto3, so a test can swap them for fakes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tachiai

PACKAGE = Path(tachiai.__file__).parent
ADAPTERS = "tachiai.adapters"
COMPOSITION_ROOTS = frozenset(
    {
        # Builds every adapter of a warm container (lazily, once each).
        "services/context.py",
        # Builds the production Sealer from the KMS key, SSM parameters and the TSA secret; called
        # only by services/context.py.
        "services/sealer_factory.py",
    }
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_adapters(name: str) -> bool:
    return name == ADAPTERS or name.startswith(ADAPTERS + ".")


def adapter_imports(source: str, module: str, *, is_package: bool = False) -> list[int]:
    """Line numbers of every import of ``tachiai.adapters`` in ``source`` (anywhere: module level,
    inside a function, under ``TYPE_CHECKING``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            lines += [node.lineno for alias in node.names if _is_adapters(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            if _is_adapters(target) or any(_is_adapters(f"{target}.{alias.name}") for alias in node.names):
                lines.append(node.lineno)
    return sorted(lines)


def _violations(subpackage: str) -> list[str]:
    modules = sorted((PACKAGE / subpackage).rglob("*.py"))
    assert modules, f"no module found under tachiai/{subpackage}"
    found = []
    for path in modules:
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in COMPOSITION_ROOTS:
            continue
        lines = adapter_imports(
            path.read_text(encoding="utf-8"), _module_name(path), is_package=path.name == "__init__.py"
        )
        found += [f"tachiai/{relative}:{line}" for line in lines]
    return found


def test_the_use_cases_do_not_import_the_adapters():
    assert _violations("services") == []


def test_the_domain_does_not_import_the_adapters():
    assert _violations("domain") == []


def test_an_adapter_import_is_found_in_every_form():
    # Given imports of the adapters at module level, under TYPE_CHECKING, in a function and relative
    source = (
        "from typing import TYPE_CHECKING\n"
        "from tachiai.adapters.s3 import original_key\n"
        "import tachiai.adapters.sfn\n"
        "if TYPE_CHECKING:\n"
        "    from tachiai.adapters.dynamodb import LinkRecord\n"
        "def f():\n"
        "    from ..adapters import cognito\n"
        "from tachiai import adapters\n"
        "from tachiai.domain.ledger import LedgerQuery\n"
    )
    # When the module is scanned as a use case, Then each one is counted and the domain import is not
    assert adapter_imports(source, "tachiai.services.example") == [2, 3, 5, 7, 8]
