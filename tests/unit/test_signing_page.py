"""R2, R3, R4: the recipient's signing page, plain HTML in Japanese, English and Chinese, no JavaScript."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from tachiai.domain.events import Language
from tachiai.web.signing_page import (
    DocumentLink,
    PageState,
    SigningPage,
    negotiate_language,
    render_signing_page,
)

BASE = "/s/Zq3xV9kLmN0pQrStUvWxYz0123456789abcdefghi"
LANGUAGES: tuple[Language, ...] = ("ja", "en", "zh")
HOSTILE = '<script>alert("x")</script> & \'q\' "><img src=x onerror=alert(1)>'
URL_ENCODED = "application/x-www-form-urlencoded"


def _page(state: PageState = PageState.REVIEW, language: Language = "ja", **changes: object) -> SigningPage:
    page = SigningPage(
        state=state,
        language=language,
        base_path=BASE,
        title="秘密保持契約書",
        sender_name="佐藤一郎",
        sender_organization="株式会社サンプル",
        sender_email="ichiro@example.co.jp",
        recipient_name="山田花子",
        message="いつもお世話になっております。\n秘密保持契約書をお送りします。",
        documents=(DocumentLink("doc1", "秘密保持契約書.pdf", 3), DocumentLink("doc2", "別紙.pdf", 1)),
        expires_at="2026年11月29日 23:59 (JST)",
        acted_at="2026年11月22日 10:15 (JST)",
        forwarded_to="鈴木次郎 <jiro@example.jp>",
        error_code="internal_error",
    )
    return dataclasses.replace(page, **changes)


@dataclass
class _Form:
    action: str
    method: str
    enctype: str
    controls: list[dict[str, str]] = field(default_factory=list)
    """input/textarea/select/button attributes, with the tag under ``"tag"``."""

    def control(self, name: str) -> dict[str, str]:
        found = [c for c in self.controls if c.get("name") == name]
        assert len(found) == 1, f"{len(found)} controls named {name!r} in {self.action}"
        return found[0]

    def names(self) -> set[str]:
        return {c["name"] for c in self.controls if "name" in c}


class _Doc(HTMLParser):
    """What a browser would see: elements with their attributes, forms, the text of a few elements."""

    _VOID = frozenset({"meta", "input", "br", "img", "link", "hr", "source", "wbr", "area", "base", "col"})

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.forms: list[_Form] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[tuple[str, dict[str, str]]] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v if v is not None else "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag == "form":
            self.forms.append(
                _Form(
                    attributes.get("action", ""), attributes.get("method", ""), attributes.get("enctype", "")
                )
            )
        elif tag in ("input", "textarea", "select", "button") and self.forms and self._in("form"):
            self.forms[-1].controls.append({"tag": tag, **attributes})
        if tag not in self._VOID:
            self._open.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for tag, attributes in self._open:
            keys = [tag]
            keys += [f"#{attributes['id']}"] if "id" in attributes else []
            keys += [f"[role={attributes['role']}]"] if "role" in attributes else []
            keys += [f"label[for={attributes['for']}]"] if tag == "label" and "for" in attributes else []
            for key in keys:
                self.texts.setdefault(key, []).append(data)

    def _in(self, tag: str) -> bool:
        return any(t == tag for t, _ in self._open)

    def text(self, key: str = "body") -> str:
        return "".join(self.texts.get(key, []))

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag]

    def form(self, action: str) -> _Form:
        found = [f for f in self.forms if f.action == f"{BASE}/{action}"]
        assert len(found) == 1, [f.action for f in self.forms]
        return found[0]


def _doc(page: SigningPage) -> _Doc:
    return _Doc(render_signing_page(page))


# --- every state, both languages -------------------------------------------------------------

KEY_SENTENCES: dict[PageState, dict[Language, str]] = {
    PageState.TERMS: {
        "ja": "署名依頼が届いています",
        "en": "You have a document to sign",
        "zh": "您有一份待签署的文件",
    },
    PageState.REVIEW: {
        "ja": "書類の内容をご確認ください",
        "en": "Please review the documents",
        "zh": "请查看文件内容",
    },
    PageState.AGREED: {"ja": "同意が完了しました", "en": "You have agreed", "zh": "您已同意"},
    PageState.REJECTED: {"ja": "書類を却下しました", "en": "You have declined", "zh": "您已拒绝"},
    PageState.FORWARDED: {
        "ja": "署名依頼を転送しました",
        "en": "You have forwarded this request",
        "zh": "您已转交签署请求",
    },
    PageState.EXPIRED: {
        "ja": "リンクの有効期限が切れています",
        "en": "This link has expired",
        "zh": "链接已过期",
    },
    PageState.CANCELLED: {
        "ja": "この署名依頼は取り消されました",
        "en": "This signing request was cancelled",
        "zh": "此签署请求已被撤销",
    },
    PageState.CLOSED: {
        "ja": "この書類の手続きは終了しています",
        "en": "This signing request has ended",
        "zh": "此文件的签署流程已结束",
    },
    PageState.LOCKED: {
        "ja": "このリンクはロックされています",
        "en": "This link is locked",
        "zh": "此链接已被锁定",
    },
    PageState.NOT_YOUR_TURN: {
        "ja": "まだお手続きの順番ではありません",
        "en": "It is not your turn yet",
        "zh": "尚未轮到您办理",
    },
    PageState.INVALID: {"ja": "このリンクは無効です", "en": "This link is not valid", "zh": "此链接无效"},
    PageState.ERROR: {
        "ja": "ページを表示できませんでした",
        "en": "Something went wrong",
        "zh": "页面无法显示",
    },
    PageState.COMPLETED: {"ja": "締結が完了しました", "en": "The agreement is complete", "zh": "签署已完成"},
    PageState.DOWNLOAD_EXPIRED: {
        "ja": "ダウンロード用リンクの有効期限が切れています",
        "en": "This download link has expired",
        "zh": "下载链接已过期",
    },
}
ALL = [(state, language) for state in PageState for language in LANGUAGES]


def test_every_state_has_a_key_sentence() -> None:
    assert set(KEY_SENTENCES) == set(PageState)


@pytest.mark.parametrize(("state", "language"), ALL)
def test_each_state_shows_its_heading_in_the_page_language(state: PageState, language: Language) -> None:
    doc = _doc(_page(state, language))

    assert [doc.text("h1")] == [KEY_SENTENCES[state][language]]
    assert KEY_SENTENCES[state][language] in doc.text("title")
    for other in LANGUAGES:
        if other != language:
            assert KEY_SENTENCES[state][other] not in doc.text("body")


@pytest.mark.parametrize(("state", "language"), ALL)
def test_the_html_lang_attribute_matches_the_page_language(state: PageState, language: Language) -> None:
    assert _doc(_page(state, language)).all("html") == [{"lang": language}]


@pytest.mark.parametrize(("state", "language"), ALL)
def test_each_page_is_a_whole_utf8_document_with_one_h1(state: PageState, language: Language) -> None:
    out = render_signing_page(_page(state, language))
    doc = _Doc(out)

    assert out.startswith("<!doctype html>")
    assert {"charset": "utf-8"} in doc.all("meta")
    assert len(doc.all("h1")) == 1
    assert len(doc.all("main")) == 1


@pytest.mark.parametrize(("state", "language"), ALL)
def test_each_page_asks_for_no_referrer_no_index_and_a_phone_viewport(
    state: PageState, language: Language
) -> None:
    meta = {m.get("name"): m.get("content") for m in _doc(_page(state, language)).all("meta")}

    assert meta["viewport"] == "width=device-width, initial-scale=1"
    assert meta["referrer"] == "same-origin"
    assert meta["robots"] == "noindex"


@pytest.mark.parametrize(("state", "language"), ALL)
def test_no_page_has_scripts_or_external_resources(state: PageState, language: Language) -> None:
    out = render_signing_page(_page(state, language, title=HOSTILE, message=HOSTILE, sender_name=HOSTILE))
    doc = _Doc(out)
    tags = {tag for tag, _ in doc.elements}

    assert "<script" not in out.lower()
    assert not tags & {"script", "img", "iframe", "object", "embed", "base"}
    # The one link element is the empty icon that keeps browsers from asking for /favicon.ico
    assert doc.all("link") == [{"rel": "icon", "href": "data:,"}]
    assert len(doc.all("style")) == 1
    assert not any(name.startswith("on") for _, attrs in doc.elements for name in attrs)
    assert "style" not in {name for _, attrs in doc.elements for name in attrs}
    for tag, attrs in doc.elements:
        for name in ("href", "action", "src"):
            if name in attrs and tag != "link":
                assert attrs[name].startswith((BASE, "mailto:")), attrs[name]


def test_the_language_switch_links_to_english_from_a_japanese_page() -> None:
    hrefs = [a["href"] for a in _doc(_page(language="ja")).all("a")]

    assert f"{BASE}?lang=en" in hrefs
    assert f"{BASE}?lang=ja" not in hrefs


def test_the_language_switch_links_to_japanese_from_an_english_page() -> None:
    hrefs = [a["href"] for a in _doc(_page(language="en")).all("a")]

    assert f"{BASE}?lang=ja" in hrefs
    assert f"{BASE}?lang=en" not in hrefs


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_language_switch_offers_every_other_language_in_its_own_name(language: Language) -> None:
    doc = _doc(_page(language=language))
    names = {"ja": "日本語", "en": "English", "zh": "简体中文"}
    switch = {a["href"]: a for a in doc.all("a") if "?lang=" in a["href"]}

    assert set(switch) == {f"{BASE}?lang={other}" for other in LANGUAGES if other != language}
    assert all(a["hreflang"] == a["lang"] == a["href"].rsplit("=", 1)[1] for a in switch.values())
    assert doc.text("nav") == " / ".join(names[other] for other in LANGUAGES)
    assert doc.all("strong") == [{"lang": language}]  # the current one, not a link


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_page_is_small(language: Language) -> None:
    for state in (PageState.TERMS, PageState.REVIEW):
        assert len(render_signing_page(_page(state, language)).encode()) < 20_000


# --- terms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("ja", "株式会社サンプル 佐藤一郎 様から『秘密保持契約書』への署名依頼が届いています。"),
        ("en", "佐藤一郎 of 株式会社サンプル has sent you \u201c秘密保持契約書\u201d to sign."),
        ("zh", "株式会社サンプル 佐藤一郎向您发送了《秘密保持契約書》的签署请求。"),
    ],
)
def test_terms_say_who_sends_what(language: Language, sentence: str) -> None:
    assert sentence in _doc(_page(PageState.TERMS, language)).text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_terms_list_the_document_names_and_the_expiry(language: Language) -> None:
    text = _doc(_page(PageState.TERMS, language)).text()

    assert "秘密保持契約書.pdf" in text
    assert "別紙.pdf" in text
    assert "2026年11月29日 23:59 (JST)" in text


def test_terms_do_not_link_the_documents_before_they_are_opened() -> None:
    hrefs = [a["href"] for a in _doc(_page(PageState.TERMS)).all("a")]

    assert not [h for h in hrefs if "/documents/" in h]


@pytest.mark.parametrize("language", LANGUAGES)
def test_terms_post_to_open_with_a_required_accept_terms_checkbox(language: Language) -> None:
    doc = _doc(_page(PageState.TERMS, language))
    form = doc.form("open")
    accept = form.control("accept_terms")

    assert len(doc.forms) == 1
    assert (form.method, form.enctype) == ("post", URL_ENCODED)
    assert (accept["type"], accept["value"]) == ("checkbox", "yes")
    assert "required" in accept
    label = {
        "ja": "利用規約に同意して書類を開く",
        "en": "I accept the terms of use",
        "zh": "同意使用条款并打开文件",
    }[language]
    assert doc.text(f"label[for={accept['id']}]") == label


def test_terms_ask_for_the_access_code_when_it_is_required() -> None:
    form = _doc(_page(PageState.TERMS, access_code_required=True)).form("open")
    code = form.control("access_code")

    assert code["type"] == "text"
    assert code["autocomplete"] == "one-time-code"
    assert "inputmode" not in code  # codes may hold letters
    assert "required" in code


def test_terms_do_not_ask_for_an_access_code_when_none_is_required() -> None:
    form = _doc(_page(PageState.TERMS, access_code_required=False)).form("open")

    assert form.names() == {"accept_terms"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sender_message_keeps_its_line_breaks_and_is_marked_as_the_senders(language: Language) -> None:
    out = render_signing_page(_page(PageState.TERMS, language, message="一行目\n二行目\n\n四行目"))
    doc = _Doc(out)

    assert doc.text("blockquote") == "一行目二行目四行目"
    assert "一行目<br>二行目<br><br>四行目</blockquote>" in out
    label = {"ja": "送信者からのメッセージ", "en": "Message from the sender", "zh": "发件人留言"}[language]
    assert doc.text("#message-label") == label


def test_no_message_means_no_quoted_block() -> None:
    assert _doc(_page(PageState.TERMS, message=None)).all("blockquote") == []


# --- review -----------------------------------------------------------------------------------


def test_review_links_each_document_to_its_download_path() -> None:
    hrefs = [a["href"] for a in _doc(_page(PageState.REVIEW)).all("a")]

    assert f"{BASE}/documents/doc1" in hrefs
    assert f"{BASE}/documents/doc2" in hrefs


@pytest.mark.parametrize(("language", "pages"), [("ja", "3ページ"), ("en", "3 pages"), ("zh", "3页")])
def test_review_shows_the_page_count_of_each_document(language: Language, pages: str) -> None:
    assert pages in _doc(_page(PageState.REVIEW, language)).text()


def test_review_has_exactly_the_agree_reject_and_forward_forms() -> None:
    doc = _doc(_page(PageState.REVIEW))

    assert sorted(f.action for f in doc.forms) == sorted(
        f"{BASE}/{a}" for a in ("agree", "reject", "forward")
    )
    assert all((f.method, f.enctype) == ("post", URL_ENCODED) for f in doc.forms)


@pytest.mark.parametrize(
    ("language", "label"), [("ja", "内容を確認し、同意する"), ("en", "I have read and agree")]
)
def test_the_agree_form_is_one_button(language: Language, label: str) -> None:
    doc = _doc(_page(PageState.REVIEW, language))
    form = doc.form("agree")

    assert [c["tag"] for c in form.controls] == ["button"]
    assert form.controls[0]["type"] == "submit"
    assert label in doc.text("button")


def test_the_reject_form_requires_a_reason_of_at_most_1000_characters() -> None:
    reason = _doc(_page(PageState.REVIEW)).form("reject").control("reason")

    assert reason["tag"] == "textarea"
    assert "required" in reason
    assert reason["maxlength"] == "1000"


def test_the_forward_form_asks_for_name_email_and_reason() -> None:
    form = _doc(_page(PageState.REVIEW)).form("forward")

    assert {"name", "email", "reason"} <= form.names()
    assert form.control("email")["type"] == "email"
    for name in ("name", "email", "reason"):
        assert "required" in form.control(name), name


@pytest.mark.parametrize("language", LANGUAGES)
def test_reject_and_forward_are_folded_away(language: Language) -> None:
    doc = _doc(_page(PageState.REVIEW, language))

    assert len(doc.all("details")) == 2
    assert all("open" not in d for d in doc.all("details"))


@pytest.mark.parametrize(
    ("language", "words"),
    [("ja", "このページのリンクは使えなくなります"), ("en", "this link will stop working")],
)
def test_the_forward_form_says_the_link_stops_working(language: Language, words: str) -> None:
    assert words in _doc(_page(PageState.REVIEW, language)).text("details")


@pytest.mark.parametrize("state", [PageState.TERMS, PageState.REVIEW])
def test_every_form_control_has_a_label(state: PageState) -> None:
    doc = _doc(_page(state, access_code_required=True))
    labelled = {label["for"] for label in doc.all("label")}
    controls = [c for f in doc.forms for c in f.controls if c["tag"] != "button"]

    assert controls
    for control in controls:
        assert control.get("id") in labelled, control


@pytest.mark.parametrize("state", [PageState.TERMS, PageState.REVIEW])
def test_element_ids_are_unique(state: PageState) -> None:
    ids = [a["id"] for _, a in _doc(_page(state, access_code_required=True)).elements if "id" in a]

    assert len(ids) == len(set(ids))


# --- after acting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [("ja", "締結済みのPDFと合意締結証明書がメールで届きます"), ("en", "you will receive the signed PDF")],
)
def test_agreed_says_the_signed_pdf_will_come_by_mail(language: Language, words: str) -> None:
    text = _doc(_page(PageState.AGREED, language)).text()

    assert words in text
    assert "2026年11月22日 10:15 (JST)" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_rejected_shows_when(language: Language) -> None:
    assert "2026年11月22日 10:15 (JST)" in _doc(_page(PageState.REJECTED, language)).text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_forwarded_shows_to_whom_and_when(language: Language) -> None:
    text = _doc(_page(PageState.FORWARDED, language)).text()

    assert "鈴木次郎 <jiro@example.jp>" in text
    assert "2026年11月22日 10:15 (JST)" in text


@pytest.mark.parametrize(
    "state",
    [s for s in PageState if s not in (PageState.TERMS, PageState.REVIEW)],
)
def test_no_forms_once_nothing_can_be_done_here(state: PageState) -> None:
    assert _doc(_page(state)).forms == []


# --- nothing to do here -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [PageState.EXPIRED, PageState.CANCELLED, PageState.CLOSED, PageState.LOCKED, PageState.NOT_YOUR_TURN],
)
def test_ended_states_say_how_to_reach_the_sender(state: PageState) -> None:
    doc = _doc(_page(state, "en"))

    assert "contact the sender" in doc.text()
    assert "mailto:ichiro@example.co.jp" in [a["href"] for a in doc.all("a")]


def test_invalid_reveals_nothing_about_the_envelope() -> None:
    text = _doc(_page(PageState.INVALID)).text()

    for value in (
        "秘密保持契約書",
        "佐藤一郎",
        "株式会社サンプル",
        "ichiro@example.co.jp",
        "山田花子",
        "別紙.pdf",
    ):
        assert value not in text


def test_invalid_looks_the_same_whatever_the_caller_knows() -> None:
    bare = SigningPage(state=PageState.INVALID, language="ja", base_path=BASE)

    assert render_signing_page(_page(PageState.INVALID)) == render_signing_page(bare)


@pytest.mark.parametrize("language", LANGUAGES)
def test_error_shows_its_code_small(language: Language) -> None:
    doc = _doc(_page(PageState.ERROR, language))

    assert doc.text("code") == "internal_error"
    assert "Traceback" not in doc.text()


def test_the_error_code_only_shows_on_the_error_page() -> None:
    assert "internal_error" not in render_signing_page(_page(PageState.EXPIRED))


def test_completed_links_the_documents_and_the_certificate() -> None:
    hrefs = [a["href"] for a in _doc(_page(PageState.COMPLETED)).all("a")]

    assert {f"{BASE}/documents/doc1", f"{BASE}/documents/doc2", f"{BASE}/certificate"} <= set(hrefs)


# --- notice -----------------------------------------------------------------------------------


def test_a_notice_is_shown_in_an_alert_before_the_heading() -> None:
    out = render_signing_page(_page(PageState.TERMS, notice="アクセスコードが違います（残り3回）"))

    assert _Doc(out).text("[role=alert]") == "アクセスコードが違います（残り3回）"
    assert out.index('role="alert"') < out.index("<h1>")


def test_no_notice_means_no_alert() -> None:
    assert "[role=alert]" not in _doc(_page(PageState.TERMS, notice=None)).texts
    assert 'role="alert"' not in render_signing_page(_page(PageState.TERMS, notice=None))


# --- untrusted values -------------------------------------------------------------------------

UNTRUSTED_FIELDS = (
    "title",
    "sender_name",
    "sender_organization",
    "sender_email",
    "recipient_name",
    "expires_at",
    "acted_at",
    "forwarded_to",
    "notice",
    "error_code",
    "service_name",
)


@pytest.mark.parametrize(("state", "language"), ALL)
def test_untrusted_values_are_escaped_everywhere(state: PageState, language: Language) -> None:
    values = {name: HOSTILE for name in UNTRUSTED_FIELDS}
    out = render_signing_page(
        _page(
            state,
            language,
            message=f"{HOSTILE}\n{HOSTILE}",
            documents=(DocumentLink(HOSTILE, HOSTILE, 2),),
            access_code_required=True,
            **values,
        )
    )
    doc = _Doc(out)

    assert "<script" not in out
    assert "<img" not in out
    assert not [tag for tag, _ in doc.elements if tag in ("script", "img")]
    assert "onerror" not in {name for _, attrs in doc.elements for name in attrs}
    assert HOSTILE in doc.text("body")  # shown as text, not markup
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;" in out


def test_the_message_is_escaped_line_by_line() -> None:
    out = render_signing_page(_page(PageState.REVIEW, message='<b>bold</b> & "quoted"\nline 2'))
    doc = _Doc(out)

    assert doc.text("blockquote") == '<b>bold</b> & "quoted"line 2'
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;<br>line 2" in out
    assert doc.all("b") == []


def test_a_document_id_is_escaped_in_its_link() -> None:
    page = _page(PageState.REVIEW, documents=(DocumentLink('a"b<c>/d&e', "x.pdf", None),))
    hrefs = [a["href"] for a in _doc(page).all("a")]

    assert f"{BASE}/documents/a%22b%3Cc%3E%2Fd%26e" in hrefs


def test_the_sender_email_link_cannot_become_another_scheme_or_attribute() -> None:
    page = _page(PageState.EXPIRED, sender_email='x@y.jp" onclick="evil()')
    mailto = [a for a in _doc(page).all("a") if a["href"].startswith("mailto:")]

    assert len(mailto) == 1
    assert set(mailto[0]) == {"href"}


def test_bidi_controls_in_a_value_are_dropped() -> None:
    text = _doc(_page(PageState.REVIEW, title="契約書\u202efdp.exe")).text()

    assert "\u202e" not in text
    assert "契約書fdp.exe" in text


# --- base path --------------------------------------------------------------------------------


def test_the_base_path_is_escaped_in_attributes() -> None:
    out = render_signing_page(_page(PageState.REVIEW, base_path="/stage&x/s/tok"))

    assert "/stage&x/s/tok/agree" in [f.action for f in _Doc(out).forms]
    assert 'action="/stage&amp;x/s/tok/agree"' in out


@pytest.mark.parametrize(
    "base_path",
    [
        "s/tok",
        "",
        "//evil.example/s/tok",
        "https://evil.example/s/tok",
        '/s/tok"onmouseover="x',
        "/s/tok'x",
        "/s/<tok>",
        "/s/tok\\x",
        "/s/tok x",
        "/s/tok\nx",
        "/s/tok?lang=en",
        "/s/tok#x",
    ],
)
def test_an_unsafe_base_path_is_refused(base_path: str) -> None:
    with pytest.raises(ValueError, match="base_path") as caught:
        render_signing_page(_page(base_path=base_path))
    assert "tok" not in str(caught.value)  # the path holds the token: never echo it


def test_a_base_path_with_a_stage_prefix_is_accepted() -> None:
    doc = _doc(_page(PageState.TERMS, base_path="/prod/s/abc-DEF_123"))

    assert [f.action for f in doc.forms] == ["/prod/s/abc-DEF_123/open"]


# --- language negotiation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "query", "default", "expected"),
    [
        ("ja-JP,ja;q=0.9", "en", "ja", "en"),  # ?lang wins
        ("en-US,en;q=0.9", "ja", "en", "ja"),
        ("en-US,en;q=0.9", " EN ", "ja", "en"),  # case and spaces
        ("en-US,en;q=0.9", "fr", "ja", "en"),  # unknown ?lang: the header decides
        ("en-US,en;q=0.9", "", "ja", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8,ja;q=0.7", None, "ja", "en"),  # the first of ja/en
        ("en;q=0.5, ja;q=0.9", None, "en", "ja"),  # by q-value, not by order
        ("ja;q=0.8, en;q=0.8", None, "en", "ja"),  # ties: by order
        ("EN-gb", None, "ja", "en"),
        ("ja;q=0, en;q=0.1", None, "ja", "en"),  # q=0 means not acceptable
        ("ja;q=0", None, "en", "en"),
        ("en;q=abc, ja;q=0.3", None, "en", "ja"),  # unreadable q: ignored
        ("en;q=2", None, "ja", "ja"),
        ("de, fr", None, "en", "en"),
        ("*", None, "ja", "ja"),
        ("", None, "en", "en"),
        (None, None, "ja", "ja"),
        (None, None, "en", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "ja", "zh"),  # Chinese (Simplified)
        ("zh-Hans-CN", None, "en", "zh"),
        ("en;q=0.5, zh-TW;q=0.9", None, "ja", "zh"),  # the one Chinese catalog, by q-value
        ("ja-JP,ja;q=0.9", "zh", "ja", "zh"),  # the page's switch wins
        ("zh-CN", "ZH ", "ja", "zh"),
        ("zh;q=0, ja;q=0.1", None, "en", "ja"),
    ],
)
def test_negotiate_language(
    accept_language: str | None, query: str | None, default: Language, expected: Language
) -> None:
    assert negotiate_language(accept_language, query, default) == expected


def test_negotiate_language_defaults_to_japanese() -> None:
    assert negotiate_language(None, None) == "ja"


# --- Chinese (R4) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "sentence"),
    [
        (PageState.TERMS, "如需查看文件内容，请同意使用条款并打开文件。无需注册账号。"),
        (PageState.REVIEW, "同意前，请务必打开所有文件并阅读至最后。文件可下载保存。"),
        (PageState.AGREED, "所有签署方均同意后，您将通过邮件收到已签署的 PDF 和签署完成证明书。"),
        (PageState.LOCKED, "如需继续办理，请联系发件人重新发送文件。"),
        (PageState.COMPLETED, "各方均已同意《秘密保持契約書》，签署已完成。"),
    ],
)
def test_a_chinese_page_speaks_chinese(state: PageState, sentence: str) -> None:
    assert sentence in _doc(_page(state, "zh")).text()


def test_a_chinese_page_greets_the_recipient_and_names_the_sender() -> None:
    doc = _doc(_page(PageState.REVIEW, "zh"))

    assert "山田花子，您好：" in doc.text()
    assert "佐藤一郎（株式会社サンプル）ichiro@example.co.jp" in doc.text("dl")


def test_a_chinese_page_labels_its_forms_in_chinese() -> None:
    doc = _doc(_page(PageState.REVIEW, "zh", access_code_required=True))

    assert doc.text("label[for=reject_reason]") == "拒绝原因（必填）"
    assert doc.text("label[for=forward_email]") == "接收人电子邮件地址（必填）"
    assert "我已阅读并同意" in doc.text("button")


def test_a_chinese_page_asks_for_chinese_glyphs_before_japanese_ones() -> None:
    # Characters shared by both languages look different in a Japanese font: a Chinese page must
    # not fall back to the Japanese font stack of the other pages.
    out = render_signing_page(_page(PageState.TERMS, "zh"))

    rule = next(line for line in out.splitlines() if line.startswith("html:lang(zh) body"))
    assert "Noto Sans CJK SC" in rule
    assert "JP" not in rule and 'Hiragino Sans"' not in rule


def test_the_personal_footer_is_in_chinese_on_a_chinese_page() -> None:
    assert "此页面的网址仅供您本人使用，请勿与他人分享。" in _doc(_page(PageState.TERMS, "zh")).text("footer")


@pytest.mark.parametrize("language", LANGUAGES)
def test_forms_keep_the_language_the_visitor_chose_with_the_switch(language: Language) -> None:
    # Chosen with ?lang=: the page after "open", "agree" or a wrong code stays in that language.
    doc = _doc(_page(PageState.REVIEW, language, language_chosen=True))

    assert sorted(f.action for f in doc.forms) == sorted(
        f"{BASE}/{action}?lang={language}" for action in ("agree", "reject", "forward")
    )


def test_forms_carry_no_language_when_the_page_is_in_the_participants_own() -> None:
    doc = _doc(_page(PageState.TERMS, "zh"))

    assert [f.action for f in doc.forms] == [f"{BASE}/open"]


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        render_signing_page(_page(language="fr"))  # type: ignore[arg-type]
