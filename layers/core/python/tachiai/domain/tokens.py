"""Recipient link tokens and access codes.

A link token is 256 random bits, sent only in the email; tachiai stores its SHA-256 and nothing that
could rebuild it. A session token (the cookie of a client that passed the access code) is made and
stored the same way. Access codes are set by the sender and told to the recipient separately; only a
salted scrypt hash is stored, compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def new_link_token() -> tuple[str, str]:
    """A fresh link token and the SHA-256 (hex) to store in its place."""
    token = secrets.token_urlsafe(32)
    return token, link_token_sha256(token)


def link_token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> tuple[str, str]:
    """A fresh client-session token (the cookie a client gets when it passes the access code) and the
    SHA-256 (hex) stored with the participant in its place: 256 random bits, like a link token."""
    return new_link_token()


def session_token_sha256(token: str) -> str:
    """The SHA-256 (hex) a session token is stored as."""
    return link_token_sha256(token)


def hash_access_code(code: str) -> str:
    """``scrypt$<salt>$<hash>`` (base64) for an access code."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(code.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def access_code_matches(code: str, stored: str) -> bool:
    """Whether ``code`` is the access code ``stored`` was made from (constant-time comparison)."""
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    try:
        typed = code.encode()
    except UnicodeEncodeError:  # a lone surrogate: no code anyone was given
        return False
    actual = hashlib.scrypt(typed, salt=salt, **_SCRYPT)
    return hmac.compare_digest(actual, expected)
