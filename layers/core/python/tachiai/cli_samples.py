"""``tachiai sample -o FILE.pdf``: the sample contract shipped with the package (a two-page mutual NDA,
:func:`tachiai.local.samples.sample_nda_pdf`), so that every example of the README runs on a fresh
clone without a PDF of one's own."""

from __future__ import annotations

import argparse
from pathlib import Path

from tachiai import i18n


def _t(msgid: str, **values: object) -> str:
    return i18n.text(msgid, i18n.from_environment(), **values)


def cmd_sample(args: argparse.Namespace) -> int:
    """Write the sample PDF to ``args.output`` (``-`` for stdout). Exit status 0."""
    from tachiai.local.samples import sample_nda_pdf

    pdf = sample_nda_pdf()
    if args.output == "-":
        import sys

        sys.stdout.buffer.write(pdf)
        return 0
    Path(args.output).write_bytes(pdf)
    print(_t("cli.sample.written", path=args.output, size=len(pdf)))
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``sample``."""
    p = sub.add_parser("sample", help=_t("cli.help.sample"))
    p.add_argument("kind", nargs="?", choices=["nda"], default="nda", help=_t("cli.help.sample.kind"))
    p.add_argument("-o", "--output", required=True, help=_t("cli.help.sample.output"))
    p.set_defaults(func=cmd_sample)
