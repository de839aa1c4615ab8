"""Page cursors: opaque to the caller, checked on the way back.

A cursor is base64 (URL-safe) of a small JSON object holding a DynamoDB start key and whatever the
search needs to go on. It travels through the caller, so everything in it is untrusted when it comes
back: :func:`decode` and :func:`string_key` turn anything this service did not hand out into
:class:`~tachiai.domain.errors.InvalidCursor` (400) before DynamoDB sees it — a malformed
``ExclusiveStartKey`` would otherwise be a DynamoDB ``ValidationException``, i.e. a 503.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tachiai.domain.errors import InvalidCursor

MAX_KEY_CHARS = 1024
"""DynamoDB's limit for a sort key value; a partition key's is 2048, ours are far shorter."""


def encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def decode(cursor: str) -> dict[str, Any]:
    """The JSON object in ``cursor``.

    :raises InvalidCursor: not base64 of a JSON object.
    """
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, RecursionError) as e:  # binascii.Error, UnicodeError, JSONDecodeError are ValueErrors
        raise InvalidCursor("not base64 of JSON", field="cursor") from e
    if not isinstance(value, dict):
        raise InvalidCursor("not a JSON object", field="cursor")
    return value


def string_key(value: object, names: tuple[str, ...]) -> dict[str, Any]:
    """``value`` as a DynamoDB key made of exactly the string attributes ``names``.

    :raises InvalidCursor: other attributes, other types, empty or over-long values.
    """
    if not isinstance(value, dict) or set(value) != set(names):
        raise InvalidCursor("start key with other attributes", field="cursor")
    for name in names:
        attribute = value[name]
        if not (isinstance(attribute, dict) and set(attribute) == {"S"} and isinstance(attribute["S"], str)):
            raise InvalidCursor(f"start key attribute {name} is not a string", field="cursor")
        if not 0 < len(attribute["S"]) <= MAX_KEY_CHARS:
            raise InvalidCursor(f"start key attribute {name} of {len(attribute['S'])} chars", field="cursor")
    return value
