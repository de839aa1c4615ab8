"""The sender console: server-rendered pages under ``/app``, served by the send function.

:func:`console_routes` gives the send function's resolver every console page of the route table
(:data:`tachiai.names.ROUTES`): the foundation's (sign-in, sign-out, static files) and each page
module's ``page_routes(console)``. Pages are written against :mod:`tachiai.console.framework`.

The page modules (and the framework, Jinja2, PDFium's child for previews ...) are imported when the
first console page is asked for, not when the send function starts: its cold start is paid by every
API call and recipient-facing task, which use none of them. Which module serves a page follows from its
path (:data:`PAGE_MODULES`); a page module that does not serve a route the rule gives it, or serves
one it does not, is a LookupError at its first load (and in the tests, at once).
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tachiai.names import ROUTES

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    from tachiai.console.framework import Console, RouteKey
    from tachiai.services.context import Services

__all__ = ["PAGE_MODULES", "check_page_modules", "console_routes", "module_of"]

PAGE_MODULES: tuple[tuple[str, str], ...] = (
    # (path prefix, module exposing page_routes(console)): the first prefix that starts a page's path
    # names its module; "/app" itself is home. One line per prefix; the most specific first.
    ("/app/envelopes/{envelope_id}/preview", "tachiai.console.new_envelope"),
    ("/app/envelopes/{envelope_id}/documents/", "tachiai.console.new_envelope"),
    ("/app/envelopes/", "tachiai.console.envelope"),
    ("/app/new", "tachiai.console.new_envelope"),
    ("/app/ledger", "tachiai.console.ledger"),
    ("/app/templates", "tachiai.console.templates_page"),
    ("/app/members", "tachiai.console.members"),
    ("/app/sign-in", "tachiai.console.signin"),
    ("/app/sign-out", "tachiai.console.signin"),
    ("/app/signed-out", "tachiai.console.signin"),
    ("/app/callback", "tachiai.console.signin"),
    ("/app/static/", "tachiai.console.signin"),
)
HOME_MODULE = "tachiai.console.home"


def module_of(path: str) -> str:
    """The page module serving ``path`` (a route of the table under ``/app``).

    :raises LookupError: a path no rule gives a module (a new page needs its line in PAGE_MODULES).
    """
    if path == "/app":
        return HOME_MODULE
    for prefix, module in PAGE_MODULES:
        if path.startswith(prefix):
            return module
    raise LookupError(f"no console page module for {path}: add its prefix to PAGE_MODULES")


def console_routes(
    app: BaseRouter, services: Callable[[], Services] | None = None
) -> dict[RouteKey, Callable[..., Response[str]]]:
    """Every console route's handler for ``app`` (the send function's resolver), each answering a
    TachiaiError with the console's error page and a visitor not signed in with the sign-in.

    ``services``: where the pages get their services (the process's, unless a test gives its fakes).
    """
    pages = _Pages(app, services)
    return {key: pages.handler(*key) for key in _page_routes()}


def check_page_modules(app: BaseRouter) -> None:
    """Load every page module now, as its first page would.

    :raises LookupError: a page module serves a route :func:`module_of` does not give it, or misses one.
    """
    pages = _Pages(app, None)
    for module in sorted({module_of(path) for _, path in _page_routes()}):
        pages.load(module)


def _page_routes() -> list[RouteKey]:
    return [(r.method, r.path) for r in ROUTES if r.path == "/app" or r.path.startswith("/app/")]


class _Pages:
    """The console of one resolver, its page modules loaded on first use (thread-safe: the local
    runtime serves requests on threads)."""

    def __init__(self, app: BaseRouter, services: Callable[[], Services] | None) -> None:
        self._app = app
        self._services = services
        self._console: Console | None = None
        self._loaded: dict[RouteKey, Callable[..., Response[str]]] = {}
        self._modules: set[str] = set()
        self._lock = threading.Lock()

    def handler(self, method: str, path: str) -> Callable[..., Response[str]]:
        """The route's handler: its page module's, loaded at the first request of any of its pages."""
        module = module_of(path)

        def page(**arguments: str) -> Response[str]:
            loaded = self._loaded.get((method, path)) or self.load(module)[method, path]
            return loaded(**arguments)

        # Powertools reads the handler's parameters: exactly the path's, as plain strings (as
        # Console.wrap declares them on the page it wraps).
        parameters = re.findall(r"{(\w+)}", path)
        page.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str) for name in parameters]
        )
        page.__annotations__ = dict.fromkeys(parameters, str)
        page.__name__ = page.__qualname__ = f"console_page_{method.lower()}_{'_'.join(parameters) or 'root'}"
        return page

    def load(self, module_name: str) -> dict[RouteKey, Callable[..., Response[str]]]:
        """Import ``module_name`` and wrap every page it serves (once).

        :raises LookupError: the module serves a route the rule does not give it, or not one it does.
        """
        with self._lock:
            if module_name in self._modules:
                return self._loaded
            console = self._console_of()
            served = importlib.import_module(module_name).page_routes(console)
            expected = {key for key in _page_routes() if module_of(key[1]) == module_name}
            if set(served) != expected:
                raise LookupError(
                    f"{module_name} serves {sorted(set(served) ^ expected)} against the route table's rule"
                )
            for (method, path), handler in served.items():
                self._loaded[method, path] = console.wrap(method, path, handler)
            self._modules.add(module_name)
            return self._loaded

    def _console_of(self) -> Console:
        if self._console is None:
            from tachiai.console.framework import Console
            from tachiai.services.context import services as process_services

            self._console = Console(self._app, self._services or process_services)
        return self._console
