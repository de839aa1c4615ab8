"""The rule-based extractor reads a whole contract's ledger data, in Japanese and in English, with evidence."""

from __future__ import annotations

import time
from datetime import date

import pytest
from tachiai.extract.model import FIELD_NAMES, ContractMetadata
from tachiai.extract.rules import RuleEngine

# 業務委託契約書: full-width digits, 総額 with a tax note, 同一条件で更新, 3か月前 notice, a liability cap
# that is not the price, the dated line before signature blocks with address and representative.
JA_SERVICES = """\
業務委託契約書

株式会社サンプル商事（以下「甲」という。）と山田工業株式会社（以下「乙」という。）は、甲が乙に委託する\
業務に関し、次のとおり業務委託契約（以下「本契約」という。）を締結する。

第１条（目的）
甲は、乙に対し、甲の基幹システムの保守業務（以下「本業務」という。）を委託し、乙はこれを受託する。

第２条（委託料）
本業務の委託料は、総額金３００万円（消費税別）とし、甲は、本業務完了の翌月末日までに、乙の指定する\
銀行口座に振り込む方法により支払う。

第３条（契約期間）
本契約の契約期間は、２０２４年４月１日から２０２５年３月３１日までとする。ただし、期間満了の３か月前\
までに甲乙いずれからも書面による別段の申出がないときは、本契約は同一条件でさらに１年間更新される\
ものとし、以後も同様とする。

第４条（損害賠償）
乙が本契約に違反して甲に損害を与えた場合の損害賠償の額は、金１００万円を上限とする。

第５条（解約）
甲又は乙は、１か月前までに相手方に書面で予告することにより、本契約を解約することができる。

第６条（協議）
本契約に定めのない事項については、甲乙誠実に協議の上、解決する。

本契約締結の証として、本書２通を作成し、甲乙記名押印のうえ、各１通を保有する。

令和６年３月１５日

甲　東京都千代田区丸の内一丁目１番１号
　　株式会社サンプル商事
　　代表取締役　佐藤一郎

乙　大阪府大阪市北区梅田二丁目２番２号
　　山田工業株式会社
　　代表取締役　山田太郎
"""

# 秘密保持契約書: an individual party, kanji-numeral date line, 締結日から1年間, 自動的に更新, 30日前.
JA_NDA = """\
秘密保持契約書

一般社団法人日本データ協会（以下「甲」という。）と山田太郎（以下「乙」という。）とは、甲の会員向け\
サービスの検討（以下「本目的」という。）に関して相互に開示する秘密情報の取扱いについて、以下のとおり\
秘密保持契約（以下「本契約」という。）を締結する。

第1条（秘密情報）
本契約において秘密情報とは、本目的のために開示当事者が受領当事者に開示した技術上又は営業上の情報をいう。

第2条（有効期間）
本契約の有効期間は、本契約締結日から1年間とする。ただし、期間満了日の30日前までにいずれの当事者からも\
更新しない旨の書面による通知がないときは、本契約は自動的に1年間更新されるものとし、以後も同様とする。

第3条（損害賠償）
受領当事者は、本契約に違反したときは、開示当事者が被った損害を賠償する。

以上、本契約の成立を証するため、本書2通を作成し、甲乙署名又は記名押印の上、各1通を保有する。

令和六年四月一日

甲：東京都港区芝公園一丁目1番1号
一般社団法人日本データ協会
代表理事　鈴木花子

乙：神奈川県横浜市西区みなとみらい三丁目3番3号
山田太郎　印
"""

# ライセンス契約書: 締結日 label, (株) written as ㈱, formal kanji amount, a monthly fee beside the total,
# 令和6年4月1日から起算して2年間, 期間満了をもって終了し更新はしない.
JA_LICENSE = """\
ソフトウェアライセンス契約書

締結日：2024年3月1日

株式会社アルファ・ソフト（以下「甲」という。）とベータ㈱（以下「乙」という。）は、甲が保有する\
ソフトウェア（以下「本ソフトウェア」という。）の使用許諾について、次のとおり契約を締結する。

第1条（使用許諾）
甲は、乙に対し、本ソフトウェアを乙の社内業務のために使用する非独占的な権利を許諾する。

第2条（許諾料）
乙は、甲に対し、許諾料として金壱千弐百八拾万円（税抜）を支払う。
2　前項とは別に、乙は甲に対し、保守料として月額10万円を毎月末日までに支払う。

第3条（有効期間）
本契約の有効期間は、令和6年4月1日から起算して2年間とする。本契約は期間満了をもって終了し、更新はしない。

第4条（合意管轄）
本契約に関する紛争は、東京地方裁判所を第一審の専属的合意管轄裁判所とする。

甲　株式会社アルファ・ソフト　代表取締役　高橋健
乙　ベータ㈱　代表取締役　伊藤誠
"""

# A mutual NDA: "made and entered into as of", the Effective Date, a two-year term, no renewal clause.
EN_NDA = """\
MUTUAL NON-DISCLOSURE AGREEMENT

This Mutual Non-Disclosure Agreement (the "Agreement") is made and entered into as of March 15, 2024 \
(the "Effective Date") by and between Acme Corporation, a Delaware corporation with offices at \
100 Main Street, Springfield ("Acme"), and Beta Kabushiki Kaisha, a Japanese corporation ("Beta").

1. Purpose. The parties wish to evaluate a possible business relationship (the "Purpose") and may \
disclose Confidential Information to each other for the Purpose.

2. Obligations. The Recipient shall hold the Discloser's Confidential Information in strict confidence \
and shall not disclose it to any third party.

3. Term. This Agreement shall remain in effect for a period of two (2) years from the Effective Date. \
The obligations of confidentiality shall survive for a period of three (3) years after the termination \
of this Agreement.

4. Governing Law. This Agreement is governed by the laws of the State of New York.

IN WITNESS WHEREOF, the parties have executed this Agreement as of the Effective Date.

ACME CORPORATION
By: ______________________
Name: John Smith
Title: Chief Executive Officer

BETA KABUSHIKI KAISHA
By: ______________________
Name: Taro Yamada
Title: Representative Director
"""

# A services agreement: entered into on a date, an explicit initial term, automatic renewal with
# ninety (90) days' notice, a total fee beside a monthly instalment, a termination-for-convenience notice.
EN_SERVICES = """\
SERVICES AGREEMENT

This Services Agreement (this "Agreement") is entered into on January 10, 2024 between Gamma LLC, \
a New York limited liability company ("Provider"), and Delta Co., Ltd., a company organized under the \
laws of Japan ("Client").

1. Services. Provider shall provide the cloud operation services described in Exhibit A.

2. Fees. The total fee for the initial term is USD 120,000 (exclusive of taxes), payable in monthly \
installments of USD 10,000. Late payments bear interest of 1.5% per month.

3. Term and Renewal. The initial term of this Agreement shall commence on February 1, 2024 and continue \
until January 31, 2025. Thereafter, this Agreement shall automatically renew for successive one-year \
terms unless either party gives written notice of non-renewal at least ninety (90) days prior to the end \
of the then-current term.

4. Termination for Convenience. Client may terminate this Agreement at any time upon thirty (30) days' \
written notice to Provider.

5. Limitation of Liability. Neither party's liability shall exceed USD 500,000.

IN WITNESS WHEREOF, the parties have caused this Agreement to be executed by their duly authorized \
representatives.

GAMMA LLC                                   DELTA CO., LTD.
By: ____________                            By: ____________
"""

# A fixed-term license: "dated as of the 1st day of April, 2024", a one-year term from the Effective Date,
# "shall not be renewed", a fee in dollars, signature dates.
EN_LICENSE = """\
SOFTWARE LICENSE AGREEMENT

This Software License Agreement is dated as of the 1st day of April, 2024 (the "Effective Date") \
between Epsilon GmbH ("Licensor") and Zeta K.K. ("Licensee").

1. Grant. Licensor grants Licensee a non-exclusive, non-transferable license to use the Software.

2. License Fee. In consideration of the license, Licensee shall pay Licensor a one-time license fee of \
$15,000.00 within thirty (30) days of the Effective Date.

3. Term. This Agreement shall be in force for a term of one (1) year from the Effective Date. This \
Agreement shall expire at the end of the Term and shall not be renewed.

IN WITNESS WHEREOF, the parties have executed this Agreement.

Licensor: Epsilon GmbH
Date: April 1, 2024

Licensee: Zeta K.K.
Date: April 1, 2024
"""

CONTRACTS = {
    "ja_services": JA_SERVICES,
    "ja_nda": JA_NDA,
    "ja_license": JA_LICENSE,
    "en_nda": EN_NDA,
    "en_services": EN_SERVICES,
    "en_license": EN_LICENSE,
}

EXPECTED = {
    "ja_services": {
        "contract_date": date(2024, 3, 15),
        "start_date": date(2024, 4, 1),
        "end_date": date(2025, 3, 31),
        "parties": ["株式会社サンプル商事", "山田工業株式会社"],
        "auto_renewal": True,
        "notice_period": "3 months",
        "notice_deadline": date(2024, 12, 31),
        "amount": 3_000_000,
        "currency": "JPY",
    },
    "ja_nda": {
        "contract_date": date(2024, 4, 1),
        "start_date": date(2024, 4, 1),
        "end_date": date(2025, 3, 31),
        "parties": ["一般社団法人日本データ協会", "山田太郎"],
        "auto_renewal": True,
        "notice_period": "30 days",
        "notice_deadline": date(2025, 3, 1),
        "amount": None,
        "currency": None,
    },
    "ja_license": {
        "contract_date": date(2024, 3, 1),
        "start_date": date(2024, 4, 1),
        "end_date": date(2026, 3, 31),
        "parties": ["株式会社アルファ・ソフト", "ベータ(株)"],
        "auto_renewal": False,
        "notice_period": None,
        "notice_deadline": None,
        "amount": 12_800_000,
        "currency": "JPY",
    },
    "en_nda": {
        "contract_date": date(2024, 3, 15),
        "start_date": date(2024, 3, 15),
        "end_date": date(2026, 3, 14),
        "parties": ["Acme Corporation", "Beta Kabushiki Kaisha"],
        "auto_renewal": None,
        "notice_period": None,
        "notice_deadline": None,
        "amount": None,
        "currency": None,
    },
    "en_services": {
        "contract_date": date(2024, 1, 10),
        "start_date": date(2024, 2, 1),
        "end_date": date(2025, 1, 31),
        "parties": ["Gamma LLC", "Delta Co., Ltd."],
        "auto_renewal": True,
        "notice_period": "90 days",
        "notice_deadline": date(2024, 11, 2),
        "amount": 120_000,
        "currency": "USD",
    },
    "en_license": {
        "contract_date": date(2024, 4, 1),
        "start_date": date(2024, 4, 1),
        "end_date": date(2025, 3, 31),
        "parties": ["Epsilon GmbH", "Zeta K.K."],
        "auto_renewal": False,
        "notice_period": None,
        "notice_deadline": None,
        "amount": 15_000,
        "currency": "USD",
    },
}

ENGINE = RuleEngine()


def _extract(key: str) -> ContractMetadata:
    return ENGINE.extract(CONTRACTS[key])


@pytest.mark.parametrize("key", list(CONTRACTS))
@pytest.mark.parametrize("field", FIELD_NAMES)
def test_every_field_of_six_whole_contracts(key, field):
    assert getattr(_extract(key), field) == EXPECTED[key][field]


@pytest.mark.parametrize("key", list(CONTRACTS))
def test_every_evidence_points_at_its_words_in_the_given_text(key):
    text = CONTRACTS[key]
    metadata = ENGINE.extract(text)
    assert metadata.evidence
    for evidence in metadata.evidence:
        assert evidence.start is not None and evidence.end is not None
        assert text[evidence.start : evidence.end] == evidence.text
        assert 0.0 < evidence.confidence <= 1.0


@pytest.mark.parametrize("key", list(CONTRACTS))
def test_every_value_returned_has_evidence(key):
    metadata = _extract(key)
    for field in FIELD_NAMES:
        value = getattr(metadata, field)
        if value is None or value == []:
            assert not metadata.evidence_for(field), field
        else:
            assert metadata.evidence_for(field), field
    assert len(metadata.evidence_for("parties")) == len(metadata.parties)


def test_the_engine_names_itself_rules():
    assert _extract("en_nda").engine == "rules"


def test_a_party_evidence_is_the_name_as_written_in_full_width():
    text = JA_LICENSE
    metadata = ENGINE.extract(text)
    (beta,) = [e for e in metadata.evidence_for("parties") if e.text.startswith("ベータ")]
    assert beta.text == "ベータ㈱"


def test_the_date_evidence_is_the_original_full_width_text():
    (evidence,) = _extract("ja_services").evidence_for("contract_date")
    assert evidence.text == "令和６年３月１５日"


def test_the_notice_deadline_evidence_is_the_notice_clause():
    metadata = _extract("ja_services")
    (deadline,) = metadata.evidence_for("notice_deadline")
    assert "３か月前" in deadline.text
    (end,) = metadata.evidence_for("end_date")
    (notice,) = metadata.evidence_for("notice_period")
    assert deadline.confidence == min(end.confidence, notice.confidence)


def test_a_monthly_fee_beside_a_total_is_not_the_amount():
    assert _extract("ja_license").amount == 12_800_000


def test_a_lone_monthly_fee_is_reported_as_written_with_its_recurrence_in_the_evidence():
    text = "保守契約書\n\n株式会社A（以下「甲」という。）と株式会社B（以下「乙」という。）は、次のとおり合意する。\n第1条　甲は乙に対し、保守料として月額10万円を支払う。"
    metadata = ENGINE.extract(text)
    assert (metadata.amount, metadata.currency) == (100_000, "JPY")
    (evidence,) = metadata.evidence_for("amount")
    assert "月額" in evidence.text and evidence.confidence < 0.7


def test_a_liability_cap_alone_is_not_a_contract_amount():
    text = "第5条（損害賠償）損害賠償の額は金100万円を上限とする。"
    assert ENGINE.extract(text).amount is None


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("本件の代金は金四十五万円とする。", 450_000, "JPY"),
        ("委託料は金450,000円（税抜）とする。", 450_000, "JPY"),
        ("報酬は１，２８０万円とする。", 12_800_000, "JPY"),
        ("委託料は総額金300万円（消費税別）とする。", 3_000_000, "JPY"),
        ("The purchase price is ¥1,000,000.", 1_000_000, "JPY"),
        ("The fee is JPY 5,000,000.", 5_000_000, "JPY"),
        ("The fee is US$50,000.", 50_000, "USD"),
        ("The total consideration is USD 120,000.", 120_000, "USD"),
        ("The license fee is $15,000.00.", 15_000, "USD"),
        ("The fee is EUR 10,000.", 10_000, "EUR"),
        ("Client shall pay fifty thousand dollars ($50,000) as the fee.", 50_000, "USD"),
    ],
)
def test_amounts_in_every_written_form(text, amount, currency):
    metadata = ENGINE.extract(text)
    assert (metadata.amount, metadata.currency) == (amount, currency)


def test_the_fee_wins_over_an_earlier_deposit():
    text = "保証金として金50万円を預託する。委託料は金200万円とする。"
    assert ENGINE.extract(text).amount == 2_000_000


@pytest.mark.parametrize(
    "text",
    [
        "株式会社サンプル商事（以下「甲」という。）と山田工業株式会社（以下「乙」という。）は次のとおり合意する。",
        'This Agreement is made between Acme Inc. ("Licensor") and Beta LLC ("Licensee").',
        "This Agreement is made between Licensor and Licensee.",
        "甲：株式会社A\n乙：株式会社B\n",
    ],
)
def test_role_words_are_never_parties(text):
    parties = ENGINE.extract(text).parties
    for role in ("甲", "乙", "丙", "Licensor", "Licensee", "the Company", "Company"):
        assert role not in parties


def test_defined_terms_with_the_same_form_are_not_parties():
    text = "甲と乙は、業務委託契約（以下「本契約」という。）に基づき、秘密情報（以下「秘密情報」という。）を扱う。"
    assert ENGINE.extract(text).parties == []


@pytest.mark.parametrize(
    ("text", "parties"),
    [
        (
            "合同会社ミライ（以下「甲」という。）及び有限会社カワセ（以下「乙」という。）は、",
            ["合同会社ミライ", "有限会社カワセ"],
        ),
        (
            "委託者　株式会社 北斗（以下「甲」という。）と受託者　南星(株)（以下「乙」という。）は、",
            ["株式会社 北斗", "南星(株)"],
        ),
        ("株式会社A（甲）と株式会社B（乙）とは、次のとおり合意する。", ["株式会社A", "株式会社B"]),
    ],
)
def test_japanese_preamble_party_forms(text, parties):
    assert ENGINE.extract(text).parties == parties


def test_japanese_signature_blocks_give_the_company_not_the_address_nor_the_representative():
    text = (
        "第1条　甲は乙に本業務を委託する。\n\n"
        "甲　東京都千代田区丸の内1-1-1　株式会社サンプル商事　代表取締役 山田太郎\n"
        "乙　大阪府大阪市北区梅田2-2-2\n　　ニシ産業株式会社\n　　代表取締役 西一郎\n"
    )
    assert ENGINE.extract(text).parties == ["株式会社サンプル商事", "ニシ産業株式会社"]


@pytest.mark.parametrize(
    ("text", "parties"),
    [
        (
            'This Agreement is entered into by and between Acme, Inc., a California corporation ("Acme"), '
            'and Omega Holdings Ltd. ("Omega").',
            ["Acme, Inc.", "Omega Holdings Ltd."],
        ),
        (
            "This Agreement is made between:\n(1) NORTH TRADING LIMITED, a company incorporated in England "
            '(the "Supplier"); and\n(2) South Foods GmbH (the "Buyer").',
            ["NORTH TRADING LIMITED", "South Foods GmbH"],
        ),
        ("This Agreement is made between Alpha LLC and Bravo K.K. as follows.", ["Alpha LLC", "Bravo K.K."]),
    ],
)
def test_english_preamble_party_forms(text, parties):
    assert ENGINE.extract(text).parties == parties


@pytest.mark.parametrize(
    ("text", "renews"),
    [
        ("本契約は、期間満了後も自動更新されるものとする。", True),
        ("本契約は、期間満了の日の翌日から同一条件でさらに1年間更新されるものとする。", True),
        ("本契約は期間満了をもって終了し、更新はしない。", False),
        ("本契約は自動更新しない。", False),
        ("本契約の更新は、甲乙協議の上決定する。", False),
        ("This Agreement shall automatically renew for successive one-year terms.", True),
        ("This Agreement shall automatically be renewed for one (1) year.", True),
        ("This Agreement shall not be renewed.", False),
        ("There shall be no automatic renewal of this Agreement.", False),
        ("This Agreement is governed by the laws of Japan.", None),
        ("本契約に定めのない事項は協議により定める。", None),
    ],
)
def test_auto_renewal_true_false_or_silent(text, renews):
    assert ENGINE.extract(text).auto_renewal is renews


def test_notice_of_non_renewal_inside_a_renewal_clause_is_not_a_refusal():
    text = (
        "This Agreement shall renew for successive one-year terms unless either party notifies the other "
        "that this Agreement shall not be renewed at least sixty (60) days before the end of the term."
    )
    metadata = ENGINE.extract(text)
    assert metadata.auto_renewal is True
    assert metadata.notice_period == "60 days"


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("期間満了の3か月前までに書面により通知する。", "3 months"),
        ("期間満了日の30日前までに通知しない限り、自動更新される。", "30 days"),
        ("満了の２ヶ月前までに申し出る。", "2 months"),
        (
            "written notice of non-renewal at least ninety (90) days prior to the expiration of the term",
            "90 days",
        ),
        (
            "may elect not to renew by at least sixty (60) days' written notice before the end of the term",
            "60 days",
        ),
        ("notice of non-renewal must be given one month prior to expiry", "1 months"),
    ],
)
def test_notice_periods_tied_to_the_end_of_the_term(text, period):
    assert ENGINE.extract(text).notice_period == period


def test_a_mid_term_cancellation_notice_is_not_the_notice_period():
    text = (
        "甲又は乙は、1か月前までに書面で予告することにより本契約を解約できる。"
        "Client may terminate this Agreement at any time upon thirty (30) days' written notice."
    )
    assert ENGINE.extract(text).notice_period is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("契約期間は、2024年4月1日から2025年3月31日までとする。", date(2024, 4, 1), date(2025, 3, 31)),
        ("本契約の有効期間は、令和6年4月1日から起算して2年間とする。", date(2024, 4, 1), date(2026, 3, 31)),
        ("委託期間は2024年10月1日から3ヶ月間とする。", date(2024, 10, 1), date(2024, 12, 31)),
        ("契約期間：自 令和6年4月1日 至 令和7年3月31日", date(2024, 4, 1), date(2025, 3, 31)),
        (
            "The term shall commence on April 1, 2024 and continue until March 31, 2025.",
            date(2024, 4, 1),
            date(2025, 3, 31),
        ),
        (
            "This Agreement shall continue for a term of twelve months commencing on January 31, 2024.",
            date(2024, 1, 31),
            date(2025, 1, 30),
        ),
    ],
)
def test_terms_written_as_ranges_and_as_durations(text, start, end):
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (start, end)


def test_a_term_counted_from_the_contract_date_starts_on_it():
    text = "締結日：2024年4月1日\n第2条　本契約の有効期間は本契約締結日から1年間とする。"
    metadata = ENGINE.extract(text)
    assert (metadata.contract_date, metadata.start_date, metadata.end_date) == (
        date(2024, 4, 1),
        date(2024, 4, 1),
        date(2025, 3, 31),
    )


def test_a_survival_period_is_not_the_term():
    text = (
        'This Agreement is made as of May 1, 2024 (the "Effective Date"). '
        "The obligations of confidentiality shall survive for a period of three (3) years after the "
        "termination of this Agreement."
    )
    metadata = ENGINE.extract(text)
    assert metadata.contract_date == date(2024, 5, 1)
    assert (metadata.start_date, metadata.end_date) == (None, None)


@pytest.mark.parametrize(
    ("text", "contract_date"),
    [
        ("契約日：令和6年5月10日\n", date(2024, 5, 10)),
        ("This Agreement is dated as of June 3, 2024.", date(2024, 6, 3)),
        (
            "This Agreement is made this 15th day of March, 2024 by and between A Inc. and B Inc.",
            date(2024, 3, 15),
        ),
        ("This Agreement is entered into on 2 May 2024.", date(2024, 5, 2)),
        (
            "IN WITNESS WHEREOF the parties sign below.\nDate: May 1, 2024\nDate: May 3, 2024\n",
            date(2024, 5, 3),
        ),
    ],
)
def test_contract_dates_in_their_usual_places(text, contract_date):
    assert ENGINE.extract(text).contract_date == contract_date


def test_an_earlier_agreement_referred_to_in_the_recitals_is_not_the_contract_date():
    text = (
        "This Amendment is made by and between Acme Inc. and Beta LLC.\n\n"
        "WHEREAS, the parties entered into a Master Agreement dated January 1, 2020."
    )
    assert ENGINE.extract(text).contract_date is None


def test_the_japanese_date_line_before_the_signatures_is_the_contract_date_confidently():
    metadata = _extract("ja_services")
    (evidence,) = metadata.evidence_for("contract_date")
    assert evidence.confidence >= 0.8


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n  ", "Lorem ipsum dolor sit amet.", "今日は良い天気です。", "\x00\ufffd\f", "第1条" * 2000],
)
def test_empty_or_irrelevant_text_yields_nothing_without_raising(text):
    metadata = ENGINE.extract(text)
    assert metadata == ContractMetadata(engine="rules")


def test_odd_inputs_never_raise():
    for text in [
        "令和0年1月1日",
        "2024年13月45日",
        "金〇〇円",
        "$",
        "¥,,,",
        "99999999999999999999年1月1日",
        "(以下「」という。)",
    ]:
        ENGINE.extract(text)


def test_a_japanese_contract_read_from_a_pdf_with_lines_broken_mid_word():
    text = (
        "秘密保持契約書\n"
        "株式会社髙橋製作所（以下「甲」という。）と山﨑工業株式会社（以下「乙」という。）は、甲乙間\n"
        "で検討している共同開発に関して相互に開示する秘密情報の取扱いについて、次のとおり合意する。\n"
        "第１条（有効期間）\n"
        "１　本契約の有効期間は、本契約締結日から１年間とする。ただし、期間満了の１か月前までにいず\n"
        "れの当事者からも書面による終了の申出がないときは、本契約はさらに１年間同一条件で延長される\n"
        "ものとし、以後も同様とする。\n"
        "本契約締結の証として本書２通を作成し、甲乙記名押印のうえ各１通を保有する。\n"
        "令和５年１１月２０日\n"
    )
    metadata = ENGINE.extract(text)
    assert metadata.contract_date == date(2023, 11, 20)
    assert (metadata.start_date, metadata.end_date) == (date(2023, 11, 20), date(2024, 11, 19))
    assert metadata.auto_renewal is True
    assert metadata.notice_period == "1 months"
    for evidence in metadata.evidence:
        assert text[evidence.start : evidence.end] == evidence.text


def test_an_english_party_name_broken_over_two_lines():
    text = (
        "This Agreement is made and entered into as of December 10, 2024 by and between Bluefin\n"
        'Software LLC, a Washington limited liability company ("Provider"), and Harbor Logistics\n'
        'Corporation, an Oregon corporation ("Customer").\n'
    )
    assert ENGINE.extract(text).parties == ["Bluefin Software LLC", "Harbor Logistics Corporation"]


def test_english_parties_listed_under_a_parties_heading():
    text = (
        "This Software Licence Agreement is dated 1 July 2023.\n\nPARTIES\n"
        '(1) Aurora Data Systems GmbH, a company incorporated in Germany (the "Licensor"); and\n'
        '(2) Tanaka Trading Co., Ltd., a company incorporated in Japan (the "Licensee").\n'
    )
    assert ENGINE.extract(text).parties == ["Aurora Data Systems GmbH", "Tanaka Trading Co., Ltd."]


def test_english_parties_on_role_lines():
    text = (
        "Provider: Skyline Cloud Pte. Ltd., a company incorporated in Singapore\n"
        "Customer: Kobayashi Electronics K.K., a Japanese kabushiki kaisha\n"
    )
    assert ENGINE.extract(text).parties == ["Skyline Cloud Pte. Ltd.", "Kobayashi Electronics K.K."]


def test_an_individual_written_with_a_space_between_family_and_given_name():
    text = (
        "賃貸人　佐藤　健一（以下「甲」という。）と賃借人　合同会社グリーンリーフ（以下「乙」という。）は、"
    )
    assert ENGINE.extract(text).parties == ["佐藤 健一", "合同会社グリーンリーフ"]


def test_a_professional_title_before_an_individual_is_not_part_of_the_name():
    text = "株式会社いろは食品（以下「甲」という。）と税理士　中村美咲（以下「乙」という。）とは、"
    assert ENGINE.extract(text).parties == ["株式会社いろは食品", "中村美咲"]


def test_a_role_defined_with_以下_is_not_a_party():
    text = "一方当事者（以下「開示者」という。）が他方当事者（以下「受領者」という。）に開示した情報をいう。"
    assert ENGINE.extract(text).parties == []


def test_an_order_threshold_is_not_the_contract_amount():
    text = "運送費は、1回の発注金額が10万円以上の場合は甲の負担とし、10万円未満の場合は乙の負担とする。"
    assert ENGINE.extract(text).amount is None


def test_an_hourly_rate_for_extra_work_loses_to_the_annual_fee():
    text = (
        "1 本業務の対価（以下「保守料」という。）は、年額金壱百弐拾万円（消費税別）とする。\n"
        "3 有償作業の料金は、技術者1名1時間当たり金12,000円（消費税別）とする。"
    )
    assert ENGINE.extract(text).amount == 1_200_000


def test_a_security_deposit_loses_to_the_rent():
    text = (
        "3. BASE RENT. Tenant shall pay Landlord monthly base rent of Eight Thousand Five Hundred Dollars "
        "($8,500.00) per month.\n\n4. SECURITY DEPOSIT. Tenant shall deposit with Landlord the sum of "
        "Seventeen Thousand Dollars ($17,000.00) as security."
    )
    assert (ENGINE.extract(text).amount, ENGINE.extract(text).currency) == (8_500, "USD")


@pytest.mark.parametrize(
    "text",
    [
        "甲乙協議のうえ、本契約を同一条件で更新することができる。",
        "本契約は期間の満了により終了する。",
    ],
)
def test_renewal_by_a_new_agreement_or_none_is_not_automatic(text):
    assert ENGINE.extract(text).auto_renewal is False


def test_a_contract_that_ends_with_its_term_has_no_notice_period():
    text = (
        "派遣期間　令和6年10月1日から令和6年12月31日まで\n"
        "本契約は期間の満了により終了する。延長を希望する場合は、期間満了の1か月前までに新たな個別契約を締結する。"
    )
    metadata = ENGINE.extract(text)
    assert (metadata.auto_renewal, metadata.notice_period, metadata.notice_deadline) == (False, None, None)


def test_a_term_that_ends_on_an_event_has_a_start_and_no_end():
    text = (
        "第2条 本件業務の作業期間は、2025年2月1日から2025年7月31日までとする。\n"
        "第8条 本契約の有効期間は、本契約締結日から本件業務の検収完了日までとする。\n\n2025年1月24日\n"
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2025, 1, 24), None)


def test_a_works_contract_term_is_its_construction_period():
    text = "3　工　　期　　着工　令和5年8月1日\n　　　　　　　　完成　令和5年10月31日\n"
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2023, 8, 1), date(2023, 10, 31))


def test_a_lease_term_with_a_defined_commencement_date_between_its_ends():
    text = (
        "2. TERM. The term of this Lease shall be five (5) years, commencing on June 1, 2024 (the "
        '"Commencement Date") and ending on May 31, 2029, unless sooner terminated.'
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2024, 6, 1), date(2029, 5, 31))


def test_a_term_from_the_date_hereof_starts_on_the_contract_date():
    text = (
        "This Consulting Agreement is made on this 2nd day of September, 2024 by and between Orion "
        'Partners, LLC ("Consultant") and Vega Industries, Inc. ("Company").\n\n'
        "1. Term. This Agreement shall commence on the date hereof and shall continue for a period of six "
        "(6) months, after which it shall be automatically extended for additional periods of three (3) "
        "months each unless either party provides written notice at least fifteen (15) days before the end "
        "of the then current term."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2024, 9, 2), date(2025, 3, 1))
    assert (metadata.auto_renewal, metadata.notice_period) == (True, "15 days")
    assert metadata.notice_deadline == date(2025, 2, 14)


# --- EDGAR-style exhibits: hard-wrapped lines, recitals, schedules after the signatures, many figures ----

EN_PREAMBLE = (
    'This Agreement is made as of January 10, 2022 by and between ACME HOLDINGS, INC., a Delaware corporation ("Acme"), '
    'and Beta Widgets, LLC, a Texas limited liability company ("Beta").\n\n'
)


def test_a_date_defined_as_the_last_signature_is_the_latest_signature_date():
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is entered into as of the date of the last signature below (the "
        '"Effective Date") by and between Granite Foods, LLC ("Buyer") and Heron Packaging Corp. ("Supplier").\n\n'
        "1. Term. This Agreement shall commence on the Effective Date and remain in effect until December 31, 2025.\n\n"
        "IN WITNESS WHEREOF, the Parties have executed this Agreement as of the dates set forth below.\n\n"
        "GRANITE FOODS, LLC\nBy: /s/ A. Kowalski\nDate: October 3, 2022\n\n"
        "HERON PACKAGING CORP.\nBy: /s/ G. Lindahl\nDate: October 11, 2022\n"
    )
    metadata = ENGINE.extract(text)
    assert (metadata.contract_date, metadata.start_date) == (date(2022, 10, 11), date(2022, 10, 11))
    # As sure as a date written in the preamble, not a guess from the date lines alone.
    assert metadata.evidence_for("contract_date")[0].confidence >= 0.85


def test_dates_in_two_signature_columns_side_by_side_are_both_signature_dates():
    text = (
        "This Agreement shall become effective upon execution by both parties.\n\n"
        "IN WITNESS WHEREOF, the parties have executed this Agreement.\n\n"
        "THETA HEALTH, INC.                         IOTA SOFTWARE LTD.\n"
        "By: /s/ A. Smith                           By: /s/ B. Jones\n"
        "Date: April 2, 2021                        Date: April 9, 2021\n"
    )
    assert ENGINE.extract(text).contract_date == date(2021, 4, 9)


def test_a_date_in_the_recitals_is_not_the_contract_date_even_without_whereas_in_its_sentence():
    text = (
        'THIS FRANCHISE AGREEMENT (this "Agreement") is entered into this 8th day of\n     May, 2018 by and '
        'between Brightside Franchising, LLC ("Franchisor") and Morningtide Group, Inc. ("Franchisee").\n\n'
        "RECITALS\n\nA. Franchisor has developed a system of restaurants.\n\nB. The parties are parties to an Area "
        "Development Agreement dated January 12, 2017.\n\nNOW, THEREFORE, the parties agree as follows:\n"
    )
    assert ENGINE.extract(text).contract_date == date(2018, 5, 8)


def test_the_date_of_another_agreement_this_one_amends_is_not_the_contract_date():
    text = (
        'This First Amendment to the License Agreement dated March 1, 2020 (the "Original Agreement") is made '
        'effective June 1, 2021 by and between Acme Corp. ("Acme") and Beta LLC ("Beta").'
    )
    assert ENGINE.extract(text).contract_date == date(2021, 6, 1)


def test_a_blank_date_in_a_form_of_agreement_leaves_the_dates_empty():
    text = (
        'THIS AGREEMENT is dated as of ____________, 20__ (the "Effective Date") by and between SIERRA OPTICS '
        'LTD. ("Manufacturer") and LUMENFIELD DEVICES, INC. ("Customer").\n\n11.1 Term. This Agreement shall '
        "commence on the Effective Date and shall remain in effect until terminated.\n\nDate: ______________\n"
    )
    metadata = ENGINE.extract(text)
    assert (metadata.contract_date, metadata.start_date, metadata.end_date) == (None, None, None)


def test_a_japanese_preamble_date_before_締結する_is_the_contract_date():
    text = (
        "医療法人社団清和会（以下「甲」という。）とオリオンシステムズ株式会社（以下「乙」という。）とは、"
        "令和５年１２月１日、次のとおり契約（以下「本契約」という。）を締結する。\n\n第１条（目的）甲は乙に保守を委託する。\n"
        "第２条（契約期間）本契約の有効期間は、令和６年１月１日から令和６年１２月３１日までとする。"
    )
    assert ENGINE.extract(text).contract_date == date(2023, 12, 1)


def test_a_japanese_contract_made_before_and_referred_to_is_not_the_contract_date():
    text = (
        "株式会社アルファ（以下「甲」という。）と株式会社ベータ（以下「乙」という。）は、令和2年4月1日に締結した"
        "取引基本契約（以下「原契約」という。）に関し、次のとおり覚書を締結する。\n\n第1条 原契約の単価を改定する。"
    )
    assert ENGINE.extract(text).contract_date is None


def test_a_term_ending_at_a_time_of_day_on_a_date_ends_on_that_date():
    text = (
        'This Agreement is entered into as of November 4, 2021, and is effective as of January 1, 2022 (the "Effective '
        'Date"), by and between Cascade Health, Inc. ("Customer") and Atlas Solutions, L.L.C. ("Supplier").\n\n'
        "2.1 Term. The term of this Agreement shall commence on the Effective Date and continue until 11:59 p.m. "
        "Pacific Time on December 31, 2026, unless earlier terminated."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2022, 1, 1), date(2026, 12, 31))


def test_a_date_range_in_a_schedule_after_the_signatures_is_not_the_term():
    text = (
        EN_PREAMBLE + "2. Term. This Agreement shall continue until December 31, 2026.\n\n"
        "IN WITNESS WHEREOF, the parties have executed this Agreement.\n\nSCHEDULE 13\nTERMINATION FEES\n\n"
        "Effective date of termination                          Termination fee\n"
        "January 1, 2024 through December 31, 2024                 $1,800,000\n"
    )
    assert ENGINE.extract(text).end_date == date(2026, 12, 31)


def test_a_term_duration_hard_wrapped_over_a_line_break_is_read():
    text = (
        'This Agreement is made as of the 22nd day of January, 2021 (the "Effective Date"), by and between '
        'Vantage Software, Inc. ("Vantage") and Orbital Systems Ltd. ("Reseller").\n\n6.1 Term. The term of this '
        "Agreement shall begin on the Effective Date and, unless terminated earlier, shall remain in effect for an "
        'initial period of three (3)\n          years (the "Initial Term").'
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2021, 1, 22), date(2024, 1, 21))


def test_a_term_that_expires_years_from_the_effective_date():
    text = (
        'This Agreement is entered into this 8th day of May, 2018 (the "Effective Date") by and between Brightside '
        'Franchising, LLC ("Franchisor") and Morningtide Group, Inc. ("Franchisee").\n\n2.1 Term. The term of this '
        "Agreement begins on the Effective Date and expires ten (10) years from the Effective Date."
    )
    assert ENGINE.extract(text).end_date == date(2028, 5, 7)


def test_the_length_of_a_renewal_term_is_not_the_initial_term():
    text = (
        EN_PREAMBLE
        + "2.1 Term. This Agreement shall commence on the Effective Date and end on December 31, 2027.\n\n"
        "2.2 Successor Franchise. Franchisee may acquire a successor franchise for one (1) additional term of ten "
        "(10) years from the date of this Agreement."
    )
    assert ENGINE.extract(text).end_date == date(2027, 12, 31)


def test_a_term_commencing_on_a_named_date_starts_on_that_date():
    text = (
        'THIS AGREEMENT is made on 15 March 2024 between Alpencloud GmbH (the "Provider") and Trellis Commerce '
        'Ltd. (the "Customer").\n\n"Go-Live Date" means 1 April 2024;\n\n2.1 The Initial Term shall '
        "commence on the Go-Live Date and shall continue for a period of twenty-four (24) months."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2024, 4, 1), date(2026, 3, 31))


def test_a_term_commencing_on_an_undated_event_has_no_dates():
    text = (
        'This Agreement is made effective as of September 1, 2020 (the "Effective Date") between Horizon Travel, '
        'Inc. ("Horizon") and First Continental Bank, N.A. ("Bank").\n\n10.1 Term. This Agreement shall commence '
        "on the Launch Date and continue for a period of three (3) years."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (None, None)


def test_a_term_ending_on_an_anniversary_of_the_effective_date_ends_on_that_anniversary():
    text = (
        'This License Agreement is entered into as of March 15, 2024 (the "Effective Date") by and between Acme '
        'Corp. ("Acme") and Beta LLC ("Beta").\n\n2. Term. This Agreement shall commence on the Effective Date and '
        "shall expire on the fifth (5th) anniversary of the Effective Date."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2024, 3, 15), date(2029, 3, 15))


def test_a_term_until_a_date_without_a_stated_start_runs_from_the_effective_date():
    text = EN_PREAMBLE + "5. Term. This Agreement shall remain in effect until May 31, 2025."
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2022, 1, 10), date(2025, 5, 31))


def test_a_term_ending_a_duration_thereafter_counts_from_its_start():
    text = (
        EN_PREAMBLE
        + "3. Term. The term of this Agreement shall begin on the Effective Date and end on the date "
        "that is three (3) years thereafter."
    )
    assert ENGINE.extract(text).end_date == date(2025, 1, 9)


def test_an_all_caps_party_with_its_state_of_incorporation_is_named_without_it():
    text = (
        "This Agreement is dated as of March 15, 2024 by and between MERIDIAN\nBIOSCIENCES, INC., a Delaware "
        "corporation, having its principal place of business at 400 Technology Square, Cambridge, Massachusetts "
        '02139 ("Licensor"), and HALCYON THERAPEUTICS CORP., a Nevada corporation ("Licensee").'
    )
    assert ENGINE.extract(text).parties == ["MERIDIAN BIOSCIENCES, INC.", "HALCYON THERAPEUTICS CORP."]


def test_three_parties_by_and_among_with_a_long_defined_term_between_them():
    text = (
        "THIS DISTRIBUTION AGREEMENT is made and entered into this 1st day of July 2019, by and among NORDSTAR "
        'MEDICAL SYSTEMS GMBH, a German company ("Nordstar"), NORDSTAR MEDICAL USA, INC., a Delaware corporation '
        '("Nordstar USA" and, together with Nordstar, the "Supplier Parties"), and COASTAL SURGICAL SUPPLY, L.P., '
        'a Texas limited partnership ("Distributor").'
    )
    assert ENGINE.extract(text).parties == [
        "NORDSTAR MEDICAL SYSTEMS GMBH",
        "NORDSTAR MEDICAL USA, INC.",
        "COASTAL SURGICAL SUPPLY, L.P.",
    ]


def test_the_next_party_after_an_address_that_follows_a_defined_term_is_found():
    text = (
        'This Agreement is entered into on September 1, 2017 between Red Oak Capital Partners, L.P. ("Red Oak"), '
        "having its principal place of business at 10 Park Avenue, New York, New York, and Blue Pine Advisors LLC "
        '("Blue Pine"), having its principal place of business at 20 Main Street, Greenwich, Connecticut.'
    )
    assert ENGINE.extract(text).parties == ["Red Oak Capital Partners, L.P.", "Blue Pine Advisors LLC"]


def test_a_national_bank_keeps_its_n_a_suffix():
    text = (
        "This Agreement is made effective as of September 1, 2020 by and between HORIZON TRAVEL NETWORK, INC., a "
        'Delaware corporation ("Horizon"), and FIRST CONTINENTAL BANK, N.A., a national banking association ("Bank").'
    )
    assert ENGINE.extract(text).parties == ["HORIZON TRAVEL NETWORK, INC.", "FIRST CONTINENTAL BANK, N.A."]


def test_parties_under_upper_case_between_and_and_headings():
    text = (
        "THIS AGREEMENT made as of the 1st day of October, 2018.\n\nBETWEEN:\n\nNORTHERN LIGHTS PHARMA INC., a "
        'corporation incorporated under the laws of Ontario\n(the "Supplier")\n\nAND:\n\nPRAIRIE HEALTH '
        'DISTRIBUTORS LTD., a corporation incorporated under the laws of Alberta\n(the "Distributor")\n'
    )
    assert ENGINE.extract(text).parties == ["NORTHERN LIGHTS PHARMA INC.", "PRAIRIE HEALTH DISTRIBUTORS LTD."]


def test_two_upper_case_names_joined_by_an_upper_case_and_are_two_parties():
    text = "THIS AGREEMENT IS MADE AS OF MAY 1, 2015 BY AND BETWEEN ACME CORP. AND BETA PRODUCTS LLC."
    assert ENGINE.extract(text).parties == ["ACME CORP.", "BETA PRODUCTS LLC"]


def test_two_signature_blocks_side_by_side_give_both_names():
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is made as of May 1, 2020.\n\n1. Terms. Supply.\n\n"
        "IN WITNESS WHEREOF the parties sign.\n\n"
        "GRANITE PEAK FOODS, LLC                    BLUE HERON PACKAGING CORP.\n\n"
        "By: /s/ A                                  By: /s/ B\n"
    )
    assert ENGINE.extract(text).parties == ["GRANITE PEAK FOODS, LLC", "BLUE HERON PACKAGING CORP."]


@pytest.mark.parametrize(
    "text",
    [
        "On the expiry of the Initial Term this Agreement shall automatically continue for successive periods of "
        "twelve (12) months unless either party serves written notice of termination.",
        "Thereafter, the Term shall be extended automatically for successive one (1) year periods unless either "
        "party elects not to renew.",
        "This Agreement shall thereafter continue on a year-to-year basis unless either party gives the other "
        "written notice of termination at least ninety (90) days prior to the end of the then-current term.",
    ],
)
def test_continued_or_extended_automatically_unless_notice_is_automatic_renewal(text):
    assert ENGINE.extract(text).auto_renewal is True


@pytest.mark.parametrize(
    "text",
    [
        "This Agreement may be renewed for additional periods of one (1) year each upon the mutual written "
        "agreement of the parties; absent such agreement, this Agreement shall expire at the end of the Initial Term.",
        "This Agreement may be renewed by written agreement of the parties.",
    ],
)
def test_renewal_only_by_a_written_agreement_of_the_parties_is_not_automatic(text):
    assert ENGINE.extract(text).auto_renewal is False


def test_a_notice_period_hard_wrapped_over_a_line_break_is_read():
    text = (
        EN_PREAMBLE
        + "6.1 Term. This Agreement shall automatically renew for additional one (1) year terms unless "
        "either party provides notice of its intent not to renew at least sixty\n          (60) days prior to the "
        "end of the then-current term."
    )
    assert ENGINE.extract(text).notice_period == "60 days"


def test_a_convenience_termination_notice_that_mentions_expiration_is_not_the_notice_period():
    text = (
        EN_PREAMBLE
        + "9. Term. This Agreement shall commence on the Effective Date and continue until December 31, "
        "2024. Either party may terminate this Agreement for convenience at any time upon sixty (60) days' prior "
        "written notice, including prior to the expiration of the Term."
    )
    assert ENGINE.extract(text).notice_period is None


def test_a_notice_to_exercise_an_option_to_renew_is_not_the_notice_period():
    text = (
        EN_PREAMBLE
        + "1. Term. The term of this Agreement shall be three (3) years from the date hereof. Beta may "
        "renew this Agreement for one additional three-year term by written notice given at least one hundred "
        "eighty (180) days before expiration."
    )
    assert ENGINE.extract(text).notice_period is None


def test_a_threshold_written_before_the_figure_is_not_the_amount():
    text = (
        EN_PREAMBLE
        + "3.3 Minimum Order. Orders with a value of less than $7,500 shall be subject to a charge."
    )
    assert ENGINE.extract(text).amount is None


def test_the_list_price_of_loaned_goods_is_not_the_amount():
    text = (
        EN_PREAMBLE
        + "4.3 Demonstration Equipment. Acme shall loan Beta three (3) demonstration systems, having "
        "an aggregate list price of $185,000."
    )
    assert ENGINE.extract(text).amount is None


def test_a_transfer_fee_is_not_the_amount():
    text = (
        EN_PREAMBLE + "10.1 As a condition of consent, Beta shall pay a transfer fee of Seven Thousand Five\n"
        "         Hundred Dollars ($7,500)."
    )
    assert ENGINE.extract(text).amount is None


def test_a_fee_for_each_contract_year_wins_over_a_capped_reimbursement_per_event():
    text = (
        EN_PREAMBLE
        + "3. The Company shall reimburse the Athlete's travel expenses for each appearance, up to EUR "
        "6,000 per event.\n\n4. The Company shall pay the Athlete an annual base compensation of EUR 75,000 for "
        "each Contract Year, payable quarterly."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.amount, metadata.currency) == (75_000, "EUR")


def test_figures_listed_after_an_insurance_minimum_are_not_the_amount():
    text = (
        EN_PREAMBLE
        + "9.1 Each party shall maintain commercial general liability insurance, including products "
        "and completed operations coverage, with limits of not less than $1,000,000 per occurrence and "
        "$3,000,000 in the aggregate."
    )
    assert ENGINE.extract(text).amount is None


def test_a_price_for_each_unit_is_not_the_amount():
    text = EN_PREAMBLE + "4. Price. The purchase price for each Unit shall be $12.50."
    assert ENGINE.extract(text).amount is None


def test_a_fee_the_contract_calls_current_is_not_the_amount():
    text = (
        EN_PREAMBLE
        + "4.4 Beta shall pay Acme's then-current technology fee, currently $325 per month, for the "
        "point-of-sale software."
    )
    assert ENGINE.extract(text).amount is None


def test_a_set_up_charge_for_each_small_run_is_not_the_amount():
    text = (
        EN_PREAMBLE
        + "3.3 Each Purchase Order shall be for at least 500 units, unless Beta agrees to pay a set-up "
        "charge of $2,800 for each smaller production run."
    )
    assert ENGINE.extract(text).amount is None


def test_a_charge_named_as_a_defined_fee_is_the_amount_with_its_name_in_the_evidence():
    text = (
        EN_PREAMBLE
        + "4.2 Beta shall reimburse travel expenses, not to exceed $150,000.\n\n7.1 In consideration of "
        "the Services, Beta shall pay Acme a monthly base charge of Two Hundred Forty Thousand Dollars ($240,000) "
        '(the "Monthly Base Charge").'
    )
    metadata = ENGINE.extract(text)
    assert (metadata.amount, metadata.currency) == (240_000, "USD")
    assert metadata.evidence_for("amount")[0].text.endswith('(the "Monthly Base Charge")')


def test_a_long_hard_wrapped_contract_is_read_quickly():
    clause = (
        "     {n}.1 Insurance. Supplier shall maintain commercial general liability insurance with limits of\n"
        "     not less than $2,000,000 per occurrence and $5,000,000 in the aggregate, with Buyer named as an\n"
        "     additional insured, and shall deliver certificates upon request within thirty (30) days.\n\n"
    )
    text = EN_PREAMBLE + "".join(clause.format(n=n) for n in range(100))
    assert len(text.splitlines()) >= 400
    start = time.perf_counter()
    ENGINE.extract(text)
    assert time.perf_counter() - start < 1.0  # about 20 ms; the bound only catches runaway backtracking


def test_a_term_that_commences_on_the_effective_date_and_runs_until_terminated_has_a_start_and_no_end():
    text = (
        'This Agreement is made as of March 1, 2024 (the "Effective Date") by and between Acme Inc. ("Acme") and '
        'Beta LLC ("Beta").\n\n11.1 Term. This Agreement shall commence on the Effective Date and shall remain in '
        "effect until terminated by either party in accordance with this Article 11."
    )
    metadata = ENGINE.extract(text)
    assert (metadata.start_date, metadata.end_date) == (date(2024, 3, 1), None)


def test_a_fee_for_each_contract_year_is_a_recurring_fee_with_its_period_in_the_evidence():
    text = (
        EN_PREAMBLE
        + "4. The Company shall pay the Athlete an annual base compensation of EUR 75,000 for each Contract\n"
        "Year, payable in four (4) equal quarterly installments in advance."
    )
    evidence = ENGINE.extract(text).evidence_for("amount")[0]
    assert evidence.text == "compensation of EUR 75,000 for each Contract\nYear"


def test_what_is_said_of_an_earlier_figure_does_not_taint_the_next_one():
    text = (
        EN_PREAMBLE
        + "3. Charges. Beta shall pay a one-time non-recurring installation charge of $5,000 and monthly "
        "recurring charges of $12,500 per month."
    )
    assert ENGINE.extract(text).amount == 12_500


def test_a_recitals_line_in_the_table_of_contents_does_not_hide_the_preamble():
    text = (
        "SUPPLY AGREEMENT\n\nTABLE OF CONTENTS\nRecitals\nArticle 1 Definitions\nArticle 2 Supply\n\n"
        'This Supply Agreement (this "Agreement") is made as of May 5, 2020 by and between Acme Inc. ("Acme") '
        'and Beta LLC ("Beta").\n\nAcme makes widgets, and Beta buys them under a Framework Agreement dated '
        "June 1, 2018.\n\nThe parties agree as follows:\n\nArticle 1 Definitions\n"
    )
    assert ENGINE.extract(text).contract_date == date(2020, 5, 5)


def test_the_attestation_clause_dates_the_signing_when_the_effective_date_is_defined_apart():
    text = (
        'This Patent License Agreement is between Northwind Corp. ("Licensor") and Aurelia GmbH ("Licensee").\n\n'
        '1.3 "Effective Date" means July 1, 2025.\n\n'
        "IN WITNESS WHEREOF, the Parties have executed this Agreement on June 18, 2025.\n"
    )
    result = ENGINE.extract(text)
    assert result.contract_date == date(2025, 6, 18)
    evidence = next(e for e in result.evidence if e.field == "contract_date")
    assert evidence.text.startswith("IN WITNESS WHEREOF") and evidence.text.endswith("June 18, 2025")


def test_an_option_to_renew_is_no_automatic_renewal_and_no_notice_period():
    text = (
        EN_PREAMBLE
        + "2. Term. This Agreement shall remain in full force and effect for a period of twenty-four (24) "
        "months from the Effective Date.\n\n3. Option to Renew. Customer shall have the option to renew this "
        "Agreement for one additional term of twelve (12) months by giving written notice at least ninety (90) "
        "days prior to the expiration of the term.\n"
    )
    result = ENGINE.extract(text)
    assert result.auto_renewal is False
    assert result.notice_period is None


def test_a_fee_table_row_is_read_with_its_label_and_the_total_wins():
    text = (
        EN_PREAMBLE + "4. Fees.\n\n   Annual Subscription Fee ...................  C$48,000\n"
        "   Implementation Fee (one-time) .............  C$7,500\n"
        "   Total Contract Value (Initial Term) .......  C$151,500\n"
    )
    result = ENGINE.extract(text)
    assert (result.amount, result.currency) == (151_500, "CAD")
    evidence = next(e for e in result.evidence if e.field == "amount")
    assert evidence.text.startswith("Total Contract Value")


def test_the_next_row_of_a_fee_table_does_not_taint_a_row():
    text = "ORDER FORM\nCustomer: Zeta Corp.\nAnnual Subscription Fee ..... $48,000\nSetup Fee ..... $2,000\n"
    result = ENGINE.extract(text)
    assert (result.amount, result.currency) == (48_000, "USD")


def test_labelled_start_and_end_date_rows_give_the_term():
    text = (
        "ORDER FORM\nCustomer: Zeta Corp.\nProvider: Eta Systems, Inc.\n"
        "Subscription Start Date: July 1, 2025\nSubscription End Date: June 30, 2026\n"
    )
    result = ENGINE.extract(text)
    assert (result.start_date, result.end_date) == (date(2025, 7, 1), date(2026, 6, 30))


def test_a_duration_counts_from_the_date_the_sentence_says_the_term_commences():
    text = (
        "This Agreement is dated 2 June 2025 and is made between Kestrel Holdings plc and Osprey Services "
        "Limited.\nTerm: This Agreement shall commence on 1 July 2025 and shall continue for an initial "
        "period of two years.\n"
    )
    result = ENGINE.extract(text)
    assert (result.start_date, result.end_date) == (date(2025, 7, 1), date(2027, 6, 30))


def test_a_lower_case_plc_belongs_to_the_name_and_a_full_stop_at_a_line_end_ends_it():
    text = (
        "This Agreement is dated 2 June 2025 and is made between Kestrel Holdings plc and Osprey Services "
        "Limited.\nTerm: This Agreement shall commence on 1 July 2025.\n"
    )
    assert ENGINE.extract(text).parties == ["Kestrel Holdings plc", "Osprey Services Limited"]


def test_a_role_written_against_a_japanese_party_is_not_part_of_its_name():
    text = (
        "委託者（株）ライトハウス（以下「甲」という。）と受託者ミナミ工業株式会社（以下「乙」という。）は、"
        "次のとおり契約を締結する。\n"
    )
    assert ENGINE.extract(text).parties == ["(株)ライトハウス", "ミナミ工業株式会社"]


def test_an_individual_trading_under_a_trade_name_is_the_party():
    text = (
        "委託者株式会社ライトハウス（以下「甲」という。）と受託者　山本デザイン事務所こと山本　彩（以下「乙」"
        "という。）は、次のとおり契約を締結する。\n"
    )
    assert ENGINE.extract(text).parties == ["株式会社ライトハウス", "山本 彩"]


def test_an_individual_signing_by_name_and_seal_alone_is_a_party():
    text = (
        "甲と乙は次のとおり契約を締結する。\n第１条　本契約の有効期間は令和７年１月１日から令和７年１２月３１日までとする。\n"
        "令和６年１２月２０日\n甲：東京都千代田区丸の内一丁目１番\n　　株式会社 山田商店\n　　代表取締役　山田一郎　印\n"
        "乙：東京都 港区芝二丁目２番\n　　鈴木　次郎　印\n"
    )
    assert ENGINE.extract(text).parties == ["株式会社 山田商店", "鈴木 次郎"]
