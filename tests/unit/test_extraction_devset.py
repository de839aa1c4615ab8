"""The development set is well-formed, the evaluator counts right, and the default engine is not broken."""

from __future__ import annotations

from typing import Any

import pytest
from tachiai.extract import FIELD_NAMES, ContractMetadata, notice_deadline
from tachiai.extract.text import pdf_text

from benchmarks.extraction import evaluate, field_counts, party_key, score
from tests.fixtures.contracts import DIRECTORY, PDF_NAMES, contract_pdf, contract_text, expected, names

HELDOUT = sorted(f"heldout/{p.stem}" for p in (DIRECTORY / "heldout").glob("*.txt"))
"""The held-out set's contracts, whose gold is checked like the development set's."""


@pytest.mark.parametrize("name", [*names(), *HELDOUT])
def test_every_gold_file_is_valid_contract_metadata_with_every_value_field(name):
    gold = expected(name)

    assert set(gold) == set(FIELD_NAMES)
    ContractMetadata.model_validate(gold)


@pytest.mark.parametrize("name", [*names(), *HELDOUT])
def test_every_gold_notice_deadline_is_the_computed_one(name):
    gold = ContractMetadata.model_validate(expected(name))

    assert gold.notice_deadline == notice_deadline(gold.end_date, gold.notice_period)


@pytest.mark.parametrize("directory", [DIRECTORY, DIRECTORY / "heldout"], ids=["development", "held-out"])
def test_every_contract_has_its_gold_and_every_gold_its_contract(directory):
    contracts = {p.name.removesuffix(".txt") for p in directory.glob("*.txt")}
    golds = {p.name.removesuffix(".expected.json") for p in directory.glob("*.expected.json")}

    assert contracts == golds


def test_the_held_out_set_has_both_languages_and_no_contract_of_the_development_set():
    assert len([n for n in HELDOUT if "/ja_" in n]) >= 8 and len([n for n in HELDOUT if "/en_" in n]) >= 12
    development = {contract_text(n) for n in names()}
    assert not any(contract_text(n) in development for n in HELDOUT)


def test_the_set_has_at_least_14_japanese_and_10_english_contracts():
    assert (len(names("ja")), len(names("en"))) >= (14, 10)
    assert len(names()) == len(names("ja")) + len(names("en"))


@pytest.mark.parametrize("name", PDF_NAMES)
def test_a_rendered_pdf_carries_the_whole_contract(name):
    # Wrapping adds line breaks and blank lines leave no trace, so compare without whitespace.
    text = pdf_text(contract_pdf(name))

    assert "".join(text.split()) == "".join(contract_text(name).split())


# --- the evaluator's arithmetic ------------------------------------------------------------------


def test_a_right_value_is_a_true_positive():
    assert field_counts("amount", {"amount": 450000}, {"amount": 450000}) == (1, 0, 0)


def test_a_wrong_value_is_a_false_positive_and_a_false_negative():
    assert field_counts("amount", {"amount": 220000}, {"amount": 55000}) == (0, 1, 1)


def test_a_value_where_the_gold_is_null_is_a_false_positive():
    assert field_counts("notice_period", {"notice_period": "1 months"}, {"notice_period": None}) == (0, 1, 0)


def test_a_missing_value_is_a_false_negative():
    assert field_counts("end_date", {"end_date": None}, {"end_date": "2025-03-31"}) == (0, 0, 1)


def test_false_is_a_prediction_and_null_agreeing_with_null_counts_nothing():
    assert field_counts("auto_renewal", {"auto_renewal": False}, {"auto_renewal": None}) == (0, 1, 0)
    assert field_counts("auto_renewal", {}, {"auto_renewal": None}) == (0, 0, 0)


def test_parties_count_one_per_name_after_nfkc_case_and_whitespace_folding():
    predicted = {"parties": ["佐藤　健一", "ＡＢＣ株式会社", "PACIFIC RIM FOODS CORP.", "請負者"]}
    gold = {"parties": ["佐藤健一", "ABC株式会社", "Pacific Rim Foods Corp.", "株式会社丸山工務店"]}

    assert field_counts("parties", predicted, gold) == (3, 1, 1)
    assert party_key("佐藤　健一") == party_key("佐藤 健一") == "佐藤健一"


def test_precision_and_recall_are_summed_over_contracts_and_over_fields():
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"amount": 1, "currency": "JPY"}, {"amount": 1, "currency": "JPY"}),
        ({"amount": 2, "currency": None}, {"amount": 3, "currency": "USD"}),
        ({"amount": 5, "currency": "EUR"}, {"amount": None, "currency": None}),
    ]

    scores = score(pairs, fields=("amount", "currency"))

    assert scores["amount"] == {"tp": 1, "fp": 2, "fn": 1, "precision": 0.333, "recall": 0.5}
    assert scores["currency"] == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5}
    assert scores["micro"] == {"tp": 2, "fp": 3, "fn": 2, "precision": 0.4, "recall": 0.5}


def test_a_field_never_predicted_nor_given_has_no_precision_or_recall():
    scores = score([({}, {"end_date": None})], fields=("end_date",))

    assert scores["end_date"]["precision"] is None and scores["end_date"]["recall"] is None


# --- a floor under the default engine (a sanity check, not a target) ------------------------------


@pytest.fixture(scope="module")
def rule_results() -> dict[str, Any]:
    from tachiai.extract.rules import RuleEngine

    return evaluate(RuleEngine())


@pytest.mark.parametrize("field", ["contract_date", "parties", "amount"])
def test_the_rule_engine_finds_more_than_half_of_the_japanese_values(rule_results, field):
    assert rule_results["fields"][field]["ja"]["recall"] > 0.5


def test_the_evaluation_times_text_and_pdf_extraction(rule_results):
    # The development subsets; the held-out columns beside them are the held-out set's business.
    development = {key: rule_results["contracts"][key] for key in ("all", "ja", "en", "pdf")}
    assert development == {
        "all": len(names()),
        "ja": len(names("ja")),
        "en": len(names("en")),
        "pdf": len(PDF_NAMES),
    }
    assert rule_results["mean_text_s"] > 0 and rule_results["mean_pdf_s"] > 0
