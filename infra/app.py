"""The CDK app: ``cdk synth`` / ``cdk deploy`` run ``python -m infra.app`` from the repository root.

Reads the tenant configuration from the ``tachiai`` context (cdk.json, or ``-c tachiai='{...}'``),
stops with one line per mistake when it is wrong, builds the stack in the configured region, checks it
with cdk-nag (AwsSolutions; see :mod:`infra.nag`) and synthesizes. Nothing here calls AWS: the
account comes from the CLI's environment at deploy time, the hosted zone from its attributes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment

from infra.config import CONTEXT_KEY, ConfigError, TenantConfig, load_config
from infra.nag import apply_nag
from infra.stack import TachiaiStack


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[App, TachiaiStack]:
    """The app and its one stack, nag checks attached (not yet synthesized).

    ``context`` adds to what the CLI passes (tests give the config and ``tachiai:skipBundling`` here).

    :raises ConfigError: the ``tachiai`` context has mistakes.
    """
    app = App(context=dict(context or {}), outdir=outdir)
    config: TenantConfig = load_config(app.node.try_get_context(CONTEXT_KEY))
    # The account is whatever credentials `cdk deploy` runs with; synth needs none (no lookups).
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=config.region)
    stack = TachiaiStack(app, config.stack_name, config, env=env)
    apply_nag(app, stack)
    return app, stack


def main(context: Mapping[str, Any] | None = None) -> int:
    """Build, check and synthesize; 1 (with one line per mistake on stderr) when the config is wrong."""
    try:
        app, _ = build_app(context)
    except ConfigError as e:
        print(f"tachiai: the {CONTEXT_KEY!r} configuration has mistakes:", file=sys.stderr)
        for problem in e.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
