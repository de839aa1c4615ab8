"""L1: the ledger as `tachiai search` prints it — aligned for people, CSV for spreadsheets."""

from __future__ import annotations

import csv
import io

from tachiai.ledger_listing import MAX_CELL, display_width, format_amount, table, to_csv

CONTRACT = {
    "envelope_id": "env_1",
    "title": "秘密保持契約書",
    "transaction_date": "2026-04-01",
    "counterparties": ["髙橋﨑商事株式会社", "Acme Corp."],
    "amount": 1280000,
    "currency": "JPY",
    "end_date": "2027-03-31",
    "notice_deadline": "2027-02-28",
    "auto_renewal": True,
    "status": "completed",
    "origin": "signed",
    "owner_email": "keiyaku@example.co.jp",
}


def test_wide_characters_take_two_columns():
    assert display_width("ABC") == 3
    assert display_width("契約") == 4
    assert display_width("ＡＢ") == 4  # full-width Latin


def test_amounts_are_grouped_and_carry_their_currency():
    assert format_amount(1280000, "JPY") == "1,280,000 JPY"
    assert format_amount(5, None) == "5"
    assert format_amount(None, "JPY") == ""


def test_the_table_lines_up_japanese_and_english_rows():
    english = {**CONTRACT, "envelope_id": "env_2", "title": "Mutual NDA", "counterparties": ["Northwind"]}
    header, rule, first, second = table([CONTRACT, english]).splitlines()
    start = display_width(header[: header.index("ID")])
    assert display_width(first[: first.index("env_1")]) == start
    assert display_width(second[: second.index("env_2")]) == start
    assert "髙橋﨑商事株式会社、Acme Corp." in first and "1,280,000 JPY" in first
    assert set(rule) <= {"-", " "}


def test_a_long_title_is_cut_with_an_ellipsis():
    row = table([{**CONTRACT, "title": "継続的商品売買基本契約書" * 5}]).splitlines()[2]
    title = row.split("  ")[1].strip()
    assert title.endswith("…") and display_width(title) <= MAX_CELL


def test_an_empty_result_says_so_in_the_language_asked():
    assert table([], "ja") == "該当する契約はありません。"
    assert table([], "en") == "No contract matches."
    assert table([], "zh") == "没有符合条件的合同。"


def test_the_header_is_in_the_language_asked():
    assert table([CONTRACT], "ja").splitlines()[0].split()[:2] == ["取引日", "件名"]
    assert table([CONTRACT], "en").splitlines()[0].split()[:2] == ["date", "title"]
    assert table([CONTRACT], "zh").splitlines()[0].split()[:2] == ["交易日期", "标题"]


def test_csv_has_every_ledger_field_one_row_per_contract():
    rows = list(csv.DictReader(io.StringIO(to_csv([CONTRACT, {**CONTRACT, "amount": None}]))))
    assert len(rows) == 2
    assert rows[0]["counterparties"] == "髙橋﨑商事株式会社; Acme Corp."
    assert rows[0]["amount"] == "1280000" and rows[0]["auto_renewal"] == "true"
    assert rows[1]["amount"] == ""
