"""The sender console: server-rendered pages under ``/app``, served by the send function.

:func:`console_routes` gives the send function's resolver every console page: the foundation's
(sign-in, sign-out, static files, home) and each page module's ``page_routes(console)``. Pages are
written against :mod:`tachiai.console.framework`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    from tachiai.console.framework import RouteKey
    from tachiai.services.context import Services

__all__ = ["PAGE_MODULES", "console_routes"]

PAGE_MODULES: tuple[str, ...] = (
    # One line per page module (each exposes page_routes(console)); add yours on its own line.
    "tachiai.console.signin",
    "tachiai.console.home",
    "tachiai.console.ledger",
    "tachiai.console.envelope",
    "tachiai.console.new_envelope",
    "tachiai.console.templates_page",
    "tachiai.console.members",
)


def console_routes(
    app: BaseRouter, services: Callable[[], Services] | None = None
) -> dict[RouteKey, Callable[..., Response[str]]]:
    """Every console route's handler for ``app`` (the send function's resolver), each answering a
    TachiaiError with the console's error page and a visitor not signed in with the sign-in.

    ``services``: where the pages get their services (the process's, unless a test gives its fakes).
    """
    # Imported here: the send function's API routes need none of the console's modules at import.
    from tachiai.console.framework import Console
    from tachiai.services.context import services as process_services

    console = Console(app, services or process_services)
    routes: dict[RouteKey, Callable[..., Response[str]]] = {}
    for name in PAGE_MODULES:
        module = importlib.import_module(name)
        for (method, path), handler in module.page_routes(console).items():
            if (method, path) in routes:
                raise LookupError(f"console route {method} {path} given twice")
            routes[method, path] = console.wrap(method, path, handler)
    return routes
