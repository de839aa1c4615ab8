"""The contract ledger as ``tachiai search`` prints it: an aligned table for people, CSV for a
spreadsheet (or a tax inspector: 電子帳簿保存法 asks that the records can be output), JSON for programs.

Works on the JSON the API answers (``GET /v1/envelopes?ledger=true``), so it needs no AWS library.

What people typed (titles, counterparties) is untrusted on its way out too: every cell goes through the
one text rule (:mod:`tachiai.domain.text`: no ESC or BEL reaches the terminal, no bidi override reorders
a row), and every CSV cell is neutralized against formula injection (:func:`~tachiai.domain.text.csv_cell`).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tachiai import i18n
from tachiai.domain.text import csv_cell, single_line

Contract = Mapping[str, Any]

TABLE_COLUMNS: Sequence[str] = (
    "transaction_date",
    "title",
    "counterparties",
    "amount",
    "end_date",
    "notice_deadline",
    "status",
    "envelope_id",
)
"""The table's columns; each header is the catalog's ``cli.ledger.column.<column>``."""
CSV_COLUMNS: Sequence[str] = (
    "envelope_id",
    "title",
    "transaction_date",
    "counterparties",
    "amount",
    "currency",
    "end_date",
    "notice_deadline",
    "auto_renewal",
    "status",
    "origin",
    "owner_email",
)
MAX_CELL = 40
"""Display columns a table cell takes at most (longer text ends with …)."""


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (全角) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str, width: int = MAX_CELL) -> str:
    if display_width(text) <= width:
        return text
    clipped = ""
    for character in text:
        if display_width(clipped + character) > width - 1:
            break
        clipped += character
    return clipped + "…"


def format_amount(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return ""
    return f"{amount:,} {currency}" if currency else f"{amount:,}"


def _cell(contract: Contract, column: str) -> str:
    if column == "amount":
        return format_amount(contract.get("amount"), contract.get("currency"))
    value = contract.get(column)
    if column == "counterparties":
        return "、".join(single_line(str(v)) for v in value or [])
    return "" if value is None else single_line(str(value))


def table(contracts: Iterable[Contract], language: i18n.Language = i18n.DEFAULT_LANGUAGE) -> str:
    """An aligned, width-aware table with its header in ``language`` (empty ledger: a one-line message).

    :raises tachiai.i18n.MissingMessage: a header is missing from the catalog (a programming error).
    """
    rows = [[_clip(_cell(c, column)) for column in TABLE_COLUMNS] for c in contracts]
    if not rows:
        return i18n.text("cli.ledger.none", language)
    header = [i18n.text(f"cli.ledger.column.{column}", language) for column in TABLE_COLUMNS]
    widths = [max(display_width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell + " " * (width - display_width(cell)) for cell, width in zip(cells, widths, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def to_csv(contracts: Iterable[Contract]) -> str:
    """One row per contract, every ledger field (counterparties joined with ``; ``).

    Every cell is :func:`~tachiai.domain.text.csv_cell`: text that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@`` ...) starts with ``'``; the amount stays a number.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for contract in contracts:
        row = []
        for column in CSV_COLUMNS:
            value = contract.get(column)
            if column == "counterparties":
                value = "; ".join(single_line(str(v)) for v in value or [])
            row.append(csv_cell(value))
        writer.writerow(row)
    return out.getvalue()
