"""Templates from the command line (FEATURES.md S7): ``tachiai templates`` (``list``), ``templates show``,
``templates save`` and ``templates delete``, over the sender API's ``/v1/templates``.

The same conventions as :mod:`tachiai.cli_envelopes`, whose helpers this module uses (addresses,
durations, tables, uploads with progress, refusals as one line, exit statuses): human output in the
terminal's language from the catalogs (``cli.templates.*``), ``--json`` the API's answer.

``templates save`` reads the roles in signing order from the command line: each ``--role LABEL`` opens
a role, and the ``--to`` (its default person) and ``--code-required`` after it belong to that role.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tachiai import i18n
from tachiai.cli_envelopes import (
    EXIT_OK,
    CliError,
    call_api,
    client_for,
    command,
    document_requests,
    local_time,
    parse_duration,
    parse_party,
    print_json,
    read_file,
    say,
    table,
    template_id_of,
    upload_documents,
)

# --- parsing the roles ----------------------------------------------------------------------------


class _RoleAction(argparse.Action):
    """``--role LABEL``: one more role, in signing order."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, _: Any = None
    ) -> None:
        ns.roles = [*(getattr(ns, "roles", None) or []), {"label": str(value)}]


class _RoleOptionAction(argparse.Action):
    """``--to`` (the default person) and ``--code-required``: for the ``--role`` just before."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, _: Any = None
    ) -> None:
        roles: list[dict[str, Any]] = getattr(ns, "roles", None) or []
        option = self.option_strings[0]
        if not roles:
            ns.role_problem = ("cli.templates.usage.option_before_role", option, "")
        elif self.dest in roles[-1]:
            ns.role_problem = ("cli.templates.usage.option_twice", option, roles[-1]["label"])
        else:
            roles[-1][self.dest] = True if self.const is not None else str(value)


def roles_of(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The ``--role`` options as the API's ``roles``, in signing order; each role's mails and page in
    ``--language`` when given.

    :raises CliError: (usage) no ``--role``; a ``--to`` or ``--code-required`` before any ``--role`` or
        twice for one role; a ``--to`` that is not one name and address.
    """
    problem = getattr(args, "role_problem", None)
    if problem:
        msgid, option, label = problem
        raise CliError.usage(msgid, option=option, role=label)
    if not args.roles:
        raise CliError.usage("cli.templates.usage.no_role")
    roles = []
    defaults = 0
    for role in args.roles:
        body: dict[str, Any] = {"label": role["label"], "access_code_required": bool(role.get("code"))}
        if "default" in role:
            defaults += 1
            person = parse_party(role["default"], defaults)
            body.update(name=person.name, email=person.email)
        if args.language:
            body["language"] = args.language
        roles.append(body)
    return roles


def template_request(args: argparse.Namespace, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    """``POST /v1/templates`` for ``templates save``. :raises CliError: (usage) as :func:`roles_of`, or a
    ``--expires`` that is not a duration."""
    request: dict[str, Any] = {
        "name": args.name,
        "scope": "team" if args.team else "personal",
        "title": args.title or Path(args.files[0]).stem,
        "roles": roles_of(args),
        "documents": document_requests(files),
    }
    optional = {
        "message": args.message,
        "language": args.language,
        "link_validity_seconds": parse_duration(args.expires) if args.expires else None,
        "auto_remind_every_days": args.remind_every,
    }
    request.update({key: value for key, value in optional.items() if value is not None})
    return request


# --- the commands ---------------------------------------------------------------------------------


def _t(msgid: str, **values: object) -> str:
    return i18n.text(msgid, i18n.from_environment(), **values)


@command
def cmd_list(args: argparse.Namespace) -> int:
    """The templates the caller may use (their own and the team's), one a line."""
    found = call_api(client_for(args).templates)
    if args.json:
        print_json({"templates": found})
        return EXIT_OK
    if not found:
        say("cli.templates.none")
        return EXIT_OK
    print(template_table(found))
    return EXIT_OK


def template_table(templates: list[Mapping[str, Any]]) -> str:
    """id, name, scope, roles, documents, ready: one template a line."""
    headers = [
        _t(f"cli.templates.column.{c}") for c in ("id", "name", "scope", "roles", "documents", "ready")
    ]
    rows = [
        [
            t["id"],
            t["name"],
            _t(f"cli.templates.scope.{t['scope']}"),
            ", ".join(r["label"] for r in t["roles"]),
            ", ".join(d["name"] for d in t["documents"]),
            _t("cli.templates.ready.yes" if t["ready"] else "cli.templates.ready.no"),
        ]
        for t in templates
    ]
    return table(headers, rows, limits=[0, 30, 0, 30, 40, 0])


@command
def cmd_show(args: argparse.Namespace) -> int:
    """One template: its roles in order with their default people, message, expiry, documents."""
    client = client_for(args)
    template = call_api(client.template, template_id_of(client, args.template))
    if args.json:
        print_json(template)
    else:
        print(template_report(template))
    return EXIT_OK


def _duration(seconds: int) -> str:
    """Seconds as ``--expires`` takes them back (``14d``, ``72h``)."""
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds // 3600}h"


def template_report(template: Mapping[str, Any]) -> str:
    """The template for a person: what it is, its settings, the roles in signing order, the documents."""
    reminders = template.get("auto_remind_every_days")
    lines = [
        _t(
            "cli.templates.show.template",
            id=template["id"],
            name=template["name"],
            scope=_t(f"cli.templates.scope.{template['scope']}"),
        ),
        _t("cli.templates.show.title", title=template["title"]),
        _t("cli.templates.show.language", language=template["language"]),
        _t("cli.templates.show.expires", expires=_duration(template["link_validity_seconds"])),
        _t("cli.templates.show.reminders", days=reminders)
        if reminders
        else _t("cli.templates.show.no_reminders"),
        _t("cli.templates.show.updated", updated=local_time(template["updated_at"])),
    ]
    if template.get("message"):
        lines.append(_t("cli.templates.show.message"))
        lines.extend("  " + line for line in str(template["message"]).splitlines())
    lines.append("")
    lines.append(_t("cli.templates.show.roles"))
    rows = []
    for order, role in enumerate(template["roles"], start=1):
        default = role.get("default")
        person = (
            f"{default['name']} <{default['email']}>" if default else _t("cli.templates.show.named_when_sent")
        )
        notes = _t("cli.templates.show.code_required") if role.get("access_code_required") else ""
        rows.append([str(order), role["label"], person, notes])
    headers = [_t(f"cli.templates.show.column.{c}") for c in ("order", "role", "person", "notes")]
    lines.extend("  " + line for line in table(headers, rows, limits=[0, 30, 50, 0]).splitlines())
    lines.append("")
    lines.append(_t("cli.templates.show.documents"))
    for document in template["documents"]:
        state = (
            _t("cli.templates.show.pages", pages=document.get("pages") or "-")
            if document.get("checked")
            else _t("cli.templates.show.unchecked")
        )
        lines.append(f"  {document['id']}  {document['name']}  ({state})")
    return "\n".join(lines)


@command
def cmd_save(args: argparse.Namespace) -> int:
    """Save the PDFs, roles, message and settings as a template (a team template: administrators)."""
    files = [(Path(f).name, read_file(f)) for f in args.files]
    request = template_request(args, files)
    client = client_for(args)
    saved = call_api(client.create_template, request)
    upload_documents(client, saved, files)
    if args.json:
        print_json(saved)
    else:
        say(
            "cli.templates.saved",
            id=saved["id"],
            name=saved["name"],
            scope=_t(f"cli.templates.scope.{saved['scope']}"),
        )
        say("cli.templates.next", name=shlex.quote(saved["name"]))
    return EXIT_OK


@command
def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a template (a team template: administrators)."""
    client = client_for(args)
    template_id = template_id_of(client, args.template)
    call_api(client.delete_template, template_id)
    if args.json:
        print_json({"id": template_id, "deleted": True})
    else:
        say("cli.templates.deleted", id=template_id, template=args.template)
    return EXIT_OK


# --- wiring -----------------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``templates`` (alone: ``templates list``) with ``list``, ``show``, ``save``, ``delete``."""
    from tachiai import cli

    def h(msgid: str) -> str:  # help in the terminal's language
        return _t(f"cli.help.{msgid}")

    def common(p: argparse.ArgumentParser) -> None:
        cli._api_arguments(p)
        p.add_argument("--json", action="store_true", help=h("envelope.json"))

    templates = sub.add_parser(
        "templates",
        help=h("templates"),
        epilog=h("envelope.exit_status"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(templates)
    templates.set_defaults(func=cmd_list)
    actions = templates.add_subparsers(dest="templates_command", metavar="{list,show,save,delete}")

    def parser(name: str) -> argparse.ArgumentParser:
        # Options not given here are not set at all (SUPPRESS), so that `templates --json list` keeps
        # the --json given before the action: a subcommand's defaults would overwrite it.
        p = actions.add_parser(
            name,
            help=h(f"templates.{name}"),
            epilog=h("envelope.exit_status"),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            argument_default=argparse.SUPPRESS,
        )
        common(p)
        p.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
        return p

    parser("list").set_defaults(func=cmd_list)

    p = parser("show")
    p.add_argument("template", metavar="NAME|ID", help=h("templates.template"))
    p.set_defaults(func=cmd_show)

    p = parser("save")
    p.add_argument("files", nargs="+", metavar="FILE.pdf", help=h("templates.save.files"))
    p.add_argument("--name", required=True, help=h("templates.save.name"))
    p.add_argument("--role", action=_RoleAction, metavar="LABEL", help=h("templates.save.role"))
    p.add_argument(
        "--to",
        dest="default",
        action=_RoleOptionAction,
        metavar='"NAME <ADDRESS>"',
        help=h("templates.save.to"),
    )
    p.add_argument(
        "--code-required",
        dest="code",
        action=_RoleOptionAction,
        nargs=0,
        const=True,
        help=h("templates.save.code_required"),
    )
    p.add_argument("--title", default=None, help=h("templates.save.title"))
    p.add_argument("--message", default=None, help=h("templates.save.message"))
    p.add_argument("--language", default=None, choices=i18n.LANGUAGES, help=h("templates.save.language"))
    p.add_argument("--expires", default=None, metavar="14d|72h|2w", help=h("templates.save.expires"))
    p.add_argument("--remind-every", default=None, type=int, metavar="DAYS", help=h("send.remind_every"))
    p.add_argument("--team", default=False, action="store_true", help=h("templates.save.team"))
    p.set_defaults(func=cmd_save, roles=None)

    p = parser("delete")
    p.add_argument("template", metavar="NAME|ID", help=h("templates.template"))
    p.set_defaults(func=cmd_delete)
