"""The console's front door: sign in (authorization code + PKCE), the callback, sign out (here or
everywhere), the signed-out page, and the static files (:mod:`tachiai.console.session` does the work).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response

from tachiai import names
from tachiai.console import session as sessions
from tachiai.console.framework import SIGN_IN_COOKIE, Console, RouteKey, serve_static
from tachiai.console.session import PendingSignIn
from tachiai.domain.errors import TachiaiError

SIGNED_OUT_NOTICE = "console.signed_out.everywhere"


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    def sign_in() -> Response[str]:
        """To the login service; a browser already signed in goes straight on to ``next``."""
        wanted = sessions.safe_next(console.query("next"))
        if console.signed_in() is not None:
            return console.redirect(wanted)
        redirect_uri = console.absolute_url(names.CONSOLE_CALLBACK_PATH)
        pending, location = sessions.begin_sign_in(
            console.services(), wanted, redirect_uri, console.language()
        )
        return console.redirect_away(location, cookies=[console.sign_in_cookie(pending.to_cookie())])

    def callback() -> Response[str]:
        """The login service's answer: state checked, code exchanged, session opened, on to ``next``."""
        pending = None
        for value in reversed(console.cookies(SIGN_IN_COOKIE)):
            pending = PendingSignIn.from_cookie(value)
            if pending is not None and pending.state == console.query("state"):
                break
        # Whatever happens next, this sign-in is used up.
        console.add_cookie(console.sign_in_cookie(None))
        session_id, _, wanted = sessions.finish_sign_in(
            console.services(),
            pending,
            state=console.query("state"),
            code=console.query("code"),
            error=console.query("error"),
            redirect_uri=console.absolute_url(names.CONSOLE_CALLBACK_PATH),
        )
        console.add_cookie(console.session_cookie(session_id))
        return console.redirect(wanted)

    def sign_out() -> Response[str]:
        """End this browser's session (``everywhere``: every session of the person, and their sign-ins
        at the login service), then end the sign-in there too and come back to the signed-out page."""
        everywhere = console.field("everywhere") in ("1", "true", "on", "yes")
        session = console.session()
        if everywhere:
            sessions.end_everywhere(console.services(), session)
        else:
            sessions.end_session(console.services(), session)
        console.add_cookie(console.session_cookie(None))
        back = console.absolute_url(names.CONSOLE_SIGNED_OUT_PATH)
        if everywhere:
            back += "?everywhere=1"
        try:
            location = console.services().login.logout_url(logout_uri=back)
        except TachiaiError:
            location = back
        return console.redirect_away(location)

    def signed_out() -> Response[str]:
        notice = SIGNED_OUT_NOTICE if console.query("everywhere") == "1" else None
        return console.render("console/signed_out.html.j2", visitor=None, notice=notice, nav=None)

    def static(name: str) -> Response[str]:
        return serve_static(console, name)

    return {
        ("GET", "/app/sign-in"): sign_in,
        ("GET", names.CONSOLE_CALLBACK_PATH): callback,
        ("POST", "/app/sign-out"): sign_out,
        ("GET", names.CONSOLE_SIGNED_OUT_PATH): signed_out,
        ("GET", "/app/static/{name}"): static,
    }
