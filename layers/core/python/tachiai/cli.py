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


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _read_input(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise _UsageError(f"cannot read {path}: {e.strerror}") from e


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
    """The sender API at ``--url`` / ``$TACHIAI_URL`` with ``--token`` / ``$TACHIAI_TOKEN``."""
    from tachiai.local.client import SenderClient

    url = args.url or os.environ.get("TACHIAI_URL")
    token = args.token or os.environ.get("TACHIAI_TOKEN")
    if not url:
        raise _UsageError(
            "no API URL: give --url or set TACHIAI_URL (the stack's ApiUrl output, or what "
            "`tachiai local` prints)"
        )
    if not token:
        raise _UsageError(
            "no token: give --token or set TACHIAI_TOKEN (a Cognito access token, or "
            "`tachiai local token` for the local runtime)"
        )
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
        text = f"{message.get('en')} / {message.get('ja')}" if isinstance(message, dict) else str(e.body)
        problems = [f"{p.get('location')}: {p.get('problem')}" for p in error.get("problems", [])]
        if problems:
            text += f" ({'; '.join(problems)})"
        raise _UsageError(f"[{e.code or e.status}] {text}") from e
    except requests.RequestException as e:
        raise _UsageError(f"cannot reach the API: {e}") from e


def cmd_search(args: argparse.Namespace) -> int:
    from tachiai import ledger_listing

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
            print(f"{len(contracts)} contracts written to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    print(ledger_listing.table(contracts))
    if cursor:
        print(f"\n次のページ / more: --cursor {cursor}   (or --all)")
    return EXIT_OK


def _metadata_argument(value: str | None) -> dict[str, Any] | None:
    """``--metadata``: a JSON object, or ``@file.json``."""
    if value is None:
        return None
    text = _read_input(value[1:]).decode("utf-8") if value.startswith("@") else value
    try:
        metadata = json.loads(text)
    except ValueError as e:
        raise _UsageError(f"--metadata is not JSON: {e}") from e
    if not isinstance(metadata, dict):
        raise _UsageError('--metadata must be a JSON object, e.g. {"contract_date": "2024-04-01"}')
    return metadata


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = _read_input(args.file)
    metadata = _metadata_argument(args.metadata)
    client = _sender_client(args)
    imported = _api_call(lambda: client.import_contract(args.title or path.stem, path.name, data, metadata))
    envelope = _api_call(lambda: client.get(imported["id"]))
    if args.json:
        _print_json(envelope)
        return EXIT_OK
    from tachiai.domain.audit import AuditKind

    arrival: dict[str, Any] = next(
        (e["data"] for e in envelope.get("events", []) if e["kind"] == AuditKind.ENVELOPE_IMPORTED), {}
    )
    print(f"imported:    {envelope['id']}  「{envelope['title']}」")
    print(f"sha256:      {arrival.get('sha256', '')}")
    print(f"timestamped: {arrival.get('timestamp_time', '')}  ({arrival.get('timestamp_authority', '')})")
    print(f"metadata:    {envelope['metadata_status']}")
    for field, value in (envelope.get("metadata") or {}).items():
        if field != "evidence" and value not in (None, []):
            corrected = "  (given)" if field in envelope.get("corrected_fields", []) else ""
            print(f"  {field:<16} {value}{corrected}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from tachiai.ledger_export import export_ledger

    client = _sender_client(args)
    report = _api_call(lambda: export_ledger(client, Path(args.directory)))
    print(
        f"exported {report.contracts} contracts, {report.files} files ({report.bytes:,} bytes"
        f"{f'; {report.reused} already there' if report.reused else ''}) to {report.directory}"
    )
    print(f"  ledger:   {report.directory / 'ledger.csv'}")
    print(f"  manifest: {report.directory / 'manifest.json'}  (SHA-256 of every file)")
    for name in report.missing:
        print(f"  missing (never uploaded?): {name}")
    for name in report.mismatched:
        print(f"  ! NOT the file the envelope records: {name}", file=sys.stderr)
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
            print(format_panel(report, judgement))
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
    print(f"sealed:      {out}")
    print(f"trust root:  {root_pem}")
    print(f"check with:  {' '.join(check)}")
    if seal_pem.is_file():
        print("             (--seal-cert is this run's seal; the next `seal` with this PKI issues a new one)")
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
        print(f"certificate signing request: {args.output}")
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
        raise _UsageError("--chain-parameter and --roots-parameter go together")
    if not (args.chain_parameter or args.output):
        raise _UsageError(
            "say where the certificate goes: -o FILE and/or --chain-parameter/--roots-parameter"
        )
    if args.tsa_root and not args.roots_parameter:
        raise _UsageError("--tsa-root is stored in the roots parameter: give --roots-parameter")
    tsa_roots = [cert for path in args.tsa_root for cert in load_certificates(_read_input(path))]
    kms, ssm = kms_client(), ssm_client()
    reason: str | None = "--force" if args.force else "written to a file only"
    if args.chain_parameter and not args.force:
        current = read_chain_parameter(ssm, args.chain_parameter)
        reason = replacement_reason(current, kms_public_key(kms, args.key_id), args.subject)
        if reason is None:
            print(f"kept:        {args.chain_parameter} already holds a certificate chain over this key")
            print("             (an imported CA chain is never replaced; --force issues a new one anyway)")
            print(f"inspect:     {_ssm_openssl(args.chain_parameter)} -subject -issuer -enddate")
            return EXIT_OK
    certificate = self_issued_certificate(kms, args.key_id, args.subject, valid_years=args.valid_years)
    if args.chain_parameter:
        write_seal_certificate(
            ssm, certificate, args.chain_parameter, args.roots_parameter, extra_roots=tsa_roots
        )
    if args.output:
        Path(args.output).write_text(self_issued_chain_pem(certificate), encoding="ascii")
    print(f"issued:      {certificate.subject.human_friendly} ({reason})")
    print(f"valid:       {certificate.not_valid_before:%Y-%m-%d} to {certificate.not_valid_after:%Y-%m-%d}")
    print(f"sha-256:     {certificate.sha256_fingerprint}")
    if args.chain_parameter:
        print(f"chain:       {args.chain_parameter}")
        print(f"trust roots: {args.roots_parameter} (this certificate + {len(tsa_roots)} TSA root(s))")
        if not tsa_roots:
            print("warning:     no --tsa-root: every seal fails its check until the TSA's root is trusted")
        print(f"inspect:     {_ssm_openssl(args.chain_parameter)} -text")
    if args.output:
        print(f"written:     {args.output}")
        print(f"inspect:     openssl x509 -in {args.output} -noout -text")
        print(f"verify with: {_self_command()} verify SEALED.pdf --trust {args.output} --trust TSA-ROOT.pem")
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
        print(f"tachiai is running locally (started in {runtime.startup_seconds:.1f}s). Ctrl-C stops it.")
        print(f"  API:             {runtime.url}/v1/envelopes   (OpenAPI: {runtime.url}/v1/openapi.json)")
        print(f"  Outbox:          {runtime.url}/_local/outbox   (every mail sent, with its links)")
        print(f"  Root to trust:   {runtime.root_pem}")
        print(f"  Sender token:    {_self_command()} local token --state-dir {state_dir}   (valid 12 h)")
        print(f"  Deadline alerts: daily at {_alert_time()} UTC; now: {_self_command()} local alerts")
        restored = f"restored; {len(runtime.resumed)} signing chain(s) resumed" if runtime.restored else "new"
        print(f"  Data:            {runtime.state_dir / 'data'}   ({restored})")
        print(
            "                   kept across restarts (snapshot 2 s after each change and at Ctrl-C);"
            " a crash or kill -9 loses the last seconds"
        )
        print("  Reachable from:  this machine only (loopback; pages of other sites are refused)")
        print(f"\nexport TACHIAI_URL={runtime.url}")
        print(f"export TACHIAI_TOKEN={token}")
        print(f'curl -H "Authorization: Bearer $TACHIAI_TOKEN" {runtime.url}/v1/envelopes')
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nstopping")
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
        raise _UsageError(f"no local runtime at {url} (start it with `tachiai local`): {e}") from e
    if response.status_code != 200:
        raise _UsageError(f"the alerts failed (HTTP {response.status_code}): {response.text}")
    result = response.json()
    print(f"{result['date']}: {len(result['sent'])} alert(s) sent")
    for key in result["sent"]:
        print(f"  {key}")
    print(f"the mails: {url}/_local/outbox")
    return EXIT_OK


# --- wiring -------------------------------------------------------------------------------------


def _api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="API base URL (default: $TACHIAI_URL)")
    parser.add_argument("--token", help="bearer token (default: $TACHIAI_TOKEN)")


def _iso_date(value: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value}") from e


VERIFY_EXIT_STATUS = """exit status:
  0  valid: every signature intact, cryptographically valid, trusted (--trust) and LTV; only later
     signatures and validation data added after each; nothing changed after the last; with
     --seal-cert, every signature made by one of those certificates
  1  invalid: a signature is broken or does not verify, or the document was changed after a
     signature (a form field, an annotation, anything but signing and validation data)
  2  could not verify: not a PDF, unreadable file, bad arguments
  3  untrusted or incomplete: intact, but a signer does not chain to --trust (or no --trust was
     given), not LTV, signed by someone other than --seal-cert, or no signature at all"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tachiai", description="Witness-type electronic contracts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show library warnings")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preflight", help="check that a PDF can be accepted for signing (JSON)")
    p.add_argument("file", help="PDF file, or - for standard input")
    p.add_argument("--max-mb", type=float, default=50.0, help="size limit in MB (default 50)")
    p.set_defaults(func=cmd_preflight)

    p = sub.add_parser("extract", help="read a contract's metadata (dates, parties, renewal, amount) as JSON")
    p.add_argument("file", help="PDF or UTF-8 text file, or - for standard input")
    p.add_argument(
        "--engine", choices=["rules", "bedrock"], help="default: $TACHIAI_EXTRACTION_ENGINE, else rules"
    )
    p.add_argument(
        "--model-id", help="Bedrock model id; implies --engine bedrock (default: $TACHIAI_BEDROCK_MODEL_ID)"
    )
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "search",
        help="search the contract ledger (date range, counterparty, amount range, title, status)",
        description="Search the contract ledger over the API. Every condition given must hold; none lists "
        "the whole ledger, newest transaction first.",
    )
    _api_arguments(p)
    p.add_argument(
        "--from", dest="date_from", type=_iso_date, metavar="YYYY-MM-DD", help="transaction date on or after"
    )
    p.add_argument(
        "--to", dest="date_to", type=_iso_date, metavar="YYYY-MM-DD", help="transaction date on or before"
    )
    p.add_argument("--counterparty", help="part of a counterparty's name (Japanese or English)")
    p.add_argument("--amount-min", type=int, metavar="N")
    p.add_argument("--amount-max", type=int, metavar="N")
    p.add_argument("--title", help="part of the title")
    p.add_argument("--text", help="words anywhere in the contract (full text; width, case, spaces ignored)")
    p.add_argument("--status", help="e.g. completed, sent, cancelled")
    p.add_argument("--limit", type=int, default=50, help="contracts per page (default 50, at most 100)")
    p.add_argument("--cursor", help="the next page, as printed by the previous one")
    p.add_argument("--all", action="store_true", help="every page")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("-o", "--output", help="with --format csv: write this file (UTF-8 with BOM)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "import",
        help="add a contract signed elsewhere (PDF) to the ledger: kept as is, timestamped, extracted",
    )
    _api_arguments(p)
    p.add_argument("file", help="the signed PDF (over 4 MB: uploaded to storage directly)")
    p.add_argument("--title", help="default: the file name without .pdf")
    p.add_argument(
        "--metadata",
        metavar="JSON|@FILE",
        help='what you already know, kept over the extraction: {"contract_date": "2024-04-01", '
        '"parties": ["…"], "amount": 1200000, "currency": "JPY", "end_date": "…", ...}',
    )
    p.add_argument("--json", action="store_true", help="print the imported envelope as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "export",
        help="copy every contract you may read (PDFs, certificates, audit trails, ledger) to a folder",
        description="Export all before leaving: every contract you may read (an administrator: the "
        "whole ledger) with its documents, certificate, audit trail, and a manifest of SHA-256 hashes. "
        "Run it again to go on after an interruption. Exit 1 if a file is not the one the envelope "
        "records.",
    )
    _api_arguments(p)
    p.add_argument("directory")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "verify",
        help="print the signature panel of a PDF and its verdict",
        description="Print the signature panel of a PDF (each signature: signer, reason, time, intact, "
        "valid, trusted, LTV, what changed after it) and a verdict that says which signature and why.",
        epilog=VERIFY_EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="the PDF, or - for standard input")
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="ROOT.pem",
        help="trust anchor: every certificate in the file (repeatable); without it, trust is not checked "
        "and the verdict is at best 3",
    )
    p.add_argument(
        "--seal-cert",
        action="append",
        default=[],
        metavar="CERT.pem",
        help="tachiai seals only: every signature (document timestamps aside, which must still chain to "
        "--trust) must be made by one of these certificates (repeatable; the first certificate of each "
        "file)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable: the panel, verdict and reasons")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("seal", help="seal a PDF locally with the local test PKI")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--name", default="tachiai local")
    p.add_argument("--email", default="local-seal@example.com")
    p.add_argument("--language", choices=["ja", "en"], default="ja")
    p.add_argument("--key-spec", choices=["RSA_2048", "ECC_NIST_P256"], default="RSA_2048")
    p.add_argument("--pki-dir", default=".tachiai/pki", help="where the test PKI keeps its keys")
    p.add_argument("--no-finalize", action="store_true", help="skip the document timestamp")
    p.set_defaults(func=cmd_seal)

    keys = sub.add_parser("keys", help="seal key and certificate tasks").add_subparsers(
        dest="keys", required=True
    )
    p = keys.add_parser("csr", help="certificate signing request signed by the KMS key")
    p.add_argument("--key-id", required=True, help="KMS key id or ARN (uses your AWS credentials)")
    p.add_argument("--subject", required=True, help='e.g. "CN=Example Seal,O=Example K.K.,C=JP"')
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_keys_csr)
    p = keys.add_parser(
        "self-issue",
        help="self-issued seal certificate signed by the KMS key (into SSM and/or a file)",
        description="Issue a self-signed seal certificate over the KMS key. With the SSM parameters, a "
        "chain already over the key (e.g. an imported CA chain) is kept unless --force.",
    )
    p.add_argument("--key-id", required=True, help="KMS key id or ARN (uses your AWS credentials)")
    p.add_argument("--subject", required=True, help='e.g. "CN=Example Seal,O=Example K.K.,C=JP"')
    p.add_argument("--chain-parameter", help="SSM parameter of the seal certificate chain")
    p.add_argument("--roots-parameter", help="SSM parameter of the trust roots")
    p.add_argument(
        "--tsa-root",
        action="append",
        default=[],
        metavar="ROOT.pem",
        help="a TSA root to trust beside the certificate (repeatable; stored in the roots parameter)",
    )
    p.add_argument("--valid-years", type=int, default=10)
    p.add_argument("--force", action="store_true", help="replace whatever the chain parameter holds")
    p.add_argument("-o", "--output", help="also write the certificate (PEM) to this file")
    p.set_defaults(func=cmd_keys_self_issue)

    p = sub.add_parser("local", help="run the whole service on this machine (moto as AWS)")
    p.add_argument(
        "--state-dir",
        default=".tachiai-local",
        help="the data (kept across restarts), test PKI keys, token secret",
    )
    p.add_argument("--port", type=int, default=8080, help="HTTP port of the API (0: any free port)")
    p.add_argument("--email", default="sender@tachiai.example", help="the sender the printed token is for")
    p.add_argument("--name", default="送信者")
    p.set_defaults(func=cmd_local, local_command=None)
    local = p.add_subparsers(dest="local_command")
    t = local.add_parser("token", help="print a sender token for the local runtime (Authorization: Bearer)")
    t.add_argument("--state-dir", default=".tachiai-local")
    t.add_argument("--email", default="sender@tachiai.example")
    t.add_argument("--name", default="送信者")
    t.add_argument("--group", action="append", default=[], help="Cognito group (repeatable)")
    a = local.add_parser(
        "alerts", help="run the deadline alerts now in a running `tachiai local` (the daily job)"
    )
    a.add_argument("--url", help="the local runtime (default: $TACHIAI_URL, else http://127.0.0.1:PORT)")
    a.add_argument("--port", type=int, default=8080)
    a.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="alert as if today were this day")

    p = sub.add_parser("demo", help="drive one envelope through the local service over HTTP and verify it")
    p.add_argument("--out", default="demo-out")
    p.set_defaults(func=cmd_demo)

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
        print(f"error [{e.code}]: {e.message('en')} / {e.message('ja')}", file=sys.stderr)
        if e.detail:
            print(f"  detail: {e.detail}", file=sys.stderr)
        return EXIT_REFUSED
    except _UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 -- the one last line between any bug and the person's terminal
        setup_problem = _aws_setup_problem(e)
        print(f"error: {setup_problem or f'unexpected {type(e).__name__}: {e}'}", file=sys.stderr)
        if verbose:
            traceback.print_exc()
        elif setup_problem is None:
            print("  (run `tachiai --verbose ...` to see the traceback)", file=sys.stderr)
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
            return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=ap-northeast-1"
        if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
            return "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        if isinstance(error, aws.ClientError):
            detail = error.response.get("Error", {})
            return f"AWS refused the request: {detail.get('Code', '?')}: {detail.get('Message', '')}"
        if isinstance(error, aws.BotoCoreError):
            return f"AWS: {error}"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
