"""Performance and structure: the console's page modules load with their first page, not with the send
function, and each serves exactly the routes its path rule gives it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tachiai.api.routing import RestResolver
from tachiai.console import check_page_modules, module_of

REPO = Path(__file__).resolve().parents[2]


def test_every_console_route_is_served_by_the_module_its_path_names():
    check_page_modules(RestResolver(enable_validation=True))


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("/app", "tachiai.console.home"),
        ("/app/envelopes/{envelope_id}", "tachiai.console.envelope"),
        ("/app/envelopes/{envelope_id}/preview", "tachiai.console.new_envelope"),
        ("/app/ledger.csv", "tachiai.console.ledger"),
        ("/app/static/{name}", "tachiai.console.signin"),
    ],
)
def test_a_pages_module_follows_from_its_path(path, module):
    assert module_of(path) == module


def test_a_page_no_rule_covers_is_named():
    with pytest.raises(LookupError, match="/app/unknown"):
        module_of("/app/unknown")


def test_the_send_function_starts_without_any_console_page_module():
    code = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("handler", "functions/send/handler.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(sorted(m for m in sys.modules if m.startswith(("tachiai.console.", "jinja2", "pypdfium2"))))
"""
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert answer.stdout.strip() == "[]"
