"""The ``tachiai`` command.

Exit status: 0 success; 1 verification found an invalid signature; 2 the input was refused (with a
typed error code), a usage error, or an unexpected failure; 3 ``verify``: intact but untrusted or
incomplete. Errors are printed as one line (or JSON), never as a traceback (``--verbose`` adds it for
an unexpected failure). A closed output pipe (``tachiai verify x.pdf | head -1``) ends the command
quietly with 141, as if SIGPIPE had.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tachiai.domain.errors import TachiaiError

if TYPE_CHECKING:
    from tachiai.local.client import SenderClient

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_REFUSED = 2
EXIT_INCOMPLETE = 3
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a command whose reader went away."""
EXIT_INTERRUPTED = 130


def _t(msgid: str, **values: object) -> str:
    """The catalog message ``msgid`` in the terminal's language (:func:`tachiai.i18n.from_environment`)."""
    from tachiai import i18n

    return i18n.text(msgid, i18n.from_environment(), **values)


def _catalog_languages() -> list[str]:
    """Every language tachiai speaks (``--language`` choices): adding a catalog adds the choice."""
    from tachiai import i18n

    return list(i18n.LANGUAGES)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _read_input(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise _UsageError(_t("cli.main.cannot_read", path=path, reason=e.strerror)) from e


class _UsageError(Exception):
    pass


def _self_command() -> str:
    """How the user ran us (e.g. ``.venv/bin/tachiai``), for hints that they can paste."""
    invoked = Path(sys.argv[0])
    if invoked.name != "tachiai":
        return "tachiai"
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


# --- preflight ----------------------------------------------------------------------------------


def cmd_preflight(args: argparse.Namespace) -> int:
    from tachiai.sealing.preflight import preflight

    data = _read_input(args.file)
    try:
        prepared = preflight(data, max_bytes=int(args.max_mb * 1024 * 1024))
    except TachiaiError as e:
        _print_json({"accepted": False, **e.to_dict()})
        return EXIT_REFUSED
    _print_json({"accepted": True, **prepared.to_dict()})
    return EXIT_OK


# --- extract ------------------------------------------------------------------------------------


def cmd_extract(args: argparse.Namespace) -> int:
    from tachiai.config import settings
    from tachiai.extract import engine_from_settings, extract_document

    data = _read_input(args.file)
    config = settings()
    if args.model_id:
        config = config.model_copy(update={"extraction_engine": "bedrock", "bedrock_model_id": args.model_id})
    if args.engine:
        config = config.model_copy(update={"extraction_engine": args.engine})
    metadata = extract_document(data, engine_from_settings(config))
    _print_json(metadata.model_dump(mode="json"))
    return EXIT_OK


# --- the ledger over the API (search, import) ----------------------------------------------------


def _sender_client(args: argparse.Namespace) -> SenderClient:
    """The sender API: ``--url`` / ``$TACHIAI_URL`` with ``--token`` / ``$TACHIAI_TOKEN``; without a
    token, the profile signed in with ``tachiai login`` (``--profile`` / ``$TACHIAI_PROFILE``), its
    access token refreshed when near expiry and sent only to the API it was issued for.

    :raises _UsageError: a token without an API URL.
    :raises NotSignedIn: no token and no signed-in profile.
    :raises ProfileUrlMismatch: the URL given is not the profile's API.
    :raises SessionExpired: the profile's session ended (sign in again).
    """
    from tachiai import i18n
    from tachiai.local.client import SenderClient

    url = getattr(args, "url", None) or os.environ.get("TACHIAI_URL")
    token = getattr(args, "token", None) or os.environ.get("TACHIAI_TOKEN")
    if not token:
        from tachiai.cli_auth import profile_client

        return profile_client(args, url)
    if not url:
        raise _UsageError(i18n.text("cli.api.no_url", i18n.from_environment()))
    return SenderClient(url, token)


T = TypeVar("T")


def _api_call(call: Callable[[], T]) -> T:
    """Run a request; the API's refusal or an unreachable URL becomes one clear line."""
    import requests

    from tachiai.local.client import ApiError

    try:
        return call()
    except ApiError as e:
        error = e.body.get("error", {}) if isinstance(e.body, dict) else {}
        message = error.get("message") or {}
        from tachiai import i18n

        language = i18n.from_environment()
        text = str(message.get(language) or message.get("en")) if isinstance(message, dict) else str(e.body)
        problems = [f"{p.get('location')}: {p.get('problem')}" for p in error.get("problems", [])]
        if problems:
            text += f" ({'; '.join(problems)})"
        raise _UsageError(f"[{e.code or e.status}] {text}") from e
    except requests.RequestException as e:
        raise _UsageError(_t("cli.api.unreachable", error=e)) from e


def cmd_search(args: argparse.Namespace) -> int:
    from tachiai import i18n, ledger_listing

    client = _sender_client(args)
    conditions = {
        "date_from": args.date_from,
        "date_to": args.date_to,
        "counterparty": args.counterparty,
        "amount_min": args.amount_min,
        "amount_max": args.amount_max,
        "title": args.title,
        "text": args.text,
        "status": args.status,
    }
    if args.all:
        contracts = _api_call(lambda: list(client.search_all(conditions)))
        cursor = None
    else:
        page = _api_call(lambda: client.search(conditions, args.cursor, args.limit))
        contracts, cursor = page["contracts"], page.get("cursor")
    if args.format == "json":
        _print_json({"contracts": contracts, "cursor": cursor})
        return EXIT_OK
    if args.format == "csv":
        text = ledger_listing.to_csv(contracts)
        if args.output:
            # With a BOM, so that a spreadsheet opens the Japanese text as UTF-8.
            Path(args.output).write_text(text, encoding="utf-8-sig", newline="")
            print(_t("cli.search.written", count=len(contracts), path=args.output), file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    print(ledger_listing.table(contracts, i18n.from_environment()))
    if cursor:
        print()
        print(_t("cli.search.more", cursor=cursor))
    return EXIT_OK


def _metadata_argument(value: str | None) -> dict[str, Any] | None:
    """``--metadata``: a JSON object, or ``@file.json``."""
    if value is None:
        return None
    text = _read_input(value[1:]).decode("utf-8") if value.startswith("@") else value
    try:
        metadata = json.loads(text)
    except ValueError as e:
        raise _UsageError(_t("cli.metadata.not_json", error=e)) from e
    if not isinstance(metadata, dict):
        raise _UsageError(_t("cli.metadata.not_object", example=_METADATA_EXAMPLE))
    return metadata


IMPORT_EXTRACTION_WAIT_SECONDS = 120.0
"""How long ``tachiai import`` waits for the extraction the import started (Bedrock can take a minute,
and Lambda retries a failed run) before it prints ``extracting`` and leaves it to ``tachiai status``."""


def _extracted(client: Any, envelope_id: str, wait: float = IMPORT_EXTRACTION_WAIT_SECONDS) -> dict[str, Any]:
    """The import once its extraction ended (``extracted`` or ``failed``), or as it is after ``wait``."""
    import time

    deadline = time.monotonic() + wait
    while True:
        envelope: dict[str, Any] = _api_call(lambda: client.get(envelope_id))
        if envelope.get("metadata_status") != "extracting" or time.monotonic() >= deadline:
            return envelope
        time.sleep(1.0)


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = _read_input(args.file)
    metadata = _metadata_argument(args.metadata)
    client = _sender_client(args)
    imported = _api_call(lambda: client.import_contract(args.title or path.stem, path.name, data, metadata))
    envelope = _extracted(client, imported["id"])
    if args.json:
        _print_json(envelope)
        return EXIT_OK
    from tachiai.domain.audit import AuditKind

    arrival: dict[str, Any] = next(
        (e["data"] for e in envelope.get("events", []) if e["kind"] == AuditKind.ENVELOPE_IMPORTED), {}
    )
    print(_t("cli.import.imported", id=envelope["id"], title=envelope["title"]))
    print(_t("cli.import.sha256", sha256=arrival.get("sha256", "")))
    time, authority = arrival.get("timestamp_time", ""), arrival.get("timestamp_authority", "")
    print(_t("cli.import.timestamped", time=time, authority=authority))
    if envelope["metadata_status"] == "extracting":
        print(_t("cli.import.extracting", id=envelope["id"]))
    elif envelope["metadata_status"] == "failed":
        print(_t("cli.import.metadata_failed", reason=envelope.get("metadata_error") or "-"))
    else:
        print(_t("cli.import.metadata", status=envelope["metadata_status"]))
    for field, value in (envelope.get("metadata") or {}).items():
        if field != "evidence" and value not in (None, []):
            corrected = _t("cli.import.given") if field in envelope.get("corrected_fields", []) else ""
            print(f"  {field:<16} {value}{corrected}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from tachiai.ledger_export import export_ledger

    client = _sender_client(args)
    report = _api_call(lambda: export_ledger(client, Path(args.directory)))
    reused = _t("cli.export.reused", count=report.reused) if report.reused else ""
    print(
        _t(
            "cli.export.done",
            contracts=report.contracts,
            files=report.files,
            bytes=f"{report.bytes:,}",
            reused=reused,
            directory=report.directory,
        )
    )
    print(_t("cli.export.ledger", path=report.directory / "ledger.csv"))
    print(_t("cli.export.manifest", path=report.directory / "manifest.json"))
    for name in report.missing:
        print(_t("cli.export.missing", name=name))
    for name in report.mismatched:
        print(_t("cli.export.mismatched", name=name), file=sys.stderr)
    return EXIT_INVALID if report.mismatched else EXIT_OK


# --- verify -------------------------------------------------------------------------------------


def _load_trust(paths: Sequence[str]) -> list[Any]:
    """Every certificate in each file is an anchor (a bundle may hold the seal's and the TSA's roots)."""
    from tachiai.sealing.certificates import load_certificates

    return [cert for path in paths for cert in _certificates(path, load_certificates)]


def _load_seal_certificates(paths: Sequence[str]) -> list[Any]:
    """The first certificate of each file: the seal certificate (a chain file lists its issuers after it,
    and an issuer is not a seal)."""
    from tachiai.sealing.certificates import load_certificates

    return [_certificates(path, load_certificates)[0] for path in paths]


def _certificates(path: str, load: Callable[[bytes], list[Any]]) -> list[Any]:
    from tachiai.domain.errors import CertificateError

    try:
        return load(_read_input(path))
    except CertificateError as e:
        raise _UsageError(f"{path}: {e.detail}") from e


def cmd_verify(args: argparse.Namespace) -> int:
    from tachiai.sealing.verify import format_panel, verify_pdf

    trust = _load_trust(args.trust)
    seals = _load_seal_certificates(args.seal_cert)
    report = verify_pdf(_read_input(args.file), trust, seal_certificates=seals)
    judgement = report.judge()
    try:
        if args.json:
            _print_json(report.to_dict())
        else:
            from tachiai import i18n

            print(format_panel(report, judgement, i18n.from_environment()))
        sys.stdout.flush()
    except BrokenPipeError:
        # `tachiai verify x.pdf | head -1`: the verdict stands whether or not all of it was read.
        _discard_stdout()
    return judgement.exit_code


# --- seal (locally, with the test PKI) ------------------------------------------------------------


def cmd_seal(args: argparse.Namespace) -> int:
    import shlex

    from tachiai.domain.events import AuthMethod, EventKind, Person, SealEvent
    from tachiai.local.sealing_kit import local_sealing_kit
    from tachiai.sealing.preflight import preflight

    prepared = preflight(_read_input(args.file))
    out = Path(args.output)
    pki_dir = Path(args.pki_dir)
    with local_sealing_kit(pki_dir, key_spec=args.key_spec) as kit:
        event = SealEvent(
            kind=EventKind.SENT,
            actor=Person(name=args.name, email=args.email),
            at=datetime.now(UTC),
            auth_methods=[AuthMethod.SENDER_LOGIN],
        )
        sealed = kit.sealer.seal_event(prepared.pdf, event, language=args.language)
        if not args.no_finalize:
            sealed = kit.sealer.finalize(sealed)
    out.write_bytes(sealed)
    root_pem, seal_pem = pki_dir / "root.pem", pki_dir / "seal-chain.pem"
    check = [_self_command(), "verify", shlex.quote(str(out)), "--trust", shlex.quote(str(root_pem))]
    # --seal-cert makes the check strict: every signature must be this seal's, not just anyone's under
    # the root. The local seal key is new on every run, so the file holds the latest run's certificate.
    if seal_pem.is_file():
        check += ["--seal-cert", shlex.quote(str(seal_pem))]
    print(_t("cli.seal.sealed", path=out))
    print(_t("cli.seal.trust_root", path=root_pem))
    print(_t("cli.seal.check_with", command=" ".join(check)))
    if seal_pem.is_file():
        print(_t("cli.seal.seal_cert_note"))
    return EXIT_OK


# --- keys ---------------------------------------------------------------------------------------


def cmd_keys_csr(args: argparse.Namespace) -> int:
    from tachiai.adapters.aws import kms_client
    from tachiai.adapters.kms import kms_public_key, kms_sign, signing_algorithm_for
    from tachiai.sealing.certificates import build_csr, parse_subject

    client = kms_client()
    public_key = kms_public_key(client, args.key_id)
    algorithm = signing_algorithm_for(public_key)[0]
    request = build_csr(
        parse_subject(args.subject),
        public_key,
        lambda data: kms_sign(client, args.key_id, data, algorithm),
    )
    if args.output:
        Path(args.output).write_bytes(request)
        print(_t("cli.keys.csr_written", path=args.output))
    else:
        sys.stdout.write(request.decode())
    return EXIT_OK


def cmd_keys_self_issue(args: argparse.Namespace) -> int:
    from tachiai.adapters.aws import kms_client, ssm_client
    from tachiai.adapters.kms import kms_public_key
    from tachiai.sealing.certificates import load_certificates
    from tachiai.sealing.self_issued import (
        read_chain_parameter,
        replacement_reason,
        self_issued_certificate,
        self_issued_chain_pem,
        write_seal_certificate,
    )

    if bool(args.chain_parameter) != bool(args.roots_parameter):
        raise _UsageError(_t("cli.keys.usage.parameters_together"))
    if not (args.chain_parameter or args.output):
        raise _UsageError(_t("cli.keys.usage.no_destination"))
    if args.tsa_root and not args.roots_parameter:
        raise _UsageError(_t("cli.keys.usage.tsa_root_needs_roots"))
    tsa_roots = [cert for path in args.tsa_root for cert in load_certificates(_read_input(path))]
    kms, ssm = kms_client(), ssm_client()
    reason: str | None = "--force" if args.force else _t("cli.keys.reason.file_only")
    if args.chain_parameter and not args.force:
        current = read_chain_parameter(ssm, args.chain_parameter)
        reason = replacement_reason(current, kms_public_key(kms, args.key_id), args.subject)
        if reason is None:
            print(_t("cli.keys.kept", parameter=args.chain_parameter))
            print(_t("cli.keys.kept_note"))
            inspect = f"{_ssm_openssl(args.chain_parameter)} -subject -issuer -enddate"
            print(_t("cli.keys.inspect", command=inspect))
            return EXIT_OK
    certificate = self_issued_certificate(kms, args.key_id, args.subject, valid_years=args.valid_years)
    if args.chain_parameter:
        write_seal_certificate(
            ssm, certificate, args.chain_parameter, args.roots_parameter, extra_roots=tsa_roots
        )
    if args.output:
        Path(args.output).write_text(self_issued_chain_pem(certificate), encoding="ascii")
    print(_t("cli.keys.issued", subject=certificate.subject.human_friendly, reason=reason))
    start, end = certificate.not_valid_before, certificate.not_valid_after
    print(_t("cli.keys.valid", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
    print(_t("cli.keys.sha256", fingerprint=certificate.sha256_fingerprint))
    if args.chain_parameter:
        print(_t("cli.keys.chain", parameter=args.chain_parameter))
        print(_t("cli.keys.trust_roots", parameter=args.roots_parameter, tsa_roots=len(tsa_roots)))
        if not tsa_roots:
            print(_t("cli.keys.no_tsa_root"))
        print(_t("cli.keys.inspect", command=f"{_ssm_openssl(args.chain_parameter)} -text"))
    if args.output:
        print(_t("cli.keys.written", path=args.output))
        print(_t("cli.keys.inspect", command=f"openssl x509 -in {args.output} -noout -text"))
        print(_t("cli.keys.verify_with", command=_self_command(), path=args.output))
    return EXIT_OK


def _ssm_openssl(parameter: str) -> str:
    return (
        f"aws ssm get-parameter --name {parameter} --query Parameter.Value --output text"
        " | openssl x509 -noout"
    )


# --- demo ---------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from tachiai.local.demo import run_demo

    return run_demo(Path(args.out), command=_self_command())


# --- local runtime ----------------------------------------------------------------------------


def cmd_local(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir)
    if args.local_command == "token":
        from tachiai.local.local_auth import LocalTokens, load_or_create_secret

        tokens = LocalTokens(load_or_create_secret(state_dir / "token-secret"))
        print(
            tokens.issue(
                sub=f"local-{args.email}", email=args.email, name=args.name, groups=tuple(args.group)
            )
        )
        return EXIT_OK
    if args.local_command == "alerts":
        return _local_alerts(args)
    import time

    from tachiai.local.runtime import LocalRuntime

    with LocalRuntime(state_dir, port=args.port, schedule_alerts=True) as runtime:
        token = runtime.token(args.email, args.name)
        print(_t("cli.local.running", seconds=f"{runtime.startup_seconds:.1f}"))
        print(_t("cli.local.api", url=runtime.url))
        print(_t("cli.local.console", url=runtime.console_url))
        print(_t("cli.local.outbox", url=runtime.url))
        print(_t("cli.local.root", path=runtime.root_pem))
        print(_t("cli.local.token", command=_self_command(), state_dir=state_dir))
        print(_t("cli.local.alerts", time=_alert_time(), command=_self_command()))
        restored = (
            _t("cli.local.data_restored", count=len(runtime.resumed))
            if runtime.restored
            else _t("cli.local.data_new")
        )
        print(_t("cli.local.data", path=runtime.state_dir / "data", state=restored))
        print(_t("cli.local.data_kept"))
        print(_t("cli.local.reachable"))
        from tachiai import i18n

        admin_password = runtime.ensure_first_admin(args.email, args.name)
        language = i18n.from_environment()
        print(i18n.text("cli.local.sign_in", language, command=_self_command(), url=runtime.url))
        if admin_password:
            print(i18n.text("cli.local.first_admin", language, email=args.email, password=admin_password))
        print(f"\nexport TACHIAI_URL={runtime.url}")
        print(f"export TACHIAI_TOKEN={token}")
        print(f'curl -H "Authorization: Bearer $TACHIAI_TOKEN" {runtime.url}/v1/envelopes')
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print()
            print(_t("cli.local.stopping"))
    return EXIT_OK


def _alert_time() -> str:
    from tachiai import names
    from tachiai.local.schedule import cron_time

    return cron_time(names.ALERTS_SCHEDULE_CRON).strftime("%H:%M")


def _local_alerts(args: argparse.Namespace) -> int:
    """Ask a running ``tachiai local`` to run the deadline alerts now (as the daily rule would)."""
    import requests

    from tachiai.local.schedule import ALERTS_PATH

    url = (args.url or os.environ.get("TACHIAI_URL") or f"http://127.0.0.1:{args.port}").rstrip("/")
    params = {"today": args.today} if args.today else {}
    try:
        response = requests.post(url + ALERTS_PATH, params=params, timeout=120)
    except requests.RequestException as e:
        raise _UsageError(_t("cli.local.no_runtime", url=url, error=e)) from e
    if response.status_code != 200:
        raise _UsageError(_t("cli.local.alerts_failed", status=response.status_code, body=response.text))
    result = response.json()
    print(_t("cli.local.alerts_sent", date=result["date"], count=len(result["sent"])))
    for key in result["sent"]:
        print(f"  {key}")
    print(_t("cli.local.the_mails", url=url))
    return EXIT_OK


# --- wiring -------------------------------------------------------------------------------------


def _api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help=_t("cli.help.api.url"))
    parser.add_argument("--token", help=_t("cli.help.api.token"))
    parser.add_argument("--profile", help=_t("cli.help.api.profile"))


def _iso_date(value: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as e:
        raise argparse.ArgumentTypeError(_t("cli.usage.not_a_date", value=value)) from e


_METADATA_EXAMPLE = '{"contract_date": "2024-04-01"}'
_METADATA_FIELDS = (
    '{"contract_date": "2024-04-01", "parties": ["…"], "amount": 1200000, "currency": "JPY", '
    '"end_date": "…", ...}'
)
_SUBJECT_EXAMPLE = '"CN=Example Seal,O=Example K.K.,C=JP"'
"""Examples in help texts and messages: data, the same in every language (the catalogs say around them)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tachiai", description=_t("cli.help.tachiai"))
    parser.add_argument("-v", "--verbose", action="store_true", help=_t("cli.help.verbose"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preflight", help=_t("cli.help.preflight"))
    p.add_argument("file", help=_t("cli.help.preflight.file"))
    p.add_argument("--max-mb", type=float, default=50.0, help=_t("cli.help.preflight.max_mb"))
    p.set_defaults(func=cmd_preflight)

    p = sub.add_parser("extract", help=_t("cli.help.extract"))
    p.add_argument("file", help=_t("cli.help.extract.file"))
    p.add_argument("--engine", choices=["rules", "bedrock"], help=_t("cli.help.extract.engine"))
    p.add_argument("--model-id", help=_t("cli.help.extract.model_id"))
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "search",
        help=_t("cli.help.search"),
        description=_t("cli.help.search.description"),
    )
    _api_arguments(p)
    p.add_argument(
        "--from", dest="date_from", type=_iso_date, metavar="YYYY-MM-DD", help=_t("cli.help.search.from")
    )
    p.add_argument(
        "--to", dest="date_to", type=_iso_date, metavar="YYYY-MM-DD", help=_t("cli.help.search.to")
    )
    p.add_argument("--counterparty", help=_t("cli.help.search.counterparty"))
    p.add_argument("--amount-min", type=int, metavar="N")
    p.add_argument("--amount-max", type=int, metavar="N")
    p.add_argument("--title", help=_t("cli.help.search.title"))
    p.add_argument("--text", help=_t("cli.help.search.text"))
    p.add_argument("--status", help=_t("cli.help.search.status"))
    p.add_argument("--limit", type=int, default=50, help=_t("cli.help.search.limit"))
    p.add_argument("--cursor", help=_t("cli.help.search.cursor"))
    p.add_argument("--all", action="store_true", help=_t("cli.help.search.all"))
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("-o", "--output", help=_t("cli.help.search.output"))
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("import", help=_t("cli.help.import"))
    _api_arguments(p)
    p.add_argument("file", help=_t("cli.help.import.file"))
    p.add_argument("--title", help=_t("cli.help.import.title"))
    p.add_argument(
        "--metadata",
        metavar="JSON|@FILE",
        help=_t("cli.help.import.metadata", example=_METADATA_FIELDS),
    )
    p.add_argument("--json", action="store_true", help=_t("cli.help.import.json"))
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "export",
        help=_t("cli.help.export"),
        description=_t("cli.help.export.description"),
    )
    _api_arguments(p)
    p.add_argument("directory")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "verify",
        help=_t("cli.help.verify"),
        description=_t("cli.help.verify.description"),
        epilog=_t("cli.verify.exit_status"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help=_t("cli.help.verify.file"))
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="ROOT.pem",
        help=_t("cli.help.verify.trust"),
    )
    p.add_argument(
        "--seal-cert",
        action="append",
        default=[],
        metavar="CERT.pem",
        help=_t("cli.help.verify.seal_cert"),
    )
    p.add_argument("--json", action="store_true", help=_t("cli.help.verify.json"))
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("seal", help=_t("cli.help.seal"))
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--name", default="tachiai local")
    p.add_argument("--email", default="local-seal@example.com")
    p.add_argument("--language", choices=_catalog_languages(), default="ja")  # of the seal reasons
    p.add_argument("--key-spec", choices=["RSA_2048", "ECC_NIST_P256"], default="RSA_2048")
    p.add_argument("--pki-dir", default=".tachiai/pki", help=_t("cli.help.seal.pki_dir"))
    p.add_argument("--no-finalize", action="store_true", help=_t("cli.help.seal.no_finalize"))
    p.set_defaults(func=cmd_seal)

    keys = sub.add_parser("keys", help=_t("cli.help.keys")).add_subparsers(dest="keys", required=True)
    p = keys.add_parser("csr", help=_t("cli.help.keys.csr"))
    p.add_argument("--key-id", required=True, help=_t("cli.help.keys.key_id"))
    p.add_argument("--subject", required=True, help=_t("cli.help.keys.subject", example=_SUBJECT_EXAMPLE))
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_keys_csr)
    p = keys.add_parser(
        "self-issue",
        help=_t("cli.help.keys.self_issue"),
        description=_t("cli.help.keys.self_issue.description"),
    )
    p.add_argument("--key-id", required=True, help=_t("cli.help.keys.key_id"))
    p.add_argument("--subject", required=True, help=_t("cli.help.keys.subject", example=_SUBJECT_EXAMPLE))
    p.add_argument("--chain-parameter", help=_t("cli.help.keys.chain_parameter"))
    p.add_argument("--roots-parameter", help=_t("cli.help.keys.roots_parameter"))
    p.add_argument(
        "--tsa-root",
        action="append",
        default=[],
        metavar="ROOT.pem",
        help=_t("cli.help.keys.tsa_root"),
    )
    p.add_argument("--valid-years", type=int, default=10)
    p.add_argument("--force", action="store_true", help=_t("cli.help.keys.force"))
    p.add_argument("-o", "--output", help=_t("cli.help.keys.output"))
    p.set_defaults(func=cmd_keys_self_issue)

    p = sub.add_parser("local", help=_t("cli.help.local"))
    p.add_argument(
        "--state-dir",
        default=".tachiai-local",
        help=_t("cli.help.local.state_dir"),
    )
    p.add_argument("--port", type=int, default=8080, help=_t("cli.help.local.port"))
    p.add_argument("--email", default="sender@tachiai.example", help=_t("cli.help.local.email"))
    p.add_argument("--name", default="送信者")
    p.set_defaults(func=cmd_local, local_command=None)
    local = p.add_subparsers(dest="local_command")
    t = local.add_parser("token", help=_t("cli.help.local.token"))
    t.add_argument("--state-dir", default=".tachiai-local")
    t.add_argument("--email", default="sender@tachiai.example")
    t.add_argument("--name", default="送信者")
    t.add_argument("--group", action="append", default=[], help=_t("cli.help.local.group"))
    a = local.add_parser("alerts", help=_t("cli.help.local.alerts"))
    a.add_argument("--url", help=_t("cli.help.local.alerts.url"))
    a.add_argument("--port", type=int, default=8080)
    a.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help=_t("cli.help.local.alerts.today"))

    p = sub.add_parser("demo", help=_t("cli.help.demo"))
    p.add_argument("--out", default="demo-out")
    p.set_defaults(func=cmd_demo)

    from tachiai import cli_envelopes  # send, envelopes, status, remind, cancel, resend, download

    cli_envelopes.add_commands(sub)
    from tachiai import cli_auth  # login, logout, whoami, users

    cli_auth.add_commands(sub)
    from tachiai import cli_templates  # templates list, show, save, delete

    cli_templates.add_commands(sub)
    from tachiai import cli_samples  # sample -o nda.pdf

    cli_samples.add_commands(sub)

    for command in sub.choices.values():
        # Also after the command (`tachiai verify x.pdf -v`); SUPPRESS keeps a `tachiai -v verify` given
        # before it from being reset to False by the command's own default.
        command.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure becomes one line on stderr and an exit status, never a traceback
    (except an unexpected failure under ``--verbose``). A bad flag is argparse's usage line and 2."""
    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    logging.basicConfig(
        level=logging.WARNING if verbose else logging.ERROR, format="%(levelname)s %(message)s"
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        with warnings.catch_warnings():
            if not verbose:
                # Library deprecation notices (cryptography's about DSA, on every pyhanko import) are
                # for the developers of tachiai, not for the person reading a verdict.
                warnings.simplefilter("ignore")
            status = func(args)
        # Flush here, so a reader that went away is seen now, not as noise at interpreter exit.
        sys.stdout.flush()
        return status
    except TachiaiError as e:
        from tachiai import i18n

        print(f"error [{e.code}]: {e.message(i18n.from_environment())}", file=sys.stderr)
        if e.detail:
            print(_t("cli.main.detail", detail=e.detail), file=sys.stderr)
        return EXIT_REFUSED
    except _UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(_t("cli.main.interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 -- the one last line between any bug and the person's terminal
        setup_problem = _aws_setup_problem(e)
        problem = setup_problem or _t("cli.main.unexpected", kind=type(e).__name__, error=e)
        print(f"error: {problem}", file=sys.stderr)
        if verbose:
            traceback.print_exc()
        elif setup_problem is None:
            print(_t("cli.main.verbose_hint"), file=sys.stderr)
        return EXIT_REFUSED


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (a test's capture): nothing will flush to the pipe


def _aws_setup_problem(error: Exception) -> str | None:
    """What to do about an AWS failure no command translated (no region, no credentials, a refusal), or
    None when ``error`` is not one."""
    if "botocore" in sys.modules:
        from botocore import exceptions as aws

        if isinstance(error, aws.NoRegionError):
            return _t("cli.aws.no_region")
        if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
            return _t("cli.aws.no_credentials")
        if isinstance(error, aws.ClientError):
            detail = error.response.get("Error", {})
            return _t("cli.aws.refused", code=detail.get("Code", "?"), message=detail.get("Message", ""))
        if isinstance(error, aws.BotoCoreError):
            return f"AWS: {error}"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
