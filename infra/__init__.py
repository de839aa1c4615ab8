"""The CDK app that deploys one tenant's tachiai stack (``python -m infra.app``, from the repository root).

Every name the runtime also needs (environment variables, functions, routes, the state machine file, the
table's keys) comes from :mod:`tachiai.names` and :mod:`tachiai.adapters.dynamodb`, so the deployed
stack and the local runtime can never disagree.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: asset paths in :mod:`tachiai.names` are relative to it, wherever ``cdk`` runs."""
