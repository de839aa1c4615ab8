"""A quiet threaded WSGI server on loopback whose application is attached after the port is bound.

Both the test PKI and the local API need their own URL before their application exists (certificates
embed the OCSP/CRL URLs; recipient links embed the API's URL), so the server starts first with a
placeholder that answers 503 until :attr:`LateBoundApp.app` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class LateBoundApp:
    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        result: Iterable[bytes] = self.app(environ, start_response)
        return result


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def serve_in_thread(host: str, port: int, name: str) -> tuple[BaseWSGIServer, LateBoundApp]:
    """Bind ``host:port`` (0: any free port) and serve in a daemon thread; attach the app later."""
    late = LateBoundApp()
    server = make_server(host, port, late, threaded=True, request_handler=_QuietRequestHandler)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server, late


def stop_server(server: BaseWSGIServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
