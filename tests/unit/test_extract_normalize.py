"""Normalisation for the rule-based extractor: width folding with offsets, numerals, dates, durations."""

from __future__ import annotations

from datetime import date

import pytest
from tachiai.extract.normalize import (
    Duration,
    english_number,
    english_ordinal,
    find_dates,
    fold_width,
    kanji_to_int,
    parse_date,
    parse_duration,
    period_end,
    unwrap_lines,
)

# ------------------------------------------------------------------------------------------- width


def test_full_width_digits_letters_and_punctuation_fold_to_half_width():
    assert fold_width("２０２４年（ＡＢＣ）：１，０００円").text == "2024年(ABC):1,000円"


def test_half_width_katakana_with_voiced_marks_fold_to_one_character_each():
    folded = fold_width("ｶﾞｲﾄﾞ")
    assert folded.text == "ガイド"
    assert folded.span(0, 1) == (0, 2)
    assert folded.span(2, 3) == (3, 5)


def test_a_character_that_folds_to_several_keeps_its_original_span():
    original = "ベータ㈱と"
    folded = fold_width(original)
    assert folded.text == "ベータ(株)と"
    start, end = folded.span(3, 6)
    assert original[start:end] == "㈱"
    start, end = folded.span(6, 7)
    assert original[start:end] == "と"


def test_every_folded_span_maps_back_to_the_original_words():
    original = "契約期間は、２０２４年４月１日から㈱サンプルと—"
    folded = fold_width(original)
    index = folded.text.index("2024年4月1日")
    start, end = folded.span(index, index + len("2024年4月1日"))
    assert original[start:end] == "２０２４年４月１日"


def test_typographic_dashes_and_quotes_fold_to_ascii():
    assert fold_width("“Effective Date” 2024‐03‐15 – ‘x’").text == "\"Effective Date\" 2024-03-15 - 'x'"


def test_ascii_text_is_its_own_fold_with_identity_offsets():
    folded = fold_width("This Agreement")
    assert folded.text == "This Agreement" and folded.starts is None
    assert folded.span(5, 14) == (5, 14)


def test_the_span_of_an_empty_range_and_out_of_range_offsets_is_clamped():
    folded = fold_width("㈱Ａ")
    assert folded.span(4, 4) == (2, 2)
    assert folded.span(-5, 99) == (0, 2)


# ----------------------------------------------------------------------------------------- numerals


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("四十五万", 450_000),
        ("45万", 450_000),
        ("1,280万", 12_800_000),
        ("１，２８０万", 12_800_000),
        ("1千2百万", 12_000_000),
        ("一億二千万", 120_000_000),
        ("十", 10),
        ("千二十四", 1024),
        ("二千二十四", 2024),
        ("1.5万", 15_000),
        ("450,000", 450_000),
        ("〇", 0),
    ],
)
def test_kanji_and_mixed_numerals(numeral, value):
    assert kanji_to_int(numeral) == value


def test_formal_kanji_numerals_壱千弐百八拾万():
    assert kanji_to_int("壱千弐百八拾万") == 12_800_000


def test_formal_kanji_numerals_壱百弐拾萬_and_仟_and_阡():
    assert kanji_to_int("壱百弐拾萬") == 1_200_000
    assert kanji_to_int("参仟") == kanji_to_int("参阡") == 3000


def test_kanji_written_digit_by_digit_二〇二四():
    assert kanji_to_int("二〇二四") == 2024


def test_零_is_a_zero_digit():
    assert kanji_to_int("壱千零五") == 1005


@pytest.mark.parametrize(
    "numeral", ["", "十百", "千千", "万", "abc", "1,2,3", "1.2.3", "0.5", "二十万三十万"]
)
def test_malformed_numerals_are_none(numeral):
    assert kanji_to_int(numeral) is None


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("ninety", 90),
        ("Thirty", 30),
        ("twenty-four", 24),
        ("one hundred and twenty", 120),
        ("fifty thousand", 50_000),
        ("Eight Thousand Five Hundred", 8_500),
        ("a", 1),
    ],
)
def test_english_number_words(words, value):
    assert english_number(words) == value


@pytest.mark.parametrize("words", ["", "one two", "twelve three", "twenty thirty", "lots", "and"])
def test_malformed_english_numbers_are_none(words):
    assert english_number(words) is None


# -------------------------------------------------------------------------------------------- dates


def test_reiwa_gannen_is_2019():
    assert parse_date("令和元年5月1日") == date(2019, 5, 1)


def test_reiwa_kanji_numerals_令和六年三月十五日():
    assert parse_date("令和六年三月十五日") == date(2024, 3, 15)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("令和6年3月15日", date(2024, 3, 15)),
        ("令和６年３月１５日", date(2024, 3, 15)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("令和 6 年 4 月 1 日", date(2024, 4, 1)),
        ("R6.4.1", date(2024, 4, 1)),
        ("H31/4/30", date(2019, 4, 30)),
        ("令和6.4.1", date(2024, 4, 1)),
        ("2024年3月15日", date(2024, 3, 15)),
        ("二〇二四年三月十五日", date(2024, 3, 15)),
        ("2024/3/15", date(2024, 3, 15)),
        ("2024-03-15", date(2024, 3, 15)),
        ("2024.3.15", date(2024, 3, 15)),
        ("２０２４／３／１５", date(2024, 3, 15)),
    ],
)
def test_japanese_and_numeric_dates(text, value):
    assert parse_date(text) == value


def test_forms_printed_before_an_era_ended_keep_its_years():
    assert parse_date("平成32年3月31日") == date(2020, 3, 31)


def test_a_date_before_its_era_began_is_not_a_date():
    assert parse_date("令和元年4月1日") is None


@pytest.mark.parametrize(
    "text", ["2024年2月30日", "令和6年13月1日", "2023年2月29日", "令和0年1月1日", "R6.2.30"]
)
def test_impossible_dates_are_not_dates(text):
    assert parse_date(text) is None


def test_a_leap_day_is_a_date():
    assert parse_date("令和6年2月29日") == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("March 15, 2024", date(2024, 3, 15)),
        ("March 15th, 2024", date(2024, 3, 15)),
        ("15 March 2024", date(2024, 3, 15)),
        ("the 15th day of March, 2024", date(2024, 3, 15)),
        ("this 1st day of April 2024", date(2024, 4, 1)),
        ("Sept. 1, 2024", date(2024, 9, 1)),
        ("DECEMBER 31, 2025", date(2025, 12, 31)),
    ],
)
def test_english_dates(text, value):
    assert parse_date(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("March\n     15, 2024", date(2024, 3, 15)),
        ("March 15,\n  2024", date(2024, 3, 15)),
        ("the 8th day of\n     May, 2018", date(2018, 5, 8)),
    ],
)
def test_an_english_date_hard_wrapped_over_a_line_break_is_one_date(text, value):
    assert parse_date(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("this twenty-second day of January, 2021", date(2021, 1, 22)),
        ("the First day of July, 2019", date(2019, 7, 1)),
        ("the thirty-first day of December 2025", date(2025, 12, 31)),
    ],
)
def test_an_ordinal_day_in_words_before_day_of_is_read(text, value):
    assert parse_date(text) == value


def test_a_day_written_before_of_without_day_is_read():
    assert parse_date("1st of July 2019") == date(2019, 7, 1)


def test_a_word_that_is_no_ordinal_before_day_of_is_not_a_date():
    assert parse_date("the same day of March 2024") is None


@pytest.mark.parametrize(
    ("text", "value"), [("fifth", 5), ("twenty-first", 21), ("Twenty First", 21), ("5th", 5), ("22nd", 22)]
)
def test_english_ordinals_in_words_and_figures(text, value):
    assert english_ordinal(text) == value


def test_an_english_duration_hard_wrapped_over_a_line_break_is_one_duration():
    assert parse_duration("one hundred twenty\n     (120) days") == Duration(120, "days")
    assert parse_duration("sixty (60)\n  days") == Duration(60, "days")


def test_ambiguous_numeric_day_month_orders_are_not_read():
    assert parse_date("03/04/2024") is None


def test_find_dates_reports_offsets_in_the_given_full_width_text():
    text = "契約日：令和６年３月１５日、終了日：2025年3月31日"
    found = find_dates(text)
    assert [d.value for d in found] == [date(2024, 3, 15), date(2025, 3, 31)]
    assert [text[d.start : d.end] for d in found] == ["令和６年３月１５日", "2025年3月31日"]


def test_parse_date_needs_the_whole_text_to_be_a_date():
    assert parse_date("締結日 2024年3月15日") is None


# ---------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("3か月", Duration(3, "months")),
        ("３ヶ月間", Duration(3, "months")),
        ("3ケ月", Duration(3, "months")),
        ("3カ月", Duration(3, "months")),
        ("三箇月", Duration(3, "months")),
        ("1年間", Duration(1, "years")),
        ("2年", Duration(2, "years")),
        ("30日", Duration(30, "days")),
        ("2週間", Duration(2, "weeks")),
        ("半年", Duration(6, "months")),
        ("10営業日", Duration(10, "days", business=True)),
        ("ninety (90) days", Duration(90, "days")),
        ("thirty (30) days", Duration(30, "days")),
        ("three (3) months", Duration(3, "months")),
        ("twelve months", Duration(12, "months")),
        ("one year", Duration(1, "years")),
        ("a year", Duration(1, "years")),
        ("60 days", Duration(60, "days")),
        ("ninety-day", Duration(90, "days")),
        ("sixty (60) business days", Duration(60, "days", business=True)),
    ],
)
def test_durations_in_japanese_and_english(text, duration):
    assert parse_duration(text) == duration


def test_words_prevail_over_figures_that_disagree():
    assert parse_duration("ninety (60) days") == Duration(90, "days")


def test_a_duration_gives_the_models_notice_period_form():
    assert parse_duration("3か月").period == "3 months"
    assert parse_duration("one month").period == "1 months"


@pytest.mark.parametrize("text", ["", "3月", "0日", "days", "three apples", "二〇二四年"])
def test_what_is_not_a_duration_is_none(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("start", "duration", "end"),
    [
        (date(2024, 4, 1), Duration(1, "years"), date(2025, 3, 31)),
        (date(2024, 4, 1), Duration(2, "years"), date(2026, 3, 31)),
        (date(2024, 3, 15), Duration(2, "years"), date(2026, 3, 14)),
        (date(2024, 10, 1), Duration(3, "months"), date(2024, 12, 31)),
        (date(2024, 1, 31), Duration(1, "months"), date(2024, 2, 29)),
        (date(2024, 2, 29), Duration(1, "years"), date(2025, 2, 28)),
        (date(2024, 4, 1), Duration(30, "days"), date(2024, 4, 30)),
        (date(2024, 4, 1), Duration(2, "weeks"), date(2024, 4, 14)),
    ],
)
def test_a_period_ends_the_day_before_the_corresponding_day(start, duration, end):
    assert period_end(start, duration) == end


def test_a_period_past_the_calendar_is_none():
    assert period_end(date(9999, 6, 1), Duration(1, "years")) is None


# -------------------------------------------------------------------------------------- line wraps


def test_a_pdf_line_wrap_inside_a_japanese_sentence_is_taken_out():
    original = "\n".join(
        [
            "業務委託契約書",
            "本契約の有効期間は、本契約締結日から１年間とする。ただし、期間満",
            "了の１か月前までにいずれの当事者からも書面による終了の申出がない",
            "ときは、本契約はさらに１年間同一条件で延長されるものとし、以後も同",
            "第２条（秘密保持）",
            "甲及び乙は、本契約の内容を第三者に開示してはならない。以下余白です。",
        ]
    )
    unwrapped = unwrap_lines(fold_width(original))
    assert "期間満了の1か月前" in unwrapped.text
    assert "業務委託契約書\n本契約" in unwrapped.text  # a short title line keeps its break
    assert "以後も同\n第2条" in unwrapped.text  # an article starts a new line
    index = unwrapped.text.index("期間満了")
    start, end = unwrapped.span(index, index + 4)
    assert original[start:end] == "期間満\n了"


def test_text_without_wrapped_lines_is_left_as_it_is():
    folded = fold_width("第1条 甲は乙に委託する。\n第2条 乙は受託する。\n第3条 協議する。")
    assert unwrap_lines(folded) is folded
