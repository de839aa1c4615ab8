"""Sealing fixtures: a moto KMS key and the local test PKI, shared per module (starting one takes ~1 s)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tachiai.domain.events import AuthMethod, EventKind, Person, SealEvent
from tachiai.local.sealing_kit import LocalSealingKit, local_sealing_kit


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def kit(pki_dir) -> Iterator[LocalSealingKit]:
    with local_sealing_kit(pki_dir, key_spec="RSA_2048") as k:
        yield k


def event(
    kind: EventKind = EventKind.AGREED,
    name: str = "髙橋一郎",
    email: str = "ichiro@example.jp",
    auth: tuple[AuthMethod, ...] = (AuthMethod.EMAIL_LINK,),
) -> SealEvent:
    return SealEvent(
        kind=kind, actor=Person(name=name, email=email), at=datetime.now(UTC), auth_methods=list(auth)
    )
