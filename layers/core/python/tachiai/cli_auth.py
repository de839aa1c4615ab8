"""``tachiai login``, ``logout``, ``whoami`` and ``users``: staff sign-in from the command line.

``tachiai login`` signs in with OAuth 2.0 authorization code + PKCE (RFC 7636, S256) on the hosted
login (Cognito managed login, or ``tachiai local``'s own sign-in): a loopback listener receives the
redirect (:data:`tachiai.names.CLI_CALLBACK_URL`), the browser is opened for the person, and the
``state`` sent must come back unchanged. With ``--no-browser`` the URL is printed instead, and the
address the browser ends on is pasted back: Cognito has no device authorization flow (RFC 8628), so
this is the device-style fallback for a terminal without a browser.

Tokens are cached per profile in ``credentials.json`` in the user's configuration directory
(:func:`config_dir`), owner-only (0600, directory 0700), and refreshed with the refresh token when the
access token is about to expire. Every sender command uses the profile when no ``--url``/``--token``
(or ``$TACHIAI_URL``/``$TACHIAI_TOKEN``) is given (:func:`profile_client`); a profile's token is only
ever sent to the API it was issued for.

Where the login service is: ``--login-url`` and ``--client-id`` (the stack outputs ``LoginDomainUrl``
and ``LoginClientId``; ``--stack NAME`` reads them, with ``ApiUrl``, from CloudFormation), or, for
``tachiai local``, from the runtime itself (``GET /_local/config``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from tachiai import i18n, names
from tachiai.domain.errors import (
    LoginFailed,
    LoginPortInUse,
    LoginStateMismatch,
    NotSignedIn,
    ProfileUrlMismatch,
    SessionExpired,
)
from tachiai.domain.text import single_line
from tachiai.domain.users import DEFAULT_ROLE, ROLES

if TYPE_CHECKING:
    import requests

    from tachiai.local.client import SenderClient

__all__ = [
    "DEFAULT_PROFILE",
    "CredentialStore",
    "LoginSettings",
    "Profile",
    "add_commands",
    "config_dir",
    "pkce_pair",
    "profile_client",
]

DEFAULT_PROFILE: Final = "default"
LOCAL_URL: Final = "http://127.0.0.1:8080"
"""Where ``tachiai local`` listens by default: ``tachiai login`` with nothing else signs in there."""
REFRESH_MARGIN_SECONDS: Final = 120
"""An access token this close to its expiry is refreshed before use."""
CALLBACK_TIMEOUT_SECONDS: Final = 300.0
HTTP_TIMEOUT_SECONDS: Final = 30


def _say(msgid: str, /, *, file: Any = None, **values: object) -> None:
    print(i18n.text(msgid, i18n.from_environment(), **values), file=file or sys.stdout)


# --- where tokens are kept ----------------------------------------------------------------------------


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's tachiai configuration directory: ``$TACHIAI_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/
    tachiai`` (``~/.config/tachiai``), on Windows ``%APPDATA%\\tachiai``, on macOS ``~/Library/
    Application Support/tachiai`` unless ``$XDG_CONFIG_HOME`` is set (platformdirs' choices)."""
    env = os.environ if environ is None else environ
    if env.get("TACHIAI_CONFIG_DIR"):
        return Path(env["TACHIAI_CONFIG_DIR"])
    if sys.platform == "win32":
        return Path(env.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "tachiai"
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]) / "tachiai"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "tachiai"
    return Path.home() / ".config" / "tachiai"


@dataclass
class Profile:
    """One signed-in profile: where it signed in, and its tokens."""

    api_url: str
    login_url: str
    client_id: str
    access_token: str
    refresh_token: str
    expires_at: float
    """When the access token expires (epoch seconds)."""
    id_token: str = ""
    username: str = ""
    email: str = ""


class CredentialStore:
    """``credentials.json``: the profiles' tokens, readable by the owner only.

    Written whole under a new name (created 0600) and renamed over the old file, so a reader never sees
    half a file and the mode never depends on the umask.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / "credentials.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"profiles": {}}
        except ValueError:
            return {"profiles": {}}  # unreadable: signing in again rewrites it
        if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
            return {"profiles": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        draft = self.directory / f".credentials.{secrets.token_hex(8)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=1)
            os.replace(draft, self.path)
        except BaseException:
            draft.unlink(missing_ok=True)
            raise

    def get(self, profile: str) -> Profile | None:
        values = self._read()["profiles"].get(profile)
        if not isinstance(values, dict):
            return None
        try:
            return Profile(**values)
        except TypeError:
            return None

    def put(self, profile: str, value: Profile) -> None:
        data = self._read()
        data["profiles"][profile] = asdict(value)
        self._write(data)

    def delete(self, profile: str) -> bool:
        data = self._read()
        if data["profiles"].pop(profile, None) is None:
            return False
        self._write(data)
        return True


# --- PKCE, the authorization request, the redirect ------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A fresh code verifier (64 characters of base64url) and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class LoginSettings:
    """Where to sign in and which API the tokens are for."""

    api_url: str
    login_url: str
    client_id: str
    redirect_uri: str = names.CLI_CALLBACK_URL
    scopes: tuple[str, ...] = names.LOGIN_SCOPES

    def authorize_url(self, state: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": " ".join(self.scopes),
        }
        return f"{self.login_url}/oauth2/authorize?{urlencode(query)}"


def code_from_redirect(redirected: str, state: str) -> str:
    """The authorization code of the address the sign-in redirected to.

    :raises LoginStateMismatch: its ``state`` is not the one sent (a forged or stale redirect).
    :raises LoginFailed: the sign-in answered an error, or no code.
    """
    query = parse_qs(urlsplit(redirected.strip()).query)
    returned = query.get("state", [""])[0]
    if not secrets.compare_digest(returned.encode(), state.encode()):
        raise LoginStateMismatch("the redirect's state is not this sign-in's")
    if "error" in query:
        error = single_line(query["error"][0])[:100]
        detail = single_line(query.get("error_description", [""])[0])[:300]
        raise LoginFailed(f"{error}: {detail}", error=error)
    code = query.get("code", [""])[0]
    if not code:
        raise LoginFailed("no code in the redirect", error="no_code")
    return code


class _CallbackServer(HTTPServer):
    redirected: str | None = None
    path: str = "/callback"
    done: threading.Event


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        if urlsplit(self.path).path != self.server.path:
            self.send_error(404)
            return
        self.server.redirected = self.path
        language = i18n.from_environment()
        body = (
            f'<!DOCTYPE html><html lang="{language}"><meta charset="utf-8"><title>tachiai</title>'
            f"<p>{i18n.text('cli.login.browser_done', language)}</p></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def callback_listener(redirect_uri: str) -> Iterator[_CallbackServer]:
    """A loopback HTTP listener on the redirect URI's port (127.0.0.1), for one redirect.

    :raises LoginPortInUse: another program listens on that port.
    """
    parts = urlsplit(redirect_uri)
    port = parts.port or 80
    try:
        server = _CallbackServer(("127.0.0.1", port), _CallbackHandler)
    except OSError as e:
        raise LoginPortInUse(f"127.0.0.1:{port}: {e.strerror}", port=port) from e
    server.path = parts.path or "/"
    server.done = threading.Event()
    thread = threading.Thread(target=server.serve_forever, name="tachiai-login-callback", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# --- the token endpoint -------------------------------------------------------------------------------


def _token_request(login_url: str, form: dict[str, str], session: requests.Session) -> dict[str, Any]:
    """POST the token endpoint; the JSON answer, or the OAuth error as :class:`_OAuthRefusal`."""
    import requests

    try:
        response = session.post(f"{login_url}/oauth2/token", data=form, timeout=HTTP_TIMEOUT_SECONDS)
    except requests.RequestException as e:
        raise LoginFailed(f"token endpoint unreachable: {e}", error="unreachable") from e
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        raise _OAuthRefusal(str(body.get("error") or f"HTTP {response.status_code}"))
    result: dict[str, Any] = body
    return result


class _OAuthRefusal(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def exchange_code(
    settings: LoginSettings, code: str, verifier: str, session: requests.Session
) -> dict[str, Any]:
    """The tokens for an authorization code. :raises LoginFailed: the token endpoint refused it."""
    form = {
        "grant_type": "authorization_code",
        "client_id": settings.client_id,
        "code": code,
        "redirect_uri": settings.redirect_uri,
        "code_verifier": verifier,
    }
    try:
        return _token_request(settings.login_url, form, session)
    except _OAuthRefusal as e:
        raise LoginFailed(f"token endpoint: {e.error}", error=single_line(e.error)[:100]) from e


def fresh_profile(
    store: CredentialStore, name: str, session: requests.Session, now: float | None = None
) -> Profile:
    """The profile with an access token valid for a while yet (refreshed, and saved, when needed).

    :raises NotSignedIn: no such profile. :raises SessionExpired: the refresh token was refused.
    :raises LoginFailed: the login service could not be reached.
    """
    profile = store.get(name)
    if profile is None:
        raise NotSignedIn(f"no profile {name}", profile=name)
    moment = time.time() if now is None else now
    if profile.expires_at - moment > REFRESH_MARGIN_SECONDS:
        return profile
    form = {
        "grant_type": "refresh_token",
        "client_id": profile.client_id,
        "refresh_token": profile.refresh_token,
    }
    try:
        tokens = _token_request(profile.login_url, form, session)
    except _OAuthRefusal as e:
        raise SessionExpired(f"refresh refused: {e.error}", profile=name) from e
    profile.access_token = tokens["access_token"]
    profile.id_token = tokens.get("id_token", profile.id_token)
    # Cognito answers a refresh without a new refresh token unless rotation is on; keep ours then.
    profile.refresh_token = tokens.get("refresh_token", profile.refresh_token)
    profile.expires_at = moment + float(tokens.get("expires_in", 3600))
    store.put(name, profile)
    return profile


def _profile_name(args: argparse.Namespace) -> str:
    return str(getattr(args, "profile", None) or os.environ.get("TACHIAI_PROFILE") or DEFAULT_PROFILE)


def profile_client(args: argparse.Namespace, url: str | None) -> SenderClient:
    """The sender API with the signed-in profile's token (refreshed when near expiry).

    :raises NotSignedIn: the profile never signed in (or signed out).
    :raises ProfileUrlMismatch: ``url`` is another API than the profile's: its token is not sent there.
    :raises SessionExpired: the session ended; sign in again.
    """
    import requests

    from tachiai.local.client import SenderClient

    name = _profile_name(args)
    profile = fresh_profile(CredentialStore(), name, requests.Session())
    if url and url.rstrip("/") != profile.api_url.rstrip("/"):
        raise ProfileUrlMismatch(
            f"profile {name} is for {profile.api_url}", profile=name, profile_url=profile.api_url, url=url
        )
    return SenderClient(profile.api_url, profile.access_token)


# --- finding the login service ------------------------------------------------------------------------


def _stack_outputs(stack: str) -> dict[str, str]:
    """The outputs of a deployed tachiai stack (uses your AWS credentials)."""
    import boto3

    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", []) if "OutputValue" in o}


def _local_config(api_url: str, session: requests.Session) -> dict[str, Any] | None:
    """What a ``tachiai local`` at ``api_url`` says about its sign-in, or None (not a local runtime)."""
    import requests

    try:
        response = session.get(f"{api_url}/_local/config", timeout=HTTP_TIMEOUT_SECONDS)
        config: dict[str, Any] = response.json()
    except (requests.RequestException, ValueError):
        return None
    if response.status_code != 200 or not isinstance(config, dict) or "client_id" not in config:
        return None
    return config


def login_settings(args: argparse.Namespace, session: requests.Session) -> LoginSettings:
    """Where to sign in: the flags, then the environment, then ``--stack``'s outputs, then the
    profile's last sign-in, then the local runtime at the API URL.

    :raises _UsageError: (the CLI's) nothing says where the login service is.
    """
    from tachiai.cli import _UsageError

    env = os.environ
    outputs = _stack_outputs(args.stack) if getattr(args, "stack", None) else {}
    previous = CredentialStore().get(_profile_name(args))
    api_url = (
        args.url
        or env.get("TACHIAI_URL")
        or outputs.get("ApiUrl")
        or (previous.api_url if previous else None)
        or LOCAL_URL
    ).rstrip("/")
    login_url = args.login_url or env.get("TACHIAI_LOGIN_URL") or outputs.get("LoginDomainUrl")
    client_id = args.client_id or env.get("TACHIAI_CLIENT_ID") or outputs.get("LoginClientId")
    if not (login_url and client_id) and previous is not None and previous.api_url == api_url:
        login_url, client_id = login_url or previous.login_url, client_id or previous.client_id
    if login_url and client_id:
        return LoginSettings(api_url, login_url.rstrip("/"), client_id)
    local = _local_config(api_url, session)
    if local is None:
        raise _UsageError(i18n.text("cli.login.where", i18n.from_environment(), url=api_url))
    return LoginSettings(
        api_url=str(local.get("api_url") or api_url).rstrip("/"),
        login_url=str(local["login_url"]).rstrip("/"),
        client_id=str(local["client_id"]),
        redirect_uri=str(local.get("redirect_uri") or names.CLI_CALLBACK_URL),
        scopes=tuple(local.get("scopes") or names.LOGIN_SCOPES),
    )


# --- commands -----------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    import requests

    from tachiai.cli import EXIT_OK, _api_call
    from tachiai.local.client import SenderClient

    session = requests.Session()
    settings = login_settings(args, session)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    url = settings.authorize_url(state, challenge)
    if args.no_browser:
        _say("cli.login.no_browser", file=sys.stderr, url=url, redirect=settings.redirect_uri)
        try:
            redirected = input(i18n.text("cli.login.paste", i18n.from_environment()))
        except EOFError as e:
            raise LoginFailed("nothing pasted", error="no_code") from e
    else:
        with callback_listener(settings.redirect_uri) as listener:
            _say("cli.login.browser", file=sys.stderr, url=url)
            webbrowser.open(url)
            if not listener.done.wait(args.timeout):
                raise LoginFailed("no redirect came back in time", error="timeout")
            redirected = listener.redirected or ""
    code = code_from_redirect(redirected, state)
    tokens = exchange_code(settings, code, verifier, session)
    me = _api_call(lambda: SenderClient(settings.api_url, tokens["access_token"]).me())
    profile_name = _profile_name(args)
    CredentialStore().put(
        profile_name,
        Profile(
            api_url=settings.api_url,
            login_url=settings.login_url,
            client_id=settings.client_id,
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token", ""),
            expires_at=time.time() + float(tokens.get("expires_in", 3600)),
            id_token=tokens.get("id_token", ""),
            username=str(me.get("username", "")),
            email=str(me.get("email", "")),
        ),
    )
    _say(
        "cli.login.signed_in",
        name=single_line(str(me.get("name", ""))),
        email=single_line(str(me.get("email", ""))),
        profile=profile_name,
        url=settings.api_url,
    )
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    import requests

    from tachiai.cli import EXIT_OK

    name = _profile_name(args)
    store = CredentialStore()
    profile = store.get(name)
    if profile is None:
        raise NotSignedIn(f"no profile {name}", profile=name)
    revoked = True
    try:
        # Revoking the refresh token ends the session at the login service, its access tokens with it.
        response = requests.post(
            f"{profile.login_url}/oauth2/revoke",
            data={"token": profile.refresh_token, "client_id": profile.client_id},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        revoked = response.status_code == 200
    except requests.RequestException:
        revoked = False
    store.delete(name)
    _say("cli.logout.done", profile=name)
    if not revoked:
        _say("cli.logout.not_revoked", file=sys.stderr, url=profile.login_url)
    return EXIT_OK


def cmd_whoami(args: argparse.Namespace) -> int:
    from tachiai.cli import EXIT_OK, _api_call, _print_json, _sender_client

    client = _sender_client(args)
    me = _api_call(client.me)
    if args.json:
        _print_json(me)
        return EXIT_OK
    _say(
        "cli.whoami",
        name=single_line(str(me.get("name", ""))),
        email=single_line(str(me.get("email", ""))),
        username=single_line(str(me.get("username", ""))),
        groups=", ".join(single_line(str(g)) for g in me.get("groups", [])) or "-",
        url=client.base_url,
    )
    return EXIT_OK


def _table(rows: list[list[str]], headers: list[str]) -> str:
    from tachiai.ledger_listing import display_width

    widths = [max(display_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell + " " * (widths[i] - display_width(cell)) for i, cell in enumerate(row)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _print_user(user: Mapping[str, Any], msgid: str) -> None:
    _say(
        msgid,
        email=single_line(str(user.get("email", ""))),
        name=single_line(str(user.get("name", ""))),
        role=single_line(str(user.get("role", ""))),
        username=single_line(str(user.get("username", ""))),
    )


def cmd_users(args: argparse.Namespace) -> int:
    from tachiai.cli import EXIT_OK, _api_call, _print_json, _sender_client

    if args.users_command == "add" and args.local:
        return _add_local_user(args)
    client = _sender_client(args)
    language = i18n.from_environment()
    if args.users_command == "list":
        listed = _api_call(client.users)
        if args.json:
            _print_json({"users": listed})
            return EXIT_OK
        state = {
            True: i18n.text("cli.users.enabled", language),
            False: i18n.text("cli.users.disabled", language),
        }
        rows = [
            [
                single_line(str(u["email"])),
                single_line(str(u["name"])),
                str(u["role"]),
                state[bool(u["enabled"])],
                str(u["status"]),
                str(u["username"]),
            ]
            for u in listed
        ]
        headers = [
            i18n.text(f"cli.users.column.{c}", language) for c in ("email", "name", "role", "state", "status")
        ]
        print(_table(rows, [*headers, "username"]))
        return EXIT_OK
    if args.users_command == "add":
        user = _api_call(lambda: client.invite_user(args.email, args.name or args.email, args.role))
        msgid = "cli.users.invited"
    elif args.users_command == "disable":
        user = _api_call(lambda: client.disable_user(args.user))
        msgid = "cli.users.disabled_now"
    elif args.users_command == "enable":
        user = _api_call(lambda: client.enable_user(args.user))
        msgid = "cli.users.enabled_now"
    else:
        user = _api_call(lambda: client.set_user_role(args.user, args.role))
        msgid = "cli.users.role_set"
    if args.json:
        _print_json(user)
    else:
        _print_user(user, msgid)
    return EXIT_OK


def _add_local_user(args: argparse.Namespace) -> int:
    """``tachiai users add --local``: straight into the local runtime's user store, password printed once."""
    from tachiai.cli import EXIT_OK
    from tachiai.local.user_store import LocalUserStore, generate_password

    store = LocalUserStore(Path(args.state_dir) / "users.json")
    password = generate_password()
    user = store.create(args.email, args.name or args.email, args.role, password)
    _say(
        "cli.users.local_added",
        email=user.email,
        role=user.role,
        password=password,
        path=str(store.path),
    )
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``login``, ``logout``, ``whoami`` and ``users`` on the ``tachiai`` command."""
    from tachiai.cli import _api_arguments

    language = i18n.from_environment()

    def h(msgid: str, **values: object) -> str:
        return i18n.text(f"cli.help.{msgid}", language, **values)

    def profile_argument(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--profile", help=h("auth.profile", default=DEFAULT_PROFILE))

    p = sub.add_parser("login", help=h("login"), description=h("login.description"))
    profile_argument(p)
    p.add_argument("--url", help=h("login.url", default=LOCAL_URL))
    p.add_argument("--login-url", help=h("login.login_url"))
    p.add_argument("--client-id", help=h("login.client_id"))
    p.add_argument("--stack", help=h("login.stack"))
    p.add_argument("--no-browser", action="store_true", help=h("login.no_browser"))
    p.add_argument("--timeout", type=float, default=CALLBACK_TIMEOUT_SECONDS, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("logout", help=h("logout"))
    profile_argument(p)
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser("whoami", help=h("whoami"))
    _api_arguments(p)
    p.add_argument("--json", action="store_true", help=h("auth.json"))
    p.set_defaults(func=cmd_whoami)

    users = sub.add_parser("users", help=h("users"))
    users_sub = users.add_subparsers(dest="users_command", required=True)
    u = users_sub.add_parser("add", help=h("users.add"))
    u.add_argument("email")
    u.add_argument("--name", help=h("users.add.name"))
    u.add_argument(
        "--role", choices=ROLES, default=DEFAULT_ROLE, help=h("users.add.role", default=DEFAULT_ROLE)
    )
    u.add_argument("--local", action="store_true", help=h("users.add.local"))
    u.add_argument("--state-dir", default=".tachiai-local", help=h("users.add.state_dir"))
    users_sub.add_parser("list", help=h("users.list"))
    for command in ("disable", "enable", "set-role"):
        u = users_sub.add_parser(command, help=h(f"users.{command.replace('-', '_')}"))
        u.add_argument("user", help=h("users.user"))
    users_sub.choices["set-role"].add_argument("role", choices=ROLES)
    for command_parser in users_sub.choices.values():
        _api_arguments(command_parser)
        command_parser.add_argument("--json", action="store_true", help=h("auth.json"))
        command_parser.set_defaults(func=cmd_users)
