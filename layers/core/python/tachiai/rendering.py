"""The one Jinja2 environment of tachiai: the layouts of mails, the signing page (and the console to
come) under ``tachiai/templates/``, their words from the catalogs (:mod:`tachiai.i18n`).

* ``*.html.j2`` templates are autoescaped: every ``{{ value }}`` is HTML-escaped, attributes included
  (quotes too), unless it is markup a template built itself (a macro's output).
* ``*.txt.j2`` templates (plain-text mails) are not escaped: the code hands them values that are
  already clean (one-line values flattened, multi-line values quoted), see :mod:`tachiai.mail.templates`.
* ``t("some.id", **values)`` is the message ``some.id`` in the language being rendered (the ``language``
  variable every render gets), its placeholders filled from ``values``.
* ``languages`` and ``language_name(code)``: every catalog language, each in its own name (switches).
* ``StrictUndefined``: a misspelled variable is an error in the tests, never an empty string in a mail.

The environment is built on first use (no work at import time) and kept for the process.
"""

from __future__ import annotations

import html
from functools import cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from tachiai import i18n

if TYPE_CHECKING:
    # Jinja2 itself is imported when the first template is rendered, not with the handler modules:
    # a cold start that renders nothing (most API calls) does not pay for it.
    from jinja2 import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

__all__ = ["environment", "render"]


def _t(context: Context, msgid: str, /, **values: object) -> str:
    """The catalog message ``msgid`` in the language of this render. :raises i18n.MissingMessage:"""
    return i18n.text(msgid, context["language"], **values)


def _language_name(language: i18n.Language) -> str:
    """A language's own name for itself (日本語, English, 简体中文): what a language switch shows."""
    return i18n.text("language.name", language)


def _finalize(eval_context: EvalContext, value: Any) -> Any:
    # The escaping of html.escape (&#x27; for a quote), as the pages and mails always had: the same
    # bytes before and after the move to templates. Markup (a macro's output) is already safe.
    if eval_context.autoescape and not isinstance(value, Markup):
        return Markup(html.escape(str(value), quote=True))  # noqa: S704 (escaped on this very line)
    return value


@cache
def environment() -> Environment:
    """The shared environment (built once per process). Autoescape is on for ``*.html.j2`` only."""
    from jinja2 import (
        Environment,
        PackageLoader,
        StrictUndefined,
        pass_context,
        pass_eval_context,
        select_autoescape,
    )

    env = Environment(
        loader=PackageLoader("tachiai", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        finalize=pass_eval_context(_finalize),
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.globals["t"] = pass_context(_t)
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["language_name"] = _language_name
    return env


def render(template: str, language: i18n.Language, /, **context: object) -> str:
    """``template`` (a path under ``tachiai/templates/``) rendered in ``language`` with ``context``.

    :raises tachiai.i18n.MissingMessage: a message the template uses is missing from the catalog.
    :raises jinja2.TemplateError: the template is missing or uses an undefined value (programming
        errors, caught by the tests of every mail and page).
    """
    return environment().get_template(template).render(language=language, **context)
