"""Every user-facing sentence lives in the catalogs (tachiai/i18n/*.po), never in Python code.

The scan reads the package's sources with :mod:`ast` and flags every string literal (and the constant
parts of every f-string) that reads like a sentence for a person: any Japanese or Chinese text, or
English prose (three words or more, ending like a sentence or with a ``label: value`` colon). What a
person never reads is left alone, each kind for a reason:

* documentation: docstrings and bare string statements (attribute docstrings), comments;
* text for developers: log calls (``logger.*``, ``logging.*``, ``warnings.warn``), the detail of an
  exception (the arguments of a call to a TachiaiError subclass or a ``...Error``/``...Exception``:
  ``TachiaiError.detail`` never reaches a person as its message, a builtin's text only a traceback),
  except the exceptions whose text the CLI prints as it is (:data:`_SHOWN_EXCEPTIONS`);
* patterns, not text: the first argument of :mod:`re` functions;
* the files in :data:`DATA_FILES`, which hold data written in Japanese that tachiai reads or writes as
  data, never as its own words, and the few strings in :data:`ALLOWED` (see each reason).
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import tachiai

from tests.unit.test_errors import ALL_ERRORS

PACKAGE = Path(tachiai.__file__).parent

DATA_FILES: dict[str, str] = {
    "extract/rules.py": "the vocabulary of Japanese contracts (契約期間, 甲, 乙...) the rule engine reads",
    "extract/normalize.py": "Japanese era names, numerals and currency words the extraction normalizes",
    "extract/bedrock.py": "the instructions to the extraction model (a prompt, read by a model)",
    "local/samples.py": "the sample contract's own text (a document the demo signs, not a message)",
    "fonts/__init__.py": "glyph samples the font checks are run on",
    "local/load.py": "the load generator (benchmarks): made-up titles and names of its test envelopes",
}
"""Files whose Japanese is data, with why. A new entry needs as good a reason."""

ALLOWED: dict[tuple[str, str], str] = {
    ("local/runtime.py", "送信者"): "the local sender's made-up display name: a person's name is data",
    ("cli.py", "送信者"): "the same name, as the default of `tachiai local --name`",
    ("local/workers.py", "RequestId: {} Error: the local runtime is stopping"): "imitates AWS Lambda's "
    "own error message for a killed invocation, which callers read as Lambda's",
    (
        "local/workers.py",
        "RequestId: {} Error: Task timed out after {} seconds",
    ): "Lambda's own timeout message",
    ("local/workers.py", "RequestId: {} Error: Runtime exited with error: {}"): "Lambda's own crash message",
    (
        "local/guard.py",
        "The Content-MD5 you specified did not match what we received.",
    ): "S3's own BadDigest message, which the local S3 imitates word for word",
    (
        "local/aws.py",
        "tachiai local runtime: {} runs in process from {} ({}).\n",
    ): "a note inside the stand-in code zip of a local function (for a developer who downloads it from moto)",
    ("local/login_server.py", "PKCE is required: code_challenge with code_challenge_method=S256"): "an OAuth "
    "error_description (RFC 6749 4.1.2.1), written for the developer of the client, not its user",
    ("sealing/preflight.py", "page-tree loop: /Kids of {} {} R points back to {} {} R"): "a repair preflight "
    "made, reported in the error's technical detail",
    ("local/demo.py", "山田太郎"): "the demo sender's made-up name",
    ("local/demo.py", "秘密保持契約書（相互）"): "the demo envelope's title (data)",
    ("local/demo.py", "髙橋一郎"): "a demo party's made-up name",
    ("local/demo.py", "山﨑花子"): "a demo party's made-up name",
    ("local/demo.py", "髙橋﨑商事株式会社"): "the demo parties' made-up company",
    ("local/demo.py", "秘密保持契約書.pdf"): "the demo document's file name",
    (
        "local/demo.py",
        "ご確認のほど、よろしくお願いいたします。",
    ): "the demo sender's own message to the parties (what a person types)",
    (
        "local/demo.py",
        "署名依頼",
    ): "a word of the Japanese mail subject the demo looks for in the outbox (reads, never writes)",
    ("local/demo.py", "完了"): "a word of the Japanese completion mail's subject the demo looks for",
    ("sealing/verify.py", "LTV: cannot evaluate ({})"): "a technical problem (SignatureReport.problems, "
    "pyhanko's words), never the finding's message",
    ("sealing/verify.py", "suspicious change after signing: {}"): "the same: pyhanko's words for a change",
    ("sealing/preflight.py", "strict parse failed: {}"): "a problem preflight found, kept for the error's "
    "technical detail",
    ("sealing/pkcs11_signer.py", "logging in to token {}: {}"): "the technical detail of a KeyServiceError "
    "(built before the raise)",
    (
        "local/lambda_dispatch.py",
        "Unable to import module '{}': {}",
    ): "Lambda's own Runtime.ImportModuleError message, imitated for callers that read it as Lambda's",
    (
        "local/lambda_dispatch.py",
        "Unable to marshal response: {}",
    ): "Lambda's own Runtime.MarshalError message",
    (
        "local/workers.py",
        "the event is not JSON: {}",
    ): "the message of Lambda's InvalidRequestContentException, imitated",
    ("local/schedule.py", "now is not an ISO 8601 time: {}"): "a developer endpoint of the local runtime "
    "(/_local/...): its JSON error is read by developers and tests; `tachiai local` checks its own input",
    ("local/schedule.py", "now needs a time zone (e.g. +09:00 or Z): {}"): "the same developer endpoint",
    ("local/schedule.py", "today is not a date (YYYY-MM-DD): {}"): "the same developer endpoint",
    ("cli.py", 'curl -H "Authorization: Bearer $TACHIAI_TOKEN" {}/v1/envelopes'): "a shell command to copy "
    "(the same in every language), not a sentence",
}
"""Single strings a person never reads as tachiai's words, by (file, text), with why."""

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
"""Kana and kanji (hanzi): punctuation alone, such as full-width brackets around placeholders, is not text."""
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_DEVELOPER_CALLS = re.compile(r"^(logger|logging|log|_log|LOGGER|warnings)\.|(Error|Exception|Warning)$")
_SHOWN_EXCEPTIONS = {"_UsageError", "ArgumentTypeError", "ArgumentError"}
"""Exceptions whose text a person reads as it is: the CLI prints ``error: <text>`` for a usage error, and
argparse prints the text of a bad argument's ``ArgumentTypeError``."""
_HELP_CALLS = {"add_argument", "add_parser", "add_subparsers", "ArgumentParser", "add_argument_group"}
_HELP_KEYWORDS = {"help", "description", "epilog"}
"""argparse's help texts are always for a person: two words are enough to be text (``show library
warnings``), whatever their punctuation."""
_ERROR_CLASSES = {cls.__name__ for cls in ALL_ERRORS}
_PATTERN_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


def looks_like_a_sentence(text: str) -> bool:
    """Japanese or Chinese text, or English prose (not an identifier, a path, a format or a code)."""
    if _CJK.search(text):
        return True
    bare = _PLACEHOLDER.sub("", text).strip()
    if " " not in bare or len(_WORD.findall(bare)) < 3:
        return False
    # A value filled in at the end still makes a label: "missing (never uploaded?): {name}".
    return bare.endswith((".", "!", "?")) or ": " in _PLACEHOLDER.sub("x", text)


def looks_like_help_text(text: str) -> bool:
    """An argparse help text: a sentence, or any two words (``--metavar`` and ``%(default)s`` aside)."""
    bare = re.sub(r"%\([a-z]+\)s|--?[a-z][a-z-]*", "", _PLACEHOLDER.sub("", text)).strip()
    return looks_like_a_sentence(text) or (" " in bare and len(_WORD.findall(bare)) >= 2)


def _call_name(call: ast.Call) -> str:
    parts: list[str] = []
    node: ast.expr = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _help_nodes(tree: ast.AST) -> set[int]:
    """ids of the argparse help texts (see :data:`_HELP_KEYWORDS`)."""
    return {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _call_name(node).split(".")[-1] in _HELP_CALLS
        for keyword in node.keywords
        if keyword.arg in _HELP_KEYWORDS
        for child in ast.walk(keyword.value)
    }


def _exempt_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes whose strings a person never reads (see the module docstring)."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            exempt.add(id(node.value))  # a docstring, or a string statement documenting an attribute
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name.split(".")[-1] in _SHOWN_EXCEPTIONS:
                continue
            if _DEVELOPER_CALLS.search(name) or name.split(".")[-1] in _ERROR_CLASSES:
                exempt.update(id(arg) for arg in node.args)
                exempt.update(id(k.value) for k in node.keywords if k.arg == "detail")
            elif name.split(".")[-1] in _PATTERN_CALLS and name.startswith(("re.", "_")) and node.args:
                exempt.add(id(node.args[0]))
    return exempt


def _strings(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """(line, text, is a help text) of each string literal and f-string not exempt; an f-string reads
    with ``{}``."""
    exempt, helps = _exempt_nodes(tree), _help_nodes(tree)
    skip: set[int] = set()
    found: list[tuple[int, str, bool]] = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            skip.update(id(child) for child in ast.walk(node))
            continue
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            skip.update(id(child) for child in ast.walk(node))
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            found.append((node.lineno, str(text), id(node) in helps))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value, id(node) in helps))
    return found


def sentences_in(source: str) -> list[tuple[int, str]]:
    """The user-facing sentences written in ``source`` (Python code)."""
    return [
        (line, text)
        for line, text, is_help in _strings(ast.parse(source))
        if (looks_like_help_text if is_help else looks_like_a_sentence)(text)
    ]


def test_no_user_facing_sentence_is_written_in_python():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in DATA_FILES:
            continue
        found += [
            f"{relative}:{line}: {text!r}"
            for line, text in sentences_in(path.read_text(encoding="utf-8"))
            if (relative, text) not in ALLOWED
        ]
    assert found == [], "move these to the catalogs (tachiai/i18n/*.po):\n" + "\n".join(found)


def test_the_data_files_exist():
    # An allowlist entry for a file that is gone (or moved) would silently allow its successor's text.
    assert [name for name in DATA_FILES if not (PACKAGE / name).is_file()] == []


def test_every_allowed_string_is_still_there():
    # An allowed string that was moved to the catalogs (or reworded) is an allowance nobody needs.
    unused = [
        (name, text)
        for name, text in ALLOWED
        if text not in [found for _, found in sentences_in((PACKAGE / name).read_text(encoding="utf-8"))]
    ]
    assert unused == []


# --- the scan itself ----------------------------------------------------------------------------------


def test_the_scan_finds_a_japanese_message_printed():
    assert sentences_in('print("送信しました")') == [(1, "送信しました")]


def test_the_scan_finds_english_prose_in_an_f_string():
    source = 'print(f"sent {count} envelopes to {name}.")'
    assert sentences_in(source) == [(1, "sent {} envelopes to {}.")]


def test_the_scan_finds_an_english_label_and_value():
    assert sentences_in('x = "no API URL: give --url"') == [(1, "no API URL: give --url")]


def test_the_scan_finds_a_label_whose_value_ends_the_line():
    assert sentences_in('print(f"  missing (never uploaded?): {name}")') == [
        (1, "  missing (never uploaded?): {}")
    ]


def test_the_scan_finds_argparse_help_texts_of_two_words():
    source = 'p.add_argument("--x", help="show library warnings"); sub.add_parser("a", description="do it")'
    assert sentences_in(source) == [(1, "show library warnings"), (1, "do it")]


def test_the_scan_ignores_an_argparse_help_given_as_a_message_id():
    assert sentences_in('p.add_argument("--x", help=_t("cli.help.x.the_option"))') == []


def test_the_scan_ignores_an_argparse_help_that_only_names_an_option():
    assert (
        sentences_in('p.add_argument("--x", help="--url"); p.add_argument("--y", metavar="YYYY-MM-DD")') == []
    )


def test_the_scan_finds_the_text_of_a_usage_error_the_cli_prints():
    source = 'raise _UsageError(f"cannot read the file {path}: {reason}")\nraise ArgumentTypeError("not a date: x")'
    assert sentences_in(source) == [(1, "cannot read the file {}: {}"), (2, "not a date: x")]


def test_the_scan_ignores_docstrings_logs_exception_details_and_patterns():
    source = textwrap.dedent(
        '''
        """Module docstring: it says what this does."""
        import logging, re
        logger = logging.getLogger(__name__)

        def f():
            """送信します. A docstring."""
            logger.info("the mail was sent to %s.", "x")
            raise ValueError("the value is not valid: x")

        class E:
            limit = 3
            """How many tries a person gets before the link locks."""

        PATTERN = re.compile(r"契約期間は(\\d+)年")
        '''
    )
    assert sentences_in(source) == []


def test_the_scan_ignores_identifiers_codes_and_formats():
    source = 'a = "error.not_found"; b = "%Y-%m-%d %H:%M"; c = "text/plain; charset=utf-8"; d = f"{x}: {y}"'
    assert sentences_in(source) == []
