"""What keeps ``tachiai local`` correct under load and out of a foreign web page's reach.

Two WSGI middlewares, one in front of each server the local runtime runs on loopback:

:class:`LoopbackGuard` — in front of the API (recipient pages, sender API, outbox)
    A web page the developer visits can send requests to ``http://127.0.0.1:8080`` from their
    browser, and with DNS rebinding (a host name of the attacker's that resolves to 127.0.0.1) even
    read the answers. So a request is answered only when its ``Host`` is the loopback address and
    port the server listens on (``127.0.0.1``, ``localhost`` or ``[::1]``; else **421**
    :class:`~tachiai.domain.errors.MisdirectedRequest`), and when it carries an ``Origin`` (every
    cross-origin ``fetch`` and every form POST does) that origin must be one of those same loopback
    origins (else **403** :class:`~tachiai.domain.errors.ForeignOrigin`). A link clicked in a mail
    (a navigation, no ``Origin``) still opens.

:class:`MotoGuard` — in front of moto's server (the local stand-in for AWS)
    * the same ``Host`` rule (``<bucket>.localhost`` allowed for S3's virtual-host addressing), and
      no ``Origin`` other than the API's own;
    * every request must be signed as the AWS SDK signs it (a SigV4 ``Authorization`` header, a
      presigned URL's signature in the query, or a presigned POST's form): a browser cannot add an
      ``Authorization`` header to a cross-origin request without a CORS preflight, which gets no
      CORS answer. This also closes moto's unauthenticated ``/moto-api/`` (its whole state as JSON);
    * moto's blanket ``Access-Control-Allow-Origin: *`` is removed from every answer; an answer to
      one of the API's own pages (:attr:`MotoGuard.origins`) carries that origin instead, and the CORS
      preflight of such a page's upload (a presigned POST read by script for its progress) is answered
      as the deployed documents bucket's CORS rule answers it (:data:`tachiai.names.UPLOAD_CORS_METHODS`,
      no extra request headers), unsigned as a preflight always is;
    * a presigned POST (a browser's or the CLI's upload form) must carry the file's ``Content-MD5``
      (:data:`tachiai.names.UPLOAD_CHECKSUM_FIELD`) and the file must match it, as the deployed
      documents bucket requires (Object Lock default retention takes no upload without a checksum);
      moto checks neither, so the guard answers S3's refusals itself (:func:`_upload_checksum_refusal`);
    * moto's backends are not thread-safe (DynamoDB raised ``dictionary changed size during
      iteration`` under 25 concurrent envelopes): each request runs under its service's lock
      (:class:`ServiceLocks`), so calls to one service are serialized and different services, and
      everything outside moto (sealing, TSA, OCSP), still run in parallel. A Lambda ``Invoke``
      releases its lock while the function's code runs (:meth:`ServiceLocks.released`): the
      function's own AWS calls arrive on other threads and must not wait for it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from tachiai import names
from tachiai.domain.errors import ForeignOrigin, MisdirectedRequest, TachiaiError, UnsignedRequest

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "LOOPBACK_NAMES",
    "LoopbackGuard",
    "MotoGuard",
    "ServiceLocks",
    "is_loopback",
    "loopback_hosts",
    "loopback_origins",
]

LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost", "[::1]")
"""The names a loopback server answers to (``Host`` without the port)."""

_SIGV4_SCOPE: Final = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([a-z0-9.-]+)/aws4_request")
_QUERY_SCOPE: Final = re.compile(r"(?:^|&)X-Amz-Credential=[^&/]+/\d{8}/[^&/]+/([a-z0-9.-]+)/aws4_request")
_PRESIGNED_QUERY: Final = re.compile(r"(?:^|&)(?:X-Amz-Signature|Signature)=", re.IGNORECASE)
_DYNAMODB_READS: Final = frozenset(
    {"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables", "DescribeTimeToLive"}
)
_STATEFUL_SERVICES: Final = frozenset({"dynamodb", "s3", "ses"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to bind) is a loopback interface."""
    return host in ("localhost", "::1") or host.startswith("127.")


def loopback_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a loopback server on ``port`` answers."""
    return frozenset(f"{name}:{port}" for name in LOOPBACK_NAMES)


def loopback_origins(port: int) -> frozenset[str]:
    """The origins of pages served by a loopback server on ``port``."""
    return frozenset(f"http://{host}" for host in loopback_hosts(port))


def _refusal(environ: WSGIEnvironment, port: int, *, allow_localhost_subdomains: bool) -> TachiaiError | None:
    host = str(environ.get("HTTP_HOST", "")).lower()
    allowed = loopback_hosts(port)
    subdomain = allow_localhost_subdomains and host.endswith(f".localhost:{port}")
    if host not in allowed and not subdomain:
        return MisdirectedRequest(host=host or "(none)", expected=f"http://127.0.0.1:{port}")
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin not in loopback_origins(port):
        return ForeignOrigin(origin=origin)
    return None


def _json_refusal(error: TachiaiError) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps({"error": error.to_dict()}, ensure_ascii=False).encode("utf-8")
    return _status_line(error), [("Content-Type", "application/json; charset=utf-8")], body


def _status_line(error: TachiaiError) -> str:
    reasons = {403: "Forbidden", 421: "Misdirected Request"}
    return f"{error.http_status} {reasons.get(error.http_status, 'Refused')}"


_PAGE: Final = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{code}</title></head>
<body><h1>{status}</h1><p lang="ja">{ja}</p><p lang="en">{en}</p><p><code>{code}</code></p></body></html>
"""


def _refuse(error: TachiaiError, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The refusal as a small page for a browser, as the API's JSON error otherwise."""
    accept = str(environ.get("HTTP_ACCEPT", ""))
    headers = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
    if "text/html" in accept:
        body = _PAGE.format(
            status=html.escape(_status_line(error)),
            ja=html.escape(error.message("ja")),
            en=html.escape(error.message("en")),
            code=html.escape(error.code),
        ).encode("utf-8")
        headers += [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", "default-src 'none'"),
        ]
        status = _status_line(error)
    else:
        status, json_headers, body = _json_refusal(error)
        headers += json_headers
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


class LoopbackGuard:
    """Answers only requests addressed to this loopback server, and none sent by a foreign page."""

    def __init__(self, app: WSGIApplication, port: int) -> None:
        self._app = app
        self.port = port

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = _refusal(environ, self.port, allow_localhost_subdomains=False)
        if refusal is not None:
            return _refuse(refusal, environ, start_response)
        return self._app(environ, start_response)


def _preflight_answer(origin: str, start_response: StartResponse) -> Iterable[bytes]:
    """S3's answer to a preflight its CORS rule allows (the request's origin echoed, never ``*``)."""
    start_response(
        "200 OK",
        [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ", ".join(names.UPLOAD_CORS_METHODS)),
            ("Access-Control-Max-Age", str(names.UPLOAD_CORS_MAX_AGE_S)),
            ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
            ("Content-Length", "0"),
        ],
    )
    return [b""]


class ServiceLocks:
    """One lock per AWS service of the moto server (created on first use).

    A request thread holds at most one (its service's); :meth:`exclusive` takes several, always in
    the same order, so nothing can deadlock.
    """

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._held = threading.local()

    def _lock(self, service: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(service, threading.Lock())

    @contextmanager
    def serving(self, service: str) -> Iterator[None]:
        """Hold ``service``'s lock for one request, on this thread."""
        lock = self._lock(service)
        with lock:
            self._held.lock = lock
            try:
                yield
            finally:
                self._held.lock = None

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let go of this thread's service lock for a while (a Lambda function's code runs)."""
        lock: threading.Lock | None = getattr(self._held, "lock", None)
        if lock is None:
            yield
            return
        lock.release()
        self._held.lock = None
        try:
            yield
        finally:
            lock.acquire()
            self._held.lock = lock

    @contextmanager
    def exclusive(self, *services: str) -> Iterator[None]:
        """No request to any of ``services`` runs meanwhile (a consistent snapshot of their state)."""
        locks = [self._lock(service) for service in sorted(set(services))]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()


def _service(environ: WSGIEnvironment) -> str:
    """The AWS service a request is for, from its signature's credential scope."""
    scope = _SIGV4_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if scope is None:
        scope = _QUERY_SCOPE.search(unquote(str(environ.get("QUERY_STRING", ""))))
    if scope is not None:
        return scope.group(1)
    # A presigned POST keeps its signature in the form: only S3 has those.
    return "s3"


def _is_signed(environ: WSGIEnvironment) -> bool:
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if authorization.startswith(("AWS4-HMAC-SHA256 ", "AWS ")):
        return True
    if _PRESIGNED_QUERY.search(str(environ.get("QUERY_STRING", ""))):
        return True
    content_type = str(environ.get("CONTENT_TYPE", "")).lower()
    return environ.get("REQUEST_METHOD") == "POST" and content_type.startswith("multipart/form-data")


def _is_presigned_post(environ: WSGIEnvironment) -> bool:
    """A presigned POST form (no SDK signature: its policy and signature are fields of the form)."""
    content_type = str(environ.get("CONTENT_TYPE", "")).lower()
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and content_type.startswith("multipart/form-data")
        and not str(environ.get("HTTP_AUTHORIZATION", ""))
    )


def _s3_error(status: str, code: str, message: str, start_response: StartResponse) -> Iterable[bytes]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{html.escape(message)}</Message></Error>"
    ).encode()
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


_BOUNDARY: Final = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_FIELD_NAME: Final = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)


def _form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, byte for byte (a file's bytes included)."""
    boundary = _BOUNDARY.search(content_type)
    if boundary is None:
        return {}
    fields: dict[str, bytes] = {}
    for part in body.split(b"--" + boundary.group(1).encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break  # the closing boundary
        headers, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name = _FIELD_NAME.search(headers)
        if name is not None:
            fields[name.group(1).decode("utf-8", "replace")] = content.removesuffix(b"\r\n")
    return fields


def _upload_checksum_refusal(environ: WSGIEnvironment) -> tuple[str, str, str] | None:
    """S3's answer to a presigned POST into a bucket with Object Lock default retention that carries no
    ``Content-MD5`` field, or one the file does not match: ``(status, code, message)``, else ``None``.

    The body is read here and put back for moto (uploads are bounded by the upload limit)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    fields = _form_fields(str(environ.get("CONTENT_TYPE", "")), body)
    claimed = fields.get(names.UPLOAD_CHECKSUM_FIELD)
    if claimed is None:
        return (
            "400 Bad Request",
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Post Object requests with "
            "Object Lock parameters",
        )
    actual = base64.b64encode(hashlib.md5(fields.get("file", b""), usedforsecurity=False).digest())
    if claimed.strip() != actual:
        return "400 Bad Request", "BadDigest", "The Content-MD5 you specified did not match what we received."
    return None


def _changes_state(service: str, environ: WSGIEnvironment) -> bool:
    if service not in _STATEFUL_SERVICES or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return False
    if service == "dynamodb":
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        return target.rpartition(".")[2] not in _DYNAMODB_READS
    return True


class MotoGuard:
    """moto's server behind the loopback rules, signed requests only, one lock per service.

    ``port``: the server's port, known once it is bound. ``origins``: extra origins allowed to call
    (the API's own pages, should they upload straight to S3). ``on_change(service)`` is called after
    every request that may have changed DynamoDB, S3 or SES state (the local runtime snapshots it).
    """

    def __init__(
        self,
        app: WSGIApplication,
        locks: ServiceLocks,
        *,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._app = app
        self.locks = locks
        self.port = 0
        self.origins: set[str] = set()
        self.on_change = on_change

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = self._refusal(environ)
        if isinstance(refusal, UnsignedRequest) and self._allowed_preflight(environ):
            return _preflight_answer(str(environ["HTTP_ORIGIN"]), start_response)
        if refusal is not None:
            return _refuse(refusal, environ, start_response)
        if _is_presigned_post(environ):
            refused = _upload_checksum_refusal(environ)
            if refused is not None:
                return _s3_error(*refused, start_response)
        service = _service(environ)
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured["status"] = status
            captured["headers"] = [
                (name, value) for name, value in headers if not name.lower().startswith("access-control-")
            ]
            captured["exc_info"] = exc_info
            return lambda _data: None

        with self.locks.serving(service):
            result = self._app(environ, keep)
            try:
                # The body is read while the lock is held: moto may build it lazily from its state.
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        if self.on_change is not None and _changes_state(service, environ):
            self.on_change(service)
        origin = environ.get("HTTP_ORIGIN")
        headers = list(captured["headers"])
        if origin is not None:
            headers += [("Access-Control-Allow-Origin", str(origin)), ("Vary", "Origin")]
        start_response(captured["status"], headers, captured["exc_info"])
        return [body]

    def _allowed_preflight(self, environ: WSGIEnvironment) -> bool:
        """Whether the request is a CORS preflight the documents bucket's rule allows: from one of the
        API's own pages, for an allowed method, asking for no header beyond the CORS-safelisted ones
        (a presigned POST's multipart form needs none)."""
        asked = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")).strip()
        return (
            environ.get("REQUEST_METHOD") == "OPTIONS"
            and environ.get("HTTP_ORIGIN") in self.origins
            and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD") in names.UPLOAD_CORS_METHODS
            and not asked
        )

    def _refusal(self, environ: WSGIEnvironment) -> TachiaiError | None:
        refusal = _refusal(environ, self.port, allow_localhost_subdomains=True)
        origin = environ.get("HTTP_ORIGIN")
        if isinstance(refusal, ForeignOrigin) and origin in self.origins:
            refusal = None
        elif refusal is None and origin is not None and origin not in self.origins:
            # The moto server's own origin means nothing: no page is served from it.
            refusal = ForeignOrigin(origin=origin)
        if refusal is None and not _is_signed(environ):
            refusal = UnsignedRequest()
        return refusal
