"""`python benchmarks/extraction.py`: how well an extraction engine reads the development set.

The development set is tests/fixtures/contracts/ (contracts written for tachiai with their gold values;
three are also rendered as PDFs); the held-out set, tests/fixtures/contracts/heldout/, was written by
someone who never saw the rules, and the rules are never tuned on it: its columns are the honest figure.
For each field of ContractMetadata the table gives precision and recall, over the development contracts
(all, Japanese, English, as PDF) and over the held-out ones (all, Japanese, English):

* a prediction equal to the gold value is a true positive;
* a prediction that is wrong, or made where the gold is null, is a false positive;
* a gold value that is not predicted, or predicted wrong, is a false negative (a wrong value is
  therefore both a false positive and a false negative);
* parties are compared as sets of names after NFKC, case folding and removal of whitespace, one true
  positive per name found.

The engine is the configured one (TACHIAI_EXTRACTION_ENGINE; rules by default). Times are the mean
wall time of ``extract_document`` per contract, from its bytes: text files, and PDFs (PDFium included).
"""

from __future__ import annotations

import functools
import importlib.util
import statistics
import time
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tachiai.domain.errors import TachiaiError
from tachiai.extract import FIELD_NAMES, ExtractionEngine, extract_document

ROOT = Path(__file__).resolve().parent
DEVSET_MODULE = ROOT.parent / "tests" / "fixtures" / "contracts" / "__init__.py"
SUBSETS = ("all", "ja", "en", "pdf", "held-out", "held-out ja", "held-out en")
HELDOUT = "heldout"
"""The held-out set's directory under the development set's (names there are ``heldout/<name>``)."""

Values = dict[str, Any]
"""ContractMetadata's value fields in JSON form (``model_dump(mode="json")``, or an expected.json)."""


@functools.cache
def devset() -> ModuleType:
    """The development set's fixture module, loaded from its file (it is not an installed package)."""
    spec = importlib.util.spec_from_file_location("tachiai_extraction_devset", DEVSET_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def party_key(name: str) -> str:
    """A party's name as compared: NFKC, case-folded, without whitespace."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def field_counts(field: str, predicted: Values, gold: Values) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one field of one contract."""
    if field == "parties":
        p = {party_key(n) for n in predicted.get("parties") or []}
        g = {party_key(n) for n in gold.get("parties") or []}
        return len(p & g), len(p - g), len(g - p)
    p, g = predicted.get(field), gold.get(field)
    return int(p is not None and p == g), int(p is not None and p != g), int(g is not None and p != g)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def score(pairs: Iterable[tuple[Values, Values]], fields: Sequence[str] = FIELD_NAMES) -> dict[str, Any]:
    """Per field, and summed over the fields ("micro"), the counts with precision and recall (None
    when there is nothing to divide by) of (predicted, gold) pairs."""
    totals = {field: [0, 0, 0] for field in fields}
    for predicted, gold in pairs:
        for field in fields:
            for i, count in enumerate(field_counts(field, predicted, gold)):
                totals[field][i] += count
    totals["micro"] = [sum(totals[f][i] for f in fields) for i in range(3)]
    return {
        field: {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
        }
        for field, (tp, fp, fn) in totals.items()
    }


def _extract(
    engine: ExtractionEngine, data: bytes, errors: dict[str, str], name: str
) -> tuple[Values, float]:
    start = time.perf_counter()
    try:
        values: Values = extract_document(data, engine).model_dump(mode="json")
    except TachiaiError as e:  # scored as predicting nothing; the code is reported
        errors[name] = e.code
        values = {}
    return values, time.perf_counter() - start


def evaluate(engine: ExtractionEngine) -> dict[str, Any]:
    """Scores and times of ``engine`` over the development set (see the module docstring)."""
    contracts = devset()
    names: list[str] = contracts.names()
    heldout = sorted(f"{HELDOUT}/{p.stem}" for p in (contracts.DIRECTORY / HELDOUT).glob("*.txt"))
    gold = {name: contracts.expected(name) for name in [*names, *heldout]}
    errors: dict[str, str] = {}
    # One untimed extraction of each kind first: lazy imports and compiled patterns are start-up cost.
    extract_document(contracts.contract_pdf(contracts.PDF_NAMES[0]), engine)
    text_results = {
        name: _extract(engine, (contracts.DIRECTORY / f"{name}.txt").read_bytes(), errors, name)
        for name in [*names, *heldout]
    }
    pdfs = {name: contracts.contract_pdf(name) for name in contracts.PDF_NAMES}
    pdf_results = {name: _extract(engine, pdf, errors, f"{name}.pdf") for name, pdf in pdfs.items()}
    subsets = {
        "all": [(text_results[n][0], gold[n]) for n in names],
        "ja": [(text_results[n][0], gold[n]) for n in names if n.startswith("ja_")],
        "en": [(text_results[n][0], gold[n]) for n in names if n.startswith("en_")],
        "pdf": [(pdf_results[n][0], gold[n]) for n in pdf_results],
        "held-out": [(text_results[n][0], gold[n]) for n in heldout],
        "held-out ja": [(text_results[n][0], gold[n]) for n in heldout if "/ja_" in n],
        "held-out en": [(text_results[n][0], gold[n]) for n in heldout if "/en_" in n],
    }
    scores = {subset: score(pairs) for subset, pairs in subsets.items()}
    engine_names = {v.get("engine") for v, _ in text_results.values() if v.get("engine")}
    return {
        "engine": ", ".join(sorted(engine_names)) or type(engine).__name__,
        "contracts": {subset: len(pairs) for subset, pairs in subsets.items()},
        "fields": {field: {s: scores[s][field] for s in SUBSETS} for field in [*FIELD_NAMES, "micro"]},
        "mean_text_s": round(statistics.mean(t for _, t in text_results.values()), 5),
        "mean_pdf_s": round(statistics.mean(t for _, t in pdf_results.values()), 5),
        "errors": errors,
    }


def _cell(result: dict[str, Any]) -> str:
    def show(value: float | None) -> str:
        return "  -  " if value is None else f"{value:.2f}"

    return f"{show(result['precision'])} {show(result['recall'])}"


def print_table(results: dict[str, Any]) -> None:
    counts = results["contracts"]
    print(
        f"\nExtraction ({results['engine']}): {counts['all']} development contracts ({counts['ja']} ja,"
        f" {counts['en']} en) + {counts['pdf']} as PDF; {counts['held-out']} held out"
        f" ({counts['held-out ja']} ja, {counts['held-out en']} en); precision / recall"
    )
    print(f"{'field':<16}" + "".join(f"{s:>13}" for s in SUBSETS))
    for field, by_subset in results["fields"].items():
        print(f"{field:<16}" + "".join(f"{_cell(by_subset[s]):>13}" for s in SUBSETS))
    print(
        f"mean time: {results['mean_text_s'] * 1000:.1f} ms per text contract,"
        f" {results['mean_pdf_s'] * 1000:.1f} ms per PDF"
    )
    if results["errors"]:
        print(f"refused: {results['errors']}")


def main() -> None:
    from tachiai.extract import engine_from_settings

    print_table(evaluate(engine_from_settings()))


if __name__ == "__main__":
    main()
