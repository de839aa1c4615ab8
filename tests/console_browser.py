"""A browser for the console's page tests: the send function's console routes run in-process on the
in-memory fakes (tests/fakes.py), with cookies, CSRF tokens and the HTML parsed.

    world = fake_world()
    browser = ConsoleBrowser(world, MEMBER)          # signed in (a real session, no OAuth dance)
    page = browser.get("/app")
    assert page.status == 200 and "書類一覧" in page.text()
    page = browser.post("/app/envelopes/new", {"title": "NDA"}, files={"file": ("a.pdf", pdf)})
    page = browser.follow()                          # the 303's Location, as a browser would

* :meth:`ConsoleBrowser.post` fills the ``csrf`` field from the last page (or the session) unless the
  fields give one, and sends ``Origin`` = the console's own (``origin=`` to pretend another site).
* Cookies are kept as a browser keeps them: by name and path, ``Max-Age=0`` removes one.
* :class:`Page` parses the HTML with lxml (a dependency of pikepdf, always installed):
  ``page.text()``, ``page.xpath(...)``, ``page.form_values(action)``, ``page.links()``, ``page.notice()``.
* The people: :data:`ADMIN`, :data:`MEMBER`, :data:`OTHER_MEMBER` (or any :class:`StaffPerson`) are added
  to the fake directory when a browser signs in as them.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import lxml.html
from tachiai.api.routing import RestResolver, powertools_path
from tachiai.console import console_routes
from tachiai.console import session as sessions
from tachiai.console.framework import CSRF_FIELD, SESSION_COOKIE
from tachiai.domain.users import DirectoryUser, StaffMember
from tachiai.services.identity import sender_from_claims
from tachiai.services.sending import SenderIdentity

from tests.fakes import FakeWorld

FileSpec = tuple[str, bytes] | tuple[str, bytes, str]
"""A file to post: (file name, bytes) or (file name, bytes, media type; default application/pdf)."""

__all__ = ["ADMIN", "MEMBER", "OTHER_MEMBER", "ConsoleBrowser", "Page", "StaffPerson", "identity_of"]


@dataclass(frozen=True)
class StaffPerson:
    """A staff member a test signs in as."""

    username: str
    email: str
    name: str
    role: str = "member"

    @property
    def groups(self) -> tuple[str, ...]:
        return (self.role,)


ADMIN = StaffPerson("admin-1", "admin@example.co.jp", "管理 花子", "admin")
MEMBER = StaffPerson("member-1", "taro@example.co.jp", "山田 太郎", "member")
OTHER_MEMBER = StaffPerson("member-2", "jiro@example.co.jp", "鈴木 次郎", "member")


def add_person(world: FakeWorld, person: StaffPerson) -> None:
    """``person`` as the fake directory knows staff: an account (role, enabled) and a member."""
    world.directory.members[person.username] = StaffMember(person.username, person.email, person.name)
    if person.username not in world.directory.accounts:
        world.directory.add(
            DirectoryUser(
                username=person.username,
                email=person.email,
                name=person.name,
                role="admin" if person.role == "admin" else "member",
                groups=person.groups,
            )
        )


def id_claims(person: StaffPerson) -> dict[str, Any]:
    """The ID token claims the login service gives for ``person`` (as Cognito writes them)."""
    return {
        "sub": f"sub-{person.username}",
        "cognito:username": person.username,
        "email": person.email,
        "email_verified": True,
        "name": person.name,
        "cognito:groups": list(person.groups),
    }


def identity_of(person: StaffPerson) -> SenderIdentity:
    """The caller the services see when ``person`` uses the console (as their ID token makes it)."""
    return SenderIdentity(
        sub=f"sub-{person.username}", email=person.email, name=person.name, groups=person.groups
    )


@dataclass
class Page:
    """One answer of the console."""

    status: int
    headers: dict[str, list[str]]
    body: str
    path: str
    """The console path asked for."""

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[-1]
        return None

    @property
    def location(self) -> str | None:
        return self.header("location")

    @property
    def tree(self) -> Any:
        return lxml.html.fromstring(self.body or "<html></html>")

    def xpath(self, expression: str) -> list[Any]:
        result = self.tree.xpath(expression)
        return list(result) if isinstance(result, list) else [result]

    def text(self) -> str:
        """The page's visible words, whitespace collapsed."""
        body = self.tree
        for hidden in body.xpath("//script|//style|//head"):
            hidden.getparent().remove(hidden)
        return " ".join(body.text_content().split())

    def links(self) -> list[str]:
        return [str(a.get("href")) for a in self.tree.xpath("//a[@href]")]

    def notice(self) -> str | None:
        found = self.tree.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' notice ')]")
        return " ".join(found[0].text_content().split()) if found else None

    def forms(self) -> list[Any]:
        return list(self.tree.xpath("//form"))

    def form_values(self, action: str | None = None) -> dict[str, str]:
        """The fields of the (first) form posting to ``action`` (a path ending), as a browser would send
        them without changes (checked boxes only, selected options)."""
        for form in self.forms():
            if action is None or str(form.get("action", "")).endswith(action):
                values: dict[str, str] = {}
                for name, value in form.form_values():
                    values[name] = value
                return values
        raise AssertionError(f"no form posting to {action} on {self.path}")


@dataclass
class ConsoleBrowser:
    """A browser on the console of ``world``, signed in as ``person`` (None: signed out)."""

    world: FakeWorld
    person: StaffPerson | None = MEMBER
    origin: str | None = None
    """The Origin its posts carry (default: the console's own)."""
    language: str | None = None
    """Its Accept-Language."""
    cookies: dict[tuple[str, str], str] = field(default_factory=dict)
    last: Page | None = None
    app: RestResolver = field(init=False)

    def __post_init__(self) -> None:
        self.app = RestResolver(enable_validation=True)
        world = self.world
        for (method, path), handler in console_routes(self.app, services=lambda: world.svc).items():
            self.app.route(powertools_path(path), method=method, include_in_schema=False)(handler)
        if self.person is not None:
            self.sign_in_as(self.person)

    # --- who ---------------------------------------------------------------------------------------

    @property
    def public_url(self) -> str:
        return self.world.svc.settings.public_url or "https://sign.example.co.jp"

    @property
    def base(self) -> str:
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def own_origin(self) -> str:
        url = urlsplit(self.public_url)
        return f"{url.scheme}://{url.netloc}"

    def sign_in_as(self, person: StaffPerson) -> str:
        """A session for ``person`` through the real session service (no OAuth dance); its id."""
        add_person(self.world, person)
        claims = {k: (",".join(v) if isinstance(v, list) else v) for k, v in id_claims(person).items()}
        claims["email_verified"] = "true"
        identity = sender_from_claims(self.world.svc, claims)
        session_id, _ = sessions.open_session(
            self.world.svc, identity, person.username, f"refresh-{uuid.uuid4()}"
        )
        self.person = person
        self.set_cookie(SESSION_COOKIE, session_id, self.base + "/app")
        return session_id

    @property
    def session_id(self) -> str | None:
        return next((v for (n, _), v in self.cookies.items() if n == SESSION_COOKIE), None)

    def set_cookie(self, name: str, value: str, path: str) -> None:
        self.cookies[name, path] = value

    def cookie(self, name: str) -> str | None:
        return next((v for (n, _), v in self.cookies.items() if n == name), None)

    # --- requests ------------------------------------------------------------------------------------

    def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> Page:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        fields: Mapping[str, str | Sequence[str]] | None = None,
        files: Mapping[str, FileSpec | Sequence[FileSpec]] | None = None,
        *,
        csrf: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Page:
        """POST a form (multipart when ``files`` are given). The CSRF token is added unless ``fields``
        has one or ``csrf`` is False."""
        data: dict[str, list[str]] = {}
        for name, value in (fields or {}).items():
            data[name] = [value] if isinstance(value, str) else list(value)
        if csrf and CSRF_FIELD not in data:
            token = self.csrf_token()
            if token:
                data[CSRF_FIELD] = [token]
        all_headers = {"Origin": self.origin or self.own_origin, **(headers or {})}
        if files:
            boundary = f"----tachiai{uuid.uuid4().hex}"
            body = _multipart(boundary, data, files)
            all_headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            return self.request("POST", path, body=body, headers=all_headers, binary=True)
        encoded = urlencode([(k, v) for k, values in data.items() for v in values]).encode()
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self.request("POST", path, body=encoded, headers=all_headers)

    def follow(self) -> Page:
        """GET the last answer's Location (a 303 after a form, a redirect to the sign-in...)."""
        assert self.last is not None and self.last.location, "the last answer was no redirect"
        return self.get(self.last.location)

    def csrf_token(self) -> str | None:
        """The token the last page's forms carry, else the session's."""
        if self.last is not None and self.last.body:
            found = self.last.xpath(f"//input[@name='{CSRF_FIELD}']/@value")
            if found:
                return str(found[0])
        session_id = self.session_id
        if session_id is None:
            return None
        stored = self.world.console_sessions.sessions.get(sessions.session_key(session_id))
        return stored.csrf_token if stored else None

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        binary: bool = False,
    ) -> Page:
        url = urlsplit(target)
        if url.netloc and f"{url.scheme}://{url.netloc}" != self.own_origin:
            raise AssertionError(f"the console sent the browser elsewhere: {target}")
        browser_path = url.path
        path = (
            browser_path[len(self.base) :]
            if self.base and browser_path.startswith(self.base)
            else browser_path
        )
        query: dict[str, list[str]] = {}
        for pair in url.query.split("&") if url.query else []:
            from urllib.parse import unquote_plus

            key, _, value = pair.partition("=")
            query.setdefault(unquote_plus(key), []).append(unquote_plus(value))
        sent = {"Host": urlsplit(self.public_url).netloc, "User-Agent": "console-browser"}
        if self.language:
            sent["Accept-Language"] = self.language
        sent.update(headers or {})
        cookie = "; ".join(
            f"{name}={value}"
            for (name, cookie_path), value in self.cookies.items()
            if browser_path == cookie_path or browser_path.startswith(cookie_path.rstrip("/") + "/")
        )
        if cookie:
            sent["Cookie"] = cookie
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": sent,
            "multiValueHeaders": {k: [v] for k, v in sent.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": None,
            "requestContext": {
                "httpMethod": method,
                "path": browser_path,
                "stage": "prod",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "198.51.100.7", "userAgent": "console-browser"},
            },
            "body": (base64.b64encode(body).decode() if binary else body.decode())
            if body is not None
            else None,
            "isBase64Encoded": bool(binary and body is not None),
        }
        answer = self.app.resolve(event, None)  # type: ignore[arg-type]
        headers_out: dict[str, list[str]] = {
            k: [str(v) for v in vs] for k, vs in (answer.get("multiValueHeaders") or {}).items()
        }
        for k, v in (answer.get("headers") or {}).items():
            headers_out.setdefault(k, []).append(str(v))
        for set_cookie in headers_out.get("Set-Cookie", []):
            self._store_cookie(set_cookie)
        raw = answer.get("body") or ""
        text = base64.b64decode(raw).decode() if answer.get("isBase64Encoded") else raw
        page = Page(status=int(answer["statusCode"]), headers=headers_out, body=text, path=path)
        self.last = page
        return page

    def _store_cookie(self, header: str) -> None:
        parts = [p.strip() for p in header.split(";")]
        name, _, value = parts[0].partition("=")
        attributes = {k.lower(): v for k, _, v in (p.partition("=") for p in parts[1:])}
        path = attributes.get("path", "/")
        if attributes.get("max-age") == "0" or not value:
            self.cookies.pop((name, path), None)
        else:
            self.cookies[name, path] = value

    def json(self, page: Page) -> Any:
        return json.loads(page.body)


def _multipart(
    boundary: str,
    fields: Mapping[str, list[str]],
    files: Mapping[str, FileSpec | Sequence[FileSpec]],
) -> bytes:
    chunks: list[bytes] = []
    for name, values in fields.items():
        for value in values:
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + value.encode()
                + b"\r\n"
            )
    for name, given in files.items():
        specs: list[Any] = [given] if isinstance(given, tuple) else list(given)
        for spec in specs:
            filename, data = spec[0], spec[1]
            content_type = spec[2] if len(spec) > 2 else "application/pdf"
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n".encode()
                + data
                + b"\r\n"
            )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)
