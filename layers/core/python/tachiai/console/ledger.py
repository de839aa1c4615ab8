"""The contract ledger / 契約台帳 in the console: search, CSV, a contract's metadata with its history,
corrections, imports, and the notice deadlines and expiries coming up.

Every page calls the ledger services (:mod:`tachiai.services.ledger`) with the visitor's identity, so
the access rule is the service's: administrators search and read every contract, members their own,
and a member's search runs in the member's own partitions (nothing counted before that filter is
shown — the pages never say how many contracts a search read, only what it found).

The search form is a GET form (a search is a link that can be bookmarked and shared with a colleague
who may see the same contracts): 電子帳簿保存法's conditions — transaction date range, counterparty,
amount range — with title and full text, all combined (AND). What people type is read leniently:
full-width digits (１２０万 typed as １２０００００), thousands separators, 円 and ¥, and dates as
2025-04-01, 2025/4/1 or 2025年4月1日. Anything that is not a value is explained next to its field.

Limits (said on the pages too):

* An import's PDF travels in the form (multipart): at most :data:`~tachiai.services.ledger.MAX_IMPORT_BYTES`
  (4 MiB), because a Lambda request carries at most 6 MB and API Gateway sends a file base64-encoded
  (4:3). A larger scan is imported with ``tachiai import`` (a presigned upload straight to S3).
* A CSV download is one Lambda response (at most 6 MB, the body JSON-escaped on its way, a Japanese
  character taking up to 6 bytes): one file holds at most :data:`CSV_CAP_CHARS` escaped characters.
  A larger result is offered as several parts on a page of links, each part going on from the cursor
  where the previous one stopped.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from tachiai import i18n
from tachiai.domain.audit import AuditEntry, AuditKind
from tachiai.domain.envelope import Envelope, EnvelopeStatus
from tachiai.domain.errors import InvalidRequest, TachiaiError
from tachiai.domain.ledger import LedgerEntry, LedgerQuery
from tachiai.extract.model import FIELD_NAMES, NOTICE_PERIOD, ContractMetadata
from tachiai.ledger_listing import to_csv
from tachiai.services import ledger, sending
from tachiai.services.ledger import MAX_IMPORT_BYTES, UPCOMING_DAYS, ImportRequest, MetadataValues

if TYPE_CHECKING:
    from tachiai.console.framework import Console, RouteKey, UploadedFile, Visitor

PAGE_SIZE: Final = 50
"""Contracts on one page of results."""
UPCOMING_ON_LEDGER: Final = 10
"""Upcoming deadlines shown above the search (the rest on ``/app/ledger/upcoming``)."""
CSV_PAGE: Final = 50
"""Contracts read per search call while writing a CSV (a row is at most ~25 KB escaped, so one page
never carries a part far over its cap)."""
CSV_CAP_CHARS: Final = 4_500_000
"""JSON-escaped characters of one CSV part: under Lambda's 6 MB response with room for one page more
and the response's own JSON around it."""
MAX_CSV_PARTS: Final = 20
"""Parts offered for one download (90 MB of escaped text); past that, narrow the search (a date range)
or export everything with ``tachiai export``."""
MAX_AMOUNT: Final = 10**15 - 1
"""The ledger index keeps amounts as 15 digits."""

SEARCH_FIELDS: Final = (
    "date_from",
    "date_to",
    "counterparty",
    "amount_min",
    "amount_max",
    "title",
    "text",
    "status",
)
SORTS: Final = ("date", "amount")
"""The orders the index keeps: newest transaction first (every search), and largest amount first
(a search by amount range alone, which the amount index drives)."""
STATUSES: Final = tuple(s.value for s in EnvelopeStatus)
PERIOD_UNITS: Final = ("days", "weeks", "months", "years")


# --- reading what people type -------------------------------------------------------------------

_SEPARATORS = re.compile(r"[,\s_'円¥$]")
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_JAPANESE_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")


class FieldError(Exception):
    """A value that is not what its field takes: ``message`` is the catalog id that explains it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def folded(value: str | None) -> str:
    """What was typed, width-folded (NFKC: １２３ → 123, ／ → /) and stripped; None is empty."""
    return unicodedata.normalize("NFKC", value or "").strip()


def parse_amount(value: str | None) -> int | None:
    """An amount as people type it: ``1200000``, ``１，２００，０００``, ``¥1,200,000``, ``120万`` is
    NOT read (a unit word is ambiguous); empty is None.

    :raises FieldError: not a whole number of yen from 0 to :data:`MAX_AMOUNT`.
    """
    text = _SEPARATORS.sub("", folded(value))
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise FieldError("console.ledger.error.amount")
    amount = int(text)
    if amount > MAX_AMOUNT:
        raise FieldError("console.ledger.error.amount_too_large")
    return amount


def parse_date(value: str | None) -> date | None:
    """A date as 2025-04-01, 2025/4/1, 2025.4.1 or 2025年4月1日 (any width); empty is None.

    :raises FieldError: not a date of the calendar.
    """
    text = folded(value)
    if not text:
        return None
    match = _ISO_DATE.match(text) or _JAPANESE_DATE.match(text)
    if match is None:
        raise FieldError("console.ledger.error.date")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as e:
        raise FieldError("console.ledger.error.date") from e


@dataclass(frozen=True)
class SearchForm:
    """The ledger search as typed (``values``, shown again in the form) and as understood."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    """Field → catalog id of what is wrong with it."""
    query: LedgerQuery | None = None
    """None while ``errors`` is not empty."""
    sort: str = "date"

    def link(self, path: str, **extra: str) -> str:
        """``path`` with this search (and ``extra``) as its query string: the next page, the CSV."""
        pairs = [(k, v) for k, v in self.values.items() if v]
        if self.sort != "date":
            pairs.append(("sort", self.sort))
        pairs.extend((k, v) for k, v in extra.items() if v)
        return f"{path}?{urlencode(pairs)}" if pairs else path


def parse_search(get: Callable[[str], str | None]) -> SearchForm:
    """The search of the query string ``get`` reads (``console.query``): every condition given must
    hold. Each field's problem is named for that field; nothing raises.
    """
    values = {name: (get(name) or "").strip() for name in SEARCH_FIELDS}
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        try:
            dates[name] = parse_date(values[name])
        except FieldError as e:
            errors[name] = e.message
    amounts: dict[str, int | None] = {}
    for name in ("amount_min", "amount_max"):
        try:
            amounts[name] = parse_amount(values[name])
        except FieldError as e:
            errors[name] = e.message
    if (start := dates.get("date_from")) and (end := dates.get("date_to")) and start > end:
        errors["date_to"] = "console.ledger.error.date_order"
    low, high = amounts.get("amount_min"), amounts.get("amount_max")
    if low is not None and high is not None and low > high:
        errors["amount_max"] = "console.ledger.error.amount_order"
    texts: dict[str, str | None] = {}
    for name, shortest in (("counterparty", 1), ("title", 1), ("text", 2)):
        text = " ".join(values[name].split())
        if text and len(text) < shortest:
            errors[name] = "console.ledger.error.text_short"
        elif len(text) > 200:
            errors[name] = "console.ledger.error.too_long"
        texts[name] = text or None
    status = values["status"] or None
    if status is not None and status not in STATUSES:
        errors["status"] = "console.ledger.error.status"
        status = None
    sort = get("sort") or "date"
    if sort not in SORTS:
        sort = "date"
    if sort == "amount" and (dates.get("date_from") or dates.get("date_to") or texts["counterparty"]):
        errors["sort"] = "console.ledger.error.sort_amount"
    if errors:
        return SearchForm(values, errors, None, sort)
    if sort == "amount" and low is None and high is None:
        low = 0  # the amount index holds the contracts that have an amount: said next to the order
    query = LedgerQuery(
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        counterparty=texts["counterparty"],
        amount_min=low,
        amount_max=high,
        title=texts["title"],
        text=texts["text"],
        status=EnvelopeStatus(status) if status else None,
    )
    return SearchForm(values, {}, query, sort)


# --- metadata (a correction, or what an importer knows) -----------------------------------------

METADATA_INPUTS: Final = (
    "contract_date",
    "start_date",
    "end_date",
    "parties",
    "auto_renewal",
    "notice_period_number",
    "notice_period_unit",
    "notice_deadline",
    "amount",
    "currency",
)
"""The form's inputs (the notice period is a number and a unit)."""


def metadata_inputs(metadata: ContractMetadata | None) -> dict[str, str]:
    """A contract's metadata as the form's input values."""
    current = metadata or ContractMetadata()
    number, unit = "", "months"
    if current.notice_period and (match := NOTICE_PERIOD.match(current.notice_period)):
        number, unit = match["n"], match["unit"]
    flag = {True: "yes", False: "no", None: ""}[current.auto_renewal]
    return {
        "contract_date": current.contract_date.isoformat() if current.contract_date else "",
        "start_date": current.start_date.isoformat() if current.start_date else "",
        "end_date": current.end_date.isoformat() if current.end_date else "",
        "parties": "\n".join(current.parties),
        "auto_renewal": flag,
        "notice_period_number": number,
        "notice_period_unit": unit,
        "notice_deadline": current.notice_deadline.isoformat() if current.notice_deadline else "",
        "amount": str(current.amount) if current.amount is not None else "",
        "currency": current.currency or "",
    }


def parse_metadata(
    form: Mapping[str, Sequence[str]],
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The metadata a form gives: (field → value for every field, input → catalog id of its problem,
    the inputs as typed). An empty input is None (the field cleared, or not known)."""
    typed = {name: (form.get(name) or [""])[0] for name in METADATA_INPUTS}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("contract_date", "start_date", "end_date", "notice_deadline"):
        try:
            values[name] = parse_date(typed[name])
        except FieldError as e:
            errors[name] = e.message
    try:
        values["amount"] = parse_amount(typed["amount"])
    except FieldError as e:
        errors["amount"] = e.message
    parties = [" ".join(folded_line.split()) for folded_line in typed["parties"].splitlines()]
    values["parties"] = [p for p in parties if p]
    if len(values["parties"]) > 20:
        errors["parties"] = "console.ledger.error.parties"
    elif any(len(p) > 200 for p in values["parties"]):
        errors["parties"] = "console.ledger.error.too_long"
    values["auto_renewal"] = {"yes": True, "no": False}.get(typed["auto_renewal"])
    number = folded(typed["notice_period_number"])
    unit = typed["notice_period_unit"] if typed["notice_period_unit"] in PERIOD_UNITS else "months"
    if not number:
        values["notice_period"] = None
    elif NOTICE_PERIOD.match(f"{number} {unit}"):
        values["notice_period"] = f"{int(number)} {unit}"
    else:
        errors["notice_period_number"] = "console.ledger.error.notice_period"
    currency = folded(typed["currency"]).upper()
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = "console.ledger.error.currency"
    values["currency"] = currency or None
    return values, errors, typed


def changed_fields(current: ContractMetadata | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the contract's now: only those are sent as a correction,
    so a field left as shown is never recorded as corrected (and a notice deadline left as shown
    still follows a corrected end date)."""
    now = current or ContractMetadata()
    return {
        name: values[name] for name in FIELD_NAMES if name in values and values[name] != getattr(now, name)
    }


# --- the history of each field ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    at: datetime
    actor: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class FieldHistory:
    """One ledger field of a contract: its value now, what the extraction first found, and every
    correction (who, when, old → new), oldest first."""

    name: str
    current: str | None
    extracted: str | None
    """The extraction's value (as the audit trail keeps values), None if it found nothing or the
    field was set by people before any extraction ran (an importer's value is kept over it)."""
    extracted_known: bool
    """An extraction ran before this field was first set by people: ``extracted`` is its value."""
    entered_first: bool
    """People set this field before any extraction (an importer's value, kept over the extraction)."""
    evidence: str | None
    """The words of the contract the current value was read from (an extracted value only)."""
    changes: list[FieldChange]


def audit_text(value: Any) -> str | None:
    """A value as the audit trail writes it (dates ISO, lists JSON, booleans true/false)."""
    if value is None or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def field_histories(envelope: Envelope, trail: Sequence[AuditEntry]) -> list[FieldHistory]:
    """Each ledger field's history, read from the hash-chained audit trail (the corrections carry the
    old and new value; the extraction's value of a field is the old value of the first correction
    after it, or the value now when nobody corrected it since)."""
    metadata = envelope.metadata or ContractMetadata()
    first_extraction = next((e.seq for e in trail if e.kind == AuditKind.METADATA_EXTRACTED), None)
    histories: list[FieldHistory] = []
    for name in FIELD_NAMES:
        corrections = [
            e for e in trail if e.kind == AuditKind.METADATA_CORRECTED and e.data.get("field") == name
        ]
        changes = [
            FieldChange(
                e.at, str(e.data.get("by") or e.actor), _text(e.data.get("old")), _text(e.data.get("new"))
            )
            for e in corrections
        ]
        current = audit_text(getattr(metadata, name))
        extracted: str | None = None
        known = False
        before = [e for e in corrections if first_extraction is None or e.seq < first_extraction]
        if first_extraction is not None and not before:
            after = [e for e in corrections if e.seq > first_extraction]
            known = True
            extracted = _text(after[0].data.get("old")) if after else current
        evidence = None
        if name not in envelope.corrected_fields:
            quotes = [e.text for e in metadata.evidence_for(name)]
            evidence = quotes[0] if quotes else None
        histories.append(FieldHistory(name, current, extracted, known, bool(before), evidence, changes))
    return histories


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def shown_value(name: str, value: str | None, t: Callable[..., str]) -> str:
    """A field's value (as the audit trail writes it) as people read it: parties joined, yes/no in
    the visitor's language, amounts with separators; an empty value is a dash."""
    if value is None or value == "":
        return "—"
    if name == "parties":
        try:
            parties = json.loads(value)
        except ValueError:
            return value
        if not isinstance(parties, list):
            return value
        return "、".join(str(p) for p in parties) or "—"
    if name == "auto_renewal":
        return t("console.ledger.yes") if value == "true" else t("console.ledger.no")
    if name == "amount" and value.isdigit():
        return f"{int(value):,}"
    if name == "notice_period" and (match := NOTICE_PERIOD.match(value)):
        return t(f"console.ledger.period.{match['unit']}", n=match["n"])
    return value


# --- CSV ----------------------------------------------------------------------------------------


def _escaped_size(text: str) -> int:
    """Characters ``text`` takes in the Lambda response (JSON, non-ASCII escaped as \\uXXXX)."""
    return len(json.dumps(text))


def csv_part(
    search: Callable[[str | None], tuple[list[LedgerEntry], str | None]], start: str | None
) -> tuple[str, str | None]:
    """One CSV file of a search from the cursor ``start``: (its text with a BOM, the cursor the next
    part starts at or None when the result ended). Reads pages of the search until the next page
    would take the file over :data:`CSV_CAP_CHARS`; the first page always goes in.

    :raises TachiaiError: what the search raises (an invalid cursor, the storage unavailable).
    """
    header = to_csv([])
    parts = ["\ufeff", header]
    size = _escaped_size("\ufeff" + header)
    cursor = start
    first = True
    while True:
        entries, after = search(cursor)
        rows = to_csv([e.model_dump(mode="json") for e in entries])[len(header) :]
        grown = _escaped_size(rows)
        if not first and size + grown > CSV_CAP_CHARS:
            return "".join(parts), cursor  # the next part reads this page again
        parts.append(rows)
        size += grown
        first = False
        if after is None:
            return "".join(parts), None
        cursor = after


# --- pages --------------------------------------------------------------------------------------


def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
    """The ledger's pages (see the module docstring)."""

    def visitor() -> Visitor:
        return console.visitor()

    def today() -> date:
        svc = console.services()
        return svc.now().astimezone(svc.settings.zone).date()

    def search_page(form: SearchForm, *, status: int = 200, problem: str | None = None) -> Response[str]:
        who = visitor()
        results: list[LedgerEntry] = []
        next_link: str | None = None
        cursor = console.query("cursor")
        if form.query is not None:
            try:
                found = ledger.search(console.services(), who.identity, form.query, PAGE_SIZE, cursor)
            except InvalidRequest as e:  # a cursor not of this search, a counterparty too vague
                problem, status = e.message(who.language), 400
            else:
                results = found.entries
                if found.cursor:
                    next_link = form.link("/app/ledger", cursor=found.cursor)
        due = ledger.upcoming(console.services(), who.identity, today())
        return console.render(
            "console/ledger.html.j2",
            status=status,
            form=form,
            results=results,
            searched=form.query is not None and problem is None,
            paged=cursor is not None,
            next_link=next_link,
            first_link=form.link("/app/ledger"),
            csv_link=form.link("/app/ledger.csv"),
            problem=problem,
            upcoming=due[:UPCOMING_ON_LEDGER],
            more_upcoming=len(due) > UPCOMING_ON_LEDGER,
            upcoming_days=UPCOMING_DAYS,
            today=today(),
            statuses=STATUSES,
            sorts=SORTS,
            import_limit_mib=MAX_IMPORT_BYTES // (1024 * 1024),
        )

    def ledger_home() -> Response[str]:
        form = parse_search(console.query)
        return search_page(form, status=400 if form.errors else 200)

    def ledger_csv() -> Response[str]:
        who = visitor()
        form = parse_search(console.query)
        if form.query is None:
            return search_page(form, status=400)
        query = form.query

        def search(cursor: str | None) -> tuple[list[LedgerEntry], str | None]:
            page = ledger.search(console.services(), who.identity, query, CSV_PAGE, cursor)
            return page.entries, page.cursor

        start = console.query("cursor")
        part_number = console.query("part")
        try:
            text, after = csv_part(search, start)
            if after is not None and part_number is None:
                # Too large for one file: the parts, each starting where the one before stopped.
                starts: list[str | None] = [None, after]
                while after is not None and len(starts) <= MAX_CSV_PARTS:
                    _, after = csv_part(search, after)
                    if after is not None:
                        starts.append(after)
                return console.render(
                    "console/ledger_csv_parts.html.j2",
                    form=form,
                    parts=[
                        form.link("/app/ledger.csv", part=str(n), cursor=s or "")
                        for n, s in enumerate(starts[:MAX_CSV_PARTS], start=1)
                    ],
                    cut=len(starts) > MAX_CSV_PARTS,
                    back_link=form.link("/app/ledger"),
                )
        except InvalidRequest as e:
            return search_page(form, status=400, problem=e.message(who.language))
        suffix = f"-part{int(part_number)}" if part_number and part_number.isdigit() else ""
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=text,
            headers={
                **console.security_headers(),
                "Content-Disposition": f'attachment; filename="ledger-{today():%Y%m%d}{suffix}.csv"',
            },
        )

    def upcoming_page() -> Response[str]:
        who = visitor()
        return console.render(
            "console/ledger_upcoming.html.j2",
            upcoming=ledger.upcoming(console.services(), who.identity, today()),
            upcoming_days=UPCOMING_DAYS,
            today=today(),
        )

    def contract_page(
        envelope_id: str,
        *,
        status: int = 200,
        typed: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        problem: str | None = None,
    ) -> Response[str]:
        who = visitor()
        envelope, trail = sending.get_envelope(console.services(), who.identity, envelope_id)
        return console.render(
            "console/ledger_contract.html.j2",
            status=status,
            envelope=envelope,
            histories=field_histories(envelope, trail),
            extraction=_extraction(envelope, trail),
            documents=_documents(envelope),
            can_correct=envelope.sender_id == who.identity.sub,
            inputs=typed or metadata_inputs(envelope.metadata),
            errors=errors or {},
            problem=problem,
            period_units=PERIOD_UNITS,
            shown=lambda name, value: shown_value(name, value, _texts(who)),
            when=lambda moment: _local(console, moment),
        )

    def contract(envelope_id: str) -> Response[str]:
        return contract_page(envelope_id)

    def correct(envelope_id: str) -> Response[str]:
        who = visitor()
        form = console.form()
        values, errors, typed = parse_metadata(form)
        if errors:
            return contract_page(envelope_id, status=422, typed=typed, errors=errors)
        svc = console.services()
        current = sending.owned_envelope(svc, who.identity, envelope_id)
        changes = changed_fields(current.metadata, values)
        if not changes:
            return console.redirect(f"/app/ledger/{envelope_id}", notice="console.ledger.notice.unchanged")
        try:
            ledger.correct(svc, who.identity, envelope_id, MetadataValues.model_validate(changes))
        except ValidationError:
            return contract_page(envelope_id, status=422, typed=typed, problem=_invalid(who, "metadata"))
        except InvalidRequest as e:  # a value the field cannot hold (the service's own rule)
            return contract_page(envelope_id, status=422, typed=typed, problem=e.message(who.language))
        return console.redirect(f"/app/ledger/{envelope_id}", notice="console.ledger.notice.corrected")

    def extract_again(envelope_id: str) -> Response[str]:
        """Read the contract again after its extraction failed or never finished (the owner only)."""
        who = visitor()
        console.form()  # the CSRF token and the Origin, checked
        ledger.retry_extraction(console.services(), who.identity, envelope_id)
        return console.redirect(f"/app/ledger/{envelope_id}", notice="console.ledger.notice.extracting")

    def download(envelope_id: str, index: str) -> Response[str]:
        who = visitor()
        files = sending.downloads(console.services(), who.identity, envelope_id)
        if not index.isdigit() or int(index) >= len(files):
            raise InvalidRequest(f"no file {index}", field="file")
        # A short-lived URL of the storage (checked against the recorded hash when it was made).
        return console.redirect_away(files[int(index)].url)

    def import_page(
        *,
        status: int = 200,
        title: str = "",
        typed: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        file_problem: str | None = None,
    ) -> Response[str]:
        return console.render(
            "console/ledger_import.html.j2",
            status=status,
            title=title,
            inputs=typed or metadata_inputs(None),
            errors=errors or {},
            file_problem=file_problem,
            period_units=PERIOD_UNITS,
            import_limit_mib=MAX_IMPORT_BYTES // (1024 * 1024),
        )

    def import_form() -> Response[str]:
        return import_page()

    def import_contract() -> Response[str]:
        who = visitor()
        form = console.form()
        files = console.form_files().get("file") or []
        values, errors, typed = parse_metadata(form)
        title = " ".join(((form.get("title") or [""])[0]).split())
        if not title:
            errors["title"] = "console.ledger.error.title_required"
        elif len(title) > 200:
            errors["title"] = "console.ledger.error.too_long"
        upload = files[0] if files and files[0].data else None
        file_problem: str | None = None
        if upload is None:
            errors["file"] = "console.ledger.error.file_required"
        elif len(upload.data) > MAX_IMPORT_BYTES:
            errors["file"] = "console.ledger.error.file_too_large"
        if errors or upload is None:
            return import_page(status=422, title=title, typed=typed, errors=errors)
        given = {k: v for k, v in values.items() if v not in (None, [])}
        try:
            request = ImportRequest(
                title=title,
                file_name=_file_name(upload),
                content_base64=base64.b64encode(upload.data).decode(),
                metadata=MetadataValues.model_validate(given) if given else None,
            )
        except ValidationError:
            return import_page(status=422, title=title, typed=typed, file_problem=_invalid(who, "metadata"))
        try:
            imported = ledger.import_contract(console.services(), who.identity, request)
        except TachiaiError as e:
            # A preflight refusal (not a PDF, damaged, too large) or no timestamp: said on the file,
            # in the visitor's language; nothing was kept, the form keeps what was typed.
            file_problem = e.message(who.language)
            return import_page(
                status=e.http_status if e.http_status < 500 else 503,
                title=title,
                typed=typed,
                file_problem=file_problem,
            )
        return console.redirect(
            f"/app/ledger/{imported.envelope.id}", notice="console.ledger.notice.imported"
        )

    return {
        ("GET", "/app/ledger"): ledger_home,
        ("GET", "/app/ledger.csv"): ledger_csv,
        ("GET", "/app/ledger/upcoming"): upcoming_page,
        ("GET", "/app/ledger/import"): import_form,
        ("POST", "/app/ledger/import"): import_contract,
        ("GET", "/app/ledger/{envelope_id}"): contract,
        ("POST", "/app/ledger/{envelope_id}"): correct,
        ("POST", "/app/ledger/{envelope_id}/extract"): extract_again,
        ("GET", "/app/ledger/{envelope_id}/files/{index}"): download,
    }


def _local(console: Console, moment: datetime) -> str:
    """A moment of the audit trail in the tenant's time zone, to the minute."""
    return moment.astimezone(console.services().settings.zone).strftime("%Y-%m-%d %H:%M")


def _texts(who: Visitor) -> Callable[..., str]:
    def text(msgid: str, /, **values: object) -> str:
        return i18n.text(msgid, who.language, **values)

    return text


def _invalid(who: Visitor, field: str) -> str:
    return InvalidRequest("metadata", field=field).message(who.language)


def _file_name(upload: UploadedFile) -> str:
    name = " ".join(upload.name.replace("\\", "/").rsplit("/", 1)[-1].split())
    return (name or "document.pdf")[:255]


@dataclass(frozen=True)
class Extraction:
    state: Literal["extracting", "failed", "done"]
    at: datetime | None = None
    engine: str = ""
    error: str | None = None
    """The failure's code (``metadata_error``)."""
    retryable: bool = False
    """Whether the owner may start it again (:func:`tachiai.services.ledger.retry_extraction`)."""


def _extraction(envelope: Envelope, trail: Sequence[AuditEntry]) -> Extraction | None:
    """Where the contract's extraction stands: the envelope's ``metadata_status`` first (after a
    retry the trail's last extraction entry is still the old failure), its time from the trail."""
    completed = envelope.status == EnvelopeStatus.COMPLETED
    if envelope.metadata_status == "extracting":
        return Extraction("extracting", retryable=completed)
    for entry in reversed(trail):
        if entry.kind == AuditKind.METADATA_EXTRACTED and envelope.metadata_status == "extracted":
            return Extraction("done", entry.at, str(entry.data.get("engine") or ""))
        if entry.kind == AuditKind.METADATA_EXTRACTION_FAILED:
            return Extraction("failed", entry.at, error=envelope.metadata_error, retryable=completed)
    if envelope.metadata_status == "failed":  # not started at all: Lambda would not queue it
        return Extraction("failed", error=envelope.metadata_error, retryable=completed)
    return None


@dataclass(frozen=True)
class DocumentLink:
    name: str
    index: int


def _documents(envelope: Envelope) -> list[DocumentLink]:
    """The files the download route hands out for this contract, in the service's order (each
    document, an import's arrival timestamp, the certificate) — named without asking the storage."""
    if envelope.status != EnvelopeStatus.COMPLETED:
        return []
    names: list[str] = []
    for document in envelope.documents:
        names.append(document.name)
        if envelope.origin == "imported":
            names.append(f"{document.name}.tsr")
    if envelope.certificate_sha256:
        names.append(sending.certificate_file_name(envelope))
    return [DocumentLink(n, i) for i, n in enumerate(names)]
