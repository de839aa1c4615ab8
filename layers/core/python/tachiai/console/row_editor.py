"""The row editor of the console's forms (participants of 新規作成, roles of a template): the buttons
``add``, ``remove-N``, ``up-N`` and ``down-N`` submit the form, which comes back with the rows changed
and every typed value kept. Works without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

Row = TypeVar("Row")

ROW_ACTION = re.compile(r"^(add|remove|up|down)(?:-(\d{1,2}))?$")


def edit_rows(rows: Sequence[Row], action: str, new_row: Callable[[], Row], limit: int) -> list[Row] | None:
    """The rows after the button ``action``, or None when ``action`` is no row button. ``add`` appends
    ``new_row()`` below ``limit`` rows; an index out of range changes nothing (a stale form)."""
    match = ROW_ACTION.match(action)
    if match is None:
        return None
    edited = list(rows)
    verb, index = match.group(1), match.group(2)
    if verb == "add":
        return [*edited, new_row()] if len(edited) < limit else edited
    if index is None or not 0 <= int(index) < len(edited):
        return edited
    i = int(index)
    if verb == "remove":
        del edited[i]
    elif verb == "up" and i > 0:
        edited[i - 1], edited[i] = edited[i], edited[i - 1]
    elif verb == "down" and i < len(edited) - 1:
        edited[i], edited[i + 1] = edited[i + 1], edited[i]
    return edited
