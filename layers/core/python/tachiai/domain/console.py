"""What the sender console keeps of a signed-in browser (:mod:`tachiai.console.session` uses it; the
session store, :class:`~tachiai.services.ports.ConsoleSessions`, keeps it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

IDLE_TIMEOUT = timedelta(hours=1)
"""A session not used for this long is over."""
ABSOLUTE_LIFETIME = timedelta(hours=12)
"""A session is over this long after its sign-in, used or not (a working day, then sign in again)."""


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint answered for an authorization code."""

    id_claims: Mapping[str, Any]
    """The ID token's claims (who signed in)."""
    refresh_token: str | None = None


@dataclass(frozen=True)
class ConsoleSession:
    """One signed-in browser."""

    key: str
    """SHA-256 (hex) of the session id the browser holds; the id itself is stored nowhere."""
    username: str
    """The user directory's name for the person (the ID token's ``cognito:username``)."""
    sub: str
    email: str
    name: str
    groups: tuple[str, ...]
    csrf_token: str
    """The token every form of this session carries (compared in constant time)."""
    created_at: datetime
    last_seen_at: datetime
    refresh_token: str | None = field(default=None, repr=False)

    @property
    def expires_at(self) -> datetime:
        """When the session ends unless used (idle), and at the latest (absolute)."""
        return min(self.created_at + ABSOLUTE_LIFETIME, self.last_seen_at + IDLE_TIMEOUT)

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "username": self.username,
                "sub": self.sub,
                "email": self.email,
                "name": self.name,
                "groups": list(self.groups),
                "csrf_token": self.csrf_token,
                "created_at": self.created_at.isoformat(),
                "last_seen_at": self.last_seen_at.isoformat(),
                "refresh_token": self.refresh_token,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ConsoleSession:
        data = json.loads(text)
        return cls(
            key=data["key"],
            username=data["username"],
            sub=data["sub"],
            email=data["email"],
            name=data["name"],
            groups=tuple(data["groups"]),
            csrf_token=data["csrf_token"],
            created_at=datetime.fromisoformat(data["created_at"]),
            last_seen_at=datetime.fromisoformat(data["last_seen_at"]),
            refresh_token=data.get("refresh_token"),
        )
