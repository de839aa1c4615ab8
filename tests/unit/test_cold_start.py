"""Performance: a handler's first import runs without garbage collection (tachiai.cold_start), and
every handler switches it back on once it has loaded: a handler that forgot would never collect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))


def _in_fresh_process(code: str, **environment: str) -> str:
    env = {**os.environ, **environment}
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=False
    )
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.strip()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_collects_garbage_again_once_it_has_loaded(function: str) -> None:
    code = f"""
import gc, importlib.util, sys
spec = importlib.util.spec_from_file_location("handler", "functions/{function}/handler.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(gc.isenabled(), sys.modules["tachiai.cold_start"] is not None)
"""
    assert _in_fresh_process(code) == "True True"


def test_the_collector_is_off_while_a_handler_loads_and_frozen_after_only_on_lambda() -> None:
    code = """
import gc
from tachiai import cold_start
off = not gc.isenabled()
cold_start.finished()
print(off, gc.isenabled(), gc.get_freeze_count() > 0)
"""
    assert _in_fresh_process(code) == "True True False"
    assert _in_fresh_process(code, LAMBDA_TASK_ROOT="/var/task") == "True True True"
