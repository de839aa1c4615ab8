"""Sending from the command line: ``tachiai send``, ``envelopes``, ``status``, ``remind``, ``cancel``,
``resend``, ``download``, ``reissue`` (unlock a locked link), ``edit`` and ``delete`` (a draft), over the
sender API (:class:`~tachiai.local.client.SenderClient`).

Human output is in the terminal's language (:func:`tachiai.i18n.from_environment`), every sentence from
the catalogs (``cli.*``); ``--json`` prints what the API answered (stable keys, codes, every language).
A refusal is one line, ``error [code]: message``, never a traceback; the exit status says what
happened (:data:`EXIT_OK` ... :data:`EXIT_ENDED_OTHERWISE`, also in ``--help`` and the README).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tachiai import i18n
from tachiai.domain.envelope import MAX_LINK_VALIDITY_SECONDS  # checked here too: named as an option

if TYPE_CHECKING:
    from tachiai.local.client import SenderClient

EXIT_OK = 0
EXIT_REFUSED = 1
"""The API refused the request (its code and message are printed)."""
EXIT_USAGE = 2
"""The command line is wrong (an address, a duration, a file that cannot be read ...), or there is no
API to ask (no URL, not signed in)."""
EXIT_UNREACHABLE = 3
"""The API could not be reached (wrong URL, network down, the local runtime not started)."""
EXIT_ENDED_OTHERWISE = 4
"""``--wait``: the envelope ended without the contract (rejected, expired, cancelled, failed)."""

ENDED = ("completed", "rejected", "expired", "cancelled", "failed")
STATUSES = ("draft", "sent", "in_progress", *ENDED)

_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\s*(\d{1,6})\s*([hdw])\s*", re.IGNORECASE)
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+")
_TEMPLATE_ID = re.compile(r"tpl_[0-9a-f]{24}")
_ENVELOPE_ID = re.compile(r"env_[0-9a-f]{24}")


class CliError(Exception):
    """A failure the command reports as ``error [code]: message`` with an exit status."""

    def __init__(self, code: str, messages: Mapping[Any, str], exit_status: int, **extra: Any) -> None:
        self.code, self.exit_status, self.extra = code, exit_status, extra
        self.messages: dict[str, str] = {str(language): text for language, text in messages.items()}
        super().__init__(f"[{code}] {self.messages.get('en', '')}")

    @classmethod
    def usage(cls, msgid: str, **values: object) -> CliError:
        """A wrong command line, with the catalog message ``msgid``."""
        return cls("usage", i18n.texts(msgid, **values), EXIT_USAGE)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.messages, **self.extra}}


# --- parsing the command line ------------------------------------------------------------------


@dataclass
class PartyArgument:
    """One ``--to`` with the options that followed it (``--org``, ``--code``, ``--role``,
    ``--party-language``)."""

    name: str
    email: str
    organization: str | None = None
    access_code: str | None = None
    role: str | None = None
    language: str | None = None

    def request(self, default_language: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "email": self.email,
            "language": self.language or default_language,
        }
        for key in ("organization", "access_code", "role"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        return body


def parse_party(value: str, position: int) -> PartyArgument:
    """``山田太郎 <taro@example.co.jp>`` (or ＜＞, ``"Yamada, Taro" <…>``, ``山田太郎 taro@…``, a bare
    address) → the person; the name defaults to the address.

    :raises CliError: (usage) not one name and address; ``position`` (from 1) says which ``--to``.
    """
    text = value.strip().replace("＜", "<").replace("＞", ">").replace("＠", "@")
    pairs = getaddresses([text])
    name, address = pairs[0] if len(pairs) == 1 else ("", "")
    if not _ADDRESS.fullmatch(address) and "<" not in text:
        # 「山田太郎 taro@example.co.jp」: a name and an address without brackets
        head, _, tail = text.rpartition(" ")
        name, address = (head.strip(), tail) if head.strip() else (name, address)
    if not _ADDRESS.fullmatch(address):
        raise CliError.usage("cli.envelope.usage.bad_to", position=position, value=value)
    return PartyArgument(name=name.strip() or address, email=address)


def parse_duration(value: str) -> int:
    """``14d``, ``72h``, ``2w`` → seconds (1 hour to 180 days).

    :raises CliError: (usage) not such a duration, or out of bounds.
    """
    match = _DURATION.fullmatch(value)
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0
    if not 0 < seconds <= MAX_LINK_VALIDITY_SECONDS:
        raise CliError.usage("cli.envelope.usage.bad_expires", value=value)
    return seconds


class _ToAction(argparse.Action):
    """``--to``: one more participant, in signing order."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, _: Any = None
    ) -> None:
        parties: list[PartyArgument | str] = getattr(ns, "parties", None) or []
        parties.append(str(value))  # parsed once the line is complete, so that errors come in order
        ns.parties = parties
        ns.party_options = [*(getattr(ns, "party_options", None) or []), {}]


class _PartyOptionAction(argparse.Action):
    """``--org``, ``--code``, ``--role``, ``--party-language``: for the ``--to`` just before."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, _: Any = None
    ) -> None:
        options: list[dict[str, str]] = getattr(ns, "party_options", None) or []
        if not options:
            ns.orphan_option = self.option_strings[0]
            return
        options[-1][self.dest.removeprefix("party_")] = str(value)


def parties_of(args: argparse.Namespace) -> list[PartyArgument]:
    """The ``--to`` participants with their options. :raises CliError: (usage) as :func:`parse_party`,
    or a participant option given before any ``--to``."""
    orphan = getattr(args, "orphan_option", None)
    if orphan:
        raise CliError.usage("cli.envelope.usage.option_before_to", option=orphan)
    parties = []
    for position, (value, options) in enumerate(
        zip(args.parties or [], args.party_options or [], strict=True), start=1
    ):
        party = parse_party(value, position)
        for key, option in options.items():
            setattr(party, key, option)
        parties.append(party)
    return parties


# --- tables that line up Japanese text ---------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: 2 for wide and full-width characters (East Asian width W/F),
    0 for combining marks, 1 for the rest (ambiguous ones, e.g. ``…``, as most terminals show them)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` columns: padded with spaces, or cut with ``…`` where it would not
    fit (never half of a wide character)."""
    if display_width(text) <= width:
        return text + " " * (width - display_width(text))
    kept, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + "…" + " " * (width - 1 - used)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], limits: Sequence[int]) -> str:
    """Columns aligned by display width, each at most ``limits[i]`` columns (0: no limit)."""
    body = [list(row) for row in rows]
    widths = []
    for i, header in enumerate(headers):
        natural = max(display_width(cell) for cell in [header, *(row[i] for row in body)])
        widths.append(min(natural, limits[i]) if limits[i] else natural)
    lines = [
        "  ".join(fit(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in [headers, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- progress on standard error -----------------------------------------------------------------


class Progress:
    """A progress bar on a terminal (redrawn in place); elsewhere (a pipe, a log) one line when done."""

    def __init__(self, label: str, total: int, stream: IO[str] | None = None) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()

    def advance(self, amount: int) -> None:
        self.done = min(self.total, self.done + amount)
        if self.live:
            filled = 30 * self.done // self.total
            bar = "#" * filled + "-" * (30 - filled)
            percent = 100 * self.done // self.total
            self.stream.write(f"\r{self.label} [{bar}] {percent:3d}% {_size(self.done)}/{_size(self.total)}")
            self.stream.flush()

    def finish(self) -> None:
        self.stream.write(("\r" if self.live else "") + f"{self.label} {_size(self.total)}\n")
        self.stream.flush()


def _size(count: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


# --- what the commands share ----------------------------------------------------------------------


def _language() -> i18n.Language:
    return i18n.from_environment()


def say(msgid: str, **values: object) -> None:
    """Print the catalog sentence ``msgid`` in the terminal's language."""
    print(i18n.text(msgid, _language(), **values))


def print_json(data: Any) -> None:
    """``--json``: ``data`` as indented JSON, Japanese as is."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def client_for(args: argparse.Namespace) -> SenderClient:
    """The sender API client of ``--url``/``--token`` or the signed-in profile (see
    ``tachiai.cli._sender_client``, which says what it raises)."""
    from tachiai import cli

    return cli._sender_client(args)


def call_api(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` against the API; a refusal or an unreachable API becomes a
    :class:`CliError`."""
    import requests

    from tachiai.local.client import ApiError

    try:
        return call(*args, **kwargs)
    except ApiError as e:
        error = e.body.get("error", {}) if isinstance(e.body, dict) else {}
        messages = error.get("message") if isinstance(error.get("message"), dict) else None
        if not messages:
            messages = i18n.texts("cli.envelope.error.http", status=e.status, body=str(e.body)[:200])
        extra = {"problems": error["problems"]} if error.get("problems") else {}
        raise CliError(error.get("code") or f"http_{e.status}", messages, EXIT_REFUSED, **extra) from e
    except requests.RequestException as e:
        # The operating system's words ("Connection refused") and the URL, not urllib3's nesting of them.
        why = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(e))
        reason = f"{e.request.url if e.request else ''} ({why[1] if why else type(e).__name__})".strip()
        raise CliError(
            "unreachable", i18n.texts("cli.envelope.error.unreachable", reason=reason), EXIT_UNREACHABLE
        ) from e


def command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every refusal as one line (``--json``: the error object on standard output) and its exit status."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from tachiai import cli
        from tachiai.domain.errors import TachiaiError

        try:
            return func(args)
        except cli._UsageError as e:  # from the shared --url/--token handling
            failure = CliError("usage", {language: str(e) for language in i18n.LANGUAGES}, EXIT_USAGE)
        except TachiaiError as e:  # before any request: not signed in, a profile that cannot be read
            failure = CliError(e.code, e.to_dict()["message"], EXIT_USAGE)
        except CliError as e:
            failure = e
        if getattr(args, "json", False):
            print_json(failure.to_dict())
        else:
            message = failure.messages.get(_language()) or failure.messages.get("en", "")
            print(f"error [{failure.code}]: {message}", file=sys.stderr)
            for problem in failure.extra.get("problems", []):
                print(f"  {problem.get('location')}: {problem.get('problem')}", file=sys.stderr)
        return failure.exit_status

    return run


def _status(value: str) -> str:
    return i18n.text(f"cli.envelope.status.{value}", _language()) if value in STATUSES else value


def _participant_status(value: str) -> str:
    known = ("waiting", "notified", "opened", "agreed", "rejected", "forwarded")
    return i18n.text(f"cli.envelope.participant.{value}", _language()) if value in known else value


def local_time(value: str | None) -> str:
    """An API time in the terminal's time zone, to the minute."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")


def whose_turn(envelope: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The participant the envelope waits for (none unless it is under way)."""
    if envelope["status"] not in ("sent", "in_progress"):
        return None
    participants: list[Mapping[str, Any]] = sorted(envelope["participants"], key=lambda p: p["order"])
    return next((p for p in participants if p["status"] not in ("agreed", "forwarded")), None)


def read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise CliError.usage("cli.envelope.usage.cannot_read", path=path, reason=e.strerror or str(e)) from e


# --- send -------------------------------------------------------------------------------------------


@command
def cmd_send(args: argparse.Namespace) -> int:
    """Create an envelope from the files and ``--to`` participants and send it; or, given the id of a
    draft (``tachiai send env_…``), send that draft."""
    if len(args.files) == 1 and _ENVELOPE_ID.fullmatch(args.files[0]) and not Path(args.files[0]).exists():
        client = client_for(args)
        envelope = call_api(client.send, args.files[0])
    else:
        client, created = _create(args)
        if args.draft:
            return _report_sent(args, created, "cli.send.draft")
        envelope = call_api(client.send, created["id"])
    if args.wait:
        return _wait(client, envelope, args)
    return _report_sent(args, envelope, "cli.send.sent")


def _create(args: argparse.Namespace) -> tuple[SenderClient, dict[str, Any]]:
    """The draft of ``tachiai send FILE... --to ...``, its large files uploaded (with progress)."""
    parties = parties_of(args)
    if not args.files and not args.template:
        raise CliError.usage("cli.envelope.usage.no_document")
    if not parties and not args.template:
        raise CliError.usage("cli.envelope.usage.no_participant")
    if args.files and args.template:
        # The API takes a template's documents or the request's, never both: say so before any upload.
        raise CliError.usage("cli.envelope.usage.template_with_files", template=args.template)
    files = [(Path(f).name, read_file(f)) for f in args.files]
    request: dict[str, Any] = {
        "participants": [p.request(args.language) for p in parties],
        "language": args.language,
        "documents": document_requests(files),
    }
    optional = {
        "title": args.title or (Path(args.files[0]).stem if args.files else None),
        "message": args.message,
        "link_validity_seconds": parse_duration(args.expires) if args.expires else None,
        "auto_remind_every_days": args.remind_every,
    }
    request.update({key: value for key, value in optional.items() if value is not None})
    client = client_for(args)
    if args.template:
        request["template_id"] = template_id_of(client, args.template)
        if not request["documents"]:
            del request["documents"]  # the template's documents
    created: dict[str, Any] = call_api(client.create_raw, request)
    upload_documents(client, created, files)
    return client, created


def document_requests(files: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """The API's ``documents`` for ``(name, data)`` files: inline up to the client's limit, the larger
    ones without content (the API answers with a presigned upload for each)."""
    from tachiai.local.client import INLINE_LIMIT

    return [
        {"name": name, **({"content_base64": _b64(data)} if len(data) <= INLINE_LIMIT else {})}
        for name, data in files
    ]


def upload_documents(
    client: SenderClient, created: Mapping[str, Any], files: Sequence[tuple[str, bytes]]
) -> None:
    """Upload the files the API answered ``uploads`` for (an envelope's or a template's), each with a
    progress bar on standard error. :raises CliError: an upload refused or unreachable."""
    # The documents come back in the order given (d1, d2, ...): each upload is for one of them.
    data_of = {d["id"]: data for d, (_, data) in zip(created["documents"], files, strict=False)}
    for upload in created.get("uploads", []):
        document = next(d for d in created["documents"] if d["id"] == upload["document_id"])
        data = data_of[document["id"]]
        progress = Progress(
            i18n.text("cli.envelope.progress.upload", _language(), name=document["name"]), len(data)
        )
        call_api(client.upload_with_progress, upload, document["name"], data, progress.advance)
        progress.finish()


def _report_sent(args: argparse.Namespace, envelope: Mapping[str, Any], msgid: str) -> int:
    if args.json:
        print_json(envelope)
    else:
        say(msgid, id=envelope["id"], title=envelope["title"])
        say("cli.send.next", id=envelope["id"])
    return EXIT_OK


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def template_id_of(client: SenderClient, name_or_id: str) -> str:
    """``--template``: a template id as is, else the one template of that name."""
    if _TEMPLATE_ID.fullmatch(name_or_id):
        return name_or_id
    templates = call_api(client.templates)
    found = [t["id"] for t in templates if t.get("name") == name_or_id]
    if len(found) != 1:
        msgid = "cli.envelope.usage.template_ambiguous" if found else "cli.envelope.usage.template_not_found"
        raise CliError.usage(msgid, name=name_or_id)
    return str(found[0])


def _wait(client: SenderClient, envelope: Mapping[str, Any], args: argparse.Namespace) -> int:
    """Poll until the envelope ends, saying each change on standard error; the exit status says how."""
    seen: tuple[str, str | None] | None = None
    while True:
        turn = whose_turn(envelope)
        state = (envelope["status"], turn["id"] if turn else None)
        if state != seen:
            seen = state
            agreed = sum(p["status"] == "agreed" for p in envelope["participants"])
            total = sum(p["status"] != "forwarded" for p in envelope["participants"])
            line = (
                i18n.text(
                    "cli.send.wait.turn",
                    _language(),
                    status=_status(envelope["status"]),
                    name=turn["name"],
                    agreed=agreed,
                    total=total,
                )
                if turn
                else i18n.text("cli.send.wait.status", _language(), status=_status(envelope["status"]))
            )
            print(line, file=sys.stderr, flush=True)
        if envelope["status"] in ENDED:
            break
        time.sleep(args.interval)
        envelope = call_api(client.get, envelope["id"])
    if args.json:
        print_json(envelope)
    else:
        say("cli.send.wait.ended", id=envelope["id"], status=_status(envelope["status"]))
        if envelope.get("outcome_reason"):
            say("cli.envelope.show.reason", reason=envelope["outcome_reason"])
    return EXIT_OK if envelope["status"] == "completed" else EXIT_ENDED_OTHERWISE


# --- envelopes, status ------------------------------------------------------------------------------


@command
def cmd_envelopes(args: argparse.Namespace) -> int:
    client = client_for(args)
    if args.all:
        envelopes, cursor = call_api(list, client.all_envelopes(args.status)), None
    else:
        page = call_api(client.envelopes_page, args.status, args.limit, args.cursor)
        envelopes, cursor = page["envelopes"], page.get("cursor")
    if args.json:
        print_json({"envelopes": envelopes, "cursor": cursor})
        return EXIT_OK
    if not envelopes:
        say("cli.envelopes.none")
        return EXIT_OK
    print(envelope_table(envelopes))
    if cursor:
        say("cli.envelopes.more", cursor=cursor)
    return EXIT_OK


def envelope_table(envelopes: Iterable[Mapping[str, Any]]) -> str:
    """id, title, status, whose turn, deadline, updated: one envelope a line."""
    language = _language()
    headers = [
        i18n.text(f"cli.envelopes.{h}", language)
        for h in ("id", "title", "status", "turn", "deadline", "updated")
    ]
    rows = []
    for envelope in envelopes:
        turn = whose_turn(envelope)
        rows.append(
            [
                envelope["id"],
                envelope["title"],
                _status(envelope["status"]),
                turn["name"] if turn else "-",
                local_time(turn.get("link_expires_at")) if turn else "-",
                local_time(envelope["updated_at"]),
            ]
        )
    return table(headers, rows, limits=[0, 30, 0, 20, 0, 0])


@command
def cmd_status(args: argparse.Namespace) -> int:
    client = client_for(args)
    envelope = call_api(client.get, args.envelope_id)
    if args.json:
        print_json(envelope)
    else:
        print(envelope_report(envelope))
    return EXIT_OK


def envelope_report(envelope: Mapping[str, Any]) -> str:
    """The envelope for a person: what it is, the participants in order, whose turn, the audit trail."""
    language = _language()

    def t(msgid: str, **values: object) -> str:
        return i18n.text(msgid, language, **values)

    lines = [
        t("cli.envelope.show.envelope", id=envelope["id"], title=envelope["title"]),
        t("cli.envelope.show.status", status=_status(envelope["status"])),
        t("cli.envelope.show.sender", name=envelope["sender"]["name"], email=envelope["sender"]["email"]),
        t(
            "cli.envelope.show.times",
            created=local_time(envelope["created_at"]),
            sent=local_time(envelope.get("sent_at")),
            completed=local_time(envelope.get("completed_at")),
        ),
    ]
    if envelope.get("outcome_reason"):
        lines.append(t("cli.envelope.show.reason", reason=envelope["outcome_reason"]))
    if envelope.get("undelivered_notice"):
        # The sender's own mail may be what failed: this line (and the console) is how they learn it.
        lines.append(t("cli.envelope.show.undelivered", outcome=_status(envelope["undelivered_notice"])))
    if envelope.get("metadata_status") == "failed":
        reason = envelope.get("metadata_error") or "-"
        lines.append(t("cli.envelope.show.metadata_failed", reason=reason))
    turn = whose_turn(envelope)
    if turn:
        lines.append(
            t("cli.envelope.show.turn", name=turn["name"], deadline=local_time(turn.get("link_expires_at")))
        )
    lines.append("")
    lines.append(t("cli.envelope.show.documents"))
    for document in envelope["documents"]:
        pages = document.get("pages") or "-"
        lines.append(f"  {document['id']}  {document['name']}  ({t('cli.envelope.show.pages', pages=pages)})")
    lines.append("")
    lines.append(t("cli.envelope.show.participants"))
    rows = []
    for p in envelope["participants"]:
        notes = []
        if "access_code" in p.get("auth_methods", []):
            notes.append(t("cli.envelope.show.access_code"))
        if p.get("reminders"):
            notes.append(t("cli.envelope.show.reminders", count=p["reminders"]))
        if p.get("locked"):
            notes.append(t("cli.envelope.show.locked"))
        if p.get("reason"):
            notes.append(t("cli.envelope.show.reason", reason=p["reason"]))
        who = f"{p['name']} <{p['email']}>" + (f" ({p['organization']})" if p.get("organization") else "")
        rows.append(
            [
                str(p["order"]),
                who,
                _participant_status(p["status"]),
                local_time(p.get("link_expires_at")),
                " ".join(notes),
            ]
        )
    headers = [t(f"cli.envelope.show.column.{c}") for c in ("order", "person", "status", "deadline", "notes")]
    lines.extend("  " + line for line in table(headers, rows, limits=[0, 50, 0, 0, 0]).splitlines())
    events = envelope.get("events") or []
    if events:
        lines.append("")
        lines.append(t("cli.envelope.show.audit"))
        for event in events:
            lines.append(
                f"  {event['seq']:>3}  {local_time(event['at'])}  {event['kind']:<24} {event['actor']}"
            )
    return "\n".join(lines)


# --- remind, cancel, resend ---------------------------------------------------------------------------


@command
def cmd_remind(args: argparse.Namespace) -> int:
    client = client_for(args)
    envelope = call_api(client.remind, args.envelope_id)
    if args.json:
        print_json(envelope)
        return EXIT_OK
    reminded = max(envelope["participants"], key=lambda p: p.get("reminders", 0))
    say("cli.remind.done", name=reminded["name"], email=reminded["email"], count=reminded.get("reminders", 0))
    return EXIT_OK


@command
def cmd_cancel(args: argparse.Namespace) -> int:
    client = client_for(args)
    envelope = call_api(client.cancel, args.envelope_id, args.reason)
    if args.json:
        print_json(envelope)
    else:
        say("cli.cancel.done", id=envelope["id"], title=envelope["title"])
    return EXIT_OK


@command
def cmd_resend(args: argparse.Namespace) -> int:
    corrections = {
        "title": args.title,
        "message": args.message,
        "link_validity_seconds": parse_duration(args.expires) if args.expires else None,
    }
    client = client_for(args)
    overrides = {key: value for key, value in corrections.items() if value is not None}
    draft = call_api(client.resend, args.envelope_id, send=args.send, **overrides)
    if args.json:
        print_json(draft)
    else:
        msgid = "cli.resend.sent" if args.send else "cli.resend.draft"
        say(msgid, id=draft["id"], original=args.envelope_id, title=draft["title"])
    return EXIT_OK


# --- reissue; a draft's edit and delete -----------------------------------------------------------------


def participant_of(envelope: Mapping[str, Any], which: str) -> Mapping[str, Any]:
    """``tachiai reissue``'s PARTICIPANT in ``envelope``: an id (``p2``), an order number from 1
    (``2``), or an email address (any case); of several that match, the one still in the signing order
    (not forwarded).

    :raises CliError: (usage) nobody in the envelope is ``which``.
    """
    wanted = which.strip()
    found = [
        p
        for p in envelope["participants"]
        if p["id"] == wanted
        or (wanted.isdigit() and p["order"] == int(wanted))
        or ("@" in wanted and str(p["email"]).lower() == wanted.lower())
    ]
    if not found:
        raise CliError.usage("cli.reissue.usage.no_participant", id=envelope["id"], participant=which)
    return min(found, key=lambda p: p["status"] == "forwarded")


@command
def cmd_reissue(args: argparse.Namespace) -> int:
    """Unlock a participant's locked link and mail them a fresh one."""
    client = client_for(args)
    participant = participant_of(call_api(client.get, args.envelope_id), args.participant)
    envelope = call_api(client.reissue, args.envelope_id, participant["id"])
    if args.json:
        print_json(envelope)
    else:
        say("cli.reissue.done", name=participant["name"], email=participant["email"], id=envelope["id"])
    return EXIT_OK


@command
def cmd_edit(args: argparse.Namespace) -> int:
    """Change a draft's title, message or link validity."""
    corrections = {
        "title": args.title,
        "message": args.message,
        "link_validity_seconds": parse_duration(args.expires) if args.expires else None,
    }
    changes = {key: value for key, value in corrections.items() if value is not None}
    if not changes:
        raise CliError.usage("cli.edit.usage.nothing")
    draft = call_api(client_for(args).edit_draft, args.envelope_id, changes)
    if args.json:
        print_json(draft)
    else:
        say("cli.edit.done", id=draft["id"], title=draft["title"])
    return EXIT_OK


@command
def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a draft (a sent envelope is cancelled, never deleted: the API refuses)."""
    call_api(client_for(args).delete_draft, args.envelope_id)
    if args.json:
        print_json({"id": args.envelope_id, "deleted": True})
    else:
        say("cli.delete.done", id=args.envelope_id)
    return EXIT_OK


# --- download ---------------------------------------------------------------------------------------


@command
def cmd_download(args: argparse.Namespace) -> int:
    client = client_for(args)
    directory = Path(args.output)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError.usage(
            "cli.envelope.usage.cannot_write", path=str(directory), reason=e.strerror or str(e)
        ) from e
    files = call_api(client.downloads, args.envelope_id)
    saved: list[dict[str, Any]] = []
    names: set[str] = set()
    for item in files:
        name = _unique(_safe_name(item["name"]), names)
        progress = Progress(i18n.text("cli.envelope.progress.download", _language(), name=name), 0)
        data = call_api(client.fetch, item["url"], progress)
        sha256 = hashlib.sha256(data).hexdigest()
        expected = item.get("sha256")
        if expected and sha256 != expected:
            raise CliError(
                "download_hash_mismatch",
                i18n.texts("cli.envelope.error.hash_mismatch", name=name, expected=expected, actual=sha256),
                EXIT_REFUSED,
            )
        progress.finish()
        path = directory / name
        path.write_bytes(data)
        saved.append(
            {"name": name, "path": str(path), "bytes": len(data), "sha256": sha256, "checked": bool(expected)}
        )
    if args.json:
        print_json({"envelope_id": args.envelope_id, "files": saved})
        return EXIT_OK
    for file in saved:
        say(
            "cli.download.checked" if file["checked"] else "cli.download.saved",
            path=file["path"],
            sha256=file["sha256"],
        )
    return EXIT_OK


def _safe_name(name: str) -> str:
    """A file name from the API, as a name in the output directory (never a path out of it)."""
    cleaned = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip(" .")
    return cleaned or "download.pdf"


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(candidate)
    return candidate


# --- wiring -----------------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``send``, ``envelopes``, ``status``, ``remind``, ``cancel``, ``resend``, ``download``,
    ``reissue``, ``edit`` and ``delete``."""
    from tachiai import cli

    def h(msgid: str) -> str:  # help in the terminal's language
        return i18n.text(f"cli.help.{msgid}", _language())

    def parser(name: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=h(name),
            epilog=h("envelope.exit_status"),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        cli._api_arguments(p)
        p.add_argument("--json", action="store_true", help=h("envelope.json"))
        return p

    p = parser("send")
    p.add_argument("files", nargs="*", metavar="FILE.pdf|ID", help=h("send.files"))
    p.add_argument("--to", action=_ToAction, metavar='"NAME <ADDRESS>"', help=h("send.to"))

    def party_option(flag: str, key: str, metavar: str, choices: Sequence[str] | None = None) -> None:
        # Each applies to the --to just before it (as ``key``); argparse keeps no value of its own.
        p.add_argument(
            flag,
            dest=f"party_{key}",
            metavar=metavar,
            choices=choices,
            action=_PartyOptionAction,
            default=argparse.SUPPRESS,
            help=h(f"send.{flag.removeprefix('--').replace('-', '_')}"),
        )

    party_option("--org", "organization", "ORG")
    party_option("--code", "access_code", "CODE")
    party_option("--role", "role", "ROLE")
    party_option("--party-language", "language", "LANG", i18n.LANGUAGES)
    p.add_argument("--title", help=h("send.title"))
    p.add_argument("--message", help=h("send.message"))
    p.add_argument(
        "--language", choices=i18n.LANGUAGES, default=i18n.DEFAULT_LANGUAGE, help=h("send.language")
    )
    p.add_argument("--expires", metavar="14d|72h|2w", help=h("send.expires"))
    p.add_argument("--remind-every", type=int, metavar="DAYS", help=h("send.remind_every"))
    p.add_argument("--template", metavar="NAME|ID", help=h("send.template"))
    p.add_argument("--draft", action="store_true", help=h("send.draft"))
    p.add_argument("--wait", action="store_true", help=h("send.wait"))
    p.add_argument("--interval", type=float, default=2.0, metavar="SECONDS", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_send, parties=None, party_options=None)

    p = parser("envelopes")
    p.add_argument("--status", choices=STATUSES, help=h("envelopes.status"))
    p.add_argument("--limit", type=int, default=50, help=h("envelopes.limit"))
    p.add_argument("--cursor", help=h("envelopes.cursor"))
    p.add_argument("--all", action="store_true", help=h("envelopes.all"))
    p.set_defaults(func=cmd_envelopes)

    p = parser("status")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.set_defaults(func=cmd_status)

    p = parser("remind")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.set_defaults(func=cmd_remind)

    p = parser("cancel")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.add_argument("--reason", help=h("cancel.reason"))
    p.set_defaults(func=cmd_cancel)

    p = parser("resend")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.add_argument("--send", action="store_true", help=h("resend.send"))
    p.add_argument("--title", help=h("resend.title"))
    p.add_argument("--message", help=h("resend.message"))
    p.add_argument("--expires", metavar="14d|72h|2w", help=h("resend.expires"))
    p.set_defaults(func=cmd_resend)

    p = parser("download")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.add_argument("-o", "--output", required=True, metavar="DIR", help=h("download.output"))
    p.set_defaults(func=cmd_download)

    p = parser("reissue")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.add_argument("participant", metavar="PARTICIPANT", help=h("reissue.participant"))
    p.set_defaults(func=cmd_reissue)

    p = parser("edit")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.add_argument("--title", help=h("edit.title"))
    p.add_argument("--message", help=h("edit.message"))
    p.add_argument("--expires", metavar="14d|72h|2w", help=h("edit.expires"))
    p.set_defaults(func=cmd_edit)

    p = parser("delete")
    p.add_argument("envelope_id", metavar="ID", help=h("envelope.id"))
    p.set_defaults(func=cmd_delete)
